"""The latency work of issue 10 changes how search and the decision compute, never what they return.

Each faster piece is compared with the straightforward computation it replaced (written out here) on
our own inputs: short questions, a long channel post with the ask at the end, typos, words the
handbook never uses, accents, emoji, control characters. End to end, a freshly loaded index (no
memory of earlier questions) and one that has answered many questions give identical hits, scores,
passages and decisions, whatever the order of the questions.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest

from bot.decision.decide import clean_question, decide
from bot.decision.intents import latin_share
from indexer import spelling
from indexer.index import Index
from indexer.passages import passage_around
from indexer.query import specificity_table
from indexer.ranker import DERIVED, STACKED, _fix_word
from indexer.rerank import FEATURES, FIELDS
from indexer.spelling import CACHE_WORDS, SpellingCorrector
from indexer.text import STOP_WORDS, Analyzer, Synonyms, _spread_match, fold, stem, words

LONG_POST = (
    "Hi all — I'm a program analyst at a small agency and I've been asked to get our grant recipient list "
    "onto the portal. It's a spreadsheet we update every quarter, about 4,000 rows, with town names and "
    "award amounts, and my manager wants it refreshed automatically rather than by hand. Our IT folks said "
    "something about a gateway or a script but nobody here has done it before. Before I go further: who "
    "has to approve the dataset before it goes live, and how do I keep it updated on a schedule?")
QUESTIONS = [
    "how do I retire a dataset",
    "who approves a new dataset",
    "what is a data steward?",
    "how do i schedule automatic updates with the gatway",            # typo
    "metdata fields for a new datset",                                 # two typos
    "can I publish a choropleth of zip codes",                         # a word the handbook never uses
    "Qu'est-ce qu'un jeu de données ouvertes? café résumé naïve",     # accents
    "how do I take the old table down",                                # split multi-word synonym
    "💾 upload a csv 📈 please",                                        # emoji around words
    "line one\twith a tab\nand a new line\x00and a NUL",               # control characters
    LONG_POST,
    LONG_POST.replace("?", ".") + " Thanks in advance, we're stuck on this one!",  # no question mark at all
    " ".join(["paste"] * 20) + " Traceback (most recent call last): ValueError: bad header in row 17",
]


# ----------------------------------------------------------------------------- the replaced computations
def reference_fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def reference_closest(corrector: SpellingCorrector, word: str) -> str | None:
    """The corrector's n-gram similarity as a loop over the word's n-grams."""
    if corrector._matrix is None or len(word) < corrector.min_length or not word.isalpha() or corrector.known(word):
        return None
    padded = f" {word} "
    grams: dict[int, int] = {}
    for n in (2, 3):
        for i in range(len(padded) - n + 1):
            col = corrector.grams.get(padded[i:i + n])
            if col is not None:
                grams[col] = grams.get(col, 0) + 1
    if not grams:
        return None
    cols = np.fromiter(grams, dtype=np.int64)
    weights = (1.0 + np.log(np.fromiter(grams.values(), dtype=np.float64))) * corrector.gram_idf[cols]
    weights /= np.linalg.norm(weights)
    sims = np.zeros(len(corrector.vocabulary))
    matrix = corrector._matrix
    for col, w in zip(cols, weights):
        lo, hi = matrix.indptr[col], matrix.indptr[col + 1]
        sims[matrix.indices[lo:hi]] += w * matrix.data[lo:hi]
    return reference_pick(corrector, word, sims)


def reference_analyze(analyzer: Analyzer, text: str, gap: int) -> list[str]:
    all_stems = [stem(w) for w in words(text)]
    terms = [stem(w) for w in words(text) if w not in STOP_WORDS]
    out = list(terms)
    if analyzer.bigrams:
        out.extend(f"{a} {b}" for a, b in zip(terms, terms[1:]))
    out.extend(analyzer.synonyms.tokens(all_stems, gap))
    return out


def reference_fix_word(token: str, fixes: dict[str, str]) -> str:
    found = words(token)
    if len(found) == 1 and found[0] in fixes:
        return token.lower().replace(found[0], fixes[found[0]])
    return token


def reference_clean(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def reference_latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if ch.isascii() or "LATIN" in unicodedata.name(ch, "")) / len(letters)


ODD_TEXTS = QUESTIONS + ["", " ", "Ünïcödé ﬁle naïve façade", "e\u0301clair", "Привет, как опубликовать данные?",
                         "数据集 dataset 数据", "\u200bzero\u200bwidth", "a\u00a0b\u2028c\u3000d", "ok 👍🏽",
                         "İstanbul"]


# ----------------------------------------------------------------------------- pieces
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_text_pieces_equal_their_reference(text):
    assert fold(text) == reference_fold(text)
    assert clean_question(text)[0] == reference_clean(text)
    assert latin_share(text) == reference_latin_share(text)
    analyzer = Analyzer(Synonyms([["take down", "retire", "unpublish"], ["data set", "dataset"]]), bigrams=True)
    for gap in (0, 3):
        assert analyzer(text, gap) == reference_analyze(analyzer, text, gap)
    fixes = {"gatway": "gateway", "datset": "dataset", "cafe": "coffee", "it": "IT"}
    for token in text.split(" ") + ["Gatway,", "datset's", "gatway-datset", "(datset)", "café"]:
        assert _fix_word(token, fixes) == reference_fix_word(token, fixes)


def test_spelling_equals_the_loop_over_ngrams(bundled_index):
    corrector = bundled_index[1].ranker.spelling
    original_batch = spelling.BATCH_CELLS
    probes = {w for q in ODD_TEXTS for w in words(q)} | {
        "gatway", "datset", "metdata", "publsh", "stewrd", "socrat", "sync", "choropleth", "zzzz", "qqqqqq", "night",
        "aproval", "retirment", "schedual", "spredsheet"}
    probes |= {w[:-1] + w[-1] * 2 for w in corrector.vocabulary[::7]}   # a doubled last letter of real words
    corrected = 0
    for word in sorted(probes):
        expected = reference_closest(corrector, word)
        assert corrector.correct_word(word) == expected, word
        assert corrector.correct_word(word) == expected, word       # remembered: the same answer
        corrected += expected is not None
    assert corrected > 20
    ordered = sorted(probes)
    expected = [reference_closest(corrector, w) for w in ordered]
    for batch_cells in (spelling.BATCH_CELLS, 3 * len(corrector.vocabulary) + 1):   # one batch; batches of 3
        corrector._memo.clear()
        spelling.BATCH_CELLS = batch_cells
        try:
            assert corrector.correct_words(ordered + ordered[::-1]) == expected + expected[::-1]
        finally:
            spelling.BATCH_CELLS = original_batch


def test_spelling_vectors_equal_one_word_at_a_time(bundled_index):
    """The batched n-gram vectors are bit for bit what one word at a time gives (``reference_closest``)."""
    corrector = bundled_index[1].ranker.spelling
    probes = sorted({w for q in ODD_TEXTS for w in words(q)} | set(corrector.vocabulary[::3]) | {"zzzz", "a", "q"})
    looked, cols, weights, lengths = corrector._vectors(probes)
    at = 0
    for r, length in zip(looked, lengths):
        padded = f" {probes[r]} "
        grams: dict[int, int] = {}
        for n in (2, 3):
            for i in range(len(padded) - n + 1):
                col = corrector.grams.get(padded[i:i + n])
                if col is not None:
                    grams[col] = grams.get(col, 0) + 1
        expected = (1.0 + np.log(np.fromiter(grams.values(), dtype=np.float64))) * corrector.gram_idf[list(grams)]
        expected /= np.linalg.norm(expected)
        assert cols[at:at + length].tolist() == list(grams)
        assert np.array_equal(weights[at:at + length], expected), probes[r]
        at += length
    assert at == len(cols) and len(looked) > 100 and len(looked) < len(probes)


def reference_pick(corrector: SpellingCorrector, word: str, sims: np.ndarray) -> str | None:
    """SpellingCorrector._pick as it was: always the five largest by ``argpartition``."""
    top = np.argpartition(-sims, min(5, len(sims) - 1))[:5]
    for i in top[np.argsort(-sims[top])]:
        candidate = corrector.vocabulary[int(i)]
        if sims[i] < corrector.min_similarity:
            break
        if candidate[0] == word[0] or word in candidate:
            return candidate
    return None


def test_pick_equals_the_five_largest_by_argpartition(bundled_index):
    corrector = bundled_index[1].ranker.spelling
    size = len(corrector.vocabulary)
    rng = np.random.default_rng(0)
    cases = 0
    for word in ["gatway", "datset", "metdata", "xyz", "portl", *corrector.vocabulary[::11]]:
        looked, cols, weights, _ = corrector._vectors([word])
        if looked:
            sims = corrector._similarities(cols, weights, np.zeros(len(cols), dtype=np.int64), 1)[0]
            assert corrector._pick(word, sims) == reference_pick(corrector, word, sims), word
            cases += 1
        for above in (1, 2, 5, 6, 9):   # made-up similarities: distinct, tied, more than five above
            sims = rng.uniform(0, 0.5, size)
            chosen = rng.choice(size, above, replace=False)
            sims[chosen] = rng.uniform(0.55, 1.0, above)
            assert corrector._pick(word, sims) == reference_pick(corrector, word, sims), word
            sims[chosen] = 0.8
            for w in (word, corrector.vocabulary[chosen[-1]][:3] + "q"):
                assert corrector._pick(w, sims) == reference_pick(corrector, w, sims), w
    assert cases > 20


def test_spelling_memory_is_bounded_and_not_stored(tmp_path):
    from indexer import state

    corrector = SpellingCorrector().fit(["Gateway is a tool for scheduled updates.", "Metadata describes data."])
    for i in range(CACHE_WORDS + 10):
        corrector.correct_word("gatewa" + "y" * (i % 50) + "x" * (i // 50))
    assert 0 < len(corrector._memo) <= CACHE_WORDS
    tree, _ = state.encode(corrector)
    assert "_memo" not in str(tree)
    assert corrector.fit(["Portal"])._memo == {}                    # refitting forgets


# ----------------------------------------------------------------------------- end to end
def _outcome(index: Index, question: str):
    result = index.search(question, 8)
    decision = decide(question, index)
    hits = [(h.section.url, h.score, h.relevance, h.passage, h.passage_text, h.section_terms) for h in result.hits]
    return (result.query, hits, decision.kind, [h.section.url for h in decision.answers], decision.probability,
            decision.evidence and decision.evidence.values)


def test_results_do_not_depend_on_what_was_asked_before(bundled_index):
    folder, _ = bundled_index
    cold = [_outcome(Index.load(folder), q) for q in QUESTIONS]      # each on a freshly loaded index
    warm_index = Index.load(folder)
    for q in reversed(QUESTIONS):
        _outcome(warm_index, q)
    warm = [_outcome(warm_index, q) for q in QUESTIONS]
    assert warm == cold
    kinds = {c[2] for c in cold}
    assert len(kinds) >= 2 and any(c[1] for c in cold)


def test_typo_evidence_equals_difflib():
    from difflib import SequenceMatcher

    from indexer.index import TYPO_EVIDENCE_SIMILARITY, _similar_spelling

    pairs = [("gatway", "gateway"), ("analyst", "analysis"), ("afternoon", "after"), ("sync", "datasync"),
             ("metdata", "metadata"), ("becuase", "because"), ("ab", "abcdefgh"), ("publsh", "publish"),
             ("spredsheet", "spreadsheet"), ("retirment", "retirement"), ("boss", "bose"), ("x", "xy")]
    for word, fix in pairs + [(b, a) for a, b in pairs]:
        assert _similar_spelling(word, fix) == (SequenceMatcher(None, word, fix).ratio() >= TYPO_EVIDENCE_SIMILARITY)


def test_postings_equal_a_loop_over_columns(bundled_index):
    ranker = bundled_index[1].ranker
    for field in (ranker.title, ranker.body, ranker.passages, ranker.heading, ranker.examples):
        for question in QUESTIONS + ["", "zzzz qqqq"]:
            cols, _ = field._weighted(set(ranker.analyzer(question)))
            rows, data, which = field.postings(cols)
            m = field.matrix
            expected = [(int(r), float(d), j) for j, c in enumerate(cols)
                        for r, d in zip(m.indices[m.indptr[c]:m.indptr[c + 1]], m.data[m.indptr[c]:m.indptr[c + 1]])]
            assert list(zip(rows.tolist(), data.tolist(), which.tolist())) == expected


def reference_field_scores(ranker, query) -> dict[str, np.ndarray]:
    """Ranker.field_scores as it was: each field scored on its own (``FieldIndex``), the whole post, then
    its ask."""
    n = ranker.n_sections

    def body_scores(terms, specific):
        body = ranker.body
        cols, weights = body._weighted(terms)
        if not len(cols):
            return np.zeros(n), np.zeros(n), np.zeros(n)
        spec = np.asarray([specific.get(t, 1.0) for t in terms if t in body.vocabulary])
        rows, data, which = body.postings(cols)
        idf = body.idf[cols]
        best = (body.k1 + 1) * float(idf @ weights)
        bm25 = np.bincount(rows, data * weights[which], minlength=n) / max(best, 1e-12)
        cover_w, spec_w = weights * idf, spec * idf
        cover = np.bincount(rows, cover_w[which], minlength=n) / max(float(cover_w.sum()), 1e-12)
        return bm25, cover, np.bincount(rows, spec_w[which], minlength=n) / max(float(spec_w.sum()), 1e-12)

    def example_scores(terms):   # -> (best team example, best approved question) of each section
        out, approved, ex = np.zeros(n), np.zeros(n), ranker.examples
        cols, weights = ex._weighted(terms)
        if not len(ranker.example_owner) or not len(cols):
            return out, approved
        rows, data, which = ex.postings(cols)
        e = len(ranker.example_owner)
        total = (ex.k1 + 1) * float(ex.idf[cols] @ weights)
        asked = np.bincount(rows, data * weights[which], minlength=e) / max(total, 1e-12)
        got = np.bincount(rows, data, minlength=e)
        matched = np.divide(got, ranker.example_totals, out=np.zeros(e), where=ranker.example_totals > 0)
        sim = np.where(asked + matched > 0, 2 * asked * matched / np.maximum(asked + matched, 1e-12), 0.0)
        team = ~ranker.example_approved
        np.maximum.at(out, ranker.example_owner[team], sim[team])
        np.maximum.at(approved, ranker.example_owner[~team], sim[~team])
        return out, approved

    def heading_overlap(terms):
        cols, _ = ranker.heading._weighted(terms)
        if not len(cols):
            return np.zeros(n)
        rows, _, which = ranker.heading.postings(cols)
        out = np.bincount(rows, ranker.heading.idf[cols][which], minlength=n)
        return np.divide(out, ranker.heading_total, out=np.zeros(n), where=ranker.heading_total > 0)

    out = {}
    multi = len(query.ask) < len(query.sentences)
    for prefix, terms, specific in (("", query.terms, query.specific), ("ask_", query.ask_terms, query.ask_specific)):
        if prefix and not multi:
            out.update({"ask_" + name: out[name] for name in FIELDS})
            break
        out[prefix + "title"] = ranker.title.scores(terms)
        out[prefix + "body"], out[prefix + "coverage"], out[prefix + "specific"] = body_scores(terms, specific)
        out[prefix + "passage"] = np.maximum.reduceat(ranker.passages.scores(terms), ranker.passage_starts)
        out[prefix + "example"], out[prefix + "approved"] = example_scores(terms)
        out[prefix + "example_doc"] = ranker.example_docs.scores(terms)
        out[prefix + "heading"] = heading_overlap(terms)
    out["definition"] = ranker._definition_scores(query)
    return out


def reference_candidate_features(ranker, query, fields, first, cand) -> np.ndarray:
    """rerank.candidate_features as it was: a list of (C,) columns, stacked."""
    import math

    c = len(cand)
    top = max(float(first[cand[0]]), 1e-9) if c else 1.0
    multi = float(len(query.ask) < len(query.sentences))
    page_max = np.maximum.reduceat(first, ranker.page_starts)
    page_sum = np.add.reduceat(first, ranker.page_starts)
    pages = ranker.page_of[cand]
    cols = [first[cand], first[cand] / top, (top - first[cand]), np.log1p(np.arange(c, dtype=np.float64))]
    cols += [fields[f][cand] for f in FIELDS]
    cols.append(fields["definition"][cand])
    cols += [fields[f"ask_{f}"][cand] for f in FIELDS]
    cols += [multi * (fields[f"ask_{f}"][cand] - fields[f][cand]) for f in ("body", "passage", "example", "coverage")]
    static = ranker.static[cand]
    cols += [static[:, j] for j in range(static.shape[1])]
    cols.append((ranker.example_count[cand] > 0).astype(np.float64))
    cols += [page_max[pages] / top, page_sum[pages] / max(float(page_sum.max()), 1e-9),
             (first[cand] >= page_max[pages]).astype(np.float64),
             np.maximum.reduceat(fields["title"], ranker.page_starts)[pages],
             np.maximum.reduceat(fields["example"], ranker.page_starts)[pages],
             np.full(c, math.log1p(len(query.terms)))]
    return np.column_stack(cols) if c else np.zeros((0, len(FEATURES)))


def _fixture_index(request, which: str) -> Index:
    """The bundled knowledge index, the handbook's (the eval knowledge base), or the bundled pages with every
    other example of knowledge/examples.toml indexed as a question approved from use ("approved")."""
    if which == "approved":
        from indexer.build import DEFAULT_EXAMPLES, DEFAULT_SYNONYMS
        from indexer.examples import load_examples, resolve_examples
        from indexer.text import Synonyms

        sections = list(request.getfixturevalue("bundled_index")[1].sections)
        pairs, _ = resolve_examples(sections, load_examples(DEFAULT_EXAMPLES))
        return Index.fit(sections, Synonyms.load(DEFAULT_SYNONYMS), examples=pairs[::2], approved=pairs[1::2])
    index = request.getfixturevalue(f"{which}_index")
    return index[1] if isinstance(index, tuple) else index


def _field_questions(index: Index) -> list[str]:
    """Our questions, every section's heading and breadcrumb, and long posts made of section sentences."""
    out = QUESTIONS + ["", "zzzz qqqq"]
    for s in index.sections:
        out += [s.heading, " > ".join(s.breadcrumb)]
    texts = [s.text for s in index.sections if s.text]
    out += [" ".join(texts[i:i + 3])[:1500] + " How do I " + index.sections[i].heading + "?"
            for i in range(0, len(texts), 7)]
    return out


