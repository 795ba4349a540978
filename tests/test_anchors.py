import json

from conftest import require_shared
from indexer.anchors import AnchorCounter, gfm_slug
from indexer.markdown import parse_markdown


def _heading_id(markdown: str) -> str | None:
    block = parse_markdown(markdown)[0]
    return block.explicit_id or AnchorCounter().next_id(block.raw)


def test_verified_anchor_cases_all_pass():
    path = require_shared("eval", "anchor_cases.jsonl")
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert cases
    failures = [(c["heading"], _heading_id("## " + c["heading"]), c["id"]) for c in cases
                if _heading_id("## " + c["heading"]) != c["id"]]
    assert failures == []


def test_duplicate_sequences_within_one_page():
    path = require_shared("eval", "anchor_sequences.jsonl")
    for line in path.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        counter = AnchorCounter()
        blocks = parse_markdown("\n\n".join("## " + h for h in case["headings"]))
        assert [counter.next_id(b.raw) for b in blocks] == case["ids"]


def test_leading_digits_are_kept_and_spaces_not_collapsed():
    assert gfm_slug("1. Identify data to publish") == "1-identify-data-to-publish"
    assert gfm_slug("Data & Insights") == "data--insights"
    assert gfm_slug("💡 What is open data?") == "-what-is-open-data"
