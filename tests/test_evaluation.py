"""Tests for mlc.evaluation on small hand-made runs (Run objects built directly, no training)."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from mlc import evaluation, metrics, thresholds
from mlc.config import RunConfig
from mlc.states import ThresholdMode
from mlc.training import Run

CLASSES = ("a", "b", "c")
#: "b" is the rarest tag (index 1)
PREVALENCE = (0.5, 0.1, 0.3)
BASE = RunConfig(classes=CLASSES, prevalence=PREVALENCE, weights=(1.0, 1.0, 1.0))

# 6 validation scenes x 3 tags. At 0.5: a: tp2 fp1 fn0; b: tp0 fp0 fn1; c: tp1 fp0 fn1.
# Rankings: a and b perfect (AP 1); c has a negative (.3) above its second positive (.25).
Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0], [0, 0, 0]], np.float32)
P = np.array(
    [[0.9, 0.2, 0.1], [0.7, 0.4, 0.3], [0.6, 0.1, 0.8], [0.2, 0.3, 0.25], [0.1, 0.2, 0.2], [0.3, 0.1, 0.1]], np.float32
)


def make_run(y=Y, p=P, config=BASE, number=1, train_seconds=1.0, history=()):
    """A finished run as training would leave it: report at 0.5, kept validation arrays."""
    run = Run(config, status="finished", train_seconds=train_seconds, number=number)
    run.val_labels, run.val_probabilities = np.asarray(y, np.float32), np.asarray(p, np.float32)
    run.report = metrics.report(run.val_labels, run.val_probabilities, 0.5, classes=config.classes)
    run.epoch_history = list(history)
    return run


# ---------------------------------------------------------------- choosing runs and thresholds
def test_evaluable_runs_need_a_report_and_kept_predictions():
    good = make_run()
    unscored = Run(BASE, status="failed")
    no_arrays = make_run()
    no_arrays.val_probabilities = None
    assert evaluation.evaluable_runs([unscored, good, no_arrays]) == [good]


def test_rare_tag_is_the_lowest_prevalence_first_on_ties():
    assert evaluation.rare_tag(make_run()) == 1
    tied = BASE.replace(prevalence=(0.2, 0.3, 0.2))
    assert evaluation.rare_tag(make_run(config=tied)) == 0


def test_threshold_mode_from_member_value_or_label():
    for mode in ThresholdMode:
        assert evaluation.threshold_mode(mode) is mode
        assert evaluation.threshold_mode(mode.value) is mode
        assert evaluation.threshold_mode(mode.label) is mode
    with pytest.raises(ValueError, match="unknown threshold mode 'best'"):
        evaluation.threshold_mode("best")
    assert evaluation.THRESHOLD_MODES == ("0.5 for every tag", "one threshold for every tag", "F1-optimal per tag")
    assert evaluation.COMPARISON_MODES == (ThresholdMode.HALF, ThresholdMode.PER_TAG_F1)


def test_run_thresholds_per_mode():
    run = make_run()
    assert evaluation.run_thresholds(run).tolist() == [0.5, 0.5, 0.5]
    assert evaluation.run_thresholds(run, ThresholdMode.HALF, value=0.2).tolist() == [0.5, 0.5, 0.5]
    assert evaluation.run_thresholds(run, ThresholdMode.GLOBAL, value=0.3).tolist() == [0.3, 0.3, 0.3]
    best = [b["threshold"] for b in thresholds.best_thresholds(Y, P)]
    assert evaluation.run_thresholds(run, ThresholdMode.PER_TAG_F1).tolist() == best
    # a: positives .9 .7 above every negative -> between .7 and .6; b: its positive .4 -> between .4 and .3;
    # c: F1 is best (0.8) taking both positives, down to .25 -> between .25 and .2
    assert best == pytest.approx([0.65, 0.35, 0.225])
    assert evaluation.run_thresholds(run, "F1-optimal per tag").tolist() == best  # a label still works


def test_run_thresholds_refuses_bad_values_and_runs_without_predictions():
    run = make_run()
    for bad in (1.5, -0.1, math.nan, "0.5", True):
        with pytest.raises(ValueError, match="threshold must be a number from 0 to 1"):
            evaluation.run_thresholds(run, ThresholdMode.GLOBAL, value=bad)
    empty = Run(BASE, status="failed", number=4)
    with pytest.raises(ValueError, match="kept no test or validation predictions"):
        evaluation.run_thresholds(empty)


# ---------------------------------------------------------------- one run
def test_run_report_equals_metrics_report_at_those_thresholds():
    run = make_run()
    for cut in (0.5, [0.65, 0.35, 0.225]):
        np.testing.assert_equal(evaluation.run_report(run, cut), metrics.report(Y, P, cut, classes=CLASSES))
    rep = evaluation.run_report(run)
    assert [t["tp"] for t in rep["per_tag"]] == [2, 0, 1]
    assert [t["fp"] for t in rep["per_tag"]] == [1, 0, 0]


def test_per_tag_table_columns_and_values():
    rep = evaluation.run_report(make_run())
    table = evaluation.per_tag_table(rep)
    assert tuple(table.columns) == evaluation.PER_TAG_COLUMNS
    assert table["tag"].tolist() == list(CLASSES) and table["fn"].tolist() == [0, 1, 1]
    assert table["precision"].tolist() == pytest.approx([2 / 3, 0.0, 1.0])
    short = evaluation.per_tag_table(rep, evaluation.SUMMARY_COLUMNS)
    assert list(short.columns) == ["tag", "support", "precision", "recall", "f1", "average_precision"]


def test_mae_table_per_tag():
    rep = evaluation.run_report(make_run())
    table = evaluation.mae_table(rep)
    assert list(table.columns) == ["tag", "MAE"] and table["tag"].tolist() == list(CLASSES)
    assert table["MAE"].tolist() == pytest.approx(np.abs(P - Y).mean(axis=0).tolist())


def test_headline_metrics_hard_and_soft_labels():
    run = make_run()
    cards = evaluation.headline_metrics(run)
    assert [c.key for c in cards] == ["map", "macro_f1", ("recall", "b"), "micro_f1"]
    assert [c.label for c in cards] == ["mAP", "macro F1", "b recall", "micro F1"]
    assert cards[2].value == 0.0 and cards[2].help == "The rarest tag, at threshold 0.5"
    assert cards[0].value == run.report["map"]
    soft = make_run(config=BASE.replace(loss="mse", soft_labels=True))
    last = evaluation.headline_metrics(soft)[-1]
    assert (last.key, last.label, last.value) == ("mae", "MAE", soft.report["mae"])
    with pytest.raises(ValueError, match="no validation report"):
        evaluation.headline_metrics(Run(BASE, status="failed"))


def test_pr_curves_frame_starts_at_predict_nothing_and_follows_the_curve():
    frame = evaluation.pr_curves_frame(make_run())
    assert list(frame.columns) == ["tag", "recall", "precision", "threshold"]
    for j, tag in enumerate(CLASSES):
        rows = frame[frame["tag"] == tag]
        precision, recall, cuts = thresholds.precision_recall_curve(Y[:, j], P[:, j])
        assert rows["recall"].tolist() == recall.tolist() and rows["precision"].tolist() == precision.tolist()
        assert math.isnan(rows["threshold"].iloc[0]) and rows["threshold"].iloc[1:].tolist() == cuts.tolist()


def test_pr_curves_frame_thins_long_curves_keeping_both_ends():
    rng = np.random.default_rng(0)
    y = (rng.random((2000, 3)) < 0.3).astype(np.float32)
    p = rng.random((2000, 3)).astype(np.float32)
    frame = evaluation.pr_curves_frame(make_run(y, p))
    rows = frame[frame["tag"] == "a"]
    assert len(rows) == 300
    assert (rows["recall"].iloc[0], rows["precision"].iloc[0]) == (0.0, 1.0)
    assert rows["recall"].iloc[-1] == 1.0


def test_operating_points_are_the_report_at_its_thresholds():
    rep = evaluation.run_report(make_run(), [0.65, 0.35, 0.225])
    points = evaluation.operating_points(rep)
    assert list(points.columns) == ["tag", "recall", "precision", "threshold", "f1"]
    assert points["threshold"].tolist() == pytest.approx([0.65, 0.35, 0.225])
    assert points["recall"].tolist() == [t["recall"] for t in rep["per_tag"]]


def test_sweep_frame_matches_threshold_sweep():
    frame = evaluation.sweep_frame(make_run(), steps=11)
    assert len(frame) == 3 * 11 and list(frame.columns) == ["tag", "threshold", "precision", "recall", "f1"]
    sweep = thresholds.threshold_sweep(Y[:, 2], P[:, 2], np.linspace(0, 1, 11))
    rows = frame[frame["tag"] == "c"]
    assert rows["f1"].tolist() == sweep["f1"].tolist() and rows["recall"].tolist() == sweep["recall"].tolist()


def test_strength_frame_samples_the_same_scenes_for_every_tag():
    run = make_run(config=BASE.replace(loss="mse", soft_labels=True))
    full = evaluation.strength_frame(run)
    assert len(full) == 6 * 3 and full[full["tag"] == "a"]["true"].tolist() == Y[:, 0].tolist()
    few = evaluation.strength_frame(run, max_points=4, seed=1)
    per_tag = [few[few["tag"] == t]["predicted"].tolist() for t in CLASSES]
    assert all(len(v) == 4 for v in per_tag)
    scenes = [int(np.flatnonzero(P[:, 0] == np.float32(v))[0]) for v in per_tag[0]]
    assert per_tag[1] == P[scenes, 1].tolist()  # the same scenes, in order, for tag b


# ---------------------------------------------------------------- why accuracy lies
# 4 scenes x 3 tags, outputs 0.95 where the tag is present and 0.05 elsewhere (decided right everywhere).
LIES_Y = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)
LIES_P = LIES_Y * 0.9 + 0.05


def test_keras_accuracy_is_argmax_accuracy_with_its_class_name():
    value, name = evaluation.keras_accuracy(LIES_Y, LIES_P)  # still unpacks as a pair
    assert name == "CategoricalAccuracy" and value == 1.0
    # all zeros: argmax is always tag 0; the true rows' argmax is 0, 0, 2, 0 -> 3 of 4 "right"
    zeros = evaluation.keras_accuracy(LIES_Y, np.zeros_like(LIES_P))
    assert zeros.value == 0.75 and zeros.keras_class == "CategoricalAccuracy"


def test_binary_accuracy_counts_cells():
    assert evaluation.binary_accuracy(LIES_Y, LIES_P) == 1.0
    # above every output: nothing predicted, so only the 10 absent cells of 12 are right
    assert evaluation.binary_accuracy(LIES_Y, LIES_P, threshold=0.99) == pytest.approx(10 / 12)


def test_accuracy_lies_numbers_by_hand():
    lies = evaluation.accuracy_lies(LIES_Y, LIES_P)
    assert lies.keras_class == "CategoricalAccuracy"
    assert [r.key for r in lies.rows] == ["keras_accuracy", "binary_accuracy", "macro_f1", "map"]
    by_key = {r.key: (r.model, r.all_zeros) for r in lies.rows}
    assert by_key["keras_accuracy"] == (1.0, 0.75)
    assert by_key["binary_accuracy"] == (1.0, 0.8333)  # 10/12 cells are "absent"
    # macro F1 at 0.5: tags a and c perfect, b has no positives (F1 0) -> 2/3; all zeros finds nothing
    assert by_key["macro_f1"] == (0.6667, 0.0)
    # mAP over a and c: perfect ranking 1; a constant score ranks at the prevalence, 1/4
    assert by_key["map"] == (1.0, 0.25)
    assert lies.row("map") is lies.rows[3]
    with pytest.raises(KeyError, match="no accuracy row 'accuracy'"):
        lies.row("accuracy")


def test_accuracy_frame_is_the_lesson_table():
    lies = evaluation.accuracy_lies(LIES_Y, LIES_P)
    table = evaluation.accuracy_frame(lies)
    assert table.index.name == "metric" and list(table.columns) == ["model", "all zeros"]
    assert table.index.tolist() == [
        'metrics=["accuracy"] (Keras resolves it to CategoricalAccuracy)',
        "binary accuracy (threshold 0.5)",
        "macro F1 (threshold 0.5)",
        "mAP",
    ]
    assert table["all zeros"].tolist() == [r.all_zeros for r in lies.rows]


# ---------------------------------------------------------------- runs side by side
#: The comparison's metric rows for hard labels, in order.
METRIC_KEYS = ["map", "macro_f1", "micro_f1", "macro_recall", "hamming_loss", "subset_accuracy"]


def test_metric_rows_put_mae_first_for_soft_labels():
    assert [r.key for r in evaluation.metric_rows()] == METRIC_KEYS
    soft = evaluation.metric_rows(soft_labels=True)
    assert soft[0].key == "mae" and not soft[0].higher_is_better
    assert {r.key for r in soft if not r.higher_is_better} == {"mae", "hamming_loss"}


def test_differing_settings_and_run_names():
    bce = make_run(number=1)
    weighted = make_run(
        config=BASE.replace(loss="weighted_bce", weights=(1.0, 9.0, 1.0), weighting="positive"), number=2
    )
    assert evaluation.differing_settings([bce]) == []
    assert evaluation.differing_settings([bce, make_run(number=2)]) == []
    assert evaluation.differing_settings([bce, weighted]) == ["loss", "weights", "weighting"]
    assert evaluation.run_names([bce, weighted]) == [
        "#1 bce",
        "#2 weighted_bce (weights=[1, 9, 1], weighting=positive)",
    ]
    # weights mean nothing to bce, so two bce runs that differ only there look alike; other settings show
    other = make_run(config=BASE.replace(weights=(2.0, 1.0, 1.0), learning_rate=1e-3), number=0)
    assert evaluation.run_names([bce, other]) == ["#1 bce (learning_rate=0.006)", "#? bce (learning_rate=0.001)"]
    assert evaluation.run_numbers([bce, other]) == ["#1", "#?"]


def two_runs():
    """Run 1 at P; run 2 better on every tag (present tags 0.3 higher, absent ones halved), trained longer."""
    sharper = np.clip(np.where(Y >= 0.5, P + 0.3, P * 0.5), 0, 1)
    return [make_run(number=1, train_seconds=2.04), make_run(p=sharper, number=2, train_seconds=3.0)]


def row(rows, key):
    return next(r for r in rows if r.key == key)


def test_comparison_rows_say_what_they_are_and_equal_each_runs_report():
    runs = two_runs()
    rows = evaluation.comparison_table(runs)
    rare = [("recall", "b"), ("precision", "b"), ("average_precision", "b")]
    assert [r.key for r in rows] == [*METRIC_KEYS, *rare, "train_seconds"]
    for r in rows[:6]:
        assert r.values == tuple(run.report[r.key] for run in runs) and not r.is_rare_tag and r.tag is None
    recall = row(rows, ("recall", "b"))
    assert recall.label == "b recall (rarest tag)" and recall.tag == "b" and recall.is_rare_tag
    assert recall.values == tuple(run.report["per_tag"][1]["recall"] for run in runs)
    assert row(rows, ("average_precision", "b")).label == "b AP (rarest tag)"
    assert row(rows, "train_seconds").values == (2.0, 3.0)  # rounded to 0.1 s


def test_comparison_best_run_respects_lower_is_better():
    rows = evaluation.comparison_table(two_runs())
    assert row(rows, "map").best_run == 1 and row(rows, "map").higher_is_better
    hamming = row(rows, "hamming_loss")
    assert not hamming.higher_is_better and hamming.values[1] < hamming.values[0] and hamming.best_run == 1
    time = row(rows, "train_seconds")
    assert not time.higher_is_better and time.best_run == 0  # the faster run is best
    recall = row(rows, ("recall", "b"))
    assert recall.values == (0.0, 1.0) and recall.best_run == 1


def test_comparison_ties_single_runs_and_undefined_values():
    same = evaluation.comparison_table([make_run(number=1), make_run(number=2)])
    assert all(r.tie and r.best_run is None for r in same)
    alone = evaluation.comparison_table([make_run()])
    assert all(r.best_run is None and not r.tie for r in alone)
    # no positive anywhere: mAP is undefined (nan) for that run and cannot win
    silent = make_run(y=np.zeros_like(Y), number=2)
    rows = evaluation.comparison_table([make_run(number=1), silent])
    assert math.isnan(row(rows, "map").values[1]) and row(rows, "map").best_run == 0
    with pytest.raises(ValueError, match="at least one run"):
        evaluation.comparison_table([])


def test_comparison_at_f1_optimal_thresholds_uses_each_runs_own():
    runs = two_runs()
    rows = evaluation.comparison_table(runs, ThresholdMode.PER_TAG_F1)
    for i, run in enumerate(runs):
        own = metrics.report(run.val_labels, run.val_probabilities, evaluation.run_thresholds(run, "per_tag_f1"))
        assert row(rows, "macro_f1").values[i] == own["macro_f1"]
    assert row(rows, ("recall", "b")).values[0] == 1.0  # b's own cut (0.35) finds its positive


def test_comparison_with_different_rarest_tags():
    other = make_run(config=BASE.replace(prevalence=(0.05, 0.5, 0.3)), number=2)
    rows = evaluation.comparison_table([make_run(number=1), other])
    recall = next(r for r in rows if r.is_rare_tag)
    assert recall.key == ("recall", None) and recall.tag is None
    assert recall.label == "rarest tag recall (rarest tag)"
    assert recall.values == (make_run().report["per_tag"][1]["recall"], other.report["per_tag"][0]["recall"])


def test_comparison_frame_is_the_table_a_page_shows():
    runs = two_runs()
    rows = evaluation.comparison_table(runs)
    table = evaluation.comparison_frame(runs, rows)
    assert list(table.columns) == ["#1 bce", "#2 bce", "best"] and table.index.name == "metric"
    assert table.index.tolist() == [r.label for r in rows]
    assert table.loc["mAP", "#1 bce"] == runs[0].report["map"]
    assert table.loc["mAP", "best"] == "#2" and table.loc["training time, s", "best"] == "#1"
    same = [make_run(number=1), make_run(number=2)]
    assert set(evaluation.comparison_frame(same, evaluation.comparison_table(same))["best"]) == {"tie"}
    alone = [make_run()]
    assert set(evaluation.comparison_frame(alone, evaluation.comparison_table(alone))["best"]) == {""}


def styled_cells(styler: "pd.io.formats.style.Styler") -> dict[tuple[int, int], str]:
    """(row, column) -> CSS of every styled cell, read from the rendered HTML."""
    html = styler.to_html()
    cells = {}
    for selectors, css in re.findall(r"((?:#T_\w+_row\d+_col\d+,?\s*)+)\{([^}]*)\}", html):
        for r, c in re.findall(r"_row(\d+)_col(\d+)", selectors):
            cells[int(r), int(c)] = " ".join(css.split())
    return cells


def test_comparison_styler_shades_the_best_and_colours_rare_rows():
    runs = two_runs()
    rows = evaluation.comparison_table(runs)
    styler = evaluation.comparison_styler(runs, rows)
    pd.testing.assert_frame_equal(styler.data, evaluation.comparison_frame(runs, rows))
    cells = styled_cells(styler)
    for i, r in enumerate(rows):
        for j in range(2):
            css = cells.get((i, j), "")
            assert ("font-weight: 700" in css) == (j == r.best_run), (r.key, j)
            assert ("color: #9a3412" in css) == r.is_rare_tag, (r.key, j)
        assert (i, 2) not in cells  # the best column stays plain


def test_rare_recall_cards_compare_with_the_first_run():
    runs = two_runs()
    cards = evaluation.rare_recall_cards(runs, evaluation.comparison_table(runs))
    assert [c.label for c in cards] == ["b recall", "b recall"]
    assert [c.run_name for c in cards] == ["#1 bce", "#2 bce"]
    assert [c.value for c in cards] == [0.0, 1.0]
    assert [c.delta for c in cards] == [None, 1.0] and cards[1].versus == "#1"
    same = [make_run(number=1), make_run(number=2)]
    assert [c.delta for c in evaluation.rare_recall_cards(same, evaluation.comparison_table(same))] == [None, None]


def test_history_frame_overlays_runs_and_skips_missing_values():
    first = make_run(number=1, history=[{"epoch": 1, "loss": 0.9, "val_loss": 0.8, "map": 0.5}])
    second = make_run(
        config=BASE.replace(loss="focal"),
        number=2,
        history=[{"epoch": 1, "loss": 0.7, "val_loss": None, "map": math.nan}, {"epoch": 2, "loss": 0.6}],
    )
    frame = evaluation.history_frame([first, second])
    assert list(frame.columns) == ["run", "epoch", "value", "series"]
    assert frame.to_dict("records") == [
        {"run": "#1 bce", "epoch": 1, "value": 0.9, "series": "train loss"},
        {"run": "#1 bce", "epoch": 1, "value": 0.8, "series": "validation loss"},
        {"run": "#1 bce", "epoch": 1, "value": 0.5, "series": "validation mAP"},
        {"run": "#2 focal", "epoch": 1, "value": 0.7, "series": "train loss"},
        {"run": "#2 focal", "epoch": 2, "value": 0.6, "series": "train loss"},
    ]
    assert evaluation.history_frame([make_run()]).empty


# ---------------------------------------------------------------- held-out test split
def with_test(run, y, p):
    run.test_labels, run.test_probabilities = np.asarray(y, np.float32), np.asarray(p, np.float32)
    return run


def test_numbers_are_on_the_test_split_when_the_run_has_one():
    yt, pt = Y[::-1].copy(), np.clip(P[::-1] + 0.15, 0, 1)
    run = with_test(make_run(), yt, pt)
    rep = evaluation.run_report(run, 0.5)
    assert rep == metrics.report(yt, pt, 0.5, classes=CLASSES)
    assert rep != metrics.report(Y, P, 0.5, classes=CLASSES)
    assert evaluation.pr_curves_frame(run).equals(evaluation.pr_curves_frame(with_test(make_run(), yt, pt)))
    rows = evaluation.comparison_table([run, with_test(make_run(number=2), yt, pt)])
    assert rows[0].values == (rep["map"], rep["map"])


def test_tuned_thresholds_are_fitted_on_validation_and_applied_to_test():
    yt, pt = Y[::-1].copy(), np.clip(P[::-1] + 0.15, 0, 1)
    run = with_test(make_run(), yt, pt)
    t = evaluation.run_thresholds(run, ThresholdMode.PER_TAG_F1)
    np.testing.assert_allclose(t, thresholds.tuned_thresholds(Y, P))  # from validation ...
    assert not np.allclose(t, thresholds.tuned_thresholds(yt, pt))  # ... not from the test split it scores
    rep = evaluation.run_report(run, t)
    assert rep == metrics.report(yt, pt, t, classes=CLASSES)
    no_val = with_test(Run(BASE, status="finished", number=5), yt, pt)
    with pytest.raises(ValueError, match="no validation predictions to fit thresholds on"):
        evaluation.run_thresholds(no_val, ThresholdMode.PER_TAG_F1)


def test_a_run_with_only_test_predictions_is_evaluable():
    run = with_test(Run(BASE, status="finished"), Y, P)
    run.report = metrics.report(Y, P, classes=CLASSES)
    assert evaluation.evaluable_runs([run]) == [run]


def test_unscorable_runs_are_scored_runs_without_predictions():
    imported = Run(BASE, status="imported", message="trained on your own images; cannot be re-scored")
    imported.report = metrics.report(Y, P, classes=CLASSES)
    good = make_run()
    failed = Run(BASE, status="failed")
    assert evaluation.unscorable_runs([good, imported, failed]) == [imported]
