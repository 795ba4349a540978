"""`python -m bot report --html FILE`: one self-contained page whose numbers are those of
`report --json --summary` and `report --json`, from a real SQLite store; it renders in headless Chromium
(inside a loopback-only network namespace) and stays readable on a phone-sized screen."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.decision.kinds import Kind
from bot.feedback.report import TIERS, summary, tier_of, week_of
from bot.feedback.report_html import render
from bot.feedback.sqlite import SQLiteFeedbackStore
from bot.feedback.store import Activity, TurnRecord
from conftest import REPO, skip_or_fail

SITE = "https://ctopendata.github.io/open-data-handbook"
RETIRE = SITE + "/open_data_resources/data_retirement#how-to-retire-a-dataset"
METADATA = SITE + "/data-publication-steps/3_create_metadata#metadata-fields"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = 360   # CSS pixels: a small phone


def test_every_kind_is_a_tier_or_small_talk():
    """A new decision kind must be given a tier here (bot/feedback/report.py: tier_of)."""
    for kind in Kind:
        assert (tier_of(kind.value) is None) == kind.small_talk, kind
    assert [tier_of(k) for k in ("answer", "answer_with_alternatives", "unsure", "escalate", "handoff")] == \
           ["answered", "answered", "unsure", "handed_off", "handed_off"]


def test_weeks_start_on_monday_utc():
    assert week_of("2026-12-01T17:00:00+00:00").isoformat() == "2026-11-30"
    assert week_of("2026-11-30T01:00:00+05:00").isoformat() == "2026-11-23"   # still Sunday in UTC
    assert week_of("2026-11-29T23:59:59Z").isoformat() == "2026-11-23"


@pytest.fixture
def store_with_history(tmp_path: Path):
    """A real SQLite store with turns over three weeks (timestamps moved back in the file)."""
    db = tmp_path / "feedback.sqlite3"
    store = SQLiteFeedbackStore(db)
    now = datetime.now(timezone.utc)
    plan = [  # (days ago, kind, top_url, votes)
        (0, "answer", RETIRE, ["up"]), (0, "answer", RETIRE, ["down", "down"]), (1, "escalate", None, []),
        (1, "escalate", METADATA, []), (2, "answer_with_alternatives", METADATA, ["down"]),
        (8, "answer", RETIRE, ["up", "up"]), (8, "handoff", None, []), (9, "unsure", METADATA, ["down"]),
        (16, "answer", METADATA, []), (16, "escalate", None, ["down"]), (400, "answer", RETIRE, ["up"]),
    ]
    questions = ["how do I retire a dataset", "How do I retire a dataset?", "how do i get an api key <script>",
                 "how do i get an api key <script>", "metadata fields", "retire dataset", "talk to a person",
                 "which fields are required", "metadata", "how do i get an api key <script>", "old question"]
    moved = []
    for i, ((days, kind, url, votes), question) in enumerate(zip(plan, questions)):
        turn = TurnRecord(question, kind, url, f"user{i}", "personal")
        store.record_turn(turn)
        for j, vote in enumerate(votes):
            assert store.record_vote(turn.turn_id, vote, f"voter{j}")
        moved.append(((now - timedelta(days=days)).isoformat(timespec="microseconds"), turn.turn_id))
    store.close()
    with sqlite3.connect(db) as conn:
        table = next(name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                     if "turns" in name)
        conn.executemany(f"UPDATE {table} SET asked_at = ? WHERE id = ?", moved)
    return db


@pytest.fixture
def index_meta(tmp_path: Path) -> Path:
    index = tmp_path / "index"
    index.mkdir()
    (index / "meta.json").write_text(json.dumps({
        "format": "handbook-bot index", "format_version": 3, "built_at": "2026-11-30T06:17:03Z", "sections": 108,
        "pages": 25, "sources": [{"name": "handbook", "commit": "e2a198205a72c0ffee00"}, {"name": "faq"}],
        "gate": {"passed_at": "2026-11-30T06:18:00Z"}}), encoding="utf-8")
    return index


def _bot(*args: str, db: Path, index: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(FEEDBACK_DB=str(db), INDEX_DIR=str(index))
    return subprocess.run([sys.executable, "-m", "bot", "report", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


class _Tables(HTMLParser):
    """Rows of every <table id=...> and the totals cards of the page, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.cards: dict[str, str] = {}
        self.tags: set[str] = set()
        self.links: list[str] = []
        self._table = self._card = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        for name in ("src", "href"):
            if attrs.get(name):
                self.links.append(attrs[name])
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "div" and "data-key" in attrs:
            self._card, self.cards[attrs["data-key"]] = attrs["data-key"], ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "b":
            self._card = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._card:
            self.cards[self._card] += data


