"""Helpers the tests share (not fixtures): database snapshots and large synthetic files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def snapshot(db_path: Path) -> str:
    """A digest of every stored article row (what must not change after a failed input)."""
    if not Path(db_path).exists():
        return "no database"
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT * FROM articles ORDER BY pmid").fetchall()
    finally:
        conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def query(db_path: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def scalar(db_path: Path, sql: str, params=()):
    return query(db_path, sql, params)[0][0]


def write_many_records(path: Path, n: int, start: int = 98_000_001) -> Path:
    """A PubmedArticleSet of ``n`` copies of the structured-abstract fixture with new PMIDs."""
    text = (FIXTURES / "xml/structured_abstract.xml").read_text(encoding="utf-8")
    record = "<PubmedArticle>" + text.split("<PubmedArticle>", 1)[1].split("</PubmedArticle>", 1)[0] + "</PubmedArticle>\n"
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n<!-- synthetic test data -->\n<PubmedArticleSet>\n')
        for i in range(n):
            pmid = str(start + i)
            out.write(record.replace("99000101", pmid).replace("opioid withdrawal", f"opioid withdrawal {pmid}"))
        out.write("</PubmedArticleSet>\n")
    return path
