"""Text rules shared by both backends: normalisation, tokens, query terms, highlights.

Both backends index and query *our* token stream, not their own analyzers' idea of one,
so the matching rules are written once, here, and are identical by construction:

* Text is NFKC-normalised and case-folded (全角 ＨＰＬＣ → hplc).
* A token is either one CJK character (汉字, kana, hangul) or a run of other letters and
  digits (at most ``MAX_WORD`` characters; longer runs are split into chunks). Everything
  else (spaces, punctuation, ``* " ( ' - =``) only separates tokens.
* A query is split on whitespace into terms; every term must match (AND). A term matches
  a field when the term's tokens occur contiguously in the field's tokens — for Chinese
  that is a substring match (检测 finds 液相色谱仪检测服务), for Latin words and numbers a
  whole-word match (hplc finds "HPLC", not "hplcx").

Embedded (SQLite) representation — the *canonical string* of a field: tokens joined by a
single space, except that two adjacent CJK tokens are joined with nothing, padded with one
space on each side (" 液相色谱仪 hplc 检测 "). A term's canonical form is built the same
way but padded only next to a Latin token (" hplc 检测"). Then "term matches field" is
exactly "term's canonical form is a substring of the field's canonical string", which a
trigram FTS5 index answers for forms of three or more characters; the remaining forms
(one or two CJK characters), and one- or two-word Latin terms, are tokens of a gram
index (see ``grams``).

Elasticsearch representation: the tokens joined by single spaces, indexed with the
built-in ``whitespace`` analyzer; a term is a ``match_phrase`` of its tokens.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from itertools import islice

MAX_WORD = 64  # longer letter/digit runs are split into chunks of this length
MAX_TERMS = 10  # further query terms are ignored

_CJK = (
    "\u3041-\u3096\u309d-\u309f"  # hiragana
    "\u30a1-\u30fa\u30fc-\u30ff"  # katakana
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK unified ideographs (+ extension A)
    "\uac00-\ud7a3"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003ffff"  # extensions B.. and the supplementary ideographic planes
)
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]{{1,{MAX_WORD}}}")
_CJK_ONE = re.compile(rf"[{_CJK}]")
_CJK_RUN = re.compile(rf"[{_CJK}]+")
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


# full-width ASCII forms and the ideographic space -> their compatibility decompositions
# (plain ASCII). NFKC(s) = NFC(NFKD(s)), and NFKD decomposes character by character, so
# replacing a character by its own full decomposition first never changes the result; it
# only lets Chinese text whose one compatibility character is "，" pass NFKC's quick
# check instead of being decomposed and recomposed whole (half the cost of a reindex's
# normalisation)
_FULL_WIDTH = {cp: unicodedata.normalize("NFKD", chr(cp)) for cp in [*range(0xFF01, 0xFF5F), 0x3000]}


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text.translate(_FULL_WIDTH)).casefold()


def tokens(text: str) -> list[str]:
    """The token stream of ``text`` (normalised)."""
    return _TOKEN.findall(normalize(text))


def is_cjk(token: str) -> bool:
    return len(token) == 1 and _CJK_ONE.match(token) is not None


def _join(toks: list[str]) -> str:
    # tokens joined by one space; then the spaces between two CJK characters removed
    return _CJK_GAP.sub("", " ".join(toks))


def canonical(text: str) -> str:
    """The canonical string of a field for the embedded backend (see module docstring)."""
    return f" {_join(tokens(text))} "


def token_string(text: str) -> str:
    """The whitespace-separated token string of a field for Elasticsearch."""
    return " ".join(tokens(text))


PAIR = "\u00b7"  # joins two adjacent words into one gram token: "gc·ms"


def grams(canonical_string: str, tag: str = "") -> str:
    """The gram tokens of a canonical string, deduplicated, space separated, each one
    prefixed with ``tag``: every bigram inside a run of adjacent CJK characters (as the
    canonical string writes them) and every CJK character on its own; every other word
    (a Latin / number token) as it is, and every two adjacent such words joined by
    ``PAIR``.

    So a one- or two-character CJK term, or a one- or two-word Latin term, matches ⇔ it
    is a token: one lookup. (A prefix query for single characters — "b药" * over the
    bigrams — saved index space but merged thousands of doclists: 24 ms at 100,000
    listings for a common character; the trigram index intersects the long position
    lists of common trigrams such as "ing" for an English word.)
    """
    out: set[str] = set()
    previous = None
    for piece in canonical_string.split():
        if _CJK_ONE.match(piece):
            out.update(map(str.__add__, piece[:-1], piece[1:]))
            out.update(piece)
            previous = None
        else:
            out.add(piece)
            if previous is not None:
                out.add(previous + PAIR + piece)
            previous = piece
    if not out:
        return ""
    return tag + f" {tag}".join(out) if tag else " ".join(out)


@dataclass(frozen=True)
class Term:
    """One whitespace-separated query term, as tokens and in each backend's form (each
    form worked out once per term: a query reads them per field and per listing of the
    tail, and a synonym's ``Term`` lives as long as the vocabulary)."""

    tokens: tuple[str, ...]

    @property
    def phrase(self) -> str:
        """Elasticsearch ``match_phrase`` text."""
        return " ".join(self.tokens)

    @cached_property
    def pattern(self) -> str:
        """Substring of a canonical string (embedded backend)."""
        body = _join(list(self.tokens))
        if not is_cjk(self.tokens[0]):
            body = " " + body
        if not is_cjk(self.tokens[-1]):
            body = body + " "
        return body

    @cached_property
    def short_cjk(self) -> str | None:
        """The 1–2 character CJK string when this term needs the gram index, else None."""
        if len(self.tokens) <= 2 and all(is_cjk(t) for t in self.tokens):
            return "".join(self.tokens)
        return None

    @cached_property
    def gram(self) -> tuple[str, bool] | None:
        """(gram token, prefix?) when the gram index answers this term: one or two CJK
        characters, or one or two Latin words; else None. (Prefix queries are no longer
        needed: every token is looked up whole.)"""
        short = self.short_cjk
        if short is not None:
            return short, False
        if len(self.tokens) <= 2 and not any(is_cjk(t) for t in self.tokens):
            return PAIR.join(self.tokens), False
        return None


