"""What the dashboard reads: which database, whether it is usable, and cached calls into the query layer.

Plain typed functions, no SQL: every number comes from :mod:`ingest.query` (or the store and
evaluate helpers). Each cached call is keyed by the database path, a token that changes when the
database changes (size and modification time of the file and its write-ahead log, so a new
ingestion shows at once) and the :class:`~ingest.query.Filters`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import sqlite_utils
import streamlit as st

from dashboard import filters
from ingest import export, query, store
from ingest.errors import SchemaError, StoreError
from ingest.query import Filters

Token = tuple[Any, ...]

#: Rows of the browse table per page, and the most rows any drill-down lists at once.
PAGE_SIZE = 50
LIST_CAP = 200
#: Threads for reads that can run side by side (SQLite lets go of the GIL while it reads).
WORKERS = 4
CLAIM_WORKERS = WORKERS

SORT_LABELS = {"year": "Year", "first_seen": "First stored", "pmid": "PMID", "title": "Title",
               "journal": "Journal", "design": "Design (evidence order)", "confidence": "Tagger confidence",
               "sample_size": "Participants"}
DOWNLOADS = {"csv": "CSV", "xlsx": "Excel", "ris": "RIS (Zotero, EndNote)"}


# --------------------------------------------------------------------------- which database


def db_path_from(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Path:
    """``--db PATH`` after ``streamlit run app.py --``, else EVIDENCE_DB, else evidence.db."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(list(argv))
    return Path(known.db or environ.get("EVIDENCE_DB") or store.DEFAULT_DB)


