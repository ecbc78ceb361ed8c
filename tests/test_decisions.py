"""mlc.decisions: strategies fitted for the Predict page, calibrated scores, the decision chart and table."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mlc import decisions
from mlc.threshold_strategies import STRATEGIES

CLASSES = ["a", "b", "c"]


def val_data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 3)) < [0.5, 0.2, 0.6]).astype(np.float32)
    p = np.clip(0.6 * y + 0.4 * rng.random((n, 3)), 0, 1)
    return y, p


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_fits_with_its_defaults_and_decides_three_states(name):
    y, p = val_data()
    params = STRATEGIES[name].defaults(3)
    rule = decisions.fit_choice(name, params, CLASSES, y, p)
    states = rule.states(p)
    assert states.shape == p.shape
    assert set(decisions.decision_frame(p[0], CLASSES, rule)["decision"]) <= set(decisions.DECISION_COLOURS)
    assert json.dumps(decisions.decision_chart(decisions.decision_frame(p[0], CLASSES, rule), rule).to_dict())


def test_fitted_strategies_need_validation_the_others_do_not():
    fitted = [n for n in STRATEGIES if decisions.needs_validation(n)]
    assert fitted == ["per_tag_f1", "fixed_precision", "fixed_recall"]
    for name in STRATEGIES:
        if name not in fitted:
            decisions.fit_choice(name, STRATEGIES[name].defaults(3), CLASSES, None, None)
        else:
            with pytest.raises(ValueError, match="validation split"):
                decisions.fit_choice(name, {}, CLASSES, None, None)


def test_a_band_with_lo_above_hi_is_refused_with_both_values():
    with pytest.raises(ValueError, match=r"lo must be at most hi \(0.2\), got lo=0.6"):
        decisions.fit_choice("uncertain_band", {"lo": 0.6, "hi": 0.2}, CLASSES, None, None)


def test_tags_by_decision_by_hand():
    band = decisions.fit_choice("uncertain_band", {"lo": 0.3, "hi": 0.7}, CLASSES, None, None)
    p = np.array([[0.7, 0.3, 0.29], [0.1, 0.69, 0.95]])
    assert decisions.tags_by_decision(p, CLASSES, band) == [(["a"], ["b"]), (["c"], ["b"])]
    top2 = decisions.fit_choice("top_k", {"k": 2}, CLASSES, None, None)
    assert decisions.tags_by_decision(np.array([[0.5, 0.5, 0.5]]), CLASSES, top2) == [(["a", "b"], [])]


def test_the_band_chart_draws_lo_and_hi_and_colours_each_state():
    band = decisions.fit_choice("uncertain_band", {"lo": 0.25, "hi": 0.75}, CLASSES, None, None)
    frame = decisions.decision_frame([0.9, 0.5, 0.1], CLASSES, band)
    assert frame["decision"].tolist() == ["sure yes", "unsure", "no"]
    spec = decisions.decision_chart(frame, band).to_dict()
    edges = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert len(edges) == 1
    values = next(iter(spec["datasets"].values())) if "datasets" in spec else None
    assert values is not None and any(v.get("x") == 0.25 for d in spec["datasets"].values() for v in d)
    assert any(v.get("x") == 0.75 for d in spec["datasets"].values() for v in d)
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["sure yes", "unsure", "no"] and len(set(colour["range"])) == 3


def test_a_threshold_rule_draws_its_cuts_a_per_image_rule_does_not():
    t = decisions.fit_choice("manual_per_tag", {"t": [0.2, 0.5, 0.8]}, CLASSES, None, None)
    marks = [
        ly["mark"]["type"]
        for ly in decisions.decision_chart(decisions.decision_frame([0.3] * 3, CLASSES, t), t).to_dict()["layer"]
    ]
    assert "tick" in marks
    m = decisions.fit_choice("mcut", {}, CLASSES, None, None)
    marks = [
        ly["mark"]["type"]
        for ly in decisions.decision_chart(decisions.decision_frame([0.3] * 3, CLASSES, m), m).to_dict()["layer"]
    ]
    assert "tick" not in marks and "rule" not in marks


def test_calibration_is_cached_per_run_and_changes_overconfident_scores():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (2000, 3))
    y = (rng.random((2000, 3)) < 1 / (1 + np.exp(-z))).astype(np.float32)
    p = 1 / (1 + np.exp(-3 * z))  # three times too sharp
    run = SimpleNamespace(val_labels=y, val_probabilities=p)
    cache = decisions.TemperatureCache()
    t = cache.get(run)
    assert t is cache.get(run) and np.allclose(t, 3.0, atol=0.3)
    other = SimpleNamespace(val_labels=y, val_probabilities=p)
    assert cache.get(other) is not t  # another run, its own entry
    calibrated = decisions.calibrate(p[:5], t)
    assert np.all(np.abs(calibrated - 0.5) <= np.abs(p[:5] - 0.5) + 1e-12)  # softened towards 0.5
    assert decisions.calibrate(p[:5], None) is not None and np.array_equal(decisions.calibrate(p[:5], None), p[:5])
    with pytest.raises(ValueError, match="no validation predictions"):
        cache.get(SimpleNamespace(val_labels=None, val_probabilities=None))


def test_the_temperature_cache_is_bounded():
    cache = decisions.TemperatureCache(max_entries=2)
    runs = [
        SimpleNamespace(val_labels=np.array([[1], [0]]), val_probabilities=np.array([[0.9], [0.2]])) for _ in range(3)
    ]
    for run in runs:
        cache.get(run)
    assert len(cache._entries) == 2


def test_decision_table_rewrites_predicted_exact_and_adds_unsure():
    table = pd.DataFrame(
        {
            "file": ["x", "y"],
            "source": ["upload", "test"],
            "predicted": ["", ""],
            "true": ["", "a"],
            "exact": [None, False],
            "a": [0.9, 0.5],
            "b": [0.5, 0.1],
            "c": [0.1, 0.2],
        }
    )
    band = decisions.fit_choice("uncertain_band", {"lo": 0.3, "hi": 0.7}, CLASSES, None, None)
    out = decisions.decision_table(table, table[CLASSES].to_numpy(), band)
    assert out["predicted"].tolist() == ["a", ""] and out["unsure"].tolist() == ["b", "a"]
    assert out["exact"].tolist() == [None, False]
    assert list(out.columns).index("unsure") == list(out.columns).index("predicted") + 1
    top = decisions.fit_choice("top_k", {"k": 1}, CLASSES, None, None)
    assert "unsure" not in decisions.decision_table(table, table[CLASSES].to_numpy(), top)  # only the band has one


def test_scored_split_prefers_test_and_scores_calibrated_scores():
    y, p = val_data(0)
    yt, pt = val_data(1)
    run = SimpleNamespace(
        val_labels=y,
        val_probabilities=p,
        test_labels=yt,
        test_probabilities=pt,
        config=SimpleNamespace(classes=CLASSES),
    )
    rule = decisions.fit_choice("per_tag_f1", {}, CLASSES, y, p)
    split, scores = decisions.scored_split(run, rule, None)
    assert split == "test" and scores["n"] == len(yt)
    run.test_labels = None
    assert decisions.scored_split(run, rule, None)[0] == "validation"
    run.val_labels = None
    assert decisions.scored_split(run, rule, None) is None
