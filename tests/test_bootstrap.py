"""Tests for mlc.bootstrap: point values agree with mlc.metrics, weighted AP equals AP of the resampled
rows, intervals cover a simulated binomial about 95 % of the time, a run against itself is no difference."""

import numpy as np
import pytest

from mlc import bootstrap as bs
from mlc import metrics


def _run(n=300, c=3, seed=0, signal=0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, c)) < [0.5, 0.3, 0.1][:c]).astype(float)
    p = np.round(np.clip(signal * y + (1 - signal) * rng.random((n, c)), 0, 1), 2)  # rounded: ties
    return y, p


def test_point_values_agree_with_the_metrics_report():
    y, p = _run()
    thr = [0.5, 0.4, 0.6]
    ci = bs.bootstrap_ci(y, p, n=100, thresholds=thr, classes=["a", "b", "c"])
    rep = metrics.report(y, p, thresholds=thr, classes=["a", "b", "c"])
    for key in ("map", "macro_f1", "micro_f1"):
        assert ci["metrics"][key]["value"] == pytest.approx(rep[key], abs=1e-4)
    for row, tag in zip(ci["per_tag"], rep["per_tag"], strict=True):
        assert row["tag"] == tag["tag"]
        assert row["precision"]["value"] == pytest.approx(tag["precision"], abs=1e-4)
        assert row["recall"]["value"] == pytest.approx(tag["recall"], abs=1e-4)
        assert row["ap"]["value"] == pytest.approx(tag["average_precision"], abs=1e-4)
    assert ci["level"] == 0.95 and ci["n"] == 100 and ci["seed"] == 0


def test_each_resample_scores_like_the_rows_it_drew():
    y, p = _run(n=60)
    names = ["a", "b", "c"]
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 60, size=(5, 60))
    w = np.stack([np.bincount(i, minlength=60) for i in idx]).astype(float)
    got = bs._metrics(w, y >= 0.5, p, np.full(3, 0.5), names)
    for r, rows in enumerate(idx):
        rep = metrics.report(y[rows], p[rows], classes=names)
        assert got["micro_f1"][r] == pytest.approx(rep["micro_f1"])
        assert got["map"][r] == pytest.approx(rep["map"])
        for tag in rep["per_tag"]:
            assert got[f"ap:{tag['tag']}"][r] == pytest.approx(tag["average_precision"])
            assert got[f"recall:{tag['tag']}"][r] == pytest.approx(tag["recall"])


def test_intervals_are_seeded_ordered_and_narrow_with_more_images():
    y, p = _run()
    a, b = bs.bootstrap_ci(y, p, n=200, seed=1), bs.bootstrap_ci(y, p, n=200, seed=1)
    assert a == b
    assert bs.bootstrap_ci(y, p, n=200, seed=2)["metrics"] != a["metrics"]
    for m in a["metrics"].values():
        assert m["low"] <= m["value"] <= m["high"]
    big = bs.bootstrap_ci(*_run(n=3000), n=200)
    width = {k: v["high"] - v["low"] for k, v in a["metrics"].items()}
    assert all(v["high"] - v["low"] < width[k] for k, v in big["metrics"].items())


def test_percentile_intervals_cover_a_binomial_about_95_percent_of_the_time():
    # 200 images, all positive, each predicted with probability 0.3: recall is a binomial share, truth 0.3
    rng = np.random.default_rng(11)
    hits = 0
    for repeat in range(200):
        p = (rng.random((200, 1)) < 0.3).astype(float)
        row = bs.bootstrap_ci(np.ones((200, 1)), p, n=200, seed=repeat, classes=["t"])["per_tag"][0]["recall"]
        hits += row["low"] <= 0.3 <= row["high"]
    assert 0.88 <= hits / 200 <= 0.99


def test_a_run_against_itself_is_no_difference():
    y, p = _run()
    rows = bs.paired_bootstrap(y, p, p, n=200, classes=["a", "b", "c"])
    assert len(rows) == 6 + 3 * 3
    assert {(r["metric"], r["tag"]) for r in rows} >= {("map", None), ("ap", "c"), ("precision", "a")}
    assert all(r["difference"] == 0 and r["low"] == 0 == r["high"] and not r["beyond_noise"] for r in rows)


def test_a_clearly_better_run_is_beyond_noise_and_a_reshuffle_is_not():
    y, weak = _run(signal=0.1, seed=3)
    _, strong = _run(signal=0.6, seed=3)
    rows = {(r["metric"], r["tag"]): r for r in bs.paired_bootstrap(y, weak, strong, n=300)}
    assert rows["map", None]["beyond_noise"] and rows["map", None]["low"] > 0
    assert rows["micro_f1", None]["difference"] > 0
    # two equally good runs (the same signal, independent noise) differ within noise
    rng = np.random.default_rng(5)
    twin = np.round(np.clip(0.1 * y + 0.9 * rng.random(y.shape), 0, 1), 2)
    same = {(r["metric"], r["tag"]): r for r in bs.paired_bootstrap(y, weak, twin, n=300)}
    assert not same["map", None]["beyond_noise"] and same["map", None]["low"] < 0 < same["map", None]["high"]


def test_bad_arguments_are_refused_with_the_field_and_range():
    y, p = _run(n=10)
    with pytest.raises(ValueError, match="level must be a number from 0.5 to 0.999, got 1.5"):
        bs.bootstrap_ci(y, p, level=1.5)
    with pytest.raises(ValueError, match="n must be a whole number from 1 to 100000, got 0"):
        bs.bootstrap_ci(y, p, n=0)
    with pytest.raises(ValueError, match="y_prob must have shape"):
        bs.paired_bootstrap(y, p, p[:, :2])


def test_seed_summary_gives_mean_and_sample_sd():
    assert bs.seed_summary([0.5]) == {"n": 1, "mean": 0.5, "sd": 0.0, "text": "0.500 ± 0.000"}
    s = bs.seed_summary([{"map": 0.6, "f1": 0.5}, {"map": 0.8, "f1": 0.5}, {"map": 0.7, "f1": 0.5}])
    assert s["map"]["mean"] == 0.7 and s["map"]["sd"] == 0.1 and s["f1"]["sd"] == 0.0
    with pytest.raises(ValueError, match="values must hold one number per seed"):
        bs.seed_summary([])
    with pytest.raises(ValueError, match=r"values\[1\] must have the metrics"):
        bs.seed_summary([{"map": 1.0}, {"f1": 1.0}])
    with pytest.raises(ValueError, match=r"values\[0\] must be a number"):
        bs.seed_summary(["0.5"])


def test_every_comparison_metric_has_an_interval_matching_the_report():
    from mlc import metrics
    from mlc.bootstrap import bootstrap_ci, paired_bootstrap

    rng = np.random.default_rng(4)
    y = (rng.random((120, 3)) < 0.4).astype(np.float32)
    p = np.clip(y * 0.5 + rng.random((120, 3)) * 0.5, 0, 1)
    ci = bootstrap_ci(y, p, n=200)
    report = metrics.report(y, p)
    for key in ("macro_recall", "hamming_loss", "subset_accuracy"):
        interval = ci["metrics"][key]
        assert interval["low"] <= interval["value"] <= interval["high"]
    assert ci["metrics"]["hamming_loss"]["value"] == pytest.approx(report["hamming_loss"], abs=1e-4)
    assert ci["metrics"]["subset_accuracy"]["value"] == pytest.approx(report["subset_accuracy"], abs=1e-4)
    rows = {r["metric"] for r in paired_bootstrap(y, p, p, n=50)}
    assert {"macro_recall", "hamming_loss", "subset_accuracy"} <= rows
