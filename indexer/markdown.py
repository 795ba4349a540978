"""Markdown page -> front matter + a flat list of blocks, from markdown-it-py's token stream.

Handles what real handbook pages contain: YAML (or TOML) front matter, kramdown attribute lists
(``{:target="_blank"}``, ``{: .note-title }``), just-the-docs callouts (kept as text), GFM tables
(turned into sentences), images (alt text), raw HTML (text kept, tags dropped), Hugo shortcodes and
mojibake (repaired with ftfy).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import unquote

import ftfy
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from indexer.errors import SourceError

LinkResolver = Callable[[str], "str | None"]
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~20x faster, same safe subset

# Leading blank lines are tolerated (Hugo skips them; 3 digitalgov pages have one); empty front matter too.
_FRONT_MATTER = re.compile(r"\A\s*?(---|\+\+\+)[ \t]*\r?\n(?:(.*?)\r?\n)??\1[ \t]*(?:\r?\n|\Z)", re.S)
_HTML_START = re.compile(r"\A<(?:[a-zA-Z][\w-]*[\s/>]|!--)")
_SPAN_IAL = re.compile(r"\{:[^{}\n]*\}|\{#[^\s{}]+\}|\{\.[\w .-]+\}")
_BLOCK_IAL = re.compile(r"^\s*(\{:[^{}\n]*\}|\{#[\w:.-]+\})\s*$")
# `{#id}` ends a heading: kramdown wants [A-Za-z][\w:-]*, goldmark (Hugo) takes any id up to `}`.
_EXPLICIT_ID = re.compile(r"\s*\{#([^\s{}]+)\}\s*$|\s*\{:\s*#([\w:.-]+)[^}]*\}\s*$")
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}|\{\{\s*generator:[^}]*\}\}", re.S)
_ALERT = re.compile(r"^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*", re.I)
_SPACES = re.compile(r"[ \t\u00a0]+")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
# UTF-8 read as cp1252/latin-1: a lead byte shown as À-ÿ followed by a continuation byte shown as
# U+0080-U+00BF or one of cp1252's specials (€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ);
# or a C1 control character.
_MOJIBAKE_HINT = re.compile(
    "[\u0080-\u009f]|[\u00c0-\u00ff][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]")
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe]")


@dataclass
class Block:
    """One unit of a page.

    kind: "heading" | "text" | "item" | "row" | "code". ``text`` is plain text, ``md`` the same
    content as Teams-safe Markdown. Headings carry ``level``, ``raw`` (the text kramdown slugs),
    ``explicit_id``; paragraphs that are only bold text set ``bold`` (FAQ questions).
    """

    kind: str
    text: str
    md: str
    level: int = 0
    raw: str = ""
    explicit_id: str | None = None
    bold: bool = False


def decode_page(data: bytes, name: str) -> str:
    """Bytes of a file -> text with mojibake repaired. Raises SourceError for binary or non-UTF-8."""
    if b"\x00" in data[:8192]:
        raise SourceError(f"{name}: binary file, not Markdown")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SourceError(f"{name}:{line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return repair_text(text)


def repair_text(text: str) -> str:
    """Repair mojibake (``youâ€™d`` -> ``you’d``) with ftfy, keeping everything the site renders as is.

    ftfy's defaults would also straighten curly quotes (breaking quoted YAML such as
    ``title: 'Findings From 10x’s …'``), decode HTML entities, and fold ligatures/full-width forms,
    all of which change the text (and heading ids) the published site shows: those fixes are off.
    ftfy is slow (seconds per 10 MB), so text without a mojibake-like sequence skips it.
    """
    if _MOJIBAKE_HINT.search(text):
        return ftfy.fix_text(text, uncurl_quotes=False, unescape_html=False, fix_latin_ligatures=False,
                             fix_character_width=False, normalization="NFC", fix_line_breaks=True)
    text = _CONTROL.sub("", _LINE_BREAKS.sub("\n", text))
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def split_front_matter(text: str, name: str = "page") -> tuple[dict, str]:
    """Text -> (front matter mapping, body). Raises SourceError on invalid front matter."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fence, raw = match.group(1), match.group(2) or ""
    first_line = text[:match.start(2) if match.group(2) is not None else match.end(1)].count("\n") + 1
    try:
        if fence == "---":
            data = yaml.load(raw, Loader=_YAML_LOADER)
        else:
            import tomllib

            data = tomllib.loads(raw)
    except Exception as exc:  # yaml.YAMLError, tomllib.TOMLDecodeError
        where = _error_line(exc)
        if where is None and "end of document" in str(exc):
            where = raw.count("\n")
        line = first_line + where if where is not None else first_line - 1
        if isinstance(exc, yaml.MarkedYAMLError) and (exc.context or exc.problem):
            first = ": ".join(part for part in (exc.context, exc.problem) if part)
        else:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"{name}:{line}: invalid front matter ({first})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError(f"{name}:{first_line}: front matter is not a mapping")
    return data, text[match.end():]


