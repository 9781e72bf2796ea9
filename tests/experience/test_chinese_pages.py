"""Chinese everywhere: every page each role can reach, rendered in Chinese (the default), shows
no English word in its visible text (issue 21).

It walks the route matrix's world (``tests/test_route_matrix.py``): for each walker, every GET
page the matrix says it may open. The visible text is the page's text and the words a person
reads in attributes (``title``, ``placeholder``, ``aria-label``, a button's ``value``), less
scripts, styles, addresses (e-mail, web) and what the person typed themselves (there is none
in the world but the factories' Chinese names). Allowed: brand names, units and the few
abbreviations Chinese users read as they are (``LATIN_ALLOWED`` in ``scripts/i18n.py``, whose
``check`` scans the forms' choices with the same words)."""
from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.test_route_matrix import (  # noqa: F401 - ``world`` is the matrix's fixture
    ACCESS,
    PARTIES,
    WALKERS,
    _allowed,
    _path,
    cases,
    world,
)

# Pages that are not HTML for a person (files, feeds, machine documents).
NOT_PAGES = {"listings.attachment", "claims.download", "talk.thread_file", "dashboards.export_ledger",
             "dashboards.export_awards", "vouchers.province_owed", "api.openapi", "health.healthz",
             "instruments.ical_feed", "documents.receipt", "documents.contract", "documents.decision",
             "dashboards.claim_notice", "vouchers.report", "programmes.export"}

READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
CODE_LIKE = re.compile(r"[A-Za-z][._:/][A-Za-z]|_|\d")


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):  # <code>: a code shown as one (a token, a hash)
            self._skip += 1
        found = dict(attrs)
        for name in READ_ATTRIBUTES:
            if found.get(name):  # a code on hover is where codes belong (claim.approve, 9137…)
                self.parts.append(" ".join(w for w in found[name].split() if not CODE_LIKE.search(w)))
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(found["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _catalogue_tool():
    """``scripts/i18n.py``: its ``english_words`` and allowed Latin words are the page scan's too."""
    spec = importlib.util.spec_from_file_location("i18n_tool", Path(__file__).resolve().parents[2] / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _catalogue_tool()


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_words(html: str, typed: tuple[str, ...] = ()) -> list[str]:
    """English words in the page's visible text, less what users typed (``typed``: names and
    titles in the database, e.g. the factories' "测试service")."""
    text = visible_text(html)
    for value in typed:
        text = text.replace(value, " ")
    return TOOL.english_words(text)


def _typed() -> tuple[str, ...]:
    from sqlalchemy import select

    from marketplace.accounts.models import Organization, User
    from marketplace.claims.models import ClaimFile
    from marketplace.conversations.models import ThreadAttachment
    from marketplace.extensions import db
    from marketplace.listings.models import Listing, ListingAttachment

    values = set()
    for column in (Listing.title, Listing.description, Organization.name, User.name, ListingAttachment.original_name,
                   ThreadAttachment.original_name, ClaimFile.original_name):
        values.update(v for v in db.session.scalars(select(column)) if v)
    return tuple(sorted(values, key=len, reverse=True))  # longest first: a title before a word of it


def _get_pages():
    for endpoint in sorted(ACCESS):
        if endpoint in NOT_PAGES:
            continue
        for case in cases(endpoint):
            if case.method == "GET" and not case.api:
                yield endpoint, case


def test_the_scanner_sees_english_and_passes_chinese():
    assert english_words("<p>保存</p><button title='Save it'>确定</button>") == ["Save", "it"]
    assert english_words("<p>CMA 认证 · 10 KB · ORD-12 · zhang@example.com</p><script>var x</script>") == []


@pytest.mark.parametrize("walker", WALKERS, ids=[w or "anonymous" for w in WALKERS])
def test_every_page_a_role_reaches_is_chinese(app, client, factory, world, walker):  # noqa: F811
    from tests.factories import login

    if walker in PARTIES:
        user = world["users"][walker]
    else:
        user = factory.user(walker) if walker is not None else None
    if user is not None:
        login(client, user)
    found = {}
    typed = _typed()
    for endpoint, case in _get_pages():
        if not _allowed(case, walker):
            continue
        answer = client.get(_path(app, endpoint, case, world))
        if answer.status_code != 200 or "text/html" not in answer.content_type:
            continue
        html = answer.get_data(as_text=True)
        words = english_words(html, typed)
        if words:
            text = visible_text(html)
            found[endpoint] = [f"{w} «{text[max(0, text.find(w) - 30):text.find(w) + 30]}»"
                               for w in sorted(set(words))[:6]]
    assert not found, "English words in Chinese pages:\n" + "\n".join(f"{e}: {' | '.join(w)}"
                                                                      for e, w in found.items())
