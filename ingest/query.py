"""The one query layer: the dashboard, the exports, the notebooks and ``stats`` read through it.

Functions take an open database (read-only is enough) and return plain Python values or
pandas DataFrames. No other module writes SELECTs over the evidence tables.
"""

from __future__ import annotations

import sqlite_utils

from .store import get_meta


def counts_by_year(db: sqlite_utils.Database) -> list[tuple[int | None, int]]:
    return [tuple(r) for r in db.execute(
        "SELECT pub_year, count(*) FROM articles WHERE deleted = 0 GROUP BY pub_year ORDER BY pub_year"
    )]


def counts_by_status(db: sqlite_utils.Database) -> list[tuple[str | None, int]]:
    return [tuple(r) for r in db.execute(
        "SELECT citation_status, count(*) AS n FROM articles WHERE deleted = 0 "
        "GROUP BY citation_status ORDER BY n DESC, citation_status"
    )]


def counts_by_publication_type(db: sqlite_utils.Database) -> list[tuple[str, int]]:
    return [tuple(r) for r in db.execute(
        "SELECT publication_type, count(*) AS n FROM article_publication_types "
        "GROUP BY publication_type ORDER BY n DESC, publication_type"
    )]


def totals(db: sqlite_utils.Database) -> dict[str, int]:
    row = db.execute(
        "SELECT count(*) FILTER (WHERE deleted = 0), count(*) FILTER (WHERE deleted = 1), "
        "count(*) FILTER (WHERE deleted = 0 AND is_retracted = 1) FROM articles"
    ).fetchone()
    return {"records": row[0], "deleted": row[1], "retracted": row[2]}


def is_synthetic_demo(db: sqlite_utils.Database) -> bool:
    return get_meta(db, "synthetic_demo") == "1"


def runs(db: sqlite_utils.Database, limit: int = 50) -> list[dict]:
    return list(db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))
