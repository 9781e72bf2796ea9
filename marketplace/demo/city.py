"""The demo city at its true size: a few hundred organisations across the eight counties and
three development zones, and over a thousand listings in plain Chinese, composed from the word
lists in ``data/`` with a seeded generator (the same seed gives the same city).

Organisations and their accounts are rows (registration has no bulk service, and the demo's
organisations are verified by the city); listings are created and published through the
listings service, each at its own date in the two years before the demo year. The named
organisations of ``city.yaml`` (the accounts the tests and the README use) come first and
keep their keys; this module adds the rest and gives the named ones their share of listings.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select

from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import Listing

DATA = Path(__file__).with_name("data")
SEED = 2025
CODE_MARK = "MD"  # the generated organisations' codes: 2 + division (6) + MD + 7 digits

MODE_WORDS = {"assignment": "转让", "exclusive_licence": "独占许可", "non_exclusive_licence": "普通许可",
              "co_development": "合作开发", "equity": "作价入股"}
IP_WORDS = {"invention_patent": "发明专利", "utility_model": "实用新型专利", "software_copyright": "软件著作权",
            "new_variety": "植物新品种权", "know_how": "技术秘密"}
ROLE_FOR_KIND = {"enterprise": "enterprise", "university": "university", "institute": "university",
                 "agency": "provider", "incubator": "provider", "maker_team": "enterprise"}


@lru_cache(maxsize=None)
def data(name: str) -> dict:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8"))


def counties() -> dict:
    return {c["name"]: c for c in data("counties")["counties"]}


def _short(county: str) -> str:
    """How an enterprise of the county starts its name (临清市 → 临清, zones → 聊城)."""
    if county in ("东昌府区",) or "开发区" in county or "度假区" in county:
        return "聊城"
    return county[:-1] if len(county) == 3 else county


def _code(prefix: str, county: str, n: int) -> str:
    return credit_code.make(f"{prefix}{counties()[county]['code']}{CODE_MARK}{n:07d}")


def _person(rnd: random.Random) -> str:
    words = data("people")
    return rnd.choice(words["surnames"]) + rnd.choice(words["given"])


# --- organisations ---------------------------------------------------------------------------

def compose_organizations(rnd: random.Random) -> list[dict]:
    """The generated organisations, in a fixed order: each a dict of Organization fields plus
    ``key``, ``role``, ``email``, ``person``, ``industries`` and ``fields``."""
    inst, ind, words = data("institutions"), data("industries")["industries"], data("people")
    specs: list[dict] = []
    n = 0

    def add(prefix: str, **spec) -> dict:
        nonlocal n
        n += 1
        spec.setdefault("size", None)
        spec.update(key=f"g{n:03d}", credit_code=_code(prefix, spec["county"], n), role=ROLE_FOR_KIND[spec["kind"]],
                    email=f"office@g{n:03d}.liaocheng.demo", person=_person(rnd))
        specs.append(spec)
        return spec

    for u in inst["universities"]:
        add("12", name=u["name"], name_en=u["name_en"], kind="university", county=u["county"],
            industries=[], fields=u["fields"])
    for i in inst["institutes"]:
        add("12", name=i["name"], kind="institute", county=i["county"], industries=i["industries"],
            fields=sorted({ind[k]["field"] for k in i["industries"]}))
    for a in inst["agencies"]:
        spec = add("91" if "公司" in a["name"] or "事务所" in a["name"] else "12", name=a["name"], kind="agency",
                   county=a["county"], industries=[], fields=a["fields"], service_agency=True, agency=a["kind"],
                   transfer_agency_level=a.get("level"))
        if a["kind"] == "transfer":
            spec["role"] = "agency"
    for i in inst["incubators"]:
        add("12", name=i["name"], kind="incubator", county=i["county"], industries=[], fields=[])
    for t in inst["maker_teams"]:
        add("92", name=t["name"], kind="maker_team", county=t["county"], host_level=t["host_level"],
            industries=[t["industry"]], fields=[ind[t["industry"]]["field"]])
    taken: set[str] = set()
    for county in counties().values():
        for _ in range(county["enterprises"]):
            industry = rnd.choice(county["industries"])
            size = rnd.choices(("large", "medium", "small", "micro"), weights=(6, 20, 44, 30))[0]
            while True:
                prefix = "山东" if size == "large" and rnd.random() < 0.5 else _short(county["name"])
                suffix = "集团有限公司" if size == "large" else rnd.choice(words["suffixes"][:4])
                name = f"{prefix}{rnd.choice(words['brands'])}{rnd.choice(ind[industry]['names'])}{suffix}"
                if name not in taken:
                    break
            taken.add(name)
            add("91", name=name, kind="enterprise", size=size, county=county["name"], industries=[industry],
                fields=[ind[industry]["field"]])
    return specs


def load_organizations(context: dict, rnd: random.Random) -> list[dict]:
    """Insert the generated organisations and one account each (rows: idempotent by credit
    code and e-mail); add them to ``context["organizations"]`` and ``context["people"]``."""
    specs = compose_organizations(rnd)
    existing = {o.credit_code: o for o in db.session.scalars(
        select(Organization).where(Organization.credit_code.in_([s["credit_code"] for s in specs])))}
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.like("%@g%.liaocheng.demo")))}
    password_hash = next(iter(context["users"].values())).password_hash
    verified_at = datetime(2020, 1, 1)
    new_orgs = []
    for spec in specs:
        org = existing.get(spec["credit_code"])
        if org is None:
            org = Organization(credit_code=spec["credit_code"], name=spec["name"], name_en=spec.get("name_en"),
                               kind=spec["kind"], size=spec["size"], county=spec["county"], in_city=True,
                               service_agency=spec.get("service_agency", False),
                               transfer_agency_level=spec.get("transfer_agency_level"),
                               host_level=spec.get("host_level"), verified_at=verified_at,
                               description=_org_description(spec))
            db.session.add(org)
            new_orgs.append((org, spec))
        spec["org"] = org
    db.session.flush()
    for _org, spec in new_orgs:
        if spec["email"] not in users:
            user = User(email=spec["email"], name=spec["person"], password_hash=password_hash)
            db.session.add(user)
            users[spec["email"]] = user
    db.session.flush()
    for org, spec in new_orgs:
        db.session.add(Membership(user_id=users[spec["email"]].id, organization_id=org.id, role=spec["role"],
                                  is_owner=True))
    db.session.flush()
    for spec in specs:
        spec["user"] = users[spec["email"]]
        context["organizations"][spec["key"]] = spec["org"]
        context["people"][spec["email"]] = spec["user"]
    return specs


def _org_description(spec: dict) -> str:
    ind = data("industries")["industries"]
    if spec["kind"] == "enterprise":
        label = ind[spec["industries"][0]]["label"]
        return f"位于{spec['county']}，主要从事{label}相关产品的研发、生产和销售。"
    if spec["kind"] == "institute":
        labels = "、".join(ind[k]["label"] for k in spec["industries"])
        return f"面向{labels}产业开展共性技术研发、成果转化和技术服务。"
    if spec["kind"] == "agency":
        return "经市科技局登记的科技服务机构，面向全市企业提供专业技术服务。"
    return ""


# --- listings --------------------------------------------------------------------------------

def _patent_number(rnd: random.Random, kind: str, year: int) -> str:
    """A Chinese patent number with its check digit (weights 2..9, 2..5 over twelve digits, mod 11)."""
    digits = f"{year}{1 if kind == 'invention_patent' else 2}{rnd.randrange(10_000, 9_999_999):07d}"
    check = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5))) % 11
    return f"ZL{digits}.{'X' if check == 10 else check}"


def _price_yuan(rnd: random.Random, low: int, high: int, step: int = 100) -> int:
    return rnd.randrange(low // step, high // step + 1) * step


class Composer:
    """Writes listings for organisations; titles are unique across the demo."""

    def __init__(self, rnd: random.Random, year: int, taken: set[str]):
        self.rnd, self.year, self.taken = rnd, year, taken
        self.ind = data("industries")["industries"]
        self.cat = data("catalogue")

    def _unique(self, make):
        """``make()`` gives (title, product); the first whose title is not taken yet."""
        for _ in range(20):
            title, product = make()
            if title not in self.taken:
                self.taken.add(title)
                return title, product
        return None

    def achievement(self, owner: Organization, industry: str) -> tuple[str, dict] | None:
        rnd, spec = self.rnd, self.ind[industry]
        kinds = ["invention_patent"] * 11 + ["utility_model"] * 4 + ["know_how"] * 3
        if industry in ("it", "machinery", "new_energy"):
            kinds += ["software_copyright"] * 4
        if industry == "agriculture":
            kinds += ["new_variety"] * 6
        kind = rnd.choice(kinds)
        shapes = {
            "new_variety": lambda p, q: f"{p}新品种“聊{rnd.choice('丰研农优绿鲁')}{rnd.randrange(2, 40)}号”",
            "software_copyright": lambda p, q: f"{p}{rnd.choice(('生产管理', '质量追溯', '远程监控', '智能排产'))}软件"
                                               f"V{rnd.randrange(1, 4)}.0",
            "know_how": lambda p, q: f"{p}{q}",
        }
        shape = shapes.get(kind, lambda p, q: f"一种{p}{q}")
        made = self._unique(lambda: (lambda p: (shape(p, rnd.choice(spec["processes"])), p))(
            rnd.choice(spec["products"])))
        if made is None:
            return None
        title, product = made
        granted = rnd.randrange(self.year - 7, self.year)
        number = {"invention_patent": lambda: _patent_number(rnd, kind, granted - 2),
                  "utility_model": lambda: _patent_number(rnd, kind, granted - 1),
                  "software_copyright": lambda: f"{granted}SR{rnd.randrange(100_000, 1_999_999):07d}",
                  "new_variety": lambda: f"CNA{granted - 2}{rnd.randrange(1000, 9999)}.{rnd.randrange(10)}",
                  "know_how": lambda: None}[kind]()
        maturity = rnd.choices(("lab", "pilot", "industrial"), weights=(3, 4, 5))[0]
        modes = sorted(rnd.sample(("assignment", "exclusive_licence", "non_exclusive_licence", "co_development",
                                   "equity"), rnd.choice((1, 1, 2, 2, 3))),
                       key=("assignment", "exclusive_licence", "non_exclusive_licence", "co_development",
                            "equity").index)
        negotiable = rnd.random() < 0.18 or modes == ["co_development"]
        base = {"invention_patent": (100_000, 3_000_000), "utility_model": (20_000, 300_000),
                "software_copyright": (30_000, 500_000), "new_variety": (200_000, 2_000_000),
                "know_how": (100_000, 1_000_000)}[kind]
        price = None if negotiable else _price_yuan(rnd, *base, step=10_000) * 100
        pair = rnd.randrange(min(len(spec["problems"]), len(spec["effects"])))  # a problem and its effect
        problem, effect = spec["problems"][pair].format(product=product), spec["effects"][pair]
        text = [f"{problem}。", f"{owner.name}针对这一问题研发了本项技术，经{rnd.choice(('企业验证', '第三方检测', '中试运行', '用户试用'))}，{effect}。"]
        if number:
            text.append(f"已获{IP_WORDS[kind]}授权（{number}）。")
        text.append({"lab": "目前已完成实验室小试，希望与企业合作开展中试和产业化。",
                     "pilot": "已完成中试，工艺参数稳定，具备放大生产条件。",
                     "industrial": f"已在{rnd.randrange(2, 9)}家企业推广应用，运行稳定。"}[maturity])
        text.append(f"可{'、'.join(MODE_WORDS[m] for m in modes)}，成交后提供技术资料和现场指导。")
        return "achievement", dict(title=title, field=spec["field"], ip_kind=kind, ip_number=number, maturity=maturity,
                                   transfer_modes=modes, price_fen=price, negotiable=negotiable,
                                   description="".join(text))

    def service(self, owner: Organization, kind: str, item: dict) -> tuple[str, dict] | None:
        rnd = self.rnd
        price = None if item["price"] is None else _price_yuan(rnd, *item["price"]) * 100
        place = rnd.choice(counties()[owner.county]["places"])
        visit = "也可上门取样" if kind == "testing" else "也可到企业现场服务"
        when = f"一般{item['days']}个工作日内完成" if item["days"] <= 60 else "周期按项目商定"
        text = f"{item['text']}服务地点在{owner.county}{place}，{visit}；{when}。"
        return "service", dict(title=item["title"], field=item["field"], price_fen=price, negotiable=price is None,
                               description=text)

    def instrument(self, owner: Organization, item: dict, lease: bool) -> tuple[str, dict]:
        rnd = self.rnd
        price = _price_yuan(rnd, *item["price"], step=10) * 100
        shared = rnd.random() < 0.75
        start, end = rnd.choice(((8, 17), (8, 18), (8, 20), (9, 17), (8, 22)))
        place = rnd.choice(counties()[owner.county]["places"])
        building = rnd.choice(("分析测试楼", "实验楼", "检测大楼", "中试基地", "研发中心"))
        text = f"{item['spec']}可预约上机，也可寄送样品委托测试。"
        if shared:
            text += "已纳入聊城市大型科研仪器共享平台，对外开放共享。"
        if lease:
            text += "本仪器以融资租赁方式购置。"
        unit = "每小时" if item["unit"] == "hour" else "每个样品"
        text += f"对外收费{price // 100}元{unit}。"
        return "instrument", dict(title=item["title"], field="检验检测", category=item["category"],
                                  model=rnd.choice(item["models"]), location=f"{owner.county}{place}{building}"
                                  f"{rnd.randrange(1, 6)}{rnd.randrange(1, 20):02d}室", price_unit=item["unit"],
                                  price_fen=price, internal_price_fen=price // 2, financing_lease=lease,
                                  on_sharing_platform=shared, open_from_hour=start, open_to_hour=end,
                                  description=text)

    def demand(self, owner: Organization, industry: str) -> tuple[str, dict] | None:
        rnd, spec = self.rnd, self.ind[industry]
        def make():
            p = rnd.choice(spec["products"])
            title = rnd.choice(spec["demands"]).format(product=p, process=rnd.choice(spec["processes"]))
            return title.replace("技术技术", "技术").replace("方案方案", "方案"), p

        made = self._unique(make)
        if made is None:
            return None
        title, product = made
        budget = _price_yuan(rnd, 50_000, 2_000_000, step=50_000)
        problem = rnd.choice(spec["problems"]).format(product=product)
        text = (f"我公司主要生产{product}。目前{problem}，希望与高校、科研院所或科技型企业合作，"
                f"在{rnd.choice(('半年', '一年', '两年'))}内解决问题并在生产线上应用。"
                f"预算约{budget // 10_000}万元，可面议；合作方式可以是委托开发、技术许可或共建研发平台。")
        return "demand", dict(title=title, field=spec["field"], price_fen=budget * 100, description=text)


def compose_listings(rnd: random.Random, year: int, specs: list[dict], named: dict) -> list[tuple]:
    """(user, kind, fields) for every generated listing, in a fixed order. ``named``: the
    named organisations' keys → (organisation, user) that list too (聊城大学, the academy)."""
    core = {t for _, _, _, f in _core_listings() for t in (f["title"],)}
    c = Composer(rnd, year, set(core))
    cat = c.cat
    out: list[tuple] = []
    all_industries = list(c.ind)

    def put(user, made):
        if made is not None:
            out.append((user, *made))

    lcu_org, lcu_user = named["lcu"]
    for _ in range(130):  # Liaocheng University: every industry of the city
        put(lcu_user, c.achievement(lcu_org, rnd.choice(all_industries)))
    nky_org, nky_user = named["nky"]
    for _ in range(30):
        put(nky_user, c.achievement(nky_org, rnd.choice(("agriculture", "agriculture", "food"))))
    for item in rnd.sample(cat["instruments"], 8):
        put(lcu_user, c.instrument(lcu_org, item, lease=False))
    for spec in specs:
        org, user, kind = spec["org"], spec["user"], spec["kind"]
        if kind == "university":
            for _ in range(30):
                put(user, c.achievement(org, rnd.choice(all_industries)))
            for item in cat["services"]["university"]:
                put(user, c.service(org, "university", item))
            for item in rnd.sample(cat["instruments"], 6):
                put(user, c.instrument(org, item, lease=False))
        elif kind == "institute":
            for _ in range(rnd.randrange(12, 18)):
                put(user, c.achievement(org, rnd.choice(spec["industries"])))
            put(user, c.service(org, "university", cat["services"]["university"][0]))
            for item in rnd.sample(cat["instruments"], 3):
                put(user, c.instrument(org, item, lease=rnd.random() < 0.1))
        elif kind == "agency":
            items = cat["services"][spec["agency"]]
            for item in rnd.sample(items, min(len(items), rnd.randrange(4, 8))):
                put(user, c.service(org, spec["agency"], item))
            if spec["agency"] == "testing":
                for item in rnd.sample(cat["instruments"], rnd.randrange(4, 7)):
                    put(user, c.instrument(org, item, lease=rnd.random() < 0.08))
        elif kind == "incubator":
            put(user, c.service(org, "consulting", cat["services"]["consulting"][2]))
        elif kind == "maker_team":
            put(user, c.achievement(org, spec["industries"][0]))
        elif kind == "enterprise":
            industry = spec["industries"][0]
            for _ in range(rnd.choice((0, 1, 1, 1, 2))):
                put(user, c.demand(org, industry))
            if spec["size"] in ("large", "medium") and rnd.random() < 0.45:
                put(user, c.achievement(org, industry))
            if spec["size"] == "large":
                for item in rnd.sample(cat["instruments"], 2):
                    put(user, c.instrument(org, item, lease=rnd.random() < 0.1))
    return out


