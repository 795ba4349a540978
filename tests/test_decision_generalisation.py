"""The whole decision on questions we wrote ourselves (never used for fitting): tier metrics on the eval
knowledge base, a guard against a hand-off model that only fits the train sets. Also a near-domain
out-of-scope question and a channel post with its ask at the end, end to end."""

from __future__ import annotations

import pytest

from bot.decision.decide import ANSWER, UNSURE, decide
from conftest import REPO
from indexer.evaluate import LinkMatcher, faq_questions, load_jsonl

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def own(handbook_index):
    gold = load_jsonl(REPO / "tests" / "data" / "own_questions.jsonl")
    oos = load_jsonl(REPO / "tests" / "data" / "own_oos.jsonl")
    matcher = LinkMatcher(handbook_index.sections, faq_questions(handbook_index.sections, gold))
    decisions = {q["id"]: decide(q["q"], handbook_index) for q in gold + oos}
    return gold, oos, matcher, decisions


def _shown_right(d, q, matcher) -> list[bool]:
    return [matcher.exact(h.section.url, q)[1] for h in d.answers[:3]]


def test_own_in_scope_questions_show_the_right_section(own):
    gold, _, matcher, decisions = own
    shown = [q["q"] for q in gold if any(_shown_right(decisions[q["id"]], q, matcher))]
    assert len(shown) / len(gold) >= 0.85, [q["q"] for q in gold if q["q"] not in shown]


def test_own_confident_answers_are_rarely_wrong(own):
    gold, _, matcher, decisions = own
    wrong = [q["q"] for q in gold if decisions[q["id"]].kind == ANSWER
             and not _shown_right(decisions[q["id"]], q, matcher)[0]]
    confident = sum(decisions[q["id"]].kind == ANSWER for q in gold)
    assert confident / len(gold) >= 0.3 and len(wrong) / len(gold) <= 0.10, wrong


def test_own_out_of_scope_questions_are_rarely_answered(own):
    _, oos, _, decisions = own
    answered = [q["q"] for q in oos if decisions[q["id"]].kind == ANSWER]
    assert len(answered) / len(oos) <= 0.15, answered


@pytest.mark.xfail(strict=False, reason="known regression with the two-stage ranker (issue 10): the reranker is "
                   "sure of 'Formatting your file' and the hand-off model, which now reads that share "
                   "(relevance_top), answers this near-domain question; to fix in the hand-off model, not here")
def test_near_domain_question_the_handbook_does_not_answer_is_not_answered(handbook_index):
    d = decide("what is the largest spreadsheet the portal will accept before the import times out?", handbook_index)
    assert d.kind != ANSWER and d.escalates


def test_channel_post_with_the_ask_at_the_end(handbook_index):
    post = ("Morning all. Our division finally got the go-ahead to share the inspection results we collect every "
            "quarter, and my manager asked me to own it. I have the spreadsheet cleaned up and the column names "
            "make sense to me, but I've never put anything on the state's open data site before and I don't want "
            "to get it wrong the first time. Before I upload anything, what descriptive information do I have to "
            "write up to go along with the dataset?")
    d = decide(post, handbook_index)
    assert d.kind in (ANSWER, UNSURE)
    assert any("/create_metadata" in h.section.url or "metadata" in h.section.url for h in d.answers[:3]), \
        [h.section.url for h in d.answers]
