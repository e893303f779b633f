"""Ingestion runs: records from a source, through the taggers, into the store.

One way for data to travel: a source yields records, the taggers label the new and changed
ones, the store saves them, and the run is recorded in ``runs`` whatever happens. Each file is
one transaction: a file that cannot be read to its end leaves nothing of itself behind, and
an ingestion killed midway leaves the database as it was before that file; the next run
completes it (unchanged records cost nothing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import sqlite_utils

from . import store
from .record import Article, Deletion, RecordError, Unchanged
from .sources import SourceError, expand_paths, read_file

#: Called after each batch with (file, bytes of the file read so far, counts so far, file done).
Progress = Callable[[Path, int, store.Counts, bool], None]
#: Labels new and changed records inside the same transaction (the taggers' entry point).
Labeller = Callable[[sqlite_utils.Database, list[Article]], None]


@dataclass
class RunResult:
    run_id: int
    status: str  # success, partial, failed, interrupted
    counts: store.Counts
    files: int = 0
    files_failed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def summary(self) -> str:
        c = self.counts
        failed_files = f" ({self.files_failed} failed)" if self.files_failed else ""
        return (
            f"{self.status}: files {self.files}{failed_files}, records {c.found}, new {c.new}, "
            f"updated {c.updated}, unchanged {c.unchanged}, deleted {c.deleted}, "
            f"failed {c.failed}, {self.seconds:.1f} s"
        )


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def default_labeller(taxonomy: str | os.PathLike | None = None) -> Labeller:
    """The project's taggers (design, topics, sample size), with the user's taxonomy if given."""
    from .tagging import make_labeller

    return make_labeller(taxonomy)


def store_records(db: sqlite_utils.Database, records: Iterable[Article | Deletion | RecordError],
                  run_id: int, *, where: str, labeller: Labeller | None,
                  on_batch: Callable[[store.Counts], None] | None = None,
                  errors: list[str] | None = None) -> store.Counts:
    """Save a stream of records (inside the caller's transaction) and return its counts.

    ``where`` names the source in messages ("data/pubmed24n0001.xml.gz"); record-level
    problems are counted as failed and their messages appended to ``errors``.
    """
    counts = store.Counts()
    for batch in _batched(records, store.BATCH):
        same = sum(1 for r in batch if isinstance(r, Unchanged))
        counts.found += same
        counts.unchanged += same
        articles = [r for r in batch if isinstance(r, Article)]
        deletions = [r.pmid for r in batch if isinstance(r, Deletion)]
        for bad in (r for r in batch if isinstance(r, RecordError)):
            counts.failed += 1
            counts.found += 1
            if errors is not None:
                errors.append(f"{where}: {bad}")
        saved = store.save_articles(db, articles, run_id)
        counts.add(saved.counts)
        if labeller and saved.changed:
            labeller(db, saved.changed)
        if deletions:
            counts.deleted += store.mark_deleted(db, deletions, run_id)
            counts.found += len(deletions)
        if on_batch:
            on_batch(counts)
    flush = getattr(labeller, "flush", None)
    if flush:
        flush(db)  # every label written before the caller's transaction commits
    return counts


def run_status(counts: store.Counts, errors: list[str], stored_anything: bool) -> str:
    if not errors:
        return "success"
    return "partial" if stored_anything else "failed"


#: Files smaller than this in total are tagged in the calling process (a pool costs its start-up).
PARALLEL_MIN_BYTES = 20_000_000


def ingest_files(db_path: str | os.PathLike, paths: list[str | os.PathLike], *,
                 lock_timeout: float = 60.0, labeller: Labeller | None | str = "default",
                 progress: Progress | None = None, source: str = "file",
                 taxonomy: str | os.PathLike | None = None, workers: int = 1) -> RunResult:
    """Ingest PubMed XML / MEDLINE files and folders into the database at ``db_path``.

    Every file is one transaction. Problems with a file or a record are collected (each
    message names the file, and the record where it can) and the run goes on with the next
    file; the run ends as success, partial (some files or records failed) or failed.
    """
    started = time.monotonic()
    files, path_errors = expand_paths(list(paths))
    if labeller == "default":
        size = sum(f.stat().st_size for f in files)
        if workers > 1 and size >= PARALLEL_MIN_BYTES:
            from .tagging import ParallelLabeller

            labeller = ParallelLabeller(str(taxonomy) if taxonomy else None, workers)
        else:
            labeller = default_labeller(taxonomy)
    try:
        return _ingest(db_path, paths, files, path_errors, lock_timeout, labeller, progress, source, started)
    finally:
        close = getattr(labeller, "close", None)
        if close:
            close()


def _ingest(db_path, paths, files, path_errors, lock_timeout, labeller, progress, source, started) -> RunResult:
    errors = [str(e) for e in path_errors]
    with store.translate_errors(db_path), store.write_lock(db_path, lock_timeout):
        db = store.connect(db_path)
        try:
            store.ensure_db_shape(db)
            run_id = store.begin_run(db, source, files=[str(p) for p in paths])
            total = store.Counts()
            result = RunResult(run_id, "running", total, files=len(files), files_failed=len(path_errors))
            try:
                for path in files:
                    file_counts = _ingest_one(db, path, run_id, labeller, progress, errors)
                    if file_counts is None:
                        result.files_failed += 1
                    else:
                        total.add(file_counts)
            except KeyboardInterrupt:
                result.status = "interrupted"
                errors.append("interrupted (Ctrl-C); the file being read was rolled back")
                store.finish_run(db, run_id, "interrupted", total, error="\n".join(errors))
                raise
            stored = total.new + total.updated + total.unchanged + total.deleted > 0
            result.status = run_status(total, errors, stored)
            result.errors = errors
            store.finish_run(db, run_id, result.status, total, error="\n".join(errors) or None)
            store.ensure_db_shape(db)
        finally:
            db.close()
    result.seconds = time.monotonic() - started
    return result


def _ingest_one(db: sqlite_utils.Database, path: Path, run_id: int, labeller: Labeller | None,
                progress: Progress | None, errors: list[str]) -> store.Counts | None:
    """One file in one transaction; None when the file failed as a whole (rolled back)."""
    reader = _ByteCounter(path) if progress else None
    file_errors: list[str] = []

    def on_batch(counts: store.Counts) -> None:
        if progress and reader:
            progress(path, reader.position(), counts, False)

    try:
        with db.atomic():
            counts = store_records(
                db, read_file(path, on_open=reader.attach if reader else None, seen=store.source_seen(db)), run_id,
                where=str(path), labeller=labeller, on_batch=on_batch, errors=file_errors,
            )
    except SourceError as exc:
        discard = getattr(labeller, "discard", None)
        if discard:
            discard()
        errors.append(str(exc))
        return None
    except BaseException:
        discard = getattr(labeller, "discard", None)
        if discard:
            discard()
        raise
    errors.extend(file_errors)
    if progress:
        progress(path, path.stat().st_size, counts, True)
    return counts


class _ByteCounter:
    """Reports how far into a file the reader has got (for the progress bar)."""

    def __init__(self, path: Path):
        self.path = path
        self._raw = None

    def attach(self, raw) -> None:
        self._raw = raw

    def position(self) -> int:
        try:
            return self._raw.tell() if self._raw is not None and not self._raw.closed else 0
        except (OSError, ValueError):
            return 0
