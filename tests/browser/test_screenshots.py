"""The main pages as each role meets them, photographed and checked by axe-core (issue 21).

Every role logs in on the demo city in Chromium and visits its main pages; each page is
photographed at 1366 px (a laptop) and 390 px (a phone) wide and checked by axe-core
(``scripts/components/axe-core.sh`` brings it from npm) at both widths. The screenshots and
``axe-summary.json`` (every violation, any impact, with the elements it names, and the width
each page overflows by) go to ``.cache/run/screenshots/`` (``MARKETPLACE_RUN_DIR`` moves it);
the folder is printed at the end. A serious or critical violation fails the test, and so
does a page that does not load or lets a phone scroll sideways.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

from tests.browser.conftest import PASSWORD, ROOT

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
FAILING_IMPACTS = ("serious", "critical")

ENTERPRISE = "boss@jx.liaocheng.demo"
PROVIDER = "lab@jck.liaocheng.demo"
REVIEWER = "reviewer@kjj.liaocheng.demo"
FINANCE = "finance@czj.liaocheng.demo"
ADMIN = "admin@kjj.liaocheng.demo"
# The other roles: each logs in and sees its home page.
OTHERS = ("tech-transfer@lcu.liaocheng.demo", "office@nky.liaocheng.demo", "lab@yy.liaocheng.demo",
          "broker@zyzx.liaocheng.demo", "rd@zl.liaocheng.demo", "new@new.liaocheng.demo")


def screenshot_dir() -> Path:
    run = os.environ.get("MARKETPLACE_RUN_DIR") or str(Path(os.environ.get("MARKETPLACE_CACHE")
                                                            or ROOT / ".cache") / "run")
    return Path(run) / "screenshots"


def _one(db: sqlite3.Connection, sql: str, *args):
    row = db.execute(sql, args).fetchone()
    assert row is not None, f"the demo city has nothing for: {sql} {args}"
    return row[0]


def _enquire(listing_id: int):
    def steps(page, base):
        page.goto(f"{base}/listings/{listing_id}")
        form = page.locator(f"form[action='/listings/{listing_id}/enquire']")
        form.locator("textarea").fill("请问这项成果能否在我们的生产线上试用？可否先报个价。")
        with page.expect_navigation():
            form.locator("button").click()
        assert re.search(r"/enquiries/\d+$", page.url), page.url
        return page.url.removeprefix(base)
    return steps


def _compare(*listing_ids: int):
    """Puts listings in the comparison from their pages (where they offer it), then opens it."""
    def steps(page, base):
        for listing_id in listing_ids:
            page.goto(f"{base}/listings/{listing_id}")
            button = page.locator(f"form[action^='/compare/{listing_id}'] button")
            if button.count():
                with page.expect_navigation():
                    button.first.click()
        return "/compare"
    return steps


def plan(database: Path) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """(who logs in, [(page name, path)]) from the demo data the live server holds."""
    db = sqlite3.connect(database)
    try:
        listing = {kind: _one(db, "SELECT id FROM listings WHERE kind = ? AND status = 'published' "
                                  "ORDER BY id", kind)
                   for kind in ("achievement", "instrument", "service", "demand")}
        facility = _one(db, "SELECT l.id FROM listings l JOIN instrument_settings s ON s.instrument_id = l.id "
                            "WHERE l.status = 'published' ORDER BY l.title = '扫描电子显微镜' DESC, l.id")
        member = ("JOIN memberships m ON m.organization_id = {0} JOIN users u ON u.id = m.user_id "
                  "WHERE u.email LIKE '%.liaocheng.demo'")
        order, buyer = db.execute("SELECT o.id, u.email FROM orders o " + member.format("o.buyer_org_id")
                                  + " ORDER BY o.status != 'paid', o.id DESC").fetchone()
        claim, claimant = db.execute("SELECT c.id, u.email FROM claims c " + member.format("c.organization_id")
                                     + " ORDER BY c.id").fetchone()
        ledger_ref = _one(db, "SELECT ref FROM ledger_entries ORDER BY seq")
    finally:
        db.close()
    return [
        (None, [("home-public", "/"), ("listings", "/listings"), ("search", "/search?q=检测"),
                ("notice", "/notice"), ("login", "/login")]),
        (ENTERPRISE, [("home-enterprise", "/home"),
                      *[(f"listing-{kind}", f"/listings/{lid}") for kind, lid in listing.items()],
                      ("search-logged-in", "/search?q=仪器"),
                      # The demo city has no open negotiation: the enterprise asks for a quote.
                      ("enquiry", _enquire(listing["achievement"])),
                      ("compare", _compare(listing["achievement"], listing["service"])),
                      ("bookings", "/bookings"), ("instrument-calendar", f"/instruments/{facility}"),
                      ("instrument-bookings", "/instruments/bookings"),
                      ("vouchers-enterprise", "/vouchers"), ("claims", "/claims"),
                      ("notifications", "/notifications"), ("account", "/account/tokens")]),
        (buyer, [("order", f"/orders/{order}")]),
        (claimant, [("claim", f"/claims/{claim}")]),
        (PROVIDER, [("home-provider", "/home"), ("vouchers-provider", "/vouchers/provider"),
                    ("instrument-manage", f"/instruments/{facility}/manage")]),
        (REVIEWER, [("home-reviewer", "/home"), ("review-queue", "/review"),
                    ("review-claim", f"/review/claims/{claim}"), ("vouchers-review", "/vouchers/review"),
                    ("ledger", f"/review/ledger/{ledger_ref}"), ("programmes", "/programmes/"),
                    ("reforms", "/reforms/")]),
        (FINANCE, [("home-finance", "/home"), ("vouchers-batches", "/vouchers/batches"),
                   ("dashboards", "/dashboards/"), ("payouts", "/review/payouts")]),
        (ADMIN, [("home-admin", "/home"), ("audit-log", "/admin/audit")]),
        *[(email, [(f"home-{email.split('@')[0]}-{email.split('@')[1].split('.')[0]}", "/home")])
          for email in OTHERS],
    ]


def _violations(page) -> list[dict]:
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                      summary: n.failureSummary}))}));
    }""")
    return result


