"""The kratom-evidence dashboard: ``kratom-evidence dashboard`` (or
``streamlit run dashboard/app.py -- --db PATH``).

Checks the database, draws the filters (kept in the URL), and hands each page a
:class:`~dashboard.common.Context`. The pages in ``views/`` are thin; the numbers come from
``ingest.query`` through ``dashboard.data``.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import streamlit as st

from dashboard import common, data, filters

# A local favicon: a material-icon one (st.Page icons too) makes the browser fetch it from Google.
st.set_page_config(page_title="Kratom evidence", page_icon=str(Path(__file__).with_name("favicon.png")), layout="wide")

path = data.db_path_from(sys.argv[1:])
status = data.check(path)
if status.state != "ok":
    common.problem(status, path)
    st.stop()

token = data.state_token(path)
facts = data.database_facts(str(path), token)
totals = facts["totals"]
choices = filters.Choices.from_options(facts["options"])
search = filters.sidebar(choices)
ctx = common.Context(path=path, token=token, filters=search.filters, records=totals["records"],
                     synthetic=facts["synthetic"])
st.session_state[common.CTX_KEY] = ctx

st.sidebar.caption(f"Database: {data.db_stats_line(path)}, {totals['records']:,} records")
if ctx.synthetic:
    common.synthetic_banner()

page = st.navigation([
    st.Page(common.PAGES["overview"], title="Overview", icon=":material/dashboard:", default=True),
    st.Page(common.PAGES["evidence-map"], title="Evidence map", icon=":material/grid_on:"),
    st.Page(common.PAGES["claims"], title="Claims", icon=":material/forum:"),
    st.Page(common.PAGES["browse"], title="Browse records", icon=":material/search:"),
    st.Page(common.PAGES["data-quality"], title="Data quality", icon=":material/fact_check:"),
])
try:
    page.run()
except sqlite3.Error as exc:  # locked for longer than the busy timeout, damaged, replaced while read...
    st.error(f"Reading `{path}` failed: {exc}. Reload the page; if it keeps failing, check the file with "
             f"`kratom-evidence stats --db {path}`.")
