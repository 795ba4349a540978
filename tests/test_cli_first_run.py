"""What a newcomer meets on the command line: several questions at once, `| head`, help that says which
index answers, a test run that says what it skipped and how to run it, and the Quick start's command that
indexes and serves the full handbook from its git repository (a local stand-in here)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request

from bot.cli import questions_from_args
from conftest import REPO, SITE, require_shared, skip_or_fail, wait_for
from tests.support.net import free_port

try:
    import tomllib
except ModuleNotFoundError:   # Python 3.10
    import tomli as tomllib

README = REPO / "README.md"
PRODUCTION = REPO / "deploy" / "sources.production.toml"


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=300, **kwargs)


def test_quoted_arguments_are_separate_questions_and_words_are_one():
    assert questions_from_args(["how do I retire a dataset", "what is open data"]) == \
           ["how do I retire a dataset", "what is open data"]
    assert questions_from_args(["how", "do", "I", "retire", "a", "dataset"]) == ["how do I retire a dataset"]
    assert questions_from_args(["how do I retire a dataset"]) == ["how do I retire a dataset"]
    assert questions_from_args(["  ", ""]) == []


def test_ask_answers_each_question(bundled_index):
    index_dir, _ = bundled_index
    done = _run("-m", "bot", "ask", "--index", str(index_dir), "--json", "what is open data", "who is DAPA")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["q"] for line in lines] == ["what is open data", "who is DAPA"]
    text = _run("-m", "bot", "ask", "--index", str(index_dir), "what is open data", "who is DAPA").stdout
    assert text.count("Q: ") == 2


def _first_line_then_close(args: list[str]) -> tuple[str, str, int]:
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    first = proc.stdout.readline()
    proc.stdout.close()                       # what `| head -1` does
    stderr = proc.stderr.read()
    proc.stderr.close()
    return first, stderr, proc.wait(timeout=120)


def test_output_into_a_closed_pipe_ends_without_a_traceback(bundled_index, tmp_path):
    index_dir, _ = bundled_index
    questions = [f"what is open data number {n}" for n in range(150)]   # far more than a pipe buffer
    first, stderr, _ = _first_line_then_close(["-m", "bot", "ask", "--index", str(index_dir), "--json", *questions])
    assert json.loads(first)["q"] == questions[0]
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr[-2000:]
    batch = tmp_path / "q.jsonl"
    batch.write_text("".join(json.dumps({"id": n, "q": q}) + "\n" for n, q in enumerate(questions)))
    first, stderr, _ = _first_line_then_close(["-m", "indexer", "search", "--index", str(index_dir),
                                               "--batch", str(batch)])
    assert json.loads(first)["id"] == 0
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr[-2000:]


def test_ask_help_says_what_the_default_index_holds():
    help_text = " ".join(_run("-m", "bot", "ask", "--help").stdout.split())
    assert "introduction and FAQ only" in help_text and "make run-handbook" in help_text


def test_a_test_run_ends_with_what_was_skipped_and_how_to_enable_it(tmp_path):
    if shutil.which("bicep") or shutil.which("az"):
        return   # nothing skips in this selection where a Bicep compiler is installed
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_deploy_infra.py", "-k", "compiles", env=env)
    assert done.returncode == 0, done.stdout[-2000:]
    out = done.stdout
    assert "1 skipped, and how to run them" in out
    assert "no Bicep compiler" in out and "enable: install the Bicep CLI" in out
    assert out.index("how to run them") < out.rindex("skipped")


def _git(repo, *args: str) -> str:
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c",
                           "commit.gpgsign=false", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError):   # not listening yet, or 503 while the index loads
        return None


def test_make_run_handbook_indexes_the_published_repository_and_serves_it(tmp_path):
    """The README's one command for the full handbook, unchanged (`make run-handbook`, with the production
    sources file): git's url.insteadOf points the published repository's URL at a local repository holding
    the 2025-07 handbook, and https is refused outright, so nothing leaves the machine."""
    snapshot = require_shared("handbook", "2025-07")
    if shutil.which("make") is None or shutil.which("git") is None:
        skip_or_fail("make and git are needed")
    quick_start = README.read_text(encoding="utf-8").split("\n## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run-handbook" in quick_start

    published = [s["git"] for s in tomllib.loads(PRODUCTION.read_text(encoding="utf-8"))["source"] if "git" in s]
    assert published == ["https://github.com/CTOpenData/open-data-handbook.git"]
    repo = tmp_path / "open-data-handbook"
    shutil.copytree(snapshot, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "handbook 2025-07")
    sha = _git(repo, "rev-parse", "HEAD")
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "{repo.as_uri()}"]\n\tinsteadOf = {published[0]}\n'
                         '[protocol "https"]\n\tallow = never\n', encoding="utf-8")

    index, cache, port = tmp_path / "handbook-index", tmp_path / "sources", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "Microsoft", "HOST"))}
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", PORT=str(port),
               FEEDBACK_DB=str(tmp_path / "feedback.sqlite3"), INDEX_RELOAD_SECONDS="3600")
    # -o: the test's own interpreter stands in for .venv, which is neither built nor checked here.
    log = tmp_path / "make.log"
    with log.open("w") as out:
        make = subprocess.Popen(["make", "-s", "-o", ".venv/.installed", "run-handbook", f"PY={sys.executable}",
                                 f"HANDBOOK_INDEX={index}", f"HANDBOOK_CACHE={cache}"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        health = wait_for(lambda: {"make exited": make.returncode} if make.poll() is not None else _health(url),
                          240, "make run-handbook to serve", interval=0.5)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=60)
    output = log.read_text(encoding="utf-8")
    assert health.get("status") == "ok", (health, output[-3000:])
    assert f"handbook @ {sha[:12]}" in output, output

    meta = json.loads((index / "meta.json").read_text(encoding="utf-8"))
    assert [(s["name"], s.get("commit")) for s in meta["sources"]] == [("handbook", sha), ("faq", None)]
    assert health["sections"] == meta["sections"] and health["pages"] == meta["pages"] > 20
    assert (cache / "handbook" / ".git").is_dir()
    done = _run("-m", "bot", "ask", "--index", str(index), "--json", "how do I retire a dataset", env=env)
    answers = [a["url"] for a in json.loads(done.stdout)["answers"]]
    assert any(a.startswith(SITE + "/open_data_resources/data_retirement#") for a in answers), answers
