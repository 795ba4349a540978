from indexer.spelling import SpellingCorrector

TEXTS = ["Gateway is a tool for scheduled updates.", "DataSync needs Java. Metadata describes the dataset.",
         "You have the right to publish."]


def test_typos_are_corrected_to_indexed_words():
    corrector = SpellingCorrector().fit(TEXTS)
    _, fixes = corrector.correct("gatway datset metdata")
    assert fixes == {"gatway": "gateway", "datset": "dataset", "metdata": "metadata"}


def test_a_real_word_is_not_turned_into_a_different_first_letter():
    corrector = SpellingCorrector().fit(TEXTS)
    assert corrector.correct_word("night") is None          # not "right"


def test_part_of_a_compound_maps_to_the_compound():
    corrector = SpellingCorrector().fit(TEXTS)
    assert corrector.correct_word("sync") == "datasync"


def test_known_words_and_short_words_are_left_alone():
    corrector = SpellingCorrector().fit(TEXTS)
    assert corrector.correct("publish the gateway")[1] == {}
    assert corrector.correct_word("gat") is None
