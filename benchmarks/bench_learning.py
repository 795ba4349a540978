"""``make bench-learning`` (``python -m benchmarks.bench_learning``): do approved suggestions make later
answers better?

A question log is replayed from the training questions of ``../shared/eval`` (train + train_posts, in
scope), cross-validated so that no question is ever evaluated by an index that holds it as an example:

- the fixed CV folds of ``benchmarks.quality`` (stratified over styles and pages) are the "weeks"; each
  fold in turn is the test week, the other folds are replayed in fold order (file order inside a week);
- in a week, every question is asked of the current index (the 2025-07 handbook + FAQ with
  ``knowledge/examples.toml`` and everything approved so far). The simulated employee votes 👍 with
  probability ``--vote-rate`` when the answer's page is the right one (they cannot tell a neighbouring
  section from the right one, so some 👍 point to the wrong section); otherwise the question goes to DAPA,
  who resolve it with the right section with probability ``--resolve-rate``. Turns, votes and
  resolutions are written to a real SQLite feedback store;
- at the end of the week the real ``report --suggest`` code proposes suggestions and a reviewer approves
  those whose section is right for the lead question (``../shared/eval/score.py``'s rules) and rejects
  the others, through the real ``--approve`` / ``--reject`` code (``knowledge/examples.approved.toml`` in
  a scratch folder); the index is rebuilt with the approved file, as the next build would;
- after each week, quality on the test week's questions (never approved: they are not replayed).

The shipped reranker was fitted on all training questions, so it is not used here: per test week a
reranker is fitted on the replayed weeks' questions only (``--no-rerank``: the first stage alone).
``--oracle`` approves every replayed question on its right section: the most the examples field can give.
Needs ../shared (exits 0 with a notice when absent, 1 under CI=true) and an index with an
example-questions field (issue 10).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.quality.cv import DEFAULT_K, DEFAULT_SEED, SITE, kb_sections
from benchmarks.quality.data import REPO, Question, assign_folds, gold_sections, load_questions, shared_dir
from benchmarks.quality.metrics import retrieval_metrics

DEPTH = 10


def fit(sections, synonyms, examples: tuple[list[tuple[int, str]], list[tuple[int, str]]], rerank_model=None,
        expand: bool = False):
    """The index with ``examples`` ((team's, approved) pairs) in its example-questions field, as a build
    indexes them; ``expand`` (an experiment): the approved ones appended to their section's text instead
    (document expansion)."""
    from dataclasses import replace

    from indexer.index import Index

    team, approved = examples
    if expand:
        extra: dict[int, list[str]] = {}
        for row, text in approved:
            extra.setdefault(row, []).append(text)
        sections = [replace(s, lines=s.lines + tuple(extra[i]), display=s.display + tuple(extra[i]))
                    if i in extra else s for i, s in enumerate(sections)]
        approved = []
    from benchmarks.quality.training import out_of_scope_examples

    return Index.fit(sections, synonyms, examples=team, approved=approved, rerank_model=rerank_model,
                     outside=out_of_scope_examples())


def fit_reranker(sections, synonyms, train: list[Question], shared: Path, seed: int, examples: str | None = None):
    """The reranker fitted on ``train`` only (the replayed weeks, never the test week), as ``make train``
    fits the shipped one (``examples``: the experiment ``--rerank-examples``)."""
    from benchmarks.quality.training import SHIPPED_EXAMPLES, fit_index

    return fit_index(sections, synonyms, train, shared, examples=examples or SHIPPED_EXAMPLES, rerank=True,
                     seed=seed, return_model=True)[1]


def examples_of(sections, folder: Path, team: bool = True) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(row, text) pairs of the hand-written examples (``team``) and of the approved file in ``folder``, as a
    build reads them."""
    from indexer.examples import load_examples, resolve_examples

    written = resolve_examples(sections, load_examples(REPO / "knowledge" / "examples.toml"))[0] if team else []
    return written, resolve_examples(sections, load_examples(folder / "examples.approved.toml"))[0]


def replay_week(week: list[Question], index, sections, store, learning, rng: random.Random, shared: Path,
                vote_rate: float, resolve_rate: float, pick_rate: float = 0.0) -> dict:
    """Ask, vote and resolve one week's questions into the store; -> counts."""
    from benchmarks.quality.data import load_scorer
    from bot.decision.decide import decide
    from bot.feedback.store import TurnRecord

    scorer = load_scorer(shared)
    counts = {"asked": 0, "upvotes": 0, "wrong_upvotes": 0, "resolved": 0, "picked": 0}
    for q in week:
        if not q.in_scope:
            continue
        decision = decide(q.q, index) if pick_rate else None
        hits = list(decision.answers) if decision is not None else list(index.search(q.q, 3).hits)
        top = hits[0].section.url if hits else None
        right = {sections[r].url for r in gold_sections(sections, q, shared)}
        page_right = top is not None and scorer.Matcher(scorer.FAQ_QUESTIONS).match(top, q.gold)[0]
        record = TurnRecord(q.q, "answer" if top else "handoff", top, f"user-{q.id}", "channel")
        store.record_turn(record)
        counts["asked"] += 1
        shown_right = [h.section.url for h in hits[:3] if h.section.url in right]
        if decision is not None and decision.kind == "unsure" and shown_right and rng.random() < pick_rate:
            learning.record_pick(record.turn_id, shown_right[0], record.user_hash)   # "This answered it"
            counts["picked"] += 1
        elif page_right and rng.random() < vote_rate:
            store.record_vote(record.turn_id, "up", record.user_hash)
            counts["upvotes"] += 1
            counts["wrong_upvotes"] += top not in right
        elif top not in right and right and rng.random() < resolve_rate:
            learning.record_resolution(record.turn_id, sorted(right)[0] if len(right) > 1 else next(iter(right)),
                                       "dapa")
            counts["resolved"] += 1
    return counts


def review_week(store_learning, index, knowledge, by_phrasing: dict[str, Question], sections,
                shared) -> tuple[int, int]:
    """The reviewer: approve suggestions whose section is right for the lead question, reject the rest."""
    from bot.learning.review import current_suggestions, review
    from bot.learning.suggest import phrasing_key

    found, _, _ = current_suggestions(store_learning, index, knowledge, SITE)
    approve, reject = [], []
    for s in found:
        q = by_phrasing.get(phrasing_key(s.question))
        right = {sections[r].url for r in gold_sections(sections, q, shared)} if q else set()
        (approve if s.url in right else reject).append(s.id)
    if approve:
        review(store_learning, index, knowledge, approve, "approved", "bench", SITE)
    if reject:
        review(store_learning, index, knowledge, reject, "rejected", "bench", SITE)
    return len(approve), len(reject)


def run(shared: Path, k: int, seed: int, vote_rate: float, resolve_rate: float, verbose: bool,
        rerank: bool = True, oracle: bool = False, expand: bool = False, pick_rate: float = 0.0,
        team: bool = True, rerank_examples: str | None = None) -> list[dict]:
    """One row per (test week, weeks replayed). ``oracle``: approve every replayed in-scope question on its
    right section, whatever the bot answered and whoever voted (the most the examples field can give).
    ``team=False``: start without the hand-written example questions (a handbook nobody has written examples
    for yet); the reranker is still the one fitted with them, as a new handbook would get the shipped one."""
    from bot.feedback.sqlite import SQLiteFeedbackStore
    from bot.learning.approved import read_approved
    from bot.learning.review import Knowledge
    from bot.learning.store import sqlite_learning_store
    from bot.learning.suggest import phrasing_key

    everything = load_questions(shared)
    questions = [q for q in everything if q.in_scope]
    fold_of = {q.id: f for q, f in zip(everything, assign_folds(everything, k, seed))}
    weeks = [[q for q in questions if fold_of[q.id] == f] for f in range(k)]
    sections, synonyms = kb_sections(shared)
    by_phrasing = {phrasing_key(q.q): q for q in questions}
    rows = []
    for test in range(k):
        rng = random.Random(seed * 1000 + test)
        with tempfile.TemporaryDirectory(prefix="learn-") as tmp:
            tmp = Path(tmp)
            knowledge = Knowledge(tmp)
            store = SQLiteFeedbackStore(tmp / "feedback.sqlite3")
            learning = sqlite_learning_store(tmp / "feedback.sqlite3")
            replayed = [w for w in range(k) if w != test]
            model = None
            if rerank:
                model = fit_reranker(sections, synonyms, [q for q in everything if fold_of[q.id] != test], shared,
                                     seed, rerank_examples)
            index = fit(sections, synonyms, examples_of(sections, tmp, team), model, expand)
            log = [q for w in replayed for q in weeks[w]]
            first_asked = answered_right(index, log, sections, shared)
            for step in range(len(replayed) + 1):
                approved = sum(len(v) for v in read_approved(knowledge.approved).values())
                m = retrieval_metrics({q.id: [h.section.url for h in index.search(q.q, DEPTH).hits]
                                       for q in weeks[test]}, weeks[test], shared)
                row = {"test_week": test, "weeks_replayed": step, "approved": approved,
                       **{key: m[key] for key in ("n", "top1_exact", "top1_page", "recall@3", "mrr@10")}}
                for style in ("short", "long", "post"):
                    qs = [q for q in weeks[test] if q.style == style]
                    if qs:
                        row[f"top1_{style}"] = retrieval_metrics(
                            {q.id: [h.section.url for h in index.search(q.q, DEPTH).hits] for q in qs}, qs,
                            shared)["top1_exact"]
                if step == len(replayed):
                    again = answered_right(index, log, sections, shared)
                    ok = approved_ids(knowledge, by_phrasing)
                    row.update(again_n=len(log), first_right=sum(first_asked.values()), again_right=sum(again.values()),
                               approved_log=sum(q.id in ok for q in log),
                               first_right_approved=sum(first_asked[q.id] for q in log if q.id in ok),
                               again_approved=sum(again[q.id] for q in log if q.id in ok))
                    rows.append(row)
                    break
                week = weeks[replayed[step]]
                if oracle:
                    from bot.learning.approved import add_approved

                    additions: dict[str, list[str]] = {}
                    for q in week:
                        rows_ = gold_sections(sections, q, shared)
                        if rows_:
                            additions.setdefault(sections[rows_[0]].url, []).append(q.q)
                    row.update(approved_now=add_approved(knowledge.approved, additions), rejected_now=0)
                else:
                    counts = replay_week(week, index, sections, store, learning, rng, shared, vote_rate,
                                         resolve_rate, pick_rate)
                    ok, bad = review_week(learning, index, knowledge, by_phrasing, sections, shared)
                    row.update(counts, approved_now=ok, rejected_now=bad)
                rows.append(row)
                if verbose:
                    print(json.dumps(row), file=sys.stderr)
                index = fit(sections, synonyms, examples_of(sections, tmp, team), model, expand)
            store.close()
            learning.close()
    return rows


def answered_right(index, questions: list[Question], sections, shared: Path) -> dict[str, bool]:
    """Question id -> the bot's decision is a confident answer leading with a right section."""
    from bot.decision.decide import decide

    out = {}
    for q in questions:
        d = decide(q.q, index)
        out[q.id] = d.kind == "answer" and d.best is not None and d.best.position in gold_sections(sections, q, shared)
    return out


def approved_ids(knowledge, by_phrasing: dict[str, Question]) -> set[str]:
    """Ids of the log's questions whose phrasing is in the approved file."""
    from bot.learning.approved import read_approved
    from bot.learning.suggest import phrasing_key

    return {by_phrasing[phrasing_key(t)].id for texts in read_approved(knowledge.approved).values() for t in texts
            if phrasing_key(t) in by_phrasing}


def summarise(rows: list[dict], k: int) -> list[dict]:
    out = []
    for step in range(k):
        at = [r for r in rows if r["weeks_replayed"] == step]
        if not at:
            continue
        n = sum(r["n"] for r in at)
        mean = {key: sum(r[key] * r["n"] for r in at) / n for key in ("top1_exact", "top1_page", "recall@3", "mrr@10")}
        out.append({"weeks": step, "approved": sum(r["approved"] for r in at) / len(at), "n": n, **mean,
                    "wrong_upvotes": sum(r.get("wrong_upvotes", 0) for r in at),
                    "rejected": sum(r.get("rejected_now", 0) for r in at),
                    "picked": sum(r.get("picked", 0) for r in at)})
    return out


def plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s["approved"] for s in summary]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, label in (("top1_exact", "top-1 exact"), ("recall@3", "recall@3"), ("mrr@10", "MRR@10")):
        ax.plot(xs, [s[key] for s in summary], marker="o", label=label)
    for s in summary:
        ax.annotate(f"{s['weeks']} wk", (s["approved"], s["top1_exact"]), textcoords="offset points", xytext=(0, -12),
                    fontsize=7, ha="center")
    ax.set_xlabel("approved example questions (mean over CV test weeks)")
    ax.set_ylabel("quality on the unseen test week")
    ax.set_title("Learning from use: held-out quality vs approved questions", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--k", type=int, default=DEFAULT_K, help="CV folds = weeks")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--vote-rate", type=float, default=0.5, help="P(👍) when the answer's page is right")
    p.add_argument("--resolve-rate", type=float, default=0.8, help="P(DAPA resolves a miss with its section)")
    p.add_argument("--pick-rate", type=float, default=0.0,
                   help="P(the user presses 'This answered it' on a right section an unsure reply shows); "
                        "> 0 replays every question through the decision, as the Teams reply")
    p.add_argument("--plot", default=str(REPO / "docs" / "perf" / "learning.png"),
                   help="where to save the plot ('' for none)")
    p.add_argument("--no-rerank", action="store_true", help="first-stage retrieval only")
    p.add_argument("--oracle", action="store_true",
                   help="approve every replayed question on its right section (upper bound of the examples field)")
    p.add_argument("--expand", action="store_true",
                   help="experiment: approved questions appended to their section's text, not the examples field")
    p.add_argument("--no-team-examples", action="store_true",
                   help="start without knowledge/examples.toml: learning from use alone, as on a new handbook")
    p.add_argument("--rerank-examples", choices=("starter", "train"), default=None,
                   help="experiment: fit the reranker with the replayed questions standing in for approved examples "
                        "(train) instead of as make train does")
    p.add_argument("--json", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    shared = shared_dir()
    if not (shared / "eval" / "train.jsonl").exists() or not (shared / "handbook" / "2025-07").is_dir():
        print(f"{shared}/eval or handbook/2025-07 is absent: nothing to replay", file=sys.stderr)
        return 1 if os.environ.get("CI", "").lower() == "true" else 0
    from indexer.index import Index

    if "examples" not in inspect.signature(Index.fit).parameters:
        print("this index has no example-questions field (issue 10): approved questions cannot be used yet",
              file=sys.stderr)
        return 1
    start = time.perf_counter()
    rows = run(shared, args.k, args.seed, args.vote_rate, args.resolve_rate, args.verbose, not args.no_rerank,
               args.oracle, args.expand, args.pick_rate, not args.no_team_examples, args.rerank_examples)
    summary = summarise(rows, args.k)
    how = "every replayed question approved (oracle)" if args.oracle else (
        f"vote rate {args.vote_rate}, resolve rate {args.resolve_rate}, pick rate {args.pick_rate}")
    stage = "first stage only" if args.no_rerank else "reranker fitted on the replayed weeks"
    stage += "; approved questions expand their section's text" if args.expand else ""
    stage += "; no hand-written example questions" if args.no_team_examples else ""
    stage += f"; reranker fitted with examples={args.rerank_examples}" if args.rerank_examples else ""
    print(f"Learning curve, {args.k}-fold CV (weeks = folds; {how}; {stage}; "
          f"{time.perf_counter() - start:.0f} s)")
    print("| weeks replayed | approved questions (mean) | top-1 exact | top-1 page | recall@3 | MRR@10 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['weeks']} | {s['approved']:.0f} | {s['top1_exact']:.3f} | {s['top1_page']:.3f} | "
              f"{s['recall@3']:.3f} | {s['mrr@10']:.3f} |")
    by_style = {}
    for style in ("short", "long", "post"):
        first = [r for r in rows if r["weeks_replayed"] == 0 and f"top1_{style}" in r]
        last = [r for r in rows if r["weeks_replayed"] == args.k - 1 and f"top1_{style}" in r]
        if first and last:
            by_style[style] = (sum(r[f"top1_{style}"] for r in first) / len(first),
                               sum(r[f"top1_{style}"] for r in last) / len(last))
    print("top-1 exact by style, before -> after all weeks: "
          + ", ".join(f"{k} {a:.3f} -> {b:.3f}" for k, (a, b) in by_style.items()))
    final = [r for r in rows if "again_n" in r]
    if final:
        n, n_ok = sum(r["again_n"] for r in final), sum(r["approved_log"] for r in final)
        print(f"The same questions asked again (the replayed weeks' {n} asks, after all approvals; in-sample by "
              f"design): confident and right {sum(r['first_right'] for r in final) / n:.3f} when first asked -> "
              f"{sum(r['again_right'] for r in final) / n:.3f} asked again; of the {n_ok} approved ones "
              f"{sum(r['first_right_approved'] for r in final) / max(n_ok, 1):.3f} -> "
              f"{sum(r['again_approved'] for r in final) / max(n_ok, 1):.3f}")
    print(f"(picks of a right section on an unsure reply: {sum(s['picked'] for s in summary)}; "
          f"👍 on a neighbouring section: {sum(s['wrong_upvotes'] for s in summary)}; suggestions the reviewer "
          f"rejected: {sum(s['rejected'] for s in summary)})")
    if args.plot:
        try:
            plot(summary, Path(args.plot))
            print(f"plot: {args.plot}")
        except ImportError:
            print("(matplotlib is not installed: no plot)")
    if args.json:
        print(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
