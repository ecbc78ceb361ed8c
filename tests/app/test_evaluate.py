"""AppTest of the Evaluate & compare page: numbers equal mlc.metrics.report on the same
arrays, the accuracy lesson is shown, two runs with different loss modes compare."""

import pytest

from mlc import metrics
from mlc.config import RunConfig
from mlc.training import train

TINY = RunConfig(epochs=2, train_size=256, val_size=128, batch_size=32)


@pytest.fixture(scope="module")
def runs():
    out = [
        train(TINY),
        train(TINY.replace(loss="weighted_bce", weights=(1.0, 9.0, 1.0, 1.0, 1.0), weighting="positive")),
    ]
    for number, run in enumerate(out, start=1):
        run.number = number
    return out


@pytest.fixture
def page(session, open_page):
    def open_(runs):
        jobs = session(runs)
        return open_page("pages/evaluate.py"), jobs

    return open_


def test_without_runs_says_where_to_train(page):
    at, _ = page([])
    assert any("No finished runs" in i.value for i in at.info)


def test_metrics_shown_equal_the_report(page, runs):
    at, _ = page(runs)
    run = runs[1]  # the newest run is selected first
    rep = metrics.report(run.val_labels, run.val_probabilities, 0.5, classes=run.config.classes)
    shown = {m.label: float(m.value) for m in at.metric if m.label in ("mAP", "macro F1", "micro F1", "Hamming loss")}
    assert shown["mAP"] == pytest.approx(rep["map"], abs=5e-4)
    assert shown["macro F1"] == pytest.approx(rep["macro_f1"], abs=5e-4)
    assert shown["Hamming loss"] == pytest.approx(rep["hamming_loss"], abs=5e-5)
    table = at.dataframe[0].value
    for row, expected in zip(table.itertuples(), rep["per_tag"]):
        assert row.tag == expected["tag"] and row.tp == expected["tp"] and row.fn == expected["fn"]
        assert row.recall == pytest.approx(expected["recall"]) and row.average_precision == pytest.approx(
            expected["average_precision"], nan_ok=True
        )


def test_f1_optimal_mode_uses_the_best_thresholds(page, runs):
    at, _ = page(runs)
    at.radio(key="eval_mode").set_value("F1-optimal per tag").run()
    assert not at.exception
    run = runs[1]
    best = [r["threshold"] for r in metrics.best_thresholds(run.val_labels, run.val_probabilities)]
    assert list(at.dataframe[0].value["threshold"]) == pytest.approx(best)


def test_accuracy_lesson_shows_argmax_accuracy(page, runs):
    at, _ = page(runs)
    lies = at.dataframe[1].value
    assert "CategoricalAccuracy" in lies.index[0]
    zeros_binary = lies.loc["binary accuracy (threshold 0.5)", "all zeros"]
    y = runs[1].val_labels
    assert zeros_binary == pytest.approx(1 - (y >= 0.5).mean(), abs=1e-3)
    assert any("all-zeros" in m.value for m in at.markdown)


def test_two_runs_with_different_loss_modes_compare(page, runs):
    at, _ = page(runs)
    assert not at.exception
    tables = [d.value for d in at.dataframe]
    comparison = next(t for t in tables if "best" in t.columns)
    assert list(comparison.columns) == [
        "#1 bce",
        "#2 weighted_bce (weights=[1, 9, 1, 1, 1], weighting=positive)",
        "best",
    ]
    assert "cat recall (rarest tag)" in comparison.index
    rep = metrics.report(runs[0].val_labels, runs[0].val_probabilities, 0.5)
    assert comparison.loc["mAP", "#1 bce"] == pytest.approx(rep["map"])
    best = comparison.loc["mAP", "best"]
    assert best in ("tie", comparison.loc["mAP"].iloc[:2].astype(float).idxmax().split(" ")[0])
    assert any("cat recall" == m.label for m in at.metric)
    assert len(at.get("vega_lite_chart")) == 5  # PR, sweep, and three overlays


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
    assert any("MAE" in d.value.columns for d in at.dataframe)
