"""Tests for mlc.thresholds: hand-checked curves, sweeps and F1-optimal cuts, and the
re-export through mlc.metrics (the brute-force comparisons live in tests/test_metrics.py)."""

import numpy as np
import pytest

from mlc import confusion, metrics, thresholds


def test_every_threshold_name_is_still_reachable_from_metrics():
    for name in ("best_thresholds", "precision_recall_curve", "threshold_sweep"):
        assert getattr(metrics, name) is getattr(thresholds, name)
    from mlc.metrics import best_thresholds  # the spelling notebooks use

    assert best_thresholds is thresholds.best_thresholds


def test_precision_recall_curve_hand_checked():
    y = [1, 0, 1, 1, 0]
    s = [0.8, 0.8, 0.5, 0.5, 0.2]
    p, r, t = thresholds.precision_recall_curve(y, s)
    assert t.tolist() == [0.8, 0.5, 0.2]
    # start point, then .8: 1/2, 1/3; .5: 3/4, 1; .2: 3/5, 1
    np.testing.assert_allclose(p, [1.0, 0.5, 0.75, 0.6])
    np.testing.assert_allclose(r, [0.0, 1 / 3, 1.0, 1.0])
    assert p.shape == r.shape == (t.shape[0] + 1,)


def test_precision_recall_curve_no_positives():
    p, r, t = thresholds.precision_recall_curve([0, 0, 0], [0.1, 0.9, 0.9])
    assert t.tolist() == [0.9, 0.1]
    assert p.tolist() == [1.0, 0.0, 0.0]
    assert r.tolist() == [0.0, 0.0, 0.0]


def test_threshold_sweep_hand_checked():
    y = [1, 0, 1, 1, 0]
    s = [0.8, 0.8, 0.5, 0.5, 0.2]
    sw = thresholds.threshold_sweep(y, s, thresholds=[0.9, 0.8, 0.5, 0.3, 0.0])
    assert sw["tp"].tolist() == [0, 1, 3, 3, 3]
    assert sw["fp"].tolist() == [0, 1, 1, 1, 2]
    assert sw["fn"].tolist() == [3, 2, 0, 0, 0]
    assert sw["tn"].tolist() == [2, 1, 1, 1, 0]
    # F1 = 2tp / (2tp + fp + fn): 0, 2/5, 6/7, 6/7, 6/8
    np.testing.assert_allclose(sw["f1"], [0, 0.4, 6 / 7, 6 / 7, 0.75])
    np.testing.assert_allclose(sw["precision"], [0, 0.5, 0.75, 0.75, 0.6])
    np.testing.assert_allclose(sw["recall"], [0, 1 / 3, 1, 1, 1])
    assert sw["tp"].dtype == np.int64


def test_threshold_sweep_default_grid():
    sw = thresholds.threshold_sweep([1, 0], [0.3, 0.2])
    assert set(sw) == {"threshold", "precision", "recall", "f1", "tp", "fp", "fn", "tn"}
    np.testing.assert_array_equal(sw["threshold"], np.linspace(0, 1, 101))
    assert all(v.shape == (101,) for v in sw.values())


def test_best_thresholds_hand_checked():
    # scores desc .9(1) .8(0) .7(1) .1(0); F1 at each cut:
    #   .9: 2/3, .8: 1/2, .7: 4/5, .1: 2/3 -> best .7, midpoint with .1 = .4
    (b,) = thresholds.best_thresholds([[1], [0], [1], [0]], [[0.9], [0.8], [0.7], [0.1]])
    assert b["tag"] == "tag0"
    assert b["threshold"] == pytest.approx(0.4)
    assert b["f1"] == pytest.approx(0.8)
    assert b["precision"] == pytest.approx(2 / 3)
    assert b["recall"] == 1.0


