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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlc import DEFAULT_CLASSES

__all__ = [
    "average_precision",
    "best_thresholds",
    "confusion_counts",
    "precision_recall_curve",
    "regression_report",
    "report",
    "threshold_sweep",
]

#: A soft label at or above this strength counts as a present tag.
POSITIVE_CUTOFF = 0.5


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _as_float_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric array-like, could not convert {type(x).__name__} to float: {exc}"
        ) from None
    return arr


def _check_values(arr: np.ndarray, name: str, what: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} must contain only finite values, got {int(bad.sum())} "
            f"NaN or infinite value(s); drop or impute them first"
        )
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(
            f"{name} must lie in [0, 1] ({what}), got values from {arr.min():g} to {arr.max():g}; clip or rescale it"
        )


def _validate(y_true: Any, y_prob: Any, thresholds: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return float64 ``y_true``, ``y_prob`` (n, C) and thresholds (C,).

    ``thresholds=None`` means the caller does not use thresholds.
    """
    yt = _as_float_array(y_true, "y_true")
    yp = _as_float_array(y_prob, "y_prob")
    if yt.ndim != 2:
        raise ValueError(
            f"y_true must be 2-D with shape (n_samples, n_tags), got shape "
            f"{yt.shape}; for a single tag use y.reshape(-1, 1)"
        )
    if yt.shape[0] == 0 or yt.shape[1] == 0:
        raise ValueError(f"y_true must have at least one sample and one tag, got shape {yt.shape}")
    if yp.shape != yt.shape:
        raise ValueError(f"y_prob must have shape {yt.shape} like y_true, got {yp.shape}")
    _check_values(yt, "y_true", "multi-hot or soft labels")
    _check_values(yp, "y_prob", "sigmoid probabilities")
    thr = None
    if thresholds is not None:
        thr = _validate_thresholds(thresholds, yt.shape[1])
    return yt, yp, thr


def _validate_thresholds(thresholds: Any, n_tags: int) -> np.ndarray:
    thr = _as_float_array(thresholds, "thresholds")
    if thr.ndim == 0:
        thr = np.full(n_tags, float(thr))
    elif thr.ndim != 1 or thr.shape[0] != n_tags:
        raise ValueError(f"thresholds must be a single float or {n_tags} floats (one per tag), got shape {thr.shape}")
    _check_values(thr, "thresholds", "a probability cut-off")
    return thr


def _validate_1d(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = _as_float_array(y_true, "y_true")
    ys = _as_float_array(y_score, "y_score")
    if yt.ndim != 1:
        raise ValueError(
            f"y_true must be 1-D (one tag), got shape {yt.shape}; pass a single column such as y_true[:, j]"
        )
    if yt.shape[0] == 0:
        raise ValueError("y_true must have at least one sample, got 0")
    if ys.shape != yt.shape:
        raise ValueError(f"y_score must have shape {yt.shape} like y_true, got {ys.shape}")
    _check_values(yt, "y_true", "binary or soft labels")
    _check_values(ys, "y_score", "probabilities")
    return yt, ys


def _validate_classes(classes: Any, n_tags: int) -> list[str]:
    if classes is None:
        if n_tags == len(DEFAULT_CLASSES):
            return list(DEFAULT_CLASSES)
        return [f"tag{j}" for j in range(n_tags)]
    if isinstance(classes, str):
        raise ValueError(
            f"classes must be a sequence of {n_tags} names, got the single string {classes!r}; wrap it in a list"
        )
    names = [str(c) for c in classes]
    if len(names) != n_tags:
        raise ValueError(f"classes must have {n_tags} names (one per column of y_true), got {len(names)}")
    if len(set(names)) != len(names):
        raise ValueError(f"classes must be unique names, got {names}")
    return names


# --------------------------------------------------------------------------
# Core computations
# --------------------------------------------------------------------------


def _binarise(y_true: np.ndarray) -> np.ndarray:
    return y_true >= POSITIVE_CUTOFF


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (the zero_division=0 convention)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _prf(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # F1 from counts (2tp / (2tp + fp + fn)) equals 2PR / (P + R) but is a
    # single correctly rounded division, so equal F1 values compare equal.
    tp = np.asarray(tp)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return precision, recall, f1


def _counts(pos: np.ndarray, y_prob: np.ndarray, thr: np.ndarray) -> np.ndarray:
    pred = y_prob >= thr
    tp = np.count_nonzero(pred & pos, axis=0)
    fp = np.count_nonzero(pred & ~pos, axis=0)
    fn = np.count_nonzero(~pred & pos, axis=0)
    tn = pos.shape[0] - tp - fp - fn
    return np.stack([tp, fp, fn, tn], axis=1).astype(np.int64)


def _per_tag_errors(diff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean |diff| and diff**2 of an (n, C) array."""
    # Reducing contiguous rows makes each tag's value independent of the
    # other columns (an axis=0 reduction sums in a layout-dependent order),
    # so reordering tags reorders the results bit for bit.
    cols = np.ascontiguousarray(diff.T)
    return np.abs(cols).mean(axis=1), (cols * cols).mean(axis=1)


def _curve(pos: np.ndarray, score: np.ndarray):
    """Distinct scores (descending) with cumulative tp and fp at each.

    Entry k describes predicting ``score >= thresholds[k]``. Tied scores
    form a single entry because no threshold can separate them.
    """
    order = np.argsort(score, kind="stable")[::-1]
    s = score[order]
    y = pos[order]
    # Last index of each run of equal scores is where a threshold can cut.
    ends = np.flatnonzero(np.diff(s) != 0)
    ends = np.append(ends, s.shape[0] - 1)
    tps = np.cumsum(y, dtype=np.int64)[ends]
    fps = (ends + 1) - tps
    return s[ends], tps, fps


def _ap_from_curve(tps: np.ndarray, fps: np.ndarray) -> float:
    n_pos = tps[-1]
    if n_pos == 0:
        return math.nan
    precision = tps / (tps + fps)
    recall = tps / n_pos
    delta = np.diff(recall, prepend=0.0)
    return float(np.sum(delta * precision))


def _best_from_curve(pos: np.ndarray, score: np.ndarray, thresholds, tps, fps) -> dict[str, float]:
    n_pos = int(tps[-1])
    if n_pos == 0:
        # F1 is 0 at every cut, so F1 cannot choose; the highest cut predicts
        # the tag as rarely as possible (only for scores of exactly 1).
        t = 1.0
    else:
        f1 = _ratio(2 * tps, tps + fps + n_pos)
        # argmax returns the first maximum, i.e. the highest threshold among
        # ties: the fewest positive predictions for the same F1.
        k = int(np.argmax(f1))
        t = float(thresholds[k])
        if k + 1 < thresholds.shape[0]:
            # Every cut in (next lower score, chosen score] gives the same
            # predictions here; the middle of that gap generalises better
            # than sitting on a training score.
            lower = float(thresholds[k + 1])
            mid = 0.5 * (t + lower)
            # Adjacent floats can round the midpoint onto `lower`, which
            # would change the predictions; then keep the score itself.
            if lower < mid <= t:
                t = mid
        t = min(max(t, 0.0), 1.0)
    tp, fp, fn, _ = _counts(pos[:, None], score[:, None], np.array([t]))[0]
    p, r, f = _prf(tp, fp, fn)
    return {"threshold": t, "f1": float(f), "precision": float(p), "recall": float(r)}


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
    yt, yp, thr = _validate(y_true, y_prob, thresholds)
    return _counts(_binarise(yt), yp, thr)


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
    yt, ys = _validate_1d(y_true, y_score)
    _, tps, fps = _curve(_binarise(yt), ys)
    return _ap_from_curve(tps, fps)


def precision_recall_curve(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall curve of one tag, from the strictest cut down.

    ``y_true`` and ``y_score`` are 1-D of length ``n``; targets are
    binarised as ``y_true >= 0.5``. With ``m`` distinct scores, returns

    * ``thresholds``: shape ``(m,)``, the distinct scores, descending;
    * ``precision``, ``recall``: shape ``(m + 1,)``. Index 0 is the
      "predict nothing" start point with precision 1 and recall 0 (the
      scikit-learn convention); index ``i + 1`` is predicting
      ``score >= thresholds[i]``, with P = tp / (tp + fp), R = tp / n_pos.

    Recall is non-decreasing and ends at 1 (every sample predicted) when the
    tag has positives; the last precision is then the prevalence. Without
    positives recall is 0 throughout (zero_division=0). Reversing all three
    arrays gives scikit-learn's ``precision_recall_curve`` output.

    >>> p, r, t = precision_recall_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    >>> t
    array([0.9, 0.8, 0.7, 0.1])
    >>> p
    array([1.    , 1.    , 0.5   , 0.6667, 0.5   ])
    >>> r
    array([0. , 0.5, 0.5, 1. , 1. ])
    """
    yt, ys = _validate_1d(y_true, y_score)
    thresholds, tps, fps = _curve(_binarise(yt), ys)
    precision = np.concatenate([[1.0], _ratio(tps, tps + fps)])
    recall = np.concatenate([[0.0], _ratio(tps, np.full_like(tps, tps[-1]))])
    return precision, recall, thresholds


def threshold_sweep(y_true: Any, y_score: Any, thresholds: Any = None) -> dict[str, np.ndarray]:
    """Confusion counts and P/R/F1 of one tag at many thresholds.

    ``y_true`` and ``y_score`` are 1-D of length ``n``; targets are
    binarised as ``y_true >= 0.5``. ``thresholds`` is 1-D of length ``T``
    in ``[0, 1]``, any order (default ``np.linspace(0, 1, 101)``). For each
    ``t`` the tag is predicted when ``score >= t``. Returns a dict of arrays
    of shape ``(T,)``: ``threshold``, ``precision``, ``recall``, ``f1``
    (float64, zero_division=0) and ``tp``, ``fp``, ``fn``, ``tn`` (int64),
    with F1 = 2tp / (2tp + fp + fn).

    >>> s = threshold_sweep([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1],
    ...                     thresholds=[0.0, 0.75, 1.0])
    >>> s["tp"], s["fp"]
    (array([2, 1, 0]), array([2, 1, 0]))
    >>> s["f1"]
    array([0.6667, 0.5   , 0.    ])
    """
    yt, ys = _validate_1d(y_true, y_score)
    if thresholds is None:
        thr = np.linspace(0.0, 1.0, 101)
    else:
        thr = _as_float_array(thresholds, "thresholds")
        if thr.ndim == 0:
            thr = thr.reshape(1)
        if thr.ndim != 1 or thr.shape[0] == 0:
            raise ValueError(f"thresholds must be a non-empty 1-D sequence of floats, got shape {thr.shape}")
        _check_values(thr, "thresholds", "probability cut-offs")
    pos = _binarise(yt)
    pos_scores = np.sort(ys[pos])
    neg_scores = np.sort(ys[~pos])
    # side="left" counts scores strictly below t, so the rest are >= t.
    below_pos = np.searchsorted(pos_scores, thr, side="left")
    below_neg = np.searchsorted(neg_scores, thr, side="left")
    tp = (pos_scores.shape[0] - below_pos).astype(np.int64)
    fp = (neg_scores.shape[0] - below_neg).astype(np.int64)
    fn = pos_scores.shape[0] - tp
    tn = neg_scores.shape[0] - fp
    precision, recall, f1 = _prf(tp, fp, fn)
    return {
        "threshold": thr,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def best_thresholds(y_true: Any, y_prob: Any, classes: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per-tag threshold that maximises F1 on the given data.

    ``y_true`` and ``y_prob`` have shape ``(n, C)``; targets are binarised
    as ``y_true >= 0.5``. For each tag the candidate cuts are its distinct
    predicted scores ``s_1 > s_2 > ... > s_m`` (predict ``score >= s_k``);
    these reach every prediction set a threshold can produce except the
    empty one, whose F1 is 0. Choice rules:

    * among cuts with maximal F1 the highest score ``s_k`` wins (fewest
      positive predictions);
    * the returned threshold is the midpoint ``(s_k + s_{k+1}) / 2`` when a
      lower distinct score exists, because any cut in ``(s_{k+1}, s_k]``
      gives the same predictions here and the middle of the gap generalises
      better; otherwise (``s_k`` is the lowest score) it is ``s_k`` itself;
    * a tag with no positives has F1 0 at every cut and gets threshold 1.0
      (predict it as rarely as possible).

    Returns ``C`` dicts in class order with ``tag``, ``threshold``, and the
    ``f1``, ``precision``, ``recall`` recomputed at the returned threshold
    on this data, so they always agree with :func:`report` at that cut.

    >>> best_thresholds([[1], [0], [1], [0]], [[0.9], [0.8], [0.7], [0.1]])
    [{'tag': 'tag0', 'threshold': 0.4, 'f1': 0.8, 'precision': 0.6667, 'recall': 1.0}]
    """
    yt, yp, _ = _validate(y_true, y_prob)
    names = _validate_classes(classes, yt.shape[1])
    pos = _binarise(yt)
    out = []
    for j, name in enumerate(names):
        cut, tps, fps = _curve(pos[:, j], yp[:, j])
        best = _best_from_curve(pos[:, j], yp[:, j], cut, tps, fps)
        out.append({"tag": name, **best})
    return out


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
    yt, yp, _ = _validate(y_true, y_prob)
    names = _validate_classes(classes, yt.shape[1])
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
    * ``best_thresholds``: as :func:`best_thresholds`.

    Values are plain ``int``/``float``/``str``/``list``; undefined values
    are ``float('nan')``.

    >>> r = report([[1, 0], [0, 1], [1, 1]],
    ...            [[0.9, 0.2], [0.3, 0.4], [0.6, 0.8]], classes=["a", "b"])
    >>> r["per_tag"][1]["recall"], r["micro_f1"], r["hamming_loss"]
    (0.5, 0.8571, 0.1667)
    >>> r["subset_accuracy"], r["map"]
    (0.6667, 1.0)
    """
    yt, yp, thr = _validate(y_true, y_prob, thresholds)
    names = _validate_classes(classes, yt.shape[1])
    n, n_tags = yt.shape
    pos = _binarise(yt)
    counts = _counts(pos, yp, thr)
    tp, fp, fn, tn = counts.T
    precision, recall, f1 = _prf(tp, fp, fn)
    micro_p, micro_r, micro_f1 = _prf(tp.sum(), fp.sum(), fn.sum())
    diff = yp - yt
    mae_tag, _ = _per_tag_errors(diff)

    per_tag = []
    best = []
    aps = []
    for j, name in enumerate(names):
        cut, tps, fps = _curve(pos[:, j], yp[:, j])
        ap = _ap_from_curve(tps, fps)
        aps.append(ap)
        best_j = _best_from_curve(pos[:, j], yp[:, j], cut, tps, fps)
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
