"""The evidence store: one SQLite database (``evidence.db`` by default), built with sqlite-utils.

Tables a researcher finds in any SQLite client or Datasette:

- ``articles``: one row per PMID; multi-valued fields (authors, publication_types, mesh,
  keywords, languages, abstract_sections, comments_corrections, notes) are JSON arrays;
  ``first_seen`` is kept when a record changes, ``content_hash`` tells whether it did.
- ``articles_fts``: FTS5 over title, abstract and keywords, kept in sync by triggers.
- ``runs``: every ingestion (source, query or files, start, end, status, error, counts).
- ``deletions``: PMIDs that PubMed withdrew (DeleteCitation), with the run that saw them.
- ``meta``: facts about the database itself (for example that it holds the synthetic demo).
- views for the common joins: ``article_publication_types``, ``article_mesh``,
  ``article_authors``, ``article_keywords`` (one row per value).

Schema changes are sqlite-utils migrations; :func:`ensure_db_shape` applies them and
(re)creates FTS, views and indexes, and every write path ends with it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import __version__
from .errors import LockTimeout, SchemaError, StoreError
from .record import Article

DEFAULT_DB = "evidence.db"
BUSY_TIMEOUT_MS = 5_000
BATCH = 500

migrations = Migrations("kratom-evidence")

# Columns of ``articles`` that come from the record, in a fixed order (the hash reads them).
RECORD_COLUMNS: tuple[str, ...] = (
    "pmid", "title", "vernacular_title", "abstract", "abstract_sections", "journal",
    "journal_iso", "issn", "volume", "issue", "pages", "pub_year", "pub_date", "pub_date_raw",
    "authors", "languages", "publication_types", "mesh", "keywords", "doi", "pmcid",
    "citation_status", "indexing_method", "comments_corrections", "notes", "is_book",
    "is_retracted", "has_abstract", "date_revised",
)
JSON_COLUMNS = frozenset({
    "abstract_sections", "authors", "languages", "publication_types", "mesh", "keywords",
    "comments_corrections", "notes",
})


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _dumps(value: Any) -> str:
    """Compact JSON with sorted keys: the same content always gives the same text (and hash)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --------------------------------------------------------------------------- migrations


@migrations(name="m001_initial")
def _m001_initial(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "pmid": int, "title": str, "vernacular_title": str, "abstract": str,
            "abstract_sections": str, "journal": str, "journal_iso": str, "issn": str,
            "volume": str, "issue": str, "pages": str, "pub_year": int, "pub_date": str,
            "pub_date_raw": str, "authors": str, "languages": str, "publication_types": str,
            "mesh": str, "keywords": str, "doi": str, "pmcid": str, "citation_status": str,
            "indexing_method": str, "comments_corrections": str, "notes": str, "is_book": int,
            "is_retracted": int, "has_abstract": int, "date_revised": str, "deleted": int,
            "content_hash": str, "first_seen": str, "last_changed": str,
            "first_run_id": int, "last_run_id": int,
        },
        pk="pmid",
        not_null={"title", "content_hash", "first_seen"},
        defaults={"deleted": 0, "is_book": 0, "is_retracted": 0, "has_abstract": 0},
    )
    db["runs"].create(
        {
            "id": int, "source": str, "query": str, "files": str, "options": str,
            "started_at": str, "finished_at": str, "status": str, "error": str,
            "found": int, "new": int, "updated": int, "unchanged": int, "deleted": int,
            "failed": int, "watermark": str, "tool_version": str, "pid": int,
        },
        pk="id",
        defaults={"found": 0, "new": 0, "updated": 0, "unchanged": 0, "deleted": 0, "failed": 0},
    )
    db["deletions"].create({"pmid": int, "run_id": int, "deleted_at": str}, pk="pmid")
    db["meta"].create({"key": str, "value": str}, pk="key")


@migrations(name="m002_labels")
def _m002_labels(db: sqlite_utils.Database) -> None:
    """The taggers' output: one row per article in article_tags, its topics in article_topics."""
    db["article_tags"].create(
        {
            "pmid": int, "study_type": str, "study_type_confidence": float,
            "study_type_evidence": str, "sample_size": int, "sample_size_phrase": str,
            "tagger_version": str, "tagged_at": str,
        },
        pk="pmid",
    )
    db["article_topics"].create(
        {"pmid": int, "topic": str, "score": float, "evidence": str}, pk=("pmid", "topic"),
    )


