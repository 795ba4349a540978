"""The retrieval model, in two stages.

1. **First stage** over every section: BM25-weighted term matching (scikit-learn's ``CountVectorizer``
   for counting; stems, synonym groups) in four fields — title (breadcrumb), body, the best window of
   two sentences, and the section's *example questions* (``knowledge/examples.toml``, matched question to
   question) — plus a definition boost, with typo correction against the indexed vocabulary. Query terms
   are weighted by their specificity and by whether they are in the post's ask (``indexer.query``).
2. **Reranking** of the first stage's top ``rerank_depth`` sections by a linear model over generic
   features (``indexer.rerank``): field scores of the whole post and of its ask, coverage of the
   question's specific terms, heading overlap, example similarity, section length and level, page-level
   aggregates, rank. Its weights are data (``indexer/rerank.json``, refitted by ``make train``).

Shapes: ``n`` sections, ``V`` terms, ``E`` example questions. Field scores are (n,) float arrays in
[0, 1]: the share of the question's weighted terms a section matches.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from indexer.definitions import Definitions
from indexer.model import Section
from indexer.query import ParsedQuery, specificity_table, understand, zipf_table
from indexer.rerank import FIELDS
from indexer.spelling import SpellingCorrector
from indexer.text import Analyzer, Synonyms, content_terms, fold, sentences, words


@dataclass
class RankerParams:
    title_weight: float = 0.15
    body_weight: float = 0.4
    passage_weight: float = 0.25
    passage_lines: int = 2
    definition_weight: float = 0.2
    example_weight: float = 0.3
    k1: float = 1.0
    b_title: float = 0.3
    b_body: float = 0.5
    bigrams: bool = False
    typo_similarity: float = 0.55
    specificity: float = 0.0      # exponent on general-English specificity in the first stage (0: all weigh 1)
    ask_boost: float = 0.5        # an ask term weighs 1 + this in a post of several sentences
    synonym_gap: int = 3          # words allowed inside a multi-word synonym in a question
    rerank_depth: int = 30


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
    """BM25 term weights of one field: a CSC matrix (rows x V) of saturated, length-normalised tf x idf.

    Fitted state (plain data): ``vocabulary`` term -> column, ``idf`` (V,), ``matrix`` (rows, V).
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
        if not texts:
            self.vocabulary, self.idf = {}, np.zeros(0)
            self.matrix = sp.csc_matrix((0, 0))
            return sp.csr_matrix((0, 0))
        vectorizer = CountVectorizer(analyzer=self.analyzer)
        try:
            counts = vectorizer.fit_transform(texts).tocsr().astype(np.float64)
        except ValueError:  # no text has a single term
            counts = sp.csr_matrix((len(texts), 0))
            vectorizer.vocabulary_ = {}
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
        self.matrix = sp.csc_matrix(weighted)
        return counts

    def columns(self, terms) -> np.ndarray:
        vocab = self.vocabulary
        return np.fromiter((vocab[t] for t in terms if t in vocab), dtype=np.int64)

    def _weighted(self, terms) -> tuple[np.ndarray, np.ndarray]:
        """-> (columns, weights) of the known query terms; ``terms`` is a set (weight 1) or term -> weight."""
        vocab = self.vocabulary
        known = [t for t in terms if t in vocab]
        cols = np.fromiter((vocab[t] for t in known), dtype=np.int64, count=len(known))
        if isinstance(terms, dict):
            weights = np.fromiter((terms[t] for t in known), dtype=np.float64, count=len(known))
        else:
            weights = np.ones(len(known))
        return cols, weights

    def postings(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All postings of ``cols`` at once -> (rows, BM25 weights, which of ``cols`` each came from), each
        (P,): a few numpy calls however many terms, instead of a Python loop over columns."""
        matrix = self.matrix
        indptr = matrix.indptr
        lo = indptr[cols]
        lengths = indptr[cols + 1] - lo
        total = int(lengths.sum())
        if not total:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0), empty
        offsets = (lo - lengths.cumsum() + lengths).repeat(lengths) + np.arange(total)   # methods: less overhead
        return matrix.indices[offsets], matrix.data[offsets], np.arange(len(cols)).repeat(lengths)

    def scores(self, terms) -> np.ndarray:
        """Matched weight / the best possible for these query terms -> (rows,) in [0, 1]."""
        cols, weights = self._weighted(terms)
        n = self.matrix.shape[0]
        if not len(cols):
            return np.zeros(n)
        rows, data, which = self.postings(cols)
        total = (self.k1 + 1) * float(self.idf[cols] @ weights)
        out = np.bincount(rows, data * weights[which], minlength=n)
        return out / total if total > 0 else out

    def best_match(self, terms: dict[str, float], divisor: np.ndarray) -> float:
        """How closely the query matches its closest row, as ``Ranker`` matches example questions: the best
        harmonic mean of the share of the query's weighted terms a row matches and the share of the row's own
        weight the query matches -> float in [0, 1] (0 for an empty index). ``divisor``: (rows,) each row's
        total weight, inf for 0 (``_divisor``)."""
        cols, weights = self._weighted(terms)
        if self.matrix is None or not self.matrix.shape[0] or not len(cols):
            return 0.0
        n = self.matrix.shape[0]
        rows, data, which = self.postings(cols)
        total = (self.k1 + 1) * float(self.idf[cols] @ weights)
        asked = np.bincount(rows, data * weights[which], minlength=n) / max(total, 1e-12)
        got = np.bincount(rows, data, minlength=n) / divisor
        return float((2 * asked * got / np.maximum(asked + got, 1e-12)).max())

    def coverage(self, terms) -> np.ndarray:
        """Share of the query's idf x weight each row contains at all (no saturation) -> (rows,)."""
        cols, weights = self._weighted(terms)
        n = self.matrix.shape[0]
        if not len(cols):
            return np.zeros(n)
        rows, _, which = self.postings(cols)
        w = weights * self.idf[cols]
        out = np.bincount(rows, w[which], minlength=n)
        return out / w.sum() if w.sum() > 0 else out


STACKED = ("title", "body", "passages", "heading", "examples", "example_docs")   # Ranker fields, FieldStack order
DERIVED = ("stack", "specificities", "example_runs", "example_divisor", "heading_divisor",   # Ranker attributes
           "outside_divisor")
# computed from the others at fit and load, not stored


class FieldStack:
    """The first-stage fields' postings under one vocabulary, so that a question's postings in every field
    (and for the whole post and its ask) come from one gather, and each kind of sum from one ``bincount``.

    Rows: the fields' rows one after another (title n, body n, passages p, heading n, examples E, example
    docs n; ``STACKED`` order), ``starts`` (F + 1,) the first row of each, R = ``starts[-1]``. Columns:
    ``vocabulary`` term -> column, the union of the fields' U terms. ``names``: field name -> j; ``max_tf``
    (F,): each field's k1 + 1, the most a BM25 weight can be per unit of idf. The postings of column u are
    ``indptr[u]:indptr[u + 1]`` of ``rows`` (stacked row), ``weight`` (the field's BM25 weight) and ``idf``
    (the term's idf in that field), each (nnz,); ``term_idf`` (U, F) is each term's idf in each field (0
    where the field lacks it). Derived from fitted ``FieldIndex``es (plain data, never stored).
    """

    def __init__(self, named: dict[str, FieldIndex]):
        fields = list(named.values())
        self.names = {name: j for j, name in enumerate(named)}   # field name -> its index in ``starts``, ``k1``
        self.max_tf = np.asarray([f.k1 for f in fields], dtype=np.float64) + 1
        vocabulary: dict[str, int] = {}
        for f in fields:
            for term in f.terms:
                vocabulary.setdefault(term, len(vocabulary))
        self.vocabulary = vocabulary
        self.term_idf = np.zeros((len(vocabulary), len(fields)))
        parts, starts = [], [0]
        for j, f in enumerate(fields):
            if f.matrix is not None and f.matrix.shape[1]:
                matrix = sp.csc_matrix(f.matrix)
                to_col = np.fromiter((vocabulary[t] for t in f.terms), dtype=np.int64, count=matrix.shape[1])
                field_col = np.arange(matrix.shape[1]).repeat(np.diff(matrix.indptr))
                parts.append((matrix.indices + starts[-1], to_col[field_col], matrix.data, f.idf[field_col]))
                self.term_idf[to_col, j] = f.idf
            starts.append(starts[-1] + (f.matrix.shape[0] if f.matrix is not None else 0))
        self.starts = np.asarray(starts, dtype=np.int64)
        self.sizes = np.diff(self.starts)
        rows, cols, weight, idf = (np.concatenate(x) for x in zip(*parts)) if parts else (
            np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        order = np.lexsort((rows, cols))
        self.rows, self.weight, self.idf = rows[order].astype(np.int64), weight[order], idf[order]
        self.indptr = np.concatenate([[0], np.bincount(cols, minlength=len(vocabulary)).cumsum()]).astype(np.int64)

    def query(self, passes: list[tuple[dict[str, float], dict[str, float]]]):
        """The known terms of ``m`` weightings (term -> weight, term -> specificity, default 1), each in
        its own order, one after another -> (columns, weights, specificities, which weighting), each (K,)."""
        vocab = self.vocabulary
        cols, weights, specific, owner = [], [], [], []
        for i, (terms, spec) in enumerate(passes):
            known = [t for t in terms if t in vocab]
            cols += [vocab[t] for t in known]
            weights += [terms[t] for t in known]
            specific += [spec.get(t, 1.0) for t in known]
            owner += [i] * len(known)
        return (np.asarray(cols, dtype=np.int64), np.asarray(weights, dtype=np.float64),
                np.asarray(specific, dtype=np.float64), np.asarray(owner, dtype=np.int64))

    def rows_of(self, sums: np.ndarray, name: str) -> np.ndarray:
        """The (m, rows) part of (m, R) sums that is field ``name``'s rows."""
        j = self.names[name]
        return sums[:, self.starts[j]:self.starts[j + 1]]

    def postings(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All postings of ``cols`` (a column may repeat) -> (stacked rows, BM25 weights, idf, which of
        ``cols`` each came from), each (P,), in the order of ``cols`` (``FieldIndex.postings``)."""
        lo = self.indptr[cols]
        lengths = self.indptr[cols + 1] - lo
        total = int(lengths.sum())
        offsets = (lo - lengths.cumsum() + lengths).repeat(lengths) + np.arange(total)
        return self.rows[offsets], self.weight[offsets], self.idf[offsets], np.arange(len(cols)).repeat(lengths)


class Ranker:
    def __init__(self, synonyms: Synonyms, params: RankerParams | None = None):
        self.params = params or RankerParams()
        p = self.params
        analyzer = Analyzer(synonyms, bigrams=p.bigrams)
        self.analyzer = analyzer
        self.title = FieldIndex(analyzer, p.k1, p.b_title)
        self.body = FieldIndex(analyzer, p.k1, p.b_body)
        self.passages = FieldIndex(analyzer, p.k1, p.b_body)
        self.heading = FieldIndex(analyzer, p.k1, 0.0)
        self.examples = FieldIndex(analyzer, p.k1, 0.3)
        self.example_docs = FieldIndex(analyzer, p.k1, p.b_body)   # (n, V) all of a section's examples as one text
        self.example_keys: dict[str, int] = {}             # example_key -> section row (-1: two sections share it)
        self.passage_starts: np.ndarray | None = None
        self.example_owner = np.zeros(0, dtype=np.int64)   # (E,) section row of each example question, non-decreasing
        self.example_count = np.zeros(0, dtype=np.int64)   # (n,) example questions per section
        self.example_approved = np.zeros(0, dtype=bool)    # (E,) approved from use (else written by the team)
        self.outside = FieldIndex(analyzer, p.k1, 0.3)      # (O, V) the team's out-of-scope example questions
        self.outside_keys: set[str] = set()                # example_key of each of them
        self.example_totals = np.zeros(0)                  # (E,) BM25 weight of each example question
        self.heading_total = np.zeros(0)                   # (n,) idf sum of each heading's terms
        self.page_starts = np.zeros(0, dtype=np.int64)     # (P,) first row of each run of one page
        self.page_of = np.zeros(0, dtype=np.int64)         # (n,) which run
        self.static = np.zeros((0, 0))                     # (n, S) section features that do not depend on a question
        self.zipf: dict[str, float] = {}                   # stem -> general-English Zipf frequency
        self.definitions = Definitions()
        self.spelling = SpellingCorrector(min_similarity=p.typo_similarity)
        self.rerank_model: dict | None = None              # indexer.rerank weights (plain data)
        self.stack: FieldStack | None = None               # the fields stacked for scoring (derived, not stored)
        self.specificities: dict[str, float] = {}          # stem -> specificity of its Zipf frequency (derived)
        self.example_runs = (np.zeros(0, dtype=np.int64),) * 2   # (sections with examples, first example of each)
        self.example_divisor = np.zeros(0)                 # (E,) example_totals, inf for 0 (x / inf = 0; derived)
        self.heading_divisor = np.zeros(0)                 # (n,) heading_total, the same

    @property
    def vocabulary(self) -> dict[str, int]:
        return self.body.vocabulary

    @property
    def n_sections(self) -> int:
        return self.body.matrix.shape[0] if self.body.matrix is not None else 0

    def fit(self, sections: list[Section], examples: list[tuple[int, str]] = (),
            rerank_model: dict | None = None, approved: list[tuple[int, str]] = (),
            outside: list[str] = ()) -> Ranker:
        """Fit on ``sections``; ``examples``: (section row, example question) pairs the team wrote;
        ``approved``: pairs approved from use (indexed with them, and also scored on their own: the
        ``approved`` field); ``rerank_model``: the reranker's weights (``indexer.rerank.load_model()``), or
        None for the first stage alone; ``outside``: questions the team wrote that the handbook does not answer
        (``Ranker.outside_match``)."""
        from indexer.rerank import static_features

        titles = [title_field(s) for s in sections]
        bodies = [body_field(s) for s in sections]
        self.title.fit_transform_counts(titles)
        self.body.fit_transform_counts(bodies)
        if self.params.passage_weight > 0:
            texts, owners = passage_windows(sections, self.params.passage_lines)
            self.passages.fit_transform_counts(texts)
            self.passage_starts = np.searchsorted(owners, np.arange(len(sections)))
        self.heading.fit_transform_counts([s.heading for s in sections])
        pattern = self.heading.matrix.copy()
        pattern.data = np.ones_like(pattern.data)
        self.heading_total = np.asarray((pattern @ sp.diags(self.heading.idf)).sum(axis=1)).ravel()
        tagged = sorted([(r, t, False) for r, t in examples] + [(r, t, True) for r, t in approved])
        examples = [(r, t) for r, t, _ in tagged]
        self.examples.fit_transform_counts([t for _, t in examples])
        self.outside.fit_transform_counts(list(outside))
        self.outside_keys = {key for key in map(example_key, outside) if key}
        self.example_owner = np.asarray([r for r, _ in examples], dtype=np.int64)
        self.example_approved = np.asarray([a for _, _, a in tagged], dtype=bool)
        self.example_count = np.bincount(self.example_owner[~self.example_approved],
                                         minlength=len(sections)).astype(np.int64)
        self.example_totals = np.asarray(self.examples.matrix.sum(axis=1)).ravel() if examples else np.zeros(0)
        joined = [[] for _ in sections]
        for row, text, from_use in tagged:   # the team's only: approved questions are a field of their own
            if not from_use:
                joined[row].append(text)
        self.example_docs.fit_transform_counts(["\n".join(t) for t in joined])
        self.example_keys = {}
        for row, text in examples:
            key = example_key(text)
            if key:
                self.example_keys[key] = row if self.example_keys.get(key, row) == row else -1
        pages = [s.page_url for s in sections]
        starts = [i for i in range(len(pages)) if i == 0 or pages[i] != pages[i - 1]]
        self.page_starts = np.asarray(starts, dtype=np.int64)
        self.page_of = np.searchsorted(self.page_starts, np.arange(len(sections)), side="right") - 1
        self.static = static_features(sections, self.page_starts)
        surface = {w for t in titles + bodies for w in words(t)}   # one pass, shared by both tables
        self.zipf = zipf_table(surface | {w for _, t in examples for w in words(t)})
        self.definitions.fit(sections)
        self.spelling.fit_words(surface)
        self.rerank_model = rerank_model
        self._derive()
        return self

    # ------------------------------------------------------------------------------- questions
    def prepare(self, question: str) -> tuple[str, dict[str, str]]:
        """-> (question with typo corrections appended, {typo: correction})."""
        return self.spelling.correct(question)

    def understand(self, question: str) -> tuple[ParsedQuery, dict[str, str]]:
        """-> (ParsedQuery of the question with its typos corrected in place, {typo: correction})."""
        _, fixes = self.prepare(question)
        text = question
        if fixes:
            text = " ".join(_fix_word(tok, fixes) for tok in question.split(" "))
        p = self.params
        return understand(text, self.analyzer, self.zipf, p.ask_boost, p.specificity, p.synonym_gap,
                          self.specificities), fixes

    def query_terms(self, prepared: str) -> set[str]:
        return set(self.analyzer(prepared, self.params.synonym_gap))

    # ------------------------------------------------------------------------------- scoring
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in DERIVED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._derive()

    def _derive(self) -> None:
        """The query-time forms of the fitted state (``DERIVED``): rebuilt on load, never stored."""
        self.stack = FieldStack({name: getattr(self, name) for name in STACKED})
        self.specificities = specificity_table(self.zipf)
        owners = np.unique(self.example_owner)   # example_owner is non-decreasing: one run per section with examples
        self.example_runs = (owners, np.searchsorted(self.example_owner, owners))
        self.example_divisor = _divisor(self.example_totals)
        matrix = self.outside.matrix
        self.outside_divisor = _divisor(np.asarray(matrix.sum(axis=1)).ravel() if matrix is not None else np.zeros(0))
        self.heading_divisor = _divisor(self.heading_total)

    def field_scores(self, query: ParsedQuery) -> dict[str, np.ndarray]:
        """Every field's (n,) scores for the whole post (``title``, ``body``, ...) and for its ask
        (``ask_title``, ...; the same arrays when the ask is the whole post), and the definition boost."""
        passes = [(query.terms, query.specific)]
        if len(query.ask) < len(query.sentences):
            passes.append((query.ask_terms, query.ask_specific))
        scores = self._stacked_scores(passes)
        out = {}
        for name in FIELDS:
            out[name], out["ask_" + name] = scores[name][0], scores[name][-1]
        out["definition"] = self._definition_scores(query)
        return out

    def _definition_scores(self, query: ParsedQuery) -> np.ndarray:
        """The definition boost of the post's ask sentences (the best of them) -> (n,)."""
        defines = np.zeros(self.n_sections)
        if self.params.definition_weight > 0:
            for i in query.ask or (0,):
                sentence = query.sentences[i] if query.sentences else query.text
                found = self.definitions.scores(sentence)
                if found is not None:
                    defines = np.maximum(defines, found)
        return defines

    def _stacked_scores(self, passes: list[tuple[dict[str, float], dict[str, float]]]) -> dict[str, np.ndarray]:
        """The ``FIELDS`` scores of ``m`` term weightings at once (``passes``: (term -> weight, term ->
        general-English specificity) pairs; the whole post, then its ask) -> name -> (m, n).

        One gather of the postings of every pass's terms in every field (``FieldStack.postings``), one
        ``bincount`` per kind of sum, each row's contributions added in the order of its pass's terms,
        as a loop over the fields and passes would (``tests/test_search_speedups.py`` has that loop)."""
        stack, m = self.stack, len(passes)
        cols, weights, specific, owner = stack.query(passes)
        rows, weight, idf, which = stack.postings(cols)
        size = stack.starts[-1]
        bins = rows + size * owner[which]
        w = weights[which]

        def summed(values: np.ndarray) -> np.ndarray:   # (m, R): each row's sum of a per-posting value
            return np.bincount(bins, values, minlength=m * size).reshape(m, size)

        bm25, cover, specific_cover = summed(weight * w), summed(idf * w), summed(idf * specific[which])
        # (m, F): the best possible sum of each pass in each field (its terms' idf x weight), and the same
        # with specificity in place of the weight
        pass_of = np.zeros((2 * m, len(cols)))
        pass_of[owner, np.arange(len(cols))] = weights
        pass_of[m + owner, np.arange(len(cols))] = specific
        best = pass_of @ stack.term_idf[cols]
        best_weight, best_specific = best[:m], best[m:]
        # BM25 share of the best possible in every row at once (FieldIndex.scores); a field none of the terms
        # is in has no matches (0 / 1e-12 = 0), a known term's best is far above 1e-12 (idf, weight > 0)
        shares = bm25 / np.repeat(np.maximum(stack.max_tf * best_weight, 1e-12), stack.sizes, axis=1)
        body = stack.names["body"]
        out = {"title": stack.rows_of(shares, "title"), "example_doc": stack.rows_of(shares, "example_docs"),
               "body": stack.rows_of(shares, "body"),
               "coverage": stack.rows_of(cover, "body") / np.maximum(best_weight[:, body], 1e-12)[:, None],
               "specific": stack.rows_of(specific_cover, "body") / np.maximum(best_specific[:, body], 1e-12)[:, None],
               "heading": self._heading_overlap(stack.rows_of(summed(idf), "heading")),
               **self._example_scores(stack.rows_of(shares, "examples"), stack.rows_of(summed(weight), "examples"))}
        if self.passage_starts is not None:
            out["passage"] = np.maximum.reduceat(stack.rows_of(shares, "passages"), self.passage_starts, axis=1)
        else:
            out["passage"] = np.zeros((m, self.n_sections))
        return out

    def _example_scores(self, asked: np.ndarray, got: np.ndarray) -> dict[str, np.ndarray]:
        """Best example question the team wrote of each section (``example``), and best question approved from
        use (``approved``): the
        harmonic mean of the share of the question's weighted terms it matches and the share of its own
        terms the question matches -> name -> (m, n). ``asked``: (m, E) BM25 share of the question's
        weighted terms, ``got``: (m, E) matched BM25 weight."""
        out = np.zeros((len(asked), self.n_sections))
        approved = np.zeros_like(out)
        if not asked.shape[1]:
            return {"example": out, "approved": approved}
        matched = got / self.example_divisor
        sim = 2 * asked
        sim *= matched
        sim /= np.maximum(asked + matched, 1e-12)   # 0 where neither matches (both are >= 0)
        owners, starts = self.example_runs
        if self.example_approved.any():
            out[:, owners] = np.maximum.reduceat(sim * ~self.example_approved, starts, axis=1)
            approved[:, owners] = np.maximum.reduceat(sim * self.example_approved, starts, axis=1)
        else:
            out[:, owners] = np.maximum.reduceat(sim, starts, axis=1)
        return {"example": out, "approved": approved}

    def _heading_overlap(self, idf_sums: np.ndarray) -> np.ndarray:
        """Share of each heading's idf that the question's terms cover, from the (m, n) idf sums of the
        terms each heading contains -> (m, n)."""
        return idf_sums / self.heading_divisor

    def outside_match(self, query: ParsedQuery) -> float:
        """How closely the question (a post's ask) matches the closest out-of-scope example question -> [0, 1]."""
        terms = query.ask_terms if len(query.ask) < len(query.sentences) else query.terms
        return self.outside.best_match(terms, self.outside_divisor)

    def is_outside_example(self, question: str, key: str | None = None) -> bool:
        """Whether the question is one of the team's out-of-scope example questions, word for word up to stop
        words, word order and inflection (``example_key``; ``key``: the question's, when already known)."""
        return bool(self.outside_keys) and (key if key is not None else example_key(question)) in self.outside_keys

    def example_match(self, question: str, key: str | None = None) -> int | None:
        """The section whose example question this question is, word for word up to stop words, word
        order and inflection (``example_key``; ``key``: the question's, when already known); None when there is
        none or two sections claim it."""
        if not self.example_keys:
            return None
        row = self.example_keys.get(key if key is not None else example_key(question), -1)
        return row if row >= 0 else None

    def first_stage(self, fields: dict[str, np.ndarray]) -> np.ndarray:
        """Field-weighted first-stage score of every section -> (n,)."""
        p = self.params
        return (p.title_weight * fields["title"] + p.body_weight * fields["body"]
                + p.passage_weight * fields["passage"] + p.definition_weight * fields["definition"]
                + p.example_weight * fields["example"])

    def scores(self, question: str, prepared: str | None = None) -> np.ndarray:
        """First-stage score of every section for a question -> (n,) floats."""
        query, _ = self.understand(question)
        return self.first_stage(self.field_scores(query))

    def describe(self) -> dict:
        return asdict(self.params)


def _divisor(totals: np.ndarray) -> np.ndarray:
    """``totals`` with its zeros made infinite: dividing a sum >= 0 by it gives 0 where the total is 0, as
    ``np.divide(..., where=totals > 0)`` into zeros would."""
    return np.where(totals > 0, totals, np.inf)


def example_key(text: str) -> str:
    """The distinct content stems of a question, sorted: two phrasings with the same key ask the same
    thing in the same words ("How do I publish a dataset?" and "publishing datasets, how?")."""
    return " ".join(sorted(set(content_terms(text))))


def _fix_word(token: str, fixes: dict[str, str]) -> str:
    """A whitespace-separated token with its misspelt word replaced (punctuation kept)."""
    folded = fold(token)
    for typo in fixes:   # a word of the token is a substring of its folded text
        if typo in folded:
            break
    else:
        return token
    found = words(token)
    if len(found) == 1 and found[0] in fixes:
        return token.lower().replace(found[0], fixes[found[0]])
    return token
