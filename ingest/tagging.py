"""Labels for records: study design, topics and sample size, stored with the taggers' version.

The pipeline calls :func:`label_articles` for every new or changed record, inside the same
transaction that stores it; :func:`retag` relabels every stored record after the rules or the
taxonomy change, without fetching anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from . import store
from .design import DesignTag, DesignTagger
from .record import Article
from .samplesize import SampleSize, SampleSizeExtractor
from .textview import TextView
from .topics import Taxonomy, TopicTag, TopicTagger


@dataclass
class Labels:
    design: DesignTag
    topics: list[TopicTag]
    sample: SampleSize | None


#: Records tagged together: enough that the topic model scores them in one product, few enough
#: that their texts stay small (batches of 64 and more measured slower; benchmarks/README.md).
BATCH = 16


class Tagger:
    """Design, topics and sample size for a record, read from one shared view of its text."""

    def __init__(self, taxonomy: Taxonomy | str | None = None, *, text_only: bool = False):
        if not isinstance(taxonomy, Taxonomy):
            taxonomy = Taxonomy(taxonomy)
        self.taxonomy = taxonomy
        self.design = DesignTagger(text_only=text_only)
        self.topics = TopicTagger(taxonomy)
        self.sample = SampleSizeExtractor()

    @property
    def version(self) -> str:
        return f"{self.design.version}+{self.topics.version}+{self.sample.version}"

    def tag(self, article: Article) -> Labels:
        return self.tag_many([article])[0]

    def tag_many(self, articles: list[Article]) -> list[Labels]:
        """Labels for a batch of records (the topic model scores a batch at once)."""
        if len(articles) > BATCH:
            return [labels for at in range(0, len(articles), BATCH) for labels in self.tag_many(articles[at:at + BATCH])]
        views = [TextView.of(a) for a in articles]
        designs = [self.design.tag(a, v) for a, v in zip(articles, views)]
        # A correction or retraction notice is about another paper: it gets no topics.
        about = [i for i, d in enumerate(designs)
                 if not (d.study_type == "other" and d.evidence.startswith("PubMed marks it as"))]
        topics: list[list[TopicTag]] = [[] for _ in articles]
        for i, found in zip(about, self.topics.tag_many([(articles[i], views[i], designs[i].study_type)
                                                          for i in about])):
            topics[i] = found
        return [Labels(d, t, self.sample.extract(v, d.study_type)) for d, t, v in zip(designs, topics, views)]


_TAG_SQL = (
    "INSERT INTO article_tags (pmid, study_type, study_type_confidence, study_type_evidence, "
    "sample_size, sample_size_phrase, tagger_version, tagged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(pmid) DO UPDATE SET study_type = excluded.study_type, "
    "study_type_confidence = excluded.study_type_confidence, study_type_evidence = excluded.study_type_evidence, "
    "sample_size = excluded.sample_size, sample_size_phrase = excluded.sample_size_phrase, "
    "tagger_version = excluded.tagger_version, tagged_at = excluded.tagged_at"
)


def save_labels(db: sqlite_utils.Database, labelled: list[tuple[int, Labels]], version: str) -> None:
    """Write labels (inside the caller's transaction): one tags row, and the topic rows, per record."""
    stamp = store.now()
    db.conn.executemany(_TAG_SQL, [
        (pmid, lab.design.study_type, lab.design.confidence, lab.design.evidence,
         lab.sample.value if lab.sample else None, lab.sample.phrase if lab.sample else None, version, stamp)
        for pmid, lab in labelled
    ])
    pmids = [(pmid,) for pmid, _ in labelled]
    db.conn.executemany("DELETE FROM article_topics WHERE pmid = ?", pmids)
    db.conn.executemany(
        "INSERT INTO article_topics (pmid, topic, score, evidence) VALUES (?, ?, ?, ?)",
        [(pmid, t.topic, t.score, t.evidence) for pmid, lab in labelled for t in lab.topics],
    )


def make_labeller(taxonomy: Taxonomy | str | None = None) -> Callable[[sqlite_utils.Database, list[Article]], None]:
    """The pipeline's labeller: tags new and changed records as they are stored."""
    tagger = Tagger(taxonomy)

    def label(db: sqlite_utils.Database, articles: list[Article]) -> None:
        save_labels(db, list(zip((a.pmid for a in articles), tagger.tag_many(articles))), tagger.version)

    return label


_TAGGER: Tagger | None = None


def worker_context():
    """Workers are forked where the system can (quick to start, and they do not re-import the
    parent's main module, which may be anything: a console script, a notebook, a test runner);
    each first closes its copy of the write lock (see store.close_inherited_locks)."""
    import multiprocessing

    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _die_with_parent() -> None:
    """Drop inherited write locks, and ask Linux to end this worker when its parent ends (even
    by SIGKILL; elsewhere that part is a no-op)."""
    store.close_inherited_locks()
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _settle() -> None:
    """Leave what a worker built at start (the tagger's tables, the model) out of the garbage
    collector's rounds: it lives as long as the worker, and full rounds over it cost about 2%
    of tagging."""
    import gc

    gc.collect()
    gc.freeze()


def _init_tagger(taxonomy: str | None) -> None:
    global _TAGGER
    _die_with_parent()
    _TAGGER = Tagger(taxonomy)
    _settle()


def _tag_articles(articles: list[Article]) -> list[tuple[int, Labels]]:
    assert _TAGGER is not None
    return list(zip((a.pmid for a in articles), _TAGGER.tag_many(articles)))


class ParallelLabeller:
    """Tags batches in worker processes while the caller goes on parsing and storing.

    Call it like a labeller; call :meth:`flush` before the transaction commits (the pipeline
    does, at the end of every file): it waits for the batches in flight and writes their
    labels. At most two batches per worker are in flight, so memory stays flat.
    """

    def __init__(self, taxonomy: str | None, workers: int):
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor

        self.version = Tagger(taxonomy).version
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=worker_context(), initializer=_init_tagger,
                                        initargs=(taxonomy,))
        self.pending: deque = deque()

    def __call__(self, db: sqlite_utils.Database, articles: list[Article]) -> None:
        self.pending.append(self.pool.submit(_tag_articles, articles))
        while len(self.pending) > 2 * self.workers:
            save_labels(db, self.pending.popleft().result(), self.version)

    def flush(self, db: sqlite_utils.Database) -> None:
        while self.pending:
            save_labels(db, self.pending.popleft().result(), self.version)

    def discard(self) -> None:
        """Forget the batches in flight (their file's transaction is being rolled back)."""
        for future in self.pending:
            future.cancel()
        self.pending.clear()

    def close(self) -> None:
        self.discard()
        self.pool.shutdown(wait=True, cancel_futures=True)