def parse_terms(text: str) -> list[Term]:
    """Split query text on whitespace into terms; drop terms without any token
    (pure punctuation such as ``*``, ``--``, ``'``); drop repeats; keep MAX_TERMS."""
    seen: list[Term] = []
    for raw in normalize(text or "").split():
        toks = tuple(_TOKEN.findall(raw))
        if toks:
            term = Term(toks)
            if term not in seen:
                seen.append(term)
        if len(seen) >= MAX_TERMS:
            break
    return seen


# ---------------------------------------------------------------- highlighting ----


class _CharNorm(dict):
    """char -> its normalised form (``normalize`` for non-ASCII, ``lower`` for ASCII),
    filled on demand: a dict lookup per character instead of a normalize() call."""

    def __missing__(self, ch: str) -> str:
        n = normalize(ch) if not ch.isascii() else ch.lower()
        if len(self) < 100_000:  # bounded: hostile text cannot grow it without limit
            self[ch] = n
        return n


_CHAR_NORM = _CharNorm()


def _spans(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) with start/end offsets into the original ``text``.

    Normalises character by character to keep an offset map; this differs from
    whole-string normalisation only for combining sequences, and only affects where
    <mark> goes, never what matches.
    """
    norm = list(map(_CHAR_NORM.__getitem__, text))
    s = "".join(norm)
    if len(s) == len(text):  # every character normalised to one: offsets are unchanged
        return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(s)]
    origin: list[int] = []
    for i, n in enumerate(norm):
        origin.extend([i] * len(n))
    out = []
    for m in _TOKEN.finditer(s):
        out.append((m.group(), origin[m.start()], origin[m.end() - 1] + 1))
    return out


# compiled once: a character class over the CJK planes costs milliseconds to compile, so
# no pattern is compiled per query term
_SEPARATORS = re.compile(rf"(?:_|[^\w{_CJK}])*")  # what ``_TOKEN`` never matches
_WORD_CHAR = re.compile(rf"[^\W_{_CJK}]")  # a character of a Latin (non-CJK) token
_LONG_RUN = re.compile(rf"[^\W_{_CJK}]{{{MAX_WORD + 1}}}")


def _match_at(s: str, i: int, tokens: tuple[str, ...]) -> int:
    """Where a match of ``tokens`` starting at ``i`` of normalised text ``s`` ends, or -1:
    the tokens in a row with only separators between them, a Latin token never inside a
    longer word."""
    pos = i
    for k, tok in enumerate(tokens):
        if k:
            pos = _SEPARATORS.match(s, pos).end()
        if not s.startswith(tok, pos):
            return -1
        end = pos + len(tok)
        if not is_cjk(tok) and ((pos and _WORD_CHAR.match(s, pos - 1)) or _WORD_CHAR.match(s, end)):
            return -1
        pos = end
    return pos


def match_ranges(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Merged, sorted character ranges of ``text`` covered by matches of any term."""
    if not text or not terms:
        return []
    s = "".join(map(_CHAR_NORM.__getitem__, text))
    if len(s) == len(text) and not _LONG_RUN.search(s):
        # a match is the term's tokens with only non-token characters between them, a
        # Latin token not inside a longer word: found by str.find and checked where it
        # stands, no token list (a run longer than MAX_WORD is cut into several tokens,
        # which this does not model: such text takes the token path below)
        direct: list[tuple[int, int]] = []
        for term in terms:
            first = term.tokens[0]
            i = s.find(first)
            while i >= 0:  # overlapping matches too
                end = _match_at(s, i, term.tokens)
                if end >= 0:
                    direct.append((i, end))
                i = s.find(first, i + 1)
        return _merged(direct)
    if len(s) != len(text):  # some character normalised to several: map offsets back
        spans = _spans(text)
        toks = [t for t, _, _ in spans]
    else:
        spans = None
        toks = _TOKEN.findall(s)
    found: list[tuple[int, int]] = []  # (first token index, last token index)
    for term in terms:
        n = len(term.tokens)
        first = term.tokens[0]
        last_start = len(toks) - n
        i = -1
        while True:
            try:
                i = toks.index(first, i + 1, last_start + 1)  # jump in C to the next candidate
            except ValueError:
                break
            if n == 1 or tuple(toks[i : i + n]) == term.tokens:
                found.append((i, i + n - 1))
    if not found:
        return []
    if spans is None:  # offsets only of the tokens that start or end a match
        wanted = sorted({k for pair in found for k in pair})
        where: dict[int, tuple[int, int]] = {}
        matches = _TOKEN.finditer(s)
        at = 0
        for k in wanted:
            m = next(islice(matches, k - at, None))
            at = k + 1
            where[k] = m.span()
        ranges = [(where[a][0], where[b][1]) for a, b in found]
    else:
        ranges = [(spans[a][1], spans[b][2]) for a, b in found]
    return _merged(ranges)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _render(text: str, ranges: list[tuple[int, int]], lo: int, hi: int) -> str:
    out = []
    pos = lo
    for a, b in ranges:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        out.append(html.escape(text[pos:a]))
        out.append("<mark>" + html.escape(text[a:b]) + "</mark>")
        pos = b
    out.append(html.escape(text[pos:hi]))
    return "".join(out)


def highlight(text: str, terms: list[Term]) -> str:
    """All of ``text``, HTML-escaped, with matches wrapped in <mark>."""
    return _render(text or "", match_ranges(text or "", terms), 0, len(text or ""))


def snippet(text: str, terms: list[Term], width: int = 120, before: int = 30) -> str:
    """About ``width`` characters of ``text`` around the first match, escaped, marked."""
    text = text or ""
    ranges = match_ranges(text, terms)
    lo = max(0, ranges[0][0] - before) if ranges else 0
    hi = min(len(text), lo + width)
    if ranges:  # never cut a mark in half
        for a, b in ranges:
            if a < hi < b:
                hi = b
    body = _render(text, ranges, lo, hi)
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")
