"""The feedback store on PostgreSQL, for several bot instances or workers sharing one database.

Selected when ``DATABASE_URL`` is set (``postgresql://user:password@host:5432/db?sslmode=require``).
Same contract and schema vocabulary as the SQLite store (``bot/feedback/store.py``): questions,
decisions, top section, votes, timestamps and a salted user hash; ``report()`` lists escalated or
down-voted questions, most frequent first. Tables are created on first use, and a database written by
an earlier version (``created_at`` columns, no ``handbook_votes.reason``) migrated, under an advisory
lock, so workers starting together do not race. One connection per store, in autocommit; calls from several threads are
serialised by a lock; a dropped connection is reopened once and the call retried.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timezone

import psycopg

from bot.feedback.store import (
    ACTIVITY_SQL,
    ESCALATED_DECISIONS,
    HANDOFF_COLUMNS,
    REPORT_REASONS,
    TURN_COLUMNS,
    VOTES,
    Activity,
    ReportRow,
    SentMessage,
    TurnRecord,
    cut_reason,
    normalise_question,
)

SCHEMA_LOCK_KEY = 0x68616E64  # pg_advisory_xact_lock key: "hand"

# Databases written before the one vocabulary named both timestamps created_at.
MIGRATION = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'handbook_turns' AND column_name = 'created_at') THEN
        ALTER TABLE handbook_turns RENAME COLUMN created_at TO asked_at;
    END IF;
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'handbook_votes' AND column_name = 'created_at') THEN
        ALTER TABLE handbook_votes RENAME COLUMN created_at TO voted_at;
    END IF;
END
$$;
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS handbook_turns (
    id                text PRIMARY KEY,
    asked_at          timestamptz NOT NULL DEFAULT now(),
    question          text NOT NULL,
    question_norm     text NOT NULL,
    decision          text NOT NULL,
    top_url           text,
    user_hash         text,
    conversation_type text NOT NULL
);
CREATE INDEX IF NOT EXISTS handbook_turns_norm ON handbook_turns (question_norm);
CREATE TABLE IF NOT EXISTS handbook_votes (
    turn_id    text NOT NULL REFERENCES handbook_turns (id) ON DELETE CASCADE,
    voter      text NOT NULL,
    vote       text NOT NULL CHECK (vote IN ('up', 'down')),
    voted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (turn_id, voter)
);
ALTER TABLE handbook_votes ADD COLUMN IF NOT EXISTS reason text;
CREATE TABLE IF NOT EXISTS handbook_sent_messages (
    message_key      text PRIMARY KEY,
    conversation_key text NOT NULL,
    turn_id          text NOT NULL REFERENCES handbook_turns (id) ON DELETE CASCADE,
    sent_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS handbook_sent_messages_conversation ON handbook_sent_messages (conversation_key, sent_at);
CREATE TABLE IF NOT EXISTS handbook_pending_votes (
    message_key text NOT NULL,
    voter       text NOT NULL,
    vote        text NOT NULL CHECK (vote IN ('up', 'down')),
    reason      text,
    voted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_key, voter)
);
CREATE TABLE IF NOT EXISTS handbook_handoffs (
    id          text PRIMARY KEY,
    turn_id     text REFERENCES handbook_turns (id) ON DELETE SET NULL,
    reason      text NOT NULL,
    handed_at   timestamptz NOT NULL DEFAULT now(),
    resolved_by text,
    resolved_at timestamptz
);
"""
UPSERT_VOTE = ("INSERT INTO handbook_votes (turn_id, voter, vote, reason)"
               " SELECT id, %s, %s, %s FROM handbook_turns WHERE id = %s"
               " ON CONFLICT (turn_id, voter) DO UPDATE SET vote = EXCLUDED.vote, reason = EXCLUDED.reason,"
               " voted_at = now()")

INSERT_TURN = ("INSERT INTO handbook_turns (id, question, question_norm, decision, top_url, user_hash,"
               " conversation_type) VALUES (%s, %s, %s, %s, %s, %s, %s)")

