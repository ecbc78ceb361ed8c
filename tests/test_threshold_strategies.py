"""Tests for mlc.threshold_strategies: every registered strategy's contract, then hand-worked examples."""

import math

import numpy as np
import pytest

from mlc import threshold_strategies as ts
from mlc.states import DecisionState
from mlc.thresholds import best_thresholds

RNG = np.random.default_rng(3)
Y = (RNG.random((40, 4)) < 0.4).astype(float)
P = np.clip(0.4 * Y + 0.6 * RNG.random((40, 4)), 0, 1)


def _bad(spec):
    """A value just outside the declared range."""
    return spec.high + 1 if spec.high is not None and math.isfinite(spec.high) else spec.low - 1


@pytest.mark.parametrize("name", list(ts.STRATEGIES))
def test_every_strategy_fits_on_its_defaults_and_decides_each_cell(name):
    strategy = ts.STRATEGIES[name]
    for key, spec in strategy.params.items():
        default = [spec.default] * 4 if spec.kind == "per_tag" else spec.default
        assert spec.check(default, key) == default  # the declared default is valid
        assert spec.help and spec.hint
    rule = strategy.fit(Y, P, **strategy.defaults(4))
    yes, maybe = rule.decide(P), rule.unsure(P)
    assert yes.shape == maybe.shape == (40, 4) and yes.dtype == maybe.dtype == bool
    assert not (yes & maybe).any()
    states = rule.states(P)
    assert set(states.ravel()) <= set(DecisionState)
    assert ((states == DecisionState.YES) == yes).all()
    assert strategy.label and strategy.description


@pytest.mark.parametrize("name", list(ts.STRATEGIES))
def test_every_strategy_refuses_a_bad_value_naming_field_range_and_value(name):
    strategy = ts.STRATEGIES[name]
    for key, spec in strategy.params.items():
        bad = _bad(spec)
        value = [bad] * 4 if spec.kind == "per_tag" else bad
        with pytest.raises(ValueError) as err:
            strategy.fit(Y, P, **{key: value})
        msg = str(err.value)
        assert msg.startswith(key) and repr(bad) in msg
        assert spec.range_text() in msg or f"from {spec.low:g} to {spec.high:g}" in msg
    with pytest.raises(ValueError, match=f"unknown parameter 'nope' for strategy '{name}'"):
        strategy.fit(Y, P, nope=1)


@pytest.mark.parametrize("name", [n for n, s in ts.STRATEGIES.items() if not s.needs_labels])
def test_strategies_that_ignore_labels_decide_the_same_whatever_the_labels(name):
    strategy = ts.STRATEGIES[name]
    a = strategy.fit(Y, P).decide(P)
    b = strategy.fit(1 - Y, P).decide(P)
    assert (a == b).all()


def test_fixed_global_and_manual_per_tag_cut_at_their_thresholds():
    p = np.array([[0.5, 0.49, 0.8]])
    assert ts.STRATEGIES["fixed_global"].fit(Y[:, :3], P[:, :3], t=0.5).decide(p).tolist() == [[True, False, True]]
    rule = ts.STRATEGIES["manual_per_tag"].fit(Y[:, :3], P[:, :3], t=[0.6, 0.4, 0.9])
    assert rule.decide(p).tolist() == [[False, True, False]]
    with pytest.raises(ValueError, match=r"t must have one value per tag \(3\), got 2"):
        ts.STRATEGIES["manual_per_tag"].fit(Y[:, :3], P[:, :3], t=[0.6, 0.4])
    with pytest.raises(ValueError, match="p must have 3 tags"):
        rule.decide(np.ones((1, 2)))


def test_per_tag_f1_uses_best_thresholds():
    rule = ts.STRATEGIES["per_tag_f1"].fit(Y, P)
    assert rule.thresholds.tolist() == [b["threshold"] for b in best_thresholds(Y, P)]