def test_html_numbers_match_the_json_report(tmp_path, store_with_history, index_meta):
    page = tmp_path / "report.html"
    done = _bot("--html", str(page), db=store_with_history, index=index_meta)
    assert done.returncode == 0, done.stderr
    assert str(page) in done.stdout
    data = json.loads(_bot("--json", "--summary", db=store_with_history, index=index_meta).stdout)
    rows = [json.loads(line) for line in _bot("--json", db=store_with_history, index=index_meta).stdout.splitlines()]

    assert data["totals"] == {"questions": 11, "answered": 6, "unsure": 1, "handed_off": 4, "up": 4, "down": 5}
    weeks = {w["week"]: w for w in data["weeks"]}
    assert len(weeks) == 12 and sum(w["answered"] + w["unsure"] + w["handed_off"] for w in weeks.values()) == 10
    assert data["unanswered"] == rows and rows[0]["question"] == "how do i get an api key <script>"
    assert data["sections_voted_down"] == [{"url": RETIRE, "shown": 4, "up": 4, "down": 2},
                                           {"url": METADATA, "shown": 3, "up": 0, "down": 2}]
    assert data["index"]["built_at"] == "2026-11-30T06:17:03Z"

    html = page.read_text(encoding="utf-8")
    parsed = _Tables()
    parsed.feed(html)
    assert {k: int(v.replace(",", "")) for k, v in parsed.cards.items()} == data["totals"]
    week_rows = parsed.tables["weeks"][1:]
    assert [[r[0], *map(int, r[1:])] for r in week_rows] == \
           [[w["week"], *(w[k] for k in (*TIERS, "up", "down"))] for w in reversed(data["weeks"])]
    shown = parsed.tables["unanswered"][1:]
    assert [[int(r[1]), int(r[2]), int(r[3])] for r in shown] == [[r["count"], r["escalated"], r["down_votes"]]
                                                                for r in rows]
    assert all(cell[0].startswith(r["question"]) for cell, r in zip(shown, rows))
    assert [[r[0], int(r[1]), int(r[2]), int(r[3])] for r in parsed.tables["sections"][1:]] == \
           [[s["url"], s["down"], s["up"], s["shown"]] for s in data["sections_voted_down"]]
    assert "e2a198205a" in html and "2026-11-30T06:17:03Z" in html
    # self-contained and safe: no script, no external asset, user text escaped
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert all(link.startswith(SITE) for link in parsed.links), parsed.links
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<meta name="viewport"' in html


def test_report_of_an_empty_store_renders(tmp_path):
    html = render(summary([], [], None))
    assert "None yet." in html and "No section has a 👎 yet." in html
    activity = [Activity("2026-12-01T10:00:00+00:00", "greeting", None)]
    assert summary(activity, [], None)["totals"]["questions"] == 0


# ------------------------------------------------------------------------------------ browser
def _chromium_problem() -> str | None:
    if not Path(CHROMIUM).exists():
        return "chromium is missing: `apt-get install chromium` (Debian's; the browser never runs outside `unshare -n`)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare (util-linux) and ip (iproute2) are needed to keep chromium on loopback"
    if os.geteuid() != 0:
        return "unshare -n needs root here"
    return None


