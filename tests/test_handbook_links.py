"""Every link the index produces for the 2025-07 handbook (+ the seed FAQ) lands where it says.

The heading ids are computed here independently of ``indexer.anchors``/``indexer.markdown``: the
headings are read straight from markdown-it tokens and slugged by the rules of
``../shared/eval/ANCHORS.md``; page paths and page-top ids come from ``../shared/eval/score.py``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from markdown_it import MarkdownIt

from conftest import REPO, SITE, require_shared

BASE = urlsplit(SITE).path  # /open-data-handbook
_IAL = re.compile(r"\{:[^}]*\}|\{#[^}]*\}")


def _score_module():
    path = require_shared("eval", "score.py")
    spec = importlib.util.spec_from_file_location("shared_score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(text: str) -> tuple[dict, str]:
    match = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    return (yaml.safe_load(match.group(1)) or {}, text[match.end():]) if match else ({}, text)


def _kramdown_gfm_ids(body: str) -> tuple[list[str], list[str]]:
    """-> (heading ids in document order, bold-only paragraph texts), per ANCHORS.md."""
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(body)
    ids, bold, counter = [], [], {}
    for i, tok in enumerate(tokens):
        if tok.type != "inline":
            continue
        children = tok.children or []
        if tokens[i - 1].type == "heading_open":
            raw = "".join(c.content for c in children if c.type in ("text", "code_inline"))
            explicit = re.search(r"\{#([\w:.-]+)\}\s*$", raw)
            if explicit:
                ids.append(explicit.group(1))
                continue
            raw = _IAL.sub("", raw).strip()
            slug = re.sub(r"[^\w\- \t]", "", raw.lower()).replace(" ", "-").replace("\t", "-")
            n = counter[slug] = counter.get(slug, -1) + 1
            if n or slug:
                ids.append(slug if n == 0 else f"{slug}-{n}")
        elif tokens[i - 1].type == "paragraph_open":
            kinds = [c.type for c in children if not (c.type == "text" and not c.content.strip())]
            if kinds[:1] == ["strong_open"] and kinds[-1:] == ["strong_close"] and kinds.count("strong_open") == 1:
                bold.append("".join(c.content for c in children if c.type == "text").strip())
    return ids, bold


def _site_pages() -> dict[str, dict]:
    """Published path (score.py normalisation) -> {"ids", "bold", "top"} for the knowledge base."""
    score = _score_module()
    root = require_shared("handbook", "2025-07")
    files = [p for p in sorted(root.rglob("*.md"))] + [REPO / "knowledge" / "faq.md"]
    pages = {}
    for path in files:
        front, body = _split(path.read_text(encoding="utf-8"))
        if path.name == "faq.md":
            url = "/faq"
        elif front.get("permalink"):
            url = front["permalink"]
        else:  # Jekyll pretty permalinks for the two top-level pages
            url = "/" if path.name == "index.md" else "/" + path.stem
        ids, bold = _kramdown_gfm_ids(body)
        pages[score.norm_path(url)] = {"ids": ids, "bold": bold, "file": path}
    assert set(pages) == set(score.PAGE_TOP), "the knowledge base's pages are the ones score.py knows"
    for path, page in pages.items():
        assert page["ids"][0] == score.PAGE_TOP[path], f"{path}: first heading id differs from score.py"
    return pages


@pytest.fixture(scope="module")
def site_pages():
    return _site_pages()


def test_independent_ids_match_the_verified_ones_in_anchors_md(site_pages):
    stories = site_pages["/open_data_resources/data_stories"]["ids"]
    for anchor in ("1-identify-the-data-you-want-to-highlight", "2contact-open-data-coordinator",
                   "3publish-data-on-the-open-data-portal", "4draft-data-story-using-template", "1-colors",
                   "7-linking-multiple-pages"):
        assert anchor in stories
    all_ids = [i for page in site_pages.values() for i in page["ids"]]
    assert len(all_ids) >= 100 and not any(re.search(r"-\d$", i) and i[:-2] in all_ids for i in all_ids)


def _check_link(url: str, site_pages: dict, score) -> str | None:
    """None when ``url`` lands on an existing page and heading; else what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "mailto"):
        return f"not absolute http(s)/mailto: {url}"
    if parts.scheme == "mailto" or parts.netloc != urlsplit(SITE).netloc or not parts.path.startswith(BASE):
        return None  # another site
    path = score.norm_path(parts.path)
    page = site_pages.get(path)
    if page is None:
        return f"no such page {path}: {url}"
    fragment = parts.fragment
    if not fragment:
        return None
    if fragment.startswith(":~:text="):
        text = unquote(fragment[len(":~:text="):])
        return None if text in page["bold"] else f"text fragment is no bold question on {path}: {url}"
    return None if unquote(fragment) in page["ids"] else f"no heading id {fragment!r} on {path}: {url}"


