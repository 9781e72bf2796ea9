"""Confirming one registration link, many times at once, with real parallel requests against
gunicorn: one organisation and one owner are made, the other requests are refused cleanly
(never a 500), and a refused confirmation leaves no row behind."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.accounts.models import Membership, Organization, User
from marketplace.extensions import db
from tests.accounts.test_accounts import _last_link, registration


def _counts():
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Organization, User, Membership))


def test_ten_parallel_confirmations_of_one_registration_make_one_organisation(client, live_app_server):
    assert client.post("/register", data=registration(email="racer@example.com")).status_code == 302
    link = _last_link("racer@example.com")
    before = _counts()
    sessions = [live_app_server.session() for _ in range(10)]

    codes = live_app_server.stampede(sessions, link, n=10,
                                     data={"password": "a-long-password", "confirm": "a-long-password"})

    assert not [c for c in codes if c >= 500], codes
    assert codes.count(302) == 1, codes
    assert _counts() == (before[0] + 1, before[1] + 1, before[2] + 1), codes
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "racer@example.com")) == 1
