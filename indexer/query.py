"""What a question asks: the ask sentence(s) of a post and how specific each of its terms is.

Employees post in a channel the way they talk: who they are, what happened, then the ask — sometimes
first, sometimes buried, sometimes two. ``understand(text, ...)`` returns a ``ParsedQuery`` value:

- ``text``: the post, whitespace collapsed (up to ``MAX_POST_CHARS``, Teams' message size; a longer post
  keeps its opening and its end, the ask is most often last);
- ``sentences`` and ``ask``: the indices of the ask sentences — every sentence that is a question (ends
  in "?" or opens like one), or when none is, the one with the most specific terms; a post of one
  sentence is its own ask;
- ``terms``: analyzer terms of the whole post -> weight; ``ask_terms``: the same for the ask only.
  A term's weight is its *specificity* in general English: ``specificity(zipf)`` of its most common
  surface word (``wordfreq``'s Zipf scale, looked up once per indexed word at build time,
  ``english_zipf``); the index's
  own idf then weighs it against the handbook inside BM25.

Pure functions over plain data; nothing here reads files.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from indexer.text import Analyzer, fold, stem

MAX_POST_CHARS = 28_000       # Teams' limit on a message's text is about 28 KB
HEAD_CHARS = 1_500            # a post longer than LONG_POST_CHARS keeps this much of its start ...
TAIL_CHARS = 2_500            # ... and this much of its end, plus every question sentence between
LONG_POST_CHARS = 5_000
MAX_SENTENCES = 80
ZIPF_COMMON = 6.0             # "the", "have": specificity floor
ZIPF_RARE = 2.5               # "datasync", "custodian": specificity 1
MIN_SPECIFICITY = 0.15

_SPACES = re.compile(r"[^\S\n]+")
_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*|(?<=[;:])\s+(?=[a-z])")
_OPENS_QUESTION = re.compile(
    r"^\W*(?:(?:so|and|but|also|ok|okay|anyway|basically|quick question|question)\W+)*"
    r"(?:how|what|whats|what's|where|wheres|who|whom|whose|when|which|why|can|could|would|should|shall|is|are|"
    r"am|was|were|do|does|did|will|has|have|any(?:one|body)?|is there|are there|"
    r"(?:i|we)\s+(?:need|want|would like|wanted|am looking|are looking|am trying|are trying)\s+to\s+"
    r"(?:know|find|understand|figure|learn|ask|get|check)|"
    r"looking for|wondering|curious|not sure|unsure|please|pls|help)\b", re.I)


@dataclass(frozen=True)
class ParsedQuery:
    text: str                                        # the post as searched
    sentences: tuple[str, ...]
    ask: tuple[int, ...]                             # indices into ``sentences``
    terms: dict[str, float] = field(default_factory=dict)
    ask_terms: dict[str, float] = field(default_factory=dict)
    specific: dict[str, float] = field(default_factory=dict)      # term -> general-English specificity
    ask_specific: dict[str, float] = field(default_factory=dict)

    @property
    def ask_text(self) -> str:
        return " ".join(self.sentences[i] for i in self.ask)


def is_group(term: str) -> bool:
    """A synonym group's token (``syn12``), not a stem."""
    return term.startswith("syn") and term[3:].isdigit()


def specificity(zipf: float) -> float:
    """General-English specificity in [MIN_SPECIFICITY, 1] from a Zipf frequency (0 = unknown word)."""
    if zipf <= ZIPF_RARE:
        return 1.0
    s = (ZIPF_COMMON - zipf) / (ZIPF_COMMON - ZIPF_RARE)
    return max(MIN_SPECIFICITY, min(1.0, s))


def specificity_table(zipf: dict[str, float]) -> dict[str, float]:
    """stem -> ``specificity`` of its Zipf frequency, for the stems that are not synonym groups (a group's
    token, and a stem the table lacks, has specificity 1)."""
    return {t: specificity(z) for t, z in zipf.items() if not is_group(t)}


def clip_post(text: str) -> str:
    """Whitespace collapsed; a post longer than LONG_POST_CHARS keeps its head, its tail and the question
    sentences between them (in order), so the ask is never lost."""
    text = text or ""
    if len(text) > LONG_POST_CHARS:   # bounded work on any size: head, a middle of at most MAX_POST_CHARS, tail
        text = text[:HEAD_CHARS] + text[HEAD_CHARS:-TAIL_CHARS][:MAX_POST_CHARS] + "\n" + text[-TAIL_CHARS:]
    text = _SPACES.sub(" ", text.replace("\r", "\n")).strip()
    if len(text) <= LONG_POST_CHARS:
        return text
    head, middle, tail = text[:HEAD_CHARS], text[HEAD_CHARS:-TAIL_CHARS], text[-TAIL_CHARS:]
    asks = [s for s in split_sentences(middle) if is_question(s)][-10:]
    return "\n".join([head, *asks, tail])