def test_best_thresholds_tie_prefers_higher_cut():
    # y 1 0 0 1, scores .9 .8 .7 .6 (2 positives), F1 = 2tp / (tp + fp + 2):
    #   .9: 2/3; .8: 2/4; .7: 2/5; .6: 4/6 = 2/3 -> exact tie between .9 and .6
    y = [[1], [0], [0], [1]]
    s = [[0.9], [0.8], [0.7], [0.6]]
    (b,) = thresholds.best_thresholds(y, s)
    # highest of the tied cuts is .9; midpoint with the next score .8 is .85
    assert b["threshold"] == pytest.approx(0.85)
    assert b["f1"] == pytest.approx(2 / 3)
    assert b["precision"] == 1.0 and b["recall"] == 0.5


def test_best_thresholds_lowest_score_and_no_positive_tag():
    # tag 0: all positive -> best cut is the lowest score .2, kept as is
    # tag 1: no positives -> threshold 1.0, F1 0
    y = [[1, 0], [1, 0]]
    s = [[0.2, 0.3], [0.7, 1.0]]
    b0, b1 = thresholds.best_thresholds(y, s, classes=["x", "y"])
    assert (b0["tag"], b0["threshold"], b0["f1"]) == ("x", 0.2, 1.0)
    assert (b1["tag"], b1["threshold"], b1["f1"]) == ("y", 1.0, 0.0)
    assert b1["precision"] == 0.0 and b1["recall"] == 0.0


def test_best_thresholds_adjacent_floats_keep_score():
    # The two scores are adjacent floats: their midpoint rounds onto one of
    # them. The returned cut must still separate them (F1 1, not 2/3).
    for lo in (0.1, 0.25, 0.3, 0.7):
        hi = float(np.nextafter(lo, 1.0))
        (b,) = thresholds.best_thresholds([[1], [0]], [[hi], [lo]])
        assert b["f1"] == 1.0
        assert b["threshold"] == hi
    # 0.1 and 0.7 are pairs whose midpoint rounds down onto the lower score
    assert 0.5 * (0.1 + float(np.nextafter(0.1, 1.0))) == 0.1


def test_threshold_sweep_invalid_thresholds():
    with pytest.raises(ValueError, match=r"thresholds must lie in \[0, 1\]"):
        thresholds.threshold_sweep([1, 0], [0.2, 0.3], thresholds=[0.5, 1.1])
    with pytest.raises(ValueError, match="thresholds must be a non-empty 1-D"):
        thresholds.threshold_sweep([1, 0], [0.2, 0.3], thresholds=[])
    with pytest.raises(ValueError, match="thresholds must contain only finite"):
        thresholds.threshold_sweep([1, 0], [0.2, 0.3], thresholds=[np.nan])


def test_f1_optimal_cut_uses_a_given_ranking_or_makes_its_own():
    pos = np.array([True, False, False, True])
    score = np.array([0.9, 0.8, 0.7, 0.6])
    own = thresholds.f1_optimal_cut(pos, score)
    assert own == thresholds.f1_optimal_cut(pos, score, confusion.ranking(pos, score))
    assert own["threshold"] == pytest.approx(0.85) and own["f1"] == pytest.approx(2 / 3)


def test_f1_optimal_cut_agrees_with_best_thresholds_per_tag():
    rng = np.random.default_rng(3)
    y = (rng.random((40, 3)) < 0.3).astype(float)
    p = np.round(rng.random((40, 3)), 2)
    for j, best in enumerate(thresholds.best_thresholds(y, p, classes=["a", "b", "c"])):
        cut = thresholds.f1_optimal_cut(confusion.positives(y[:, j]), p[:, j])
        assert best == {"tag": "abc"[j], **cut}


def test_tuned_thresholds_are_the_best_cuts_of_the_fitting_split():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    p = np.array([[0.9, 0.2], [0.3, 0.6], [0.6, 0.8], [0.5, 0.1]])
    fitted = thresholds.tuned_thresholds(y, p)
    assert fitted.shape == (2,) and fitted.dtype == np.float64
    assert fitted.tolist() == [b["threshold"] for b in thresholds.best_thresholds(y, p)]
    # applied elsewhere they are just thresholds: scores there are whatever they are
    other = metrics.report(y[::-1], p, fitted)
    assert other["per_tag"][0]["threshold"] == fitted[0]
