"""Build an index from a sources file: read sources, split sections, fit, save, report changes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from indexer.changes import ChangeReport, compare
from indexer.errors import IndexerError, LiveIndexError, SourceError
from indexer.examples import (
    APPROVED_NAME,
    EXAMPLES_NAME,
    OUT_OF_SCOPE_NAME,
    load_examples,
    load_out_of_scope,
    resolve_examples,
)
from indexer.index import Index, load_sections, read_meta
from indexer.model import Section
from indexer.paths import DEFAULT_CACHE, DEFAULT_INDEX, DEFAULT_SOURCES, DEFAULT_SYNONYMS
from indexer.ranker import RankerParams
from indexer.sections import read_pages, source_sections
from indexer.sources import load_sources, read_source
from indexer.swap import previous_of
from indexer.text import Synonyms

SYNONYMS_NAME = "synonyms.txt"
DEFAULT_EXAMPLES = DEFAULT_SYNONYMS.parent / EXAMPLES_NAME


@dataclass
class BuildResult:
    index: Index | None
    out_dir: Path | None
    changes: ChangeReport | None
    problems: list[str] = field(default_factory=list)   # files or sources that could not be read: one line each
    skipped: list[str] = field(default_factory=list)    # files left out on purpose (draft, redirect, empty ...)
    seconds: float = 0.0
    left_out: list[str] = field(default_factory=list)   # Markdown files a source's include list does not list

    @property
    def ok(self) -> bool:
        return self.index is not None


def collect_sections(sources_file: Path, cache_dir: Path = DEFAULT_CACHE, only_enabled: bool = True,
                     left_out: list[str] | None = None) -> tuple[list[Section], list[dict], list[str], list[str]]:
    """-> (sections, source descriptions, problems, skipped). Unusable sources become problems;
    ``left_out`` (when given) receives the Markdown files that include lists leave out."""
    sections: list[Section] = []
    described, problems, skipped = [], [], []
    loaded_sources = []
    for spec in load_sources(sources_file):
        if only_enabled and not spec.enabled:
            continue
        try:
            loaded = read_source(spec, cache_dir)
        except SourceError as exc:
            problems.append(str(exc))
            continue
        pages, page_problems, page_skipped = read_pages(loaded)
        if left_out is not None:
            left_out.extend(loaded.left_out)
        problems.extend(loaded.problems + page_problems)
        skipped.extend(page_skipped)
        loaded_sources.append((loaded, pages))
    # A page URL published by several sources of one site is taken from the last of them (so an
    # enabled production repository supersedes the bundled copy of a page listed before it).
    owner: dict[tuple[str, str], str] = {}
    for loaded, pages in loaded_sources:
        for page in pages:
            owner[(loaded.spec.site, page.url)] = loaded.spec.name
    site_urls: dict[str, dict[str, str]] = {}
    for i, (loaded, pages) in enumerate(loaded_sources):
        kept = []
        for page in pages:
            winner = owner[(loaded.spec.site, page.url)]
            if winner != loaded.spec.name:
                skipped.append(f"{loaded.spec.name}:{page.rel_path}: skipped ({page.url} comes from source {winner})")
            else:
                kept.append(page)
                site_urls.setdefault(loaded.spec.site, {})[page.url] = winner
        loaded_sources[i] = (loaded, kept)
    for loaded, pages in loaded_sources:
        spec = loaded.spec
        result = source_sections(loaded, site_urls.get(spec.site, {}), pages)
        problems.extend(result.problems)
        sections.extend(result.sections)
        described.append({"name": spec.name, "site": spec.site, "git": spec.git, "ref": spec.ref,
                          "path": str(spec.path) if spec.path else None, "commit": loaded.commit,
                          "files": len(loaded.files), "pages": len(result.pages),
                          "sections": len(result.sections)})
    return sections, described, problems, skipped


GATE_KEY = "gate"   # meta.json field the quality gate (deploy/reindex.py) sets on an index it put in place


def check_replaceable(out_dir: Path) -> None:
    """Raise LiveIndexError when a plain build must not replace ``out_dir``: it holds an index the
    quality gate put in place, or something that is not a readable index. Absent, empty, and
    plain-built index folders may be replaced."""
    if not out_dir.exists() or (out_dir.is_dir() and not any(out_dir.iterdir())):
        return
    meta = read_meta(out_dir)
    fix = (f"re-index with the quality gate (make reindex, or python deploy/reindex.py --index {out_dir}), "
           f"build somewhere else (--out DIR), or replace it anyway with --force "
           f"(it is kept as {previous_of(out_dir)})")
    if meta is None:
        raise LiveIndexError(f"{out_dir} exists but holds no readable index (meta.json missing or unreadable); "
                             f"not replacing it: {fix}")
    gate = meta.get(GATE_KEY)
    if gate:
        passed = gate.get("passed_at", "?") if isinstance(gate, dict) else "?"
        sources = ", ".join(f"{s.get('name')}@{(s.get('commit') or 'folder')[:10]}"
                            for s in meta.get("sources", []) if isinstance(s, dict))
        raise LiveIndexError(f"{out_dir} holds the index the quality gate put in place on {passed} "
                             f"({meta.get('sections')} sections from {sources}); a plain build would replace it "
                             f"without the gate. To change it: {fix}")


def build(sources_file: str | Path = DEFAULT_SOURCES, out_dir: str | Path = DEFAULT_INDEX,
          cache_dir: str | Path = DEFAULT_CACHE, params: RankerParams | None = None,
          synonyms_file: str | Path | None = None, force: bool = False, strict: bool = False,
          examples_file: str | Path | None = None) -> BuildResult:
    """Build and save an index. When nothing could be indexed the previous index is left untouched;
    with ``strict``, also when any file or source could not be read (``problems``): nothing is written.

    An index already at ``out_dir`` is kept as ``<out_dir>.previous``. Unless ``force``, a folder a
    gated re-index put in place (or one that is not a readable index) is never replaced: raises
    LiveIndexError before anything is read.
    """
    start = time.perf_counter()
    sources_file, out_dir = Path(sources_file), Path(out_dir)
    if not force:
        check_replaceable(out_dir)
    left_out: list[str] = []
    sections, described, problems, skipped = collect_sections(sources_file, Path(cache_dir), left_out=left_out)
    if not sections:
        problems.append("nothing could be indexed; the previous index (if any) is unchanged")
        return BuildResult(None, None, None, problems, skipped, time.perf_counter() - start, left_out)
    if strict and problems:
        problems.append(f"strict: {len(problems)} file(s) or source(s) could not be indexed; "
                        "nothing was written, the previous index (if any) is unchanged")
        return BuildResult(None, None, None, problems, skipped, time.perf_counter() - start, left_out)
    if synonyms_file is None:
        beside = sources_file.parent / SYNONYMS_NAME
        synonyms_file = beside if beside.is_file() else DEFAULT_SYNONYMS
    synonyms = Synonyms.load(synonyms_file)
    if examples_file is None:
        beside = sources_file.parent / EXAMPLES_NAME
        examples_file = beside if beside.is_file() else DEFAULT_EXAMPLES
    examples, example_problems = resolve_examples(sections, load_examples(examples_file))
    approved_file = Path(examples_file).with_name(APPROVED_NAME)
    approved, approved_problems = resolve_examples(sections, load_examples(approved_file), name=APPROVED_NAME)
    problems.extend(example_problems + approved_problems)
    outside = load_out_of_scope(Path(examples_file).with_name(OUT_OF_SCOPE_NAME))
    index = Index.fit(sections, synonyms, params, meta={"sources": described}, examples=examples, approved=approved,
                      outside=outside)
    changes = compare(load_sections(out_dir), sections)
    try:
        if not force:
            check_replaceable(out_dir)   # again: a gated re-index may have finished meanwhile
        index.save(out_dir)
    except OSError as exc:
        raise IndexerError(f"cannot write index to {out_dir}: {exc}") from None
    return BuildResult(index, out_dir, changes, problems, skipped, time.perf_counter() - start, left_out)
