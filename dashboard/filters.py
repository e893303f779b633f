"""The sidebar filters, kept in the URL query string so that any view can be shared and bookmarked.

The URL speaks :meth:`ingest.query.Filters.to_params` (the query layer's own format). On each
run the URL wins when it carries filters that differ from the ones this session last wrote
(a shared link, a drill-down, an edited address); otherwise the widgets win and the URL is
rewritten from them, so that page changes (which may drop the query string) keep the filters.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

import streamlit as st

from ingest.query import NOT_TAGGED, Filters, SearchError, design_label, fts_query, topic_label
from ingest.taxonomy import DESIGN_CODES, TOPIC_CODES

FILTER_PARAMS = frozenset(f.name for f in fields(Filters))
#: At most this many PMIDs from a URL (SQLite takes at most 32,766 values in one statement).
MAX_PMIDS = 30_000
ABSTRACT_CHOICES = {"any": "with or without", "yes": "with an abstract", "no": "without an abstract"}

# Session-state keys of the filter widgets.
K_YEARS, K_DESIGNS, K_TOPICS = "f_years", "f_designs", "f_topics"
K_JOURNALS, K_LANGUAGES, K_ABSTRACT = "f_journals", "f_languages", "f_abstract"
K_RETRACTED, K_SEARCH = "f_retracted", "f_search"
K_PMIDS, K_NEW = "f_pmids", "f_first_run_after"
K_WRITTEN = "_filters_written"


@dataclass(frozen=True)
class Choices:
    """What the filter widgets can offer, from :func:`ingest.query.filter_options`."""

    year_min: int | None
    year_max: int | None
    designs: tuple[str, ...]
    topics: tuple[str, ...]
    journals: tuple[str, ...]
    languages: tuple[str, ...]

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "Choices":
        topics = tuple(TOPIC_CODES) + tuple(t for t in options.get("topics", []) if t not in TOPIC_CODES)
        return cls(options.get("year_min"), options.get("year_max"), tuple(DESIGN_CODES) + (NOT_TAGGED,),
                   topics, tuple(options.get("journals", [])), tuple(options.get("languages", [])))


def url_filters(params: Mapping[str, Any]) -> Filters:
    return Filters.from_params({k: v for k, v in params.items() if k in FILTER_PARAMS})


def sanitise(f: Filters, choices: Choices) -> Filters:
    """Keep only what the widgets can show: known codes, journals present, years in range."""
    lo, hi = choices.year_min, choices.year_max
    year_min, year_max = f.year_min, f.year_max
    if lo is not None and hi is not None:
        year_min = None if year_min is None or year_min <= lo else min(year_min, hi)
        year_max = None if year_max is None or year_max >= hi else max(year_max, lo)
        if year_min is not None and year_max is not None and year_min > year_max:
            year_min, year_max = year_max, year_min
    return f.with_(
        year_min=year_min, year_max=year_max,
        designs=tuple(d for d in f.designs if d in choices.designs),
        topics=tuple(t for t in f.topics if t in choices.topics),
        journals=tuple(j for j in f.journals if j in choices.journals),
        languages=tuple(lang for lang in f.languages if lang in choices.languages),
        pmids=f.pmids[:MAX_PMIDS],
    )


def to_widgets(f: Filters, choices: Choices, state: MutableMapping[str, Any]) -> None:
    """Set the widgets' session state from filters (a URL, a drill-down, a reset)."""
    if choices.year_min is not None and choices.year_max is not None:
        state[K_YEARS] = (f.year_min if f.year_min is not None else choices.year_min,
                          f.year_max if f.year_max is not None else choices.year_max)
    state[K_DESIGNS] = list(f.designs)
    state[K_TOPICS] = list(f.topics)
    state[K_JOURNALS] = list(f.journals)
    state[K_LANGUAGES] = list(f.languages)
    state[K_ABSTRACT] = "any" if f.has_abstract is None else ("yes" if f.has_abstract else "no")
    state[K_RETRACTED] = f.include_retracted
    state[K_SEARCH] = f.search
    state[K_PMIDS] = tuple(f.pmids)
    state[K_NEW] = f.first_run_after


def from_widgets(state: Mapping[str, Any], choices: Choices) -> Filters:
    years = state.get(K_YEARS)
    year_min = year_max = None
    if years and choices.year_min is not None and choices.year_max is not None:
        year_min = years[0] if years[0] > choices.year_min else None
        year_max = years[1] if years[1] < choices.year_max else None
    flag = state.get(K_ABSTRACT, "any")
    return Filters(
        year_min=year_min, year_max=year_max,
        designs=tuple(state.get(K_DESIGNS) or ()), topics=tuple(state.get(K_TOPICS) or ()),
        journals=tuple(state.get(K_JOURNALS) or ()), languages=tuple(state.get(K_LANGUAGES) or ()),
        has_abstract=None if flag == "any" else flag == "yes",
        include_retracted=bool(state.get(K_RETRACTED)),
        search=(state.get(K_SEARCH) or "").strip(),
        pmids=tuple(state.get(K_PMIDS) or ()), first_run_after=state.get(K_NEW),
    )


