"""Tests for mlc.confusion: the input checks and counts that metrics and thresholds share."""

import numpy as np
import pytest

import mlc
from mlc import confusion


def test_as_float_array_names_the_field():
    assert confusion.as_float_array([[1, 0], [True, False]], "y_true").dtype == np.float64
    with pytest.raises(ValueError, match="y_prob must be numeric array-like"):
        confusion.as_float_array([["a"]], "y_prob")


def test_check_unit_values_refuses_nan_and_out_of_range():
    confusion.check_unit_values(np.array([0.0, 1.0]), "y", "labels")
    with pytest.raises(ValueError, match=r"y must contain only finite values, got 2 NaN"):
        confusion.check_unit_values(np.array([np.nan, np.inf, 0.5]), "y", "labels")
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\] \(labels\), got values from -1 to 0.5"):
        confusion.check_unit_values(np.array([-1.0, 0.5]), "y", "labels")


def test_check_scores_shapes_and_thresholds():
    yt, yp, thr = confusion.check_scores([[1, 0, 1]], [[0.2, 0.3, 0.9]], [0.1, 0.2, 0.3])
    assert yt.shape == yp.shape == (1, 3) and thr.tolist() == [0.1, 0.2, 0.3]
    assert confusion.check_scores([[1]], [[0.5]])[2] is None
    with pytest.raises(ValueError, match="y_true must be 2-D"):
        confusion.check_scores([1, 0], [0.2, 0.3])
    with pytest.raises(ValueError, match=r"y_prob must have shape \(1, 2\)"):
        confusion.check_scores([[1, 0]], [[0.2]])
    with pytest.raises(ValueError, match="thresholds must be a single float or 2 floats"):
        confusion.check_scores([[1, 0]], [[0.2, 0.3]], [0.5, 0.5, 0.5])


def test_check_tag_scores_is_one_dimensional():
    yt, ys = confusion.check_tag_scores([1, 0], [0.4, 0.6])
    assert yt.shape == ys.shape == (2,)
    with pytest.raises(ValueError, match="y_true must have at least one sample"):
        confusion.check_tag_scores([], [])


def test_tag_names_defaults_and_checks():
    assert confusion.tag_names(None, 5) == list(mlc.DEFAULT_CLASSES)
    assert confusion.tag_names(None, 3) == ["tag0", "tag1", "tag2"]
    assert confusion.tag_names(("a", 2), 2) == ["a", "2"]
    for bad, match in (("ab", "single string"), (["a"], "must have 2 names"), (["a", "a"], "unique")):
        with pytest.raises(ValueError, match=match):
            confusion.tag_names(bad, 2)


def test_positives_cut_soft_labels_at_one_half():
    assert confusion.POSITIVE_CUTOFF == 0.5
    assert confusion.positives(np.array([0.0, 0.49, 0.5, 0.8])).tolist() == [False, False, True, True]


def test_ratio_and_precision_recall_f1_divide_by_zero_as_zero():
    assert confusion.ratio([3, 1], [4, 0]).tolist() == [0.75, 0.0]
    p, r, f = confusion.precision_recall_f1(np.array([2, 0]), np.array([2, 0]), np.array([0, 0]))
    assert p.tolist() == [0.5, 0.0] and r.tolist() == [1.0, 0.0]
    assert f.tolist() == pytest.approx([2 / 3, 0.0])


def test_counts_at_thresholds_per_tag_sum_to_n():
    pos = np.array([[True, False], [False, False], [True, True]])
    prob = np.array([[0.6, 0.9], [0.6, 0.1], [0.2, 0.8]])
    counts = confusion.counts_at(pos, prob, np.array([0.5, 0.85]))
    # tag 0: predicted rows 0, 1 -> tp 1 (row 0), fp 1 (row 1), fn 1 (row 2); tag 1: only row 0 -> fp 1, fn 1
    assert counts.tolist() == [[1, 1, 1, 0], [0, 1, 1, 1]]
    assert (counts.sum(axis=1) == 3).all() and counts.dtype == np.int64


def test_ranking_groups_tied_scores():
    pos = np.array([True, False, True, True, False])
    r = confusion.ranking(pos, np.array([0.8, 0.8, 0.5, 0.5, 0.2]))
    assert r.scores.tolist() == [0.8, 0.5, 0.2]
    assert r.tp.tolist() == [1, 3, 3] and r.fp.tolist() == [1, 1, 2]
