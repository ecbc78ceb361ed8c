"""Thresholds: one tag's precision-recall curve, scores over a grid of cut-offs, F1-optimal cuts.

A tag is predicted when ``score >= threshold``; targets are binarised as
``y_true >= 0.5`` and ratios with a zero denominator are 0, as everywhere in
:mod:`mlc.metrics` (which re-exports every public name here, so
``mlc.metrics.best_thresholds`` keeps working). Single-tag functions take 1-D
arrays of length ``n``; :func:`best_thresholds` takes ``(n, C)``. Everything is
vectorised: one sort per tag, no Python loop over samples or thresholds.

>>> [round(b["threshold"], 3) for b in best_thresholds([[1, 0], [0, 1], [1, 1]],
...                                                    [[0.9, 0.2], [0.3, 0.6], [0.6, 0.8]])]
[0.45, 0.4]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlc.confusion import (
    Ranking,
    as_float_array,
    check_scores,
    check_tag_scores,
    check_unit_values,
    counts_at,
    positives,
    precision_recall_f1,
    ranking,
    ratio,
    tag_names,
)

__all__ = ["best_thresholds", "f1_optimal_cut", "precision_recall_curve", "threshold_sweep", "tuned_thresholds"]


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
    yt, ys = check_tag_scores(y_true, y_score)
    thresholds, tps, fps = ranking(positives(yt), ys)
    precision = np.concatenate([[1.0], ratio(tps, tps + fps)])
    recall = np.concatenate([[0.0], ratio(tps, np.full_like(tps, tps[-1]))])
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
    yt, ys = check_tag_scores(y_true, y_score)
    if thresholds is None:
        thr = np.linspace(0.0, 1.0, 101)
    else:
        thr = as_float_array(thresholds, "thresholds")
        if thr.ndim == 0:
            thr = thr.reshape(1)
        if thr.ndim != 1 or thr.shape[0] == 0:
            raise ValueError(f"thresholds must be a non-empty 1-D sequence of floats, got shape {thr.shape}")
        check_unit_values(thr, "thresholds", "probability cut-offs")
    pos = positives(yt)
    pos_scores = np.sort(ys[pos])
    neg_scores = np.sort(ys[~pos])
    # side="left" counts scores strictly below t, so the rest are >= t.
    below_pos = np.searchsorted(pos_scores, thr, side="left")
    below_neg = np.searchsorted(neg_scores, thr, side="left")
    tp = (pos_scores.shape[0] - below_pos).astype(np.int64)
    fp = (neg_scores.shape[0] - below_neg).astype(np.int64)
    fn = pos_scores.shape[0] - tp
    tn = neg_scores.shape[0] - fp
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
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


def f1_optimal_cut(pos: np.ndarray, score: np.ndarray, ranked: Ranking | None = None) -> dict[str, float]:
    """One tag's F1-maximising threshold and the F1, precision and recall it gives.

    ``pos`` (n,) is :func:`mlc.confusion.positives` of the targets, ``score``
    (n,) the probabilities; ``ranked`` is their :func:`mlc.confusion.ranking`
    when the caller already has it (computed here otherwise). The rules are
    those of :func:`best_thresholds`. Returns ``{threshold, f1, precision, recall}``.

    >>> f1_optimal_cut(np.array([True, False, True, False]), np.array([0.9, 0.8, 0.7, 0.1]))
    {'threshold': 0.4, 'f1': 0.8, 'precision': 0.6667, 'recall': 1.0}
    """
    thresholds, tps, fps = ranking(pos, score) if ranked is None else ranked
    n_pos = int(tps[-1])
    if n_pos == 0:
        # F1 is 0 at every cut, so F1 cannot choose; the highest cut predicts
        # the tag as rarely as possible (only for scores of exactly 1).
        t = 1.0
    else:
        f1 = ratio(2 * tps, tps + fps + n_pos)
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
    tp, fp, fn, _ = counts_at(pos[:, None], score[:, None], np.array([t]))[0]
    p, r, f = precision_recall_f1(tp, fp, fn)
    return {"threshold": t, "f1": float(f), "precision": float(p), "recall": float(r)}


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
    on this data, so they always agree with :func:`mlc.metrics.report` at that cut.

    >>> best_thresholds([[1], [0], [1], [0]], [[0.9], [0.8], [0.7], [0.1]])
    [{'tag': 'tag0', 'threshold': 0.4, 'f1': 0.8, 'precision': 0.6667, 'recall': 1.0}]
    """
    yt, yp, _ = check_scores(y_true, y_prob)
    names = tag_names(classes, yt.shape[1])
    pos = positives(yt)
    return [{"tag": name, **f1_optimal_cut(pos[:, j], yp[:, j])} for j, name in enumerate(names)]


def tuned_thresholds(fit_true: Any, fit_prob: Any) -> np.ndarray:
    """(C,) F1-optimal thresholds *fitted* on one split, to be applied to another.

    ``fit_true``/``fit_prob`` are ``(n, C)`` (validation). Scoring the returned cuts on
    a held-out split (test) gives honest numbers; scoring them on the split they were
    fitted on is optimistic (the cut was chosen to look good there).

    >>> fit = tuned_thresholds([[1], [0], [1], [0]], [[0.9], [0.8], [0.7], [0.1]])
    >>> fit.tolist()
    [0.4]
    >>> from mlc.metrics import report
    >>> report([[1], [0]], [[0.35], [0.5]], fit)["macro_f1"]  # applied to other data: no longer perfect
    0.0
    """
    return np.array([row["threshold"] for row in best_thresholds(fit_true, fit_prob)], dtype=np.float64)


# the strategies registry lives in its own module (it builds on the functions above); mlc.thresholds.STRATEGIES
from mlc.threshold_strategies import STRATEGIES  # noqa: E402, F401
