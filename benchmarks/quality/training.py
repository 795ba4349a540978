"""Fit the shipped search on a set of training questions: the index of a knowledge base with example
questions, and (later) its reranker. Used per fold by ``cv`` and on all train questions by ``make train``."""

from __future__ import annotations

from pathlib import Path

from benchmarks.quality.data import Question


def fit_index(sections, synonyms, train: list[Question], shared: Path | None = None, examples: str = "train",
              rerank: bool = True, seed: int = 0, **options):
    """The index of ``sections`` as the bot would ship it if ``train`` were the approved examples."""
    from indexer.index import Index

    return Index.fit(sections, synonyms)