@pytest.mark.parametrize("which", ["bundled", "handbook", "approved"])
def test_stacked_field_scores_equal_each_field_on_its_own(which, request):
    index = _fixture_index(request, which)
    ranker = index.ranker
    assert len(ranker.example_owner) and ranker.passage_starts is not None
    compared = 0
    for question in _field_questions(index):
        query, _ = ranker.understand(question)
        got, expected = ranker.field_scores(query), reference_field_scores(ranker, query)
        assert got.keys() == expected.keys()
        for name, values in expected.items():
            assert got[name].shape == values.shape, name
            np.testing.assert_allclose(got[name], values, rtol=1e-9, atol=1e-15, err_msg=f"{name}: {question!r}")
        compared += len(query.ask) < len(query.sentences)
    assert compared > 5   # posts whose ask is a part of them: both passes compared


@pytest.mark.parametrize("which", ["bundled", "handbook", "approved"])
def test_candidate_features_equal_the_stacked_columns(which, request):
    from indexer.rerank import candidate_features

    index = _fixture_index(request, which)
    ranker = index.ranker
    for question in _field_questions(index):
        query, _ = ranker.understand(question)
        fields = ranker.field_scores(query)
        first = ranker.first_stage(fields)
        cand = np.argsort(-first, kind="stable")[:ranker.params.rerank_depth]
        for rows in (cand[first[cand] > 0], cand, cand[:1], cand[:0]):
            got = candidate_features(ranker, query, fields, first, rows)
            assert got.shape == (len(rows), len(FEATURES))
            assert np.array_equal(got, reference_candidate_features(ranker, query, fields, first, rows)), question


