"""The platform in English, as each role meets it (issue 21): in Chromium, every role switches
the interface to English and walks its main pages. No page fails, the interface itself
(navigation, headings, labels, buttons, table headings, hints, messages) has no Chinese left,
and a refused form keeps what was typed, in English.

What people and organisations wrote stays as they wrote it: organisation, person and county
names, listing titles and the like are taken from the demo city's database and allowed. So is a
Chinese term glossed in brackets after its English (“Public notice (公示)”), and the “中文”
switch itself.
"""
from __future__ import annotations

import re
import sqlite3

import pytest

from tests.browser.test_screenshots import ADMIN, ENTERPRISE, FINANCE, PROVIDER, REVIEWER, _one

UNIVERSITY = "tech-transfer@lcu.liaocheng.demo"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# Examples of what may be typed, which the English hints show as typed: amounts (80万, 八十万元)
# and search words.
TYPED_EXAMPLES = re.compile(r"\b80万, 八十万元|e\.g\. 检测, 专利")
GLOSS = re.compile(r"[(（][^()（）]*[\u3400-\u9fff][^()（）]*[)）]")
# The interface: what the platform itself says, not what its users wrote.
CHROME = ("header a, header button, nav a, h1, h2, h3, th, label, legend, summary, button, .button, .hint, "
          "caption, .flash, .error, footer, dt, .tag, .lead, .tabs a, .chips a, select option")


def _user_words(database) -> list[str]:
    """What users wrote: names and titles, longest first (a name may contain a shorter one)."""
    db = sqlite3.connect(database)
    try:
        words = {row[0] for sql in ("SELECT name FROM organizations", "SELECT county FROM organizations",
                                    "SELECT title FROM listings", "SELECT name FROM users")
                 for row in db.execute(sql) if row[0]}
    finally:
        db.close()
    return sorted(words, key=len, reverse=True)


def _untranslated(page, user_words: list[str]) -> list[str]:
    texts = page.evaluate("""sel => {
        const seen = [];
        for (const el of document.querySelectorAll(sel)) {
            if (el.closest('.langs')) continue;             // the 中文 / English switch
            const t = el.innerText || '';
            if (t.trim()) seen.push(t.trim());
        }
        for (const el of document.querySelectorAll('[placeholder], [aria-label]')) {
            for (const a of ['placeholder', 'aria-label']) { const v = el.getAttribute(a); if (v) seen.push(v); }
        }
        seen.push(document.title);
        return seen;
    }""", CHROME)
    left = []
    for text in texts:
        # What users wrote first: a title may itself end in brackets (“…检测（转账14d01a）”),
        # which the gloss rule would otherwise cut off before the title could be recognised.
        rest = text
        for word in user_words:
            if word in rest:
                rest = rest.replace(word, " ")
        rest = TYPED_EXAMPLES.sub("", GLOSS.sub("", rest))
        if CJK.search(rest):
            left.append(f"{CJK.findall(rest)} in {text[:120]!r}")
    return left


def _walks(database) -> list[tuple[str, list[str]]]:
    db = sqlite3.connect(database)
    try:
        listing = _one(db, "SELECT id FROM listings WHERE kind = 'achievement' AND status = 'published' ORDER BY id")
        instrument = _one(db, "SELECT id FROM listings WHERE kind = 'instrument' AND status = 'published' ORDER BY id")
        facility = _one(db, "SELECT l.id FROM listings l JOIN instrument_settings s ON s.instrument_id = l.id "
                            "WHERE l.status = 'published' ORDER BY l.id")
        claim = _one(db, "SELECT id FROM claims ORDER BY id")
        ledger_ref = _one(db, "SELECT ref FROM ledger_entries ORDER BY seq")
    finally:
        db.close()
    return [
        (ENTERPRISE, ["/home", "/", "/listings", f"/listings/{listing}", f"/listings/{instrument}", "/search?q=检测",
                      "/orders", "/bookings", f"/instruments/{facility}", "/instruments/bookings", "/vouchers",
                      "/claims", "/notifications", "/account/tokens", "/favourites", "/compare", "/notice"]),
        (PROVIDER, ["/home", "/my/listings", "/listings/new/service", "/orders", "/bookings", "/vouchers/provider",
                    f"/instruments/{facility}/manage", f"/instruments/{facility}/utilisation"]),
        (UNIVERSITY, ["/home", "/my/listings", "/listings/new/achievement", "/orders", "/claims"]),
        (REVIEWER, ["/home", "/review", f"/review/claims/{claim}", "/vouchers/review", f"/review/ledger/{ledger_ref}",
                    "/programmes/", "/programmes/projects", "/reforms/", "/notice"]),
        (FINANCE, ["/home", "/vouchers/batches", "/dashboards/", "/review/payouts", "/payments/transfers"]),
        (ADMIN, ["/home", "/admin/audit", "/admin/organizations", "/admin/listings", "/admin/mail"]),
    ]