# y = [1, 0, 1, 0, 1] at scores .9 .8 .7 .6 .2: precision at each cut 1, 1/2, 2/3, 1/2, 3/5;
# recall 1/3, 1/3, 2/3, 2/3, 1.
HAND_Y = np.array([[1, 0, 1, 0, 1]], dtype=float).T
HAND_P = np.array([[0.9, 0.8, 0.7, 0.6, 0.2]]).T


@pytest.mark.parametrize(("target", "cut"), [(0.6, 0.2), (0.65, 0.7), (0.9, 0.9), (0.0, 0.2)])
def test_fixed_precision_takes_the_lowest_cut_reaching_it(target, cut):
    rule = ts.STRATEGIES["fixed_precision"].fit(HAND_Y, HAND_P, precision=target)
    assert rule.thresholds.tolist() == [cut] and not rule.notes


@pytest.mark.parametrize(("target", "cut"), [(0.3, 0.9), (0.5, 0.7), (2 / 3, 0.7), (1.0, 0.2)])
def test_fixed_recall_takes_the_highest_cut_reaching_it(target, cut):
    rule = ts.STRATEGIES["fixed_recall"].fit(HAND_Y, HAND_P, recall=target)
    assert rule.thresholds.tolist() == [cut]


@pytest.mark.parametrize("name", ["fixed_precision", "fixed_recall"])
def test_a_tag_without_positives_gets_threshold_one_and_a_note(name):
    rule = ts.STRATEGIES[name].fit(np.zeros((3, 1)), [[0.2], [0.5], [0.9]])
    assert rule.thresholds.tolist() == [1.0] and "tag 0" in rule.notes[0]


def test_top_k_breaks_ties_towards_the_lower_tag_index():
    p = np.array([[0.5, 0.7, 0.7, 0.1], [0.5, 0.5, 0.5, 0.5]])
    top = ts.STRATEGIES["top_k"]
    assert top.fit(Y, P, k=1).decide(p).tolist() == [[False, True, False, False], [True, False, False, False]]
    assert top.fit(Y, P, k=2).decide(p).tolist() == [[False, True, True, False], [True, True, False, False]]
    assert top.fit(Y, P, k=9).decide(p).all()  # more than C: every tag
    with pytest.raises(ValueError, match="k must be a whole number from 1 to 20, got 1.5"):
        top.fit(Y, P, k=1.5)


def test_at_least_one_keeps_the_top_tag_and_thresholds_the_rest():
    rule = ts.STRATEGIES["at_least_one"].fit(Y[:, :2], P[:, :2], t=0.9)
    p = np.array([[0.5, 0.3], [0.95, 0.92], [0.4, 0.4]])
    assert rule.decide(p).tolist() == [[True, False], [True, True], [True, False]]


def test_mcut_cuts_at_the_largest_gap():
    rule = ts.STRATEGIES["mcut"].fit(Y, P)
    p = np.array([[0.9, 0.8, 0.2, 0.1], [0.3, 0.9, 0.2, 0.25], [0.9, 0.6, 0.3, 0.0], [0.1, 0.2, 0.3, 0.95]])
    assert rule.decide(p).tolist() == [
        [True, True, False, False],  # the example: between 0.8 and 0.2
        [False, True, False, False],
        [True, False, False, False],  # equal gaps .3, .3, .3: the first, fewest labels
        [False, False, False, True],
    ]
    one = ts.STRATEGIES["mcut"].fit(Y[:, :1], P[:, :1])
    assert one.decide(np.array([[0.6], [0.4]])).tolist() == [[True], [False]]


def test_the_uncertain_band_says_unsure_between_lo_and_hi():
    rule = ts.STRATEGIES["uncertain_band"].fit(Y, P, lo=0.3, hi=0.7)
    states = rule.states(np.array([[0.2, 0.3, 0.69, 0.7]]))
    assert [str(s) for s in states[0]] == ["no", "unsure", "unsure", "yes"]
    with pytest.raises(ValueError, match="lo must be at most hi"):
        ts.STRATEGIES["uncertain_band"].fit(Y, P, lo=0.8, hi=0.7)


