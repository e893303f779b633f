"""Overview: the numbers that answer the mission, the evidence pyramid, publications per year, topics."""

import streamlit as st

from dashboard import charts, common, data, filters, text

ctx = common.context()
st.title("The kratom evidence base at a glance")
st.caption(f"Showing {filters.describe(ctx.filters)}.")
if common.empty_state(ctx):
    st.stop()

page = data.overview_page(ctx.db, ctx.token, ctx.filters)
numbers = page["overview"]
for column, metric in zip(st.columns(5), text.headline_metrics(numbers, ctx.filters)):
    column.metric(metric.label, metric.value, help=metric.help)
    if metric.link is not None:
        column.page_link(common.PAGES["browse"], label=metric.link_label, query_params=metric.link)
st.caption(text.last_run_line(numbers["last_run"]))
if numbers["not_tagged"]:
    st.info(text.untagged_note(numbers["not_tagged"], numbers["records"]))
if common.no_match(numbers["records"]):
    st.stop()

left, right = st.columns(2)
with left:
    st.subheader("The evidence pyramid")
    st.caption("Records by study design, strongest human evidence at the top (TAXONOMY.md's order).")
    st.altair_chart(charts.pyramid(page["designs"]), width="stretch")
with right:
    st.subheader("Publications per year")
    st.caption("Stacked by study design.")
    years = page["years"]
    if len(years):
        st.altair_chart(charts.per_year(years), width="stretch")
    else:
        st.info("None of these records has a publication year.")

st.subheader("Topics by design")
if len(page["topics"]):
    st.altair_chart(charts.topics_by_design(page["topics"]), width="stretch")
    st.page_link(common.PAGES["evidence-map"], label="Open the evidence map: every topic by design, with the "
                 "records behind each cell", icon=":material/grid_on:", query_params=ctx.filters.to_params())
else:
    st.info("Topics: not tagged yet. `kratom-evidence retag` tags the stored records.")
