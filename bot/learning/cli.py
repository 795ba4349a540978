"""``python -m bot report --suggest | --approve ID... | --reject ID...`` (wired in ``bot/cli.py``)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from bot.learning.review import Knowledge, current_suggestions, export_approved, review
from bot.learning.store import open_learning_store


def run_learning(args, settings, load_index) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    knowledge = Knowledge(Path(args.knowledge) if args.knowledge else Path(settings.sources_file).parent)
    if getattr(args, "export_approved", False):
        store = open_learning_store(settings)
        try:
            added = export_approved(store, knowledge)
        finally:
            store.close()
        print(f"{added} approved question(s) added to {knowledge.approved}"
              + (": commit it (a pull request) and rebuild the index (`make reindex`) to use them" if added else ""))
        return 0
    index = load_index()
    store = open_learning_store(settings)
    try:
        if args.suggest:
            return _suggest(store, index, knowledge, settings, args)
        verdict = "approved" if args.approve else "rejected"
        chosen, unknown = review(store, index, knowledge, args.approve or args.reject, verdict,
                                 reviewer="cli", site=settings.handbook_url)
    finally:
        store.close()
    if unknown:
        print(f"error: not among the current suggestions: {' '.join(unknown)} (nothing was written; "
              "run `python -m bot report --suggest` for the current ids)", file=sys.stderr)
        return 1
    for s in chosen:
        n = len(s.phrasings)
        print(f"{verdict} {s.id}: {s.question!r} -> {s.url}" + (f" (+{n - 1} variants)" if n > 1 else ""))
    if verdict == "approved":
        print(f"written to {knowledge.approved}: commit it (a pull request) and rebuild the index "
              "(`make reindex`) to use them")
    return 0


def _suggest(store, index, knowledge: Knowledge, settings, args) -> int:
    found, skipped, gone = current_suggestions(store, index, knowledge, settings.handbook_url)
    found = found[: args.limit]
    if args.json:
        for s in found:
            print(json.dumps(s.to_json(), ensure_ascii=False))
        return 0
    titles = {s.url: " › ".join(s.breadcrumb) for s in index.sections}
    if not found:
        print("No suggestions: no new question was voted helpful or resolved with a section.")
    for s in found:
        src = ", ".join(f"{n} {k}" for k, n in sorted(s.sources.items()))
        print(f"{s.id}  {s.count:>3}x ({src}), last {s.last_seen[:10]}\n    {s.question!r}\n"
              f"    -> {titles.get(s.url, '')}  {s.url}")
        for v in s.variants:
            print(f"       also: {v!r}")
    notes = []
    if skipped.personal:
        notes.append(f"{skipped.personal} question(s) skipped: they look like personal data")
    if skipped.known:
        notes.append(f"{skipped.known} already examples, approved or rejected")
    if gone:
        notes.append(f"{gone} for sections the index no longer holds")
    if notes:
        print("(" + "; ".join(notes) + ")")
    if found:
        print("Approve: python -m bot report --approve ID ...   Reject: python -m bot report --reject ID ...")
    return 0
