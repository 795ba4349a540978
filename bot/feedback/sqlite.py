"""SQLite implementation of ``bot.feedback.store.FeedbackStore`` (the default store).

One file (path configurable), WAL journal, a busy timeout, and one connection per thread, kept open
(opening one costs more than an insert), so several threads and several processes can share the
file; it survives restarts. Writes use ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing; ``record_turns`` writes a batch in one transaction (bot/feedback/recorder.py uses it).
The schema uses the vocabulary of ``bot/feedback/store.py``; a file written by an earlier version
(tables ``turns``/``votes``, column ``norm_question``; no ``handbook_votes.reason``) is migrated in place
when opened.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

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

_SCHEMA = ("""
CREATE TABLE IF NOT EXISTS handbook_turns (
    id                TEXT PRIMARY KEY,
    asked_at          TEXT NOT NULL,
    question          TEXT NOT NULL,
    question_norm     TEXT NOT NULL,
    decision          TEXT NOT NULL,
    top_url           TEXT,
    user_hash         TEXT,
    conversation_type TEXT NOT NULL
)""", "CREATE INDEX IF NOT EXISTS handbook_turns_norm ON handbook_turns (question_norm)", """
CREATE TABLE IF NOT EXISTS handbook_votes (
    turn_id   TEXT NOT NULL REFERENCES handbook_turns (id),
    voter     TEXT NOT NULL,            -- user hash, or '' when unknown
    vote      TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    voted_at  TEXT NOT NULL,
    reason    TEXT,                     -- the feedback form's text, as typed (like the question)
    PRIMARY KEY (turn_id, voter)
)""", """
CREATE TABLE IF NOT EXISTS handbook_sent_messages (
    message_key      TEXT PRIMARY KEY,  -- salted hash of conversation + Teams message id
    conversation_key TEXT NOT NULL,     -- salted hash of the conversation id
    turn_id          TEXT NOT NULL REFERENCES handbook_turns (id),
    sent_at          TEXT NOT NULL
)""", "CREATE INDEX IF NOT EXISTS handbook_sent_messages_conversation ON handbook_sent_messages "
      "(conversation_key, sent_at)", """
CREATE TABLE IF NOT EXISTS handbook_pending_votes (
    message_key TEXT NOT NULL,
    voter       TEXT NOT NULL,
    vote        TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    reason      TEXT,
    voted_at    TEXT NOT NULL,
    PRIMARY KEY (message_key, voter)
)""", """
CREATE TABLE IF NOT EXISTS handbook_handoffs (
    id          TEXT PRIMARY KEY,
    turn_id     TEXT REFERENCES handbook_turns (id),
    reason      TEXT NOT NULL,
    handed_at   TEXT NOT NULL,
    resolved_by TEXT,                   -- salted hash of who pressed "Mark resolved"
    resolved_at TEXT
)""")
# Columns added since a table was created: (table, column, statement), applied when the column is missing.
_ADDED_COLUMNS = (("handbook_votes", "reason", "ALTER TABLE handbook_votes ADD COLUMN reason TEXT"),)
# Files written before the one vocabulary: tables turns/votes, column norm_question (index turns_norm).
_MIGRATION = ("ALTER TABLE turns RENAME TO handbook_turns",
              "ALTER TABLE handbook_turns RENAME COLUMN norm_question TO question_norm",
              "DROP INDEX IF EXISTS turns_norm",
              "ALTER TABLE votes RENAME TO handbook_votes")
_ESCALATED_SQL = ", ".join(f"'{d}'" for d in ESCALATED_DECISIONS)  # constants, not user input
_REPORT = f"""
WITH flagged AS (
    SELECT t.id, t.question_norm, t.asked_at, t.top_url, t.decision IN ({_ESCALATED_SQL}) AS escalated,
           (SELECT COUNT(*) FROM handbook_votes v WHERE v.turn_id = t.id AND v.vote = 'down') AS downs
    FROM handbook_turns t
)
SELECT question_norm, COUNT(*) AS n, SUM(escalated), SUM(downs), MAX(asked_at),
       (SELECT f2.top_url FROM flagged f2 WHERE f2.question_norm = f.question_norm
        ORDER BY f2.asked_at DESC LIMIT 1)
