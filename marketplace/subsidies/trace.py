"""Structured trace steps, rendered in English or Chinese.

A step is a key plus values (``Step("cap.bit", {"cap": Decimal("500000"), ...})``);
the catalogue below turns it into a sentence. Amounts render with thousands
separators, rates as percentages; enumerated terms are translated in Chinese.
"""
from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from .money import fmt_human, fmt_rate


class Step(NamedTuple):
    key: str
    values: dict

    def render(self, lang: str = "en") -> str:
        return render(self, lang)


_CN_DIGITS = "零一二三四五六七八九十"


def section_zh(section: str) -> str:
    """``"4.1"`` → ``"四（一）"``: the document's own numbering."""
    try:
        major, minor = (int(x) for x in section.split("."))
        return f"{_CN_DIGITS[major]}（{_CN_DIGITS[minor]}）"
    except (ValueError, IndexError):
        return section


TERMS_ZH = {
    "development": "技术开发", "transfer": "技术转让", "consulting": "技术咨询", "service": "技术服务",
    "transfer.assignment": "技术转让·转让",
    "DT": "技术开发、技术转让", "CS": "技术咨询、技术服务",
    "paid": "已支付", "refunded": "已退款", "cancelled": "已取消",
    "large": "大型", "medium": "中型", "small": "小型", "micro": "微型",
    "university": "高校", "institute": "科研院所", "enterprise": "企业", "agency": "服务机构",
    "incubator": "孵化器", "park": "园区", "maker_team": "创客团队",
    "city": "市级", "county": "县级", "provincial": "省级", "national": "国家级",
    "seller": "技术输出方（卖方）", "buyer": "技术吸纳方（买方）", "lessee": "承租方",
    "provider": "服务提供方", "customer": "客户", "broker": "中介机构", "applicant": "申请人",
    "lease_fee": "租赁费用", "external_service": "对外服务",
    "large_enterprise": "大型企业", "medium_enterprise": "中型企业", "small_enterprise": "小型企业",
    "micro_enterprise": "微型企业",
    "True": "是", "False": "否", "none": "无",
    "national_demonstration": "国家级示范", "national_cultivation": "国家级培育",
}
TERMS_EN = {
    "DT": "development and transfer", "CS": "consulting and service",
    "transfer.assignment": "technology transfer by assignment",
    "lease_fee": "lease fee", "external_service": "external service",
    "large_enterprise": "large enterprise", "medium_enterprise": "medium enterprise",
    "small_enterprise": "small enterprise", "micro_enterprise": "micro enterprise", "maker_team": "maker team",
    "True": "true", "False": "false",
}
_TERM_KEYS = {"term", "status", "contract_type", "group", "size", "kind", "level", "role", "host",
              "financing", "platform", "category", "side", "what"}
NAME_SUFFIX = "_name"  # ``org`` + ``org_name``: an organisation, shown by name with its code in brackets
_RATE_KEYS = {"rate", "share", "province_share", "city_share", "lease_rate", "service_rate",
              "target", "intensity", "county_share"}

