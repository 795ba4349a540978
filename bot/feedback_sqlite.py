"""SQLite implementation of ``bot.feedback.FeedbackStore`` (the default store).

One file (path configurable), WAL journal, a busy timeout, and a short-lived connection per
operation, so several threads and several processes can share it; it survives restarts. Writes use
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing.
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from bot.feedback import ReportRow, TurnRecord

ESCALATED = ("escalate", "handoff")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id                TEXT PRIMARY KEY,
    asked_at          TEXT NOT NULL,
    question          TEXT NOT NULL,
    norm_question     TEXT NOT NULL,
    decision          TEXT NOT NULL,
    top_url           TEXT,
    user_hash         TEXT,
    conversation_type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_norm ON turns (norm_question);
CREATE TABLE IF NOT EXISTS votes (
    turn_id   TEXT NOT NULL REFERENCES turns (id),
    voter     TEXT NOT NULL,            -- user hash, or '' when unknown
    vote      TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    voted_at  TEXT NOT NULL,
    PRIMARY KEY (turn_id, voter)
);
"""
_REPORT = """
WITH flagged AS (
    SELECT t.id, t.norm_question, t.asked_at, t.top_url, t.decision IN ('escalate', 'handoff') AS escalated,
           (SELECT COUNT(*) FROM votes v WHERE v.turn_id = t.id AND v.vote = 'down') AS downs
    FROM turns t
)
SELECT norm_question, COUNT(*) AS n, SUM(escalated), SUM(downs), MAX(asked_at),
       (SELECT f2.top_url FROM flagged f2 WHERE f2.norm_question = f.norm_question
        ORDER BY f2.asked_at DESC LIMIT 1)
FROM flagged f
WHERE escalated OR downs > 0
GROUP BY norm_question
ORDER BY n DESC, MAX(asked_at) DESC
LIMIT ?
"""


def normalise_question(question: str) -> str:
    """Case- and space-folded question (groups repeats in the report)."""
    return " ".join(question.split()).casefold()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class SQLiteFeedbackStore:
    """``FeedbackStore`` on a SQLite file at ``path`` (created with its folder when missing)."""

    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = timeout
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _write(self, sql: str, params: tuple) -> int:
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                count = db.execute(sql, params).rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return count

    def record_turn(self, record: TurnRecord) -> str:
        turn_id = uuid.uuid4().hex
        self._write("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (turn_id, _now(), record.question, normalise_question(record.question), record.decision,
                     record.top_url, record.user_hash, record.conversation_type))
        return turn_id

    def record_vote(self, turn_id: str, vote: str, user_hash: str | None) -> bool:
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        count = self._write(
            "INSERT INTO votes (turn_id, voter, vote, voted_at) SELECT id, ?, ?, ? FROM turns WHERE id = ? "
            "ON CONFLICT (turn_id, voter) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
            (user_hash or "", vote, _now(), str(turn_id)))
        return count > 0

    def report(self, limit: int = 50) -> list[ReportRow]:
        with closing(self._connect()) as db:
            rows = db.execute(_REPORT, (int(limit),)).fetchall()
        return [ReportRow(q, n, int(esc or 0), int(down or 0), last, top) for q, n, esc, down, last, top in rows]

    def turn(self, turn_id: str) -> dict | None:
        """One stored turn with its votes (for tests and support), or None."""
        with closing(self._connect()) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if row is None:
                return None
            votes = db.execute("SELECT voter, vote FROM votes WHERE turn_id = ?", (turn_id,)).fetchall()
        return {**dict(row), "votes": {v["voter"]: v["vote"] for v in votes}}

    def close(self) -> None:
        """Nothing held open between operations."""
