"""Claims: each claim from the claims file with its evidence profile in one line, leading to its records."""

import streamlit as st

from dashboard import common, data, filters, text
from ingest.errors import EvidenceError
from ingest.query import topic_label

ctx = common.context()
st.title("What the claims rest on")
st.caption(f"Each claim people make about kratom, with the study designs of the records that speak to it "
           f"({filters.describe(ctx.filters)}). Strongest evidence first: randomized trials, then other trials, "
           "observational studies, surveys, qualitative studies, case reports.")
if common.empty_state(ctx):
    st.stop()

if not data.database_facts(ctx.db, ctx.token)["options"]["topics"]:
    st.info("Topics: not tagged yet, so no record can be matched to a claim. `kratom-evidence retag` tags the "
            "stored records.")
    st.stop()

try:
    profiles = data.claim_profiles(ctx.db, ctx.token, ctx.filters)
except EvidenceError as exc:  # a claims file given with --claims that cannot be read
    st.error(f"The claims cannot be shown: {exc}", icon=":material/error:")
    st.stop()
for row in profiles.itertuples():
    with st.container(border=True):
        st.markdown(f"#### {row.claim}")
        st.markdown(text.claim_line(row))
        flagged = text.flagged_line(row.retracted_or_corrected)
        if flagged:
            st.warning(flagged, icon=":material/warning:")
        st.caption("Topics: " + ", ".join(topic_label(t) for t in row.topics))
        if row.records:
            st.page_link(common.PAGES["browse"], label=f"See its {row.records:,} records", icon=":material/search:",
                         query_params={**ctx.filters.to_params(), "claim": row.id})
