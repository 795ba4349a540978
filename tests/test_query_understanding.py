"""Long posts, split multi-word synonyms and example questions, on small knowledge bases of our own."""

from __future__ import annotations

import pytest

from indexer.errors import SourceError
from indexer.examples import Example, load_examples, resolve_examples
from indexer.index import Index
from indexer.model import Section
from indexer.query import MAX_POST_CHARS, clip_post, find_ask, split_sentences
from indexer.text import Analyzer, Synonyms, stem, words

SITE = "https://example.org/handbook"


def _section(page: str, heading: str, lines: list[str], anchor: str) -> Section:
    return Section(id=f"{page}#{anchor}", source="s", path=f"{page}.md", page_url=f"/{page}/", page_title=page.title(),
                   breadcrumb=(page.title(), heading), heading=heading, level=2, anchor=anchor,
                   url=f"{SITE}/{page}/#{anchor}", lines=tuple(lines), display=tuple(lines))


SECTIONS = [
    _section("publish", "Upload your file", ["Upload the spreadsheet to the portal and fill in the title.",
                                             "Large files can take a few minutes to upload."], "upload"),
    _section("publish", "Review and approval", ["A colleague reviews the table and its description.",
                                                "Change the visibility from private to public afterwards."], "review"),
    _section("retire", "Retiring a table", ["A table that is outdated or wrong can be retired.",
                                            "Write to the portal team to retire it."], "retiring"),
    _section("meetings", "Team meetings", ["The team meets on Tuesdays to plan the spreadsheet work.",
                                           "Bring your agency's questions about the schedule."], "meetings"),
]
SYNONYMS = Synonyms([["retire", "take down", "unpublish"]])


def _index(examples=(), rerank_model=None) -> Index:
    return Index.fit(SECTIONS, SYNONYMS, examples=list(examples), rerank_model=rerank_model)


def _top(index: Index, question: str) -> str:
    result = index.search(question, 3)
    hits = getattr(result, "hits", result)
    return hits[0].section.anchor if hits else ""


def test_a_split_multi_word_synonym_still_matches():
    stems = [stem(w) for w in words("can we take the old table down")]
    assert SYNONYMS.tokens(stems) == []                  # not adjacent: the exact matcher misses it
    assert SYNONYMS.tokens(stems, gap=3) == ["syn0"]
    assert SYNONYMS.tokens([stem(w) for w in words("take a walk and sit down")], gap=1) == []
    assert _top(_index(), "how do I take this old table down") == "retiring"


def test_the_ask_of_a_post_is_found_at_its_end():
    post = ("Hi all, I joined the licensing unit three weeks ago and I am still learning where everything is. "
            "My supervisor handed me the renewals numbers last Friday, said the commissioner wants them out by "
            "the end of the quarter, and then left for two weeks of vacation, so I cannot ask her. "
            "I found the old notes from my predecessor in a shared drive, but they stop halfway and mostly talk "
            "about printer settings and who orders the coffee. I have been reading through the pages here all "
            "morning. Separate thing: who has to look at our table before the public can see it?")
    assert len(post) > 500
    sentences = split_sentences(post)
    assert sentences[-1] == "who has to look at our table before the public can see it?"
    assert find_ask(sentences, lambda s: 0.0) == (len(sentences) - 1,)
    assert _index().search(post).query.ask_text == sentences[-1]
    assert _top(_index(), post) == "review"


def test_without_a_question_mark_the_most_specific_sentence_is_the_ask():
    sentences = ["hello everyone", "we need to retire an outdated table", "thanks in advance"]
    weights = {0: 0.1, 1: 2.0, 2: 0.2}
    assert find_ask(sentences, lambda s: weights[sentences.index(s)]) == (1,)


def test_a_post_of_teams_size_keeps_its_end():
    filler = "We had a long meeting about the schedule and the agency budget this week. " * 400
    post = filler + "Anyway, how do I retire an outdated table?"
    assert len(post) > 25_000
    clipped = clip_post(post)
    assert clipped.endswith("how do I retire an outdated table?") and len(clipped) < 10_000
    assert len(clip_post("x " * MAX_POST_CHARS)) <= MAX_POST_CHARS
    assert _top(_index(), post) == "retiring"


