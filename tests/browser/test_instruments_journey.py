"""A shared instrument as a core facility runs it (issue 20), in Chromium against gunicorn.

An unqualified engineer cannot self-book the scanning electron microscope, books training,
is qualified, books with approval, and finds the booking in his iCal feed; another
enterprise sends samples and receives the report; the centre blocks a maintenance day and
the booking is moved with a notice; a no-show is recorded; the utilisation report shows it
all and the A5 review page shows the report. Screenshots: screenshots/f-shared-instrument/.
"""
from __future__ import annotations

import re
from datetime import timedelta

from icalendar import Calendar

from marketplace.core.timeutil import beijing_today

ENGINEER = "boss@jx.liaocheng.demo"  # 张经理, 聊城鲁西精密机械 (small enterprise), not qualified on the SEM
SENDER = "rd@zl.liaocheng.demo"      # 马工, 临清轴承制造 (medium enterprise)
LAB = "lab@jck.liaocheng.demo"       # the testing centre that runs the SEM
REVIEWER = "reviewer@kjj.liaocheng.demo"
SEM = "扫描电子显微镜"


def _open_instrument(j, title: str) -> int:
    page = j.page
    j.goto("/listings")
    page.get_by_role("link", name=title).first.click()
    page.wait_for_load_state()
    page.locator("main a[href^='/instruments/']", has_text="仪器页面").click()
    page.wait_for_load_state()
    match = re.search(r"/instruments/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def _submit(form):
    form.locator("button").click()
    form.page.wait_for_load_state()


def _decide_first_pending(j, who: str):
    row = j.page.locator("#bookings tr", has_text="待审批").filter(has_text=who).first
    _submit(row.locator("form.decide-form"))
    assert "已审批。" in j.flash()


def test_a_facility_runs_its_shared_instrument(journey):
    j = journey("f-shared-instrument")
    training_day = beijing_today() + timedelta(days=2)
    use_day = beijing_today() + timedelta(days=3)

    # The engineer is not qualified: no booking form, the reason, and a training form instead.
    page = j.person(ENGINEER).page
    sem = _open_instrument(j, SEM)
    assert "CMA" in page.inner_text("#facts") and page.locator("#facts a", has_text="地图").count() == 1
    assert page.locator("#next-free .tag").count() > 0  # the next free hours
    assert "尚未参加培训" in page.inner_text("#why-not")
    assert page.locator("#book-form").count() == 0
    j.shot("unqualified-sees-why")
    form = page.locator("#training-form")
    form.locator("#day").fill(training_day.isoformat())
    form.locator("#hour").fill("9")
    _submit(form)
    assert "已预约培训。" in j.flash() and "待仪器管理员审批" in j.flash()
    assert "培训" in page.inner_text("#my-bookings") and "待审批" in page.inner_text("#my-bookings")
    j.shot("training-requested")

    # The centre approves the training and records his qualification.
    page = j.person(LAB).page
    j.goto(f"/instruments/{sem}/manage")
    _decide_first_pending(j, "张经理")
    form = page.locator("#qualify-form")
    form.locator("#email").fill(ENGINEER)
    _submit(form)
    assert "已授予上机资格。" in j.flash()
    assert ENGINEER in page.inner_text("#qualifications")
    j.shot("engineer-qualified")

    # Now he books two hours; the manager approves them.
    page = j.person(ENGINEER).page
    j.goto(f"/instruments/{sem}")
    assert page.locator("#why-not").count() == 0
    form = page.locator("#book-form")
    form.locator("#day").fill(use_day.isoformat())
    form.locator("#hour").fill("10")
    form.locator("#hours").fill("2")
    _submit(form)
    assert "待仪器管理员审批" in j.flash()
    j.shot("booking-requested")
    page = j.person(LAB).page
    j.goto(f"/instruments/{sem}/manage")
    _decide_first_pending(j, "张经理")
    j.shot("booking-approved")

    # The booking is in his calendar feed.
    page = j.person(ENGINEER).page
    j.goto("/instruments/bookings")
    row = page.locator("#my-bookings tr", has_text=f"{use_day.isoformat()} 10:00")
    assert "已批准" in row.inner_text()
    feed_url = page.input_value("#feed-url")
    response = page.request.get(feed_url)
    assert response.status == 200 and response.headers["content-type"].startswith("text/calendar")
    events = [e for e in Calendar.from_ical(response.body()).walk("VEVENT") if str(e["summary"]) == SEM]
    assert [e.decoded("dtstart").strftime("%Y-%m-%d %H:%M") for e in events] == [f"{use_day.isoformat()} 10:00"]
    j.shot("bookings-with-feed")

    # Another enterprise sends samples to the SEM and receives the report.
    page = j.person(SENDER).page
    j.goto(f"/instruments/{sem}")
    form = page.locator("#samples-form")
    form.locator("#samples").fill("3")
    form.locator("#description").fill("3 个轴承钢断口试样，观察断口形貌并做能谱分析。")
    _submit(form)
    assert "送样单已提交。" in j.flash()
    sample_url = page.url
    assert "已送样，待收样" in page.inner_text("h1")
    j.shot("samples-sent")
    page = j.person(LAB).page
    page.goto(sample_url)
    for step in ("received", "testing"):
        form = page.locator("#advance-form")
        form.locator("#to").select_option(step)
        _submit(form)
    form = page.locator("#advance-form")
    form.locator("#to").select_option("reported")
    form.locator("#samples_done").fill("3")
    form.locator("#report").fill("断口呈韧窝状，为韧性断裂；夹杂物为 MnS。")
    _submit(form)
    assert "已出具报告" in page.inner_text("h1")
    j.shot("report-issued")
    page = j.person(SENDER).page
    page.goto(sample_url)
    assert "韧性断裂" in page.inner_text("#report") and "3 个样品中已完成 3 个" in j.main_text()
    j.shot("sender-reads-report")

    # The centre blocks the day for maintenance: the engineer's booking moves, and he is told.
    page = j.person(LAB).page
    j.goto(f"/instruments/{sem}/manage")
    form = page.locator("#outage-form")
    form.locator("#kind").select_option("maintenance")
    form.locator("#start").fill(f"{use_day.isoformat()} 00:00")
    form.locator("#end").fill(f"{(use_day + timedelta(days=1)).isoformat()} 00:00")
    form.locator("#reason").fill("电子枪更换与年度校准")
    _submit(form)
    assert "已调整 1 项预约" in j.flash()
    j.shot("maintenance-blocked")
    # ... and records the no-show of yesterday's booking (the demo's, by 临清轴承).
    row = page.locator("#bookings tr", has_text="临清轴承").filter(has=page.locator("form[action$='/no-show']")).first
    row.locator("form[action$='/no-show'] button").click()
    page.wait_for_load_state()
    assert "已记录爽约。" in j.flash()
    j.shot("no-show-recorded")

    page = j.person(ENGINEER).page
    j.goto("/instruments/bookings")
    moved = page.locator("#my-bookings tr", has_text=f"因维护由 {use_day.isoformat()} 10:00 调整")
    assert moved.count() == 1
    assert f"{(use_day + timedelta(days=1)).isoformat()} 10:00" in moved.inner_text()
    j.goto("/home")
    assert "因仪器维护，您的预约已调整" in j.main_text()
    j.shot("engineer-told-of-the-move")

    # The utilisation report shows it all, and exports.
    page = j.person(LAB).page
    j.goto(f"/instruments/{sem}/utilisation")
    total = [c.strip() for c in page.locator("table.utilisation tr.total td").all_inner_texts()]
    columns = dict(zip(["available", "booked", "external", "share", "used", "training", "no_shows", "late",
                        "sample_orders", "samples_done", "utilisation"], total))
    assert int(columns["training"]) >= 2 and int(columns["no_shows"]) >= 2  # the demo's and today's
    assert int(columns["sample_orders"]) >= 1 and int(columns["samples_done"]) >= 3
    assert float(columns["used"]) > 0 and int(columns["booked"]) >= 2 + 2
    j.shot("utilisation-report")
    with page.expect_download() as download:
        page.locator("#export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    # The reviewer sees the report on the testing centre's A5 claim.
    page = j.person(REVIEWER).page
    j.goto("/review?status=evidence_requested")
    page.locator("main tr", has_text="聊城市检验检测中心").filter(has_text="A5").first.locator("a").first.click()
    page.wait_for_load_state()
    evidence = page.locator("#instrument-evidence")
    assert SEM in evidence.inner_text()
    evidence.locator("tr", has_text=SEM).locator("a", has_text="月度报告").click()
    page.wait_for_load_state()
    assert SEM in page.inner_text("h1")
    j.shot("a5-review-evidence")
    j.assert_clean()
