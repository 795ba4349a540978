"""The knowledge bases tests and benchmarks index: the bundled ``knowledge/`` pages, and the one the
gold labels of ``../shared/eval`` refer to (the 2025-07 handbook snapshot plus the bundled FAQ,
published at /faq/). One definition for the tests, the calibration and the evaluation scripts;
``benchmarks/eval_sources.toml`` is the eval knowledge base for the command line."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE = "https://ctopendata.github.io/open-data-handbook"


def build_bundled(tmp_path_factory):
    """(folder, Index) of the bundled knowledge/ (no ../shared needed), in a pytest temporary folder."""
    from indexer.build import build
    from indexer.paths import DEFAULT_SOURCES

    tmp = tmp_path_factory.mktemp("bundled")
    result = build(DEFAULT_SOURCES, tmp / "index", tmp / "cache")
    assert result.ok, result.problems
    return tmp / "index", result.index


def build_eval_index(shared: Path, workdir: Path):
    """Build the eval knowledge base into ``workdir/index`` -> ``indexer.build.BuildResult`` (ok)."""
    from indexer.build import build

    sources = workdir / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "handbook"\npath = "{shared / "handbook" / "2025-07"}"\nsite = "{SITE}"\n\n'
        f'[[source]]\nname = "faq"\npath = "{REPO / "knowledge" / "faq.md"}"\nsite = "{SITE}"\n', encoding="utf-8")
    result = build(sources, workdir / "index", workdir / "cache", synonyms_file=REPO / "knowledge" / "synonyms.txt")
    if not result.ok:
        raise RuntimeError(f"eval index build failed: {result.problems}")
    return result
