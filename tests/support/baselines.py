"""Retrieval baselines the index is measured against (development only: ``bm25s`` is a dev dependency).

``baselines(sections) -> {name: ranking}``, each ranking ``(question, k) -> [section URL, ...]`` as
``indexer.evaluate`` expects; BM25 is left out when ``bm25s`` is not installed.
"""

from __future__ import annotations

import numpy as np

from indexer.evaluate import Ranking
from indexer.model import Section


def baselines(sections: list[Section]) -> dict[str, Ranking]:
    out = {"TF-IDF baseline": tfidf_baseline(sections)}
    bm25 = bm25_baseline(sections)
    if bm25 is not None:
        out["BM25 baseline"] = bm25
    return out


def tfidf_baseline(sections: list[Section]) -> Ranking:
    """Plain ``TfidfVectorizer(stop_words="english")`` over breadcrumb + text, cosine."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english")
    matrix = vec.fit_transform([" ".join(s.breadcrumb) + "\n" + s.text for s in sections])

    def rank(q: str, k: int) -> list[str]:
        scores = (matrix @ vec.transform([q]).T).toarray().ravel()
        return [sections[i].url for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]

    return rank


def bm25_baseline(sections: list[Section]) -> Ranking | None:
    """BM25 (bm25s defaults) over breadcrumb + text; None when bm25s is not installed."""
    try:
        import bm25s
    except ImportError:
        return None
    corpus = [" ".join(s.breadcrumb) + "\n" + s.text for s in sections]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)

    def rank(q: str, k: int) -> list[str]:
        tokens = bm25s.tokenize([q], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        docs, scores = retriever.retrieve(tokens, k=min(k, len(sections)), show_progress=False)
        return [sections[int(i)].url for i, s in zip(docs[0], scores[0]) if s > 0]

    return rank
