"""Tests for mlc.eval_splits: which split a run is scored on, and which runs may be compared."""

import numpy as np
import pytest

from mlc import eval_splits
from mlc.config import RunConfig
from mlc.runs import Run

Y = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
AB = RunConfig(classes=("a", "b"))


def run(config=AB, number=1, val=True, test=True):
    r = Run(config, status="finished", number=number)
    if val:
        r.val_labels, r.val_probabilities = Y, Y * 0.8
    if test:
        r.test_labels, r.test_probabilities = Y[:2], Y[:2] * 0.6
    return r


def test_scored_split_prefers_test_then_validation():
    split = eval_splits.scored_split(run())
    assert split.name == "test" and len(split.labels) == 2
    np.testing.assert_array_equal(split.probabilities, Y[:2] * 0.6)
    assert eval_splits.scored_split(run(test=False)).name == "validation"
    with pytest.raises(ValueError, match="kept no test or validation predictions"):
        eval_splits.scored_split(run(val=False, test=False))
    assert eval_splits.split_name(run(val=False, test=False)) is None


def test_split_caption_names_the_split_and_where_thresholds_were_fitted():
    assert "2 held-out test images" in eval_splits.split_caption(run())
    tuned = eval_splits.split_caption(run(), tuned=True)
    assert "fitted on its validation images and applied to the test images" in tuned
    old = eval_splits.split_caption(run(test=False), tuned=True)
    assert "3 validation images" in old and "optimistic" in old


def test_same_data_set_and_tags_compare_even_with_other_settings():
    a = run(number=1)
    b = run(RunConfig(classes=("a", "b"), seed=7, loss="focal"), number=2)
    assert eval_splits.incomparable_reason([a, b]) is None
    assert eval_splits.incomparable_reason([]) is None


def test_different_data_sets_are_refused_with_the_reason():
    a = run(number=1)
    b = run(RunConfig(dataset="digits", classes=("1", "2")), number=3)
    reason = eval_splits.incomparable_reason([a, b])
    assert reason.startswith("Run #3 was trained on digits, run #1 on scenes")
    assert "do not compare" in reason


def test_different_tags_are_refused():
    a = run(number=1)
    b = run(RunConfig(classes=("b", "a")), number=2)  # the same tags in another order: columns differ
    assert "has the tags b, a and run #1 a, b" in eval_splits.incomparable_reason([a, b])


def test_own_images_also_need_the_same_fingerprint():
    own = RunConfig(dataset="own", classes=("cat", "dog"), data_name="pets.zip", data_fingerprint="f1")
    same = eval_splits.incomparable_reason([run(own, 1), run(own.replace(seed=3), 2)])
    assert same is None
    other = own.replace(data_name="pets2.zip", data_fingerprint="f2")
    reason = eval_splits.incomparable_reason([run(own, 1), run(other, 2)])
    assert "different image sets (pets.zip and pets2.zip)" in reason


def test_a_test_split_run_is_not_compared_with_a_validation_only_run():
    reason = eval_splits.incomparable_reason([run(number=1), run(number=2, test=False)])
    assert "test split and others only on validation" in reason


def _run_with_splits(seed=0):
    from mlc.config import RunConfig
    from mlc.runs import Run

    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (400, 2))
    y = (rng.random((400, 2)) < 1 / (1 + np.exp(-z))).astype(np.float32)  # sigmoid(z) is the true chance
    sharp = 1 / (1 + np.exp(-3 * z))  # a model three times too sure
    run = Run(RunConfig(classes=("a", "b"), prevalence=(0.4, 0.4)))
    run.val_labels, run.val_probabilities = y[:200], sharp[:200]
    run.test_labels, run.test_probabilities = y[200:], sharp[200:]
    return run


def test_held_out_calibration_fits_on_validation_and_improves_the_test_split():
    from mlc.eval_splits import held_out_calibration

    report = held_out_calibration(_run_with_splits())
    assert report["split"] == "test" and report["fitted_on"] == "validation" and report["bins"] == 15
    for row in report["per_tag"]:
        assert row["temperature"] > 1.5  # over-confident scores are softened
        assert row["log_loss_calibrated"] < row["log_loss"]


def test_held_out_intervals_bracket_the_point_values():
    from mlc.eval_splits import held_out_intervals

    ci = held_out_intervals(_run_with_splits(), n=200)
    m = ci["metrics"]["map"]
    assert ci["split"] == "test" and m["low"] <= m["value"] <= m["high"]
    assert [row["tag"] for row in ci["per_tag"]] == ["a", "b"]


def test_no_kept_predictions_no_calibration_or_intervals():
    from mlc.config import RunConfig
    from mlc.eval_splits import held_out_calibration, held_out_intervals
    from mlc.runs import Run

    assert held_out_calibration(Run(RunConfig())) is None and held_out_intervals(Run(RunConfig())) is None
