"""The run digest: what is new in the evidence base, in Markdown (or HTML), for a person to read.

For the last successful run (or a given run, or everything first stored since a date): how
many records are new, by design and by topic, then the new randomized trials and systematic
reviews first, then the rest by design, each with title, journal, year and links. A scheduled
job mails or posts it (``kratom-evidence digest | mail -s "Kratom evidence" team@example.org``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd
import sqlite_utils

from .errors import EvidenceError
from .query import DOI_URL, PUBMED_URL, Filters, design_label, is_synthetic_demo, records, topic_label
from .taxonomy import DESIGN_CODES

HIGHLIGHT = ("randomized_trial", "systematic_review")


@dataclass
class Item:
    pmid: int
    title: str
    journal: str | None
    year: int | None
    design: str | None
    topics: list[str]
    doi: str | None
    retracted: bool
    sample_size: int | None


@dataclass
class Digest:
    period: str
    synthetic: bool
    total: int
    by_design: list[tuple[str, int]]
    by_topic: list[tuple[str, int]]
    sections: list[tuple[str, list[Item]]] = field(default_factory=list)


def build(db: sqlite_utils.Database, *, run_id: int | None = None, since: str | None = None,
          base: Filters = Filters()) -> Digest:
    """The digest for a run (default: the last successful one) or for all records since a date."""
    if since:
        filters = base.with_(first_seen_since=since)
        period = f"first stored on or after {since}"
    else:
        if run_id is None:
            row = db.execute("SELECT id, finished_at FROM runs WHERE status = 'success' ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                raise EvidenceError("no successful ingestion yet: nothing to digest (try --since DATE)")
            run_id, finished = row
        else:
            row = db.execute("SELECT finished_at FROM runs WHERE id = ?", [run_id]).fetchone()
            if row is None:
                raise EvidenceError(f"there is no run {run_id} in this database")
            finished = row[0]
        filters = base.with_(first_run=run_id)
        period = f"new in run {run_id}" + (f", finished {finished}" if finished else "")
    df = records(db, filters, sort="year", descending=True)

    def text(value) -> str | None:  # pandas gives NaN for a missing text value
        return value if isinstance(value, str) and value else None

    items = [Item(int(r.pmid), text(r.title) or "(untitled)", text(r.journal),
                  None if pd.isna(r.pub_year) else int(r.pub_year), text(r.study_type), list(r.topics),
                  text(r.doi), bool(r.is_retracted), None if pd.isna(r.sample_size) else int(r.sample_size))
             for r in df.itertuples()]
    by_design = [(design_label(code), sum(1 for i in items if i.design == code)) for code in DESIGN_CODES]
    by_design = [(label, n) for label, n in by_design if n]
    untagged = sum(1 for i in items if i.design is None)
    if untagged:
        by_design.append((design_label(None), untagged))
    topic_counts: dict[str, int] = {}
    for item in items:
        for t in item.topics:
            topic_counts[t] = topic_counts.get(t, 0) + 1
    by_topic = sorted(((topic_label(t), n) for t, n in topic_counts.items()), key=lambda kv: (-kv[1], kv[0]))
    digest = Digest(period, is_synthetic_demo(db), len(items), by_design, by_topic)
    for code in HIGHLIGHT:
        chosen = [i for i in items if i.design == code]
        if chosen:
            digest.sections.append((f"New {design_label(code).lower()}s", chosen))
    for code in [c for c in DESIGN_CODES if c not in HIGHLIGHT] + [None]:
        chosen = [i for i in items if i.design == code]
        if chosen:
            digest.sections.append((design_label(code), chosen))
    return digest


def _line_md(i: Item) -> str:
    bits = [f"**{i.title.strip()}**"]
    source = ", ".join(str(x) for x in (i.journal, i.year) if x)
    if source:
        bits.append(source)
    links = [f"[PMID {i.pmid}]({PUBMED_URL.format(pmid=i.pmid)})"]
    if i.doi:
        links.append(f"[doi:{i.doi}]({DOI_URL.format(doi=i.doi)})")
    bits.append(" · ".join(links))
    extra = []
    if i.topics:
        extra.append("topics: " + ", ".join(topic_label(t) for t in i.topics))
    if i.sample_size:
        extra.append(f"{i.sample_size:,} participants")
    if i.retracted:
        extra.append("**RETRACTED**")
    return "- " + ". ".join(bits) + (f" ({'; '.join(extra)})" if extra else "")


def to_markdown(d: Digest) -> str:
    out = ["# Kratom evidence: what is new", "", f"{d.total} new record{'s' if d.total != 1 else ''} ({d.period})."]
    if d.synthetic:
        out += ["", "> **Synthetic demo data**: these records were written by the kratom-evidence project, "
                    "not taken from PubMed."]
    if d.total:
        out += ["", "| Study design | New |", "|---|---:|"] + [f"| {label} | {n} |" for label, n in d.by_design]
        if d.by_topic:
            out += ["", "| Topic | New |", "|---|---:|"] + [f"| {label} | {n} |" for label, n in d.by_topic]
        for heading, items in d.sections:
            out += ["", f"## {heading}", ""] + [_line_md(i) for i in items]
    return "\n".join(out) + "\n"


def to_html(d: Digest) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>Kratom evidence: what is new</title></head><body>",
             "<h1>Kratom evidence: what is new</h1>",
             f"<p>{d.total} new record{'s' if d.total != 1 else ''} ({e(d.period)}).</p>"]
    if d.synthetic:
        parts.append("<p><strong>Synthetic demo data</strong>: these records were written by the kratom-evidence "
                     "project, not taken from PubMed.</p>")
    if d.total:
        for caption, rows in (("Study design", d.by_design), ("Topic", d.by_topic)):
            if rows:
                parts.append(f"<table><thead><tr><th>{caption}</th><th>New</th></tr></thead><tbody>"
                             + "".join(f"<tr><td>{e(label)}</td><td>{n}</td></tr>" for label, n in rows)
                             + "</tbody></table>")
        for heading, items in d.sections:
            parts.append(f"<h2>{e(heading)}</h2><ul>")
            for i in items:
                source = ", ".join(e(str(x)) for x in (i.journal, i.year) if x)
                links = f'<a href="{e(PUBMED_URL.format(pmid=i.pmid))}">PMID {i.pmid}</a>'
                if i.doi:
                    links += f' · <a href="{e(DOI_URL.format(doi=i.doi))}">doi:{e(i.doi)}</a>'
                extra = []
                if i.topics:
                    extra.append("topics: " + ", ".join(e(topic_label(t)) for t in i.topics))
                if i.sample_size:
                    extra.append(f"{i.sample_size:,} participants")
                if i.retracted:
                    extra.append("<strong>RETRACTED</strong>")
                parts.append(f"<li><strong>{e(i.title.strip())}</strong>. {source}. {links}"
                             + (f" ({'; '.join(extra)})" if extra else "") + "</li>")
            parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
