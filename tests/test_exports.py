"""Exports: every format read back by an independent reader, hostile text in every format."""

from __future__ import annotations

import csv
import io
import json

import bibtexparser
import pandas as pd
import pytest
import rispy

from ingest import export as exporter
from ingest.query import EXPORT_FIRST
from tests.helpers import scalar

FORMATS = ["csv", "tsv", "xlsx", "json", "ris", "bibtex", "parquet"]


@pytest.fixture
def demo_db(run_cli, db_path):
    assert run_cli("demo").exit_code == 0
    return db_path


@pytest.fixture
def hostile_db(run_cli, fixtures, db_path):
    result = run_cli("ingest", "file", fixtures / "xml/hostile_text.xml", fixtures / "xml/structured_abstract.xml",
                     fixtures / "xml/book_article.xml", fixtures / "xml/collective_author.xml")
    assert result.exit_code == 0, result.output
    return db_path


def export(run_cli, tmp_path, fmt, *args):
    out = tmp_path / f"out.{fmt}"
    result = run_cli("export", "--format", fmt, "-o", out, *args)
    assert result.exit_code == 0, result.output
    return out


def test_tabular_exports_begin_with_the_contract_columns(run_cli, demo_db, tmp_path):
    csv_cols = next(csv.reader(export(run_cli, tmp_path, "csv").open(encoding="utf-8")))
    tsv_cols = export(run_cli, tmp_path, "tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    xlsx_cols = list(pd.read_excel(export(run_cli, tmp_path, "xlsx")).columns)
    parquet_cols = list(pd.read_parquet(export(run_cli, tmp_path, "parquet")).columns)
    for cols in (csv_cols, tsv_cols, xlsx_cols, parquet_cols):
        assert cols[: len(EXPORT_FIRST)] == EXPORT_FIRST == [
            "pmid", "title", "year", "journal", "study_type", "study_type_confidence", "topics",
            "sample_size", "doi", "pubmed_url"]


def test_export_follows_the_filters(run_cli, demo_db, tmp_path):
    out = export(run_cli, tmp_path, "csv", "--design", "randomized_trial", "--year-min", "2020")
    df = pd.read_csv(out)
    assert len(df) > 0 and set(df["study_type"]) == {"randomized_trial"} and df["year"].min() >= 2020
    expected = scalar(demo_db, "SELECT count(*) FROM evidence WHERE study_type = 'randomized_trial' "
                               "AND pub_year >= 2020 AND is_retracted = 0")
    assert len(df) == expected
    topics = pd.read_csv(export(run_cli, tmp_path, "csv", "--topic", "liver_injury"))
    assert all("liver_injury" in t.split(";") for t in topics["topics"])


def test_every_format_round_trips_records_authors_and_dois(run_cli, hostile_db, tmp_path):
    want = {r["pmid"]: r for r in json.loads(export(run_cli, tmp_path, "json").read_text(encoding="utf-8"))}
    assert set(want) == {99000401, 99000402, 99000101, 99000105, 99000107}

    ris = rispy.load(export(run_cli, tmp_path, "ris").open(encoding="utf-8"))
    assert len(ris) == len(want)
    for entry in ris:
        rec = want[int(entry["accession_number"])]
        assert entry["title"] == rec["title"]
        assert entry.get("authors", []) == exporter.author_names(rec["authors"])
        assert entry.get("doi") == rec["doi"]
    by_pmid = {int(e["accession_number"]): e for e in ris}
    assert by_pmid[99000105]["type_of_reference"] == "CHAP"
    assert (by_pmid[99000401]["start_page"], by_pmid[99000401]["end_page"]) == ("1116", "1122")
    assert "Study design: survey" in by_pmid[99000401]["notes"][0]

    library = bibtexparser.parse_string(export(run_cli, tmp_path, "bibtex").read_text(encoding="utf-8"))
    assert not library.failed_blocks
    keys = [e.key for e in library.entries]
    assert len(keys) == len(set(keys)) == len(want)
    for entry in library.entries:
        pmid = int(entry.fields_dict["pmid"].value)
        assert entry.key.endswith(f"_{pmid}")
        doi = entry.fields_dict.get("doi")
        assert (doi.value if doi else None) == want[pmid]["doi"]
        assert entry.fields_dict["author"].value.count(" and ") == len(want[pmid]["authors"]) - 1

    xlsx = pd.read_excel(export(run_cli, tmp_path, "xlsx"))
    assert sorted(xlsx["pmid"]) == sorted(want)
    parquet = pd.read_parquet(export(run_cli, tmp_path, "parquet"))
    assert sorted(parquet["pmid"]) == sorted(want) and list(parquet.loc[parquet.pmid == 99000401, "keywords"].iloc[0]) == ["=1+1", "กระท่อม"]


def test_bibtex_keys_are_stable_across_exports(run_cli, hostile_db, tmp_path):
    first = [e.key for e in bibtexparser.parse_string(export(run_cli, tmp_path, "bibtex").read_text()).entries]
    second = [e.key for e in bibtexparser.parse_string(export(run_cli, tmp_path, "bibtex").read_text()).entries]
    assert first == second and "NunezOBrien2024_99000401" in first


def test_hostile_text_survives_every_text_format(run_cli, hostile_db, tmp_path):
    title = '=HYPERLINK("http://127.0.0.1/x","click") kratom {braces} \\ backslash $5 #1 under_score ~tilde^'
    records = {r["pmid"]: r for r in json.loads(export(run_cli, tmp_path, "json").read_text(encoding="utf-8"))}
    assert records[99000401]["title"] == title
    assert records[99000401]["authors"][0] == {"last": "Ñúñez-O'Brien", "fore": "José {Jr}", "initials": "J"}
    ris = {int(e["accession_number"]): e for e in rispy.load(export(run_cli, tmp_path, "ris").open(encoding="utf-8"))}
    assert ris[99000401]["title"] == title
    assert ris[99000402]["title"].endswith("Отравление кратомом — التسمم")
    assert ris[99000401]["keywords"] == ["=1+1", "กระท่อม"]
    bib = {e.key: e for e in bibtexparser.parse_string(export(run_cli, tmp_path, "bibtex").read_text(encoding="utf-8")).entries}
    braces = bib["NunezOBrien2024_99000401"].fields_dict["title"].value
    assert braces.count("{") == braces.count("}") and r"\{braces\}" in braces and r"\$5" in braces
    assert "สมชาย, ใจดี" in bib["NunezOBrien2024_99000401"].fields_dict["author"].value


def test_spreadsheets_neutralise_formulas(run_cli, hostile_db, tmp_path):
    rows = list(csv.DictReader(export(run_cli, tmp_path, "csv").open(encoding="utf-8")))
    hostile = next(r for r in rows if r["pmid"] == "99000401")
    assert hostile["title"].startswith("'=HYPERLINK(")
    assert hostile["keywords"].startswith("'=1+1")
    assert hostile["abstract"].startswith("BACKGROUND: +cmd")  # not at the start of the cell: harmless
    from openpyxl import load_workbook
    sheet = load_workbook(export(run_cli, tmp_path, "xlsx")).active
    header = [c.value for c in sheet[1]]
    cells = {row[0].value: dict(zip(header, (c for c in row))) for row in sheet.iter_rows(min_row=2)}
    title_cell = cells[99000401]["title"]
    assert title_cell.data_type == "s" and title_cell.value.startswith("'=HYPERLINK(")
    tsv = list(csv.DictReader(export(run_cli, tmp_path, "tsv").open(encoding="utf-8"), delimiter="\t"))
    assert next(r for r in tsv if r["pmid"] == "99000401")["title"].startswith("'=HYPERLINK(")
    assert all(None not in r and "\n" not in r["abstract"] for r in tsv)  # one line, one cell per column


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTab", "'\tTab"), ("\rCR", "'\rCR"), ("plain", "plain"), (42, 42), (None, None),
])
def test_neutralise(value, expected):
    assert exporter.neutralise(value) == expected


