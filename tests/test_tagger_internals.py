"""The taggers' fast paths find exactly what the plain ones would."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import synthetic
from ingest.design import _ABSTRACT_CUES, DesignTagger
from ingest.parse_xml import iter_xml
from ingest.regexhint import Hint, required_hints
from ingest.textview import TextView
from ingest.topics import phrase_parts

ROOT = Path(__file__).parent.parent
SOURCES = sorted((ROOT / "ingest/data/demo/source").glob("*.toml")) + sorted(
    (ROOT / "tests/fixtures/labelled/source").glob("*.toml"))


@pytest.fixture(scope="module")
def views():
    records = synthetic.load(SOURCES)
    return [TextView.of(a) for a in iter_xml(io.BytesIO(synthetic.to_xml(records).encode()), "all")]


def test_hinted_cue_matching_finds_what_scanning_the_whole_text_finds(views):
    for view in views:
        text, n = view.abstract, len(view.starts)
        bounds = [(view.starts[i], view.starts[i + 1] - 1 if i + 1 < n else len(text)) for i in range(n)]
        tried = dict(DesignTagger._abstract_matches(view, bounds))  # what the tagger scans, and where
        for cue in _ABSTRACT_CUES:
            fast = {(m.start(), m.group(0)) for _, m in tried.get(cue, ())}
            slow = {(m.start(), m.group(0)) for m in cue.pattern.finditer(text)
                    if not any(lo <= m.start() < hi < m.end() for lo, hi in bounds)}  # within one sentence
            assert fast >= slow, (cue.why, slow - fast)


@pytest.mark.parametrize("pattern, hints", [
    (r"\b(?:were|was) (?:randomi[sz]ed|randomly assigned)", {" random"}),
    (r"\bplacebo[- ]controlled\b", {"controlled"}),   # the longer of the two words every match has
    (r"\b(?:in mice|in rats)\b", {"mice", "rats"}),   # the parser factors out the shared 'in '
    (r"\b(?:he|she)\b", {"he", "she"}),  # two letters are enough for the automaton to look for
    (r"\b(?:a|an)\b", None),             # no literal of two letters: always run
    (r"\d+ patients?", {" patient"}),
    (r"(?:foo)?bar", {"bar"}),           # the optional part is not required
])
def test_required_literals(pattern, hints):
    found = required_hints(pattern)
    assert ({h.text for h in found} if found else None) == hints


@pytest.mark.parametrize("pattern, hints", [
    (r"\b(?:he|she)\b", {Hint("he", True), Hint("she", True)}),  # not the "he" of "the"
    (r"\b(?:in mice|in rats)\b", {Hint("mice"), Hint("rats")}),  # after "in ", not after the \b
    (r"\bplacebo[- ]controlled\b", {Hint("controlled")}),
    (r"\d+ patients?", {Hint(" patient")}),
    (r"\b, and then", {Hint(", and then")}),  # \b before a comma: a word ends there
    (r"(?:\brats?)+ were", {Hint(" were")}),
    (r"\b(?=mit)mitragynine", {Hint("mitragynine", True)}),  # a lookahead consumes nothing
    (r"\b(?:a|an) (?:\bcase|\bwoman)", {Hint("case", True), Hint("woman", True)}),
])
def test_required_hints_know_which_literals_start_a_word(pattern, hints):
    assert set(required_hints(pattern)) == hints


def test_every_match_contains_one_of_its_hints(views):
    """Where the hint says so, at a word's start (the character before it is no letter, digit or _)."""
    def holds(hint: Hint, text: str, start: int, end: int) -> bool:
        at = text.find(hint.text, start, end)
        while at >= 0:
            if not hint.word_start or at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_"):
                return True
            at = text.find(hint.text, at + 1, end)
        return False

    for cue in _ABSTRACT_CUES:
        if cue.hints is None:
            continue
        for view in views[:200]:
            for m in cue.pattern.finditer(view.abstract):
                assert any(holds(h, view.abstract, m.start(), m.end()) for h in cue.hints), (cue.why, m.group(0))


