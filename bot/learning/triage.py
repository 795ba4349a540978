"""What DAPA's triage card in Teams does for learning (framework-free; bot/teams/handler.py calls it off
the event loop, card JSON in bot/triage_cards.py).

- ``find_section(sections, link)``: the indexed section a picked or pasted handbook link names, or why
  it names none. Accepted: a section's link as the bot shows it, or any URL of the published handbook
  (same host) or site path of it that ``indexer.examples.SectionResolver`` accepts (base path or not,
  trailing slash, ``index.html``; a page without ``#anchor`` is its first section). An anchor the
  page does not have, another site, or anything that is not a link is refused.
- ``TriageLearning(settings)``: "Mark resolved" with a section records the (question -> section) pair
  (``LearningStore.record_resolution``) so it becomes a suggestion; "Add the question as an example" /
  "Don't use" (offered only when ``check`` finds the question can become one) review that suggestion
  through ``review.review``, the path of
  ``python -m bot report --approve / --reject``: remembered in the store's reviews (with the reviewer's
  salted hash), written to ``knowledge/examples.approved.toml``, never proposed again. A question that
  looks like personal data is never written (``Outcome.state == "personal"`` says why).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.learning.privacy import load_names, personal_data
from bot.learning.review import Knowledge, current_suggestions, review, vocabulary
from bot.learning.store import LearningStore, open_learning_store
from bot.learning.suggest import MAX_CHARS, MIN_WORDS, phrasing_key

MAX_LINK_CHARS = 2000


def _path_key(path: str) -> str:
    path = unquote(path).lower()
    for suffix in ("/index.html", "/index.htm", ".html", ".htm"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return path.rstrip("/")


def find_section(sections, link: str):
    """-> (section, None) for the indexed section ``link`` names, or (None, why not: a sentence for the card)."""
    from indexer.examples import Example, SectionResolver

    link = " ".join((link or "").split()).strip("<>")
    if not link:
        return None, "Pick one of the closest sections or paste a link to a handbook section."
    if len(link) > MAX_LINK_CHARS:
        return None, "That is too long to be a link to a handbook section."
    sections = list(sections)
    parts = urlsplit(link)
    if parts.scheme or parts.netloc:
        hosts = {urlsplit(s.url).netloc.lower() for s in sections}
        if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in hosts:
            site = ", ".join(sorted(hosts)) or "none indexed"
            return None, f"That is not a link to the published handbook ({site}): paste the link of a handbook section."
    elif not link.startswith("/"):
        return None, "That is not a handbook link: paste a section's link (https://…) or its path on the site (/…)."
    resolver = SectionResolver(sections)
    row = resolver.resolve(Example(link, ""))
    if row is not None:
        return sections[row], None
    key, anchor = _path_key(parts.path), unquote(parts.fragment)
    for section in sections:   # FAQ entries: the resolver knows them by question; a link names their anchor
        own = urlsplit(section.url)
        if anchor and unquote(own.fragment) == anchor and key in (_path_key(own.path), _path_key(section.page_url)):
            return section, None
    if resolver.has_page(Example(link, "")):
        return None, f"That page has no section #{anchor} in the current index: pick the section's own link."
    return None, "That link is not a page of the indexed handbook."


@dataclass(frozen=True)
class Outcome:
    """What a review click did.

    ``state``: "approved" / "rejected" (done now), "already approved" / "already rejected" (an earlier
    click or the CLI did it), "personal" (``detail``: why it looks like personal data; nothing written),
    "known" (already an example for the section), "unusable" (too short or too long to be an example),
    "gone" (the index no longer holds the section), "not resolved" (no section recorded for the question).
    ``phrasings``: the suggestion's phrasings reviewed; ``written``: they went into the approved file (False
    when its folder is read-only here: the approval is in the store, ``report --export-approved`` writes it).
    """

    state: str
    detail: str = ""
    phrasings: tuple[str, ...] = ()
    written: bool = False


class TriageLearning:
    """The learning store and ``knowledge/`` folder the triage card works with; opened at the first click.
    Every method does blocking I/O: call it in a worker thread."""

    def __init__(self, settings, knowledge: Knowledge | None = None) -> None:
        self.settings = settings
        self.knowledge = knowledge or Knowledge(Path(settings.sources_file).parent)
        self._store: LearningStore | None = None
        self._lock = threading.Lock()   # one review at a time: the approved file is read, merged, replaced

    def store(self) -> LearningStore:
        with self._lock:
            if self._store is None:
                self._store = open_learning_store(self.settings)
            return self._store

    def record_resolution(self, turn_id: str, url: str, resolver: str | None) -> bool:
        return self.store().record_resolution(turn_id, url, resolver)

    def record_pick(self, turn_id: str, url: str, picker: str | None) -> bool:
        return self.store().record_pick(turn_id, url, picker)

    def check(self, turn_id: str, index) -> Outcome | None:
        """None when the question of ``turn_id`` can be reviewed as an example of the section it was resolved
        with (a current suggestion holds it), else why not (the ``Outcome`` a review click would get)."""
        store = self.store()
        resolved = store.resolution(turn_id)
        if resolved is None:
            return Outcome("not resolved")
        question, url = resolved
        with self._lock:
            return self._current(store, question, url, index)[1]

    def _current(self, store: LearningStore, question: str, url: str, index):
        """-> (the current suggestion holding ``question`` for ``url``, None) or (None, why there is none)."""
        key = phrasing_key(question)
        earlier = store.verdict(url, key)
        if earlier is not None:
            return None, Outcome(f"already {earlier}", phrasings=(question,))
        found, _, _ = current_suggestions(store, index, self.knowledge, self.settings.handbook_url)
        match = next((s for s in found if s.url == url and key in {phrasing_key(p) for p in s.phrasings}), None)
        return (match, None) if match is not None else (None, self._not_proposed(question, url, index))

    def review_turn(self, turn_id: str, index, verdict: str, reviewer: str | None) -> Outcome:
        """Approve or reject the question of ``turn_id`` as an example of the section its hand-off was
        resolved with: the current suggestion holding that question, reviewed as the CLI reviews it."""
        store = self.store()
        resolved = store.resolution(turn_id)
        if resolved is None:
            return Outcome("not resolved")
        question, url = resolved
        with self._lock:
            match, why = self._current(store, question, url, index)
            if match is None:
                return why
            write = verdict == "approved" and _writable(self.knowledge.approved)
            review(store, index, self.knowledge, [match.id], verdict, reviewer=reviewer,
                   site=self.settings.handbook_url, write=write)
            return Outcome(verdict, phrasings=tuple(match.phrasings), written=write)

    def _not_proposed(self, question: str, url: str, index) -> Outcome:
        why = personal_data(" ".join(question.split()), load_names(self.knowledge.names), vocabulary(index))
        if why is not None:
            return Outcome("personal", why)
        if url not in {s.url for s in index.sections}:
            return Outcome("gone")
        if len(phrasing_key(question).split()) < MIN_WORDS or len(" ".join(question.split())) > MAX_CHARS:
            return Outcome("unusable")
        return Outcome("known")

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()


def _writable(path: Path) -> bool:
    """Can this process write ``path`` (a container's knowledge/ is part of its read-only image)?"""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return path.parent.is_dir() and os.access(path.parent, os.W_OK)
