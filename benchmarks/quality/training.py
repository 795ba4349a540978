"""Fit the shipped search on a set of training questions: the index of a knowledge base with its example
questions, and the reranker over its first stage. Used per fold by ``cv`` and on all train questions by
``make train`` (``python -m benchmarks.quality.train``).

The reranker is fitted on features exactly as the shipped search computes them. When training questions
also stand in for example questions, a question's own features are computed by an index that does not
hold it as an example (inner folds), as a new question would meet the shipped index.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from benchmarks.quality.data import REPO, Question, gold_sections

DEFAULT_EXAMPLES_FILE = REPO / "knowledge" / "examples.toml"
INNER_K = 4
RERANK_C = 0.1          # inverse L2 strength of the listwise reranker (chosen by CV; see README)
RERANK_METHOD = "listwise"
EXAMPLE_DROPOUT = 0.1   # share of sections whose examples the reranker's training index leaves out (see fit_index)
# What ships: the repository's own example questions (knowledge/examples.toml), no approved ones. Every fit and
# every cross-validated number uses it unless a caller asks for another mode ("train": the training folds'
# questions stand in for approved examples, the learning experiments; "none": no examples at all).
SHIPPED_EXAMPLES = "starter"


def starter_examples(sections, path: Path = DEFAULT_EXAMPLES_FILE) -> list[tuple[int, str]]:
    """(section row, example) pairs of the team's own examples file, read as a build reads it. (Questions
    approved from use are another field's weight: ``fit_approved_weights``.)"""
    from indexer.examples import load_examples, resolve_examples

    found, _ = resolve_examples(sections, load_examples(path))
    return found


def out_of_scope_examples(path: Path = DEFAULT_EXAMPLES_FILE) -> list[str]:
    """The team's out-of-scope example questions beside the examples file, as a build reads them."""
    from indexer.examples import OUT_OF_SCOPE_NAME, load_out_of_scope

    return load_out_of_scope(path.with_name(OUT_OF_SCOPE_NAME))


def question_examples(sections, questions: list[Question], shared: Path | None = None) -> list[tuple[int, str]]:
    """Training questions standing in for approved examples: each on the section of its primary gold target."""
    out = []
    for q in questions:
        if q.in_scope:
            rows = gold_sections(sections, q, shared)
            if rows:
                out.append((rows[0], q.q))
    return out


