"""Curation (overrides that survive re-ingestion and re-tagging) and the run digest."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from tests.helpers import query, scalar

PMID = 99000101  # the structured-abstract fixture: a crossover pilot RCT on opioid withdrawal


@pytest.fixture
def loaded(run_cli, fixtures, db_path):
    result = run_cli("ingest", "file", fixtures / "xml/structured_abstract.xml", fixtures / "xml/season.xml")
    assert result.exit_code == 0
    return db_path


def labels(db_path, pmid=PMID):
    (design, machine, topics, curated), = query(
        db_path, "SELECT study_type, machine_study_type, topics, curated FROM evidence WHERE pmid = ?", [pmid])
    return design, machine, set(json.loads(topics)), bool(curated)


def test_curation_overrides_design_and_topics_and_keeps_the_machine_label(run_cli, loaded):
    before = labels(loaded)
    assert before[0] == before[1] == "randomized_trial" and "opioid_withdrawal" in before[2]
    result = run_cli("curate", "set", PMID, "--design", "clinical_trial", "--add-topic", "pain",
                     "--remove-topic", "opioid_withdrawal", "--note", "allocation was alternate, not random",
                     "--curator", "dr.rivera")
    assert result.exit_code == 0, result.output
    design, machine, topics, curated = labels(loaded)
    assert (design, machine, curated) == ("clinical_trial", "randomized_trial", True)
    assert "pain" in topics and "opioid_withdrawal" not in topics
    (who, when, note), = query(loaded, "SELECT curator, curated_at, note FROM curations WHERE pmid = ?", [PMID])
    assert who == "dr.rivera" and when.startswith("20") and note.startswith("allocation")


def test_curation_survives_reingestion_of_a_changed_record_and_retag(run_cli, fixtures, loaded, tmp_path):
    run_cli("curate", "set", PMID, "--design", "clinical_trial", "--add-topic", "pain")
    changed = (fixtures / "xml/structured_abstract.xml").read_text().replace(
        "A larger trial is warranted.", "A larger multicentre trial is warranted.")
    (tmp_path / "changed.xml").write_text(changed)
    assert "updated 1" in run_cli("ingest", "file", tmp_path / "changed.xml").stdout
    assert labels(loaded)[:2] == ("clinical_trial", "randomized_trial")
    assert run_cli("retag").exit_code == 0
    design, machine, topics, curated = labels(loaded)
    assert (design, machine, curated) == ("clinical_trial", "randomized_trial", True) and "pain" in topics


def test_curation_shows_in_exports_beside_the_machine_label(run_cli, loaded, tmp_path):
    run_cli("curate", "set", PMID, "--design", "observational", "--note", "secondary analysis")
    out = tmp_path / "x.csv"
    run_cli("export", "-o", out)
    row = pd.read_csv(out).set_index("pmid").loc[PMID]
    assert (row["study_type"], row["machine_study_type"], bool(row["curated"]), row["curation_note"]) == (
        "observational", "randomized_trial", True, "secondary analysis")


def test_adding_undoes_a_removal_and_clear_restores_the_machine(run_cli, loaded):
    run_cli("curate", "set", PMID, "--remove-topic", "opioid_withdrawal")
    assert "opioid_withdrawal" not in labels(loaded)[2]
    run_cli("curate", "set", PMID, "--add-topic", "opioid_withdrawal")
    assert "opioid_withdrawal" in labels(loaded)[2]
    assert run_cli("curate", "clear", PMID).exit_code == 0
    assert labels(loaded)[3] is False and scalar(loaded, "SELECT count(*) FROM curations") == 0
    again = run_cli("curate", "clear", PMID)
    assert again.exit_code == 1 and "has no curation" in again.stderr


@pytest.mark.parametrize("args, message", [
    (["curate", "set", "12345", "--design", "survey"], "PMID 12345 is not in the database"),
    (["curate", "set", str(PMID), "--add-topic", "astrology"], "unknown topic code(s) astrology"),
    (["curate", "set", str(PMID)], "nothing to set"),
])
def test_bad_curations_are_refused_in_one_line(run_cli, loaded, args, message):
    result = run_cli(*args)
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output
    assert scalar(loaded, "SELECT count(*) FROM curations") == 0


def test_curations_travel_between_databases_as_csv(run_cli, fixtures, loaded, tmp_path):
    run_cli("curate", "set", PMID, "--design", "clinical_trial", "--add-topic", "pain", "--remove-topic",
            "opioid_withdrawal", "--note", 'quotes "and", commas', "--curator", "ana")
    shared = tmp_path / "curations.csv"
    assert run_cli("curate", "export", "-o", shared).exit_code == 0
    other = tmp_path / "other.db"
    run_cli("ingest", "file", fixtures / "xml/structured_abstract.xml", "--db", other, db=False)
    result = run_cli("curate", "import", shared, "--db", other, db=False)
    assert result.exit_code == 0 and "imported 1 curations" in result.stdout
    assert labels(other) == labels(loaded)
    assert query(other, "SELECT note, curator FROM curations") == [('quotes "and", commas', "ana")]


def test_a_bad_curation_file_imports_nothing(run_cli, loaded, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"pmid,study_type,add_topics\n{PMID},survey,\n{PMID},not_a_design,\n")
    result = run_cli("curate", "import", bad)
    assert result.exit_code == 1 and "bad.csv line 3: design 'not_a_design'" in result.stderr
    assert scalar(loaded, "SELECT count(*) FROM curations") == 0


# ------------------------------------------------------------------ digest


def test_digest_lists_what_the_last_run_added_trials_first(run_cli, fixtures, loaded):
    time.sleep(1.1)
    second = run_cli("ingest", "file", fixtures / "xml/retraction.xml", fixtures / "xml/no_abstract.xml",
                     fixtures / "xml/structured_abstract.xml")
    assert "new 3" in second.stdout
    md = run_cli("digest").stdout
    assert md.startswith("# Kratom evidence: what is new\n\n2 new records (new in run 2")
    assert "Kratom is not a harmless tea." in md and "Retraction notice" in md
    assert "crossover pilot trial" not in md  # stored by run 1, unchanged since
    assert "- **Kratom reverses liver fibrosis" not in md  # retracted: left out, as everywhere
    assert "| Commentary | 1 |" in md and "| Other | 1 |" in md
    first = run_cli("digest", "--run", "1").stdout
    assert first.index("## New randomized trials") < first.index("## Other")
    assert "[PMID 99000101](https://pubmed.ncbi.nlm.nih.gov/99000101/)" in first
    assert "[doi:10.5555/fixture.101](https://doi.org/10.5555/fixture.101)" in first


def test_digest_since_a_date_and_as_html(run_cli, loaded, tmp_path):
    out = tmp_path / "digest.html"
    result = run_cli("digest", "--since", "2000-01-01", "--html", "-o", out)
    assert result.exit_code == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<h2>New randomized trials</h2>" in page
    assert "2 new records (first stored on or after 2000-01-01)" in page
    assert "0 new records" in run_cli("digest", "--since", "3000-01-01").stdout


def test_digest_without_any_run_says_so(run_cli, db_path, tmp_path):
    from ingest import store
    db = store.connect(db_path)
    store.ensure_db_shape(db)
    db.close()
    result = run_cli("digest")
    assert result.exit_code == 1 and "no successful ingestion yet" in result.stderr


def test_digest_of_the_demo_says_synthetic(run_cli, db_path):
    run_cli("demo")
    md = run_cli("digest").stdout
    assert "**Synthetic demo data**" in md and "## New randomized trials" in md and "## New systematic reviews" in md
