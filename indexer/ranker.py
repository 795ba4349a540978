"""The retrieval model: BM25-weighted TF-IDF over stems and synonym groups (scikit-learn
vectorizers) in three fields — title (breadcrumb), body, and the best window of two sentences —
with typo correction against the indexed vocabulary.

Measured on the dev questions (see README): sentence windows, field weights and dropping bigrams
each helped; an LSA (TruncatedSVD) component and word bigrams lowered top-1, so neither is used.

Shapes: ``n`` sections, ``V`` terms. ``scores(question)`` -> float array of shape (n,), each in
[0, 1]: the share of the question's weighted terms a section matches, field-weighted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from indexer.definitions import Definitions
from indexer.model import Section
from indexer.spelling import SpellingCorrector
from indexer.text import Analyzer, Synonyms, sentences


@dataclass
class RankerParams:
    title_weight: float = 0.15
    body_weight: float = 0.4
    passage_weight: float = 0.25
    passage_lines: int = 2
    definition_weight: float = 0.2
    k1: float = 1.0
    b_title: float = 0.3
    b_body: float = 0.5
    bigrams: bool = False
    typo_similarity: float = 0.55


def title_field(section: Section) -> str:
    return " ".join(section.breadcrumb)


def body_field(section: Section) -> str:
    return " ".join(section.breadcrumb[-2:]) + "\n" + section.text


def passage_windows(sections: list[Section], size: int) -> tuple[list[str], np.ndarray]:
    """Windows of ``size`` consecutive sentences (list items and table rows count as sentences) of
    each section -> (texts, owner section of each); owners is non-decreasing, shape (p,)."""
    texts, owners = [], []
    for i, s in enumerate(sections):
        units = [u for line in s.lines for u in sentences(line)] or [s.heading]
        context = " ".join(s.breadcrumb[-2:])
        for start in range(max(1, len(units) - size + 1)):
            texts.append(context + "\n" + " ".join(units[start:start + size]))
            owners.append(i)
    return texts, np.asarray(owners, dtype=np.int64)


class FieldIndex:
    """BM25 term weights of one field: a CSC matrix (n x V) of saturated, length-normalised tf x idf.

    Fitted state (plain data, stored in the index by ``indexer.state``): ``vocabulary`` term ->
    column, ``idf`` (V,), ``matrix`` (n, V). scikit-learn's ``CountVectorizer`` counts terms in
    ``fit`` only and is not kept.
    """

    def __init__(self, analyzer: Analyzer, k1: float, b: float):
        self.analyzer = analyzer
        self.k1, self.b = k1, b
        self.vocabulary: dict[str, int] = {}
        self.idf: np.ndarray | None = None
        self.matrix = None

    @property
    def terms(self) -> list[str]:
        """Terms in column order."""
        out = [""] * len(self.vocabulary)
        for term, col in self.vocabulary.items():
            out[col] = term
        return out

    def fit_transform_counts(self, texts: list[str]) -> sp.csr_matrix:
        vectorizer = CountVectorizer(analyzer=self.analyzer)
        counts = vectorizer.fit_transform(texts).tocsr().astype(np.float64)
        self.vocabulary = {str(t): int(c) for t, c in vectorizer.vocabulary_.items()}
        n = counts.shape[0]
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        avg = lengths.mean() if n else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avg, 1e-9))
        weighted = counts.copy()
        row_norm = np.repeat(norm, np.diff(counts.indptr))
        weighted.data = counts.data * (self.k1 + 1) / (counts.data + row_norm)
        weighted = weighted @ sp.diags(self.idf)
        self.matrix = weighted.tocsc()
        return counts

    def columns(self, terms: set[str]) -> np.ndarray:
        vocab = self.vocabulary
        return np.fromiter((vocab[t] for t in terms if t in vocab), dtype=np.int64)

    def scores(self, terms: set[str]) -> np.ndarray:
        """Matched weight / the best possible for these query terms -> (n,) in [0, 1]."""
        out = np.zeros(self.matrix.shape[0])
        cols = self.columns(terms)
        if not len(cols):
            return out
        indptr, indices, data = self.matrix.indptr, self.matrix.indices, self.matrix.data
        for c in cols:
            lo, hi = indptr[c], indptr[c + 1]
            out[indices[lo:hi]] += data[lo:hi]
        return out / ((self.k1 + 1) * self.idf[cols].sum())


class Ranker:
    def __init__(self, synonyms: Synonyms, params: RankerParams | None = None):
        self.params = params or RankerParams()
        p = self.params
        analyzer = Analyzer(synonyms, bigrams=p.bigrams)
        self.analyzer = analyzer
        self.title = FieldIndex(analyzer, p.k1, p.b_title)
        self.body = FieldIndex(analyzer, p.k1, p.b_body)
        self.passages = FieldIndex(analyzer, p.k1, p.b_body)
        self.passage_starts: np.ndarray | None = None
        self.definitions = Definitions()
        self.spelling = SpellingCorrector(min_similarity=p.typo_similarity)

    @property
    def vocabulary(self) -> dict[str, int]:
        return self.body.vocabulary

    @property
    def n_sections(self) -> int:
        return self.body.matrix.shape[0] if self.body.matrix is not None else 0

    def fit(self, sections: list[Section]) -> Ranker:
        titles = [title_field(s) for s in sections]
        bodies = [body_field(s) for s in sections]
        self.title.fit_transform_counts(titles)
        self.body.fit_transform_counts(bodies)
        if self.params.passage_weight > 0:
            texts, owners = passage_windows(sections, self.params.passage_lines)
            self.passages.fit_transform_counts(texts)
            self.passage_starts = np.searchsorted(owners, np.arange(len(sections)))
        self.definitions.fit(sections)
        self.spelling.fit(titles + bodies)
        return self

    def prepare(self, question: str) -> tuple[str, dict[str, str]]:
        """-> (question with typo corrections appended, {typo: correction})."""
        return self.spelling.correct(question)

    def query_terms(self, prepared: str) -> set[str]:
        return set(self.analyzer(prepared))

    def scores(self, question: str, prepared: str | None = None) -> np.ndarray:
        """Score of every section for a question -> (n,) floats in [0, 1]."""
        terms = self.query_terms(prepared if prepared is not None else self.prepare(question)[0])
        p = self.params
        total = p.title_weight * self.title.scores(terms) + p.body_weight * self.body.scores(terms)
        if self.passage_starts is not None:
            per_passage = self.passages.scores(terms)
            total += p.passage_weight * np.maximum.reduceat(per_passage, self.passage_starts)
        defines = self.definitions.scores(question) if p.definition_weight > 0 else None
        if defines is not None:
            total += p.definition_weight * defines
        return total

    def describe(self) -> dict:
        return asdict(self.params)
