"""The best passage of a section for a question: the lines (sentences, list items, table-row
sentences) that match the question's terms best, extended to a few hundred characters."""

from __future__ import annotations

from indexer.model import Section
from indexer.text import content_terms, sentences

MAX_CHARS = 420


def _units(section: Section) -> list[tuple[str, str, bool]]:
    """(plain text, markdown, is_list_like) units; long paragraphs split into sentences."""
    units = []
    for text, md in zip(section.lines, section.display):
        if len(text) > MAX_CHARS // 2:
            ts, ms = sentences(text), sentences(md)
            if len(ts) == len(ms) and len(ts) > 1:
                units.extend((t, m, False) for t, m in zip(ts, ms))
                continue
        units.append((text, md, not text.endswith((".", ":")) or len(text) < 120))
    return units


def best_passage(section: Section, question_terms: set[str], idf: dict[str, float] | None = None,
                 max_chars: int = MAX_CHARS) -> tuple[str, str]:
    """-> (markdown passage, plain passage). Never empty for a non-empty section."""
    units = _units(section)
    if not units:
        return "", ""
    weights = idf or {}

    def unit_score(i: int) -> float:
        terms = set(content_terms(units[i][0]))
        return sum(weights.get(t, 1.0) for t in terms & question_terms)

    scores = [unit_score(i) for i in range(len(units))]
    best = max(range(len(units)), key=lambda i: (scores[i], -i)) if any(scores) else 0
    start = best
    # A list item reads better after its lead-in ("Open data is data that is:").
    if best > 0 and units[best - 1][0].endswith(":") and len(units[best - 1][0]) < 200:
        start = best - 1
    chosen = [start]
    length = len(units[start][0])
    i = start + 1
    while i < len(units) and length + len(units[i][0]) <= max_chars:
        if i > best and scores[i] == 0 and length >= max_chars // 2:
            break
        chosen.append(i)
        length += len(units[i][0])
        i += 1
    plain = "\n".join(units[i][0] for i in chosen)
    md = "\n".join(units[i][1] for i in chosen)
    return md, plain