def reference_best_passage(units, question_terms, idf, max_chars=600):
    """passages.best_passage as it was (the best unit found by ``max`` over a key)."""
    if not units:
        return "", ""
    weights = idf or {}
    scores = [0 if u.terms.isdisjoint(question_terms) else
              math.fsum(weights.get(t, 1.0) for t in u.terms & question_terms) for u in units]
    best = max(range(len(units)), key=lambda i: (scores[i], -i))
    return passage_around(units, scores, best, max_chars)


def test_best_passage_equals_the_max_over_a_key(bundled_index):
    from indexer.passages import best_passage

    index = bundled_index[1]
    idf = index._bm25_idf()
    for question in _field_questions(index):
        terms = set(index.ranker.analyzer(question))
        for i in range(len(index.sections)):
            units = index._units(i)
            for weights in (idf, None):
                assert best_passage(units, terms, weights) == reference_best_passage(units, terms, weights)


@pytest.mark.parametrize("which", ["bundled", "handbook"])
def test_understanding_with_the_specificity_table_equals_without(which, request):
    from indexer.query import understand

    index = _fixture_index(request, which)
    ranker, p = index.ranker, index.ranker.params
    odd_zipf = dict(ranker.zipf, syn1=4.0, syn2x=4.0)   # a stem that looks like a group token keeps weight 1
    for question in _field_questions(index) + ["syn1 and syn2x"]:
        for zipf in (ranker.zipf, odd_zipf):
            table = specificity_table(zipf)
            for gap in (0, p.synonym_gap):
                assert understand(question, ranker.analyzer, zipf, p.ask_boost, 1.0, gap, table) == \
                    understand(question, ranker.analyzer, zipf, p.ask_boost, 1.0, gap), question


