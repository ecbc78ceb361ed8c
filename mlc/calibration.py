"""Can the probabilities be trusted? Reliability, ECE, Brier, log loss, temperature and Platt scaling.

Inputs are ``y`` and ``p`` of shape ``(N, C)`` as in :mod:`mlc.metrics`; targets
are binarised as ``y >= 0.5``. Every score is *per tag* (shape ``(C,)``).
Probabilities are clipped to ``[EPS, 1 - EPS]`` before a logarithm or a logit.

* ECE (Guo et al., 2017, "On Calibration of Modern Neural Networks"): with
  ``B`` equal-width bins over [0, 1] (the last one closed),
  ``ECE = sum_b (n_b / N) * |mean p in b - share of positives in b|``.
* Temperature scaling (Guo et al., 2017), one ``T`` per tag:
  ``p_T = sigmoid(logit(p) / T)``, ``T`` minimising the validation log loss.
* Platt scaling (Platt, 1999), ``a, b`` per tag: ``p' = sigmoid(a * logit(p) + b)``.
* For calibrated scores the F1-optimal threshold is half the best F1
  (Lipton, Elkan & Naryanaswamy, 2014, "Thresholding Classifiers to Maximize F1").

>>> y = np.array([[1], [0], [1], [0]]); p = np.array([[0.9], [0.6], [0.8], [0.3]])
>>> ece(y, p, bins=2).per_tag
array([0.15])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from mlc import checks
from mlc.confusion import check_scores, positives, tag_names
from mlc.thresholds import best_thresholds

__all__ = [
    "ECE",
    "apply_platt",
    "apply_temperature",
    "brier",
    "calibration_report",
    "ece",
    "f1_threshold_vs_half_best_f1",
    "fit_platt",
    "fit_temperature",
    "log_loss",
    "reliability",
]

#: Probabilities are kept this far from 0 and 1 before a log or logit.
EPS = 1e-7
#: Temperatures are searched in [1 / T_BOUND, T_BOUND].
T_BOUND = 20.0


def _checked(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    yt, yp, _ = check_scores(y, p)
    return positives(yt).astype(np.float64), yp


def _bin_index(p: np.ndarray, bins: int) -> np.ndarray:
    # floor(p * B) puts p = 1 in bin B; the last bin is closed on the right.
    return np.minimum((p * bins).astype(np.int64), bins - 1)


def logit(p: Any) -> np.ndarray:
    """log(p / (1 - p)) of ``p`` clipped to [EPS, 1 - EPS].

    >>> logit([0.5, 0.8]).round(4)
    array([0.    , 1.3863])
    """
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


class ECE(NamedTuple):
    """Expected calibration error per tag (``per_tag`` (C,)) and the bin count it used."""

    per_tag: np.ndarray
    bins: int


def reliability(y: Any, p: Any, bins: int = 15) -> dict[str, np.ndarray]:
    """The reliability diagram's data: per tag and equal-width bin, mean predicted, observed, count.

    Returns ``edges`` (B + 1,), ``mean_predicted`` and ``observed`` (C, B) floats
    (nan in an empty bin) and ``count`` (C, B) ints. One ``bincount`` for all tags.

    >>> r = reliability([[1], [0], [1], [0]], [[0.9], [0.6], [0.8], [0.3]], bins=2)
    >>> r["count"].tolist(), r["mean_predicted"].tolist(), r["observed"].tolist()
    ([[1, 3]], [[0.3, 0.7667]], [[0.0, 0.6667]])
    """
    pos, prob = _checked(y, p)
    bins = checks.whole(bins, "bins", 1, 1000)
    n, c = prob.shape
    flat = (_bin_index(prob, bins) + bins * np.arange(c)[None, :]).ravel()
    count = np.bincount(flat, minlength=bins * c).reshape(c, bins)
    sum_p = np.bincount(flat, weights=prob.ravel(), minlength=bins * c).reshape(c, bins)
    sum_y = np.bincount(flat, weights=pos.ravel(), minlength=bins * c).reshape(c, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(count > 0, sum_p / count, np.nan)
        observed = np.where(count > 0, sum_y / count, np.nan)
    return {
        "edges": np.linspace(0.0, 1.0, bins + 1),
        "mean_predicted": mean_p.round(4),
        "observed": observed.round(4),
        "count": count,
    }


def ece(y: Any, p: Any, bins: int = 15) -> ECE:
    """Expected calibration error per tag with ``bins`` equal-width bins (formula in the module doc).

    >>> ece([[1, 1], [0, 1]], [[1.0, 0.5], [0.0, 0.5]], bins=15)
    ECE(per_tag=array([0. , 0.5]), bins=15)
    """
    pos, prob = _checked(y, p)
    bins = checks.whole(bins, "bins", 1, 1000)
    n, c = prob.shape
    flat = (_bin_index(prob, bins) + bins * np.arange(c)[None, :]).ravel()
    gap = np.bincount(flat, weights=(prob - pos).ravel(), minlength=bins * c).reshape(c, bins)
    # sum over a bin of (p - y) is n_b * (mean p - observed): |.| / N is that bin's share of ECE.
    return ECE((np.abs(gap).sum(1) / n).round(4), bins)


def brier(y: Any, p: Any) -> np.ndarray:
    """Brier score per tag: mean over images of (p - y)², shape (C,).

    >>> brier([[1, 0], [0, 0]], [[0.8, 0.5], [0.4, 0.5]])
    array([0.1 , 0.25])
    """
    pos, prob = _checked(y, p)
    return ((prob - pos) ** 2).mean(0).round(4)


def _nll(pos: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Mean BCE per tag of logits ``z`` (N, C): y·log(1+e^-z) + (1-y)·log(1+e^z)."""
    return (pos * np.logaddexp(0.0, -z) + (1 - pos) * np.logaddexp(0.0, z)).mean(0)


