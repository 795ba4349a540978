"""The index the bot serves, swapped for a new one without a restart.

The indexer writes an index atomically (temp folder + rename), so a new index shows up as a changed
``meta.json`` (new inode / mtime / size). ``IndexHolder.check()`` notices that, loads the new index
beside the old one and swaps the reference; a request already running keeps the index it started
with. A corrupt or unreadable new index is logged and the old one keeps serving (that version is
not retried until ``meta.json`` changes again).

At start-up (``load_initial``) an index is built from knowledge/ only when there is none at all. An index
that is there but cannot be read (corrupt, wrong format) is never replaced: the holder serves the last
good one, the rollback copy ``<dir>.previous`` kept by every replacement, and says so in ``status()``
(``warning``); without a readable rollback copy it reports ``unavailable`` with the reason (``/healthz``
503) until a valid index appears.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from indexer.build import build
from indexer.errors import IndexLoadError
from indexer.index import Index
from indexer.paths import DEFAULT_SOURCES

log = logging.getLogger(__name__)


def load_or_build(index_dir: Path, sources: Path = DEFAULT_SOURCES) -> Index:
    """Load the index at ``index_dir``; build it from ``sources`` only when there is none (no ``meta.json``).
    An index that is there but unreadable raises ``IndexLoadError``: it is never overwritten."""
    index_dir = Path(index_dir)
    if (index_dir / "meta.json").exists():
        return Index.load(index_dir)
    log.warning("no index at %s; building it from %s", index_dir, sources)
    result = build(sources, index_dir)
    for problem in result.problems:
        log.warning("index build: %s", problem)
    if not result.ok:
        raise IndexLoadError(f"could not build an index from {sources}: {'; '.join(result.problems)}")
    return result.index


def rollback_dir(index_dir: Path) -> Path:
    return index_dir.with_name(index_dir.name + ".previous")


def load_for_serving(index_dir: Path, build_if_missing: bool = True,
                     sources: Path = DEFAULT_SOURCES) -> tuple[Index, str | None]:
    """(index, warning): the index at ``index_dir`` (built when missing and allowed), else its rollback copy
    with a warning saying why. Raises ``IndexLoadError`` with both reasons when neither can be read."""
    index_dir = Path(index_dir)
    try:
        return (load_or_build(index_dir, sources) if build_if_missing else Index.load(index_dir)), None
    except IndexLoadError as exc:
        problem = str(exc)
    previous = rollback_dir(index_dir)
    if not (previous / "meta.json").exists():
        raise IndexLoadError(f"{problem}; no rollback copy at {previous}")
    try:
        index = Index.load(previous)
    except IndexLoadError as exc:
        raise IndexLoadError(f"{problem}; the rollback copy is unreadable too: {exc}") from None
    warning = f"serving the rollback copy {previous}: {problem}"
    log.error("index: %s", warning)
    return index, warning


def _signature(index_dir: Path) -> tuple | None:
    try:
        st = (index_dir / "meta.json").stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class IndexHolder:
    """Holds the current ``Index`` (or None until loaded) for ``index_dir``."""

    def __init__(self, index_dir: Path, index: Index | None = None, sources: Path = DEFAULT_SOURCES) -> None:
        self.index_dir, self.sources = Path(index_dir), Path(sources)
        self._index = index
        self._signature = _signature(self.index_dir) if index is not None else None
        self._rejected: tuple | None = None
        self._lock = threading.Lock()
        self.reloads = 0
        self.warning: str | None = None   # serving something other than index_dir (the rollback copy), and why
        self.problem: str | None = None   # why nothing is served

    @property
    def index(self) -> Index | None:
        return self._index

    def load_initial(self, build_if_missing: bool = True) -> Index:
        """Blocking first load (builds from ``sources`` when allowed and there is no index; falls back to the
        rollback copy when the index is unreadable). Raises ``IndexLoadError`` when nothing can be served."""
        signature = _signature(self.index_dir)
        try:
            index, warning = load_for_serving(self.index_dir, build_if_missing, self.sources)
        except IndexLoadError as exc:
            with self._lock:
                self.problem, self._rejected = str(exc), signature
            raise
        with self._lock:
            if warning:   # the unreadable version is not retried until meta.json changes
                self._index, self._signature, self._rejected, self.warning = index, None, signature, warning
            else:
                self._index, self._signature = index, _signature(self.index_dir) or signature
            self.problem = None
        log.info("index loaded: %s sections, built %s", index.meta.get("sections"), index.meta.get("built_at"))
        return index

    def check(self) -> bool:
        """Swap to a new index if one appeared; True when swapped. Never raises for a bad index."""
        signature = _signature(self.index_dir)
        if signature is None or signature == self._signature or signature == self._rejected:
            return False
        with self._lock:
            if signature == self._signature:
                return False
            try:
                index = Index.load(self.index_dir)
            except IndexLoadError as exc:
                self._rejected = signature
                log.error("new index rejected, still serving the previous one: %s", exc)
                return False
            except Exception:  # an unexpected failure must not take the bot down either
                self._rejected = signature
                log.exception("new index could not be loaded, still serving the previous one")
                return False
            self._index, self._signature, self._rejected = index, signature, None
            self.warning = self.problem = None
            self.reloads += 1
        log.info("switched to new index: %s sections, built %s", index.meta.get("sections"), index.meta.get("built_at"))
        return True

    async def watch(self, interval: float) -> None:
        """Poll for a new index every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.check)
            except Exception:
                log.exception("index check failed")

    def status(self) -> dict:
        index = self._index
        if index is None:
            return {"status": "unavailable", "reason": self.problem} if self.problem else {"status": "loading"}
        meta = index.meta
        extra = {"warning": self.warning} if self.warning else {}
        return {"status": "ok", **extra, "index_version": meta.get("format_version"), "built_at": meta.get("built_at"),
                "sections": meta.get("sections", len(index.sections)), "pages": meta.get("pages"),
                "sources": [s.get("commit") or s.get("name") for s in meta.get("sources", [])],
                "reloads": self.reloads}
