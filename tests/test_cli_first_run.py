"""What a newcomer meets on the command line: several questions at once, `| head`, help that says which
index answers, and a test run that says what it skipped and how to run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from bot.cli import questions_from_args
from conftest import REPO


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
