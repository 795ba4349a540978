"""Property-based: no input a client can send gets a 5xx or takes the server down.

The real app (``create_app``, the real adapter, a real SQLite store) serves on loopback in a thread of its own;
Hypothesis sends it activities of every shape: random fields and values, deep nesting, invoke names and
values, unicode, sizes, broken JSON. Every answer must be a 2xx or 4xx, every invoke response body JSON,
and ``/healthz`` must still answer afterwards.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings
from tests.support.connector import StubConnector
from tests.support.teams import personal_message


class Served:
    """The app and a stub connector on one event loop in a background thread."""

    def __init__(self, app: web.Application, connector: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(app, connector), daemon=True)
        self.thread.start()
        assert self.ready.wait(30)

    def _run(self, app, connector) -> None:
        asyncio.set_event_loop(self.loop)
        self.runners = [web.AppRunner(app), web.AppRunner(connector)]
        for runner in self.runners:
            self.loop.run_until_complete(runner.setup())
        sites = [web.TCPSite(r, "127.0.0.1", 0) for r in self.runners]
        for site in sites:
            self.loop.run_until_complete(site.start())
        self.port, self.connector_port = (s._server.sockets[0].getsockname()[1] for s in sites)
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def cleanup():
            for runner in self.runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)

    def post(self, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/api/messages", body=body, headers={"Content-Type": content_type})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def get(self, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        finally:
            conn.close()


@pytest.fixture(scope="module")
def served(bundled_index, tmp_path_factory):
    db = tmp_path_factory.mktemp("props") / "feedback.sqlite3"
    settings = Settings(index_dir=bundled_index[0], feedback_db=db, retry_base_seconds=0.01, retry_max_seconds=0.02)
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(db), watch=False)
    server = Served(app, StubConnector().app())
    yield server
    server.stop()


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)
FIELDS = ["type", "name", "value", "text", "entities", "channelData", "from", "recipient", "conversation",
          "attachments", "replyToId", "locale", "id", "timestamp", "membersAdded", "membersRemoved", "deliveryMode",
          "textFormat", "action", "relatesTo", "channelId", "localTimestamp", "reactionsAdded", "summary"]
TYPES = ["message", "invoke", "conversationUpdate", "messageReaction", "installationUpdate", "event", "typing",
         "endOfConversation", "messageUpdate", "messageDelete", "trace", "handoff", "command", "delay", "suggestion"]
INVOKES = ["adaptiveCard/action", "task/fetch", "task/submit", "composeExtension/query",
           "composeExtension/queryLink", "composeExtension/submitAction", "composeExtension/fetchTask",
           "signin/verifyState", "signin/tokenExchange", "actionableMessage/executeAction", "fileConsent/invoke",
           "message/submitAction", "config/fetch", "config/submit", "tab/fetch", "healthCheck", "unknown/x"]
card_values = st.one_of(
    json_value,
    st.fixed_dictionaries({"action": json_value}),
    st.fixed_dictionaries({"action": st.fixed_dictionaries(
        {"type": st.sampled_from(["Action.Execute", "Action.Submit", "x"]), "verb": json_value,
         "data": st.one_of(json_value, st.fixed_dictionaries({
             "action": st.sampled_from(["vote", "ask", "x"]), "vote": st.sampled_from(["up", "down", "x"]),
             "turn": json_value, "q": json_value}))})}),
)


@st.composite
def activities(draw):
    body = personal_message("http://127.0.0.1:1", draw(st.one_of(st.none(), st.text(max_size=300))))
    kind = draw(st.sampled_from(TYPES))
    body["type"] = kind
    if kind == "invoke":
        body["name"] = draw(st.one_of(st.sampled_from(INVOKES), json_value))
        body["value"] = draw(card_values)
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if key not in ("type",) or draw(st.booleans()):
            body[key] = draw(json_value)
    return body


def _check(served: Served, body: bytes) -> None:
    status, text = served.post(body)
    assert status < 500, (status, text[:300], body[:300])
    if text:
        json.loads(text)   # every body the bot answers with is JSON


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(activities())
def test_no_activity_shape_gets_a_5xx(served, body):
    body["serviceUrl"] = f"http://127.0.0.1:{served.connector_port}"
    _check(served, json.dumps(body).encode())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_no_byte_string_gets_a_5xx(served, raw):
    _check(served, raw)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 20000), opener=st.sampled_from(["[", '{"a":']))
def test_nesting_at_any_depth_gets_a_4xx_or_an_answer(served, depth, opener):
    closer = "]" if opener == "[" else "}"
    deep = opener * depth + "1" + closer * depth
    body = json.dumps(personal_message(f"http://127.0.0.1:{served.connector_port}", "what is open data?"))
    _check(served, (body[:-1] + ', "value": ' + deep + "}").encode())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=0, max_size=3000), size=st.integers(0, 300 * 1024))
def test_unicode_and_sizes(served, text, size):
    body = personal_message(f"http://127.0.0.1:{served.connector_port}", text + "x" * (size % 40000))
    _check(served, json.dumps(body, ensure_ascii=bool(size % 2)).encode())


def test_still_healthy_afterwards(served):
    assert served.get("/healthz") == 200
