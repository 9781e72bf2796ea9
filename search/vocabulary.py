"""The searcher's vocabulary (``vocabulary.yaml``): label words of codes and classes, and
synonym groups. Read once; both backends call the same two functions:

* ``tag_text`` — the "tags" text a listing is indexed with: its kind's and transfer
  modes' words, its field and county with their words, and any keywords the app adds
  (the organisation's English name, say);
* ``expand`` — the alternatives of one query term: the term itself first, then every
  other member of the synonym groups it belongs to (at most ``MAX_ALTERNATIVES``);
* ``parse_query`` — the terms of a query text with their alternatives; a Chinese term
  that is not itself a known word but splits wholly into known words (the vocabulary's
  words and its ``words`` list) is taken as those words: 食品检测 finds 食品安全检测.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from .text import Term, is_cjk, parse_terms, tokens

PATH = Path(__file__).with_name("vocabulary.yaml")
MAX_ALTERNATIVES = 8  # a term and at most seven synonyms


@lru_cache(maxsize=1)
def _words() -> frozenset[str]:
    """Known Chinese words (for splitting a query term)."""
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    words = [w for group in raw["synonyms"] for w in group]
    words += [w for values in raw["labels"].values() for code, ws in values.items() for w in [code, *ws]]
    words += raw.get("words", [])
    return frozenset("".join(tokens(str(w))) for w in words if all(is_cjk(t) for t in tokens(str(w))))


def split(term: Term) -> list[Term]:
    """``term`` as the known words it consists of (fewest words), or ``[term]``."""
    if len(term.tokens) < 4 or not all(is_cjk(t) for t in term.tokens):
        return [term]
    text = "".join(term.tokens)
    words = _words()
    if text in words:
        return [term]
    best: list[list[str] | None] = [[]] + [None] * len(text)  # best[i]: split of text[:i]
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - 8), end - 1):
            if best[start] is not None and text[start:end] in words:
                candidate = best[start] + [text[start:end]]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    found = best[len(text)]
    return [Term(tuple(w)) for w in found] if found and len(found) > 1 else [term]


@lru_cache(maxsize=1)
def _data() -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[tuple[str, ...], tuple[Term, ...]]]:
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))
    labels = {group: {str(code): tuple(str(w) for w in words) for code, words in values.items()}
              for group, values in raw["labels"].items()}
    groups: dict[tuple[str, ...], list[Term]] = {}
    for members in raw["synonyms"]:
        terms = [Term(tuple(tokens(str(m)))) for m in members]
        terms = [t for t in terms if t.tokens]
        for t in terms:
            known = groups.setdefault(t.tokens, [])
            known.extend(x for x in terms if x != t and x not in known)
    return labels, {k: tuple(v) for k, v in groups.items()}


def labels(group: str, code: str | None) -> tuple[str, ...]:
    """The words listed for ``code`` of ``group`` (kind, transfer_mode, field, county)."""
    if code is None:
        return ()
    return _data()[0].get(group, {}).get(code, ())


def tag_text(kind: str, modes: Iterable[str], field: str | None, county: str | None,
             keywords: str = "") -> str:
    """The tags text of a listing: its words, each once, separated by " / "."""
    words: list[str] = list(labels("kind", kind))
    for mode in modes:
        words += labels("transfer_mode", mode)
    if field:
        words += [field, *labels("field", field)]
    if county:
        words += [county, *labels("county", county)]
    if keywords:
        words.append(keywords)
    return " / ".join(dict.fromkeys(words))


def expand(term: Term) -> tuple[Term, ...]:
    """``term`` and its synonyms (the term first)."""
    others = _data()[1].get(term.tokens, ())
    return (term, *others[: MAX_ALTERNATIVES - 1])


def parse_query(text: str) -> list[tuple[Term, ...]]:
    """The query's terms (all must match), each with its alternatives."""
    out: list[tuple[Term, ...]] = []
    for typed in parse_terms(text):
        for term in split(typed):
            alternatives = expand(term)
            if alternatives not in out:
                out.append(alternatives)
    return out


def all_terms(query: list[tuple[Term, ...]]) -> list[Term]:
    """Every alternative of every term, once (for highlighting)."""
    return list(dict.fromkeys(t for alts in query for t in alts))