@pytest.mark.parametrize("phrase, parts", [
    ("self-treat* opioid*", ("self-treat*", "opioid*")),
    ("standardi?ation", ("standardi?ation",)),
    ("7-OH products", ("7-oh", "products")),
    ("µ-opioid", ("µ-opioid",)),
])
def test_phrase_parts(phrase, parts):
    assert phrase_parts(phrase) == parts


def test_topic_phrases_respect_hyphenated_words_and_unless():
    from ingest.record import Article
    from ingest.topics import TopicTagger
    tagger = TopicTagger()
    pain_related = Article(pmid=1, title="Opioid-related harms", abstract="Pain-related visits rose. Pain-related costs too.")
    assert "pain" not in {t.topic for t in tagger.tag(pain_related)}
    microsomes = Article(pmid=2, title="Mitragynine in human liver microsomes",
                         abstract="Liver microsomes metabolised mitragynine. Hepatic clearance was high.")
    topics = {t.topic for t in tagger.tag(microsomes)}
    assert "liver_injury" not in topics and "pharmacology" in topics


def test_hint_scanner_finds_every_hint_where_it_stands():
    from ingest.regexhint import HintScanner
    scanner = HintScanner({"rand", "random", "randomi", "rats", "blind"})
    found = scanner.positions("double-blind randomised rats; random")
    assert found == {"blind": [7], "rand": [13, 30], "random": [13, 30], "randomi": [13], "rats": [24]}
    # a hint that must start a word, beside the same text that may stand anywhere
    scanner = HintScanner({Hint("he", True), "she", "he"})
    found = scanner.positions("he said the shed; (he) she_he")
    assert found == {Hint("he", True): [0, 19], "he": [0, 9, 13, 19, 24, 27], "she": [12, 23]}


def test_abstract_words_and_their_spans_agree_with_the_text(views):
    for view in views[:200]:
        words, sentence_of, first = view.abstract_words
        assert len(words) == len(sentence_of) and first == sorted(first)
        for k in range(0, len(words), 7):
            start, end = view.word_span(k)
            assert view.abstract[start:end] == words[k]
            assert view.sentence_at(start) == sentence_of[k]


def test_phrase_lookup_survives_clearing_its_cache(monkeypatch):
    from ingest import topics
    index = topics.PhraseIndex([("pain", 2.0, "chronic pain"), ("liver_injury", 2.0, "liver")])
    words = "patients with chronic pain and liver injury".split()
    expected = index.find(words)
    assert [(a, b, t) for a, b, t, _ in expected] == [(2, 4, "pain"), (5, 6, "liver_injury")]
    monkeypatch.setattr(topics, "CACHE_WORDS", 3)  # every call now starts from an empty cache
    assert index.find(words) == expected and index.find(words[::-1])  # and still finds the phrases
    assert len(index._cache) <= len(set(words))


def test_labels_do_not_depend_on_string_hashing():
    """The evidence text lists equal-weight MeSH headings in a fixed order, not set order."""
    import subprocess
    import sys
    code = ("import json, sys; from ingest.parse_xml import iter_xml; from ingest.tagging import Tagger; "
            "t = Tagger(); path = 'ingest/data/demo/demo_sample.xml'; "
            "print(json.dumps([[x.evidence for x in t.tag(a).topics] for a in iter_xml(open(path, 'rb'), path)]))")
    outputs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and "MeSH" in next(iter(outputs))


def _small_training_sets(tmp_path, n=60):
    """The demo and training sets' XML, each with its first ``n`` labels (a small model: quick to fit)."""
    import csv

    files = [(ROOT / "ingest/data/demo/demo_sample.xml", ROOT / "ingest/data/demo/demo_labels_majority.csv"),
             (ROOT / "ingest/data/dev/dev_sample.xml", ROOT / "ingest/data/dev/dev_labels_majority.csv")]
    labels = []
    for i, (_, path) in enumerate(files):
        rows = list(csv.DictReader(path.open(encoding="utf-8")))[:n]
        labels.append(tmp_path / f"labels{i}.csv")
        with labels[-1].open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=rows[0].keys())
            writer.writeheader()
            writer.writerows(rows)
    return [x for x, _ in files], labels


