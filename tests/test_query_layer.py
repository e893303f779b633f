"""The query layer on a fixture database whose labels (and so every count) are known."""

from __future__ import annotations

import json

import pytest

from ingest import query as q
from ingest import store
from ingest.pipeline import ingest_files
from tests.helpers import write_many_records

# pmid offset -> (design, topics, sample size, year, retracted)
LABELS = {
    0: ("randomized_trial", ["pain"], 120, 2021, False),
    1: ("randomized_trial", ["pain", "dependence"], 80, 2024, False),
    2: ("observational", ["pain"], 2000, 2019, False),
    3: ("observational", ["liver_injury"], None, 2020, False),
    4: ("case_report", ["liver_injury"], 1, 2022, False),
    5: ("case_report", ["liver_injury"], 3, 2023, False),
    6: ("case_report", ["liver_injury"], 1, 2018, True),   # retracted
    7: ("survey", ["pain"], 500, 2025, True),               # retracted
    8: ("preclinical", ["pain"], None, 2017, False),
    9: ("review", ["pain", "liver_injury"], None, 2016, False),
    10: (None, [], None, 2015, False),                      # not tagged yet
}
START = 97_000_001


@pytest.fixture(scope="module")
def known_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("known") / "known.db"
    xml = write_many_records(path.parent / "known.xml", len(LABELS), start=START)
    assert ingest_files(path, [xml], labeller=None).ok
    db = store.connect(path)
    with db.atomic():
        for offset, (design, topics, size, year, retracted) in LABELS.items():
            pmid = START + offset
            db.execute("UPDATE articles SET pub_year = ?, is_retracted = ? WHERE pmid = ?", [year, int(retracted), pmid])
            if design:
                db.execute("INSERT INTO article_tags (pmid, study_type, study_type_confidence, study_type_evidence, "
                           "sample_size, tagger_version) VALUES (?, ?, 0.9, 'fixture', ?, 'fixture')", [pmid, design, size])
            for t in topics:
                db.execute("INSERT INTO article_topics (pmid, topic, score, evidence) VALUES (?, ?, 5, 'fixture')", [pmid, t])
    db.close()
    return store.connect(path, readonly=True)


def cell(emap, topic, design):
    rows = emap[(emap.topic == topic) & (emap.study_type == design)]
    assert len(rows) == 1, (topic, design)
    return rows.iloc[0]


def test_evidence_map_counts_participants_and_pmids(known_db):
    emap = q.evidence_map(known_db)
    pain_rct = cell(emap, "pain", "randomized_trial")
    assert (pain_rct.records, pain_rct.human_records, pain_rct.participants, pain_rct.median_participants,
            pain_rct.newest_year) == (2, 2, 200, 100, 2024)
    assert sorted(pain_rct.pmids) == [START, START + 1]
    liver_cases = cell(emap, "liver_injury", "case_report")
    assert (liver_cases.records, liver_cases.participants, liver_cases.median_participants) == (2, 4, 2)
    pre = cell(emap, "pain", "preclinical")
    assert (pre.records, pre.human_records, pre.participants) == (1, 0, 0)
    assert set(emap.topic) == {"pain", "liver_injury", "dependence"}


def test_retracted_records_are_left_out_by_default_and_included_on_request(known_db):
    default = q.evidence_map(known_db)
    assert cell(default, "liver_injury", "case_report").records == 2
    assert not ((default.topic == "pain") & (default.study_type == "survey")).any()
    everything = q.evidence_map(known_db, q.Filters(include_retracted=True))
    assert cell(everything, "liver_injury", "case_report").records == 3
    assert cell(everything, "pain", "survey").participants == 500


def test_topic_summary_names_the_strongest_design_in_plain_language(known_db):
    s = q.topic_summaries(known_db).set_index("topic")
    assert s.loc["pain", "strongest_design"] == "randomized_trial"
    assert s.loc["pain", "summary"] == ("2 randomized trials, 1 observational study, 1 narrative review, "
                                        "1 animal or laboratory study; 2,200 participants in the 3 human studies "
                                        "that state a number")
    assert s.loc["liver_injury", "strongest_design"] == "observational"
    assert s.loc["liver_injury", "summary"].startswith("1 observational study, 2 case reports, 1 narrative review; 4 participants")


def test_overview_and_design_counts_follow_evidence_order(known_db):
    o = q.overview(known_db)
    assert (o["records"], o["human_studies"], o["randomized_trials"], o["not_tagged"], o["retracted_left_out"]) == (9, 6, 2, 1, 2)
    d = q.design_counts(known_db)
    assert list(d["study_type"])[:3] == ["randomized_trial", "clinical_trial", "observational"]
    assert d.set_index("design").loc["not tagged yet", "records"] == 1
    assert int(d[d.study_type == "case_report"].records.iloc[0]) == 2


