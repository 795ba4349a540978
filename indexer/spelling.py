"""Typo tolerance: map a question word the handbook never uses to the closest word it does use,
by cosine similarity of character n-grams (``gatway`` -> ``gateway``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from indexer.text import STOP_WORDS, stem, words

CACHE_WORDS = 4096   # corrections remembered per corrector (word -> fix); emptied when full
BATCH_CELLS = 1 << 20   # words x vocabulary similarities computed at once (memory bound)
_UNSEEN = object()


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
        return self.correct_words([word])[0]

    def _unknown(self, word: str) -> bool:
        """A word worth looking up: long enough, letters only, and not a known word's stem."""
        return self._matrix is not None and len(word) >= self.min_length and word.isalpha() and not self.known(word)

    def correct_words(self, found: list[str]) -> list[str | None]:
        """``correct_word`` of each word; the unknown words not remembered are looked up together."""
        memo, got, todo = self._memo, {}, []
        for w in found:
            if w not in got:
                fixed = memo.get(w, _UNSEEN)   # one read: another thread may empty the memory meanwhile
                if fixed is _UNSEEN and self._unknown(w):
                    todo.append(w)
                got[w] = None if fixed is _UNSEEN else fixed
        if todo:
            looked_up = dict(zip(todo, self._closest(todo)))
            got.update(looked_up)
            if len(memo) + len(looked_up) > CACHE_WORDS:
                memo.clear()
            if len(looked_up) <= CACHE_WORDS:
                memo.update(looked_up)
        return [got[w] for w in found]

    def _closest(self, found: list[str]) -> list[str | None]:
        """The closest vocabulary word of each word (or None): cosine similarity of character n-gram
        tf-idf vectors. All words' n-gram postings are summed in one ``bincount`` (each word's in the
        same order as a loop over its n-grams would), in batches of at most ``BATCH_CELLS`` similarities."""
        out: list[str | None] = [None] * len(found)
        looked, cols, weights, lengths = self._vectors(found)
        starts = [0, *itertools.accumulate(lengths)]
        step = max(1, BATCH_CELLS // max(len(self.vocabulary), 1))
        for b in range(0, len(looked), step):
            batch = looked[b:b + step]
            lo, hi = starts[b], starts[b + len(batch)]
            owner = np.arange(len(batch)).repeat(lengths[b:b + len(batch)])
            sims = self._similarities(cols[lo:hi], weights[lo:hi], owner, len(batch))
            best = sims.max(axis=1)
            for k, r in enumerate(batch):
                if best[k] >= self.min_similarity:   # else no word is close enough (most unknown words)
                    out[r] = self._pick(found[r], sims[k])
        return out

    def _vectors(self, found: list[str]) -> tuple[list[int], np.ndarray, np.ndarray, list[int]]:
        """The words' L2-normalised n-gram tf-idf vectors, one after another -> (which words have an indexed
        n-gram, their n-gram columns (K,), weights (K,), each word's count of n-grams). Each word's columns
        are in order of first occurrence; the arithmetic is elementwise, and each norm a ``dot`` of the
        word's own weights, as one word at a time would compute them."""
        vocab = self.grams
        counted: list[dict[int, int]] = []
        for word in found:
            padded = f" {word} "
            grams: dict[int, int] = {}
            for n in (2, 3):
                for i in range(len(padded) - n + 1):
                    col = vocab.get(padded[i:i + n])
                    if col is not None:
                        grams[col] = grams.get(col, 0) + 1
            counted.append(grams)
        looked = [r for r, grams in enumerate(counted) if grams]
        lengths = [len(counted[r]) for r in looked]
        total = sum(lengths)
        cols = np.fromiter((c for r in looked for c in counted[r]), dtype=np.int64, count=total)
        counts = np.fromiter((k for r in looked for k in counted[r].values()), dtype=np.float64, count=total)
        weights = (1.0 + np.log(counts)) * self.gram_idf[cols]
        norms, at = [], 0
        for length in lengths:
            own = weights[at:at + length]
            norms.append(math.sqrt(float(own.dot(own))))   # np.linalg.norm without its overhead
            at += length
        weights /= np.repeat(norms, lengths)
        return looked, cols, weights, lengths

    def _similarities(self, cols: np.ndarray, weights: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
        """(count, W) similarities of ``count`` words from their n-gram columns and weights (owner: word)."""
        matrix, size = self._matrix, len(self.vocabulary)   # CSR, grams x words
        lo = matrix.indptr[cols]
        lengths = matrix.indptr[cols + 1] - lo
        ends = lengths.cumsum()
        at = (lo - ends + lengths).repeat(lengths) + np.arange(int(ends[-1]) if len(ends) else 0)
        cells = (owner * size).repeat(lengths) + matrix.indices[at]
        sims = np.bincount(cells, weights.repeat(lengths) * matrix.data[at], minlength=count * size)
        return sims.reshape(count, size)

    def _pick(self, word: str, sims: np.ndarray) -> str | None:
        """Of the (at most five) most similar words at or above ``min_similarity``, best first, the first
        that keeps the typo's first letter or contains it."""
        above = np.flatnonzero(sims >= self.min_similarity)
        if len(above) <= 5 and len(set(sims[above].tolist())) == len(above):
            ranked = above[np.argsort(-sims[above])]   # the same five, in the one order without ties
        else:
            top = np.argpartition(-sims, min(5, len(sims) - 1))[:5]
            ranked = top[np.argsort(-sims[top])]
        for i in ranked:
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
        found = [w for w in words(text) if w not in STOP_WORDS]
        fixes = {w: fixed for w, fixed in zip(found, self.correct_words(found)) if fixed}
        if not fixes:
            return text, {}
        return text + " " + " ".join(fixes.values()), fixes
