"""PubMed ingestion: the kratom query, incremental runs, date splitting, and integrity checks.

``ingest_pubmed`` brings the records of a query from PubMed (through :mod:`ingest.eutils`)
into the database, and records the run in ``runs``:

1. **Plan.** By default a run asks for the records added or modified (``datetype=mdat``)
   since the *watermark* of the last successful run of the same query, minus a few days of
   overlap; with no such run, or with ``full``, it asks for every record; ``since`` asks
   for the records modified since a date.
2. **Search.** ESearch with the history server (``usehistory=y``) gives the count, the
   PMIDs and a WebEnv/query_key. PubMed's ESearch reaches only the first 10,000 matches
   (https://www.ncbi.nlm.nih.gov/books/NBK25499/#chapter4.ESearch), so a search with
   10,000 or more is split in two date ranges, and again, until every part is below the
   limit; the parts together must list every record the whole search counted.
3. **Fetch and store.** EFetch by WebEnv, query_key, retstart and retmax, in batches
   (default 500), parsed by the project's streaming parser (never ``Entrez.read``). A batch
   must hold exactly the records asked for, each one announced by the search; a truncated or
   short batch is fetched again (bounded tries), then the run fails. Each batch is stored in
   its own transaction, so a run killed midway keeps what it stored and the next run
   completes it (unchanged records cost a hash comparison, no write).
4. **Reconcile.** Every announced PMID must have arrived; the missing ones are fetched by
   id (a POST for long lists); any still missing fail the run.

The watermark advances only when all of that succeeded. A failed run records why, keeps the
previous watermark, and the next run asks again for everything since then.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import sqlite_utils

from . import store
from .errors import ConfigError, EvidenceError
from .eutils import Eutils, EutilsConfig, Retry, SearchResult
from .parse_xml import XMLParseError, iter_xml
from .pipeline import Labeller, RunResult, default_labeller, store_records
from .record import Article

log = logging.getLogger(__name__)

SOURCE = "pubmed"

# The default query: every term, and why it is there. Terms are OR-ed; PubMed's automatic
# term mapping is bypassed by the field tags, so each term means exactly what it says.
QUERY_TERMS: tuple[tuple[str, str], ...] = (
    ("kratom[tiab]", "the plant's common name, in titles and abstracts (most papers use it)"),
    ("ketum[tiab]", "its Malay name, used in papers from Malaysia"),
    ("Mitragyna[tiab]", "the genus, as in 'Mitragyna speciosa', before MeSH indexing reaches a record"),
    ("Mitragyna[MeSH Terms]", "the MeSH heading for the genus (D000069464), for indexed records worded otherwise"),
    ("mitragynine[tiab]", "the main alkaloid, studied on its own in pharmacology and toxicology"),
    ("mitragynine[nm]", "the substance (supplementary concept) indexers attach to records"),
    ("7-hydroxymitragynine[tiab]", "the potent oxidised metabolite, a separate word in PubMed's index"),
    ("speciociliatine[tiab]", "a major diastereomer of mitragynine, studied for its opioid activity"),
    ("speciogynine[tiab]", "another diastereomer, in alkaloid-profile and pharmacokinetic papers"),
    ("paynantheine[tiab]", "the second most abundant leaf alkaloid"),
)
DEFAULT_QUERY = " OR ".join(term for term, _why in QUERY_TERMS)

SEARCH_LIMIT = 10_000  # ESearch lists at most the first 10,000 matches of a query
BATCH_SIZE = 500
MAX_BATCH = 10_000  # EFetch returns at most 10,000 records a request
OVERLAP_DAYS = 3  # mdat dates are US Eastern and indexing runs late: look back a few days
EARLIEST = dt.date(1700, 1, 1)  # older than any PubMed record (OLDMEDLINE starts in 1781)
LATEST_YEARS_AHEAD = 5  # print dates of accepted articles can lie a few years ahead
DATE_FORMAT = "%Y/%m/%d"  # how E-utilities want mindate and maxdate


class PubMedError(EvidenceError):
    """A run could not bring every announced record: the message says what and what to do."""


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Window:
    """What a run asks PubMed for."""

    mode: str  # full, incremental, since
    datetype: str  # the date that splits and filters: pdat (full) or mdat
    mindate: dt.date | None = None
    maxdate: dt.date | None = None
    complete: bool = True  # on success the database holds the query's records as of today
    previous: str | None = None  # the watermark this run started from

    def describe(self) -> str:
        if self.mindate is None:
            return "every record of the query"
        return f"records modified from {_d(self.mindate)} to {_d(self.maxdate)}"


def plan_window(*, full: bool, since: dt.date | None, watermark: str | None, today: dt.date,
                overlap_days: int = OVERLAP_DAYS) -> Window:
    """Full, incremental (from the watermark, with overlap) or since a date.

    A ``since`` run makes the database complete only when it starts no later than the
    watermark; otherwise it keeps the previous watermark (the gap before ``since`` stays
    unfetched, so it must not be claimed).
    """
    tomorrow = today + dt.timedelta(days=1)  # mdat is in US Eastern time, behind UTC
    if full:
        return Window("full", "pdat", previous=watermark)
    if since is not None:
        start = dt.date.fromisoformat(watermark) if watermark else None
        return Window("since", "mdat", since, tomorrow,
                      complete=start is not None and since <= start, previous=watermark)
    if watermark:
        start = dt.date.fromisoformat(watermark) - dt.timedelta(days=overlap_days)
        return Window("incremental", "mdat", start, tomorrow, previous=watermark)
    return Window("full", "pdat")


def _d(day: dt.date | None) -> str | None:
    return day.strftime(DATE_FORMAT) if day else None


# --------------------------------------------------------------------------- search


@dataclass
class Part:
    """A date range of the query whose matches ESearch lists in full."""

    mindate: dt.date | None
    maxdate: dt.date | None
    search: SearchResult

    @property
    def count(self) -> int:
        return self.search.count

    def label(self) -> str:
        if self.mindate is None:
            return "all dates"
        return f"{_d(self.mindate)}-{_d(self.maxdate)}"


def search_parts(client: Eutils, term: str, window: Window, *, limit: int = SEARCH_LIMIT,
                 today: dt.date | None = None) -> tuple[int, list[Part]]:
    """(records the search counts, the parts that list them all), splitting by date."""
    today = today or utc_today()
    listed = limit - 1  # ask for no more than ESearch may list

    def search(lo: dt.date | None, hi: dt.date | None) -> SearchResult:
        dated = {"datetype": window.datetype, "mindate": _d(lo), "maxdate": _d(hi)} if lo else {}
        return client.esearch(term, retmax=listed, **dated)

    def split(lo: dt.date, hi: dt.date, found: SearchResult | None = None) -> list[Part]:
        result = found or search(lo, hi)
        if result.count < limit:
            return [Part(lo, hi, result)] if result.count else []
        if lo >= hi:
            raise PubMedError(
                f"{result.count} records of the query have the {window.datetype} date {_d(lo)}, "
                f"more than the {limit - 1} ESearch can list; narrow the query (--query)"
            )
        middle = lo + (hi - lo) // 2
        return split(lo, middle) + split(middle + dt.timedelta(days=1), hi)

    if window.mindate is None:
        root = search(None, None)
        if root.count < limit:
            return root.count, [Part(None, None, root)] if root.count else []
        latest = dt.date(today.year + LATEST_YEARS_AHEAD, 12, 31)
        log.info("esearch: %d records, more than ESearch lists; splitting by %s", root.count, window.datetype)
        parts = split(EARLIEST, latest)
    else:
        root = search(window.mindate, window.maxdate)
        parts = split(window.mindate, window.maxdate, root)
    listed_ids = {pmid for part in parts for pmid in part.search.ids}
    if len(listed_ids) < root.count:
        raise PubMedError(
            f"the search counts {root.count} records but its date ranges list only "
            f"{len(listed_ids)} (records without a {window.datetype} date in "
            f"{_d(EARLIEST)}-{_d(dt.date(today.year + LATEST_YEARS_AHEAD, 12, 31))}?); "
            "nothing is lost: the watermark stays, and the next run asks again"
        )
    return root.count, parts


# --------------------------------------------------------------------------- fetch


def _check_batch(records: list, asked: int, allowed: set[int] | None) -> None:
    pmids = [r.pmid for r in records if isinstance(r, Article)]
    if len(records) != asked:
        raise Retry(f"asked for {asked} records, the answer holds {len(records)}")
    if len(set(pmids)) != len(pmids):
        raise Retry("the answer holds the same PMID twice")
    if allowed is not None:
        stray = [p for p in pmids if p not in allowed]
        if stray:
            raise Retry(f"the answer holds {len(stray)} records the search did not announce (PMID {stray[0]})")


def fetch_batch(client: Eutils, name: str, asked: int, allowed: set[int] | None,
                **params: Any) -> list:
    """One EFetch, parsed and checked, tried again while cut, short or unreadable."""

    def attempt() -> list:
        body = client.efetch_xml(name, **params)
        try:
            records = list(iter_xml(BytesIO(body), "the answer"))
        except XMLParseError as exc:
            raise Retry(str(exc)) from None
        _check_batch(records, asked, allowed)
        return records

    return client.attempts(name, attempt)


# --------------------------------------------------------------------------- the run


@dataclass
class Progress:
    """What a progress display needs after each step."""

    announced: int
    received: int
    counts: store.Counts


@dataclass
class PubMedRunResult(RunResult):
    announced: int = 0
    received: int = 0
    mode: str = ""
    watermark: str | None = None
    requests: int = 0
    retries: int = 0

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.status}: {self.mode} run, announced {self.announced}, received {self.received}, "
            f"new {c.new}, updated {c.updated}, unchanged {c.unchanged}, failed {c.failed}, "
            f"requests {self.requests} (retries {self.retries}), {self.seconds:.1f} s"
        )


class _Run:
    """The state of one run: what was announced, what arrived, the counts so far."""

    def __init__(self, db: sqlite_utils.Database, client: Eutils, run_id: int, *, batch_size: int,
                 labeller: Labeller | None, progress: Callable[[Progress], None] | None):
        self.db, self.client, self.run_id = db, client, run_id
        self.batch_size, self.labeller, self.progress = batch_size, labeller, progress
        self.counts = store.Counts()
        self.errors: list[str] = []
        self.announced: set[int] = set()
        self.received: set[int] = set()

    def store(self, records: list, name: str) -> store.Counts:
        record_errors: list[str] = []
        with self.db.atomic():
            counts = store_records(self.db, records, self.run_id, where=name,
                                   labeller=self.labeller, errors=record_errors)
        self.errors.extend(record_errors)
        self.counts.add(counts)
        self.received.update(r.pmid for r in records if isinstance(r, Article))
        if self.progress:
            self.progress(Progress(len(self.announced), len(self.received & self.announced), self.counts))
        return counts

    def fetch_part(self, part: Part) -> None:
        ids = set(part.search.ids)
        total = len(self.announced)
        for start in range(0, part.count, self.batch_size):
            asked = min(self.batch_size, part.count - start)
            name = f"efetch records {start + 1}-{start + asked} of {part.count} ({part.label()})"
            if part.search.webenv and part.search.query_key:
                where = {"WebEnv": part.search.webenv, "query_key": part.search.query_key,
                         "retstart": start, "retmax": asked}
            else:  # a server without the history server: the listed PMIDs (POST when long)
                where = {"id": ",".join(map(str, part.search.ids[start:start + asked]))}
            records = fetch_batch(self.client, name, asked, ids, **where)
            counts = self.store(records, name)
            log.info("%s: new %d, updated %d, unchanged %d; %d of %d received",
                     name, counts.new, counts.updated, counts.unchanged,
                     len(self.received & self.announced), total)

    def reconcile(self) -> None:
        """Fetch by id whatever was announced and has not arrived; fail if any is still missing."""
        missing = sorted(self.announced - self.received)
        if not missing:
            return
        log.warning("efetch: %d announced records did not arrive; fetching them by PMID", len(missing))
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start:start + self.batch_size]
            name = f"efetch by PMID ({len(chunk)} records)"

            def attempt(chunk=chunk, name=name) -> list:
                body = self.client.efetch_xml(name, id=",".join(map(str, chunk)))
                try:
                    return list(iter_xml(BytesIO(body), "the answer"))
                except XMLParseError as exc:
                    if "no records in it" in str(exc):
                        return []
                    raise Retry(str(exc)) from None

            records = self.client.attempts(name, attempt)
            records = [r for r in records if not isinstance(r, Article) or r.pmid in self.announced]
            if records:
                self.store(records, name)
        still = sorted(self.announced - self.received)
        if still:
            shown = ", ".join(map(str, still[:10])) + (", ..." if len(still) > 10 else "")
            raise PubMedError(
                f"{len(still)} of the {len(self.announced)} announced records never arrived "
                f"(PMID {shown}); the watermark stays and the next run asks for them again"
            )


def ingest_pubmed(db_path: str | os.PathLike, *, query: str | None = None, full: bool = False,
                  since: dt.date | None = None, config: EutilsConfig | None = None,
                  batch_size: int = BATCH_SIZE, lock_timeout: float = 60.0,
                  labeller: Labeller | None | str = "default",
                  progress: Callable[[Progress], None] | None = None,
                  search_limit: int = SEARCH_LIMIT, overlap_days: int = OVERLAP_DAYS,
                  client: Eutils | None = None, taxonomy: str | os.PathLike | None = None) -> PubMedRunResult:
    """Bring the records of ``query`` (default: :data:`DEFAULT_QUERY`) from PubMed into the
    database at ``db_path``, and record the run.

    Incremental by default (records modified since the last successful run of the same
    query, minus ``overlap_days``); ``full`` fetches every record, ``since`` those modified
    since a date. Returns the result whatever happened to the records; raises for what stops
    a run from starting (ConfigError: e.g. NCBI_EMAIL missing; LockTimeout: another
    ingestion is writing; StoreError: the database cannot be used).
    """
    if full and since is not None:
        raise ConfigError("choose either a full run or --since, not both")
    if since is not None and since > utc_today():
        raise ConfigError(f"--since {since.isoformat()} lies in the future")
    if not 1 <= batch_size <= MAX_BATCH:
        raise ConfigError(f"the batch size must be between 1 and {MAX_BATCH} (EFetch's maximum)")
    term = " ".join((query or DEFAULT_QUERY).split())
    if not term:
        raise ConfigError("the query is empty")
    client = client or Eutils(config or EutilsConfig.from_env())  # checks the config first
    if labeller == "default":
        labeller = default_labeller(taxonomy)
    started = time.monotonic()
    requests_before, retries_before = client.requests, client.retries
    with store.translate_errors(db_path), store.write_lock(db_path, lock_timeout):
        db = store.connect(db_path)
        try:
            store.ensure_db_shape(db)
            today = utc_today()
            previous = store.last_successful_run(db, SOURCE, query=term)
            window = plan_window(full=full, since=since, today=today, overlap_days=overlap_days,
                                 watermark=previous["watermark"] if previous else None)
            options = {
                "mode": window.mode, "datetype": window.datetype, "mindate": _d(window.mindate),
                "maxdate": _d(window.maxdate), "from_watermark": window.previous,
                "batch_size": batch_size, **client.config.describe(),
            }
            run_id = store.begin_run(db, SOURCE, query=term, options=options)
            run = _Run(db, client, run_id, batch_size=batch_size, labeller=labeller, progress=progress)
            result = PubMedRunResult(run_id, "running", run.counts, mode=window.mode)
            log.info("pubmed %s run %d: %s", window.mode, run_id, window.describe())
            try:
                _execute(run, term, window, search_limit, today)
            except KeyboardInterrupt:
                run.errors.append("interrupted (Ctrl-C); the batches stored so far are kept")
                _finish(db, run, result, "interrupted", None)
                raise
            except EvidenceError as exc:
                run.errors.insert(0, client.scrub(str(exc)))
                _finish(db, run, result, "failed", None)
            except BaseException as exc:  # a bug or a database failure: record it, then raise
                run.errors.insert(0, client.scrub(f"unexpected {type(exc).__name__}: {exc}"))
                _finish(db, run, result, "failed", None)
                raise
            else:
                if run.errors:  # records that could not be read: not complete
                    _finish(db, run, result, "failed", None)
                else:
                    watermark = today.isoformat() if window.complete else window.previous
                    _finish(db, run, result, "success", watermark)
            store.ensure_db_shape(db)
        finally:
            db.close()
    result.requests = client.requests - requests_before
    result.retries = client.retries - retries_before
    result.seconds = time.monotonic() - started
    return result


def _execute(run: _Run, term: str, window: Window, limit: int, today: dt.date) -> None:
    count, parts = search_parts(run.client, term, window, limit=limit, today=today)
    for part in parts:
        run.announced.update(part.search.ids)
    log.info("esearch: %d records in %d part(s)%s", count, len(parts),
             "" if len(parts) < 2 else ": " + ", ".join(f"{p.label()} ({p.count})" for p in parts))
    if run.progress:
        run.progress(Progress(len(run.announced), 0, run.counts))
    for part in parts:
        run.fetch_part(part)
    run.reconcile()


def _finish(db: sqlite_utils.Database, run: _Run, result: PubMedRunResult, status: str,
            watermark: str | None) -> None:
    result.status = status
    result.errors = run.errors
    result.announced = len(run.announced)
    result.received = len(run.received & run.announced)
    result.watermark = watermark
    error = "\n".join(run.errors) or None
    if status != "success" and error:
        error += (f"\nannounced {result.announced}, received {result.received}; "
                  "the watermark was not advanced")
    store.finish_run(db, run.run_id, status, run.counts, error=error, watermark=watermark)
