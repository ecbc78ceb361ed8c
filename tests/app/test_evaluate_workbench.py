"""AppTest of the Evaluate page's workbench: the Thresholds and Calibration tabs, the calibration
toggle, and the bootstrap intervals on the One-run and Compare tabs. Runs are made by hand
(numpy outputs, no training): what the page shows equals mlc.workbench on the same runs."""

import numpy as np
import pandas as pd
import pytest

from mlc import metrics, workbench
from mlc.config import RunConfig
from mlc.runs import Run
from mlc.states import ThresholdMode
from mlc.threshold_strategies import STRATEGIES


def made_run(number: int, *, loss: str = "bce", seed: int = 0, sharp: float = 1.0, data_seed: int = 0) -> Run:
    """A finished scenes-shaped run: 200 validation and 200 test images, outputs ``sigmoid(sharp * z)``."""
    rng = np.random.default_rng(data_seed)
    config = RunConfig(loss=loss, seed=seed, epochs=2)
    c = config.num_classes
    prevalence = np.array(config.prevalence)

    def split(n, r):
        y = (rng.random((n, c)) < prevalence).astype(np.float32)
        z = (y * 2 - 1) * 1.2 + r.normal(0, 1.0, (n, c))
        return y, 1 / (1 + np.exp(-sharp * z))

    noise = np.random.default_rng(100 + number)
    yv, pv = split(200, noise)
    yt, pt = split(200, noise)
    run = Run(config, status="finished", number=number, train_seconds=1.0)
    run.val_labels, run.val_probabilities, run.test_labels, run.test_probabilities = yv, pv, yt, pt
    run.report = metrics.report(yv, pv, classes=config.classes)
    run.test_report = metrics.report(yt, pt, classes=config.classes)
    run.epoch_history = [{"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e, "map": 0.5 + e / 10} for e in (1, 2)]
    return run


@pytest.fixture
def page(session, open_page):
    def open_(runs):
        session(runs)
        return open_page("pages/evaluate.py")

    return open_


def frames(at) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def with_columns(at, *columns: str) -> list[pd.DataFrame]:
    return [f for f in frames(at) if set(columns) <= set(f.columns)]


def test_thresholds_tab_shows_every_strategy_scored_on_test(page):
    run = made_run(1)
    at = page([run])
    (summary,) = with_columns(at, "strategy", "micro_f1", "labels_per_image", "true_per_image")
    expected = workbench.strategy_summary(run)
    assert list(summary["strategy"]) == list(STRATEGIES)
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)
    band = summary.set_index("strategy").loc["uncertain_band"]
    assert band["coverage"] < 1 and band["unsure"] > 0  # counted apart
    (gap,) = with_columns(at, "validation_f1", "test_f1", "gap")
    pd.testing.assert_frame_equal(
        gap,
        workbench.tuned_gap(workbench.strategy_results(run)["per_tag_f1"], workbench.positives_per_tag(run.val_labels)),
        check_dtype=False,
    )
    assert any("rarest tag" in c.value for c in at.caption)


def test_editing_a_strategy_parameter_rescores_it(page):
    run = made_run(1)
    at = page([run])
    at.selectbox(key="wb_strategy").set_value("fixed_global").run()
    at.number_input(key="wb_param_fixed_global_t").set_value(0.8).run()
    assert not at.exception
    (summary,) = with_columns(at, "strategy", "micro_f1", "labels_per_image")
    expected = workbench.strategy_summary(run, {"fixed_global": {"t": 0.8}})
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)
    assert summary.iloc[0]["micro_f1"] != workbench.strategy_summary(run).iloc[0]["micro_f1"]


def test_calibration_tab_shows_reliability_per_tag_and_the_tables(page):
    run = made_run(1, sharp=3.0)  # over-confident: temperatures above 1
    at = page([run])
    (table,) = with_columns(at, "ece", "ece_temperature", "temperature")
    pd.testing.assert_frame_equal(table, workbench.calibration_table(run), check_dtype=False)
    assert (table["temperature"] > 1).all()  # softened
    (shift,) = with_columns(at, "threshold_calibrated", "half_best_f1")
    pd.testing.assert_frame_equal(shift, workbench.threshold_shift(run), check_dtype=False)
    charts = at.get("vega_lite_chart")
    titles = [c.proto.spec for c in charts]
    assert sum("reliability on test" in s for s in titles) == run.config.num_classes
    assert any("Only bce runs here" in c.value for c in at.caption)
    assert any(f"ECE with {workbench.BINS} equal-width bins" in c.value for c in at.caption)