def split_sentences(text: str) -> list[str]:
    """Sentences of a post: at ``.!?`` followed by space (any case: posts are often lower-case), line
    breaks, and ``;``/``:`` before a lower-case clause."""
    return [s.strip() for s in _SPLIT.split(text) if s and s.strip() and any(c.isalnum() for c in s)]


def is_question(sentence: str) -> bool:
    s = sentence.rstrip()
    return s.endswith("?") or bool(_OPENS_QUESTION.match(s))


def find_ask(sentences: list[str], weight_of) -> tuple[int, ...]:
    """Indices of the ask sentences: the questions (at most the last three), else the sentence with the
    most specific terms (``weight_of(sentence) -> float``); all of a post of one sentence."""
    if len(sentences) <= 1:
        return tuple(range(len(sentences)))
    marked = [i for i, s in enumerate(sentences) if s.rstrip().endswith("?")]
    if not marked:
        marked = [i for i, s in enumerate(sentences) if _OPENS_QUESTION.match(s)]
    if marked:
        return tuple(marked[-3:])
    weights = [weight_of(s) for s in sentences]
    return (max(range(len(sentences)), key=lambda i: (weights[i], i)),)


def understand(text: str, analyzer: Analyzer, zipf: dict[str, float], ask_boost: float = 1.0,
               alpha: float = 1.0, gap: int = 3, specificities: dict[str, float] | None = None) -> ParsedQuery:
    """-> ParsedQuery. ``zipf``: stem -> Zipf frequency of its most common surface word (the index's table;
    absent = rare). ``alpha`` sharpens specificity (0 = every term weighs 1); an ask term's weight is
    multiplied by ``1 + ask_boost`` when the ask is a part of the post. ``gap``: words allowed inside a
    multi-word synonym ("take the table down"). ``specificities``: ``specificity_table(zipf)``, if at hand."""
    text = clip_post(text)
    sentences = split_sentences(text)[-MAX_SENTENCES:] if text else []

    def specific(terms: list[str]) -> dict[str, float]:
        if specificities is not None:
            return {t: specificities.get(t, 1.0) for t in dict.fromkeys(terms)}
        return {t: 1.0 if is_group(t) else specificity(zipf.get(t, 0.0)) for t in dict.fromkeys(terms)}

    def weigh(spec: dict[str, float]) -> dict[str, float]:
        return {t: 1.0 if alpha == 0 else w ** alpha for t, w in spec.items()}

    spec = specific(analyzer(text, gap))
    terms = weigh(spec)
    if len(sentences) <= 1:
        return ParsedQuery(text, tuple(sentences), tuple(range(len(sentences))), terms, dict(terms), spec, spec)
    def known_weight(sentence: str) -> float:
        return sum(spec.get(t, 0.0) for t in set(analyzer(sentence, gap)) if t in zipf or is_group(t))

    ask = find_ask(sentences, known_weight)
    ask_spec = specific(analyzer(" ".join(sentences[i] for i in ask), gap))
    ask_terms = weigh(ask_spec)
    if ask_boost and len(ask) < len(sentences):
        terms = {t: w * (1.0 + ask_boost) if t in ask_terms else w for t, w in terms.items()}
    return ParsedQuery(text, tuple(sentences), ask, terms, ask_terms, spec, ask_spec)


def zipf_table(surface: set[str]) -> dict[str, float]:
    """stem -> the largest general-English Zipf frequency among the word tokens ``surface`` with that stem
    (0 for words rarer than the list's cut-off, about Zipf 3). Computed once at build time."""
    general = english_zipf()
    out: dict[str, float] = {}
    for w in surface:
        s = stem(w)
        z = general.get(w, 0.0)
        if z > out.get(s, -1.0):
            out[s] = z
    return out


@lru_cache(maxsize=1)
def english_zipf() -> dict[str, float]:
    """word -> Zipf frequency from ``wordfreq``'s small English list (its ``cB`` buckets: bucket ``i`` holds
    the words of frequency 10^(-i/100), Zipf 9 - i/100). The data file is read directly (gzip + msgpack,
    about 20 ms) instead of importing ``wordfreq``, whose import costs about a second of build time. An
    install without wordfreq treats every word as specific."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "small_en.msgpack.gz"
    try:
        import msgpack

        with gzip.open(path, "rb") as f:
            buckets = msgpack.load(f, raw=False)
    except (OSError, ValueError, ImportError):
        return {}
    out: dict[str, float] = {}
    for i, bucket in enumerate(buckets[1:]):
        for word in bucket:
            out.setdefault(fold(word), 9.0 - i / 100.0)
    return out
