"""The team's out-of-scope example questions (knowledge/out_of_scope.toml): how close a question is to the
closest of them is evidence for the hand-off, read off the search result."""

from __future__ import annotations

import pytest

from indexer.errors import SourceError
from indexer.examples import load_out_of_scope
from indexer.index import Index
from tests.test_query_understanding import SECTIONS, SYNONYMS

OUTSIDE = ["how do I reset my vpn password", "when is payroll deposited this month", "book a conference room"]


def test_a_question_like_an_out_of_scope_example_says_so_and_a_handbook_question_does_not():
    index = Index.fit(SECTIONS, SYNONYMS, examples=[(3, "agenda of the tuesday call")], outside=OUTSIDE)
    assert index.meta["out_of_scope_examples"] == 3
    payroll = index.search("when does payroll get deposited", 3)
    assert payroll.outside > 0.5
    upload = index.search("how do I upload the spreadsheet", 3)
    assert upload.outside == 0.0
    call = index.search("what is on the agenda of the tuesday call", 3)
    assert call.closest_example > 0.5 and call.outside == 0.0


def test_without_out_of_scope_examples_nothing_is_close():
    index = Index.fit(SECTIONS, SYNONYMS)
    assert index.search("how do I reset my vpn password", 3).outside == 0.0


def test_evidence_reads_them_from_the_result():
    from bot.decision.evidence import gather

    index = Index.fit(SECTIONS, SYNONYMS, examples=[(3, "agenda of the tuesday call")], outside=OUTSIDE)
    values = gather(index.search("when does payroll get deposited", 3)).values
    assert values["outside_match"] > 0.5 and values["outside_margin"] == values["outside_match"]


def test_the_file_is_read_and_bad_content_is_refused(tmp_path):
    path = tmp_path / "out_of_scope.toml"
    assert load_out_of_scope(path) == []
    path.write_text('questions = ["  book a   room ", "", "payroll?"]\n', encoding="utf-8")
    assert load_out_of_scope(path) == ["book a room", "payroll?"]
    path.write_text('questions = "book a room"\n', encoding="utf-8")
    with pytest.raises(SourceError, match="list of strings"):
        load_out_of_scope(path)


def test_one_of_the_out_of_scope_examples_asked_again_is_handed_off():
    from bot.decision.decide import decide
    from bot.decision.kinds import Kind, Reason

    # its words are the upload section's, so without the file it would be answered from there
    asked = "Spreadsheet upload to the portal: when is payroll deposited?"
    plain = Index.fit(SECTIONS, SYNONYMS, rerank_model="default")
    assert decide(asked, plain).kind is not Kind.HANDOFF
    index = Index.fit(SECTIONS, SYNONYMS, rerank_model="default",
                      outside=OUTSIDE + ["when is payroll deposited after a spreadsheet upload to the portal"])
    result = index.search(asked, 3)
    assert result.outside_example and result.hits                      # still searched: the links are there
    decision = decide(asked, index)
    assert decision.kind is Kind.HANDOFF and decision.reason is Reason.OUTSIDE_HANDBOOK
    assert not index.search("how do I upload the spreadsheet to the portal", 3).outside_example
    # a section's own example question wins over an out-of-scope one with the same words
    both = Index.fit(SECTIONS, SYNONYMS, rerank_model="default", examples=[(0, "payroll upload spreadsheet portal")],
                     outside=["payroll upload spreadsheet portal"])
    assert decide("payroll upload spreadsheet portal", both).kind is Kind.ANSWER
