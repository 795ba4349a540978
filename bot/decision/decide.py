"""How an answer is chosen: answer, unsure, or hand-off to DAPA (framework-free).

``decide(question, index) -> Decision`` is the single decision path: the Teams reply, ``python -m bot
ask`` and the evaluation all call it.

1. Messages that are not handbook questions are recognised first (``bot.decision.intents``): greetings,
   thanks and help are answered without a search; a message with no words (only emoji, only a link) or
   not in English gets a clear "ask me in words / in English" reply; "talk to a person" and requests for
   the bot to *do* something (grant access, reset a password) hand off directly.
2. Otherwise the handbook is searched, the evidence gathered (``bot.decision.evidence``: generic features
   of the result and the question) and the hand-off model (``bot.decision.handoff``, parameters in
   ``params.json``, refitted by ``make train``) gives the probability that the handbook answers the
   question with its best section. Two thresholds, chosen by cross-validation, make three honest tiers:
   - *answer*: confident; the reply leads with the section, plus near-tied alternatives on another
     page and "also see" links (at most three sections in all);
   - *unsure*: "I'm not sure the handbook covers this — these sections come closest": up to three
     sections and the hand-off to DAPA in the same reply;
   - *handoff*: nothing relevant; DAPA only.
   A question that is one of a section's example questions (``knowledge/examples.toml`` or approved from
   use, same words up to stop words, order and inflection) is answered with that section: the DAPA team
   said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.decision.evidence import Evidence, gather
from bot.decision.handoff import HandoffModel, default_model
from bot.decision.intents import detect_intent
from bot.decision.kinds import Intent, Kind, Reason
from indexer.model import Hit

if TYPE_CHECKING:
    from indexer.index import Index

ALTERNATIVE_RATIO = 0.92   # runner-up on another page scoring >= this share of the top: "or did you mean"
MAX_SHOWN = 3              # sections a reply shows at most (answer + alternatives + also see; or closest)
SEARCH_DEPTH = 8
MAX_QUESTION_CHARS = 4000  # longer messages keep their start and their end (where the ask usually is)
HEAD_SHARE = 0.25          # of MAX_QUESTION_CHARS kept from the start of a longer message

ANSWER, UNSURE, HANDOFF = Kind.ANSWER, Kind.UNSURE, Kind.HANDOFF


@dataclass(frozen=True)
class Decision:
    kind: Kind
    question: str                       # the question as searched (cleaned, shortened)
    best: Hit | None = None             # the answer (kind answer only)
    alternatives: tuple[Hit, ...] = ()  # near-tied answers on other pages (kind answer)
    also_see: tuple[Hit, ...] = ()      # other relevant sections (answer), or the closest sections (unsure)
    reason: Reason | None = None
    probability: float | None = None    # hand-off model: P(the handbook answers with the top section)
    evidence: Evidence | None = field(default=None, compare=False)
    truncated: bool = False

    @property
    def escalates(self) -> bool:
        """The reply offers the hand-off to DAPA (unsure or hand-off)."""
        return self.kind.escalates

    @property
    def answers(self) -> tuple[Hit, ...]:
        """The sections the reply shows, in order: the answer, alternatives, also see / closest sections."""
        return ((self.best,) if self.best else ()) + self.alternatives + self.also_see


_WITHOUT_SEARCH = {
    Intent.GREETING: (Kind.GREETING, Reason.GREETING), Intent.THANKS: (Kind.THANKS, Reason.THANKS),
    Intent.HELP: (Kind.HELP, Reason.HELP), Intent.UNCLEAR: (Kind.UNCLEAR, Reason.UNCLEAR),
    Intent.NOT_ENGLISH: (Kind.NOT_ENGLISH, Reason.NOT_ENGLISH),
    Intent.HANDOFF: (Kind.HANDOFF, Reason.ASKED_FOR_PERSON), Intent.ACTION: (Kind.HANDOFF, Reason.ACTION_REQUEST),
}


def clean_question(text: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, bool]:
    """Collapse whitespace and drop control characters; a text over ``limit`` chars keeps its start and
    its end (joined by " … ") -> (text, shortened)."""
    parts = (text or "").split()
    if not all(p.isprintable() for p in parts):   # else every unprintable character was whitespace
        parts = "".join(ch if ch.isprintable() else " " for ch in text).split()
    text = " ".join(parts)
    if len(text) <= limit:
        return text, False
    head_len = int(limit * HEAD_SHARE)
    head = text[:head_len].rsplit(" ", 1)[0] or text[:head_len]
    tail_len = limit - len(head) - 3
    tail = text[-tail_len:]
    tail = tail.split(" ", 1)[1] if " " in tail[:40] else tail
    return f"{head} … {tail}", True


def decide(question: str, index: Index, max_chars: int = MAX_QUESTION_CHARS,
           model: HandoffModel | None = None) -> Decision:
    """Decide how to reply to ``question``: one ``index.search``, whose value is all the decision reads."""
    text, truncated = clean_question(question, max_chars)
    intent = detect_intent(text)
    if intent is not None:
        kind, reason = _WITHOUT_SEARCH[intent]
        return Decision(kind, text, reason=reason, truncated=truncated)

    result = index.search(text, SEARCH_DEPTH)
    hits = list(result.hits)
    if not hits:
        return Decision(HANDOFF, text, reason=Reason.OUTSIDE_HANDBOOK, probability=0.0, truncated=truncated)
    model = model or default_model()
    evidence = gather(result)
    p = model.probability(evidence)
    # the team's own word: one of a section's example questions is answered, one of the out-of-scope ones handed off
    if hits[0].example_match:
        tier = ANSWER
    else:
        tier = HANDOFF if result.outside_example else model.tier(p, result.query.is_post)
    if tier is HANDOFF:
        return Decision(HANDOFF, text, reason=Reason.OUTSIDE_HANDBOOK, probability=p, evidence=evidence,
                        truncated=truncated)
    if tier is UNSURE:
        return Decision(UNSURE, text, also_see=_distinct(hits, MAX_SHOWN), reason=Reason.NOT_SURE, probability=p,
                        evidence=evidence, truncated=truncated)

    best, rest = hits[0], hits[1:]
    alternatives = tuple(h for h in rest[:1] if not best.example_match
                         and h.section.page_url != best.section.page_url and h.score >= ALTERNATIVE_RATIO * best.score)
    shown = {best.section.url, *(h.section.url for h in alternatives)}
    also = _distinct([h for h in rest if h.section.url not in shown], MAX_SHOWN - len(shown))
    reason = Reason.NEAR_TIE if alternatives else Reason.EXAMPLE_QUESTION if best.example_match else Reason.CONFIDENT
    return Decision(ANSWER, text, best, alternatives, also, reason, p, evidence, truncated)


def _distinct(hits: list[Hit], n: int) -> tuple[Hit, ...]:
    out, seen = [], set()
    for h in hits:
        if len(out) >= n:
            break
        if h.section.url not in seen:
            seen.add(h.section.url)
            out.append(h)
    return tuple(out)
