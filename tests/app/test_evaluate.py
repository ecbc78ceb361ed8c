"""AppTest of the Evaluate & compare page: what it shows equals mlc.evaluation's structured
results on the same runs (numbers equal mlc.metrics.report), the accuracy lesson is shown, two
runs with different loss modes compare."""

import numpy as np
import pandas as pd
import pytest

from mlc import evaluation, metrics
from mlc.config import RunConfig
from mlc.runs import Run
from mlc.states import ThresholdMode
from mlc.training import train

TINY = RunConfig(epochs=2, train_size=256, val_size=128, batch_size=32)


@pytest.fixture
def runs(two_runs):
    return list(two_runs)


@pytest.fixture
def page(session, open_page):
    def open_(runs):
        jobs = session(runs)
        return open_page("pages/evaluate.py"), jobs

    return open_


def shown(at, expected: pd.DataFrame) -> pd.DataFrame:
    """The one table on the page with ``expected``'s shape and labels, checked equal to it (wherever it sits)."""
    same_shape = [
        d.value
        for d in at.dataframe
        if d.value.shape == expected.shape and list(d.value.columns) == list(expected.columns)
    ]
    assert len(same_shape) == 1, [d.value.columns.tolist() for d in at.dataframe]
    table = same_shape[0]
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    return table


def shown_per_tag(at, expected: pd.DataFrame) -> pd.DataFrame:
    """The One-run per-tag table (it adds bootstrap interval columns), its ``expected`` columns equal."""
    tables = [d.value for d in at.dataframe if {"support", "precision 95 %"} <= set(d.value.columns)]
    assert len(tables) == 1, [d.value.columns.tolist() for d in at.dataframe]
    pd.testing.assert_frame_equal(tables[0][list(expected.columns)], expected, check_dtype=False)
    return tables[0]


def test_without_runs_says_where_to_train(page):
    at, _ = page([])
    assert any("No finished runs" in i.value for i in at.info)


def test_metrics_shown_equal_the_report(page, runs):
    at, _ = page(runs)
    run = runs[1]  # the newest run is selected first
    rep = metrics.report(run.test_labels, run.test_probabilities, 0.5, classes=run.config.classes)
    assert rep == run.test_report  # what training measured on the held-out split
    shown_metrics = {m.label: float(m.value) for m in at.metric}
    assert shown_metrics["mAP"] == pytest.approx(rep["map"], abs=5e-4)
    assert shown_metrics["macro F1"] == pytest.approx(rep["macro_f1"], abs=5e-4)
    assert shown_metrics["Hamming loss"] == pytest.approx(rep["hamming_loss"], abs=5e-5)
    shown_per_tag(at, evaluation.per_tag_table(rep))
    assert any(f"{len(run.test_labels)} held-out test images" in c.value for c in at.caption)


def test_f1_optimal_mode_uses_the_best_thresholds(page, runs):
    at, _ = page(runs)
    at.radio(key="eval_mode").set_value(ThresholdMode.PER_TAG_F1).run()
    assert not at.exception
    run = runs[1]
    best = [r["threshold"] for r in metrics.best_thresholds(run.val_labels, run.val_probabilities)]
    table = shown_per_tag(at, evaluation.per_tag_table(evaluation.run_report(run, best)))
    assert list(table["threshold"]) == pytest.approx(best)
    assert run.test_labels is not None  # fitted on validation, scored on test
    assert evaluation.run_report(run, best) == metrics.report(
        run.test_labels, run.test_probabilities, best, classes=run.config.classes
    )
    assert any("fitted on its validation images and applied to the test images" in c.value for c in at.caption)


def test_accuracy_lesson_shows_argmax_accuracy(page, runs):
    at, _ = page(runs)
    run = runs[1]
    lies = evaluation.accuracy_lies(run.test_labels, run.test_probabilities)
    assert lies.keras_class == "CategoricalAccuracy"
    shown(at, evaluation.accuracy_frame(lies))
    y = run.test_labels
    assert lies.row("binary_accuracy").all_zeros == pytest.approx(1 - (y >= 0.5).mean(), abs=1e-3)
    lesson = next(m.value for m in at.markdown if "all-zeros" in m.value)
    assert f"**{lies.keras_class}**" in lesson and f"**{lies.row('keras_accuracy').model:.3f}**" in lesson


