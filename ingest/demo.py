"""The offline demo: a database built from the project's synthetic sample.

About 300 records written by the project (not taken from PubMed), spanning every design and
topic of TAXONOMY.md, with the labels three coders gave them. The database is marked as
synthetic, and everything that shows it (dashboard, stats, exports, digest) says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import store
from .errors import EvidenceError
from .pipeline import RunResult, ingest_files
from .synthetic import SYNTHETIC_PMID_FLOOR

DATA = Path(__file__).parent / "data" / "demo"
DEMO_SAMPLE = DATA / "demo_sample.xml"
#: The majority labels of the writers and two further coders (see data/demo/annotations).
DEMO_LABELS = DATA / "demo_labels_majority.csv"


def build_demo(db_path: str | os.PathLike, *, lock_timeout: float = 60.0) -> RunResult:
    """Ingest the synthetic sample into ``db_path`` and mark the database as synthetic.

    Refuses a database that already holds real PubMed records, so the sample never mixes with them.
    """
    db_path = Path(db_path)
    if db_path.exists():
        db = store.connect(db_path, readonly=True)
        real = 0
        if db["articles"].exists():
            real = db.execute("SELECT count(*) FROM articles WHERE pmid < ?", [SYNTHETIC_PMID_FLOOR]).fetchone()[0]
        db.close()
        if real:
            raise EvidenceError(
                f"{db_path} holds {real} real PubMed records; build the demo in another file (--db demo.db)")
    result = ingest_files(db_path, [DEMO_SAMPLE], lock_timeout=lock_timeout, source="demo")
    with store.translate_errors(db_path), store.write_lock(db_path, lock_timeout):
        db = store.connect(db_path)
        with db.atomic():
            store.set_meta(db, "synthetic_demo", "1")
        db.close()
    return result


def open_database(database: str | os.PathLike = "demo"):
    """A read-only database for analysis: "demo" builds the synthetic sample in a temporary
    folder (once per process); anything else is the path of a kratom-evidence database."""
    import tempfile

    if str(database) == "demo":
        global _DEMO_PATH
        if _DEMO_PATH is None or not _DEMO_PATH.exists():
            _DEMO_PATH = Path(tempfile.mkdtemp(prefix="kratom-demo-")) / "demo.db"
            result = build_demo(_DEMO_PATH)
            if not result.ok:
                raise EvidenceError(f"the demo database could not be built: {result.summary()}")
        path = _DEMO_PATH
    else:
        path = Path(database)
    db = store.connect(path, readonly=True)
    with store.translate_errors(path):
        store.check_schema(db, path)
    return db


_DEMO_PATH: Path | None = None
