"""One record in full: the abstract with its sections, its tags with evidence and confidence,
and any correction or retraction. Input is :func:`ingest.query.record_detail`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import text
from dashboard.text import md
from ingest.query import PUBMED_URL, design_label, topic_label

RETRACTION = {"RetractionIn": "Retracted by", "PartialRetractionIn": "Partly retracted by"}
CONCERNS = {"ErratumIn": "Corrected by an erratum", "ExpressionOfConcernIn": "Expression of concern",
            "CorrectedandRepublishedIn": "Corrected and republished as", "UpdateIn": "Updated by"}
LINK_WORDS = {"RetractionOf": "Retracts", "ErratumFor": "Erratum for", "CommentOn": "Comment on",
              "CommentIn": "Commented on by", "ReprintOf": "Reprint of", "RepublishedFrom": "Republished from",
              "UpdateOf": "Update of", "CorrectedandRepublishedFrom": "Corrected and republished from",
              "ExpressionOfConcernFor": "Expression of concern for", "OriginalReportIn": "Original report in"}


def link_line(link: dict[str, Any], words: dict[str, str]) -> str:
    what = words.get(link.get("type") or "", link.get("type") or "Linked")
    pmid = link.get("pmid")
    target = f"[PMID {pmid}]({PUBMED_URL.format(pmid=pmid)})" if pmid else md(link.get("source") or "a notice")
    if link.get("title"):
        title = f": {md(link['title'])}"
    else:
        title = f" ({md(link['source'])})" if link.get("source") and pmid else ""
    return f"{what} {target}{title}"


def authors_line(authors: list[dict], limit: int = 8) -> str:
    names = [a.get("collective") or f"{a.get('last') or ''} {a.get('initials') or ''}".strip() for a in authors]
    if len(names) > limit:
        return md(", ".join(names[:limit])) + f", et al. ({len(names)} authors)"
    return md(", ".join(names)) or "No authors listed"


def citation_line(rec: dict[str, Any]) -> str:
    parts = [rec.get("journal") or "Unknown journal", rec.get("pub_date_raw") or str(rec.get("pub_year") or "n.d.")]
    volume = rec.get("volume") or ""
    if rec.get("issue"):
        volume += f"({rec['issue']})"
    if rec.get("pages"):
        volume += f":{rec['pages']}"
    if volume:
        parts.append(volume)
    return md(". ".join(parts) + ".")


def show(rec: dict[str, Any]) -> None:
    """Draw one record (the dict from query.record_detail)."""
    st.markdown(f"### {md(rec['title'])}")
    if rec.get("vernacular_title"):
        st.markdown(f"*{md(rec['vernacular_title'])}*")
    st.markdown(f"{authors_line(rec['authors'])}  \n{citation_line(rec)}")
    links = [f"[PubMed {rec['pmid']}]({rec['pubmed_url']})"]
    if rec.get("doi_url"):
        links.append(f"[DOI {md(rec['doi'])}]({rec['doi_url']})")
    if rec.get("pmcid"):
        links.append(f"[{rec['pmcid']}](https://pmc.ncbi.nlm.nih.gov/articles/{rec['pmcid']}/)")
    st.markdown(" · ".join(links))

    links_all = rec["comments_corrections"]
    retractions = [link for link in links_all if link.get("type") in RETRACTION]
    if rec.get("is_retracted") or retractions:
        st.error("**This article has been retracted.** "
                 + " ".join(link_line(link, RETRACTION) + "." for link in retractions), icon=":material/block:")
    concerns = [link for link in links_all if link.get("type") in CONCERNS]
    if concerns:
        st.warning("**Correction or concern.** " + " ".join(link_line(link, CONCERNS) + "." for link in concerns),
                   icon=":material/warning:")
    if rec.get("deleted"):
        st.warning("PubMed has withdrawn this record (DeleteCitation).")

    left, right = st.columns([3, 2])
    with left:
        st.markdown("#### Abstract")
        sections = rec["abstract_sections"]
        if sections:
            for section in sections:
                label = section.get("label")
                st.markdown((f"**{md(label.capitalize() if label.isupper() else label)}.** " if label else "")
                            + md(section.get("text", "")))
        elif rec.get("abstract"):
            st.markdown(md(rec["abstract"]))
        else:
            st.caption("No abstract in PubMed.")
        other = [link for link in links_all if link.get("type") not in RETRACTION and link.get("type") not in CONCERNS]
        if other:
            st.markdown("**Linked records**\n\n" + "\n".join(f"- {link_line(link, LINK_WORDS)}" for link in other))
        for note in rec["notes"]:
            st.caption(md(note))
    with right:
        tags(rec)
        details = []
        if rec["publication_types"]:
            details.append("**Publication types:** " + md(", ".join(rec["publication_types"])))
        if rec["mesh"]:
            details.append("**MeSH:** " + ", ".join(md(m.get("descriptor", "")) + ("\\*" if m.get("major") else "")
                                                  for m in rec["mesh"]))
        if rec["keywords"]:
            details.append("**Keywords:** " + md(", ".join(rec["keywords"])))
        details.append(f"**Language:** {', '.join(rec['languages']) or 'not stated'} · "
                       f"**PubMed status:** {rec.get('citation_status') or 'none'}"
                       + (f" ({rec['indexing_method']} indexing)" if rec.get("indexing_method") else ""))
        st.markdown("\n\n".join(details))


def tags(rec: dict[str, Any]) -> None:
    """The record's labels, each with its evidence and confidence, and any curation."""
    labels = rec.get("labels") or {}
    st.markdown("#### Tags")
    design = labels.get("study_type")
    if not design:
        st.markdown("**Study design:** not tagged yet")
    else:
        confidence = labels.get("study_type_confidence")
        conf = f"{confidence:.2f}, {text.confidence_word(confidence)}" if confidence is not None else "no confidence"
        st.markdown(f"**Study design:** {design_label(design)} (`{design}`; confidence {conf})")
        if labels.get("curated"):
            st.info(f"Set by {labels.get('curator') or 'a curator'}"
                    + (f" on {labels['curated_at'][:10]}" if labels.get("curated_at") else "")
                    + (f": {md(labels['curation_note'])}" if labels.get("curation_note") else "")
                    + (f". The tagger said {design_label(labels.get('machine_study_type'))}."
                       if labels.get("machine_study_type") and labels.get("machine_study_type") != design else "."))
        if labels.get("study_type_evidence"):
            st.caption("Evidence: " + md(labels["study_type_evidence"]))
    topics = rec.get("topic_evidence") or []
    if topics:
        st.markdown("**Topics:**\n\n" + "\n".join(
            f"- {topic_label(t['topic'])} "
            + (f"(score {t['score']:.1f})" if t.get("score") is not None else f"({t.get('source')})")
            + (f": {md(t['evidence'])}" if t.get("evidence") else "") for t in topics))
    else:
        st.markdown("**Topics:** " + ("none found" if design else "not tagged yet"))
    size = labels.get("sample_size")
    if size is not None:
        st.markdown(f"**Participants:** {size:,}" + (f" (“{md(labels['sample_size_phrase'])}”)"
                                                    if labels.get("sample_size_phrase") else ""))
    elif design:
        st.markdown("**Participants:** none stated")
    if labels.get("tagger_version"):
        st.caption(f"Tagger {labels['tagger_version']}")