# key: (English, Chinese). Organisations show as "name (code)": a value ``org`` comes with
# ``org_name`` (``buyer`` with ``buyer_name``, ...), and ``render`` joins them.
CATALOGUE: dict[str, tuple[str, str]] = {
    # common
    "clause": ("{clause} {title_en} — section {section}: “{sentence_zh}” ({gloss_en})",
               "{clause} {title_zh}（第{section_zh}条）：“{sentence_zh}”"),
    "beneficiary": ("beneficiary: {org}", "受益方：{org}"),
    "rate": ("{rate} × {base} = {raw}", "{rate} × {base} = {raw}"),
    "ratio": ("{ratio} match of {base}: {raw}", "按{ratio}配套：{base}的配套额为{raw}"),
    "cap.bit": ("the cap of {cap} bites: {raw} is above it, so {cap}",
                "超过最高额{cap}：{raw}按{cap}计"),
    "cap.ok": ("within the cap of {cap}", "未超过最高额{cap}"),
    "rounded": ("rounded half-up to the fen: {amount}", "四舍五入到分：{amount}"),
    "zero": ("nothing to pay", "不予补助"),
    # A1
    "a1.contract": ("contract {txn} ({contract_type}, registration {reg}, registered {date}, {role} {org}, "
                    "buyer {buyer}): price {price}, counted in full",
                    "合同 {txn}（{contract_type}，登记号 {reg}，登记日期 {date}，{role} {org}，买方{buyer}）："
                    "成交额 {price}，全额计入"),
    "a1.licence": ("contract {txn} (technology transfer by licence of project {project}, registration {reg}, "
                   "registered {date}, licensor {org}, licensee {buyer}): price {price}, counted in full (a licence "
                   "is a transfer activity of its own; the value-added rule is for assignments)",
                   "合同 {txn}（技术转让·许可，项目 {project}，登记号 {reg}，登记日期 {date}，许可方{org}，被许可方{buyer}）："
                   "成交额 {price}，全额计入（许可是一项新的技术转移活动，不适用转让的增值部分规则）"),
    "a1.value_added": ("contract {txn} (assignment, registration {reg}, registered {date}, {role} {org}, buyer "
                       "{buyer}) assigns project {project} again: price {price}; the highest earlier paid "
                       "assignment of the project is contract {prev_txn} (registration {prev_reg}, registered "
                       "{prev_date}, seller {prev_seller}) at {prev_price}; only the value added counts: "
                       "max(0, {price} − {prev_price}) = {counted}",
                       "合同 {txn}（技术转让·转让，登记号 {reg}，登记日期 {date}，{role} {org}，买方{buyer}）为"
                       "项目 {project} 的再次转让：成交额 {price}；此前已支付的转让中价格最高的是合同 {prev_txn}"
                       "（登记号 {prev_reg}，登记日期 {prev_date}，卖方{prev_seller}），成交额 {prev_price}；"
                       "同一项目多次转让，仅就增值部分给予补助：增值部分 = max(0, {price} − {prev_price}) = {counted}，"
                       "计入 {counted}"),
    "a1.skipped": ("for contract {txn}: the earlier assignment {skip_txn} of project {project} (registered "
                   "{skip_date}, price {skip_price}) is {status} and sets no price",
                   "合同 {txn}：项目 {project} 此前的转让合同 {skip_txn}（登记日期 {skip_date}，成交额 {skip_price}）"
                   "{status}，不作为此前价格"),
    "a1.turnover": ("{year} turnover of registered {group} contracts: {turnover} ({count} contract(s))",
                    "{year}年度经认定登记的{group}合同成交额：{turnover}（{count}份）"),
    "a1.base": ("{year} base of registered {group} contracts: {turnover} ({count} contract(s), each at its price, "
                "a repeated assignment at its value added)",
                "{year}年度{group}合同补助基数：{turnover}（{count}份合同，按成交额计入，再次转让的按增值部分计入）"),
    # A2
    "a2.contract": ("brokered contract {txn} (registration {reg}, registered {date}, seller {seller}, buyer {buyer}, "
                    "transformed in the city): price {amount}",
                    "促成合同 {txn}（登记号 {reg}，登记日期 {date}，卖方{seller}，买方{buyer}，在市内转化）："
                    "成交额 {amount}"),
    "a2.turnover": ("{year} turnover of brokered contracts transformed in the city: {turnover} ({count} contract(s))",
                    "{year}年度促成在市内转化的技术合同成交额：{turnover}（{count}份）"),
    "a2.threshold.met": ("{turnover} reaches the threshold of {threshold} (“以上”: the figure itself counts)",
                         "成交额{turnover}达到{threshold}以上（含本数）"),
    "a2.threshold.short": ("{turnover} is below the threshold of {threshold}: short by {shortfall}; no subsidy",
                           "成交额{turnover}未达到{threshold}，差额{shortfall}，不予补助"),
    # A3
    "a3.fee": ("voucher service {txn} of {date}: fee {fee}, bought by {buyer} ({kind}) from the city's service "
               "agency {provider}",
               "创新券服务 {txn}（{date}）：服务费 {fee}；购买方{buyer}，{kind}；服务机构为本市科技服务机构{provider}"),
    "a3.shares": ("province: {province_share} × {fee} = {province_raw}, rounded half-up to the fen: {province}; "
                  "city: {city_share} × {fee} = {city_raw}, rounded half-up to the fen: {city}",
                  "省补贴：{province_share} × {fee} = {province_raw}，四舍五入到分：{province}；"
                  "市补贴：{city_share} × {fee} = {city_raw}，四舍五入到分：{city}"),
    "a3.capped": ("the two shares may not exceed the fee: the city's share is lowered to {amount}",
                  "省、市补贴之和不超过服务费：市补贴调减为{amount}"),
    "a3.rest": ("the enterprise pays the rest: {fee} − {province} − {city} = {enterprise} (the rounding remainder "
                "is the enterprise's); paid separately: the province {province}, the city {city}",
                "企业自付余额：{fee} − {province} − {city} = {enterprise}（舍入余数计入企业）；"
                "分别支付：省财政 {province}，市财政 {city}"),
    # A4
    "a4.row": ("counted: voucher service {txn} of {date}, bought by {buyer}: {amount}",
               "计入：创新券服务 {txn}（{date}，购买方{buyer}）：服务合同额 {amount}"),
    "a4.left": ("left out: voucher service {txn} of {date}, bought by {buyer}, {amount}: {why}",
                "未计入：创新券服务 {txn}（{date}，购买方{buyer}，{amount}）：{why}"),
    "a4.base": ("{year} redeemed voucher service contracts of {org}: {total} ({count} voucher(s))",
                "{year}年度{org}兑现条件服务合同额：{total}（{count}笔）"),
    "a4.match": ("provincial service-performance reward received in {year}: {reward}",
                 "{year}年度获得省服务绩效奖励：{reward}"),
    "a4.match.ineligible": ("{org} is not an in-city science-and-technology service agency "
                            "(in the city: {in_city}; service agency: {service_agency}): no match",
                            "{org}不是市内科技服务机构（在市内：{in_city}；科技服务机构：{service_agency}），不予配套"),
    # A5
    "a5.lease": ("counted: lease fee {txn} of {date} for instrument {instrument}, paid by {org}: {amount}",
                 "计入：仪器 {instrument} 租赁费用 {txn}（{date}，承租方{org}）：{amount}"),
    "a5.service": ("counted: external service {txn} of {date} on instrument {instrument}, for {customer}: {amount}",
                   "计入：仪器 {instrument} 对外研发测试服务 {txn}（{date}，客户{customer}）：{amount}"),
    "a5.left": ("left out: {what} {txn} of {date}, instrument {instrument}, {party}, {amount}: {why}",
                "未计入：{what} {txn}（{date}，仪器 {instrument}，{party}，{amount}）：{why}"),
    "a5.instrument": ("instrument {instrument}: {lease_rate} × lease fees {lease} = {lease_part}; {service_rate} × "
                      "external service fees {service} = {service_part}; the lesser of the two: {lesser}",
                      "仪器 {instrument}：{lease_rate} × 租赁费用 {lease} = {lease_part}；{service_rate} × "
                      "对外提供研发测试服务费用 {service} = {service_part}；二者取较小额度：{lesser}"),
    "a5.sum": ("the lesser amounts of the {count} instrument(s) added up: {sum}",
               "{count}台仪器的较小额度相加：{sum}"),
    "a5.review": ("“服务成效良好” (good service results) is the reviewer's judgement, recorded with the decision",
                  "“服务成效良好”由审核人判断，随审核决定记录"),
    # reasons a row is left out of an A4 or A5 sum (rendered inside a4.left / a5.left)
    "why.year": ("a transaction of {year}, not of {this_year}", "属于{year}年度，不计入{this_year}年度"),
    "why.status": ("status {status}", "交易状态为{status}"),
    "why.self": ("self-use: {org} booked its own instrument", "自用：{org}使用自有仪器，不属于对外服务"),
    "why.lease": ("not a financing lease on the sharing platform (financing lease: {financing}; on the sharing "
                  "platform: {platform})",
                  "非融资租赁或未纳入大型科学仪器共享平台（融资租赁：{financing}；纳入共享平台：{platform}）"),
    "why.instrument": ("the instrument is not financially leased by {org} and listed on the sharing platform",
                       "该仪器不是{org}融资租赁并纳入共享平台的仪器"),
    "why.voucher": ("not a redeemed voucher service: {reason}", "不属于兑现条件的创新券服务：{reason}"),
    "why.a3.size": ("buyer is a {size} enterprise", "购买方为{size}企业"),
    "why.a3.size_unknown": ("buyer is an enterprise of unknown size", "购买方企业规模未知"),
    "why.a3.kind": ("buyer ({kind}) is neither a small/medium/micro enterprise nor a maker team",
                    "购买方（{kind}）不是中小微企业或创客团队"),
    "why.a3.host": ("the maker team is not hosted at provincial level or higher", "创客团队不在省级以上载体内"),
    "why.out_of_city": ("{role} {org} is not registered in Liaocheng", "{role} {org}不是聊城市内单位"),
    # claims (B, A2.national, A2.provincial)
    "claim.evidence": ("evidence: {evidence}", "申报材料：{evidence}"),
    "claim.field": ("{label_en}: {value}", "{label_zh}：{value}"),
    "claim.field_term": ("{label_en}: {term}", "{label_zh}：{term}"),
    "claim.fixed": ("amount set by the clause: {amount}", "条款规定金额：{amount}"),
    "claim.up_to": ("up to {cap}; requested {requested}", "最高{cap}；申请{requested}"),
    "claim.up_to.default": ("up to {cap}; no amount requested, so the maximum", "最高{cap}；未申请具体金额，按最高额计"),
    "claim.match": ("{ratio} match of {what}: {base}", "按{ratio}配套{what}：{base}"),
    "claim.threshold.met": ("funding {funding} reaches {threshold} (“含”: the figure itself qualifies)",
                            "资助{funding}达到{threshold}（含）以上"),
    "claim.threshold.short": ("funding {funding} is below {threshold}: short by {shortfall}; no match",
                              "资助{funding}低于{threshold}，差额{shortfall}，不予配套"),
    "claim.not_new": ("{what} is not new: the clause rewards only newly recognised or listed ones",
                      "{what}非新认定（新列入），不予奖励"),
    "claim.not_joint": ("the project is not a city-county joint project", "非重大科技市县联合项目，不予支持"),
    "claim.not_city_level": ("the community is not a city-level innovation-entrepreneurship community",
                             "非市级创新创业共同体，不予补助"),
    "claim.once": ("one-time award already granted: {what}", "一次性奖励已给予过：{what}"),
    "claim.split": ("city {city_share}: {city}; county pays the rest: {county}", "市财政{city_share}：{city}；县财政负担余额：{county}"),
    "claim.county_match": ("the county adds matching support (amount set by the county)", "县级财政给予配套支持（金额由县确定）"),
    "claim.merit": ("“择优” (selected on merit) is the reviewer's judgement", "“择优”由审核人判断"),
    # exclusions
    "x.status": ("{clauses}: status {status} — refunded and cancelled transactions count for nothing",
                 "{clauses}：交易状态为{status}，退款或取消的交易不计"),
    "x.unregistered": ("A1, A2.city: the contract is not certified and registered (认定登记): no registration number",
                       "A1、A2.city：合同未经认定登记（无登记号），不计"),
    "x.duplicate": ("{clauses}: contract {reg} is already counted under transaction {winner} (registered {winner_date}); "
                    "one technology-transfer activity is subsidised once",
                    "{clauses}：合同 {reg} 已按交易 {winner}（登记日期 {winner_date}）计入；同一项技术转移活动仅补助一次"),
    "x.out_of_city": ("{clauses}: {role} {org} is not registered in Liaocheng (in_city false)",
                      "{clauses}：{role} {org}不是聊城市内单位，不予补助"),
    "x.a2.not_transformed": ("A2.city: not transformed inside the city (transformed_in_city false)",
                             "A2.city：成果未在市内转化，不计入"),
    "x.a2.own": ("A2.city: the agency {org} is the {side} of this contract, so it did not broker it for others "
                 "(为促成他人技术交易); it does not count for A2 (a sale may still count for A1)",
                 "A2.city：机构{org}是本合同的{side}，不属于为促成他人技术交易，不计入其A2成交额（作为卖方仍可按A1计入）"),
    "x.a2.level": ("A2.city: the broker {org} is a {level} technology-transfer agency: it gets no city-level turnover "
                   "subsidy; its one-off award ({claim}) is claimed with evidence and reviewed, not computed from "
                   "transactions",
                   "A2.city：促成机构{org}为{level}技术转移机构，不享受市级成交额补助；其一次性补助（{claim}）"
                   "凭认定材料申报、经审核确定，不由交易计算"),
    "x.a2.not_filed": ("A2.city: the broker {org} is not a filed technology-transfer agency",
                       "A2.city：促成机构{org}未备案为技术转移服务机构，不计入"),
    "x.a2.short": ("A2.city: {org}'s in-city brokered turnover {turnover} is below the threshold of {threshold} "
                   "(short by {shortfall})",
                   "A2.city：{org}促成市内转化的年度技术合同成交额{turnover}未达到{threshold}（差额{shortfall}）"),
    "x.a3.size": ("A3, A4: buyer {org} is a {size} enterprise; only small, medium and micro enterprises qualify",
                  "A3、A4：购买方{org}为{size}企业，仅中小微企业可享受"),
    "x.a3.size_unknown": ("A3, A4: buyer {org} is an enterprise of unknown size; only small, medium and micro enterprises qualify",
                          "A3、A4：购买方{org}企业规模未知，仅中小微企业可享受"),
    "x.a3.kind": ("A3, A4: buyer {org} ({kind}) is neither a small/medium/micro enterprise nor a maker team",
                  "A3、A4：购买方{org}（{kind}）不是中小微企业或创客团队"),
    "x.a3.host": ("A3, A4: maker team {org} is not hosted by a provincial-or-higher incubator, maker space or science park (host_level {host})",
                  "A3、A4：创客团队{org}不在省级以上孵化器、众创空间或大学科技园内（{host}）"),
    "x.a3.not_agency": ("A3, A4: provider {org} is not a science-and-technology service agency",
                        "A3、A4：服务提供方{org}不是科技服务机构"),
    "x.a5.lease": ("A5: not a financing lease listed on the sharing platform (financing_lease {financing}, on_sharing_platform {platform})",
                   "A5：非融资租赁或未纳入大型科学仪器共享平台（融资租赁：{financing}，纳入共享平台：{platform}）"),
    "x.a5.self": ("A5: {org} booked its own instrument {instrument}; self-use is not an external service",
                  "A5：{org}使用自有仪器 {instrument}，自用不属于对外服务"),
    "x.a5.instrument": ("A5: instrument {instrument} is not financially leased by {org} and listed on the sharing platform",
                        "A5：仪器 {instrument} 不是{org}融资租赁并纳入共享平台的仪器"),
    # flags
    "f.overlap": ("contract(s) {txns} count both for {a1_clause} (beneficiary {seller}) and for A2.city (agency "
                  "{broker}): both awards stand in full on this flag; the reviewer decides which is paid, never both "
                  "for the same contract",
                  "合同 {txns} 同时计入 {a1_clause}（受益方{seller}）和 A2.city（机构{broker}）：两项补助均全额列为"
                  "待审核，由审核人决定支付哪一项，不得重复支付"),
    # indicator
    "c.county": ("{county}: R&D {rd} / GDP {gdp} = {intensity_pct}; target {target}: {verdict}",
                 "{county}：研发经费{rd} / 地区生产总值{gdp} = {intensity_pct}；目标{target}：{verdict}"),
    "c.city": ("{reaching} of {total} counties reach the target ({share_pct}); needed {county_share}: {verdict}",
               "{total}个县（市、区）中{reaching}个达到目标（{share_pct}）；要求{county_share}以上：{verdict}"),
}

