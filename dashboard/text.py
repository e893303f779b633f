"""Words for the numbers: plain functions that turn the query layer's results into sentences."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ingest.query import Filters, design_label, topic_label
from ingest.taxonomy import HUMAN_DESIGNS


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$])")


def md(value: Any) -> str:
    """Text from a record, safe inside Markdown: no accidental emphasis, links, HTML or LaTeX ($)."""
    return _MD_SPECIAL.sub(r"\\\1", str(value)) if value is not None else ""


@dataclass(frozen=True)
class Metric:
    label: str
    value: str
    help: str
    link: dict[str, str] | None = None
    link_label: str = ""


def headline_metrics(o: dict[str, Any], f: Filters = Filters()) -> list[Metric]:
    """Records, human studies, randomized trials, new in the last run, the last ingestion."""
    last = o["last_run"]
    human = f.with_(designs=tuple(sorted(HUMAN_DESIGNS)))
    metrics = [
        Metric("Records", f"{o['records']:,}",
               "Records matching the filters" + (f"; {o['retracted_left_out']:,} retracted records left out"
                                                 if o["retracted_left_out"] else "") + "."),
        Metric("Human studies", f"{o['human_studies']:,}",
               "Trials, observational studies, surveys, qualitative studies and case reports: the designs "
               f"with human participants of their own ({o['participants']:,} participants where stated).",
               human.to_params(), "see them"),
        Metric("Randomized trials", f"{o['randomized_trials']:,}",
               "Human studies that assigned people to arms at random.",
               f.with_(designs=("randomized_trial",)).to_params(), "see them"),
        Metric("New in the last run", f"{o['new_in_last_run']:,}",
               "Records first stored by the last successful ingestion.",
               f.with_(first_run_after=last["id"] - 1).to_params() if last else None, "see them"),
        Metric("Last ingestion", ago(last["finished_at"]) if last else "never",
               run_line(last) if last else "No ingestion has finished successfully yet."),
    ]
    return metrics


def _parse(iso: str) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def ago(iso: str | None, now: dt.datetime | None = None) -> str:
    """'today', 'yesterday', '12 days ago' ('unknown' when there is no readable time)."""
    t = _parse(iso) if iso else None
    if t is None:
        return "unknown"
    now = now or dt.datetime.now(dt.timezone.utc)
    days = (now.astimezone(dt.timezone.utc).date() - t.astimezone(dt.timezone.utc).date()).days  # calendar days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days:,} days ago"


def when(iso: str | None, now: dt.datetime | None = None) -> str:
    """'2026-03-01 (3 days ago)'."""
    t = _parse(iso) if iso else None
    if t is None:
        return iso or "unknown"
    return f"{t:%Y-%m-%d} ({ago(iso, now)})"


def run_line(run: dict[str, Any]) -> str:
    source = run.get("source") or "ingestion"
    what = run.get("query") or ""
    return (f"Run {run['id']} ({source}{': ' + what if what else ''}), finished {when(run.get('finished_at'))}: "
            f"{run.get('found', 0):,} records found, {run.get('new', 0):,} new, {run.get('updated', 0):,} updated.")


def last_run_line(run: dict[str, Any] | None) -> str:
    if not run:
        return "No ingestion has finished successfully yet."
    return "Last successful ingestion: " + run_line(run)


def untagged_note(not_tagged: int, records: int) -> str:
    if not_tagged >= records:
        return ("Study designs: not tagged yet. Run `kratom-evidence retag` to tag the stored records; "
                "until then every record counts as “not tagged yet”.")
    return (f"{not_tagged:,} of these {records:,} records are not tagged yet (`kratom-evidence retag` tags them); "
            "they count as “not tagged yet”.")


def strongest_sentence(row: Any) -> str:
    """'Pain: the strongest evidence is 3 randomized trials (... in all).' for a topic summary row."""
    if row.strongest_design is None:
        return f"**{row.topic_label}**: study designs not tagged yet ({row.records:,} records)."
    summary = row.summary[0].upper() + row.summary[1:]
    return f"**{row.topic_label}**: strongest evidence: **{row.strongest.lower()}**. {summary}."


def claim_line(row: Any) -> str:
    """One line a reader understands: the strongest evidence, what the records are, the newest."""
    if not row.records:
        return "No records in this database speak to this claim (with these filters)."
    newest = f" Newest: {row.newest_year}." if row.newest_year else ""
    return f"Strongest evidence: **{row.strongest.lower()}**. {row.summary[0].upper()}{row.summary[1:]}.{newest}"


def flagged_line(flagged: list[dict]) -> str | None:
    if not flagged:
        return None
    retracted = sum(1 for r in flagged if r["retracted"])
    corrected = sum(1 for r in flagged if r["corrected"] and not r["retracted"])
    parts = []
    if retracted:
        parts.append(f"{retracted} retracted")
    if corrected:
        parts.append(f"{corrected} corrected or with an expression of concern")
    return "Among its records: " + " and ".join(parts) + "."


def cell_title(topic: str, design: str | None, records: int, participants: int) -> str:
    people = f", {participants:,} participants" if participants else ""
    return f"{topic_label(topic)} × {design_label(design)}: {records:,} records{people}"


def confidence_word(c: float | None) -> str:
    if c is None or pd.isna(c):
        return "no confidence stored"
    return "high" if c >= 0.8 else "medium" if c >= 0.5 else "low"
