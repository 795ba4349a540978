"""SQLite implementation of ``bot.feedback.store.FeedbackStore`` (the default store).

One file (path configurable), WAL journal, a busy timeout, and one connection per thread, kept open
(opening one costs more than an insert), so several threads and several processes can share the
file; it survives restarts. Writes use ``BEGIN IMMEDIATE`` so concurrent writers queue instead of
failing; ``record_turns`` writes a batch in one transaction (bot/feedback/recorder.py uses it).
The schema uses the vocabulary of ``bot/feedback/store.py``; a file written by an earlier version
(tables ``turns``/``votes``, column ``norm_question``) is migrated in place when opened.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from bot.feedback.store import ESCALATED_DECISIONS, TURN_COLUMNS, VOTES, ReportRow, TurnRecord, normalise_question

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
    PRIMARY KEY (turn_id, voter)
)""")
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

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None) -> bool:
        if vote not in VOTES:
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        count = self._write(lambda db: db.execute(
            "INSERT INTO handbook_votes (turn_id, voter, vote, voted_at) SELECT id, ?, ?, ? FROM handbook_turns "
            "WHERE id = ? "
            "ON CONFLICT (turn_id, voter) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
            (user_hash or "", vote, _now(), str(turn_id))))
        return count > 0

    def report(self, limit: int = 50) -> list[ReportRow]:
        rows = self._db().execute(_REPORT, (int(limit),)).fetchall()
        return [ReportRow(q, n, int(esc or 0), int(down or 0), last, top) for q, n, esc, down, last, top in rows]

    def turn(self, turn_id: str) -> dict | None:
        """One stored turn with its votes (for tests and support), or None."""
        db = self._db()
        row = db.execute(f"SELECT {', '.join(TURN_COLUMNS)} FROM handbook_turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            return None
        votes = db.execute("SELECT voter, vote FROM handbook_votes WHERE turn_id = ?", (turn_id,)).fetchall()
        return {**dict(zip(TURN_COLUMNS, row)), "votes": dict(votes)}

    def close(self) -> None:
        """Close every thread's connection (a later call opens a new one)."""
        with self._lock:
            open_, self._open = self._open, []
        for _, db in open_:
            db.close()
        self._local = threading.local()
