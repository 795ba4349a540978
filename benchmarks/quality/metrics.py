"""Retrieval metrics by ``../shared/eval/score.py``'s matching rules (imported, never copied)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.quality.data import Question, load_scorer


def score_set(ranked: dict[str, list[str]], questions: list[Question], shared: Path | None = None,
              escalated: dict[str, bool] | None = None) -> dict:
    """``score.py``'s ``score()`` on ranked URLs (best first) of ``questions`` (in scope and out of scope)."""
    scorer = load_scorer(shared)
    escalated = escalated or {}
    preds = {q.id: {"urls": ranked.get(q.id, []), "escalated": escalated.get(q.id, False)} for q in questions}
    gold = [q.gold for q in questions if q.in_scope]
    oos = [q.gold for q in questions if not q.in_scope]
    return scorer.score(preds, gold, oos)


def retrieval_metrics(ranked: dict[str, list[str]], questions: list[Question], shared: Path | None = None) -> dict:
    """-> {"n", "top1_exact", "top1_page", "recall@3", "mrr@10"} over the in-scope ``questions``."""
    res = score_set(ranked, [q for q in questions if q.in_scope], shared)
    return {"n": res["n_in_scope"], "top1_exact": res["top1_exact"], "top1_page": res["top1_page"],
            "recall@3": res["recall@3_exact"], "mrr@10": res["mrr@10_exact"], "per_question": res["per_question"]}


def format_rows(rows: list[tuple[str, str, dict]]) -> str:
    """(set, method, metrics) rows -> an aligned text table."""
    lines = [f"{'set':<12} {'method':<34} {'n':>4} {'top-1 exact':>11} {'top-1 page':>10} {'recall@3':>9} "
             f"{'MRR@10':>7}"]
    for set_name, method, m in rows:
        lines.append(f"{set_name:<12} {method:<34} {m['n']:>4} {m['top1_exact']:>11.3f} {m['top1_page']:>10.3f} "
                     f"{m['recall@3']:>9.3f} {m['mrr@10']:>7.3f}")
    return "\n".join(lines)