def test_filters_compose(known_db):
    f = q.Filters(designs=("case_report", "observational"), topics=("liver_injury",), year_min=2021)
    assert q.count_records(known_db, f) == 2
    assert q.count_records(known_db, f.with_(include_retracted=True, year_min=None)) == 4
    assert q.count_records(known_db, q.Filters(designs=(q.NOT_TAGGED,))) == 1
    assert q.count_records(known_db, q.Filters(pmids=(START, START + 6))) == 1  # the retracted one hidden


@pytest.mark.parametrize("text", [
    'liver "injury', "NEAR(", "*", '"', "' OR 1=1; DROP TABLE articles; --", "7-hydroxymitragynine",
    "a" * 300, "kratom AND OR NOT", "(((", "^", "opioid-withdrawal", "ünïcödé", "\x00\x01",
])
def test_any_search_text_runs_without_error(known_db, text):
    n = q.count_records(known_db, q.Filters(search=text))
    assert 0 <= n <= 9
    assert known_db.execute("SELECT count(*) FROM articles").fetchone()[0] == len(LABELS)


def test_search_finds_words_with_hyphens_quotes_and_prefixes(known_db):
    assert q.count_records(known_db, q.Filters(search="double-blind crossover")) == 9
    assert q.count_records(known_db, q.Filters(search='"randomly assigned"')) == 9
    assert q.count_records(known_db, q.Filters(search="withdr*")) == 9
    assert q.count_records(known_db, q.Filters(search="nonexistentword")) == 0


def test_too_long_search_gets_a_friendly_error(known_db):
    with pytest.raises(q.SearchError, match="use at most 300"):
        q.count_records(known_db, q.Filters(search="x" * 301))


def test_filters_round_trip_through_url_parameters():
    f = q.Filters(year_min=2010, year_max=2024, designs=("survey", "case_report"), topics=("pain",),
                  journals=("J A, B",), languages=("eng",), has_abstract=False, include_retracted=True,
                  search='liver "injury"')
    params = f.to_params()
    assert params["designs"] == "survey,case_report" and params["has_abstract"] == "0"
    back = q.Filters.from_params(params)
    assert back.with_(journals=f.journals) == f  # a comma inside a journal name is the one lossy case
    assert q.Filters.from_params({"designs": "survey,bogus", "year_min": "19x", "pmids": "1,a,2"}) == q.Filters(
        designs=("survey",), pmids=(1, 2))
    assert q.Filters().to_params() == {}


def test_zero_is_a_value_in_url_parameters_not_an_empty_filter():
    # 0 == False in Python; a filter "first stored after run 0" or a year 0 must survive the URL.
    f = q.Filters(first_run_after=0, year_min=0)
    assert f.to_params() == {"first_run_after": "0", "year_min": "0"}
    assert q.Filters.from_params(f.to_params()) == f


def test_records_table_carries_links_and_labels(known_db):
    df = q.records(known_db, q.Filters(designs=("randomized_trial",)), sort="year", descending=False)
    assert list(df.pmid) == [START, START + 1]
    assert df.iloc[0].pubmed_url == f"https://pubmed.ncbi.nlm.nih.gov/{START}/"
    assert df.iloc[1].topics == ["dependence", "pain"]


def test_record_detail_has_sections_labels_and_topic_evidence(known_db):
    rec = q.record_detail(known_db, START)
    assert [s["label"] for s in rec["abstract_sections"]] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert rec["labels"]["study_type"] == "randomized_trial" and rec["labels"]["study_type_confidence"] == 0.9
    assert rec["topic_evidence"][0]["evidence"] == "fixture"
    assert q.record_detail(known_db, 1) is None


def test_claim_profile_lists_retracted_records_but_does_not_count_them(known_db):
    claims = [q.Claim("liver", "Kratom can injure the liver", ("liver_injury",))]
    profile = q.claim_profiles(known_db, claims=claims).iloc[0]
    assert profile["records"] == 4 and profile["strongest"] == "Observational study"
    assert [r["pmid"] for r in profile["retracted_or_corrected"]] == [START + 6]
    assert profile["newest_year"] == 2023
    assert profile["summary"].startswith("1 observational study, 2 case reports")


def test_claims_file_is_valid_and_uses_taxonomy_codes():
    from ingest.taxonomy import TOPIC_CODES
    claims = q.load_claims()
    assert len(claims) >= 8 and len({c.id for c in claims}) == len(claims)
    assert all(set(c.topics) <= set(TOPIC_CODES) for c in claims)


def test_export_rows_are_complete_and_in_pmid_order(known_db):
    rows = list(q.export_rows(known_db, q.Filters(include_retracted=True), batch=4))
    assert [r["pmid"] for r in rows] == [START + i for i in range(len(LABELS))]
    assert rows[0]["topics"] == ["pain"] and isinstance(rows[0]["authors"], list)
    assert json.dumps(rows[0], default=str)


