"""The dashboard, driven headless with Streamlit's AppTest: every page on the demo, an empty, an
untagged, a missing and an older database; hostile search input; filters in the URL; drill-downs;
the record view; downloads built only when asked. And the query functions it added."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import sys
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import openpyxl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import data, filters, serve, text
from ingest import query, store
from ingest.cli import cli
from ingest.demo import DEMO_SAMPLE
from ingest.evaluate import pubmed_design
from ingest.pipeline import ingest_files
from ingest.query import NOT_TAGGED, Filters

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGES = ["views/overview.py", "views/evidence_map.py", "views/claims.py", "views/browse.py", "views/data_quality.py"]
TITLES = {
    "views/overview.py": "The kratom evidence base at a glance",
    "views/evidence_map.py": "Evidence map",
    "views/claims.py": "What the claims rest on",
    "views/browse.py": "Browse records",
    "views/data_quality.py": "Data quality",
}


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo database, built once; tests that change a database copy it first."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["demo", "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def visible(demo_db) -> int:
    """Demo records the dashboard shows by default (retracted ones left out)."""
    with store.connect(demo_db, readonly=True) as db:
        return query.count_records(db)


@pytest.fixture
def empty_db(tmp_path) -> Path:
    path = tmp_path / "empty.db"
    db = store.connect(path)
    store.ensure_db_shape(db)
    db.close()
    return path


@pytest.fixture
def untagged_db(tmp_path) -> Path:
    """The demo records stored without any tagging: every design and topic column empty."""
    path = tmp_path / "untagged.db"
    result = ingest_files(path, [DEMO_SAMPLE], labeller=None)
    assert result.status == "success"
    return path


@pytest.fixture
def older_db(tmp_path) -> Path:
    """A database that stopped at the first schema step (before labels)."""
    path = tmp_path / "older.db"
    db = store.connect(path)
    store.migrations.apply(db, stop_before="m002_labels")
    db.close()
    return path


@pytest.fixture
def copy_of(tmp_path, demo_db):
    def make(name: str = "copy.db") -> Path:
        target = tmp_path / name
        shutil.copy(demo_db, target)
        return target
    return make


def open_db(path: Path):
    return store.connect(path, readonly=True)


# --------------------------------------------------------------------------- running the app


@pytest.fixture(autouse=True)
def _fresh_caches():
    """st.cache_data outlives an AppTest within one process: every test starts cold."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def app(monkeypatch):
    """An AppTest of dashboard/app.py over ``db``, on ``page``, with URL query parameters."""
    def make(db: Path, page: str | None = None, **params: str) -> AppTest:
        monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
        at = AppTest.from_file(str(APP), default_timeout=30)
        for key, value in params.items():
            at.query_params[key] = value
        if page:
            at.switch_page(page)
        return at.run()
    return make


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest) -> str:
    """Everything the page wrote, as one string (markdown, captions, alerts, titles, metrics)."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                                  "error", "success") for e in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def shown_count(at: AppTest) -> int:
    """The browse page's '**N** records' line."""
    line = next(c.value for c in at.caption if c.value.startswith("**"))
    return int(line.split("**")[1].replace(",", ""))


# --------------------------------------------------------------------------- every page, every kind of database


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo_database(app, demo_db, page):
    at = app(demo_db, page)
    no_exception(at)
    assert at.title[0].value == TITLES[page]
    assert "Synthetic demo data" in at.warning[0].value  # the banner, on every page
    assert not at.error


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_database(app, empty_db, page):
    at = app(empty_db, page)
    no_exception(at)
    assert at.title[0].value == TITLES[page]
    shown = texts(at)
    assert "holds no records yet" in shown and "kratom-evidence ingest file" in shown and "make demo" in shown
    assert "Synthetic demo data" not in shown


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_not_tagged_yet_where_labels_are_missing(app, untagged_db, page):
    at = app(untagged_db, page)
    no_exception(at)
    shown = texts(at) + "".join(str(df.value.to_dict()) for df in at.dataframe)
    assert "not tagged yet" in shown.lower()


