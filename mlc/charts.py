"""Altair charts of training history, drawn from tidy DataFrames.

Pages redraw a chart from the whole history each tick (Streamlit has no
``add_rows`` any more); building a chart is cheap and independent of Streamlit.

>>> batches = [{"step": s, "epoch": 1 + (s - 1) // 4, "loss": 1.0 / s} for s in range(1, 9)]
>>> epochs = [{"epoch": 1, "loss": 0.5, "val_loss": 0.6}, {"epoch": 2, "loss": 0.2, "val_loss": 0.3}]
>>> frame = loss_frame(batches, epochs, batches_per_epoch=4)
>>> sorted(frame["series"].unique())
['train (batch)', 'train (batch, smoothed)', 'train (epoch mean)', 'validation (epoch)']
>>> loss_chart(batches, epochs, batches_per_epoch=4).to_dict()["$schema"].startswith("https://vega.github.io")
True
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

#: Exponential smoothing of the per-batch loss (TensorBoard's default is 0.6; batches here are noisy).
SMOOTHING = 0.8
#: Most per-batch points drawn; longer histories are thinned evenly (the smoothed line stays exact).
MAX_BATCH_POINTS = 600

SERIES_COLOURS = {
    "train (batch)": "#b9cdee",
    "train (batch, smoothed)": "#2f6fdb",
    "train (epoch mean)": "#17357a",
    "validation (epoch)": "#e4572e",
}
_LEGEND = alt.Legend(orient="bottom", title=None, columns=2, labelLimit=220)
METRIC_LABELS = {"macro_f1": "macro F1 (val)", "map": "mAP (val)", "mae": "MAE (val)", "micro_f1": "micro F1 (val)"}


def smooth(values: Sequence[float], weight: float = SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average: s_t = w s_(t-1) + (1-w) x_t, divided by 1 - w^t.

    >>> smooth([1.0, 0.0], weight=0.5).round(3).tolist()
    [1.0, 0.333]
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.empty_like(x)
    acc = 0.0
    for i, v in enumerate(x):  # histories are short (thousands): a loop is clearer than lfilter
        acc = weight * acc + (1 - weight) * v
        out[i] = acc / (1 - weight ** (i + 1))
    return out


def loss_frame(batch_history: Sequence[dict], epoch_history: Sequence[dict], batches_per_epoch: int) -> pd.DataFrame:
    """Tidy (epoch, loss, series) rows: raw + smoothed batch loss, epoch train and val loss.

    The x axis is epochs (batch ``step`` / batches per epoch), so batch and epoch
    points share one axis; an epoch's mean is drawn at its end.
    """
    frames = []
    if batch_history:
        steps = np.array([b["step"] for b in batch_history], dtype=np.float64)
        losses = np.array([b["loss"] for b in batch_history], dtype=np.float64)
        x = steps / max(1, batches_per_epoch)
        keep = np.unique(np.linspace(0, len(x) - 1, min(len(x), MAX_BATCH_POINTS)).astype(int))
        frames.append(pd.DataFrame({"epoch": x[keep], "loss": losses[keep], "series": "train (batch)"}))
        frames.append(
            pd.DataFrame({"epoch": x[keep], "loss": smooth(losses)[keep], "series": "train (batch, smoothed)"})
        )
    if epoch_history:
        e = np.array([r["epoch"] for r in epoch_history], dtype=np.float64)
        frames.append(
            pd.DataFrame({"epoch": e, "loss": [r["loss"] for r in epoch_history], "series": "train (epoch mean)"})
        )
        frames.append(
            pd.DataFrame({"epoch": e, "loss": [r["val_loss"] for r in epoch_history], "series": "validation (epoch)"})
        )
    if not frames:
        return pd.DataFrame(
            {"epoch": pd.Series(dtype=float), "loss": pd.Series(dtype=float), "series": pd.Series(dtype=str)}
        )
    frame = pd.concat(frames, ignore_index=True)
    return frame[np.isfinite(frame["loss"])]


def loss_chart(
    batch_history: Sequence[dict], epoch_history: Sequence[dict], batches_per_epoch: int, *, height: int = 260
) -> alt.Chart:
    """Train loss per batch (faint raw + smoothed) and per-epoch train/validation loss."""
    return loss_chart_of(loss_frame(batch_history, epoch_history, batches_per_epoch), height=height)


def loss_chart_of(frame: pd.DataFrame, *, height: int = 260) -> alt.LayerChart:
    """:func:`loss_chart` of a ready :func:`loss_frame` (its spec depends on the columns only, not the rows)."""
    colour = alt.Color(
        "series:N",
        scale=alt.Scale(domain=list(SERIES_COLOURS), range=list(SERIES_COLOURS.values())),
        legend=_LEGEND,
    )
    base = alt.Chart(frame).encode(
        x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=0)),
        y=alt.Y("loss:Q", title="loss", scale=alt.Scale(zero=False)),
        color=colour,
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("loss:Q", format=".4f")],
    )
    batches = base.transform_filter(alt.FieldOneOfPredicate("series", ["train (batch)", "train (batch, smoothed)"]))
    lines = batches.mark_line(strokeWidth=1.5, clip=True)
    epochs = base.transform_filter(alt.FieldOneOfPredicate("series", ["train (epoch mean)", "validation (epoch)"]))
    points = epochs.mark_line(point=alt.OverlayMarkDef(size=50, filled=True), strokeWidth=2)
    return (lines + points).properties(height=height, title="Loss")


def metrics_frame(epoch_history: Sequence[dict], keys: Sequence[str]) -> pd.DataFrame:
    """Tidy (epoch, value, metric) rows for the chosen per-epoch validation metrics."""
    rows = [
        {"epoch": r["epoch"], "value": r[k], "metric": METRIC_LABELS.get(k, k)}
        for r in epoch_history
        for k in keys
        if r.get(k) is not None and np.isfinite(r[k])
    ]
    return pd.DataFrame(rows, columns=["epoch", "value", "metric"])


def metric_keys(soft_labels: bool = False) -> list[str]:
    """The validation metrics the Train page draws: macro F1 and mAP, plus MAE for soft labels."""
    return ["macro_f1", "map"] + (["mae"] if soft_labels else [])


def metrics_chart(epoch_history: Sequence[dict], *, soft_labels: bool = False, height: int = 260) -> alt.Chart:
    """Validation macro F1 and mAP per epoch (plus MAE when the targets are soft labels).

    >>> rows = [{"epoch": 1, "macro_f1": 0.5, "map": 0.7, "mae": 0.2}]
    >>> sorted(metrics_frame(rows, ["macro_f1", "map"])["metric"])
    ['mAP (val)', 'macro F1 (val)']
    """
    return metrics_chart_of(metrics_frame(epoch_history, metric_keys(soft_labels)), height=height)


def metrics_chart_of(frame: pd.DataFrame, *, height: int = 260) -> alt.Chart:
    """:func:`metrics_chart` of a ready :func:`metrics_frame` (its spec depends on the columns only)."""
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=50, filled=True), strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=0)),
            y=alt.Y("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("metric:N", legend=_LEGEND),
            tooltip=[alt.Tooltip("metric:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(height=height, title="Validation metrics (threshold 0.5)")
    )


# ---------------------------------------------------------------- predictions
#: Bar colours: a tag at or above its threshold is predicted (on), else not.
DECISION_COLOURS = {"above threshold": "#2f6fdb", "below threshold": "#c9d3e3"}


def probability_frame(
    probs: Sequence[float], classes: Sequence[str], thresholds: Sequence[float], run: str = ""
) -> pd.DataFrame:
    """Tidy (tag, value, threshold, decision, run) rows for one image's probabilities (C,).

    >>> probability_frame([0.9, 0.1], ["dog", "cat"], [0.5, 0.2])["decision"].tolist()
    ['above threshold', 'below threshold']
    """
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(thresholds, dtype=np.float64)
    return pd.DataFrame(
        {
            "tag": list(classes),
            "value": p,
            "threshold": t,
            "decision": np.where(p >= t, "above threshold", "below threshold"),
            "run": run,
        }
    )


def tag_axis(classes) -> alt.Y:
    """One bar row per tag, in the tags' order, every name shown."""
    # labelOverlap off: Streamlit's theme would otherwise thin out the tag names
    return alt.Y(
        "tag:N",
        sort=list(classes),
        title=None,
        axis=alt.Axis(labelFontSize=13, labelLimit=160, labelOverlap=False),
        scale=alt.Scale(paddingInner=0.25),
    )


