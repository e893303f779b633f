"""The taggers: scores on the held-out labelled set, hard cases pinned, and how labels are stored."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import store, synthetic
from ingest.design import DesignTagger
from ingest.evaluate import evaluate, read_labels
from ingest.parse_xml import iter_xml
from ingest.pipeline import ingest_files
from ingest.samplesize import SampleSizeExtractor
from ingest.textview import TextView
from tests.helpers import FIXTURES, query, scalar

HELD_OUT = FIXTURES / "labelled"
DEMO_SOURCES = sorted((Path(__file__).parent.parent / "ingest/data/demo/source").glob("*.toml"))


@pytest.fixture(scope="module")
def heldout(tmp_path_factory):
    """The held-out labelled set (written by other hands than the rules' development set), ingested."""
    db_path = tmp_path_factory.mktemp("heldout") / "heldout.db"
    assert ingest_files(db_path, [HELD_OUT / "labelled.xml"]).ok
    return store.connect(db_path, readonly=True), HELD_OUT / "labels.csv"


def test_labelled_files_match_their_sources():
    records = synthetic.load(sorted((HELD_OUT / "source").glob("*.toml")))
    assert (HELD_OUT / "labelled.xml").read_text(encoding="utf-8") == synthetic.to_xml(records), \
        "rebuild: python -m ingest.synthetic build tests/fixtures/labelled/source/*.toml " \
        "--xml tests/fixtures/labelled/labelled.xml --labels tests/fixtures/labelled/labels.csv"
    assert (HELD_OUT / "labels.csv").read_text(encoding="utf-8") == synthetic.labels_csv(records)


def test_labelled_set_is_large_and_spans_every_design(heldout):
    _, labels = heldout
    from ingest.taxonomy import DESIGN_CODES, TOPIC_CODES
    gold = read_labels(labels, set(TOPIC_CODES))
    assert len(gold.study_type) >= 250
    assert set(gold.study_type.values()) == set(DESIGN_CODES)


def test_design_scores_on_the_held_out_set(heldout):
    db, labels = heldout
    ev = evaluate(db, labels)
    d = ev.design
    assert ev.found == ev.labels
    assert d.macro_f1 >= 0.90, d.macro_f1
    for code in ("randomized_trial", "survey", "observational", "case_report"):
        assert d.per_class[code]["f1"] >= 0.92, (code, d.per_class[code])


def test_text_only_design_scores_on_the_held_out_set(heldout):
    db, labels = heldout
    assert evaluate(db, labels, text_only=True).design.macro_f1 >= 0.85


# ------------------------------------------------------------------ hard cases, pinned


def _hard_cases(name: str) -> list:
    records = [r for r in synthetic.load(DEMO_SOURCES) if r.get("hard_case") == name]
    assert records, f"no development record pins '{name}'"
    return records


def _tag(rec: dict, text_only: bool = False):
    article = next(iter_xml(io.BytesIO(synthetic.to_xml([rec]).encode()), "pin"))
    return DesignTagger(text_only=text_only).tag(article)


def _pin(name: str, expected: str | None = None):
    records = _hard_cases(name)

    @pytest.mark.parametrize("rec", records, ids=[str(r["pmid"]) for r in records])
    def check(rec):
        tag = _tag(rec)
        assert tag.study_type == (expected or rec["study_type"]), tag.evidence
        assert tag.evidence and 0.0 <= tag.confidence <= 1.0

    return check


test_survey_of_clinicians_is_a_survey = _pin("survey of clinicians", "survey")
test_animals_randomly_assigned_are_preclinical = _pin("animals randomly assigned", "preclinical")
test_systematic_review_of_case_reports_is_a_systematic_review = _pin("systematic review of case reports", "systematic_review")
test_secondary_analysis_of_trial_data_is_observational = _pin("secondary analysis of trial data", "observational")
test_narrative_review_saying_trials_are_lacking_is_a_review = _pin("narrative review saying trials are lacking", "review")
test_commentary_about_a_trial_is_commentary = _pin("commentary about a trial", "commentary")
test_human_liver_microsomes_are_preclinical = _pin("human liver microsomes", "preclinical")
test_pharmacokinetic_study_in_volunteers_is_a_clinical_trial = _pin("pharmacokinetic study in volunteers")
test_analysis_of_national_survey_data_is_observational = _pin("analysis of national survey data", "observational")
test_trial_protocols_keep_the_design_of_their_trial = _pin("trial protocol")
test_non_english_records_are_tagged_from_their_english_title = _pin("non-English record")
test_records_without_abstract_are_tagged = _pin("record without abstract")


def test_animal_randomisation_is_named_in_the_evidence():
    rec = _hard_cases("animals randomly assigned")[0]
    assert "animals, not people" in _tag(rec).evidence


def test_secondary_analysis_overrides_an_rct_publication_type():
    rec = next(r for r in _hard_cases("secondary analysis of trial data")
               if "Randomized Controlled Trial" in r.get("publication_types", []))
    tag = _tag(rec)
    assert tag.study_type == "observational" and "secondary analysis" in tag.evidence


def test_text_only_hides_publication_types():
    rec = {"pmid": 90999999, "title": "A note", "journal": "J", "year": 2020, "status": "MEDLINE",
           "publication_types": ["Randomized Controlled Trial"], "study_type": "other"}
    assert _tag(rec).study_type == "randomized_trial"
    assert "publication type 'Randomized Controlled Trial'" in _tag(rec).evidence
    assert _tag(rec, text_only=True).study_type != "randomized_trial"


def test_publication_types_are_trusted_less_when_the_publisher_supplied_them():
    base = {"pmid": 90999998, "title": "A note", "journal": "J", "year": 2020, "study_type": "other",
            "publication_types": ["Case Reports"]}
    curated = _tag({**base, "status": "MEDLINE", "indexing_method": "Curated"})
    publisher = _tag({**base, "status": "Publisher"})
    assert curated.scores["case_report"] > publisher.scores["case_report"]
    assert "supplied by the publisher" in publisher.evidence


def test_correction_notices_are_other_with_no_topics(run_cli, fixtures, db_path):
    run_cli("ingest", "file", fixtures / "xml/erratum.xml", fixtures / "xml/retraction.xml")
    designs = dict(query(db_path, "SELECT pmid, study_type FROM article_tags"))
    assert designs[99000108] == designs[99000110] == "other"
    assert scalar(db_path, "SELECT count(*) FROM article_topics WHERE pmid IN (99000108, 99000110)") == 0


# ------------------------------------------------------------------ storage, retag, taxonomy


def test_labels_are_stored_with_evidence_confidence_and_version(run_cli, fixtures, db_path):
    run_cli("ingest", "file", fixtures / "xml/structured_abstract.xml")
    (design, confidence, evidence, size, phrase, version), = query(
        db_path, "SELECT study_type, study_type_confidence, study_type_evidence, sample_size, sample_size_phrase, "
                 "tagger_version FROM article_tags")
    assert design == "randomized_trial" and 0.5 < confidence <= 1
    assert "Randomized Controlled Trial" in evidence or "randomly assigned" in evidence
    assert (size, phrase) == (24, "twenty-four adults")
    assert version.startswith("design-rules-") and "+topics-" in version and "+samplesize-" in version
    topics = dict(query(db_path, "SELECT topic, evidence FROM article_topics"))
    assert "opioid_withdrawal" in topics and "title" in topics["opioid_withdrawal"]


def test_retag_relabels_every_record_without_fetching(run_cli, fixtures, db_path):
    run_cli("ingest", "file", fixtures / "xml/structured_abstract.xml", fixtures / "xml/season.xml")
    with store.write_lock(db_path):
        db = store.connect(db_path)
        db.execute("UPDATE article_tags SET study_type = 'other', tagger_version = 'old'")
        db.execute("DELETE FROM article_topics")
        db.conn.commit()
        db.close()
    result = run_cli("retag")
    assert result.exit_code == 0 and result.stdout.startswith("re-tagged 2 records in ")
    assert scalar(db_path, "SELECT study_type FROM article_tags WHERE pmid = 99000101") == "randomized_trial"
    assert scalar(db_path, "SELECT count(*) FROM article_tags WHERE tagger_version = 'old'") == 0
    assert scalar(db_path, "SELECT count(*) FROM article_topics") > 0


def test_a_users_taxonomy_adds_a_topic_and_extends_one(run_cli, fixtures, db_path, tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text('[settings]\nmax_topics = 6\n'
                     '[[topic]]\ncode = "crossover_designs"\nlabel = "Crossover designs"\nstrong = ["crossover"]\n'
                     '[[topic]]\ncode = "pain"\nstrong = ["opioid withdrawal"]\n')
    run_cli("ingest", "file", fixtures / "xml/structured_abstract.xml")
    assert scalar(db_path, "SELECT count(*) FROM article_topics WHERE topic = 'crossover_designs'") == 0
    assert run_cli("retag", "--taxonomy", extra).exit_code == 0
    topics = {r[0] for r in query(db_path, "SELECT topic FROM article_topics")}
    assert {"crossover_designs", "pain"} <= topics
    assert "topics-1." in scalar(db_path, "SELECT tagger_version FROM article_tags")


@pytest.mark.parametrize("content, message", [
    ("[[topic]]\ncode = 'Bad Code'\n", "a code must be lower-case"),
    ("[[topic]\n", "taxonomy file"),
    ("[[topic]]\ncode = 'x'\nstrong = 'not a list'\n", "strong must be a list of strings"),
])
def test_a_broken_taxonomy_file_is_one_clear_error(run_cli, fixtures, db_path, tmp_path, content, message):
    bad = tmp_path / "bad.toml"
    bad.write_text(content)
    result = run_cli("ingest", "file", fixtures / "xml/season.xml", "--taxonomy", bad)
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output
    assert not db_path.exists() or scalar(db_path, "SELECT count(*) FROM articles") == 0


def test_evaluate_and_agreement_commands(run_cli, fixtures, db_path, tmp_path):
    run_cli("ingest", "file", fixtures / "xml/structured_abstract.xml", fixtures / "xml/non_english_vernacular.xml",
            fixtures / "xml/retraction.xml")
    labels = tmp_path / "labels.csv"
    labels.write_text("pmid,study_type,topics,sample_size\n99000101,randomized_trial,opioid_withdrawal,24\n"
                      "99000106,case_report,dependence,2\n12345,survey,,\n")
    out = run_cli("evaluate", labels).stdout
    assert "labelled records: 3; found in the database: 2; missing: 1 (first: 12345)" in out
    assert "study design: accuracy 1.000 (95% interval 1.000-1.000)" in out and "confusion matrix" in out
    assert "topics: micro-F1" in out and "sample size: exact match" in out
    agreement = run_cli("agreement").stdout
    assert "MEDLINE-indexed records: 4; with a publication type that names a design: 3" in agreement
    assert "agrees with PubMed's label on 3/3" in agreement
    bad = tmp_path / "bad.csv"
    bad.write_text("pmid,study_type\n99000101,randomised\n")
    result = run_cli("evaluate", bad)
    assert result.exit_code == 1 and "bad.csv line 2: study_type 'randomised' is not one of" in result.stderr


# ------------------------------------------------------------------ sample size phrases


@pytest.mark.parametrize("design, abstract, expected", [
    ("survey", "We ran an online survey (n = 2,798) of adults who use kratom.", 2798),
    ("survey", "A total of 8,049 respondents completed the questionnaire.", 8049),
    ("observational", "We reviewed the charts of twelve patients admitted after kratom use.", 12),
    ("case_report", "A 34-year-old woman presented with jaundice after six weeks of kratom use.", 1),
    ("case_report", "We describe three patients who developed seizures after kratom use.", 3),
    ("survey", "Of 3,410 people who opened the survey, 2,867 completed it and were analysed.", 2867),
    ("randomized_trial", "We randomised 120 adults to kratom or placebo; 104 completed the trial.", 120),
    ("observational", "We compared 86 cases and 172 matched controls in a case-control study.", 258),
    ("randomized_trial", "This protocol describes a trial that will randomise 120 adults.", None),
    ("preclinical", "Male mice (n = 96) were randomly assigned to mitragynine or vehicle.", None),
    ("review", "We reviewed 42 studies with 10,000 participants.", None),
    ("survey", "Six hundred and forty-two adults responded to the survey.", 642),
])
def test_sample_size_phrases(design, abstract, expected):
    from ingest.record import Article
    view = TextView.of(Article(pmid=1, title="t", abstract=abstract))
    got = SampleSizeExtractor().extract(view, design)
    assert (got.value if got else None) == expected


def test_majority_labels_are_reproducible_from_the_three_coders(run_cli, tmp_path):
    out = tmp_path / "majority.csv"
    result = run_cli("labels", "combine", HELD_OUT / "labels.csv", HELD_OUT / "annotations/coder_b.csv",
                     HELD_OUT / "annotations/coder_c.csv", "-o", out, db=False)
    assert result.exit_code == 0, result.output
    assert out.read_text() == (HELD_OUT / "labels_majority.csv").read_text()


def test_labels_agreement_reports_each_pair(run_cli):
    out = run_cli("labels", "agreement", HELD_OUT / "labels.csv", HELD_OUT / "annotations/coder_b.csv",
                  HELD_OUT / "annotations/coder_c.csv", db=False).stdout.splitlines()
    assert len(out) == 3 and out[0].startswith("labels.csv vs coder_b.csv: 300 records; design agreement")


def test_combine_takes_the_majority():
    from ingest.evaluate import Gold, combine_labels
    a = Gold({1: "survey", 2: "review"}, {1: {"pain"}, 2: set()}, {1: 10, 2: None})
    b = Gold({1: "survey", 2: "commentary"}, {1: {"pain", "mood_anxiety"}, 2: {"regulation_policy"}}, {1: 12, 2: None})
    c = Gold({1: "observational", 2: "other"}, {1: {"mood_anxiety"}, 2: set()}, {1: 12, 2: None})
    m = combine_labels([a, b, c])
    assert m.study_type == {1: "survey", 2: "review"}  # no majority for 2: the first coder's
    assert m.topics == {1: {"pain", "mood_anxiety"}, 2: set()}
    assert m.sample_size == {1: 12, 2: None}


def test_parallel_tagging_gives_the_same_labels(tmp_path, monkeypatch):
    from ingest import pipeline
    from ingest.tagging import Tagger, retag
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    sequential, parallel = tmp_path / "seq.db", tmp_path / "par.db"
    assert ingest_files(sequential, [HELD_OUT / "labelled.xml"], workers=1).ok
    assert ingest_files(parallel, [HELD_OUT / "labelled.xml"], workers=2).ok
    labels = "SELECT pmid, study_type, study_type_confidence, study_type_evidence, sample_size FROM article_tags ORDER BY pmid"
    topics = "SELECT pmid, topic, score FROM article_topics ORDER BY pmid, topic"
    assert query(parallel, labels) == query(sequential, labels) and len(query(parallel, labels)) == 300
    assert query(parallel, topics) == query(sequential, topics)
    db = store.connect(parallel)
    db.execute("DELETE FROM article_topics")
    db.execute("UPDATE article_tags SET study_type = 'other'")
    db.conn.commit()
    count, _ = retag(db, Tagger(), workers=2, batch=50, db_path=str(parallel))
    assert count == 300
    assert query(parallel, labels) == query(sequential, labels)
    assert query(parallel, topics) == query(sequential, topics)


def test_retag_reads_every_field_the_taggers_use(tmp_path):
    """retag loads only TAGGED_FIELDS: records read that way get the labels whole records get."""
    import dataclasses

    from ingest.tagging import TAGGED_FIELDS, Tagger
    db_path = tmp_path / "all.db"
    sources = [HELD_OUT / "labelled.xml", Path(__file__).parent.parent / "ingest/data/demo/demo_sample.xml",
               *sorted(p for p in (FIXTURES / "xml").glob("*.xml") if p.name != "empty_set.xml")]
    assert ingest_files(db_path, sources, labeller=None).ok
    db = store.connect(db_path)
    whole = list(store.load_articles(db))
    rows = db.execute(f"SELECT {', '.join(TAGGED_FIELDS)} FROM articles ORDER BY pmid").fetchall()
    read = [store.article_from_values(row, TAGGED_FIELDS) for row in rows]
    assert len(read) == len(whole) > 600
    tagger = Tagger()
    expected = tagger.tag_many(whole)
    assert tagger.tag_many(read) == expected
    # and the check has teeth: without one of those fields, some labels change
    without_types = [dataclasses.replace(a, publication_types=[]) for a in read]
    assert tagger.tag_many(without_types) != expected


def test_topic_scores_on_the_held_out_set(heldout):
    """Issue 5's targets, against the majority of three coders: topic micro-F1 0.88 and sample-size
    exact match 0.90 on the records that state one. The tagger reaches 0.881 (95% bootstrap
    interval 0.861-0.902), with little room: the second and third coders agree with the records'
    writers at 0.886-0.891 (tests/fixtures/labelled/annotations/README.md), and cross-validation
    on the development set gives 0.885-0.896 (ingest/topic_model.py)."""
    db, _ = heldout
    ev = evaluate(db, HELD_OUT / "labels_majority.csv")
    assert ev.topics.micro_f1 >= 0.88, ev.topics.micro_f1
    assert ev.sizes.exact_match >= 0.90, ev.sizes.exact_match
    # 300 records leave room either way: the bootstrap interval spans about 0.04 around the score
    low, high = ev.topics.interval
    assert low < ev.topics.micro_f1 < high and 0.02 < high - low < 0.08


def test_the_learned_topic_model_explains_itself_and_users_topics_fall_back_to_rules(tmp_path):
    from ingest.record import Article
    from ingest.topics import Taxonomy, TopicTagger
    article = Article(pmid=1, title="Jaundice and hepatotoxicity after kratom use: cholestatic liver injury in a man",
                      abstract="A 41-year-old man developed jaundice and cholestatic hepatitis after kratom use.")
    tags = {t.topic: t for t in TopicTagger().tag(article, design="case_report")}
    assert "liver_injury" in tags and "learned model p=" in tags["liver_injury"].evidence
    extra = tmp_path / "mine.toml"
    extra.write_text('[[topic]]\ncode = "jaundice_only"\nstrong = ["jaundice"]\n')
    mine = {t.topic for t in TopicTagger(Taxonomy(extra)).tag(article, design="case_report")}
    assert {"liver_injury", "jaundice_only"} <= mine  # the model's topic and the user's own, by rules
    rules_only = {t.topic for t in TopicTagger(model=None).tag(article, design="case_report")}
    assert "liver_injury" in rules_only


def test_the_topic_model_file_is_small_and_matches_the_taxonomy():
    import json

    from ingest.taxonomy import TOPIC_CODES
    from ingest.topic_model import MODEL_FILE
    data = json.loads(MODEL_FILE.read_text())
    assert MODEL_FILE.stat().st_size < 1_000_000 and data["topics"] == list(TOPIC_CODES)
    # the project's own development and training sets, never the held-out one
    assert data["meta"]["trained_on"] == ("demo_sample.xml with demo_labels_majority.csv, "
                                          "dev_sample.xml with dev_labels_majority.csv")
    assert data["meta"]["records"] == 1100


def test_the_sample_size_phrase_begins_at_a_word():
    from ingest.record import Article
    abstract = ("Background text. An anonymous cross-sectional online questionnaire was completed by "
                "1,234 adults who used kratom.")
    got = SampleSizeExtractor().extract(TextView.of(Article(pmid=1, title="t", abstract=abstract)), "survey")
    assert got.value == 1234
    assert got.phrase.endswith("1,234 adults") and got.phrase.split()[0] in abstract.split()
    assert got.phrase in abstract


def test_agreement_with_limit_zero_counts_the_disagreements_without_listing_them(run_cli):
    import re
    assert run_cli("demo").exit_code == 0
    quiet = run_cli("agreement", "--limit", "0").stdout
    listed = run_cli("agreement", "--limit", "3").stdout
    n = int(re.search(r"(\d+) disagreements to review \(--limit N lists them\)", quiet).group(1))
    assert n > 3 and "PMID" not in quiet
    assert f"disagreements to review (first 3 of {n}):" in listed and listed.count("  PMID ") == 3


DEV = Path(__file__).parent.parent / "ingest/data/dev"


def test_the_training_set_matches_its_sources_and_shares_nothing_with_the_held_out_set(run_cli, tmp_path):
    records = synthetic.load(sorted((DEV / "source").glob("*.toml")))
    assert len(records) == 800
    assert (DEV / "dev_sample.xml").read_text(encoding="utf-8") == synthetic.to_xml(records), \
        "rebuild: python -m ingest.synthetic build ingest/data/dev/source/*.toml " \
        "--xml ingest/data/dev/dev_sample.xml --labels ingest/data/dev/dev_labels.csv"
    assert (DEV / "dev_labels.csv").read_text(encoding="utf-8") == synthetic.labels_csv(records)
    out = tmp_path / "majority.csv"
    result = run_cli("labels", "combine", DEV / "dev_labels.csv", DEV / "annotations/coder_b.csv",
                     DEV / "annotations/coder_c.csv", "-o", out, db=False)
    assert result.exit_code == 0, result.output
    assert out.read_text() == (DEV / "dev_labels_majority.csv").read_text()
    held_out = synthetic.load(sorted((HELD_OUT / "source").glob("*.toml")))
    assert not {r["pmid"] for r in records} & {r["pmid"] for r in held_out}

    # Titles and stock phrases may coincide ("...: a systematic review of published cases", "the
    # National Survey on Drug Use and Health, a nationally representative..."); records may not.
    from difflib import SequenceMatcher

    def words(record: dict) -> list[str]:
        return (record.get("abstract") or " ".join(s["text"] for s in record.get("sections", []))).lower().split()

    def runs(record: dict) -> set[tuple[str, ...]]:  # every run of ten words of the abstract
        w = words(record)
        return {tuple(w[i:i + 10]) for i in range(len(w) - 9)}

    where = {run: r for r in held_out for run in runs(r)}
    closest = 0.0
    for record in records:
        for other in {where[run]["pmid"]: where[run] for run in runs(record) if run in where}.values():
            closest = max(closest, SequenceMatcher(None, words(record), words(other), autojunk=False).ratio())
    assert closest < 0.5, closest  # the most alike pair shares about a third of its words (0.32)
