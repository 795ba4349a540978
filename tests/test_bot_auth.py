"""Bot Framework token validation, offline and real: the SDK reads its OpenID metadata URLs and token
issuer from configuration; they point at a local stub serving a JWKS with a test RSA key.

Only outbound credentials are replaced (no token is fetched from Azure for replies); inbound
validation is the SDK's own, with the real app-id check.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from botframework.connector.auth import PasswordServiceClientCredentialFactory
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from msrest.authentication import BasicTokenAuthentication

from bot.app import create_app
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.index_holder import IndexHolder
from bot.settings import Settings
from bot.teams.openid import KeyCachePolicy, OpenIdKeys, SigningKey, SigningKeysUnavailable
from tests.support.teams import personal_message, serve

APP_ID = "00000000-test-app-id"
ISSUER = "https://api.botframework.com"
KID = "test-key-1"


@pytest.fixture(scope="module")
def keys():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def openid(keys):
    """OpenID configuration + JWKS on loopback, in a thread (the SDK fetches it with blocking requests)."""
    jwk = json.loads(RSAAlgorithm.to_jwk(keys[0].public_key()))
    jwk.update(kid=KID, use="sig", endorsements=["msteams"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            base = f"http://127.0.0.1:{self.server.server_port}"
            body = {"/openid": {"issuer": ISSUER, "jwks_uri": f"{base}/keys"}, "/keys": {"keys": [jwk]}}.get(self.path)
            data = json.dumps(body).encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/openid"
    server.shutdown()


class _OfflineOutbound(PasswordServiceClientCredentialFactory):
    """Real app-id checks; replies signed with a fixed token instead of one fetched from Azure AD."""

    async def create_credentials(self, app_id, oauth_scope, login_endpoint, validate_authority):
        assert await self.is_valid_app_id(app_id)
        return BasicTokenAuthentication({"access_token": "outbound-test-token"})


@pytest.fixture
async def bot(aiohttp_client, openid, tmp_path, bundled_index):
    settings = Settings(app_id=APP_ID, app_password="not-used", index_dir=bundled_index[0], user_hash_salt="t" * 32,
                        feedback_db=tmp_path / "fb.sqlite3",
                        sdk={"TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": openid,
                             "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": openid,
                             "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER})
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False,
                     credentials_factory=_OfflineOutbound(APP_ID, "not-used"))
    return await serve(aiohttp_client, app)


def token(key, service_url: str, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "nbf": now - 10, "exp": now + 3600, "serviceurl": service_url}
    headers = {"kid": KID}
    alg = overrides.pop("alg", "RS256")
    headers.update(overrides.pop("headers", {}))
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


async def test_valid_token_is_accepted_and_the_bot_replies(bot, connector, keys):
    activity = personal_message(connector.url, "what is open data?")
    response = await bot.post("/api/messages", json=activity,
                              headers={"Authorization": f"Bearer {token(keys[0], connector.url)}"})
    assert response.status == 200
    assert connector.messages and connector.messages[0].authorization == "Bearer outbound-test-token"


def _unsigned(service_url: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": APP_ID, "exp": now + 3600, "serviceurl": service_url}, None,
                      algorithm="none", headers={"kid": KID})


@pytest.mark.parametrize("case", ["missing", "not bearer", "malformed", "alg none", "wrong signature",
                                  "wrong audience", "expired", "wrong issuer", "unknown key", "wrong service url"])
async def test_bad_tokens_get_401(bot, connector, keys, case):
    url = connector.url
    header = {
        "missing": None,
        "not bearer": f"Basic {token(keys[0], url)}",
        "malformed": "Bearer not.a.jwt",
        "alg none": f"Bearer {_unsigned(url)}",
        "wrong signature": f"Bearer {token(keys[1], url)}",
        "wrong audience": f"Bearer {token(keys[0], url, aud='someone-else')}",
        "expired": f"Bearer {token(keys[0], url, exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200)}",
        "wrong issuer": f"Bearer {token(keys[0], url, iss='https://evil.example')}",
        "unknown key": f"Bearer {token(keys[0], url, headers={'kid': 'other-key'})}",
        "wrong service url": f"Bearer {token(keys[0], 'https://evil.example/')}",
    }[case]
    headers = {"Authorization": header} if header else {}
    response = await bot.post("/api/messages", json=personal_message(url, "what is open data?"), headers=headers)
    assert response.status == 401
    assert connector.sent == []


# ----------------------------------------------------------------------------- a slow or failing OpenID endpoint
class FlakyOpenId:
    """OpenID configuration + JWKS whose ``mode`` the test sets: "ok", "hang" (answers only when released),
    "503". Counts the metadata fetches."""

    def __init__(self, jwk: dict) -> None:
        self.mode, self.fetches, self.release = "ok", 0, threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                base = f"http://127.0.0.1:{self.server.server_port}"
                if self.path == "/openid":
                    stub.fetches += 1
                    if stub.mode == "hang":
                        stub.release.wait(60)
                    if stub.mode == "503":
                        self.send_response(503)
                        self.end_headers()
                        return
                body = {"/openid": {"issuer": ISSUER, "jwks_uri": f"{base}/keys"}, "/keys": {"keys": [jwk]}}.get(
                    self.path)
                data = json.dumps(body).encode()
                try:
                    self.send_response(200 if body else 404)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:   # the bot stopped waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/openid"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def flaky_openid(keys):
    jwk = json.loads(RSAAlgorithm.to_jwk(keys[0].public_key()))
    jwk.update(kid=KID, use="sig", endorsements=["msteams"])
    stub = FlakyOpenId(jwk)
    yield stub
    stub.close()


async def _bot_with(aiohttp_client, openid_url, tmp_path, bundled_index, timeout=0.5):
    settings = Settings(app_id=APP_ID, app_password="not-used", index_dir=bundled_index[0], user_hash_salt="t" * 32,
                        feedback_db=tmp_path / "fb.sqlite3", openid_timeout_seconds=timeout,
                        sdk={"TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": openid_url,
                             "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": openid_url,
                             "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": ISSUER})
    app = create_app(settings, holder=IndexHolder(settings.index_dir, bundled_index[1]),
                     store=SQLiteFeedbackStore(settings.feedback_db), watch=False,
                     credentials_factory=_OfflineOutbound(APP_ID, "not-used"))
    return await serve(aiohttp_client, app)


async def _healthz_worst(client, until: asyncio.Future) -> float:
    worst = 0.0
    while not until.done():
        started = time.monotonic()
        assert (await client.get("/healthz")).status == 200
        worst = max(worst, time.monotonic() - started)
        await asyncio.sleep(0.02)
    return worst


async def test_hanging_openid_endpoint_blocks_neither_healthz_nor_the_loop(aiohttp_client, flaky_openid, connector,
                                                                          keys, tmp_path, bundled_index):
    flaky_openid.mode = "hang"
    bot = await _bot_with(aiohttp_client, flaky_openid.url, tmp_path, bundled_index)
    forged = {"Authorization": f"Bearer {token(keys[1], connector.url, headers={'kid': 'forged'})}"}
    posts = asyncio.gather(*(bot.raw.post("/api/messages", json=personal_message(connector.url, "hi"),
                                          headers=forged) for _ in range(5)))
    started = time.monotonic()
    worst = await _healthz_worst(bot, posts)
    assert [r.status for r in posts.result()] == [401] * 5
    assert time.monotonic() - started < 3 and worst < 0.3 and flaky_openid.fetches == 1


async def test_cached_keys_keep_valid_traffic_flowing_while_the_endpoint_hangs(aiohttp_client, flaky_openid,
                                                                               connector, keys, tmp_path,
                                                                               bundled_index):
    bot = await _bot_with(aiohttp_client, flaky_openid.url, tmp_path, bundled_index)
    valid = {"Authorization": f"Bearer {token(keys[0], connector.url)}"}
    assert (await bot.post("/api/messages", json=personal_message(connector.url, "hi"), headers=valid)).status == 200
    flaky_openid.mode = "hang"
    forged = {"Authorization": f"Bearer {token(keys[1], connector.url, headers={'kid': 'forged'})}"}
    started = time.monotonic()
    statuses = [(await bot.post("/api/messages", json=personal_message(connector.url, "what is open data?"),
                                headers=valid)).status for _ in range(5)]
    bad = [(await bot.post("/api/messages", json=personal_message(connector.url, "hi"), headers=forged)).status
           for _ in range(3)]
    assert statuses == [200] * 5 and bad == [401] * 3 and len(connector.messages) == 6
    assert time.monotonic() - started < 3


async def test_a_failing_endpoint_is_not_asked_again_for_every_forged_token(aiohttp_client, flaky_openid, connector,
                                                                            keys, tmp_path, bundled_index):
    flaky_openid.mode = "503"
    bot = await _bot_with(aiohttp_client, flaky_openid.url, tmp_path, bundled_index)
    forged = {"Authorization": f"Bearer {token(keys[1], connector.url, headers={'kid': 'forged'})}"}
    for _ in range(20):
        response = await bot.post("/api/messages", json=personal_message(connector.url, "hi"), headers=forged)
        assert response.status == 401
    assert flaky_openid.fetches <= 2 and connector.sent == []


# ----------------------------------------------------------------------------- the key cache on its own
class _Endpoint:
    """``fetch(url, timeout)`` for ``OpenIdKeys``: the current keys (marked with a generation), or an error;
    ``gate`` holds a fetch until it is set."""

    def __init__(self) -> None:
        self.kids, self.generation, self.fail, self.calls = ["k1"], 1, False, 0
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, url: str, timeout: float) -> dict:
        self.calls += 1
        assert self.gate.wait(10)
        if self.fail:
            raise OSError("metadata endpoint down")
        return {kid: SigningKey((kid, self.generation), []) for kid in self.kids}


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_cache():
    executor = ThreadPoolExecutor(max_workers=2)
    endpoint, clock = _Endpoint(), _Clock()
    policy = KeyCachePolicy(wait_seconds=5, refresh_seconds=100, unknown_kid_seconds=300, failure_seconds=30)
    yield OpenIdKeys("http://openid.test/", policy, executor, fetch=endpoint, clock=clock), endpoint, clock
    endpoint.gate.set()
    executor.shutdown(wait=True)


async def test_old_keys_are_refreshed_in_the_background_while_they_keep_serving(key_cache):
    keys, endpoint, clock = key_cache
    assert (await keys.get("k1")).public_key == ("k1", 1) and endpoint.calls == 1
    clock.now += 101                                  # older than refresh_seconds
    endpoint.gate.clear()                             # the refresh cannot finish yet
    endpoint.kids, endpoint.generation = ["k1", "k2"], 2
    assert (await keys.get("k1")).public_key == ("k1", 1)   # answered from the cache, not after the fetch
    await asyncio.sleep(0.05)
    assert endpoint.calls == 2                        # ... while the refresh runs
    refresh = keys.prefetch()                         # the fetch in progress, not a new one
    endpoint.gate.set()
    await asyncio.wrap_future(refresh)
    assert (await keys.get("k2")).public_key == ("k2", 2) and endpoint.calls == 2


async def test_failures_and_unknown_key_ids_do_not_hammer_the_endpoint(key_cache):
    keys, endpoint, clock = key_cache
    endpoint.fail = True                              # a failed fetch is remembered for failure_seconds
    for _ in range(10):
        with pytest.raises(SigningKeysUnavailable):
            await keys.get("k1")
    assert endpoint.calls == 1
    clock.now += 31
    endpoint.fail = False
    assert (await keys.get("k1")).public_key == ("k1", 1) and endpoint.calls == 2

    for _ in range(10):                               # forged key ids: no fetch within unknown_kid_seconds
        with pytest.raises(SigningKeysUnavailable):
            await keys.get("forged")
    assert endpoint.calls == 2
    clock.now += 301                                  # a key rollover is looked for again after that
    endpoint.kids = ["k1", "k3"]
    assert (await keys.get("k3")).public_key == ("k3", 1) and endpoint.calls == 3

    clock.now += 101                                  # a background refresh that fails: the cached keys
    endpoint.fail = True                              # serve on, and no fetch again for failure_seconds
    for _ in range(10):
        assert (await keys.get("k1")).public_key == ("k1", 1)
        await asyncio.sleep(0.01)
    assert endpoint.calls == 4
