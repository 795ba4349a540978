"""Pages -> sections: one per H1-H3 heading (H4+ stays inside), one per FAQ question.

Each section knows its published deep link: site + page URL + ``#`` + the heading id the site
generates (see ``anchors``), or a ``#:~:text=`` fragment for FAQ questions, which have no heading.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from indexer.anchors import AnchorCounter
from indexer.errors import SourceError
from indexer.markdown import Block, decode_page, parse_markdown, split_front_matter
from indexer.model import Section
from indexer.sources import LoadedSource
from indexer.templates import render_templates
from indexer.urls import LinkResolver, absolute, page_url, text_fragment

MAX_SECTION_LEVEL = 3
_FAQ_TITLE = re.compile(r"\bfaqs?\b|frequently asked", re.I)


@dataclass
class Page:
    rel_path: str
    url: str
    title: str
    parents: tuple[str, ...]
    front_matter: dict
    body: str


@dataclass
class SourceSections:
    """What one source yields: its sections, the page URLs seen, and one line per skipped file."""

    sections: list[Section] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _first_h1(body: str) -> str | None:
    for line in body.splitlines():
        match = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
        if match:
            return re.sub(r"\{[:#][^}]*\}", "", match.group(1)).replace("*", "").strip()
    return None


def _is_unpublished(front: dict) -> str | None:
    if front.get("redirect_to"):
        return "redirect page"
    if front.get("search_exclude") is True:
        return "search_exclude"
    if front.get("published") is False or front.get("draft") is True:
        return "not published"
    return None


def _parents(front: dict, rel_path: str, config: dict) -> tuple[str, ...]:
    parents = [str(front[k]) for k in ("grand_parent", "parent") if front.get(k)]
    if not parents:
        collections = ((config.get("just_the_docs") or {}).get("collections") or {})
        for part in PurePosixPath(rel_path).parts[:-1]:
            coll = collections.get(part.lstrip("_")) if part.startswith("_") else None
            if isinstance(coll, dict) and coll.get("name"):
                parents.append(str(coll["name"]))
                break
    return tuple(parents)


def read_pages(source: LoadedSource) -> tuple[list[Page], list[str], list[str]]:
    """Decode files and their front matter -> (pages, problems, skipped) where the last two are
    one-line messages naming the file."""
    pages, problems, skipped = [], [], []
    style = source.spec.url_style
    for f in source.files:
        name = f"{source.spec.name}:{f.rel_path}"
        try:
            text = decode_page(f.data, name)
            front, body = split_front_matter(text, name)
        except SourceError as exc:
            problems.append(str(exc))
            continue
        reason = _is_unpublished(front)
        if reason:
            skipped.append(f"{name}: skipped ({reason})")
            continue
        if not body.strip():
            skipped.append(f"{name}: skipped (empty page)")
            continue
        title = str(front.get("title") or _first_h1(body) or PurePosixPath(f.rel_path).stem).strip()
        pages.append(Page(f.rel_path, page_url(f.rel_path, front, style, source.site_config), title,
                          _parents(front, f.rel_path, source.site_config), front, body))
    return pages, problems, skipped


_SMART = ((re.compile(r"---"), "\u2014"), (re.compile(r"--"), "\u2013"), (re.compile(r"\.\.\."), "\u2026"),
          (re.compile(r"(?<=\w)'|'(?=[\s.,;:!?)]|$)"), "\u2019"), (re.compile(r"'"), "\u2018"),
          (re.compile(r'(?:(?<=^)|(?<=[\s(\[]))"'), "\u201c"), (re.compile(r'"'), "\u201d"))


def rendered_text(text: str) -> str:
    """Text as the published page shows it: kramdown's smart quotes and typographic dashes/ellipsis
    (``What's`` -> ``What’s``), which a ``#:~:text=`` fragment must match."""
    for pattern, repl in _SMART:
        text = pattern.sub(repl, text)
    return text


def section_id(source: str, url: str, key: str, occurrence: int) -> str:
    raw = f"{source}\n{url}\n{key}\n{occurrence}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]


def page_sections(page: Page, blocks: list[Block], source: str, site: str) -> list[Section]:
    """Blocks of one page -> its sections, in document order."""
    is_faq = bool(_FAQ_TITLE.search(page.title) or _FAQ_TITLE.search(_first_h1(page.body) or ""))
    counter = AnchorCounter()
    sections: list[Section] = []
    seen: dict[str, int] = {}
    current: dict = {"heading": page.title, "level": 0, "anchor": None, "fragment": None, "kind": "section",
                     "lines": [], "display": []}

    def flush() -> None:
        if not current["lines"]:
            return
        heading = current["heading"]
        key = current["anchor"] or heading
        seen[key] = seen.get(key, -1) + 1
        crumbs = []
        for crumb in (*page.parents, page.title, heading):
            if crumb and (not crumbs or crumb.casefold() != crumbs[-1].casefold()):
                crumbs.append(crumb)  # "Other resources › Other resources" -> once
        sections.append(Section(
            id=section_id(source, page.url, key, seen[key]),
            source=source, path=page.rel_path, page_url=page.url, page_title=page.title,
            breadcrumb=tuple(crumbs), heading=heading, level=current["level"], anchor=current["anchor"],
            url=absolute(site, page.url, current["fragment"]),
            lines=tuple(current["lines"]), display=tuple(current["display"]), kind=current["kind"],
        ))

    for block in blocks:
        if block.kind == "heading":
            anchor = block.explicit_id or counter.next_id(block.raw)
            if block.level <= MAX_SECTION_LEVEL:
                flush()
                current = {"heading": block.text, "level": block.level, "anchor": anchor, "fragment": anchor,
                           "kind": "section", "lines": [], "display": []}
                continue
        elif is_faq and block.kind == "text" and block.bold:
            flush()
            current = {"heading": block.text, "level": MAX_SECTION_LEVEL + 1, "anchor": None,
                       "fragment": text_fragment(rendered_text(block.text)), "kind": "faq",
                       "lines": [], "display": []}
            continue
        current["lines"].append(block.text)
        current["display"].append(f"- {block.md}" if block.kind == "item" else block.md)
    flush()
    return sections


def source_sections(source: LoadedSource, other_urls=(), pages: list[Page] | None = None) -> SourceSections:
    """All sections of one loaded source; bad files are reported and skipped, never fatal.

    other_urls: URL paths that other sources publish on the same site, so that links to them
    resolve. pages: the result of ``read_pages(source)`` when the caller already has it.
    """
    out = SourceSections()
    if pages is None:
        pages, problems, out.skipped = read_pages(source)
        out.problems.extend(source.problems + problems)
    site = source.spec.site
    resolver = LinkResolver(site, {p.rel_path: p.url for p in pages}, other_urls)
    for page in pages:
        if page.url in out.pages:
            out.problems.append(f"{source.spec.name}:{page.rel_path}: published at {page.url} like "
                                f"{out.pages[page.url]}; both are indexed")
        out.pages.setdefault(page.url, page.rel_path)
        resolve = resolver.for_page(page.rel_path, page.url)
        body = page.body
        if source.spec.url_style != "hugo":   # Hugo runs no Liquid; its shortcodes are markdown.py's
            body = render_templates(body, resolve, in_code=source.spec.url_style == "jekyll")
        try:
            blocks = parse_markdown(body, resolve)
        except Exception as exc:  # markdown-it is robust; this guards against the unexpected
            out.problems.append(f"{source.spec.name}:{page.rel_path}: cannot parse Markdown ({exc})")
            continue
        out.sections.extend(page_sections(page, blocks, source.spec.name, site))
    return out
