"""Text analysis shared by indexing and querying: tokens, stop words, stems, synonyms.

``Analyzer(synonyms)`` is the analyzer handed to scikit-learn's vectorizers (text -> terms), so a
question and a page go through exactly the same steps.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import snowballstemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Words scikit-learn calls stop words that carry meaning in a handbook about publishing data.
_DOMAIN_WORDS = {
    "describe", "detail", "name", "system", "find", "first", "last", "empty", "fill", "full", "part",
    "move", "show", "top", "call", "found", "interest", "bill", "computer", "amount", "back", "front",
    "bottom", "side", "new", "old", "less", "more", "most", "least", "never", "always", "own",
}
# Question filler: "how do I ...", "can you tell me ...".
_FILLER = {
    "hi", "hey", "hello", "please", "thanks", "thank", "know", "tell", "want", "need", "like", "just",
    "way", "ways", "does", "did", "doing", "done", "im", "ive", "id", "youre", "dont", "cant", "wont",
    "whats", "hows", "wheres", "whos", "let", "lets", "possible", "able", "really", "actually", "anyone",
    "guys", "team", "question", "questions", "help", "trying", "try", "going", "gonna", "wanna", "ok",
    "okay", "sure", "thing", "things", "stuff", "exactly", "kind", "sort", "say", "says", "said", "mean",
    "means", "look", "looking",
}
STOP_WORDS = frozenset((ENGLISH_STOP_WORDS - _DOMAIN_WORDS) | _FILLER)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[*_]?[A-Z0-9])")
_COMPOUND_SEP = re.compile(r"[-.]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"[0-9a-z]+(?:[-.'’][0-9a-z]+)*")
_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lowercase and strip accents."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.lower())
    return _NON_ASCII.sub(_strip_combining, text)   # combining marks are never ASCII: only look at the rest


def _strip_combining(run: re.Match) -> str:
    return "".join(ch for ch in run.group() if not unicodedata.combining(ch))


def sentences(text: str) -> list[str]:
    """Split a paragraph at sentence ends (a ``.!?`` followed by space and a capital or digit)."""
    return _SENTENCE_END.split(text)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """Folded word tokens; a compound (``plug-ins``, ``data.ct.gov``, ``4-67p``) yields its parts and
    their concatenation (``plugins``), so either spelling matches."""
    return list(_words(text))


@lru_cache(maxsize=64)   # a question is split several times on its way (typos, terms, ask, evidence)
def _words(text: str) -> tuple[str, ...]:
    out = []
    for tok in _TOKEN.findall(fold(text)):
        if tok.isalnum():
            out.append(tok)
            continue
        tok = tok.replace("’", "'").split("'")[0]
        parts = _COMPOUND_SEP.split(tok)
        if len(parts) > 1:
            out.append("".join(parts))
        out.extend(p for p in parts if p)
    return tuple(out)


def content_terms(text: str) -> list[str]:
    """Stems of the non-stop words of ``text``, in order."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]


class Synonyms:
    """Groups of equivalent phrases. A phrase found in a text adds the group's token ``syn<i>``."""

    def __init__(self, groups: list[list[str]]):
        self.groups = groups
        self._phrases: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for gid, group in enumerate(groups):
            for phrase in group:
                stems = tuple(stem(w) for w in words(phrase))
                if stems:
                    self._phrases.setdefault(stems[0], []).append((stems, gid))
        for options in self._phrases.values():
            options.sort(key=lambda o: -len(o[0]))

    @classmethod
    def load(cls, path: str | Path | None) -> Synonyms:
        """Read a synonyms file: one comma-separated group per line, ``#`` comments."""
        if path is None or not Path(path).is_file():
            return cls([])
        groups = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                group = [p.strip() for p in line.split(",") if p.strip()]
                if len(group) > 1:
                    groups.append(group)
        return cls(groups)

    def tokens(self, stems: list[str], gap: int = 0) -> list[str]:
        """Group tokens for every phrase occurring in a sequence of (all, unfiltered) stems. With
        ``gap`` > 0 the words of a phrase may be up to ``gap`` words apart ("take the old table down"
        matches "take down"), in order."""
        phrases, found = self._phrases, []
        for i in [i for i, s in enumerate(stems) if s in phrases]:   # where a phrase may start
            for phrase, gid in phrases[stems[i]]:
                if tuple(stems[i:i + len(phrase)]) == phrase or (gap and _spread_match(stems, i, phrase, gap)):
                    found.append(f"syn{gid}")
                    break
        return found


def _spread_match(stems: list[str], start: int, phrase: tuple[str, ...], gap: int) -> bool:
    """``phrase`` occurs from ``stems[start]`` on, each next word at most ``gap`` words after the last."""
    at = start
    for word in phrase[1:]:
        window = stems[at + 1:at + 2 + gap]
        if word not in window:
            return False
        at += 1 + window.index(word)
    return True


class Analyzer:
    """Callable analyzer: text -> stems of content words + their bigrams + synonym group tokens.

    Plain data (it is stored inside the index by ``indexer.state``).
    """

    def __init__(self, synonyms: Synonyms, bigrams: bool = True):
        self.synonyms = synonyms
        self.bigrams = bigrams

    def __call__(self, text: str, gap: int = 0) -> list[str]:
        found = words(text)
        all_stems = [stem(w) for w in found]
        terms = [s for w, s in zip(found, all_stems) if w not in STOP_WORDS]   # content_terms(text)
        out = list(terms)
        if self.bigrams:
            out.extend(f"{a} {b}" for a, b in zip(terms, terms[1:]))
        out.extend(self.synonyms.tokens(all_stems, gap))
        return out