def test_two_runs_with_different_loss_modes_compare(page, runs):
    at, _ = page(runs)
    assert not at.exception
    rows = evaluation.comparison_table(runs, ThresholdMode.HALF)
    shown(at, evaluation.comparison_frame(runs, rows))
    rep = metrics.report(runs[0].test_labels, runs[0].test_probabilities, 0.5)
    assert next(r for r in rows if r.key == "map").values[0] == pytest.approx(rep["map"])
    cards = evaluation.rare_recall_cards(runs, rows)
    on_page = [(m.label, m.value) for m in at.metric if m.label == cards[0].label]
    assert on_page == [(c.label, f"{c.value:.3f}") for c in cards]
    # PR, sweep, three overlays, and a reliability diagram per tag on the Calibration tab
    assert len(at.get("vega_lite_chart")) == 5 + runs[1].config.num_classes


def test_comparison_follows_the_threshold_mode(page, runs):
    at, _ = page(runs)
    at.radio(key="compare_mode").set_value(ThresholdMode.PER_TAG_F1).run()
    assert not at.exception
    shown(at, evaluation.comparison_frame(runs, evaluation.comparison_table(runs, ThresholdMode.PER_TAG_F1)))


def test_a_single_selected_run_asks_for_more(page, runs):
    at, _ = page(runs)
    at.multiselect(key="compare_runs").set_value([1]).run()
    assert not at.exception
    assert any("two or more runs" in i.value for i in at.info)


def test_soft_label_run_shows_strength_scatter_and_mae(page):
    run = train(TINY.replace(loss="mse", soft_labels=True))
    run.number = 1
    at, _ = page([run])
    assert not at.exception
    assert any("predicted vs true strength" in s.value for s in at.subheader)
    shown(at, evaluation.mae_table(run.test_report))


def digits_run(number: int, n: int = 40) -> Run:
    """A finished run whose config says digits, with its arrays made by hand (no digits generator needed)."""
    rng = np.random.default_rng(number)
    config = RunConfig(dataset="digits", classes=tuple("0123"), epochs=1)
    run = Run(config, status="finished", number=number)
    for split in ("val", "test"):
        y = (rng.random((n, 4)) < 0.4).astype(np.float32)
        p = np.clip(y * 0.6 + rng.random((n, 4)) * 0.4, 0, 1).astype(np.float32)
        setattr(run, f"{split}_labels", y)
        setattr(run, f"{split}_probabilities", p)
    run.report = metrics.report(run.val_labels, run.val_probabilities, classes=config.classes)
    run.test_report = metrics.report(run.test_labels, run.test_probabilities, classes=config.classes)
    return run


def test_runs_of_different_data_sets_are_not_compared(page, runs):
    digits = digits_run(3)
    at, _ = page([*runs, digits])
    assert at.multiselect(key="compare_runs").value == [3]  # by default only runs that compare with the newest
    at.multiselect(key="compare_runs").set_value([1, 3]).run()
    assert not at.exception
    reason = evaluation.incomparable_reason([runs[0], digits])
    assert reason and "digits" in reason and "scenes" in reason
    assert [w.value for w in at.warning] == [f"Not compared. {reason}"]
    assert not any("best" in getattr(d.value, "columns", []) for d in at.dataframe)


def test_a_digits_run_is_evaluated_on_its_test_split(page):
    run, other = digits_run(1), digits_run(2)
    at, _ = page([run, other])
    assert not at.exception
    shown_metrics = {m.label: float(m.value) for m in at.metric}
    assert shown_metrics["mAP"] == pytest.approx(other.test_report["map"], abs=5e-4)
    assert any("Trained on **digits**" in c.value and "40 held-out test images" in c.value for c in at.caption)
    assert not at.warning  # two digits runs with the same tags compare
    shown(at, evaluation.comparison_frame([run, other], evaluation.comparison_table([run, other])))


def test_an_imported_own_data_run_is_named_as_not_evaluable(page, runs):
    imported = Run(
        RunConfig(dataset="own", classes=("cat", "dog"), data_name="pets.zip"),
        status="imported",
        number=3,
        message="imported; trained on your own images (pets.zip): it predicts, but cannot be re-scored",
    )
    imported.report = metrics.report(np.eye(2), np.eye(2) * 0.8, classes=("cat", "dog"))
    at, _ = page([*runs, imported])
    assert not at.exception
    assert any(c.value.startswith("#3 ") and "cannot be re-scored" in c.value for c in at.caption)
    assert 3 not in at.selectbox(key="eval_run").options and "3" not in at.selectbox(key="eval_run").options
