"""k-fold cross-validation of the shipped search on the train sets.

Per fold: the eval knowledge base (2025-07 handbook + FAQ, as ``tests/support/knowledge.py``) is indexed with
the training folds' in-scope questions standing in for the DAPA team's approved example questions (or
only ``knowledge/examples.toml``, or none), the reranker is fitted on the training folds, and every
held-out question is searched exactly as ``Index.search`` does for the bot.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from benchmarks.quality.data import REPO, Question, assign_folds, load_questions, shared_dir
from benchmarks.quality.training import SHIPPED_EXAMPLES, fit_index

DEFAULT_K = 5
DEFAULT_SEED = 20261201
SEARCH_DEPTH = 10
EXAMPLE_MODES = ("train", "starter", "none")
SITE = "https://ctopendata.github.io/open-data-handbook"


@dataclass
class HeldOut:
    """A held-out question and what the in-fold search returned for it (``Index.search``'s value)."""

    question: Question
    fold: int
    result: Any

    @property
    def hits(self) -> list:
        return list(self.result.hits)

    @property
    def urls(self) -> list[str]:
        return [h.section.url for h in self.hits]


@dataclass
class Fold:
    number: int
    index: Any                          # indexer.index.Index fitted without the held-out questions
    train: list[Question]
    test: list[Question]
    results: list[HeldOut] = field(default_factory=list)

    def search(self, question: str, k: int = SEARCH_DEPTH):
        return self.index.search(question, k)


@lru_cache(maxsize=2)
def kb_sections(shared: Path):
    """(sections, synonyms) of the eval knowledge base, parsed once per process."""
    from indexer.build import DEFAULT_SYNONYMS, collect_sections
    from indexer.text import Synonyms

    with tempfile.TemporaryDirectory(prefix="kb-") as tmp:
        sources = Path(tmp) / "sources.toml"
        sources.write_text(
            f'[[source]]\nname = "handbook"\npath = "{shared / "handbook" / "2025-07"}"\nsite = "{SITE}"\n\n'
            f'[[source]]\nname = "faq"\npath = "{REPO / "knowledge" / "faq.md"}"\nsite = "{SITE}"\n',
            encoding="utf-8")
        sections, _, problems, _ = collect_sections(sources, Path(tmp) / "cache")
    if not sections:
        raise RuntimeError(f"eval knowledge base did not index: {problems}")
    return sections, Synonyms.load(DEFAULT_SYNONYMS)


def cross_validate(shared: Path | None = None, k: int = DEFAULT_K, seed: int = DEFAULT_SEED,
                   examples: str = SHIPPED_EXAMPLES, rerank: bool = True, depth: int = SEARCH_DEPTH,
                   questions: list[Question] | None = None, **fit_options) -> list[Fold]:
    """One ``Fold`` per fold, each with every held-out question (in scope and out of scope) searched.

    ``examples``: "train" (knowledge/examples.toml + the training folds' in-scope questions), "starter"
    (the file only) or "none". ``rerank``: fit the reranker on the training folds (else the first-stage
    ranking alone). ``fit_options`` are passed to ``training.fit_index`` (ablations)."""
    if examples not in EXAMPLE_MODES:
        raise ValueError(f"examples must be one of {EXAMPLE_MODES}")
    shared = shared or shared_dir()
    questions = questions if questions is not None else load_questions(shared)
    fold_of = assign_folds(questions, k, seed)
    sections, synonyms = kb_sections(shared)
    folds = []
    for f in range(k):
        train = [q for q, n in zip(questions, fold_of) if n != f]
        test = [q for q, n in zip(questions, fold_of) if n == f]
        index = fit_index(sections, synonyms, train, shared, examples=examples, rerank=rerank, seed=seed,
                          **fit_options)
        fold = Fold(f, index, train, test)
        fold.results = [HeldOut(q, f, index.search(q.q, depth)) for q in test]
        folds.append(fold)
    return folds


def held_out(folds: list[Fold]) -> list[HeldOut]:
    """Every held-out question of every fold, in fold order."""
    return [r for fold in folds for r in fold.results]
