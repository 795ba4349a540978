"""The retrieval model: field-weighted TF-IDF (scikit-learn) with synonyms, stems, bigrams,
typo correction and an LSA component for paraphrase.

Shapes: ``n`` sections; ``scores(question)`` -> float array of shape (n,), in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from indexer.model import Section
from indexer.spelling import SpellingCorrector
from indexer.text import Analyzer, Synonyms


@dataclass
class RankerParams:
    title_weight: float = 0.35
    body_weight: float = 0.45
    lsa_weight: float = 0.20
    lsa_components: int = 150
    bigrams: bool = True
    typo_similarity: float = 0.55


def title_field(section: Section) -> str:
    return " ".join(section.breadcrumb)


def body_field(section: Section) -> str:
    return section.heading + "\n" + section.text


class Ranker:
    def __init__(self, synonyms: Synonyms, params: RankerParams | None = None):
        self.params = params or RankerParams()
        self.synonyms = synonyms
        analyzer = Analyzer(synonyms, bigrams=self.params.bigrams)
        self.title_vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True)
        self.body_vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True)
        self.spelling = SpellingCorrector(min_similarity=self.params.typo_similarity)
        self.svd: TruncatedSVD | None = None
        self.title_matrix = self.body_matrix = self.lsa_matrix = None

    def fit(self, sections: list[Section]) -> Ranker:
        titles = [title_field(s) for s in sections]
        bodies = [body_field(s) for s in sections]
        self.title_matrix = self.title_vec.fit_transform(titles).tocsc()
        body = self.body_vec.fit_transform(bodies)
        self.body_matrix = body.tocsc()
        self.spelling.fit(titles + bodies)
        k = min(self.params.lsa_components, body.shape[0] - 1, body.shape[1] - 1)
        if self.params.lsa_weight > 0 and k >= 2:
            self.svd = TruncatedSVD(n_components=k, random_state=0)
            self.lsa_matrix = normalize(self.svd.fit_transform(body)).astype(np.float32)
        return self

    def prepare(self, question: str) -> tuple[str, dict[str, str]]:
        return self.spelling.correct(question)

    def scores(self, question: str) -> np.ndarray:
        text, _ = self.prepare(question)
        p = self.params
        qt = self.title_vec.transform([text])
        qb = self.body_vec.transform([text])
        total = p.title_weight * _cosine(self.title_matrix, qt) + p.body_weight * _cosine(self.body_matrix, qb)
        if self.svd is not None and p.lsa_weight > 0 and qb.nnz:
            ql = normalize(self.svd.transform(qb)).astype(np.float32).ravel()
            total += p.lsa_weight * np.clip(self.lsa_matrix @ ql, 0.0, None)
        return total

    def describe(self) -> dict:
        return asdict(self.params)


def _cosine(matrix, query) -> np.ndarray:
    """Rows of ``matrix`` (n x V, L2-normalised, CSC) dot a 1 x V query -> dense (n,)."""
    if query.nnz == 0:
        return np.zeros(matrix.shape[0], dtype=np.float64)
    return np.asarray((matrix @ query.T).todense()).ravel()