def decision_bars(base: alt.Chart, value_label: str, tooltip: list, colours: dict[str, str]) -> alt.Chart:
    """Horizontal bars of ``value`` in [0, 1], coloured by ``decision`` (``colours``: decision -> colour)."""
    return base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("value:Q", title=value_label, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "decision:N",
            scale=alt.Scale(domain=list(colours), range=list(colours.values())),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        tooltip=tooltip,
    )


def probability_chart(
    probs: Sequence[float],
    classes: Sequence[str],
    thresholds: Sequence[float],
    *,
    value_label: str = "probability",
    step: int = 32,
) -> alt.LayerChart:
    """Horizontal bars of each tag's sigmoid output with its threshold drawn as a tick on the bar.

    ``value_label`` names the axis: "probability" for classifiers, "predicted
    strength" for a run trained with mse on soft labels.

    >>> spec = probability_chart([0.9, 0.1], ["dog", "cat"], [0.5, 0.5]).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['bar', 'tick', 'text']
    """
    frame = probability_frame(probs, classes, thresholds)
    base = alt.Chart(frame).encode(y=tag_axis(classes))
    tooltip = [
        alt.Tooltip("tag:N"),
        alt.Tooltip("value:Q", title=value_label, format=".3f"),
        alt.Tooltip("threshold:Q", format=".2f"),
        alt.Tooltip("decision:N"),
    ]
    bars = decision_bars(base, value_label, tooltip, DECISION_COLOURS)
    ticks = base.mark_tick(color="#e4572e", thickness=3, size=step - 4).encode(x="threshold:Q", tooltip=tooltip)
    labels = base.mark_text(align="left", dx=4, fontSize=12).encode(x="value:Q", text=alt.Text("value:Q", format=".2f"))
    # a step per tag, not a total height: Streamlit sizes discrete axes by their step
    return (bars + ticks + labels).properties(height=alt.Step(step))


