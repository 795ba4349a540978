"""``Index.search`` returns a value: the hits and what was understood of the question. The decision's
evidence is computed from that value alone, without calling back into the index."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.decision.decide import decide
from bot.decision.evidence import gather
from indexer.model import Hit, Query, SearchResult
from indexer.text import content_terms


def test_search_returns_hits_and_what_was_understood(bundled_index):
    index = bundled_index[1]
    result = index.search("how do I retire a choropleth dataset", 5)
    assert isinstance(result, SearchResult) and 0 < len(result.hits) <= 5
    query = result.query
    assert query.text == "how do I retire a choropleth dataset"
    assert query.terms == ("retir", "choropleth", "dataset")
    assert query.known == {"retir", "dataset"}            # the handbook never says "choropleth"
    assert set(query.weights) == set(query.terms)
    # the smoothed idf: a term no section uses weighs the most, a common term the least, none below 1
    assert query.weights["choropleth"] == pytest.approx(math.log(len(index.sections) + 1) + 1)
    assert query.weights["choropleth"] > query.weights["retir"] > query.weights["dataset"] > 1.0
    # hits come in the reranker's order; each carries its first-stage score and the reranker's share
    shares = [h.relevance for h in result.hits]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1.0 + 1e-9
    assert all(h.score >= 0 for h in result.hits)


def test_each_hit_carries_its_sections_terms(bundled_index):
    index = bundled_index[1]
    for hit in index.search("who is the data steward", 3).hits:
        s = hit.section
        assert hit.section_terms == frozenset(content_terms(" ".join(s.breadcrumb) + "\n" + s.heading + "\n" + s.text))
        assert index.sections[hit.position] is s


def test_two_idfs_of_one_document_frequency(bundled_index):
    """The question's weights (the decision's shares) are the smoothed idf, the passage's the body field's
    BM25 idf; both read the same document frequency: how many sections' body text uses the term."""
    from indexer.index import smoothed_idf

    index = bundled_index[1]
    n, body = len(index.sections), index.ranker.body
    df = dict(zip(body.terms, np.diff(body.matrix.tocsc().indptr).tolist()))
    result = index.search("who publishes a dataset and its metadata on the open data portal", 5)
    known = [t for t in result.query.terms if t in df]
    assert len(known) >= 4 and len({df[t] for t in known}) >= 3
    for t in known:
        assert result.query.weights[t] == smoothed_idf(n, df[t]) == math.log((n + 1) / (df[t] + 1)) + 1
        assert index._bm25_idf()[t] == pytest.approx(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)))
    assert smoothed_idf(n, n) == 1.0 and smoothed_idf(n, 0) > max(index._smoothed_idf().values())


class _Term(str):
    """A term with a chosen hash: its place in a set's iteration order is fixed (as PYTHONHASHSEED fixes it)."""

    def __new__(cls, text: str, hashed: int) -> _Term:
        term = super().__new__(cls, text)
        term.hashed = hashed
        return term

    def __hash__(self) -> int:
        return self.hashed


def test_the_passage_does_not_depend_on_the_order_a_set_yields_its_terms():
    """Two units whose matched terms weigh the same tie exactly, so the first wins, whatever order the hash
    seed puts their terms in (0.1 + 0.2 + 0.3 summed in that order is 0.6000000000000001, 0.2 + 0.3 + 0.1
    is 0.6)."""
    from indexer.passages import Unit, best_passage

    weights = {_Term("alpha", 1): 0.1, _Term("beta", 2): 0.2, _Term("gamma", 3): 0.3,
               _Term("delta", 4): 0.2, _Term("eps", 5): 0.3, _Term("zeta", 6): 0.1}
    terms = list(weights)
    a, b = Unit("a", "a", frozenset(terms[:3]), False), Unit("b", "b", frozenset(terms[3:]), False)
    assert [weights[t] for t in a.terms & set(terms)] == [0.1, 0.2, 0.3]   # the orders the sum would meet
    assert [weights[t] for t in b.terms & set(terms)] == [0.2, 0.3, 0.1]
    assert best_passage([a, b], set(terms), weights, 1)[1] == "a"
    assert best_passage([b, a], set(terms), weights, 1)[1] == "b"


def test_typo_corrections_are_part_of_the_value(bundled_index):
    result = bundled_index[1].search("how do I retire a datset", 3)
    assert result.query.corrections == {"datset": "dataset"}
    assert result.query.terms == ("retir", "dataset") and result.query.known == {"retir", "dataset"}  # not unknown
    spelled = bundled_index[1].search("how do I retire a dataset", 3)
    assert result.hits and [h.section.url for h in result.hits] == [h.section.url for h in spelled.hits]


def test_same_question_twice_gives_equal_values(bundled_index):
    index = bundled_index[1]
    first = index.search("what metadata does a dataset need", 4)
    index.search("something else entirely", 4)
    assert index.search("what metadata does a dataset need", 4) == first


def test_empty_question_understands_nothing(bundled_index):
    result = bundled_index[1].search("   ", 5)
    assert result.hits == () and result.query.terms == ()


def _hit(url: str, score: float, terms: set[str]) -> Hit:
    from indexer.model import Section

    section = Section(url, "s", "p.md", url, "Page", ("Page",), "Heading", 2, None, url, ("text",), ("text",))
    return Hit(section, score, "text", "text", 0, frozenset(terms))


def test_evidence_reads_only_the_value():
    query = Query("q", ("retir", "choropleth"), frozenset({"retir"}), {"retir": 2.0, "choropleth": 6.0})
    result = SearchResult(query, (_hit("https://x/a", 0.5, {"retir", "dataset"}), _hit("https://x/b", 0.4, set())))
    evidence = gather(result).values
    assert evidence["top_score"] == 0.5 and evidence["second_ratio"] == pytest.approx(0.8)
    assert evidence["matched_top"] == pytest.approx(2.0 / 8.0) and evidence["unknown"] == pytest.approx(6.0 / 8.0)
    assert gather(SearchResult(Query("q"))).values["unknown"] == 1.0   # nothing understood: all unknown


class OnlySearch:
    """An index that offers nothing but ``search``: the decision must need nothing else."""

    def __init__(self, index) -> None:
        self._index = index

    def search(self, question: str, k: int) -> SearchResult:
        return self._index.search(question, k)


@pytest.mark.parametrize("question", ["who is the data steward at my agency?",
                                      "which team won the hockey match on Sunday"])
def test_decide_never_calls_back_into_the_index(bundled_index, question):
    assert decide(question, OnlySearch(bundled_index[1])) == decide(question, bundled_index[1])