def label_articles(db: sqlite_utils.Database, articles: list[Article]) -> None:
    """Label with the built-in taxonomy (or EVIDENCE_TAXONOMY)."""
    make_labeller()(db, articles)


#: The fields of a record the taggers read: ``retag`` loads these alone (decoding the authors,
#: affiliations and the rest took about 3% of a retag). A test checks that records read this
#: way get the labels the whole records get; a tagger that comes to read another field must
#: add it here.
TAGGED_FIELDS = ("pmid", "title", "abstract", "abstract_sections", "keywords", "mesh", "publication_types",
                 "citation_status", "indexing_method")


def _retag_rows(db: sqlite_utils.Database, tagger: Tagger, rows: list[tuple]) -> int:
    labelled = list(zip((row[0] for row in rows), tagger.tag_many([store.article_from_values(row, TAGGED_FIELDS) for row in rows])))
    with db.atomic():
        save_labels(db, labelled, tagger.version)
    return len(labelled)


def _select(lo: int, hi: int | None, limit: int | None = None) -> tuple[str, list]:
    sql = f"SELECT {', '.join(TAGGED_FIELDS)} FROM articles WHERE pmid >= ?"
    params: list = [lo]
    if hi is not None:
        sql += " AND pmid < ?"
        params.append(hi)
    sql += " ORDER BY pmid"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


_WORKER: tuple[sqlite_utils.Database, Tagger] | None = None


def _init_worker(db_path: str, taxonomy: str | None) -> None:
    global _WORKER
    _die_with_parent()
    _WORKER = (store.connect(db_path), Tagger(taxonomy))
    _settle()


def _retag_range(lo: int, hi: int | None) -> int:
    """In a worker process: read, tag and write the records with lo <= pmid < hi."""
    assert _WORKER is not None
    db, tagger = _WORKER
    sql, params = _select(lo, hi)
    return _retag_rows(db, tagger, db.execute(sql, params).fetchall())


def retag(db: sqlite_utils.Database, tagger: Tagger, *, batch: int = 2000, workers: int = 1,
          taxonomy: str | None = None, db_path: str | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[int, float]:
    """Relabel every stored record (deleted ones too, so nothing goes stale). Returns (count, seconds).

    With ``workers`` > 1 (and ``db_path``), each worker process reads, tags and writes ranges
    of PMIDs through its own connection; this process only hands out the ranges.
    """
    started = time.monotonic()
    total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    done = 0
    if workers <= 1 or db_path is None or total < 2 * batch:
        last = -1
        while True:
            rows = db.execute(*_select(last + 1, None, batch)).fetchall()
            if not rows:
                break
            done += _retag_rows(db, tagger, rows)
            last = rows[-1][0]
            if progress:
                progress(done, total)
        return done, time.monotonic() - started

    from concurrent.futures import ProcessPoolExecutor

    bounds = [r[0] for r in db.execute(
        "SELECT pmid FROM (SELECT pmid, row_number() OVER (ORDER BY pmid) AS n FROM articles) WHERE (n - 1) % ? = 0",
        [batch])]
    ranges = list(zip(bounds, bounds[1:] + [None]))
    with ProcessPoolExecutor(max_workers=workers, mp_context=worker_context(), initializer=_init_worker,
                             initargs=(str(db_path), taxonomy)) as pool:
        for count in pool.map(_retag_range, *zip(*ranges)):
            done += count
            if progress:
                progress(done, total)
    return done, time.monotonic() - started

