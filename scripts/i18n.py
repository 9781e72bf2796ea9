#!/usr/bin/env python3
"""Translation catalogues: Chinese first (zh), English source strings.

    scripts/i18n.py update          extract messages and merge them into translations/zh
    scripts/i18n.py fill FILE.yaml  add translations from a YAML mapping msgid -> 中文
    scripts/i18n.py compile         write the .mo files the app reads
    scripts/i18n.py check           list messages that have no Chinese translation, and choices of
                                    the forms (and labels of the code groups) a Chinese page would
                                    show in English (exit 1 if any)
"""
from __future__ import annotations

import importlib
import pkgutil
import re
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
    # A translated message that extraction does not find is kept, not dropped: the mail
    # template (.txt) and messages built at run time are not extracted, and dropping them
    # once sent mail out in English.
    for message in list(catalog.obsolete.values()):
        if message.string:
            catalog[message.id] = message
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


# Latin words a Chinese page may show: brands, units, abbreviations read as they are. The
# page scan (tests/experience/test_chinese_pages.py) uses the same list.
LATIN_ALLOWED = {
    "CMA", "CNAS", "CATL", "API", "PDF", "CSV", "JPEG", "PNG", "KB", "MB", "GB", "iCal", "ICS", "URL", "Stripe", "RMB", "CNY",
    "ISO", "R&D", "OpenAPI", "JSON", "ID", "HTTP", "HTTPS", "Bearer", "SMTP", "IP", "GDP", "AI", "QR", "Excel",
    "XLSX", "RD", "h", "kg", "km", "m", "ml", "mm", "nm", "HPLC", "ERP", "Authorization", "BOM", "xlsx",
    "GBK", "UTF",  # text encodings, named as they are
    "English",  # the language switch names English in English
}
_TOKEN_SPLIT = re.compile(r"[\s,;:!?()（）、，。：；“”\"\[\]{}<>|/·—–+=*#%¥$@]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z&'’]*")
_DOTTED = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+")  # a parameter (hte.rd_band.small_limit), a file name
_ADDRESS = re.compile(r"\S+@\S+|https?://\S+|/[\w\-./?=&{}]+")


def english_words(text: str) -> list[str]:
    """The English words of a text meant to be Chinese (tokens with digits, and dotted names,
    are codes, not words)."""
    words = []
    for token in _TOKEN_SPLIT.split(_ADDRESS.sub(" ", text)):
        if token and not any(c.isdigit() for c in token) and not _DOTTED.fullmatch(token):
            words += [w for w in _WORD.findall(token) if len(w) > 1 and w not in LATIN_ALLOWED]
    return words


def untranslated_choices() -> list[str]:
    """Options a Chinese page shows in English: every choice of every form class in
    ``marketplace`` and every label of ``marketplace.core.labels.GROUPS``, rendered in zh."""
    sys.path.insert(0, str(ROOT))
    from flask_babel import force_locale
    from flask_wtf import FlaskForm
    from wtforms.fields import RadioField, SelectField, SelectMultipleField

    import marketplace
    from marketplace import create_app
    from marketplace.core import labels

    app = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": False})
    for module in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if module.name.endswith((".forms", ".labels")) or ".forms." in module.name:
            importlib.import_module(module.name)
    problems = []

    def classes(base):
        for sub in base.__subclasses__():
            yield sub
            yield from classes(sub)

    with app.test_request_context(), force_locale("zh"):
        for group, items in sorted(labels.GROUPS.items()):
            for code in items:
                if english_words(labels.label(code, group)):
                    problems.append(f"label {group}.{code}: {labels.label(code, group)}")
        for form_class in sorted(set(classes(FlaskForm)), key=lambda c: (c.__module__, c.__name__)):
            if not form_class.__module__.startswith("marketplace."):
                continue
            try:
                form = form_class(formdata=None)
            except Exception:  # a form that needs a request's data or the database: its page test covers it
                continue
            for field in form:
                if not isinstance(field, (SelectField, SelectMultipleField, RadioField)) or not field.choices:
                    continue
                choices = field.choices.items() if isinstance(field.choices, dict) else [(None, field.choices)]
                for _group, options in choices:
                    for option in options:
                        value, text = (option[0], option[1]) if isinstance(option, (tuple, list)) else (option, option)
                        if english_words(str(text)):
                            problems.append(f"choice {form_class.__module__}.{form_class.__name__}.{field.name}"
                                            f" {value!r}: {text}")
    return problems


def check() -> int:
    missing = untranslated(read())
    stale = [m.id for m in extract() if m.id and m.id not in read()]
    for msg in missing:
        print("untranslated:", msg)
    for msg in stale:
        print("not in the catalogue (run update):", msg)
    choices = untranslated_choices()
    for problem in choices:
        print("shown in English in Chinese:", problem)
    return 1 if missing or stale or choices else 0


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
