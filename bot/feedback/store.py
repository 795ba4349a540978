"""Feedback and question log: the storage interface and its SQLite implementation.

Stored per turn: the question, the decision, the top section URL, a timestamp and at most a salted
hash of the user id (no names, no emails). Votes reference a turn. ``report()`` lists the questions
that were escalated or voted down, most frequent first, for the handbook team to close gaps.

The interface is synchronous and small. A turn's id is made with the ``TurnRecord`` (so the answer card
can carry it before the row is written); the bot hands records to ``bot/recorder.py``, which writes
them off the reply path. A server database implements the same ``FeedbackStore`` protocol (see
``bot/feedback_postgres.py``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from bot.decision.kinds import Kind


@dataclass(frozen=True)
class TurnRecord:
    question: str
    decision: str              # a bot.decision.kinds.Kind value: "answer" | "escalate" | ...
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

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None) -> bool:
        """Store "up" or "down" for a turn; False when the turn id is unknown. A user's later vote on the
        same turn replaces the earlier one."""

    def report(self, limit: int = 50) -> list[ReportRow]:
        """Escalated or down-voted questions, most frequent first."""

    def close(self) -> None: ...


ESCALATED_DECISIONS = tuple(k.value for k in Kind if k.escalates)   # handed to DAPA: the report lists them
VOTES = ("up", "down")


def normalise_question(text: str) -> str:
    """Case- and space-folded question text: the key the report groups repeats by."""
    return " ".join(text.split()).casefold()


def hash_user(user_id: str | None, salt: str) -> str | None:
    """Salted SHA-256 of a channel user id, or None; the raw id is never stored."""
    if not user_id:
        return None
    return hashlib.sha256(f"{salt}\n{user_id}".encode()).hexdigest()[:32]


def open_store(settings) -> FeedbackStore:
    """The store ``settings`` ask for: PostgreSQL when ``database_url`` (DATABASE_URL) is set, else SQLite
    at ``feedback_db`` (FEEDBACK_DB)."""
    if getattr(settings, "database_url", ""):
        try:
            from bot.feedback import postgres
        except ImportError as exc:
            raise RuntimeError(f"DATABASE_URL is set but the PostgreSQL store is unavailable ({exc}); "
                               "unset DATABASE_URL to use SQLite (FEEDBACK_DB)") from exc
        return postgres.PostgresFeedbackStore(settings.database_url)
    from bot.feedback.sqlite import SQLiteFeedbackStore

    return SQLiteFeedbackStore(settings.feedback_db)
