"""The aiohttp application: ``create_app(settings, ...)`` builds everything when called (nothing at import).

Routes:
- ``POST /api/messages``: Bot Framework activities through CloudAdapter +
  ConfigurationBotFrameworkAuthentication. The request is checked before the SDK sees it: wrong
  content type 415, body over ``settings.max_body_bytes`` 413, not JSON / not an activity /
  missing required fields 400, and any token problem 401 (the stock SDK answers some with 500).
  With ``MicrosoftAppId`` empty the bot runs in local mode: no token is required or checked.
- ``GET /healthz``: 200 with index version, section count and build time; 503 until the index is loaded.

The index is loaded (built from knowledge/ if missing) in the background at start-up and then
watched for replacement (bot/index_holder.py).
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity

from bot.index_holder import IndexHolder
from bot.replies import Replies
from bot.settings import Settings
from bot.teams.adapter import RetryingCloudAdapter, turn_error_handler
from bot.teams.connector import CachingBotFrameworkAuthentication
from bot.teams.handler import HandbookBot

log = logging.getLogger(__name__)
REQUIRED = (("type",), ("serviceUrl",), ("conversation", "id"))
HOLDER, BOT, ADAPTER, SETTINGS = (web.AppKey(n, object) for n in ("holder", "bot", "adapter", "settings"))


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _missing(body: dict) -> str | None:
    for path in REQUIRED:
        node = body
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, str) or not node.strip():
            return ".".join(path)
    if not body["serviceUrl"].startswith(("https://", "http://")):
        return "serviceUrl (http/https URL)"
    return None


async def messages(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    if request.content_type != "application/json":
        return _problem(415, "expected Content-Type: application/json")
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        return _problem(413, f"body over {settings.max_body_bytes} bytes")
    raw = await request.content.read(settings.max_body_bytes + 1)
    if len(raw) > settings.max_body_bytes:
        return _problem(413, f"body over {settings.max_body_bytes} bytes")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _problem(400, "body is not JSON")
    if not isinstance(body, dict):
        return _problem(400, "body is not a JSON object (an activity)")
    missing = _missing(body)
    if missing:
        return _problem(400, f"activity is missing {missing}")
    try:
        activity = Activity().deserialize(body)
    except Exception:
        return _problem(400, "activity could not be read")

    adapter: RetryingCloudAdapter = request.app[ADAPTER]
    header = None if settings.local_mode else request.headers.get("Authorization")
    try:
        auth = await adapter.bot_framework_authentication.authenticate_request(activity, header)
    except Exception as exc:   # every token problem is the caller's: 401, never 500
        log.warning("rejected request: %s", type(exc).__name__)
        return _problem(401, "unauthorized")
    invoke_response = await adapter.process_activity(auth, activity, request.app[BOT].on_turn)
    if invoke_response:
        return web.json_response(invoke_response.body, status=invoke_response.status)
    return web.Response(status=200)


async def healthz(request: web.Request) -> web.Response:
    status = request.app[HOLDER].status()
    return web.json_response(status, status=200 if status["status"] == "ok" else 503)


def create_app(settings: Settings, *, holder: IndexHolder | None = None, store=None,
               credentials_factory=None, build_if_missing: bool = True, watch: bool = True) -> web.Application:
    """Build the web app. ``holder``/``store`` default to the configured index folder and feedback store;
    ``credentials_factory`` (an SDK ServiceClientCredentialsFactory) replaces the app-id/password one."""
    if settings.local_mode:
        log.warning("local mode: MicrosoftAppId is empty, so requests are NOT authenticated. Set MicrosoftAppId "
                    "and MicrosoftAppPassword to run in Teams.")
    else:
        log.info("Bot Framework authentication on for app id %s (%s)", settings.app_id, settings.app_type)
    if store is None:
        from bot.feedback import open_store

        store = open_store(settings)
    holder = holder or IndexHolder(settings.index_dir, sources=settings.sources_file)
    auth = CachingBotFrameworkAuthentication(   # connector clients kept per service URL (bot/fast_connector.py)
        ConfigurationBotFrameworkAuthentication(settings, credentials_factory=credentials_factory))
    adapter = RetryingCloudAdapter(auth, retries=settings.send_retries, base=settings.retry_base_seconds,
                                   cap=settings.retry_max_seconds)
    adapter.on_turn_error = turn_error_handler(Replies.from_settings(settings).turn_failed())
    app = web.Application(client_max_size=settings.max_body_bytes + 1)
    app[SETTINGS], app[HOLDER], app[ADAPTER] = settings, holder, adapter
    app[BOT] = bot = HandbookBot(holder, store, settings)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)

    async def lifecycle(app: web.Application):
        tasks = []
        if holder.index is None:
            tasks.append(asyncio.create_task(_load(holder, build_if_missing)))
        if watch and settings.reload_seconds > 0:
            tasks.append(asyncio.create_task(holder.watch(settings.reload_seconds)))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if bot.recorder is not None:
            await asyncio.to_thread(bot.recorder.close)   # writes the feedback still queued
        store.close()
        await auth.close()

    app.cleanup_ctx.append(lifecycle)
    return app


async def _load(holder: IndexHolder, build_if_missing: bool) -> None:
    try:
        await asyncio.to_thread(holder.load_initial, build_if_missing)
    except Exception:
        log.exception("could not load the index; /healthz stays 503 until a valid index appears")


def run(settings: Settings) -> None:
    """Serve until interrupted (``python -m bot serve``)."""
    log.info("listening on http://%s:%d/api/messages (index: %s)", settings.host, settings.port, settings.index_dir)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
