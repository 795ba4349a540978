"""Load benchmark: the bot vs a bare botbuilder echo bot, same harness, same run (``make bench-load``).

Everything runs on loopback. This process runs a stub Bot Connector (an aiohttp server that records
what the bot POSTs to ``/v3/conversations/{id}/activities/{replyToId}``) and K simulated Teams users,
each in its own personal chat, sending messages in a closed loop (send, wait for the reply, send the
next) until N messages were answered. The bot under test runs in its own process(es) (``--workers W``
shares one port with SO_REUSEPORT), so its CPU time can be read from ``/proc/<pid>/stat``.

Reported per target: messages/s, latency p50/p99 from the POST to /api/messages until the reply
message reached the connector, errors (non-2xx from the bot, or no reply within the timeout),
CPU ms per message (process user+system time / messages: noise from the load generator matters
less than with wall time) and peak RSS (VmHWM). The last table compares per-message CPU with the
echo bot's.

Targets:
- ``echo``       the Bot Framework echo sample: CloudAdapter + ConfigurationBotFrameworkAuthentication
                 + aiohttp, nothing else (written here, in ``_serve_echo``);
- ``bot``        handbook-bot's ``create_app`` as served by ``python -m bot serve`` (search, decision,
                 feedback store, typing indicator + Adaptive Card: two connector calls per message);
- ``bot-stock``  the same bot with the SDK's own per-turn client construction (bot/fast_connector.py
                 switched off), to show what the cached clients buy.

    python benchmarks/bench_load.py [-n 3000] [-c 32] [--workers 1] [--targets echo,bot,bot-stock]
    python benchmarks/bench_load.py -c 200 -n 4000            # zero errors at 200 conversations
    python benchmarks/bench_load.py --workers 2 --targets bot  # scaling on the machine's cores
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

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
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, print=None, access_log=None)


def _serve_bot(port: int, index: str, db: str, stock: bool) -> None:
    import logging

    from bot.app import ADAPTER, create_app
    from bot.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(host="127.0.0.1", port=port, index_dir=Path(index), feedback_db=Path(db), reload_seconds=0)
    app = create_app(settings, build_if_missing=False, watch=False)
    if stock:   # undo bot/fast_connector.py: the SDK builds its clients on every turn again
        adapter = app[ADAPTER]
        inner = getattr(adapter.bot_framework_authentication, "inner", None)
        if inner is not None:
            adapter.bot_framework_authentication = inner
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, print=None, access_log=None)


# ----------------------------------------------------------------------------- stub connector
@dataclass
class Connector:
    waiting: dict = field(default_factory=dict)    # reply_to_id -> Future set when the reply message arrives
    received: int = 0

    def app(self) -> web.Application:
        ids = itertools.count(1)

        async def activities(request: web.Request) -> web.Response:
            body = await request.json()
            self.received += 1
            if body.get("type") == "message":
                future = self.waiting.get(request.match_info.get("reply_to_id") or body.get("replyToId"))
                if future is not None and not future.done():
                    future.set_result(time.perf_counter())
            return web.json_response({"id": f"r{next(ids)}"})

        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", activities)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{reply_to_id}", activities)
        return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


async def _drive(port: int, service_url: str, connector: Connector, n: int, concurrency: int,
                 timeout: float, tag: str) -> tuple[list[float], int, float]:
    """Closed loop: ``concurrency`` users until ``n`` messages were sent. Returns latencies, errors, seconds."""
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
                    done = await asyncio.wait_for(future, timeout)
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


async def _wait_port(port: int, procs: list[subprocess.Popen], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a server under test exited at start-up")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {seconds}s")


async def run_target(target: str, args, service_url: str, connector: Connector, index: str, tmp: str) -> dict:
    port = _free_port()
    procs = []
    for w in range(args.workers):
        cmd = [sys.executable, __file__, "--serve", target, "--port", str(port), "--index", index,
               "--db", os.path.join(tmp, f"feedback-{target}-{w}.sqlite3")]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        await _wait_port(port, procs)
        if target != "echo":   # let every worker load its index (one POST hits one worker at a time)
            await asyncio.sleep(1.0)
        await _drive(port, service_url, connector, args.warmup, min(args.concurrency, args.warmup), args.timeout,
                     f"{target}-warm")
        cpu0 = sum(_cpu_seconds(p.pid) for p in procs)
        latencies, errors, seconds = await _drive(port, service_url, connector, args.messages, args.concurrency,
                                                  args.timeout, target)
        cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu0
        answered = len(latencies)
        return {
            "target": target, "workers": args.workers, "concurrency": args.concurrency, "messages": args.messages,
            "answered": answered, "errors": errors, "seconds": round(seconds, 3),
            "msgs_per_s": round(answered / seconds, 1),
            "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
            "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
            "cpu_ms_per_msg": round(cpu * 1000 / max(1, answered), 3),
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


def _build_index(tmp: str, sources: str | None) -> str:
    from indexer.build import DEFAULT_SOURCES, build

    result = build(Path(sources) if sources else DEFAULT_SOURCES, Path(tmp) / "index", Path(tmp) / "cache")
    if not result.ok:
        raise SystemExit(f"index build failed: {result.problems}")
    return str(Path(tmp) / "index")


def _print_table(rows: list[dict]) -> None:
    cols = ["target", "workers", "concurrency", "answered", "errors", "msgs_per_s", "p50_ms", "p99_ms",
            "cpu_ms_per_msg", "peak_rss_mb"]
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
    connector = Connector()
    runner = web.AppRunner(connector.app(), access_log=None)
    await runner.setup()
    cport = _free_port()
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
