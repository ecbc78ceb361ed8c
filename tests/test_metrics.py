"""Tests for mlc.metrics: hand-checked cases, a brute-force reference, properties."""

import json
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mlc
from mlc import metrics

# --------------------------------------------------------------------------
# Brute-force references: deliberately plain loops, no shared code with mlc.
# --------------------------------------------------------------------------


def ref_counts(y, s, t):
    """tp, fp, fn, tn of one tag predicting s >= t, y binarised at 0.5."""
    tp = fp = fn = tn = 0
    for yi, si in zip(y, s):
        pos = yi >= 0.5
        pred = si >= t
        if pred and pos:
            tp += 1
        elif pred:
            fp += 1
        elif pos:
            fn += 1
        else:
            tn += 1
    return tp, fp, fn, tn


def ref_prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def ref_ap(y, s):
    n_pos = sum(1 for yi in y if yi >= 0.5)
    if n_pos == 0:
        return math.nan
    ap, prev_r = 0.0, 0.0
    for t in sorted(set(s), reverse=True):
        tp, fp, _, _ = ref_counts(y, s, t)
        p, r = tp / (tp + fp), tp / n_pos
        ap += (r - prev_r) * p
        prev_r = r
    return ap


def ref_best_f1(y, s):
    """Max F1 over every achievable prediction set (each distinct score, or none)."""
    best = 0.0
    for t in set(s):
        tp, fp, fn, _ = ref_counts(y, s, t)
        best = max(best, ref_prf(tp, fp, fn)[2])
    return best


def ref_report(y_true, y_prob, thr):
    n, c = y_true.shape
    per = []
    T = F = N = 0
    wrong = 0
    rows_ok = [True] * n
    for j in range(c):
        y, s = list(y_true[:, j]), list(y_prob[:, j])
        tp, fp, fn, tn = ref_counts(y, s, thr[j])
        T, F, N = T + tp, F + fp, N + fn
        p, r, f = ref_prf(tp, fp, fn)
        per.append(
            dict(
                tp=tp, fp=fp, fn=fn, tn=tn, precision=p, recall=r, f1=f, average_precision=ref_ap(y, s), support=tp + fn
            )
        )
        for i in range(n):
            if (y[i] >= 0.5) != (s[i] >= thr[j]):
                wrong += 1
                rows_ok[i] = False
    aps = [d["average_precision"] for d in per if not math.isnan(d["average_precision"])]
    mp, mr, mf = ref_prf(T, F, N)
    return dict(
        per_tag=per,
        micro_precision=mp,
        micro_recall=mr,
        micro_f1=mf,
        macro_precision=sum(d["precision"] for d in per) / c,
        macro_recall=sum(d["recall"] for d in per) / c,
        macro_f1=sum(d["f1"] for d in per) / c,
        map=sum(aps) / len(aps) if aps else math.nan,
        hamming_loss=wrong / (n * c),
        subset_accuracy=sum(rows_ok) / n,
        mae=sum(abs(a - b) for a, b in zip(y_prob.ravel(), y_true.ravel())) / (n * c),
        mse=sum((a - b) ** 2 for a, b in zip(y_prob.ravel(), y_true.ravel())) / (n * c),
    )


