"""The learning step's tables, next to the feedback store's in the same database (SQLite or PostgreSQL).

- ``handbook_resolved_sections``: the section a hand-off was resolved with (turn id -> section URL),
  written when DAPA resolves a hand-off by pointing to a handbook section (``record_resolution``);
- ``handbook_picked_sections``: the section an employee said answered their question, clicking "This
  answered it" beside one of the closest sections of an unsure reply (``record_pick``; one pick per turn
  and person, a later click replaces it);
- ``handbook_suggestion_reviews``: every approved or rejected (section, phrasing) pair, so a reviewed
  phrasing is never proposed again for that section.

It reads the feedback store's ``handbook_turns`` / ``handbook_votes`` (``bot/feedback/store.py``'s
vocabulary) and never writes them. ``open_learning_store(settings)`` opens the database the settings
name (``DATABASE_URL`` wins over ``FEEDBACK_DB``), creating the feedback tables first if needed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from bot.learning.suggest import Evidence, phrasing_key

VERDICTS = ("approved", "rejected")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS handbook_resolved_sections (
        turn_id     TEXT PRIMARY KEY REFERENCES handbook_turns (id),
        url         TEXT NOT NULL,
        resolver    TEXT,                -- salted hash of who resolved it
        resolved_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS handbook_picked_sections (
        turn_id     TEXT NOT NULL REFERENCES handbook_turns (id),
        url         TEXT NOT NULL,
        picker      TEXT NOT NULL,       -- salted hash of who picked it ('' when the channel gave no id)
        picked_at   TEXT NOT NULL,
        PRIMARY KEY (turn_id, picker)
    )""",
    """CREATE TABLE IF NOT EXISTS handbook_suggestion_reviews (
        url         TEXT NOT NULL,
        phrasing    TEXT NOT NULL,       -- suggest.phrasing_key of the question
        question    TEXT NOT NULL,       -- as it was approved or rejected
        verdict     TEXT NOT NULL CHECK (verdict IN ('approved', 'rejected')),
        reviewer    TEXT,
        reviewed_at TEXT NOT NULL,
        PRIMARY KEY (url, phrasing)
    )""",
)