@migrations(name="m003_curations")
def _m003_curations(db: sqlite_utils.Database) -> None:
    """A researcher's overrides: a design and topics to add or remove, with who, when and why."""
    db["curations"].create(
        {
            "pmid": int, "study_type": str, "add_topics": str, "remove_topics": str,
            "note": str, "curator": str, "curated_at": str,
        },
        pk="pmid",
    )


@migrations(name="m004_source_hash")
def _m004_source_hash(db: sqlite_utils.Database) -> None:
    """A digest of each record's bytes as read, so that an unchanged file re-reads unparsed."""
    db["articles"].add_column("source_hash", str)


def _known_migrations() -> list[str]:
    return [m.name for m in migrations._migrations]


SCHEMA_VERSION = len(_known_migrations())


# --------------------------------------------------------------------------- connections


def resolve_db_path(path: str | os.PathLike | None) -> Path:
    return Path(path or os.environ.get("EVIDENCE_DB") or DEFAULT_DB)


def connect(path: str | os.PathLike, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open the database; read-only connections never create or change anything."""
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise StoreError(
                    f"no database at {path}: create one with 'kratom-evidence ingest' "
                    "or 'kratom-evidence demo'"
                )
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            if path.exists() and path.is_dir():
                raise StoreError(f"{path} is a folder, not a database file")
            conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable SQLite database ({exc})") from exc
    db = sqlite_utils.Database(conn, execute_plugins=False)
    return db


@contextlib.contextmanager
def translate_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn SQLite's errors into one-line messages that name the database."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StoreError(
                f"{path} is locked by another program (a client holding a write transaction?); "
                "nothing was changed, try again when it has finished"
            ) from exc
        if "readonly" in text or "read-only" in text:
            raise StoreError(f"{path} cannot be written ({text})") from exc
        if "disk" in text and "full" in text:
            raise StoreError(f"{path}: the disk is full; nothing of this batch was stored") from exc
        raise StoreError(f"{path}: database error ({text})") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable SQLite database ({exc})") from exc


def schema_state(db: sqlite_utils.Database) -> tuple[int, list[str]]:
    """(applied known migrations, unknown applied migrations) for this database."""
    applied = [m.name for m in migrations.applied(db)]
    known = _known_migrations()
    return len([m for m in known if m in applied]), [m for m in applied if m not in known]


def check_schema(db: sqlite_utils.Database, path: str | os.PathLike) -> None:
    """Raise SchemaError unless the database has exactly this version's schema."""
    if not db["articles"].exists():
        raise SchemaError(
            f"{path} is not a kratom-evidence database (no articles table); "
            "create one with 'kratom-evidence ingest' or 'kratom-evidence demo'"
        )
    version, unknown = schema_state(db)
    if unknown:
        raise SchemaError(
            f"{path} was written by a newer kratom-evidence (schema steps {', '.join(unknown)}); "
            "upgrade the tool"
        )
    if version < SCHEMA_VERSION:
        raise SchemaError(
            f"{path} has an older schema (version {version}, this tool needs {SCHEMA_VERSION}); "
            f"run 'kratom-evidence migrate --db {path}' to upgrade it"
        )


# --------------------------------------------------------------------------- shape

VIEWS = {
    "article_publication_types": """
        SELECT a.pmid, j.value AS publication_type
        FROM articles a, json_each(a.publication_types) j
        WHERE a.deleted = 0""",
    "article_mesh": """
        SELECT a.pmid, json_extract(j.value, '$.descriptor') AS descriptor,
               json_extract(j.value, '$.major') AS major_topic,
               (SELECT group_concat(json_extract(q.value, '$.name'), '/')
                  FROM json_each(json_extract(j.value, '$.qualifiers')) q) AS qualifiers
        FROM articles a, json_each(a.mesh) j
        WHERE a.deleted = 0""",
    "article_authors": """
        SELECT a.pmid, j.key + 1 AS position,
               coalesce(json_extract(j.value, '$.collective'),
                        trim(coalesce(json_extract(j.value, '$.last'), '') || ' ' ||
                             coalesce(json_extract(j.value, '$.initials'), ''))) AS author,
               json_extract(j.value, '$.last') AS last_name,
               json_extract(j.value, '$.fore') AS fore_name,
               json_extract(j.value, '$.collective') AS collective_name,
               json_extract(j.value, '$.affiliations[0]') AS affiliation
        FROM articles a, json_each(a.authors) j
        WHERE a.deleted = 0""",
    "article_keywords": """
        SELECT a.pmid, j.value AS keyword
        FROM articles a, json_each(a.keywords) j
        WHERE a.deleted = 0""",
    # The topics that count: the tagger's, less those a curator removed, plus those one added.
    "effective_topics": """
        SELECT t.pmid, t.topic, 'machine' AS source, t.score, t.evidence
        FROM article_topics t LEFT JOIN curations c ON c.pmid = t.pmid
        WHERE c.pmid IS NULL OR c.remove_topics IS NULL
           OR NOT EXISTS (SELECT 1 FROM json_each(c.remove_topics) r WHERE r.value = t.topic)
        UNION ALL
        SELECT c.pmid, j.value AS topic, 'curator' AS source, NULL AS score,
               'added by ' || coalesce(c.curator, 'a curator') || coalesce(': ' || c.note, '') AS evidence
        FROM curations c, json_each(coalesce(c.add_topics, '[]')) j
        WHERE NOT EXISTS (SELECT 1 FROM article_topics t WHERE t.pmid = c.pmid AND t.topic = j.value)""",
    # One row per article with its effective labels: what the dashboard, exports and notebooks show.
    "evidence": """
        SELECT a.pmid, a.title, a.pub_year, a.pub_date, a.journal, a.journal_iso, a.volume, a.issue,
               a.pages, a.doi, a.pmcid, a.languages, a.citation_status, a.is_retracted,
               a.has_abstract, a.is_book,
               coalesce(c.study_type, t.study_type) AS study_type,
               t.study_type AS machine_study_type, t.study_type_confidence, t.study_type_evidence,
               t.sample_size, t.sample_size_phrase, t.tagger_version,
               (SELECT json_group_array(topic) FROM (SELECT DISTINCT e.topic FROM effective_topics e
                  WHERE e.pmid = a.pmid ORDER BY e.topic)) AS topics,
               c.pmid IS NOT NULL AS curated, c.note AS curation_note, c.curator, c.curated_at,
               a.first_seen, a.first_run_id, a.last_changed
        FROM articles a INDEXED BY idx_articles_facets
        LEFT JOIN article_tags t ON t.pmid = a.pmid
        LEFT JOIN curations c ON c.pmid = a.pmid
        WHERE a.deleted = 0""",
}
INDEXES = [
    ("article_tags", ["study_type"]),
    ("article_topics", ["topic", "pmid"]),
    ("articles", ["citation_status"]),
    ("articles", ["last_run_id"]),
    ("articles", ["first_run_id"]),
    ("runs", ["status"]),
]
#: Every narrow column the filters and counts read, keyed by pmid: a count over 100,000 records
#: reads this index (about 10 MB) in pmid order instead of every row of the wide articles table
#: (hundreds of MB with the abstracts), and its joins to article_tags and curations go in pmid
#: order too. The evidence view names it (INDEXED BY): SQLite's planner otherwise prefers the
#: table's own rowid lookups. It replaces the single-column pub_year and journal indexes, which
#: the planner chose for GROUP BY year and then read the wide rows in year order.
FACETS_INDEX = "idx_articles_facets"
FACETS_INDEX_COLUMNS = ["pmid", "deleted", "is_retracted", "pub_year", "has_abstract", "first_run_id",
                        "citation_status", "journal", "languages", "first_seen"]
OBSOLETE_INDEXES = ["idx_articles_pub_year", "idx_articles_journal"]
FTS_COLUMNS = ["title", "abstract", "keywords"]
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


def ensure_db_shape(db: sqlite_utils.Database) -> None:
    """Bring any database (new, older, half-built) to this version's shape. Idempotent."""
    if db.journal_mode != "wal":
        db.enable_wal()
    migrations.apply(db)
    with db.atomic():
        if not db["articles_fts"].exists():
            db["articles"].enable_fts(FTS_COLUMNS, create_triggers=True, tokenize=FTS_TOKENIZE)
        for name in OBSOLETE_INDEXES:
            db.execute(f'DROP INDEX IF EXISTS "{name}"')
        existing = {(t, tuple(ix.columns)) for t in {t for t, _ in INDEXES} for ix in db[t].indexes}
        for table, columns in INDEXES:
            if (table, tuple(columns)) not in existing:
                db[table].create_index(columns, if_not_exists=True)
        db["articles"].create_index(FACETS_INDEX_COLUMNS, index_name=FACETS_INDEX, if_not_exists=True)
        for name, sql in VIEWS.items():  # after the indexes: the evidence view names one
            db.create_view(name, " ".join(sql.split()), replace=True)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db["meta"].upsert({"key": key, "value": value}, pk="key")


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    if not db["meta"].exists():
        return None
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- the write lock


#: Descriptors of the write locks this process holds (a forked worker closes its copies).
_HELD_LOCKS: set[int] = set()


def close_inherited_locks() -> None:
    """In a forked child: drop the copies of the parent's lock descriptors. An flock lasts
    while any copy is open, so the parent keeps its lock, and a parent killed outright leaves
    no lock behind in its children."""
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
        _HELD_LOCKS.discard(fd)


@contextlib.contextmanager
def write_lock(db_path: str | os.PathLike, timeout: float = 60.0) -> Iterator[None]:
    """Hold ``<db>.lock`` while writing, so that two ingestions never write at once.

    Readers (the dashboard, exports) do not take it; WAL lets them read during a run. The
    lock is an ``flock``, released by the kernel when the process ends, even on SIGKILL.
    """
    lock_path = Path(f"{db_path}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {lock_path} ({exc.strerror})") from exc
    deadline = time.monotonic() + max(timeout, 0)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise LockTimeout(
                        f"another ingestion (pid {holder}) is writing to {db_path}; "
                        f"waited {timeout:g} s for it (raise --lock-timeout to wait longer)"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD_LOCKS.add(fd)
        yield
    finally:
        _HELD_LOCKS.discard(fd)
        os.close(fd)  # closing the descriptor releases the flock


# --------------------------------------------------------------------------- runs


@dataclass
class Counts:
    found: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0

    def add(self, other: "Counts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def begin_run(db: sqlite_utils.Database, source: str, *, query: str | None = None,
              files: list[str] | None = None, options: dict | None = None) -> int:
    """Record a run as 'running' (committed at once, so readers see it)."""
    with db.atomic():
        db.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = coalesce(finished_at, ?), "
            "error = coalesce(error, 'the process ended before the run finished') "
            "WHERE status = 'running'",
            [now()],
        )  # only one writer holds the lock, so any 'running' run is a dead one
        table = db["runs"]
        table.insert({
            "source": source, "query": query,
            "files": _dumps(files) if files is not None else None,
            "options": _dumps(options) if options else None,
            "started_at": now(), "status": "running", "tool_version": __version__,
            "pid": os.getpid(),
        })
        return table.last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, status: str, counts: Counts,
               error: str | None = None, watermark: str | None = None) -> None:
    with db.atomic():
        db["runs"].update(run_id, {
            "status": status, "finished_at": now(), "error": error, "watermark": watermark,
            **counts.as_dict(),
        })


