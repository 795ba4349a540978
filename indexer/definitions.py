"""Definition questions ("what is open data?", "what are data stories", "define metadata") and the
sections that answer them: a section *defines* X when one of its sentences says "X is/are …" or
asks "What is X?" (an FAQ question, a callout title, a heading).

Plain TF-IDF ranks such questions poorly: "open data" is in every section, so the one that defines
it does not stand out. The ranker adds a boost for sections that define exactly what was asked.
"""

from __future__ import annotations

import re

import numpy as np

from indexer.model import Section
from indexer.text import content_terms, sentences

MAX_SUBJECT_TERMS = 4
_QUESTION = re.compile(
    r"^\s*(?:what\s+(?:is|are)\s+|whats\s+|what's\s+|define\s+|meaning\s+of\s+|definition\s+of\s+)"
    r"(?:an?\s+|the\s+)?(?P<x>[^?]+?)\s*\??\s*$", re.I)
_WHAT_DOES_MEAN = re.compile(r"^\s*what\s+(?:does|do)\s+(?P<x>.+?)\s+mean\s*\??\s*$", re.I)
_STATEMENT = re.compile(r"^\W*(?:the\s+|an?\s+)?(?P<x>[^.,:;()?!]{2,60}?)\s+(?:is|are|refers\s+to|means)\s+\S", re.I)
_ASKS = re.compile(r"^\W*what\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?P<x>[^?]{2,60}?)\s*\?", re.I)
_ABOUT_PAGE = re.compile(r"^\W*(?:what\s+(?:it|this(?:\s+tool)?)\s+is|overview|introduction)\W*$", re.I)
STATEMENT_SCORE = 0.75  # "X is …" in running text; a heading or question that names X scores 1


def _subject(text: str) -> frozenset[str] | None:
    terms = frozenset(content_terms(text))
    return terms if 0 < len(terms) <= MAX_SUBJECT_TERMS else None


def asked_subject(question: str) -> frozenset[str] | None:
    """Content stems of X in "what is X" / "define X" / "what does X mean", else None."""
    match = _QUESTION.match(question) or _WHAT_DOES_MEAN.match(question)
    return _subject(match.group("x")) if match else None


def defined_subjects(section: Section) -> dict[frozenset[str], float]:
    """Subjects a section defines -> strength: 1 for a heading or question naming X ("What is X?",
    or "What it is" on page X), STATEMENT_SCORE for a sentence "X is …"."""
    found: dict[frozenset[str], float] = {}

    def add(text: str | None, strength: float) -> None:
        subject = _subject(text) if text else None
        if subject:
            found[subject] = max(found.get(subject, 0.0), strength)

    if _ABOUT_PAGE.match(section.heading):
        add(section.page_title, 1.0)
    for text in [section.heading] + [s for line in section.lines for s in sentences(line)]:
        asks = _ASKS.match(text)
        if asks:
            add(asks.group("x"), 1.0)
        else:
            states = _STATEMENT.match(text)
            add(states.group("x") if states else None, STATEMENT_SCORE)
    return found


class Definitions:
    """Which sections define which subjects; ``scores(question)`` -> (n,) in [0, 1], or None when
    the question does not ask for a definition."""

    def __init__(self) -> None:
        self.by_subject: dict[frozenset[str], list[tuple[int, float]]] = {}
        self.n = 0

    def fit(self, sections: list[Section]) -> Definitions:
        self.n = len(sections)
        for i, section in enumerate(sections):
            for subject, strength in defined_subjects(section).items():
                self.by_subject.setdefault(subject, []).append((i, strength))
        return self

    def scores(self, question: str) -> np.ndarray | None:
        asked = asked_subject(question)
        if asked is None:
            return None
        out = np.zeros(self.n)
        for subject, rows in self.by_subject.items():
            if subject == asked:
                factor = 1.0
            elif asked < subject and len(subject) == len(asked) + 1:
                factor = 0.5  # "gateway" -> "Socrata Gateway is …"
            else:
                continue
            for i, strength in rows:
                out[i] = max(out[i], factor * strength)
        return out
