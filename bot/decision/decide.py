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
       confidence = BIAS + Σ WEIGHTS[f] * feature_f;   escalate when confidence < ESCALATE_BELOW.
   The weights and threshold are fitted by ``benchmarks/calibrate_decision.py`` on the dev sets and
   written into the CALIBRATED block below; re-run it after the ranker changes.
3. An answer gets alternatives when the runner-up is on another page and nearly tied, and up to two
   "Also see" links to other relevant sections. An escalation shows the closest sections when they
   are reasonable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.decision.evidence import Evidence, gather
from bot.decision.intents import detect_intent
from indexer.model import Hit

if TYPE_CHECKING:
    from indexer.index import Index

# BEGIN CALIBRATED (written by benchmarks/calibrate_decision.py; do not edit by hand)
WEIGHTS = {'matched': 2.532, 'top_score': 1.323, 'unknown': -1.012}
BIAS = -1.553
ESCALATE_BELOW = -0.292
CLOSEST_MIN_SCORE = 0.298
# END CALIBRATED

ALTERNATIVE_RATIO = 0.92   # runner-up on another page scoring >= this share of the top: show both
ALSO_SEE_RATIO = 0.60      # other sections scoring >= this share of the top are worth a link
MAX_ALSO_SEE = 2
SEARCH_DEPTH = 8
MAX_QUESTION_CHARS = 500

ANSWER, ALTERNATIVES, ESCALATE, HANDOFF = "answer", "answer_with_alternatives", "escalate", "handoff"
SMALL_TALK = ("greeting", "thanks", "help")


@dataclass(frozen=True)
class Decision:
    kind: str                           # answer | answer_with_alternatives | escalate | handoff | greeting|thanks|help
    question: str                       # the question as searched (cleaned, truncated)
    best: Hit | None = None             # the answer (None unless kind is an answer)
    alternatives: tuple[Hit, ...] = ()  # near-tied answers on other pages (answer_with_alternatives)
    also_see: tuple[Hit, ...] = ()      # other relevant sections (answers), or the closest sections (escalate)
    reason: str = ""                    # why: "confident" | "near tie" | "outside handbook" | "action request" ...
    confidence: float | None = None
    evidence: Evidence | None = field(default=None, compare=False)
    truncated: bool = False

    @property
    def escalates(self) -> bool:
        return self.kind in (ESCALATE, HANDOFF)

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


def confidence(evidence: Evidence) -> float:
    features = evidence.features()
    return BIAS + sum(WEIGHTS[name] * features[name] for name in WEIGHTS)


def decide(question: str, index: Index, max_chars: int = MAX_QUESTION_CHARS) -> Decision:
    """Decide how to reply to ``question``: one ``index.search``, whose value is all the decision reads."""
    text, truncated = clean_question(question, max_chars)
    intent = detect_intent(text)
    if intent in SMALL_TALK:
        return Decision(intent, text, reason=intent, truncated=truncated)
    if intent == "handoff":
        return Decision(HANDOFF, text, reason="asked for a person", truncated=truncated)

    result = index.search(text, SEARCH_DEPTH)
    hits = result.hits
    evidence = gather(result)
    score = confidence(evidence)
    if intent == "action" or not hits or score < ESCALATE_BELOW:
        closest = tuple(h for h in hits[:MAX_ALSO_SEE] if h.score >= CLOSEST_MIN_SCORE)
        reason = "action request" if intent == "action" else "outside handbook"
        return Decision(ESCALATE, text, also_see=closest, reason=reason, confidence=score,
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
    kind, reason = (ALTERNATIVES, "near tie") if alternatives else (ANSWER, "confident")
    return Decision(kind, text, best, alternatives, tuple(also), reason, score, evidence, truncated)