def last_successful_run(db: sqlite_utils.Database, source: str | None = None,
                        query: str | None = None) -> dict | None:
    sql = "SELECT * FROM runs WHERE status = 'success'"
    params: list[Any] = []
    if source:
        sql += " AND source = ?"
        params.append(source)
    if query is not None:
        sql += " AND query = ?"
        params.append(query)
    rows = list(db.query(sql + " ORDER BY id DESC LIMIT 1", params))
    return rows[0] if rows else None


# --------------------------------------------------------------------------- articles


def article_row(article: Article) -> dict[str, Any]:
    """The record's columns (JSON for lists) plus its content hash."""
    values = []
    row: dict[str, Any] = {}
    for name in RECORD_COLUMNS:
        if name == "is_retracted":
            value: Any = int(article.is_retracted)
        elif name == "has_abstract":
            value = int(article.has_abstract)
        else:
            value = getattr(article, name)
            if name in JSON_COLUMNS:
                value = _dumps(value)
            elif name == "is_book":
                value = int(value)
        row[name] = value
        values.append(value)
    row["content_hash"] = hashlib.blake2b(
        _dumps(values).encode("utf-8"), digest_size=16
    ).hexdigest()
    return row


def article_from_values(values: tuple | list, columns: tuple[str, ...] = RECORD_COLUMNS) -> Article:
    """Rebuild the record from a row of ``columns`` (JSON lists parsed back): RECORD_COLUMNS, or
    some of them (retag reads only what the taggers use), the others left empty."""
    data = dict(zip(columns, values))
    for name in JSON_COLUMNS.intersection(data):
        data[name] = json.loads(data[name]) if data[name] else []
    if "is_book" in data:
        data["is_book"] = bool(data["is_book"])
    data.pop("is_retracted", None)  # derived from the record, not stored on it
    data.pop("has_abstract", None)
    return Article(**data)


