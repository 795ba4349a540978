"""Faults and hostile input against the real server on loopback (``make bench-faults``).

Each case of issue 8 runs against the bot as it is deployed: ``python -m bot serve`` (or
``deploy/serve.py`` with two workers), the tests' stub Bot Connector (tests/support/connector.py) and a
stub OpenID metadata endpoint in this process (aiohttp, loopback only), raw sockets where the case is
about bytes on the wire, and ``kill -9`` where it is about durability. It prints one table: case,
expected, observed, pass; the exit status is 1 when a row fails.

    python -m benchmarks.bench_faults                   # every case (about eight minutes)
    python -m benchmarks.bench_faults --only body,ssrf  # the groups whose name contains a word

The servers that need Bot Framework authentication use a test signing key served by the OpenID stub
and sign their replies with a fixed token (``--serve`` below: ``create_app`` + ``run`` with an offline
outbound credential), so nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support.connector import Sent, StubConnector
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "00000000-bench-faults-app"
ISSUER = "https://api.botframework.com"
KID = "bench-key-1"
CARD = "application/vnd.microsoft.card.adaptive"
GOOD_SALT = "bench-faults-salt-0123456789abcdef"


# ----------------------------------------------------------------------------- the server under test
def _serve(argv: list[str]) -> int:
    """``--serve``: the bot's own ``run`` with an offline outbound credential (replies carry a fixed token)."""
    from botframework.connector.auth import MicrosoftAppCredentials, PasswordServiceClientCredentialFactory

    from bot.app import run
    from bot.settings import Settings

    class FixedToken(MicrosoftAppCredentials):
        def get_access_token(self, force_refresh: bool = False) -> str:
            return "bench-outbound-token"

    class Offline(PasswordServiceClientCredentialFactory):
        async def create_credentials(self, app_id, oauth_scope, login_endpoint, validate_authority):
            if not await self.is_valid_app_id(app_id):
                raise PermissionError("unknown app id")
            return FixedToken(app_id, "unused", oauth_scope=oauth_scope)

    import logging

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    run(settings, credentials_factory=Offline(settings.app_id, settings.app_password) if settings.app_id else None)
    return 0


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Bench:
    def __init__(self, tmp: Path, index: Path) -> None:
        self.tmp, self.index = tmp, index
        self.connector = StubConnector()
        self.openid = OpenIdStub()
        self.rows: list[tuple[str, str, str, bool]] = []
        self.servers: list[Server] = []
        self._n = itertools.count(1)

    def row(self, case: str, expected: str, observed: str, ok: bool) -> None:
        self.rows.append((case, expected, observed, bool(ok)))
        print(f"{'PASS' if ok else 'FAIL'}  {case}: {observed}", file=sys.stderr, flush=True)

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("Microsoft", "USER_HASH", "DATABASE_URL", "TO_BOT_", "HOST"))}
        env.update(INDEX_DIR=str(self.index), FEEDBACK_DB=str(self.tmp / f"feedback-{next(self._n)}.sqlite3"),
                   INDEX_RELOAD_SECONDS="0", CONNECTOR_RETRY_BASE_SECONDS="0.2", CONNECTOR_TIMEOUT_SECONDS="3",
                   PYTHONUNBUFFERED="1")
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def authenticated_env(self, **extra) -> dict:
        return self.env(MicrosoftAppId=APP_ID, MicrosoftAppPassword="unused", MicrosoftAppType="MultiTenant",
                        USER_HASH_SALT=GOOD_SALT, TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=self.openid.metadata_url,
                        TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=self.openid.metadata_url,
                        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=ISSUER, **extra)

    async def start(self, env: dict, cmd: list[str] | None = None, port: int | None = None,
                    wait: bool = True) -> Server:
        port = port or free_port()
        env = dict(env, PORT=str(port))
        log = self.tmp / f"server-{next(self._n)}.log"
        cmd = cmd or [sys.executable, "-m", "benchmarks.bench_faults", "--serve"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        server = Server(proc, port, log)
        self.servers.append(server)
        if wait:
            await _wait_healthy(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


async def _wait_healthy(server: Server, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise RuntimeError(f"server exited with {server.proc.returncode}:\n{server.log_text()[-3000:]}")
            try:
                async with session.get(server.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"server not healthy after {seconds}s:\n{server.log_text()[-3000:]}")


# ----------------------------------------------------------------------------- stubs
def reset(connector: StubConnector, *, fail_all: tuple[int, dict] | None = None,
          failures: list[tuple[int, dict]] | None = None, delay: float = 0.0) -> None:
    """Forget what the stub connector recorded and set how it answers the next POSTs: ``fail_all`` (status,
    headers) to every one, ``failures`` to the next few, each held ``delay`` s (posted, answered late)."""
    connector.sent, connector.attempts, connector.attempted_at, connector.max_in_flight = [], 0, [], 0
    connector.fail_all, connector.failures, connector.delay = fail_all, list(failures or []), delay


def replies_to(connector: StubConnector, conversation: str) -> list[Sent]:
    """The messages the stub connector was given for ``conversation`` (typing indicators left out)."""
    return [s for s in connector.messages if s.conversation_id == conversation]


@dataclass
class OpenIdStub:
    """OpenID configuration + JWKS; ``mode``: "ok", "hang" (never answers), "slow" (answers after
    ``slow_seconds``), "503"."""

    mode: str = "ok"
    slow_seconds: float = 10.0
    fetches: int = 0
    metadata_url: str = ""
    jwk: dict = field(default_factory=dict)

    def app(self) -> web.Application:
        async def openid(request: web.Request) -> web.Response:
            self.fetches += 1
            if self.mode == "hang":
                await asyncio.sleep(3600)
            if self.mode == "slow":
                await asyncio.sleep(self.slow_seconds)
            if self.mode == "503":
                return web.Response(status=503, text="unavailable")
            base = f"{request.url.scheme}://{request.host}"
            return web.json_response({"issuer": ISSUER, "jwks_uri": f"{base}/keys"})

        async def keys(request: web.Request) -> web.Response:
            return web.json_response({"keys": [self.jwk]})

        app = web.Application()
        app.router.add_get("/openid", openid)
        app.router.add_get("/keys", keys)
        return app


class Keys:
    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self.good.public_key()))
        jwk.update(kid=KID, use="sig", endorsements=["msteams"])
        return jwk

    def token(self, service_url: str, forged: bool = False, kid: str = KID) -> str:
        import jwt

        now = int(time.time())
        claims = {"iss": ISSUER, "aud": APP_ID, "nbf": now - 10, "exp": now + 3600, "serviceurl": service_url}
        return jwt.encode(claims, self.forged if forged else self.good, algorithm="RS256", headers={"kid": kid})


# ----------------------------------------------------------------------------- activities and requests
_ids = itertools.count(1)


def activity(service_url: str, text: str | None = "what is open data?", conversation: str | None = None,
             **extra) -> dict:
    n = next(_ids)
    body = {"type": "message", "id": f"in-{n}", "timestamp": "2025-07-01T12:00:00.000Z",
            "serviceUrl": service_url, "channelId": "msteams",
            "from": {"id": f"29:user-{n % 7}", "name": "User", "aadObjectId": f"aad-{n % 7}"},
            "conversation": {"conversationType": "personal", "tenantId": "t", "id": conversation or f"a:chat-{n}"},
            "recipient": {"id": "28:bot", "name": "Handbook Bot"}, "locale": "en-US",
            "channelData": {"tenant": {"id": "t"}}}
    if text is not None:
        body["text"] = text
    body.update(extra)
    return body


def invoke(service_url: str, value) -> dict:
    return activity(service_url, None, type="invoke", name="adaptiveCard/action", value=value)


async def post(session: aiohttp.ClientSession, server: Server, body, headers: dict | None = None,
               raw: bytes | None = None, timeout: float = 30) -> tuple[int, float, str]:
    """POST /api/messages; (status, seconds, body text). Status 0 = no answer (connection error / timeout)."""
    data = raw if raw is not None else json.dumps(body).encode()
    started = time.monotonic()
    try:
        async with session.post(server.url + "/api/messages", data=data,
                                headers={"Content-Type": "application/json", **(headers or {})},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            return r.status, time.monotonic() - started, await r.text()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return 0, time.monotonic() - started, type(exc).__name__


async def raw_request(port: int, head: bytes, parts: list[bytes], pause: float = 0.001,
                      timeout: float = 30) -> tuple[int, bytes]:
    """Send ``head`` then each of ``parts`` as separate TCP writes ``pause`` apart; (status, response)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        for part in parts:
            await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        data = await asyncio.wait_for(_read_response(reader), timeout)
    finally:
        writer.close()
    match = re.match(rb"HTTP/1\.1 (\d{3})", data)
    return (int(match.group(1)) if match else 0), data


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(length.group(1))) if length else b""
    return head + body


async def wait_until(predicate, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return bool(predicate())


class HealthProbe:
    """Polls /healthz every 50 ms in the background; ``worst`` = the slowest answer (seconds)."""

    def __init__(self, server: Server) -> None:
        self.server, self.latencies, self.failures = server, [], 0

    async def __aenter__(self):
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as session:
            while True:
                started = time.monotonic()
                try:
                    async with session.get(self.server.url + "/healthz",
                                           timeout=aiohttp.ClientTimeout(total=30)) as r:
                        await r.read()
                        if r.status != 200:
                            self.failures += 1
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    self.failures += 1
                self.latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.05)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("nan"))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            parts = line.split()
            address, state = parts[1], parts[3]
            host, hexport = address.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                if len(host) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(host)[::-1]))
                else:
                    raw = bytes.fromhex(host)
                    found.add(socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))))
    return found


# ----------------------------------------------------------------------------- cases
async def body_cases(b: Bench) -> None:
    server = await b.start(b.env())
    url = b.connector.url
    body = json.dumps(activity(url, "how do I retire a dataset")).encode()
    head = (f"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    statuses = [(await raw_request(server.port, head, [body[:40], body[40:]]))[0] for _ in range(20)]
    b.row("body: valid activity in 2 TCP writes 1 ms apart (x20)", "200 x20",
          f"{statuses.count(200)}x200 {', '.join(str(s) for s in statuses if s != 200)}".strip(),
          statuses.count(200) == 20)

    chunked_head = (b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    statuses = [(await raw_request(server.port, chunked_head, [chunk(body[:50]), chunk(body[50:]) + b"0\r\n\r\n"]))[0]
                for _ in range(20)]
    b.row("body: chunked encoding in 2 chunks (x20)", "200 x20",
          f"{statuses.count(200)}x200 {', '.join(str(s) for s in statuses if s != 200)}".strip(),
          statuses.count(200) == 20)

    # Over the limit without a Content-Length: the answer must come before the client has sent it all.
    big = chunk(b" " * (300 * 1024))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(chunked_head + big)
    await writer.drain()
    try:
        data = await asyncio.wait_for(_read_response(reader), 5)
        status = int(re.match(rb"HTTP/1\.1 (\d{3})", data).group(1))
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, AttributeError):
        status = 0
    writer.close()
    b.row("body: 300 KB chunked, body never finished", "413 before the end", str(status or "no answer in 5 s"),
          status == 413)

    head = (b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n")
    try:
        status, _ = await raw_request(server.port, head, [], timeout=5)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError):
        status = 0
    b.row("body: Content-Length 10 MB, nothing sent", "413 at once", str(status or "no answer in 5 s"), status == 413)

    # A body that stalls half-way: the read times out (408) instead of holding the request open.
    started = time.monotonic()
    try:
        status, _ = await raw_request(server.port, head.replace(b"10000000", str(len(body)).encode()),
                                      [body[:30]], timeout=40)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError):
        status = 0
    b.row("body: half a body, then silence", "408 within BODY_TIMEOUT_SECONDS (10 s)",
          f"{status or 'no answer'} after {time.monotonic() - started:.1f} s", status == 408)


async def hostile_cases(b: Bench) -> None:
    server = await b.start(b.env())
    url = b.connector.url
    async with aiohttp.ClientSession() as session:
        deep = "[" * 10000 + "]" * 10000
        raw = json.dumps(activity(url)).encode()[:-1] + b', "value": ' + deep.encode() + b"}"
        status, _, _ = await post(session, server, None, raw=raw)
        b.row("input: JSON nested 10,000 deep", "4xx", str(status), 400 <= status < 500)

        for name, value in (("\"garbage\"", "garbage"), ("{}", {}),
                            ("Action.Submit shape", {"action": "vote", "vote": "up", "turn": "x"}),
                            ("action not an object", {"action": ["Action.Execute"]})):
            status, _, text = await post(session, server, invoke(url, value))
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            well_formed = isinstance(parsed, dict) and "statusCode" in parsed and "type" in parsed
            b.row(f"input: adaptiveCard/action invoke, value {name}", "4xx, or 200 + invoke response",
                  f"{status} {'well-formed' if well_formed else (text or '')[:40]!r}",
                  (400 <= status < 500) or (status == 200 and well_formed))

        # A random sample of activity shapes (the property tests in tests/ go much further).
        rng = random.Random(8)
        statuses: dict[int, int] = {}
        for _ in range(300):
            body = _random_activity(rng, url)
            status, _, _ = await post(session, server, body, raw=body if isinstance(body, bytes) else None)
            statuses[status] = statuses.get(status, 0) + 1
        worst = sorted(s for s in statuses if s >= 500 or s == 0)
        b.row("input: 300 random activity shapes", "no 5xx", json.dumps(dict(sorted(statuses.items()))),
              not worst)
    await asyncio.sleep(0.5)
    alive = server.proc.poll() is None
    b.row("input: server still up after the hostile input", "running", "running" if alive else "exited", alive)


def _random_activity(rng: random.Random, url: str):
    shapes = [None, 0, "", "x" * 5000, [], {}, ["a"], {"a": None}, True, 1e308, -1, "ünï😀", "\u202e", {"$ref": 1}]
    body = activity(url, rng.choice(["hi", "what is open data?", "", "<at>x</at>", "😀" * 300]))
    for _ in range(rng.randint(1, 4)):
        key = rng.choice(["type", "name", "value", "text", "entities", "channelData", "from", "recipient",
                          "conversation", "attachments", "replyToId", "locale", "id", "timestamp",
                          "membersAdded", "deliveryMode", "textFormat", "localTimestamp"])
        body[key] = rng.choice(shapes)
    if rng.random() < 0.3:
        body["type"] = "invoke"
        body["name"] = rng.choice(["adaptiveCard/action", "task/fetch", "composeExtension/query", "signin/verifyState",
                                   "actionableMessage/executeAction", "fileConsent/invoke", "unknown/x", None, 7])
        body["value"] = rng.choice(shapes + [{"action": rng.choice(shapes)}])
    if rng.random() < 0.2:
        body["type"] = rng.choice(["conversationUpdate", "messageReaction", "installationUpdate", "event", "typing",
                                   "endOfConversation", "messageUpdate", "messageDelete"])
    if rng.random() < 0.1:
        return json.dumps(body).encode()[: rng.randint(0, 200)]
    return body


async def openid_cases(b: Bench, keys: Keys) -> None:
    url = b.connector.url
    forged = {"Authorization": f"Bearer {keys.token(url, forged=True, kid='forged-kid')}"}
    valid = {"Authorization": f"Bearer {keys.token(url)}"}

    # 1. Metadata never answers, nothing cached: forged tokens get 401 in bounded time; /healthz unaffected.
    b.openid.mode, b.openid.fetches = "hang", 0
    server = await b.start(b.authenticated_env())
    async with aiohttp.ClientSession() as session, HealthProbe(server) as probe:
        results = await asyncio.gather(*(post(session, server, activity(url), forged) for _ in range(5)))
        await asyncio.sleep(0.3)
    worst = max(r[1] for r in results)
    b.row("openid: metadata never answers, 5 forged tokens", "401 within 6 s; /healthz < 0.5 s",
          f"{sorted({r[0] for r in results})} in <= {worst:.1f} s; /healthz worst {probe.worst * 1000:.0f} ms",
          all(r[0] == 401 for r in results) and worst < 6.5 and probe.worst < 0.5)
    server.stop()

    # 2. Metadata answers after 10 s.
    b.openid.mode, b.openid.fetches = "slow", 0
    server = await b.start(b.authenticated_env())
    async with aiohttp.ClientSession() as session, HealthProbe(server) as probe:
        status, seconds, _ = await post(session, server, activity(url), forged)
        await asyncio.sleep(1)
    b.row("openid: metadata answers after 10 s, forged token", "401 within 6 s; /healthz < 0.5 s",
          f"{status} in {seconds:.1f} s; /healthz worst {probe.worst * 1000:.0f} ms",
          status == 401 and seconds < 6.5 and probe.worst < 0.5)
    server.stop()

    # 3. Metadata answers 503: failures are cached, 20 forged tokens cause one fetch.
    b.openid.mode, b.openid.fetches = "503", 0
    server = await b.start(b.authenticated_env())
    async with aiohttp.ClientSession() as session:
        results = [await post(session, server, activity(url), forged) for _ in range(20)]
    b.row("openid: metadata 503, 20 forged tokens", "401 x20, <= 2 metadata fetches",
          f"{sum(r[0] == 401 for r in results)}x401, {b.openid.fetches} fetches",
          all(r[0] == 401 for r in results) and b.openid.fetches <= 2)
    server.stop()

    # 4. Keys cached, then the endpoint hangs: valid traffic and /healthz unaffected, forged still 401.
    b.openid.mode, b.openid.fetches = "ok", 0
    server = await b.start(b.authenticated_env())
    reset(b.connector)
    async with aiohttp.ClientSession() as session:
        first = await post(session, server, activity(url), valid)
        b.openid.mode = "hang"
        async with HealthProbe(server) as probe:
            bodies = [activity(url) for _ in range(20)]
            results = await asyncio.gather(*(post(session, server, a, valid) for a in bodies),
                                           *(post(session, server, activity(url), forged) for _ in range(5)))
            await wait_until(lambda: len(b.connector.messages) >= 21, 10)
    valid_results, forged_results = results[:20], results[20:]
    replied = sum(bool(replies_to(b.connector, a["conversation"]["id"])) for a in bodies)
    worst_valid = max(r[1] for r in valid_results)
    b.row("openid: keys cached, then metadata hangs: 20 valid + 5 forged",
          "valid 200 + 1 reply each (< 1 s); forged 401; /healthz < 0.5 s",
          f"first {first[0]}; valid {sum(r[0] == 200 for r in valid_results)}x200 in <= {worst_valid:.2f} s, "
          f"{replied} replied; forged {sorted({r[0] for r in forged_results})}; /healthz worst "
          f"{probe.worst * 1000:.0f} ms",
          first[0] == 200 and all(r[0] == 200 for r in valid_results) and replied == 20 and worst_valid < 1
          and all(r[0] == 401 for r in forged_results) and probe.worst < 0.5)

    # 5. With an app id, replies go only where the token says: a token for another service URL is refused.
    b.openid.mode = "ok"
    async with aiohttp.ClientSession() as session:
        attempts = b.connector.attempts
        other = {"Authorization": f"Bearer {keys.token('http://169.254.169.254/')}"}
        status, _, _ = await post(session, server, activity(url), other)
        await asyncio.sleep(0.5)
    b.row("auth: valid token vouching for another service URL", "401, nothing sent",
          f"{status}, {b.connector.attempts - attempts} sends",
          status == 401 and b.connector.attempts == attempts)
    server.stop()


async def connector_cases(b: Bench) -> None:
    server = await b.start(b.env(CONNECTOR_RETRIES="3"))
    url = b.connector.url
    async with aiohttp.ClientSession() as session:
        # Connector answers 500 to everything: the inbound request is acknowledged at once, the answer is
        # tried 1 + 3 times, no error message follows.
        reset(b.connector, fail_all=(500, {}))
        bodies = [activity(url) for _ in range(10)]
        results = await asyncio.gather(*(post(session, server, a) for a in bodies))
        await asyncio.sleep(6)
        per_message = b.connector.attempts / len(bodies)
        worst = max(r[1] for r in results)
        b.row("connector: 500 on every POST, 10 messages", "200 in < 1 s; <= 4 POSTs per message",
              f"{sorted({r[0] for r in results})} in <= {worst:.2f} s; {per_message:.1f} POSTs per message",
              all(r[0] == 200 for r in results) and worst < 1 and per_message <= 4)

        # 429 with Retry-After: 1, then success: delivered once, not before a second.
        reset(b.connector, failures=[(429, {"Retry-After": "1"})])
        body = activity(url)
        status, seconds, _ = await post(session, server, body)
        await wait_until(lambda: b.connector.messages, 10)
        tried = b.connector.attempted_at
        gap = tried[1] - tried[0] if len(tried) > 1 else 0
        b.row("connector: 429 Retry-After: 1, then OK", "200 < 1 s; 1 reply; retried after >= 1 s",
              f"{status} in {seconds:.2f} s; {len(b.connector.messages)} replies; retry after {gap:.2f} s",
              status == 200 and seconds < 1 and len(b.connector.messages) == 1 and gap >= 0.95)

        # Connector hangs longer than the send timeout (3 s here) but posts the message: no second copy.
        reset(b.connector, delay=5)
        bodies = [activity(url) for _ in range(5)]
        results = await asyncio.gather(*(post(session, server, a) for a in bodies))
        await asyncio.sleep(9)
        copies = [len(replies_to(b.connector, a["conversation"]["id"])) for a in bodies]
        b.row("connector: hangs 5 s (send timeout 3 s), 5 messages", "200 < 1 s; exactly 1 reply each",
              f"{sorted({r[0] for r in results})} in <= {max(r[1] for r in results):.2f} s; replies per message "
              f"{copies}", all(r[0] == 200 and r[1] < 1 for r in results) and copies == [1] * 5)

        # Sustained faults: bursts against a connector that answers 503. Acknowledgements stay fast, and what
        # the retries hold is bounded: a second burst after the first drained does not grow memory further.
        reset(b.connector, fail_all=(503, {}))
        rss = []
        acks: list[float] = []
        for _ in range(2):
            for _ in range(40):   # 10 messages at the same moment, 40 times
                acks += [r[1] for r in await asyncio.gather(*(post(session, server, activity(url)) for _ in range(10)))
                         if r[0] == 200]
            outstanding = await _outbox(session, server)
            await wait_until_async(lambda: _outbox(session, server, "outstanding", 0), 60)
            rss.append(_rss_mb(server.proc.pid))
        acks.sort()
        p95 = acks[int(0.95 * (len(acks) - 1))] if acks else float("inf")
        b.row("connector: 503 to everything, 2 bursts of 400 messages (10 at a time)",
              "800x200, p95 < 1 s; second burst grows RSS < 10 MB",
              f"{len(acks)}x200, p95 {p95:.2f} s, worst {acks[-1]:.2f} s; outstanding after a burst "
              f"{outstanding.get('outstanding')}; RSS after each burst {rss[0]:.0f}, {rss[1]:.0f} MB",
              len(acks) == 800 and p95 < 1 and rss[1] - rss[0] < 10)
    server.stop()

    # A connector that holds every send: at most CONNECTOR_MAX_IN_FLIGHT at once, and beyond
    # CONNECTOR_MAX_OUTSTANDING new replies are shed with a log line (not queued without bound).
    server = await b.start(b.env(CONNECTOR_MAX_IN_FLIGHT="8", CONNECTOR_MAX_OUTSTANDING="100",
                                 CONNECTOR_TIMEOUT_SECONDS="3"))
    reset(b.connector, delay=0.8)
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(post(session, server, activity(url)) for _ in range(200)))
        status = await _outbox(session, server)
        await wait_until_async(lambda: _outbox(session, server, "outstanding", 0), 60)
        final = await _outbox(session, server)
    shed_logged = "outbound queue full" in server.log_text()
    b.row("connector: holds every send 0.8 s, 200 messages, cap 8 in flight / 100 outstanding",
          "200x200; <= 8 in flight; ~100 shed, logged",
          f"{sum(r[0] == 200 for r in results)}x200, worst {max(r[1] for r in results):.2f} s; max in flight "
          f"{b.connector.max_in_flight}; outstanding peak {status.get('outstanding')}; shed {final.get('shed')}, "
          f"logged: {shed_logged}",
          all(r[0] == 200 for r in results) and b.connector.max_in_flight <= 8 and final.get("shed", 0) >= 90
          and shed_logged)
    reset(b.connector)
    server.stop()


async def _outbox(session: aiohttp.ClientSession, server: Server, key: str | None = None, value=None):
    async with session.get(server.url + "/healthz") as r:
        outbox = (await r.json()).get("outbox", {})
    return outbox if key is None else outbox.get(key) == value


async def wait_until_async(predicate, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(step)
    return False


async def local_mode_cases(b: Bench) -> None:
    env = b.env()
    env.pop("HOST", None)
    server = await b.start(env)
    addresses = _listening_addresses(server.port)
    b.row("local mode: default listen address", "127.0.0.1 only", ", ".join(sorted(addresses)) or "?",
          addresses == {"127.0.0.1"})
    async with aiohttp.ClientSession() as session:
        results = []
        for target in ("http://169.254.169.254/", "http://10.0.0.1:8080/", "https://example.org/",
                       "http://localhost.example.com/"):
            started = time.monotonic()
            status, _, _ = await post(session, server, activity(target))
            results.append((target, status, time.monotonic() - started))
        await asyncio.sleep(1)
    log = server.log_text()
    attempted = [t for t, *_ in results if re.search(re.escape(t.split("//")[1].rstrip("/")) + r"[^\n]*(retry|failed)",
                                                     log)]
    b.row("local mode: serviceUrl not on loopback (metadata IP, private, public)", "400, no connection attempted",
          f"{[s for _, s, _ in results]} in <= {max(t for *_, t in results):.2f} s; attempts logged: {len(attempted)}",
          all(s == 400 for _, s, _ in results) and not attempted)
    server.stop()


async def slow_header_cases(b: Bench) -> None:
    server = await b.start(b.env(HEADER_TIMEOUT_SECONDS="5"))
    request = (b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"X-Padding: " + b"a" * 200 + b"\r\n\r\n")
    closed: list[float] = []

    async def dribble() -> None:
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        except OSError:
            return
        try:
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                        break
                except asyncio.TimeoutError:
                    pass
        except (ConnectionError, OSError):
            pass
        closed.append(time.monotonic() - started)
        writer.close()

    async with HealthProbe(server) as probe:
        tasks = [asyncio.create_task(dribble()) for _ in range(200)]
        done, pending = await asyncio.wait(tasks, timeout=20)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    worst = max(closed, default=float("inf"))
    b.row("slow headers: 200 connections at 1 byte/s", "all closed within ~header timeout (5 s); /healthz < 0.5 s",
          f"{len(closed)} closed, last after {worst:.1f} s, {len(pending)} still open at 20 s; /healthz worst "
          f"{probe.worst * 1000:.0f} ms", len(closed) == 200 and worst < 8 and probe.worst < 0.5)
    server.stop()


async def salt_cases(b: Bench) -> None:
    cmd = [sys.executable, "-m", "bot", "serve"]
    for name, salt in (("no USER_HASH_SALT", None), ("the old default", "handbook-bot")):
        env = b.authenticated_env()
        env.pop("USER_HASH_SALT")
        if salt:
            env["USER_HASH_SALT"] = salt
        server = await b.start(env, cmd=cmd, wait=False)
        try:
            code = await asyncio.to_thread(server.proc.wait, 30)
        except subprocess.TimeoutExpired:
            code = None
        said = "USER_HASH_SALT" in server.log_text()
        b.row(f"salt: app id set, {name}", "refuses to start, says why",
              f"exit {code}, message {'names USER_HASH_SALT' if said else 'missing'}", code not in (0, None) and said)
    server = await b.start(b.authenticated_env(), cmd=cmd)
    b.row("salt: app id set with a real salt", "starts", "healthy", server.proc.poll() is None)
    server.stop()


class LockHog:
    """Another writer on the same SQLite file: holds its write lock ``hold`` s out of every ``period`` s (a
    busy second worker, a backup, a long report), so the bot's commits wait and any reply that does not wait
    for its commit would reach the user before its row exists."""

    def __init__(self, db: Path, hold: float = 0.5, period: float = 0.6) -> None:
        self.db, self.hold, self.period = db, hold, period
        self.stop = threading.Event()

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        conn = sqlite3.connect(self.db, timeout=30, isolation_level=None)
        try:
            while not self.stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                time.sleep(self.hold)
                conn.execute("COMMIT")
                time.sleep(self.period - self.hold)
        finally:
            conn.close()


async def _load_until_killed(b: Bench, server: Server, users: int, seconds: float) -> int:
    """``users`` closed-loop users ask until ``seconds`` have passed, then the server gets SIGKILL while they
    are still asking. Returns the number of requests sent."""
    url, sent = b.connector.url, 0
    stop = asyncio.Event()

    async def user(session) -> None:
        nonlocal sent
        while not stop.is_set():
            sent += 1
            await post(session, server, activity(url, "how do I retire a dataset"), timeout=5)

    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(user(session)) for _ in range(users)]
        await asyncio.sleep(seconds)
        server.proc.send_signal(signal.SIGKILL)   # mid-stream: replies are arriving at the connector right now
        server.proc.wait()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sent


async def durability_cases(b: Bench, kills: int = 5) -> None:
    # kill -9 in the middle of traffic: every turn whose answer reached the connector must be stored.
    lost_total = answered_total = 0
    for _ in range(kills):
        env = b.env()
        db = Path(env["FEEDBACK_DB"])
        server = await b.start(env)
        reset(b.connector)
        with LockHog(db):
            await _load_until_killed(b, server, users=20, seconds=3)
        answered = len(b.connector.messages)
        lost_total += max(0, answered - len(_stored_turns(db)))   # fresh store: one turn row per answer
        answered_total += answered
    b.row(f"durability: kill -9 mid-traffic, 20 users, store lock contended ({kills} kills)",
          "0 answered turns missing from the store", f"{lost_total} of {answered_total} answered turns lost",
          lost_total == 0 and answered_total > 0)

    # Two workers share the store; each vote is cast the moment the answer arrives (new connection each
    # time, so it may reach the other worker); then kill -9.
    env = b.env(WEB_WORKERS="2")
    db = Path(env["FEEDBACK_DB"])
    server = await b.start(env, cmd=[sys.executable, "deploy/serve.py"])
    reset(b.connector)
    url = b.connector.url
    acknowledged = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        async def one() -> None:
            nonlocal acknowledged
            body = activity(url, "how do I retire a dataset")
            conv = body["conversation"]["id"]
            await post(session, server, body)
            if not await wait_until(lambda: replies_to(b.connector, conv), 20, step=0.002):
                return
            answer = replies_to(b.connector, conv)[0]
            # Teams' built-in feedback (message/submitAction) on a message the bot posted, right away
            value = {"actionName": "feedback", "actionValue": {"reaction": "like"}}
            vote = activity(url, None, conversation=conv, type="invoke", name="message/submitAction", value=value,
                            replyToId=answer.id)
            status, _, _ = await post(session, server, vote)
            acknowledged += status == 200

        with LockHog(db):
            for _ in range(4):
                await asyncio.gather(*(one() for _ in range(50)))
    workers = _children_of(server.proc.pid)
    for pid in [server.proc.pid, *workers]:
        os.kill(pid, signal.SIGKILL)
    server.proc.wait()
    from bot.feedback.store import PENDING, VOTES_TABLE

    votes = _count(db, f"SELECT COUNT(*) FROM {VOTES_TABLE}") + _count(db, f"SELECT COUNT(*) FROM {PENDING}")
    b.row("durability: 200 votes (built-in feedback) right after the answer, 2 workers, store lock contended, "
          "then kill -9", "every acknowledged vote stored", f"{acknowledged} acknowledged, {votes} stored",
          acknowledged > 0 and votes >= acknowledged)


def _children_of(pid: int) -> list[int]:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(proc.name))
    return out


def _stored_turns(db: Path) -> set[str]:
    from bot.feedback.store import TURNS

    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute(f"SELECT id FROM {TURNS}")}


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


async def index_cases(b: Bench) -> None:
    good = b.tmp / "live-index"
    shutil.copytree(b.index, good)
    sections = json.loads((good / "meta.json").read_text())["sections"]
    built_at = json.loads((good / "meta.json").read_text())["built_at"]

    # Corrupt live index with the rollback copy beside it (deploy/reindex.py keeps <index>.previous).
    live = b.tmp / "corrupt-with-previous" / "index"
    shutil.copytree(good, live)
    shutil.copytree(good, live.with_name("index.previous"))
    _corrupt(live)
    server = await b.start(b.env(INDEX_DIR=str(live)), wait=False)
    status, health = await _health(server)
    untouched = _corrupt_still(live)
    b.row("index: corrupt at start-up, rollback copy present", "serves the rollback copy, says so; index untouched",
          f"/healthz {status} {health.get('sections')} sections, same build: {health.get('built_at') == built_at}"
          f", note: {str(health.get('warning') or health.get('reason') or '')[:50]!r}; corrupt index left in place: "
          f"{untouched}", status == 200 and health.get("built_at") == built_at and untouched)
    server.stop()

    live = b.tmp / "corrupt-alone" / "index"
    shutil.copytree(good, live)
    _corrupt(live)
    server = await b.start(b.env(INDEX_DIR=str(live)), wait=False)
    status, health = await _health(server, want=503)
    untouched = _corrupt_still(live)
    b.row("index: corrupt at start-up, no rollback copy", "503 with the reason; never the bundled pages",
          f"/healthz {status} {json.dumps(health)[:70]}; corrupt index left in place: {untouched}",
          status == 503 and "corrupt" in json.dumps(health) and untouched)
    server.stop()
    del sections


def _corrupt(index: Path) -> None:
    for name in ("sections.json",):
        if (index / name).exists():
            (index / name).write_bytes(b"corrupted by bench_faults")
            return


def _corrupt_still(index: Path) -> bool:
    return any((index / n).exists() and (index / n).read_bytes() == b"corrupted by bench_faults"
               for n in ("sections.json",))


async def _health(server: Server, want: int = 200, seconds: float = 60) -> tuple[int, dict]:
    """Poll /healthz until it answers ``want`` or the index stops loading; (status, body)."""
    deadline = time.monotonic() + seconds
    status, body = 0, {}
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                return -server.proc.returncode if server.proc.returncode else 0, {"exited": server.log_text()[-200:]}
            try:
                async with session.get(server.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    status, body = r.status, await r.json(content_type=None)
                    if status == want or (status in (200, 503) and body.get("status") != "loading"):
                        return status, body
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.2)
    return status, body


# ----------------------------------------------------------------------------- main
GROUPS = {
    "body": body_cases, "input": hostile_cases, "openid": openid_cases, "connector": connector_cases,
    "ssrf": local_mode_cases, "headers": slow_header_cases, "salt": salt_cases, "durability": durability_cases,
    "index": index_cases,
}


async def main_async(args) -> list[tuple[str, str, str, bool]]:
    keys = Keys()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp_name:
        tmp = Path(tmp_name)
        index = Path(args.index) if args.index else await asyncio.to_thread(_build_index, tmp)
        bench = Bench(tmp, index)
        bench.openid.jwk = keys.jwk()
        runners = []
        for stub in (bench.connector, bench.openid):
            runner = web.AppRunner(stub.app(), access_log=None)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
            if stub is bench.connector:
                bench.connector.url = f"http://127.0.0.1:{port}/"
            else:
                bench.openid.metadata_url = f"http://127.0.0.1:{port}/openid"
        try:
            for name, run in GROUPS.items():
                if args.only and not any(word in name for word in args.only.split(",")):
                    continue
                try:
                    await (run(bench, keys) if name == "openid" else run(bench))
                except Exception as exc:   # a case that crashes is a failed row, not a crashed benchmark
                    bench.row(f"{name}: (crashed)", "runs", f"{type(exc).__name__}: {str(exc)[:150]}", False)
                finally:
                    bench.stop_all()
                    bench.servers.clear()
        finally:
            bench.stop_all()
            for runner in runners:
                await runner.cleanup()
        return bench.rows


def _build_index(tmp: Path) -> Path:
    from indexer.build import DEFAULT_SOURCES, build

    result = build(DEFAULT_SOURCES, tmp / "index", tmp / "cache")
    if not result.ok:
        raise SystemExit(f"index build failed: {result.problems}")
    return tmp / "index"


def print_table(rows) -> None:
    print("| case | expected | observed | pass |")
    print("|---|---|---|---|")
    for case, expected, observed, ok in rows:
        print(f"| {case} | {expected} | {observed.replace('|', '/')} | {'yes' if ok else '**NO**'} |")
    print(f"\n{sum(r[3] for r in rows)} of {len(rows)} rows pass")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        return _serve(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", help="comma-separated words: run the groups whose name contains one "
                                  f"({', '.join(GROUPS)})")
    p.add_argument("--index", help="an existing index folder (default: build knowledge/ into a temp dir)")
    args = p.parse_args(argv)
    started = time.monotonic()
    rows = asyncio.run(main_async(args))
    print_table(rows)
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if rows and all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
