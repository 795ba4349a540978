"""Feedback writes: one writer thread per process, in arrival order, group-committed.

``commit_turn`` queues the record (its id was made with the ``TurnRecord``) and waits until the thread has
committed it: the thread writes whatever has queued up in one transaction (``FeedbackStore.record_turns``)
and then wakes every waiter of that batch at once, so under load one commit serves many turns. The bot
sends the answer only after that, so a turn whose answer reached the user survives ``kill -9``, and a vote
on it finds the row in any worker that shares the store (``record_turn`` queues without waiting). Every
other store call (votes, the sent-message ids, hand-offs) goes through the same queue, after the turns
queued before it: ``call`` awaits the result, ``submit`` does not. ``close()`` writes what is still queued
before returning (the app calls it at shutdown). A failed write is logged and never reaches the user.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from bot.feedback.store import FeedbackStore, SentMessage, TurnRecord

log = logging.getLogger(__name__)
_STOP = object()


class Recorder:
    def __init__(self, store: FeedbackStore, max_batch: int = 500) -> None:
        self.store, self.max_batch = store, max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def record_turn(self, record: TurnRecord) -> str:
        """Queue ``record`` without waiting for the commit."""
        self._put(record)
        return record.turn_id

    async def commit_turn(self, record: TurnRecord) -> bool:
        """Queue ``record`` and wait until it is committed; False when the write failed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._put((record, loop, future))
        return await future

    async def record_vote(self, turn_id: str, vote: str, user_hash: str | None, reason: str | None = None) -> bool:
        return await self.call("record_vote", turn_id, vote, user_hash, reason)

    async def call(self, method: str, *args):
        """``store.<method>(*args)`` on the writer thread, after everything queued before it; its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._put((method, args, loop, future))
        return await future

    def submit(self, method: str, *args) -> None:
        """Queue ``store.<method>(*args)`` without waiting (a failure is logged)."""
        self._put((method, args, None, None))

    def record_message(self, message_key: str, conversation_key: str, turn_id: str) -> None:
        """Queue the Teams message id (hashed) of an answer; written with the batch it arrives in."""
        self._put(SentMessage(message_key, conversation_key, turn_id))

    def close(self) -> None:
        """Write everything queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _put(self, item) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="feedback-writer", daemon=True)
                    self._thread.start()
        self._queue.put(item)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get())
            turns: list = []   # TurnRecord, or (TurnRecord, loop, future) when someone waits for the commit
            messages: list[SentMessage] = []   # after the turns of the same batch (they reference them)
            for item in batch:
                if isinstance(item, TurnRecord) or (isinstance(item, tuple) and isinstance(item[0], TurnRecord)):
                    turns.append(item)
                    continue
                if isinstance(item, SentMessage):
                    messages.append(item)
                    continue
                self._write(turns, messages)
                turns, messages = [], []
                if item is _STOP:
                    return
                self._call(*item)
            self._write(turns, messages)

    def _write(self, turns: list, messages: list[SentMessage]) -> None:
        self._write_turns(turns)
        if messages:
            try:
                self.store.record_messages(messages)
            except Exception as exc:   # feedback must never cost the answer
                log.error("feedback store: could not record %d sent message(s) (%s)", len(messages),
                          type(exc).__name__)

    def _write_turns(self, turns: list) -> None:
        if not turns:
            return
        records = [t if isinstance(t, TurnRecord) else t[0] for t in turns]
        try:
            self.store.record_turns(records)
            ok = True
        except Exception as exc:   # feedback must never cost the answer
            log.error("feedback store: could not record %d turn(s) (%s)", len(turns), type(exc).__name__)
            ok = False
        waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
        for item in turns:
            if not isinstance(item, TurnRecord):
                waiting.setdefault(item[1], []).append(item[2])
        for loop, futures in waiting.items():   # one wake-up per event loop for the whole batch
            try:
                loop.call_soon_threadsafe(_settle_all, futures, ok)
            except RuntimeError:   # the caller's loop is gone (shutdown)
                pass

    def _call(self, method, args, loop, future) -> None:
        try:
            result, error = getattr(self.store, method)(*args), None
        except Exception as exc:
            result, error = None, exc
        if future is None:
            if error is not None:
                log.error("feedback store: %s failed (%s)", method, type(error).__name__)
            return
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:   # the caller's loop is gone (shutdown): nobody waits for the answer
            pass


def _settle(future: asyncio.Future, result, error) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _settle_all(futures: list[asyncio.Future], result) -> None:
    for future in futures:
        if not future.done():
            future.set_result(result)