def load_articles(db: sqlite_utils.Database, pmids: Iterable[int] | None = None) -> Iterator[Article]:
    """Stored records (all, or the given PMIDs), as Article objects."""
    columns = ", ".join(RECORD_COLUMNS)
    if pmids is None:
        for row in db.execute(f"SELECT {columns} FROM articles ORDER BY pmid"):
            yield article_from_values(row)
        return
    pmids = list(pmids)
    for start in range(0, len(pmids), 900):
        chunk = pmids[start:start + 900]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT {columns} FROM articles WHERE pmid IN ({marks}) ORDER BY pmid", chunk):
            yield article_from_values(row)


@dataclass
class SaveResult:
    counts: Counts = field(default_factory=Counts)
    changed: list[Article] = field(default_factory=list)  # new or updated, for the taggers


_INSERT_SQL = (
    f"INSERT INTO articles ({', '.join(RECORD_COLUMNS)}, content_hash, source_hash, deleted, first_seen, "
    f"last_changed, first_run_id, last_run_id) VALUES ({', '.join('?' * len(RECORD_COLUMNS))}, "
    "?, ?, 0, ?, ?, ?, ?)"
)
_UPDATE_SQL = (
    "UPDATE articles SET "
    + ", ".join(f"{c} = ?" for c in RECORD_COLUMNS if c != "pmid")
    + ", content_hash = ?, source_hash = ?, deleted = 0, last_changed = ?, last_run_id = ? WHERE pmid = ?"
)