def test_every_section_url_lands_on_a_real_heading(handbook_index, site_pages):
    score = _score_module()
    sections = handbook_index.sections
    assert len(sections) >= 100
    problems = [p for s in sections if (p := _check_link(s.url, site_pages, score))]
    assert problems == []
    # every heading-level section links its own heading; the FAQ links its questions by text
    for s in sections:
        if s.kind == "faq":
            assert "#:~:text=" in s.url and s.page_url == "/faq/"
        elif s.anchor is not None:
            assert s.url.endswith("#" + s.anchor)
    faq = [s for s in sections if s.kind == "faq"]
    assert [s.heading for s in faq] == site_pages["/faq"]["bold"] == score.FAQ_QUESTIONS
    # all H1-H3 headings that have text are reachable: none was lost on the way
    indexed = {(score.norm_path(urlsplit(s.url).path), s.anchor) for s in sections if s.anchor}
    for path, page in site_pages.items():
        body = page["file"].read_text(encoding="utf-8")
        h1_h3 = len(re.findall(r"^#{1,3} \S", _split(body)[1], re.M))
        assert len({a for p, a in indexed if p == path}) >= h1_h3 - 1, path  # FAQ's empty H1 aside


def test_every_link_in_passages_is_absolute_and_lands(handbook_index, site_pages):
    score = _score_module()
    links = [(s.url, m) for s in handbook_index.sections for d in s.display
             for m in re.findall(r"\]\(([^)\s]+)\)", d)]
    assert len(links) > 50
    problems = [f"{where}: {p}" for where, url in links if (p := _check_link(url, site_pages, score))]
    assert problems == []
    internal = {url for _, url in links if url.startswith(SITE)}
    # the internal links that the Markdown has (backslash, relative and /open-data-handbook/... forms,
    # and the FAQ's links into the handbook) all made it into the display text
    assert len(internal) >= 20
    assert SITE + "/data_publication_steps/identify_data_to_publish" in {
        url for where, url in links if "/faq/" in where}
    # and no link target is left as raw relative Markdown
    for s in handbook_index.sections:
        for d in s.display:
            assert not re.search(r"\]\((?!https?://|mailto:)", d), d


def test_display_markdown_has_no_kramdown_or_html_left(handbook_index):
    for s in handbook_index.sections:
        for d in s.display:
            assert "{:" not in d and "<div" not in d and "<img" not in d, d


def test_page_paths_are_the_ones_the_site_publishes(handbook_index, site_pages):
    score = _score_module()
    assert {score.norm_path(s.page_url) for s in handbook_index.sections} == set(site_pages)


def test_the_checker_catches_bad_links(site_pages):
    """The checks above could fail: wrong anchors, pages, FAQ text and relative links are caught."""
    score = _score_module()
    good = SITE + "/open_data_resources/data_stories#1-colors"
    assert _check_link(good, site_pages, score) is None
    assert _check_link(SITE + "/faq/#:~:text=What%20is%20open%20data%3F", site_pages, score) is None
    for bad in (SITE + "/open_data_resources/data_stories#colors",  # kramdown-style id
                SITE + "/open_data_resources/data_stories/#1-colors-1",
                SITE + "/open_data_resources/no_page", SITE + "/faq/#:~:text=What%20is%20data%3F",
                "data_publication_steps/upload_data", Path("/x").as_uri().replace("file", "ftp")):
        assert _check_link(bad, site_pages, score) is not None, bad
