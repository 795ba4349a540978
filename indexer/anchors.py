"""Heading ids exactly as the published site (Jekyll 4, kramdown-parser-gfm) generates them.

See ``../shared/eval/ANCHORS.md``: lowercase, delete every character that is not a word character,
``-``, space or tab, turn each space/tab into ``-`` (no collapsing, no trimming), and number
duplicates on a page ``-1``, ``-2``, ... The first empty id gets no anchor at all.
"""

from __future__ import annotations

import re
import unicodedata

_WORD_CATEGORIES = ("L", "M", "Nd", "Nl", "Pc")
_JOIN_CONTROLS = {"\u200c", "\u200d"}
# kramdown's typographic conversions whose characters are then deleted (<< / >> eat one space).
_TYPOGRAPHIC = re.compile(r"<< |<<| >>|>>|---|--|\.\.\.")


def _is_word_char(ch: str) -> bool:
    if ch in _JOIN_CONTROLS:
        return True
    cat = unicodedata.category(ch)
    return cat in _WORD_CATEGORIES or cat[0] in ("L", "M")


def gfm_slug(text: str) -> str:
    """Base id of a heading's plain text (no duplicate suffix). May be empty."""
    text = _TYPOGRAPHIC.sub("", text).lower()
    kept = "".join(ch for ch in text if ch in "- \t" or _is_word_char(ch))
    return kept.replace(" ", "-").replace("\t", "-")


class AnchorCounter:
    """Assigns ids to the headings of one page in document order, numbering duplicates."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def next_id(self, heading_text: str) -> str | None:
        base = gfm_slug(heading_text)
        n = self._counts.get(base, -1) + 1
        self._counts[base] = n
        if n == 0:
            return base or None
        return f"{base}-{n}"