def test_main_pages_at_two_widths_pass_axe(browser, live_server, live_database, axe_core_path, capsys):
    folder = screenshot_dir()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    axe_source = Path(axe_core_path).read_text()
    summary: dict[str, dict] = {}
    problems: list[str] = []
    n = 0
    for who, pages in plan(live_database):
        # The site's CSP allows no injected script: axe comes in through the DevTools protocol.
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        if who:
            page.goto(live_server + "/login")
            page.fill("#email", who)
            page.fill("#password", PASSWORD)
            page.locator("main form button").first.click()
            page.wait_for_load_state()
            assert "/login" not in page.url, (who, page.inner_text("main"))
        for name, path in pages:
            n += 1
            page.set_viewport_size({"width": 1366, "height": 900})
            if callable(path):
                path = path(page, live_server)
            response = page.goto(live_server + path)
            if response is None or response.status >= 400:
                problems.append(f"{name} {path}: HTTP {response and response.status}")
                continue
            page.evaluate(axe_source)
            entry = summary[name] = {"path": path, "who": who or "anonymous"}
            for label, (width, height) in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                # Two frames: the page's own resize handlers (site.js) run before anything is judged.
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                page.screenshot(path=str(folder / f"{n:02d}-{name}-{width}.png"), full_page=True)
                found = _violations(page)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                entry[label] = {"violations": found, "overflow_px": overflow}
                for v in found:
                    if v["impact"] in FAILING_IMPACTS:
                        problems.append(f"{name} @{width}: {v['impact']} {v['id']} ({v['help']}) on "
                                        + "; ".join(node["target"] for node in v["nodes"][:5]))
                if label == "phone" and overflow > 0:
                    problems.append(f"{name} @{width}: the page is {overflow} px wider than the phone")
                if label == "phone":  # a list table stacks into cards: it does not scroll sideways either
                    wide = page.evaluate("[...document.querySelectorAll('table.stack')]"
                                         ".filter(t => t.scrollWidth > t.clientWidth + 1).length")
                    entry[label]["scrolling_tables"] = wide
                    if wide:
                        problems.append(f"{name} @{width}: {wide} list table(s) scroll sideways instead of stacking")
        problems.extend(f"{who}: script error {e}" for e in errors)
        context.close()

    counts: dict[str, int] = {}
    for entry in summary.values():
        for label in WIDTHS:
            for v in entry[label]["violations"]:
                counts[v["impact"]] = counts.get(v["impact"], 0) + 1
    (folder / "axe-summary.json").write_text(json.dumps(
        {"axe_core": re.search(r"axe v?([\d.]+)", axe_source[:300]).group(1) if re.search(
            r"axe v?([\d.]+)", axe_source[:300]) else "?",
         "pages": len(summary), "screenshots": 2 * len(summary),
         "violations_by_impact": counts, "problems": problems, "by_page": summary},
        ensure_ascii=False, indent=1))
    with capsys.disabled():
        print(f"\n[screenshots] {len(summary)} pages × {len(WIDTHS)} widths in {folder}; "
              f"axe violations by impact: {counts or 'none'}; summary: {folder / 'axe-summary.json'}")
    assert len(summary) >= 25, sorted(summary)
    assert not problems, "\n".join(problems)


