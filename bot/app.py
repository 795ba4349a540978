"""The aiohttp application: ``create_app(settings, ...)`` builds everything when called (nothing at import).

Routes:
- ``POST /api/messages``: Bot Framework activities through CloudAdapter +
  ConfigurationBotFrameworkAuthentication. The request is checked before the SDK sees it
  (bot/teams/inbound.py): wrong content type 415; body over ``settings.max_body_bytes`` 413 (before more
  is read), not complete within ``body_timeout_seconds`` 408; not JSON / not an activity / nested too deep /
  missing required fields 400; in local mode a service URL that is not on loopback 400; any token
  problem 401. Invokes get a well-formed invoke response, never a 5xx. The turn runs (decision, feedback
  commit) and the request is acknowledged; replies leave through the outbox (bot/teams/outbox.py).
  With ``MicrosoftAppId`` empty the bot runs in local mode: no token is required or checked, it listens
  on 127.0.0.1 by default and replies only to loopback service URLs. With an app id, the SDK checks that
  the token vouches for the activity's service URL, and the bot refuses to start with the default salt.
- ``GET /healthz``: 200 with index version, section count, build time and the outbox counters; 503 until
  the index is loaded (with the reason when it cannot be).

The index is loaded (built from knowledge/ if missing) in the background at start-up and then
watched for replacement (bot/index_holder.py). Token signing keys are fetched off the event loop, with
timeouts, cached and refreshed in the background (bot/teams/openid.py).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.index_holder import IndexHolder
from bot.replies import Replies
from bot.settings import Settings
from bot.teams.adapter import QueuedCloudAdapter, turn_error_handler
from bot.teams.connector import bot_framework_authentication
from bot.teams.handler import HandbookBot
from bot.teams.inbound import Problem, invoke_http, parse_activity, read_body
from bot.teams.openid import KeyCachePolicy, channel_metadata_url, install_key_cache
from bot.teams.outbox import Outbox
from indexer.errors import IndexerError

log = logging.getLogger(__name__)
HOLDER, BOT, ADAPTER, SETTINGS, OUTBOX = (web.AppKey(n, object) for n in ("holder", "bot", "adapter", "settings",
                                                                            "outbox"))


class ConfigurationError(ValueError):
    """The settings must not serve (e.g. the default salt outside local mode)."""


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def messages(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    if request.content_type != "application/json":
        return _problem(415, "expected Content-Type: application/json")
    try:
        raw = await read_body(request, settings.max_body_bytes, settings.body_timeout_seconds)
        _, activity = parse_activity(raw, local_mode=settings.local_mode)
    except Problem as problem:
        return _problem(problem.status, problem.message)

    adapter: QueuedCloudAdapter = request.app[ADAPTER]
    header = None if settings.local_mode else request.headers.get("Authorization")
    try:
        auth = await adapter.bot_framework_authentication.authenticate_request(activity, header)
    except Exception as exc:   # every token problem is the caller's: 401, never 500
        log.warning("rejected request: %s: %s", type(exc).__name__, str(exc)[:200])
        return _problem(401, "unauthorized")
    try:
        invoke_response = await adapter.process_activity(auth, activity, request.app[BOT].on_turn)
    except Exception:   # the turn's own errors went to on_turn_error; this is the adapter failing around it
        log.exception("could not process a %s activity", activity.type)
        return _problem(400, "the activity could not be processed")
    if invoke_response:
        status, body = invoke_http(activity, invoke_response.status, invoke_response.body)
        return web.json_response(body, status=status)
    return web.Response(status=200)


async def healthz(request: web.Request) -> web.Response:
    status = dict(request.app[HOLDER].status(), outbox=request.app[OUTBOX].status())
    return web.json_response(status, status=200 if status["status"] == "ok" else 503)


def create_app(settings: Settings, *, holder: IndexHolder | None = None, store=None,
               credentials_factory=None, build_if_missing: bool = True, watch: bool = True) -> web.Application:
    """Build the web app. ``holder``/``store`` default to the configured index folder and feedback store;
    ``credentials_factory`` (an SDK ServiceClientCredentialsFactory) replaces the app-id/password one."""
    problems = settings.serving_problems()
    if problems:
        raise ConfigurationError("; ".join(problems))
    if settings.local_mode:
        log.warning("local mode: MicrosoftAppId is empty, so requests are NOT authenticated. Set MicrosoftAppId "
                    "and MicrosoftAppPassword to run in Teams.")
    else:
        log.info("Bot Framework authentication on for app id %s (%s)", settings.app_id, settings.app_type)
    if store is None:
        from bot.feedback import open_store

        store = open_store(settings)
    holder = holder or IndexHolder(settings.index_dir, sources=settings.sources_file)
    auth = bot_framework_authentication(settings, credentials_factory)   # clients kept per service URL
    outbox = Outbox(retries=settings.send_retries, base=settings.retry_base_seconds, cap=settings.retry_max_seconds,
                    attempt_timeout=settings.send_timeout_seconds, max_in_flight=settings.max_sends_in_flight,
                    max_pending=settings.max_sends_outstanding)
    adapter = QueuedCloudAdapter(auth, outbox)
    adapter.on_turn_error = turn_error_handler(Replies.from_settings(settings).turn_failed())
    keys = None if settings.local_mode else install_key_cache(KeyCachePolicy(
        timeout_seconds=settings.openid_timeout_seconds, wait_seconds=settings.openid_timeout_seconds))
    app = web.Application(client_max_size=settings.max_body_bytes + 1)
    app[SETTINGS], app[HOLDER], app[ADAPTER], app[OUTBOX] = settings, holder, adapter, outbox
    app[BOT] = bot = HandbookBot(holder, store, settings)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)

    async def lifecycle(app: web.Application):
        tasks = []
        if holder.index is None:
            tasks.append(asyncio.create_task(_load(holder, build_if_missing)))
        if watch and settings.reload_seconds > 0:
            tasks.append(asyncio.create_task(holder.watch(settings.reload_seconds)))
        if keys is not None:   # the first real request should find the signing keys cached
            keys.get(channel_metadata_url(settings.sdk)).prefetch()
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await outbox.close(timeout=10)   # replies already promised go out before the connector clients close
        if bot.recorder is not None:
            await asyncio.to_thread(bot.recorder.close)   # writes the feedback still queued
        if bot.learning is not None:
            await asyncio.to_thread(bot.learning.close)
        store.close()
        await auth.close()

    app.cleanup_ctx.append(lifecycle)
    return app


async def _load(holder: IndexHolder, build_if_missing: bool) -> None:
    try:
        await asyncio.to_thread(holder.load_initial, build_if_missing)
    except IndexerError as exc:   # missing, corrupt or another format: the message says what to run
        log.error("could not load the index: %s. /healthz stays 503 until a valid index appears", exc)
    except Exception:
        log.exception("could not load the index; /healthz stays 503 until a valid index appears")


def server_options(settings: Settings) -> dict:
    """``web.run_app`` / ``AppRunner`` options: a connection that has not sent a complete request within
    ``header_timeout_seconds`` (or stays idle that long) is closed (aiohttp's keep-alive timer starts when the
    connection opens and is not moved by partial data)."""
    return {"keepalive_timeout": settings.header_timeout_seconds}


def run(settings: Settings, **create_app_options) -> None:
    """Serve until interrupted (``python -m bot serve``)."""
    app = create_app(settings, **create_app_options)
    log.info("listening on http://%s:%d/api/messages (index: %s)", settings.host, settings.port, settings.index_dir)
    web.run_app(app, host=settings.host, port=settings.port, print=None, **server_options(settings))
