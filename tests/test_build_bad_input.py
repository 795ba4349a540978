"""Bad input: each bad file or source gets one line naming it, the rest is indexed; a build that
indexes nothing fails and leaves the previous index untouched; a corrupt index fails to load clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from indexer.build import build
from indexer.errors import IndexLoadError
from indexer.index import FORMAT_VERSION, Index

SITE = "https://example.gov/handbook"
SYNONYMS = REPO / "knowledge" / "synonyms.txt"
GOOD = "---\ntitle: Retiring data\n---\n# Retiring data\n\nHow to retire a dataset from the portal.\n"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "indexer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.md").write_text(GOOD, encoding="utf-8")
    (docs / "sub" / "also good.md").write_text("# Updating data\n\nRefresh a dataset weekly.\n", encoding="utf-8")
    (docs / "latin1.md").write_bytes("# Café\n\nCrème brûlée.\n".encode("latin-1"))
    (docs / "empty.md").write_bytes(b"")
    (docs / "bad_yaml.md").write_text("---\ntitle: [unclosed\nparent: x\n---\n# T\n\nText.\n", encoding="utf-8")
    (docs / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)))
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "docs"\npath = "docs"\nsite = "{SITE}"\n\n'
        f'[[source]]\nname = "gone"\npath = "no-such-folder"\nsite = "{SITE}"\n\n'
        f'[[source]]\nname = "nogit"\ngit = "no-such-repo"\nsite = "{SITE}"\n\n'
        f'[[source]]\nname = "nourl"\ngit = "file://{tmp_path}/nowhere.git"\nsite = "{SITE}"\n', encoding="utf-8")
    return tmp_path


def _one_line_naming(problems: list[str], name: str) -> str:
    lines = [p for p in problems if name in p]
    assert len(lines) == 1, (name, problems)
    assert "\n" not in lines[0]
    return lines[0]


def test_each_bad_file_and_source_gets_one_line_and_the_rest_is_indexed(bad_tree):
    result = build(bad_tree / "sources.toml", bad_tree / "index", bad_tree / "cache", synonyms_file=SYNONYMS)
    assert result.ok
    assert "docs:latin1.md:1: not UTF-8" in _one_line_naming(result.problems, "docs:latin1.md")
    assert "docs:bad_yaml.md:2: invalid front matter" in _one_line_naming(result.problems, "docs:bad_yaml.md")
    assert "binary" in _one_line_naming(result.problems, "docs:image.md")
    assert "empty" in _one_line_naming(result.skipped, "docs:empty.md")
    assert "not found" in _one_line_naming(result.problems, "source gone")
    assert "cannot fetch git repository" in _one_line_naming(result.problems, "source nogit")
    assert "cannot fetch git repository" in _one_line_naming(result.problems, "source nourl")
    assert len(result.problems) == 6
    assert sorted({s.path for s in result.index.sections}) == ["good.md", "sub/also good.md"]
    assert [src["name"] for src in result.index.meta["sources"]] == ["docs"]
    hits = Index.load(bad_tree / "index").search("retire a dataset", 1).hits
    assert hits and hits[0].section.url == SITE + "/good/#retiring-data"


def test_cli_reports_each_problem_and_succeeds(bad_tree):
    proc = _cli("build", "--sources", "sources.toml", "--out", "index", "--cache", "cache", cwd=bad_tree)
    assert proc.returncode == 0, proc.stderr
    assert "indexed 2 pages" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 6
    for name in ("latin1.md", "bad_yaml.md", "image.md", "source gone", "source nogit", "source nourl"):
        assert sum(name in w for w in warnings) == 1, name
    assert "skipped 1 file(s): 1 empty page" in proc.stdout
    assert "docs:empty.md: skipped (empty page)" in proc.stderr.splitlines()


def test_nothing_indexable_fails_and_leaves_previous_index_byte_identical(bad_tree):
    good = build(bad_tree / "sources.toml", bad_tree / "index", bad_tree / "cache", synonyms_file=SYNONYMS)
    assert good.ok
    before = {p.name: p.read_bytes() for p in (bad_tree / "index").iterdir()}
    (bad_tree / "docs" / "good.md").unlink()
    (bad_tree / "docs" / "sub" / "also good.md").unlink()
    result = build(bad_tree / "sources.toml", bad_tree / "index", bad_tree / "cache", synonyms_file=SYNONYMS)
    assert not result.ok and result.index is None
    assert any("nothing could be indexed" in p for p in result.problems)
    proc = _cli("build", "--sources", "sources.toml", "--out", "index", "--cache", "cache", cwd=bad_tree)
    assert proc.returncode == 1
    assert "nothing could be indexed" in proc.stderr and "latin1.md" in proc.stderr
    after = {p.name: p.read_bytes() for p in (bad_tree / "index").iterdir()}
    assert after == before  # meta.json, sections.json, ranker.json, ranker.npz: byte-identical
    assert not [p for p in bad_tree.iterdir() if p.name.startswith(".index.tmp")]


def test_sources_file_problems_are_one_line_errors(tmp_path):
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "x"\nsite = "https://e.x"\n', encoding="utf-8")
    proc = _cli("build", "--sources", str(sources), "--out", str(tmp_path / "i"), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "exactly one of `path` or `git`" in proc.stderr
    sources.write_text("[[source]\nbroken", encoding="utf-8")
    proc = _cli("build", "--sources", str(sources), "--out", str(tmp_path / "i"), cwd=tmp_path)
    assert proc.returncode == 1 and "invalid TOML" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("build", "--sources", str(tmp_path / "none.toml"), "--out", str(tmp_path / "i"), cwd=tmp_path)
    assert proc.returncode == 1 and "sources file not found" in proc.stderr


# ----------------------------------------------------------------------------- corrupt index
@pytest.fixture
def built_index(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "good.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "sources.toml").write_text(f'[[source]]\nname = "d"\npath = "docs"\nsite = "{SITE}"\n')
    assert build(tmp_path / "sources.toml", tmp_path / "index", tmp_path / "cache", synonyms_file=SYNONYMS).ok
    return tmp_path / "index"


def _load_error(index_dir: Path) -> str:
    with pytest.raises(IndexLoadError) as err:
        Index.load(index_dir)
    message = str(err.value)
    assert str(index_dir) in message and "\n" not in message
    return message


def test_truncated_model_is_refused(built_index):
    model = built_index / "ranker.npz"
    model.write_bytes(model.read_bytes()[:100])
    assert "ranker.npz" in _load_error(built_index) and "corrupt" in _load_error(built_index)


def test_truncated_model_without_checksums_is_refused(built_index):
    meta = json.loads((built_index / "meta.json").read_text())
    meta.pop("checksums")
    (built_index / "meta.json").write_text(json.dumps(meta))
    (built_index / "ranker.npz").write_bytes((built_index / "ranker.npz").read_bytes()[:100])
    assert "corrupt" in _load_error(built_index)


def test_garbage_meta_is_refused(built_index):
    (built_index / "meta.json").write_bytes(b"\x00\xffnot json{")
    assert "meta.json" in _load_error(built_index)
    (built_index / "meta.json").write_text("[1, 2, 3]")
    assert "format version" in _load_error(built_index)


def test_wrong_format_version_is_refused_with_rebuild_hint(built_index):
    meta = json.loads((built_index / "meta.json").read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    (built_index / "meta.json").write_text(json.dumps(meta))
    message = _load_error(built_index)
    assert f"format version {FORMAT_VERSION + 1}" in message and "indexer build" in message


def test_missing_index_is_refused_and_cli_says_so(tmp_path):
    assert "no index" in _load_error(tmp_path / "nothing")
    proc = _cli("search", "--index", str(tmp_path / "nothing"), "retire", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.startswith("error: no index at") and "Traceback" not in proc.stderr


def test_a_corrupt_previous_index_is_replaced_by_a_good_build(built_index):
    (built_index / "ranker.npz").write_bytes(b"garbage")
    (built_index / "sections.json").write_text("{")
    tmp = built_index.parent
    result = build(tmp / "sources.toml", built_index, tmp / "cache", synonyms_file=SYNONYMS)
    assert result.ok
    assert Index.load(built_index).search("retire a dataset", 1).hits


# ----------------------------------------------------------------------------- strict, include lists
def test_strict_build_fails_naming_file_and_line_and_writes_nothing(bad_tree):
    (bad_tree / "index").mkdir()
    proc = _cli("build", "--strict", "--sources", "sources.toml", "--out", "index", "--cache", "cache", cwd=bad_tree)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = proc.stderr.splitlines()
    assert "error: docs:bad_yaml.md:2: invalid front matter (while parsing a flow sequence: did not find expected "\
           "',' or ']')" in errors
    assert any(line.startswith("error: strict: 6 file(s) or source(s) could not be indexed") for line in errors)
    assert list((bad_tree / "index").iterdir()) == []


def test_strict_build_of_clean_pages_succeeds(built_index):
    tmp = built_index.parent
    assert build(tmp / "sources.toml", built_index, tmp / "cache", synonyms_file=SYNONYMS, strict=True).ok


def test_front_matter_errors_give_the_line_in_the_file(tmp_path):
    from indexer.errors import SourceError
    from indexer.markdown import split_front_matter

    cases = {"\n\n---\ntitle: ok\n\nfoo: bar: baz\n---\n# T\n": 6,
             "---\ntitle: 'unclosed\nnav_order: 2\n---\n": 2,
             "+++\ntitle = 'ok'\nbad = \n+++\n": 3,
             "---\n- a\n---\n": 2}
    for text, line in cases.items():
        with pytest.raises(SourceError) as err:
            split_front_matter(text, "src:page.md")
        assert str(err.value).startswith(f"src:page.md:{line}: "), (text, str(err.value))


def test_pages_the_include_list_leaves_out_are_listed_in_the_summary(tmp_path):
    docs = tmp_path / "knowledge"
    (docs / "more").mkdir(parents=True)
    (docs / "index.md").write_text(GOOD, encoding="utf-8")
    (docs / "new-page.md").write_text("# New\n\nA page someone added.\n", encoding="utf-8")
    (docs / "more" / "other.markdown").write_text("# Other\n\nText.\n", encoding="utf-8")
    (docs / "notes.txt").write_text("not Markdown")
    (docs / "draft.md").write_text("# Draft\n", encoding="utf-8")
    (tmp_path / "sources.toml").write_text(f'[[source]]\nname = "bundled"\npath = "knowledge"\nsite = "{SITE}"\n'
                                           'include = ["index.md"]\nexclude = ["draft.md"]\n', encoding="utf-8")
    result = build(tmp_path / "sources.toml", tmp_path / "index", tmp_path / "cache", synonyms_file=SYNONYMS)
    assert result.ok and result.left_out == ["bundled:more/other.markdown", "bundled:new-page.md"]
    proc = _cli("build", "--sources", "sources.toml", "--out", "index", "--cache", "cache", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "not indexed: 2 Markdown file(s) the sources file's include list leaves out" in proc.stdout
    assert "  bundled:new-page.md" in proc.stdout.splitlines() and "draft.md" not in proc.stdout