def write_url(f: Filters, params: MutableMapping[str, Any]) -> None:
    """Replace the filter parameters of the query string, leaving the page's own ones alone."""
    wanted = f.to_params()
    for key in [k for k in params if k in FILTER_PARAMS and k not in wanted]:
        del params[key]
    for key, value in wanted.items():
        if params.get(key) != value:
            params[key] = value


@dataclass(frozen=True)
class Search:
    """The search box as the query layer will use it, and what to tell the reader about it."""

    filters: Filters
    message: str | None = None


def checked_search(f: Filters) -> Search:
    """Whatever a user typed either works or becomes a friendly message (never a traceback)."""
    if not f.search:
        return Search(f)
    try:
        match = fts_query(f.search)
    except SearchError as exc:
        return Search(f.with_(search=""), f"The search was not applied: {exc}.")
    if match is None:
        return Search(f.with_(search=""), "The search has no words to look for (only punctuation or "
                                          "operators), so it was not applied.")
    return Search(f)


def reset(choices: Choices) -> None:
    to_widgets(Filters(), choices, st.session_state)


def sidebar(choices: Choices) -> Search:
    """Draw the filters in the sidebar, sync them with the URL, and return what to query with."""
    state = st.session_state
    from_url = url_filters(st.query_params.to_dict())
    has_url_filters = any(k in FILTER_PARAMS for k in st.query_params)
    if K_WRITTEN not in state or (has_url_filters and from_url != state[K_WRITTEN]):
        to_widgets(sanitise(from_url, choices), choices, state)

    bar = st.sidebar
    bar.header("Filters")
    bar.text_input("Search title, abstract, keywords", key=K_SEARCH,
                   placeholder="e.g. withdrawal, hepatotox*, \"7-hydroxymitragynine\"",
                   help="All words must appear; end a word with * to match its beginning. "
                        "Quotes, hyphens and operators are treated as plain words.")
    if choices.year_min is not None and choices.year_max is not None and choices.year_min < choices.year_max:
        bar.slider("Publication years", choices.year_min, choices.year_max, key=K_YEARS)
    bar.multiselect("Study designs", choices.designs, key=K_DESIGNS, format_func=design_label_or_untagged)
    bar.multiselect("Topics", choices.topics, key=K_TOPICS, format_func=topic_label)
    bar.multiselect("Journals", choices.journals, key=K_JOURNALS)
    bar.multiselect("Languages", choices.languages, key=K_LANGUAGES)
    bar.selectbox("Abstract", list(ABSTRACT_CHOICES), key=K_ABSTRACT, format_func=ABSTRACT_CHOICES.get)
    bar.toggle("Include retracted records", key=K_RETRACTED)
    if state.get(K_PMIDS):
        bar.info(f"Only {len(state[K_PMIDS]):,} chosen records (from a drill-down).")
        bar.button("Show all records again", on_click=_clear, args=(K_PMIDS, ()), key="clear_pmids")
    if state.get(K_NEW) is not None:
        bar.info(f"Only records first stored after ingestion run {state[K_NEW]}.")
        bar.button("Show all records again", on_click=_clear, args=(K_NEW, None), key="clear_new")
    bar.button("Reset filters", on_click=reset, args=(choices,), key="reset_filters")

    f = from_widgets(state, choices)
    write_url(f, st.query_params)
    state[K_WRITTEN] = url_filters(f.to_params())  # as the URL will read back (a long search is cut)
    result = checked_search(f)
    if result.message:
        bar.warning(result.message)
    return result


def _clear(key: str, value: Any) -> None:
    st.session_state[key] = value


def design_label_or_untagged(code: str) -> str:
    return NOT_TAGGED.capitalize() if code == NOT_TAGGED else design_label(code)


def describe(f: Filters) -> str:
    """The active filters in one line: 'Randomized trial; Pain; 2015-2024; search "withdrawal"'."""
    parts = []
    if f.year_min is not None or f.year_max is not None:
        parts.append(f"{f.year_min or '…'}–{f.year_max or '…'}")
    if f.designs:
        parts.append(", ".join(design_label_or_untagged(d) for d in f.designs))
    if f.topics:
        parts.append(", ".join(topic_label(t) for t in f.topics))
    if f.journals:
        parts.append(", ".join(f.journals[:3]) + (f" and {len(f.journals) - 3} more" if len(f.journals) > 3 else ""))
    if f.languages:
        parts.append("languages " + ", ".join(f.languages))
    if f.has_abstract is not None:
        parts.append("with an abstract" if f.has_abstract else "without an abstract")
    if f.include_retracted:
        parts.append("retracted included")
    if f.search:
        parts.append(f"search “{f.search[:60]}”")
    if f.pmids:
        parts.append(f"{len(f.pmids):,} chosen records")
    if f.first_run_after is not None:
        parts.append(f"new since run {f.first_run_after}")
    return "; ".join(parts) or "all records (retracted ones left out)"


def link_params(f: Filters, **extra: str) -> dict[str, str]:
    """Query parameters for a link to a page showing these filters."""
    return {**f.to_params(), **extra}

