"""The vocabulary of decisions: what kind of reply a message gets, and why (string enums).

They compare equal to, and print as, their values ("answer", "outside handbook"), which is what logs,
``ask --json`` and the feedback store record.
"""

from __future__ import annotations

from enum import Enum


class _Named(str, Enum):
    __hash__ = str.__hash__   # equal to its value, so hashed like it: {"thanks": ...}[Kind.THANKS] works

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Intent(_Named):
    """A message that needs no handbook search (``bot.decision.intents.detect_intent``)."""

    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"
    HANDOFF = "handoff"   # asks for a person
    ACTION = "action"     # asks the bot to do something only a person can (grant access, reset a password)


class Kind(_Named):
    """What the reply is."""

    ANSWER = "answer"
    ALTERNATIVES = "answer_with_alternatives"   # the answer and a near-tied one on another page
    ESCALATE = "escalate"                       # no good answer: refer to DAPA, with the closest sections
    HANDOFF = "handoff"                         # the user asked for a person
    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"

    @property
    def escalates(self) -> bool:
        """The question goes to DAPA."""
        return self in (Kind.ESCALATE, Kind.HANDOFF)

    @property
    def small_talk(self) -> bool:
        """Not a question: nothing was searched, nothing is recorded."""
        return self in (Kind.GREETING, Kind.THANKS, Kind.HELP)


class Reason(_Named):
    """Why the decision is what it is."""

    CONFIDENT = "confident"
    NEAR_TIE = "near tie"
    OUTSIDE_HANDBOOK = "outside handbook"
    ACTION_REQUEST = "action request"
    ASKED_FOR_PERSON = "asked for a person"
    VOTED_DOWN = "voted down"
    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"
