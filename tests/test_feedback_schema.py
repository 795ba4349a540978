"""One schema vocabulary in both stores, and databases written by earlier versions migrated in place
(SQLite always; PostgreSQL when TEST_DATABASE_URL is set, see test_feedback_contract.py)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from bot.feedback.store import TABLES
from tests.support.feedback import open_backend, turn

VOCABULARY = {table: sorted(columns) for table, columns in TABLES.items()}
TURN_ID, VOTED_ID = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
URL = "https://ctopendata.github.io/open-data-handbook/#introduction"

# The schemas as the stores wrote them before the one vocabulary (kept here, verbatim, to migrate from).
SQLITE_BEFORE = f"""
CREATE TABLE turns (id TEXT PRIMARY KEY, asked_at TEXT NOT NULL, question TEXT NOT NULL,
    norm_question TEXT NOT NULL, decision TEXT NOT NULL, top_url TEXT, user_hash TEXT,
    conversation_type TEXT NOT NULL);
CREATE INDEX turns_norm ON turns (norm_question);
CREATE TABLE votes (turn_id TEXT NOT NULL REFERENCES turns (id), voter TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')), voted_at TEXT NOT NULL, PRIMARY KEY (turn_id, voter));
INSERT INTO turns VALUES ('{TURN_ID}', '2025-06-01T10:00:00.000000+00:00', 'How do I publish GIS data?',
    'how do i publish gis data?', 'escalate', NULL, 'h1', 'channel');
INSERT INTO turns VALUES ('{VOTED_ID}', '2025-06-02T10:00:00.000000+00:00', 'What is open data?',
    'what is open data?', 'answer', '{URL}', 'h2', 'personal');
INSERT INTO votes VALUES ('{VOTED_ID}', 'h2', 'down', '2025-06-02T10:01:00.000000+00:00');
"""

POSTGRES_BEFORE = f"""
CREATE TABLE handbook_turns (id text PRIMARY KEY, question text NOT NULL, question_norm text NOT NULL,
    decision text NOT NULL, top_url text, user_hash text, conversation_type text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX handbook_turns_norm ON handbook_turns (question_norm);
CREATE TABLE handbook_votes (turn_id text NOT NULL REFERENCES handbook_turns (id) ON DELETE CASCADE,
    voter text NOT NULL, vote text NOT NULL CHECK (vote IN ('up', 'down')),
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (turn_id, voter));
INSERT INTO handbook_turns VALUES ('{TURN_ID}', 'How do I publish GIS data?', 'how do i publish gis data?', 'escalate',
    NULL, 'h1', 'channel', '2025-06-01T10:00:00+00:00');
INSERT INTO handbook_turns VALUES ('{VOTED_ID}', 'What is open data?', 'what is open data?', 'answer', '{URL}', 'h2',
    'personal', '2025-06-02T10:00:00+00:00');
INSERT INTO handbook_votes VALUES ('{VOTED_ID}', 'h2', 'down', '2025-06-02T10:01:00+00:00');
"""


def columns(backend: dict) -> dict[str, list[str]]:
    """Table -> its column names (sorted: a migrated table keeps its old column order), read from the database."""
    if backend["backend"] == "sqlite":
        with closing(sqlite3.connect(backend["path"])) as db:
            tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            return {t: sorted(row[1] for row in db.execute(f"PRAGMA table_info({t})")) for t in tables}
    import psycopg
    with psycopg.connect(backend["url"]) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema ="
                            " current_schema() ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return {t: sorted(c) for t, c in out.items()}


def write_before(backend: dict) -> None:
    if backend["backend"] == "sqlite":
        with closing(sqlite3.connect(backend["path"])) as db:
            db.executescript(SQLITE_BEFORE)
        return
    import psycopg
    with psycopg.connect(backend["url"], autocommit=True) as conn:
        conn.execute(POSTGRES_BEFORE)


def test_both_stores_use_one_vocabulary(spec):
    open_backend(spec).close()
    assert columns(spec) == VOCABULARY


def test_a_database_written_before_is_migrated_and_keeps_everything(spec):
    write_before(spec)
    store = open_backend(spec)
    try:
        assert columns(spec) == VOCABULARY
        old = store.turn(VOTED_ID)
        assert (old["question"], old["decision"], old["top_url"], old["votes"]) == \
               ("What is open data?", "answer", URL, {"h2": "down"})
        assert old["question_norm"] == "what is open data?" and old["asked_at"].startswith("2025-06-02T10:00:00")
        rows = {r.question: r for r in store.report()}
        assert (rows["how do i publish gis data?"].escalated, rows["what is open data?"].down_votes) == (1, 1)
        assert rows["what is open data?"].top_url == URL
        # the migrated tables take new turns and votes, and a vote still replaces the voter's earlier one
        new = store.record_turn(turn("How do I publish GIS data?", "escalate"))
        assert store.record_vote(VOTED_ID, "up", "h2") and store.record_vote(new, "down", "h3")
        assert store.turn(VOTED_ID)["votes"] == {"h2": "up"}
        assert {r.question: r.count for r in store.report()} == {"how do i publish gis data?": 2}
    finally:
        store.close()
    again = open_backend(spec)   # opening a migrated database changes nothing
    try:
        assert columns(spec) == VOCABULARY
        assert again.turn(TURN_ID)["question"] == "How do I publish GIS data?"
    finally:
        again.close()


def test_record_turns_is_all_or_nothing(spec):
    store = open_backend(spec)
    try:
        first = turn("batch one")
        store.record_turns([first, turn("batch two")])
        assert store.turn(first.turn_id)["question"] == "batch one"
        with pytest.raises(Exception):  # noqa: B017 - a duplicate id: the backend's own integrity error
            store.record_turns([turn("batch three"), first])
        assert {r.question for r in store.report()} == {"batch one", "batch two"}
    finally:
        store.close()


def test_the_protocol_declares_every_store_method_the_bot_uses():
    """The recorder runs store methods by name (``recorder.call("turn", ...)``, ``submit(...)``) and calls
    ``record_turns`` / ``record_messages`` itself: every such method is declared by ``FeedbackStore`` and
    implemented by both stores with the protocol's parameters."""
    import inspect
    import re
    from pathlib import Path

    from bot.feedback.postgres import PostgresFeedbackStore
    from bot.feedback.sqlite import SQLiteFeedbackStore
    from bot.feedback.store import FeedbackStore

    bot = Path(__file__).resolve().parent.parent / "bot"
    used = set()
    for path in bot.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"recorder\.(?:call|submit)\(\s*\"(\w+)\"", text))
        used |= set(re.findall(r"(?:self|recorder)\.call\(\s*\"(\w+)\"", text))
        used |= set(re.findall(r"self\.store\.(\w+)\(", text))
    assert {"turn", "handoff", "record_feedback", "record_turns", "record_messages"} <= used, used
    for name in used:
        declared = getattr(FeedbackStore, name, None)
        assert callable(declared), f"FeedbackStore does not declare {name}"
        params = list(inspect.signature(declared).parameters)
        for store in (SQLiteFeedbackStore, PostgresFeedbackStore):
            assert list(inspect.signature(getattr(store, name)).parameters) == params, (store.__name__, name)
