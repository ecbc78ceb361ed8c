"""Honest error bars: bootstrap intervals over test images, paired run comparisons, seed spreads.

A resample draws ``N`` of the ``N`` test images with replacement (seeded,
``numpy.random.default_rng(seed)``); it is held as a count matrix ``W`` (R, N),
so every count the metrics need is one matrix product (``W @ cells``) and every
resample is scored at once. Percentile intervals (Efron & Tibshirani, 1993):
``[q((1 - level) / 2), q((1 + level) / 2)]`` of the resampled values.

Metrics (``pred = p >= thresholds``, ``pos = y >= 0.5``, as :func:`mlc.metrics.report`):
``map`` (mean AP over tags with positives in that resample), ``macro_f1``,
``micro_f1`` and per tag ``precision``, ``recall``, ``ap``. On the full test set
(``W`` all ones) they equal :func:`mlc.metrics.report`'s.

>>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]]); p = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.2, 0.1]])
>>> ci = bootstrap_ci(y, p, n=200, seed=0)
>>> ci["metrics"]["micro_f1"]["value"], ci["metrics"]["micro_f1"]["low"] <= 0.8571 <= ci["metrics"]["micro_f1"]["high"]
(0.8571, True)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlc import checks
from mlc.confusion import check_scores, positives, precision_recall_f1, tag_names

__all__ = ["bootstrap_ci", "paired_bootstrap", "resample_counts", "seed_summary"]


def resample_counts(n_images: int, n: int, seed: int) -> np.ndarray:
    """``W`` (n, n_images): how often each image is drawn in each of ``n`` seeded resamples.

    Each row sums to ``n_images``.

    >>> resample_counts(4, 3, seed=0).sum(1).tolist()
    [4.0, 4.0, 4.0]
    """
    idx = np.random.default_rng(seed).integers(0, n_images, size=(n, n_images))
    flat = (idx + n_images * np.arange(n)[:, None]).ravel()
    return np.bincount(flat, minlength=n * n_images).reshape(n, n_images).astype(np.float64)


def _ap(w: np.ndarray, pos: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Each resample's non-interpolated AP of one tag (R,), nan without positives.

    AP = sum_k (tp_k - tp_{k-1}) / TP * tp_k / (tp_k + fp_k) over the distinct
    scores, descending (tied scores are one cut), with counts weighted by ``w``.
    """
    order = np.argsort(score, kind="stable")[::-1]
    s = score[order]
    ends = np.append(np.flatnonzero(np.diff(s) != 0), s.shape[0] - 1)
    wo = w[:, order]
    tp = np.cumsum(wo * pos[order], axis=1)[:, ends]
    seen = np.cumsum(wo, axis=1)[:, ends]
    total = tp[:, -1]
    d_tp = np.diff(tp, axis=1, prepend=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # a cut that adds a positive has seen > 0; elsewhere d_tp is 0 and the term is dropped
        terms = np.where(d_tp > 0, d_tp * tp / np.where(seen > 0, seen, 1.0), 0.0)
        return np.where(total > 0, terms.sum(1) / np.where(total > 0, total, 1.0), np.nan)


def _metrics(w: np.ndarray, pos: np.ndarray, prob: np.ndarray, thr: np.ndarray, names: list[str]) -> dict:
    """name -> (R,) values for resample weights ``w`` (R, N); per-tag names are ``metric:tag``."""
    pred = prob >= thr
    tp = w @ (pred & pos)
    fp = w @ (pred & ~pos)
    fn = w @ (~pred & pos)
    prec, rec, f1 = precision_recall_f1(tp, fp, fn)
    _, _, micro = precision_recall_f1(tp.sum(1), fp.sum(1), fn.sum(1))
    ap = np.stack([_ap(w, pos[:, j], prob[:, j]) for j in range(prob.shape[1])], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where no tag has a positive has mAP nan
        m_ap = np.nanmean(ap, axis=1)
    images = w.sum(1)  # (R,) images in each resample
    wrong = w @ (pred != pos).sum(1)  # (R,) wrong cells
    exact = w @ (pred == pos).all(1)  # (R,) images with every tag right
    out = {
        "map": m_ap,
        "macro_f1": f1.mean(1),
        "micro_f1": micro,
        "macro_recall": rec.mean(1),
        "hamming_loss": wrong / (images * prob.shape[1]),
        "subset_accuracy": exact / images,
    }
    for j, name in enumerate(names):
        out[f"precision:{name}"] = prec[:, j]
        out[f"recall:{name}"] = rec[:, j]
        out[f"ap:{name}"] = ap[:, j]
    return out


def _setup(y: Any, p: Any, thresholds: Any, n: Any, level: Any, classes: Sequence[str] | None):
    yt, yp, thr = check_scores(y, p, thresholds)
    n = checks.whole(n, "n", 1, 100_000)
    level = checks.number(level, "level", 0.5, 0.999)
    return positives(yt), yp, thr, n, level, tag_names(classes, yt.shape[1])


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = (1 - level) / 2, (1 + level) / 2
    if np.all(np.isnan(values)):
        return math.nan, math.nan
    q = np.nanquantile(values, [lo, hi])
    return round(float(q[0]), 4), round(float(q[1]), 4)


def _nest(flat: Mapping[str, dict], names: list[str]) -> dict[str, Any]:
    """Flat ``metric:tag`` rows as ``{"metrics": {...}, "per_tag": [{"tag", "precision": {...}, ...}]}``."""
    per_tag = [{"tag": t, **{m: flat[f"{m}:{t}"] for m in ("precision", "recall", "ap")}} for t in names]
    averages = ("map", "macro_f1", "micro_f1", "macro_recall", "hamming_loss", "subset_accuracy")
    return {"metrics": {k: flat[k] for k in averages}, "per_tag": per_tag}


def bootstrap_ci(
    y: Any,
    p: Any,
    *,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    thresholds: Any = 0.5,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Percentile bootstrap intervals on mAP, macro/micro F1 and each tag's precision, recall and AP.

    ``y``, ``p`` (N, C) are the test split; ``n`` resamples of its images, seeded;
    ``thresholds`` one float or C floats. Returns ``level``, ``n``, ``seed``,
    ``metrics`` (``map``, ``macro_f1``, ``micro_f1``: each ``{value, low, high}``,
    ``value`` on the full test set) and ``per_tag`` rows (``tag`` and
    ``precision``, ``recall``, ``ap`` of the same form). A value undefined in a
    resample (AP without positives) is left out of that metric's quantiles.

    >>> ci = bootstrap_ci([[1], [0], [1], [0]], [[0.9], [0.8], [0.7], [0.1]], n=50, classes=["a"])
    >>> ci["per_tag"][0]["ap"]["value"], ci["n"]
    (0.8333, 50)
    """
    pos, prob, thr, n, level, names = _setup(y, p, thresholds, n, level, classes)
    full = _metrics(np.ones((1, prob.shape[0])), pos, prob, thr, names)
    boot = _metrics(resample_counts(prob.shape[0], n, seed), pos, prob, thr, names)
    flat = {}
    for key, values in boot.items():
        low, high = _interval(values, level)
        value = float(full[key][0])
        flat[key] = {"value": round(value, 4) if math.isfinite(value) else math.nan, "low": low, "high": high}
    return {"level": level, "n": n, "seed": seed, **_nest(flat, names)}


def paired_bootstrap(
    y: Any,
    p_a: Any,
    p_b: Any,
    *,
    n: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    thresholds_a: Any = 0.5,
    thresholds_b: Any = None,
    classes: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Run B minus run A on the *same* resampled test images, per metric, with its interval.

    ``p_a``, ``p_b`` (N, C) score the same images ``y`` (N, C); ``thresholds_b``
    defaults to ``thresholds_a``. Rows: ``metric`` (``map``, ``macro_f1``,
    ``micro_f1``, ``macro_recall``, ``hamming_loss``, ``subset_accuracy``,
    ``precision``, ``recall``, ``ap``), ``tag`` (None for the
    averages), ``a``, ``b``, ``difference`` (b - a on the full set), ``low``,
    ``high`` and ``beyond_noise``: the interval excludes 0. Pairing removes the
    images' own difficulty from the noise, so it detects smaller differences than
    comparing two separate intervals.

    >>> y = [[1], [0], [1], [0]]; p = [[0.9], [0.8], [0.7], [0.1]]
    >>> [r["beyond_noise"] for r in paired_bootstrap(y, p, p, n=50)][:3]
    [False, False, False]
    """
    pos, prob_a, thr_a, n, level, names = _setup(y, p_a, thresholds_a, n, level, classes)
    _, prob_b, thr_b, *_ = _setup(y, p_b, thresholds_a if thresholds_b is None else thresholds_b, n, level, classes)
    w = resample_counts(prob_a.shape[0], n, seed)
    ones = np.ones((1, prob_a.shape[0]))
    full_a, full_b = _metrics(ones, pos, prob_a, thr_a, names), _metrics(ones, pos, prob_b, thr_b, names)
    boot_a, boot_b = _metrics(w, pos, prob_a, thr_a, names), _metrics(w, pos, prob_b, thr_b, names)
    rows = []
    for key in boot_a:
        metric, _, tag = key.partition(":")
        a, b = float(full_a[key][0]), float(full_b[key][0])
        low, high = _interval(boot_b[key] - boot_a[key], level)
        rows.append(
            {
                "metric": metric,
                "tag": tag or None,
                "a": round(a, 4),
                "b": round(b, 4),
                "difference": round(b - a, 4),
                "low": low,
                "high": high,
                "beyond_noise": bool(low > 0 or high < 0),
            }
        )
    return rows


def seed_summary(values: Any) -> dict[str, Any]:
    """Mean ± sample sd (ddof = 1; 0 for one seed) of one metric across seeds, or of each metric.

    ``values``: numbers (one per seed), or mappings metric -> number (one per seed),
    which give ``{metric: summary}``. A summary is ``{n, mean, sd, text}``.

    >>> seed_summary([0.80, 0.82, 0.84])
    {'n': 3, 'mean': 0.82, 'sd': 0.02, 'text': '0.820 ± 0.020'}
    >>> seed_summary([{"map": 0.5}, {"map": 0.7}])["map"]["mean"]
    0.6
    """
    values = list(values)
    if not values:
        raise ValueError("values must hold one number per seed, got an empty list")
    if all(isinstance(v, Mapping) for v in values):
        keys = list(values[0])
        for i, v in enumerate(values):
            if list(v) != keys:
                raise ValueError(f"values[{i}] must have the metrics {keys}, got {list(v)}")
        return {k: seed_summary([v[k] for v in values]) for k in keys}
    arr = np.array([checks.number(v, f"values[{i}]") for i, v in enumerate(values)])
    mean = float(arr.mean())
    sd = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return {"n": int(arr.size), "mean": round(mean, 4), "sd": round(sd, 4), "text": f"{mean:.3f} ± {sd:.3f}"}
