"""Questions approved from use are a field of their own: an index without them ranks exactly as the reranker
fitted without them, and with them, they can only re-order what they match."""

from __future__ import annotations

import numpy as np

from indexer.index import Index
from indexer.rerank import APPROVED_FEATURES, FEATURES, fit_added_features, fit_listwise, logits
from tests.test_query_understanding import SECTIONS, SYNONYMS


def _index(examples=(), approved=(), rerank_model=None) -> Index:
    return Index.fit(SECTIONS, SYNONYMS, examples=list(examples), approved=list(approved), rerank_model=rerank_model)


def _fields(index: Index, question: str) -> dict[str, np.ndarray]:
    return index.ranker.field_scores(index.ranker.understand(question)[0])


def test_an_approved_question_scores_in_its_own_field_not_as_a_team_example():
    team = [(3, "agenda of the tuesday call")]
    approved = [(1, "who signs off before the numbers go live")]
    index = _index(team, approved)
    fields = _fields(index, "who signs off before my numbers go live")
    assert fields["approved"].argmax() == 1 and fields["approved"][1] > 0.5
    assert fields["example"][1] == 0                      # the team's example field holds only the team's
    assert fields["example_doc"][1] == 0
    assert list(index.ranker.example_count) == [0, 0, 0, 1]
    assert index.meta["examples"] == 2
    # asked again word for word, an approved question leads with its section like a team example
    assert index.ranker.example_match("Who signs off before the numbers go live?") == 1
    # a section that has only approved questions is scored on them (its own run of examples)
    assert _fields(index, "agenda of the tuesday call")["approved"].max() == 0


def test_without_approved_questions_the_team_fields_are_unchanged():
    team = [(1, "who signs off before the numbers go live"), (3, "agenda of the tuesday call")]
    with_approved = _index(team, [(2, "how do I take an old table down")])
    without = _index(team)
    question = "who signs off on the tuesday agenda"
    a, b = _fields(with_approved, question), _fields(without, question)
    assert not b["approved"].any()
    for name in ("example", "example_doc", "title", "body"):
        np.testing.assert_allclose(a[name], b[name], rtol=0.05, atol=1e-9, err_msg=name)   # idf of a shared field


def _lists(rng: np.random.Generator, n: int, approved_helps: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    xs, ys = [], []
    col = FEATURES.index("approved")
    for _ in range(n):
        x = rng.normal(size=(8, len(FEATURES)))
        x[:, [FEATURES.index(f) for f in APPROVED_FEATURES]] = 0.0
        y = np.zeros(8, dtype=np.int64)
        right = int(rng.integers(8))
        y[right] = 1
        x[right, 0] += 1.0                                    # "first" points at the right one, not always
        if approved_helps and rng.random() < 0.5:
            x[right, col] = rng.uniform(0.5, 1.0)             # an approved question like it was asked before
        xs.append(x)
        ys.append(y)
    return xs, ys


def test_added_weights_leave_every_other_weight_and_an_index_without_approved_questions_alone():
    rng = np.random.default_rng(0)
    base = fit_listwise(*_lists(rng, 200, approved_helps=False), l2=1.0)
    model = fit_added_features(*_lists(rng, 200, approved_helps=True), base, APPROVED_FEATURES, l2=1.0)
    others = [i for i, f in enumerate(FEATURES) if f not in APPROVED_FEATURES]
    assert np.array_equal(model["coef"][others], base["coef"][others])
    assert model["coef"][FEATURES.index("approved")] > 0.5     # learned: an approved match marks the right one
    x, _ = _lists(rng, 1, approved_helps=False)
    np.testing.assert_allclose(logits(model, x[0]), logits(base, x[0]))   # none approved: the base's scores
