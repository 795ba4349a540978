"""Retrieval quality floors on the dev questions (issue 2) and on our own question set."""

from conftest import REPO, require_shared
from indexer.evaluate import compare_methods, load_jsonl
from tests.support.baselines import baselines


def test_dev_set_floors_and_beats_bm25(handbook_index):
    gold = load_jsonl(require_shared("eval", "dev.jsonl"))
    results = compare_methods(handbook_index, gold, baselines(handbook_index.sections))
    ours = results["this index"]
    assert ours["top1_exact"] >= 0.85, ours["misses"]
    assert ours["recall@3"] >= 0.95, ours["misses"]
    assert ours["top1_exact"] > results["BM25 baseline"]["top1_exact"]
    assert ours["top1_exact"] > results["TF-IDF baseline"]["top1_exact"]


def test_own_questions_generalise(handbook_index):
    """Questions written by us, never used for tuning single answers: a guard against overfitting."""
    gold = load_jsonl(REPO / "tests" / "data" / "own_questions.jsonl")
    ours = compare_methods(handbook_index, gold)["this index"]
    assert ours["top1_page"] >= 0.85, ours["misses"]
    assert ours["recall@3"] >= 0.85, ours["misses"]
