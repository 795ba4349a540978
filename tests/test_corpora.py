"""Real handbooks other than ours (../shared/corpora): Hugo (digital.gov, ~4,000 files) and plain
Markdown without front matter (Sourcegraph). No crash, skipped files reported, URLs per SOURCE.md."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import require_shared
from indexer.build import collect_sections

_FRONT = re.compile(r"\A\s*---\r?\n(.*?)\r?\n---", re.S)


def _collect(tmp_path: Path, name: str, root: Path, site: str, style: str):
    sources = tmp_path / f"{name}.toml"
    sources.write_text(f'[[source]]\nname = "{name}"\npath = "{root}"\nsite = "{site}"\nurl_style = "{style}"\n'
                       f'exclude = ["SOURCE.md"]\n', encoding="utf-8")
    return collect_sections(sources, tmp_path / "cache")


@pytest.fixture(scope="module")
def digitalgov(tmp_path_factory):
    root = require_shared("corpora", "digitalgov")
    return root, _collect(tmp_path_factory.mktemp("dg"), "digitalgov", root, "https://digital.gov", "hugo")


@pytest.fixture(scope="module")
def sourcegraph(tmp_path_factory):
    root = require_shared("corpora", "sourcegraph-handbook")
    return root, _collect(tmp_path_factory.mktemp("sg"), "sourcegraph", root, "https://handbook.sourcegraph.com",
                          "plain")


_MARKUP = re.compile(r"\{\{[<%]|\{\{generator:|\[!(NOTE|WARNING)\]|"
                     r"(?<!\\)(<!--|</?(p|div|a|span|h\d|img|br|table|td)\b)")


def _markup_left(sections) -> list[str]:
    """Display lines that still hold shortcodes, alerts, HTML tags or comments outside code
    (code blocks and code spans that document HTML are fine)."""
    left = []
    for s in sections:
        for md in s.display:  # (headings are plain text: "&lt;h1&gt; tags" is "<h1> tags" there)
            prose = "" if md.startswith("```") else re.sub(r"`[^`]*`", "", md)
            if _MARKUP.search(prose):
                left.append(f"{s.path}: {md[:200]}")
    return left


# ----------------------------------------------------------------------------- digital.gov (Hugo)
def test_digitalgov_indexes_without_problems_and_reports_skips(digitalgov):
    _, (sections, described, problems, skipped) = digitalgov
    assert problems == []  # every front matter parses (curly quotes, comments, CRLF), no URL collides
    assert described[0]["files"] == 4044 and described[0]["pages"] > 2400 and len(sections) > 7500
    reasons = Counter(line.rsplit("(", 1)[1].rstrip(")") for line in skipped)
    assert reasons == {"empty page": reasons["empty page"], "not published": 12}
    assert 1400 < reasons["empty page"] < 1600  # authors, topics, sources: front matter only
    assert all(line.startswith("digitalgov:content/") for line in skipped)


def test_digitalgov_markup_is_cleaned(digitalgov):
    _, (sections, *_) = digitalgov
    assert _markup_left(sections) == []  # Hugo shortcodes, raw HTML
    assert sum("{{<" in line for s in sections for line in s.lines) < 20  # only inside code blocks
    assert not [s.heading for s in sections if s.heading.lower().startswith(("see all", "learn how to edit"))]
    assert not [s for s in sections if "{#" in s.heading]
    fields = {s.anchor for s in sections if s.path.endswith("2014-08-18-how-to-choose-a-user-experience-technique.md")}
    assert {"personas", "field"} <= fields  # `## Field Visits {#field}`


def test_digitalgov_urls_follow_config_permalinks_and_front_matter(digitalgov):
    root, (sections, *_) = digitalgov
    by_path = {s.path: s.page_url for s in sections}
    permalinks = yaml.safe_load((root / "config.yml").read_text(encoding="utf-8"))["permalinks"]
    prefixes = {"news": "", "events": "event/"}
    assert permalinks == {"news": ":year/:month/:day/:slug/", "events": "event/:year/:month/:day/:slug/"}
    checked = Counter()
    for rel_path, url in by_path.items():
        match = _FRONT.match((root / rel_path).read_text(encoding="utf-8", errors="replace"))
        front = yaml.load(match.group(1), Loader=yaml.BaseLoader) if match else {}  # all strings
        section = rel_path.split("/")[1]
        if front.get("url"):
            assert url == front["url"], rel_path
            checked["url"] += 1
        elif section in prefixes and front.get("slug") and re.match(r"\d{4}-\d\d-\d\d", front.get("date", "")):
            y, m, d = front["date"][:10].split("-")
            assert url == f"/{prefixes[section]}{y}/{m}/{d}/{front['slug'].lower()}/", rel_path
            checked[section] += 1
        else:
            assert url.endswith("/") and url == url.lower(), rel_path
            checked["default"] += 1
    assert checked["url"] >= 20 and checked["news"] > 400 and checked["events"] > 200, checked
    # the SOURCE.md example's rule; the draft page is not published
    assert by_path.get("content/services/service_data-gov.md") == "/services/data-gov/"
    assert not any("typography" in p for p in by_path if p.startswith("content/news/2019/12/2019-12-04"))


def test_digitalgov_unicode_and_percent_file_names(digitalgov):
    _, (sections, *_) = digitalgov
    odd = [s for s in sections if "’" in s.path or "%e2%80%8a" in s.path]
    assert odd
    assert all(s.url.startswith("https://digital.gov/") and " " not in s.url for s in odd)


# ----------------------------------------------------------------------------- Sourcegraph (plain)
def test_sourcegraph_indexes_without_problems(sourcegraph):
    _, (sections, described, problems, skipped) = sourcegraph
    assert problems == []
    assert described[0]["files"] == 883 and described[0]["pages"] >= 870 and len(sections) > 5000
    assert all("(empty page)" in line for line in skipped)


def test_sourcegraph_urls_follow_its_rule(sourcegraph):
    _, (sections, *_) = sourcegraph
    by_path = {s.path: s.page_url for s in sections}
    for rel_path, url in by_path.items():
        expected = re.sub(r"(^|/)index$", "", rel_path.removeprefix("content/").removesuffix(".md"))
        assert url == "/" + expected, rel_path  # no trailing slash, X/index.md -> X, root -> /
    assert by_path["content/company-info-and-process/communication/zoom.md"] == (
        "/company-info-and-process/communication/zoom")
    assert by_path["content/index.md"] == "/"
    zoom = [s for s in sections if s.page_url == "/company-info-and-process/communication/zoom"]
    assert zoom[0].page_title == "Zoom"  # no front matter: the first H1
    assert zoom[1].url == ("https://handbook.sourcegraph.com/company-info-and-process/communication/zoom"
                           "#add-zoom-to-google-calendar")
    spaced = [s for s in sections if s.path == "content/departments/marketing/comms/field marketing.md"]
    assert spaced and spaced[0].url.startswith(
        "https://handbook.sourcegraph.com/departments/marketing/comms/field%20marketing")


def test_sourcegraph_markup_is_cleaned(sourcegraph):
    _, (sections, *_) = sourcegraph
    assert _markup_left(sections) == []  # build-time tokens, GitHub alerts, HTML blocks and comments
    # several H1s per page and deep headings: H4/H5 stay inside their H1-H3 section
    assert max(s.level for s in sections if s.kind == "section") == 3
    faq_pages = {s.page_title for s in sections if s.kind == "faq"}  # bold questions split on FAQ pages only
    assert faq_pages and all(re.search(r"faq|frequently asked", t, re.I) for t in faq_pages)
    assert Counter(s.path for s in sections if s.level == 1).most_common(1)[0][1] > 1