_EVIDENCE = """
SELECT t.id, t.question, t.asked_at, t.top_url,
       (SELECT COUNT(*) FROM handbook_votes v WHERE v.turn_id = t.id AND v.vote = 'up'),
       (SELECT COUNT(*) FROM handbook_votes v WHERE v.turn_id = t.id AND v.vote = 'down'),
       r.url,
       (SELECT p.url FROM handbook_picked_sections p WHERE p.turn_id = t.id
        GROUP BY p.url ORDER BY COUNT(*) DESC, MIN(p.picked_at), p.url LIMIT 1)
FROM handbook_turns t LEFT JOIN handbook_resolved_sections r ON r.turn_id = t.id
WHERE r.url IS NOT NULL OR EXISTS (SELECT 1 FROM handbook_votes v WHERE v.turn_id = t.id AND v.vote = 'up')
   OR EXISTS (SELECT 1 FROM handbook_picked_sections p WHERE p.turn_id = t.id)
ORDER BY t.asked_at, t.id
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _iso(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return str(value)


class LearningStore:
    """Evidence for suggestions, resolutions and review decisions over one DB-API connection.

    ``paramstyle`` "qmark" (sqlite3) or "format" (psycopg); SQL here is written with ``?``."""

    def __init__(self, connection, paramstyle: str = "qmark") -> None:
        self._conn, self._format = connection, paramstyle == "format"
        self._lock = threading.Lock()
        with self._lock:
            for statement in _SCHEMA:
                self._exec(statement)
            self._commit()

    # --- connection helpers -------------------------------------------------------------------------
    def _exec(self, sql: str, params: tuple = ()):
        if self._format:
            sql = sql.replace("?", "%s")
        cursor = self._conn.cursor()
        cursor.execute(sql, params)
        return cursor

    def _commit(self) -> None:
        if not getattr(self._conn, "autocommit", False) and not self._format:
            self._conn.commit()

    # --- reads --------------------------------------------------------------------------------------
    def evidence(self) -> list[Evidence]:
        """Every turn voted 👍, resolved with a section or with a section picked, oldest first (a turn picked
        by several people: the section most of them picked, the earliest on a tie)."""
        with self._lock:
            rows = self._exec(_EVIDENCE).fetchall()
        return [Evidence(turn_id=i, question=q, asked_at=_iso(at), top_url=top, up_votes=int(up),
                         down_votes=int(down), resolved_url=resolved, picked_url=picked)
                for i, q, at, top, up, down, resolved, picked in rows]

    def picks(self, turn_id: str) -> list[tuple[str, str]]:
        """(section url, picker hash) of every pick on ``turn_id``."""
        with self._lock:
            rows = self._exec("SELECT url, picker FROM handbook_picked_sections WHERE turn_id = ?"
                              " ORDER BY picked_at, picker", (turn_id,)).fetchall()
        return [(url, picker) for url, picker in rows]

    def reviews(self) -> list[dict]:
        """Every review decision: {"url", "phrasing", "question", "verdict", "reviewer", "reviewed_at"}."""
        with self._lock:
            rows = self._exec("SELECT url, phrasing, question, verdict, reviewer, reviewed_at"
                              " FROM handbook_suggestion_reviews ORDER BY reviewed_at, url, phrasing").fetchall()
        keys = ("url", "phrasing", "question", "verdict", "reviewer", "reviewed_at")
        return [dict(zip(keys, row)) for row in rows]

    def reviewed(self) -> dict[str, list[str]]:
        """{section url: phrasings approved or rejected for it}."""
        out: dict[str, list[str]] = {}
        for r in self.reviews():
            out.setdefault(r["url"], []).append(r["phrasing"])
        return out

    def resolution(self, turn_id: str) -> tuple[str, str] | None:
        """(question, section url) of a turn whose hand-off was resolved with a section, or None."""
        with self._lock:
            row = self._exec("SELECT t.question, r.url FROM handbook_resolved_sections r"
                             " JOIN handbook_turns t ON t.id = r.turn_id WHERE r.turn_id = ?", (turn_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def verdict(self, url: str, phrasing: str) -> str | None:
        """"approved" / "rejected" for a phrasing (``phrasing_key``) of section ``url``, or None."""
        with self._lock:
            row = self._exec("SELECT verdict FROM handbook_suggestion_reviews WHERE url = ? AND phrasing = ?",
                             (url, phrasing)).fetchone()
        return row[0] if row else None

    def approved(self) -> dict[str, list[str]]:
        """{section url: questions approved for it}, in the order they were approved."""
        out: dict[str, list[str]] = {}
        for r in self.reviews():
            if r["verdict"] == "approved":
                out.setdefault(r["url"], []).append(r["question"])
        return out

    # --- writes -------------------------------------------------------------------------------------
    def record_resolution(self, turn_id: str, url: str, resolver: str | None = None) -> bool:
        """DAPA resolved the hand-off of ``turn_id`` by pointing to section ``url`` (a later resolution of
        the same turn replaces it). False when the turn is unknown."""
        with self._lock:
            cursor = self._exec(
                "INSERT INTO handbook_resolved_sections (turn_id, url, resolver, resolved_at)"
                " SELECT id, ?, ?, ? FROM handbook_turns WHERE id = ?"
                " ON CONFLICT (turn_id) DO UPDATE SET url = excluded.url, resolver = excluded.resolver,"
                " resolved_at = excluded.resolved_at", (url, resolver, _now(), turn_id))
            self._commit()
            return cursor.rowcount == 1

    def record_pick(self, turn_id: str, url: str, picker: str | None = None) -> bool:
        """Someone (``picker``, a salted hash) said section ``url`` answered the question of ``turn_id``: one
        pick per turn and person, so a second click changes nothing and a click on another section replaces
        it. False when the turn is unknown (nothing stored)."""
        with self._lock:
            cursor = self._exec(
                "INSERT INTO handbook_picked_sections (turn_id, url, picker, picked_at)"
                " SELECT id, ?, ?, ? FROM handbook_turns WHERE id = ?"
                " ON CONFLICT (turn_id, picker) DO UPDATE SET url = excluded.url,"
                " picked_at = CASE WHEN handbook_picked_sections.url = excluded.url"
                " THEN handbook_picked_sections.picked_at ELSE excluded.picked_at END",
                (url, picker or "", _now(), turn_id))
            self._commit()
            return cursor.rowcount == 1

    def record_reviews(self, url: str, questions: Iterable[str], verdict: str, reviewer: str | None = None) -> None:
        """Remember ``verdict`` for each phrasing of ``questions`` on section ``url`` (one transaction)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
        at = _now()
        rows = [(url, phrasing_key(q), " ".join(q.split()), verdict, reviewer, at) for q in questions]
        with self._lock:
            self._exec("BEGIN" if self._format else "BEGIN IMMEDIATE")
            try:
                for row in rows:
                    self._exec("INSERT INTO handbook_suggestion_reviews"
                               " (url, phrasing, question, verdict, reviewer, reviewed_at) VALUES (?, ?, ?, ?, ?, ?)"
                               " ON CONFLICT (url, phrasing) DO UPDATE SET verdict = excluded.verdict,"
                               " question = excluded.question, reviewer = excluded.reviewer,"
                               " reviewed_at = excluded.reviewed_at", row)
                self._exec("COMMIT")
            except BaseException:
                self._exec("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_learning_store(settings) -> LearningStore:
    """The learning tables in the database ``settings`` name (the feedback tables are created first)."""
    from bot.feedback import open_store

    open_store(settings).close()   # creates (or migrates) the feedback tables this reads
    url = getattr(settings, "database_url", "")
    if url:
        import psycopg

        conn = psycopg.connect(url, autocommit=True, application_name="handbook-bot-learning")
        return LearningStore(conn, "format")
    return sqlite_learning_store(settings.feedback_db)


def sqlite_learning_store(path: str | Path) -> LearningStore:
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    return LearningStore(conn, "qmark")
