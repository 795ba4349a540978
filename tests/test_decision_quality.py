"""Decision quality floors on the dev sets (issue 3 "Done when"), through the same path as `bot ask`.

Scored with ../shared/eval/score.py: answered correctly >= 0.80 of in-scope questions, out-of-scope
escalated >= 0.85, in-scope wrongly escalated <= 0.05.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.cli import decision_record
from bot.decision.decide import decide
from conftest import require_shared

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def metrics(handbook_index, tmp_path_factory):
    eval_dir = require_shared("eval")
    preds = tmp_path_factory.mktemp("pred") / "preds.jsonl"
    with open(preds, "w", encoding="utf-8") as f:
        for name in ("dev.jsonl", "dev_oos.jsonl"):
            for line in (eval_dir / name).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    q = json.loads(line)
                    rec = decision_record(decide(q["q"], handbook_index), q["id"])
                    f.write(json.dumps({"id": rec["id"], "urls": [a["url"] for a in rec["answers"]],
                                        "escalated": rec["escalate"]}) + "\n")
    out = subprocess.run([sys.executable, str(eval_dir / "score.py"), "--pred", str(preds), "--gold",
                          str(eval_dir / "dev.jsonl"), "--oos", str(eval_dir / "dev_oos.jsonl"), "--json"],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def test_out_of_scope_escalated(metrics):
    assert metrics["oos_escalated"] / metrics["n_oos"] >= 0.85, metrics


def test_in_scope_rarely_escalated(metrics):
    assert metrics["in_scope_escalated"] / metrics["n_in_scope"] <= 0.05, metrics


def test_answered_correctly(metrics):
    assert metrics["answered_correctly"] >= 0.80, metrics
