"""Signals that tell whether the handbook answers a question, computed from search hits.

``gather(index, question, hits) -> Evidence``. Besides the ranker's own scores it measures how much of
the question the handbook *talks about*: each content term (a stem) is weighted by its inverse
document frequency over the indexed sections, so "dataset" counts little and "choropleth" a lot; a
term the handbook never uses gets the largest weight. Out-of-scope questions tend to have heavy
terms that the best hits do not contain.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

from indexer.model import Hit
from indexer.text import content_terms


@dataclass(frozen=True)
class Evidence:
    top_score: float       # ranker score of the best hit (0 when none)
    gap: float             # (top - second) / top, 0..1: how clearly the best hit wins
    coverage: float        # share of the question's content terms the index vocabulary knows, 0..1
    matched: float         # idf-weighted share of the question's terms found in the best of the top hits
    unknown: float         # idf-weighted share of the question's terms the handbook never uses
    pages_agree: bool      # the two best hits are on the same page
    terms: int             # number of distinct content terms in the question

    def features(self) -> dict[str, float]:
        """The numbers the decision's linear model reads (see bot/answer.py)."""
        return {"matched": self.matched, "top_score": self.top_score, "unknown": self.unknown}


class _TermStats:
    """Document frequencies of content terms over an index's sections (built once per index)."""

    def __init__(self, index) -> None:
        self.section_terms: dict[str, frozenset[str]] = {}
        df: dict[str, int] = {}
        for s in index.sections:
            terms = frozenset(content_terms(" ".join(s.breadcrumb) + "\n" + s.heading + "\n" + s.text))
            self.section_terms[s.id] = terms
            for t in terms:
                df[t] = df.get(t, 0) + 1
        self.n = max(1, len(index.sections))
        self.df = df

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 1)) + 1.0


_stats: dict[int, tuple[weakref.ref, _TermStats]] = {}


def term_stats(index) -> _TermStats:
    entry = _stats.get(id(index))
    if entry is None or entry[0]() is not index:
        for key in [k for k, (ref, _) in _stats.items() if ref() is None]:
            del _stats[key]
        entry = (weakref.ref(index), _TermStats(index))
        _stats[id(index)] = entry
    return entry[1]


def gather(index, question: str, hits: list[Hit], depth: int = 3) -> Evidence:
    """Evidence for ``question`` given its ranked ``hits`` (best first)."""
    stats = term_stats(index)
    terms, known = index.query_coverage(question)
    terms, known_set = list(dict.fromkeys(terms)), set(known)
    total = sum(stats.idf(t) for t in terms) or 1.0
    unknown = sum(stats.idf(t) for t in terms if t not in known_set) / total
    matched = 0.0
    for hit in hits[:depth]:
        present = stats.section_terms.get(hit.section.id, frozenset())
        matched = max(matched, sum(stats.idf(t) for t in terms if t in present) / total)
    top = hits[0].score if hits else 0.0
    second = hits[1].score if len(hits) > 1 else 0.0
    return Evidence(
        top_score=top,
        gap=(top - second) / top if top > 0 else 0.0,
        coverage=sum(1 for t in terms if t in known_set) / len(terms) if terms else 0.0,
        matched=matched if terms else 0.0,
        unknown=unknown if terms else 1.0,
        pages_agree=len(hits) > 1 and hits[0].section.page_url == hits[1].section.page_url,
        terms=len(terms),
    )
