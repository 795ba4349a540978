"""SQLite feedback store: WAL, survives reopen, several processes writing at once, the store factory;
and bot/feedback/recorder.py, which writes feedback off the reply path."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.feedback import open_store
from bot.feedback.recorder import Recorder
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.feedback.store import TurnRecord, hash_user
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
from bot.feedback.store import TurnRecord
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.feedback.recorder import Recorder
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
        import bot.feedback.postgres  # noqa: F401
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


def test_record_turns_writes_a_batch_under_the_records_ids(tmp_path):
    store = SQLiteFeedbackStore(tmp_path / "fb.sqlite3")
    records = [turn(f"batch question {i}", "escalate") for i in range(5)]
    store.record_turns(records)
    assert [store.turn(r.turn_id)["question"] for r in records] == [f"batch question {i}" for i in range(5)]
    assert store.record_turn(TurnRecord("q", "answer", None, None, "cli", turn_id="chosen")) == "chosen"
    assert store.turn("chosen")["question"] == "q"


def test_connections_are_kept_per_thread_and_closed(tmp_path):
    store = SQLiteFeedbackStore(tmp_path / "fb.sqlite3")
    store.record_turn(turn("q"))
    first = store._db()
    store.record_turn(turn("q2"))
    assert store._db() is first                      # one connection per thread, kept open
    other = []
    worker = threading.Thread(target=lambda: other.append(store._db()))
    worker.start()
    worker.join()
    assert other[0] is not first
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):   # closed...
        first.execute("SELECT 1")
    assert len(store.report()) == 0                  # ...and a later call opens a new one


async def test_recorder_writes_off_the_caller_in_order_and_flushes_on_close(tmp_path):
    path = tmp_path / "fb.sqlite3"
    recorder = Recorder(SQLiteFeedbackStore(path))
    record = turn("asked just now", "escalate")
    assert recorder.record_turn(record) == record.turn_id          # returns at once, with the record's id
    assert await recorder.record_vote(record.turn_id, "down", "u1") is True   # queued after the turn: found
    assert await recorder.record_vote("no-such-turn", "down", "u1") is False
    late = [recorder.record_turn(turn(f"queued {i}")) for i in range(50)]
    recorder.close()
    again = SQLiteFeedbackStore(path)
    assert all(again.turn(t) for t in late)
    assert again.turn(record.turn_id)["votes"] == {"u1": "down"}


async def test_recorder_survives_a_failing_store(caplog):
    class Broken:
        def record_turn(self, record):
            raise sqlite3.OperationalError("disk I/O error")

        def record_turns(self, records):
            raise sqlite3.OperationalError("disk I/O error")

        def record_vote(self, *args):
            raise sqlite3.OperationalError("disk I/O error")

    recorder = Recorder(Broken())
    recorder.record_turn(turn("q"))
    with pytest.raises(sqlite3.OperationalError):
        await recorder.record_vote("t", "up", None)
    recorder.record_turn(turn("q2"))
    recorder.close()
    assert "could not record 1 turn(s) (OperationalError)" in caplog.text
