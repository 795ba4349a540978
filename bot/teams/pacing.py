"""The time between a question and its answer: where the decision runs, and the typing indicator.

- ``Decider`` runs ``decide`` on the event loop while decisions are fast and in a worker thread when
  the last one on this index was slow, or none was timed yet (a new index, a new process). Handing a
  sub-millisecond decision to a thread costs more CPU than the decision (the GIL passed back and forth,
  the loop woken; about 0.3 ms per message under load), but slow work must not stall every other
  conversation, and only work off the loop lets the typing indicator go out meanwhile. "Slow" is the
  decision's own CPU time (``time.thread_time``), so waiting for the GIL under load does not count.
- ``Typing`` sends one typing indicator if the answer is not ready within ``delay`` seconds (the
  pattern of the SDK's ShowTypingMiddleware): a fast answer needs none, and that halves the Bot
  Connector calls per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.decision.decide import MAX_QUESTION_CHARS, Decision, decide

log = logging.getLogger(__name__)


def _timed(text: str, index, max_chars: int) -> tuple[Decision, float]:
    started = time.thread_time()
    decision = decide(text, index, max_chars)
    return decision, time.thread_time() - started


class Decider:
    def __init__(self, slow_seconds: float = 0.005) -> None:
        self.slow_seconds = slow_seconds
        self._fast_index: int | None = None   # id() of the index whose last decision was fast

    async def __call__(self, text: str, index, max_chars: int = MAX_QUESTION_CHARS) -> Decision:
        if self._fast_index == id(index):
            decision, cpu = _timed(text, index, max_chars)
        else:
            decision, cpu = await asyncio.to_thread(_timed, text, index, max_chars)
        self._fast_index = id(index) if cpu < self.slow_seconds else None
        return decision


class Typing:
    """``send()`` once if not stopped within ``delay`` seconds; ``stop()`` waits for a send already started,
    so the indicator never arrives after the answer. A failed send is logged, never raised."""

    def __init__(self, send: Callable[[], Awaitable], delay: float) -> None:
        self.send, self.task = send, None
        self.timer = asyncio.get_running_loop().call_later(delay, self._start)

    def _start(self) -> None:
        self.task = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        try:
            await self.send()
        except Exception as exc:   # a lost typing indicator is not worth failing the answer
            log.warning("typing indicator not delivered (%s)", type(exc).__name__)

    async def stop(self) -> None:
        self.timer.cancel()
        if self.task is not None:
            await self.task
