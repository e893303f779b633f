"""What every page shares: the run's context (database, filters), messages, and the records table."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import data
from ingest.query import Filters, design_label, topic_label

CTX_KEY = "_dashboard_context"

#: The pages, by file, as app.py registers them (url paths are what links use).
PAGES = {
    "overview": "views/overview.py",
    "evidence-map": "views/evidence_map.py",
    "claims": "views/claims.py",
    "browse": "views/browse.py",
    "data-quality": "views/data_quality.py",
}


@dataclass(frozen=True)
class Context:
    """What a page needs, built once per run by app.py."""

    path: Path
    token: data.Token
    filters: Filters  # as the query layer will use them (an unusable search left out)
    records: int      # records in the database, before any filter
    synthetic: bool

    @property
    def db(self) -> str:
        return str(self.path)


def context() -> Context:
    try:
        return st.session_state[CTX_KEY]
    except KeyError:
        raise RuntimeError("pages run inside dashboard/app.py, which sets up the database and filters") from None


# --------------------------------------------------------------------------- messages

HOW_TO_INGEST = """\
**How to fill it**

- Real PubMed records: export a search from PubMed as XML (or MEDLINE text) and run
  `kratom-evidence ingest file pubmed_result.xml --db {path}`
- The offline demo (300 synthetic records): `make demo`, or `kratom-evidence demo --db demo.db`
  and then `kratom-evidence dashboard --db demo.db`

Reload this page afterwards; the dashboard reads the database as it is now.
"""


def synthetic_banner() -> None:
    st.warning("**Synthetic demo data.** These records were written by the kratom-evidence project to show how "
               "the dashboard works. They are not real publications and say nothing about kratom.",
               icon=":material/science:")


def problem(status: data.Status, path: Path) -> None:
    """The database is missing, older or unusable: say so, and what to do."""
    if status.state == "missing":
        st.title("No evidence database yet")
        st.info(f"{status.message} The dashboard reads a database that `kratom-evidence` builds.")
        st.markdown(HOW_TO_INGEST.format(path=path))
    elif status.state == "older":
        st.title("This database needs an upgrade")
        st.error(status.message)
        st.markdown(f"Upgrade it (the records are kept):\n\n```sh\nkratom-evidence migrate --db {path}\n```\n\n"
                    "then reload this page.")
    else:
        st.title("This database cannot be read")
        st.error(status.message)
        st.markdown(HOW_TO_INGEST.format(path=path))


def empty_state(ctx: Context) -> bool:
    """True (after saying so) when there is nothing to show: no records at all, or none match."""
    if ctx.records == 0:
        st.info("**This database holds no records yet.**", icon=":material/inbox:")
        st.markdown(HOW_TO_INGEST.format(path=ctx.path))
        return True
    return False


def no_match(n: int) -> bool:
    if n == 0:
        st.info("No records match these filters. Loosen them in the sidebar, or press **Reset filters**.")
        return True
    return False


# --------------------------------------------------------------------------- the records table

TABLE_CONFIG = {
    "pmid": st.column_config.NumberColumn("PMID", format="%d", width="small"),
    "title": st.column_config.TextColumn("Title", width="large"),
    "pub_year": st.column_config.NumberColumn("Year", format="%d", width="small"),
    "journal": st.column_config.TextColumn("Journal"),
    "design": st.column_config.TextColumn("Design"),
    "confidence": st.column_config.ProgressColumn("Confidence", min_value=0.0, max_value=1.0, format="%.2f",
                                                  width="small"),
    "topics": st.column_config.TextColumn("Topics"),
    "sample_size": st.column_config.NumberColumn("Participants", format="%d", width="small"),
    "retracted": st.column_config.CheckboxColumn("Retracted", width="small"),
    "pubmed_url": st.column_config.LinkColumn("PubMed", display_text="PubMed", width="small"),
    "doi_url": st.column_config.LinkColumn("DOI", display_text=r"https://doi\.org/(.*)"),
}


def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The query layer's records as the table shows them (labels, not codes)."""
    out = pd.DataFrame({
        "pmid": df["pmid"],
        "title": df["title"],
        "pub_year": df["pub_year"],
        "design": [design_label(c) for c in df["study_type"]],
        "topics": ["; ".join(topic_label(t) for t in ts) if ts else "not tagged yet" for ts in df["topics"]],
        "sample_size": df["sample_size"],
        "confidence": df["study_type_confidence"],
        "journal": df["journal"],
        "retracted": df["is_retracted"].astype(bool),
        "pubmed_url": df["pubmed_url"],
        "doi_url": df["doi_url"],
    })
    return out


def records_table(df: pd.DataFrame, key: str, on_pick: Callable[[str, list[int]], None] | None = None):
    """Show records with PubMed and DOI links; with ``on_pick``, a row click calls it with the
    table's key and the PMIDs shown (before the rerun, so what it writes to the URL stays)."""
    frame = table_frame(df)
    kwargs = {}
    if on_pick is not None:
        kwargs = dict(on_select=functools.partial(on_pick, key, [int(p) for p in df["pmid"]]),
                      selection_mode="single-row")
    return st.dataframe(frame, hide_index=True, column_config=TABLE_CONFIG, key=key, width="stretch", **kwargs)


# Callbacks: they run before the script, so the query string they change reaches the browser
# (a change followed by st.rerun() does not).


def drop_param(name: str) -> None:
    if name in st.query_params:
        del st.query_params[name]


def open_picked(key: str, pmids: list[int]) -> None:
    """A row was clicked: show its record (?record=PMID)."""
    rows = st.session_state[key].selection.rows
    if rows:
        st.query_params["record"] = str(pmids[rows[0]])


def open_typed(key: str) -> None:
    """The PMID box was submitted: show that record, or say what a PMID looks like."""
    typed = (st.session_state.get(key) or "").strip()
    st.session_state[f"{key}_wrong"] = bool(typed) and not typed.isdigit()
    if typed.isdigit():
        st.query_params["record"] = typed


def fmt_int(n) -> str:
    return f"{int(n):,}" if n is not None and not pd.isna(n) else "–"