def test_score_rule_hand_checked():
    rule = ts.STRATEGIES["fixed_global"].fit(Y[:, :2], P[:, :2], t=0.5)
    y = [[1, 0], [1, 1], [0, 0]]
    p = [[0.9, 0.6], [0.2, 0.8], [0.1, 0.4]]
    s = ts.score_rule(y, rule, p, classes=["a", "b"])
    # a: tp 1, fn 1 -> P 1, R .5, F1 .6667; b: tp 1, fp 1 -> P .5, R 1, F1 .6667; micro 4/(4+1+1)
    assert [(r["precision"], r["recall"], r["f1"]) for r in s["per_tag"]] == [(1.0, 0.5, 0.6667), (0.5, 1.0, 0.6667)]
    assert s["micro_f1"] == 0.6667 and s["macro_f1"] == 0.6667
    assert s["subset_accuracy"] == round(1 / 3, 4)  # only the last image is all right
    assert s["labels_per_image"] == 1.0 and s["true_per_image"] == 1.0
    assert s["coverage"] == 1.0 and s["unsure"] == 0 and s["per_tag"][0]["threshold"] == 0.5


def test_score_rule_counts_the_band_apart():
    rule = ts.STRATEGIES["uncertain_band"].fit(Y[:, :2], P[:, :2], lo=0.3, hi=0.7)
    s = ts.score_rule([[1, 0], [1, 1]], rule, [[0.9, 0.5], [0.2, 0.8]])
    # yes: (0,0), (1,1) both right; unsure (0,1); no (1,0) wrong
    assert s["unsure"] == 1 and s["coverage"] == 0.75
    assert s["sure_precision"] == 1.0 and s["sure_accuracy"] == 0.6667
    assert [r["coverage"] for r in s["per_tag"]] == [1.0, 0.5]


def test_tuned_vs_test_shows_an_overfit_threshold():
    y_val, p_val = [[1], [0]], [[0.6], [0.4]]
    y_test, p_test = [[1], [0]], [[0.4], [0.6]]
    out = ts.tuned_vs_test(y_val, p_val, y_test, p_test, "per_tag_f1", classes=["rare"])
    assert out["validation"]["per_tag"][0]["f1"] == 1.0 and out["test"]["per_tag"][0]["f1"] == 0.0
    assert out["gap"]["per_tag"][0] == {"tag": "rare", "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert out["gap"]["micro_f1"] == 1.0
    with pytest.raises(ValueError, match="unknown threshold strategy 'best'"):
        ts.tuned_vs_test(y_val, p_val, y_test, p_test, "best")


def test_split_in_two_is_seeded_and_disjoint():
    a, b = ts.split_in_two(11, seed=4)
    assert len(a) == 5 and len(b) == 6 and not set(a) & set(b)
    assert [x.tolist() for x in ts.split_in_two(11, seed=4)] == [a.tolist(), b.tolist()]
    assert ts.split_in_two(11, seed=5)[0].tolist() != a.tolist()


@pytest.mark.parametrize("name", list(ts.STRATEGIES))
def test_every_strategy_is_scored_on_validation_and_on_test(name):
    a, b = ts.split_in_two(40, seed=0)
    out = ts.tuned_vs_test(Y[a], P[a], Y[b], P[b], name)
    assert out["rule"].name == name == out["test"]["strategy"]
    assert len(out["gap"]["per_tag"]) == 4
    for v, t, g in zip(out["validation"]["per_tag"], out["test"]["per_tag"], out["gap"]["per_tag"], strict=True):
        assert g["f1"] == pytest.approx(v["f1"] - t["f1"], abs=1e-4)
    assert out["rule"].to_dict()["strategy"] == name