def test_sorting_by_design_follows_evidence_order_not_the_alphabet(known_db):
    from ingest.taxonomy import DESIGN_CODES
    shown = [d if isinstance(d, str) else None for d in q.records(known_db, sort="design")["study_type"]]
    tagged = [d for d in shown if d is not None]
    assert tagged == sorted(tagged, key=DESIGN_CODES.index) and len(set(tagged)) > 2
    assert all(d is None for d in shown[len(tagged):])  # untagged last
    ascending = [d for d in q.records(known_db, sort="design", descending=False)["study_type"] if isinstance(d, str)]
    assert ascending == sorted(tagged, key=DESIGN_CODES.index, reverse=True)


# --------------------------------------------------------------------------- curated topics, corrections, the index


@pytest.fixture
def curated_db(known_db, tmp_path):
    """The known database with a curator's topic changes and a correction notice."""
    import shutil
    path = tmp_path / "curated.db"
    shutil.copy(known_db.conn.execute("PRAGMA database_list").fetchone()[2], path)
    db = store.connect(path)
    with db.atomic():
        # remove liver_injury from the observational record, add liver_injury to the first trial
        db.execute("INSERT INTO curations (pmid, remove_topics, curator, curated_at) VALUES (?, ?, 'me', 'now')",
                   [START + 3, json.dumps(["liver_injury"])])
        db.execute("INSERT INTO curations (pmid, add_topics, curator, curated_at) VALUES (?, ?, 'me', 'now')",
                   [START, json.dumps(["liver_injury"])])
        db.execute("UPDATE articles SET comments_corrections = ? WHERE pmid = ?",
                   [json.dumps([{"type": "ErratumIn", "pmid": 1, "source": "J 2025"}]), START + 5])
    db.close()
    return store.connect(path, readonly=True)


def test_topic_counts_and_claims_follow_a_curators_topic_changes(known_db, curated_db):
    assert q.topic_rows(known_db) == "article_topics"  # no topic curation: the table itself
    assert "effective_topics" in q.topic_rows(curated_db)

    def liver(db):
        counts = q.topic_design_counts(db)
        return dict(counts[counts.topic == "liver_injury"][["study_type", "records"]].itertuples(index=False))

    assert liver(known_db) == {"observational": 1, "case_report": 2, "review": 1}
    assert liver(curated_db) == {"randomized_trial": 1, "case_report": 2, "review": 1}
    emap = q.evidence_map(curated_db)
    assert cell(emap, "liver_injury", "randomized_trial")["pmids"] == [START]
    page = q.records(curated_db, q.Filters(pmids=(START, START + 3)), sort="pmid", descending=False, limit=10)
    assert list(page.pmid) == [START, START + 3] and list(page.topics) == [["liver_injury", "pain"], []]
    whole = q.records(curated_db, q.Filters(pmids=(START, START + 3)), sort="pmid", descending=False)
    assert list(whole.topics) == list(page.topics)
    claim = [q.Claim("liver", "Kratom can injure the liver", ("liver_injury",))]
    profile = q.claim_profiles(curated_db, claims=claim).iloc[0]
    assert profile["strongest"] == "Randomized trial" and profile["records"] == 4
    flagged = {r["pmid"]: r for r in profile["retracted_or_corrected"]}
    assert set(flagged) == {START + 5, START + 6}
    assert flagged[START + 5]["corrected"] and not flagged[START + 5]["retracted"] and flagged[START + 6]["retracted"]


def test_a_claims_phrases_are_matched_in_title_or_abstract(known_db, tmp_path):
    # each fixture record's text names its own PMID ("opioid withdrawal 97000005")
    text = known_db.execute("SELECT title || ' ' || abstract FROM articles WHERE pmid = ?", [START + 4]).fetchone()[0]
    assert str(START + 4) in text
    mine = tmp_path / "claims.toml"
    mine.write_text(f'[[claim]]\nid = "x"\nclaim = "X"\ntopics = ["liver_injury"]\n'
                    f'phrases = ["{START + 4}", "{START + 2}", "{START + 6}"]\n')
    (claim,) = q.load_claims(mine)
    # START + 2 names the phrase but is not about the liver; START + 6 is retracted
    assert q.claim_matches(known_db, [claim]).phrase_pmids["x"] == {START + 4, START + 6}
    assert set(q.claim_records(known_db, claim)["pmid"]) == {START + 4, START + 6}
    profile = q.claim_profiles(known_db, claims=[claim]).iloc[0]
    assert profile["records"] == 1 and profile["pmids"] == [START + 4]


def test_counts_read_the_narrow_index_not_the_wide_table(known_db):
    plan = " ".join(r[3] for r in known_db.execute(
        "EXPLAIN QUERY PLAN SELECT study_type, count(*) FROM evidence e WHERE e.is_retracted = 0 "
        "AND e.pub_year >= 2000 GROUP BY study_type"))
    assert f"COVERING INDEX {store.FACETS_INDEX}" in plan
    names = {r[0] for r in known_db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert store.FACETS_INDEX in names and not names & set(store.OBSOLETE_INDEXES)