def candidate_rows(index, questions: list[Question], shared: Path | None = None, depth: int | None = None
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Reranker training data: per in-scope question with a right section among the first stage's top
    ``depth``, (features (C, F), labels (C,))."""
    from indexer.rerank import candidate_features

    ranker = index.ranker
    depth = depth or ranker.params.rerank_depth
    xs, ys = [], []
    for q in questions:
        if not q.in_scope:
            continue
        right = set(gold_sections(index.sections, q, shared))
        query, _ = ranker.understand(q.q)
        fields = ranker.field_scores(query)
        first = ranker.first_stage(fields)
        d = min(depth, len(first))
        cand = np.argpartition(-first, d - 1)[:d]
        cand = cand[np.argsort(-first[cand], kind="stable")]
        cand = cand[first[cand] > 0]
        labels = np.fromiter((int(i) in right for i in cand), dtype=np.int64, count=len(cand))
        if labels.any():
            xs.append(candidate_features(ranker, query, fields, first, cand))
            ys.append(labels)
    return xs, ys


def without_dropped(examples: list[tuple[int, str]], dropped: set[int]) -> list[tuple[int, str]]:
    """``examples`` minus those of the ``dropped`` section rows."""
    return [(row, text) for row, text in examples if row not in dropped]


def dropped_sections(n_sections: int, seed: int, share: float = EXAMPLE_DROPOUT) -> set[int]:
    """The section rows (a fixed random ``share`` of ``n_sections``) whose examples the reranker's training
    index leaves out."""
    rows = list(range(n_sections))
    random.Random(f"dropout-{seed}").shuffle(rows)
    return set(rows[:round(share * n_sections)])


def fit_approved_weights(model: dict, sections, synonyms, train: list[Question], shared: Path | None,
                         team: list[tuple[int, str]], seed: int, inner_k: int = INNER_K, params=None,
                         rerank_c: float = RERANK_C) -> dict:
    """``model`` with weights for the scores against approved questions (``indexer.rerank.APPROVED_FEATURES``),
    every other weight held: in each of ``inner_k`` inner folds, the other folds' in-scope questions stand in
    for questions approved from use (beside the ``team`` examples) and the fold's questions are ranked as a
    new question would meet that index."""
    from indexer.index import Index
    from indexer.rerank import APPROVED_FEATURES, fit_added_features

    in_scope = [q for q in train if q.in_scope]
    order = list(range(len(in_scope)))
    random.Random(f"approved-{seed}").shuffle(order)
    inner = {i: j % inner_k for j, i in enumerate(order)}
    xs, ys = [], []
    for f in range(inner_k):
        held = [q for i, q in enumerate(in_scope) if inner[i] == f]
        rest = [q for i, q in enumerate(in_scope) if inner[i] != f]
        index = Index.fit(sections, synonyms, params, rerank_model=None, examples=team,
                          approved=question_examples(sections, rest, shared))
        x, y = candidate_rows(index, held, shared)
        xs += x
        ys += y
    return fit_added_features(xs, ys, model, APPROVED_FEATURES, l2=1.0 / rerank_c,
                              fitted={"approved_questions": len(xs)})


def fit_index(sections, synonyms, train: list[Question], shared: Path | None = None, examples: str = SHIPPED_EXAMPLES,
              rerank: bool = True, seed: int = 0, params=None, inner_k: int = INNER_K, rerank_c: float = RERANK_C,
              return_model: bool = False, method: str = RERANK_METHOD, example_dropout: float = EXAMPLE_DROPOUT,
              approved_weights: bool = True):
    """The index of ``sections`` as the bot would ship it if ``train`` were the team's training questions
    (and, with ``examples="train"``, its approved example questions).

    The reranker learns from an index where ``example_dropout`` of the sections have no examples: the shipped
    index meets such sections (a page added after the examples were written, the bundled seed page whose
    headings differ), and a reranker that never saw one has no weight for "this section has no examples"."""
    from indexer.index import Index
    from indexer.rerank import fit_listwise, fit_model

    base = starter_examples(sections) if examples in ("starter", "train") else []
    final_examples = base + (question_examples(sections, train, shared) if examples == "train" else [])
    dropped = dropped_sections(len(sections), seed, example_dropout)
    model = None
    if rerank:
        xs, ys = [], []
        if examples == "train":
            in_scope = [q for q in train if q.in_scope]
            order = list(range(len(in_scope)))
            random.Random(seed).shuffle(order)
            inner = {i: j % inner_k for j, i in enumerate(order)}
            for f in range(inner_k):
                held = [q for i, q in enumerate(in_scope) if inner[i] == f]
                rest = [q for i, q in enumerate(in_scope) if inner[i] != f]
                index = Index.fit(sections, synonyms, params, rerank_model=None,
                                  examples=without_dropped(base + question_examples(sections, rest, shared), dropped))
                x, y = candidate_rows(index, held, shared)
                xs += x
                ys += y
        else:
            index = Index.fit(sections, synonyms, params, examples=without_dropped(base, dropped), rerank_model=None)
            xs, ys = candidate_rows(index, train, shared)
        fitted = {"questions": len(xs), "examples": examples, "inner_folds": inner_k}
        if method == "listwise":
            model = fit_listwise(xs, ys, l2=1.0 / rerank_c, fitted=fitted)
        else:
            model = fit_model(np.vstack(xs), np.concatenate(ys), c=rerank_c, fitted=fitted)
        if approved_weights and examples != "train":
            model = fit_approved_weights(model, sections, synonyms, train, shared, without_dropped(base, dropped),
                                         seed, inner_k, params, rerank_c)
    index = Index.fit(sections, synonyms, params, examples=final_examples, rerank_model=model,
                      outside=out_of_scope_examples())
    return (index, model) if return_model else index
