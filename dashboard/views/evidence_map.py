"""Evidence map: topic by design, with counts and participants; every cell leads to its records."""

import pandas as pd
import streamlit as st

from dashboard import charts, common, data, filters, text
from ingest.query import NOT_TAGGED, design_label, topic_label

ctx = common.context()
st.title("Evidence map")
st.caption(f"Every topic by study design, for {filters.describe(ctx.filters)}. Each cell shows its records "
           "and, for human studies, the participants they state. Click a cell (or pick one below) to see its records.")
if common.empty_state(ctx):
    st.stop()

emap = data.evidence_map(ctx.db, ctx.token, ctx.filters)
if emap.empty:
    if data.count_records(ctx.db, ctx.token, ctx.filters):
        st.info("Topics: not tagged yet. `kratom-evidence retag` tags the stored records.")
    else:
        common.no_match(0)
    st.stop()

measure = st.segmented_control("Colour the cells by", ["records", "participants"], default="records",
                               key="map_measure", required=True)
event = st.altair_chart(charts.heatmap(emap, measure or "records"), width="stretch", on_select="rerun",
                        key="map_chart")

st.subheader("The records behind a cell")
cells = {(r.topic, None if pd.isna(r.study_type) else r.study_type): r for r in emap.itertuples()}
picked = charts.selected_cell(event)
topics = sorted({t for t, _ in cells}, key=lambda t: -sum(r.records for (x, _), r in cells.items() if x == t))
c1, c2 = st.columns(2)
if st.session_state.get("map_topic") not in topics:  # first visit, or the filters left it out
    st.session_state["map_topic"] = topics[0]
if picked in cells and picked != st.session_state.get("map_last_pick"):  # a new click moves the pickers
    st.session_state["map_topic"], st.session_state["map_design"] = picked[0], picked[1] or NOT_TAGGED
st.session_state["map_last_pick"] = picked
topic = c1.selectbox("Topic", topics, key="map_topic", format_func=topic_label)
designs = [d or NOT_TAGGED for t, d in cells if t == topic]
if st.session_state.get("map_design") not in designs:
    st.session_state["map_design"] = designs[0]
design = c2.selectbox("Design", designs, key="map_design", format_func=filters.design_label_or_untagged,
                      help="Only the designs this topic has records for.")
cell = cells[(topic, None if design == NOT_TAGGED else design)]
st.markdown("**" + text.cell_title(topic, cell.study_type, cell.records, cell.participants) + "**"
            + (f" (median {cell.median_participants:,.0f} in {cell.sized_records:,} studies that state a number)"
               if cell.sized_records else ""))
drill = ctx.filters.with_(topics=(topic,), designs=(design,))
shown = data.records(ctx.db, ctx.token, drill, limit=data.LIST_CAP)
common.records_table(shown, key="map_records")
if cell.records > data.LIST_CAP:
    st.caption(f"The {data.LIST_CAP} newest of {cell.records:,}; Browse has them all.")
st.page_link(common.PAGES["browse"], label=f"Open these {cell.records:,} records in Browse", icon=":material/search:",
             query_params=drill.to_params())

st.subheader("The strongest evidence, topic by topic")
summaries = data.topic_summaries(ctx.db, ctx.token, ctx.filters)
for row in summaries.sort_values("records", ascending=False).itertuples():
    st.markdown("- " + text.strongest_sentence(row))

with st.expander("The map as a table"):
    table = emap.assign(design=[design_label(c) for c in emap["study_type"]])
    pivot = table.pivot_table(index="topic_label", columns="design", values="records", aggfunc="sum", fill_value=0)
    pivot = pivot[[d for d in charts.DESIGN_ORDER if d in pivot.columns]]
    st.dataframe(pivot.rename_axis(index="topic", columns=None), width="stretch")