def test_the_week_calendar_fits_a_phone_and_a_chosen_hour_fills_the_booking_form(browser, live_server, live_database,
                                                                                  axe_core_path):
    """An enterprise books a shared instrument from its week calendar on a phone: by keyboard
    (arrow keys, Enter) and by a tap; the booked hour then shows as its own."""
    db = sqlite3.connect(live_database)
    try:  # an instrument the enterprise may book at once (self-operation, no training, no approval)
        instrument = _one(db, "SELECT l.id FROM listings l JOIN instrument_settings s ON s.instrument_id = l.id "
                              "WHERE l.status = 'published' AND s.self_mode AND NOT s.requires_training "
                              "AND s.approval = 'instant' ORDER BY l.id")
    finally:
        db.close()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server + "/login")
    page.fill("#email", ENTERPRISE)
    page.fill("#password", PASSWORD)
    page.locator("main form button").first.click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/instruments/{instrument}")
    calendar = page.locator("#calendar")

    # It fits the phone: the page does not scroll sideways and no cell is cut off.
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    box = calendar.locator("table").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    legend = calendar.locator(".cal-legend li").all_inner_texts()
    assert [t.split("\n")[-1].strip() for t in legend] == ["空闲", "他人已约", "我的预约", "维护或停机", "不开放或已过"]

    # By keyboard: tomorrow's first free hour, one step right (a later day), Enter.
    form = page.locator("#book-form")
    first = calendar.locator("button.cal-pick[data-col='1']").first  # tomorrow
    first.focus()
    start = (int(first.get_attribute("data-row")), int(first.get_attribute("data-col")))
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("[document.activeElement.dataset.row, document.activeElement.dataset.col,"
                            " document.activeElement.dataset.day, document.activeElement.dataset.hour]")
    assert int(focused[0]) == start[0] and int(focused[1]) > start[1], (start, focused)
    page.keyboard.press("Enter")
    assert form.locator("[name=day]").input_value() == focused[2]
    assert form.locator("[name=hour]").input_value() == focused[3]
    assert page.evaluate("document.activeElement.name") == "hours"  # on to the form
    assert focused[2] in calendar.locator(".week-cal-status").inner_text()
    chosen = calendar.locator(f"button[data-day='{focused[2]}'][data-hour='{focused[3]}']")
    assert chosen.get_attribute("aria-pressed") == "true"
    page.evaluate(Path(axe_core_path).read_text())
    serious = [v for v in _violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not serious, serious

    # By a tap on another free hour, then book it: the hour is then the enterprise's own.
    other = calendar.locator("button.cal-pick").nth(3)
    day, hour = other.get_attribute("data-day"), other.get_attribute("data-hour")
    other.click()
    assert (form.locator("[name=day]").input_value(), form.locator("[name=hour]").input_value()) == (day, hour)
    form.locator("[name=hours]").fill("1")
    with page.expect_navigation():
        form.locator("button.primary").click()
    assert "/login" not in page.url and page.url != f"{live_server}/instruments/{instrument}", page.url
    page.goto(f"{live_server}/instruments/{instrument}")
    cell = page.locator(f"#calendar td[data-day='{day}'][data-hour='{hour}']")
    assert cell.get_attribute("class") == "cal-mine", cell.inner_text()
    assert not errors, errors
    context.close()
