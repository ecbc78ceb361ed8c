"""Altair charts of calibration: a tag's reliability diagram, raw and temperature-scaled, with each bin's count.

Drawn from :func:`mlc.workbench.reliability_frame`'s tidy rows (``tag``, ``scores``,
``bin_low``, ``bin_high``, ``mean_predicted``, ``observed``, ``count``). A perfectly
calibrated model's points lie on the diagonal (observed frequency = mean predicted
probability); the bars below show how many test images each bin holds, so a point
far from the diagonal on three images is read as the noise it is.

>>> frame = pd.DataFrame({"tag": "a", "scores": ["raw", "raw"], "bin_low": [0.0, 0.5], "bin_high": [0.5, 1.0],
...                       "mean_predicted": [0.2, 0.8], "observed": [0.1, 0.9], "count": [3, 5]})
>>> reliability_chart(frame, "a").to_dict()["$schema"].startswith("https://vega.github.io")
True
"""

from __future__ import annotations

import altair as alt
import pandas as pd

#: Raw outputs and temperature-scaled ones, in the same colours on every diagram.
SCORE_COLOURS = {"raw": "#e4572e", "temperature-scaled": "#2f6fdb"}
#: Plot width in pixels: concatenated charts do not stretch to a column, so three fit side by side.
WIDTH = 230


def reliability_chart(
    frame: pd.DataFrame, tag: str, ece: dict[str, float] | None = None, width: int = WIDTH
) -> alt.VConcatChart:
    """``tag``'s reliability diagram (points sized by count, joined per series, the diagonal dashed)
    above a bar chart of the images per bin; ``ece`` maps a series to its ECE for the title."""
    data = frame[frame["tag"] == tag]
    subtitle = "ECE " + ", ".join(f"{k} {v:.3f}" for k, v in ece.items()) if ece else ""
    title = alt.TitleParams(f"{tag}: reliability on test", subtitle=subtitle, anchor="start")
    colour = alt.Color(
        "scores:N",
        scale=alt.Scale(domain=list(SCORE_COLOURS), range=list(SCORE_COLOURS.values())),
        legend=alt.Legend(orient="bottom", title=None),
    )
    axis = alt.Scale(domain=[0, 1])
    tooltip = [
        alt.Tooltip("scores:N"),
        alt.Tooltip("bin_low:Q", title="bin from", format=".2f"),
        alt.Tooltip("bin_high:Q", title="bin to", format=".2f"),
        alt.Tooltip("mean_predicted:Q", title="mean predicted", format=".3f"),
        alt.Tooltip("observed:Q", title="observed frequency", format=".3f"),
        alt.Tooltip("count:Q", title="images"),
    ]
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(strokeDash=[4, 4], color="#888")
        .encode(x="x:Q", y="y:Q")
    )
    base = alt.Chart(data).encode(
        x=alt.X("mean_predicted:Q", scale=axis, title="mean predicted probability in bin"),
        y=alt.Y("observed:Q", scale=axis, title="observed frequency"),
        color=colour,
        tooltip=tooltip,
    )
    lines = base.mark_line(opacity=0.6)
    points = base.mark_circle(opacity=0.9).encode(
        size=alt.Size("count:Q", title="images in bin", scale=alt.Scale(range=[20, 400]), legend=None)
    )
    diagram = (diagonal + lines + points).properties(title=title, height=260, width=width)
    counts = (
        alt.Chart(data)
        .mark_bar(opacity=0.55)
        .encode(
            x=alt.X("bin_low:Q", scale=axis, title="predicted probability (bin)"),
            x2="bin_high:Q",
            y=alt.Y("count:Q", title="images", stack=None),
            y2=alt.datum(0),
            color=colour,
            tooltip=tooltip,
        )
        .properties(height=90, width=width)
    )
    return alt.vconcat(diagram, counts).resolve_scale(color="shared")
