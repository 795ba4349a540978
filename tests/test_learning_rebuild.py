"""Approved questions at the next build (issue 13): ``report --approve`` writes
``knowledge/examples.approved.toml``, ``make reindex`` (deploy/reindex.py) indexes it like the team's
examples, lists what is new in its change report, records it in the gated index, and refuses an index
whose approved questions lower quality on the gate's questions. Real store, real files, real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.feedback import open_store
from bot.feedback.store import TurnRecord
from conftest import REPO, SITE
from indexer.build import build
from indexer.examples import load_example_files
from indexer.index import Index

REINDEX = REPO / "deploy" / "reindex.py"
QUESTIONS = [
    {"id": "g1", "q": "what is open data", "url": "/", "anchors": ["what-is-open-data"]},
    {"id": "g2", "q": "who is the data custodian at my agency", "url": "/", "anchors": ["open-data-roles"]},
    {"id": "g3", "q": "how do I contact the open data team", "url": "/", "anchors": ["get-in-touch"]},
]


@pytest.fixture
def knowledge(tmp_path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for name in ("index.md", "faq.md"):
        shutil.copy(REPO / "knowledge" / name, folder / name)
    (folder / "sources.toml").write_text(
        f'[[source]]\nname = "bundled"\npath = "."\nsite = "{SITE}"\ninclude = ["index.md", "faq.md"]\n',
        encoding="utf-8")
    (folder / "examples.toml").write_text("", encoding="utf-8")
    (tmp_path / "gate.toml").write_text('min_pages = 1\nmin_sections = 1\n\n[[questions]]\nfile = "q.jsonl"\n'
                                        "max_drop = 0.05\n", encoding="utf-8")
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return folder


def reindex(tmp_path: Path, knowledge: Path, live: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REINDEX), "--sources", str(knowledge / "sources.toml"), "--index",
                           str(live), "--gate", str(tmp_path / "gate.toml"), "--cache", str(tmp_path / "cache"),
                           "--synonyms", str(REPO / "knowledge" / "synonyms.txt")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def approve(monkeypatch, capsys, tmp_path, knowledge, index_dir, question, url) -> None:
    """One employee's 👍 on ``question`` answered with ``url``, then its approval from the CLI."""
    monkeypatch.setenv("FEEDBACK_DB", str(tmp_path / "feedback.sqlite3"))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("SOURCES_FILE", str(knowledge / "sources.toml"))
    monkeypatch.setenv("INDEX_DIR", str(index_dir))
    from bot.settings import Settings

    store = open_store(Settings.from_env())
    try:
        record = TurnRecord(question, "answer", url, "u1", "personal")
        store.record_turn(record)
        store.record_vote(record.turn_id, "up", "u1")
    finally:
        store.close()
    capsys.readouterr()
    assert main(["report", "--suggest", "--json"]) == 0
    (found,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["report", "--approve", found["id"]]) == 0


def section(index: Index, anchor: str) -> str:
    return next(s.url for s in index.sections if s.anchor == anchor)


def test_approved_questions_are_indexed_reported_and_gated(tmp_path, knowledge, monkeypatch, capsys):
    live = tmp_path / "var" / "index"
    first = reindex(tmp_path, knowledge, live)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "approved example questions: 0" in first.stdout
    index = Index.load(live)
    roles = section(index, "open-data-roles")
    question = "which person at my agency handles the extract from our system of record"

    approve(monkeypatch, capsys, tmp_path, knowledge, live, question, roles)
    assert [e.text for e in load_example_files(knowledge / "examples.toml")] == [question]

    second = reindex(tmp_path, knowledge, live)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "approved example questions: 1 (1 new, 0 removed since the live index)" in second.stdout
    assert f"+ {question!r} -> {roles}" in second.stdout
    assert "without the approved example questions" in second.stdout
    rebuilt = Index.load(live)
    assert rebuilt.meta["approved_examples"] == [[roles, question]]
    assert rebuilt.meta["examples"] == 1
    assert rebuilt.ranker.example_approved.tolist() == [True]   # indexed as approved from use, not as the team's
    assert rebuilt.search(question, 1).hits[0].section.url == roles



