"""The question sets of ``../shared/eval``, their fixed folds, and gold -> section mapping.

Nothing is copied: questions are read from ``../shared`` at run time and the scorer is imported from
``../shared/eval/score.py`` (its matching rules are the ones every number here follows).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
IN_SCOPE_SETS = ("train", "train_posts")
OOS_SETS = ("train_oos", "train_posts_oos")
SHORT_WORDS = 12  # a train question of at most this many words counts as "short" for stratification


def shared_dir() -> Path:
    return Path(os.environ.get("HANDBOOK_SHARED", REPO.parent / "shared")).resolve()


@lru_cache(maxsize=4)
def load_scorer(shared: Path | None = None) -> ModuleType:
    """``../shared/eval/score.py`` imported as a module (never copied)."""
    path = (shared or shared_dir()) / "eval" / "score.py"
    spec = importlib.util.spec_from_file_location("handbook_eval_score", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Question:
    """One question of a set. ``gold`` is the raw JSON object (``url``/``anchors``/``faq``/``also`` for in-scope
    questions; out-of-scope ones have none)."""

    id: str
    q: str
    set: str
    gold: dict = field(compare=False, hash=False, repr=False)

    @property
    def in_scope(self) -> bool:
        return "url" in self.gold

    @property
    def style(self) -> str:
        """"post" (channel post set), "short" (≤ SHORT_WORDS words) or "long"."""
        if self.set.startswith("train_posts"):
            return "post"
        return "short" if len(self.q.split()) <= SHORT_WORDS else "long"


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_questions(shared: Path | None = None, sets: tuple[str, ...] = IN_SCOPE_SETS + OOS_SETS) -> list[Question]:
    shared = shared or shared_dir()
    out = []
    for name in sets:
        for item in _read(shared / "eval" / f"{name}.jsonl"):
            out.append(Question(item["id"], item["q"], name, item))
    return out


def assign_folds(questions: list[Question], k: int = 5, seed: int = 20261201) -> list[int]:
    """Fold number (0..k-1) of each question: stratified by set and style, and within a stratum spread
    over the gold pages (sorted by gold URL after a seeded shuffle, then dealt round-robin), so every
    fold holds posts, short and long questions, out-of-scope ones, and most pages."""
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[int]] = {}
    for i, q in enumerate(questions):
        strata.setdefault((q.set, q.style), []).append(i)
    folds = [0] * len(questions)
    offset = 0
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        members.sort(key=lambda i: questions[i].gold.get("url", ""))
        for j, i in enumerate(members):
            folds[i] = (offset + j) % k
        offset += len(members)
    return folds


def gold_sections(sections, question: Question, shared: Path | None = None) -> list[int]:
    """Rows of ``sections`` that exactly answer ``question`` (cached per question and section list)."""
    key = (id(sections), len(sections), question.id, question.set)
    found = _GOLD_CACHE.get(key)
    if found is None or found[0] is not sections:
        found = (sections, _gold_sections(sections, question, shared))
        _GOLD_CACHE[key] = found
    return found[1]


_GOLD_CACHE: dict = {}


def _gold_sections(sections, question: Question, shared: Path | None = None) -> list[int]:
    """Rows of ``sections`` that exactly answer ``question`` by score.py's rules (any target); the row for
    the primary target comes first (the page top when any link to the page is right)."""
    scorer = load_scorer(shared)
    matcher = _matcher(scorer)
    gold = question.gold
    if "url" not in gold:
        return []
    primary, others = [], []
    for i, s in enumerate(sections):
        u = scorer.parse_url(s.url)
        if matcher.target_match(u, gold)[1]:
            primary.append(i)
        elif matcher.match(s.url, gold)[1]:
            others.append(i)
    return primary + others


@lru_cache(maxsize=4)
def _matcher(scorer: ModuleType):
    return scorer.Matcher(scorer.FAQ_QUESTIONS)
