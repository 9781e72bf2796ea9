"""Organisations, users and their membership."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db

# Kinds of organisation, as the subsidy scenario names them; "government" holds the bureaus.
ORG_KINDS = ("university", "institute", "enterprise", "agency", "incubator", "park",
             "maker_team", "government")
SIZES = ("large", "medium", "small", "micro")
# The counties (县、市、区) of Liaocheng and its development zones.
COUNTIES = ("东昌府区", "茌平区", "临清市", "阳谷县", "莘县", "东阿县", "冠县", "高唐县",
            "聊城经济技术开发区", "聊城高新技术产业开发区", "江北水城旅游度假区")
AGENCY_LEVELS = ("city", "provincial", "national")  # filed technology-transfer agency
HOST_LEVELS = ("city", "provincial", "national")  # incubator hosting a maker team


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(_in("kind", ORG_KINDS), name="kind"),
        CheckConstraint(f"size IS NULL OR {_in('size', SIZES)}", name="size"),
        CheckConstraint(f"transfer_agency_level IS NULL OR {_in('transfer_agency_level', AGENCY_LEVELS)}",
                        name="agency_level"),
        CheckConstraint(f"host_level IS NULL OR {_in('host_level', HOST_LEVELS)}", name="host_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    size: Mapped[str | None] = mapped_column(String(10))  # enterprises only
    county: Mapped[str | None] = mapped_column(String(40))
    in_city: Mapped[bool] = mapped_column(Boolean, default=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    transfer_agency_level: Mapped[str | None] = mapped_column(String(12))  # 技术转移机构备案级别
    service_agency: Mapped[bool] = mapped_column(Boolean, default=False)  # 登记的科技服务机构
    host_level: Mapped[str | None] = mapped_column(String(12))  # 创客团队所在孵化载体级别
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))

    memberships: Mapped[list["Membership"]] = relationship(back_populates="organization")

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def scenario_id(self) -> str:
        """The id this organisation has in exported subsidy scenarios."""
        return self.credit_code

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part of every session and remember cookie (see ``get_id``); raising it (logout, password
    # change or reset) makes every cookie issued before worthless, a stolen one included.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id", order_by="Membership.id")

    # The organisation the user acts for in this request (set from the session at login
    # load); a person may belong to several organisations, e.g. a professor who also
    # sits on a company's board.
    active_organization_id = None  # not a column

    # Set on the user the request signed in (``load_user`` found it active). Flask-Login asks
    # ``is_active`` through ``is_authenticated`` many times a request, and after each commit
    # (a checkout commits twice) every attribute is expired: reading ``active`` again would
    # reload the user's row each time just to learn what the request began knowing.
    signed_in_active = False  # not a column

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.signed_in_active or self.active

    def get_id(self) -> str:  # Flask-Login: what the session and the remember cookie carry
        return session_id(self.id, self.session_version)

    @property
    def membership(self) -> "Membership | None":
        chosen = self.active_organization_id
        for m in self.memberships:
            if m.organization_id == chosen:
                return m
        return self.memberships[0] if self.memberships else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def organization(self) -> Organization | None:
        return self.membership.organization if self.membership else None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


def session_id(user_id: int, version: int) -> str:
    return f"{user_id}.{version or 0}"


def parse_session_id(value: str) -> tuple[int, int] | None:
    """``(user id, session version)`` from a session id; None for anything else (the plain
    ids of cookies issued before versions existed included)."""
    user_id, dot, version = str(value).partition(".")
    if not dot or not user_id.isdigit() or not version.isdigit():
        return None
    return int(user_id), int(version)


class LoginThrottle(db.Model):
    """Failed logins counted per key (an e-mail with a client address, or an address alone),
    whether or not the e-mail has an account; past a threshold the key waits out a back-off
    that doubles with each further failure. Nothing here locks the account itself."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the key, hex
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime)


class Membership(db.Model):
    """A user's place in one organisation, with the role they act in."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", name="uq_memberships_user_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organization: Mapped[Organization] = relationship(back_populates="memberships")


class ProvincialServiceReward(db.Model):
    """The provincial service-performance reward an in-city service agency received in a year
    (省服务绩效奖励), entered by the city from the province's notice: the evidence of A4.match."""

    __tablename__ = "provincial_service_rewards"
    __table_args__ = (UniqueConstraint("organization_id", "year", name="uq_provincial_service_rewards_org_year"),
                      CheckConstraint("amount_fen >= 0", name="amount"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()


class ApiToken(db.Model):
    """A user's named bearer secret for the JSON API. Only a SHA-256 hash of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The organisation the user acted for when creating it: the token acts for that one only.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(60))
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters of the secret, shown in lists
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the whole secret
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
