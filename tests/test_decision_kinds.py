"""Typed decisions: every kind has its reply (rendered in one place, bot/replies.py), and the fitted
parameters are data (bot/decision/params.json), not source."""

from __future__ import annotations

import json
import math

import pytest

from bot.decision.decide import PARAMS_FILE, Decision, DecisionParams, decide, fitted_params
from bot.decision.kinds import Kind, Reason
from bot.replies import Replies


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_of_decision_has_a_reply(bundled_index, kind):
    replies = Replies()
    hit = bundled_index[1].search("who is the data steward", 1).hits[0]
    best = hit if kind in (Kind.ANSWER, Kind.ALTERNATIVES) else None
    reply = replies.reply_for(Decision(kind, "who is the data steward", best), "turn-1", "a Teams personal chat")
    assert reply.summary
    if kind.escalates:
        assert "mailto:" in json.dumps(reply.card) and "DAPA" in reply.summary
    elif kind.small_talk:
        assert "turn-1" not in json.dumps(reply.card or {})    # nothing to vote on
    else:
        assert "turn-1" in json.dumps(reply.card) and hit.section.url in reply.summary


def test_escalation_headline_follows_the_reason():
    replies = Replies()
    headlines = {reason: replies.reply_for(Decision(Kind.ESCALATE, "q", reason=reason)).card["body"][0]["text"]
                 for reason in (Reason.OUTSIDE_HANDBOOK, Reason.ACTION_REQUEST, Reason.VOTED_DOWN)}
    assert len(set(headlines.values())) == 3
    handoff = replies.reply_for(Decision(Kind.HANDOFF, "q", reason=Reason.ASKED_FOR_PERSON))
    assert handoff.card["body"][0]["text"] not in headlines.values()


def test_kinds_compare_and_print_as_their_values():
    assert Kind.ESCALATE == "escalate" and f"{Kind.ALTERNATIVES}" == "answer_with_alternatives"
    assert {"thanks": 1}[Kind.THANKS] == 1 and json.dumps([Reason.NEAR_TIE]) == '["near tie"]'
    assert [k for k in Kind if k.escalates] == [Kind.ESCALATE, Kind.HANDOFF]


def test_fitted_parameters_are_read_from_the_data_file(tmp_path):
    data = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))
    params = fitted_params()
    assert params == DecisionParams.load(PARAMS_FILE) and params.to_json() == {k: data[k] for k in params.to_json()}
    copy = tmp_path / "params.json"
    copy.write_text(json.dumps(params.to_json()), encoding="utf-8")
    assert DecisionParams.load(copy) == params


def test_decide_uses_the_parameters_it_is_given(bundled_index):
    question, index = "who is the data steward at my agency?", bundled_index[1]
    assert decide(question, index).kind in (Kind.ANSWER, Kind.ALTERNATIVES)
    never = DecisionParams(fitted_params().weights, fitted_params().bias, math.inf, 0.0)
    d = decide(question, index, params=never)
    assert d.kind is Kind.ESCALATE and d.reason is Reason.OUTSIDE_HANDBOOK and d.also_see
