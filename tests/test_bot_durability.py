"""Feedback survives kill -9: the real server (``deploy/serve.py``, two workers sharing one SQLite file) on
loopback, the stub Bot Connector, and another writer holding the store's lock most of the time so commits
are slow. Every answer that reached the connector has its turn row, and every vote Teams acknowledged
(built-in feedback, ``message/submitAction``, cast the moment the answer arrived, on a new connection so it
may reach the other worker) is stored, after the server is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import aiohttp

from bot.feedback.store import PENDING, TURNS, VOTES_TABLE
from conftest import REPO
from tests.support.net import free_port
from tests.support.teams import personal_message

_ids = itertools.count(1)   # the stub connector numbers the messages it posts


class LockHog:
    """Holds the SQLite write lock ``hold`` seconds out of every ``period``."""

    def __init__(self, db, hold: float = 0.1, period: float = 0.15) -> None:
        self.db, self.hold, self.period, self.stop = db, hold, period, threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=30, isolation_level=None)
        while not self.stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(self.hold)
            conn.execute("COMMIT")
            time.sleep(self.period - self.hold)
        conn.close()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except OSError:
                pass
    return out


async def test_kill_9_loses_no_answered_turn_and_no_acknowledged_vote(connector, bundled_index, tmp_path):
    db = tmp_path / "feedback.sqlite3"
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "DATABASE_URL", "HOST"))},
           "PORT": str(port), "WEB_WORKERS": "2", "INDEX_DIR": str(bundled_index[0]), "FEEDBACK_DB": str(db),
           "INDEX_RELOAD_SECONDS": "0"}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "deploy/serve.py"], cwd=REPO, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    acknowledged = 0
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            healthy = 0   # both workers have loaded the index: 20 fresh connections in a row answer 200
            for _ in range(1200):
                try:
                    async with session.get(base + "/healthz") as r:
                        healthy = healthy + 1 if r.status == 200 else 0
                except aiohttp.ClientError:
                    healthy = 0
                if healthy >= 20:
                    break
                await asyncio.sleep(0.05)

            async def ask_then_vote(n: int) -> None:
                nonlocal acknowledged
                activity = personal_message(connector.url, "how do I retire a dataset")
                conversation = f"a:chat-{n}"
                activity["conversation"] = dict(activity["conversation"], id=conversation)
                await session.post(base + "/api/messages", json=activity)
                await _wait_for(lambda: [s for s in connector.messages if s.conversation_id == conversation])
                message_id = f"bot-reply-{next(_ids)}"   # unknown which: any answer's id will do for the race
                vote = personal_message(connector.url, None, type="invoke", name="message/submitAction",
                                        replyToId=message_id,
                                        value={"actionName": "feedback", "actionValue": {"reaction": "like"}})
                vote["conversation"] = activity["conversation"]
                async with session.post(base + "/api/messages", json=vote) as response:
                    acknowledged += response.status == 200

            with LockHog(db):
                await asyncio.gather(*(ask_then_vote(n) for n in range(20)))
                for pid in [server.pid, *_children(server.pid)]:   # kill -9 while the store is still contended
                    os.kill(pid, signal.SIGKILL)
                server.wait()
    finally:
        if server.poll() is None:
            for pid in [server.pid, *_children(server.pid)]:
                os.kill(pid, signal.SIGKILL)
            server.wait()
        log.close()
    answers = connector.messages   # one per question: a 👍 posts nothing
    with sqlite3.connect(db) as conn:
        turns = conn.execute(f"SELECT COUNT(*) FROM {TURNS}").fetchone()[0]
        votes = conn.execute(f"SELECT COUNT(*) FROM {VOTES_TABLE}").fetchone()[0]
        pending = conn.execute(f"SELECT COUNT(*) FROM {PENDING}").fetchone()[0]
    assert len(answers) == 20 and turns >= len(answers)   # every answer the user saw has its turn row
    assert acknowledged == 20 and votes + pending >= acknowledged


async def _wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")