def _error_line(exc: Exception) -> int | None:
    """0-based line of a YAML or TOML error inside the parsed text, when the parser says (for YAML the
    start of the construct it was reading: the line with the unclosed bracket or quote)."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    if mark is not None and getattr(mark, "line", None) is not None:
        return int(mark.line)
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno - 1
    match = re.search(r"\(at line (\d+)", str(exc))
    return int(match.group(1)) - 1 if match else None


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Text of an HTML fragment on one line; scripts, styles and Hugo shortcodes (which may sit
    inside attributes: ``href="{{< ref "x.md" >}}"``) dropped."""
    parser = _TextOfHtml()
    try:
        parser.feed(_SHORTCODE.sub("", html))
        parser.close()
    except Exception:  # malformed HTML: keep what was read
        pass
    return _clean(" ".join("".join(parser.parts).split()))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _SHORTCODE.sub("", text)).strip()


def _escape_md(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def render_inline(children: list[Token], resolve_link: LinkResolver | None = None) -> tuple[str, str, str]:
    """Inline tokens -> (plain text, Teams-safe Markdown, heading raw text for anchors)."""
    plain: list[str] = []
    md: list[str] = []
    raw: list[str] = []
    link_stack: list[str | None] = []
    for tok in children:
        t = tok.type
        if t == "text":
            s = _SPAN_IAL.sub("", tok.content)
            plain.append(s)
            md.append(_escape_md(s))
            raw.append(tok.content)
        elif t == "code_inline":
            plain.append(tok.content)
            md.append(f"`{tok.content.replace('`', '')}`")
            raw.append(tok.content)
        elif t in ("softbreak", "hardbreak"):
            plain.append(" ")
            md.append(" ")
            raw.append(" ")
        elif t == "image":
            alt = tok.content or ""
            plain.append(alt)
            md.append(_escape_md(alt))
        elif t == "html_inline":
            inner = html_to_text(tok.content)
            if inner:
                plain.append(inner)
                md.append(_escape_md(inner))
        elif t == "link_open":
            href = _resolve(tok.attrGet("href") or "", resolve_link)
            link_stack.append(href)
            if href:
                md.append("[")
        elif t == "link_close":
            href = link_stack.pop() if link_stack else None
            if href:
                md.append(f"]({href})")
        elif t in ("strong_open", "strong_close"):
            md.append("**")
        elif t in ("em_open", "em_close"):
            md.append("_")
    text, display = _clean("".join(plain)), _clean("".join(md))
    display = display.replace("****", "").replace("[]", "")
    return text, display, "".join(raw).strip()


def _resolve(href: str, resolve_link: LinkResolver | None) -> str | None:
    href = href.strip()
    if href.lower().startswith(_SAFE_SCHEMES):
        # Kept as written: decoding would change meaning (``%26`` in a query, ``%23``, ``%2F``).
        return href.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    href = unquote(href)
    if not href or href.startswith("#") or ":" in href.split("/")[0]:
        return None  # in-page fragments, unknown schemes (javascript:, ftp:)
    if resolve_link is None:
        return None
    return resolve_link(href)


def _is_bold_only(children: list[Token]) -> bool:
    meaningful = [c for c in children if not (c.type == "text" and not c.content.strip())]
    return (
        len(meaningful) >= 3
        and meaningful[0].type == "strong_open"
        and meaningful[-1].type == "strong_close"
        and sum(c.type == "strong_open" for c in meaningful) == 1
    )


def _table_rows(tokens: list[Token], start: int, resolve_link: LinkResolver | None) -> tuple[list[Block], int]:
    """Turn a GFM table into one sentence per row, keeping headers and the row-group label."""
    header: list[str] = []
    rows: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    i = start
    in_head = False
    while i < len(tokens) and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            current = []
        elif tok.type == "tr_close" and not in_head:
            rows.append(current)
        elif tok.type == "inline":
            text, md, _ = render_inline(tok.children or [], resolve_link)
            if in_head:
                header.append(text)
            else:
                current.append((text, md))
        i += 1
    n_labels = 0
    while n_labels < len(header) - 1 and not header[n_labels]:
        n_labels += 1
    labels = [("", "")] * n_labels
    blocks = []
    for row in rows:
        cells = row + [("", "")] * (len(header) - len(row))
        for j in range(n_labels):
            if cells[j][0]:
                labels[j] = cells[j]
        name = cells[n_labels] if n_labels < len(cells) else ("", "")
        parts_t = [f"{h}: {c[0]}" for h, c in zip(header[n_labels + 1:], cells[n_labels + 1:]) if c[0]]
        parts_m = [f"**{_escape_md(h)}:** {c[1]}" if h else c[1]
                   for h, c in zip(header[n_labels + 1:], cells[n_labels + 1:]) if c[0]]
        lead_t = " — ".join(x for x in [*(lab[0] for lab in labels), name[0]] if x)
        lead_m = " — ".join(x for x in [*(lab[1] for lab in labels), f"**{name[1]}**" if name[1] else ""] if x)
        text = f"{lead_t} — {'; '.join(parts_t)}" if parts_t and lead_t else (lead_t or "; ".join(parts_t))
        md = f"{lead_m} — {'; '.join(parts_m)}" if parts_m and lead_m else (lead_m or "; ".join(parts_m))
        if text:
            blocks.append(Block("row", text, md))
    return blocks, i


def parse_markdown(body: str, resolve_link: LinkResolver | None = None) -> list[Block]:
    """Markdown body (no front matter) -> blocks in document order."""
    tokens = _parser().parse(body)
    blocks: list[Block] = []
    heading_level = 0
    in_item = 0
    item_parts: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        t = tok.type
        if t == "heading_open":
            heading_level = int(tok.tag[1])
        elif t == "heading_close":
            heading_level = 0
        elif t == "table_open":
            rows, i = _table_rows(tokens, i, resolve_link)
            blocks.extend(rows)
        elif t == "list_item_open":
            in_item += 1
            if in_item == 1:
                item_parts = []
        elif t == "list_item_close":
            in_item -= 1
            if in_item == 0 and item_parts:
                blocks.append(Block("item", " ".join(p[0] for p in item_parts), " ".join(p[1] for p in item_parts)))
                item_parts = []
        elif t == "inline":
            children = tok.children or []
            if heading_level:
                text, md, raw = render_inline(children, resolve_link)
                explicit = _EXPLICIT_ID.search(raw)
                blocks.append(Block("heading", text, md, level=heading_level, raw=_heading_raw_text(children),
                                    explicit_id=(explicit.group(1) or explicit.group(2)) if explicit else None))
            else:
                if _BLOCK_IAL.match(tok.content):
                    _apply_block_ial(blocks, tok.content)
                else:
                    text, md, _ = render_inline(children, resolve_link)
                    text, md = _ALERT.sub("Note: ", text), _ALERT.sub("Note: ", md)
                    if in_item:
                        if text:
                            item_parts.append((text, md))
                    elif text:
                        blocks.append(Block("text", text, md, bold=_is_bold_only(children)))
        elif t == "code_block" and _HTML_START.match(tok.content.strip()):
            text = html_to_text(tok.content)  # indented raw HTML (legacy CMS exports), not code
            if text:
                blocks.append(Block("text", text, _escape_md(text)))
        elif t in ("fence", "code_block"):
            code = tok.content.strip()
            if code:
                blocks.append(Block("code", code, "```\n" + code + "\n```"))
        elif t == "html_block":
            text = html_to_text(tok.content)
            if text:
                blocks.append(Block("text", text, _escape_md(text)))
        i += 1
    return blocks


def _heading_raw_text(children: list[Token]) -> str:
    """The text kramdown slugs: text, code, link text, HTML inner text; no images, no IALs."""
    parts = []
    for tok in children:
        if tok.type == "text":
            parts.append(tok.content)
        elif tok.type == "code_inline":
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    raw = "".join(parts)
    raw = _EXPLICIT_ID.sub("", raw)
    return _SPAN_IAL.sub("", raw).rstrip()


def _apply_block_ial(blocks: list[Block], ial: str) -> None:
    """A block IAL after a heading may set its id (``{: #x}``); classes are dropped."""
    match = re.search(r"#([\w:.-]+)", ial)
    if match and blocks and blocks[-1].kind == "heading" and blocks[-1].explicit_id is None:
        blocks[-1].explicit_id = match.group(1)
