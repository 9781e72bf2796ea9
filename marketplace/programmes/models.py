"""The city's programmes beyond the market: the high-tech enterprise cultivation pool (1.3),
the IP database by industry (4.3), science and technology commissioners (3.3) and the
major project reserve (1.1). Decisions are appended (pool decisions, selections); a row's
current state is kept beside its history, never instead of it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# --- 1.3 high-tech enterprise cultivation pool (高新技术企业培育库) -----------------------

POOL_STATUSES = ("admitted", "removed", "recognised")  # in the pool, out of it, recognised as an HTE
POOL_DECISIONS = ("admit", "keep", "remove", "recognise")


class HteFigureSet(db.Model):
    """Figures an enterprise entered for the recognition check. Each entry is a new row."""

    __tablename__ = "hte_figure_sets"
    __table_args__ = (
        CheckConstraint("revenue_last_year_fen >= 0 AND revenue_3y_fen >= 0 AND rd_3y_fen >= 0 "
                        "AND rd_3y_in_china_fen >= 0 AND high_tech_revenue_fen >= 0", name="amounts"),
        CheckConstraint("staff >= 0 AND st_staff >= 0 AND core_ip_count >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)  # the "last year" of the figures
    revenue_last_year_fen: Mapped[int] = mapped_column(BigInteger)  # 最近一年销售收入
    revenue_3y_fen: Mapped[int] = mapped_column(BigInteger)  # 近三年销售收入总额
    rd_3y_fen: Mapped[int] = mapped_column(BigInteger)  # 近三年研发费用总额
    rd_3y_in_china_fen: Mapped[int] = mapped_column(BigInteger)  # 其中境内
    high_tech_revenue_fen: Mapped[int] = mapped_column(BigInteger)  # 近一年高新技术产品（服务）收入
    staff: Mapped[int] = mapped_column(Integer)  # 职工总数
    st_staff: Mapped[int] = mapped_column(Integer)  # 科技人员
    core_ip_count: Mapped[int] = mapped_column(Integer)  # 核心自主知识产权
    founded_on: Mapped[date] = mapped_column(Date)  # 注册成立日期
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()

    def engine_figures(self) -> dict:
        """The figures as the pure HTE check reads them (decimal yuan strings)."""
        from marketplace.core.money import fen_to_str

        return {"revenue_last_year": fen_to_str(self.revenue_last_year_fen),
                "revenue_3y": fen_to_str(self.revenue_3y_fen), "rd_3y": fen_to_str(self.rd_3y_fen),
                "rd_3y_in_china": fen_to_str(self.rd_3y_in_china_fen),
                "high_tech_revenue": fen_to_str(self.high_tech_revenue_fen), "staff": self.staff,
                "st_staff": self.st_staff, "core_ip_count": self.core_ip_count, "founded_on": self.founded_on}


class PoolEntry(db.Model):
    """An enterprise's place in the cultivation pool (current state; history in PoolDecision)."""

    __tablename__ = "hte_pool_entries"
    __table_args__ = (CheckConstraint(_in("status", POOL_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(Text)  # of the latest decision
    admitted_on: Mapped[date] = mapped_column(Date)
    reviewed_on: Mapped[date] = mapped_column(Date)  # the latest decision (admit, keep, remove, recognise)
    certificate_no: Mapped[str | None] = mapped_column(String(40))  # 高新技术企业证书编号
    recognised_on: Mapped[date | None] = mapped_column(Date)

    organization: Mapped[Organization] = relationship()
    decisions: Mapped[list["PoolDecision"]] = relationship(order_by="PoolDecision.id", back_populates="entry")


class PoolDecision(db.Model):
    """One decision of the city about an enterprise in the pool, with its reason. Append only."""

    __tablename__ = "hte_pool_decisions"
    __table_args__ = (CheckConstraint(_in("decision", POOL_DECISIONS), name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hte_pool_entries.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    figures_id: Mapped[int | None] = mapped_column(ForeignKey("hte_figure_sets.id"))
    criteria_met: Mapped[int | None] = mapped_column(Integer)  # how many criteria the figures met then
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    entry: Mapped[PoolEntry] = relationship(back_populates="decisions")


# --- 4.3 IP database by industry (知识产权数据库) ----------------------------------------

IP_RIGHT_KINDS = ("invention_patent", "utility_model", "design_patent", "software_copyright", "new_variety",
                  "integrated_circuit_layout")
IP_STATUSES = ("valid", "lapsed")


class IpRight(db.Model):
    """A patent or other registered IP held by an organisation."""

    __tablename__ = "ip_rights"
    __table_args__ = (
        CheckConstraint(_in("kind", IP_RIGHT_KINDS), name="kind"),
        CheckConstraint(_in("status", IP_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 专利号 / 登记号
    title: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(40), index=True)  # a key of industries.yaml
    granted_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="valid")
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), index=True)  # achievement
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    listing = relationship("Listing")


class EnterpriseProfile(db.Model):
    """What the city knows of an enterprise beyond its registration: above-scale industry
    (规模以上工业企业, for the zero-patent drive) and its industry."""

    __tablename__ = "enterprise_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    above_scale_industrial: Mapped[bool] = mapped_column(Boolean, default=False)
    industry: Mapped[str | None] = mapped_column(String(40))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()


# --- 3.3 science and technology commissioners (科技特派员) --------------------------------

COMMISSIONER_KINDS = ("rural", "enterprise")  # 农业科技特派员, 企业科技特派员
BASE_KINDS = ("base", "station", "star")  # 示范基地（项目）, 农科驿站, 星创天地
LEVELS = ("city", "provincial", "national")
SELECTION_CATEGORIES = {  # category -> claim kind (CLAIM_KINDS) it feeds
    "base": "B6.base", "excellent": "B6.excellent", "advanced": "B6.advanced", "star": "B6.star",
    "station": "B6.station", "enterprise": "B6.enterprise", "project": "B6.project",
}


class Commissioner(db.Model):
    __tablename__ = "commissioners"
    __table_args__ = (CheckConstraint(_in("kind", COMMISSIONER_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)  # sending unit
    specialty: Mapped[str] = mapped_column(String(200), default="")
    county: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization | None] = relationship()


class CommissionerBase(db.Model):
    """A demonstration base (project), 农科驿站 or 星创天地, run by an organisation."""

    __tablename__ = "commissioner_bases"
    __table_args__ = (
        CheckConstraint(_in("kind", BASE_KINDS), name="kind"),
        CheckConstraint(_in("level", LEVELS), name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    commissioner_id: Mapped[int | None] = mapped_column(ForeignKey("commissioners.id"))  # founder or leader
    county: Mapped[str | None] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(12), default="city")
    provincially_filed: Mapped[bool] = mapped_column(Boolean, default=False)  # 省级备案 (农科驿站)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    commissioner: Mapped[Commissioner | None] = relationship()


class CommissionerProject(db.Model):
    """A project a commissioner leads with an enterprise."""

    __tablename__ = "commissioner_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    commissioner_id: Mapped[int] = mapped_column(ForeignKey("commissioners.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the enterprise
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    provincial_support_fen: Mapped[int | None] = mapped_column(BigInteger)  # 省级财政支持额度
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    commissioner: Mapped[Commissioner] = relationship()
    organization: Mapped[Organization] = relationship()


class Selection(db.Model):
    """One result of the yearly selection (or a one-time award), entered once; it feeds one B6 claim."""

    __tablename__ = "commissioner_selections"
    __table_args__ = (
        CheckConstraint(_in("category", tuple(SELECTION_CATEGORIES)), name="category"),
        CheckConstraint("amount_fen >= 0", name="amount"),
        UniqueConstraint("year", "category", "subject", name="uq_selection"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(12))
    claim_kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(30))  # "commissioner:3", "base:5" or "project:2"
    commissioner_id: Mapped[int | None] = mapped_column(ForeignKey("commissioners.id"))
    base_id: Mapped[int | None] = mapped_column(ForeignKey("commissioner_bases.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("commissioner_projects.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # receives the award
    selected_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[dict] = mapped_column(JSON)  # the claim evidence, as the engine reads it
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # computed by the engine on selected_on
    claim_id: Mapped[int | None] = mapped_column(Integer)  # the claim filed from it (marketplace.claims)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    commissioner: Mapped[Commissioner | None] = relationship()
    base: Mapped[CommissionerBase | None] = relationship()
    project: Mapped[CommissionerProject | None] = relationship()
    organization: Mapped[Organization] = relationship()


# --- 1.1 major project reserve (科技项目库) ----------------------------------------------

PROJECT_STATUSES = ("proposed", "reserved", "rejected", "funded", "completed")


class MajorProject(db.Model):
    """A proposed city-county joint major S&T project (重大科技市县联合项目)."""

    __tablename__ = "major_projects"
    __table_args__ = (
        CheckConstraint(_in("status", PROJECT_STATUSES), name="status"),
        CheckConstraint("requested_city_fen >= 0", name="requested"),
        CheckConstraint("city_share_fen IS NULL OR city_share_fen >= 0", name="city_share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # lead
    county: Mapped[str] = mapped_column(String(40))
    industry: Mapped[str] = mapped_column(String(40))
    bottleneck: Mapped[str] = mapped_column(Text, default="")  # the key technology to break through
    requested_city_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="proposed", index=True)
    review_note: Mapped[str | None] = mapped_column(Text)
    city_share_fen: Mapped[int | None] = mapped_column(BigInteger)  # ≤ B1 cap
    county_share_fen: Mapped[int | None] = mapped_column(BigInteger)
    funded_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    breakthrough: Mapped[bool] = mapped_column(Boolean, default=False)  # 关键核心技术突破 achieved
    claim_id: Mapped[int | None] = mapped_column(Integer)  # the B1 claim filed from it
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
