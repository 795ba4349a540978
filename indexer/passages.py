"""The best passage of a section for a question: the units (sentences, list items, table-row
sentences) that match the question's terms best, extended to a few hundred characters."""

from __future__ import annotations

import math
from typing import NamedTuple

from indexer.model import Section
from indexer.text import content_terms, sentences

MAX_CHARS = 600


class Unit(NamedTuple):
    text: str              # plain text
    md: str                # Teams-safe Markdown
    terms: frozenset[str]  # content stems
    item: bool             # a list item (steps and criteria read best together)


def section_units(section: Section) -> list[Unit]:
    """A section's units: paragraphs longer than half a passage are split into sentences; list
    items stay whole unless longer than a passage."""
    units = []
    for text, md in zip(section.lines, section.display):
        item = md.startswith("- ")
        if len(text) > (MAX_CHARS if item else MAX_CHARS // 2):
            ts, ms = sentences(text), sentences(md)
            if len(ts) == len(ms) and len(ts) > 1:
                units.extend(Unit(t, m, frozenset(content_terms(t)), item) for t, m in zip(ts, ms))
                continue
        units.append(Unit(text, md, frozenset(content_terms(text)), item))
    return units


def best_passage(units: list[Unit], question_terms: set[str], idf: dict[str, float] | None = None,
                 max_chars: int = MAX_CHARS) -> tuple[str, str]:
    """-> (markdown passage, plain passage): the best-matching unit (the largest sum of ``idf`` over the
    question's terms it contains; ``Index.search`` passes the body field's BM25 idf, a term without one
    weighs 1), preceded by its lead-in when it is a list item after a line ending in ":", followed by
    neighbours up to ``max_chars``."""
    if not units:
        return "", ""
    weights = idf or {}
    # fsum: the exact sum, whatever order the set yields the terms in (it changes with PYTHONHASHSEED), so units
    # whose matched terms weigh the same tie exactly and the first of them wins in every process
    scores = [0 if u.terms.isdisjoint(question_terms) else
              math.fsum(weights.get(t, 1.0) for t in u.terms & question_terms) for u in units]
    return passage_around(units, scores, scores.index(max(scores)), max_chars)   # the first of the best


def passage_around(units: list[Unit], scores: list[float], best: int, max_chars: int = MAX_CHARS) -> tuple[str, str]:
    """-> (markdown, plain) passage around unit ``best``: its lead-in when it is a list item after a line
    ending in ":", then following units up to ``max_chars`` (past the best, unmatched units only within its
    list or until half of ``max_chars``)."""
    start = best - 1 if best > 0 and units[best - 1].text.endswith(":") and len(units[best - 1].text) < 200 else best
    chosen = [start]
    length = len(units[start].text)
    for i in range(start + 1, len(units)):
        same_list = units[i].item and units[i - 1].item
        if length + len(units[i].text) > max_chars or (
                i > best and scores[i] == 0 and not same_list and length >= max_chars // 2):
            break
        chosen.append(i)
        length += len(units[i].text)
    return "\n".join(units[i].md for i in chosen), "\n".join(units[i].text for i in chosen)
