"""Command line: ``python -m indexer build | search | evaluate`` (a stable contract)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from indexer.build import DEFAULT_CACHE, DEFAULT_INDEX, DEFAULT_SOURCES, build
from indexer.errors import IndexerError
from indexer.evaluate import LinkMatcher, compare_methods, format_table, load_jsonl
from indexer.index import Index


def _cmd_build(args) -> int:
    result = build(args.sources, args.out, args.cache, force=args.force, strict=args.strict)
    for line in result.problems:
        print(f"{'error' if args.strict else 'warning'}: {line}", file=sys.stderr)
    _report_skipped(result.skipped, args.verbose)
    if not result.ok:
        _report_left_out(result.left_out)
        if not (args.strict and result.problems):
            print("error: nothing could be indexed; previous index left untouched", file=sys.stderr)
        return 1
    meta = result.index.meta
    print(f"indexed {meta['pages']} pages, {meta['sections']} sections from {len(meta['sources'])} source(s) "
          f"in {result.seconds:.2f}s -> {result.out_dir}")
    for src in meta["sources"]:
        commit = f" @ {src['commit'][:12]}" if src.get("commit") else ""
        print(f"  {src['name']}{commit}: {src['files']} files, {src['pages']} pages, {src['sections']} sections")
    for line in result.changes.lines():
        print(line)
    _report_left_out(result.left_out)
    return 0


def _report_left_out(left_out: list[str], limit: int = 20) -> None:
    """Markdown files in a source folder that its ``include`` list does not name (summary, stdout)."""
    if not left_out:
        return
    print(f"not indexed: {len(left_out)} Markdown file(s) the sources file's include list leaves out "
          "(add them to `include` to index them):")
    for name in left_out[:limit]:
        print(f"  {name}")
    if len(left_out) > limit:
        print(f"  ... and {len(left_out) - limit} more")


def _report_skipped(skipped: list[str], verbose: bool, limit: int = 10) -> None:
    """Files left out on purpose (empty, draft, redirect, search_exclude): a count per reason on
    stdout, the files on stderr (the first ``limit`` unless verbose)."""
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for line in skipped:
        reason = line.rsplit("(", 1)[-1].rstrip(")") if line.endswith(")") else "other"
        reason = re.sub(r"^\S+ comes from source (.+)$", r"superseded by source \1", reason)
        reasons[reason] = reasons.get(reason, 0) + 1
    print(f"skipped {len(skipped)} file(s): " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())))
    shown = skipped if verbose else skipped[:limit]
    for line in shown:
        print(line, file=sys.stderr)
    if len(shown) < len(skipped):
        print(f"... and {len(skipped) - len(shown)} more skipped (--verbose lists all)", file=sys.stderr)


def _print_hits(question: str, hits, as_json: bool, qid=None) -> None:
    if as_json:
        record = {"hits": [h.to_json() for h in hits]}
        record = {"id": qid, **record} if qid is not None else {"q": question, **record}
        print(json.dumps(record, ensure_ascii=False))
        return
    print(f"Q: {question}")
    if not hits:
        print("  (no match)")
    for rank, h in enumerate(hits, 1):
        print(f"  {rank}. [{h.score:.3f}] {' › '.join(h.section.breadcrumb)}\n     {h.section.url}")
        for line in h.passage_text.splitlines()[:6]:
            print(f"     | {line}")


def _cmd_search(args) -> int:
    index = Index.load(args.index)
    if args.batch:
        with open(args.batch, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    qid, q = item["id"], str(item["q"])
                except (ValueError, KeyError, TypeError):
                    print(f"warning: {args.batch}:{n}: not a {{\"id\", \"q\"}} JSON line", file=sys.stderr)
                    continue
                _print_hits(q, index.search(q, args.k).hits, True, qid)
        return 0
    if not args.question:
        print("error: give a question or --batch FILE.jsonl", file=sys.stderr)
        return 2
    question = " ".join(args.question)
    _print_hits(question, index.search(question, args.k).hits, args.json)
    return 0


def _cmd_evaluate(args) -> int:
    index = Index.load(args.index)
    gold = [g for path in args.gold for g in load_jsonl(path)]
    _warn_missing_gold(index, gold)
    results = compare_methods(index, gold)
    print(f"{len(gold)} questions, {len(index.sections)} sections ({', '.join(args.gold)})")
    print(format_table(results))
    if args.misses:
        for m in results["this index"]["misses"]:
            print(f"  miss {m['id']} rank={m['rank']} {m['q']!r}\n       got {m['got']}")
    return 0


def _warn_missing_gold(index: Index, gold: list[dict]) -> None:
    """Say so when the questions are about pages this index does not have (e.g. the bundled index,
    which holds only the introduction and the FAQ, scored on questions about the whole handbook)."""
    matcher = LinkMatcher(index.sections, [])
    pages = {matcher.path_of(s.url)[0] for s in index.sections}
    missing = [g for g in gold if isinstance(g.get("url"), str) and matcher.path_of(g["url"])[0] not in pages]
    if missing:
        sources = ", ".join(str(s.get("name")) for s in index.meta.get("sources", []))
        print(f"warning: the gold page of {len(missing)} of {len(gold)} questions is not in this index "
              f"({len(pages)} pages, from {sources or 'unknown sources'}); those questions cannot be answered. "
              "Score an index of the pages the questions are about, e.g.: "
              "python -m indexer build --sources benchmarks/eval_sources.toml --out var/eval-index && "
              "python -m indexer evaluate --index var/eval-index ...", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the index from the sources file")
    p.add_argument("--sources", type=Path, default=DEFAULT_SOURCES)
    p.add_argument("--out", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where git sources are checked out")
    p.add_argument("-v", "--verbose", action="store_true", help="list every skipped file")
    p.add_argument("--strict", action="store_true",
                   help="fail (exit 1, nothing written) when any file or source cannot be read or parsed; "
                        "for the handbook repository's CI")
    p.add_argument("--force", action="store_true",
                   help="replace the index at --out even if a gated re-index (make reindex) put it there; "
                        "the replaced index is kept as <out>.previous")
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("search", help="search the index")
    p.add_argument("question", nargs="*")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", type=Path, help='JSONL of {"id", "q"}; writes one JSON line per question')
    p.set_defaults(func=_cmd_search)
    p = sub.add_parser("evaluate", help="retrieval quality on gold questions, with baselines")
    p.add_argument("gold", nargs="+", help="gold JSONL file(s), e.g. ../shared/eval/dev.jsonl")
    p.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    p.add_argument("--misses", action="store_true", help="list questions whose top-1 is wrong")
    p.set_defaults(func=_cmd_evaluate)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except IndexerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`python -m indexer search ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
