"""sources.toml entries -> files: validation, include/exclude globs, site config, git checkouts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from indexer.build import collect_sections
from indexer.errors import SourceError
from indexer.sources import glob_to_regex, load_sources, read_source, select_files

SITE = "https://example.gov/hb"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_entries_paths_relative_to_the_file_and_defaults(tmp_path):
    specs = load_sources(_toml(tmp_path, f'''
[[source]]
name = "bundled"
path = "pages"
site = "{SITE}/"
include = ["*.md"]

[[source]]
name = "repo"
git = "../elsewhere/repo"
ref = "main"
site = "{SITE}"
url_style = "hugo"
enabled = false

[[source]]
name = "remote"
git = "https://github.com/CTOpenData/open-data-handbook.git"
site = "{SITE}"
'''))
    bundled, repo, remote = specs
    assert bundled.path == (tmp_path / "pages").resolve() and bundled.site == SITE and bundled.include == ("*.md",)
    assert bundled.url_style == "jekyll" and bundled.enabled
    assert repo.git == str((tmp_path / "../elsewhere/repo").resolve()) and repo.ref == "main"
    assert repo.url_style == "hugo" and not repo.enabled
    assert remote.git == "https://github.com/CTOpenData/open-data-handbook.git"


@pytest.mark.parametrize("body, words", [
    ('name = "a"\nsite = "https://x"', "exactly one of `path` or `git`"),
    ('name = "a"\npath = "p"\ngit = "g"\nsite = "https://x"', "exactly one of `path` or `git`"),
    ('name = "a"\npath = "p"', "`site`"),
    ('name = "a"\npath = "p"\nsite = "https://x"\nurl_style = "gatsby"',
     "url_style must be one of jekyll, hugo, plain"),
])
def test_invalid_entries_name_the_file_and_entry(tmp_path, body, words):
    path = _toml(tmp_path, "[[source]]\n" + body + "\n")
    with pytest.raises(SourceError) as err:
        load_sources(path)
    assert str(path) in str(err.value) and "#1" in str(err.value) and words in str(err.value)


def test_duplicate_names_rejected(tmp_path):
    entry = f'[[source]]\nname = "a"\npath = "p"\nsite = "{SITE}"\n'
    with pytest.raises(SourceError, match="unique"):
        load_sources(_toml(tmp_path, entry + entry))


@pytest.mark.parametrize("pattern, yes, no", [
    ("**/*.md", ["a.md", "x/y/a.md"], ["a.mdx", "a.md/b"]),
    ("docs/*.md", ["docs/a.md"], ["docs/x/a.md", "a.md"]),
    ("_includes/**", ["_includes/a/b.md"], ["x/_includes/a.md"]),
    ("?.md", ["a.md"], ["ab.md"]),
])
def test_globs(pattern, yes, no):
    regex = glob_to_regex(pattern)
    assert all(regex.match(p) for p in yes) and not any(regex.match(p) for p in no)


def test_select_files_include_exclude_hidden_and_jekyll_exclude(tmp_path):
    for rel in ("index.md", "README.md", "docs/_c/a.md", "docs/notes.txt", ".github/x.md", "node_modules/p/r.md",
                "_includes/nav.md", "vendor/bundle/g.md", "drafts/wip.md", "dir with space/ünï.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("# x\n\ny\n", encoding="utf-8")
    (tmp_path / "_config.yml").write_text("exclude:\n  - drafts/\n", encoding="utf-8")
    assert select_files(tmp_path, ("**/*.md",), ("README.md",)) == [
        "dir with space/ünï.md", "docs/_c/a.md", "drafts/wip.md", "index.md"]
    spec = load_sources(_toml(tmp_path, f'[[source]]\nname = "s"\npath = "."\nsite = "{SITE}"\n'))[0]
    loaded = read_source(spec, tmp_path / "cache")
    assert [f.rel_path for f in loaded.files] == ["README.md", "dir with space/ünï.md", "docs/_c/a.md", "index.md"]
    assert loaded.site_config == {"exclude": ["drafts/"]} and loaded.commit is None


def test_single_file_source(tmp_path):
    (tmp_path / "faq.md").write_text("# FAQ\n\n**Q?**\n\nA.\n", encoding="utf-8")
    spec = load_sources(_toml(tmp_path, f'[[source]]\nname = "faq"\npath = "faq.md"\nsite = "{SITE}"\n'))[0]
    loaded = read_source(spec, tmp_path / "cache")
    assert [(f.rel_path, f.data) for f in loaded.files] == [("faq.md", b"# FAQ\n\n**Q?**\n\nA.\n")]


def test_hugo_config_found_beside_the_content_folder(tmp_path):
    (tmp_path / "content" / "news").mkdir(parents=True)
    (tmp_path / "config.yml").write_text('permalinks:\n  news: ":year/:slug/"\n', encoding="utf-8")
    (tmp_path / "content" / "news" / "a.md").write_text(
        "---\ndate: 2024-05-06\nslug: hello\ntitle: Hello\n---\nBody.\n", encoding="utf-8")
    (tmp_path / "sources.toml").write_text(
        '[[source]]\nname = "dg"\npath = "content"\nsite = "https://digital.gov"\nurl_style = "hugo"\n')
    spec = load_sources(tmp_path / "sources.toml")[0]
    assert read_source(spec, tmp_path / "cache").site_config == {"permalinks": {"news": ":year/:slug/"}}
    sections, *_ = collect_sections(tmp_path / "sources.toml", tmp_path / "cache")
    assert [s.url for s in sections] == ["https://digital.gov/2024/hello/"]


def test_disabled_sources_are_not_read(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")
    path = _toml(tmp_path, f'[[source]]\nname = "a"\npath = "a.md"\nsite = "{SITE}"\n\n'
                           f'[[source]]\nname = "off"\ngit = "https://unreachable.invalid/x.git"\nsite = "{SITE}"\n'
                           f'enabled = false\n')
    sections, described, problems, _ = collect_sections(path, tmp_path / "cache")
    assert [d["name"] for d in described] == ["a"] and problems == [] and len(sections) == 1


def _git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.invalid", "-c",
                           "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args], cwd=cwd, env=env,
                          check=True, capture_output=True, text=True, timeout=60).stdout.strip()


def test_git_source_checks_out_the_ref_and_records_the_commit(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.md").write_text("# On main\n\nx\n", encoding="utf-8")
    _git(repo, "add", "a.md")
    _git(repo, "commit", "-q", "-m", "main")
    main_sha = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "draft")
    (repo / "b.md").write_text("# On draft\n\ny\n", encoding="utf-8")
    _git(repo, "add", "b.md")
    _git(repo, "commit", "-q", "-m", "draft")
    draft_sha = _git(repo, "rev-parse", "HEAD")
    path = _toml(tmp_path, f'[[source]]\nname = "m"\ngit = "repo"\nref = "main"\nsite = "{SITE}"\n\n'
                           f'[[source]]\nname = "d"\ngit = "file://{repo}"\nref = "draft"\nsite = "{SITE}"\n')
    main_spec, draft_spec = load_sources(path)
    main = read_source(main_spec, tmp_path / "cache")
    draft = read_source(draft_spec, tmp_path / "cache")
    assert (main.commit, [f.rel_path for f in main.files]) == (main_sha, ["a.md"])
    assert (draft.commit, [f.rel_path for f in draft.files]) == (draft_sha, ["a.md", "b.md"])
    # a new commit on the ref is fetched into the existing checkout
    (repo / "c.md").write_text("# C\n\nz\n", encoding="utf-8")
    _git(repo, "add", "c.md")
    _git(repo, "commit", "-q", "-m", "more")
    again = read_source(draft_spec, tmp_path / "cache")
    assert again.commit == _git(repo, "rev-parse", "HEAD") and len(again.files) == 3


def test_unreachable_git_is_one_line_naming_the_source(tmp_path):
    path = _toml(tmp_path, f'[[source]]\nname = "gone"\ngit = "file://{tmp_path}/none.git"\nsite = "{SITE}"\n')
    with pytest.raises(SourceError) as err:
        read_source(load_sources(path)[0], tmp_path / "cache")
    message = str(err.value)
    assert message.startswith("source gone: cannot fetch git repository file://") and "\n" not in message
    assert "does not appear to be a git repository" in message
