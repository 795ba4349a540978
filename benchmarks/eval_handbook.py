"""Quality in one command (``make eval``): cross-validated retrieval and tier metrics on the train sets,
the same on dev, and the TF-IDF and BM25 baselines on the same questions.

Knowledge base: the 2025-07 handbook snapshot + the bundled FAQ (what ``../shared/eval`` labels refer to).

1. Cross-validation on train (+ train_oos) and train_posts (+ train_posts_oos), fixed folds
   (``benchmarks.quality``): per outer fold the index, example questions and reranker are fitted on the
   other folds; the hand-off model and its thresholds are fitted on the other folds too, from their own
   inner cross-validation (``benchmarks.quality.handoff``). Every held-out question then goes through
   ``bot.decision.decide``, the path of the Teams reply.
   Retrieval: top-1 exact, recall@3, MRR@10 (``../shared/eval/score.py``'s rules).
   Tiers (first three links shown): among in-scope questions, confident and right (kind answer, top link
   right), confident and wrong (kind answer, top link wrong), right section shown (a right link among the
   first three shown, in any tier that shows links); among out-of-scope ones, answered confidently.
2. Dev (44 + 10, never fitted on): the index fitted on all train questions as ``make train`` ships it,
   the shipped hand-off model (``bot/decision/params.json``).

    python -m benchmarks.eval_handbook [--k 5] [--fast] [--json]

``--fast`` skips the inner cross-validation (the hand-off model of an outer fold is fitted on the other
folds' held-out rows: slightly optimistic). Without ../shared it prints a notice and exits 0 (1 under CI=true).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.quality import cross_validate, load_questions, retrieval_metrics, shared_dir
from benchmarks.quality.cv import DEFAULT_K, DEFAULT_SEED, kb_sections
from benchmarks.quality.handoff import family, format_tiers, nested_cv, tier_metrics
from benchmarks.quality.metrics import format_rows
from tests.support.baselines import baselines

TARGETS = {"top1_exact": ">= 0.66", "recall@3": ">= 0.85", "confident_right": ">= 0.55",
           "confident_wrong": "<= 0.08", "right_shown": ">= 0.85", "oos_answered": "<= 0.15"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--k", type=int, default=DEFAULT_K)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--fast", action="store_true", help="no inner CV for the hand-off model (slightly optimistic)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    shared = shared_dir()
    if not (shared / "eval" / "train.jsonl").exists() or not (shared / "handbook" / "2025-07").is_dir():
        print(f"{shared}/eval or handbook/2025-07 is absent: nothing to evaluate", file=sys.stderr)
        return 1 if os.environ.get("CI", "").lower() == "true" else 0

    from bot.decision.decide import decide

    start = time.perf_counter()
    questions = load_questions(shared)
    print(f"{args.k}-fold cross-validation over {len(questions)} train questions "
          f"({'fast' if args.fast else 'nested'} hand-off fit):", flush=True)
    outer = cross_validate(shared, args.k, args.seed, questions=questions)
    ranked = {r.question.id: r.urls for fold in outer for r in fold.results}
    decisions, _, models = nested_cv(shared, args.k, args.seed, nested=not args.fast, outer=outer,
                                     log=lambda s: print(s, flush=True))

    sets = {"train": [q for q in questions if family(q) == "questions"],
            "train_posts": [q for q in questions if family(q) == "posts"]}
    sets["train+posts"] = sets["train"] + sets["train_posts"]
    base = baselines(kb_sections(shared)[0])
    rows, tiers, summary = [], [], {"retrieval": {}, "tiers": {}}
    for name, qs in sets.items():
        m = retrieval_metrics(ranked, qs, shared)
        rows.append((name, "handbook-bot, CV", m))
        summary["retrieval"][name] = {k: v for k, v in m.items() if k != "per_question"}
        for bname, rank in base.items():
            bm = retrieval_metrics({q.id: rank(q.q, 10) for q in qs if q.in_scope}, qs, shared)
            rows.append((name, bname, bm))
            summary["retrieval"][f"{name} {bname}"] = {k: v for k, v in bm.items() if k != "per_question"}
        t = tier_metrics(decisions, qs, shared)
        tiers.append((f"{name} (CV)", t))
        summary["tiers"][name] = t

    dev = load_questions(shared, ("dev", "dev_oos"))
    if dev:
        from benchmarks.quality.training import fit_index

        sections, synonyms = kb_sections(shared)
        index = fit_index(sections, synonyms, questions, shared, seed=args.seed)
        dev_ranked = {q.id: [h.section.url for h in index.search(q.q, 10).hits] for q in dev if q.in_scope}
        m = retrieval_metrics(dev_ranked, dev, shared)
        rows.append(("dev", "handbook-bot, fitted on all train", m))
        summary["retrieval"]["dev"] = {k: v for k, v in m.items() if k != "per_question"}
        for bname, rank in base.items():
            rows.append(("dev", bname, retrieval_metrics({q.id: rank(q.q, 10) for q in dev if q.in_scope}, dev,
                                                         shared)))
        t = tier_metrics({q.id: decide(q.q, index) for q in dev}, dev, shared)
        tiers.append(("dev (shipped)", t))
        summary["tiers"]["dev"] = t

    print("\nRetrieval (in-scope questions):")
    print(format_rows(rows))
    print("\nWhole decision, tiers (first three links shown):")
    print(format_tiers(tiers))
    print("\nThresholds per outer fold: " + ", ".join(f"{m.answer_at:.2f}/{m.handoff_below:.2f}" for m in models)
          + " (answer at / hand-off below)")
    print("Targets (CV on train + train_posts): " + ", ".join(f"{k} {v}" for k, v in TARGETS.items()))
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