REPORT = """
WITH flagged AS (
    SELECT t.question_norm, t.top_url, t.asked_at,
           (t.decision = ANY(%(escalated)s)) AS escalated,
           (SELECT count(*) FROM handbook_votes v WHERE v.turn_id = t.id AND v.vote = 'down') AS downs
    FROM handbook_turns t
)
SELECT question_norm, count(*), sum(escalated::int), sum(downs), max(asked_at),
       (array_agg(top_url ORDER BY asked_at DESC))[1]
FROM flagged
WHERE escalated OR downs > 0
GROUP BY question_norm
ORDER BY count(*) DESC, max(asked_at) DESC, question_norm
LIMIT %(limit)s
"""


class PostgresFeedbackStore:
    """``FeedbackStore`` on PostgreSQL (psycopg 3)."""

    def __init__(self, url: str, connect_timeout: int = 10):
        self.url = url
        self.connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        with self._lock:
            self._connect()

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout,
                               application_name="handbook-bot")
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            conn.execute(MIGRATION)
            conn.execute(SCHEMA)
        self._conn = conn
        return conn

    def _run(self, fn):
        """Call fn(connection) under the lock; reconnect once if the connection was lost."""
        with self._lock:
            if self._conn is None:
                raise RuntimeError("feedback store is closed")
            try:
                return fn(self._conn)
            except psycopg.OperationalError:
                if not self._conn.closed:
                    raise
                return fn(self._connect())

    def record_turn(self, record: TurnRecord) -> str:
        self._run(lambda c: c.execute(INSERT_TURN, _row(record)))
        return record.turn_id

    def record_turns(self, records: Sequence[TurnRecord]) -> None:
        """Store several turns in one transaction."""
        rows = [_row(r) for r in records]
        if not rows:
            return

        def write(c: psycopg.Connection) -> None:
            with c.transaction(), c.cursor() as cursor:
                cursor.executemany(INSERT_TURN, rows)

        self._run(write)

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None, reason: str | None = None) -> bool:
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        cur = self._run(lambda c: c.execute(UPSERT_VOTE, (user_hash or "", vote, cut_reason(reason), turn_id)))
        return cur.rowcount == 1

    def record_message(self, message_key: str, conversation_key: str, turn_id: str) -> None:
        self.record_messages([SentMessage(message_key, conversation_key, turn_id)])

    def record_messages(self, messages: Sequence[SentMessage]) -> None:
        rows = [(m.message_key, m.conversation_key, m.turn_id) for m in messages]
        if not rows:
            return

        def write(c):
            with c.transaction():
                with c.cursor() as cursor:
                    cursor.executemany("INSERT INTO handbook_sent_messages (message_key, conversation_key, turn_id)"
                                       " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", rows)
                pending = c.execute(
                    "DELETE FROM handbook_pending_votes p USING handbook_sent_messages m WHERE m.message_key ="
                    " p.message_key AND m.message_key = ANY(%s) RETURNING m.turn_id, p.voter, p.vote, p.reason",
                    ([r[0] for r in rows],)).fetchall()
                for turn_id, voter, vote, reason in pending:
                    c.execute(UPSERT_VOTE, (voter, vote, reason, turn_id))
        self._run(write)

    def record_feedback(self, message_key: str | None, conversation_key: str, vote: str, user_hash: str | None,
                        reason: str | None = None) -> dict | None:
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        select = ("SELECT m.turn_id, t.question FROM handbook_sent_messages m JOIN handbook_turns t"
                  " ON t.id = m.turn_id ")

        def write(c):
            with c.transaction():
                if message_key:
                    row = c.execute(select + "WHERE m.message_key = %s", (message_key,)).fetchone()
                else:
                    row = c.execute(select + "WHERE m.conversation_key = %s ORDER BY m.sent_at DESC LIMIT 1",
                                    (conversation_key,)).fetchone()
                if row is not None:
                    c.execute(UPSERT_VOTE, (user_hash or "", vote, cut_reason(reason), row[0]))
                    return {"turn_id": row[0], "question": row[1]}
                if message_key:
                    c.execute("INSERT INTO handbook_pending_votes (message_key, voter, vote, reason)"
                              " VALUES (%s, %s, %s, %s) ON CONFLICT (message_key, voter) DO UPDATE SET"
                              " vote = EXCLUDED.vote, reason = EXCLUDED.reason, voted_at = now()",
                              (message_key, user_hash or "", vote, cut_reason(reason)))
                return None
        return self._run(write)

    def record_handoff(self, handoff_id: str, turn_id: str | None, reason: str) -> None:
        self._run(lambda c: c.execute(
            "INSERT INTO handbook_handoffs (id, turn_id, reason)"
            " VALUES (%s, (SELECT id FROM handbook_turns WHERE id = %s), %s) ON CONFLICT DO NOTHING",
            (handoff_id, turn_id, reason)))

    def resolve_handoff(self, handoff_id: str, resolver_hash: str | None) -> tuple[str, bool]:
        def write(c):
            with c.transaction():
                c.execute("INSERT INTO handbook_handoffs (id, reason) VALUES (%s, '') ON CONFLICT DO NOTHING",
                          (handoff_id,))
                row = c.execute("UPDATE handbook_handoffs SET resolved_by = %s, resolved_at = now() WHERE id = %s"
                                " AND resolved_at IS NULL RETURNING resolved_at",
                                (resolver_hash or "", handoff_id)).fetchone()
                if row is not None:
                    return _iso(row[0]), True
                (at,) = c.execute("SELECT resolved_at FROM handbook_handoffs WHERE id = %s", (handoff_id,)).fetchone()
                return _iso(at), False
        return self._run(write)

    def handoff(self, handoff_id: str) -> dict | None:
        row = self._run(lambda c: c.execute(
            f"SELECT {', '.join(HANDOFF_COLUMNS)} FROM handbook_handoffs WHERE id = %s", (handoff_id,)).fetchone())
        if row is None:
            return None
        out = dict(zip(HANDOFF_COLUMNS, row))
        return {k: _iso(v) if k.endswith("_at") and v is not None else v for k, v in out.items()}

    def report(self, limit: int = 50) -> list[ReportRow]:
        def read(c):
            rows = c.execute(REPORT, {"escalated": list(ESCALATED_DECISIONS), "limit": limit}).fetchall()
            reasons: dict[str, list[str]] = {}
            for norm, reason in c.execute(
                    "SELECT t.question_norm, v.reason FROM handbook_votes v JOIN handbook_turns t ON t.id = v.turn_id"
                    " WHERE v.reason IS NOT NULL AND t.question_norm = ANY(%s) ORDER BY v.voted_at DESC",
                    ([r[0] for r in rows],)).fetchall():
                reasons.setdefault(norm, []).append(reason)
            return rows, reasons
        rows, reasons = self._run(read)
        return [ReportRow(question=q, count=int(n), escalated=int(esc), down_votes=int(down),
                          last_seen=last.astimezone(timezone.utc).isoformat(timespec="seconds"),
                          top_url=url, reasons=tuple(reasons.get(q, [])[:REPORT_REASONS]))
                for q, n, esc, down, last, url in rows]

    def activity(self) -> list[Activity]:
        rows = self._run(lambda c: c.execute(ACTIVITY_SQL).fetchall())
        return [Activity(_iso(at), kind, url, int(up), int(down)) for at, kind, url, up, down in rows]

    def turn(self, turn_id: str) -> dict | None:
        """One stored turn with its votes (for tests and support), or None."""
        def fetch(c):
            row = c.execute(f"SELECT {', '.join(TURN_COLUMNS)} FROM handbook_turns WHERE id = %s",
                            (turn_id,)).fetchone()
            votes = c.execute("SELECT voter, vote, reason FROM handbook_votes WHERE turn_id = %s",
                              (turn_id,)).fetchall()
            return row, votes
        row, votes = self._run(fetch)
        if row is None:
            return None
        out = dict(zip(TURN_COLUMNS, row))
        out["asked_at"] = out["asked_at"].astimezone(timezone.utc).isoformat(timespec="microseconds")
        return {**out, "votes": {v: vote for v, vote, _ in votes}, "reasons": {v: r for v, _, r in votes if r}}

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _iso(value) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _row(record: TurnRecord) -> tuple:
    return (record.turn_id, record.question, normalise_question(record.question), record.decision,
            record.top_url, record.user_hash, record.conversation_type)
