"""Feedback survives kill -9: the real server (``deploy/serve.py``, two workers sharing one SQLite file) on
loopback, the stub Bot Connector, and another writer holding the store's lock most of the time so commits
are slow. Every answer that reached the connector has its turn row, and every vote the user was thanked
for is stored, after the server is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import aiohttp
from bot_harness import personal_message

from bot.feedback.store import TURNS, VOTES_TABLE
from conftest import REPO

_ids = itertools.count(1)


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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _turn_of(body: dict) -> str | None:
    for attachment in body.get("attachments") or []:
        for action in (attachment.get("content") or {}).get("actions", []):
            if (action.get("data") or {}).get("turn"):
                return action["data"]["turn"]
    return None


async def test_kill_9_loses_no_answered_turn_and_no_thanked_vote(connector, bundled_index, tmp_path):
    db = tmp_path / "feedback.sqlite3"
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "DATABASE_URL", "HOST"))},
           "PORT": str(port), "WEB_WORKERS": "2", "INDEX_DIR": str(bundled_index[0]), "FEEDBACK_DB": str(db),
           "INDEX_RELOAD_SECONDS": "0"}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "deploy/serve.py"], cwd=REPO, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            for _ in range(600):
                try:
                    async with session.get(base + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)   # both workers up
            thanked: list[str] = []

            async def ask_then_vote(n: int) -> None:
                activity = personal_message(connector.url, "how do I retire a dataset")
                conversation = f"a:chat-{n}"
                activity["conversation"] = dict(activity["conversation"], id=conversation)
                await session.post(base + "/api/messages", json=activity)
                reply = await _wait_for(lambda: [s for s in connector.messages
                                                 if s.conversation_id == conversation])
                turn = _turn_of(reply[0].activity)
                vote = personal_message(connector.url, None, value={"action": "vote", "vote": "up", "turn": turn,
                                                                    "q": "x"})
                vote["conversation"] = activity["conversation"]
                await session.post(base + "/api/messages", json=vote)
                answer = await _wait_for(lambda: [s for s in connector.messages
                                                  if s.conversation_id == conversation][1:])
                if "Thanks for the feedback" in json.dumps(answer[0].activity):
                    thanked.append(turn)

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
    answered = {_turn_of(s.activity) for s in connector.messages} - {None}
    with sqlite3.connect(db) as conn:
        stored = {row[0] for row in conn.execute(f"SELECT id FROM {TURNS}")}
        votes = {row[0] for row in conn.execute(f"SELECT turn_id FROM {VOTES_TABLE}")}
    assert len(answered) == 20 and answered <= stored
    assert len(thanked) == 20 and set(thanked) <= votes


async def _wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")
