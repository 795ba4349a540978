"""The decision module: intents, question cleaning, the three tiers, robust input, the CLI contract.

Questions here are our own (never from ../shared); tier tests on the bundled knowledge use the shipped
hand-off model with thresholds set explicitly, so they pin the tier logic, not the fitted numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from bot.decision.decide import ANSWER, HANDOFF, MAX_SHOWN, UNSURE, clean_question, decide
from bot.decision.evidence import FEATURES
from bot.decision.handoff import HandoffModel, HandoffModelError, default_model
from bot.decision.intents import detect_intent
from bot.decision.kinds import Kind, Reason
from bot.replies import UNSURE_HEADLINE, Replies
from tests.support.teams import all_text

REPLIES = Replies()
reply_for, plain_text, mailto = REPLIES.reply_for, REPLIES.plain_text, REPLIES.mailto

ROLES = "https://ctopendata.github.io/open-data-handbook/#open-data-roles"


@pytest.mark.parametrize("text,intent", [
    ("hi", "greeting"), ("Hello there!", "greeting"), ("good morning everyone", "greeting"),
    ("thanks!", "thanks"), ("thank you so much", "thanks"), ("thx", "thanks"),
    ("help", "help"), ("what can you do?", "help"), ("", "help"),
    ("can I talk to a person", "handoff"), ("I want to speak with a human", "handoff"), ("agent", "handoff"),
    ("could you give me write access to the DEEP tables", "action"), ("please reset my password", "action"),
    ("🙂🚀👍", "unclear"), ("https://example.org/some/page?x=1", "unclear"), ("...", "unclear"),
    ("как опубликовать набор данных?", "not_english"), ("如何发布数据集", "not_english"),
    ("hi, how do I retire a dataset?", None), ("thanks, but what about metadata?", None),
    ("how do I contact DAPA", None), ("give me an example of good metadata", None),
    ("see https://example.org/x — how do I add it as a link in the metadata?", None),
    ("قاعدة البيانات open data publishing steps for my agency", None),
])
def test_detect_intent(text, intent):
    assert detect_intent(text) == intent


def test_requests_to_reset_or_unlock_an_account_are_actions():
    assert detect_intent("please reset my socrata password") == "action"
    assert detect_intent("can you unlock our portal account") == "action"
    assert detect_intent("how do I reset a dataset") is None


def test_clean_question_strips_control_characters_and_keeps_the_end_of_a_long_post():
    text, truncated = clean_question("a\x00b\u202e  c " + "word " * 200 + "so what is the ask?", limit=120)
    assert truncated and len(text) <= 120 and "\x00" not in text and "\u202e" not in text and "  " not in text
    assert text.startswith("a b c word") and text.endswith("so what is the ask?")
    assert clean_question("  short  ") == ("short", False)


def _model(answer_at: float, handoff_below: float) -> HandoffModel:
    return replace(default_model(), answer_at=answer_at, handoff_below=handoff_below, post_answer_at=None,
                   post_handoff_below=None)


def test_each_tier_follows_the_probability(bundled_index):
    index = bundled_index[1]
    question = "who is the data steward at my agency?"
    p = decide(question, index).probability
    assert 0.0 < p < 1.0
    answer = decide(question, index, model=_model(p, p / 2))
    assert answer.kind == ANSWER and not answer.escalates and answer.best.section.url == ROLES
    assert 1 <= len(answer.answers) <= MAX_SHOWN and len({h.section.url for h in answer.answers}) == len(answer.answers)

    unsure = decide(question, index, model=_model(min(1.0, p + 1e-6), p))
    assert unsure.kind == UNSURE and unsure.escalates and unsure.best is None
    assert [h.section.url for h in unsure.answers][0] == ROLES and len(unsure.answers) <= MAX_SHOWN

    handoff = decide(question, index, model=_model(1.0, min(1.0, p + 1e-6)))
    assert handoff.kind == HANDOFF and handoff.escalates and handoff.answers == ()
    assert handoff.reason == "outside handbook"


def test_a_channel_post_follows_its_own_thresholds(bundled_index):
    index = bundled_index[1]
    post = ("We just took over the licensing numbers from another unit and I'm reading up before the next "
            "refresh. Who at my agency is the data steward?")
    question = "who is the data steward at my agency?"
    assert index.search(post).query.is_post and not index.search(question).query.is_post
    p_post, p_question = decide(post, index).probability, decide(question, index).probability
    low, high = min(p_post, p_question) / 2, 1.0
    posts_answered = replace(_model(high, low), post_answer_at=low, post_handoff_below=low / 2)
    assert decide(post, index, model=posts_answered).kind == ANSWER
    assert decide(question, index, model=posts_answered).kind == UNSURE
    assert posts_answered.thresholds(is_post=True) == (low, low / 2)
    assert posts_answered.thresholds() == (high, low)
    assert [posts_answered.tier(x) for x in (high, low, low / 4)] == [Kind.ANSWER, Kind.UNSURE, Kind.HANDOFF]
    assert all(type(posts_answered.tier(x)) is Kind for x in (high, low, 0.0))
    with pytest.raises(HandoffModelError):
        HandoffModel.from_json(dict(default_model().to_json(), post_answer_at=0.1, post_handoff_below=0.5))


def test_unsure_reply_shows_sections_and_dapa_in_one_card(bundled_index):
    index = bundled_index[1]
    p = decide("who is the data steward at my agency?", index).probability
    d = decide("who is the data steward at my agency?", index, model=_model(1.0, p / 2))
    reply = reply_for(d, "turn-1", "Open Data channel")
    texts = all_text(reply.card).split("\n")      # the section links sit in rows with their pick buttons
    assert texts[0] == UNSURE_HEADLINE and any(ROLES in t for t in texts) and any("dapa@ct.gov" in t for t in texts)
    assert [a["title"] for a in reply.card["actions"]] == ["Email DAPA"]
    text = plain_text(d)
    assert text.startswith("I'm not sure the handbook covers this") and ROLES in text and "dapa@ct.gov" in text


@pytest.mark.parametrize("reason,words", [
    ("action request", ("IT help desk", "point you")), ("asked for a person", ("DAPA",)),
    ("outside handbook", ("doesn't cover",)),
])
def test_handoff_replies_never_promise_it_work(bundled_index, reason, words):
    from bot.decision.decide import Decision

    reply = reply_for(Decision(HANDOFF, "please reset my password", reason=Reason(reason)))
    assert all(w in reply.summary for w in words), reply.summary
    assert "mailto:dapa@ct.gov" in reply.card["actions"][0]["url"]
    if reason == "action request":
        assert "DAPA can" not in reply.summary and "can point you" in reply.summary


@pytest.mark.parametrize("text,kinds", [
    ("please look at this: " + "the upload failed again and the page went blank. " * 500
     + "How do I schedule automatic updates for my dataset?", {ANSWER, UNSURE, HANDOFF}),   # 25,000+ chars
    ("🙂🙂🚀", {"unclear"}),
    ("https://example.org/resource/abcd-1234", {"unclear"}),
    ("Wie kann ich einen Datensatz veröffentlichen?", {ANSWER, UNSURE, HANDOFF}),
    ("如何在门户网站上发布数据集？", {"not_english"}),
    ('Traceback (most recent call last):\n  File "sync.py", line 41, in <module>\n    client.replace(dataset_id, '
     'rows)\n  File "/usr/lib/python3/site-packages/sodapy/socrata.py", line 372, in replace\n'
     "requests.exceptions.HTTPError: 403 Client Error: Forbidden for url\n", {ANSWER, UNSURE, HANDOFF}),
])
def test_odd_input_gets_a_clear_decision_and_reply(bundled_index, text, kinds):
    d = decide(text, bundled_index[1])
    assert d.kind in kinds
    assert len(d.question) <= 4000
    if d.kind in (ANSWER, UNSURE, HANDOFF):
        reply = reply_for(d, "t", "chat")
        assert reply.card is not None and len(json.dumps(reply.card)) < 20_000
        assert all(len(a["url"]) <= 2000 for a in reply.card["actions"] if a["type"] == "Action.OpenUrl")


def test_long_post_keeps_the_ask_at_its_end(bundled_index):
    post = ("Hi all, I just joined the licensing unit and I'm still finding my way around the shared drives. "
            * 60 + "Who at my agency is the data steward and what do they do?")
    assert len(post) > 4000
    d = decide(post, bundled_index[1])
    assert d.truncated and d.question.endswith("what do they do?")


def test_mailto_stays_short_for_any_text():
    for text in ("word " * 5000, "数据" * 3000, "🙂" * 3000):
        assert len(mailto(text, "Open Data channel")) <= 2000


def test_small_talk_does_not_search(bundled_index):
    d = decide("thanks!", bundled_index[1])
    assert d.kind == "thanks" and d.evidence is None and d.answers == () and d.probability is None


def test_handoff_and_action_requests_hand_off_without_sections(bundled_index):
    assert decide("talk to a person", bundled_index[1]).kind == HANDOFF
    d = decide("can you grant me access to the portal", bundled_index[1])
    assert d.kind == HANDOFF and d.reason == "action request" and d.answers == ()


def test_model_file_is_checked(tmp_path):
    data = default_model().to_json()
    assert set(data["features"]) <= set(FEATURES)
    bad = dict(data, features=data["features"][:-1] + ["no_such_feature"])
    (tmp_path / "m.json").write_text(json.dumps(bad))
    with pytest.raises(HandoffModelError):
        HandoffModel.load(tmp_path / "m.json")
    (tmp_path / "t.json").write_text(json.dumps(dict(data, answer_at=0.1, handoff_below=0.5)))
    with pytest.raises(HandoffModelError):
        HandoffModel.load(tmp_path / "t.json")
    with pytest.raises(HandoffModelError):
        HandoffModel.load(tmp_path / "missing.json")


def _run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "bot", "ask", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, check=True).stdout


def test_cli_batch_contract(bundled_index, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "q": "who is the data steward?"}\n\n{"id": 7, "q": "talk to a person"}\n'
                     '{"id": "e", "q": "🙂"}\n')
    lines = [json.loads(line) for line in _run("--index", str(bundled_index[0]), "--batch", str(batch)).splitlines()]
    assert [line["id"] for line in lines] == ["a", 7, "e"]
    assert set(lines[0]) == {"id", "kind", "escalate", "reason", "probability", "answers"}
    expected = decide("who is the data steward?", bundled_index[1])     # exactly the Teams decision path
    assert lines[0]["kind"] == expected.kind and lines[0]["escalate"] == expected.escalates
    assert lines[0]["probability"] == pytest.approx(expected.probability, abs=1e-4)
    assert [a["url"] for a in lines[0]["answers"]] == [h.section.url for h in expected.answers]
    assert set(lines[0]["answers"][0]) == {"url", "title", "score", "passage"}
    assert lines[1]["kind"] == "handoff" and lines[1]["escalate"] is True and lines[1]["probability"] is None
    assert lines[2]["kind"] == "unclear" and lines[2]["escalate"] is False


def test_cli_ask_json(bundled_index):
    out = json.loads(_run("--index", str(bundled_index[0]), "--json", "who is the data steward?"))
    assert out["q"] == "who is the data steward?" and out["kind"] in (ANSWER, UNSURE)
    assert out["escalate"] == (out["kind"] == UNSURE) and 0 <= out["probability"] <= 1
    assert out["answers"][0]["url"].endswith("#open-data-roles")
