"""Plain data passed between the indexer's layers and to the bot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields


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
    """A ranked search result: the section, its score in [0, 1], the best passage (Markdown and plain),
    and the section's content stems (breadcrumb, heading and text), so a reader needs nothing else."""

    section: Section
    score: float
    passage: str
    passage_text: str = ""
    position: int = -1                        # the section's row in the index
    section_terms: frozenset[str] = frozenset()
    relevance: float | None = None            # the reranker's softmax share among the candidates
    example_match: bool = False               # the question is one of this section's example questions

    def to_json(self) -> dict:
        return {
            "url": self.section.url,
            "title": " › ".join(self.section.breadcrumb),
            "score": round(float(self.score), 4),
            "passage": self.passage,
        }


@dataclass(frozen=True)
class Query:
    """What the index understood of a question.

    ``terms`` are the question's distinct content stems in order (a typo the index corrected with a
    near-identical spelling counts as its correction, so it is not unknown); ``known`` those the indexed
    text uses; ``weights`` the smoothed inverse document frequency of each term over the sections' body
    text (``indexer.index.smoothed_idf``: at least 1, the largest for a term no section uses);
    ``corrections`` every {typo: correction} the ranking applied.
    """

    text: str
    terms: tuple[str, ...] = ()
    known: frozenset[str] = frozenset()
    weights: Mapping[str, float] = field(default_factory=dict)
    corrections: Mapping[str, str] = field(default_factory=dict)
    sentences: tuple[str, ...] = ()                        # the post's sentences, as searched
    ask: tuple[int, ...] = ()                              # which of them are the ask (indices)
    specificity: Mapping[str, float] = field(default_factory=dict)  # term -> general-English specificity [0, 1]

    @property
    def ask_text(self) -> str:
        """The ask sentences of a post (the whole question when it is one sentence)."""
        return " ".join(self.sentences[i] for i in self.ask) if self.ask else self.text

    @property
    def is_post(self) -> bool:
        """Several sentences, of which only some are the ask."""
        return 0 < len(self.ask) < len(self.sentences)


@dataclass(frozen=True)
class SearchResult:
    """``Index.search``'s value: the hits, best first, and what was understood of the question."""

    query: Query
    hits: tuple[Hit, ...] = ()
    outside: float = 0.0           # similarity of the question (a post's ask) to the closest out-of-scope example
    closest_example: float = 0.0   # ... and to the closest example question of any section
    outside_example: bool = False  # the question is one of the out-of-scope examples (``Ranker.is_outside_example``)