VERDICT = {True: ("reached", "达到"), False: ("not reached", "未达到")}


def org_label(code, name, lang: str = "en") -> str:
    """An organisation as a reader knows it: ``聊城大学（lcu）`` / ``聊城大学 (lcu)``; never the code alone."""
    name = (name or "").strip()
    if lang == "zh":
        return f"{name}（{code}）" if name else f"未具名单位（{code}）"
    return f"{name} ({code})" if name else f"unnamed organisation ({code})"


def nested(step: Step) -> dict:
    """A step held inside another step's values (a reason), JSON-ready: {"key", "values"}."""
    return {"key": step.key, "values": dict(step.values)}


def _format(key: str, value, lang: str) -> str:
    if isinstance(value, Decimal):
        if key in _RATE_KEYS:
            return fmt_rate(value)
        if key == "ratio":  # a match as the text writes it: 1∶1
            return f"1∶{format(value.normalize(), 'f')}"
        return fmt_human(value)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("true" if value else "false")
    if isinstance(value, dict) and "key" in value and "values" in value:
        return render(Step(value["key"], value["values"]), lang)
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(key, v, lang) for v in value) if lang == "en" else "、".join(
            _format(key, v, lang) for v in value)
    if value is None:
        return "none" if lang == "en" else "无"
    text = str(value)
    if key in _TERM_KEYS or key == "role":
        table = TERMS_ZH if lang == "zh" else TERMS_EN
        return table.get(text, text)
    return text


def render(step: Step, lang: str = "en") -> str:
    """One step as a sentence in ``lang`` (``"en"`` or ``"zh"``)."""
    en, zh = CATALOGUE[step.key]
    template = zh if lang == "zh" else en
    raw = step.values
    values = {}
    for k, v in raw.items():
        if k.endswith(NAME_SUFFIX) and k[:-len(NAME_SUFFIX)] in raw:
            continue
        if k + NAME_SUFFIX in raw and isinstance(v, str):
            values[k] = org_label(v, raw[k + NAME_SUFFIX], lang)
        else:
            values[k] = _format(k, v, lang)
    if "section" in step.values:
        values["section_zh"] = section_zh(str(step.values["section"]))
    return template.format_map(_Missing(values))


class _Missing(dict):
    def __missing__(self, key):
        return "{" + key + "}"