def log_loss(y: Any, p: Any) -> np.ndarray:
    """Log loss (binary cross-entropy) per tag, shape (C,), with ``p`` clipped to [EPS, 1 - EPS].

    >>> log_loss([[1], [0]], [[0.5], [0.5]]).round(4)
    array([0.6931])
    """
    pos, prob = _checked(y, p)
    return _nll(pos, logit(prob))


def fit_temperature(y: Any, p: Any, iterations: int = 80) -> np.ndarray:
    """One temperature per tag (C,) minimising the log loss of ``sigmoid(logit(p) / T)``.

    The loss is convex in ``1 / T`` (a one-weight logistic regression on the
    logit), so a golden-section search over ``log(1 / T)`` in
    ``[-log T_BOUND, log T_BOUND]`` finds it; all tags are searched at once.
    ``T > 1`` softens over-confident scores, ``T < 1`` sharpens timid ones.
    Scores that rank the wrong way (the best weight is negative) end at T_BOUND.

    >>> rng = np.random.default_rng(0); z = rng.normal(0, 2, (4000, 1))
    >>> y = rng.random((4000, 1)) < 1 / (1 + np.exp(-z))
    >>> float(fit_temperature(y, 1 / (1 + np.exp(-3 * z)))[0].round(1))  # three times too sharp
    3.0
    """
    pos, prob = _checked(y, p)
    iterations = checks.whole(iterations, "iterations", 1, 500)
    z = logit(prob)
    lo = np.full(z.shape[1], -np.log(T_BOUND))
    hi = -lo.copy()
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _nll(pos, z * np.exp(a)), _nll(pos, z * np.exp(b))
    for _ in range(iterations):
        left = fa <= fb  # the minimum lies in [lo, b]: shrink from the right
        hi = np.where(left, b, hi)
        lo = np.where(left, lo, a)
        new_a = hi - ratio * (hi - lo)
        new_b = lo + ratio * (hi - lo)
        a_next = np.where(left, new_a, b)
        b_next = np.where(left, a, new_b)
        f_new = _nll(pos, z * np.exp(np.where(left, new_a, new_b)))
        fa, fb = np.where(left, f_new, fb), np.where(left, fa, f_new)
        a, b = a_next, b_next
    return np.exp(-(lo + hi) / 2)


def apply_temperature(p: Any, temperature: Any) -> np.ndarray:
    """``sigmoid(logit(p) / T)`` for ``p`` (N, C) and ``T`` one float or (C,) floats > 0.

    >>> apply_temperature([[0.8, 0.5]], [2.0, 1.0]).round(4)
    array([[0.6667, 0.5   ]])
    """
    prob = np.asarray(p, dtype=np.float64)
    t = np.asarray(temperature, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"temperature must be finite numbers > 0, got {temperature!r}")
    return _sigmoid(logit(prob) / t)