def runs_probability_chart(frames: Sequence[pd.DataFrame], *, value_label: str = "probability") -> alt.LayerChart:
    """Several runs' outputs on the same image: grouped bars per tag (colour = run), thresholds as ticks.

    ``frames`` are :func:`probability_frame` results with their ``run`` set.

    >>> f = [probability_frame([0.9], ["dog"], [0.5], run="#1 bce"),
    ...      probability_frame([0.7], ["dog"], [0.5], run="#2 focal")]
    >>> runs_probability_chart(f).to_dict()["layer"][0]["encoding"]["yOffset"]["field"]
    'run'
    """
    frame = pd.concat(frames, ignore_index=True)
    tags = list(dict.fromkeys(frame["tag"]))
    runs = list(dict.fromkeys(frame["run"]))
    base = alt.Chart(frame).encode(
        y=alt.Y("tag:N", sort=tags, title=None, axis=alt.Axis(labelFontSize=13, labelOverlap=False)),
        yOffset=alt.YOffset("run:N", sort=runs),
    )
    tooltip = [
        alt.Tooltip("run:N"),
        alt.Tooltip("tag:N"),
        alt.Tooltip("value:Q", title=value_label, format=".3f"),
        alt.Tooltip("threshold:Q", format=".2f"),
        alt.Tooltip("decision:N"),
    ]
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title=value_label, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=runs, legend=alt.Legend(orient="bottom", title=None, columns=1, labelLimit=400)),
        opacity=alt.Opacity(
            "decision:N", scale=alt.Scale(domain=list(DECISION_COLOURS), range=[1.0, 0.45]), legend=None
        ),
        tooltip=tooltip,
    )
    ticks = base.mark_tick(color="#e4572e", thickness=2).encode(x="threshold:Q", tooltip=tooltip)
    return (bars + ticks).properties(height=alt.Step(14 * len(runs) + 12))