def reference_synonym_tokens(synonyms, stems, gap):
    found = []
    for i, s in enumerate(stems):
        for phrase, gid in synonyms._phrases.get(s, ()):
            if tuple(stems[i:i + len(phrase)]) == phrase or (gap and _spread_match(stems, i, phrase, gap)):
                found.append(f"syn{gid}")
                break
    return found


def test_synonym_tokens_equal_the_loop_over_every_stem(bundled_index):
    ranker = bundled_index[1].ranker
    synonyms = ranker.analyzer.synonyms
    assert synonyms._phrases
    texts = _field_questions(bundled_index[1]) + [" ".join(g) for g in synonyms.groups] + [
        "take the old table down", "take it down take down", "data set dataset data  set"]
    for text in texts:
        stems = [stem(w) for w in words(text)]
        for gap in (0, 1, 3):
            assert synonyms.tokens(stems, gap) == reference_synonym_tokens(synonyms, stems, gap), text


def test_stack_postings_equal_each_fields_postings(bundled_index):
    ranker = bundled_index[1].ranker
    stack = ranker.stack
    for question in QUESTIONS:
        terms = dict.fromkeys(ranker.analyzer(question), 1.0)
        cols, _, _, _ = stack.query([(terms, {}), (terms, {})])
        rows, weight, idf, which = stack.postings(cols)
        got = sorted(zip(which.tolist(), rows.tolist(), weight.tolist(), idf.tolist()))
        expected = []
        for j, name in enumerate(STACKED):
            field = getattr(ranker, name)
            for k, col in enumerate(cols):
                term = list(stack.vocabulary)[col]
                if term in field.vocabulary:
                    c = field.vocabulary[term]
                    lo, hi = field.matrix.indptr[c], field.matrix.indptr[c + 1]
                    expected += [(k, int(r) + int(stack.starts[j]), float(d), float(field.idf[c]))
                                 for r, d in zip(field.matrix.indices[lo:hi], field.matrix.data[lo:hi])]
        assert got == sorted(expected)
        assert np.all(np.diff(which) >= 0)   # in the order of the columns


