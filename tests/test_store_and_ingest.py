"""The store and `kratom-evidence ingest file`: idempotence, updates, deletions, bad input."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest import store
from ingest.pipeline import ingest_files
from tests.helpers import query, scalar, snapshot, write_many_records

ALL_GOOD = [
    "xml/structured_abstract.xml", "xml/no_abstract.xml", "xml/medline_date.xml", "xml/season.xml",
    "xml/book_article.xml", "xml/non_english_vernacular.xml", "xml/collective_author.xml",
    "xml/erratum.xml", "xml/retraction.xml", "xml/inline_markup_mathml.xml",
    "xml/bare_root_pubmedarticle.xml", "xml/bare_root_medlinecitation.xml",
    "xml/old_medlinecitationset.xml", "medline/two_records.txt", "medline/one_record.nbib",
]


@pytest.fixture
def loaded(run_cli, fixtures, db_path):
    result = run_cli("ingest", "file", *[fixtures / f for f in ALL_GOOD])
    assert result.exit_code == 0, result.output
    return db_path


def test_ingest_prints_one_summary_line_and_stores_every_record(run_cli, fixtures, db_path):
    result = run_cli("ingest", "file", *[fixtures / f for f in ALL_GOOD])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].startswith(
        "success: files 15, records 19, new 18, updated 0, unchanged 0, deleted 1, failed 0,")
    assert scalar(db_path, "SELECT count(*) FROM articles") == 18
    run = query(db_path, "SELECT source, status, found, new, deleted, failed, finished_at IS NOT NULL FROM runs")
    assert run == [("file", "success", 19, 18, 1, 0, 1)]


def test_reingesting_the_same_files_reports_nothing_new_and_writes_nothing(run_cli, fixtures, loaded):
    before = snapshot(loaded)
    result = run_cli("ingest", "file", *[fixtures / f for f in ALL_GOOD])
    assert "new 0, updated 0, unchanged 18, deleted 1" in result.stdout
    assert snapshot(loaded) == before
    assert scalar(loaded, "SELECT count(*) FROM articles WHERE last_run_id = 2") == 0


def test_changed_record_is_updated_and_keeps_first_seen(run_cli, fixtures, loaded):
    first_seen, changed = query(loaded, "SELECT first_seen, last_changed FROM articles WHERE pmid = 99000104")[0]
    time.sleep(1.1)  # timestamps have one-second resolution
    result = run_cli("ingest", "file", fixtures / "xml/update_with_deletions.xml")
    assert result.exit_code == 0
    assert "records 3, new 0, updated 1, unchanged 0, deleted 2" in result.stdout
    row = query(loaded, "SELECT first_seen, last_changed, abstract, last_run_id, first_run_id FROM articles WHERE pmid = 99000104")[0]
    assert row[0] == first_seen and row[1] > changed
    assert "indexing now complete" in row[2]
    assert row[3:] == (2, 1)


def test_delete_citation_marks_records_deleted_and_never_drops_them(run_cli, fixtures, loaded):
    run_cli("ingest", "file", fixtures / "xml/update_with_deletions.xml")
    assert query(loaded, "SELECT deleted, title FROM articles WHERE pmid = 99000103") == [
        (1, "Leaf chewing among rubber tappers in southern Thailand.")]
    # A withdrawn PMID the database never held is still recorded.
    assert query(loaded, "SELECT pmid FROM deletions ORDER BY pmid") == [(99000103,), (99000198,), (99000199,)]
    stats = run_cli("stats")
    assert "records: 17 (deleted 1, retracted 1)" in stats.stdout


def test_a_withdrawn_record_sent_again_is_active_again(run_cli, fixtures, loaded):
    run_cli("ingest", "file", fixtures / "xml/update_with_deletions.xml")
    result = run_cli("ingest", "file", fixtures / "xml/medline_date.xml")
    assert "updated 1" in result.stdout
    assert scalar(loaded, "SELECT deleted FROM articles WHERE pmid = 99000103") == 0
    assert scalar(loaded, "SELECT count(*) FROM deletions WHERE pmid = 99000103") == 0


def test_full_text_index_follows_inserts_and_updates(run_cli, fixtures, loaded):
    def search(term):
        return query(loaded, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid", [term])

    assert search("rubber") == [(99000103,)]
    assert search("indexing") == []
    run_cli("ingest", "file", fixtures / "xml/update_with_deletions.xml")
    assert search("indexing") == [(99000104,)]
    assert search("withdrawal") == [(99000101,), (99000106,), (99000108,)]  # title, abstract, keywords
    conn = sqlite3.connect(loaded)
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")


def test_database_is_wal_and_has_readable_views(loaded):
    assert scalar(loaded, "PRAGMA journal_mode") == "wal"
    assert query(loaded, "SELECT publication_type FROM article_publication_types WHERE pmid = 99000101") == [
        ("Journal Article",), ("Randomized Controlled Trial",)]
    assert query(loaded, "SELECT position, author, affiliation FROM article_authors WHERE pmid = 99000101 ORDER BY position") == [
        (1, "Wongsakul P", "Faculty of Pharmacy, Example University, Songkhla, Thailand."), (2, "Miller JR", None)]
    assert ("Substance Withdrawal Syndrome", 1, "drug therapy") in query(
        loaded, "SELECT descriptor, major_topic, qualifiers FROM article_mesh WHERE pmid = 99000101")
    assert query(loaded, "SELECT keyword FROM article_keywords WHERE pmid = 99000111") == [("Mitragyna speciosa",)]
    assert scalar(loaded, "PRAGMA user_version") == store.SCHEMA_VERSION


def test_multi_valued_fields_are_json_arrays_not_joined_strings(loaded):
    import json
    pubtypes, mesh, authors = query(loaded, "SELECT publication_types, mesh, authors FROM articles WHERE pmid = 99000101")[0]
    assert json.loads(pubtypes) == ["Journal Article", "Randomized Controlled Trial"]
    assert isinstance(json.loads(mesh), list) and isinstance(json.loads(authors), list)


def test_ensure_db_shape_is_idempotent(loaded):
    db = store.connect(loaded)
    schema = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    store.ensure_db_shape(db)
    store.ensure_db_shape(db)
    assert db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 18


def test_ensure_db_shape_rebuilds_a_dropped_fts_index(loaded):
    db = store.connect(loaded)
    db["articles"].disable_fts()
    store.ensure_db_shape(db)
    assert db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'rubber'").fetchall() == [(99000103,)]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name, message", [
    ("bad/not_pubmed.txt", "not PubMed XML or MEDLINE text"),
    ("bad/truncated.xml", "malformed or truncated XML"),
    ("bad/not_gzip.xml.gz", "named .gz but is not gzip-compressed"),
    ("xml/empty_set.xml", "no records in it (an empty PubmedArticleSet)"),
    ("bad/billion_laughs.xml", "amplification"),
    ("bad/html_error_page.xml", "not PubMed XML (root element <html>"),
])
def test_a_bad_file_fails_the_run_names_the_file_and_changes_nothing(run_cli, fixtures, loaded, name, message):
    before = snapshot(loaded)
    result = run_cli("ingest", "file", fixtures / name)
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and Path(name).name in error_lines[0] and message in error_lines[0]
    assert result.stdout.strip().startswith("failed: files 1 (1 failed)")
    assert snapshot(loaded) == before
    status, error = query(loaded, "SELECT status, error FROM runs ORDER BY id DESC LIMIT 1")[0]
    assert status == "failed" and message in error


def test_a_truncated_file_leaves_none_of_its_records_behind(run_cli, fixtures, db_path, tmp_path):
    big = write_many_records(tmp_path / "big.xml", 50)
    data = big.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    result = run_cli("ingest", "file", cut)
    assert result.exit_code == 1 and "cut.xml: malformed or truncated XML" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM articles") == 0


def test_a_record_without_pmid_is_named_and_the_rest_is_stored(run_cli, fixtures, db_path):
    result = run_cli("ingest", "file", fixtures / "bad/no_pmid.xml")
    assert result.exit_code == 1
    assert "no_pmid.xml: record 2 has no PMID" in result.stderr
    assert "partial: files 1, records 2, new 1, updated 0, unchanged 0, deleted 0, failed 1" in result.stdout
    assert query(db_path, "SELECT pmid FROM articles") == [(99000301,)]
    assert query(db_path, "SELECT status, failed FROM runs") == [("partial", 1)]


def test_missing_file_and_folder_without_pubmed_files(run_cli, fixtures, db_path, tmp_path):
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    (empty / "notes.md").write_text("not data")
    result = run_cli("ingest", "file", tmp_path / "nope.xml", empty, fixtures / "xml/season.xml")
    assert result.exit_code == 1
    assert "nope.xml: no such file or folder" in result.stderr
    assert "empty_folder: folder holds no PubMed files" in result.stderr
    assert "partial: files 1 (2 failed), records 1, new 1" in result.stdout


def test_a_folder_is_read_recursively(run_cli, fixtures, db_path, tmp_path):
    folder = tmp_path / "downloads"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(fixtures / "xml/season.xml", folder / "a.xml")
    shutil.copy(fixtures / "medline/one_record.nbib", folder / "sub" / "b.nbib")
    (folder / "README.md").write_text("ignored")
    result = run_cli("ingest", "file", folder)
    assert result.exit_code == 0 and "files 2, records 2, new 2" in result.stdout


def test_a_file_that_is_not_a_database(run_cli, fixtures, tmp_path):
    fake = tmp_path / "fake.db"
    fake.write_text("this is not sqlite" * 100)
    result = run_cli("ingest", "file", fixtures / "xml/season.xml", "--db", fake, db=False)
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "fake.db: not a usable SQLite database" in result.stderr


def test_a_database_locked_by_another_program(run_cli, fixtures, loaded, monkeypatch):
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(loaded)
    other.execute("BEGIN IMMEDIATE")
    try:
        before = snapshot_while_locked = query(loaded, "SELECT count(*) FROM articles")
        result = run_cli("ingest", "file", fixtures / "xml/update_with_deletions.xml")
    finally:
        other.rollback()
        other.close()
    assert result.exit_code == 1
    assert "is locked by another program" in result.stderr and "nothing was changed" in result.stderr
    assert query(loaded, "SELECT count(*) FROM articles") == before == snapshot_while_locked


def test_a_second_writer_waits_then_gives_up_with_a_clear_message(run_cli, fixtures, loaded):
    with store.write_lock(loaded):
        t0 = time.monotonic()
        result = run_cli("ingest", "file", fixtures / "xml/season.xml", "--lock-timeout", "0.3")
        waited = time.monotonic() - t0
    assert result.exit_code == 1
    assert f"another ingestion (pid {os.getpid()}) is writing to" in result.stderr
    assert waited >= 0.3


def test_readers_keep_working_while_a_writer_holds_the_lock(loaded):
    with store.write_lock(loaded):
        db = store.connect(loaded, readonly=True)
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 18


def test_wrong_option_is_a_usage_error(run_cli, fixtures):
    result = run_cli("ingest", "file", fixtures / "xml/season.xml", "--lock-timeout", "soon")
    assert result.exit_code == 2 and "Invalid value for '--lock-timeout'" in result.stderr


def test_evidence_db_environment_variable(fixtures, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ingest.cli import cli
    target = tmp_path / "from_env.db"
    monkeypatch.setenv("EVIDENCE_DB", str(target))
    result = CliRunner().invoke(cli, ["ingest", "file", str(fixtures / "xml/season.xml")])
    assert result.exit_code == 0 and scalar(target, "SELECT count(*) FROM articles") == 1


def test_stats_counts_by_year_status_and_publication_type(run_cli, loaded):
    out = run_cli("stats").stdout
    assert "records: 18 (deleted 0, retracted 1)" in out
    assert "  1998          1" in out
    assert "  MEDLINE " in out and "Publisher" in out
    assert "  Journal Article " in out and "  Retracted Publication " in out


def test_stats_on_a_missing_database_is_one_line(run_cli, tmp_path):
    result = run_cli("stats", "--db", tmp_path / "absent.db", db=False)
    assert result.exit_code == 1 and "no database at" in result.stderr
    assert not (tmp_path / "absent.db").exists()


def test_version_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "ingest", "--version"], capture_output=True, text=True, check=True)
    from ingest import __version__
    assert out.stdout.strip() == f"kratom-evidence, version {__version__}"


# ------------------------------------------------------------------ interruption


def _start_ingest(db_path: Path, xml: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "ingest", "file", str(xml), "--db", str(db_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_until_writing(db_path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    wal = Path(f"{db_path}-wal")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 2_000_000:
            return
        if proc.poll() is not None:
            pytest.fail(f"ingest finished before it could be interrupted: {proc.communicate()}")
        time.sleep(0.02)
    pytest.fail("ingest never started writing")


def test_sigkill_midway_leaves_a_consistent_database_and_the_next_run_completes(run_cli, fixtures, loaded, tmp_path):
    big = write_many_records(tmp_path / "big.xml", 6000)
    before = snapshot(loaded)
    proc = _start_ingest(loaded, big)
    _wait_until_writing(loaded, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert scalar(loaded, "PRAGMA integrity_check") == "ok"
    assert snapshot(loaded) == before  # the killed file left nothing half-written
    assert query(loaded, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == [("running",)]
    result = run_cli("ingest", "file", big)
    assert result.exit_code == 0 and "new 6000" in result.stdout
    assert scalar(loaded, "SELECT count(*) FROM articles") == 18 + 6000
    assert query(loaded, "SELECT status, error FROM runs WHERE id = 2") == [
        ("interrupted", "the process ended before the run finished")]
    sqlite3.connect(loaded).execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")


def test_ctrl_c_rolls_back_the_file_and_records_the_run_as_interrupted(loaded, tmp_path):
    big = write_many_records(tmp_path / "big.xml", 6000)
    before = snapshot(loaded)
    proc = _start_ingest(loaded, big)
    _wait_until_writing(loaded, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(loaded) == before
    assert query(loaded, "SELECT status FROM runs ORDER BY id DESC LIMIT 1") == [("interrupted",)]


def test_library_call_records_its_run(fixtures, db_path):
    result = ingest_files(db_path, [fixtures / "xml/season.xml"], labeller=None)
    assert result.ok and result.counts.new == 1 and result.run_id == 1


def test_content_hash_ignores_the_order_of_fields_inside_lists():
    from ingest.record import Article
    a = Article(pmid=1, title="t", authors=[{"last": "A", "fore": "B", "initials": "AB", "orcid": "x", "affiliations": ["y"]}])
    b = Article(pmid=1, title="t", authors=[{"affiliations": ["y"], "orcid": "x", "initials": "AB", "fore": "B", "last": "A"}])
    assert store.article_row(a)["content_hash"] == store.article_row(b)["content_hash"]
    c = Article(pmid=1, title="t2", authors=a.authors)
    assert store.article_row(a)["content_hash"] != store.article_row(c)["content_hash"]


def test_a_file_read_again_passes_its_records_unparsed(fixtures, db_path):
    from ingest.record import Unchanged
    from ingest.sources import read_file
    assert ingest_files(db_path, [fixtures / "xml/structured_abstract.xml"], labeller=None).ok
    seen = store.source_seen(store.connect(db_path))
    assert list(read_file(fixtures / "xml/structured_abstract.xml", seen=seen)) == [Unchanged(99000101)]
    again = ingest_files(db_path, [fixtures / "xml/structured_abstract.xml"], labeller=None)
    assert (again.counts.found, again.counts.unchanged, again.counts.new, again.counts.updated) == (1, 1, 0, 0)


def test_different_bytes_same_content_is_unchanged_and_changed_content_is_updated(fixtures, db_path, tmp_path):
    original = (fixtures / "xml/structured_abstract.xml").read_text()
    assert ingest_files(db_path, [fixtures / "xml/structured_abstract.xml"], labeller=None).ok
    before = snapshot(db_path)
    reformatted = tmp_path / "reformatted.xml"  # other indentation: other bytes, same content
    reformatted.write_text(original.replace("\n    <", "\n\t<").replace("\n      <", "\n\t\t<"))
    result = ingest_files(db_path, [reformatted], labeller=None)
    assert (result.counts.unchanged, result.counts.updated) == (1, 0)
    assert snapshot(db_path) == before  # nothing written, the stored digest included
    edited = tmp_path / "edited.xml"
    edited.write_text(original.replace("A larger trial is warranted.", "A larger trial is needed."))
    assert ingest_files(db_path, [edited], labeller=None).counts.updated == 1
