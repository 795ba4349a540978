"""What ``python -m bot report --suggest / --approve ID... / --reject ID...`` does.

``--suggest`` lists the suggestions (``suggest.suggest``) for sections the current index holds, with the
section's title; ``--approve`` writes each chosen suggestion's phrasings to
``knowledge/examples.approved.toml`` and remembers them as approved; ``--reject`` remembers them as
rejected. Either way they are never proposed again. Ids come from the same log, so they are stable
between ``--suggest`` and ``--approve`` as long as no new evidence changes a group's lead phrasing
(an id that is no longer current is reported, nothing is written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.learning.approved import APPROVED_NAME, add_approved, read_approved
from bot.learning.privacy import NAMES_FILE, load_names
from bot.learning.store import LearningStore
from bot.learning.suggest import Skipped, Suggestion, suggest

EXAMPLES_NAME = "examples.toml"


@dataclass
class Knowledge:
    """Where the learning step reads and writes in ``knowledge/`` (beside the sources file)."""

    folder: Path

    @property
    def approved(self) -> Path:
        return self.folder / APPROVED_NAME

    @property
    def examples(self) -> Path:
        return self.folder / EXAMPLES_NAME

    @property
    def names(self) -> Path:
        return self.folder / NAMES_FILE


def section_key(url: str, site: str = "") -> tuple[str, str]:
    """(site path, anchor) of a section URL or site path, comparable between both forms."""
    if site and url.startswith(site):
        url = url[len(site):]
    parts = urlsplit(url)
    path = unquote(parts.path).lower()
    for suffix in ("/index.html", "/index.htm", ".html", ".htm"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return path.rstrip("/"), unquote(parts.fragment)


def known_examples(index, knowledge: Knowledge, site: str) -> dict[str, list[str]]:
    """{section url in ``index``: phrasings already examples for it} (hand-written and approved files)."""
    by_key = {section_key(s.url, site): s.url for s in index.sections}
    texts: dict[str, list[str]] = {}
    for url, examples in read_approved(knowledge.approved).items():
        texts.setdefault(by_key.get(section_key(url, site), url), []).extend(examples)
    try:
        from indexer.examples import load_examples, resolve_examples
    except ImportError:   # no examples field in this version of the indexer
        return texts
    found, _ = resolve_examples(list(index.sections), load_examples(knowledge.examples))
    for row, text in found:
        texts.setdefault(index.sections[row].url, []).append(text)
    return texts


def vocabulary(index) -> frozenset[str]:
    words: set[str] = set()
    for s in index.sections:
        words.update(re.findall(r"[a-z0-9]+", (" ".join(s.breadcrumb) + " " + s.text).casefold()))
    return frozenset(words)


def current_suggestions(store: LearningStore, index, knowledge: Knowledge, site: str = ""
                        ) -> tuple[list[Suggestion], Skipped, int]:
    """-> (suggestions for sections ``index`` holds, what was skipped, suggestions for sections it no
    longer holds)."""
    known = known_examples(index, knowledge, site)
    for url, phrasings in store.reviewed().items():
        known.setdefault(url, []).extend(phrasings)
    found, skipped = suggest(store.evidence(), known, load_names(knowledge.names), vocabulary(index))
    urls = {s.url for s in index.sections}
    return [s for s in found if s.url in urls], skipped, sum(s.url not in urls for s in found)


def review(store: LearningStore, index, knowledge: Knowledge, ids: list[str], verdict: str,
           reviewer: str | None = None, site: str = "", write: bool = True) -> tuple[list[Suggestion], list[str]]:
    """Approve or reject suggestions by id -> (the suggestions reviewed, ids not among the current
    suggestions). Unknown ids: nothing is written at all. ``write=False``: an approval is remembered in the
    store only (a server whose knowledge/ is read-only; ``export_approved`` writes the file later)."""
    current = {s.id: s for s in current_suggestions(store, index, knowledge, site)[0]}
    unknown = [i for i in ids if i not in current]
    if unknown:
        return [], unknown
    chosen = [current[i] for i in dict.fromkeys(ids)]
    if verdict == "approved" and write:
        additions: dict[str, list[str]] = {}
        for s in chosen:
            additions.setdefault(s.url, []).extend(s.phrasings)
        add_approved(knowledge.approved, additions)
    for s in chosen:
        store.record_reviews(s.url, s.phrasings, verdict, reviewer)
    return chosen, []


def export_approved(store: LearningStore, knowledge: Knowledge) -> int:
    """Write every approval the store remembers (CLI and Teams) into ``knowledge/examples.approved.toml``
    (phrasings already there are kept, not repeated) -> how many were added."""
    return add_approved(knowledge.approved, store.approved())
