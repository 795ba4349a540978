"""Replies to the Bot Connector, sent after the inbound request was acknowledged.

Teams gives a bot about 15 s to answer ``POST /api/messages`` and redelivers the activity when it does
not, so the sends a turn makes are not awaited by the request: ``Outbox.submit`` queues them and returns
at once, and the request is acknowledged as soon as the turn's own work (the decision, the feedback
commit) is done. Then, per conversation and in order (a typing indicator never overtakes the answer):

- a send that fails with 429 / 408 / 5xx, or could not connect at all, is retried up to ``retries`` times
  with exponential backoff from ``base`` seconds (capped at ``cap``), waiting at least what
  ``Retry-After`` asks for (also capped);
- a send whose outcome is unknown (no answer within ``attempt_timeout``, connection dropped after the
  request went out) is **not** retried: the Bot Connector may have posted it, and a retry would show the
  user the reply twice;
- a reply still unsent ``deadline`` seconds after it was queued is dropped (logged): an answer minutes late
  confuses more than it helps;
- typing indicators are never retried, and are dropped when the answer is already queued behind them;
- at most ``max_in_flight`` sends run at once, and at most ``max_pending`` are outstanding: beyond that new work is
  shed with a warning (``outbound queue full``), so a failing connector cannot grow tasks and memory
  without bound.

``drain()`` waits until everything queued has been sent or given up (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from msrest.exceptions import ClientRequestError, HttpOperationError

log = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


def retry_after(exc: BaseException) -> float | None:
    """``Retry-After`` in seconds from a failed send's response (None when absent or an HTTP date)."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def classify(exc: BaseException) -> str:
    """"retry" (the send certainly failed and may work later), "unknown" (it may have been delivered: never
    retried) or "final" (it failed for good)."""
    if isinstance(exc, HttpOperationError):
        return "retry" if status_of(exc) in RETRY_STATUSES else "final"
    inner = getattr(exc, "inner_exception", None) if isinstance(exc, ClientRequestError) else exc
    if isinstance(inner, aiohttp.ClientConnectorError):   # no connection was made: nothing was sent
        return "retry"
    if isinstance(inner, (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError, OSError)):
        return "unknown"
    if isinstance(exc, ClientRequestError):
        return "unknown"
    return "final"


@dataclass
class _Job:
    send: Callable[[], Awaitable]
    what: str                        # "message", "typing", ... (logs only)
    retry: bool
    queued_at: float = field(default_factory=time.monotonic)


class Outbox:
    def __init__(self, *, retries: int = 4, base: float = 0.5, cap: float = 20.0, attempt_timeout: float = 15.0,
                 deadline: float = 120.0, max_pending: int = 1000, max_in_flight: int = 32) -> None:
        self.retries, self.base, self.cap = retries, base, cap
        self.attempt_timeout, self.deadline = attempt_timeout, deadline
        self.max_pending, self.max_in_flight = max_pending, max_in_flight
        self._lanes: dict[object, deque[_Job]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._slots: asyncio.Semaphore | None = None
        self._idle: asyncio.Event | None = None
        self.pending = self.in_flight = 0   # pending: accepted and not finished (waiting, in flight, backing off)
        self.sent = self.failed = self.shed = self.unknown = 0
        self._last_shed_log = 0.0

    def submit(self, lane: object, send: Callable[[], Awaitable], what: str = "message", retry: bool = True) -> bool:
        """Queue ``send`` behind the earlier work of ``lane`` (a conversation); False when shed."""
        if self.pending >= self.max_pending:
            self.shed += 1
            now = time.monotonic()
            if now - self._last_shed_log >= 1.0:
                self._last_shed_log = now
                log.warning("outbound queue full (%d sends outstanding, %d in flight): shedding work; %d dropped so "
                            "far, this one a %s", self.pending, self.in_flight, self.shed, what)
            return False
        if self._slots is None:
            self._slots, self._idle = asyncio.Semaphore(self.max_in_flight), asyncio.Event()
        self._idle.clear()
        self.pending += 1
        queue = self._lanes.get(lane)
        if queue is not None:
            if what != "typing":   # an indicator still waiting in front of a reply is stale
                stale = [j for j in queue if j.what == "typing"]
                for j in stale:
                    queue.remove(j)
                self.pending -= len(stale)
            queue.append(_Job(send, what, retry))
            return True
        self._lanes[lane] = deque([_Job(send, what, retry)])
        task = asyncio.get_running_loop().create_task(self._run_lane(lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run_lane(self, lane: object) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                job = queue.popleft()
                try:
                    await self._deliver(job)
                finally:
                    self.pending -= 1
        finally:
            self.pending -= len(queue)
            del self._lanes[lane]
            if not self._lanes:
                self._idle.set()

    async def _deliver(self, job: _Job) -> None:
        attempt = 0
        retries = self.retries if job.retry else 0
        while True:
            if time.monotonic() - job.queued_at > self.deadline:
                self.failed += 1
                log.error("send to Bot Connector abandoned: %s still unsent after %.0f s", job.what, self.deadline)
                return
            async with self._slots:
                self.in_flight += 1
                try:
                    await asyncio.wait_for(job.send(), self.attempt_timeout)
                    self.sent += 1
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = exc
                finally:
                    self.in_flight -= 1
            kind = classify(error)
            if kind == "unknown":
                self.unknown += 1
                log.error("send to Bot Connector: outcome unknown (%s) for a %s; not retried, a retry could post it "
                          "twice", type(error).__name__, job.what)
                return
            if kind == "final" or attempt >= retries:
                self.failed += 1
                log.error("send to Bot Connector failed for good (%s, status %s, attempt %d) for a %s",
                          type(error).__name__, status_of(error), attempt + 1, job.what)
                return
            delay = min(self.cap, self.base * 2 ** attempt)
            after = retry_after(error)
            if after is not None:
                delay = min(self.cap, max(delay, after))
            attempt += 1
            log.warning("send to Bot Connector failed (%s, status %s); retry %d/%d in %.2fs",
                        type(error).__name__, status_of(error), attempt, retries, delay)
            await asyncio.sleep(delay)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until nothing is queued or in flight; False when ``timeout`` passed first."""
        if self._idle is None or not self._lanes:
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def close(self, timeout: float = 10.0) -> None:
        """Give queued sends ``timeout`` seconds, then cancel what is left."""
        if not await self.drain(timeout):
            log.warning("shutting down with %d sends unsent", self.pending + self.in_flight)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def status(self) -> dict:
        return {"outstanding": self.pending, "in_flight": self.in_flight, "sent": self.sent, "failed": self.failed,
                "outcome_unknown": self.unknown, "shed": self.shed}
