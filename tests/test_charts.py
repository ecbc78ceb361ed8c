"""Altair charts of training history: tidy frames and chart specs."""

import math

import numpy as np
import pytest

from mlc import charts


def history(epochs=3, per_epoch=5):
    batches = [
        {"step": s, "epoch": 1 + (s - 1) // per_epoch, "loss": 1.0 / s} for s in range(1, epochs * per_epoch + 1)
    ]
    rows = [
        {"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e, "macro_f1": 0.3 * e, "map": 0.3 + 0.2 * e, "mae": 0.3 / e}
        for e in range(1, epochs + 1)
    ]
    return batches, rows


def test_smooth_is_debiased_ema():
    assert charts.smooth([2.0, 2.0, 2.0]).tolist() == pytest.approx([2.0, 2.0, 2.0])
    s = charts.smooth([0.0, 1.0], weight=0.5)
    assert s.tolist() == pytest.approx([0.0, (0.5 * 0.0 * 0.5 + 0.5) / 0.75])


def test_loss_frame_puts_batches_and_epochs_on_one_epoch_axis():
    batches, rows = history()
    frame = charts.loss_frame(batches, rows, batches_per_epoch=5)
    raw = frame[frame.series == "train (batch)"]
    assert raw.epoch.tolist() == pytest.approx([s / 5 for s in range(1, 16)])
    val = frame[frame.series == "validation (epoch)"]
    assert val.epoch.tolist() == [1, 2, 3] and val.loss.tolist() == pytest.approx([1.2, 0.6, 0.4])


def test_loss_frame_drops_non_finite_and_thins_long_histories():
    batches = [{"step": s, "epoch": 1, "loss": float("nan") if s == 3 else 1.0} for s in range(1, 5001)]
    frame = charts.loss_frame(batches, [], batches_per_epoch=5000)
    assert np.isfinite(frame.loss).all()
    assert len(frame[frame.series == "train (batch)"]) <= charts.MAX_BATCH_POINTS


def test_empty_history_gives_an_empty_but_valid_chart():
    assert charts.loss_frame([], [], 10).empty
    spec = charts.loss_chart([], [], 10).to_dict()
    assert spec["layer"]
    assert charts.metrics_frame([], ["map"]).empty


@pytest.mark.parametrize("soft", [False, True])
def test_metrics_chart_shows_f1_map_and_mae_only_for_soft_labels(soft):
    _, rows = history()
    frame = charts.metrics_frame(rows, ["macro_f1", "map"] + (["mae"] if soft else []))
    assert ("MAE (val)" in set(frame.metric)) is soft
    spec = charts.metrics_chart(rows, soft_labels=soft).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert {v["metric"] for v in values} == set(frame.metric)


def test_loss_chart_spec_holds_the_data():
    batches, rows = history()
    spec = charts.loss_chart(batches, rows, 5).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 15 * 2 + 3 * 2
    assert all(math.isfinite(v["loss"]) for v in values)