def test_stack_is_derived_not_stored(bundled_index, tmp_path):
    from indexer import state

    ranker = bundled_index[1].ranker
    tree, arrays = state.encode(ranker)
    assert "FieldStack" not in str(tree) and not any(f"'{name}'" in str(tree) for name in DERIVED)
    loaded = state.decode(tree, arrays)
    assert loaded.specificities == ranker.specificities
    for name in ("example_divisor", "heading_divisor"):
        assert np.array_equal(getattr(loaded, name), getattr(ranker, name))
    assert all(np.array_equal(a, b) for a, b in zip(loaded.example_runs, ranker.example_runs))
    assert set(vars(loaded.stack)) == set(vars(ranker.stack))
    for name, value in vars(ranker.stack).items():
        assert np.array_equal(value, getattr(loaded.stack, name)) if isinstance(value, np.ndarray) else \
            value == getattr(loaded.stack, name)


def reference_detect_intent(text: str):
    """detect_intent as it was: every regular expression run on every message."""
    from bot.decision import intents as i

    folded = text.lower().replace("’", "'").strip()
    if not folded or i._HELP.match(folded):
        return i.Intent.HELP
    if i._HANDOFF.search(folded):
        return i.Intent.HANDOFF
    if i._ACTION.search(folded):
        return i.Intent.ACTION
    without_links = i._URL.sub(" ", folded)
    if not any(ch.isalnum() for ch in without_links):
        return i.Intent.UNCLEAR
    if reference_latin_share(without_links) < i.MIN_LATIN_SHARE:
        return i.Intent.NOT_ENGLISH
    found = i._WORDS.findall(folded)
    if found and len(found) <= 6:
        if found[0] in i._GREETING_HEADS and all(w in i._GREETINGS for w in found):
            return i.Intent.GREETING
        if any(w in i._THANKS_HEADS for w in found) and all(w in i._THANKS for w in found):
            return i.Intent.THANKS
    return None


ASKS_FOR_PEOPLE = [
    "can I talk to a real person", "I'd like to chat with someone", "speak with the DAPA team please",
    "Speak\twith  some one", "talk to staff", "is there an actual human here", "human please", "escalate this",
    "agent", "  Operator!", "PERSON?", "chat with somebody at dapa", "talk with people who know",
    "'talk to a person' is what I asked for", "My boss said to talk to the team about the portal. Who approves it?",
    "Please reset my password", "can you grant me access to the portal", "email dapa@ct.gov or see https://x.org",
    "www.example.org", "hi there", "thanks so much", "help", "???",
]


@pytest.mark.parametrize("text", QUESTIONS + ASKS_FOR_PEOPLE + ODD_TEXTS[len(QUESTIONS):])
def test_intents_equal_every_regex_run(text):
    from bot.decision.intents import detect_intent

    assert detect_intent(text) == reference_detect_intent(text)
