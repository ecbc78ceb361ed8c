"""Multi-label classification metrics in plain numpy.

Inputs follow one convention throughout:

* ``y_true`` has shape ``(n, C)``: one row per sample, one column per tag,
  values in ``[0, 1]``. Multi-hot ``0/1`` targets and soft labels (presence
  strength) are both accepted.
* ``y_prob`` has the same shape and holds sigmoid probabilities in ``[0, 1]``.
* A tag is *predicted* when ``prob >= threshold``.
* Classification metrics binarise the targets as ``y_true >= 0.5``: a soft
  label counts as present when its strength is at least 0.5. The regression
  metrics (MAE, MSE) use the raw targets.

Zero-division follows scikit-learn's ``zero_division=0``: precision is 0
when nothing is predicted positive, recall is 0 when a tag has no positives,
F1 is 0 when precision + recall is 0. Average precision of a tag without
positives is undefined (``nan``) and is left out of the mean (mAP).

Single-tag functions (:func:`average_precision`,
:func:`precision_recall_curve`, :func:`threshold_sweep`) take 1-D arrays of
length ``n``. Everything is vectorised: one sort per tag, no Python loop over
samples or thresholds.

The threshold functions (:func:`precision_recall_curve`,
:func:`threshold_sweep`, :func:`best_thresholds`) live in :mod:`mlc.thresholds`
and the input checks and confusion counts in :mod:`mlc.confusion`; the names
are re-exported here, so ``from mlc.metrics import best_thresholds`` still works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlc.confusion import (
    POSITIVE_CUTOFF,
    check_scores,
    check_tag_scores,
    counts_at,
    positives,
    precision_recall_f1,
    ranking,
    tag_names,
)
from mlc.thresholds import best_thresholds, f1_optimal_cut, precision_recall_curve, threshold_sweep

__all__ = [
    "POSITIVE_CUTOFF",
    "average_precision",
    "best_thresholds",
    "confusion_counts",
    "precision_recall_curve",
    "regression_report",
    "report",
    "sample_map",
    "threshold_sweep",
]


def _per_tag_errors(diff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean |diff| and diff**2 of an (n, C) array."""
    # Reducing contiguous rows makes each tag's value independent of the
    # other columns (an axis=0 reduction sums in a layout-dependent order),
    # so reordering tags reorders the results bit for bit.
    cols = np.ascontiguousarray(diff.T)
    return np.abs(cols).mean(axis=1), (cols * cols).mean(axis=1)


def _average_precision(tps: np.ndarray, fps: np.ndarray) -> float:
    n_pos = tps[-1]
    if n_pos == 0:
        return math.nan
    precision = tps / (tps + fps)
    recall = tps / n_pos
    delta = np.diff(recall, prepend=0.0)
    return float(np.sum(delta * precision))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def confusion_counts(y_true: Any, y_prob: Any, thresholds: Any = 0.5) -> np.ndarray:
    """Per-tag confusion counts.

    ``y_true`` and ``y_prob`` have shape ``(n, C)``; ``thresholds`` is a
    float or ``C`` floats. With ``pred = y_prob >= thresholds`` and
    ``pos = y_true >= 0.5``, returns an int64 array of shape ``(C, 4)`` with
    columns ``tp, fp, fn, tn``; each row sums to ``n``.

    >>> confusion_counts([[1, 0], [1, 1], [0, 0]],
    ...                  [[0.9, 0.6], [0.2, 0.7], [0.4, 0.1]])
    array([[1, 0, 1, 1],
           [1, 1, 0, 1]])
    """
    yt, yp, thr = check_scores(y_true, y_prob, thresholds)
    return counts_at(positives(yt), yp, thr)


