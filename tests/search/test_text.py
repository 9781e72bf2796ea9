"""The text rules both backends rely on (no server needed)."""
from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from search.text import Term, canonical, grams, highlight, normalize, parse_terms, snippet, token_string, tokens

from .oracle import _contains

_alphabet = st.sampled_from(list("检测服务液相色谱仪药专利ab AB1-（）,.<>&\"'ＨＰ　\u3000é"))
_texts = st.text(_alphabet, max_size=40)


@settings(max_examples=500, deadline=None)
@given(doc=_texts, query=_texts)
def test_canonical_substring_is_token_containment(doc, query):
    """The embedded backend's substring test equals the phrase match Elasticsearch does."""
    toks = tokens(doc)
    for term in parse_terms(query):
        assert (term.pattern in canonical(doc)) == _contains(toks, term.tokens)
        assert token_string(doc).split() == toks
        short = term.short_cjk
        if short is not None:  # the gram index answers exactly the short CJK terms that match
            index = grams(canonical(doc), "b").split()
            found = "b" + short in index  # a bigram or a single character is a token
            assert found == _contains(toks, term.tokens)
            assert all(g[0] == "b" for g in index)
        elif term.gram is not None:  # one or two Latin words: a gram token
            token, prefix = term.gram
            assert not prefix
            assert ("b" + token in grams(canonical(doc), "b").split()) == _contains(toks, term.tokens)
        else:
            assert len(term.pattern) >= 3  # long enough for the trigram index


_compat = st.sampled_from(["Ａ", "ａ", "１", "，", "（", "）", "\u3000", "\uff5e", "\uff61", "\u0301", "\u0308",
                           "\u0327", "A", "o", "e", "中", "가", "\u1100", "\u1161", "\u2460", "ﬁ", "ẞ", "ｶ", "\uff9e"])


@settings(max_examples=500, deadline=None)
@given(text=st.text(_compat, max_size=12))
def test_normalize_is_nfkc_casefold(text):
    """The full-width pre-pass is a shortcut only: combining marks after "Ａ" compose the same."""
    assert normalize(text) == unicodedata.normalize("NFKC", text).casefold()


def test_tokens():
    assert tokens("高端液相色谱仪（HPLC）检测") == list("高端液相色谱仪") + ["hplc"] + list("检测")
    assert tokens("ＧＣ-ＭＳ, 3D打印") == ["gc", "ms", "3d", "打", "印"]
    assert tokens("' OR 1=1 --") == ["or", "1", "1"]
    assert tokens("*\"()NEAR") == ["near"]
    assert len(tokens("x" * 130)) == 3  # letter runs are cut into 64-character tokens


def test_terms():
    assert [t.tokens for t in parse_terms("检测  HPLC 检测 * --")] == [("检", "测"), ("hplc",)]
    [t] = parse_terms("检测")
    assert (t.pattern, t.short_cjk, t.phrase) == ("检测", "检测", "检 测")
    [t] = parse_terms("HPLC检测")
    assert (t.pattern, t.short_cjk, t.phrase) == (" hplc 检测", None, "hplc 检 测")
    assert len(parse_terms(" ".join(f"w{i}" for i in range(50)))) == 10


def test_highlight_escapes_everything():
    terms = parse_terms("script 检测")
    out = highlight('<script>alert("检测")</script>', terms)
    assert out == "&lt;<mark>script</mark>&gt;alert(&quot;<mark>检测</mark>&quot;)&lt;/<mark>script</mark>&gt;"
    assert highlight("<b>", []) == "&lt;b&gt;"
    assert highlight("ＨＰＬＣ检测", parse_terms("hplc")) == "<mark>ＨＰＬＣ</mark>检测"
    assert highlight("HPLCX hplc", parse_terms("hplc")) == "HPLCX <mark>hplc</mark>"


def test_snippet_is_a_window_around_the_first_match():
    text = "前言" * 100 + "检测服务" + "后记" * 100
    out = snippet(text, parse_terms("检测"))
    assert out.startswith("…") and out.endswith("…")
    assert "<mark>检测</mark>" in out and len(out) < 200
    assert snippet("短文本", []) == "短文本"


_words = st.sampled_from(["检", "测", "检测", "hplc", "ab", "a", "1", "é", "_", "-", "，", " ", "ＨＰ", "x" * 65, "ﬁ"])


@settings(max_examples=400, deadline=None)
@given(doc=st.lists(_words, max_size=30).map("".join), query=st.lists(_words, max_size=4).map(" ".join))
def test_highlights_found_in_place_equal_the_token_walk(doc, query):
    """``match_ranges`` finds a term where its first token stands (str.find) unless the text
    needs the token walk (a run longer than MAX_WORD, a character that normalises to
    several); both ways give the same ranges."""
    import re

    from search import text

    terms = parse_terms(query)
    fast = text.match_ranges(doc, terms)
    saved = text._LONG_RUN
    text._LONG_RUN = re.compile("")  # every text takes the token walk
    try:
        assert text.match_ranges(doc, terms) == fast
    finally:
        text._LONG_RUN = saved


def test_a_terms_forms_are_its_own_and_leave_it_equal_to_a_fresh_one():
    """A term works out its embedded forms (pattern, gram token) once and keeps them:
    each term its own, however many come and go (a cache keyed by the object's id, reused
    once a term is gone, would hand one term another's form), and a term that has them
    still equals and hashes as one that has not (term caches are keyed by terms)."""
    words = ["检测", "液相色谱", "hplc", "gc ms", "药", "hplc 检测", "a b c"]
    for k in range(300):
        text = f"{words[k % len(words)]}{k}" if k % 2 else words[k % len(words)]
        term = parse_terms(text)[0]
        fresh = Term(term.tokens)
        assert (term.pattern, term.gram, term.short_cjk) == (fresh.pattern, fresh.gram, fresh.short_cjk)
        assert term.pattern in canonical(text) and term.pattern == term.pattern
        bare = Term(term.tokens)
        assert term == bare and hash(term) == hash(bare) and {bare: 1}[term] == 1
    assert Term(("检", "测")).gram == ("检测", False) and Term(("液", "相", "色")).gram is None
