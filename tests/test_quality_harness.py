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