def test_the_topic_model_trains_on_several_labelled_files(tmp_path):
    pytest.importorskip("sklearn")
    from ingest.topic_model import TopicModel, train
    xmls, labels = _small_training_sets(tmp_path)
    data = train(xmls, labels)
    assert data["meta"]["records"] == 120
    assert data["meta"]["trained_on"] == "demo_sample.xml with labels0.csv, dev_sample.xml with labels1.csv"
    model = TopicModel(data)
    assert model.topics == data["topics"] and len(model.features) > 100
    with pytest.raises(ValueError, match="one labels file for each XML file"):
        train(xmls, labels[:1])


def test_cross_validation_scores_each_record_once_by_a_model_that_never_saw_it(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from ingest import topic_model
    xmls, labels = _small_training_sets(tmp_path)
    topics, scored = topic_model.read_examples(xmls[:1], labels[:1])
    extra = topic_model.read_examples(xmls[1:], labels[1:])[1]
    cv = topic_model.cross_validate(topics, scored, extra, thresholds=(0.3, 0.5, 0.7), folds=3)
    assert {s.n for s in cv.values()} == {60}
    assert cv[0.3].micro_recall >= cv[0.5].micro_recall >= cv[0.7].micro_recall
    assert cv[0.3].micro_precision <= cv[0.7].micro_precision
    # the same records scored by a model that was trained on them do better than out of fold
    model = topic_model.TopicModel(topic_model.fit(topics, scored + extra))
    seen = model.predict_many([model.vector(f) for _, f, _, _ in scored], [s for _, _, s, _ in scored], explain=2.0)
    from ingest.evaluate import score_topics
    in_sample = score_topics({p: g for p, _, _, g in scored},
                             {p: {t for t, (q, _) in found.items() if q >= 0.5} for (p, _, _, _), found in zip(scored, seen)},
                             topics)
    assert in_sample.micro_f1 > cv[0.5].micro_f1 + 0.05
    # and from the command line
    args = ["cv", "--xml", str(xmls[0]), "--labels", str(labels[0]), "--xml", str(xmls[1]), "--labels", str(labels[1]),
            "--folds", "3", "--threshold", "0.5", "--c", "10", "--c", "3"]
    assert topic_model.main(args) == 0
    out = capsys.readouterr().out
    assert "3-fold cross-validation over 60 records of demo_sample.xml (+60 training records in every fold), words\n" in out
    assert len([line for line in out.splitlines() if line.startswith(("10 ", "3 "))]) == 2
    with pytest.raises(SystemExit):
        topic_model.main(args + ["--xml", str(xmls[0])])  # an --xml without its --labels
    assert "give one --labels for each --xml" in capsys.readouterr().err
    # bad input: one line, exit status 1
    no_topics = tmp_path / "no_topics.csv"
    no_topics.write_text("pmid,study_type\n90000001,survey\n", encoding="utf-8")
    for bad in (["cv", "--xml", str(tmp_path / "missing.xml"), "--labels", str(labels[0])],
                ["cv", "--xml", str(xmls[0]), "--labels", str(no_topics)],
                ["train", "--xml", str(labels[0]), "--labels", str(labels[0]), "--out", str(tmp_path / "m.json")]):
        assert topic_model.main(bad) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "m.json").exists()


def test_tagging_a_batch_gives_what_tagging_one_record_at_a_time_gives():
    """The topic model scores a batch in one product; labels, scores and evidence text must be
    the same as record by record, whatever the batch holds (a correction notice, a record with
    no abstract, more records than one chunk)."""
    from ingest import tagging
    from ingest.record import Article

    paths = [ROOT / "ingest/data/demo/demo_sample.xml", ROOT / "tests/fixtures/xml/erratum.xml",
             ROOT / "tests/fixtures/xml/retraction.xml"]
    articles = [a for p in paths for a in iter_xml(open(p, "rb"), str(p)) if isinstance(a, Article)]
    articles.append(Article(pmid=1, title="Kratom", abstract=""))  # a title and nothing else
    tagger = tagging.Tagger()

    def plain(labels):
        return (labels.design, [(t.topic, t.score, t.evidence, t.anchored) for t in labels.topics], labels.sample)

    one_by_one = [plain(tagger.tag(a)) for a in articles]
    batched = [plain(labels) for labels in tagger.tag_many(articles)]
    assert len(articles) > 3 * tagging.BATCH
    assert batched == one_by_one
    assert any(topics for _, topics, _ in batched) and any(not topics for _, topics, _ in batched)
    assert tagger.tag_many([]) == []


