"""A plain build never silently replaces the index a gated re-index put in place, and the rollback copy
``<index>.previous`` survives: the issue-12 scenario (`make reindex`, then `make index`) on small pages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.index_holder import IndexHolder
from conftest import REPO
from indexer.build import GATE_KEY, build
from indexer.errors import LiveIndexError

SITE = "https://example.gov/handbook"


def _source(tmp: Path, name: str, pages: dict[str, str]) -> Path:
    folder = tmp / name
    folder.mkdir()
    for file, text in pages.items():
        (folder / file).write_text(text, encoding="utf-8")
    sources = tmp / f"{name}.toml"
    sources.write_text(f'[[source]]\nname = "{name}"\npath = "{name}"\nsite = "{SITE}"\n', encoding="utf-8")
    return sources


@pytest.fixture
def two_sources(tmp_path: Path) -> tuple[Path, Path]:
    full = _source(tmp_path, "full", {f"p{i}.md": f"# Page {i}\n\n## Retiring data {i}\n\nRetire dataset {i} "
                                      f"from the portal.\n\n## Updating {i}\n\nRefresh it weekly.\n"
                                      for i in range(6)})
    small = _source(tmp_path, "small", {"index.md": "# Welcome\n\nThe open data handbook.\n"})
    return full, small


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_make_index_after_make_reindex_refuses_and_force_keeps_the_rollback_copy(tmp_path, two_sources):
    full, small = two_sources
    live = tmp_path / "var" / "index"
    gate = tmp_path / "gate.toml"
    gate.write_text("min_pages = 3\nmin_sections = 6\n", encoding="utf-8")

    assert _cli("-m", "indexer", "build", "--sources", str(small), "--out", str(live)).returncode == 0
    done = _cli("deploy/reindex.py", "--sources", str(full), "--index", str(live), "--gate", str(gate))
    assert done.returncode == 0, done.stdout + done.stderr
    gated = _meta(live)
    assert gated["pages"] == 6 and gated[GATE_KEY]["passed_at"]
    previous = live.with_name("index.previous")
    assert _meta(previous)["pages"] == 1 and GATE_KEY not in _meta(previous)

    holder = IndexHolder(live)
    holder.load_initial(build_if_missing=False)
    before, before_previous = _snapshot(live), _snapshot(previous)
    inode = (live / "meta.json").stat().st_ino

    plain = _cli("-m", "indexer", "build", "--sources", str(small), "--out", str(live))   # `make index`
    assert plain.returncode == 1
    assert "quality gate put in place" in plain.stderr and "--force" in plain.stderr and "make reindex" in plain.stderr
    assert "Traceback" not in plain.stderr and plain.stderr.count("\n") == 1
    assert _snapshot(live) == before and (live / "meta.json").stat().st_ino == inode
    assert _snapshot(previous) == before_previous, "the rollback copy must survive"
    assert holder.check() is False and len(holder.index.sections) == gated["sections"]

    forced = _cli("-m", "indexer", "build", "--sources", str(small), "--out", str(live), "--force")
    assert forced.returncode == 0, forced.stderr
    assert _meta(live)["pages"] == 1 and GATE_KEY not in _meta(live)
    assert _snapshot(previous) == before, "a forced build keeps the gated index as the rollback copy"
    assert holder.check() is True and holder.index.meta["pages"] == 1


def test_plain_builds_replace_plain_indexes_and_keep_the_previous_one(tmp_path, two_sources):
    full, small = two_sources
    live = tmp_path / "index"
    first = build(small, live, tmp_path / "cache")
    second = build(full, live, tmp_path / "cache")
    assert second.ok and _meta(live)["pages"] == 6
    assert _meta(live.with_name("index.previous"))["built_at"] == first.index.meta["built_at"]


def test_a_folder_that_is_not_a_readable_index_is_not_replaced_without_force(tmp_path, two_sources):
    _, small = two_sources
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "notes.txt").write_text("someone's files")
    with pytest.raises(LiveIndexError, match="no readable index"):
        build(small, odd, tmp_path / "cache")
    assert (odd / "notes.txt").read_text() == "someone's files"
    assert build(small, odd, tmp_path / "cache", force=True).ok
    assert (odd.with_name("odd.previous") / "notes.txt").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert build(small, empty, tmp_path / "cache").ok


def test_strict_reindex_refuses_a_broken_page_and_leaves_the_live_index(tmp_path, two_sources):
    full, _ = two_sources
    live = tmp_path / "index"
    gate = tmp_path / "gate.toml"
    gate.write_text("min_pages = 1\n", encoding="utf-8")
    assert _cli("deploy/reindex.py", "--sources", str(full), "--index", str(live), "--gate", str(gate)).returncode == 0
    before = _snapshot(live)
    (tmp_path / "full" / "p9.md").write_text("---\ntitle: [oops\n---\n# Oops\n\nText.\n", encoding="utf-8")
    done = _cli("deploy/reindex.py", "--sources", str(full), "--index", str(live), "--gate", str(gate), "--strict")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "full:p9.md:2: invalid front matter" in done.stdout
    assert _snapshot(live) == before
