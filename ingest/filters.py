"""The filters every reader shares, and the SQL they become.

One :class:`Filters` value (years, designs, topics, journals, languages, has abstract,
include retracted, full-text search) is what the dashboard's widgets, the command line's
options and a notebook's arguments all produce; :func:`where` turns it into the same SQL
conditions over the ``evidence`` view for all of them. (Kept apart from :mod:`ingest.query`
so that the command line can build filters without loading pandas.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import EvidenceError
from .taxonomy import DESIGN_CODES

MAX_SEARCH_CHARS = 300
NOT_TAGGED = "not tagged yet"


class SearchError(EvidenceError):
    """The search text cannot be used; the message says why in words a reader understands."""


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What a reader chose: every field empty means everything (retracted records left out)."""

    year_min: int | None = None
    year_max: int | None = None
    designs: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    journals: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    has_abstract: bool | None = None
    include_retracted: bool = False
    search: str = ""
    pmids: tuple[int, ...] = ()
    first_run_after: int | None = None  # records first stored after this run (what is new)
    first_run: int | None = None        # records first stored by this run
    first_seen_since: str | None = None  # records first stored on or after this ISO date

    def with_(self, **changes: Any) -> "Filters":
        return replace(self, **changes)

    # ------------------------------------------------------------ URL query strings
    def to_params(self) -> dict[str, str]:
        """The filters as URL query parameters (lists comma-joined; defaults left out)."""
        params: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            # Identity and type, not equality: 0 == False, and a year or run number 0 is a value.
            empty = value is None or value == "" or value == () or (value is False and f.name == "include_retracted")
            if empty:
                continue
            if isinstance(value, tuple):
                params[f.name] = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                params[f.name] = "1" if value else "0"
            else:
                params[f.name] = str(value)
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "Filters":
        """Read filters back from URL parameters; anything unreadable is ignored, not fatal."""
        def one(name: str) -> str | None:
            value = params.get(name)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            return str(value) if value not in (None, "") else None

        def many(name: str) -> tuple[str, ...]:
            value = one(name)
            return tuple(v for v in (value or "").split(",") if v)

        def integer(name: str) -> int | None:
            value = one(name)
            return int(value) if value and re.fullmatch(r"-?\d{1,6}", value) else None

        flag = one("has_abstract")
        return cls(
            year_min=integer("year_min"),
            year_max=integer("year_max"),
            designs=tuple(d for d in many("designs") if d in DESIGN_CODES or d == NOT_TAGGED),
            topics=many("topics"),
            journals=many("journals"),
            languages=many("languages"),
            has_abstract=None if flag is None else flag == "1",
            include_retracted=one("include_retracted") == "1",
            search=(one("search") or "")[: MAX_SEARCH_CHARS * 2],
            pmids=tuple(int(p) for p in many("pmids") if p.isdigit()),
            first_run_after=integer("first_run_after"),
            first_run=integer("first_run"),
            first_seen_since=one("first_seen_since") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", one("first_seen_since") or "") else None,
        )


def fts_query(text: str) -> str | None:
    """User text as a safe FTS5 query: each word quoted (so quotes, hyphens and operators are
    just words), all words required, a trailing * kept as a prefix search. None: nothing to find."""
    text = (text or "").strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise SearchError(f"the search text is {len(text)} characters long; use at most {MAX_SEARCH_CHARS}")
    words = re.findall(r"[^\W_](?:[\w'.-]*[^\W_])?\*?", text)
    terms = []
    for word in words[:30]:
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms) or None


def where(f: Filters, alias: str = "e") -> tuple[str, list[Any]]:
    """SQL conditions over the ``evidence`` view (aliased ``alias``) and their parameters."""
    a = alias
    conds: list[str] = []
    params: list[Any] = []

    def among(values: tuple | list) -> str:
        """'?,?,?' for ``values``, whose values join the parameters."""
        params.extend(values)
        return ",".join("?" * len(values))

    if not f.include_retracted:
        conds.append(f"{a}.is_retracted = 0")
    if f.year_min is not None:
        conds.append(f"{a}.pub_year >= ?")
        params.append(f.year_min)
    if f.year_max is not None:
        conds.append(f"{a}.pub_year <= ?")
        params.append(f.year_max)
    if f.designs:
        designs = [d for d in f.designs if d != NOT_TAGGED]
        parts = []
        if designs:
            parts.append(f"{a}.study_type IN ({among(designs)})")
        if NOT_TAGGED in f.designs:
            parts.append(f"{a}.study_type IS NULL")
        conds.append("(" + " OR ".join(parts) + ")")
    if f.topics:
        # An uncorrelated IN (SELECT ...) is evaluated once; a correlated EXISTS let SQLite's
        # planner rescan effective_topics for every row (500 s on 100,000 records).
        conds.append(f"{a}.pmid IN (SELECT x.pmid FROM effective_topics x WHERE x.topic IN ({among(f.topics)}))")
    if f.journals:
        conds.append(f"{a}.journal IN ({among(f.journals)})")
    if f.languages:
        conds.append(f"EXISTS (SELECT 1 FROM json_each({a}.languages) l WHERE l.value IN ({among(f.languages)}))")
    if f.has_abstract is not None:
        conds.append(f"{a}.has_abstract = ?")
        params.append(int(f.has_abstract))
    if f.search:
        match = fts_query(f.search)
        if match:
            conds.append(f"{a}.pmid IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?)")
            params.append(match)
    if f.pmids:
        conds.append(f"{a}.pmid IN ({among(f.pmids)})")
    if f.first_run_after is not None:
        conds.append(f"{a}.first_run_id > ?")
        params.append(f.first_run_after)
    if f.first_run is not None:
        conds.append(f"{a}.first_run_id = ?")
        params.append(f.first_run)
    if f.first_seen_since:
        conds.append(f"{a}.first_seen >= ?")
        params.append(f.first_seen_since)
    return (" AND ".join(conds) or "1"), params
