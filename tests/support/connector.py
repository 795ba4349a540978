"""The one stub Bot Connector of the tests and benchmarks.

A real aiohttp application (``StubConnector.app()``) answering like the Bot Connector on
``POST /v3/conversations/{id}/activities[/{replyToId}]``. It records what the bot sends, can be told to
fail the next requests or every request (status + headers) to exercise retries, to hold each request
(the activity is posted, the answer comes late: timeouts, in-flight caps), and resolves a future when the
reply to a given activity arrives (how the load benchmark measures latency).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Sent:
    conversation_id: str
    reply_to_id: str | None
    activity: dict
    authorization: str | None
    id: str = ""                           # the id the stub answered with (what Teams calls the message)


@dataclass
class StubConnector:
    record: bool = True                    # keep every request in ``sent`` (the load benchmark does not)
    sent: list[Sent] = field(default_factory=list)
    failures: list[tuple[int, dict]] = field(default_factory=list)   # (status, headers) answered first
    fail_all: tuple[int, dict] | None = None   # (status, headers) answered to every POST while set
    attempts: int = 0                      # every POST, the failed ones included
    attempted_at: list[float] = field(default_factory=list)   # time.monotonic() of each of them
    waiting: dict[str, asyncio.Future] = field(default_factory=dict)  # replyToId -> (time, activity) future
    url: str = ""                          # its base URL, set by whoever serves it
    delay: float = 0.0   # seconds each POST is held before the answer (the activity is posted all the same)
    in_flight: int = 0
    max_in_flight: int = 0

    def app(self) -> web.Application:
        ids = itertools.count(1)

        async def activities(request: web.Request) -> web.Response:
            self.attempts += 1
            if self.record:
                self.attempted_at.append(time.monotonic())
            if self.failures or self.fail_all:
                status, headers = self.failures.pop(0) if self.failures else self.fail_all
                return web.json_response({"error": {"code": "Throttled", "message": "try later"}},
                                         status=status, headers=headers)
            body = await request.json()
            reply_to = request.match_info.get("reply_to_id")
            reply_id = f"bot-reply-{next(ids)}"
            if self.record:
                self.sent.append(Sent(request.match_info["conversation_id"], reply_to, body,
                                      request.headers.get("Authorization"), reply_id))
            if self.waiting and body.get("type") == "message":
                future = self.waiting.get(reply_to or body.get("replyToId"))
                if future is not None and not future.done():
                    future.set_result((time.perf_counter(), body))
            if self.delay:   # posted; the answer comes late
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    await asyncio.sleep(self.delay)
                finally:
                    self.in_flight -= 1
            return web.json_response({"id": reply_id})

        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", activities)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{reply_to_id}", activities)
        return app

    @property
    def messages(self) -> list[Sent]:
        return [s for s in self.sent if s.activity.get("type") == "message"]

    @property
    def typing(self) -> list[Sent]:
        return [s for s in self.sent if s.activity.get("type") == "typing"]
