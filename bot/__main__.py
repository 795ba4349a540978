"""Temporary terminal front end until the Teams app lands: ask questions on stdin."""

import sys

from indexer.build import DEFAULT_INDEX, build
from indexer.errors import IndexLoadError
from indexer.index import Index


def main() -> int:
    try:
        index = Index.load(DEFAULT_INDEX)
    except IndexLoadError:
        build()
        index = Index.load(DEFAULT_INDEX)
    print(f"handbook-bot (terminal): {len(index.sections)} sections. Ask a question, Ctrl-D to quit.")
    for line in sys.stdin:
        hits = index.search(line.strip(), 3)
        for h in hits:
            print(f"- {' › '.join(h.section.breadcrumb)}\n  {h.section.url}\n  {h.passage_text[:300]}")
    return 0


sys.exit(main())
