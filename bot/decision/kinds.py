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
    HANDOFF = "handoff"           # asks for a person
    ACTION = "action"             # asks the bot to do something only a person can (grant access, reset a password)
    UNCLEAR = "unclear"           # no words to search: only emoji, punctuation or a link
    NOT_ENGLISH = "not_english"   # mostly non-Latin script


class Kind(_Named):
    """What the reply is: one of three tiers for a handbook question, or a reply that needs no search."""

    ANSWER = "answer"             # confident: the reply leads with the section
    UNSURE = "unsure"             # the closest sections and the hand-off to DAPA in one reply
    HANDOFF = "handoff"           # DAPA only: nothing relevant, asked for a person, or an action request
    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"
    UNCLEAR = "unclear"           # "ask me in words"
    NOT_ENGLISH = "not_english"   # "ask me in English"

    @property
    def escalates(self) -> bool:
        """The reply offers the hand-off to DAPA."""
        return self in (Kind.UNSURE, Kind.HANDOFF)

    @property
    def small_talk(self) -> bool:
        """Not a question: nothing was searched, nothing is recorded."""
        return self in (Kind.GREETING, Kind.THANKS, Kind.HELP, Kind.UNCLEAR, Kind.NOT_ENGLISH)


class Reason(_Named):
    """Why the decision is what it is."""

    CONFIDENT = "confident"
    NEAR_TIE = "near tie"
    EXAMPLE_QUESTION = "example question"   # asked as one of the section's example questions
    NOT_SURE = "not sure"
    OUTSIDE_HANDBOOK = "outside handbook"
    ACTION_REQUEST = "action request"
    ASKED_FOR_PERSON = "asked for a person"
    VOTED_DOWN = "voted down"
    NONE_OF_THESE = "none of these"   # "None of these" under the sections shown
    GREETING = "greeting"
    THANKS = "thanks"
    HELP = "help"
    UNCLEAR = "unclear"
    NOT_ENGLISH = "not english"
