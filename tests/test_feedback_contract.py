"""One storage contract, every FeedbackStore backend: SQLite (the default) and PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (or DATABASE_URL): each test gets a database of its own,
created and dropped through that URL, so pointing it at a server never touches existing tables.
Without one the PostgreSQL cases skip, and fail under CI=true (.ci/run starts a server on loopback).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.feedback.store import ReportRow
from tests.support.feedback import open_backend, turn

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@pytest.fixture
def store(spec):
    s = open_backend(spec)
    yield s
    s.close()


def by_question(rows: list[ReportRow]) -> dict[str, ReportRow]:
    return {r.question: r for r in rows}


def test_record_turn_returns_distinct_ids(store):
    ids = {store.record_turn(turn(f"question {i}", "answer")) for i in range(20)}
    assert len(ids) == 20
    assert all(isinstance(i, str) and i for i in ids)


def test_vote_on_unknown_turn_is_refused(store):
    assert store.record_vote("no-such-turn", "down", "u1") is False
    assert store.record_vote(uuid.uuid4().hex, "up", "u1") is False
    assert store.report() == []


def test_report_lists_escalated_and_down_voted_most_frequent_first(store):
    url = "https://ctopendata.github.io/open-data-handbook/#introduction"
    for text in ("How do I publish GIS data?", "how do i   publish gis DATA?", " How do I publish GIS data? "):
        store.record_turn(turn(text, "escalate"))
    answered = store.record_turn(turn("What is open data?", "answer", top_url=url))
    assert store.record_vote(answered, "down", "u2") is True
    liked = store.record_turn(turn("Who is DAPA?", "answer", top_url=url))
    assert store.record_vote(liked, "up", "u3") is True
    store.record_turn(turn("What is a data steward?", "answer", top_url=url))
    store.record_turn(turn("Can I talk to a person?", "handoff"))

    rows = store.report()
    assert [r.question for r in rows][0] == "how do i publish gis data?"
    assert set(r.question for r in rows) == {"how do i publish gis data?", "what is open data?",
                                             "can i talk to a person?"}
    gis, open_data = rows[0], by_question(rows)["what is open data?"]
    assert by_question(rows)["can i talk to a person?"].escalated == 1
    assert (gis.count, gis.escalated, gis.down_votes) == (3, 3, 0)
    assert (open_data.count, open_data.escalated, open_data.down_votes) == (1, 0, 1)
    assert open_data.top_url == url
    for row in rows:
        seen = datetime.fromisoformat(row.last_seen.replace("Z", "+00:00"))
        assert seen.utcoffset() is not None and seen.utcoffset().total_seconds() == 0
        assert abs((datetime.now(timezone.utc) - seen).total_seconds()) < 3600


def test_turn_is_stored_without_raw_user_id(store):
    tid = store.record_turn(turn("Who approves a dataset?", "answer", top_url="https://x/#a", user="5f0c3a"))
    assert store.record_vote(tid, "down", "5f0c3a")
    stored = store.turn(tid)
    assert stored["question"] == "Who approves a dataset?" and stored["decision"] == "answer"
    assert stored["user_hash"] == "5f0c3a" and stored["votes"] == {"5f0c3a": "down"}
    assert store.turn(uuid.uuid4().hex) is None


def test_later_vote_replaces_earlier_one(store):
    tid = store.record_turn(turn("Where do I upload a dataset?", "answer"))
    assert store.record_vote(tid, "down", "voter-a")
    assert by_question(store.report())["where do i upload a dataset?"].down_votes == 1
    assert store.record_vote(tid, "up", "voter-a")
    assert store.report() == []
    assert store.record_vote(tid, "down", "voter-a")
    assert store.record_vote(tid, "down", "voter-a")
    row = by_question(store.report())["where do i upload a dataset?"]
    assert (row.count, row.down_votes) == (1, 1)


def test_report_limit(store):
    for i in range(5):
        for _ in range(i + 1):
            store.record_turn(turn(f"unanswered {i}"))
    rows = store.report(limit=3)
    assert [r.question for r in rows] == ["unanswered 4", "unanswered 3", "unanswered 2"]
    assert [r.count for r in rows] == [5, 4, 3]


def test_survives_reopen(spec):
    first = open_backend(spec)
    tid = first.record_turn(turn("Can I publish PDFs?", "answer"))
    first.record_vote(tid, "down", "u9")
    first.record_turn(turn("Can I publish PDFs?", "escalate"))
    first.close()
    second = open_backend(spec)
    try:
        row = by_question(second.report())["can i publish pdfs?"]
        assert (row.count, row.escalated, row.down_votes) == (2, 1, 1)
        assert second.record_vote(tid, "up", "u9") is True
    finally:
        second.close()


def test_concurrent_threads_lose_nothing(store):
    """The bot calls the store through asyncio.to_thread: one store, many threads."""
    threads, per_thread, errors, ids = 8, 40, [], []
    lock = threading.Lock()

    def work(n):
        try:
            for i in range(per_thread):
                tid = store.record_turn(turn(f"thread {n} question {i}", "answer"))
                assert store.record_vote(tid, "down", f"user-{n}")
                with lock:
                    ids.append(tid)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert not errors
    assert len(set(ids)) == threads * per_thread
    rows = store.report(limit=100_000)
    assert len(rows) == threads * per_thread
    assert sum(r.down_votes for r in rows) == threads * per_thread


WRITER = r"""
import json, os, sys, time
from tests.support.feedback import open_backend, turn
spec, n, count, go = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = open_backend(spec)
deadline = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.005)
ids = []
for i in range(count):
    if i % 10 == 0:
        question = ("Shared   QUESTION about retention" if n % 2 else "shared question ABOUT retention")
        decision = "escalate"
    else:
        question, decision = f"process {{n}} question {{i}}", ("escalate" if i % 2 else "answer")
    tid = store.record_turn(turn(question, decision, user=f"p{{n}}"))
    if decision == "answer":
        assert store.record_vote(tid, "down", f"p{{n}}"), tid
    ids.append(tid)
