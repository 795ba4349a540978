"""Feedback and question log: the records and the ``FeedbackStore`` protocol every store implements.

Stored per turn: the question, the decision, the top section URL, a timestamp and at most a salted
hash of the user id (no names, no emails). Votes reference a turn. ``report()`` lists the questions
that were escalated or voted down, most frequent first, for the handbook team to close gaps.

The interface is synchronous and small. A turn's id is made with the ``TurnRecord`` (so the answer card
can carry it before the row is written); the bot hands records to ``bot/feedback/recorder.py``, which
writes them off the reply path. Implementations: ``bot/feedback/sqlite.py`` (default) and
``bot/feedback/postgres.py``, with one schema vocabulary (``TURNS``/``VOTES_TABLE`` and their columns);
``bot.feedback.open_store(settings)`` picks one.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.decision.kinds import Kind


@dataclass(frozen=True)
class TurnRecord:
    question: str
    decision: str              # a bot.decision.kinds.Kind value: "answer" | "unsure" | "handoff" | ...
    top_url: str | None
    user_hash: str | None      # salted hash, never the raw id
    conversation_type: str     # "channel" | "groupChat" | "personal" | "cli" ...
    turn_id: str = field(default_factory=lambda: uuid.uuid4().hex)   # the stored turn's id


@dataclass(frozen=True)
class ReportRow:
    question: str              # normalised question text (case/space folded)
    count: int                 # times asked and escalated or voted down
    escalated: int
    down_votes: int
    last_seen: str             # ISO 8601 UTC
    top_url: str | None


class FeedbackStore(Protocol):
    def record_turn(self, record: TurnRecord) -> str:
        """Store a turn under ``record.turn_id``; return that id (used by vote buttons)."""

    def record_turns(self, records: Sequence[TurnRecord]) -> None:
        """Store several turns in one transaction (all or none); the recorder writes its batches so."""

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None) -> bool:
        """Store "up" or "down" for a turn; False when the turn id is unknown. A user's later vote on the
        same turn replaces the earlier one."""

    def report(self, limit: int = 50) -> list[ReportRow]:
        """Escalated or down-voted questions, most frequent first."""

    def turn(self, turn_id: str) -> dict | None:
        """One stored turn (``TURN_COLUMNS`` keys, ``asked_at`` as ISO 8601 UTC) with ``votes``
        {voter: vote}, or None: for tests and support."""

    def close(self) -> None: ...


# Replies that offer DAPA (the report lists them); "escalate" is what records before the three tiers say.
ESCALATED_DECISIONS = tuple(k.value for k in Kind if k.escalates) + ("escalate",)
VOTES = ("up", "down")

# One schema vocabulary for every store (SQLite and PostgreSQL): table and column names.
TURNS, VOTES_TABLE = "handbook_turns", "handbook_votes"
TURN_COLUMNS = ("id", "asked_at", "question", "question_norm", "decision", "top_url", "user_hash",
                "conversation_type")
VOTE_COLUMNS = ("turn_id", "voter", "vote", "voted_at")


def normalise_question(text: str) -> str:
    """Case- and space-folded question text: the key the report groups repeats by."""
    return " ".join(text.split()).casefold()


def hash_user(user_id: str | None, salt: str) -> str | None:
    """Salted SHA-256 of a channel user id, or None; the raw id is never stored."""
    if not user_id:
        return None
    return hashlib.sha256(f"{salt}\n{user_id}".encode()).hexdigest()[:32]