# ---------------------------------------------------------------- evaluation
_TAG_LEGEND = alt.Legend(orient="bottom", title=None, columns=5, labelLimit=160)


def pr_chart(curves: pd.DataFrame, points: pd.DataFrame, *, height: int = 320) -> alt.LayerChart:
    """Precision-recall curve per tag (colour = tag) with each tag's current threshold as a dot.

    ``curves`` as :func:`mlc.evaluation.pr_curves_frame`, ``points`` as
    :func:`mlc.evaluation.operating_points`.

    >>> c = pd.DataFrame({"tag": ["dog"] * 2, "recall": [0.0, 1.0], "precision": [1.0, 0.5], "threshold": [None, 0.1]})
    >>> p = pd.DataFrame({"tag": ["dog"], "recall": [1.0], "precision": [0.5], "threshold": [0.5], "f1": [0.67]})
    >>> [layer["mark"]["type"] for layer in pr_chart(c, p).to_dict()["layer"]]
    ['line', 'point']
    """
    return _curves_with_dots(
        curves,
        points,
        x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
        line={"interpolate": "step-after", "strokeWidth": 2},
        order=alt.Order("recall:Q"),
        line_tooltip=[_number("threshold"), _number("recall"), _number("precision")],
        dot_tooltip=[
            _number("threshold", title="current threshold"),
            _number("recall"),
            _number("precision"),
            _number("f1"),
        ],
        height=height,
        title="Precision–recall per tag (dot: current threshold)",
    )


