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
    "DT": "技术开发、技术转让", "CS": "技术咨询、技术服务",
    "paid": "已支付", "refunded": "已退款", "cancelled": "已取消",
    "large": "大型", "medium": "中型", "small": "小型", "micro": "微型",
    "university": "高校", "institute": "科研院所", "enterprise": "企业", "agency": "服务机构",
    "incubator": "孵化器", "park": "园区", "maker_team": "创客团队",
    "city": "市级", "county": "县级", "provincial": "省级", "national": "国家级",
    "seller": "技术输出方（卖方）", "buyer": "技术吸纳方（买方）", "lessee": "承租方",
    "provider": "服务提供方", "customer": "客户", "broker": "中介机构", "applicant": "申请人",
    "True": "是", "False": "否", "none": "无",
}
TERMS_EN = {
    "DT": "development and transfer", "CS": "consulting and service",
    "True": "true", "False": "false",
}
_TERM_KEYS = {"status", "contract_type", "group", "size", "kind", "level", "role", "host",
              "financing", "platform", "category"}
_RATE_KEYS = {"rate", "share", "ratio", "province_share", "city_share", "lease_rate", "service_rate",
              "target", "intensity", "county_share"}

# key: (English, Chinese)
CATALOGUE: dict[str, tuple[str, str]] = {
    # common
    "clause": ("{clause} {title_en} — section {section}: “{sentence_zh}” ({gloss_en})",
               "{clause} {title_zh}（第{section_zh}条）：“{sentence_zh}”"),
    "beneficiary": ("beneficiary: {org} {name}", "受益方：{org} {name}"),
    "rate": ("{rate} × {base} = {raw}", "{rate} × {base} = {raw}"),
    "ratio": ("{ratio} × {base} = {raw}", "按{ratio}配套：{ratio} × {base} = {raw}"),
    "cap.bit": ("the cap of {cap} bites: {raw} is above it, so {cap}",
                "超过最高额{cap}：{raw}按{cap}计"),
    "cap.ok": ("within the cap of {cap}", "未超过最高额{cap}"),
    "rounded": ("rounded half-up to the fen: {amount}", "四舍五入到分：{amount}"),
    "zero": ("nothing to pay", "不予补助"),
    # A1
    "a1.contract": ("contract {txn} ({contract_type}, registration {reg}, registered {date}, {role} {org}): {amount}",
                    "合同 {txn}（{contract_type}，登记号 {reg}，登记日期 {date}，{role} {org}）：{amount}"),
    "a1.value_added": ("contract {txn} transfers project {project} again: previous transfer {prev_txn} of {prev_date} "
                       "at {prev_price}; only the value added counts: max(0, {price} − {prev_price}) = {counted}",
                       "合同 {txn} 为项目 {project} 的再次转让：上次转让 {prev_txn}（{prev_date}）成交额 {prev_price}；"
                       "仅就增值部分补助：max(0, {price} − {prev_price}) = {counted}"),
    "a1.turnover": ("{year} turnover of registered {group} contracts: {turnover} ({count} contract(s))",
                    "{year}年度经认定登记的{group}合同成交额：{turnover}（{count}份）"),
    # A2
    "a2.contract": ("brokered contract {txn} (registration {reg}, transformed in the city): {amount}",
                    "促成合同 {txn}（登记号 {reg}，在市内转化）：{amount}"),
    "a2.turnover": ("{year} turnover of brokered contracts transformed in the city: {turnover} ({count} contract(s))",
                    "{year}年度促成在市内转化的技术合同成交额：{turnover}（{count}份）"),
    "a2.threshold.met": ("{turnover} reaches the threshold of {threshold} (“以上”: the figure itself counts)",
                         "成交额{turnover}达到{threshold}以上（含本数）"),
    "a2.threshold.short": ("{turnover} is below the threshold of {threshold}: short by {shortfall}; no subsidy",
                           "成交额{turnover}未达到{threshold}，差额{shortfall}，不予补助"),
    # A3
    "a3.fee": ("voucher service {txn} of {date}: fee {fee}, bought by {buyer} ({kind}) from the city's service agency {provider}",
               "创新券服务 {txn}（{date}）：服务费 {fee}，{buyer}（{kind}）向本市科技服务机构 {provider} 购买"),
    "a3.split": ("province {province_share}: {province}; city {city_share}: {city}; the enterprise pays the rest, "
                 "{enterprise} (the rounding remainder goes to the enterprise)",
                 "省补贴{province_share}：{province}；市补贴{city_share}：{city}；企业自付余额{enterprise}（舍入余数计入企业）"),
    "a3.total": ("subsidy, province + city: {amount}", "补助合计（省+市）：{amount}"),
    # A4
    "a4.base": ("{year} redeemed voucher service contracts of {org}: {total} ({count} voucher(s))",
                "{year}年度{org}兑现条件服务合同额：{total}（{count}笔）"),
    "a4.match": ("provincial service-performance reward received in {year}: {reward}",
                 "{year}年度获得省服务绩效奖励：{reward}"),
    "a4.match.ineligible": ("{org} is not an in-city science-and-technology service agency "
                            "(in_city {in_city}, service_agency {service_agency}): no match",
                            "{org}不是市内科技服务机构（在市内：{in_city}，科技服务机构：{service_agency}），不予配套"),
    # A5
    "a5.lease": ("{year} lease fees for financially leased instruments on the sharing platform: {total} ({count} lease payment(s))",
                 "{year}年度融资租赁且纳入共享平台的科研仪器租赁费用：{total}（{count}笔）"),
    "a5.service": ("{year} fees from external R&D/testing services on those instruments: {total} ({count} service(s))",
                   "{year}年度上述仪器对外提供研发测试服务费用：{total}（{count}笔）"),
    "a5.lesser": ("{lease_rate} × {lease} = {lease_part}; {service_rate} × {service} = {service_part}; the lesser of the two: {lesser}",
                  "{lease_rate} × {lease} = {lease_part}；{service_rate} × {service} = {service_part}；二者取较小额度：{lesser}"),
    "a5.review": ("“服务成效良好” (good service results) is the reviewer's judgement, recorded with the decision",
                  "“服务成效良好”由审核人判断，随审核决定记录"),
    # claims (B, A2.national, A2.provincial)
    "claim.evidence": ("evidence: {evidence}", "申报材料：{evidence}"),
    "claim.fixed": ("amount set by the clause: {amount}", "条款规定金额：{amount}"),
    "claim.up_to": ("up to {cap}; requested {requested}", "最高{cap}；申请{requested}"),
    "claim.up_to.default": ("up to {cap}; no amount requested, so the maximum", "最高{cap}；未申请具体金额，按最高额计"),
    "claim.match": ("1:1 match ({ratio}) of {what}: {base}", "按{ratio}配套{what}：{base}"),
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
                      "{clauses}：{role} {org} 不是聊城市内单位，不予补助"),
    "x.a2.not_transformed": ("A2.city: not transformed inside the city (transformed_in_city false)",
                             "A2.city：成果未在市内转化，不计入"),
    "x.a2.short": ("A2.city: {org}'s in-city brokered turnover {turnover} is below the threshold of {threshold} (short by {shortfall})",
                   "A2.city：{org}促成市内转化的年度技术合同成交额{turnover}未达到{threshold}（差额{shortfall}）"),
    "x.a3.size": ("A3, A4: buyer {org} is a {size} enterprise; only small, medium and micro enterprises qualify",
                  "A3、A4：购买方 {org} 为{size}企业，仅中小微企业可享受"),
    "x.a3.size_unknown": ("A3, A4: buyer {org} is an enterprise of unknown size; only small, medium and micro enterprises qualify",
                          "A3、A4：购买方 {org} 企业规模未知，仅中小微企业可享受"),
    "x.a3.kind": ("A3, A4: buyer {org} ({kind}) is neither a small/medium/micro enterprise nor a maker team",
                  "A3、A4：购买方 {org}（{kind}）不是中小微企业或创客团队"),
    "x.a3.host": ("A3, A4: maker team {org} is not hosted by a provincial-or-higher incubator, maker space or science park (host_level {host})",
                  "A3、A4：创客团队 {org} 不在省级以上孵化器、众创空间或大学科技园内（{host}）"),
    "x.a3.not_agency": ("A3, A4: provider {org} is not a science-and-technology service agency",
                        "A3、A4：服务提供方 {org} 不是科技服务机构"),
    "x.a5.lease": ("A5: not a financing lease listed on the sharing platform (financing_lease {financing}, on_sharing_platform {platform})",
                   "A5：非融资租赁或未纳入大型科学仪器共享平台（融资租赁：{financing}，纳入共享平台：{platform}）"),
    "x.a5.self": ("A5: {org} booked its own instrument {instrument}; self-use is not an external service",
                  "A5：{org} 使用自有仪器 {instrument}，自用不属于对外服务"),
    "x.a5.instrument": ("A5: instrument {instrument} is not financially leased by {org} and listed on the sharing platform",
                        "A5：仪器 {instrument} 不是 {org} 融资租赁并纳入共享平台的仪器"),
    # flags
    "f.overlap": ("contract(s) {txns} count both for {a1_clause} (beneficiary {seller}) and for A2.city (agency {broker}); "
                  "the reviewer decides before both are paid",
                  "合同 {txns} 同时计入 {a1_clause}（受益方 {seller}）和 A2.city（机构 {broker}），须经审核决定，不得重复支付"),
    # indicator
    "c.county": ("{county}: R&D {rd} / GDP {gdp} = {intensity_pct}; target {target}: {verdict}",
                 "{county}：研发经费{rd} / 地区生产总值{gdp} = {intensity_pct}；目标{target}：{verdict}"),
    "c.city": ("{reaching} of {total} counties reach the target ({share_pct}); needed {county_share}: {verdict}",
               "{total}个县（市、区）中{reaching}个达到目标（{share_pct}）；要求{county_share}以上：{verdict}"),
}

VERDICT = {True: ("reached", "达到"), False: ("not reached", "未达到")}


def _format(key: str, value, lang: str) -> str:
    if isinstance(value, Decimal):
        if key in _RATE_KEYS:
            return fmt_rate(value)
        return fmt_human(value)
    if isinstance(value, bool):
        value = str(value)
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
    values = {k: _format(k, v, lang) for k, v in step.values.items()}
    if "section" in step.values:
        values["section_zh"] = section_zh(str(step.values["section"]))
    return template.format_map(_Missing(values))


class _Missing(dict):
    def __missing__(self, key):
        return "{" + key + "}"