def claims_path_from(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Path | None:
    """``--claims FILE`` after ``streamlit run app.py --``, else EVIDENCE_CLAIMS, else None (built in)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--claims")
    known, _ = parser.parse_known_args(list(argv))
    found = known.claims or environ.get("EVIDENCE_CLAIMS")
    return Path(found) if found else None


def state_token(path: Path) -> Token:
    """Changes whenever the database does: (size, mtime) of the file and of its WAL."""
    parts: list[Any] = []
    for p in (path, Path(f"{path}-wal")):
        try:
            s = p.stat()
            parts.append((s.st_ino, s.st_size, s.st_mtime_ns))
        except OSError:
            parts.append(None)
    return tuple(parts)


@dataclass(frozen=True)
class Status:
    """Whether the database can be shown: ``ok``, ``missing``, ``older`` or ``unusable``."""

    state: str
    message: str = ""


@contextlib.contextmanager
def opened(path: str | Path) -> Iterator[sqlite_utils.Database]:
    db = store.connect(path, readonly=True)
    try:
        yield db
    finally:
        db.close()


def check(path: Path) -> Status:
    """Can the dashboard read this database? Never raises; the message says what to do."""
    if not path.exists():
        return Status("missing", f"There is no database at `{path}` yet.")
    try:
        with opened(path) as db, store.translate_errors(path):
            store.check_schema(db, path)
    except SchemaError as exc:
        state = "older" if "older schema" in str(exc) else "unusable"
        return Status(state, str(exc))
    except StoreError as exc:
        return Status("unusable", str(exc))
    return Status("ok")


# --------------------------------------------------------------------------- cached reads


def _cached(func):
    return st.cache_data(show_spinner=False, max_entries=64)(func)


def parallel(path: str, calls: dict[str, Callable[[sqlite_utils.Database], Any]],
             workers: int | None = None) -> dict[str, Any]:
    """Run independent reads at once, each on its own read-only connection.

    SQLite lets go of the GIL while it works, so a page's queries overlap instead of queueing
    (on 100,000 records the overview's four reads take about half as long).
    """
    def run(call: Callable[[sqlite_utils.Database], Any]) -> Any:
        with opened(path) as db:
            return call(db)

    if len(calls) == 1:
        return {name: run(call) for name, call in calls.items()}
    with ThreadPoolExecutor(max_workers=min(len(calls), workers or WORKERS)) as pool:
        futures = {name: pool.submit(run, call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


@_cached
def database_facts(path: str, token: Token) -> dict[str, Any]:
    """What the app needs before any page: totals, the filters' choices, whether it is the demo."""
    return parallel(path, {"totals": query.totals, "options": query.filter_options,
                           "synthetic": query.is_synthetic_demo})


@_cached
def overview_page(path: str, token: Token, f: Filters) -> dict[str, Any]:
    """The overview's numbers and charts' data, read at once."""
    return parallel(path, {
        "overview": lambda db: query.overview(db, f),
        "designs": lambda db: query.design_counts(db, f),
        "years": lambda db: query.year_design_counts(db, f),
        "topics": lambda db: query.topic_design_counts(db, f),
    })


@_cached
def evidence_map(path: str, token: Token, f: Filters) -> pd.DataFrame:
    with opened(path) as db:
        return query.evidence_map(db, f)


@_cached
def topic_summaries(path: str, token: Token, f: Filters) -> pd.DataFrame:
    with opened(path) as db:
        return query.topic_summaries(db, f, emap=evidence_map(path, token, f))


def claim_profiles(path: str, token: Token, f: Filters) -> pd.DataFrame:
    """Every claim's evidence profile, the claims read side by side (raises EvidenceError when
    the claims file given cannot be read)."""
    return _claim_profiles(path, token, f, claims_path_from(sys.argv[1:]))


@_cached
def _claim_profiles(path: str, token: Token, f: Filters, claims_file: Path | None) -> pd.DataFrame:
    claims = _load_claims(claims_file)
    matches = _claim_matches(path, token, claims_file)
    found = parallel(path, {c.id: (lambda db, c=c: query.claim_profiles(db, f, claims=[c], matches=matches))
                            for c in claims}, workers=CLAIM_WORKERS)
    return pd.concat([found[c.id] for c in claims], ignore_index=True) if claims else pd.DataFrame()


@_cached
def count_records(path: str, token: Token, f: Filters) -> int:
    with opened(path) as db:
        return query.count_records(db, f)


@_cached
def records(path: str, token: Token, f: Filters, sort: str = "year", descending: bool = True,
            limit: int | None = PAGE_SIZE, offset: int = 0) -> pd.DataFrame:
    with opened(path) as db:
        return query.records(db, f, sort=sort, descending=descending, limit=limit, offset=offset)


@_cached
def browse_page(path: str, token: Token, f: Filters, sort: str, descending: bool, page: int
                ) -> tuple[int, pd.DataFrame]:
    """How many records match, and one page of them, read side by side."""
    found = parallel(path, {
        "n": lambda db: query.count_records(db, f),
        "rows": lambda db: query.records(db, f, sort=sort, descending=descending, limit=PAGE_SIZE,
                                         offset=(page - 1) * PAGE_SIZE),
    })
    return found["n"], found["rows"]


@_cached
def record_detail(path: str, token: Token, pmid: int) -> dict[str, Any] | None:
    with opened(path) as db:
        return query.record_detail(db, pmid)


@_cached
def runs(path: str, token: Token, limit: int = 50) -> list[dict]:
    with opened(path) as db:
        return query.runs(db, limit)


@_cached
def least_confident(path: str, token: Token, f: Filters, n: int = 25) -> pd.DataFrame:
    with opened(path) as db:
        return query.least_confident(db, f, n)


@_cached
def pubmed_agreement(path: str, token: Token, f: Filters) -> dict[str, Any]:
    with opened(path) as db:
        return agreement_summary(query.medline_labels(db, f))


def claim(claim_id: str) -> query.Claim | None:
    """A claim of the claims file in use, by id."""
    return next((c for c in _claims() if c.id == claim_id), None)


def _claims() -> list[query.Claim]:
    """The claims file given with ``--claims`` (or EVIDENCE_CLAIMS), else the built-in one."""
    return _load_claims(claims_path_from(sys.argv[1:]))


@st.cache_resource(show_spinner=False)
def _load_claims(path: Path | None) -> list[query.Claim]:
    return query.load_claims(path)


@_cached
def _claim_matches(path: str, token: Token, claims_file: Path | None) -> query.ClaimMatches:
    """The claims' phrase matches and the corrected records: the abstracts read once per database state."""
    with opened(path) as db:
        return query.claim_matches(db, _load_claims(claims_file))


@_cached
def claim_filters(path: str, token: Token, claim_id: str, f: Filters) -> Filters | None:
    """Filters that select exactly a claim's records within ``f`` (None: it has none)."""
    found = claim(claim_id)
    if found is None:
        return None
    if not f.topics and not found.phrases and not found.require_all:
        return f.with_(topics=found.topics)  # the same records, and a short query
    with opened(path) as db:
        matches = _claim_matches(path, token, claims_path_from(sys.argv[1:]))
        pmids = tuple(int(p) for p in query.claim_records(db, found, f, matches=matches)["pmid"])
    if not pmids:
        return None
    return f.with_(pmids=pmids[:filters.MAX_PMIDS])


def export_key(path: str, token: Token, f: Filters | None) -> tuple:
    """What a prepared download was built from; a new filter or ingestion makes it stale."""
    return (path, token, f)


def media_type(fmt: str) -> str:
    return export.MEDIA_TYPES[fmt]


def export_file(path: str, f: Filters, fmt: str) -> bytes:
    """The current filtered table as a file (csv, xlsx...), built only when a reader asks."""
    with opened(path) as db:
        return export.export_bytes(query.export_rows(db, f), fmt)


def text_only_agreement(path: str):
    """Re-tag the MEDLINE records with the text-only tagger and compare (slow: about 3 ms a record)."""
    from ingest.evaluate import agreement

    with opened(path) as db:
        return agreement(db)


# --------------------------------------------------------------------------- plain logic


def pubmed_label(publication_types: list[str]) -> str | None:
    """The design PubMed's own publication types name, as ``ingest.evaluate`` reads them."""
    from ingest.evaluate import pubmed_design

    # pubmed_design reads only .publication_types; no need to rebuild a whole Article.
    return pubmed_design(SimpleNamespace(publication_types=publication_types))  # type: ignore[arg-type]


def agreement_summary(labels: pd.DataFrame, examples: int = 50) -> dict[str, Any]:
    """How often the stored design agrees with PubMed's label, on records where PubMed names one.

    ``labels`` is :func:`ingest.query.medline_labels`. Returns counts, the rate by indexing
    method, a confusion table (PubMed's label by tagged design) and the first disagreements.
    """
    cache: dict[tuple[str, ...], str | None] = {}
    theirs = []
    for types in labels["publication_types"]:
        key = tuple(types)
        if key not in cache:
            cache[key] = pubmed_label(list(key))
        theirs.append(cache[key])
    df = labels.assign(pubmed=theirs)
    comparable = df[df["pubmed"].notna() & df["machine_study_type"].notna()].copy()
    comparable["agree"] = comparable["pubmed"] == comparable["machine_study_type"]
    comparable["method"] = comparable["indexing_method"].fillna("Curated (before 2022, or unstated)")
    by_method = (comparable.groupby("method")["agree"].agg(["sum", "count"])
                 .rename(columns={"sum": "agree", "count": "records"}).reset_index())
    confusion = (comparable.groupby(["pubmed", "machine_study_type"]).size()
                 .rename("records").reset_index())
    wrong = comparable[~comparable["agree"]]
    return {
        "medline": len(labels),
        "comparable": len(comparable),
        "agree": int(comparable["agree"].sum()),
        "by_method": by_method,
        "confusion": confusion,
        "disagreements": wrong.head(examples)[["pmid", "title", "pubmed", "machine_study_type",
                                                "study_type_confidence"]].reset_index(drop=True),
        "disagreement_count": len(wrong),
    }


def json_list(value: str | None) -> list[str]:
    import json

    try:
        items = json.loads(value) if value else []
    except ValueError:
        return [value] if value else []
    return [str(i) for i in items] if isinstance(items, list) else [str(items)]


def db_stats_line(path: Path) -> str:
    size = path.stat().st_size + (Path(f"{path}-wal").stat().st_size if Path(f"{path}-wal").exists() else 0)
    return f"`{path}` · {size / 1e6:,.1f} MB"
