"""The arrays every metric reads, checked, and the confusion counts they come down to.

:mod:`mlc.metrics` (scores of a model) and :mod:`mlc.thresholds` (choosing and
sweeping cut-offs) both build on this module; it imports neither.

Conventions (see :mod:`mlc.metrics` for the full statement): ``y_true`` and
``y_prob`` are ``(n, C)`` in ``[0, 1]``; a tag is predicted when
``prob >= threshold``; a target counts as positive when ``y_true >= 0.5``;
a ratio with a zero denominator is 0 (scikit-learn's ``zero_division=0``).

>>> y, p, t = check_scores([[1, 0], [0, 1]], [[0.9, 0.2], [0.4, 0.7]], 0.5)
>>> counts_at(positives(y), p, t)  # rows: tags; columns: tp, fp, fn, tn
array([[1, 0, 0, 1],
       [1, 0, 0, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from mlc import DEFAULT_CLASSES

#: A soft label at or above this strength counts as a present tag.
POSITIVE_CUTOFF = 0.5


# --------------------------------------------------------------------------
# Checking the inputs
# --------------------------------------------------------------------------


def as_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 array; ValueError naming ``name`` when it is not numeric.

    >>> as_float_array([1, True], "y_true")
    array([1., 1.])
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric array-like, could not convert {type(x).__name__} to float: {exc}"
        ) from None
    return arr


def check_unit_values(arr: np.ndarray, name: str, what: str) -> None:
    """Refuse NaN, infinities and values outside ``[0, 1]``; ``what`` says what the values are.

    >>> check_unit_values(np.array([0.2, 1.5]), "y_prob", "sigmoid probabilities")
    Traceback (most recent call last):
    ...
    ValueError: y_prob must lie in [0, 1] (sigmoid probabilities), got values from 0.2 to 1.5; clip or rescale it
    """
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


def check_scores(y_true: Any, y_prob: Any, thresholds: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Float64 ``y_true``, ``y_prob`` (n, C) and thresholds (C,), or ValueError.

    ``thresholds=None`` means the caller does not use thresholds (None comes back).

    >>> check_scores([[1, 0]], [[0.9, 0.1]], 0.3)[2]
    array([0.3, 0.3])
    """
    yt = as_float_array(y_true, "y_true")
    yp = as_float_array(y_prob, "y_prob")
    if yt.ndim != 2:
        raise ValueError(
            f"y_true must be 2-D with shape (n_samples, n_tags), got shape "
            f"{yt.shape}; for a single tag use y.reshape(-1, 1)"
        )
    if yt.shape[0] == 0 or yt.shape[1] == 0:
        raise ValueError(f"y_true must have at least one sample and one tag, got shape {yt.shape}")
    if yp.shape != yt.shape:
        raise ValueError(f"y_prob must have shape {yt.shape} like y_true, got {yp.shape}")
    check_unit_values(yt, "y_true", "multi-hot or soft labels")
    check_unit_values(yp, "y_prob", "sigmoid probabilities")
    thr = None
    if thresholds is not None:
        thr = check_thresholds(thresholds, yt.shape[1])
    return yt, yp, thr


def check_thresholds(thresholds: Any, n_tags: int) -> np.ndarray:
    """``n_tags`` cut-offs (C,) from one float or ``n_tags`` floats in ``[0, 1]``.

    >>> check_thresholds([0.2, 0.7], 2)
    array([0.2, 0.7])
    """
    thr = as_float_array(thresholds, "thresholds")
    if thr.ndim == 0:
        thr = np.full(n_tags, float(thr))
    elif thr.ndim != 1 or thr.shape[0] != n_tags:
        raise ValueError(f"thresholds must be a single float or {n_tags} floats (one per tag), got shape {thr.shape}")
    check_unit_values(thr, "thresholds", "a probability cut-off")
    return thr


