"""The one query layer: the dashboard, the exports, the notebooks and ``stats`` read through it.

One :class:`Filters` value (years, designs, topics, journals, languages, has abstract,
include retracted, full-text search) becomes the same SQL everywhere, over the ``evidence``
view, which carries each record's *effective* labels: a curator's design and topics where a
researcher set them, the tagger's otherwise. Functions take an open database (read-only is
enough) and return plain values or pandas DataFrames. No other module writes SELECTs over
the evidence tables.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from .errors import EvidenceError, read_toml
from .filters import MAX_SEARCH_CHARS, NOT_TAGGED, Filters, SearchError, fts_query, where  # noqa: F401
from .store import get_meta
from .taxonomy import DESIGN_CODES, DESIGNS, HUMAN_DESIGNS, TOPICS, design_rank

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
DOI_URL = "https://doi.org/{doi}"
CLAIMS_FILE = Path(__file__).parent / "data" / "claims.toml"

# Plural phrases for summaries a reader understands ("3 randomized trials, 40 case reports").
DESIGN_PHRASES = {
    "randomized_trial": ("randomized trial", "randomized trials"),
    "clinical_trial": ("non-randomized trial", "non-randomized trials"),
    "observational": ("observational study", "observational studies"),
    "survey": ("survey", "surveys"),
    "qualitative": ("qualitative study", "qualitative studies"),
    "case_report": ("case report", "case reports"),
    "systematic_review": ("systematic review", "systematic reviews"),
    "review": ("narrative review", "narrative reviews"),
    "preclinical": ("animal or laboratory study", "animal or laboratory studies"),
    "analytical": ("chemical analysis", "chemical analyses"),
    "commentary": ("commentary", "commentaries"),
    "other": ("other record", "other records"),
}


def _frame(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
    cursor = db.execute(sql, list(params))
    columns = [c[0] for c in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=columns)


# --------------------------------------------------------------------------- facts about the database


def is_synthetic_demo(db: sqlite_utils.Database) -> bool:
    return get_meta(db, "synthetic_demo") == "1"


def totals(db: sqlite_utils.Database) -> dict[str, int]:
    row = db.execute(
        "SELECT count(*) FILTER (WHERE deleted = 0), count(*) FILTER (WHERE deleted = 1), "
        "count(*) FILTER (WHERE deleted = 0 AND is_retracted = 1) FROM articles"
    ).fetchone()
    return {"records": row[0], "deleted": row[1], "retracted": row[2]}


def counts_by_year(db: sqlite_utils.Database) -> list[tuple[int | None, int]]:
    return [tuple(r) for r in db.execute(
        "SELECT pub_year, count(*) FROM articles WHERE deleted = 0 GROUP BY pub_year ORDER BY pub_year")]


def counts_by_status(db: sqlite_utils.Database) -> list[tuple[str | None, int]]:
    return [tuple(r) for r in db.execute(
        "SELECT citation_status, count(*) AS n FROM articles WHERE deleted = 0 "
        "GROUP BY citation_status ORDER BY n DESC, citation_status")]


def counts_by_publication_type(db: sqlite_utils.Database) -> list[tuple[str, int]]:
    return [tuple(r) for r in db.execute(
        "SELECT publication_type, count(*) AS n FROM article_publication_types "
        "GROUP BY publication_type ORDER BY n DESC, publication_type")]


def runs(db: sqlite_utils.Database, limit: int = 50) -> list[dict]:
    return list(db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))


def last_successful_run(db: sqlite_utils.Database) -> dict | None:
    rows = list(db.query("SELECT * FROM runs WHERE status = 'success' ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows else None


def filter_options(db: sqlite_utils.Database) -> dict[str, Any]:
    """What the filters can offer: year range, journals (by size), languages, topics present."""
    years = db.execute("SELECT min(pub_year), max(pub_year) FROM articles WHERE deleted = 0").fetchone()
    journals = [r[0] for r in db.execute(
        "SELECT journal FROM articles WHERE deleted = 0 AND journal IS NOT NULL "
        "GROUP BY journal ORDER BY count(*) DESC, journal")]
    languages = [r[0] for r in db.execute(
        "SELECT l.value FROM articles a, json_each(a.languages) l WHERE a.deleted = 0 "
        "GROUP BY l.value ORDER BY count(*) DESC")]
    topics = [r[0] for r in db.execute(f"SELECT DISTINCT topic FROM {topic_rows(db)} ORDER BY topic")]
    return {"year_min": years[0], "year_max": years[1], "journals": journals, "languages": languages,
            "topics": topics}


def topic_rows(db: sqlite_utils.Database, *, distinct: bool = False) -> str:
    """What to join for each record's (pmid, topic) rows: the ``effective_topics`` view (the
    taggers' topics with a curator's additions and removals), or, while no curation adds or
    removes a topic, ``article_topics`` itself: the same rows, read through its indexes in pmid
    order instead of through a compound view that SQLite materialises first (a third of the
    time on 100,000 records; benchmarks/README.md)."""
    touched = db.execute(
        "SELECT 1 FROM curations WHERE coalesce(add_topics, '[]') NOT IN ('', '[]') "
        "OR coalesce(remove_topics, '[]') NOT IN ('', '[]') LIMIT 1").fetchone()
    if not touched:
        return "article_topics"
    return "(SELECT DISTINCT pmid, topic FROM effective_topics)" if distinct else "effective_topics"


def topic_label(code: str) -> str:
    return TOPICS.get(code, code.replace("_", " ").capitalize())


def design_label(code: str | None) -> str:
    return DESIGNS.get(code, NOT_TAGGED) if code else NOT_TAGGED


# --------------------------------------------------------------------------- summaries


def overview(db: sqlite_utils.Database, f: Filters = Filters()) -> dict[str, Any]:
    """The numbers that answer the mission, for the current filters."""
    cond, params = where(f)
    human = ",".join(f"'{d}'" for d in sorted(HUMAN_DESIGNS))
    row = db.execute(
        f"SELECT count(*), count(*) FILTER (WHERE study_type IN ({human})), "
        f"count(*) FILTER (WHERE study_type = 'randomized_trial'), "
        f"count(*) FILTER (WHERE study_type = 'systematic_review'), "
        f"count(*) FILTER (WHERE study_type IS NULL), "
        f"coalesce(sum(sample_size) FILTER (WHERE study_type IN ({human})), 0) "
        f"FROM evidence e WHERE {cond}", params,
    ).fetchone()
    last = last_successful_run(db)
    new = 0
    if last:
        cond_new, params_new = where(f.with_(first_run_after=None))
        new = db.execute(f"SELECT count(*) FROM evidence e WHERE {cond_new} AND e.first_run_id = ?",
                         params_new + [last["id"]]).fetchone()[0]
    retracted_hidden = 0 if f.include_retracted else db.execute(
        f"SELECT count(*) FROM evidence e WHERE {where(f.with_(include_retracted=True))[0]} AND e.is_retracted = 1",
        where(f.with_(include_retracted=True))[1]).fetchone()[0]
    return {
        "records": row[0], "human_studies": row[1], "randomized_trials": row[2],
        "systematic_reviews": row[3], "not_tagged": row[4], "participants": row[5],
        "new_in_last_run": new, "last_run": last, "retracted_left_out": retracted_hidden,
        "synthetic": is_synthetic_demo(db),
    }


def design_counts(db: sqlite_utils.Database, f: Filters = Filters()) -> pd.DataFrame:
    """Records by design in evidence order (the evidence pyramid), zeros included."""
    cond, params = where(f)
    found = _frame(db, f"SELECT study_type, count(*) AS records, "
                       f"coalesce(sum(sample_size), 0) AS participants FROM evidence e WHERE {cond} "
                       f"GROUP BY study_type", params)
    counts = {(None if pd.isna(r.study_type) else r.study_type): (int(r.records), int(r.participants))
              for r in found.itertuples()}
    rows = [{"study_type": code, "design": DESIGNS[code], "rank": i,
             "records": counts.get(code, (0, 0))[0],
             "participants": counts.get(code, (0, 0))[1] if code in HUMAN_DESIGNS else 0}
            for i, code in enumerate(DESIGN_CODES)]
    if None in counts:
        rows.append({"study_type": None, "design": NOT_TAGGED, "rank": len(DESIGN_CODES),
                     "records": counts[None][0], "participants": 0})
    return pd.DataFrame(rows)


def year_design_counts(db: sqlite_utils.Database, f: Filters = Filters()) -> pd.DataFrame:
    cond, params = where(f)
    df = _frame(db, f"SELECT pub_year, study_type, count(*) AS records FROM evidence e "
                    f"WHERE {cond} AND pub_year IS NOT NULL GROUP BY pub_year, study_type "
                    f"ORDER BY pub_year", params)
    df["design"] = [design_label(c) for c in df["study_type"]]
    return df


def evidence_map(db: sqlite_utils.Database, f: Filters = Filters()) -> pd.DataFrame:
    """For every topic and design: records, records with human participants, summed and median
    sample size, the newest year, and the PMIDs."""
    cond, params = where(f)
    df = _frame(db, f"SELECT x.topic, e.study_type, e.pmid, e.pub_year, e.sample_size FROM evidence e "
                    f"JOIN {topic_rows(db)} x ON x.pmid = e.pmid WHERE {cond} "
                    f"GROUP BY x.topic, e.pmid ORDER BY x.topic, e.pmid", params)
    cells = []
    for (topic, design), group in df.groupby(["topic", df["study_type"].fillna(NOT_TAGGED)], sort=False):
        sizes = [int(s) for s in group["sample_size"].dropna()] if design in HUMAN_DESIGNS else []
        cells.append({
            "topic": topic, "topic_label": topic_label(topic),
            "study_type": None if design == NOT_TAGGED else design, "design": design_label(None if design == NOT_TAGGED else design),
            "records": len(group),
            "human_records": len(group) if design in HUMAN_DESIGNS else 0,
            "sized_records": len(sizes),
            "participants": sum(sizes),
            "median_participants": statistics.median(sizes) if sizes else None,
            "newest_year": int(group["pub_year"].max()) if group["pub_year"].notna().any() else None,
            "pmids": [int(p) for p in group["pmid"]],
        })
    out = pd.DataFrame(cells, columns=["topic", "topic_label", "study_type", "design", "records", "human_records",
                                       "sized_records", "participants", "median_participants", "newest_year", "pmids"])
    if len(out):
        out["rank"] = [design_rank(d) for d in out["study_type"]]
        out = out.sort_values(["topic", "rank"]).drop(columns="rank").reset_index(drop=True)
    return out


def topic_design_counts(db: sqlite_utils.Database, f: Filters = Filters()) -> pd.DataFrame:
    """Records per topic and design, with the participants their human studies state: the
    evidence map's counts without its per-cell PMIDs (one GROUP BY, for charts)."""
    cond, params = where(f)
    human = ",".join(f"'{d}'" for d in sorted(HUMAN_DESIGNS))
    df = _frame(db, f"SELECT x.topic, e.study_type, count(*) AS records, "
                    f"coalesce(sum(e.sample_size) FILTER (WHERE e.study_type IN ({human})), 0) AS participants "
                    f"FROM evidence e JOIN {topic_rows(db, distinct=True)} x ON x.pmid = e.pmid "
                    f"WHERE {cond} GROUP BY x.topic, e.study_type", params)
    df.insert(1, "topic_label", [topic_label(t) for t in df["topic"]])
    df.insert(3, "design", [design_label(c) for c in df["study_type"]])
    df["rank"] = [design_rank(c) for c in df["study_type"]]
    return df.sort_values(["topic", "rank"]).drop(columns="rank").reset_index(drop=True)


