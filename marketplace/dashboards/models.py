"""County R&D figures for the C indicator (section 6.2), entered by the city; the year's
turnover sums kept in the database (``dashboards.stored``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import COUNTIES, User
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db

# The development zones are functional zones, not county-level divisions (县、市、区): the
# indicator of 6.2 counts the eight counties, districts and county-level cities, whose
# statistics bureaus publish R&D spending and GDP (the zones' figures are inside them).
DEVELOPMENT_ZONES = ("聊城经济技术开发区", "聊城高新技术产业开发区", "江北水城旅游度假区")
INDICATOR_COUNTIES = tuple(c for c in COUNTIES if c not in DEVELOPMENT_ZONES)


class CountyRD(db.Model):
    """One county's R&D spending (全社会研发经费支出) and GDP (地区生产总值) in one year, in fen."""

    __tablename__ = "county_rd"
    __table_args__ = (
        UniqueConstraint("year", "county", name="uq_county_rd_year_county"),
        CheckConstraint("rd_spending_fen > 0", name="rd_positive"),
        CheckConstraint("gdp_fen > 0", name="gdp_positive"),
        CheckConstraint("rd_spending_fen < gdp_fen", name="rd_below_gdp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    county: Mapped[str] = mapped_column(String(40))
    rd_spending_fen: Mapped[int] = mapped_column(BigInteger)
    gdp_fen: Mapped[int] = mapped_column(BigInteger)
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    entered_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CountyRD {self.year} {self.county} {self.rd_spending_fen}/{self.gdp_fen}>"


class TurnoverSum(db.Model):
    """One group of a year's turnover sums (``dashboards.services._full_sums``): the fen and the
    distinct trades of a (tag, kind, bucket): ``month`` (bucket "1".."12"), ``party`` (bucket the
    party's credit code; ``noparty`` when the entry names none), ``raw`` and ``trades`` (no
    bucket). Kept by the worker up to the year's ``TurnoverHead``."""

    __tablename__ = "dashboard_sums"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tag: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    fen: Mapped[int] = mapped_column(BigInteger)
    trades: Mapped[int] = mapped_column(Integer)


class TurnoverHead(db.Model):
    """How far a year's stored sums reach: the ledger entry (seq and hash) they include, the
    last. A reader brings them forward from here; the worker moves it with a conditional
    UPDATE on the seq it read, so two workers never add the same entries twice."""

    __tablename__ = "dashboard_heads"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