def source_seen(db: sqlite_utils.Database):
    """For the parser: is this PMID stored, not withdrawn, with exactly these bytes?"""
    def seen(pmid: int, digest: str) -> bool:
        return db.execute("SELECT 1 FROM articles WHERE pmid = ? AND source_hash = ? AND deleted = 0",
                          [pmid, digest]).fetchone() is not None
    return seen


def save_articles(db: sqlite_utils.Database, articles: Iterable[Article], run_id: int) -> SaveResult:
    """Insert new records, update changed ones, leave unchanged ones untouched.

    Call inside a transaction. A record whose content hash equals the stored one costs a
    lookup and no write; a changed record keeps its ``first_seen``.
    """
    result = SaveResult()
    by_pmid: dict[int, Article] = {}
    for article in articles:
        result.counts.found += 1
        by_pmid[article.pmid] = article  # a PMID twice in one batch: the later wins
    if not by_pmid:
        return result
    pmids = list(by_pmid)
    stored: dict[int, tuple[str, int]] = {}
    for start in range(0, len(pmids), 900):
        chunk = pmids[start:start + 900]
        marks = ",".join("?" * len(chunk))
        for pmid, digest, deleted in db.execute(
            f"SELECT pmid, content_hash, deleted FROM articles WHERE pmid IN ({marks})", chunk
        ):
            stored[pmid] = (digest, deleted)
    stamp = now()
    inserts, updates, revived = [], [], []
    for pmid, article in by_pmid.items():
        row = article_row(article)
        values = [row[c] for c in RECORD_COLUMNS]
        previous = stored.get(pmid)
        if previous is None:
            inserts.append(values + [row["content_hash"], article.source_hash, stamp, stamp, run_id, run_id])
            result.counts.new += 1
            result.changed.append(article)
        elif previous[0] != row["content_hash"] or previous[1]:
            updates.append(values[1:] + [row["content_hash"], article.source_hash, stamp, run_id, pmid])
            if previous[1]:
                revived.append((pmid,))  # withdrawn once, sent again: active again
            result.counts.updated += 1
            result.changed.append(article)
        else:
            result.counts.unchanged += 1
    # A PMID repeated within the batch: its earlier copies were superseded, nothing written.
    result.counts.unchanged += result.counts.found - len(by_pmid)
    if inserts:
        db.conn.executemany(_INSERT_SQL, inserts)
    if updates:
        db.conn.executemany(_UPDATE_SQL, updates)
    if revived:
        db.conn.executemany("DELETE FROM deletions WHERE pmid = ?", revived)
    return result


def mark_deleted(db: sqlite_utils.Database, pmids: Iterable[int], run_id: int) -> int:
    """Mark PubMed-withdrawn PMIDs as deleted (kept, never dropped); return how many."""
    pmids = list(dict.fromkeys(pmids))
    if not pmids:
        return 0
    stamp = now()
    db.conn.executemany(
        "INSERT INTO deletions (pmid, run_id, deleted_at) VALUES (?, ?, ?) "
        "ON CONFLICT(pmid) DO UPDATE SET run_id = excluded.run_id, deleted_at = excluded.deleted_at",
        [(p, run_id, stamp) for p in pmids],
    )
    db.conn.executemany(
        "UPDATE articles SET deleted = 1, last_changed = ?, last_run_id = ? WHERE pmid = ? AND deleted = 0",
        [(stamp, run_id, p) for p in pmids],
    )
    return len(pmids)