FROM flagged f
WHERE escalated OR downs > 0
GROUP BY question_norm
ORDER BY n DESC, MAX(asked_at) DESC
LIMIT ?
"""

_INSERT_TURN = (f"INSERT INTO handbook_turns ({', '.join(TURN_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in TURN_COLUMNS)})")


def _upsert_vote(db: sqlite3.Connection, turn_id: str, voter: str, vote: str, reason: str | None, at: str):
    return db.execute(
        "INSERT INTO handbook_votes (turn_id, voter, vote, voted_at, reason) SELECT id, ?, ?, ?, ? FROM handbook_turns"
        " WHERE id = ? ON CONFLICT (turn_id, voter) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at,"
        " reason = excluded.reason", (voter, vote, at, cut_reason(reason), turn_id))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SQLiteFeedbackStore:
    """``FeedbackStore`` on a SQLite file at ``path`` (created with its folder when missing)."""

    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []   # every thread's connection
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")   # one process creates or migrates; the others wait, then see it
            try:
                tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if "turns" in tables and "handbook_turns" not in tables:
                    for statement in _MIGRATION:
                        db.execute(statement)
                for statement in _SCHEMA:
                    db.execute(statement)
                for table, column, statement in _ADDED_COLUMNS:
                    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                        db.execute(statement)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use; those of finished threads are closed)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            with self._lock:
                alive = [(t, c) for t, c in self._open if t.is_alive()]
                for _, old in set(self._open) - set(alive):
                    old.close()
                self._open = alive + [(threading.current_thread(), db)]
        return db

    def _write(self, fn) -> int:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                count = fn(db).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            self._drop(db)   # start the next call on a fresh connection
            raise
        return count

    def _drop(self, db: sqlite3.Connection) -> None:
        self._local.db = None
        with self._lock:
            self._open = [p for p in self._open if p[1] is not db]
        db.close()

    def record_turn(self, record: TurnRecord) -> str:
        self.record_turns([record])
        return record.turn_id

    def record_turns(self, records: Sequence[TurnRecord]) -> None:
        """Store several turns in one transaction."""
        at = _now()
        rows = [(r.turn_id, at, r.question, normalise_question(r.question), r.decision, r.top_url, r.user_hash,
                 r.conversation_type) for r in records]
        if rows:
            self._write(lambda db: db.executemany(_INSERT_TURN, rows))

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None, reason: str | None = None) -> bool:
        if vote not in VOTES:
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        count = self._write(lambda db: _upsert_vote(db, str(turn_id), user_hash or "", vote, reason, _now()))
        return count > 0

    def record_message(self, message_key: str, conversation_key: str, turn_id: str) -> None:
        self.record_messages([SentMessage(message_key, conversation_key, turn_id)])

    def record_messages(self, messages: Sequence[SentMessage]) -> None:
        rows = [(m.message_key, m.conversation_key, m.turn_id, _now()) for m in messages]
        if not rows:
            return

        def write(db):
            db.executemany("INSERT OR IGNORE INTO handbook_sent_messages (message_key, conversation_key, turn_id,"
                           " sent_at) VALUES (?, ?, ?, ?)", rows)
            if db.execute("SELECT 1 FROM handbook_pending_votes LIMIT 1").fetchone() is None:
                return db.execute("SELECT 0")   # the usual case: no vote came before its message id
            db.execute(
                "INSERT INTO handbook_votes (turn_id, voter, vote, voted_at, reason) SELECT m.turn_id, p.voter,"
                " p.vote, p.voted_at, p.reason FROM handbook_pending_votes p JOIN handbook_sent_messages m"
                " ON m.message_key = p.message_key WHERE true ON CONFLICT (turn_id, voter) DO UPDATE SET"
                " vote = excluded.vote, voted_at = excluded.voted_at, reason = excluded.reason")
            return db.execute("DELETE FROM handbook_pending_votes WHERE message_key IN"
                              " (SELECT message_key FROM handbook_sent_messages)")
        self._write(write)

    def record_feedback(self, message_key: str | None, conversation_key: str, vote: str, user_hash: str | None,
                        reason: str | None = None) -> dict | None:
        if vote not in VOTES:
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        found: dict = {}

        def write(db):
            select = ("SELECT m.turn_id, t.question FROM handbook_sent_messages m JOIN handbook_turns t"
                      " ON t.id = m.turn_id ")
            if message_key:
                row = db.execute(select + "WHERE m.message_key = ?", (message_key,)).fetchone()
            else:
                row = db.execute(select + "WHERE m.conversation_key = ? ORDER BY m.sent_at DESC LIMIT 1",
                                 (conversation_key,)).fetchone()
            if row is not None:
                found.update(turn_id=row[0], question=row[1])
                return _upsert_vote(db, row[0], user_hash or "", vote, reason, _now())
            if not message_key:
                return db.execute("SELECT 0")
            return db.execute(
                "INSERT INTO handbook_pending_votes (message_key, voter, vote, reason, voted_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (message_key, voter) DO UPDATE SET vote = excluded.vote, reason = excluded.reason,"
                " voted_at = excluded.voted_at", (message_key, user_hash or "", vote, cut_reason(reason), _now()))
        self._write(write)
        return found or None

    def record_handoff(self, handoff_id: str, turn_id: str | None, reason: str) -> None:
        self._write(lambda db: db.execute(
            "INSERT OR IGNORE INTO handbook_handoffs (id, turn_id, reason, handed_at)"
            " SELECT ?, (SELECT id FROM handbook_turns WHERE id = ?), ?, ?", (handoff_id, turn_id, reason, _now())))

    def resolve_handoff(self, handoff_id: str, resolver_hash: str | None) -> tuple[str, bool]:
        out: list = []

        def write(db):
            now = _now()
            db.execute("INSERT OR IGNORE INTO handbook_handoffs (id, turn_id, reason, handed_at)"
                       " VALUES (?, NULL, '', ?)", (handoff_id, now))
            cur = db.execute("UPDATE handbook_handoffs SET resolved_by = ?, resolved_at = ? WHERE id = ?"
                             " AND resolved_at IS NULL", (resolver_hash or "", now, handoff_id))
            first = cur.rowcount == 1
            at = now if first else db.execute("SELECT resolved_at FROM handbook_handoffs WHERE id = ?",
                                              (handoff_id,)).fetchone()[0]
            out.append((at, first))
            return cur
        self._write(write)
        return out[0]

    def report(self, limit: int = 50) -> list[ReportRow]:
        db = self._db()
        rows = db.execute(_REPORT, (int(limit),)).fetchall()
        reasons: dict[str, list[str]] = {}
        if rows:
            marks = ", ".join("?" * len(rows))
            for norm, reason in db.execute(
                    "SELECT t.question_norm, v.reason FROM handbook_votes v JOIN handbook_turns t ON t.id = v.turn_id"
                    f" WHERE v.reason IS NOT NULL AND t.question_norm IN ({marks}) ORDER BY v.voted_at DESC",
                    [r[0] for r in rows]):
                reasons.setdefault(norm, []).append(reason)
        return [ReportRow(q, n, int(esc or 0), int(down or 0), last, top, tuple(reasons.get(q, [])[:REPORT_REASONS]))
                for q, n, esc, down, last, top in rows]

    def activity(self) -> list[Activity]:
        rows = self._db().execute(ACTIVITY_SQL).fetchall()
        return [Activity(at, kind, url, int(up), int(down)) for at, kind, url, up, down in rows]

    def turn(self, turn_id: str) -> dict | None:
        """One stored turn with its votes (for tests and support), or None."""
        db = self._db()
        row = db.execute(f"SELECT {', '.join(TURN_COLUMNS)} FROM handbook_turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            return None
        votes = db.execute("SELECT voter, vote, reason FROM handbook_votes WHERE turn_id = ?", (turn_id,)).fetchall()
        return {**dict(zip(TURN_COLUMNS, row)), "votes": {v: vote for v, vote, _ in votes},
                "reasons": {v: r for v, _, r in votes if r}}

    def handoff(self, handoff_id: str) -> dict | None:
        row = self._db().execute(f"SELECT {', '.join(HANDOFF_COLUMNS)} FROM handbook_handoffs WHERE id = ?",
                                 (handoff_id,)).fetchone()
        return dict(zip(HANDOFF_COLUMNS, row)) if row else None

    def close(self) -> None:
        """Close every thread's connection (a later call opens a new one)."""
        with self._lock:
            open_, self._open = self._open, []
        for _, db in open_:
            db.close()
        self._local = threading.local()