store.close()
print(json.dumps(ids))
"""


def test_concurrent_processes_lose_nothing(spec, tmp_path):
    """Several worker processes (as several bot workers or instances) writing at once: zero rows lost."""
    processes, per_process = 4, 150
    opened = open_backend(spec)  # create the schema before the race, as the first worker would
    opened.close()
    go = tmp_path / "go"
    code = WRITER
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, "-c", code, json.dumps(spec), str(n), str(per_process), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
             for n in range(processes)]
    time.sleep(0.5)
    go.touch()
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        ids.extend(json.loads(out.strip().splitlines()[-1]))
    total = processes * per_process
    assert len(ids) == len(set(ids)) == total

    store = open_backend(spec)
    try:
        rows = store.report(limit=100_000)
    finally:
        store.close()
    shared = by_question(rows)["shared question about retention"]
    assert shared.count == shared.escalated == processes * (per_process // 10)
    assert sum(r.count for r in rows) == total
    answered = processes * sum(1 for i in range(per_process) if i % 10 and i % 2 == 0)
    assert sum(r.down_votes for r in rows) == answered
    assert sum(r.escalated for r in rows) == total - answered


@pytest.mark.parametrize("spec", ["postgres"], indirect=True)
def test_postgres_reconnects_after_connection_loss(spec):
    import psycopg
    store = open_backend(spec)
    try:
        store.record_turn(turn("before the outage"))
        with psycopg.connect(spec["admin"], autocommit=True) as admin:
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                   " WHERE datname = %s AND pid <> pg_backend_pid()", (spec["db"],)).fetchone()[0]
        assert killed >= 1
        time.sleep(0.2)
        store.record_turn(turn("after the outage"))
        assert {r.question for r in store.report()} == {"before the outage", "after the outage"}
    finally:
        store.close()


# ---- Teams-native feedback: the sent message <-> turn mapping, early votes, reasons, hand-off resolution
def test_feedback_on_a_sent_message_is_stored_with_its_text(store):
    tid = store.record_turn(turn("How do I retire a dataset?", "answer", top_url="https://x/#retire"))
    store.record_message("msg-1", "conv-1", tid)
    found = store.record_feedback("msg-1", "conv-1", "down", "u9", "about maps, not tables")
    assert found == {"turn_id": tid, "question": "How do I retire a dataset?"}
    stored = store.turn(tid)
    assert stored["votes"] == {"u9": "down"} and stored["reasons"] == {"u9": "about maps, not tables"}
    [row] = store.report()
    assert row.down_votes == 1 and row.reasons == ("about maps, not tables",)
    assert store.record_feedback("msg-1", "conv-1", "up", "u9", None) is not None   # the voter changed their mind
    assert store.turn(tid)["votes"] == {"u9": "up"} and store.turn(tid)["reasons"] == {}


def test_a_vote_before_the_message_id_is_stored_is_not_lost(store):
    tid = store.record_turn(turn("What metadata do I need?", "answer"))
    assert store.record_feedback("msg-early", "conv-1", "down", "u1", "too long") is None
    assert store.turn(tid)["votes"] == {}
    store.record_message("msg-early", "conv-1", tid)
    assert store.turn(tid)["votes"] == {"u1": "down"} and store.turn(tid)["reasons"] == {"u1": "too long"}
    store.record_message("msg-early", "conv-1", tid)   # a repeated mapping changes nothing
    assert store.turn(tid)["votes"] == {"u1": "down"}


def test_feedback_without_message_id_goes_to_the_conversations_latest_answer(store):
    first = store.record_turn(turn("first?", "answer"))
    store.record_message("m1", "conv-a", first)
    time.sleep(0.01)
    second = store.record_turn(turn("second?", "answer"))
    store.record_message("m2", "conv-a", second)
    other = store.record_turn(turn("elsewhere?", "answer"))
    store.record_message("m3", "conv-b", other)
    assert store.record_feedback(None, "conv-a", "up", "u1")["turn_id"] == second
    assert store.record_feedback(None, "conv-unknown", "up", "u1") is None


def test_hand_off_resolution_records_who_and_when_once(store):
    tid = store.record_turn(turn("Can I talk to a person?", "handoff"))
    store.record_handoff("h-1", tid, "asked for a person")
    at, first = store.resolve_handoff("h-1", "resolver-hash")
    assert first is True and datetime.fromisoformat(at).utcoffset().total_seconds() == 0
    again, first_again = store.resolve_handoff("h-1", "someone-else")
    assert (again, first_again) == (at, False)
    stored = store.handoff("h-1")
    assert (stored["turn_id"], stored["reason"], stored["resolved_by"]) == (tid, "asked for a person", "resolver-hash")
    assert store.resolve_handoff("h-unknown", "r")[1] is True   # a card whose record was lost still resolves


def test_activity_lists_every_turn_with_its_votes_oldest_first(store):
    """What the DAPA report (`bot report --html`) reads: the same from every store."""
    first = store.record_turn(turn("how do I retire a dataset", "answer", "https://example.gov/h/retire#how"))
    store.record_turn(turn("what is the budget of OPM", "handoff"))
    third = store.record_turn(turn("metadata fields", "unsure", "https://example.gov/h/metadata"))
    assert store.record_vote(first, "up", "u1") and store.record_vote(first, "up", "u2")
    assert store.record_vote(first, "down", "u3") and store.record_vote(third, "down", "u1")
    rows = store.activity()
    assert [(r.decision, r.top_url, r.up, r.down) for r in rows] == [
        ("answer", "https://example.gov/h/retire#how", 2, 1), ("handoff", None, 0, 0),
        ("unsure", "https://example.gov/h/metadata", 0, 1)]
    for r in rows:
        moment = datetime.fromisoformat(r.asked_at)
        assert moment.utcoffset().total_seconds() == 0
        assert abs((datetime.now(timezone.utc) - moment).total_seconds()) < 600
def test_sent_messages_in_one_batch_attach_their_early_votes(store):
    from bot.feedback.store import SentMessage
    ids = [store.record_turn(turn(f"batched {i}?", "answer")) for i in range(3)]
    assert store.record_feedback("early-1", "c", "down", "u1", "slow") is None
    store.record_messages([SentMessage(f"early-{i}", "c", t) for i, t in enumerate(ids)])
    assert store.turn(ids[1])["votes"] == {"u1": "down"} and store.turn(ids[1])["reasons"] == {"u1": "slow"}
    assert store.turn(ids[0])["votes"] == {} and store.turn(ids[2])["votes"] == {}
    assert store.record_feedback("early-2", "c", "up", "u2")["turn_id"] == ids[2]
