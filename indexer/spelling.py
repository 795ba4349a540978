"""Typo tolerance: map a question word the handbook never uses to the closest word it does use,
by cosine similarity of character n-grams (``gatway`` -> ``gateway``)."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from indexer.text import STOP_WORDS, stem, words

CACHE_WORDS = 4096   # corrections remembered per corrector (word -> fix); emptied when full


class SpellingCorrector:
    """Fitted state (plain data): ``vocabulary`` (W,) words; ``grams`` character n-gram -> row and
    ``gram_idf`` (G,); ``matrix`` (G, W) CSR of the words' L2-normalised tf-idf n-gram weights.
    scikit-learn's ``TfidfVectorizer`` computes them in ``fit`` and is not kept.

    ``correct_word`` remembers its answers (at most ``CACHE_WORDS``, emptied by ``fit``): a pure function
    of the fitted state and the word. The memory is not part of the stored state."""

    def __init__(self, min_similarity: float = 0.55, min_length: int = 4):
        self.min_similarity = min_similarity
        self.min_length = min_length
        self.vocabulary: list[str] = []
        self._known_stems: set[str] = set()
        self.grams: dict[str, int] = {}
        self.gram_idf: np.ndarray | None = None
        self._matrix = None
        self._memo: dict[str, str | None] = {}

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_memo"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._memo = {}

    def fit(self, texts) -> SpellingCorrector:
        return self.fit_words({w for t in texts for w in words(t)})

    def fit_words(self, surface: set[str]) -> SpellingCorrector:
        """Fit on the set of word tokens (``indexer.text.words``) of the indexed texts."""
        vocab = sorted(w for w in surface if w.isalpha() and len(w) >= self.min_length and w not in STOP_WORDS)
        self._memo = {}
        self.vocabulary = vocab
        self._known_stems = {stem(w) for w in surface}
        if vocab:
            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
            self._matrix = vectorizer.fit_transform(vocab).T.tocsr()
            self.grams = {str(g): int(c) for g, c in vectorizer.vocabulary_.items()}
            self.gram_idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        return self

    def known(self, word: str) -> bool:
        return stem(word) in self._known_stems

    def correct_word(self, word: str) -> str | None:
        """Closest vocabulary word for an unknown ``word``, or None."""
        if self._matrix is None or len(word) < self.min_length or not word.isalpha() or self.known(word):
            return None
        memo = self._memo
        if word in memo:
            return memo[word]
        fixed = self._closest(word)
        if len(memo) >= CACHE_WORDS:
            memo.clear()
        memo[word] = fixed
        return fixed

    def _closest(self, word: str) -> str | None:
        vocab, idf = self.grams, self.gram_idf
        padded = f" {word} "
        grams: dict[int, int] = {}
        for n in (2, 3):
            for i in range(len(padded) - n + 1):
                col = vocab.get(padded[i:i + n])
                if col is not None:
                    grams[col] = grams.get(col, 0) + 1
        if not grams:
            return None
        cols = np.fromiter(grams, dtype=np.int64)
        weights = (1.0 + np.log(np.fromiter(grams.values(), dtype=np.float64))) * idf[cols]
        weights /= np.linalg.norm(weights)
        matrix = self._matrix  # CSR, grams x words
        # All n-grams' postings at once; bincount adds them in the same order as a loop over ``cols``.
        lo, hi = matrix.indptr[cols], matrix.indptr[cols + 1]
        lengths = hi - lo
        at = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        sims = np.bincount(matrix.indices[at], np.repeat(weights, lengths) * matrix.data[at],
                           minlength=len(self.vocabulary))
        top = np.argpartition(-sims, min(5, len(sims) - 1))[:5]
        for i in top[np.argsort(-sims[top])]:
            candidate = self.vocabulary[int(i)]
            if sims[i] < self.min_similarity:
                break
            # Typos rarely change the first letter ("night" is not "right"); a part of a compound is
            # fine anywhere ("sync" -> "datasync").
            if candidate[0] == word[0] or word in candidate:
                return candidate
        return None

    def correct(self, text: str) -> tuple[str, dict[str, str]]:
        """-> (text with corrected words appended, {typo: correction})."""
        fixes = {}
        for w in words(text):
            if w in STOP_WORDS or w in fixes:
                continue
            fixed = self.correct_word(w)
            if fixed:
                fixes[w] = fixed
        if not fixes:
            return text, {}
        return text + " " + " ".join(fixes.values()), fixes
