"""Faults and hostile input (issue 8), against the real app on loopback, the real adapter and the stub Bot
Connector: bodies however they arrive, no 5xx, fast acknowledgement with a failing connector, no duplicate
replies, local mode kept to loopback, the salt required outside local mode."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import time

import pytest

from bot.app import OUTBOX, ConfigurationError, create_app, server_options
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings
from conftest import REPO
from tests.support.teams import card_of, personal_message, serve


@pytest.fixture
def settings(tmp_path, bundled_index):
    return Settings(index_dir=bundled_index[0], feedback_db=tmp_path / "feedback.sqlite3",
                    retry_base_seconds=0.05, retry_max_seconds=1.0)


async def start(aiohttp_client, settings, bundled_index):
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    return await serve(aiohttp_client, app)


@pytest.fixture
async def bot(aiohttp_client, settings, bundled_index):
    return await start(aiohttp_client, settings, bundled_index)


async def _raw(port: int, head: bytes, parts: list[bytes], pause: float = 0.001, timeout: float = 10) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        for part in parts:
            await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    finally:
        writer.close()


def _status(response_head: bytes) -> int:
    return int(re.match(rb"HTTP/1\.1 (\d{3})", response_head).group(1))


def _head(extra: str) -> bytes:
    return f"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}\r\n".encode()


def _in_chat(activity: dict, conversation_id: str) -> dict:
    activity["conversation"] = dict(activity["conversation"], id=conversation_id)
    return activity


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


# ----------------------------------------------------------------------------- bodies
async def test_body_in_two_tcp_writes_is_read_whole(bot, connector):
    for n in range(5):
        body = json.dumps(personal_message(connector.url, f"what is open data? {n}")).encode()
        head = _head(f"Content-Length: {len(body)}\r\n")
        assert _status(await _raw(bot.server.port, head, [body[:40], body[40:]])) == 200
    await bot.app[OUTBOX].drain(10)
    assert len(connector.messages) == 5


async def test_chunked_body_in_two_chunks_is_read_whole(bot, connector):
    body = json.dumps(personal_message(connector.url, "how do I retire a dataset")).encode()
    head = _head("Transfer-Encoding: chunked\r\n")
    assert _status(await _raw(bot.server.port, head, [_chunk(body[:50]), _chunk(body[50:]) + b"0\r\n\r\n"])) == 200
    await bot.app[OUTBOX].drain(10)
    assert len(connector.messages) == 1


async def test_body_over_the_limit_gets_413_before_it_ends(bot):
    # 300 KB sent, the chunked body never finished: the answer comes anyway.
    head = _head("Transfer-Encoding: chunked\r\n")
    assert _status(await _raw(bot.server.port, head, [_chunk(b" " * (300 * 1024))], timeout=5)) == 413
    # A Content-Length over the limit is refused before anything is read.
    assert _status(await _raw(bot.server.port, _head("Content-Length: 10000000\r\n"), [], timeout=5)) == 413


async def test_a_body_that_stalls_gets_408(aiohttp_client, settings, bundled_index, connector):
    bot = await start(aiohttp_client, settings.with_(body_timeout_seconds=0.3), bundled_index)
    body = json.dumps(personal_message(connector.url, "what is open data?")).encode()
    started = time.monotonic()
    assert _status(await _raw(bot.server.port, _head(f"Content-Length: {len(body)}\r\n"), [body[:30]])) == 408
    assert time.monotonic() - started < 5 and connector.sent == []


async def test_header_timeout_closes_a_dribbling_connection_and_spares_normal_requests(aiohttp_server, settings,
                                                                                     bundled_index, connector):
    settings = settings.with_(header_timeout_seconds=0.5, body_timeout_seconds=5)
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    server = await aiohttp_server(app, **server_options(settings))   # what `serve` and deploy/serve.py pass

    # Headers at one byte every 50 ms: the connection is closed about header_timeout after it opened.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started, closed_after = time.monotonic(), None
    for byte in _head("Content-Length: 2\r\n"):
        try:
            writer.write(bytes([byte]))
            await writer.drain()
            if await asyncio.wait_for(reader.read(1024), 0.05) == b"":
                closed_after = time.monotonic() - started
                break
        except asyncio.TimeoutError:
            pass
        except ConnectionError:
            closed_after = time.monotonic() - started
            break
    writer.close()
    assert closed_after is not None and 0.4 < closed_after < 3

    # A keep-alive connection: a request, a pause, then a request whose body takes longer than the header
    # timeout to arrive (it is being read, so the connection is not idle): both answered.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for n, pause in ((0, 0.0), (1, 0.8)):
            await asyncio.sleep(0.3)
            body = json.dumps(personal_message(connector.url, f"what is open data? {n}")).encode()
            writer.write(_head(f"Content-Length: {len(body)}\r\n") + body[:40])
            await writer.drain()
            await asyncio.sleep(pause)
            writer.write(body[40:])
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert _status(head) == 200
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
    finally:
        writer.close()
    await app[OUTBOX].drain(10)
    assert len(connector.messages) == 2


# ----------------------------------------------------------------------------- no 5xx
async def test_json_nested_10000_deep_is_400(bot, connector):
    raw = json.dumps(personal_message(connector.url, "hi"))[:-1] + ', "value": ' + "[" * 10000 + "]" * 10000 + "}"
    response = await bot.post("/api/messages", data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400 and "not JSON" in (await response.json())["error"]
    raw = json.dumps(personal_message(connector.url, "hi"))[:-1] + ', "value": ' + "[" * 100 + "]" * 100 + "}"
    response = await bot.post("/api/messages", data=raw, headers={"Content-Type": "application/json"})
    assert response.status == 400 and "nested" in (await response.json())["error"]


@pytest.mark.parametrize("value", ["garbage", {}, None, {"action": "vote", "vote": "up", "turn": "x"},
                                   {"action": ["Action.Execute"]}, {"action": {"type": "Action.Submit"}}],
                         ids=["string", "empty", "none", "submit-shape", "action-list", "not-execute"])
async def test_malformed_adaptive_card_invokes_get_a_well_formed_answer(bot, connector, value):
    activity = personal_message(connector.url, None, type="invoke", name="adaptiveCard/action", value=value)
    response = await bot.post("/api/messages", json=activity)
    assert response.status < 500
    body = await response.json()
    assert body["type"] == "application/vnd.microsoft.error" and body["statusCode"] == 400
    assert isinstance(body["value"]["message"], str) and connector.sent == []


async def test_unknown_invoke_is_4xx(bot, connector):
    activity = personal_message(connector.url, None, type="invoke", name="no/such-invoke", value={})
    response = await bot.post("/api/messages", json=activity)
    assert response.status == 400 and "not supported" in (await response.json())["error"]


# ----------------------------------------------------------------------------- ack fast, send after
async def test_ack_is_fast_and_sends_bounded_when_the_connector_fails(aiohttp_client, settings, bundled_index,
                                                                       connector, caplog):
    bot = await start(aiohttp_client, settings.with_(send_retries=3, retry_base_seconds=0.2), bundled_index)
    connector.failures = [(500, {})] * 100
    started = time.monotonic()
    response = await bot.raw.post("/api/messages", json=personal_message(connector.url, "what is open data?"))
    assert response.status == 200 and time.monotonic() - started < 1.0
    assert await bot.app[OUTBOX].drain(10)
    assert connector.attempts == 4            # the answer, retried 3 times; no error message after it
    assert "failed for good" in caplog.text
    assert (await bot.get("/healthz")).status == 200


async def test_retry_after_is_honoured(bot, connector, caplog):
    caplog.set_level(logging.WARNING)
    connector.failures = [(429, {"Retry-After": "0.5"})]
    started = time.monotonic()
    await bot.post("/api/messages", json=personal_message(connector.url, "what is open data?"))
    assert time.monotonic() - started >= 0.5
    assert len(connector.messages) == 1 and "retry 1/4 in 0.50s" in caplog.text


async def test_a_connector_that_answers_too_late_gets_the_reply_once(aiohttp_client, settings, bundled_index,
                                                                      connector, caplog):
    bot = await start(aiohttp_client, settings.with_(send_timeout_seconds=0.3), bundled_index)
    connector.delay = 1.0   # the message is posted, the answer comes after the bot stopped waiting
    started = time.monotonic()
    response = await bot.raw.post("/api/messages", json=personal_message(connector.url, "what is open data?"))
    assert response.status == 200 and time.monotonic() - started < 1.0
    await bot.app[OUTBOX].drain(10)
    await asyncio.sleep(1.5)
    assert len(connector.messages) == 1 and connector.attempts == 1
    assert "outcome unknown" in caplog.text


async def test_sends_in_flight_are_capped_and_excess_is_shed(aiohttp_client, settings, bundled_index, connector,
                                                             caplog):
    bot = await start(aiohttp_client, settings.with_(max_sends_in_flight=2, max_sends_outstanding=6,
                                                     typing_delay_seconds=60), bundled_index)
    connector.delay = 0.3
    responses = await asyncio.gather(*(bot.raw.post("/api/messages", json=_in_chat(
        personal_message(connector.url, "what is open data?"), f"a:chat-{n}")) for n in range(20)))
    assert [r.status for r in responses] == [200] * 20
    assert await bot.app[OUTBOX].drain(20)
    assert connector.max_in_flight == 2
    assert 6 <= len(connector.messages) < 20 and "outbound queue full" in caplog.text
    assert bot.app[OUTBOX].status()["shed"] == 20 - len(connector.messages)


async def test_typing_never_overtakes_the_answer_in_a_conversation(aiohttp_client, settings, bundled_index,
                                                                  connector):
    bot = await start(aiohttp_client, settings.with_(typing_delay_seconds=0.0), bundled_index)
    connector.delay = 0.05
    for n in range(3):
        await bot.post("/api/messages", json=personal_message(connector.url, f"how do I retire a dataset {n}"))
    kinds = "".join(s.activity["type"][0] for s in connector.sent)   # "t" typing, "m" message
    assert kinds.count("m") == 3 and re.fullmatch(r"(t?m)+", kinds), kinds


# ----------------------------------------------------------------------------- local mode
@pytest.mark.parametrize("target", ["http://169.254.169.254/", "http://10.0.0.1:8080/", "https://example.org/",
                                    "http://localhost.example.com/", "http://[::ffff:169.254.169.254]/"])
async def test_local_mode_replies_only_to_loopback(bot, connector, target):
    started = time.monotonic()
    response = await bot.post("/api/messages", json=personal_message(target, "what is open data?"))
    assert response.status == 400 and "loopback" in (await response.json())["error"]
    assert time.monotonic() - started < 1.0 and bot.app[OUTBOX].status()["sent"] == 0


async def test_local_mode_answers_loopback_service_urls(bot, connector):
    await bot.post("/api/messages", json=personal_message(connector.url.replace("127.0.0.1", "localhost"), "hi"))
    assert len(connector.messages) == 1


def test_local_mode_listens_on_loopback_by_default():
    assert Settings.from_env({}).host == "127.0.0.1"
    assert Settings.from_env({"MicrosoftAppId": "x", "USER_HASH_SALT": "s" * 32}).host == "0.0.0.0"
    assert Settings.from_env({"HOST": "0.0.0.0"}).host == "0.0.0.0"


# ----------------------------------------------------------------------------- the salt
@pytest.mark.parametrize("salt", [None, "handbook-bot", "short"])
def test_outside_local_mode_the_default_or_a_weak_salt_refuses_to_start(salt, tmp_path):
    env = {"MicrosoftAppId": "app-id", **({"USER_HASH_SALT": salt} if salt else {})}
    settings = Settings.from_env(env)
    assert settings.serving_problems() and "USER_HASH_SALT" in settings.serving_problems()[0]
    with pytest.raises(ConfigurationError, match="USER_HASH_SALT"):
        create_app(settings, store=SQLiteFeedbackStore(tmp_path / "f.sqlite3"))
    assert Settings.from_env({}).serving_problems() == []                        # local mode: fine
    assert Settings.from_env({**env, "USER_HASH_SALT": "x" * 32}).serving_problems() == []


def test_serve_command_exits_with_the_reason(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MicrosoftAppId": "app-id", "FEEDBACK_DB": str(tmp_path / "f.sqlite3"),
           "INDEX_DIR": str(tmp_path / "none"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot", "serve", "--port", "1"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "USER_HASH_SALT" in done.stderr
    done = subprocess.run([sys.executable, "deploy/serve.py"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "USER_HASH_SALT" in done.stderr


async def test_answer_card_is_unchanged_by_the_outbox(bot, connector):
    await bot.post("/api/messages", json=personal_message(connector.url, "who is the data steward?"))
    [reply] = connector.messages
    assert card_of(reply)["type"] == "AdaptiveCard"


# ----------------------------------------------------------------------------- a corrupt index at start-up
CORRUPT = b"corrupted by the test"


def _corrupt_copy(source, target):
    import shutil

    shutil.copytree(source, target)
    (target / "sections.json").write_bytes(CORRUPT)


async def _health_when_settled(client) -> tuple[int, dict]:
    for _ in range(300):
        response = await client.get("/healthz")
        body = await response.json()
        if body["status"] != "loading":
            return response.status, body
        await asyncio.sleep(0.05)
    raise AssertionError("the index never finished loading")


async def test_corrupt_index_at_startup_serves_the_rollback_copy(aiohttp_client, settings, bundled_index, connector,
                                                                 tmp_path):
    import shutil

    live = tmp_path / "live" / "index"
    _corrupt_copy(bundled_index[0], live)
    shutil.copytree(bundled_index[0], live.with_name("index.previous"))
    app = create_app(settings.with_(index_dir=live), store=SQLiteFeedbackStore(settings.feedback_db), watch=False)
    bot = await serve(aiohttp_client, app)
    status, health = await _health_when_settled(bot)
    assert status == 200 and "rollback copy" in health["warning"] and "corrupt" in health["warning"]
    assert health["built_at"] == bundled_index[1].meta["built_at"]
    assert (live / "sections.json").read_bytes() == CORRUPT          # never overwritten
    await bot.post("/api/messages", json=personal_message(connector.url, "who is the data steward?"))
    assert len(connector.messages) == 1 and card_of(connector.messages[0])["type"] == "AdaptiveCard"


async def test_corrupt_index_at_startup_without_rollback_copy_is_503_with_the_reason(aiohttp_client, settings,
                                                                                      bundled_index, tmp_path):
    import shutil

    live = tmp_path / "live" / "index"
    _corrupt_copy(bundled_index[0], live)
    app = create_app(settings.with_(index_dir=live, reload_seconds=0.05),
                     store=SQLiteFeedbackStore(settings.feedback_db))
    bot = await serve(aiohttp_client, app)
    status, health = await _health_when_settled(bot)
    assert status == 503 and health["status"] == "unavailable" and "corrupt" in health["reason"]
    assert (live / "sections.json").read_bytes() == CORRUPT          # the bundled pages were not built over it
    # A valid index put in place later is picked up without a restart.
    shutil.rmtree(live)
    shutil.copytree(bundled_index[0], live)
    (live / "meta.json").touch()   # copytree keeps the old mtime; the indexer writes a new file
    for _ in range(200):
        if (await bot.get("/healthz")).status == 200:
            break
        await asyncio.sleep(0.05)
    health = await (await bot.get("/healthz")).json()
    assert health["status"] == "ok" and "warning" not in health
