"""Generic evidence that the handbook answers a question, read off the search result (framework-free).

``gather(result) -> Evidence``: a fixed set of named numbers (``FEATURES``) the hand-off model
(``bot.decision.handoff``) reads, from the ``SearchResult`` value alone (never the index). None of them
names a word, page or section: they describe the *shape* of the result and of the question, so they
carry over to another handbook and survive edits.

- scores: the top score, and how the next hits compare to it (a clear winner or a crowd);
- coverage: how much of the question's weighted content (each stem weighted by its inverse document
  frequency over the sections, so "dataset" counts little and "choropleth" a lot) the best hit, and the
  best of the top three, contain; how much the handbook never uses at all;
- agreement: whether the top hits sit on one page; the reranker's relevance share of the top hit and its
  margin over the second (``Hit.relevance``; without a reranker, the top score's share of the top five);
- specificity: the same coverage with each term also weighted by its general-English specificity
  (``Query.specificity``), and the coverage of a post's ask sentences alone (``Query.ask_text``);
- shape: how long the question is (content terms, characters; logs, capped so a pasted 25,000-character
  post is not an extrapolation), whether it asks ("?"), typo fixes.

Every share is normalised by the question's own weight, so a 60-word channel post and a 4-word query
land on the same scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from indexer.model import SearchResult
from indexer.text import content_terms

FEATURES = (
    "top_score", "second_ratio", "third_ratio", "fifth_ratio",
    "matched_top", "matched_best3", "unknown",
    "log_terms", "log_chars", "asks",
    "pages_top3", "same_page_12", "hits_share", "typo_share",
    "relevance_top", "relevance_margin", "score_vs_best", "specific_matched_top", "specific_matched_best3",
    "ask_matched_top", "is_post", "outside_match", "outside_margin",
)
MAX_LOG_TERMS = math.log1p(200)       # caps: beyond these a message is simply "very long"
MAX_LOG_CHARS = math.log1p(5000)
MATCH_DEPTH = 3


@dataclass(frozen=True)
class Evidence:
    values: dict[str, float]     # FEATURES -> number
    terms: int                   # distinct content terms in the question

    def vector(self, names: tuple[str, ...] = FEATURES) -> list[float]:
        return [self.values[n] for n in names]


def gather(result: SearchResult) -> Evidence:
    """Evidence for a question from its search ``result`` (hits best first, what was understood of it)."""
    query, hits = result.query, result.hits
    terms, weights, known = query.terms, query.weights, query.known
    total = sum(weights[t] for t in terms) or 1.0

    def matched(section_terms: frozenset[str]) -> float:
        return sum(weights[t] for t in terms if t in section_terms) / total

    scores = [h.score for h in hits[:5]] + [0.0] * (5 - min(5, len(hits)))
    top = scores[0]
    shares = [matched(h.section_terms) for h in hits[:MATCH_DEPTH]]
    pages = [h.section.page_url for h in hits[:MATCH_DEPTH]]
    question = query.text
    relevance = [h.relevance for h in hits[:2] if h.relevance is not None]
    if not relevance:   # an index without a reranker: the top score's share of the top five
        relevance = [s / (sum(scores) or 1.0) for s in scores[:2]]
    relevance += [0.0] * (2 - len(relevance))
    specificity = query.specificity
    spec = {t: weights[t] * specificity.get(t, 0.5) for t in terms}
    spec_total = sum(spec.values()) or 1.0
    spec_shares = [sum(w for t, w in spec.items() if t in h.section_terms) / spec_total for h in hits[:MATCH_DEPTH]]
    is_post = query.is_post
    ask_terms = [t for t in dict.fromkeys(content_terms(query.ask_text)) if t in weights] if is_post else []
    ask_terms = ask_terms or list(terms)
    ask_total = sum(weights[t] for t in ask_terms) or 1.0
    values = {
        "relevance_top": relevance[0],
        "relevance_margin": relevance[0] - relevance[1],
        "score_vs_best": top / max(scores) if max(scores) > 0 else 0.0,
        "specific_matched_top": spec_shares[0] if spec_shares and terms else 0.0,
        "specific_matched_best3": max(spec_shares) if spec_shares and terms else 0.0,
        "ask_matched_top": (sum(weights[t] for t in ask_terms if t in hits[0].section_terms) / ask_total
                            if hits and ask_terms else 0.0),
        "is_post": 1.0 if is_post else 0.0,
        "outside_match": result.outside,
        "outside_margin": result.outside - result.closest_example,
        "top_score": top,
        "second_ratio": scores[1] / top if top > 0 else 0.0,
        "third_ratio": scores[2] / top if top > 0 else 0.0,
        "fifth_ratio": scores[4] / top if top > 0 else 0.0,
        "matched_top": shares[0] if shares and terms else 0.0,
        "matched_best3": max(shares) if shares and terms else 0.0,
        "unknown": sum(weights[t] for t in terms if t not in known) / total if terms else 1.0,
        "log_terms": min(math.log1p(len(terms)), MAX_LOG_TERMS),
        "log_chars": min(math.log1p(len(question)), MAX_LOG_CHARS),
        "asks": 1.0 if "?" in question else 0.0,
        "pages_top3": len(set(pages)) / MATCH_DEPTH if pages else 0.0,
        "same_page_12": 1.0 if len(pages) > 1 and pages[0] == pages[1] else 0.0,
        "hits_share": min(len(hits), 5) / 5,
        "typo_share": min(len(query.corrections), len(terms)) / len(terms) if terms else 0.0,
    }
    return Evidence(values, len(terms))
