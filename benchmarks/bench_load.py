"""Load benchmark: the bot vs a bare botbuilder echo bot, same harness, same run (``make bench-load``).

Everything runs on loopback. This process runs the stub Bot Connector (tests/support/connector.py: an
aiohttp server taking what the bot POSTs to ``/v3/conversations/{id}/activities/{replyToId}``) and K
simulated Teams users, each in its own personal chat, sending messages in a closed loop (send, wait for
the reply, send the next) until N messages were answered. The bot under test runs in its own
process(es) (``--workers W`` shares one port with SO_REUSEPORT), so its CPU time can be read from ``/proc/<pid>/stat``.

Each server loads everything (the bot: its index) before it listens and prints "ready"; the
benchmark starts only when every worker is ready. Reported per target: messages/s, latency p50/p99
from the POST to /api/messages until the reply message reached the connector, errors (non-2xx from
the bot, no reply within the timeout, or a reply that is not the expected one: the echo, or the
bot's answer card), CPU ms per message (the server processes' user+system time / messages: noise
from the load generator matters less than with wall time), server and client CPU as % of one core
(is a core saturated? on a small machine the load generator competes with the workers), Bot
Connector calls per message, and peak RSS (VmHWM). The last table compares per-message CPU with
the echo bot's.

Targets:
- ``echo``       the Bot Framework echo sample: CloudAdapter + ConfigurationBotFrameworkAuthentication
                 + aiohttp, nothing else (written here, in ``_serve_echo``);
- ``bot``        handbook-bot's ``create_app`` as served by ``python -m bot serve`` (search, decision,
                 feedback store, Adaptive Card; a typing indicator too when an answer takes longer
                 than ``TYPING_DELAY_SECONDS``);
- ``bot-stock``  the same bot with the SDK's own per-turn client construction (bot/teams/connector.py
                 switched off), to show what the cached clients buy.

    python -m benchmarks.bench_load [-n 3000] [-c 32] [--workers 1] [--targets echo,bot,bot-stock]
    python -m benchmarks.bench_load -c 200 -n 4000            # zero errors at 200 conversations
    python -m benchmarks.bench_load --workers 2 --targets bot  # scaling on the machine's cores (shared SQLite)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.support.connector import StubConnector
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "how do I retire a dataset",
    "what is open data",
    "who do I contact about publishing data",
    "how often should a dataset be updated",
    "what is the open data portal",
    "do I need approval before publishing",
    "what license applies to state data",
    "how do I add metadata to my dataset",
]
CLK_TCK = os.sysconf("SC_CLK_TCK")
CARD = "application/vnd.microsoft.card.adaptive"


# ----------------------------------------------------------------------------- servers under test
def _serve_echo(port: int) -> None:
    """The bare Bot Framework echo bot (the SDK sample's shape), nothing else."""
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
    from botbuilder.schema import Activity

    class Config:
        APP_ID = ""
        APP_PASSWORD = ""
        APP_TYPE = "MultiTenant"
        APP_TENANTID = ""

    class EchoBot(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext):
            await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot = EchoBot()

    async def messages(req: web.Request) -> web.Response:
        activity = Activity().deserialize(await req.json())
        response = await adapter.process_activity(req.headers.get("Authorization", ""), activity, bot.on_turn)
        if response:
            return web.json_response(data=response.body, status=response.status)
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    _serve(app, port)


def _serve_bot(port: int, index: str, db: str, stock: bool) -> None:
    import logging

    from bot.app import ADAPTER, create_app
    from bot.index_holder import IndexHolder
    from bot.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(host="127.0.0.1", port=port, index_dir=Path(index), feedback_db=Path(db), reload_seconds=0)
    holder = IndexHolder(settings.index_dir)
    holder.load_initial(build_if_missing=False)   # before listening: never measure "still loading" replies
    app = create_app(settings, holder=holder, build_if_missing=False, watch=False)
    if stock:   # undo bot/teams/connector.py: the SDK builds its clients on every turn again
        adapter = app[ADAPTER]
        inner = getattr(adapter.bot_framework_authentication, "inner", None)
        if inner is not None:
            adapter.bot_framework_authentication = inner
    _serve(app, port)


def _serve(app: web.Application, port: int) -> None:
    """Serve on loopback (SO_REUSEPORT, like deploy/serve.py); print "ready" once listening; stop on SIGTERM."""
    import signal

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK   # utime + stime


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _activity(service_url: str, user: int, seq: int, text: str) -> dict:
    return {
        "type": "message", "id": f"u{user}-m{seq}", "timestamp": "2025-07-01T12:00:00.000Z",
        "serviceUrl": service_url, "channelId": "msteams",
        "from": {"id": f"29:user-{user}", "name": f"User {user}", "aadObjectId": f"aad-{user}"},
        "conversation": {"conversationType": "personal", "tenantId": "tenant", "id": f"a:chat-{user}"},
        "recipient": {"id": "28:bot", "name": "Handbook Bot"}, "locale": "en-US", "text": text,
        "channelData": {"tenant": {"id": "tenant"}},
    }


def _expected(target: str, reply: dict) -> bool:
    """The reply each server must send: the echo, or the bot's answer card (not "still loading", not an error)."""
    if target == "echo":
        return str(reply.get("text", "")).startswith("Echo: ")
    return any(a.get("contentType") == CARD for a in reply.get("attachments") or [])


async def _drive(port: int, service_url: str, connector: StubConnector, n: int, concurrency: int,
                 timeout: float, tag: str, target: str) -> tuple[list[float], int, float]:
    """Closed loop: ``concurrency`` users until ``n`` messages were sent. Returns latencies, errors, seconds.
    An error is a non-2xx answer, no reply within ``timeout``, or a reply that is not the expected one."""
    url = f"http://127.0.0.1:{port}/api/messages"
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def user(u: int) -> None:
            nonlocal errors
            seq = 0
            while (i := next(counter)) < n:
                seq += 1
                activity = _activity(service_url, u, seq, QUESTIONS[i % len(QUESTIONS)])
                activity["id"] = f"{tag}-u{u}-m{seq}"
                future = loop.create_future()
                connector.waiting[activity["id"]] = future
                start = time.perf_counter()
                try:
                    async with session.post(url, json=activity) as response:
                        await response.read()
                        if response.status >= 300:
                            errors += 1
                            continue
                    done, reply = await asyncio.wait_for(future, timeout)
                    if not _expected(target, reply):
                        errors += 1
                        continue
                    latencies.append(done - start)
                except (asyncio.TimeoutError, aiohttp.ClientError):
                    errors += 1
                finally:
                    connector.waiting.pop(activity["id"], None)

        started = time.perf_counter()
        await asyncio.gather(*(user(u) for u in range(concurrency)))
        return latencies, errors, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def _wait_ready(procs: list[subprocess.Popen], logs: list[Path], seconds: float = 120) -> None:
    """Wait until every worker printed "ready" (index loaded, port bound); fail with its log if one exits."""
    async def one(proc: subprocess.Popen, log: Path) -> None:
        line = await asyncio.to_thread(proc.stdout.readline)
        if line.strip() != b"ready":
            raise RuntimeError(f"a server under test did not start:\n{log.read_text()[-3000:]}")

    await asyncio.wait_for(asyncio.gather(*(one(p, log) for p, log in zip(procs, logs))), seconds)


def _client_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


async def run_target(target: str, args, service_url: str, connector: StubConnector, index: str, tmp: str) -> dict:
    port = free_port()
    db = os.path.join(tmp, f"feedback-{target}.sqlite3")   # one store shared by the workers, as deploy/serve.py
    procs, logs = [], []
    for w in range(args.workers):
        cmd = [sys.executable, "-m", "benchmarks.bench_load", "--serve", target, "--port", str(port), "--index", index,
               "--db", db]
        logs.append(Path(tmp) / f"{target}-{w}.log")
        with logs[-1].open("wb") as log:
            procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log))
    try:
        await _wait_ready(procs, logs)
        await _drive(port, service_url, connector, args.warmup, min(args.concurrency, args.warmup), args.timeout,
                     f"{target}-warm", target)
        cpu0, client0, calls0 = sum(_cpu_seconds(p.pid) for p in procs), _client_cpu_seconds(), connector.attempts
        latencies, errors, seconds = await _drive(port, service_url, connector, args.messages, args.concurrency,
                                                  args.timeout, target, target)
        cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu0
        client, calls = _client_cpu_seconds() - client0, connector.attempts - calls0
        answered = len(latencies)
        return {
            "target": target, "workers": args.workers, "concurrency": args.concurrency, "messages": args.messages,
            "answered": answered, "errors": errors, "seconds": round(seconds, 3),
            "msgs_per_s": round(answered / seconds, 1),
            "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
            "cpu_ms_per_msg": round(cpu * 1000 / max(1, answered), 3),
            "server_cpu_pct": round(100 * cpu / seconds),        # 100 = one core busy; workers summed
            "client_cpu_pct": round(100 * client / seconds),     # this process: simulated users + stub connector
            "calls_per_msg": round(calls / max(1, answered), 2),  # Bot Connector POSTs per message
            "peak_rss_mb": round(max(_peak_rss_mb(p.pid) for p in procs), 1),
        }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
            p.stdout.close()


