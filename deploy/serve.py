"""Serve the bot with several aiohttp worker processes on one port (SO_REUSEPORT): the container's command.

    WEB_WORKERS=2 PORT=3978 INDEX_DIR=var/index python deploy/serve.py

Settings are the bot's own (bot/settings.py, from the environment). The index is loaded (or built from
knowledge/ when missing) once, before the workers start, so they do not race to build it. Each worker
is ``bot.app.create_app(settings)`` served by ``aiohttp.web.run_app(..., reuse_port=True)``: the kernel
spreads connections across them, each watches the index folder and reloads a new index by itself, and
all share the feedback store (SQLite in WAL mode, or PostgreSQL with DATABASE_URL). A worker that dies
is started again; SIGTERM/SIGINT stop them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time

log = logging.getLogger("deploy.serve")
RESTART_PAUSE_S = 1.0


def _worker(number: int) -> None:
    from aiohttp import web

    from bot.app import create_app, server_options
    from bot.settings import Settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)s [worker {number}] %(name)s: %(message)s")
    settings = Settings.from_env()
    web.run_app(create_app(settings), host=settings.host, port=settings.port, reuse_port=True, print=None,
                **server_options(settings))


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [main] %(name)s: %(message)s")
    from bot.index_holder import load_for_serving
    from bot.settings import Settings
    from indexer.errors import IndexLoadError

    settings = Settings.from_env()
    problems = settings.serving_problems()
    for problem in problems:
        log.error("%s", problem)
    if problems:
        return 2
    workers = max(1, int(os.environ.get("WEB_WORKERS") or 2))
    try:   # build it once here when there is none, so the workers do not race to
        load_for_serving(settings.index_dir)
    except IndexLoadError as exc:   # the workers report it on /healthz (503 with the reason) and keep watching
        log.error("no index can be served yet: %s", exc)
    if settings.local_mode:
        log.warning("local mode: MicrosoftAppId is empty, requests are NOT authenticated")
    log.info("starting %d workers on http://%s:%d (index %s)", workers, settings.host, settings.port,
             settings.index_dir)

    ctx = multiprocessing.get_context("spawn")
    procs: dict[int, multiprocessing.Process] = {}
    stopping = False

    def start(number: int) -> None:
        proc = ctx.Process(target=_worker, args=(number,), name=f"worker-{number}")
        proc.start()
        procs[number] = proc

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs.values():
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGINT)   # aiohttp shuts down gracefully on SIGINT

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(workers):
        start(number)
    while not stopping:
        time.sleep(0.5)
        for number, proc in list(procs.items()):
            if not proc.is_alive() and not stopping:
                log.error("worker %d exited with %s; starting it again", number, proc.exitcode)
                time.sleep(RESTART_PAUSE_S)
                start(number)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        proc.join(max(0.1, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