def test_example_questions_match_question_to_question():
    question = "who signs off before my numbers go live"
    assert _top(_index(), question) != "review"       # no shared words with the review section's text
    index = _index([(1, "who signs off before the numbers go live")])
    assert _top(index, question) == "review"
    assert index.meta["examples"] == 1


def test_an_example_question_asked_again_leads_with_its_section_and_is_answered():
    from bot.decision.decide import decide
    from bot.decision.kinds import Kind, Reason

    asked = "Spreadsheet meetings: when are they planned?"   # its words point at the meetings section
    plain = _index(rerank_model="default")
    assert _top(plain, asked) == "meetings"
    index = _index([(0, "when are the spreadsheet meetings planned"), (2, "outdated table")], rerank_model="default")
    result = index.search(asked, 3)
    assert result.hits[0].section.anchor == "upload" and result.hits[0].example_match
    assert not any(h.example_match for h in result.hits[1:])
    decision = decide(asked, index)
    assert decision.kind is Kind.ANSWER and decision.reason is Reason.EXAMPLE_QUESTION
    assert decision.best.section.anchor == "upload"
    assert not index.search("when are the spreadsheet meetings planned for next year", 3).hits[0].example_match


def test_an_example_two_sections_claim_decides_nothing():
    index = _index([(0, "table questions"), (2, "questions about the table")], rerank_model="default")
    assert index.ranker.example_match("table questions") is None
    assert not any(h.example_match for h in index.search("table questions", 3).hits)


def test_a_sections_example_vocabulary_is_a_field_of_its_own():
    index = _index([(3, "where do we sign up for the weekly planning call"), (3, "agenda of the tuesday call")])
    scores = index.ranker.field_scores(index.ranker.understand("sign up for the agenda call")[0])["example_doc"]
    assert scores.argmax() == 3 and scores[3] > 0 and scores[:3].max() == 0


def test_examples_file_resolves_urls_paths_and_faq_questions(tmp_path):
    path = tmp_path / "examples.toml"
    path.write_text(
        '[[section]]\nurl = "/publish/#review"\nexamples = ["who approves it", "  "]\n\n'
        f'[[section]]\nurl = "{SITE}/retire/"\nexamples = ["take it down"]\n\n'
        '[[section]]\nurl = "/publish/#no-such-heading"\nexamples = ["lost"]\n\n'
        '[[section]]\nurl = "/other-site-page/"\nexamples = ["not ours"]\n', encoding="utf-8")
    examples = load_examples(path)
    assert examples[0] == Example("/publish/#review", "who approves it")
    found, problems = resolve_examples(SECTIONS, examples)
    assert found == [(1, "who approves it"), (2, "take it down")]
    assert len(problems) == 1 and "no-such-heading" in problems[0]



def test_an_optional_entry_is_skipped_silently_where_its_section_is_absent(tmp_path):
    path = tmp_path / "examples.toml"
    path.write_text(
        '[[section]]\nurl = "/publish/#seed-only"\noptional = true\nexamples = ["only in the seed"]\n\n'
        '[[section]]\nurl = "/publish/#review"\noptional = true\nexamples = ["who signs off"]\n', encoding="utf-8")
    found, problems = resolve_examples(SECTIONS, load_examples(path))
    assert found == [(1, "who signs off")] and problems == []
    path.write_text('[[section]]\nurl = "/publish/#review"\noptional = "yes"\nexamples = ["x"]\n', encoding="utf-8")
    with pytest.raises(SourceError, match="optional"):
        load_examples(path)

def test_the_repository_examples_file_parses():
    from indexer.build import DEFAULT_EXAMPLES

    examples = load_examples(DEFAULT_EXAMPLES)
    assert len(examples) > 200
    analyzer = Analyzer(Synonyms([]))
    assert all(analyzer(e.text) for e in examples)
