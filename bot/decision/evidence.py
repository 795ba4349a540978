"""Signals that tell whether the handbook answers a question, read from a search result.

``gather(result) -> Evidence``. Besides the ranker's own scores it measures how much of the question
the handbook *talks about*: each content term (a stem) is weighted by its inverse document frequency
over the indexed sections (``Query.weights``), so "dataset" counts little and "choropleth" a lot; a
term the handbook never uses gets the largest weight. Out-of-scope questions tend to have heavy terms
that the best hits do not contain. Reads only the ``SearchResult`` value, never the index.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.model import SearchResult


@dataclass(frozen=True)
class Evidence:
    top_score: float       # ranker score of the best hit (0 when none)
    matched: float         # idf-weighted share of the question's terms found in the best of the top hits
    unknown: float         # idf-weighted share of the question's terms the handbook never uses

    def features(self) -> dict[str, float]:
        """The numbers the decision's linear model reads (see bot/decision/decide.py)."""
        return {"matched": self.matched, "top_score": self.top_score, "unknown": self.unknown}


def gather(result: SearchResult, depth: int = 3) -> Evidence:
    """Evidence for a question from its search ``result`` (hits best first); ``depth`` hits are read."""
    query, hits = result.query, result.hits
    terms, weights = query.terms, query.weights
    total = sum(weights[t] for t in terms) or 1.0
    unknown = sum(weights[t] for t in terms if t not in query.known) / total
    matched = 0.0
    for hit in hits[:depth]:
        matched = max(matched, sum(weights[t] for t in terms if t in hit.section_terms) / total)
    return Evidence(
        top_score=hits[0].score if hits else 0.0,
        matched=matched if terms else 0.0,
        unknown=unknown if terms else 1.0,
    )
