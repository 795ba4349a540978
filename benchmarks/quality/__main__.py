"""``python -m benchmarks.quality``: cross-validated retrieval on train and train_posts, with the
TF-IDF and BM25 baselines on the same questions and a dev check. Needs ../shared (exits 0 with a notice
when absent, 1 under CI=true)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.quality.cv import DEFAULT_K, DEFAULT_SEED, EXAMPLE_MODES, cross_validate, held_out, kb_sections
from benchmarks.quality.data import IN_SCOPE_SETS, load_questions, shared_dir
from benchmarks.quality.metrics import format_rows, retrieval_metrics
from benchmarks.quality.training import SHIPPED_EXAMPLES


def baselines(sections) -> dict:
    from tests.support.baselines import bm25_baseline, tfidf_baseline

    out = {"TF-IDF baseline": tfidf_baseline(sections)}
    bm25 = bm25_baseline(sections)
    if bm25 is not None:
        out["BM25 baseline (bm25s)"] = bm25
    return out


def _params(overrides: list[str]):
    from dataclasses import fields

    from indexer.ranker import RankerParams

    if not overrides:
        return None
    types = {f.name: f.type for f in fields(RankerParams)}
    values = {}
    for item in overrides:
        name, _, value = item.partition("=")
        kind = {"int": int, "float": float, "bool": lambda v: v.lower() in ("1", "true", "yes")}[str(types[name])]
        values[name] = kind(value)
    return RankerParams(**values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--k", type=int, default=DEFAULT_K)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--examples", choices=EXAMPLE_MODES, default=SHIPPED_EXAMPLES)
    p.add_argument("--no-rerank", action="store_true")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--misses", action="store_true", help="list the held-out questions whose top-1 is wrong")
    p.add_argument("--json", action="store_true")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a RankerParams field (ablations), e.g. --param ask_boost=0")
    args = p.parse_args(argv)
    shared = shared_dir()
    if not (shared / "eval" / "train.jsonl").exists() or not (shared / "handbook" / "2025-07").is_dir():
        print(f"{shared}/eval or handbook/2025-07 is absent: nothing to evaluate", file=sys.stderr)
        return 1 if os.environ.get("CI", "").lower() == "true" else 0

    start = time.perf_counter()
    questions = load_questions(shared)
    params = _params(args.param)
    folds = cross_validate(shared, args.k, args.seed, examples=args.examples, rerank=not args.no_rerank,
                           params=params)
    ranked = {r.question.id: r.urls for r in held_out(folds)}
    rows, summary = [], {}
    label = f"this index, {args.k}-fold CV (examples={args.examples})"
    sets = {name: [q for q in questions if q.set == name] for name in IN_SCOPE_SETS}
    sets["train+posts"] = sets["train"] + sets["train_posts"]
    base = {} if args.no_baselines else baselines(kb_sections(shared)[0])
    for name, qs in sets.items():
        m = retrieval_metrics(ranked, qs, shared)
        rows.append((name, label, m))
        summary[name] = {k: v for k, v in m.items() if k != "per_question"}
        for bname, rank in base.items():
            bm = retrieval_metrics({q.id: rank(q.q, 10) for q in qs}, qs, shared)
            rows.append((name, bname, bm))
            summary[f"{name} {bname}"] = {k: v for k, v in bm.items() if k != "per_question"}
    dev = load_questions(shared, ("dev",))
    if dev:
        from benchmarks.quality.training import fit_index

        sections, synonyms = kb_sections(shared)
        index = fit_index(sections, synonyms, questions, shared, examples=args.examples, rerank=not args.no_rerank,
                          seed=args.seed, params=params)
        m = retrieval_metrics({q.id: [h.section.url for h in index.search(q.q, 10).hits] for q in dev}, dev, shared)
        rows.append(("dev", f"fitted on all train (examples={args.examples})", m))
        summary["dev"] = {k: v for k, v in m.items() if k != "per_question"}
    print(format_rows(rows))
    print(f"({time.perf_counter() - start:.1f} s)")
    if args.misses:
        by_id = {q.id: q for q in questions}
        for pq in retrieval_metrics(ranked, sets["train+posts"], shared)["per_question"]:
            if not pq["top1_exact"]:
                q = by_id[pq["id"]]
                print(f"  {q.id} rank={pq['rank']} {q.q[:160]!r}\n     gold={q.gold['url']}#{q.gold.get('anchors')}"
                      f" got={(ranked[q.id] or ['-'])[0]}")
    if args.json:
        print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
