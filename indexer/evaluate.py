"""Retrieval quality on a gold question set, for this index and any baselines in the same run (the
baselines themselves are development tools: tests/support/baselines.py).

Metrics follow ``../shared/eval/score.py``: top-1 exact, top-1 page, recall@3 (exact), MRR@10
(exact). A link matches a gold target when its page path matches and its fragment is one of the
gold anchors (no fragment = the page's first heading); FAQ gold items also accept a ``#:~:text=``
fragment that starts the question and no other FAQ question.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from indexer.index import Index
from indexer.model import Section

Ranking = Callable[[str, int], list[str]]


def load_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _norm_path(path: str, base_path: str) -> str:
    path = unquote(path).lower()
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        path = path[len(base_path):]
    path = re.sub(r"/index\.html?$", "/", path)
    path = re.sub(r"\.html?$", "", path)
    return path.rstrip("/") or "/"


def _canon(text: str) -> str:
    return " ".join(text.split()).casefold()


class LinkMatcher:
    """Decides whether a ranked link hits a gold target (see module docstring)."""

    def __init__(self, sections: list[Section], faq_questions: list[str]):
        site = sections[0].url.split("#")[0] if sections else ""
        parts = urlsplit(site)
        self.host = parts.netloc.lower()
        first = sections[0] if sections else None
        self.base_path = ""
        if first:
            full = urlsplit(first.site_page).path.rstrip("/")
            page = first.page_url.rstrip("/")
            self.base_path = (full[: len(full) - len(page)] if page and full.endswith(page) else full).lower()
        self.page_top: dict[str, str] = {}
        for s in sections:
            if s.anchor and s.kind == "section":
                self.page_top.setdefault(self.path_of(s.url)[0], s.anchor)
        self.faqs = {_canon(q) for q in faq_questions}

    def path_of(self, url: str) -> tuple[str, str, list[str]]:
        parts = urlsplit(url)
        frag = unquote(parts.fragment)
        anchor, _, directives = frag.partition(":~:")
        starts = []
        for d in directives.split("&") if directives else []:
            if d.startswith("text="):
                pieces = [p for p in d[5:].split(",") if p and not p.endswith("-") and not p.startswith("-")]
                if pieces:
                    starts.append(pieces[0])
        return _norm_path(parts.path, self.base_path), anchor, starts

    def _faq_ok(self, start: str, question: str) -> bool:
        t, q = _canon(start), _canon(question)
        if not t or not q.startswith(t):
            return False
        return t == q or not any(o != q and o.startswith(t) for o in self.faqs)

    def exact(self, url: str, gold: dict) -> tuple[bool, bool]:
        path, anchor, starts = self.path_of(url)
        page = exact = False
        for target in [gold, *gold.get("also", [])]:
            gpath = _norm_path(target["url"], "")
            if path != gpath:
                continue
            page = True
            if target.get("faq"):
                ok = (any(self._faq_ok(t, target["faq"]) for t in starts) if starts
                      else anchor in ("", self.page_top.get(gpath, "")))
            elif not target.get("anchors"):
                ok = True
            elif anchor:
                ok = anchor in target["anchors"]
            else:
                ok = not starts and self.page_top.get(gpath) in target["anchors"]
            exact = exact or ok
        return page, exact


def evaluate(rank: Ranking, gold: list[dict], matcher: LinkMatcher) -> dict:
    n = len(gold)
    t1e = t1p = r3 = 0
    mrr = 0.0
    misses = []
    for g in gold:
        urls = rank(g["q"], 10)
        flags = [matcher.exact(u, g) for u in urls]
        first = next((i for i, (_, e) in enumerate(flags) if e), None)
        t1e += bool(flags) and flags[0][1]
        t1p += bool(flags) and flags[0][0]
        r3 += first is not None and first < 3
        mrr += 0.0 if first is None else 1.0 / (first + 1)
        if not (flags and flags[0][1]):
            misses.append({"id": g["id"], "q": g["q"], "rank": None if first is None else first + 1,
                           "got": urls[0] if urls else None})
    return {"n": n, "top1_exact": t1e / n, "top1_page": t1p / n, "recall@3": r3 / n, "mrr@10": mrr / n,
            "misses": misses}


def index_ranking(index: Index) -> Ranking:
    return lambda q, k: [h.section.url for h in index.search(q, k).hits]


def faq_questions(sections: list[Section], gold: list[dict]) -> list[str]:
    qs = [s.heading for s in sections if s.kind == "faq"]
    qs += [t["faq"] for g in gold for t in [g, *g.get("also", [])] if t.get("faq")]
    return qs


def compare_methods(index: Index, gold: list[dict], baselines: dict[str, Ranking] | None = None) -> dict[str, dict]:
    """This index and ``baselines`` (name -> ranking over the same sections) on the same questions."""
    matcher = LinkMatcher(index.sections, faq_questions(index.sections, gold))
    results = {"this index": evaluate(index_ranking(index), gold, matcher)}
    for name, rank in (baselines or {}).items():
        results[name] = evaluate(rank, gold, matcher)
    return results


def format_table(results: dict[str, dict]) -> str:
    lines = [f"{'method':<18} {'top-1 exact':>11} {'top-1 page':>10} {'recall@3':>9} {'MRR@10':>7}"]
    for name, r in results.items():
        lines.append(f"{name:<18} {r['top1_exact']:>11.3f} {r['top1_page']:>10.3f} {r['recall@3']:>9.3f} "
                     f"{r['mrr@10']:>7.3f}")
    return "\n".join(lines)
