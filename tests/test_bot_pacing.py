"""bot/teams/pacing.py: where the decision runs (event loop or a worker thread) and the delayed typing indicator."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from bot.decision.decide import decide
from bot.teams.pacing import Decider, Typing
from tests.support.knowledge import build_bundled


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build_bundled(tmp_path_factory)[1]


class WatchedIndex:
    """The real index, noting which thread each search ran on."""

    def __init__(self, index) -> None:
        self.index, self.threads = index, []

    def search(self, *args, **kwargs):
        self.threads.append(threading.get_ident())
        return self.index.search(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.index, name)


async def test_fast_decisions_run_inline_after_the_first_one(index):
    watched, loop_thread = WatchedIndex(index), threading.get_ident()
    decider = Decider(slow_seconds=float("inf"))   # every decision counts as fast
    first = await decider("what is open data?", watched, 500)
    assert first == decide("what is open data?", index, 500)
    await decider("who is the data steward?", watched, 500)
    await decider("how do I retire a dataset", watched, 500)
    assert watched.threads[0] != loop_thread                      # not timed yet: off the loop
    assert watched.threads[1:] == [loop_thread, loop_thread]     # known to be fast: inline

    other = WatchedIndex(index)                                   # a new index is timed again, off the loop
    await decider("what is open data?", other, 500)
    assert other.threads[0] != loop_thread


async def test_slow_decisions_stay_off_the_loop(index):
    watched, loop_thread = WatchedIndex(index), threading.get_ident()
    decider = Decider(slow_seconds=0)   # every decision counts as slow
    for question in ("what is open data?", "who is the data steward?", "how do I retire a dataset"):
        await decider(question, watched, 500)
    assert loop_thread not in watched.threads


async def test_typing_is_sent_once_when_the_answer_is_late_and_never_when_it_is_early():
    sent = []

    async def send():
        sent.append("typing")

    early = Typing(send, delay=60)
    await early.stop()
    assert sent == []

    late = Typing(send, delay=0)
    while late.task is None:   # the delay passes while the "work" is awaited
        await asyncio.sleep(0)
    await late.stop()
    assert sent == ["typing"]


async def test_a_failed_typing_indicator_is_only_logged(caplog):
    async def send():
        raise ConnectionError("connector down")

    typing = Typing(send, delay=0)
    while typing.task is None:
        await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING):
        await typing.stop()
    assert "typing indicator not delivered (ConnectionError)" in caplog.text