def average_precision(y_true: Any, y_score: Any) -> float:
    """Non-interpolated average precision of one tag.

    ``y_true`` and ``y_score`` are 1-D of length ``n``; targets are
    binarised as ``y_true >= 0.5``. Over the distinct scores taken as
    thresholds in descending order (tied scores form one threshold),

        AP = sum_k (R_k - R_{k-1}) * P_k,   R_0 = 0,

    where ``P_k``, ``R_k`` are precision and recall when predicting
    ``score >= t_k``. This matches scikit-learn's
    ``average_precision_score``; a constant score gives the prevalence.
    Returns ``nan`` when the tag has no positives.

    >>> average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.8333
    >>> average_precision([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5])
    0.25
    """
    yt, ys = check_tag_scores(y_true, y_score)
    _, tps, fps = ranking(positives(yt), ys)
    return _average_precision(tps, fps)


def sample_map(y_true: Any, y_score: Any) -> float:
    """Sample-wise (per-image) mAP: the mean over images of the AP of that image's ranking of its tags.

    ``y_true`` and ``y_score`` are ``(n, C)``. For image ``i`` with positives
    ``P_i`` (``y_true >= 0.5``; an image without positives is skipped),

        AP_i = (1 / |P_i|) * sum_{j in P_i} |{k in P_i : s_ik >= s_ij}| / |{k : s_ik >= s_ij}|,

    the non-interpolated AP of :func:`average_precision` applied to the row
    (tied scores form one threshold). Class-wise mAP (``report()["map"]``) ranks
    images per tag; this ranks tags per image, which is what a tagger showing
    its top tags is judged by (Kobayashi, "Two-way multi-label loss", CVPR
    2023, reports both). ``nan`` when no image has a positive. Vectorised:
    one (n, C, C) comparison, no loop over images.

    >>> sample_map([[1, 0, 1], [0, 1, 0], [0, 0, 0]], [[0.9, 0.8, 0.7], [0.9, 0.8, 0.7], [0.1, 0.2, 0.3]])
    0.6667
    """
    yt, ys, _ = check_scores(y_true, y_score)
    pos = positives(yt)  # (n, C) bool
    keep = pos.any(axis=1)
    if not keep.any():
        return math.nan
    pos, ys = pos[keep], ys[keep]
    at_least = ys[:, None, :] >= ys[:, :, None]  # [i, j, k]: tag k scores at least tag j's score
    precision = (at_least & pos[:, None, :]).sum(axis=2) / at_least.sum(axis=2)  # (n, C) precision at s_ij
    per_image = (precision * pos).sum(axis=1) / pos.sum(axis=1)
    return float(per_image.mean())


