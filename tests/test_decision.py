"""The decision module: intents, question cleaning, decide() on the bundled index, the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from bot_harness import build_bundled

from bot.decision.decide import clean_question, decide
from bot.decision.intents import detect_intent
from bot.decision.kinds import Kind


@pytest.fixture(scope="module")
def bundled_index(tmp_path_factory):
    return build_bundled(tmp_path_factory)


@pytest.mark.parametrize("text,intent", [
    ("hi", "greeting"), ("Hello there!", "greeting"), ("good morning everyone", "greeting"),
    ("thanks!", "thanks"), ("thank you so much", "thanks"), ("thx", "thanks"),
    ("help", "help"), ("what can you do?", "help"), ("", "help"),
    ("can I talk to a person", "handoff"), ("I want to speak with a human", "handoff"), ("agent", "handoff"),
    ("can you give me edit access to the DPH datasets", "action"), ("please reset my password", "action"),
    ("hi, how do I retire a dataset?", None), ("thanks, but what about metadata?", None),
    ("how do I contact DAPA", None), ("give me an example of good metadata", None),
])
def test_detect_intent(text, intent):
    assert detect_intent(text) == intent


def test_clean_question_truncates_and_strips_control_characters():
    text, truncated = clean_question("a\x00b\u202e  c " + "word " * 200, limit=50)
    assert truncated and len(text) <= 50 and "\x00" not in text and "\u202e" not in text and "  " not in text
    assert clean_question("  short  ") == ("short", False)


def test_in_scope_question_is_answered_with_deep_link(bundled_index):
    d = decide("who is the data steward at my agency?", bundled_index[1])
    assert d.kind in (Kind.ANSWER, Kind.ALTERNATIVES) and not d.escalates
    assert d.best.section.url == "https://ctopendata.github.io/open-data-handbook/#open-data-roles"
    assert len(d.answers) <= 3 and len({h.section.url for h in d.answers}) == len(d.answers)


@pytest.mark.parametrize("question", ["who won the game last night", "what's the state holiday schedule"])
def test_off_topic_question_escalates(bundled_index, question):
    d = decide(question, bundled_index[1])
    assert d.kind == Kind.ESCALATE and d.best is None and d.reason == "outside handbook"


def test_handoff_and_action_requests_escalate_without_answer(bundled_index):
    assert decide("talk to a person", bundled_index[1]).kind == Kind.HANDOFF
    d = decide("can you grant me access to the portal", bundled_index[1])
    assert d.kind == Kind.ESCALATE and d.reason == "action request"


def test_small_talk_does_not_search(bundled_index):
    d = decide("thanks!", bundled_index[1])
    assert d.kind == "thanks" and d.evidence is None and d.answers == ()


def _run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "bot", "ask", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, check=True).stdout


def test_cli_batch_contract(bundled_index, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "q": "who is the data steward?"}\n\n{"id": 7, "q": "who won the game"}\n')
    lines = [json.loads(line) for line in _run("--index", str(bundled_index[0]), "--batch", str(batch)).splitlines()]
    assert [line["id"] for line in lines] == ["a", 7]
    assert set(lines[0]) == {"id", "escalate", "answers"}
    assert lines[0]["escalate"] is False and lines[1]["escalate"] is True
    first = lines[0]["answers"][0]
    assert set(first) == {"url", "title", "score", "passage"} and first["url"].endswith("#open-data-roles")
    expected = decide("who is the data steward?", bundled_index[1])     # exactly the Teams decision path
    assert [a["url"] for a in lines[0]["answers"]] == [h.section.url for h in expected.answers]


def test_cli_ask_json(bundled_index):
    out = json.loads(_run("--index", str(bundled_index[0]), "--json", "who is the data steward?"))
    assert out["escalate"] is False and out["answers"][0]["url"].endswith("#open-data-roles")


def test_requests_to_reset_or_unlock_an_account_are_actions():
    from bot.decision.intents import detect_intent

    assert detect_intent("please reset my socrata password") == "action"
    assert detect_intent("can you unlock our portal account") == "action"
    assert detect_intent("how do I reset a dataset") is None
