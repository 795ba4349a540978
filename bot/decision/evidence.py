"""Signals that tell whether the handbook answers a question, computed from search hits.

``gather(index, question, hits) -> Evidence``. Besides the ranker's own scores it measures how much of
the question the handbook *talks about*: each content term (a stem) is weighted by its inverse
document frequency over the indexed sections, so "dataset" counts little and "choropleth" a lot; a
term the handbook never uses gets the largest weight. Out-of-scope questions tend to have heavy
terms that the best hits do not contain.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.model import Hit


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


def gather(index, question: str, hits: list[Hit], depth: int = 3) -> Evidence:
    """Evidence for ``question`` given its ranked ``hits`` (best first)."""
    terms, known = index.query_coverage(question)
    terms, known_set = list(dict.fromkeys(terms)), set(known)
    idf = {t: index.term_idf(t) for t in terms}
    total = sum(idf.values()) or 1.0
    unknown = sum(idf[t] for t in terms if t not in known_set) / total
    matched = 0.0
    for hit in hits[:depth]:
        present = index.section_terms(hit.position)
        matched = max(matched, sum(idf[t] for t in terms if t in present) / total)
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
