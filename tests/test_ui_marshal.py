"""mlc.ui_marshal: a chart's spec from a template equals what st.altair_chart would send, for every live chart."""

import altair as alt
import pandas as pd
import pytest

from mlc import charts, charts_gradients
from mlc.ui_marshal import arrow_bytes, chart_with_data, template_count, vega_lite_spec

CLASSES = ("dog", "cat", "house", "tree", "sky")


def _batches(n, per_epoch=4):
    return [{"step": s, "epoch": 1 + (s - 1) // per_epoch, "loss": 1.0 / s} for s in range(1, n + 1)]


def _epochs(n):
    return [
        {"epoch": e, "loss": 0.5 / e, "val_loss": 0.6 / e, "macro_f1": 0.1 * e, "map": 0.12 * e, "mae": 0.3 / e}
        for e in range(1, n + 1)
    ]


def _gradients(n, unknown=False):
    return [
        {"epoch": e, "source": src, "tag": t, "total": 1.0, "positive": 0.1 * (t + 1) / e,
         "negative": 1 - 0.1 * (t + 1) / e, "unknown": 0.05 if unknown else 0.0}
        for e in range(1, n + 1)
        for src in (0, 1)
        for t in range(len(CLASSES))
    ]  # fmt: skip


def _loss(n):
    return charts.loss_frame(_batches(4 * n), _epochs(n), 4)


def _metrics(n, soft=False):
    return charts.metrics_frame(_epochs(n), charts.metric_keys(soft))


def _shares(n, unknown=False):
    return charts_gradients.share_frame(_gradients(n, unknown), CLASSES)


def _co_occurrence(n):
    return pd.DataFrame(
        [
            {"tag": a, "with": b, "share": 1.0 if a == b else ((3 * i + 7 * j + n) % 10) / 10}
            for i, a in enumerate(CLASSES)
            for j, b in enumerate(CLASSES)
        ]
    )


CASES = {
    "loss": (charts.loss_chart_of, _loss, {"height": 320}),
    "metrics": (charts.metrics_chart_of, _metrics, {"height": 240}),
    "share, one row": (charts_gradients.share_chart_of, _shares, {"panel_width": 74, "columns": 5}),
    "share, wrapped": (charts_gradients.share_chart_of, _shares, {"panel_width": 60, "columns": 3}),
    "co-occurrence": (charts.co_occurrence_chart_of, _co_occurrence, {"tags": CLASSES, "size": 300}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("epochs", [0, 1, 7])
def test_templated_spec_is_streamlits_own(case, epochs):
    draw, make, layout = CASES[case]
    if draw is charts_gradients.share_chart_of:
        layout = {**layout, "classes": CLASSES, "parts": charts_gradients.share_parts(make(max(epochs, 1)))}
    chart_with_data(draw, make(3), **layout)  # the template comes from another frame of the same shape
    frame = make(epochs)
    assert chart_with_data(draw, frame, **layout) == vega_lite_spec(draw(frame, **layout))


def test_the_public_charts_are_the_templated_ones():
    frame = _loss(3)
    assert chart_with_data(charts.loss_chart_of, frame, height=260) == vega_lite_spec(
        charts.loss_chart(_batches(12), _epochs(3), 4)
    )
    layout = {"classes": CLASSES, "parts": ("positive", "negative"), "panel_width": 150, "columns": None}
    assert chart_with_data(charts_gradients.share_chart_of, _shares(2), **layout) == vega_lite_spec(
        charts_gradients.share_chart(_gradients(2), CLASSES)
    )
    shares = _co_occurrence(4)
    assert chart_with_data(charts.co_occurrence_chart_of, shares, tags=CLASSES, size=300) == vega_lite_spec(
        charts.co_occurrence_chart(shares)
    )


def test_the_unknown_part_gets_its_colour():
    frame = _shares(2, unknown=True)
    parts = charts_gradients.share_parts(frame)
    assert parts == ("positive", "negative", "unknown")
    spec = chart_with_data(charts_gradients.share_chart_of, frame, classes=CLASSES, parts=parts)
    assert spec["spec"]["encoding"]["color"]["scale"]["domain"] == list(parts)


def test_one_template_per_shape_and_layout():
    before = template_count()
    for n in range(1, 6):
        chart_with_data(charts.metrics_chart_of, _metrics(n), height=111)
    assert template_count() == before + 1
    chart_with_data(charts.metrics_chart_of, _metrics(2), height=112)
    assert template_count() == before + 2


def test_each_frame_gets_its_own_dataset_name_and_bytes():
    a = chart_with_data(charts.loss_chart_of, _loss(2))
    b = chart_with_data(charts.loss_chart_of, _loss(3))
    assert a["data"] != b["data"]
    (name_a,) = a["datasets"]
    assert a["data"]["name"] == name_a
    assert arrow_bytes(_loss(2)) == (name_a, a["datasets"][name_a])


def test_a_chart_with_two_datasets_is_refused_by_name():
    def two_sets(frame):
        rule = alt.Chart(pd.DataFrame({"y": [0.5]})).mark_rule().encode(y="y:Q")
        return alt.Chart(frame).mark_point().encode(x="x:Q") + rule

    with pytest.raises(ValueError, match="two_sets drew 2"):
        chart_with_data(two_sets, pd.DataFrame({"x": [1.0]}))