def fit_platt(y: Any, p: Any, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Platt scaling per tag: ``a``, ``b`` (C,) each, minimising the log loss of ``sigmoid(a·logit(p) + b)``.

    Platt's (1999) smoothed targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``
    keep ``a`` finite on separable data. Newton steps on the 2×2 problem, all
    tags at once, each step halved until the loss does not rise (Lin, Lin & Weng, 2007).

    >>> rng = np.random.default_rng(0); z = rng.normal(0, 1, (4000, 1))
    >>> y = rng.random((4000, 1)) < 1 / (1 + np.exp(-(2 * z + 1)))
    >>> [round(float(v[0]), 1) for v in fit_platt(y, 1 / (1 + np.exp(-z)))]
    [2.0, 1.0]
    """
    pos, prob = _checked(y, p)
    iterations = checks.whole(iterations, "iterations", 1, 500)
    z = logit(prob)
    n_pos, n_neg = pos.sum(0), (1 - pos).sum(0)
    t = np.where(pos > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = np.ones(z.shape[1]), np.zeros(z.shape[1])

    def loss(a, b):
        s = a * z + b
        return (t * np.logaddexp(0.0, -s) + (1 - t) * np.logaddexp(0.0, s)).mean(0)

    current = loss(a, b)
    for _ in range(iterations):
        q = _sigmoid(a * z + b)
        r, w = q - t, q * (1 - q)
        ga, gb = (r * z).mean(0), r.mean(0)
        haa, hab, hbb = (w * z * z).mean(0) + 1e-12, (w * z).mean(0), w.mean(0) + 1e-12
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        step = np.ones_like(a)
        for _ in range(30):
            trial = loss(a - step * da, b - step * db)
            worse = trial > current + 1e-15
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        a, b = a - step * da, b - step * db
        current = loss(a, b)
    return a, b


def apply_platt(p: Any, a: Any, b: Any) -> np.ndarray:
    """``sigmoid(a·logit(p) + b)`` for ``p`` (N, C) and ``a``, ``b`` floats or (C,).

    >>> apply_platt([[0.5]], 1.0, 0.0).tolist()
    [[0.5]]
    """
    return _sigmoid(np.asarray(a, dtype=np.float64) * logit(p) + np.asarray(b, dtype=np.float64))


def f1_threshold_vs_half_best_f1(y: Any, p: Any, classes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per tag, the F1-optimal threshold next to half the best F1 (Lipton et al., 2014: equal when calibrated).

    Rows: ``tag``, ``threshold`` and ``f1`` from :func:`mlc.thresholds.best_thresholds`,
    ``half_best_f1`` = f1 / 2 and ``difference`` = threshold - f1 / 2.

    >>> f1_threshold_vs_half_best_f1([[1], [0], [1], [0]], [[0.9], [0.8], [0.7], [0.1]], classes=["a"])
    [{'tag': 'a', 'threshold': 0.4, 'f1': 0.8, 'half_best_f1': 0.4, 'difference': 0.0}]
    """
    rows = []
    for b in best_thresholds(y, p, classes=classes):
        half = b["f1"] / 2
        rows.append(
            {
                "tag": b["tag"],
                "threshold": round(b["threshold"], 4),
                "f1": round(b["f1"], 4),
                "half_best_f1": round(half, 4),
                "difference": round(b["threshold"] - half, 4),
            }
        )
    return rows


def calibration_report(
    y: Any, p: Any, bins: int = 15, classes: Sequence[str] | None = None, temperature: Any = None
) -> dict[str, Any]:
    """JSON-friendly per-tag ECE, Brier, log loss and temperature (fitted on ``y``, ``p`` unless given).

    >>> r = calibration_report([[1], [0]], [[0.9], [0.2]], bins=10, classes=["a"], temperature=1.0)
    >>> r["bins"], r["per_tag"][0]
    (10, {'tag': 'a', 'ece': 0.15, 'brier': 0.025, 'log_loss': 0.1643, 'temperature': 1.0})
    """
    _, prob = _checked(y, p)
    names = tag_names(classes, prob.shape[1])
    temps = fit_temperature(y, p) if temperature is None else np.broadcast_to(temperature, (prob.shape[1],))
    e, br, ll = ece(y, p, bins), brier(y, p), log_loss(y, p)
    rows = [
        {
            "tag": name,
            "ece": float(e.per_tag[j]),
            "brier": float(br[j]),
            "log_loss": round(float(ll[j]), 4),
            "temperature": round(float(temps[j]), 4),
        }
        for j, name in enumerate(names)
    ]
    return {"bins": e.bins, "per_tag": rows}
