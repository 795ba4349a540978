"""``python -m benchmarks.quality.train`` (``make train``): refit the reranker's weights on every train
question (in-scope ones of train.jsonl and train_posts.jsonl) and write them to ``indexer/rerank.json``.

The features are computed as the shipped index computes them: the eval knowledge base (2025-07 handbook
+ FAQ) with the repository's own example questions (``knowledge/examples.toml``, ``SHIPPED_EXAMPLES``); no
question text is written, only one weight per generic feature. Needs ../shared (exits 0 with a notice when absent, 1
under CI=true). ``--check`` refits and fails when the stored weights differ (stale file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from benchmarks.quality.cv import DEFAULT_SEED, kb_sections
from benchmarks.quality.data import load_questions, shared_dir
from benchmarks.quality.training import SHIPPED_EXAMPLES, fit_index


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="where to write the weights (default indexer/rerank.json)")
    p.add_argument("--check", action="store_true", help="do not write; exit 1 if the stored weights are stale")
    args = p.parse_args(argv)
    shared = shared_dir()
    if not (shared / "eval" / "train.jsonl").exists() or not (shared / "handbook" / "2025-07").is_dir():
        print(f"{shared}/eval or handbook/2025-07 is absent: nothing to train on", file=sys.stderr)
        return 1 if os.environ.get("CI", "").lower() == "true" else 0

    from indexer.rerank import MODEL_PATH, load_model, save_model

    questions = load_questions(shared)
    sections, synonyms = kb_sections(shared)
    _, model = fit_index(sections, synonyms, questions, shared, examples=SHIPPED_EXAMPLES, rerank=True,
                         seed=DEFAULT_SEED, return_model=True)
    out = args.out or MODEL_PATH
    if args.check:
        stored = load_model(out)
        same = stored is not None and np.allclose(stored["coef"], model["coef"], atol=1e-3)
        print("rerank weights are " + ("up to date" if same else f"stale: run make train ({out})"))
        return 0 if same else 1
    save_model(model, out)
    print(f"wrote {out}: {len(model['coef'])} feature weights fitted on {model['fitted']['questions']} questions")
    print(json.dumps(dict(zip(model["features"], np.round(model["coef"], 3).tolist())), indent=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
