"""How an answer is chosen: answer, answer with alternatives, or escalate to DAPA (framework-free).

``decide(question, index) -> Decision`` is the single decision path: the Teams reply, ``python -m bot
ask`` and the evaluation all call it.

1. Messages that are not questions are recognised first (``bot.decision.intents``): greetings, thanks and help
   are answered without a search; "talk to a person" hands off to DAPA directly; requests for the bot
   to *do* something (grant access, reset a password) escalate, because only a person can.
2. Otherwise the handbook is searched once and the evidence read from the search result
   (``bot.decision.evidence``): how much of the question's weighted content the best hits contain
   (``matched``), the top score, and how much of the question the handbook never talks about
   (``unknown``). A raw score threshold alone separates in-scope from out-of-scope questions poorly,
   so a linear combination of the three is used:
       confidence = bias + Σ weights[f] * feature_f;   escalate when confidence < escalate_below.
   The weights and threshold are fitted by ``benchmarks/calibrate_decision.py`` on the dev sets and
   stored in ``bot/decision/params.json`` (``DecisionParams``); re-run it after the ranker changes.
3. An answer gets alternatives when the runner-up is on another page and nearly tied, and up to two
   "Also see" links to other relevant sections. An escalation shows the closest sections when they
   are reasonable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.decision.evidence import Evidence, gather
from bot.decision.intents import detect_intent
from bot.decision.kinds import Intent, Kind, Reason
from indexer.model import Hit

if TYPE_CHECKING:
    from indexer.index import Index

PARAMS_FILE = Path(__file__).with_name("params.json")
ALTERNATIVE_RATIO = 0.92   # runner-up on another page scoring >= this share of the top: show both
ALSO_SEE_RATIO = 0.60      # other sections scoring >= this share of the top are worth a link
MAX_ALSO_SEE = 2
SEARCH_DEPTH = 8
MAX_QUESTION_CHARS = 500


@dataclass(frozen=True)
class DecisionParams:
    """The fitted part of the decision, stored in ``params.json`` by ``benchmarks/calibrate_decision.py``."""

    weights: dict[str, float]   # feature name -> weight of the linear confidence
    bias: float
    escalate_below: float       # escalate when confidence < this
    closest_min_score: float    # an escalation shows closest sections scoring at least this

    @classmethod
    def load(cls, path: str | Path = PARAMS_FILE) -> DecisionParams:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls({k: float(v) for k, v in data["weights"].items()}, float(data["bias"]),
                   float(data["escalate_below"]), float(data["closest_min_score"]))

    def to_json(self) -> dict:
        return {"weights": self.weights, "bias": self.bias, "escalate_below": self.escalate_below,
                "closest_min_score": self.closest_min_score}


@cache
def fitted_params() -> DecisionParams:
    """The shipped parameters (``params.json``), read once on first use."""
    return DecisionParams.load()


@dataclass(frozen=True)
class Decision:
    kind: Kind
    question: str                       # the question as searched (cleaned, truncated)
    best: Hit | None = None             # the answer (None unless kind is an answer)
    alternatives: tuple[Hit, ...] = ()  # near-tied answers on other pages (Kind.ALTERNATIVES)
    also_see: tuple[Hit, ...] = ()      # other relevant sections (answers), or the closest sections (escalate)
    reason: Reason | None = None
    confidence: float | None = None
    evidence: Evidence | None = field(default=None, compare=False)
    truncated: bool = False

    @property
    def escalates(self) -> bool:
        return self.kind.escalates

    @property
    def answers(self) -> tuple[Hit, ...]:
        """What the reply shows, best first: the answer, alternatives, also-see / closest sections."""
        return ((self.best,) if self.best else ()) + self.alternatives + self.also_see


def clean_question(text: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, bool]:
    """Collapse whitespace and drop control characters; cut to ``limit`` chars -> (text, truncated)."""
    text = "".join(ch if ch.isprintable() else " " for ch in text or "")
    text = " ".join(text.split())
    if len(text) <= limit:
        return text, False
    return text[:limit].rsplit(" ", 1)[0] or text[:limit], True


def confidence(evidence: Evidence, params: DecisionParams | None = None) -> float:
    params = params or fitted_params()
    features = evidence.features()
    return params.bias + sum(params.weights[name] * features[name] for name in params.weights)


_SMALL_TALK = {Intent.GREETING: (Kind.GREETING, Reason.GREETING), Intent.THANKS: (Kind.THANKS, Reason.THANKS),
               Intent.HELP: (Kind.HELP, Reason.HELP), Intent.HANDOFF: (Kind.HANDOFF, Reason.ASKED_FOR_PERSON)}


def decide(question: str, index: Index, max_chars: int = MAX_QUESTION_CHARS,
           params: DecisionParams | None = None) -> Decision:
    """Decide how to reply to ``question``: one ``index.search``, whose value is all the decision reads."""
    params = params or fitted_params()
    text, truncated = clean_question(question, max_chars)
    intent = detect_intent(text)
    if intent in _SMALL_TALK:
        kind, reason = _SMALL_TALK[intent]
        return Decision(kind, text, reason=reason, truncated=truncated)

    result = index.search(text, SEARCH_DEPTH)
    hits = result.hits
    evidence = gather(result)
    score = confidence(evidence, params)
    if intent is Intent.ACTION or not hits or score < params.escalate_below:
        closest = tuple(h for h in hits[:MAX_ALSO_SEE] if h.score >= params.closest_min_score)
        reason = Reason.ACTION_REQUEST if intent is Intent.ACTION else Reason.OUTSIDE_HANDBOOK
        return Decision(Kind.ESCALATE, text, also_see=closest, reason=reason, confidence=score,
                        evidence=evidence, truncated=truncated)

    best, rest = hits[0], hits[1:]
    alternatives = tuple(h for h in rest[:1]
                         if h.section.page_url != best.section.page_url and h.score >= ALTERNATIVE_RATIO * best.score)
    shown = {best.section.url, *(h.section.url for h in alternatives)}
    also = []
    for h in rest:
        if len(also) + len(alternatives) >= MAX_ALSO_SEE or h.score < ALSO_SEE_RATIO * best.score:
            break
        if h.section.url not in shown:
            also.append(h)
            shown.add(h.section.url)
    kind, reason = (Kind.ALTERNATIVES, Reason.NEAR_TIE) if alternatives else (Kind.ANSWER, Reason.CONFIDENT)
    return Decision(kind, text, best, alternatives, tuple(also), reason, score, evidence, truncated)