@pytest.mark.parametrize("pages, start, end", [
    ("1116-22", "1116", "1122"), ("101-109", "101", "109"), ("e14022", "e14022", None),
    ("S12-S19", "S12", "S19"), (None, None, None), ("55-61, 70", "55", "61"),
])
def test_page_ranges_split_for_ris_and_bibtex(pages, start, end):
    assert exporter.split_pages(pages) == (start, end)


def test_stdout_and_binary_needs_a_file(run_cli, demo_db):
    out = run_cli("export", "--format", "json", "--pmid", "90000001")
    assert out.exit_code == 0 and json.loads(out.stdout)[0]["pmid"] == 90000001
    binary = run_cli("export", "--format", "xlsx")
    assert binary.exit_code == 2 and "give a file with -o" in binary.stderr


def test_a_failed_export_leaves_no_half_file(run_cli, demo_db, tmp_path):
    target = tmp_path / "missing_dir" / "out.csv"
    result = run_cli("export", "-o", target)
    assert result.exit_code != 0 and not target.exists()


def test_an_empty_selection_still_has_a_header(run_cli, demo_db, tmp_path):
    out = export(run_cli, tmp_path, "csv", "--search", "nothingmatchesthiszzz")
    assert out.read_text(encoding="utf-8").strip().split(",")[:3] == ["pmid", "title", "year"]
    assert json.loads(export(run_cli, tmp_path, "json", "--search", "nothingmatchesthiszzz").read_text()) == []


