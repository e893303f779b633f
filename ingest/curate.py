"""Curation: a researcher's overrides of a record's design and topics, with who, when and why.

Overrides live in their own table (``curations``), which ingestion and re-tagging never
touch, so they survive both. Everywhere labels are shown (dashboard, exports, notebooks) the
curated label is the effective one, with the machine's label kept beside it. A team shares
curations as CSV: ``pmid, study_type, add_topics, remove_topics, note, curator, curated_at``.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from . import store
from .errors import EvidenceError
from .taxonomy import DESIGN_CODES

CSV_COLUMNS = ["pmid", "study_type", "add_topics", "remove_topics", "note", "curator", "curated_at"]


class CurationError(EvidenceError):
    """A curation that cannot be applied; the message says which value is wrong."""


def default_curator() -> str:
    return os.environ.get("EVIDENCE_CURATOR") or getpass.getuser()


@dataclass
class Curation:
    pmid: int
    study_type: str | None
    add_topics: list[str]
    remove_topics: list[str]
    note: str | None
    curator: str | None
    curated_at: str | None

    def row(self) -> dict:
        return {"pmid": self.pmid, "study_type": self.study_type,
                "add_topics": json.dumps(sorted(set(self.add_topics))) if self.add_topics else None,
                "remove_topics": json.dumps(sorted(set(self.remove_topics))) if self.remove_topics else None,
                "note": self.note, "curator": self.curator, "curated_at": self.curated_at}


def _validate(pmid: int, design: str | None, topics: list[str], topic_codes: set[str], where: str) -> None:
    if design is not None and design not in DESIGN_CODES:
        raise CurationError(f"{where}: design {design!r} is not one of {', '.join(DESIGN_CODES)}")
    unknown = sorted(set(topics) - topic_codes)
    if unknown:
        raise CurationError(f"{where}: unknown topic code(s) {', '.join(unknown)}")


def get(db: sqlite_utils.Database, pmid: int) -> Curation | None:
    rows = list(db.query("SELECT * FROM curations WHERE pmid = ?", [pmid]))
    if not rows:
        return None
    r = rows[0]
    return Curation(r["pmid"], r["study_type"], json.loads(r["add_topics"] or "[]"),
                    json.loads(r["remove_topics"] or "[]"), r["note"], r["curator"], r["curated_at"])


def set_curation(db: sqlite_utils.Database, pmid: int, *, design: str | None = None,
                 add_topics: list[str] = (), remove_topics: list[str] = (), note: str | None = None,
                 curator: str | None = None, topic_codes: set[str]) -> Curation:
    """Add to (or start) a record's curation. Adding a topic undoes its removal and vice versa."""
    if not db.execute("SELECT 1 FROM articles WHERE pmid = ?", [pmid]).fetchone():
        raise CurationError(f"PMID {pmid} is not in the database; ingest it first")
    _validate(pmid, design, [*add_topics, *remove_topics], topic_codes, f"PMID {pmid}")
    if not (design or add_topics or remove_topics or note):
        raise CurationError("nothing to set: give --design, --add-topic, --remove-topic or --note")
    current = get(db, pmid) or Curation(pmid, None, [], [], None, None, None)
    added = (set(current.add_topics) - set(remove_topics)) | set(add_topics)
    removed = (set(current.remove_topics) - set(add_topics)) | set(remove_topics)
    cur = Curation(pmid, design or current.study_type, sorted(added), sorted(removed),
                   note if note is not None else current.note, curator or default_curator(), store.now())
    with db.atomic():
        db["curations"].upsert(cur.row(), pk="pmid")
    return cur


def clear(db: sqlite_utils.Database, pmid: int) -> bool:
    with db.atomic():
        return db.execute("DELETE FROM curations WHERE pmid = ?", [pmid]).rowcount > 0


def listing(db: sqlite_utils.Database) -> list[dict]:
    """Every curation beside the machine's labels for the record."""
    return list(db.query(
        "SELECT c.pmid, a.title, c.study_type AS curated_design, t.study_type AS machine_design, "
        "c.add_topics, c.remove_topics, c.note, c.curator, c.curated_at FROM curations c "
        "LEFT JOIN articles a ON a.pmid = c.pmid LEFT JOIN article_tags t ON t.pmid = c.pmid ORDER BY c.pmid"))


def to_csv(db: sqlite_utils.Database) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in db.query("SELECT * FROM curations ORDER BY pmid"):
        writer.writerow([r["pmid"], r["study_type"] or "", ";".join(json.loads(r["add_topics"] or "[]")),
                         ";".join(json.loads(r["remove_topics"] or "[]")), r["note"] or "", r["curator"] or "",
                         r["curated_at"] or ""])
    return out.getvalue()


def from_csv(db: sqlite_utils.Database, path: str | Path, topic_codes: set[str]) -> tuple[int, int]:
    """Import curations from CSV, all or nothing. Returns (imported, for PMIDs not in this database).

    Every row is checked before anything is written; a team member's curation replaces the
    local one for the same PMID (the newer ``curated_at`` wins when both have one).
    """
    path = Path(path)
    try:
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    except OSError as exc:
        raise CurationError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if "pmid" not in (reader.fieldnames or []):
        raise CurationError(f"{path}: needs a pmid column (columns: {', '.join(CSV_COLUMNS)})")
    incoming: list[Curation] = []
    for line, row in enumerate(reader, start=2):
        where = f"{path} line {line}"
        pmid = (row.get("pmid") or "").strip()
        if not pmid.isdigit():
            raise CurationError(f"{where}: pmid {pmid!r} is not a number")
        design = (row.get("study_type") or "").strip() or None
        add = [t.strip() for t in (row.get("add_topics") or "").split(";") if t.strip()]
        remove = [t.strip() for t in (row.get("remove_topics") or "").split(";") if t.strip()]
        _validate(int(pmid), design, add + remove, topic_codes, where)
        incoming.append(Curation(int(pmid), design, add, remove, (row.get("note") or "").strip() or None,
                                 (row.get("curator") or "").strip() or default_curator(),
                                 (row.get("curated_at") or "").strip() or store.now()))
    absent = 0
    with db.atomic():
        for cur in incoming:
            existing = get(db, cur.pmid)
            if existing and existing.curated_at and cur.curated_at and existing.curated_at > cur.curated_at:
                continue  # ours is newer
            db["curations"].upsert(cur.row(), pk="pmid")
            absent += not db.execute("SELECT 1 FROM articles WHERE pmid = ?", [cur.pmid]).fetchone()
    return len(incoming), absent
