"""Re-index with a quality gate: pull the sources, build beside the live index, evaluate, swap or refuse.

    python deploy/reindex.py [--sources deploy/sources.production.toml] [--index var/index]
                             [--gate deploy/gate.toml] [--questions GOLD.jsonl ...] [--dry-run] [--strict]
    (or: make reindex REINDEX_ARGS="...")

1. build the index from the sources file (git sources are cloned or fetched) into ``<index>.candidate``
   (``--strict``: a page that cannot be read or parsed stops here, exit 2);
2. evaluate the candidate, and the live index, on the gate's question sets (``indexer.evaluate``);
3. the gate: every enabled source indexed, at least ``min_pages`` / ``min_sections``, each question set
   at or above its floors, and no metric below the live index's by more than ``max_drop``;
4. pass: the candidate is marked as gated (``"gate"`` in its meta.json: when, and its scores; a plain
   ``python -m indexer build`` refuses to replace such an index without ``--force``), swapped in
   atomically (``indexer.swap``: one ``renameat2(RENAME_EXCHANGE)`` on Linux, else two renames) and
   the old index is kept as ``<index>.previous``; a running bot notices the new ``meta.json`` and
   switches without a restart. Fail: the live index is untouched, the reasons are
   printed and the candidate is kept as ``<index>.rejected`` for inspection.

Exit status: 0 swapped (or would be, with --dry-run), 1 refused by the gate, 2 nothing could be built.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from indexer.build import DEFAULT_INDEX, GATE_KEY, build
from indexer.changes import compare
from indexer.errors import IndexerError, IndexLoadError, SourceError
from indexer.evaluate import LinkMatcher, evaluate, faq_questions, index_ranking, load_jsonl
from indexer.examples import APPROVED_NAME, EXAMPLES_NAME, load_examples, resolve_examples
from indexer.index import Index, update_meta
from indexer.sources import load_sources
from indexer.swap import swap_in  # noqa: F401  (re-exported: the swap this script does)

REPO = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SOURCES = REPO / "deploy" / "sources.production.toml"
DEFAULT_GATE = REPO / "deploy" / "gate.toml"
DEFAULT_SYNONYMS = REPO / "knowledge" / "synonyms.txt"
APPROVED_KEY = "approved_examples"   # meta.json: the approved example questions a gated index holds
METRICS = ("top1_exact", "top1_page", "recall@3", "mrr@10")
GATE_KEYS = {"min_top1_exact": "top1_exact", "min_top1_page": "top1_page", "min_recall_at_3": "recall@3",
             "min_mrr_at_10": "mrr@10"}


@dataclass
class QuestionSet:
    file: Path
    floors: dict[str, float] = field(default_factory=dict)   # metric -> minimum
    max_drop: float = 0.05                                      # vs the live index, per metric


@dataclass
class Gate:
    min_pages: int = 1
    min_sections: int = 1
    question_sets: list[QuestionSet] = field(default_factory=list)
    approved_max_drop: float = 0.01   # how far approved example questions may lower a metric (vs without them)

    @classmethod
    def load(cls, path: Path, questions: list[Path] | None = None) -> Gate:
        """Read a gate file; ``questions`` (if given) replace its question files, keeping the first set's
        floors. Relative paths are relative to the gate file."""
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        sets = []
        for entry in data.get("questions", []):
            unknown = set(entry) - set(GATE_KEYS) - {"file", "max_drop"}
            if unknown:
                raise ValueError(f"{path}: unknown key(s) in [[questions]]: {', '.join(sorted(unknown))}")
            sets.append(QuestionSet((path.parent / entry["file"]).resolve(),
                                    {GATE_KEYS[k]: float(v) for k, v in entry.items() if k in GATE_KEYS},
                                    float(entry.get("max_drop", 0.05))))
        if questions:
            template = sets[0] if sets else QuestionSet(Path())
            sets = [QuestionSet(q.resolve(), dict(template.floors), template.max_drop) for q in questions]
        return cls(int(data.get("min_pages", 1)), int(data.get("min_sections", 1)), sets,
                   float(data.get("approved_max_drop", 0.01)))


@dataclass
class Verdict:
    passed: bool
    reasons: list[str]
    scores: dict[str, dict[str, dict]]      # question file -> {"candidate": metrics, "live": metrics|None}


def score(index: Index, gold: list[dict]) -> dict:
    return evaluate(index_ranking(index), gold, LinkMatcher(index.sections, faq_questions(index.sections, gold)))


def judge(candidate: Index, live: Index | None, gate: Gate, expected_sources: list[str]) -> Verdict:
    reasons: list[str] = []
    indexed = {s.get("name") for s in candidate.meta.get("sources", [])}
    missing = [name for name in expected_sources if name not in indexed]
    if missing:
        reasons.append(f"source(s) not indexed: {', '.join(missing)}")
    pages = len({s.page_url for s in candidate.sections})
    if pages < gate.min_pages:
        reasons.append(f"{pages} pages < min_pages {gate.min_pages}")
    if len(candidate.sections) < gate.min_sections:
        reasons.append(f"{len(candidate.sections)} sections < min_sections {gate.min_sections}")
    scores: dict[str, dict[str, dict]] = {}
    for qs in gate.question_sets:
        try:
            gold = load_jsonl(qs.file)
        except OSError as exc:
            reasons.append(f"question set unreadable: {exc}")
            continue
        if not gold:
            reasons.append(f"question set {qs.file} is empty")
            continue
        new = score(candidate, gold)
        old = score(live, gold) if live is not None and live.sections else None
        scores[str(qs.file)] = {"candidate": new, "live": old}
        for metric, floor in qs.floors.items():
            if new[metric] < floor:
                reasons.append(f"{qs.file.name}: {metric} {new[metric]:.3f} < floor {floor:.3f}")
        if old is not None:
            for metric in METRICS:
                if new[metric] < old[metric] - qs.max_drop:
                    reasons.append(f"{qs.file.name}: {metric} {new[metric]:.3f} is below the live index's "
                                   f"{old[metric]:.3f} by more than {qs.max_drop:.3f}")
    return Verdict(not reasons, reasons, scores)


def examples_file_for(sources: Path) -> Path:
    """The examples file a build of ``sources`` reads (beside it, else knowledge/'s), as indexer.build does."""
    beside = sources.parent / EXAMPLES_NAME
    return beside if beside.is_file() else REPO / "knowledge" / EXAMPLES_NAME


def approved_examples(index: Index, examples_file: Path) -> list[tuple[str, str]]:
    """(section url, question) of the approved-from-use examples (``examples.approved.toml``) in ``index``."""
    found, _ = resolve_examples(index.sections, load_examples(examples_file.with_name(APPROVED_NAME)))
    return sorted({(index.sections[row].url, text) for row, text in found})


def judge_approved(candidate: Index, gate: Gate, examples_file: Path, synonyms: Path) -> tuple[list[str], dict]:
    """Do the approved example questions lower quality? The candidate against the same sections indexed
    with the team's examples only, on the gate's question sets -> (reasons, {file: metrics without})."""
    from indexer.text import Synonyms

    team, _ = resolve_examples(candidate.sections, load_examples(examples_file))
    without = Index.fit(candidate.sections, Synonyms.load(synonyms), examples=team)
    reasons, scores = [], {}
    for qs in gate.question_sets:
        try:
            gold = load_jsonl(qs.file)
        except OSError:
            continue   # judge() already gave the reason
        if not gold:
            continue
        new, old = score(candidate, gold), score(without, gold)
        scores[str(qs.file)] = old
        for metric in METRICS:
            if new[metric] < old[metric] - gate.approved_max_drop:
                reasons.append(f"{qs.file.name}: with the approved example questions ({APPROVED_NAME}) {metric} is "
                               f"{new[metric]:.3f}, {old[metric]:.3f} without them (allowed drop "
                               f"{gate.approved_max_drop:.3f}); review the latest approvals")
    return reasons, scores


def _metrics_line(name: str, m: dict | None) -> str:
    if m is None:
        return f"  {name:<10} (no live index)"
    return f"  {name:<10} " + "  ".join(f"{k} {m[k]:.3f}" for k in METRICS)


def reindex(sources: Path, live: Path, gate: Gate, cache: Path, synonyms: Path, dry_run: bool = False,
            out=print, strict: bool = False) -> int:
    live = live.resolve()
    candidate = live.with_name(live.name + ".candidate")
    rejected = live.with_name(live.name + ".rejected")
    shutil.rmtree(candidate, ignore_errors=True)
    try:
        expected = [s.name for s in load_sources(sources) if s.enabled]
        result = build(sources, candidate, cache, synonyms_file=synonyms, strict=strict)
    except (SourceError, IndexerError) as exc:
        out(f"reindex: cannot build: {exc}")
        return 2
    for problem in result.problems:
        out(f"problem: {problem}")
    if not result.ok:
        out(f"reindex: nothing was built; the live index at {live} is unchanged")
        return 2
    try:
        current = Index.load(live)
    except IndexLoadError:
        current = None
    out(f"built {len(result.index.sections)} sections in {result.seconds:.1f}s from "
        + ", ".join(f"{s['name']}@{(s.get('commit') or 'folder')[:10]}" for s in result.index.meta.get("sources", [])))
    for line in compare(current.sections if current else None, result.index.sections).lines(limit=8):
        out(f"  {line}")
    examples_file = examples_file_for(sources)
    approved = approved_examples(result.index, examples_file)
    before = {tuple(pair) for pair in (current.meta.get(APPROVED_KEY, []) if current else [])}
    added = [pair for pair in approved if pair not in before]
    removed = sorted(before - set(approved))
    out(f"approved example questions: {len(approved)} ({len(added)} new, {len(removed)} removed since the live index)")
    for url, text in added[:20]:
        out(f"  + {text!r} -> {url}")
    for url, text in removed[:20]:
        out(f"  - {text!r} -> {url}")
    verdict = judge(result.index, current, gate, expected)
    without: dict = {}
    if approved:
        reasons, without = judge_approved(result.index, gate, examples_file, synonyms)
        verdict = Verdict(verdict.passed and not reasons, verdict.reasons + reasons, verdict.scores)
    for qfile, pair in verdict.scores.items():
        out(f"questions {qfile} ({pair['candidate']['n']}):")
        out(_metrics_line("candidate", pair["candidate"]))
        if qfile in without:
            out(_metrics_line("no approved", without[qfile]) + "   (without the approved example questions)")
        out(_metrics_line("live", pair["live"]))
    if not verdict.passed:
        shutil.rmtree(rejected, ignore_errors=True)
        os.replace(candidate, rejected)
        out("GATE FAILED: the live index is unchanged. Why:")
        for reason in verdict.reasons:
            out(f"  - {reason}")
        out(f"(the refused index is at {rejected})")
        return 1
    if dry_run:
        out(f"gate passed (dry run: the candidate stays at {candidate})")
        return 0
    update_meta(candidate, {APPROVED_KEY: [list(pair) for pair in approved], GATE_KEY: {
        "passed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "question_sets": {Path(q).name: {m: pair["candidate"][m] for m in METRICS}
                          for q, pair in verdict.scores.items()}}})
    previous = swap_in(candidate, live)
    shutil.rmtree(rejected, ignore_errors=True)
    out(f"gate passed: swapped in at {live} (built {result.index.meta.get('built_at')})"
        + (f"; previous index kept at {previous}" if previous else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("INDEX_DIR") or DEFAULT_INDEX))
    parser.add_argument("--gate", type=Path, default=DEFAULT_GATE)
    parser.add_argument("--questions", type=Path, nargs="+", help="question sets replacing the gate file's")
    parser.add_argument("--cache", type=Path, help="where git sources are checked out (default: beside the index)")
    parser.add_argument("--synonyms", type=Path, default=DEFAULT_SYNONYMS)
    parser.add_argument("--dry-run", action="store_true", help="build and judge, but do not swap")
    parser.add_argument("--strict", action="store_true",
                        help="refuse (exit 2) when any page or source cannot be read or parsed")
    args = parser.parse_args(argv)
    try:
        gate = Gate.load(args.gate, args.questions)
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        print(f"reindex: bad gate file {args.gate}: {exc}", file=sys.stderr)
        return 2
    cache = args.cache or args.index.resolve().parent / "sources"
    return reindex(args.sources, args.index, gate, cache, args.synonyms, args.dry_run,
                   out=lambda s: print(s, flush=True), strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