def test_platt_adds_its_columns(page):
    at = page([made_run(1)])
    at.checkbox(key="cal_platt").check().run()
    assert not at.exception
    assert with_columns(at, "ece_platt", "brier_platt", "log_loss_platt")


def test_loss_modes_are_compared_on_calibration(page):
    runs = [made_run(1), made_run(2, loss="focal", sharp=0.5)]
    at = page(runs)
    (table,) = with_columns(at, "run", "loss", "mean_ece")
    assert list(table["loss"]) == ["focal", "bce"]  # the selected (newest) run first
    assert not any("Only bce runs here" in c.value for c in at.caption)


def test_calibration_toggle_makes_the_one_run_numbers_calibrated(page):
    run = made_run(1, sharp=3.0)
    at = page([run])
    at.radio(key="eval_mode").set_value(ThresholdMode.GLOBAL).run()
    at.slider(key="eval_threshold").set_value(0.8).run()
    raw = {m.label: float(m.value) for m in at.metric}
    at.toggle(key="calibrated_toggle").set_value(True).run()
    assert not at.exception
    assert at.session_state["calibrated"] is True
    cal = workbench.calibrated_run(run)
    rep = metrics.report(cal.test_labels, cal.test_probabilities, 0.8, classes=run.config.classes)
    shown = {m.label: float(m.value) for m in at.metric}
    assert shown["macro F1"] == pytest.approx(rep["macro_f1"], abs=5e-4)
    assert shown["macro F1"] != raw["macro F1"]  # the cut at 0.8 falls elsewhere on calibrated scores
    assert shown["mAP"] == pytest.approx(raw["mAP"], abs=1e-3)  # a monotone map keeps the ranking
    assert any("**Calibrated**" in c.value for c in at.caption)
    at.toggle(key="calibrated_toggle").set_value(False).run()
    assert at.session_state["calibrated"] is False
    assert {m.label: float(m.value) for m in at.metric}["macro F1"] == raw["macro F1"]


def test_one_run_tab_shows_bootstrap_intervals(page):
    run = made_run(1)
    at = page([run])
    ci = workbench.intervals(run.test_labels, run.test_probabilities, [0.5] * 5, run.config.classes)
    line = next(c.value for c in at.caption if c.value.startswith("Bootstrap 95 % intervals"))
    assert workbench.interval_text(ci["metrics"]["map"]) in line and "1,000 resamples" in line
    (table,) = with_columns(at, "support", "precision 95 %", "recall 95 %", "AP 95 %")
    assert list(table["recall 95 %"]) == list(workbench.per_tag_interval_text(ci)["recall 95 %"])
    low, high = (workbench.per_tag_intervals(ci)[f"recall_{e}"] for e in ("low", "high"))
    assert (low <= table["recall"]).all() and (table["recall"] <= high).all()


def test_compare_shows_the_paired_bootstrap_and_the_seed_spread(page):
    a, b = made_run(1, seed=0), made_run(2, seed=1)  # the same test images, different outputs
    at = page([a, b])
    (paired,) = with_columns(at, "metric", "difference", "verdict")
    expected = workbench.paired_rows([a, b], [np.full(5, 0.5)] * 2)
    pd.testing.assert_frame_equal(paired, expected, check_dtype=False)
    assert set(paired["verdict"]) <= {"beyond noise", "within noise"}
    (seeds,) = with_columns(at, "mean ± sd across seeds")
    assert list(seeds["metric"]) == ["mAP", "macro F1", "micro F1"] and set(seeds["seeds"]) == {"0, 1"}


def test_compare_with_different_test_images_says_not_paired(page):
    a, b = made_run(1), made_run(2, loss="focal", data_seed=5)
    at = page([a, b])
    (paired,) = with_columns(at, "metric", "difference", "verdict")
    assert list(paired["verdict"]) == ["not paired: different test images"]
    assert not with_columns(at, "mean ± sd across seeds")


def test_a_run_without_validation_outputs_says_so_on_both_tabs(page):
    run = made_run(1)
    run.val_labels = run.val_probabilities = None
    at = page([run])
    assert sum("kept validation predictions" in i.value for i in at.info) == 2
    assert not at.toggle  # no calibration toggle; the One-run tab still shows the run
    assert {m.label for m in at.metric} >= {"mAP", "macro F1"}
