"""Decision quality floors on the dev sets (a check, never fitted on), through the same path as `bot ask`.

Tier metrics, first three links shown: among in-scope questions, confident and right (kind answer, top
link right), confident and wrong (kind answer, top link wrong), right section shown (a right link among
the first three shown, in any tier that shows links); among out-of-scope ones, answered confidently.
"""

from __future__ import annotations

import pytest

from bot.decision.decide import ANSWER, decide
from conftest import require_shared
from indexer.evaluate import LinkMatcher, faq_questions, load_jsonl

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def metrics(handbook_index):
    eval_dir = require_shared("eval")
    gold, oos = load_jsonl(eval_dir / "dev.jsonl"), load_jsonl(eval_dir / "dev_oos.jsonl")
    matcher = LinkMatcher(handbook_index.sections, faq_questions(handbook_index.sections, gold))
    right = wrong = shown = 0
    for q in gold:
        d = decide(q["q"], handbook_index)
        ok = [matcher.exact(h.section.url, q)[1] for h in d.answers[:3]]
        right += d.kind == ANSWER and ok[0]
        wrong += d.kind == ANSWER and not ok[0]
        shown += any(ok)
    answered = sum(decide(q["q"], handbook_index).kind == ANSWER for q in oos)
    n = len(gold)
    return {"confident_right": right / n, "confident_wrong": wrong / n, "right_shown": shown / n,
            "oos_answered": answered / len(oos)}


def test_right_section_shown(metrics):
    assert metrics["right_shown"] >= 0.90, metrics


def test_confident_answers_are_rarely_wrong(metrics):
    assert metrics["confident_wrong"] <= 0.08, metrics
    assert metrics["confident_right"] >= 0.40, metrics


def test_out_of_scope_rarely_answered(metrics):
    assert metrics["oos_answered"] <= 0.15, metrics
