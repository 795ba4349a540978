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
