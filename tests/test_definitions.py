from indexer.definitions import Definitions, asked_subject, defined_subjects
from indexer.model import Section
from indexer.text import content_terms


def _section(heading, lines, page_title="Page"):
    return Section(id=heading, source="s", path="p.md", page_url="/p/", page_title=page_title,
                   breadcrumb=(page_title, heading), heading=heading, level=2, anchor=None, url="https://x/p/",
                   lines=tuple(lines), display=tuple(lines))


def _terms(text):
    return frozenset(content_terms(text))


def test_definition_questions_name_their_subject():
    assert asked_subject("what is open data?") == _terms("open data")
    assert asked_subject("What are data stories") == _terms("data stories")
    assert asked_subject("whats a data custodian") == _terms("data custodian")
    assert asked_subject("define metadata") == _terms("metadata")
    assert asked_subject("what does upsert mean?") == _terms("upsert")


def test_other_questions_are_not_definition_questions():
    assert asked_subject("what do I need for datasync") is None
    assert asked_subject("how do I retire a dataset") is None
    assert asked_subject("what is the best way to publish the quarterly numbers from our agency system") is None


def test_sections_define_subjects_by_statement_question_or_about_heading():
    stated = defined_subjects(_section("Intro", ["Metadata is the data that describes other data."]))
    assert stated == {_terms("metadata"): 0.75}
    asked = defined_subjects(_section("What is open data?", ["Data that can be freely used."]))
    assert asked[_terms("open data")] == 1.0
    about = defined_subjects(_section("What it is", ["A tool for updates."], page_title="DataSync"))
    assert about[_terms("datasync")] == 1.0


def test_scores_prefer_the_defining_section():
    sections = [_section("Use", ["Open data use can be measured with site analytics."]),
                _section("What is open data?", ["Open data is data that can be freely used."]),
                _section("Gateway", ["Socrata Gateway is a tool built into the portal."])]
    defs = Definitions().fit(sections)
    assert defs.scores("how is open data used") is None
    assert list(defs.scores("what is open data")) == [0.0, 1.0, 0.0]
    assert defs.scores("what is gateway")[2] == 0.5 * 0.75   # subject "Socrata Gateway" contains "gateway"
