"""Typed decisions: every kind has its reply (rendered in one place, bot/replies.py), and the fitted
parameters are data (bot/decision/params.json), not source."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.decision.decide import Decision, decide
from bot.decision.handoff import DEFAULT_PATH, HandoffModel, default_model
from bot.decision.kinds import Kind, Reason
from bot.replies import Replies

replies = Replies()


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_of_decision_has_a_reply(bundled_index, kind):
    hit = bundled_index[1].search("who is the data steward", 1).hits[0]
    best = hit if kind is Kind.ANSWER else None
    also = (hit,) if kind is Kind.UNSURE else ()
    reply = replies.reply_for(Decision(kind, "who is the data steward", best, also_see=also), "turn-1",
                              "a Teams personal chat")
    assert reply.summary
    if kind.escalates:
        assert "mailto:" in json.dumps(reply.card) and "DAPA" in reply.summary
    elif kind.small_talk:
        assert "turn-1" not in json.dumps(reply.card or {})    # nothing to vote on
    else:
        # votes are Teams' built-in feedback (channelData, set by the handler); the turn id rides on
        # "None of these", which only an answer with other sections shows
        assert "Open in handbook" in json.dumps(reply.card) and hit.section.url in reply.summary


def test_handoff_headline_follows_the_reason():
    headlines = {reason: replies.reply_for(Decision(Kind.HANDOFF, "q", reason=reason)).card["body"][0]["text"]
                 for reason in (Reason.OUTSIDE_HANDBOOK, Reason.ACTION_REQUEST, Reason.VOTED_DOWN,
                                Reason.ASKED_FOR_PERSON)}
    assert len(set(headlines.values())) == 4


def test_kinds_compare_and_print_as_their_values():
    assert Kind.UNSURE == "unsure" and f"{Kind.NOT_ENGLISH}" == "not_english"
    assert {"thanks": 1}[Kind.THANKS] == 1 and json.dumps([Reason.NEAR_TIE]) == '["near tie"]'
    assert [k for k in Kind if k.escalates] == [Kind.UNSURE, Kind.HANDOFF]


def test_fitted_parameters_are_read_from_the_data_file(tmp_path):
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    model = default_model()
    assert model == HandoffModel.load(DEFAULT_PATH) and model.to_json() == data
    copy = tmp_path / "params.json"
    model.save(copy)
    assert HandoffModel.load(copy) == model


def test_decide_uses_the_model_it_is_given(bundled_index):
    question, index = "who is the data steward at my agency?", bundled_index[1]
    assert decide(question, index).kind is Kind.ANSWER
    never = replace(default_model(), answer_at=1.0, handoff_below=1.0)
    d = decide(question, index, model=never)
    assert d.kind is Kind.HANDOFF and d.reason is Reason.OUTSIDE_HANDBOOK and not d.answers
