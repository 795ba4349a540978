"""The container, without Docker (no engine on the development machines): the Dockerfile's own build step
and start command, run here on loopback, with several workers on one port."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import wait_for
from tests.support.net import free_port

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_shape():
    ins = instructions()
    base = [rest for word, rest in ins if word == "FROM"]
    assert len(base) == 1 and re.match(r"python:3\.\d+-slim$", base[0])
    users = [rest for word, rest in ins if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [w for w, _ in ins].index("USER") > max(i for i, (w, r) in enumerate(ins) if w == "RUN")
    (health,) = [rest for word, rest in ins if word == "HEALTHCHECK"]
    assert "/healthz" in health
    runs = " ".join(rest for word, rest in ins if word == "RUN")
    assert "python -m indexer build" in runs, "the index is built at image build"
    (cmd,) = [json.loads(rest) for word, rest in ins if word == "CMD"]
    assert cmd == ["python", "deploy/serve.py"]
    env = " ".join(rest for word, rest in ins if word == "ENV")
    assert "WEB_WORKERS=" in env and "INDEX_DIR=/app/var/index" in env
    baked = " ".join(rest for word, rest in ins if word in ("ENV", "ARG"))
    assert "USER_HASH_SALT" not in baked, "a salt in a public image is public: it is passed at run time"
    copied = [rest.split()[0] for word, rest in ins if word == "COPY"]
    for needed in ("indexer", "bot", "knowledge", "deploy"):
        assert needed in copied
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", "deploy/teams/node_modules"):
        assert entry in ignored


def healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return json.loads(resp.read()) if resp.status == 200 else None
    except OSError:
        return None


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs Linux /proc to see the worker processes")
    return [int(p) for p in path.read_text().split()]


def workers(pid: int) -> list[int]:
    """Worker processes: children running serve.py's worker (not multiprocessing's resource tracker)."""
    out = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in cmdline:
            out.append(child)
    return out




def test_container_start_command_serves_with_several_workers(tmp_path):
    try:
        import bot.app  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the bot's web app (bot/app.py) is not importable yet: {exc}")
    index = tmp_path / "var" / "index"
    # the Dockerfile's build step, as it is written there
    build = subprocess.run([sys.executable, "-m", "indexer", "build", "--sources", "knowledge/sources.toml",
                            "--out", str(index)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("Microsoft") and k != "DATABASE_URL"}
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_WORKERS="2", INDEX_DIR=str(index),
               FEEDBACK_DB=str(tmp_path / "var" / "feedback.sqlite3"))
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "deploy/serve.py"], cwd=REPO, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(workers(server.pid)) == 2, 60, "two workers")
        status = wait_for(lambda: healthz(port), 60, "/healthz")
        assert status["status"] == "ok" and status["sections"] > 0
        first = workers(server.pid)

        # every worker listens on the same port
        for pid in first:
            wait_for(lambda pid=pid: _listens(pid, port), 30, f"worker {pid} listening on {port}")

        # a worker that dies is replaced, and the port keeps answering meanwhile (a connection already
        # queued on the killed worker's socket is lost with it: that is SO_REUSEPORT's nature)
        os.kill(first[0], signal.SIGKILL)
        time.sleep(0.5)
        ok = sum(1 for _ in range(20) if healthz(port))
        assert ok == 20
        wait_for(lambda: len(workers(server.pid)) == 2 and first[0] not in workers(server.pid), 60,
                 "a replacement worker")
        wait_for(lambda: healthz(port), 30, "/healthz after the restart")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            assert server.wait(30) == 0
        finally:
            if server.poll() is None:
                server.kill()
            log.close()


def _listens(pid: int, port: int) -> bool:
    """True when process pid holds a socket listening on 127.0.0.1:port (from /proc/net/tcp + its fds)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            inodes.add(inode)
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False
