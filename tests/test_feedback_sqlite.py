"""SQLite feedback store: WAL, survives reopen, several processes writing at once, the store factory."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.feedback import TurnRecord, hash_user, open_store
from bot.feedback_sqlite import SQLiteFeedbackStore
from bot.settings import Settings


def turn(question: str, decision: str = "answer", user: str | None = "u1") -> TurnRecord:
    return TurnRecord(question, decision, "https://example.test/page#a", hash_user(user, "salt"), "personal")


def test_creates_folder_uses_wal_and_survives_reopen(tmp_path):
    path = tmp_path / "deep" / "fb.sqlite3"
    store = SQLiteFeedbackStore(path)
    tid = store.record_turn(turn("Where is DataSync?", "escalate"))
    assert store.record_vote(tid, "down", hash_user("u1", "salt"))
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = SQLiteFeedbackStore(path)
    row = again.turn(tid)
    assert row["question"] == "Where is DataSync?" and row["decision"] == "escalate"
    assert list(row["votes"].values()) == ["down"]
    [report] = again.report()
    assert (report.question, report.count, report.escalated, report.down_votes) == ("where is datasync?", 1, 1, 1)


def test_raw_user_id_is_never_stored(tmp_path):
    path = tmp_path / "fb.sqlite3"
    store = SQLiteFeedbackStore(path)
    tid = store.record_turn(turn("q", user="29:raw-user-id"))
    store.record_vote(tid, "up", hash_user("29:raw-user-id", "salt"))
    assert b"29:raw-user-id" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_vote_validation_and_unknown_turn(tmp_path):
    store = SQLiteFeedbackStore(tmp_path / "fb.sqlite3")
    assert store.record_vote("no-such-turn", "up", None) is False
    tid = store.record_turn(turn("q"))
    with pytest.raises(ValueError):
        store.record_vote(tid, "sideways", None)
    assert store.record_vote(tid, "up", None) and store.record_vote(tid, "down", None)
    assert store.turn(tid)["votes"] == {"": "down"}


_WRITER = """
import sys
from bot.feedback import TurnRecord
from bot.feedback_sqlite import SQLiteFeedbackStore
store = SQLiteFeedbackStore(sys.argv[1])
for i in range(40):
    tid = store.record_turn(TurnRecord("shared question", "escalate", None, None, "cli"))
    assert store.record_vote(tid, "down", sys.argv[2])
"""


def test_several_processes_write_concurrently(tmp_path):
    path = tmp_path / "fb.sqlite3"
    SQLiteFeedbackStore(path)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"w{i}"], stderr=subprocess.PIPE)
             for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    [row] = SQLiteFeedbackStore(path).report()
    assert (row.count, row.escalated, row.down_votes) == (160, 160, 160)


def test_open_store_defaults_to_sqlite(tmp_path):
    store = open_store(Settings(feedback_db=tmp_path / "x.sqlite3"))
    assert isinstance(store, SQLiteFeedbackStore) and Path(store.path) == tmp_path / "x.sqlite3"


def test_open_store_picks_postgres_when_database_url_is_set(tmp_path):
    settings = Settings(feedback_db=tmp_path / "x.sqlite3", database_url="postgresql://127.0.0.1:1/none")
    try:
        import bot.feedback_postgres  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="DATABASE_URL"):
            open_store(settings)
        return
    with pytest.raises(Exception) as info:  # noqa: B017 - nothing listens on port 1
        open_store(settings)
    assert type(info.value).__module__.split(".")[0] in ("psycopg", "psycopg2", "bot")  # PostgreSQL was tried
    assert not (tmp_path / "x.sqlite3").exists()


def test_report_command_prints_most_frequent_first(tmp_path):
    path = tmp_path / "fb.sqlite3"
    store = SQLiteFeedbackStore(path)
    for _ in range(3):
        store.record_turn(turn("How do I get a GitHub account?", "escalate"))
    tid = store.record_turn(turn("What is open data?", "answer"))
    store.record_vote(tid, "down", "u2")
    store.record_turn(turn("Answered fine", "answer"))
    env = {**os.environ, "FEEDBACK_DB": str(path), "DATABASE_URL": ""}
    out = subprocess.run([sys.executable, "-m", "bot", "report"], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    lines = [line for line in out.splitlines()[1:] if line.strip()]
    assert len(lines) == 2 and "github" in lines[0] and lines[0].split()[0] == "3"
    assert "what is open data?" in lines[1] and "answered fine" not in out
