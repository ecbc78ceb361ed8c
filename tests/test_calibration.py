"""Tests for mlc.calibration: hand-computed ECE, Brier and log loss; temperature and Platt scaling on
simulated over-confident and calibrated models; Lipton's F1*/2 rule on calibrated scores."""

import numpy as np
import pytest

from mlc import calibration as cal


def _simulated(n=6000, sharpen=1.0, seed=0, shift=0.0):
    """Labels drawn from sigmoid(z); scores sigmoid(sharpen * z): sharpen > 1 is over-confident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(shift, 2.0, (n, 2))
    y = (rng.random((n, 2)) < 1 / (1 + np.exp(-z))).astype(float)
    return y, 1 / (1 + np.exp(-sharpen * z))


Y4 = [[1], [0], [1], [0]]
P4 = [[0.9], [0.6], [0.8], [0.3]]


def test_ece_equals_the_hand_computed_value():
    # 2 bins: [0, .5) holds .3 (y 0): |.3 - 0| * 1; [.5, 1] holds .9 .6 .8 (y 1 0 1): |.7667 - .6667| * 3
    assert cal.ece(Y4, P4, bins=2) == (pytest.approx([0.15]), 2)
    # 15 bins: every score alone in its bin, so ECE = mean |p - y| = (.1 + .6 + .2 + .3) / 4
    assert cal.ece(Y4, P4).per_tag.tolist() == [0.3] and cal.ece(Y4, P4).bins == 15
    assert cal.ece([[1], [1]], [[1.0], [1.0]], bins=15).per_tag.tolist() == [0.0]  # p = 1 is in the last bin


def test_reliability_gives_each_bins_mean_observed_and_count():
    r = cal.reliability(Y4 + [[1]], P4 + [[1.0]], bins=4)
    assert r["edges"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert r["count"].tolist() == [[0, 1, 1, 3]]
    assert r["mean_predicted"][0, 1:].tolist() == [0.3, 0.6, 0.9]
    assert r["observed"][0, 1:].tolist() == [0.0, 0.0, 1.0]
    assert np.isnan(r["mean_predicted"][0, 0]) and np.isnan(r["observed"][0, 0])
    with pytest.raises(ValueError, match="bins must be a whole number from 1 to 1000, got 0"):
        cal.reliability(Y4, P4, bins=0)


def test_brier_and_log_loss_hand_computed():
    assert cal.brier(Y4, P4).tolist() == [round((0.01 + 0.36 + 0.04 + 0.09) / 4, 4)]
    expected = -(np.log(0.9) + np.log(0.4) + np.log(0.8) + np.log(0.7)) / 4
    assert cal.log_loss(Y4, P4)[0] == pytest.approx(expected)
    assert np.isfinite(cal.log_loss([[1]], [[0.0]])).all()  # clipped, not infinite


def test_temperature_softens_an_over_confident_model_and_lowers_its_log_loss():
    y, p = _simulated(sharpen=3.0)
    t = cal.fit_temperature(y, p)
    assert t.shape == (2,) and np.all((t > 2.5) & (t < 3.5))
    after = cal.apply_temperature(p, t)
    assert np.all(cal.log_loss(y, after) < cal.log_loss(y, p) - 0.05)
    assert np.all(cal.ece(y, after).per_tag < cal.ece(y, p).per_tag)


def test_temperature_leaves_a_calibrated_model_near_one():
    y, p = _simulated(sharpen=1.0, seed=1)
    assert np.all(np.abs(cal.fit_temperature(y, p) - 1.0) < 0.1)


def test_the_fitted_temperature_is_the_minimum_tag_by_tag():
    y, p = _simulated(sharpen=0.5, seed=2)  # timid: T < 1 sharpens
    t = cal.fit_temperature(y, p)
    assert np.all(t < 0.7)
    best = cal.log_loss(y, cal.apply_temperature(p, t))
    for factor in (1.05, 1 / 1.05):
        assert np.all(best <= cal.log_loss(y, cal.apply_temperature(p, t * factor)))
    # each tag is fitted on its own: fitting one column gives the same temperature
    assert cal.fit_temperature(y[:, :1], p[:, :1])[0] == pytest.approx(t[0])


def test_apply_temperature_one_is_the_identity_and_bad_temperatures_are_refused():
    p = np.array([[0.2, 0.9]])
    np.testing.assert_allclose(cal.apply_temperature(p, 1.0), p)
    with pytest.raises(ValueError, match="temperature must be finite numbers > 0"):
        cal.apply_temperature(p, [1.0, 0.0])


def test_platt_recovers_a_slope_and_an_offset():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 1, (8000, 1))
    y = (rng.random((8000, 1)) < 1 / (1 + np.exp(-(2 * z - 1)))).astype(float)
    p = 1 / (1 + np.exp(-z))
    a, b = cal.fit_platt(y, p)
    assert a[0] == pytest.approx(2.0, abs=0.15) and b[0] == pytest.approx(-1.0, abs=0.15)
    assert cal.log_loss(y, cal.apply_platt(p, a, b))[0] < cal.log_loss(y, p)[0]
    # separable data: Platt's smoothed targets keep the slope finite
    a, b = cal.fit_platt([[0], [0], [1], [1]], [[0.1], [0.2], [0.8], [0.9]])
    assert np.isfinite(a).all() and np.isfinite(b).all()


def test_calibrated_scores_put_the_f1_optimal_threshold_near_half_the_best_f1():
    y, p = _simulated(n=20000, sharpen=1.0, seed=3, shift=-2.0)
    rows = cal.f1_threshold_vs_half_best_f1(y, p, classes=["a", "b"])
    assert [r["tag"] for r in rows] == ["a", "b"]
    for r in rows:
        assert r["half_best_f1"] == pytest.approx(r["f1"] / 2, abs=1e-4)
        assert abs(r["difference"]) < 0.03
    # three times too sharp: the F1-optimal threshold drifts away from F1*/2
    y, p = _simulated(n=20000, sharpen=3.0, seed=3, shift=-2.0)
    assert all(abs(r["difference"]) > 0.05 for r in cal.f1_threshold_vs_half_best_f1(y, p))


def test_calibration_report_is_json_friendly():
    y, p = _simulated(n=500, sharpen=2.0, seed=4)
    r = cal.calibration_report(y, p, bins=10, classes=["a", "b"])
    assert r["bins"] == 10 and [row["tag"] for row in r["per_tag"]] == ["a", "b"]
    assert all(isinstance(v, (str, float)) for row in r["per_tag"] for v in row.values())
    assert r["per_tag"][0]["temperature"] > 1.2
