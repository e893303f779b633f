"""Browse: the filtered records in a sortable, paginated table with PubMed and DOI links, a record
view, and downloads of the whole filtered table (built only when asked)."""

import streamlit as st

from dashboard import common, data, filters, record, text

ctx = common.context()
st.title("Browse records")
if common.empty_state(ctx):
    st.stop()

params = st.query_params
f = ctx.filters

# A claim's records (from the Claims page): ?claim=ID on top of the filters.
claim_id = params.get("claim")
if claim_id:
    claim = data.claim(claim_id)
    if claim is None:
        st.warning(f"There is no claim “{text.md(claim_id[:80])}” in the claims file; showing all records.")
        del params["claim"]
    else:
        f = data.claim_filters(ctx.db, ctx.token, claim.id, f)
        st.info(f"Records that speak to the claim **{text.md(claim.claim)}**.")
        st.button("Show all records again", key="clear_claim", on_click=common.drop_param, args=("claim",))

# The count and the page of rows are read side by side (the widgets below keep their state).
sort = st.session_state.get("browse_sort", "year")
descending = st.session_state.get("browse_desc", True)
page = st.session_state.get("browse_page", 1)
n, rows = data.browse_page(ctx.db, ctx.token, f, sort, descending, page) if f is not None else (0, None)
pages = max(1, -(-n // data.PAGE_SIZE))
if page > pages:  # fewer records than before: back to the first page
    st.session_state["browse_page"] = page = 1
    n, rows = data.browse_page(ctx.db, ctx.token, f, sort, descending, page)
st.caption(f"**{n:,}** records: {filters.describe(ctx.filters)}.")

# The record view: ?record=PMID, set by a click on a row or the PMID box.
wanted = params.get("record")
if wanted and wanted.isdigit():
    rec = data.record_detail(ctx.db, ctx.token, int(wanted))
    with st.container(border=True):
        if rec is None:
            st.warning(f"PMID {wanted} is not in this database.")
        else:
            record.show(rec)
        st.button("Close the record", key="close_record", on_click=common.drop_param, args=("record",))

if common.no_match(n):
    st.stop()

c1, c2, c3 = st.columns([2, 1, 2])
c1.selectbox("Sort by", list(data.SORT_LABELS), format_func=data.SORT_LABELS.get, key="browse_sort")
c2.toggle("Descending", value=True, key="browse_desc")
c3.number_input(f"Page (of {pages:,}, {data.PAGE_SIZE} records each)", min_value=1, max_value=pages, step=1,
                key="browse_page")
table_key = f"browse_table_{hash((f, sort, descending, page)) & 0xFFFFFFFF:x}"
common.records_table(rows, key=table_key, on_pick=common.open_picked)
st.caption(f"Records {(page - 1) * data.PAGE_SIZE + 1:,}–{(page - 1) * data.PAGE_SIZE + len(rows):,} of {n:,}. "
           "Click a row to open the record; the column headers sort this page.")
with st.form("open_pmid", border=False):
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.text_input("Open a record by PMID", key="browse_pmid", max_chars=12)
    c2.form_submit_button("Open", on_click=common.open_typed, args=("browse_pmid",))
if st.session_state.get("browse_pmid_wrong"):
    st.warning("A PMID is a number, such as 33573427.")

st.subheader("Download this table")
st.caption(f"All {n:,} filtered records with every column (abstract, authors, MeSH, labels and their evidence). "
           "The file is built when you ask for it.")
download = data.export_key(ctx.db, ctx.token, f)
for column, (fmt, label) in zip(st.columns(len(data.DOWNLOADS)), data.DOWNLOADS.items()):
    with column:
        ready = st.session_state.get(f"download_{fmt}")
        if ready and ready[0] == download:
            st.download_button(f"Save {label} ({ready[2]:,} records)", ready[1], file_name=f"kratom-evidence.{fmt}",
                               mime=data.media_type(fmt), key=f"save_{fmt}", icon=":material/download:")
        elif st.button(f"Prepare {label}", key=f"prepare_{fmt}"):
            with st.spinner(f"Building the {label} file…"):
                st.session_state[f"download_{fmt}"] = (download, data.export_file(ctx.db, f, fmt), n)
            st.rerun()
if n > 20_000:
    st.caption(f"{n:,} records make a large file, built in memory (on a test machine a CSV of 100,000 records "
               "took about 9 s and 180 MB, Excel about 30 s per 50,000). For the whole database, "
               "`kratom-evidence export --format csv -o records.csv` writes straight to a file.")
