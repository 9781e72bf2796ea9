"""Reading a page as a browser would: which elements and attributes it really contains."""
from __future__ import annotations

from html.parser import HTMLParser

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self._in_script = False
        self.script_bodies: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.script_bodies if self._in_script else self.texts).append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def injected(html: str) -> list[str]:
    """What a browser would execute that the platform did not write: inline scripts,
    event-handler attributes, and the payloads' own elements."""
    page = parse(html)
    found = []
    for tag, attrs in page.tags:
        if tag == "script" and not attrs.get("src"):
            found.append("inline <script>")
        if tag == "img" and attrs.get("src") == "x":
            found.append("<img src=x>")
        found += [f"<{tag} {name}=...>" for name in attrs if name.startswith("on")]
    found += [body for body in page.script_bodies if "alert(1)" in body]
    if "<script>alert(1)" in html or "<img src=x onerror" in html:
        found.append("raw payload in the HTML")
    return found


def shows(html: str, payload: str) -> bool:
    """The payload is on the page as text a person reads (or as a form field's value)."""
    page = parse(html)
    text = "".join(page.texts)
    values = [v for _, attrs in page.tags for v in attrs.values() if v]
    return payload in text or any(payload in v for v in values)
