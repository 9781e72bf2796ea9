"""The judged query set (``judged.yaml`` over ``judged_corpus``): grades and nDCG@10.
Used by test_judged.py and bench/search.py."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from search import Document, SearchQuery

from .judged_corpus import corpus, label

PATH = Path(__file__).with_name("judged.yaml")
K = 10
FILTERS = ("kind", "field", "county", "transfer_mode")


@dataclass
class Judged:
    text: str
    filters: dict
    must: list[str]  # ids, grade 2, each expected in the top K
    grades: dict[str, int] = field(default_factory=dict)  # id -> 1 or 2

    def query(self) -> SearchQuery:
        return SearchQuery(text=self.text, per_page=K, facets=False, **self.filters)


def _follows(doc: Document, rule: dict) -> bool:
    for key, value in rule.items():
        if key == "org":
            if doc.org_name != value:
                return False
        elif key == "transfer_mode":
            if value not in doc.transfer_modes:
                return False
        elif getattr(doc, key) != value:
            return False
    return True


def load(docs: list[Document] | None = None) -> list[Judged]:
    docs = docs if docs is not None else corpus()
    by_title = {label(d): d.id for d in docs}
    out = []
    for entry in yaml.safe_load(PATH.read_text(encoding="utf-8")):
        unknown = [t for t in entry.get("must", []) + entry.get("relevant", []) if t not in by_title]
        if unknown:
            raise ValueError(f"judged.yaml, query {entry['q']!r}: no listing titled {unknown}")
        grades: dict[str, int] = {}
        if entry.get("rule"):
            for d in docs:
                if _follows(d, entry["rule"]):
                    grades[d.id] = 1
        for t in entry.get("relevant", []):
            grades[by_title[t]] = max(grades.get(by_title[t], 0), 1)
        must = [by_title[t] for t in entry.get("must", [])]
        for i in must:
            grades[i] = 2
        if len(must) > K or not grades:
            raise ValueError(f"judged.yaml, query {entry['q']!r}: 1..{K} expected listings needed")
        out.append(Judged(str(entry["q"]), {k: entry[k] for k in FILTERS if k in entry}, must, grades))
    return out


def ndcg(ranked: list[str], grades: dict[str, int], k: int = K) -> float:
    def dcg(gains: list[int]) -> float:
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(i, 0) for i in ranked]) / ideal if ideal else 0.0


def evaluate(backend, judged: list[Judged]) -> dict:
    """Per query: nDCG@K and the expected listings missing from the top K."""
    rows = []
    for j in judged:
        ranked = [h.id for h in backend.query(j.query()).hits]
        rows.append({"q": j.text, "filters": j.filters, "ndcg": ndcg(ranked, j.grades),
                     "missing": [i for i in j.must if i not in ranked]})
    return {"mean_ndcg": sum(r["ndcg"] for r in rows) / len(rows), "queries": rows}
