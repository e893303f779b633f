"""The taggers' fast paths find exactly what the plain ones would."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import synthetic
from ingest.design import _ABSTRACT_CUES, _SCANNER, DesignTagger
from ingest.parse_xml import iter_xml
from ingest.regexhint import required_literals
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
        hint_sentences = {h: {view.sentence_at(a) for a in at} for h, at in _SCANNER.positions(text).items()}
        for cue in _ABSTRACT_CUES:
            fast = {(m.start(), m.group(0)) for m in DesignTagger._matches(cue, text, bounds, hint_sentences)}
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
    found = required_literals(pattern)
    assert (set(found) if found else None) == hints


def test_every_match_contains_one_of_its_hints(views):
    for cue in _ABSTRACT_CUES:
        if cue.hints is None:
            continue
        for view in views[:200]:
            for m in cue.pattern.finditer(view.abstract):
                assert any(h in m.group(0) for h in cue.hints), (cue.why, m.group(0), cue.hints)


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