def _core_listings():
    from marketplace.demo.year import LISTINGS

    return LISTINGS


def generated_listings_exist(specs: list[dict]) -> bool:
    first = specs[0]["org"]
    return db.session.scalar(select(Listing.id).where(Listing.organization_id == first.id).limit(1)) is not None


def load_listings(context: dict, rnd: random.Random, year: int, specs: list[dict]) -> int:
    """Create and publish the generated listings through the listings service, each on its own
    day of the two years before the demo year (the core listings come on 3 January)."""
    named = {k: (context["organizations"][k], context["users"][e]) for k, e in
             (("lcu", "tech-transfer@lcu.liaocheng.demo"), ("nky", "office@nky.liaocheng.demo"))}
    planned = compose_listings(rnd, year, specs, named)
    start, days = datetime(year - 2, 3, 1, 1), (datetime(year - 1, 12, 31) - datetime(year - 2, 3, 1)).days
    moments = sorted(start + timedelta(days=rnd.randrange(days), hours=rnd.randrange(10)) for _ in planned)
    for (user, kind, fields), moment in zip(planned, moments):
        with frozen_at(moment):
            listing = listings.create_listing(user, kind, fields)
            listings.publish(user, listing.id)
    return len(planned)


def load_city(context: dict) -> None:
    """Demo step (before the year): the generated organisations, then their listings once."""
    from flask import current_app

    from marketplace.demo.year import demo_year

    if current_app.config["DEMO_CITY"] == "named":
        context["generated"] = []
        return
    rnd = random.Random(SEED)
    specs = load_organizations(context, rnd)
    context["generated"] = specs
    if not generated_listings_exist(specs):
        load_listings(context, random.Random(SEED + 1), demo_year(), specs)
