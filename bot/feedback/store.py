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
class Activity:
    """One stored turn as the report reads it."""

    asked_at: str              # ISO 8601 UTC
    decision: str              # the stored kind
    top_url: str | None
    up: int = 0                # 👍 votes on the turn
    down: int = 0              # 👎 votes on the turn


@dataclass(frozen=True)
class SentMessage:
    """The Teams message an answer became (hashed keys, never the ids): Teams' feedback arrives for it."""

    message_key: str
    conversation_key: str
    turn_id: str


@dataclass(frozen=True)
class ReportRow:
    question: str              # normalised question text (case/space folded)
    count: int                 # times asked and escalated or voted down
    escalated: int
    down_votes: int
    last_seen: str             # ISO 8601 UTC
    top_url: str | None
    reasons: tuple[str, ...] = ()   # what voters wrote in Teams' feedback form, newest first (at most 3)


class FeedbackStore(Protocol):
    def record_turn(self, record: TurnRecord) -> str:
        """Store a turn under ``record.turn_id``; return that id (used by vote buttons)."""

    def record_turns(self, records: Sequence[TurnRecord]) -> None:
        """Store several turns in one transaction (all or none); the recorder writes its batches so."""

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None, reason: str | None = None) -> bool:
        """Store "up" or "down" (and the voter's text) for a turn; False when the turn id is unknown. A user's
        later vote on the same turn replaces the earlier one."""

    def record_message(self, message_key: str, conversation_key: str, turn_id: str) -> None:
        """The Teams message (hashed key) that showed the answer of ``turn_id``; votes that arrived before
        it (``record_feedback`` returned None) are attached now."""

    def record_messages(self, messages: Sequence[SentMessage]) -> None:
        """``record_message`` for several, in one transaction (the recorder writes its batches so)."""

    def record_feedback(self, message_key: str | None, conversation_key: str, vote: str, user_hash: str | None,
                        reason: str | None = None) -> dict | None:
        """A vote on a Teams message -> {"turn_id", "question"}, or None while the message is unknown (the
        vote is kept until ``record_message``). Without ``message_key``: the conversation's latest answer."""

    def record_handoff(self, handoff_id: str, turn_id: str | None, reason: str) -> None:
        """A question handed to DAPA (turn_id None when its turn is unknown)."""

    def resolve_handoff(self, handoff_id: str, resolver_hash: str | None) -> tuple[str, bool]:
        """"Mark resolved" -> (resolved_at ISO 8601 UTC, whether this call resolved it): the first one counts."""

    def report(self, limit: int = 50) -> list[ReportRow]:
        """Escalated or down-voted questions, most frequent first."""

    def activity(self) -> list[Activity]:
        """Every stored turn as the DAPA report reads it (when, kind, top section, 👍/👎 counts), oldest
        first (``bot.feedback.report``)."""

    def turn(self, turn_id: str) -> dict | None:
        """One stored turn (``TURN_COLUMNS`` keys, ``asked_at`` as ISO 8601 UTC) with ``votes``
        {voter: vote} and ``reasons`` {voter: text}, or None: for tests and support."""

    def handoff(self, handoff_id: str) -> dict | None:
        """One hand-off (``HANDOFF_COLUMNS`` keys, times as ISO 8601 UTC), or None: for tests and support."""

    def close(self) -> None: ...


# Replies that offer DAPA (the report lists them); "escalate" is what records before the three tiers say.
ESCALATED_DECISIONS = tuple(k.value for k in Kind if k.escalates) + ("escalate",)
VOTES = ("up", "down")

# One schema vocabulary for every store (SQLite and PostgreSQL): table and column names.
TURNS, VOTES_TABLE = "handbook_turns", "handbook_votes"
TURN_COLUMNS = ("id", "asked_at", "question", "question_norm", "decision", "top_url", "user_hash",
                "conversation_type")
VOTE_COLUMNS = ("turn_id", "voter", "vote", "voted_at", "reason")   # reason: the feedback form's text
# Teams' feedback arrives for the message an answer became: its hashed key -> the turn; a vote whose
# message is not mapped yet (the send is still in flight) waits in the pending table.
SENT, SENT_COLUMNS = "handbook_sent_messages", ("message_key", "conversation_key", "turn_id", "sent_at")
PENDING, PENDING_COLUMNS = "handbook_pending_votes", ("message_key", "voter", "vote", "reason", "voted_at")
HANDOFFS = "handbook_handoffs"
HANDOFF_COLUMNS = ("id", "turn_id", "reason", "handed_at", "resolved_by", "resolved_at")   # resolved_by: user hash
TABLES = {TURNS: TURN_COLUMNS, VOTES_TABLE: VOTE_COLUMNS, SENT: SENT_COLUMNS, PENDING: PENDING_COLUMNS,
          HANDOFFS: HANDOFF_COLUMNS}
MAX_REASON_CHARS = 1000    # a feedback form's text is cut to this
REPORT_REASONS = 3         # reasons per report row


def normalise_question(text: str) -> str:
    """Case- and space-folded question text: the key the report groups repeats by."""
    return " ".join(text.split()).casefold()


def hash_user(user_id: str | None, salt: str) -> str | None:
    """Salted SHA-256 of a channel user id, or None; the raw id is never stored."""
    if not user_id:
        return None
    return hashlib.sha256(f"{salt}\n{user_id}".encode()).hexdigest()[:32]


def hash_key(value: str | None, salt: str) -> str | None:
    """Salted hash of a conversation / message id (stored instead of the id; never equal to a user hash)."""
    return hash_user(value, salt + "\nid")


def cut_reason(reason: str | None) -> str | None:
    return reason[:MAX_REASON_CHARS] if reason else None


# Every turn with its vote counts, oldest first: the same SQL on SQLite and PostgreSQL.
ACTIVITY_SQL = f"""
SELECT t.asked_at, t.decision, t.top_url,
       COUNT(CASE WHEN v.vote = 'up' THEN 1 END), COUNT(CASE WHEN v.vote = 'down' THEN 1 END)
FROM {TURNS} t LEFT JOIN {VOTES_TABLE} v ON v.turn_id = t.id
GROUP BY t.id, t.asked_at, t.decision, t.top_url
ORDER BY t.asked_at, t.id
"""
