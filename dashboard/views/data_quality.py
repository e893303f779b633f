"""Data quality: the ingestion runs, the tagger against PubMed's own labels, the least certain records."""

import pandas as pd
import streamlit as st

from dashboard import common, data, filters
from ingest.query import design_label

ctx = common.context()
st.title("Data quality")

st.subheader("Ingestion runs")
runs = data.runs(ctx.db, ctx.token)
if runs:
    table = pd.DataFrame(runs)
    table["files"] = [", ".join(data.json_list(v)) for v in table["files"]]
    columns = ["id", "status", "source", "started_at", "finished_at", "found", "new", "updated", "unchanged",
               "deleted", "failed", "error", "query", "files", "tool_version"]
    st.dataframe(table[[c for c in columns if c in table]], hide_index=True, width="stretch", column_config={
        "id": st.column_config.NumberColumn("run", format="%d"),
        "started_at": "started", "finished_at": "finished", "tool_version": "tool version",
        "error": st.column_config.TextColumn("error", width="large"),
    })
    failed = [r for r in runs if r["status"] not in ("success", "running")]
    if failed:
        st.warning(f"{len(failed)} of the last {len(runs)} runs did not succeed; their errors are in the table.")
else:
    st.info("No ingestion has run on this database yet.")

if common.empty_state(ctx):
    st.stop()

st.subheader("The tagger against PubMed's own labels")
st.caption(f"For MEDLINE-indexed records whose publication types name a design (Randomized Controlled Trial, "
           f"Case Reports, Review, Editorial…), how often the stored design agrees ({filters.describe(ctx.filters)}). "
           "PubMed's labels are not the truth (TAXONOMY.md), and the tagger reads them too, so this is an upper "
           "bound; the text-only check below hides them from the tagger.")
ag = data.pubmed_agreement(ctx.db, ctx.token, ctx.filters)
if not ag["comparable"]:
    st.info(f"None of these {ag['medline']:,} MEDLINE-indexed records has both a tagged design and a publication "
            "type that names one" + (" (designs not tagged yet)." if ag["medline"] else "."))
else:
    c1, c2, c3 = st.columns(3)
    c1.metric("Agreement", f"{ag['agree'] / ag['comparable']:.1%}", help=f"{ag['agree']:,} of {ag['comparable']:,}")
    c2.metric("Records compared", f"{ag['comparable']:,}", help=f"of {ag['medline']:,} MEDLINE-indexed records")
    c3.metric("Disagreements", f"{ag['disagreement_count']:,}")
    by_method = ag["by_method"].assign(rate=lambda d: d["agree"] / d["records"])
    st.dataframe(by_method, hide_index=True, column_config={
        "method": "indexing method", "rate": st.column_config.NumberColumn("agreement", format="percent")})
    confusion = ag["confusion"].assign(pubmed=lambda d: d["pubmed"].map(design_label),
                                       machine_study_type=lambda d: d["machine_study_type"].map(design_label))
    with st.expander("PubMed's label against the tagger's design"):
        st.dataframe(confusion.pivot_table(index="pubmed", columns="machine_study_type", values="records",
                                           fill_value=0).rename_axis(index="PubMed says", columns="tagger says"),
                     width="stretch")
    if len(ag["disagreements"]):
        st.markdown(f"**Disagreements to review** (first {len(ag['disagreements'])} of {ag['disagreement_count']:,})")
        d = ag["disagreements"].assign(pubmed=lambda x: x["pubmed"].map(design_label),
                                       machine_study_type=lambda x: x["machine_study_type"].map(design_label),
                                       link=lambda x: [f"https://pubmed.ncbi.nlm.nih.gov/{p}/" for p in x["pmid"]])
        st.dataframe(d, hide_index=True, width="stretch", column_config={
            "pmid": st.column_config.NumberColumn("PMID", format="%d"), "pubmed": "PubMed says",
            "machine_study_type": "tagger says", "study_type_confidence": "confidence",
            "link": st.column_config.LinkColumn("PubMed", display_text="open")})

with st.expander("Check the text-only tagger (publication types hidden)"):
    st.caption("Re-tags every MEDLINE-indexed record of the database from its title and abstract alone, as "
               "`kratom-evidence agreement` does (about 3 ms a record; the filters do not apply).")
    if st.button("Run the check", key="run_text_only"):
        with st.spinner("Re-tagging…"):
            result = data.text_only_agreement(ctx.db)
        if result.comparable:
            st.metric("Text-only agreement", f"{result.rate:.1%}", help=f"{result.agree:,} of {result.comparable:,}")
            st.dataframe(pd.DataFrame([{"indexing method": m, "agree": a, "records": n, "agreement": a / n}
                                       for m, (a, n) in sorted(result.by_method.items())]), hide_index=True)
        else:
            st.info("No MEDLINE-indexed record has a publication type that names a design.")

st.subheader("The records the tagger was least sure of")
st.caption("The tagger's own design and its confidence, lowest first; “curated” marks the records a researcher has "
           "labelled since (their label is the one the other pages count).")
unsure = data.least_confident(ctx.db, ctx.token, ctx.filters)
if len(unsure):
    st.dataframe(unsure.assign(design=[design_label(c) for c in unsure["study_type"]],
                               link=[f"./browse?record={p}" for p in unsure["pmid"]])
                 [["pmid", "title", "design", "study_type_confidence", "study_type_evidence", "curated", "link"]],
                 hide_index=True, width="stretch", column_config={
                     "pmid": st.column_config.NumberColumn("PMID", format="%d"),
                     "study_type_confidence": st.column_config.NumberColumn("confidence", format="%.2f"),
                     "study_type_evidence": st.column_config.TextColumn("evidence", width="large"),
                     "curated": st.column_config.CheckboxColumn("curated"),
                     "link": st.column_config.LinkColumn("record", display_text="open")})
else:
    st.info("Study designs: not tagged yet, so no confidence to show.")
