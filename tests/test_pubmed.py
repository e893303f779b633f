"""`kratom-evidence ingest pubmed` against a loopback E-utilities server, real HTTP through Bio.Entrez.

Every run ends either with every record of the server's dataset stored, or with a failed run,
an unchanged watermark and a next run that completes: never with a record silently missing.
Backoff delays are small here; the rate limiter is the real one.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from Bio import Entrez

from ingest import store
from ingest.eutils import Eutils, EutilsConfig, RateLimiter
from ingest.pubmed import DEFAULT_QUERY, QUERY_TERMS, PubMedError, Window, ingest_pubmed, search_parts
from tests.eutils_server import EutilsServer
from tests.helpers import query, scalar

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "tester@example.org"
KEY = "test-key-5e3f9a0c71d24b8e"  # a value to look for: it must never be written anywhere
TODAY = dt.datetime.now(dt.timezone.utc).date()


@pytest.fixture
def server(monkeypatch):
    for name in ("NCBI_EMAIL", "NCBI_API_KEY", "NCBI_EUTILS_URL", "http_proxy", "HTTP_PROXY",
                 "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    eutils = EutilsServer().start()
    yield eutils
    eutils.stop()


@pytest.fixture
def cli_env(server, monkeypatch):
    """The environment a scheduled job would have, pointed at the loopback server."""
    monkeypatch.setenv("NCBI_EUTILS_URL", server.url)
    monkeypatch.setenv("NCBI_EMAIL", EMAIL)
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    return server


def config(server: EutilsServer, *, key: str | None = KEY, **overrides) -> EutilsConfig:
    values = {"base_url": server.url, "email": EMAIL, "api_key": key, "max_tries": 3,
              "timeout": 2.0, "backoff_base": 0.01, "backoff_max": 0.05, **overrides}
    return EutilsConfig(**values)


def run(server: EutilsServer, db_path: Path, *, key: str | None = KEY, batch_size: int = 20,
        cfg: dict | None = None, **options):
    return ingest_pubmed(db_path, config=config(server, key=key, **(cfg or {})),
                         batch_size=batch_size, **options)


# ------------------------------------------------------------------ what the tests check


def stored_titles(db_path: Path) -> dict[int, str]:
    return dict(query(db_path, "SELECT pmid, title FROM articles"))


def assert_complete(db_path: Path, server: EutilsServer) -> None:
    """Every record the query matches is stored, in its current version, and nothing else."""
    expected = {p: r.title for p, r in server.records.items() if r.kratom}
    assert stored_titles(db_path) == expected
    assert scalar(db_path, "PRAGMA integrity_check") == "ok"


def watermark(db_path: Path) -> str | None:
    rows = query(db_path, "SELECT watermark FROM runs WHERE status = 'success' ORDER BY id DESC LIMIT 1")
    return rows[0][0] if rows else None


def last_run(db_path: Path) -> dict:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone())
    finally:
        conn.close()


def assert_polite(server: EutilsServer, *, key: str | None = KEY, email: str | None = EMAIL) -> None:
    """tool and email on every request (NCBI asks for both), the key exactly when configured,
    and never more requests in a second than NCBI allows (3, or 10 with a key)."""
    requests = server.requests()
    assert requests
    for r in requests:
        assert r.params.get("tool") == "kratom-evidence", r
        assert r.params.get("email") == email, r
        assert r.params.get("api_key") == key, r
    assert server.max_in_window() <= (10 if key else 3)


# ------------------------------------------------------------------ the server is faithful


def test_esearch_answers_are_what_bio_entrez_reads(server):
    server.add(30)
    server.add(5, start=96_000_001, kratom=False)
    client = Eutils(config(server))
    raw = client.call(Entrez.esearch, term="kratom[tiab]", retmax=10, retstart=5, usehistory="y")
    assert b'<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN"' in raw
    record = Entrez.read(io.BytesIO(raw))
    assert record["Count"] == "30" and record["RetMax"] == "10" and record["RetStart"] == "5"
    assert record["IdList"] == [str(p) for p in range(95_000_025, 95_000_015, -1)]
    assert record["WebEnv"].startswith("MCID_") and record["QueryKey"] == "1"
    assert "TranslationSet" in record and record["QueryTranslation"] == "kratom[tiab]"
    error = client.call(Entrez.esearch, term="")
    with pytest.raises(RuntimeError, match="Empty term"):
        Entrez.read(io.BytesIO(error))


def test_esearch_honours_the_term_and_the_date_ranges(server):
    for i in range(40):  # one record a day from 1 January 2001
        day = dt.date(2001, 1, 1) + dt.timedelta(days=i)
        server.add(1, start=95_000_001 + i, pdat=(day, day))
    server.add(3, start=96_000_001, kratom=False, pdat=(dt.date(2001, 1, 1), dt.date(2001, 1, 3)))
    server.modify([95_000_001, 95_000_002], mdat=dt.date(2024, 7, 9))
    client = Eutils(config(server))
    assert client.esearch(DEFAULT_QUERY, retmax=100).count == 40
    assert client.esearch("coffee[tiab]", retmax=100).count == 3
    january = client.esearch(DEFAULT_QUERY, retmax=100, datetype="pdat", mindate="2001/01/01", maxdate="2001/01/10")
    assert sorted(january.ids) == list(range(95_000_001, 95_000_011))
    modified = client.esearch(DEFAULT_QUERY, retmax=100, datetype="mdat", mindate="2024/07/01", maxdate="2024/07/31")
    assert sorted(modified.ids) == [95_000_001, 95_000_002]


def test_efetch_by_history_and_by_id_over_get_and_post(server):
    server.add(250)
    client = Eutils(config(server))
    found = client.esearch(DEFAULT_QUERY, retmax=300)
    body = client.efetch_xml(WebEnv=found.webenv, query_key=found.query_key, retstart=10, retmax=5)
    assert body.startswith(b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle')
    fetched = server.requests("efetch")[-1]
    assert fetched.pmids == found.ids[10:15] and fetched.method == "GET"
    client.efetch_xml(id=",".join(map(str, found.ids[:50])))
    client.efetch_xml(id=",".join(map(str, found.ids)))  # 250 ids: Bio.Entrez posts long lists
    assert [r.method for r in server.requests("efetch")[-2:]] == ["GET", "POST"]
    assert server.requests("efetch")[-1].pmids == found.ids
    webenv, query_key = client.epost(found.ids[:3])
    client.efetch_xml(WebEnv=webenv, query_key=query_key, retmax=10)
    assert server.requests("epost")[-1].method == "POST"
    assert server.requests("efetch")[-1].pmids == found.ids[:3]
    assert_polite(server)
    with urllib.request.urlopen(server.url + "efetch.fcgi?db=pubmed&id=95000001", timeout=5) as answer:
        assert answer.headers["Content-Type"].startswith("text/xml")


def test_the_default_query_names_why_each_term_is_there():
    assert DEFAULT_QUERY == " OR ".join(t for t, _ in QUERY_TERMS)
    for needed in ("kratom", "mitragynine", "7-hydroxymitragynine", "speciociliatine", "paynantheine",
                   "Mitragyna[MeSH Terms]"):
        assert needed in DEFAULT_QUERY
    assert all(len(why) > 15 for _, why in QUERY_TERMS)


# ------------------------------------------------------------------ a full run


def test_a_full_run_stores_every_record_of_the_query_and_sets_the_watermark(server, db_path):
    server.add(60)
    server.add(10, start=96_000_001, kratom=False)
    result = run(server, db_path, key=None, batch_size=25)
    assert result.ok, result.errors
    assert_complete(db_path, server)
    assert (result.announced, result.received, result.counts.new) == (60, 60, 60)
    run_row = last_run(db_path)
    assert run_row["source"] == "pubmed" and run_row["query"] == DEFAULT_QUERY
    assert (run_row["status"], run_row["found"], run_row["new"], run_row["error"]) == ("success", 60, 60, None)
    assert run_row["watermark"] == TODAY.isoformat()
    assert [r.tool for r in server.requests()] == ["esearch", "efetch", "efetch", "efetch"]
    assert_polite(server, key=None)
    assert server.max_in_window() <= 3


def test_a_second_run_without_changes_fetches_nothing_and_writes_nothing(server, db_path):
    server.add(30)
    assert run(server, db_path).ok
    before = query(db_path, "SELECT * FROM articles ORDER BY pmid")
    second = run(server, db_path)
    assert second.ok and second.announced == 0 and second.mode == "incremental"
    assert server.requests()[-1].tool == "esearch"  # nothing modified: no efetch at all
    assert query(db_path, "SELECT * FROM articles ORDER BY pmid") == before


# ------------------------------------------------------------------ the rate limit


@pytest.mark.parametrize("key, rate", [(None, 3), (KEY, 10)])
def test_no_one_second_window_holds_more_requests_than_ncbi_allows_even_from_threads(server, key, rate):
    server.add(5)
    clients = [Eutils(config(server, key=key)) for _ in range(4)]  # they share one limiter
    per_thread = 3 if key is None else 8

    def search(client):
        for _ in range(per_thread):
            client.esearch("kratom[tiab]", retmax=5)

    threads = [threading.Thread(target=search, args=(c,)) for c in clients]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert len(server.requests()) == 4 * per_thread
    assert server.max_in_window() <= rate
    assert elapsed >= (4 * per_thread - rate) / rate  # it did have to wait
    assert_polite(server, key=key)


def test_a_run_with_a_key_stays_within_ten_requests_a_second(server, db_path):
    server.add(150)
    result = run(server, db_path, batch_size=6)
    assert result.ok and result.requests == 26
    assert_complete(db_path, server)
    assert server.max_in_window() <= 10


def test_a_request_in_flight_holds_its_place_until_answered():
    import threading
    limiter = RateLimiter(1, period=0.2, margin=0.0)
    took = []
    with limiter.slot():
        waiter = threading.Thread(target=lambda: took.append((limiter.acquire(), time.monotonic())))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive()  # the first request is not answered yet: the second waits
        answered = time.monotonic()
    waiter.join(2)
    assert took and took[0][1] - answered >= 0.2 - 1e-3  # a full period after the answer


def test_the_limiter_is_a_sliding_window():
    limiter = RateLimiter(3, period=0.3, margin=0.0)
    stamps = []
    for _ in range(7):
        limiter.acquire()
        stamps.append(time.monotonic())
    for i in range(3, 7):
        assert stamps[i] - stamps[i - 3] >= 0.3 - 1e-3


# ------------------------------------------------------------------ faults that pass


TRANSIENT = [
    pytest.param("efetch", "429", {"times": 3}, id="429-burst"),
    pytest.param("efetch", "429", {"times": 1, "retry_after": "1"}, id="429-retry-after"),
    pytest.param("esearch", "429", {"times": 2}, id="429-on-esearch"),
    pytest.param("efetch", "500", {"times": 2}, id="500"),
    pytest.param("efetch", "502", {"times": 2}, id="502"),
    pytest.param("esearch", "503", {"times": 2}, id="503"),
    pytest.param("efetch", "stall", {"times": 1, "seconds": 1.0}, id="stall-past-timeout"),
    pytest.param("efetch", "reset", {"times": 2}, id="connection-reset"),
    pytest.param("efetch", "truncate", {"times": 2}, id="truncated-body"),
    pytest.param("efetch", "cut", {"times": 2}, id="truncated-xml"),
    pytest.param("efetch", "short", {"times": 2, "drop": 3}, id="short-batch"),
    pytest.param("esearch", "error", {"times": 2}, id="esearch-ERROR"),
    pytest.param("efetch", "error", {"times": 1}, id="efetch-ERROR"),
]


@pytest.mark.parametrize("tool, kind, options", TRANSIENT)
def test_a_passing_fault_is_retried_and_every_record_is_stored(server, db_path, tool, kind, options):
    server.add(45)
    server.fault(kind, tool, after=1 if tool == "efetch" else 0, **options)
    result = run(server, db_path, cfg={"timeout": 0.5, "max_tries": 5})
    assert result.ok, result.errors
    assert_complete(db_path, server)
    faulted = [r for r in server.requests() if r.fault == kind]
    assert len(faulted) == options["times"]  # the fault did happen
    assert result.retries >= options["times"]
    assert watermark(db_path) == TODAY.isoformat()
    if "retry_after" in options:
        after_429 = server.requests()[server.requests().index(faulted[0]) + 1]
        assert after_429.time - faulted[0].time >= 1.0
    assert_polite(server)


def test_a_record_lost_between_batches_is_fetched_by_pmid(server, db_path):
    server.add(45)
    # the second history batch starts one record early: the right count, no duplicate
    # inside it, but one announced record (the batch's last) never comes
    server.fault("overlap", "efetch-history", after=1)
    result = run(server, db_path, batch_size=20)
    assert result.ok, result.errors
    assert_complete(db_path, server)
    by_pmid = [r for r in server.requests("efetch") if "id" in r.params]
    assert len(by_pmid) == 1 and by_pmid[0].params["id"] == str(sorted(server.kratom_pmids(), reverse=True)[39])


def test_a_record_that_never_arrives_fails_the_run_naming_it(server, db_path):
    server.add(45)
    server.fault("overlap", "efetch-history", after=1, times=None)
    server.fault("short", "efetch-id", times=None)  # and fetching it by PMID gives nothing
    result = run(server, db_path, batch_size=20)
    assert result.status == "failed"
    # batches 21-40 and 41-45 each start one early: only the last record is never sent
    assert result.errors[0].startswith("1 of the 45 announced records never arrived (PMID 95000001)")
    assert (result.received, watermark(db_path)) == (44, None)
    assert "announced 45, received 44; the watermark was not advanced" in last_run(db_path)["error"]
    server.clear_faults()
    assert run(server, db_path).ok
    assert_complete(db_path, server)


def test_a_server_without_history_is_read_by_pmid(server, db_path):
    server.add(45)
    server.history_enabled = False
    result = run(server, db_path, batch_size=20)
    assert result.ok, result.errors
    assert_complete(db_path, server)
    assert all("id" in r.params for r in server.requests("efetch"))


# ------------------------------------------------------------------ faults that fail the run


PERSISTENT = [
    pytest.param("efetch", "429", "HTTP 429", id="429"),
    pytest.param("esearch", "429", "HTTP 429", id="429-on-esearch"),
    pytest.param("efetch", "500", "HTTP 500", id="500"),
    pytest.param("efetch", "502", "HTTP 502", id="502"),
    pytest.param("efetch", "503", "HTTP 503", id="503"),
    pytest.param("efetch", "stall", "no answer within 0.3 s", id="stall-past-timeout"),
    pytest.param("efetch", "reset", "the connection broke", id="connection-reset"),
    pytest.param("efetch", "truncate", "the answer was cut short", id="truncated-body"),
    pytest.param("efetch", "cut", "malformed or truncated XML", id="truncated-xml"),
    pytest.param("efetch", "short", "asked for 15 records, the answer holds 14", id="short-batch"),
    pytest.param("esearch", "error", "esearch answered ERROR: Search Backend failed", id="esearch-ERROR"),
]


@pytest.mark.parametrize("tool, kind, message", PERSISTENT)
def test_a_lasting_fault_fails_the_run_keeps_the_watermark_and_the_next_run_completes(
        server, db_path, tool, kind, message):
    server.add(60)
    assert run(server, db_path).ok
    first_watermark = watermark(db_path)
    server.modify(range(95_000_001, 95_000_031))  # 30 modified: two batches of 20
    server.add(5, start=95_100_001, mdat=TODAY)
    # the second batch never comes right (the first one is stored, in its own transaction)
    server.fault(kind, tool, times=None, after=1 if tool == "efetch" else 0, seconds=1.0)
    failed = run(server, db_path, cfg={"timeout": 0.3, "max_tries": 3})
    assert failed.status == "failed" and message in failed.errors[0], failed.errors
    row = last_run(db_path)
    assert row["status"] == "failed" and message in row["error"] and row["watermark"] is None
    assert "the watermark was not advanced" in row["error"]
    assert watermark(db_path) == first_watermark
    if tool == "efetch":
        assert row["found"] == 20 and failed.received == 20  # the first batch is kept
    server.clear_faults()
    second = run(server, db_path)
    assert second.ok, second.errors
    assert second.announced == 35  # everything since the old watermark, asked again
    assert_complete(db_path, server)
    assert_polite(server)


def test_a_refused_request_fails_at_once_without_retries(server, db_path):
    server.add(10)
    server.fault("400", "esearch")
    result = run(server, db_path)
    assert result.status == "failed" and len(server.requests()) == 1
    assert "refused the request (HTTP 400 Bad Request): {\"error\": \"API key invalid\"" in result.errors[0]
    assert watermark(db_path) is None


def test_a_record_announced_but_never_sent_fails_the_run(server, db_path):
    server.add(30)
    server.fault("short", "efetch", times=None, drop=1)
    result = run(server, db_path, batch_size=50, cfg={"max_tries": 2})
    assert not result.ok and "asked for 30 records, the answer holds 29" in result.errors[0]
    assert scalar(db_path, "SELECT count(*) FROM articles") == 0


# ------------------------------------------------------------------ more than 10,000 matches


def test_more_than_ten_thousand_matches_are_split_by_date_and_all_fetched(server, db_path):
    server.add(10_050, pdat=(dt.date(1990, 1, 1), dt.date(2024, 12, 31)))
    server.add(20, start=96_000_001, kratom=False)
    result = run(server, db_path, batch_size=5_000)
    assert result.ok, result.errors
    assert result.announced == 10_050
    assert scalar(db_path, "SELECT count(*) FROM articles") == 10_050
    assert_complete(db_path, server)
    searches = server.requests("esearch")
    assert searches[0].params.get("mindate") is None  # the whole query first: 10,050 matches
    assert all(r.params["datetype"] == "pdat" and r.params["mindate"] for r in searches[1:])
    assert all(int(r.params["retmax"]) <= 9_999 for r in searches)
    fetches = server.requests("efetch")
    assert all(int(r.params["retstart"]) + int(r.params["retmax"]) <= 10_000 for r in fetches)
    assert sorted(server.fetched_pmids()) == sorted(server.kratom_pmids())
    assert server.max_in_window() <= 10


def test_splitting_goes_as_deep_as_needed_and_the_parts_cover_the_range(server):
    server.search_cap = 20
    server.add(150, pdat=(dt.date(2010, 1, 1), dt.date(2020, 12, 31)))
    client = Eutils(config(server))
    window = Window("since", "pdat", dt.date(2010, 1, 1), dt.date(2020, 12, 31))
    count, parts = search_parts(client, DEFAULT_QUERY, window, limit=20)
    assert count == 150 and len(parts) >= 8
    assert all(0 < p.count < 20 and len(p.search.ids) == p.count for p in parts)
    assert sorted(pmid for p in parts for pmid in p.search.ids) == sorted(server.kratom_pmids())
    bounds = [(p.mindate, p.maxdate) for p in parts]
    assert bounds[0][0] == dt.date(2010, 1, 1) and bounds[-1][1] == dt.date(2020, 12, 31)
    assert all(a[1] < b[0] for a, b in zip(bounds, bounds[1:]))  # in order, no overlap


def test_more_matches_on_one_day_than_esearch_lists_fails_clearly(server):
    server.search_cap = 20
    server.add(25, pdat=(dt.date(2020, 5, 4), dt.date(2020, 5, 4)))
    client = Eutils(config(server))
    window = Window("since", "pdat", dt.date(2020, 5, 1), dt.date(2020, 5, 8))
    with pytest.raises(PubMedError, match=r"25 records of the query have the pdat date 2020/05/04, "
                                          r"more than the 19 ESearch can list; narrow the query"):
        search_parts(client, DEFAULT_QUERY, window, limit=20)


# ------------------------------------------------------------------ incremental runs


def test_an_incremental_run_after_a_full_one_fetches_only_the_modified_records(server, db_path):
    server.add(80)
    server.add(5, start=96_000_001, kratom=False)
    assert run(server, db_path).ok
    first_seen = dict(query(db_path, "SELECT pmid, first_seen FROM articles"))
    log_start = len(server.requests())
    modified = [95_000_003, 95_000_040, 95_000_077]
    server.modify(modified)
    server.modify([96_000_002])  # a modified decoy: the query must still leave it out
    new = server.add(2, start=95_200_001, mdat=TODAY)
    result = run(server, db_path)
    assert result.ok and result.mode == "incremental"
    assert (result.counts.new, result.counts.updated, result.counts.unchanged) == (2, 3, 0)
    search = server.requests("esearch")[-1].params
    assert search["datetype"] == "mdat"
    assert search["mindate"] == (TODAY - dt.timedelta(days=3)).strftime("%Y/%m/%d")
    assert search["maxdate"] == (TODAY + dt.timedelta(days=1)).strftime("%Y/%m/%d")
    fetched = [p for r in server.requests()[log_start:] if r.tool == "efetch" for p in r.pmids]
    assert sorted(fetched) == sorted(modified + new)
    assert_complete(db_path, server)
    after = dict(query(db_path, "SELECT pmid, first_seen FROM articles"))
    assert all(after[p] == first_seen[p] for p in modified)
    revised = dict(query(db_path, "SELECT pmid, date_revised FROM articles"))
    assert {p for p, d in revised.items() if d == TODAY.isoformat()} == set(modified + new)
    rec = server.records[95_000_040]
    assert query(db_path, "SELECT pub_date FROM articles WHERE pmid = 95000040") == [(rec.pdat.isoformat(),)]


def test_full_resyncs_everything_and_since_starts_from_a_date(server, db_path, run_cli, cli_env):
    server.add(20)
    server.modify([95_000_001], mdat=dt.date(2025, 3, 10))
    # --since before any complete run: it fetches what changed, but claims no watermark
    result = run_cli("ingest", "pubmed", "--since", "2025-03-01")
    assert result.exit_code == 0, result.output
    assert "success: since run, announced 1, received 1, new 1" in result.stdout
    assert watermark(db_path) is None
    # so the next default run is a full one
    result = run_cli("ingest", "pubmed")
    assert "success: full run, announced 20, received 20, new 19, updated 0, unchanged 1" in result.stdout
    assert watermark(db_path) == TODAY.isoformat()
    result = run_cli("ingest", "pubmed", "--full")
    assert "success: full run, announced 20, received 20, new 0, updated 0, unchanged 20" in result.stdout
    result = run_cli("ingest", "pubmed", "--since", "2025-03-01")
    assert "success: since run, announced 1" in result.stdout  # from before the watermark: complete
    assert query(db_path, "SELECT watermark FROM runs ORDER BY id") == [(None,)] + [(TODAY.isoformat(),)] * 3
    assert_complete(db_path, server)


def test_each_query_has_its_own_watermark(server, db_path):
    server.add(10)
    assert run(server, db_path).ok
    other = run(server, db_path, query="mitragynine[tiab]")
    assert other.ok and other.mode == "full"  # a new query starts with a full run


# ------------------------------------------------------------------ the command line


def test_the_command_logs_plain_lines_prints_one_summary_and_exits_0(server, db_path, run_cli, cli_env):
    server.add(45)
    result = run_cli("ingest", "pubmed", "--batch-size", "20")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines() == [result.stdout.strip()]
    assert result.stdout.startswith("success: full run, announced 45, received 45, new 45, updated 0, "
                                    "unchanged 0, failed 0, requests 4 (retries 0), ")
    lines = result.stderr.splitlines()
    assert any("esearch: 45 records in 1 part(s)" in line for line in lines)
    assert sum("efetch records" in line for line in lines) == 3
    assert all(line[:4].isdigit() and line[19] == "Z" for line in lines)  # time-stamped (UTC)
    assert_complete(db_path, server)


def test_a_failed_run_prints_why_and_exits_1(server, db_path, run_cli, cli_env):
    server.add(10)
    server.fault("503", "efetch", times=None)
    result = run_cli("ingest", "pubmed", "--max-tries", "2")
    assert result.exit_code == 1
    assert ("error: efetch records 1-10 of 10 (all dates): gave up after 2 tries; "
            "last problem: HTTP 503 Service Unavailable") in result.stderr
    assert result.stdout.startswith("failed: full run, announced 10, received 0, new 0")
    assert "the watermark was not advanced" in result.stderr


def test_full_and_since_together_is_a_usage_error(run_cli, cli_env):
    result = run_cli("ingest", "pubmed", "--full", "--since", "2025-01-01")
    assert result.exit_code == 2 and "--full and --since exclude each other" in result.stderr


def test_without_ncbi_email_the_real_ncbi_is_not_asked(run_cli, db_path, server):
    result = run_cli("ingest", "pubmed")  # NCBI_EUTILS_URL unset: the real NCBI
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "NCBI_EMAIL is not set" in result.stderr
    assert not db_path.exists()


def test_a_loopback_server_may_go_without_email(server, db_path, run_cli, monkeypatch):
    server.add(5)
    monkeypatch.setenv("NCBI_EUTILS_URL", server.url)
    result = run_cli("ingest", "pubmed")
    assert result.exit_code == 0, result.output
    assert "Email address is not specified" not in result.output
    assert_polite(server, key=None, email=None)


# ------------------------------------------------------------------ secrets


def test_the_api_key_is_never_in_the_database_the_logs_or_the_output(server, db_path, run_cli, cli_env, caplog):
    server.add(30)
    server.fault("429", "efetch", times=1)
    assert run_cli("ingest", "pubmed", "--batch-size", "20").exit_code == 0
    server.modify([95_000_001])
    server.fault("400", "esearch")  # NCBI echoes a refused key in its answer
    refused = run_cli("ingest", "pubmed")
    assert refused.exit_code == 1 and "API key invalid" in refused.stderr
    assert any(r.params.get("api_key") == KEY for r in server.requests())  # it was sent
    dump = "\n".join(sqlite3.connect(db_path).iterdump())
    assert "HTTP 429" in caplog.text and "API key invalid" in dump  # the texts that were checked
    for text in (dump, refused.output, caplog.text, repr(config(server)), str(refused.stderr)):
        assert KEY not in text
    assert "***" in refused.stderr


# ------------------------------------------------------------------ kills, locks and readers


def _articles(db_path: Path) -> int:
    try:
        return scalar(db_path, "SELECT count(*) FROM articles")
    except sqlite3.Error:
        return 0


def test_sigkill_midway_leaves_a_consistent_database_and_the_next_run_stores_everything(server, db_path):
    server.add(100)
    server.fault("hold", "efetch", after=2, seconds=60)  # the third batch hangs
    env = {**os.environ, "NCBI_EUTILS_URL": server.url, "NCBI_EMAIL": EMAIL, "NCBI_API_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "ingest", "pubmed", "--db", str(db_path), "--batch-size", "20"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not any(r.fault == "hold" for r in server.requests()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached its third batch"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert scalar(db_path, "PRAGMA integrity_check") == "ok"
    assert _articles(db_path) == 40  # two whole batches, nothing of the third
    assert query(db_path, "SELECT status, watermark FROM runs") == [("running", None)]
    server.clear_faults()
    result = run(server, db_path)
    assert result.ok and (result.counts.new, result.counts.unchanged) == (60, 40)
    assert_complete(db_path, server)
    assert query(db_path, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("success",)]
    sqlite3.connect(db_path).execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")


def test_a_second_run_waits_for_the_first_then_gives_a_clear_message(server, db_path, run_cli, cli_env):
    server.add(50)
    server.fault("hold", "efetch", after=1, seconds=60)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", run(server, db_path)))
    first.start()
    deadline = time.monotonic() + 30
    while not any(r.fault == "hold" for r in server.requests()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # readers keep working while the first run holds the lock
    reader = store.connect(db_path, readonly=True)
    assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 20
    reader.close()
    t0 = time.monotonic()
    refused = run_cli("ingest", "pubmed", "--lock-timeout", "0.5")
    assert time.monotonic() - t0 >= 0.5
    assert refused.exit_code == 1
    assert f"another ingestion (pid {os.getpid()}) is writing to {db_path}; waited 0.5 s" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    patient = threading.Thread(target=lambda: results.setdefault("patient", run(server, db_path, lock_timeout=30)))
    patient.start()
    time.sleep(0.3)
    server.clear_faults()  # the first run goes on, ends, and the patient one gets the lock
    first.join(30)
    patient.join(30)
    assert results["first"].ok and results["patient"].ok
    assert results["patient"].run_id == results["first"].run_id + 1
    assert results["patient"].mode == "incremental"
    assert_complete(db_path, server)


def test_on_a_terminal_the_command_shows_a_progress_bar(server, db_path):
    import pty

    server.add(45)
    env = {**os.environ, "NCBI_EUTILS_URL": server.url, "NCBI_EMAIL": EMAIL, "NCBI_API_KEY": KEY}
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "ingest", "pubmed", "--db", str(db_path), "--batch-size", "20"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=secondary,
    )
    os.close(secondary)
    out, _ = proc.communicate(timeout=60)
    screen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(primary)
    assert proc.returncode == 0
    assert out.decode().startswith("success: full run, announced 45, received 45, new 45")
    assert b"PubMed" in screen and b"45/45" in screen
    assert b"efetch records" not in screen  # step lines are for logs, not for a terminal