def _chromium(*args: str, work: Path) -> subprocess.CompletedProcess:
    """Headless Chromium in a new network namespace with only loopback up: it cannot reach anything."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             f"--user-data-dir={work / 'profile'}", "--disable-extensions", "--disable-background-networking"]
    script = 'ip link set lo up && exec "$@"'
    return subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", CHROMIUM, *flags, *args],
                          capture_output=True, text=True, timeout=120)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_report_renders_in_headless_chromium_on_a_phone(tmp_path, store_with_history, index_meta):
    problem = _chromium_problem()
    if problem:
        skip_or_fail(problem)
    page = tmp_path / "report.html"
    assert _bot("--html", str(page), db=store_with_history, index=index_meta).returncode == 0
    # The page at phone width inside an iframe (a headless window is at least 500 px wide), with a probe in
    # the parent that writes the laid-out sizes into the DOM (the report itself has no script).
    probe = tmp_path / "probe.html"
    probe.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="r" style="width:{PHONE}px;height:2400px;border:0" '
        f'srcdoc="{escape(page.read_text(encoding="utf-8"), quote=True)}"></iframe><script>'
        "document.getElementById('r').addEventListener('load', () => { const d = document.getElementById('r')"
        ".contentDocument; document.body.dataset.layout = JSON.stringify({scroll: d.documentElement.scrollWidth, "
        "width: d.documentElement.clientWidth, rects: d.querySelectorAll('svg rect').length, "
        "rows: d.querySelectorAll('#weeks tbody tr').length}); });</script></body></html>", encoding="utf-8")
    dom = _chromium("--window-size=800,800", "--virtual-time-budget=3000", "--dump-dom", probe.as_uri(), work=tmp_path)
    layout = re.search(r'data-layout="([^"]+)"', dom.stdout)
    assert layout, dom.stderr[-2000:]
    measured = json.loads(unescape(layout.group(1)))
    assert measured["width"] == PHONE and measured["scroll"] <= PHONE, measured   # no sideways scrolling on a phone
    assert measured["rects"] > 5 and measured["rows"] == 12, measured              # the charts and the table drew

    shot = tmp_path / "report.png"
    done = _chromium("--window-size=390,1400", f"--screenshot={shot}", page.as_uri(), work=tmp_path)
    assert shot.is_file(), done.stderr[-2000:]
    assert _png_size(shot) == (390, 1400)
    if os.environ.get("REPORT_SAVE_SCREENSHOT"):   # the README's picture: twelve weeks of demo data
        demo = tmp_path / "demo.html"
        demo.write_text(render(_demo()), encoding="utf-8")
        out = REPO / "docs" / "screenshots" / "report.png"
        _chromium("--window-size=390,1500", f"--screenshot={out}", demo.as_uri(), work=tmp_path)
        assert _png_size(out) == (390, 1500)


def _demo() -> dict:
    """Twelve weeks of made-up traffic (seeded), for the README screenshot only."""
    import random

    from bot.feedback.store import ReportRow

    rng = random.Random(12)
    today = datetime.now(timezone.utc)
    urls = [RETIRE, METADATA, SITE + "/faq/#:~:text=What%20is%20open%20data%3F"]
    activity = []
    for day in range(84):
        for _ in range(rng.randint(2, 8)):
            kind = rng.choice(["answer"] * (5 + (84 - day) // 14) + ["answer_with_alternatives", "unsure",
                                                                     "escalate", "handoff"])
            activity.append(Activity((today - timedelta(days=day, hours=rng.random() * 20)).isoformat(), kind,
                                     rng.choice(urls), int(rng.random() < 0.3), int(rng.random() < 0.08)))
    rows = [ReportRow("how do i get an api key for the portal", 7, 6, 1, today.isoformat(), None),
            ReportRow("who approves a new dataset at my agency", 4, 3, 1, today.isoformat(), METADATA),
            ReportRow("can i publish data with addresses in it", 3, 3, 0, today.isoformat(), None)]
    meta = {"built_at": "2026-11-30T06:17:03Z", "sections": 108, "pages": 25,
            "sources": [{"name": "handbook", "commit": "e2a198205a72"}, {"name": "faq"}],
            "gate": {"passed_at": "2026-11-30T06:18:00Z"}}
    return summary(activity, rows, meta)
