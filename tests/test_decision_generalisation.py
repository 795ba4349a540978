"""The decision on questions we wrote ourselves (never used for calibration): a guard against a
decision model that only fits the dev sets."""

from bot.decision.decide import decide
from conftest import REPO
from indexer.evaluate import load_jsonl


def test_own_out_of_scope_questions_mostly_escalate(handbook_index):
    questions = load_jsonl(REPO / "tests" / "data" / "own_oos.jsonl")
    escalated = [decide(q["q"], handbook_index).escalates for q in questions]
    assert sum(escalated) / len(questions) >= 0.75, [q["q"] for q, e in zip(questions, escalated) if not e]


def test_own_in_scope_questions_are_rarely_escalated(handbook_index):
    questions = load_jsonl(REPO / "tests" / "data" / "own_questions.jsonl")
    escalated = [q["q"] for q in questions if decide(q["q"], handbook_index).escalates]
    assert len(escalated) / len(questions) <= 0.06, escalated
