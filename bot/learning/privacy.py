"""What looks like personal data in a question: such a question is never proposed as an example.

Generic patterns (e-mail addresses, phone numbers, long digit runs such as account or social security
numbers, Teams @mentions, a capitalised "First Last" pair inside a sentence) and a list of names the
DAPA team keeps in ``knowledge/personal_names.txt`` (one name per line, ``#`` comments). Errs on the
side of skipping: a question wrongly skipped costs one suggestion, a name in ``knowledge/`` costs more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

NAMES_FILE = "personal_names.txt"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_AT_HANDLE = re.compile(r"(^|\s)@\w{2,}")
_MENTION = re.compile(r"<at>|</at>", re.I)
# 7+ digits with the separators phone numbers use: 555-1234, (860) 555-0100, +1 860 555 0100, 860.555.0100
_PHONE = re.compile(r"(?<!\w)(\+?\d[\s.()-]*){7,}(?!\w)")
_LONG_NUMBER = re.compile(r"\d{7,}")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
# Two capitalised words in a row that do not start the sentence ("ask Jane Doe about ..."). Acronyms
# (all capitals) and words after sentence punctuation do not count.
_CAPITALISED = r"([A-Z][a-z]+(?:[-'][A-Z][a-z]+)?)"
_NAME_PAIR = re.compile(rf"(?<![.!?:]\s)(?<=\s){_CAPITALISED}\s+{_CAPITALISED}")
_ANY_PAIR = re.compile(rf"(?<![\w'-]){_CAPITALISED}\s+{_CAPITALISED}")


def load_names(path: str | Path | None) -> frozenset[str]:
    """Case-folded names from a names file (missing file: none)."""
    if path is None or not Path(path).is_file():
        return frozenset()
    names = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(" ".join(line.split()).casefold())
    return frozenset(names)


def personal_data(text: str, names: Iterable[str] = (), vocabulary: Iterable[str] | None = None) -> str | None:
    """Why ``text`` looks like it holds personal data ("email", "phone", "number", "mention", "name"), or None.

    ``names``: case-folded names (``load_names``). ``vocabulary``: case-folded words of the handbook; a
    capitalised pair inside a sentence is a name unless both words are the handbook's ("Open Data
    Portal"). Without a vocabulary every such pair counts as a name."""
    if _EMAIL.search(text):
        return "email"
    if _SSN.search(text) or _LONG_NUMBER.search(text):
        return "number"
    if _PHONE.search(text):
        return "phone"
    if _MENTION.search(text) or _AT_HANDLE.search(text):
        return "mention"
    folded = " " + " ".join(re.findall(r"[\w'-]+", text.casefold())) + " "
    for name in names:
        if f" {name} " in folded:
            return "name"
    vocabulary = vocabulary if vocabulary is None or isinstance(vocabulary, (set, frozenset)) else set(vocabulary)
    pairs = _NAME_PAIR if vocabulary is None else _ANY_PAIR   # at a sentence start only words unknown
    for match in _overlapping(pairs, text):
        words = [w.casefold() for w in match.groups()]
        if vocabulary is None or not all(w in vocabulary for w in words):
            return "name"
    return None


def _overlapping(pattern: re.Pattern, text: str):
    """Every match of a two-word pattern, including pairs that share a word ("Open Data Portal")."""
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        yield match
        pos = match.start(2)
