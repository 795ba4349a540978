"""Fit the escalation model of bot/decision/decide.py on the dev sets; --write stores it in bot/decision/params.json.

    python benchmarks/calibrate_decision.py [--write] [--shared ../shared]

Builds the eval knowledge base (2025-07 handbook + the FAQ, as tests/conftest.py does), gathers the
evidence of every question in ../shared/eval/dev.jsonl (in scope) and dev_oos.jsonl (out of scope),
fits a class-balanced logistic regression on the evidence features, and picks the threshold that
escalates the most out-of-scope questions while wrongly escalating as few in-scope ones as possible
(an in-scope question escalated costs IN_SCOPE_COST out-of-scope ones answered), in the middle of
the widest gap. Prints the resulting quality (scored with ../shared/eval/score.py). Messages the
intent rules handle (small talk, hand-off, action requests) are left out of the fit.

Needs ../shared: exits 0 with a notice when it is absent (1 under CI=true).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_kb  # noqa: E402

from bot.decision.decide import PARAMS_FILE, DecisionParams  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
IN_SCOPE_COST = 3.0      # wrongly escalating an in-scope question is this many times worse
CLOSEST_PERCENTILE = 25  # "reasonable" closest sections score at least this percentile of in-scope top scores


def build_eval_index(shared: Path, workdir: Path):
    return eval_kb.build_eval_index(shared, workdir).index


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gather_rows(index, questions: list[dict], in_scope: bool) -> list[tuple[dict, dict]]:
    """-> [(features, question)] for the questions that go through the search path."""
    from bot.decision.decide import clean_question
    from bot.decision.evidence import gather
    from bot.decision.intents import detect_intent

    rows = []
    for q in questions:
        text, _ = clean_question(q["q"])
        if detect_intent(text) is not None:
            continue
        result = index.search(text, 8)
        top = result.hits[0].score if result.hits else 0.0
        rows.append((gather(result).features(), {**q, "in_scope": in_scope, "top": top}))
    return rows


def pick_threshold(conf_in: np.ndarray, conf_out: np.ndarray) -> float:
    values = np.unique(np.concatenate([conf_in, conf_out]))
    best, best_key = float(values[0]) - 1e-3, None
    for lo, hi in zip(values[:-1], values[1:]):
        t = (lo + hi) / 2
        objective = (conf_out < t).mean() - IN_SCOPE_COST * (conf_in < t).mean()
        key = (round(objective, 9), hi - lo)
        if best_key is None or key > best_key:
            best, best_key = float(t), key
    return best


def fit(rows) -> DecisionParams:
    names = list(rows[0][0])
    x = np.array([[f[n] for n in names] for f, _ in rows])
    y = np.array([1 if q["in_scope"] else 0 for _, q in rows])
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    conf = model.decision_function(x)
    threshold = pick_threshold(conf[y == 1], conf[y == 0])
    tops = np.array([q["top"] for _, q in rows if q["in_scope"]])
    return DecisionParams(weights={n: round(float(w), 3) for n, w in zip(names, model.coef_[0])},
                          bias=round(float(model.intercept_[0]), 3), escalate_below=round(threshold, 3),
                          closest_min_score=round(float(np.percentile(tops, CLOSEST_PERCENTILE)), 3))


def write_params(params: DecisionParams) -> None:
    data = {"fitted_by": "benchmarks/calibrate_decision.py --write (do not edit by hand)", **params.to_json()}
    PARAMS_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def score(index, eval_dir: Path, params: DecisionParams) -> dict:
    """Run the real decision path with ``params`` over dev + dev_oos and score it with score.py."""
    from bot.cli import decision_record
    from bot.decision.decide import decide

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for name in ("dev.jsonl", "dev_oos.jsonl"):
            for q in load_jsonl(eval_dir / name):
                rec = decision_record(decide(q["q"], index, params=params), q["id"])
                f.write(json.dumps({"id": rec["id"], "urls": [a["url"] for a in rec["answers"]],
                                    "escalated": rec["escalate"]}) + "\n")
    out = subprocess.run([sys.executable, str(eval_dir / "score.py"), "--pred", f.name, "--gold",
                          str(eval_dir / "dev.jsonl"), "--oos", str(eval_dir / "dev_oos.jsonl"), "--json"],
                         capture_output=True, text=True, check=True)
    os.unlink(f.name)
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store the fitted values in bot/decision/params.json")
    ap.add_argument("--shared", default=os.environ.get("HANDBOOK_SHARED", str(REPO.parent / "shared")))
    args = ap.parse_args()
    shared = Path(args.shared)
    eval_dir = shared / "eval"
    if not (eval_dir / "dev.jsonl").exists():
        print(f"{eval_dir} is absent: nothing to calibrate on", file=sys.stderr)
        return 1 if os.environ.get("CI", "").lower() == "true" else 0
    with tempfile.TemporaryDirectory() as tmp:
        index = build_eval_index(shared, Path(tmp))
        rows = gather_rows(index, load_jsonl(eval_dir / "dev.jsonl"), True)
        rows += gather_rows(index, load_jsonl(eval_dir / "dev_oos.jsonl"), False)
        params = fit(rows)
        print("fitted:", json.dumps(params.to_json()))
        if args.write:
            write_params(params)
            print(f"written to {PARAMS_FILE.relative_to(REPO)}")
        metrics = score(index, eval_dir, params)
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