def _build_index(tmp: str, sources: str | None) -> str:
    from indexer.build import DEFAULT_SOURCES, build

    result = build(Path(sources) if sources else DEFAULT_SOURCES, Path(tmp) / "index", Path(tmp) / "cache")
    if not result.ok:
        raise SystemExit(f"index build failed: {result.problems}")
    return str(Path(tmp) / "index")


def _print_table(rows: list[dict]) -> None:
    cols = ["target", "workers", "concurrency", "answered", "errors", "msgs_per_s", "p50_ms", "p99_ms",
            "cpu_ms_per_msg", "server_cpu_pct", "client_cpu_pct", "calls_per_msg", "peak_rss_mb"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    echo = next((r for r in rows if r["target"] == "echo"), None)
    if echo:
        print()
        for r in rows:
            if r["target"] != "echo":
                ratio = r["cpu_ms_per_msg"] / echo["cpu_ms_per_msg"]
                print(f"per-message CPU {r['target']} / echo = {ratio:.2f}x  "
                      f"({r['cpu_ms_per_msg']} ms vs {echo['cpu_ms_per_msg']} ms)")


async def main_async(args) -> list[dict]:
    connector = StubConnector(record=False)
    runner = web.AppRunner(connector.app(), access_log=None)
    await runner.setup()
    cport = free_port()
    await web.TCPSite(runner, "127.0.0.1", cport).start()
    service_url = f"http://127.0.0.1:{cport}/"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or await asyncio.to_thread(_build_index, tmp, args.sources)
        for target in args.targets.split(","):
            rows.append(await run_target(target.strip(), args, service_url, connector, index, tmp))
            print(json.dumps(rows[-1]), file=sys.stderr)
    await runner.cleanup()
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-n", "--messages", type=int, default=3000)
    p.add_argument("-c", "--concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--targets", default="echo,bot,bot-stock")
    p.add_argument("--index", help="an existing index folder (default: build knowledge/ into a temp dir)")
    p.add_argument("--sources", help="sources.toml to build the index from (default: knowledge/sources.toml)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON too")
    p.add_argument("--serve", choices=["echo", "bot", "bot-stock"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve == "echo":
        _serve_echo(args.port)
        return 0
    if args.serve:
        _serve_bot(args.port, args.index, args.db, stock=args.serve == "bot-stock")
        return 0
    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.messages} messages, {args.concurrency} concurrent users, {args.workers} worker(s)")
    rows = asyncio.run(main_async(args))
    _print_table(rows)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
