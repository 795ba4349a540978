"""The index the bot serves, swapped for a new one without a restart.

The indexer writes an index atomically (temp folder + rename), so a new index shows up as a changed
``meta.json`` (new inode / mtime / size). ``IndexHolder.check()`` notices that, loads the new index
beside the old one and swaps the reference; a request already running keeps the index it started
with. A corrupt or unreadable new index is logged and the old one keeps serving (that version is
not retried until ``meta.json`` changes again).
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
    """Load the index at ``index_dir``; when there is none (or it is unreadable) build it from ``sources``."""
    try:
        return Index.load(index_dir)
    except IndexLoadError as exc:
        log.warning("%s; building the index from %s", exc, sources)
    result = build(sources, index_dir)
    for problem in result.problems:
        log.warning("index build: %s", problem)
    if not result.ok:
        raise IndexLoadError(f"could not build an index from {sources}: {'; '.join(result.problems)}")
    return result.index


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

    @property
    def index(self) -> Index | None:
        return self._index

    def load_initial(self, build_if_missing: bool = True) -> Index:
        """Blocking first load (builds from ``sources`` when allowed and needed)."""
        signature = _signature(self.index_dir)
        index = load_or_build(self.index_dir, self.sources) if build_if_missing else Index.load(self.index_dir)
        with self._lock:
            self._index, self._signature = index, _signature(self.index_dir) or signature
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
            return {"status": "loading"}
        meta = index.meta
        return {"status": "ok", "index_version": meta.get("format_version"), "built_at": meta.get("built_at"),
                "sections": meta.get("sections", len(index.sections)), "pages": meta.get("pages"),
                "sources": [s.get("commit") or s.get("name") for s in meta.get("sources", [])],
                "reloads": self.reloads}