def regression_report(y_true: Any, y_prob: Any, classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Mean absolute and squared error between probabilities and targets.

    ``y_true`` and ``y_prob`` have shape ``(n, C)``; the raw (possibly soft)
    targets are used, so this measures how well presence strength is
    reproduced. ``mae = mean |y_prob - y_true|`` and
    ``mse = mean (y_prob - y_true)**2`` over all cells; ``per_tag`` holds
    the same per column. Returns plain Python floats.

    >>> r = regression_report([[1.0, 0.5]], [[0.8, 0.5]], classes=["a", "b"])
    >>> r["mae"], r["mse"]
    (0.1, 0.02)
    >>> r["per_tag"]
    [{'tag': 'a', 'mae': 0.2, 'mse': 0.04}, {'tag': 'b', 'mae': 0.0, 'mse': 0.0}]
    """
    yt, yp, _ = check_scores(y_true, y_prob)
    names = tag_names(classes, yt.shape[1])
    diff = yp - yt
    abs_tag, sq_tag = _per_tag_errors(diff)
    return {
        "mae": float(np.abs(diff).mean()),
        "mse": float((diff * diff).mean()),
        "per_tag": [{"tag": name, "mae": float(a), "mse": float(s)} for name, a, s in zip(names, abs_tag, sq_tag)],
    }


def report(
    y_true: Any,
    y_prob: Any,
    thresholds: Any = 0.5,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Full multi-label evaluation as a JSON-friendly dict.

    ``y_true`` (n, C) in [0, 1], multi-hot or soft; ``y_prob`` (n, C)
    sigmoid probabilities; ``thresholds`` a float or ``C`` floats in
    [0, 1]; ``classes`` ``C`` names (default ``mlc.DEFAULT_CLASSES`` when
    C == 5, else ``tag0``, ``tag1``, ...). With ``pred = y_prob >= t`` and
    ``pos = y_true >= 0.5``:

    * ``per_tag``: ``tag``, ``support`` (positives), ``threshold``,
      ``tp fp fn tn``, precision tp/(tp+fp), recall tp/(tp+fn),
      F1 2tp/(2tp+fp+fn) (each 0 when its denominator is 0),
      ``average_precision`` (nan without positives), ``prevalence``
      (support / n) and ``mae`` against the raw targets;
    * ``micro_*``: P/R/F1 from tp, fp, fn summed over tags;
      ``macro_*``: unweighted mean of per-tag P/R/F1 over all tags;
    * ``map``: mean AP over tags with at least one positive (nan if none);
    * ``hamming_loss``: fraction of (sample, tag) cells with pred != pos;
      ``subset_accuracy``: fraction of samples with every tag right;
    * ``mae``, ``mse``: over all cells against the raw targets;
    * ``best_thresholds``: as :func:`mlc.thresholds.best_thresholds`.

    Values are plain ``int``/``float``/``str``/``list``; undefined values
    are ``float('nan')``.

    >>> r = report([[1, 0], [0, 1], [1, 1]],
    ...            [[0.9, 0.2], [0.3, 0.4], [0.6, 0.8]], classes=["a", "b"])
    >>> r["per_tag"][1]["recall"], r["micro_f1"], r["hamming_loss"]
    (0.5, 0.8571, 0.1667)
    >>> r["subset_accuracy"], r["map"]
    (0.6667, 1.0)
    """
    yt, yp, thr = check_scores(y_true, y_prob, thresholds)
    names = tag_names(classes, yt.shape[1])
    n, n_tags = yt.shape
    pos = positives(yt)
    counts = counts_at(pos, yp, thr)
    tp, fp, fn, tn = counts.T
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    micro_p, micro_r, micro_f1 = precision_recall_f1(tp.sum(), fp.sum(), fn.sum())
    diff = yp - yt
    mae_tag, _ = _per_tag_errors(diff)

    per_tag = []
    best = []
    aps = []
    for j, name in enumerate(names):
        ranked = ranking(pos[:, j], yp[:, j])
        ap = _average_precision(ranked.tp, ranked.fp)
        aps.append(ap)
        best_j = f1_optimal_cut(pos[:, j], yp[:, j], ranked)
        best.append({"tag": name, **best_j})
        support = int(tp[j] + fn[j])
        per_tag.append(
            {
                "tag": name,
                "support": support,
                "threshold": float(thr[j]),
                "tp": int(tp[j]),
                "fp": int(fp[j]),
                "fn": int(fn[j]),
                "tn": int(tn[j]),
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "f1": float(f1[j]),
                "average_precision": ap,
                "prevalence": support / n,
                "mae": float(mae_tag[j]),
            }
        )
    defined = [a for a in aps if not math.isnan(a)]
    pred = yp >= thr
    return {
        "n_samples": int(n),
        "classes": names,
        "thresholds": [float(t) for t in thr],
        "per_tag": per_tag,
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "micro_f1": float(micro_f1),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "map": float(np.mean(defined)) if defined else math.nan,
        "hamming_loss": float(np.mean(pred != pos)),
        "subset_accuracy": float(np.mean(np.all(pred == pos, axis=1))),
        "mae": float(np.abs(diff).mean()),
        "mse": float((diff * diff).mean()),
        "best_thresholds": best,
    }


# bootstrap error bars live in their own module (they resample the functions above); mlc.metrics.bootstrap_ci
from mlc.bootstrap import bootstrap_ci, paired_bootstrap  # noqa: E402, F401
