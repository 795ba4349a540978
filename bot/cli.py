"""Command line (a stable contract other tools depend on)::

    python -m bot                                   # = serve
    python -m bot serve [--index DIR] [--port N]
    python -m bot ask [--index DIR] [--json] "question" ["another question" ...]
    python -m bot ask [--index DIR] --batch FILE.jsonl
        {"id","q"} lines in; one JSON line out each:
        {"id","kind","escalate","probability","answers":[{"url","title","score","passage"}]}
    (``--json`` prints the same object with "q" instead of "id")
    kind: answer | unsure | handoff | greeting | thanks | help | unclear | not_english
    escalate: the reply offers the hand-off to DAPA (unsure or handoff)
    probability: the hand-off model's P(the handbook answers with the first section), null without a search
    answers: the sections the reply shows, in order
    python -m bot report [--limit N] [--json [--summary]] [--html FILE] [--weeks N]
    python -m bot report --suggest [--limit N] [--json]        (question -> section) suggestions from the log
    python -m bot report --approve ID [ID ...] | --reject ID [ID ...]
        approved questions go to knowledge/examples.approved.toml; reviewed ones are never proposed again
    python -m bot report --export-approved
        every approval in the store (also those made on DAPA's triage card) into knowledge/examples.approved.toml

``ask`` takes exactly the decision path of the Teams reply (``bot.decision.decide.decide``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from bot.decision.decide import Decision, decide
from bot.decision.kinds import Kind
from bot.settings import Settings
from indexer.errors import IndexerError


def decision_record(decision: Decision, qid=None) -> dict:
    """The ``ask --json`` / ``--batch`` output line for one decision."""
    p = decision.probability
    record = {"kind": decision.kind.value, "escalate": decision.escalates,
              "reason": None if decision.reason is None else decision.reason.value,
              "probability": None if p is None else round(p, 4), "answers": [h.to_json() for h in decision.answers]}
    return {"id": qid, **record} if qid is not None else {"q": decision.question, **record}


def _load_index(index_dir: Path, sources: Path):
    from bot.index_holder import load_or_build

    return load_or_build(index_dir, sources)


def _print_decision(decision: Decision, settings: Settings) -> None:
    from bot.replies import Replies

    p = "" if decision.probability is None else f", p={decision.probability:.2f}"
    print(f"Q: {decision.question}\n-> {decision.kind} ({decision.reason}{p})")
    if decision.kind is Kind.ANSWER:
        for rank, h in enumerate(decision.answers, 1):
            print(f"  {rank}. [{h.score:.3f}] {' › '.join(h.section.breadcrumb)}\n     {h.section.url}")
            for line in (h.passage_text.splitlines()[:6] if rank == 1 else ()):
                print(f"     | {line}")
    else:
        print("  " + Replies.from_settings(settings).plain_text(decision).replace("\n", "\n  "))


def _cmd_ask(args, settings: Settings) -> int:
    index = _load_index(Path(args.index or settings.index_dir), settings.sources_file)
    if args.batch:
        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")
        with source:
            for n, line in enumerate(source, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    qid, question = item["id"], str(item["q"])
                except (ValueError, KeyError, TypeError) as exc:
                    print(f"error: {args.batch}:{n}: expected a JSON object with \"id\" and \"q\" ({exc})",
                          file=sys.stderr)
                    return 2
                print(json.dumps(decision_record(decide(question, index), qid), ensure_ascii=False), flush=True)
        return 0
    questions = questions_from_args(args.question)
    if not questions:
        print("error: give a question, or --batch FILE.jsonl", file=sys.stderr)
        return 2
    for n, question in enumerate(questions):
        decision = decide(question, index)
        if args.json:
            print(json.dumps(decision_record(decision), ensure_ascii=False), flush=True)
        else:
            if n:
                print()
            _print_decision(decision, settings)
            sys.stdout.flush()
    return 0


def questions_from_args(words: list[str]) -> list[str]:
    """Each quoted argument is a question (``ask "q1" "q2"``); unquoted words are one question
    (``ask how do I retire a dataset``)."""
    words = [w for w in (w.strip() for w in words) if w]
    if len(words) > 1 and any(len(w.split()) > 1 for w in words):
        return words
    return [" ".join(words)] if words else []


def _cmd_report(args, settings: Settings) -> int:
    from bot.feedback import open_store

    if args.suggest or args.approve or args.reject or args.export_approved:
        from bot.learning.cli import run_learning

        return run_learning(args, settings, lambda: _load_index(Path(args.index or settings.index_dir),
                                                                settings.sources_file))

    store = open_store(settings)
    try:
        rows = store.report(args.limit)
        activity = store.activity() if args.html or args.summary else []
    finally:
        store.close()
    if args.html or args.summary:
        from bot.feedback.report import summary
        from indexer.index import read_meta

        data = summary(activity, rows, read_meta(Path(args.index or settings.index_dir)), weeks=args.weeks)
        if args.html:
            from bot.feedback.report_html import render

            Path(args.html).write_text(render(data), encoding="utf-8")
            print(f"wrote {args.html}: {data['totals']['questions']} questions, {len(rows)} unanswered, "
                  f"{len(data['sections_voted_down'])} sections voted down",
                  file=sys.stderr if args.summary else sys.stdout)
        if args.summary:
            print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    if args.json:
        for r in rows:
            print(json.dumps(r.__dict__, ensure_ascii=False))
        return 0
    if not rows:
        print("No escalated or down-voted questions yet.")
        return 0
    print(f"{'count':>5} {'esc':>4} {'down':>4}  {'last seen':20}  question  [top section]")
    for r in rows:
        print(f"{r.count:>5} {r.escalated:>4} {r.down_votes:>4}  {r.last_seen[:19]:20}  {r.question}"
              + (f"  [{r.top_url}]" if r.top_url else ""))
        for reason in r.reasons:   # what voters wrote in the feedback form
            print(f"{'':>38}  “{' '.join(reason.split())[:200]}”")
    return 0


def _cmd_serve(args, settings: Settings) -> int:
    from bot.app import run

    for problem in settings.serving_problems():
        print(f"error: {problem}", file=sys.stderr)
        return 2
    changes = {}
    if args.index:
        changes["index_dir"] = Path(args.index)
    if args.port:
        changes["port"] = args.port
    run(settings.with_(**changes))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot",
                                description="handbook-bot: Teams bot for the CT Open Data Handbook")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the bot's web server (default)")
    serve.add_argument("--index", help="index folder (default: INDEX_DIR or var/index)")
    serve.add_argument("--port", type=int, help="port (default: PORT or 3978)")
    ask = sub.add_parser(
        "ask", help="answer a question the way the bot would",
        description="Answer questions exactly as the Teams reply would (same search and decision).",
        epilog="The index is INDEX_DIR (default var/index), built on first use from knowledge/: the handbook's "
               "introduction and FAQ only. For the full published handbook run `make run-handbook` once "
               "(needs internet) and ask with --index var/handbook-index.")
    ask.add_argument("question", nargs="*",
                     help='a question; several quoted questions are answered one by one: ask "q1" "q2"')
    ask.add_argument("--index", help="index folder (default: INDEX_DIR or var/index)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--batch", metavar="FILE.jsonl", help='{"id","q"} lines in ("-" = stdin); JSON lines out')
    report = sub.add_parser("report", help="escalated or down-voted questions, most frequent first")
    report.add_argument("--limit", type=int, default=50, help="questions listed (default 50)")
    report.add_argument("--json", action="store_true", help="one JSON line per question")
    report.add_argument("--summary", action="store_true",
                        help="with --json: the whole report as one JSON object (what --html shows)")
    report.add_argument("--html", metavar="FILE", help="write the report as one self-contained web page: questions "
                        "per week by reply, votes, unanswered questions, sections voted down, the index")
    report.add_argument("--weeks", type=int, default=12, help="weeks in the charts (default 12)")
    learning = report.add_mutually_exclusive_group()
    learning.add_argument("--suggest", action="store_true",
                          help="(question -> section) pairs from 👍 votes and resolved hand-offs, for approval")
    learning.add_argument("--approve", nargs="+", metavar="ID",
                          help="write these suggestions to knowledge/examples.approved.toml")
    learning.add_argument("--reject", nargs="+", metavar="ID", help="never propose these suggestions again")
    learning.add_argument("--export-approved", action="store_true",
                          help="write every approval the store remembers (CLI and Teams triage card) to "
                               "knowledge/examples.approved.toml, e.g. from a server whose knowledge/ is read-only")
    report.add_argument("--index", help="index folder the suggestions' sections must be in, and whose build the "
                        "--html/--summary report names (default: INDEX_DIR)")
    report.add_argument("--knowledge", help="folder of examples.approved.toml (default: beside SOURCES_FILE)")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`python -m bot ask ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except IndexerError as exc:     # no index and none could be built, or a gated index in the way
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    settings = Settings.from_env()
    if args.command in (None, "serve"):
        if args.command is None:
            args.index = args.port = None
        return _cmd_serve(args, settings)
    if args.command == "ask":
        logging.getLogger().setLevel(logging.WARNING)
        return _cmd_ask(args, settings)
    return _cmd_report(args, settings)
