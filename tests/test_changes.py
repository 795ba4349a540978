"""Re-indexing when pages change: the change report, on synthetic sections and on the real case
(the 2023-01 handbook, then 2025-07, served from a local git repository through the `git` source)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, SITE, require_shared
from indexer.build import build
from indexer.changes import compare
from indexer.index import Index
from indexer.model import Section

SYNONYMS = REPO / "knowledge" / "synonyms.txt"


def _section(page: str, heading: str, text: str = "body", anchor: str | None = None) -> Section:
    anchor = anchor or heading.lower().replace(" ", "-")
    return Section(id=f"{page}#{anchor}", source="s", path=page + ".md", page_url=page, page_title=page,
                   breadcrumb=(page, heading), heading=heading, level=2, anchor=anchor,
                   url=f"{SITE}{page}#{anchor}", lines=(text,), display=(text,))


def test_change_report_pages_and_sections():
    old = [_section("/a", "One"), _section("/a", "Two"), _section("/b", "Only"), _section("/c", "Same")]
    new = [_section("/a", "One", "edited body"), _section("/a", "Three"), _section("/c", "Same"),
           _section("/d", "New")]
    report = compare(old, new)
    assert report.pages_added == [SITE + "/d"]
    assert report.pages_removed == [SITE + "/b"]
    assert report.pages_changed == [SITE + "/a"]
    assert [x.split()[0] for x in report.sections_added] == [SITE + "/a#three", SITE + "/d#new"]
    assert [x.split()[0] for x in report.sections_removed] == [SITE + "/a#two", SITE + "/b#only"]
    assert [x.split()[0] for x in report.sections_changed] == [SITE + "/a#one"]
    lines = report.lines()
    assert lines[0] == "change report: pages +1 -1 ~1; sections +2 -2 ~1"
    assert f"  page removed: {SITE}/b" in lines
    assert any(line.startswith(f"  section changed: {SITE}/a#one  (/a › One)") for line in lines)


def test_change_report_first_build_no_changes_and_limits():
    assert compare(None, [_section("/a", "x")]).lines() == ["change report: first build (no previous index)"]
    same = [_section("/a", "x")]
    assert compare(same, list(same)).lines() == ["change report: no changes"]
    many = compare([], [_section(f"/p{i}", "h") for i in range(30)])
    lines = many.lines(limit=5)
    assert sum(line.startswith("  page added:") for line in lines) == 5
    assert "  … and 25 more pages added" in lines


# ----------------------------------------------------------------------------- the real case
def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    proc = subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid",
                           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout.strip()


def _replace_tree(repo: Path, snapshot: Path) -> None:
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(snapshot, repo, dirs_exist_ok=True)


def _make_repo(work: Path) -> tuple[Path, Path]:
    """A local git repository holding the 2023-01 handbook, and a sources.toml reading it via `git`."""
    old = require_shared("handbook", "2023-01")
    require_shared("handbook", "2025-07")
    repo = work / "handbook-repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _replace_tree(repo, old)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "2023-01 snapshot")
    sources = work / "sources.toml"
    sources.write_text(f'[[source]]\nname = "handbook"\ngit = "{repo}"\nsite = "{SITE}"\n'
                       f'exclude = ["README.md"]\n', encoding="utf-8")
    return repo, sources


def _commit_2025_07(repo: Path) -> str:
    _replace_tree(repo, require_shared("handbook", "2025-07"))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "2025-07 snapshot")
    return _git(repo, "rev-parse", "HEAD")


def _urls(index: Index) -> set[str]:
    return {s.site_page for s in index.sections}


def test_reindex_2023_01_then_2025_07_through_git(tmp_path):
    repo, sources = _make_repo(tmp_path)
    out, cache = tmp_path / "index", tmp_path / "cache"
    first_sha = _git(repo, "rev-parse", "HEAD")

    first = build(sources, out, cache, synonyms_file=SYNONYMS)
    assert first.ok and first.problems == [], first.problems
    assert first.changes.first_build
    assert first.index.meta["sources"][0]["commit"] == first_sha
    assert json.loads((out / "meta.json").read_text())["sources"][0]["commit"] == first_sha
    old_pages = _urls(first.index)
    # the 2023-01 site has no `permalink: pretty`: pages end in .html (GitHub Pages serves them there)
    assert SITE + "/faq.html" in old_pages and SITE + "/data-resources/data_retirement.html" in old_pages

    second_sha = _commit_2025_07(repo)
    assert second_sha != first_sha

    second = build(sources, out, cache, synonyms_file=SYNONYMS)
    assert second.ok and second.problems == [], second.problems
    assert second.index.meta["sources"][0]["commit"] == second_sha
    loaded = Index.load(out)
    assert loaded.meta["sources"][0]["commit"] == second_sha
    new_pages = _urls(loaded)
    report = second.changes

    # the FAQ was removed, pages moved into collections with new URLs
    assert SITE + "/faq.html" in report.pages_removed
    assert SITE + "/data-resources/data_retirement.html" in report.pages_removed
    assert SITE + "/open_data_resources/data_retirement" in report.pages_added
    assert SITE + "/open_data_resources/automation_guidance/datasync" in report.pages_added
    assert set(report.pages_removed) == old_pages - new_pages
    assert set(report.pages_added) == new_pages - old_pages
    assert SITE + "/" in report.pages_changed  # same URL, edited text
    assert any(x.startswith(SITE + "/faq.html#:~:text=What%20is%20open%20data") for x in report.sections_removed)

    # deleted pages are gone from the new index, and nothing of 2023-01's URLs is left
    assert not new_pages & set(report.pages_removed)
    assert not any("/data-resources/" in s.url or "/faq" in s.url for s in loaded.sections)
    hits = loaded.search("how do I retire a dataset", 3).hits
    assert hits and all(h.section.url.startswith(SITE + "/") and ".html" not in h.section.url for h in hits)

    third = build(sources, out, cache, synonyms_file=SYNONYMS)
    assert third.changes.lines() == ["change report: no changes"]


def test_cli_build_prints_counts_timing_commit_and_change_report(tmp_path):
    repo, sources = _make_repo(tmp_path)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "GIT_CONFIG_GLOBAL": os.devnull}
    cmd = [sys.executable, "-m", "indexer", "build", "--sources", str(sources), "--out", str(tmp_path / "index"),
           "--cache", str(tmp_path / "cache")]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "change report: first build (no previous index)" in first.stdout
    sha = _commit_2025_07(repo)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"indexed 24 pages, \d+ sections from 1 source\(s\) in \d+\.\d\ds -> .*index", lines[0])
    assert lines[1].startswith(f"  handbook @ {sha[:12]}: ")
    assert re.fullmatch(r"change report: pages \+23 -24 ~1; sections \+\d+ -\d+ ~\d+", lines[2]), lines[2]
    assert f"  page added: {SITE}/data_publication_steps/create_metadata" in lines
    assert f"  page removed: {SITE}/data-publication-steps/0_data_publication_steps_intro.html" in lines
    assert "  … and 4 more pages removed" in lines
    assert f"  page changed: {SITE}/" in lines


def test_renaming_a_source_changes_nothing_in_the_report():
    import dataclasses

    old = [_section("/a", "One"), _section("/a", "Two")]
    renamed = [dataclasses.replace(s, source="handbook", id="other-" + s.id) for s in old]
    report = compare(old, renamed)
    assert report.unchanged, report.lines()
    moved = [renamed[0], dataclasses.replace(renamed[1], lines=("edited",))]
    assert [x.split()[0] for x in compare(old, moved).sections_changed] == [SITE + "/a#two"]
