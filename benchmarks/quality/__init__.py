"""Cross-validated quality of retrieval (and, built on it, the decision).

Everything here reads ``../shared/eval`` at run time (env ``HANDBOOK_SHARED`` overrides) and copies
nothing from it. The public API, stable for the decision's own fitting code:

- ``load_questions(shared)`` -> every train question (in scope and out of scope) as ``Question``;
- ``assign_folds(questions, k, seed)`` -> the fixed fold of each question;
- ``cross_validate(shared, ...)`` -> one ``Fold`` per fold: the in-fold index (the 2025-07 handbook + FAQ,
  example questions from the training folds, reranker fitted on the training folds) and the held-out
  questions, each with what the shipped search returns for it in-fold (``HeldOut.result``);
- ``score_set(...)`` -> top-1 exact, recall@3, MRR@10 by ``../shared/eval/score.py``'s rules.

    python -m benchmarks.quality            # CV table per set, with TF-IDF / BM25 baselines
"""

from benchmarks.quality.cv import (
    DEFAULT_K,
    DEFAULT_SEED,
    Fold,
    HeldOut,
    cross_validate,
    held_out,
)
from benchmarks.quality.data import (
    IN_SCOPE_SETS,
    OOS_SETS,
    Question,
    assign_folds,
    gold_sections,
    load_questions,
    load_scorer,
    shared_dir,
)
from benchmarks.quality.metrics import retrieval_metrics, score_set

__all__ = [
    "DEFAULT_K", "DEFAULT_SEED", "IN_SCOPE_SETS", "OOS_SETS", "Fold", "HeldOut", "Question", "assign_folds",
    "cross_validate", "gold_sections", "held_out", "load_questions", "load_scorer", "retrieval_metrics",
    "score_set", "shared_dir",
]
