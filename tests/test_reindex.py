"""`make reindex` (deploy/reindex.py): a real git repository of the handbook, a real running bot.

The scenario of issue 4: a local git repository holds the 2023-01 handbook and is indexed; the bot
serves it; the repository is updated to 2025-07 and re-indexed while requests keep arriving (none may
fail, and /healthz must then show the new commit); a deliberately degraded index is refused by the
gate and the bot keeps the good one. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import SITE, require_shared, wait_for
from tests.support.connector import StubConnector
from tests.support.net import BackgroundServer, free_port

REPO = Path(__file__).resolve().parent.parent
REINDEX = REPO / "deploy" / "reindex.py"
FAQ = REPO / "knowledge" / "faq.md"

# Page-level questions whose answers are pages of the 2023-01 handbook (its URLs differ from 2025-07's),
# so the gate of the first step evaluates on knowledge that fits what is being indexed.
GOLD_2023 = [
    ("how do I retire a dataset", "/data-resources/data_retirement/", []),
    ("which tools can automate dataset updates", "/data-resources/automation/",
     ["/data-resources/automation_tool_comparison/"]),
    ("how should I format my data file before publishing", "/data-resources/data_preparation_and_formatting/",
     ["/data-publication-steps/2_prepare_data_for_publication/"]),
    ("what metadata fields do I fill in", "/data-resources/metadata_standards/",
     ["/data-publication-steps/3_create_metadata/"]),
    ("how do I write a data story", "/data-resources/data_stories/", []),
    ("how does DataSync work", "/data-resources/data_sync/", []),
    ("how do I aggregate data to protect privacy", "/data-resources/data_aggregation/", []),
    ("how do I measure open data use", "/data-resources/measuring_open_data_use/", []),
]


def _load_reindex():
    spec = importlib.util.spec_from_file_location("deploy_reindex", REINDEX)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid", GIT_TERMINAL_PROMPT="0")
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def publish(repo: Path, snapshot: Path, message: str) -> str:
    """Replace the repository's content with a handbook snapshot and commit; -> commit sha."""
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(snapshot, repo, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def sources_file(path: Path, repo: Path, include: list[str] | None = None) -> Path:
    extra = f"include = {json.dumps(include)}\n" if include else ""
    path.write_text(f'[[source]]\nname = "handbook"\ngit = "{repo}"\nref = "main"\nsite = "{SITE}"\n'
                    f'exclude = ["README.md"]\n{extra}\n'
                    f'[[source]]\nname = "faq"\npath = "{FAQ}"\nsite = "{SITE}"\n', encoding="utf-8")
    return path


def run_reindex(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REINDEX), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def handbook_repo(tmp_path):
    old = require_shared("handbook", "2023-01")
    repo = tmp_path / "open-data-handbook"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    sha = publish(repo, old, "handbook 2023-01")
    return repo, sha


@pytest.fixture
def gate_2023(tmp_path) -> Path:
    gold = tmp_path / "gold_2023.jsonl"
    gold.write_text("".join(json.dumps({"id": f"h{i}", "q": q, "url": url, "anchors": [],
                                        "also": [{"url": a, "anchors": []} for a in also]}) + "\n"
                            for i, (q, url, also) in enumerate(GOLD_2023)), encoding="utf-8")
    gate = tmp_path / "gate_2023.toml"
    gate.write_text(f'min_pages = 15\nmin_sections = 60\n\n[[questions]]\nfile = "{gold}"\n'
                    'min_top1_page = 0.6\nmin_recall_at_3 = 0.85\nmax_drop = 0.05\n', encoding="utf-8")
    return gate


def meta(index: Path) -> dict:
    return json.loads((index / "meta.json").read_text(encoding="utf-8"))


# --- without a bot -------------------------------------------------------------------------------

def test_first_index_from_git_then_refuse_a_degraded_one(tmp_path, handbook_repo, gate_2023):
    repo, sha = handbook_repo
    live = tmp_path / "var" / "index"
    done = run_reindex("--sources", str(sources_file(tmp_path / "s.toml", repo)), "--index", str(live),
                       "--gate", str(gate_2023))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gate passed" in done.stdout
    handbook = next(s for s in meta(live)["sources"] if s["name"] == "handbook")
    assert handbook["commit"] == sha
    built = meta(live)["built_at"]

    degraded = sources_file(tmp_path / "degraded.toml", repo, include=["index.md", "faq.md"])
    done = run_reindex("--sources", str(degraded), "--index", str(live), "--gate", str(gate_2023))
    assert done.returncode == 1, done.stdout
    assert "GATE FAILED" in done.stdout and "min_pages" in done.stdout and "recall@3" in done.stdout
    assert meta(live)["built_at"] == built, "the live index must be untouched"
    assert (live.parent / "index.rejected" / "meta.json").is_file()
    assert not (live.parent / "index.candidate").exists()


def test_missing_question_set_or_source_refuses(tmp_path, handbook_repo):
    repo, _ = handbook_repo
    gate = tmp_path / "gate.toml"
    gate.write_text('[[questions]]\nfile = "nowhere.jsonl"\nmin_recall_at_3 = 0.5\n', encoding="utf-8")
    live = tmp_path / "index"
    done = run_reindex("--sources", str(sources_file(tmp_path / "s.toml", repo)), "--index", str(live),
                       "--gate", str(gate))
    assert done.returncode == 1 and "question set unreadable" in done.stdout
    assert not live.exists()

    broken = tmp_path / "broken.toml"
    broken.write_text(sources_file(tmp_path / "ok.toml", repo).read_text().replace(str(repo), str(tmp_path / "gone")))
    gate.write_text("min_pages = 1\n", encoding="utf-8")
    done = run_reindex("--sources", str(broken), "--index", str(live), "--gate", str(gate))
    assert done.returncode == 1 and "source(s) not indexed: handbook" in done.stdout
    assert not live.exists()


def test_swap_is_an_exchange_and_keeps_the_previous_index(tmp_path):
    reindex = _load_reindex()
    live, candidate = tmp_path / "index", tmp_path / "index.candidate"
    for folder, text in ((live, "old"), (candidate, "new")):
        folder.mkdir()
        (folder / "meta.json").write_text(text)
    before = (live / "meta.json").stat().st_ino
    previous = reindex.swap_in(candidate, live)
    assert (live / "meta.json").read_text() == "new" and (live / "meta.json").stat().st_ino != before
    assert previous == tmp_path / "index.previous" and (previous / "meta.json").read_text() == "old"
    assert not candidate.exists()
    fresh = tmp_path / "fresh"
    (tmp_path / "c2").mkdir()
    assert reindex.swap_in(tmp_path / "c2", fresh) is None and fresh.is_dir()


# --- with the real bot running -------------------------------------------------------------------

def http(method: str, url: str, body: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def message(n: int, service_url: str, text: str) -> dict:
    return {"type": "message", "id": f"m{n}", "text": text, "channelId": "msteams", "serviceUrl": service_url,
            "from": {"id": "29:user", "name": "Test User"}, "recipient": {"id": "28:bot", "name": "handbook-bot"},
            "conversation": {"id": f"a:conv{n % 3}", "conversationType": "personal"}, "locale": "en-US"}


class Traffic:
    """Requests fired continuously at the bot (health and a real question), bounded in count and time."""

    def __init__(self, base: str, service_url: str, limit: int = 5000, seconds: float = 240):
        self.base, self.service_url, self.limit, self.seconds = base, service_url, limit, seconds
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.seconds
        n = 0
        while not self._stop.is_set() and n < self.limit and time.monotonic() < deadline:
            n += 1
            try:
                if n % 2:
                    status, body = http("GET", self.base + "/healthz")
                else:
                    status, body = http("POST", self.base + "/api/messages",
                                        message(n, self.service_url, "how do I retire a dataset"))
            except OSError as exc:
                self.failures.append(f"request {n}: {exc!r}")
                continue
            if status == 200:
                self.ok += 1
            else:
                self.failures.append(f"request {n}: HTTP {status} {body[:200]!r}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)


@pytest.fixture
def bot_module():
    try:
        import bot.app  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the bot's web app (bot/app.py) is not importable yet: {exc}")




def health(base: str) -> dict | None:
    try:
        status, body = http("GET", base + "/healthz", timeout=2)
    except OSError:
        return None
    return json.loads(body) if status == 200 else None


def test_reindex_swaps_in_a_running_bot_without_failed_requests(tmp_path, handbook_repo, gate_2023, bot_module):
    new = require_shared("handbook", "2025-07")
    dev = require_shared("eval", "dev.jsonl")
    repo, sha_2023 = handbook_repo
    live = tmp_path / "var" / "index"
    sources = sources_file(tmp_path / "s.toml", repo)
    first = run_reindex("--sources", str(sources), "--index", str(live), "--gate", str(gate_2023))
    assert first.returncode == 0, first.stdout + first.stderr

    stub = StubConnector()
    connector = BackgroundServer(stub.app()).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("Microsoft") and k != "DATABASE_URL"}
    env.update(HOST="127.0.0.1", INDEX_RELOAD_SECONDS="0.2", FEEDBACK_DB=str(tmp_path / "feedback.sqlite3"),
               PYTHONUNBUFFERED="1")
    log = open(tmp_path / "bot.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--index", str(live), "--port", str(port)],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: health(base), 60, "the bot's /healthz")
        assert sha_2023 in health(base)["sources"]

        sha_2025 = publish(repo, new, "handbook 2025-07: pages moved into collections")
        with Traffic(base, connector.url) as traffic:
            time.sleep(1.0)
            # the default gate (deploy/gate.toml: dev.jsonl floors), with dev.jsonl wherever ../shared is
            second = run_reindex("--sources", str(sources), "--index", str(live), "--questions", str(dev))
            assert second.returncode == 0, second.stdout + second.stderr
            assert "gate passed" in second.stdout
            wait_for(lambda: sha_2025 in (health(base) or {}).get("sources", []), 30, "the bot to load the new index")
            answered_before_swap = len(stub.sent)
            wait_for(lambda: len(stub.sent) > answered_before_swap + 3, 30, "answers from the new index")
            time.sleep(0.5)
        print(f"requests during the swap: {traffic.ok} ok, {len(traffic.failures)} failed; "
              f"{len(stub.sent)} replies")
        assert traffic.failures == [], traffic.failures[:5]
        assert traffic.ok >= 20
        replies = json.dumps([s.activity for s in stub.sent[answered_before_swap + 1:]])
        assert "open_data_resources/data_retirement" in replies, "answers must come from the 2025-07 index"
        assert "data-resources/data_retirement" in json.dumps([s.activity for s in stub.sent[:3]]), \
            "and before it, from 2023-01"
        assert server.poll() is None, "the bot must not have restarted"

        degraded = sources_file(tmp_path / "degraded.toml", repo, include=["index.md", "getting_started.md"])
        built = meta(live)["built_at"]
        third = run_reindex("--sources", str(degraded), "--index", str(live), "--questions", str(dev))
        assert third.returncode == 1 and "GATE FAILED" in third.stdout
        assert "below the live index" in third.stdout
        assert meta(live)["built_at"] == built
        time.sleep(1.0)
        status = health(base)
        assert status and sha_2025 in status["sources"] and status["built_at"] == built
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        connector.stop()
        log.close()