def test_a_missing_database_gets_how_to_create_one(app, tmp_path):
    at = app(tmp_path / "nothing-here.db")
    no_exception(at)
    assert at.title[0].value == "No evidence database yet"
    shown = texts(at)
    assert "nothing-here.db" in shown and "kratom-evidence demo" in shown and "ingest file" in shown
    assert not (tmp_path / "nothing-here.db").exists()  # read-only: never created


def test_an_older_schema_gets_the_migrate_command(app, older_db):
    at = app(older_db)
    no_exception(at)
    assert at.title[0].value == "This database needs an upgrade"
    assert "older schema" in at.error[0].value
    assert f"kratom-evidence migrate --db {older_db}" in texts(at)


def test_a_file_that_is_not_a_database_is_named(app, tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are not the records you are looking for\n" * 50)
    at = app(bogus)
    no_exception(at)
    assert at.title[0].value == "This database cannot be read"
    assert "notes.db" in at.error[0].value


# --------------------------------------------------------------------------- overview


def test_overview_numbers_come_from_the_query_layer(app, demo_db):
    at = app(demo_db)
    with open_db(demo_db) as db:
        o = query.overview(db)
    assert metric(at, "Records") == f"{o['records']:,}"
    assert metric(at, "Human studies") == f"{o['human_studies']:,}"
    assert metric(at, "Randomized trials") == f"{o['randomized_trials']:,}"
    assert metric(at, "New in the last run") == f"{o['new_in_last_run']:,}"
    assert metric(at, "Last ingestion") == text.ago(o["last_run"]["finished_at"])
    assert f"finished {text.when(o['last_run']['finished_at'])}" in texts(at)
    assert len(at.get("vega_lite_chart")) == 3  # pyramid, per year, topics by design
    assert [unquote(p.proto.query_string) for p in at.get("page_link")][:3] == [
        "designs=case_report,clinical_trial,observational,qualitative,randomized_trial,survey",
        "designs=randomized_trial", "first_run_after=0"]  # human studies, trials, new in the last run (run 1)


def test_overview_follows_the_filters(app, demo_db, visible):
    at = app(demo_db, designs="randomized_trial,survey", year_min="2018")
    f = Filters(designs=("randomized_trial", "survey"), year_min=2018)
    with open_db(demo_db) as db:
        expected = query.count_records(db, f)
    assert 0 < expected < visible
    assert metric(at, "Records") == f"{expected:,}"
    links = {p.value: p.proto.query_string for p in at.get("page_link") if p.proto.page == "browse"}
    assert "designs=randomized_trial" in next(iter(links.values()))


def test_a_new_ingestion_shows_without_a_restart(app, copy_of, fixtures, visible):
    path = copy_of()
    before = app(path)
    assert metric(before, "Records") == f"{visible}"
    result = ingest_files(path, [fixtures / "xml/structured_abstract.xml"])
    assert result.status == "success"
    after = app(path)
    assert metric(after, "Records") == f"{visible + 1}"
    assert metric(after, "New in the last run") == "1"


# --------------------------------------------------------------------------- the search box, with hostile input

HOSTILE = ['"', "NEAR(", "*", "kratom\"withdrawal", "'; DROP TABLE articles; --", "x" * 5000, "AND OR NOT",
           "-", "liver-injury \"7-hydroxymitragynine\"", "mitragyn*", "(", "a:b", "^", "{}", "NEAR(pain withdrawal, 2)",
           "\\", "🌿", "ünïcödé", "SELECT * FROM articles", "%_%", "\x00null"]


@pytest.mark.parametrize("typed", HOSTILE, ids=lambda s: repr(s[:20]))
def test_whatever_is_typed_into_search_works_or_gets_a_friendly_message(app, demo_db, typed, visible):
    at = app(demo_db, "views/browse.py")
    at.sidebar.text_input(key="f_search").set_value(typed).run()
    no_exception(at)
    warnings = [w.value for w in at.sidebar.warning]
    with open_db(demo_db) as db:
        try:
            expected = query.count_records(db, Filters(search=typed))
            usable = query.fts_query(typed) is not None
        except query.SearchError:
            expected, usable = visible, False
    if usable:
        assert not warnings and shown_count(at) == expected
    else:
        assert warnings and "not applied" in warnings[0] and shown_count(at) == visible
    with open_db(demo_db) as db:
        assert query.totals(db)["records"] == 300  # nothing typed changes anything


def test_search_finds_records_by_their_words(app, demo_db):
    at = app(demo_db, "views/browse.py", search="hepatotox*")
    with open_db(demo_db) as db:
        expected = query.count_records(db, Filters(search="hepatotox*"))
    assert 0 < expected < 50 and shown_count(at) == expected
    assert at.sidebar.text_input(key="f_search").value == "hepatotox*"


# --------------------------------------------------------------------------- filters in the URL


def test_filters_round_trip_through_the_url(app, demo_db):
    url = {"year_min": "2015", "year_max": "2024", "designs": "randomized_trial,case_report",
           "topics": "liver_injury,pain", "languages": "eng", "has_abstract": "1", "include_retracted": "1",
           "search": "kratom"}
    at = app(demo_db, "views/browse.py", **url)
    no_exception(at)
    assert at.sidebar.slider(key="f_years").value == (2015, 2024)
    assert at.sidebar.multiselect(key="f_designs").value == ["randomized_trial", "case_report"]
    assert at.sidebar.multiselect(key="f_topics").value == ["liver_injury", "pain"]
    assert at.sidebar.selectbox(key="f_abstract").value == "yes"
    assert at.sidebar.toggle(key="f_retracted").value is True
    assert Filters.from_params(dict(at.query_params)) == Filters.from_params(url)
    with open_db(demo_db) as db:
        assert shown_count(at) == query.count_records(db, Filters.from_params(url))

    # A change in the sidebar is written back to the URL...
    at.sidebar.multiselect(key="f_designs").set_value(["survey"]).run()
    assert at.query_params["designs"] == "survey"
    assert at.query_params["topics"] == "liver_injury,pain"
    # ...and that URL, opened afresh (a bookmark, a shared link), shows the same view.
    again = app(demo_db, "views/browse.py", **dict(at.query_params))
    assert again.sidebar.multiselect(key="f_designs").value == ["survey"]
    assert shown_count(again) == shown_count(at)


def test_the_url_is_not_rewritten_when_the_filters_are_defaults(app, demo_db):
    at = app(demo_db)
    assert {k: v for k, v in at.query_params.items() if k in filters.FILTER_PARAMS} == {}


def test_nonsense_in_the_url_is_ignored_not_fatal(app, demo_db):
    at = app(demo_db, "views/browse.py", topics="pain,not_a_topic", designs="rct,survey", year_min="19x5",
             year_max="99999", journals="No Such Journal", has_abstract="maybe", pmids="1,abc")
    no_exception(at)
    assert at.sidebar.multiselect(key="f_topics").value == ["pain"]
    assert at.sidebar.multiselect(key="f_designs").value == ["survey"]
    assert at.sidebar.multiselect(key="f_journals").value == []


def test_a_url_with_too_many_pmids_is_cut_not_fatal(app, demo_db, visible):
    pmids = ",".join(str(90_000_001 + i) for i in range(40_000))
    at = app(demo_db, "views/browse.py", pmids=pmids)
    no_exception(at)
    assert shown_count(at) == visible  # the demo's PMIDs are among the first 30,000
    assert f"{filters.MAX_PMIDS:,} chosen records" in at.sidebar.info[0].value


def test_a_database_error_while_reading_is_a_message_not_a_traceback(app, demo_db, monkeypatch):
    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(data, "browse_page", locked)
    at = app(demo_db, "views/browse.py")
    no_exception(at)
    assert "database is locked" in at.error[0].value and "kratom-evidence stats" in at.error[0].value


def test_reset_clears_every_filter(app, demo_db, visible):
    at = app(demo_db, "views/browse.py", designs="survey", search="pain")
    at.sidebar.button(key="reset_filters").click().run()
    assert at.sidebar.multiselect(key="f_designs").value == []
    assert at.sidebar.text_input(key="f_search").value == ""
    assert shown_count(at) == visible


# --------------------------------------------------------------------------- evidence map: cells lead to records


def test_an_evidence_map_cell_leads_to_its_records(app, demo_db):
    at = app(demo_db, "views/evidence_map.py")
    no_exception(at)
    at.selectbox(key="map_topic").set_value("liver_injury").run()
    at.selectbox(key="map_design").set_value("case_report").run()
    with open_db(demo_db) as db:
        emap = query.evidence_map(db)
    cell = emap[(emap.topic == "liver_injury") & (emap.study_type == "case_report")].iloc[0]
    table = at.dataframe[0].value
    assert sorted(table["pmid"]) == sorted(cell.pmids)
    assert f"{cell.records} records, {cell.participants} participants" in texts(at)
    link = next(p for p in at.get("page_link") if p.proto.page == "browse")
    assert link.value == f"Open these {cell.records} records in Browse"
    params = dict(parse_qsl(link.proto.query_string))
    assert params == {"designs": "case_report", "topics": "liver_injury"}
    browse = app(demo_db, "views/browse.py", **params)
    assert shown_count(browse) == cell.records


def test_a_cell_left_out_by_a_new_filter_falls_back_to_one_that_is_there(app, demo_db):
    at = app(demo_db, "views/evidence_map.py")
    with open_db(demo_db) as db:
        biggest = query.topic_summaries(db).sort_values("records").iloc[-1].topic
    assert at.selectbox(key="map_topic").value == biggest  # the map opens on the largest topic
    at.selectbox(key="map_topic").set_value("liver_injury").run()
    at.selectbox(key="map_design").set_value("case_report").run()
    at.sidebar.multiselect(key="f_topics").set_value(["pain"]).run()
    no_exception(at)
    assert at.selectbox(key="map_topic").value == "pain"
    at.sidebar.multiselect(key="f_designs").set_value(["survey"]).run()
    assert at.selectbox(key="map_design").value == "survey"
    assert "Pain × Survey" in texts(at)


def test_the_evidence_map_says_the_strongest_evidence_per_topic(app, demo_db):
    at = app(demo_db, "views/evidence_map.py")
    with open_db(demo_db) as db:
        summaries = query.topic_summaries(db)
    pain = summaries[summaries.topic == "pain"].iloc[0]
    assert f"**Pain**: strongest evidence: **{pain.strongest.lower()}**" in texts(at)


def test_an_untagged_design_is_a_cell_of_its_own(app, copy_of):
    path = copy_of()
    conn = sqlite3.connect(path)
    pmid = conn.execute("SELECT pmid FROM article_topics WHERE topic = 'pain' LIMIT 1").fetchone()[0]
    conn.execute("DELETE FROM article_tags WHERE pmid = ?", [pmid])
    conn.commit()
    conn.close()
    at = app(path, "views/evidence_map.py")
    at.selectbox(key="map_topic").set_value("pain").run()
    assert NOT_TAGGED.capitalize() in at.selectbox(key="map_design").options
    at.selectbox(key="map_design").set_value(NOT_TAGGED).run()
    no_exception(at)
    assert list(at.dataframe[0].value["pmid"]) == [pmid]


# --------------------------------------------------------------------------- claims


def test_each_claim_has_a_one_line_profile_and_leads_to_its_records(app, demo_db):
    at = app(demo_db, "views/claims.py")
    no_exception(at)
    with open_db(demo_db) as db:
        profiles = query.claim_profiles(db)
    shown = texts(at)
    for row in profiles.itertuples():
        assert f"#### {row.claim}" in shown
    pain = profiles[profiles.id == "relieves_pain"].iloc[0]
    assert f"Strongest evidence: **{pain.strongest.lower()}**" in shown
    link = next(p for p in at.get("page_link") if p.proto.query_string == "claim=relieves_pain")
    assert link.value == f"See its {pain.records} records"
    browse = app(demo_db, "views/browse.py", claim="relieves_pain")
    assert shown_count(browse) == pain.records
    assert "Kratom relieves pain" in texts(browse)


def test_a_claim_with_phrases_selects_exactly_its_records(app, demo_db):
    with open_db(demo_db) as db:
        claim = next(c for c in query.load_claims() if c.phrases)
        expected = query.claim_records(db, claim)
        expected = expected[expected.is_retracted == 0]
    browse = app(demo_db, "views/browse.py", claim=claim.id)
    assert shown_count(browse) == len(expected)


def test_a_users_claims_file_replaces_the_built_in_claims(app, demo_db, tmp_path, monkeypatch):
    mine = tmp_path / "mine.toml"
    mine.write_text('[[claim]]\nid = "harms_liver"\nclaim = "Kratom harms the liver (my wording)"\n'
                    'topics = ["liver_injury"]\n', encoding="utf-8")
    monkeypatch.setenv("EVIDENCE_CLAIMS", str(mine))
    at = app(demo_db, "views/claims.py")
    no_exception(at)
    shown = texts(at)
    assert "#### Kratom harms the liver (my wording)" in shown and "Kratom relieves pain" not in shown
    with open_db(demo_db) as db:
        expected = query.claim_profiles(db, claims=query.load_claims(mine)).iloc[0]
    link = next(p for p in at.get("page_link") if p.proto.query_string == "claim=harms_liver")
    assert link.value == f"See its {expected.records} records"
    assert shown_count(app(demo_db, "views/browse.py", claim="harms_liver")) == expected.records

    mine.write_text("[[claim]\n", encoding="utf-8")  # broken: a message, not a traceback
    st.cache_data.clear()
    st.cache_resource.clear()
    broken = app(demo_db, "views/claims.py")
    no_exception(broken)
    assert "The claims cannot be shown: claims file" in broken.error[0].value


def test_the_claims_file_comes_from_the_arguments_then_the_environment(tmp_path):
    assert data.claims_path_from(["--db", "a.db", "--claims", "c.toml"], {"EVIDENCE_CLAIMS": "d.toml"}) == Path("c.toml")
    assert data.claims_path_from([], {"EVIDENCE_CLAIMS": "d.toml"}) == Path("d.toml")
    assert data.claims_path_from([], {}) is None
    assert serve.streamlit_args(Path("e.db"), claims=Path("c.toml"))[-5:] == ["--", "--db", "e.db", "--claims", "c.toml"]


def test_an_unknown_claim_says_so(app, demo_db, visible):
    at = app(demo_db, "views/browse.py", claim="kratom_cures_everything")
    no_exception(at)
    assert "no claim" in at.warning[-1].value and shown_count(at) == visible


# --------------------------------------------------------------------------- browse: table and record view


def test_the_table_pages_and_sorts(app, demo_db, visible):
    at = app(demo_db, "views/browse.py")
    assert len(at.dataframe[0].value) == data.PAGE_SIZE
    at.number_input(key="browse_page").set_value(6).run()
    assert len(at.dataframe[0].value) == visible - 5 * data.PAGE_SIZE
    at.selectbox(key="browse_sort").set_value("pmid").run()
    at.toggle(key="browse_desc").set_value(False).run()
    at.number_input(key="browse_page").set_value(1).run()
    table = at.dataframe[0].value
    with open_db(demo_db) as db:
        first = query.records(db, sort="pmid", descending=False, limit=1)
    assert table["pmid"].iloc[0] == first["pmid"].iloc[0]
    assert table["pubmed_url"].iloc[0] == f"https://pubmed.ncbi.nlm.nih.gov/{first['pmid'].iloc[0]}/"
    assert table["doi_url"].iloc[0].startswith("https://doi.org/10.5555/")


def structured_pmid(db) -> int:
    return next(r["pmid"] for r in query.export_rows(db) if len(r["abstract_sections"]) >= 3
                and all(s.get("label") for s in r["abstract_sections"]) and r["sample_size"])


def test_the_record_view_keeps_sections_and_shows_each_tag_with_its_evidence(app, demo_db):
    with open_db(demo_db) as db:
        pmid = structured_pmid(db)
        rec = query.record_detail(db, pmid)
    at = app(demo_db, "views/browse.py", record=str(pmid))
    no_exception(at)
    shown = texts(at)
    for section in rec["abstract_sections"]:
        label = section["label"]
        assert f"**{label.capitalize() if label.isupper() else label}.** " in shown
    labels = rec["labels"]
    assert f"confidence {labels['study_type_confidence']:.2f}" in shown
    assert "Evidence: " + text.md(labels["study_type_evidence"]) in shown
    for topic in rec["topic_evidence"]:
        assert query.topic_label(topic["topic"]) in shown
    assert f"**Participants:** {labels['sample_size']:,}" in shown
    at.button(key="close_record").click().run()
    assert "record" not in at.query_params


def test_the_record_view_shows_a_retraction_and_a_correction(app, demo_db):
    with open_db(demo_db) as db:
        retracted = db.execute("SELECT pmid FROM articles WHERE is_retracted = 1 LIMIT 1").fetchone()[0]
        corrected = db.execute("SELECT pmid FROM articles WHERE comments_corrections LIKE '%ErratumIn%' "
                               "LIMIT 1").fetchone()[0]
    at = app(demo_db, "views/browse.py", record=str(retracted), include_retracted="1")
    assert "This article has been retracted" in at.error[0].value and "Retracted by [PMID" in at.error[0].value
    at = app(demo_db, "views/browse.py", record=str(corrected))
    assert any("Corrected by an erratum" in w.value for w in at.warning)


def test_a_curators_label_is_shown_with_who_and_why(app, copy_of):
    path = copy_of()
    conn = sqlite3.connect(path)
    pmid, machine = conn.execute("SELECT pmid, study_type FROM article_tags WHERE study_type = 'review' "
                                 "LIMIT 1").fetchone()
    conn.execute("INSERT INTO curations (pmid, study_type, note, curator, curated_at) VALUES "
                 "(?, 'systematic_review', 'PRISMA flow diagram in the full text', 'A. Reviewer', '2026-01-02')",
                 [pmid])
    conn.commit()
    conn.close()
    at = app(path, "views/browse.py", record=str(pmid))
    shown = texts(at)
    assert "**Study design:** Systematic review" in shown
    assert "Set by A. Reviewer on 2026-01-02: PRISMA flow diagram in the full text" in shown
    assert "The tagger said Narrative review" in shown


def test_a_pmid_typed_in_opens_its_record_and_a_wrong_one_is_explained(app, demo_db):
    at = app(demo_db, "views/browse.py")
    at.text_input(key="browse_pmid").set_value("90000030")
    at.button[[b.label for b in at.button].index("Open")].click().run()
    assert at.query_params["record"] == "90000030"
    at = app(demo_db, "views/browse.py", record="12345")
    assert "PMID 12345 is not in this database" in texts(at)


# --------------------------------------------------------------------------- downloads


def test_downloads_are_built_only_when_asked(app, demo_db, monkeypatch):
    calls = []
    real = data.export_file
    monkeypatch.setattr(data, "export_file", lambda *a: calls.append(a[2]) or real(*a))
    at = app(demo_db, "views/browse.py", designs="survey")
    assert calls == [] and not at.get("download_button")
    at.button(key="prepare_csv").click().run()
    no_exception(at)
    assert calls == ["csv"]
    assert [d.label for d in at.get("download_button")] == [f"Save CSV ({shown_count(at)} records)"]
    rows = list(csv.DictReader(io.StringIO(at.session_state["download_csv"][1].decode("utf-8"))))
    assert len(rows) == shown_count(at) and {r["study_type"] for r in rows} == {"survey"}
    at.run()  # a rerun does not rebuild it
    assert calls == ["csv"]

    at.button(key="prepare_xlsx").click().run()
    assert calls == ["csv", "xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(at.session_state["download_xlsx"][1])).active
    assert sheet.max_row - 1 == shown_count(at)

    # A new filter makes the prepared file stale: it is offered again only when asked again.
    at.sidebar.multiselect(key="f_designs").set_value(["randomized_trial"]).run()
    assert not at.get("download_button")


# --------------------------------------------------------------------------- data quality


def test_data_quality_shows_runs_agreement_and_least_confident(app, demo_db):
    at = app(demo_db, "views/data_quality.py")
    no_exception(at)
    runs = at.dataframe[0].value
    assert list(runs["status"]) == ["success"] and runs["new"].iloc[0] == 300
    with open_db(demo_db) as db:
        pairs = [(pubmed_design(a), t) for a, t in (
            (a, db.execute("SELECT study_type FROM article_tags WHERE pmid = ?", [a.pmid]).fetchone()[0])
            for a in store.load_articles(db) if a.citation_status == "MEDLINE" and not a.is_retracted)]
        least = query.least_confident(db)
    comparable = [(p, t) for p, t in pairs if p]
    rate = sum(p == t for p, t in comparable) / len(comparable)
    assert metric(at, "Agreement") == f"{rate:.1%}"
    assert metric(at, "Records compared") == f"{len(comparable):,}"
    unsure = at.dataframe[-1].value
    assert list(unsure["pmid"]) == list(least["pmid"])


def test_failed_runs_and_their_errors_are_shown(app, tmp_path, fixtures):
    path = tmp_path / "failed.db"
    result = ingest_files(path, [fixtures / "bad/truncated.xml"])
    assert result.status == "failed"
    at = app(path, "views/data_quality.py")
    no_exception(at)
    runs = at.dataframe[0].value
    assert runs["status"].iloc[0] == "failed" and "truncated.xml" in runs["error"].iloc[0]
    assert "did not succeed" in at.warning[0].value


# --------------------------------------------------------------------------- the command and the server settings


def test_the_dashboard_command_serves_locally_without_usage_statistics(monkeypatch, tmp_path):
    from click.testing import CliRunner

    seen = {}
    monkeypatch.setattr(serve, "serve", lambda db, host, port, claims=None: seen.update(
        db=db, host=host, port=port, claims=claims))
    result = CliRunner().invoke(cli, ["dashboard", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 0, result.output
    assert seen == {"db": tmp_path / "x.db", "host": "127.0.0.1", "port": 8501, "claims": None}
    assert "no database at" in result.stderr
    args = serve.streamlit_args(Path("e.db"))
    assert args[args.index("--server.address") + 1] == "127.0.0.1"
    assert args[args.index("--browser.gatherUsageStats") + 1] == "false"
    assert args[-3:] == ["--", "--db", "e.db"]
    result = CliRunner().invoke(cli, ["dashboard", "--host", "0.0.0.0", "--port", "9000", "--db", "e.db"])
    assert seen["host"] == "0.0.0.0" and seen["port"] == 9000


def test_the_database_path_comes_from_the_arguments_then_the_environment():
    assert data.db_path_from(["--db", "a.db"], {"EVIDENCE_DB": "b.db"}) == Path("a.db")
    assert data.db_path_from([], {"EVIDENCE_DB": "b.db"}) == Path("b.db")
    assert data.db_path_from(["--other", "x"], {}) == Path("evidence.db")


# --------------------------------------------------------------------------- plain functions


def test_sanitise_keeps_only_what_the_widgets_can_show():
    choices = filters.Choices(2000, 2020, ("survey", NOT_TAGGED), ("pain",), ("J A",), ("eng",))
    f = Filters(year_min=1990, year_max=2030, designs=("survey", "bogus"), topics=("pain", "x"),
                journals=("J A", "J B"), languages=("eng", "fre"))
    assert filters.sanitise(f, choices) == Filters(designs=("survey",), topics=("pain",), journals=("J A",),
                                                   languages=("eng",))
    assert filters.sanitise(Filters(year_min=2015, year_max=2010), choices).year_min == 2010


def test_when_says_how_long_ago():
    import datetime as dt

    now = dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc)
    assert text.when("2026-03-10T01:00:00+00:00", now) == "2026-03-10 (today)"
    assert text.when("2026-03-07T01:00:00+00:00", now) == "2026-03-07 (3 days ago)"
    assert text.when(None, now) == "unknown" and text.ago("not a time", now) == "unknown"
    assert text.ago("2026-03-09T01:00:00", now) == "yesterday"


def test_markdown_from_records_is_inert():
    assert text.md("a*b_c [x](y) $5 <b>") == r"a\*b\_c \[x\]\(y\) \$5 \<b\>"


def test_agreement_summary_counts_only_comparable_records():
    import pandas as pd

    labels = pd.DataFrame({
        "pmid": [1, 2, 3, 4], "title": ["a", "b", "c", "d"],
        "publication_types": [["Randomized Controlled Trial"], ["Case Reports"], ["Journal Article"], ["Review"]],
        "indexing_method": ["Automated", None, None, "Curated"],
        "machine_study_type": ["randomized_trial", "observational", "survey", None],
        "study_type_confidence": [0.9, 0.5, 0.4, None],
    })
    summary = data.agreement_summary(labels)
    assert (summary["medline"], summary["comparable"], summary["agree"]) == (4, 2, 1)
    assert list(summary["disagreements"]["pmid"]) == [2]


# --------------------------------------------------------------------------- query functions the dashboard added


def test_topic_design_counts_match_the_evidence_map(demo_db):
    with open_db(demo_db) as db:
        counts = query.topic_design_counts(db, Filters(year_min=2015))
        emap = query.evidence_map(db, Filters(year_min=2015))
    assert len(counts) == len(emap)
    merged = counts.merge(emap, on=["topic", "design"])
    assert (merged.records_x == merged.records_y).all() and (merged.participants_x == merged.participants_y).all()


def test_medline_labels_lists_medline_records_with_their_types(demo_db):
    with open_db(demo_db) as db:
        labels = query.medline_labels(db, Filters(include_retracted=True))
        medline = db.execute("SELECT count(*) FROM articles WHERE citation_status = 'MEDLINE'").fetchone()[0]
    assert len(labels) == medline > 0
    assert all(isinstance(t, list) and t for t in labels["publication_types"])


def test_the_topic_filter_gives_the_same_records_as_before_its_rewrite(demo_db):
    with open_db(demo_db) as db:
        for topics in [("pain",), ("liver_injury", "deaths_overdose")]:
            marks = ",".join("?" * len(topics))
            old = db.execute(f"SELECT count(*) FROM evidence e WHERE e.is_retracted = 0 AND EXISTS (SELECT 1 FROM "
                             f"effective_topics x WHERE x.pmid = e.pmid AND x.topic IN ({marks}))",
                             list(topics)).fetchone()[0]
            assert query.count_records(db, Filters(topics=topics)) == old > 0
