"""The cross-validation harness: fixed, stratified folds; every gold label maps to indexed sections; a
held-out question is never among its fold's training questions."""

from __future__ import annotations

from collections import Counter

import pytest

from conftest import require_shared

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def questions():
    require_shared("eval", "train.jsonl")
    from benchmarks.quality import load_questions

    return load_questions()


def test_folds_are_fixed_and_stratified(questions):
    from benchmarks.quality import assign_folds

    folds = assign_folds(questions, 5, 7)
    assert folds == assign_folds(questions, 5, 7)
    assert folds != assign_folds(questions, 5, 8)
    for style_set in {(q.set, q.style) for q in questions}:
        counts = Counter(f for q, f in zip(questions, folds) if (q.set, q.style) == style_set)
        assert set(counts) == set(range(5)), style_set
        assert max(counts.values()) - min(counts.values()) <= 1


def test_every_gold_label_names_an_indexed_section(questions):
    require_shared("handbook", "2025-07")
    from benchmarks.quality import gold_sections
    from benchmarks.quality.cv import kb_sections

    sections, _ = kb_sections(require_shared())
    missing = [q.id for q in questions if q.in_scope and not gold_sections(sections, q)]
    assert not missing


def test_held_out_questions_are_not_trained_on(questions):
    require_shared("handbook", "2025-07")
    from benchmarks.quality import cross_validate, held_out

    subset = questions[::6]
    folds = cross_validate(k=3, questions=subset)
    results = held_out(folds)
    assert sorted(r.question.id for r in results) == sorted(q.id for q in subset)
    for fold in folds:
        assert not {q.id for q in fold.train} & {q.id for q in fold.test}
        assert all(isinstance(u, str) for r in fold.results for u in r.urls)


def test_operating_curve_counts_each_style_on_its_own_rows():
    """Synthetic rows (no shared data needed): a question and a post, in scope right / wrong and out of scope."""
    import numpy as np

    from benchmarks.quality.data import Question
    from benchmarks.quality.handoff import Row, operating_curve
    from bot.decision.evidence import FEATURES

    post_at = list(FEATURES).index("is_post")

    def row(is_post: bool, in_scope: bool, top1: bool) -> Row:
        x = np.zeros(len(FEATURES))
        x[post_at] = float(is_post)
        gold = {"url": "/x"} if in_scope else {}
        return Row(Question("id", "q", "s", gold), x, top1, top1, None)

    rows = [row(False, True, True), row(False, True, False), row(False, False, False),
            row(True, True, True), row(True, False, False)]
    p = np.array([0.9, 0.6, 0.7, 0.5, 0.95])
    curve = {(s, t): (right, wrong, oos) for s, t, right, wrong, oos in operating_curve(p, rows, (0.55, 0.8))}
    assert curve["questions", 0.55] == (0.5, 0.5, 1.0)
    assert curve["questions", 0.8] == (0.5, 0.0, 0.0)
    assert curve["posts", 0.55] == (0.0, 0.0, 1.0)
    assert curve["all", 0.55] == (1 / 3, 1 / 3, 1.0)
