"""Suggestions from the question log: (question -> section) pairs a person may approve as examples.

Pure functions over values (the store gives ``Evidence``; nothing here does I/O):

- a turn is evidence for a section when DAPA resolved its hand-off by pointing to that section
  (``resolved_url``: this wins), when the asker clicked "This answered it" beside that section of an
  unsure reply (``picked_url``: it names the section, so it wins over a vote), or when its answer was
  voted 👍 more than 👎 (its ``top_url``);
- phrasings of one section that are near-duplicates form one suggestion, shown by its most frequent
  phrasing with the others as variants: the same content words (function words such as "a", "my", "how"
  and a plural "s" aside; Jaccard similarity of the sets), or nearly the same letters ("data set" and
  "dataset": Jaccard similarity of the character trigrams of the content words run together);
- a phrasing that looks like personal data (``privacy.personal_data``) is never proposed, nor one that is
  (a near-duplicate of) an existing example or a phrasing already approved or rejected for that section;
- suggestions are ranked by how many turns support them, then by how recent the last one is.

A suggestion's ``id`` is a short hash of its section and its lead phrasing: the same log gives the same
ids, so ``--suggest`` then ``--approve ID`` refer to the same thing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.learning.privacy import personal_data

NEAR_DUPLICATE = 0.75      # Jaccard similarity of content-word sets at or above which two phrasings are one
NEAR_SPELLING = 0.8        # ... or of the character trigrams of their content words run together
_FUNCTION_WORDS = frozenset(
    "a an the my our your their its this that these those i me we you it he she they "
    "to of for on in at by with from about into as and or "
    "is are was were be been am do does did can could should would will shall may might must "
    "how what where when who whom which why please there any some".split())
MIN_WORDS = 3              # shorter messages are not useful examples ("thanks", "help me")
MAX_CHARS = 300            # longer posts are not example questions (the ask is buried in them)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Evidence:
    """One stored turn as the learning step sees it."""

    turn_id: str
    question: str
    asked_at: str              # ISO 8601 UTC
    top_url: str | None        # the section the bot answered with
    up_votes: int = 0
    down_votes: int = 0
    resolved_url: str | None = None   # the section DAPA pointed to when resolving its hand-off
    picked_url: str | None = None     # the section picked with "This answered it" on an unsure reply

    def vouched(self) -> tuple[str, str] | None:
        """(section url, source) this turn is evidence for, or None."""
        if self.resolved_url:
            return self.resolved_url, "resolved"
        if self.picked_url:
            return self.picked_url, "picked"
        if self.top_url and self.up_votes > self.down_votes:
            return self.top_url, "upvote"
        return None


@dataclass
class Suggestion:
    id: str
    url: str
    question: str                           # the most frequent phrasing
    variants: list[str] = field(default_factory=list)   # other phrasings grouped with it, most frequent first
    count: int = 0                          # turns supporting it
    sources: dict[str, int] = field(default_factory=dict)   # {"upvote": n, "resolved": m, "picked": k}
    last_seen: str = ""

    @property
    def phrasings(self) -> list[str]:
        return [self.question, *self.variants]

    def to_json(self) -> dict:
        return {"id": self.id, "url": self.url, "question": self.question, "variants": self.variants,
                "count": self.count, "sources": self.sources, "last_seen": self.last_seen}


@dataclass(frozen=True)
class Skipped:
    personal: int = 0          # turns whose question looked like personal data
    known: int = 0             # turns whose phrasing is already an example, approved or rejected


@dataclass(frozen=True)
class Shape:
    """What near-duplicate detection compares: content words and their character trigrams."""

    words: frozenset[str]
    trigrams: frozenset[str]


def shape(text: str) -> Shape:
    content = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
               for w in _WORD.findall(text.casefold()) if w not in _FUNCTION_WORDS]
    run = "".join(content)
    return Shape(frozenset(content), frozenset(run[i:i + 3] for i in range(len(run) - 2)))


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def phrasing_key(text: str) -> str:
    """The form phrasings are compared, stored and remembered by: case-folded words in order."""
    return " ".join(_WORD.findall(text.casefold()))


def similar(a: Shape, b: Shape, threshold: float = NEAR_DUPLICATE) -> bool:
    return _jaccard(a.words, b.words) >= threshold or _jaccard(a.trigrams, b.trigrams) >= NEAR_SPELLING


def suggestion_id(url: str, question: str) -> str:
    return hashlib.sha256(f"{url}\n{phrasing_key(question)}".encode()).hexdigest()[:8]


def suggest(evidence: Iterable[Evidence], known: dict[str, Iterable[str]] | None = None,
            names: Iterable[str] = (), vocabulary: Iterable[str] | None = None,
            threshold: float = NEAR_DUPLICATE) -> tuple[list[Suggestion], Skipped]:
    """-> (suggestions ranked by support, what was skipped).

    ``known``: {section url: phrasings not to propose again for it} (existing examples, approved and
    rejected ones). ``names`` / ``vocabulary``: for ``privacy.personal_data``."""
    vocabulary = None if vocabulary is None else frozenset(vocabulary)
    names = tuple(names)
    known_shapes = {url: [shape(t) for t in texts] for url, texts in (known or {}).items()}
    # url -> phrasing key -> [count, sources, last_seen, {text: count}]
    tally: dict[str, dict[str, list]] = {}
    personal = already = 0
    for ev in evidence:
        vouched = ev.vouched()
        if vouched is None:
            continue
        url, source = vouched
        text = " ".join(ev.question.split())
        key = phrasing_key(text)
        if len(key.split()) < MIN_WORDS or len(text) > MAX_CHARS:
            continue
        if personal_data(text, names, vocabulary) is not None:
            personal += 1
            continue
        if any(similar(shape(text), k, threshold) for k in known_shapes.get(url, ())):
            already += 1
            continue
        entry = tally.setdefault(url, {}).setdefault(key, [0, {}, "", {}])
        entry[0] += 1
        entry[1][source] = entry[1].get(source, 0) + 1
        entry[2] = max(entry[2], ev.asked_at)
        entry[3][text] = entry[3].get(text, 0) + 1

    out: list[Suggestion] = []
    for url, phrasings in tally.items():
        groups: list[tuple[Shape, list[tuple[str, list]]]] = []
        for key, entry in sorted(phrasings.items(), key=lambda kv: (-kv[1][0], kv[0])):
            w = shape(key)
            for lead, members in groups:
                if similar(w, lead, threshold):
                    members.append((key, entry))
                    break
            else:
                groups.append((w, [(key, entry)]))
        for _, members in groups:
            texts = [max(entry[3].items(), key=lambda tc: (tc[1], -len(tc[0])))[0] for _, entry in members]
            sources: dict[str, int] = {}
            for _, entry in members:
                for s, n in entry[1].items():
                    sources[s] = sources.get(s, 0) + n
            out.append(Suggestion(id=suggestion_id(url, texts[0]), url=url, question=texts[0], variants=texts[1:],
                                  count=sum(entry[0] for _, entry in members), sources=sources,
                                  last_seen=max(entry[2] for _, entry in members)))
    out.sort(key=lambda s: (-s.count, _neg(s.last_seen), s.url, s.question))
    return out, Skipped(personal, already)


def _neg(timestamp: str) -> tuple:
    return tuple(-ord(c) for c in timestamp)
