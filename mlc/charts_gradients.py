"""Altair charts of the gradient microscope (:mod:`mlc.gradients`) and of a loss' curves over one logit.

* :func:`share_chart`: per tag (one small panel each), the share of its gradient that positive,
  negative (and unknown) targets give, per epoch, stacked to 100 %;
* :func:`curve_chart`: loss and gradient over z for each loss mode (the Learn page's microscope).

>>> rows = [{"epoch": 1, "source": 1, "tag": 0, "total": 1.0, "positive": 0.1, "negative": 0.9, "unknown": 0.0}]
>>> frame = share_frame(rows, ("sky",))
>>> frame[["tag", "part", "share"]].values.tolist()
[['sky', 'positive', 0.1], ['sky', 'negative', 0.9]]
>>> share_chart(rows, ("sky",)).to_dict()["$schema"].startswith("https://vega.github.io")
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from mlc import gradients

#: Colours of the parts: positives blue, negatives orange, unknown grey.
PART_COLOURS = {"positive": "#2f6fdb", "negative": "#e4572e", "unknown": "#9e9e9e"}


def share_frame(history: Sequence[Mapping], classes: Sequence[str], source: str = "probe") -> pd.DataFrame:
    """Tidy (epoch, tag, part, share) rows of ``source`` ("probe" or "train"); unknown only where it is not 0."""
    rows = [r for r in gradients.table(history, classes) if r["source"] == source]
    out = []
    has_unknown = any(r["unknown"] > 0 for r in rows)
    for r in rows:
        for part in gradients.PARTS:
            if part == "unknown" and not has_unknown:
                continue
            out.append({"epoch": r["epoch"], "tag": r["tag"], "part": part, "share": r[f"{part}_share"]})
    return pd.DataFrame(out, columns=["epoch", "tag", "part", "share"])


def share_chart(
    history: Sequence[Mapping],
    classes: Sequence[str],
    source: str = "probe",
    panel_width: int = 150,
    columns: int | None = None,
) -> alt.FacetChart:
    """One panel per tag: stacked bars of each part's share of the tag's |∂L/∂z| per epoch (sums to 1).

    ``columns``: panels per row (the rest wrap onto further rows); ``None``: all tags in one row.
    """
    frame = share_frame(history, classes, source)
    return share_chart_of(frame, tuple(classes), share_parts(frame), panel_width=panel_width, columns=columns)


def share_parts(frame: pd.DataFrame) -> tuple[str, ...]:
    """The parts a :func:`share_frame` holds, in :data:`mlc.gradients.PARTS` order (positive, negative if none).

    >>> share_parts(share_frame([], ("sky",)))
    ('positive', 'negative')
    """
    present = set(frame["part"])
    return tuple(p for p in gradients.PARTS if p in present) or ("positive", "negative")


def share_chart_of(
    frame: pd.DataFrame,
    classes: tuple[str, ...],
    parts: tuple[str, ...],
    panel_width: int = 150,
    columns: int | None = None,
) -> alt.FacetChart:
    """:func:`share_chart` of a ready :func:`share_frame`; its spec depends on the arguments, not the rows."""
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("epoch:O", title="epoch", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("share:Q", title="share of the gradient", stack="zero", axis=alt.Axis(format="%")),
            color=alt.Color(
                "part:N",
                title="from targets",
                scale=alt.Scale(domain=list(parts), range=[PART_COLOURS[p] for p in parts]),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("part:N", sort="descending"),
            tooltip=["tag:N", "epoch:Q", "part:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=panel_width, height=150)
    )
    if columns is None or columns >= len(classes):
        return chart.facet(column=alt.Column("tag:N", title=None, sort=list(classes)))
    return chart.facet(facet=alt.Facet("tag:N", title=None, sort=list(classes)), columns=columns)


def panel_layout(n_tags: int, width: int = 370, most: int = 5) -> tuple[int, int]:
    """``(columns, panel_width)`` of the share chart in ``width`` pixels: at most ``most`` panels a row
    (more tags wrap onto further rows, so none is cut off), each 40-160 px wide.

    >>> panel_layout(5), panel_layout(10), panel_layout(1)
    ((5, 74), (5, 74), (1, 160))
    """
    columns = max(1, min(n_tags, most))
    return columns, max(40, min(160, width // columns))


def curve_chart(frame: pd.DataFrame, value: str, title: str, height: int = 260) -> alt.Chart:
    """Lines of ``value`` ("loss" or "gradient") over ``z``, one per loss ``mode`` (columns mode, z, loss, gradient)."""
    return (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("z:Q", title="logit z"),
            y=alt.Y(f"{value}:Q", title=title),
            # category10: seven clearly different colours, in the order the modes come (stable per selection)
            color=alt.Color(
                "mode:N",
                title="loss",
                scale=alt.Scale(domain=list(dict.fromkeys(frame["mode"])), scheme="category10"),
                legend=alt.Legend(orient="right", labelLimit=320),
            ),
            tooltip=["mode", alt.Tooltip("z:Q", format=".2f"), alt.Tooltip(f"{value}:Q", format=".4f")],
        )
        .properties(height=height)
    )