def same(a, b):
    """Float equality up to rounding, with nan == nan."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-12, abs=1e-12)


def random_case(rng, n, c, decimals=1, soft=False):
    """Random labels and scores rounded to `decimals` so ties are common."""
    if soft:
        y = np.round(rng.random((n, c)), 2)
    else:
        y = (rng.random((n, c)) < rng.uniform(0.05, 0.7, size=c)).astype(float)
    p = np.round(rng.random((n, c)), decimals)
    return y, p


# --------------------------------------------------------------------------
# Hand-checked cases
# --------------------------------------------------------------------------

# 4 samples x 3 tags. At threshold 0.5:
#   tag a: y = 1 1 0 0, p = .9 .4 .6 .1 -> pred 1 0 1 0: tp1 fp1 fn1 tn1
#          P = 1/2, R = 1/2, F1 = 1/2
#   tag b: y = 0 1 1 0, p = .2 .8 .7 .3 -> pred 0 1 1 0: tp2 fp0 fn0 tn2
#          P = R = F1 = 1
#   tag c: y = 0 0 0 0, p = .1 .6 .2 .3 -> pred 0 1 0 0: tp0 fp1 fn0 tn3
#          P = 0 (tp / 1), R = 0 (no positives), F1 = 0
HAND_Y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=float)
HAND_P = np.array([[0.9, 0.2, 0.1], [0.4, 0.8, 0.6], [0.6, 0.7, 0.2], [0.1, 0.3, 0.3]])


def test_report_hand_checked():
    r = metrics.report(HAND_Y, HAND_P, classes=["a", "b", "c"])
    assert r["n_samples"] == 4
    assert r["classes"] == ["a", "b", "c"]
    assert r["thresholds"] == [0.5, 0.5, 0.5]
    a, b, c = r["per_tag"]
    assert (a["tp"], a["fp"], a["fn"], a["tn"]) == (1, 1, 1, 1)
    assert (b["tp"], b["fp"], b["fn"], b["tn"]) == (2, 0, 0, 2)
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (0, 1, 0, 3)
    assert [t["support"] for t in r["per_tag"]] == [2, 2, 0]
    assert [t["prevalence"] for t in r["per_tag"]] == [0.5, 0.5, 0.0]
    assert (a["precision"], a["recall"], a["f1"]) == (0.5, 0.5, 0.5)
    assert (b["precision"], b["recall"], b["f1"]) == (1.0, 1.0, 1.0)
    assert (c["precision"], c["recall"], c["f1"]) == (0.0, 0.0, 0.0)
    # AP a: scores desc .9(1) .6(0) .4(1) .1(0)
    #   .9: P=1 R=1/2 -> 1/2; .6: R unchanged; .4: P=2/3 R=1 -> + 1/2 * 2/3
    #   AP = 1/2 + 1/3 = 5/6
    assert a["average_precision"] == pytest.approx(5 / 6)
    assert b["average_precision"] == 1.0  # both positives ranked first
    assert math.isnan(c["average_precision"])
    assert r["map"] == pytest.approx((5 / 6 + 1) / 2)  # c excluded
    # micro: tp 3, fp 2, fn 1 -> P 3/5, R 3/4, F1 6/(6+2+1) = 2/3
    assert r["micro_precision"] == pytest.approx(0.6)
    assert r["micro_recall"] == pytest.approx(0.75)
    assert r["micro_f1"] == pytest.approx(2 / 3)
    # macro: means of (1/2, 1, 0) for P, R and F1
    assert r["macro_precision"] == pytest.approx(0.5)
    assert r["macro_recall"] == pytest.approx(0.5)
    assert r["macro_f1"] == pytest.approx(0.5)
    # wrong cells: a at rows 1, 2; c at row 1 -> 3 / 12; rows right: 0 and 3
    assert r["hamming_loss"] == pytest.approx(0.25)
    assert r["subset_accuracy"] == pytest.approx(0.5)
    # |diffs| a: .1 .6 .6 .1, b: .2 .2 .3 .3, c: .1 .6 .2 .3 -> 3.6 / 12
    assert r["mae"] == pytest.approx(0.3)
    assert a["mae"] == pytest.approx(1.4 / 4)
    # squares: a .01 .36 .36 .01, b .04 .04 .09 .09, c .01 .36 .04 .09 -> 1.5 / 12
    assert r["mse"] == pytest.approx(0.125)


def test_report_per_tag_thresholds():
    # tag a at 0.35 now predicts row 1 too: tp2 fp1 fn0; tag b at 0.75: tp1 fn1
    r = metrics.report(HAND_Y, HAND_P, thresholds=[0.35, 0.75, 0.65])
    a, b, c = r["per_tag"]
    assert r["thresholds"] == [0.35, 0.75, 0.65]
    assert [a["threshold"], b["threshold"], c["threshold"]] == [0.35, 0.75, 0.65]
    assert (a["tp"], a["fp"], a["fn"]) == (2, 1, 0)
    assert (b["tp"], b["fp"], b["fn"]) == (1, 0, 1)
    assert (c["tp"], c["fp"], c["fn"]) == (0, 0, 0)
    assert c["precision"] == 0.0  # nothing predicted positive


def test_threshold_is_inclusive():
    # prob == threshold counts as predicted
    assert metrics.confusion_counts([[1.0]], [[0.5]], 0.5).tolist() == [[1, 0, 0, 0]]
    assert metrics.confusion_counts([[1.0]], [[0.4999]], 0.5).tolist() == [[0, 0, 1, 0]]


def test_confusion_counts_hand_checked():
    cc = metrics.confusion_counts(HAND_Y, HAND_P)
    assert cc.dtype == np.int64
    assert cc.shape == (3, 4)
    assert cc.tolist() == [[1, 1, 1, 1], [2, 0, 0, 2], [0, 1, 0, 3]]


def test_average_precision_with_ties_hand_checked():
    # scores desc: {.8: y 1,0}, {.5: y 1,1}, {.2: y 0}
    #   .8: tp1 fp1 P=1/2 R=1/3; .5: tp3 fp1 P=3/4 R=1; .2: R unchanged
    #   AP = 1/3 * 1/2 + 2/3 * 3/4 = 1/6 + 1/2 = 2/3
    y = [1, 0, 1, 1, 0]
    s = [0.8, 0.8, 0.5, 0.5, 0.2]
    assert metrics.average_precision(y, s) == pytest.approx(2 / 3)
    # Without grouping ties, putting the positive of the .8 pair first would
    # give 1/3 * 1 + ... instead: so a wrong implementation fails here.
    assert metrics.average_precision([0, 1], [0.7, 0.7]) == pytest.approx(0.5)
    assert metrics.average_precision([1, 0], [0.7, 0.7]) == pytest.approx(0.5)


# --------------------------------------------------------------------------
# Against the brute-force reference on random data with ties
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_report_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 40)), int(rng.integers(1, 7))
    y, p = random_case(rng, n, c, decimals=1, soft=seed % 2 == 1)
    thr = np.round(rng.random(c), 1)
    got = metrics.report(y, p, thresholds=thr)
    want = ref_report(y, p, thr)
    for key in (
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "map",
        "hamming_loss",
        "subset_accuracy",
        "mae",
        "mse",
    ):
        assert same(got[key], want[key]), key
    for g, w in zip(got["per_tag"], want["per_tag"]):
        for key, value in w.items():
            assert same(g[key], value), key


@pytest.mark.parametrize("seed", range(10))
def test_single_tag_functions_match_reference(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 60))
    y = (rng.random(n) < rng.uniform(0, 0.8)).astype(float)
    s = np.round(rng.random(n), int(rng.integers(1, 3)))  # many ties

    assert same(metrics.average_precision(y, s), ref_ap(list(y), list(s)))

    p, r, t = metrics.precision_recall_curve(y, s)
    distinct = sorted(set(s.tolist()), reverse=True)
    assert t.tolist() == distinct
    n_pos = int(y.sum())
    for i, ti in enumerate(distinct):
        tp, fp, fn, _ = ref_counts(y, s, ti)
        assert same(float(p[i + 1]), tp / (tp + fp))
        assert same(float(r[i + 1]), tp / n_pos if n_pos else 0.0)

    grid = np.concatenate([np.linspace(0, 1, 101), s, [0.0, 1.0]])
    sw = metrics.threshold_sweep(y, s, thresholds=grid)
    for i, ti in enumerate(grid):
        tp, fp, fn, tn = ref_counts(y, s, ti)
        assert (sw["tp"][i], sw["fp"][i], sw["fn"][i], sw["tn"][i]) == (tp, fp, fn, tn)
        pr, rc, f1 = ref_prf(tp, fp, fn)
        assert same(float(sw["precision"][i]), pr)
        assert same(float(sw["recall"][i]), rc)
        assert same(float(sw["f1"][i]), f1)


@pytest.mark.parametrize("seed", range(10))
def test_best_thresholds_match_reference(seed):
    rng = np.random.default_rng(200 + seed)
    n, c = int(rng.integers(1, 50)), int(rng.integers(1, 5))
    y, p = random_case(rng, n, c, decimals=int(rng.integers(1, 3)))
    best = metrics.best_thresholds(y, p)
    at_half = metrics.report(y, p)["per_tag"]
    for j, b in enumerate(best):
        col_y, col_p = list(y[:, j]), list(p[:, j])
        # optimal: no threshold reaches a higher F1 on this data
        assert same(b["f1"], ref_best_f1(col_y, col_p))
        # consistent: the reported numbers are what the returned cut gives
        tp, fp, fn, _ = ref_counts(col_y, col_p, b["threshold"])
        pr, rc, f1 = ref_prf(tp, fp, fn)
        assert same(b["f1"], f1) and same(b["precision"], pr) and same(b["recall"], rc)
        assert b["f1"] >= at_half[j]["f1"] - 1e-12
        assert 0.0 <= b["threshold"] <= 1.0
        # rule: the highest cut among the F1-maximising scores, moved to the
        # middle of the gap below it (or kept when it is the lowest score)
        scores = sorted(set(col_p), reverse=True)
        if not any(v >= 0.5 for v in col_y):
            assert b["threshold"] == 1.0
            continue
        f1s = [ref_prf(*ref_counts(col_y, col_p, t)[:3])[2] for t in scores]
        k = next(i for i, f in enumerate(f1s) if same(f, max(f1s)))
        if k + 1 < len(scores):
            assert scores[k + 1] < b["threshold"] <= scores[k]
            assert b["threshold"] == pytest.approx((scores[k] + scores[k + 1]) / 2)
        else:
            assert b["threshold"] == scores[k]


def test_report_best_thresholds_agree_with_report_at_that_cut():
    rng = np.random.default_rng(7)
    y, p = random_case(rng, 200, 5, decimals=2)
    r = metrics.report(y, p)
    cuts = [b["threshold"] for b in r["best_thresholds"]]
    again = metrics.report(y, p, thresholds=cuts)
    assert r["best_thresholds"] == metrics.best_thresholds(y, p)
    for b, t in zip(r["best_thresholds"], again["per_tag"]):
        assert b["tag"] == t["tag"]
        assert b["f1"] == t["f1"] and b["precision"] == t["precision"]
        assert b["recall"] == t["recall"]


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


def test_perfect_predictions():
    rng = np.random.default_rng(3)
    y = (rng.random((30, 5)) < 0.4).astype(float)
    y[0] = 1.0  # every tag has a positive
    r = metrics.report(y, y)
    for key in (
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "map",
        "subset_accuracy",
    ):
        assert r[key] == 1.0, key
    assert r["hamming_loss"] == 0.0
    assert r["mae"] == 0.0 and r["mse"] == 0.0
    for t in r["per_tag"]:
        assert t["precision"] == t["recall"] == t["f1"] == t["average_precision"] == 1.0
    assert all(b["f1"] == 1.0 for b in r["best_thresholds"])


unit_floats = st.floats(0.0, 1.0, allow_nan=False, width=32).map(lambda v: round(v, 1))


@st.composite
def label_score_pairs(draw, max_n=25, max_c=4):
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(1, max_c))
    y = draw(hnp.arrays(np.float64, (n, c), elements=st.sampled_from([0.0, 1.0])))
    p = draw(hnp.arrays(np.float64, (n, c), elements=unit_floats))
    return y, p


def _comparable(r):
    """Report as JSON text with nan made comparable."""
    return json.dumps(r, sort_keys=True, allow_nan=True)


@settings(max_examples=60, deadline=None)
@given(data=label_score_pairs(), seed=st.integers(0, 2**32 - 1))
def test_sample_permutation_invariance(data, seed):
    y, p = data
    perm = np.random.default_rng(seed).permutation(y.shape[0])
    a = metrics.report(y, p, thresholds=0.4)
    b = metrics.report(y[perm], p[perm], thresholds=0.4)
    for key in a:
        if key in ("per_tag", "best_thresholds"):
            for ta, tb in zip(a[key], b[key]):
                for k in ta:
                    assert same(ta[k], tb[k]) if isinstance(ta[k], float) else ta[k] == tb[k]
        elif isinstance(a[key], float):
            assert same(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


@settings(max_examples=60, deadline=None)
@given(data=label_score_pairs(), seed=st.integers(0, 2**32 - 1))
def test_tag_permutation_permutes_per_tag(data, seed):
    y, p = data
    c = y.shape[1]
    perm = np.random.default_rng(seed).permutation(c)
    names = [f"t{j}" for j in range(c)]
    thr = np.linspace(0.2, 0.8, c)
    a = metrics.report(y, p, thresholds=thr, classes=names)
    b = metrics.report(y[:, perm], p[:, perm], thresholds=thr[perm], classes=[names[j] for j in perm])
    assert _comparable([a["per_tag"][j] for j in perm]) == _comparable(b["per_tag"])
    assert _comparable([a["best_thresholds"][j] for j in perm]) == _comparable(b["best_thresholds"])
    for key in ("micro_f1", "macro_f1", "map", "hamming_loss", "subset_accuracy", "mae"):
        assert same(a[key], b[key]), key


@settings(max_examples=100, deadline=None)
@given(
    y=hnp.arrays(np.float64, st.integers(1, 40), elements=st.sampled_from([0.0, 1.0])),
    c=st.floats(0.0, 1.0),
)
def test_constant_predictor_ap_equals_prevalence(y, c):
    ap = metrics.average_precision(y, np.full_like(y, c))
    if y.sum() == 0:
        assert math.isnan(ap)
    else:
        assert ap == pytest.approx(y.mean(), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(data=label_score_pairs(max_n=40, max_c=1))
def test_ap_in_unit_interval_and_matches_reference(data):
    y, p = data
    ap = metrics.average_precision(y[:, 0], p[:, 0])
    if y.sum() == 0:
        assert math.isnan(ap)
    else:
        assert 0.0 < ap <= 1.0
        assert same(ap, ref_ap(list(y[:, 0]), list(p[:, 0])))


@settings(max_examples=60, deadline=None)
@given(data=label_score_pairs())
def test_best_threshold_never_worse_than_half(data):
    y, p = data
    best = metrics.best_thresholds(y, p)
    half = metrics.report(y, p, thresholds=0.5)["per_tag"]
    redo = metrics.report(y, p, thresholds=[b["threshold"] for b in best])["per_tag"]
    for b, h, r in zip(best, half, redo):
        assert b["f1"] >= h["f1"]
        assert b["f1"] == r["f1"]


# --------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------


def test_tag_without_positives():
    y = np.array([[1, 0], [0, 0], [1, 0]], dtype=float)
    p = np.array([[0.8, 0.9], [0.1, 0.2], [0.7, 0.3]])
    r = metrics.report(y, p, classes=["has", "none"])
    none = r["per_tag"][1]
    assert none["support"] == 0 and none["prevalence"] == 0.0
    assert math.isnan(none["average_precision"])
    assert none["recall"] == 0.0 and none["precision"] == 0.0 and none["f1"] == 0.0
    assert r["map"] == 1.0  # only the first tag counts
    assert r["macro_recall"] == 0.5  # but macro averages over all tags
    assert math.isnan(metrics.average_precision([0, 0, 0], [0.1, 0.5, 0.9]))


def test_no_positives_anywhere_map_is_nan():
    r = metrics.report(np.zeros((3, 2)), np.full((3, 2), 0.7))
    assert math.isnan(r["map"])
    assert r["micro_recall"] == 0.0 and r["micro_f1"] == 0.0
    assert r["micro_precision"] == 0.0  # 6 predicted, none right


def test_all_zero_predictions():
    y = np.array([[1, 0], [0, 1], [1, 1]], dtype=float)
    r = metrics.report(y, np.zeros_like(y))
    for t in r["per_tag"]:
        assert t["precision"] == 0.0 and t["recall"] == 0.0 and t["f1"] == 0.0
        assert t["tp"] == 0 and t["fp"] == 0
    assert r["micro_precision"] == 0.0 and r["micro_f1"] == 0.0
    assert r["hamming_loss"] == pytest.approx(4 / 6)
    # every score tied: AP is the prevalence
    assert r["per_tag"][0]["average_precision"] == pytest.approx(2 / 3)


def test_single_sample():
    r = metrics.report([[1, 0, 1]], [[0.9, 0.6, 0.2]], classes=["a", "b", "c"])
    assert r["n_samples"] == 1
    assert [t["tp"] for t in r["per_tag"]] == [1, 0, 0]
    assert [t["fp"] for t in r["per_tag"]] == [0, 1, 0]
    assert [t["fn"] for t in r["per_tag"]] == [0, 0, 1]
    assert r["hamming_loss"] == pytest.approx(2 / 3)
    assert r["subset_accuracy"] == 0.0
    assert r["per_tag"][0]["average_precision"] == 1.0
    assert math.isnan(r["per_tag"][1]["average_precision"])
    assert r["per_tag"][2]["average_precision"] == 1.0  # only one sample to rank
    b = r["best_thresholds"]
    assert b[2]["threshold"] == pytest.approx(0.2) and b[2]["f1"] == 1.0
    p, rc, t = metrics.precision_recall_curve([1], [0.3])
    assert p.tolist() == [1.0, 1.0] and rc.tolist() == [0.0, 1.0] and t.tolist() == [0.3]


def test_soft_labels_binarised_at_half_but_regression_uses_raw():
    y = np.array([[0.5], [0.49], [0.9], [0.0]])
    p = np.array([[0.6], [0.6], [0.4], [0.1]])
    r = metrics.report(y, p)
    t = r["per_tag"][0]
    # positives: rows 0 (0.5) and 2 (0.9); predicted rows 0, 1
    assert (t["tp"], t["fp"], t["fn"], t["tn"]) == (1, 1, 1, 1)
    # |diff|: .1 .11 .5 .1 -> .81 / 4
    assert r["mae"] == pytest.approx(0.2025)
    reg = metrics.regression_report(y, p, classes=["sky"])
    assert reg["mae"] == pytest.approx(0.2025)
    assert reg["mse"] == pytest.approx((0.01 + 0.0121 + 0.25 + 0.01) / 4)
    assert reg["per_tag"] == [{"tag": "sky", "mae": reg["mae"], "mse": reg["mse"]}]


def test_regression_report_per_tag():
    y = np.array([[1.0, 0.0], [0.0, 0.2]])
    p = np.array([[0.5, 0.0], [0.0, 0.6]])
    reg = metrics.regression_report(y, p)
    # tag0 |d| .5 0 -> .25, d^2 .25 0 -> .125; tag1 |d| 0 .4 -> .2, .16 -> .08
    assert [d["tag"] for d in reg["per_tag"]] == ["tag0", "tag1"]
    assert reg["per_tag"][0]["mae"] == pytest.approx(0.25)
    assert reg["per_tag"][0]["mse"] == pytest.approx(0.125)
    assert reg["per_tag"][1]["mae"] == pytest.approx(0.2)
    assert reg["per_tag"][1]["mse"] == pytest.approx(0.08)
    assert reg["mae"] == pytest.approx(0.225)
    assert reg["mse"] == pytest.approx(0.1025)


def test_default_class_names():
    y = np.zeros((2, 5))
    assert metrics.report(y, y)["classes"] == list(mlc.DEFAULT_CLASSES)
    assert [b["tag"] for b in metrics.best_thresholds(y, y)] == list(mlc.DEFAULT_CLASSES)
    assert metrics.report(np.zeros((2, 3)), np.zeros((2, 3)))["classes"] == ["tag0", "tag1", "tag2"]


def test_report_is_json_friendly_plain_types():
    rng = np.random.default_rng(11)
    y, p = random_case(rng, 20, 5)
    y[:, 4] = 0  # one nan AP
    r = metrics.report(y, p)
    text = json.dumps(r)  # raises on numpy scalars / arrays
    assert "NaN" in text

    def walk(v):
        if isinstance(v, dict):
            assert all(isinstance(k, str) for k in v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            assert type(v) in (int, float, str), type(v)

    walk(r)
    assert type(r["n_samples"]) is int
    assert type(r["per_tag"][0]["tp"]) is int
    assert type(r["per_tag"][0]["support"]) is int
    assert set(r) == {
        "n_samples",
        "classes",
        "thresholds",
        "per_tag",
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "map",
        "hamming_loss",
        "subset_accuracy",
        "mae",
        "mse",
        "best_thresholds",
    }
    assert set(r["per_tag"][0]) == {
        "tag",
        "support",
        "threshold",
        "tp",
        "fp",
        "fn",
        "tn",
        "precision",
        "recall",
        "f1",
        "average_precision",
        "prevalence",
        "mae",
    }
    assert set(r["best_thresholds"][0]) == {"tag", "threshold", "f1", "precision", "recall"}


def test_accepts_lists_and_bools():
    r1 = metrics.report([[True, False]], [[0.7, 0.2]])
    r2 = metrics.report(np.array([[1.0, 0.0]]), np.array([[0.7, 0.2]]))
    assert _comparable(r1) == _comparable(r2)


def test_report_is_fast():
    rng = np.random.default_rng(0)
    y, p = random_case(rng, 1000, 5, decimals=3)
    metrics.report(y, p)  # warm-up
    best = min(_timed(lambda: metrics.report(y, p)) for _ in range(5))
    assert best < 0.1, f"report on 1000x5 took {best * 1000:.1f} ms"


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --------------------------------------------------------------------------
# Invalid inputs
# --------------------------------------------------------------------------

GOOD = np.array([[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(
    "y_true, y_prob, thresholds, match",
    [
        (GOOD, np.zeros((2, 3)), 0.5, r"y_prob must have shape \(2, 2\) like y_true, got \(2, 3\)"),
        (GOOD, np.zeros((3, 2)), 0.5, "y_prob must have shape"),
        (np.array([1.0, 0.0]), np.array([0.5, 0.5]), 0.5, "y_true must be 2-D"),
        (np.zeros((0, 2)), np.zeros((0, 2)), 0.5, "y_true must have at least one sample"),
        (np.array([[np.nan, 0.0], [0, 1]]), GOOD, 0.5, "y_true must contain only finite"),
        (GOOD, np.array([[np.inf, 0.0], [0, 1]]), 0.5, "y_prob must contain only finite"),
        (GOOD, np.array([[np.nan, 0.0], [0, 1]]), 0.5, "y_prob must contain only finite"),
        (np.array([[2.0, 0.0], [0, 1]]), GOOD, 0.5, r"y_true must lie in \[0, 1\]"),
        (GOOD, np.array([[-0.1, 0.0], [0, 1]]), 0.5, r"y_prob must lie in \[0, 1\]"),
        (GOOD, GOOD, [0.5, 0.5, 0.5], "thresholds must be a single float or 2 floats"),
        (GOOD, GOOD, [[0.5, 0.5]], "thresholds must be a single float or 2 floats"),
        (GOOD, GOOD, 1.5, r"thresholds must lie in \[0, 1\]"),
        (GOOD, GOOD, [0.5, np.nan], "thresholds must contain only finite"),
        (GOOD, [["a", "b"], ["c", "d"]], 0.5, "y_prob must be numeric"),
    ],
)
def test_invalid_inputs_raise_value_error(y_true, y_prob, thresholds, match):
    with pytest.raises(ValueError, match=match):
        metrics.report(y_true, y_prob, thresholds=thresholds)
    if "thresholds" not in match:
        with pytest.raises(ValueError, match=match):
            metrics.confusion_counts(y_true, y_prob)
        with pytest.raises(ValueError, match=match):
            metrics.best_thresholds(y_true, y_prob)
        with pytest.raises(ValueError, match=match):
            metrics.regression_report(y_true, y_prob)
    else:
        with pytest.raises(ValueError, match=match):
            metrics.confusion_counts(y_true, y_prob, thresholds)


@pytest.mark.parametrize(
    "classes, match",
    [
        (["a"], "classes must have 2 names"),
        (["a", "b", "c"], "classes must have 2 names"),
        ("ab", "classes must be a sequence"),
        (["a", "a"], "classes must be unique"),
    ],
)
def test_invalid_classes(classes, match):
    with pytest.raises(ValueError, match=match):
        metrics.report(GOOD, GOOD, classes=classes)
    with pytest.raises(ValueError, match=match):
        metrics.best_thresholds(GOOD, GOOD, classes=classes)


@pytest.mark.parametrize("fn", [metrics.average_precision, metrics.precision_recall_curve, metrics.threshold_sweep])
def test_single_tag_invalid_inputs(fn):
    shape_msg = r"y_score must have shape \(3,\) like y_true, got \(2,\)"
    with pytest.raises(ValueError, match=shape_msg):
        fn([1, 0, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="y_true must be 1-D"):
        fn([[1, 0]], [[0.2, 0.3]])
    with pytest.raises(ValueError, match="y_score must contain only finite"):
        fn([1, 0], [0.2, np.nan])
    with pytest.raises(ValueError, match=r"y_score must lie in \[0, 1\]"):
        fn([1, 0], [0.2, 1.2])
    with pytest.raises(ValueError, match=r"y_true must lie in \[0, 1\]"):
        fn([1, -1], [0.2, 0.3])
    with pytest.raises(ValueError, match="y_true must have at least one sample"):
        fn([], [])


def test_library_never_prints(capsys):
    metrics.report(HAND_Y, HAND_P)
    metrics.best_thresholds(HAND_Y, HAND_P)
    metrics.precision_recall_curve(HAND_Y[:, 2], HAND_P[:, 2])
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------- sample-wise mAP
def _brute_sample_map(y, s):
    """Per image: AP of the tags ranked by score, by the threshold definition of average_precision."""
    aps = []
    for yi, si in zip(np.asarray(y) >= 0.5, np.asarray(s, float)):
        if yi.any():
            aps.append(metrics.average_precision(yi.astype(float), si))
    return float(np.mean(aps)) if aps else math.nan


@pytest.mark.parametrize("seed", range(6))
def test_sample_map_matches_a_per_image_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, c = 50, 1 + seed
    y = (rng.random((n, c)) < 0.35).astype(float)
    s = np.round(rng.random((n, c)), 1)  # rounded: many ties within an image
    assert metrics.sample_map(y, s) == pytest.approx(_brute_sample_map(y, s))


def test_sample_map_skips_images_without_positives_and_is_nan_without_any():
    y = [[1, 0], [0, 0]]
    assert metrics.sample_map(y, [[0.2, 0.9], [0.5, 0.5]]) == pytest.approx(0.5)
    assert math.isnan(metrics.sample_map([[0, 0]], [[0.3, 0.1]]))


def test_sample_map_and_class_map_can_disagree():
    # each image ranks its own tag first (sample-wise perfect), yet tag 0's positives (0.3, 0.31) score
    # below its negatives (0.8, 0.82): class-wise AP of tag 0 is poor
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    s = np.array([[0.3, 0.2], [0.8, 0.9], [0.31, 0.21], [0.82, 0.91]])
    assert metrics.sample_map(y, s) == 1.0
    assert metrics.report(y, s)["map"] < 1.0
