"""The Bot Framework adapter: CloudAdapter whose sends to the Bot Connector are retried, plus the
turn error handler.

A send that fails with 429 / 5xx, a connection error or a timeout is retried up to ``retries`` times
with exponential backoff (``base`` seconds, doubled each time, capped at ``cap``); a ``Retry-After``
header (seconds) is honoured (also capped). Each failure is logged; after the last one the error
reaches ``on_turn_error``, which logs it and never lets it take the process down.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from msrest.exceptions import ClientRequestError, HttpOperationError

log = logging.getLogger(__name__)
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) or getattr(response, "status", None)


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None   # an HTTP date: fall back to the backoff


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, HttpOperationError):
        return _status(exc) in RETRY_STATUSES
    return isinstance(exc, (ClientRequestError, asyncio.TimeoutError, aiohttp.ClientError, ConnectionError))


class RetryingCloudAdapter(CloudAdapter):
    """CloudAdapter that retries transient Bot Connector failures (one activity at a time)."""

    def __init__(self, auth, retries: int = 4, base: float = 0.5, cap: float = 20.0, timeout: float = 30.0):
        super().__init__(auth)
        self.retries, self.base, self.cap, self.timeout = retries, base, cap, timeout

    async def send_activities(self, context: TurnContext, activities: list[Activity]):
        responses = []
        for activity in activities:
            responses += await self._send_one(context, activity)
        return responses

    async def _send_one(self, context: TurnContext, activity: Activity):
        attempt = 0
        retries = 0 if activity.type == ActivityTypes.typing else self.retries
        while True:
            try:
                return await asyncio.wait_for(super().send_activities(context, [activity]), self.timeout)
            except Exception as exc:
                if attempt >= retries or not is_transient(exc):
                    log.error("send to Bot Connector failed for good (%s, status %s, attempt %d)",
                              type(exc).__name__, _status(exc), attempt + 1)
                    raise
                delay = min(self.cap, self.base * 2 ** attempt)
                after = _retry_after(exc)
                if after is not None:
                    delay = min(self.cap, max(delay, after))
                attempt += 1
                log.warning("send to Bot Connector failed (%s, status %s); retry %d/%d in %.2fs",
                            type(exc).__name__, _status(exc), attempt, self.retries, delay)
                await asyncio.sleep(delay)


def turn_error_handler(message: str):
    """The adapter's ``on_turn_error``: log the failure (no user data) and send ``message`` to the user,
    if the connector lets us."""

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        log.error("turn failed: %s: %s (activity type %s)", type(error).__name__, error, context.activity.type,
                  exc_info=(type(error), error, error.__traceback__))
        if context.activity.type != ActivityTypes.message:
            return
        try:
            await context.send_activity(Activity(type=ActivityTypes.message, text=message))
        except Exception as exc:
            log.error("could not send the error message either: %s", type(exc).__name__)

    return on_turn_error