def check_tag_scores(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Float64 ``y_true`` and ``y_score`` of one tag (both 1-D, length n), or ValueError.

    >>> check_tag_scores([[1, 0]], [[0.2, 0.3]])
    Traceback (most recent call last):
    ...
    ValueError: y_true must be 1-D (one tag), got shape (1, 2); pass a single column such as y_true[:, j]
    """
    yt = as_float_array(y_true, "y_true")
    ys = as_float_array(y_score, "y_score")
    if yt.ndim != 1:
        raise ValueError(
            f"y_true must be 1-D (one tag), got shape {yt.shape}; pass a single column such as y_true[:, j]"
        )
    if yt.shape[0] == 0:
        raise ValueError("y_true must have at least one sample, got 0")
    if ys.shape != yt.shape:
        raise ValueError(f"y_score must have shape {yt.shape} like y_true, got {ys.shape}")
    check_unit_values(yt, "y_true", "binary or soft labels")
    check_unit_values(ys, "y_score", "probabilities")
    return yt, ys


def tag_names(classes: Sequence[str] | None, n_tags: int) -> list[str]:
    """``n_tags`` unique names: ``classes`` checked, or the defaults when it is None.

    The defaults are ``mlc.DEFAULT_CLASSES`` for five tags, else ``tag0``, ``tag1``, ...

    >>> tag_names(None, 2)
    ['tag0', 'tag1']
    """
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
# Counting
# --------------------------------------------------------------------------


def positives(y_true: np.ndarray) -> np.ndarray:
    """Boolean ``y_true >= 0.5``: which (sample, tag) cells hold a present tag.

    >>> positives(np.array([0.2, 0.5, 1.0]))
    array([False,  True,  True])
    """
    return y_true >= POSITIVE_CUTOFF


def ratio(num: Any, den: Any) -> np.ndarray:
    """``num / den`` elementwise, with 0 where ``den == 0`` (the ``zero_division=0`` convention).

    >>> ratio([1, 2], [4, 0])
    array([0.25, 0.  ])
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def precision_recall_f1(tp: Any, fp: Any, fn: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision tp/(tp+fp), recall tp/(tp+fn) and F1 2tp/(2tp+fp+fn), each 0 on a zero denominator.

    >>> [float(v) for v in precision_recall_f1(1, 1, 0)]
    [0.5, 1.0, 0.6667]
    """
    # F1 from counts (2tp / (2tp + fp + fn)) equals 2PR / (P + R) but is a
    # single correctly rounded division, so equal F1 values compare equal.
    tp = np.asarray(tp)
    precision = ratio(tp, tp + fp)
    recall = ratio(tp, tp + fn)
    f1 = ratio(2 * tp, 2 * tp + fp + fn)
    return precision, recall, f1


def counts_at(pos: np.ndarray, y_prob: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Confusion counts (C, 4) with columns tp, fp, fn, tn of predicting ``y_prob >= thr``.

    ``pos`` is :func:`positives` of the targets (n, C); ``thr`` is (C,). Each row sums to n.

    >>> counts_at(np.array([[True], [False]]), np.array([[0.7], [0.6]]), np.array([0.5]))
    array([[1, 1, 0, 0]])
    """
    pred = y_prob >= thr
    tp = np.count_nonzero(pred & pos, axis=0)
    fp = np.count_nonzero(pred & ~pos, axis=0)
    fn = np.count_nonzero(~pred & pos, axis=0)
    tn = pos.shape[0] - tp - fp - fn
    return np.stack([tp, fp, fn, tn], axis=1).astype(np.int64)


class Ranking(NamedTuple):
    """One tag's distinct scores, descending, with the cumulative tp and fp of cutting at each.

    Entry k describes predicting ``score >= scores[k]``; tied scores form one
    entry because no threshold can separate them.
    """

    scores: np.ndarray  # (m,) distinct scores, descending
    tp: np.ndarray  # (m,) int64 true positives at each cut
    fp: np.ndarray  # (m,) int64 false positives at each cut


def ranking(pos: np.ndarray, score: np.ndarray) -> Ranking:
    """The :class:`Ranking` of one tag: ``pos`` (n,) bool, ``score`` (n,). One stable sort.

    >>> r = ranking(np.array([True, False, True]), np.array([0.9, 0.5, 0.5]))
    >>> r.scores, r.tp, r.fp
    (array([0.9, 0.5]), array([1, 2]), array([0, 1]))
    """
    order = np.argsort(score, kind="stable")[::-1]
    s = score[order]
    y = pos[order]
    # Last index of each run of equal scores is where a threshold can cut.
    ends = np.flatnonzero(np.diff(s) != 0)
    ends = np.append(ends, s.shape[0] - 1)
    tps = np.cumsum(y, dtype=np.int64)[ends]
    fps = (ends + 1) - tps
    return Ranking(s[ends], tps, fps)
