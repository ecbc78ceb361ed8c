"""Per-tag loss weights derived from tag prevalence (the fraction of samples that carry each tag).

Three rules, each a list of one float per tag:

* :func:`inverse_frequency_weights`: ``w_c ∝ 1 / p_c``, mean 1 (for ``weighting="tag"``);
* :func:`class_balanced_weights`: the effective number of samples (Cui et al. 2019), mean 1;
* :func:`positive_weights`: ``(1 - p_c) / p_c``, not normalised (for ``weighting="positive"``).

They belong inside the loss (``weighted_bce``), not in ``fit(class_weight=...)``,
which is meant for single-label targets. A prevalence of 0 or 1 has no defined
weight and is refused with advice.

>>> inverse_frequency_weights([0.5, 0.25]), positive_weights([0.5, 0.2])
([0.666..., 1.333...], [1.0, 4.0])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mlc.loss_params import as_number

__all__ = ["inverse_frequency_weights", "class_balanced_weights", "positive_weights"]


def _check_prevalence(prevalence: Sequence[float]) -> np.ndarray:
    if isinstance(prevalence, (str, bytes)) or np.ndim(prevalence) != 1 or len(prevalence) == 0:
        raise ValueError(
            "prevalence must be a non-empty 1-D sequence with one fraction per tag, "
            f"got {prevalence!r}; e.g. Y.mean(axis=0) for a multi-hot matrix Y."
        )
    out = []
    for i, v in enumerate(list(prevalence)):
        p = as_number(v)
        if p is None or not math.isfinite(p) or p <= 0 or p >= 1:
            why = (
                "a tag that never occurs"
                if p is not None and p <= 0
                else "a tag that occurs in every sample"
                if p is not None and p >= 1
                else "a prevalence that is not a finite fraction"
            )
            raise ValueError(
                f"prevalence must be strictly between 0 and 1, got {v!r} for tag {i}: "
                f"{why} has no defined weight; drop the tag or smooth the estimate, "
                "e.g. (count + 1) / (n_samples + 2)."
            )
        out.append(p)
    return np.asarray(out, dtype=np.float64)


def _mean_one(raw: np.ndarray) -> list[float]:
    return [float(x) for x in raw / raw.mean()]


def inverse_frequency_weights(prevalence: Sequence[float]) -> list[float]:
    """Per-tag weights ``w_c ∝ 1 / p_c``, normalised to mean 1.

    For ``weighting="tag"``. Rare tags get the largest weight.

    >>> inverse_frequency_weights([0.5, 0.25])
    [0.666..., 1.333...]
    """
    p = _check_prevalence(prevalence)
    return _mean_one(1.0 / p)


def class_balanced_weights(prevalence: Sequence[float], n_samples: int, beta: float = 0.999) -> list[float]:
    """Class-balanced weights from the effective number (Cui et al. 2019).

    ``w_c ∝ (1 - beta) / (1 - beta^{n_c})`` with ``n_c = p_c · n_samples``
    positives, normalised to mean 1. ``beta -> 1`` approaches inverse
    frequency, ``beta = 0`` gives all ones.

    >>> class_balanced_weights([0.5, 0.1], n_samples=100, beta=0.9)
    [0.791..., 1.208...]
    >>> class_balanced_weights([0.5, 0.1], n_samples=100, beta=0.0)
    [1.0, 1.0]
    """
    p = _check_prevalence(prevalence)
    if (
        isinstance(n_samples, (bool, np.bool_))
        or as_number(n_samples) is None
        or not math.isfinite(float(n_samples))
        or float(n_samples) <= 0
    ):
        raise ValueError(f"n_samples must be a positive number of training samples, got {n_samples!r}.")
    b = as_number(beta)
    if b is None or not (0.0 <= b < 1.0):
        raise ValueError(f"beta must be a finite number in [0, 1), got {beta!r}; typical: 0.9, 0.99, 0.999.")
    if b == 0.0:
        return [1.0] * len(p)
    n_c = p * float(n_samples)
    effective = -np.expm1(n_c * math.log(b)) / (1.0 - b)  # (1 - b^n) / (1 - b)
    return _mean_one(1.0 / effective)


def positive_weights(prevalence: Sequence[float]) -> list[float]:
    """Negative/positive ratio ``(1 - p_c) / p_c`` per tag (not normalised).

    Meant for ``weighted_bce(..., weighting="positive")``: positives of a tag
    then weigh as much in total as its negatives.

    >>> positive_weights([0.5, 0.2])
    [1.0, 4.0]
    """
    p = _check_prevalence(prevalence)
    return [float(x) for x in (1.0 - p) / p]
