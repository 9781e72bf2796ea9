"""The demo facility: the testing centre's instruments in each mode, with qualified and
unqualified users, an outage, a waiting list, recorded use and no-shows — made through the
services, at the times they would have happened (after the demo year, around today).

* 扫描电子显微镜 (SEM): self-operation with training and manager approval, and samples too.
  rd@zl is qualified; boss@jx is not (he can book a training session).
* 电感耦合等离子体质谱仪 (ICP-MS): samples only; a report issued, another order in testing.
* 高效液相色谱仪 (HPLC): instant self-operation, no training; maintenance next week.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from marketplace.core.timeutil import beijing_now, frozen_at, utcnow
from marketplace.extensions import db
from marketplace.instruments import services
from marketplace.instruments.models import InstrumentSettings
from marketplace.listings.models import Listing

LAB, JX, ZL = "lab@jck.liaocheng.demo", "boss@jx.liaocheng.demo", "rd@zl.liaocheng.demo"


def _listing(org, title: str) -> Listing | None:
    return db.session.scalar(select(Listing).where(Listing.organization_id == org.id, Listing.title == title))


def _beijing_day(days: int, hour: int) -> datetime:
    """A Beijing wall-clock hour ``days`` from today."""
    return (beijing_now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def load_instruments(context: dict) -> None:
    u, o = context["users"], context["organizations"]
    lab, jx, zl = u[LAB], u[JX], u[ZL]
    sem, icp, hplc = (_listing(o["jck"], t) for t in ("扫描电子显微镜", "电感耦合等离子体质谱仪", "高效液相色谱仪"))
    if None in (sem, icp, hplc) or db.session.get(InstrumentSettings, sem.id) is not None:
        return  # no demo year, or already loaded
    now = utcnow()
    with frozen_at(now - timedelta(days=20)):
        services.save_settings(lab, sem.id, self_mode=True, sample_mode=True, sample_price_fen=45_000,
                               requires_training=True, training_hours=2, qualification_months=12, approval="manager",
                               hold_hours=48, weekly_quota_hours=20, cancel_window_hours=24, late_rule="fee",
                               late_fee_fen=20_000, billing="greater", accreditation="CMA 2021150123；CNAS L15678",
                               specifications="分辨率 1.0 nm（15 kV）；放大倍数 20–800,000×；配能谱仪（EDS）。",
                               latitude="36.4570", longitude="115.9856")
        services.save_settings(lab, icp.id, self_mode=False, sample_mode=True, sample_price_fen=30_000,
                               sample_days=5, accreditation="CMA 2021150123",
                               specifications="检出限 ppt 级；可测 70 余种元素。")
        services.save_settings(lab, hplc.id, self_mode=True, requires_training=False, approval="instant",
                               overnight=True, max_hours=48, cancel_window_hours=12, late_rule="mark",
                               billing="used", accreditation="CMA 2021150123；CNAS L15678",
                               specifications="四元泵；二极管阵列检测器；自动进样器 120 位。")
        services.qualify(lab, sem.id, zl.id)
    # Last week: zl used the SEM (recorded), and did not come the next day (a no-show and its fee).
    with frozen_at(now - timedelta(days=10)):
        [used] = services.book(zl, sem.id, _beijing_day(3, 9), 3)
        [missed] = services.book(zl, sem.id, _beijing_day(4, 14), 2)
        services.decide(lab, used.id, approve=True)
        services.decide(lab, missed.id, approve=True)
    with frozen_at(now - timedelta(days=5)):
        services.record_use(lab, used.id, _beijing_day(-2, 9), _beijing_day(-2, 12) + timedelta(minutes=30))
        services.record_no_show(lab, missed.id)
    # Yesterday: a booking of zl whose attendance nobody has recorded yet (the manager can).
    with frozen_at(now - timedelta(days=3)):
        [yesterday] = services.book(zl, sem.id, _beijing_day(2, 10), 2)
        services.decide(lab, yesterday.id, approve=True)
    # Samples: jx's ICP-MS samples reported, zl's in testing.
    with frozen_at(now - timedelta(days=8)):
        reported = services.send_samples(jx, icp.id, 6, "6 份阿胶样品，测铅、镉、砷、汞含量。")
        testing = services.send_samples(zl, icp.id, 3, "3 个轴承钢样品，测微量元素。")
    with frozen_at(now - timedelta(days=7)):
        services.advance_samples(lab, reported.id, "received")
        services.advance_samples(lab, testing.id, "received")
    with frozen_at(now - timedelta(days=5)):
        services.advance_samples(lab, reported.id, "testing")
        services.advance_samples(lab, testing.id, "testing")
    with frozen_at(now - timedelta(days=2)):
        services.advance_samples(lab, reported.id, "reported", samples_done=6,
                                 report="6 份样品铅、镉、砷、汞含量均低于《中国药典》限量。")
    # Ahead: zl's SEM day is full, jx waits for it; the HPLC has maintenance next week.
    day = _beijing_day(9, 8)
    services.book(lab, sem.id, day, 10)  # the centre's own use fills the day
    services.join_waitlist(jx, sem.id, day.date(), 2)
    services.block(lab, hplc.id, _beijing_day(8, 8), _beijing_day(8, 18), "maintenance", "色谱柱更换与年度校准")
    services.book(zl, hplc.id, _beijing_day(6, 20), 14)  # an overnight run

