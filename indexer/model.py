"""Plain data passed between the indexer's layers and to the bot."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Section:
    """One answerable unit: an H1-H3 section of a page, or one FAQ entry.

    ``lines`` are the section's units (sentences of a paragraph are kept together; list items,
    table-row sentences and H4+ headings are separate lines) as plain text; ``display`` holds the
    same lines as Teams-safe Markdown (absolute links only), index for index.
    """

    id: str
    source: str
    path: str
    page_url: str
    page_title: str
    breadcrumb: tuple[str, ...]
    heading: str
    level: int
    anchor: str | None
    url: str
    lines: tuple[str, ...]
    display: tuple[str, ...]
    kind: str = "section"  # "section" | "faq"

    @property
    def site_page(self) -> str:
        """Absolute URL of the page, without fragment."""
        return self.url.split("#", 1)[0]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def to_json(self) -> dict:
        return {f: getattr(self, f) for f in _SECTION_FIELDS}

    @classmethod
    def from_json(cls, data: dict) -> Section:
        data = dict(data)
        for key in ("breadcrumb", "lines", "display"):
            data[key] = tuple(data[key])
        return cls(**data)


_SECTION_FIELDS = tuple(f.name for f in fields(Section))


@dataclass(frozen=True)
class Hit:
    """A ranked search result: the section, its score in [0, 1], and the best passage (Markdown)."""

    section: Section
    score: float
    passage: str
    passage_text: str = ""
    position: int = -1         # the section's row in the index (Index.section_terms etc.)

    def to_json(self) -> dict:
        return {
            "url": self.section.url,
            "title": " › ".join(self.section.breadcrumb),
            "score": round(float(self.score), 4),
            "passage": self.passage,
        }