def _refused(page, base, who: str) -> tuple[str, str, str]:
    """Each role sends one form that is refused; returns (field name, what was typed, the page's
    words about it)."""
    def post(path, fills, submit):
        page.goto(base + path)
        for selector, value in fills.items():
            page.fill(selector, value)
        with page.expect_navigation():
            page.locator(submit).first.click()

    if who == ENTERPRISE:
        post("/vouchers", {"form#apply [name=planned]": "a lot of money",
                           "form#apply [name=purpose]": "Testing of bearing steel"}, "form#apply button")
        return "planned", "a lot of money", "Testing of bearing steel"
    if who in (PROVIDER, UNIVERSITY):
        kind = "service" if who == PROVIDER else "achievement"
        post(f"/listings/new/{kind}", {"main form [name=title]": "Precision inspection in English",
                                        "main form [name=price]": "eighty thousand"}, "main form button.primary")
        return "price", "eighty thousand", "Precision inspection in English"
    if who == REVIEWER:
        post("/programmes/ip/new", {"main form [name=number]": "ZL202437000123.4",
                                    "main form [name=title]": "Heat treatment of bearing steel",
                                    "main form [name=granted_on]": "2024-13-01"}, "main form button.primary")
        return "granted_on", "2024-13-01", "Heat treatment of bearing steel"
    form = "form[action$='/review/rewards']" if who == FINANCE else "form[action$='/review/budgets']"
    post("/review/payouts", {f"{form} [name=amount]": "one million"}, f"{form} button")
    return "amount", "one million", ""


@pytest.mark.parametrize("role", ["enterprise", "provider", "university", "reviewer", "finance", "admin"])
def test_each_role_walks_its_pages_in_english(role, journey, live_server, live_database):
    who, paths = dict(zip(["enterprise", "provider", "university", "reviewer", "finance", "admin"],
                          _walks(live_database)))[role]
    j = journey(f"english-{role}")
    page = j.person(who).page
    j.switch_language("en")
    assert "Log out" in page.inner_text("header")
    user_words = _user_words(live_database)
    problems: list[str] = []
    for path in paths:
        response = page.goto(live_server + path)
        if response is None or response.status >= 400:
            problems.append(f"{path}: HTTP {response and response.status}")
            continue
        assert page.locator("html").get_attribute("lang").startswith("en"), path
        problems.extend(f"{path}: {p}" for p in _untranslated(page, user_words))
    j.shot("walked")

    # One refused form: back with what was typed (in English) and the reason beside the field.
    name, typed, other = _refused(page, live_server, who)
    field = page.locator(f"main [name={name}]").filter(has_not=page.locator("[type=hidden]"))
    values = [field.nth(i).input_value() for i in range(field.count())]
    assert typed in values, (name, values)
    if other:
        assert other in page.locator("main").inner_html()
    block = page.locator(f"main .field.has-error:has([name={name}])")
    assert block.count() >= 1 and block.first.locator(".error").inner_text().strip(), page.inner_text("main")[:600]
    problems.extend(f"refused form: {p}" for p in _untranslated(page, user_words))
    j.shot("refused")
    j.failed_loads = [(s, u) for s, u in j.failed_loads if s != 400]  # the refusal itself
    j.assert_clean()
    assert not problems, "\n".join(problems)
