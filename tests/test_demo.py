"""The offline demo: synthetic sample, said to be synthetic, kept in sync with its sources."""

from __future__ import annotations


from ingest import synthetic
from ingest.demo import DEMO_SAMPLE
from ingest.taxonomy import DESIGN_CODES, TOPIC_CODES
from tests.helpers import query, scalar

SOURCES = sorted((DEMO_SAMPLE.parent / "source").glob("*.toml"))
LABELS = DEMO_SAMPLE.parent / "demo_labels.csv"


def test_committed_demo_xml_and_labels_match_their_sources():
    records = synthetic.load(SOURCES)
    assert DEMO_SAMPLE.read_text(encoding="utf-8") == synthetic.to_xml(records), \
        "run: python -m ingest.synthetic build ingest/data/demo/source/*.toml --xml ingest/data/demo/demo_sample.xml --labels ingest/data/demo/demo_labels.csv"
    assert LABELS.read_text(encoding="utf-8") == synthetic.labels_csv(records)


def test_demo_sample_spans_every_design_and_topic():
    records = synthetic.load(SOURCES)
    assert 250 <= len(records) <= 350
    assert {r["study_type"] for r in records} == set(DESIGN_CODES)
    assert {t for r in records for t in r.get("topics", [])} == set(TOPIC_CODES)


def test_demo_file_says_it_is_synthetic():
    head = DEMO_SAMPLE.read_text(encoding="utf-8")[:1000]
    assert "SYNTHETIC DATA" in head and "None is a real publication" in head


def test_demo_builds_a_database_marked_synthetic(run_cli, db_path):
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    n = scalar(db_path, "SELECT count(*) FROM articles")
    assert n == len(synthetic.load(SOURCES))
    assert query(db_path, "SELECT value FROM meta WHERE key = 'synthetic_demo'") == [("1",)]
    # Every journal article carries the note (PubMed's book records have no GeneralNote element).
    books = scalar(db_path, "SELECT count(*) FROM articles WHERE is_book = 1")
    assert scalar(db_path, "SELECT count(*) FROM articles WHERE notes LIKE '%not a real publication%'") == n - books
    assert query(db_path, "SELECT source, status FROM runs") == [("demo", "success")]
    assert run_cli("stats").stdout.startswith("SYNTHETIC DEMO DATA")


def test_demo_refuses_to_mix_into_a_database_of_real_records(run_cli, fixtures, db_path, tmp_path):
    real = fixtures / "xml/season.xml"
    text = real.read_text().replace("99000104", "31234567")  # a PMID in the real range
    (tmp_path / "real.xml").write_text(text)
    assert run_cli("ingest", "file", tmp_path / "real.xml").exit_code == 0
    result = run_cli("demo")
    assert result.exit_code == 1 and "holds 1 real PubMed records" in result.stderr
    assert scalar(db_path, "SELECT count(*) FROM articles") == 1