def test_word_positions_found_by_search_are_the_patterns_positions(views):
    """TextView.word_span finds a word by searching for its text after the word before; that
    must land where the word pattern matched, whatever stands between words."""
    import re

    from ingest.record import Article
    from ingest.textview import TOKEN
    tricky = TextView.of(Article(pmid=1, title="t", abstract=(
        "Kratom_use (n=12): co-use, self-report- and -pain; pain-pain painful pain. Ca2+ 7-OH-mitragynine "
        "7-OH; ß-blockers, naïve users' pain__pain a--b - c. Pain pain PAIN; e.g. i.e. x_y_z 3.5 mg/kg.")))
    for view in views + [tricky]:
        expected = [m.span() for m in TOKEN.finditer(view.abstract)]
        words = view.abstract_words[0]
        assert len(expected) == len(words)
        # asked in an odd order: later words first, then earlier ones, as the quoting does
        order = list(range(len(words)))[::-3] + list(range(len(words)))
        assert {k: view.word_span(k) for k in order} == dict(enumerate(expected))
    assert tricky.abstract[slice(*tricky.word_span(4))] == "co-use" and re.search("pain__pain", tricky.abstract)


@pytest.mark.parametrize("word_pairs", [False, True], ids=["shipped model, words", "a model with word pairs"])
def test_the_model_reads_a_record_as_it_learned_from_it(word_pairs, tmp_path):
    """Training writes features out by name (text_features); tagging encodes a record straight to
    the model's indices (TopicModel.encode). Both must give the same vector, in the same order,
    for the shipped model (words only) and for a model a user trains with --word-pairs."""
    import numpy as np

    from ingest.record import Article
    from ingest.topic_model import TopicModel, text_features, train
    if word_pairs:
        pytest.importorskip("sklearn")
        model = TopicModel(train(*_small_training_sets(tmp_path), word_pairs=True))
        assert model.pair_index and model.meta["word_pairs"] is True
    else:
        model = TopicModel.load()
        assert not model.pair_index and model.meta["word_pairs"] is False
    paths = [ROOT / "ingest/data/demo/demo_sample.xml", ROOT / "tests/fixtures/xml/structured_abstract.xml"]
    articles = [a for p in paths for a in iter_xml(open(p, "rb"), str(p)) if isinstance(a, Article)]
    articles.append(Article(pmid=2, title="Zzyzx qwerty", abstract=""))  # nothing the model knows
    compared = pairs = 0
    pair_ids = set(model.pair_index.values())
    for article in articles:
        view = TextView.of(article)
        for design in ("survey", None):
            idx, vals = model.encode(article, view, design)
            expected_idx, expected_vals = model.vector(text_features(article, view, design, word_pairs=word_pairs))
            assert idx.tolist() == expected_idx.tolist()
            assert np.array_equal(vals, expected_vals)
            compared += len(idx)
            pairs += len(pair_ids.intersection(idx.tolist()))
    assert compared > 10_000 and model.encode(articles[-1], TextView.of(articles[-1]), None)[0].size == 0
    assert (pairs > 1_000) is word_pairs


def test_bootstrap_interval_brackets_the_score_and_narrows_with_more_records():
    from ingest.evaluate import _micro_f1, _share, bootstrap_interval
    rows = [(1, 1)] * 80 + [(0, 1)] * 20  # 80 of 100 records right
    low, high = bootstrap_interval(rows, _share)
    assert 0.6 < low < 0.8 < high < 0.95
    assert bootstrap_interval(rows, _share) == (low, high)  # seeded: the same every run
    many_low, many_high = bootstrap_interval(rows * 10, _share)
    assert many_low < 0.8 < many_high and many_high - many_low < (high - low) / 2  # ten times the records
    assert bootstrap_interval([(1, 1)] * 50, _share) == (1.0, 1.0)
    assert bootstrap_interval([(1, 1)], _share) is None
    # micro-F1 from each record's true positives, false positives and false negatives: 60, 10, 10
    low, high = bootstrap_interval([(2, 0, 0)] * 30 + [(0, 1, 1)] * 10, _micro_f1)
    assert low < 60 / 70 < high
