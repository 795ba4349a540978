"""The index artifact: fit, save (atomically), load (verified), search.

An index is a folder::

    meta.json       format name and version, build time, sources (with git commit), counts,
                    parameters, sha256 of the other files
    sections.json   the sections, in index order
    ranker.json     the fitted ranker's state as a JSON tree (``indexer.state``) ...
    ranker.npz      ... and its numpy arrays (vocabulary weights, sparse matrices), read with
                    ``allow_pickle=False``

No pickle: loading runs no code from the folder and does not depend on the scikit-learn or numpy
version that wrote it. Format 2 (a pickled ``model.pkl``) is refused with the rebuild command.

It is written to a temporary sibling folder and swapped into place (``indexer.swap``), so a reader
never sees a half-written index; the index it replaced is kept as ``<dir>.previous``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer import state
from indexer.errors import IndexLoadError
from indexer.model import Hit, Query, SearchResult, Section
from indexer.passages import Unit, best_passage, section_units
from indexer.query import ParsedQuery, is_group, specificity
from indexer.ranker import Ranker, RankerParams, example_key
from indexer.rerank import candidate_features, load_model, logits
from indexer.swap import swap_in
from indexer.text import STOP_WORDS, Synonyms, content_terms, stem, words

FORMAT = "handbook-bot index"
FORMAT_VERSION = 7  # bump when the sections' fields or the meaning of the ranker's state change
TYPO_EVIDENCE_SIMILARITY = 0.8  # spelling ratio for a typo fix to count as its correction in Query.terms
WARM_LIMIT = 20_000  # indexes up to this many sections split their passages at load, not on first query
_FILES = ("sections.json", "ranker.json", "ranker.npz")


@dataclass
class Index:
    sections: list[Section]
    ranker: Ranker
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, sections: list[Section], synonyms: Synonyms, params: RankerParams | None = None,
            meta: dict | None = None, examples: list[tuple[int, str]] = (),
            rerank_model: dict | None | str = "default", approved: list[tuple[int, str]] = (),
            outside: list[str] = ()) -> Index:
        """``examples``: (section row, example question) pairs the team wrote, ``approved``: pairs approved
        from use (``indexer.examples``); ``rerank_model``: the reranker's weights, "default" for
        ``indexer/rerank.json``, None for the first stage alone."""
        if isinstance(rerank_model, str):
            rerank_model = load_model()
        ranker = Ranker(synonyms, params).fit(sections, examples, rerank_model, approved, outside)
        meta = dict(meta or {})
        meta.setdefault("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        meta["format"] = FORMAT
        meta["format_version"] = FORMAT_VERSION
        meta["sections"] = len(sections)
        meta["pages"] = len({s.page_url for s in sections})
        meta["examples"] = len(examples) + len(approved)
        meta["out_of_scope_examples"] = len(outside)
        meta["params"] = ranker.describe()
        meta["reranker"] = None if rerank_model is None else dict(rerank_model.get("fitted", {}))
        return cls(sections, ranker, meta)

    # -------------------------------------------------------------------------------- search
    def search(self, question: str, k: int = 5) -> SearchResult:
        """Top ``k`` sections for ``question``, best first, each with its best passage and content stems,
        together with what was understood of the question (``SearchResult.query``).

        The first stage scores every section (``Ranker.first_stage``); the reranker orders its top
        ``rerank_depth`` (``indexer.rerank``). ``Hit.score`` is the first-stage score of the section's
        own text (the share of the question's weighted terms it matches, field-weighted, comparable
        between questions; example questions rank a section but are not evidence that its text
        answers); ``Hit.relevance`` is the reranker's share (softmax over the candidates): how sure it
        is that this one, rather than another candidate, is the section that answers."""
        if not self.sections or not question.strip():
            return SearchResult(Query(question))
        parsed, fixes = self.ranker.understand(question)
        query = self._understand(question, fixes, parsed)
        ranker = self.ranker
        fields = ranker.field_scores(parsed)
        first = ranker.first_stage(fields)
        text_score = first - ranker.params.example_weight * fields["example"]
        depth = min(max(k, ranker.params.rerank_depth), len(first))
        cand = np.argpartition(-first, depth - 1)[:depth]
        cand = cand[np.argsort(-first[cand], kind="stable")]
        cand = cand[first[cand] > 0]
        relevance = None
        if ranker.rerank_model is not None and len(cand):
            z = logits(ranker.rerank_model, candidate_features(ranker, parsed, fields, first, cand))
            order = np.argsort(-z, kind="stable")
            cand, z = cand[order], z[order]
            relevance = np.exp(z - z[0])
            relevance /= relevance.sum()
        key = example_key(question)
        matched = ranker.example_match(question, key)
        if matched is not None:   # an example question asked again: its section leads, whatever the scores
            own = cand == matched
            if relevance is not None:
                relevance = np.concatenate([relevance[own] if own.any() else [0.0], relevance[~own]])
            cand = np.concatenate([[matched], cand[~own]])
        asked = parsed.ask_terms if query.is_post else parsed.terms
        terms = {t for t in asked if not is_group(t)}
        idf = self._bm25_idf()
        hits = []
        for j, i in enumerate(map(int, cand[:k])):
            md, plain = best_passage(self._units(i), terms, idf)
            hits.append(Hit(self.sections[i], float(text_score[i]), md, plain, i, self._section_terms(i),
                            None if relevance is None else float(relevance[j]), i == matched))
        return SearchResult(query, tuple(hits), ranker.outside_match(parsed), float(fields["ask_example"].max()),
                            matched is None and ranker.is_outside_example(question, key))

    def _understand(self, question: str, fixes: dict[str, str], parsed: ParsedQuery) -> Query:
        """The question's content stems, which of them the indexed text knows, their smoothed idf and
        general-English specificity, and the post's ask. A word the typo corrector fixed with a near-identical
        spelling counts as its correction, so a typo is not unknown; a real word the handbook lacks
        ("choropleth") stays unknown."""
        near = {w: f for w, f in fixes.items() if _similar_spelling(w, f)}
        terms = tuple(dict.fromkeys(stem(near.get(w, w)) for w in words(parsed.text) if w not in STOP_WORDS))
        body, title = self.ranker.vocabulary, self.ranker.title.vocabulary
        idf, unseen = self._smoothed_idf(), smoothed_idf(len(self.sections), 0)
        zipf = self.ranker.zipf
        return Query(question, terms, frozenset(t for t in terms if t in body or t in title),
                     {t: idf.get(t, unseen) for t in terms}, dict(fixes), parsed.sentences, parsed.ask,
                     {t: specificity(zipf.get(t, 0.0)) for t in terms})

    # Two idfs of one document frequency (how many sections' body text uses a term), each for its reader:
    # the BM25 idf the ranker weighs the body with picks the passage, so the passage shown is the part of
    # the section that made it rank; the smoothed idf weighs the question's terms in the decision's
    # coverage shares (``Query.weights``), where every term counts at least 1 and a term no section uses
    # counts most (BM25 gives a term every section uses about 0). The hand-off model is fitted on shares
    # computed with the smoothed idf (bot/decision/params.json).
    def _smoothed_idf(self) -> dict[str, float]:
        """term -> ``smoothed_idf`` over the sections' body text (``Query.weights``)."""
        if "_smoothed_idf_cache" not in self.__dict__:
            n, df = len(self.sections), np.diff(self.ranker.body.matrix.tocsc().indptr).tolist()
            self._smoothed_idf_cache = {t: smoothed_idf(n, d) for t, d in zip(self.ranker.body.terms, df)}
        return self._smoothed_idf_cache

    def _bm25_idf(self) -> dict[str, float]:
        """term -> the body field's BM25 idf, ``log(1 + (n - df + 0.5) / (df + 0.5))`` (``FieldIndex.idf``):
        the weights ``best_passage`` gives the question's terms."""
        if "_bm25_idf_cache" not in self.__dict__:
            body = self.ranker.body
            self._bm25_idf_cache = dict(zip(body.terms, body.idf))
        return self._bm25_idf_cache

    def _section_terms(self, i: int) -> frozenset[str]:
        cache = self.__dict__.setdefault("_terms_cache", {})
        if i not in cache:
            s = self.sections[i]
            cache[i] = frozenset(content_terms(" ".join(s.breadcrumb) + "\n" + s.heading + "\n" + s.text))
        return cache[i]

    def _units(self, i: int) -> list[Unit]:
        cache = self.__dict__.setdefault("_units_cache", {})
        if i not in cache:
            cache[i] = section_units(self.sections[i])
        return cache[i]

    # -------------------------------------------------------------------------------- files
    def save(self, out_dir: str | Path) -> Path:
        """Write atomically to ``out_dir``: a temp folder, then swapped in; an index already there is
        kept as ``<out_dir>.previous``. Returns the folder. (``indexer.build.build`` decides whether
        ``out_dir`` may be replaced at all.)"""
        out_dir = Path(out_dir).resolve()
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
        try:
            (tmp / "sections.json").write_text(
                json.dumps([s.to_json() for s in self.sections], ensure_ascii=False), encoding="utf-8")
            state.save(self.ranker, tmp / "ranker.json", tmp / "ranker.npz")
            meta = dict(self.meta, checksums={n: _sha256(tmp / n) for n in _FILES})
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
            for name in (*_FILES, "meta.json"):
                with open(tmp / name, "rb") as f:
                    os.fsync(f.fileno())
            swap_in(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.meta = meta
        return out_dir

    @classmethod
    def load(cls, index_dir: str | Path) -> Index:
        """Load and verify an index folder. Raises IndexLoadError with a clear message."""
        index_dir = Path(index_dir)
        meta_path = index_dir / "meta.json"
        if not meta_path.is_file():
            raise IndexLoadError(f"no index at {index_dir} (meta.json missing); run: python -m indexer build")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise IndexLoadError(f"corrupt index at {index_dir}: meta.json unreadable ({exc})") from None
        _check_format(index_dir, meta)
        for name, digest in (meta.get("checksums") or {}).items():
            path = index_dir / name
            if not path.is_file() or _sha256(path) != digest:
                raise IndexLoadError(f"corrupt index at {index_dir}: {name} is missing or does not match its checksum")
        try:
            sections = [Section.from_json(d) for d in json.loads((index_dir / "sections.json").read_text("utf-8"))]
        except Exception as exc:
            raise IndexLoadError(f"corrupt index at {index_dir}: sections.json: {type(exc).__name__}: {exc}") from None
        try:
            ranker = state.load(index_dir / "ranker.json", index_dir / "ranker.npz")
        except Exception as exc:
            raise IndexLoadError(f"corrupt index at {index_dir}: ranker.json/ranker.npz: "
                                 f"{type(exc).__name__}: {exc}") from None
        if not isinstance(ranker, Ranker) or getattr(ranker, "n_sections", None) != len(sections):
            raise IndexLoadError(f"corrupt index at {index_dir}: model and sections disagree")
        index = cls(sections, ranker, meta)
        try:  # state written by other code can load yet fail on first use: find out now
            index.search("open data", 1)
        except Exception as exc:
            raise IndexLoadError(f"index at {index_dir} does not work with this version of the indexer "
                                 f"({type(exc).__name__}: {exc}); rebuild it: python -m indexer build") from None
        if len(sections) <= WARM_LIMIT:
            for i in range(len(sections)):
                index._units(i)
                index._section_terms(i)
        return index


def smoothed_idf(n_sections: int, df: int) -> float:
    """Smoothed inverse document frequency, ``log((n + 1) / (df + 1)) + 1`` (scikit-learn's ``smooth_idf``):
    at least 1 (a term every section uses), largest for a term no section uses (df = 0)."""
    return math.log((n_sections + 1) / (df + 1)) + 1.0


@lru_cache(maxsize=4096)
def _similar_spelling(word: str, fix: str) -> bool:
    """``difflib`` ratio of a typo and its correction >= TYPO_EVIDENCE_SIMILARITY. The ratio is at most
    ``2 min(len) / (len + len)`` (``real_quick_ratio``): lengths far apart need no matching."""
    if 2.0 * min(len(word), len(fix)) / (len(word) + len(fix)) < TYPO_EVIDENCE_SIMILARITY:
        return False
    return SequenceMatcher(None, word, fix).ratio() >= TYPO_EVIDENCE_SIMILARITY


def _check_format(index_dir: Path, meta) -> None:
    """Refuse, with the command that fixes it, an index this version cannot read."""
    rebuild = f"python -m indexer build --out {index_dir}"
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise IndexLoadError(f"{index_dir} is not a handbook-bot index (meta.json has no format version); "
                             f"build one: {rebuild}")
    version = meta.get("format_version")
    if version == 2 and "format" not in meta:
        raise IndexLoadError(f"index at {index_dir} has format version 2 (a pickled model, written by an older "
                             f"handbook-bot); this version reads {FORMAT_VERSION} and never loads pickles. "
                             f"Rebuild it: {rebuild}")
    if meta.get("format") != FORMAT or not isinstance(version, int) or isinstance(version, bool):
        raise IndexLoadError(f"{index_dir} is not a handbook-bot index (format {meta.get('format')!r}, "
                             f"version {version!r}); build one: {rebuild}")
    if version > FORMAT_VERSION:
        raise IndexLoadError(f"index at {index_dir} has format version {version}, written by a newer handbook-bot; "
                             f"this version reads {FORMAT_VERSION}. Upgrade the bot, or rebuild the index with "
                             f"this version: {rebuild}")
    if version != FORMAT_VERSION:
        raise IndexLoadError(f"index at {index_dir} has format version {version}; this version reads "
                             f"{FORMAT_VERSION}. Rebuild it: {rebuild}")


def read_meta(index_dir: str | Path) -> dict | None:
    """meta.json of an index folder; None when absent or unreadable."""
    try:
        meta = json.loads((Path(index_dir) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def update_meta(index_dir: str | Path, changes: dict) -> dict:
    """Add fields to an index's meta.json atomically (the checksums cover the other files only)."""
    path = Path(index_dir) / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.update(changes)
    tmp = path.with_name(".meta.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(meta, indent=2, ensure_ascii=False))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return meta


def load_sections(index_dir: str | Path) -> list[Section] | None:
    """Only the sections of an existing index (for change reports); None when unreadable."""
    try:
        data = json.loads((Path(index_dir) / "sections.json").read_text("utf-8"))
        return [Section.from_json(d) for d in data]
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
