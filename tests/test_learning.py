"""Learning from use (issue 13), end to end with the real store: questions voted 👍 and hand-offs DAPA
resolved with a section become suggestions (``python -m bot report --suggest``), approval writes them to
``knowledge/examples.approved.toml`` (``--approve``), rejection remembers them (``--reject``), and nothing
that looks like personal data is ever proposed. SQLite always; PostgreSQL with TEST_DATABASE_URL (each
test gets a database of its own, as in test_feedback_contract.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from bot.cli import main
from bot.feedback import open_store
from bot.feedback.store import TurnRecord
from bot.learning.approved import read_approved
from bot.learning.privacy import load_names, personal_data
from bot.learning.store import open_learning_store
from bot.learning.suggest import Evidence, suggest
from bot.settings import Settings
from conftest import REPO, scratch_postgres

# --- pure parts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,why", [
    ("please email jane.doe@ct.gov about my dataset", "email"),
    ("call me at (860) 555-0100 about publishing", "phone"),
    ("my number is +1 860 555 0100", "phone"),
    ("my SSN 123-45-6789 is in the file", "number"),
    ("employee id 20231187 cannot publish", "number"),
    ("can Maria Lopez approve my dataset", "name"),
    ("ask @jsmith how to publish", "mention"),
    ("<at>Handbook Bot</at> how do I publish", "mention"),
])
def test_personal_data_is_recognised(text, why):
    assert personal_data(text) == why


def test_names_from_the_dapa_list_and_handbook_words(tmp_path):
    names_file = tmp_path / "personal_names.txt"
    names_file.write_text("# names DAPA never wants proposed\nPriya\nvan der Berg  # a surname\n", encoding="utf-8")
    names = load_names(names_file)
    assert names == {"priya", "van der berg"}
    assert personal_data("priya said I should ask here", names) == "name"
    assert personal_data("is Mr van der Berg the custodian", names) == "name"
    vocab = {"open", "data", "portal", "how", "do", "i", "use", "the"}
    assert personal_data("How do I use the Open Data Portal", names, vocab) is None
    assert personal_data("how do I publish a dataset", names, vocab) is None
    assert personal_data("how do I use the Open Data Portal, Jane Smith", names, vocab) == "name"


def ev(q, url="u1", up=1, down=0, at="2026-11-01T00:00:00", resolved=None, top=True):
    return Evidence(uuid.uuid4().hex, q, at, url if top else None, up, down, resolved)


def test_a_resolution_wins_over_a_pick_and_a_pick_over_an_upvote():
    base = dict(turn_id="t", question="where is the metadata form", asked_at="2026-11-01T00:00:00", top_url="u1")
    assert Evidence(**base, up_votes=1).vouched() == ("u1", "upvote")
    assert Evidence(**base, up_votes=1, picked_url="u2").vouched() == ("u2", "picked")
    assert Evidence(**base, picked_url="u2").vouched() == ("u2", "picked")
    assert Evidence(**base, up_votes=1, picked_url="u2", resolved_url="u3").vouched() == ("u3", "resolved")
    found, _ = suggest([Evidence(**base, picked_url="u2"), Evidence(**{**base, "turn_id": "t2"}, up_votes=1)])
    assert sorted((s.url, s.sources) for s in found) == [("u1", {"upvote": 1}), ("u2", {"picked": 1})]


def test_suggest_groups_near_duplicates_ranks_by_frequency_and_skips_what_is_known():
    log = [
        ev("How do I retire a dataset?"), ev("how do i retire a dataset"), ev("How do I retire a data set?"),
        ev("how do I retire my dataset", at="2026-11-05T00:00:00"),
        ev("who approves a new dataset", url="u2"), ev("who approves a new dataset", url="u2"),
        ev("who approves a new dataset", url="u3", up=1, down=2),          # voted down more: no evidence
        ev("where is the metadata form", url="u9", up=0, resolved="u4"),   # resolved hand-off: its section
        ev("where is the metadata form", url="u4", up=0),                  # no vote: no evidence
        ev("publish dataset"),                                             # too short
        ev("email me at a.b@ct.gov about retiring"),                       # personal
        ev("what counts as open data", url="u5"),                          # already an example
    ]
    found, skipped = suggest(log, known={"u5": ["What counts as open data?"]})
    assert [(s.url, s.count) for s in found] == [("u1", 4), ("u2", 2), ("u4", 1)]
    retire = found[0]
    assert retire.question == "How do I retire a dataset?" or retire.question == "how do i retire a dataset"
    assert set(map(str.casefold, retire.phrasings)) >= {"how do i retire my dataset", "how do i retire a data set?"}
    assert found[2].sources == {"resolved": 1}
    assert skipped.personal == 1 and skipped.known == 1
    assert len({s.id for s in found}) == 3
    again, _ = suggest(list(reversed(log)), known={"u5": ["What counts as open data?"]})
    assert [s.id for s in again] == [s.id for s in found]        # ids do not depend on log order


# --- end to end: the real store and the CLI --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path, bundled_index):
    index_dir, _ = bundled_index
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "personal_names.txt").write_text("Priya\n", encoding="utf-8")
    base = Settings(index_dir=index_dir, feedback_db=tmp_path / "feedback.sqlite3",
                    sources_file=knowledge / "sources.toml")
    if request.param == "sqlite":
        yield base
        return
    with scratch_postgres() as (url, _, _):
        yield base.with_(database_url=url)


def run_cli(settings: Settings, monkeypatch, capsys, *argv) -> tuple[int, str, str]:
    env = {"INDEX_DIR": str(settings.index_dir), "FEEDBACK_DB": str(settings.feedback_db),
           "SOURCES_FILE": str(settings.sources_file), "DATABASE_URL": settings.database_url}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def ask(store, question, url, vote=None, user="u"):
    record = TurnRecord(question=question, decision="answer", top_url=url, user_hash=user, conversation_type="personal")
    store.record_turn(record)
    if vote:
        assert store.record_vote(record.turn_id, vote, user)
    return record.turn_id


def seed(settings, bundled_index):
    """A question log: repeated helpful answers, a resolved hand-off, and personal data everywhere else."""
    _, index = bundled_index
    urls = [s.url for s in index.sections]
    a, b, c = urls[1], urls[2], urls[-1]
    store = open_store(settings)
    learning = open_learning_store(settings)
    try:
        for i, q in enumerate(["How do I publish a dataset on the portal?", "how do I publish a dataset on the portal",
                               "How do I publish my dataset on the portal?"]):
            ask(store, q, a, "up", user=f"u{i}")
        ask(store, "who decides which datasets are published", b, "up")
        ask(store, "who decides which datasets are published", b, "up", user="u9")
        handed = TurnRecord(question="where do I send questions the handbook does not answer", decision="handoff",
                            top_url=None, user_hash="u5", conversation_type="channel")
        store.record_turn(handed)
        assert learning.record_resolution(handed.turn_id, c, "dapa-1")
        assert not learning.record_resolution("no-such-turn", c)
        for q in ["email jane.doe@ct.gov how to publish a dataset", "call me on 860-555-0100 about a dataset",
                  "Priya told me to ask how to publish", "can Maria Lopez approve my dataset",
                  "employee 20231187 asks"]:
            ask(store, q, a, "up", user="u7")
        ask(store, "how do I delete a dataset from the portal", a, "down")   # voted down: not evidence
    finally:
        store.close()
        learning.close()
    return a, b, c


def suggestions(settings, monkeypatch, capsys) -> list[dict]:
    code, out, err = run_cli(settings, monkeypatch, capsys, "--suggest", "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_suggest_approve_reject_round_trip(settings, bundled_index, monkeypatch, capsys):
    a, b, c = seed(settings, bundled_index)
    found = suggestions(settings, monkeypatch, capsys)
    assert [(s["url"], s["count"]) for s in found] == [(a, 3), (b, 2), (c, 1)]
    assert found[0]["sources"] == {"upvote": 3} and found[2]["sources"] == {"resolved": 1}
    assert len(found[0]["variants"]) == 1          # two phrasings (one differing only in case) are one

    code, out, _ = run_cli(settings, monkeypatch, capsys, "--suggest")
    assert code == 0 and found[0]["id"] in out and "look like personal data" in out

    approved_file = settings.sources_file.parent / "examples.approved.toml"
    code, _, err = run_cli(settings, monkeypatch, capsys, "--approve", found[0]["id"], "nosuchid")
    assert code == 1 and "nosuchid" in err
    assert not approved_file.exists()               # an unknown id: nothing written at all

    code, out, _ = run_cli(settings, monkeypatch, capsys, "--approve", found[0]["id"], found[2]["id"])
    assert code == 0 and "approved" in out
    written = read_approved(approved_file)
    assert set(written) == {a, c}
    assert len(written[a]) == 2 and written[c] == ["where do I send questions the handbook does not answer"]

    code, _, _ = run_cli(settings, monkeypatch, capsys, "--reject", found[1]["id"])
    assert code == 0
    assert suggestions(settings, monkeypatch, capsys) == []      # approved and rejected: never again
    assert set(read_approved(approved_file)) == {a, c}           # rejecting wrote nothing to knowledge/

    store = open_store(settings)                                 # a new phrasing of a rejected one: still not
    try:
        ask(store, "Who decides which datasets are published?", b, "up")
        ask(store, "how can I fix a typo in a published dataset", b, "up")
        ask(store, "who owns the published data", b, "up")
    finally:
        store.close()
    found = suggestions(settings, monkeypatch, capsys)
    assert sorted(s["question"] for s in found) == ["how can I fix a typo in a published dataset",
                                                    "who owns the published data"]
    code, _, _ = run_cli(settings, monkeypatch, capsys, "--approve", *[s["id"] for s in found])
    assert code == 0                                             # two suggestions for one section: both kept
    assert sorted(read_approved(approved_file)[b]) == sorted(s["question"] for s in found)


def test_no_personal_data_in_suggestions_or_knowledge(settings, bundled_index, monkeypatch, capsys):
    seed(settings, bundled_index)
    found = suggestions(settings, monkeypatch, capsys)
    text = json.dumps(found)
    for needle in ("jane", "555", "priya", "maria", "lopez", "20231187", "@"):
        assert needle not in text.casefold()
    assert all(personal_data(p) is None for s in found for p in [s["question"], *s["variants"]])
    code, _, _ = run_cli(settings, monkeypatch, capsys, "--approve", *[s["id"] for s in found])
    assert code == 0
    written = (settings.sources_file.parent / "examples.approved.toml").read_text(encoding="utf-8").casefold()
    for needle in ("jane", "555", "priya", "maria", "20231187"):
        assert needle not in written


def test_suggestions_need_a_section_the_index_holds(settings, bundled_index, monkeypatch, capsys):
    store = open_store(settings)
    try:
        ask(store, "how do I publish the old way", "https://example.org/removed-page/#gone", "up")
    finally:
        store.close()
    code, out, _ = run_cli(settings, monkeypatch, capsys, "--suggest")
    assert code == 0 and "No suggestions" in out and "no longer holds" in out


def test_knowledge_has_no_approved_questions_without_approval():
    """The repository's approved-examples file, if any, is the approval command's output, byte for byte."""
    from bot.learning.approved import format_approved

    approved = REPO / "knowledge" / "examples.approved.toml"
    if approved.exists():
        assert approved.read_text(encoding="utf-8") == format_approved(read_approved(approved))


def test_concurrent_approvals_from_several_processes_are_all_kept(tmp_path):
    """Bot workers and the CLI may approve at the same moment: the file is read, merged and replaced under a
    lock on its folder, so no approval overwrites another."""
    import subprocess
    import sys

    path = tmp_path / "knowledge" / "examples.approved.toml"
    code = ("import sys\nfrom bot.learning.approved import add_approved\n"
            "w = sys.argv[1]\n"
            "for i in range(15):\n"
            "    add_approved(sys.argv[2], {f'https://h/#s{i % 3}': [f'question {i} from worker {w}']})\n")
    workers = [subprocess.Popen([sys.executable, "-c", code, str(w), str(path)], cwd=REPO) for w in range(4)]
    assert [p.wait(timeout=120) for p in workers] == [0] * 4
    written = read_approved(path)
    assert sum(len(v) for v in written.values()) == 60