def sweep_chart(sweep: pd.DataFrame, points: pd.DataFrame, *, height: int = 320) -> alt.LayerChart:
    """F1 against the threshold per tag (colour = tag), each tag's current threshold as a dot.

    >>> s = pd.DataFrame({"tag": ["dog"] * 2, "threshold": [0.0, 1.0], "f1": [0.5, 0.0],
    ...                   "precision": [0.3, 0.0], "recall": [1.0, 0.0]})
    >>> p = pd.DataFrame({"tag": ["dog"], "recall": [1.0], "precision": [0.5], "threshold": [0.5], "f1": [0.67]})
    >>> sweep_chart(s, p).to_dict()["layer"][0]["encoding"]["x"]["field"]
    'threshold'
    """
    return _curves_with_dots(
        sweep,
        points,
        x=alt.X("threshold:Q", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("f1:Q", title="F1", scale=alt.Scale(domain=[0, 1])),
        line={"strokeWidth": 2},
        line_tooltip=[_number("threshold", ".2f"), _number("f1"), _number("precision"), _number("recall")],
        dot_tooltip=[_number("threshold"), _number("f1")],
        height=height,
        title="F1 against threshold per tag (dot: current threshold)",
    )


def _number(field: str, fmt: str = ".3f", **kwargs) -> alt.Tooltip:
    return alt.Tooltip(f"{field}:Q", format=fmt, **kwargs)


def _curves_with_dots(curves, points, *, x, y, line: dict, line_tooltip, dot_tooltip, height, title, order=None):
    """Per-tag curves (colour = tag, in the curves' order) with each tag's current threshold as a ringed dot."""
    colour = alt.Color("tag:N", sort=list(dict.fromkeys(curves["tag"])), legend=_TAG_LEGEND)
    extra = {"order": order} if order is not None else {}
    lines = (
        alt.Chart(curves)
        .mark_line(**line)
        .encode(x=x, y=y, color=colour, tooltip=[alt.Tooltip("tag:N"), *line_tooltip], **extra)
    )
    dots = (
        alt.Chart(points)
        .mark_point(size=140, filled=True, stroke="black", strokeWidth=1)
        .encode(x=x, y=y, color=colour, tooltip=[alt.Tooltip("tag:N"), *dot_tooltip])
    )
    return (lines + dots).properties(height=height, title=title)


def history_chart(history: pd.DataFrame, series: str, *, height: int = 280) -> alt.Chart:
    """One per-epoch series (e.g. "validation loss") of several runs overlaid, colour = run.

    ``history`` as :func:`mlc.evaluation.history_frame`.
    """
    frame = history[history["series"] == series]
    runs = list(dict.fromkeys(history["run"]))
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=45, filled=True), strokeWidth=2)
        .encode(
            x=alt.X("epoch:Q", scale=alt.Scale(domainMin=0), axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=series, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "run:N", sort=runs, legend=alt.Legend(orient="bottom", title=None, columns=1, labelLimit=600)
            ),
            tooltip=[alt.Tooltip("run:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("value:Q", format=".4f", title=series)],
        )
        .properties(height=height)  # titled by the page: a Vega title is clipped in narrow columns
    )


def strength_chart(frame: pd.DataFrame, *, columns: int = 5, size: int = 150) -> alt.FacetChart:
    """Predicted vs true strength per tag (one small panel per tag) with the y = x diagonal.

    ``frame`` as :func:`mlc.evaluation.strength_frame`.
    """
    tags = list(dict.fromkeys(frame["tag"]))
    diagonal = pd.DataFrame({"true": [0.0, 1.0], "predicted": [0.0, 1.0]})
    points = (
        alt.Chart()
        .mark_circle(size=14, opacity=0.35, color="#2f6fdb")
        .encode(
            x=alt.X("true:Q", title="true strength", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("predicted:Q", title="predicted strength", scale=alt.Scale(domain=[0, 1])),
            tooltip=[alt.Tooltip("true:Q", format=".2f"), alt.Tooltip("predicted:Q", format=".2f")],
        )
    )
    line = alt.Chart(diagonal).mark_line(color="#e4572e", strokeDash=[4, 3]).encode(x="true:Q", y="predicted:Q")
    return (
        alt.layer(points, line, data=frame)
        .properties(width=size, height=size)
        .facet(facet=alt.Facet("tag:N", sort=tags, title=None), columns=columns)
    )


# ---------------------------------------------------------------- lessons
def target_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Target vectors as rows of cells (one per tag), darker = closer to 1.

    ``frame`` as :func:`mlc.lessons.sample_target`: (tag, value, target) rows.

    >>> f = pd.DataFrame({"tag": ["dog", "sky"], "value": [1.0, 0.0], "target": ["multi-hot"] * 2})
    >>> [layer["mark"]["type"] for layer in target_chart(f).to_dict()["layer"]]
    ['rect', 'text']
    """
    tags = list(dict.fromkeys(frame["tag"]))
    base = alt.Chart(frame).encode(
        x=alt.X("tag:N", sort=tags, title=None, axis=alt.Axis(labelAngle=0, orient="top", labelFontSize=13)),
        y=alt.Y("target:N", title=None, axis=alt.Axis(labelLimit=320, labelFontSize=13)),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=3).encode(
        color=alt.Color("value:Q", scale=alt.Scale(domain=[0, 1], range=["#eef2f8", "#2f6fdb"]), legend=None),
        tooltip=[alt.Tooltip("target:N"), alt.Tooltip("tag:N"), alt.Tooltip("value:Q", format=".2f")],
    )
    text = base.mark_text(fontSize=15).encode(
        text=alt.Text("value:Q", format=".2~f"),
        color=alt.condition(alt.datum.value > 0.5, alt.value("white"), alt.value("#333")),
    )
    return (cells + text).properties(height=alt.Step(44))


def activation_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Sigmoid and softmax of the same logits side by side per tag (grouped bars).

    ``frame`` as :func:`mlc.lessons.activations_frame`.

    >>> f = pd.DataFrame({"tag": ["dog"] * 2, "logit": [1.0] * 2, "activation": ["sigmoid", "softmax"],
    ...                   "value": [0.73, 1.0]})
    >>> activation_chart(f).to_dict()["layer"][0]["encoding"]["xOffset"]["field"]
    'activation'
    """
    tags = list(dict.fromkeys(frame["tag"]))
    base = alt.Chart(frame).encode(
        x=alt.X("tag:N", sort=tags, title=None, axis=alt.Axis(labelAngle=0, labelFontSize=13)),
        xOffset=alt.XOffset("activation:N"),
        y=alt.Y("value:Q", title="output", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "activation:N",
            scale=alt.Scale(domain=["sigmoid", "softmax"], range=["#2f6fdb", "#e4572e"]),
            legend=alt.Legend(orient="bottom", title=None),
        ),
        tooltip=[
            alt.Tooltip("tag:N"),
            alt.Tooltip("logit:Q", format=".1f"),
            alt.Tooltip("activation:N"),
            alt.Tooltip("value:Q", format=".3f"),
        ],
    )
    labels = base.mark_text(dy=-7, fontSize=11).encode(text=alt.Text("value:Q", format=".2f"), color=alt.value("#333"))
    rule = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule(strokeDash=[4, 3], color="#888").encode(y="y:Q")
    return (base.mark_bar() + labels + rule).properties(height=300)


def co_occurrence_chart(frame: pd.DataFrame, *, size: int = 300) -> alt.LayerChart:
    """Heat map of tag co-occurrence: row *tag*, column *with*, colour = share of *tag*'s images that also hold *with*.

    ``frame`` as :func:`mlc.data_summary.co_occurrence_rows` (``tag``, ``with``, ``share``).

    >>> f = pd.DataFrame({"tag": ["a", "a", "b", "b"], "with": ["a", "b", "a", "b"], "share": [1, .5, .2, 1]})
    >>> co_occurrence_chart(f).to_dict()["layer"][0]["encoding"]["color"]["field"]
    'share'
    """
    return co_occurrence_chart_of(frame, tags=co_occurrence_tags(frame), size=size)


def co_occurrence_tags(frame: pd.DataFrame) -> tuple[str, ...]:
    """The tags of a co-occurrence frame in their first-seen order (the heat map's rows and columns).

    >>> co_occurrence_tags(pd.DataFrame({"tag": ["b", "b", "a", "a"]}))
    ('b', 'a')
    """
    return tuple(dict.fromkeys(frame["tag"]))


def co_occurrence_chart_of(frame: pd.DataFrame, *, tags: tuple[str, ...], size: int = 300) -> alt.LayerChart:
    """:func:`co_occurrence_chart` with the tags' order given: the spec then depends on ``tags`` and ``size``
    alone, never on the shares (a template for :func:`mlc.ui_marshal.chart_with_data`)."""
    tags = list(tags)
    base = alt.Chart(frame).encode(
        x=alt.X("with:N", sort=tags, title="also has", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("tag:N", sort=tags, title="images with"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), legend=alt.Legend(format=".0%")),
        tooltip=[
            alt.Tooltip("tag:N", title="images with"),
            alt.Tooltip("with:N", title="also have"),
            alt.Tooltip("share:Q", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("share:Q", format=".0%"),
        color=alt.condition("datum.share > 0.6", alt.value("white"), alt.value("#222")),
        # numbers fit a cell up to six tags; beyond, the colour and the tooltip say it
        opacity=alt.value(1 if len(tags) <= 6 else 0),
    )
    side = max(size, 34 * len(tags))
    return (cells + text).properties(width=side, height=side)