def describe_counts(counts: Mapping[str | None, int], participants: int, sized: int) -> str:
    """'3 randomized trials, 12 observational studies, 40 case reports; 4,100 participants'."""
    parts = []
    for code in DESIGN_CODES:
        n = counts.get(code, 0)
        if n:
            one, many = DESIGN_PHRASES[code]
            parts.append(f"{n:,} {one if n == 1 else many}")
    if counts.get(None):
        parts.append(f"{counts[None]:,} {NOT_TAGGED}")
    text = ", ".join(parts) or "no records"
    if participants:
        text += f"; {participants:,} participants" + (f" in the {sized:,} human studies that state a number" if sized else "")
    return text


def topic_summaries(db: sqlite_utils.Database, f: Filters = Filters(), emap: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per topic: records, the strongest design present (TAXONOMY.md's order) and a summary line."""
    emap = evidence_map(db, f) if emap is None else emap
    rows = []
    for topic, group in emap.groupby("topic", sort=True):
        counts = {r.study_type: int(r.records) for r in group.itertuples()}
        present = [d for d in DESIGN_CODES if counts.get(d)]
        strongest = present[0] if present else None
        rows.append({
            "topic": topic, "topic_label": topic_label(topic),
            "records": int(group["records"].sum()),
            "strongest_design": strongest, "strongest": design_label(strongest) if strongest else "none",
            "participants": int(group["participants"].sum()),
            "newest_year": group["newest_year"].max(),
            "summary": describe_counts(counts, int(group["participants"].sum()), int(group["sized_records"].sum())),
        })
    return pd.DataFrame(rows, columns=["topic", "topic_label", "records", "strongest_design", "strongest",
                                       "participants", "newest_year", "summary"])


# --------------------------------------------------------------------------- claims


@dataclass
class Claim:
    id: str
    claim: str
    topics: tuple[str, ...]
    require_all: bool = False
    phrases: tuple[str, ...] = ()
    pattern: re.Pattern | None = field(default=None, repr=False)


def load_claims(path: str | Path | None = None) -> list[Claim]:
    """The claims file (built in, or a user's own TOML with [[claim]] tables)."""
    path = Path(path) if path else CLAIMS_FILE
    data = read_toml(path, "claims file", EvidenceError)
    claims = []
    for i, table in enumerate(data.get("claim", []), start=1):
        if not table.get("id") or not table.get("claim") or not table.get("topics"):
            raise EvidenceError(f"claims file {path}: claim {i} needs id, claim and topics")
        phrases = tuple(table.get("phrases", []))
        pattern = None
        if phrases:
            alternatives = "|".join(re.escape(p.lower()).replace(r"\*", r"[\w-]*") for p in phrases)
            pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")
        claims.append(Claim(str(table["id"]), str(table["claim"]), tuple(table["topics"]),
                            table.get("match", "any") == "all", phrases, pattern))
    return claims


CORRECTION_TYPES = ("ErratumIn", "ExpressionOfConcernIn", "CorrectedandRepublishedIn")


@dataclass(frozen=True)
class ClaimMatches:
    """What the claims need from the wide columns, read once per database state: for each claim
    with phrases, the records of its topics whose title or abstract uses one of them; and the
    records with a correction (an erratum, an expression of concern, a corrected republication).
    Filters then narrow these by the narrow columns alone."""

    phrase_pmids: Mapping[str, frozenset[int]]
    corrected: frozenset[int]


def claim_matches(db: sqlite_utils.Database, claims: Iterable[Claim] | None = None) -> ClaimMatches:
    claims = list(claims) if claims is not None else load_claims()
    corrected = set()
    likes = " OR ".join(f"comments_corrections LIKE '%{t}%'" for t in CORRECTION_TYPES)
    for pmid, links in db.execute(f"SELECT pmid, comments_corrections FROM articles WHERE deleted = 0 AND ({likes})"):
        if any(link.get("type") in CORRECTION_TYPES for link in json.loads(links)):
            corrected.add(int(pmid))
    found: dict[str, frozenset[int]] = {}
    source = topic_rows(db)
    for claim in claims:
        if claim.pattern is None:
            continue
        marks = ",".join("?" * len(claim.topics))
        rows = db.execute(f"SELECT a.pmid, a.title, a.abstract FROM articles a WHERE a.deleted = 0 AND a.pmid IN "
                          f"(SELECT x.pmid FROM {source} x WHERE x.topic IN ({marks}))", list(claim.topics))
        found[claim.id] = frozenset(int(pmid) for pmid, title, abstract in rows
                                    if claim.pattern.search(f"{title or ''} {abstract or ''}".lower()))
    return ClaimMatches(found, frozenset(corrected))


def _claim_rows(db: sqlite_utils.Database, claim: Claim, f: Filters, matches: ClaimMatches,
                columns: str, source: str | None = None) -> pd.DataFrame:
    """The records that speak to a claim (retracted ones included), newest first: its topics
    (any, or all), and its phrases when it has them. ``source``: :func:`topic_rows`, if known."""
    cond, params = where(f.with_(include_retracted=True))
    marks = ",".join("?" * len(claim.topics))
    having = f"HAVING count(DISTINCT x.topic) = {len(set(claim.topics))}" if claim.require_all else ""
    phrased = ""
    extra: list[Any] = []
    if claim.pattern is not None:
        phrased = "AND e.pmid IN (SELECT value FROM json_each(?))"
        extra = [json.dumps(sorted(matches.phrase_pmids.get(claim.id, ())))]
    df = _frame(db, f"SELECT {columns} FROM evidence e "
                    f"JOIN {source or topic_rows(db)} x ON x.pmid = e.pmid AND x.topic IN ({marks}) "
                    f"WHERE {cond} {phrased} GROUP BY e.pmid {having} ORDER BY e.pub_year DESC, e.pmid DESC",
                params=list(claim.topics) + params + extra)
    df["corrected"] = [int(p) in matches.corrected for p in df["pmid"]]
    return df


def claim_records(db: sqlite_utils.Database, claim: Claim, f: Filters = Filters(),
                  matches: ClaimMatches | None = None) -> pd.DataFrame:
    """The records that speak to a claim: its topics (any, or all) and, if given, its phrases."""
    matches = matches if matches is not None else claim_matches(db, [claim])
    return _claim_rows(db, claim, f, matches, "e.pmid, e.title, e.pub_year, e.journal, e.study_type, "
                                              "e.sample_size, e.is_retracted")


def claim_profiles(db: sqlite_utils.Database, f: Filters = Filters(), claims: list[Claim] | None = None,
                   matches: ClaimMatches | None = None) -> pd.DataFrame:
    """Each claim's evidence profile: records by design, the strongest design, participants, the
    newest study, and the retracted or corrected records among them (retracted ones are left out
    of the counts unless the filters include them). ``matches`` (from :func:`claim_matches`, which
    reads the abstracts) can be kept while the database is unchanged: then only narrow columns
    are read for each filter."""
    claims = claims if claims is not None else load_claims()
    matches = matches if matches is not None else claim_matches(db, claims)
    source = topic_rows(db)
    rows = []
    for claim in claims:
        df = _claim_rows(db, claim, f, matches, "e.pmid, e.pub_year, e.study_type, e.sample_size, e.is_retracted",
                         source)
        flagged = df[(df["is_retracted"] == 1) | df["corrected"]]
        counted = df if f.include_retracted else df[df["is_retracted"] == 0]
        counts = counted["study_type"].value_counts(dropna=False).to_dict()
        counts = {(None if pd.isna(k) else k): int(v) for k, v in counts.items()}
        present = [d for d in DESIGN_CODES if counts.get(d)]
        human = counted[counted["study_type"].isin(HUMAN_DESIGNS)]
        sizes = human["sample_size"].dropna()
        newest = counted.iloc[0] if len(counted) else None
        wanted = [int(p) for p in flagged["pmid"]] + ([int(newest["pmid"])] if newest is not None else [])
        titles = dict(db.execute("SELECT pmid, title FROM articles WHERE pmid IN (SELECT value FROM json_each(?))",
                                 [json.dumps(wanted)]).fetchall()) if wanted else {}
        rows.append({
            "id": claim.id, "claim": claim.claim, "topics": list(claim.topics),
            "records": len(counted),
            "by_design": counts,
            "strongest_design": present[0] if present else None,
            "strongest": design_label(present[0]) if present else "no evidence",
            "participants": int(sizes.sum()),
            "newest_year": int(newest["pub_year"]) if newest is not None and pd.notna(newest["pub_year"]) else None,
            "newest_pmid": int(newest["pmid"]) if newest is not None else None,
            "newest_title": titles.get(int(newest["pmid"])) if newest is not None else None,
            "retracted_or_corrected": [
                {"pmid": int(r.pmid), "title": titles.get(int(r.pmid)), "retracted": bool(r.is_retracted),
                 "corrected": bool(r.corrected)}
                for r in flagged.itertuples()],
            "summary": describe_counts(counts, int(sizes.sum()), int(len(sizes))),
            "pmids": [int(p) for p in counted["pmid"]],
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- records


TABLE_COLUMNS = ["pmid", "title", "pub_year", "journal", "study_type", "study_type_confidence", "topics",
                 "sample_size", "doi", "is_retracted", "curated", "has_abstract"]
SORTS = {"year": "e.pub_year", "pmid": "e.pmid", "title": "e.title", "journal": "e.journal",
         # evidence order: the strongest design ranks highest, so descending puts randomized trials first
         "design": "CASE e.study_type " + " ".join(f"WHEN '{c}' THEN {len(DESIGN_CODES) - i}"
                                                   for i, c in enumerate(DESIGN_CODES)) + " END",
         "confidence": "e.study_type_confidence", "sample_size": "e.sample_size",
         "first_seen": "e.first_seen"}


def count_records(db: sqlite_utils.Database, f: Filters = Filters()) -> int:
    cond, params = where(f)
    return db.execute(f"SELECT count(*) FROM evidence e WHERE {cond}", params).fetchone()[0]


def records(db: sqlite_utils.Database, f: Filters = Filters(), *, sort: str = "year", descending: bool = True,
            limit: int | None = None, offset: int = 0) -> pd.DataFrame:
    """The filtered records, one row each, with their effective labels and links.

    A page (``limit``) is found first by PMID alone, sorted on the narrow columns, and only
    its rows are then read in full: sorting 100,000 full rows with their topic lists took
    0.4 s, this takes a fraction of it."""
    cond, params = where(f)
    order = SORTS.get(sort, "e.pub_year")
    direction = "DESC" if descending else "ASC"
    ordering = f"ORDER BY {order} IS NULL, {order} {direction}, e.pmid {direction}"
    if limit is None:
        columns = ", ".join("e." + c for c in TABLE_COLUMNS)
        df = _frame(db, f"SELECT {columns} FROM evidence e WHERE {cond} {ordering}", params)
        df["topics"] = [json.loads(t) if t else [] for t in df["topics"]]
    else:
        page = [r[0] for r in db.execute(f"SELECT e.pmid FROM evidence e WHERE {cond} {ordering} LIMIT ? OFFSET ?",
                                         params + [limit, offset])]
        wanted = [json.dumps(page)]
        # the view's topic lists would materialise every record's topics: read the page's own
        columns = ", ".join("e." + c for c in TABLE_COLUMNS if c != "topics")
        df = _frame(db, f"SELECT {columns} FROM evidence e WHERE e.pmid IN (SELECT value FROM json_each(?))", wanted)
        df = df.set_index("pmid").loc[page].reset_index() if len(df) else df
        topics: dict[int, list[str]] = {}
        for pmid, topic in db.execute(f"SELECT DISTINCT pmid, topic FROM {topic_rows(db)} "
                                      f"WHERE pmid IN (SELECT value FROM json_each(?)) ORDER BY pmid, topic", wanted):
            topics.setdefault(pmid, []).append(topic)
        df.insert(TABLE_COLUMNS.index("topics"), "topics", [topics.get(int(p), []) for p in df["pmid"]])
    df["pubmed_url"] = [PUBMED_URL.format(pmid=p) for p in df["pmid"]]
    df["doi_url"] = [DOI_URL.format(doi=d) if d else None for d in df["doi"]]
    return df


def least_confident(db: sqlite_utils.Database, f: Filters = Filters(), n: int = 25) -> pd.DataFrame:
    cond, params = where(f)
    return _frame(db, f"SELECT e.pmid, e.title, e.machine_study_type AS study_type, e.study_type_confidence, "
                      f"e.study_type_evidence, e.curated FROM evidence e WHERE {cond} "
                      f"AND e.study_type_confidence IS NOT NULL "
                      f"ORDER BY e.study_type_confidence ASC, e.pmid LIMIT ?", params + [n])


def record_detail(db: sqlite_utils.Database, pmid: int) -> dict[str, Any] | None:
    """One record in full: its fields, its labels with evidence and confidence, its topics with
    the evidence for each, any curation, and its corrections and retractions."""
    rows = list(db.query("SELECT * FROM articles WHERE pmid = ?", [pmid]))
    if not rows:
        return None
    rec = rows[0]
    for name in ("abstract_sections", "authors", "languages", "publication_types", "mesh", "keywords",
                 "comments_corrections", "notes"):
        rec[name] = json.loads(rec[name]) if rec[name] else []
    labels = list(db.query("SELECT * FROM evidence WHERE pmid = ?", [pmid]))
    rec["labels"] = labels[0] if labels else None
    rec["topic_evidence"] = list(db.query(
        "SELECT topic, source, score, evidence FROM effective_topics WHERE pmid = ? ORDER BY score DESC", [pmid]))
    curation = list(db.query("SELECT * FROM curations WHERE pmid = ?", [pmid]))
    rec["curation"] = curation[0] if curation else None
    for link in rec["comments_corrections"]:
        if link.get("pmid"):
            found = db.execute("SELECT title FROM articles WHERE pmid = ?", [link["pmid"]]).fetchone()
            link["title"] = found[0] if found else None
    rec["pubmed_url"] = PUBMED_URL.format(pmid=pmid)
    rec["doi_url"] = DOI_URL.format(doi=rec["doi"]) if rec.get("doi") else None
    return rec


# --------------------------------------------------------------------------- exports


#: Tabular exports begin with these columns, in this order; the rest follow.
EXPORT_FIRST = ["pmid", "title", "year", "journal", "study_type", "study_type_confidence", "topics",
                "sample_size", "doi", "pubmed_url"]


def export_rows(db: sqlite_utils.Database, f: Filters = Filters(), batch: int = 2000) -> Iterable[dict[str, Any]]:
    """Every filtered record as a flat dict (lists kept as lists), streamed in PMID order."""
    cond, params = where(f)
    last = -1
    while True:
        cursor = db.execute(
            f"SELECT e.*, a.abstract, a.abstract_sections, a.authors, a.publication_types, a.mesh, a.keywords, "
            f"a.vernacular_title, a.issn, a.pub_date_raw, a.comments_corrections, a.notes, a.date_revised, "
            f"a.indexing_method FROM evidence e JOIN articles a ON a.pmid = e.pmid "
            f"WHERE {cond} AND e.pmid > ? ORDER BY e.pmid LIMIT ?", params + [last, batch])
        names = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
        if not rows:
            return
        for values in rows:
            row = dict(zip(names, values))
            for name in ("topics", "languages", "abstract_sections", "authors", "publication_types", "mesh",
                         "keywords", "comments_corrections", "notes"):
                row[name] = json.loads(row[name]) if row[name] else []
            yield row
        last = rows[-1][0]


# --------------------------------------------------------------------------- PubMed's own labels


def medline_labels(db: sqlite_utils.Database, f: Filters = Filters()) -> pd.DataFrame:
    """The filtered MEDLINE-indexed records (those PubMed's indexers gave publication types),
    with those types (a list) beside the tagger's design: pmid, title, publication_types,
    indexing_method, machine_study_type, study_type_confidence. For checking the tagger
    against PubMed's labels (``ingest.evaluate.pubmed_design`` maps the types to a design)."""
    cond, params = where(f)
    df = _frame(db, f"SELECT e.pmid, e.title, a.publication_types, a.indexing_method, e.machine_study_type, "
                    f"e.study_type_confidence FROM evidence e JOIN articles a ON a.pmid = e.pmid "
                    f"WHERE {cond} AND e.citation_status = 'MEDLINE' ORDER BY e.pmid", params)
    df["publication_types"] = [json.loads(t) if t else [] for t in df["publication_types"]]
    return df
