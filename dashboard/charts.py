"""Altair charts, as plain functions of the query layer's data frames (no Streamlit here).

Designs always appear in evidence order (TAXONOMY.md: strongest human evidence first), with
the same colour everywhere, so that a reader learns the palette once.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from ingest.query import NOT_TAGGED, design_label
from ingest.taxonomy import DESIGN_CODES

DESIGN_ORDER = [design_label(c) for c in DESIGN_CODES] + [NOT_TAGGED]
# Human designs in greens and blues (strongest darkest), reviews in purples, the rest in greys and tans.
PALETTE = ["#084c3f", "#1b7f6a", "#2a9d8f", "#57b8a9", "#8ccfc2", "#b9e2da",
           "#5e3c99", "#9e8ac8", "#c4874a", "#e0b77a", "#9a9a9a", "#c9c9c9", "#eeeeee"]


def design_scale(present) -> alt.Scale:
    """The designs' colours, listing (in the legend) only the designs present."""
    shown = [d for d in DESIGN_ORDER if d in set(present)]
    return alt.Scale(domain=shown, range=[PALETTE[DESIGN_ORDER.index(d)] for d in shown])


def pyramid(designs: pd.DataFrame) -> alt.Chart:
    """Records by design, in evidence order (strongest at the top)."""
    df = designs.assign(design=designs["design"].astype(str))
    base = alt.Chart(df).encode(
        y=alt.Y("design:N", sort=DESIGN_ORDER, title=None, axis=alt.Axis(labelLimit=240)),
        x=alt.X("records:Q", title="records"),
        tooltip=[alt.Tooltip("design:N", title="design"), alt.Tooltip("records:Q", format=","),
                 alt.Tooltip("participants:Q", format=",", title="participants (human studies)")],
    )
    bars = base.mark_bar().encode(color=alt.Color("design:N", scale=design_scale(df["design"]), legend=None))
    labels = base.mark_text(align="left", dx=3).encode(text=alt.Text("records:Q", format=","))
    return (bars + labels).properties(height=alt.Step(22))


def _stacked_by_design(df: pd.DataFrame, **encodings: Any) -> alt.Chart:
    """Bars stacked by design, strongest design first in each bar and in the legend."""
    df = df.assign(order=[DESIGN_ORDER.index(d) if d in DESIGN_ORDER else len(DESIGN_ORDER) for d in df["design"]])
    return alt.Chart(df).mark_bar().encode(
        color=alt.Color("design:N", scale=design_scale(df["design"]), sort=DESIGN_ORDER, title="design",
                        legend=alt.Legend(labelLimit=260)),
        order=alt.Order("order:Q"),
        **encodings,
    )


def per_year(year_designs: pd.DataFrame) -> alt.Chart:
    """Publications per year, stacked by design."""
    return _stacked_by_design(
        year_designs,
        x=alt.X("pub_year:O", title="year of publication"),
        y=alt.Y("sum(records):Q", title="records"),
        tooltip=[alt.Tooltip("pub_year:O", title="year"), alt.Tooltip("design:N"),
                 alt.Tooltip("records:Q", format=",")],
    ).properties(height=320)


def topics_by_design(emap: pd.DataFrame) -> alt.Chart:
    """Records per topic, each bar split by design."""
    df = emap[["topic_label", "design", "records"]]
    totals = df.groupby("topic_label")["records"].sum().sort_values(ascending=False)
    return _stacked_by_design(
        df,
        y=alt.Y("topic_label:N", sort=list(totals.index), title=None, axis=alt.Axis(labelLimit=240)),
        x=alt.X("sum(records):Q", title="records (a record can have several topics)"),
        tooltip=[alt.Tooltip("topic_label:N", title="topic"), alt.Tooltip("design:N"),
                 alt.Tooltip("records:Q", format=",")],
    ).properties(height=alt.Step(22))


SELECTION = "cell"


def heatmap(emap: pd.DataFrame, measure: str = "records") -> alt.Chart:
    """Topic (rows) by design (columns in evidence order); a click selects a cell.

    ``measure`` colours the cells by ``records`` or ``participants``; each cell shows both.
    """
    df = emap[["topic", "topic_label", "study_type", "design", "records", "participants"]].copy()
    df["study_type"] = df["study_type"].fillna(NOT_TAGGED)
    df["label"] = [f"{r:,}" + (f" · {p:,}" if p else "") for r, p in zip(df["records"], df["participants"])]
    topics = list(df.groupby("topic_label")["records"].sum().sort_values(ascending=False).index)
    pick = alt.selection_point(name=SELECTION, fields=["topic", "study_type"], on="click")
    base = alt.Chart(df).encode(
        x=alt.X("design:N", sort=DESIGN_ORDER, title=None,
                axis=alt.Axis(labelAngle=-40, orient="top", labelOverlap=False, labelLimit=180)),
        y=alt.Y("topic_label:N", sort=topics, title=None, axis=alt.Axis(labelLimit=240)),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(f"{measure}:Q", scale=alt.Scale(scheme="greens", type="symlog"),
                        title="participants" if measure == "participants" else "records"),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.35)),
        tooltip=[alt.Tooltip("topic_label:N", title="topic"), alt.Tooltip("design:N"),
                 alt.Tooltip("records:Q", format=","),
                 alt.Tooltip("participants:Q", format=",", title="participants (human studies)")],
    ).add_params(pick)
    text = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition(f"datum.{measure} > {df[measure].max() / 4 if len(df) else 0}",
                            alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=alt.Step(30))


def selected_cell(state) -> tuple[str, str | None] | None:
    """(topic, design code or None for untagged) from the heatmap's selection state, if a cell is picked."""
    try:
        points = state["selection"][SELECTION]
    except (KeyError, TypeError):
        return None
    if not points:
        return None
    point = points[0]
    design = point.get("study_type")
    return point.get("topic"), (None if design in (None, NOT_TAGGED) else design)
