"""Handbook sections as cards people share: compose-box search results and link unfurls (framework-free).

``search_results(hits) -> list[dict]`` gives message-extension attachments (an Adaptive Card with the
passage and the deep link, plus the ``preview`` the result list shows); ``unfurl(sections, url)`` the
card for a pasted handbook link. Cards are Adaptive Card 1.3 (Teams renders unfurl cards only up to
1.3). Handbook text goes into Markdown TextBlocks as the indexer's Teams-safe display lines; headings
and breadcrumbs are escaped.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from bot.replies import escape_markdown, safe_link
from indexer.model import Hit, Section

CARD_VERSION = "1.3"
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
THUMBNAIL = "application/vnd.microsoft.card.thumbnail"
MAX_LINES = 4          # display lines of a section shown when no search passage picked one
MAX_CHARS = 700


def _excerpt(section: Section) -> str:
    out, used = [], 0
    for line in section.display[:MAX_LINES]:
        if used + len(line) > MAX_CHARS and out:
            break
        out.append(line)
        used += len(line)
    return "\n\n".join(out) or "(see the handbook section)"


def section_card(section: Section, passage: str | None = None, note: str | None = None) -> dict:
    """Breadcrumb, heading, the passage (or the section's opening lines) and "Open in handbook"."""
    crumb = " › ".join(section.breadcrumb[:-1]) or section.page_title
    body = [{"type": "TextBlock", "text": escape_markdown(crumb), "isSubtle": True, "size": "Small", "wrap": True},
            {"type": "TextBlock", "text": escape_markdown(section.heading), "weight": "Bolder", "size": "Medium",
             "wrap": True, "spacing": "Small"},
            {"type": "TextBlock", "text": passage or _excerpt(section), "wrap": True}]
    if note:
        body.append({"type": "TextBlock", "text": escape_markdown(note), "isSubtle": True, "size": "Small",
                     "wrap": True})
    return {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION, "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": "Open in handbook",
                         "url": safe_link(section.url, section.url)}],
            "fallbackText": f"{' › '.join(section.breadcrumb)}: {section.url}"}


def preview(section: Section, snippet: str = "") -> dict:
    """What the result list / unfurl preview shows: a thumbnail card (plain text)."""
    text = " › ".join(section.breadcrumb[:-1]) or section.page_title
    if snippet:
        text = f"{text} — {snippet[:160]}"
    return {"contentType": THUMBNAIL, "content": {"title": section.heading, "text": text}}


def attachment(section: Section, passage: str | None = None, snippet: str = "", note: str | None = None) -> dict:
    return {"contentType": ADAPTIVE, "content": section_card(section, passage, note),
            "preview": preview(section, snippet)}


def search_results(hits: list[Hit]) -> list[dict]:
    """Message-extension result attachments, best first; one per section."""
    seen, out = set(), []
    for hit in hits:
        if hit.section.url in seen:
            continue
        seen.add(hit.section.url)
        out.append(attachment(hit.section, hit.passage or None, hit.passage_text or ""))
    return out


def _normal(url: str) -> tuple[str, str]:
    """(page, fragment) of a URL with scheme/host case, query, index.html and trailing slash folded."""
    parts = urlsplit(url.strip())
    path = unquote(parts.path)
    for suffix in ("index.html", ".html"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.netloc.lower()}{path.rstrip('/')}", unquote(parts.fragment)


def section_for_url(sections, url: str) -> tuple[Section | None, bool]:
    """The section a handbook URL points at -> (section, exact). A link to a page, or to an anchor the
    index does not know, falls back to the page's first section (exact False); (None, False) when the
    URL is not a page of the indexed handbook."""
    page, fragment = _normal(url)
    on_page = [s for s in sections if _normal(s.url)[0] == page]
    for section in on_page:
        if fragment and _normal(section.url)[1] == fragment:
            return section, True
    if not on_page:
        return None, False
    return min(on_page, key=lambda s: s.level), not fragment


def unfurl(sections, url: str) -> dict | None:
    """The unfurl attachment for ``url``, or None when it is not a known handbook page."""
    section, exact = section_for_url(sections, url)
    if section is None:
        return None
    _, fragment = _normal(url)
    note = None if exact or not fragment else "That part of the page was not found; this is the page's start."
    return attachment(section, note=note)
