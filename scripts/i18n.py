#!/usr/bin/env python3
"""Translation catalogues: Chinese first (zh), English source strings.

    scripts/i18n.py update          extract messages and merge them into translations/zh
    scripts/i18n.py fill FILE.yaml  add translations from a YAML mapping msgid -> 中文
    scripts/i18n.py compile         write the .mo files the app reads
    scripts/i18n.py check           list messages that have no Chinese translation (exit 1 if any)
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [("marketplace/**.py", "python"), ("templates/**.html", "jinja2")]


def read() -> Catalog:
    with PO.open("rb") as fh:
        return read_po(fh, locale="zh")


def write(catalog: Catalog) -> None:
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True, include_previous=False)


def extract() -> Catalog:
    template = Catalog(project="liaocheng-marketplace", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS, comment_tags=("NOTE",)):
        if "/.venv/" in filename:
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update() -> None:
    template = extract()
    catalog = read() if PO.exists() else Catalog(locale="zh", project="liaocheng-marketplace")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    write(catalog)
    print(f"{len(template)} messages; untranslated: {len(untranslated(catalog))}")


def untranslated(catalog: Catalog) -> list[str]:
    return [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]


def fill(path: str) -> None:
    import yaml

    mapping = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    catalog = read()
    hit = 0
    for message in catalog:
        if message.id in mapping:
            message.string = mapping[message.id]
            message.flags.discard("fuzzy")
            hit += 1
    write(catalog)
    print(f"filled {hit}; untranslated: {len(untranslated(catalog))}")


def compile_() -> None:
    catalog = read()
    with MO.open("wb") as fh:
        write_mo(fh, catalog)


def check() -> int:
    missing = untranslated(read())
    stale = [m.id for m in extract() if m.id and m.id not in read()]
    for msg in missing:
        print("untranslated:", msg)
    for msg in stale:
        print("not in the catalogue (run update):", msg)
    return 1 if missing or stale else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "fill":
        fill(sys.argv[2])
    elif command == "compile":
        compile_()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
