"""Labels for records: study design, topics and sample size, stored with the taggers' version.

The pipeline calls :func:`label_articles` for every new or changed record, inside the same
transaction that stores it; :func:`retag` relabels every stored record after the rules or the
taxonomy change, without fetching anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
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
        view = TextView.of(article)
        design = self.design.tag(article, view)
        if design.study_type == "other" and design.evidence.startswith("PubMed marks it as"):
            topics: list[TopicTag] = []  # a correction or retraction notice is about another paper
        else:
            topics = self.topics.tag(article, view, design=design.study_type)
        return Labels(design, topics, self.sample.extract(view, design.study_type))


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
        save_labels(db, [(a.pmid, tagger.tag(a)) for a in articles], tagger.version)

    return label


def label_articles(db: sqlite_utils.Database, articles: list[Article]) -> None:
    """Label with the built-in taxonomy (or EVIDENCE_TAXONOMY)."""
    make_labeller()(db, articles)


def retag(db: sqlite_utils.Database, tagger: Tagger, *, batch: int = 2000,
          progress: Callable[[int, int], None] | None = None) -> tuple[int, float]:
    """Relabel every stored record (deleted ones too, so nothing goes stale). Returns (count, seconds)."""
    started = time.monotonic()
    total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    done = 0
    last = -1
    while True:
        rows = db.execute(
            f"SELECT {', '.join(store.RECORD_COLUMNS)} FROM articles WHERE pmid > ? ORDER BY pmid LIMIT ?",
            [last, batch],
        ).fetchall()
        if not rows:
            break
        articles = [store.article_from_values(row) for row in rows]
        with db.atomic():
            save_labels(db, [(a.pmid, tagger.tag(a)) for a in articles], tagger.version)
        done += len(articles)
        last = articles[-1].pmid
        if progress:
            progress(done, total)
    return done, time.monotonic() - started


def tag_many(articles: Iterable[Article], tagger: Tagger) -> dict[int, Labels]:
    return {a.pmid: tagger.tag(a) for a in articles}