def test_retracted_records_are_left_out_unless_asked(run_cli, demo_db, tmp_path):
    default = pd.read_csv(export(run_cli, tmp_path, "csv"))
    everything = pd.read_csv(export(run_cli, tmp_path, "csv", "--include-retracted"))
    retracted = scalar(demo_db, "SELECT count(*) FROM articles WHERE is_retracted = 1")
    assert retracted > 0 and len(everything) - len(default) == retracted
    assert not default["is_retracted"].any() and everything["is_retracted"].sum() == retracted


def test_bytes_for_download_buttons(demo_db):
    from ingest import store
    from ingest.query import Filters, export_rows
    db = store.connect(demo_db, readonly=True)
    data = exporter.export_bytes(export_rows(db, Filters(designs=("survey",))), "xlsx")
    assert data[:2] == b"PK" and len(pd.read_excel(io.BytesIO(data))) > 0


# --------------------------------------------------------------------------- claims on the command line


def test_claims_command_counts_each_claims_records_by_design(run_cli, demo_db):
    result = run_cli("claims", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    pain = next(r for r in rows if r["id"] == "relieves_pain")
    expected = scalar(demo_db, "SELECT count(DISTINCT e.pmid) FROM evidence e JOIN effective_topics t "
                               "ON t.pmid = e.pmid AND t.topic = 'pain' WHERE e.is_retracted = 0")
    assert pain["records"] == expected > 0
    rcts = scalar(demo_db, "SELECT count(DISTINCT e.pmid) FROM evidence e JOIN effective_topics t "
                           "ON t.pmid = e.pmid AND t.topic = 'pain' WHERE e.is_retracted = 0 "
                           "AND e.study_type = 'randomized_trial'")
    assert pain["randomized_trial"] == rcts
    text = run_cli("claims")
    assert text.exit_code == 0 and "Kratom relieves pain" in text.stdout and "strongest:" in text.stdout
    assert "synthetic demo sample" in text.stderr


def test_claims_command_reads_a_users_claims_file_and_refuses_unknown_topics(run_cli, demo_db, tmp_path):
    mine = tmp_path / "claims.toml"
    mine.write_text('[[claim]]\nid = "liver"\nclaim = "Kratom harms the liver"\ntopics = ["liver_injury"]\n',
                    encoding="utf-8")
    result = run_cli("claims", "--claims", mine, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == ["liver"] and int(rows[0]["records"]) > 0

    mine.write_text('[[claim]]\nid = "x"\nclaim = "X"\ntopics = ["livr_injury"]\n', encoding="utf-8")
    bad = run_cli("claims", "--claims", mine)
    assert bad.exit_code == 1 and "unknown topic(s) livr_injury" in bad.stderr

    mine.write_text('[[claim]\nid = "x"\n', encoding="utf-8")
    broken = run_cli("claims", "--claims", mine)
    assert broken.exit_code == 1 and broken.stderr.startswith("Error: claims file") and "Traceback" not in broken.output


def test_an_unknown_topic_filter_is_an_error_not_an_empty_export(run_cli, demo_db):
    result = run_cli("export", "--topic", "livr_injury")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Invalid value for '--topic': unknown topic 'livr_injury'" in result.stderr
    assert "liver_injury" in result.stderr
    assert run_cli("claims", "--topic", "painn").exit_code == 2