def test_the_gate_compares_with_and_without_the_approved_questions(tmp_path, knowledge, monkeypatch, capsys):
    """The gate scores the candidate against the same sections without the approved questions. How much one
    approval moves the ranking is the ranker's business, so the refusal is forced by the tolerance: a gate
    that wants approvals to raise every metric by 0.5 (``approved_max_drop = -0.5``) refuses them."""
    live = tmp_path / "var" / "index"
    assert reindex(tmp_path, knowledge, live).returncode == 0
    index = Index.load(live)
    approve(monkeypatch, capsys, tmp_path, knowledge, live, "who looks after the extract from our system",
            section(index, "open-data-roles"))
    gate = tmp_path / "gate.toml"
    gate.write_text("approved_max_drop = -0.5\n" + gate.read_text(encoding="utf-8"), encoding="utf-8")
    done = reindex(tmp_path, knowledge, live)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "GATE FAILED" in done.stdout
    assert "with the approved example questions (examples.approved.toml)" in done.stdout
    assert Index.load(live).meta.get("approved_examples") == []     # the live index is unchanged


def test_a_plain_build_indexes_the_approved_file_too(tmp_path, knowledge):
    (knowledge / "examples.approved.toml").write_text(
        f'[[section]]\nurl = "{SITE}/#open-data-roles"\nexamples = ["who extracts the records from our system"]\n',
        encoding="utf-8")
    result = build(knowledge / "sources.toml", tmp_path / "index", tmp_path / "cache")
    assert result.ok and result.index.meta["examples"] == 1


def test_training_reads_the_examples_the_shipped_index_holds(tmp_path, knowledge):
    """``make train`` fits the reranker on features of an index holding the team's examples as the shipped build
    indexes them; questions approved from use are the build's ``approved`` field, not team examples."""
    from benchmarks.quality.training import starter_examples

    (knowledge / "examples.toml").write_text(
        f'[[section]]\nurl = "{SITE}/#what-is-open-data"\nexamples = ["what does open data mean here"]\n',
        encoding="utf-8")
    (knowledge / "examples.approved.toml").write_text(
        f'[[section]]\nurl = "{SITE}/#open-data-roles"\nexamples = ["who extracts the records from our system"]\n',
        encoding="utf-8")
    result = build(knowledge / "sources.toml", tmp_path / "index", tmp_path / "cache")
    assert result.ok and result.index.meta["examples"] == 2
    ranker = result.index.ranker
    sections = list(result.index.sections)
    indexed = sorted((sections[int(r)].anchor, bool(a)) for r, a in zip(ranker.example_owner, ranker.example_approved))
    assert indexed == [("open-data-roles", True), ("what-is-open-data", False)]
    pairs = starter_examples(sections, knowledge / "examples.toml")
    assert sorted((sections[row].anchor, text) for row, text in pairs) == [
        ("what-is-open-data", "what does open data mean here")]


def test_the_reranker_trains_with_a_fixed_share_of_sections_without_examples():
    """``make train`` fits the reranker on an index where a fixed random share of the sections have no
    examples (the shipped index meets such sections: a new page, the bundled seed's own headings)."""
    from benchmarks.quality.training import EXAMPLE_DROPOUT, dropped_sections, without_dropped

    dropped = dropped_sections(108, seed=0)
    assert 0 < EXAMPLE_DROPOUT < 1 and len(dropped) == round(EXAMPLE_DROPOUT * 108)
    assert dropped == dropped_sections(108, seed=0) and dropped != dropped_sections(108, seed=1)
    assert dropped <= set(range(108)) and dropped_sections(108, seed=0, share=0.0) == set()
    examples = [(row, f"question {row}") for row in range(108) for _ in range(2)]
    kept = without_dropped(examples, dropped)
    assert {row for row, _ in kept} == set(range(108)) - dropped and len(kept) == 2 * (108 - len(dropped))
