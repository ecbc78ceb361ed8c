"""The output layer's starting bias: each tag's prior log-odds, not 0.

A freshly built model's ``logits`` layer has bias 0: every tag starts at
probability 0.5, and the first hundred steps go into pushing the rare tags
down to their base rate. Starting the bias at the training split's log-odds,

    b_c = log(p_c / (1 - p_c)),   p_c = mean of tag c's known targets (clipped to [PRIOR_CLIP, 1 - PRIOR_CLIP]),

makes the untrained model predict each tag's prevalence, so the gradient
goes into features from the first step. This is the "prior" initialisation of
Lin et al., *Focal Loss for Dense Object Detection* (ICCV 2017, §4.1: bias
``-log((1 - π) / π)`` for rare foreground classes), with π measured per tag.
On the default scenes it cut the median samples to validation mAP 0.95 from
about 25k to about 20k (``python -m mlc bench --only ttq``; README).

Unknown targets (:data:`mlc.loss_params.UNKNOWN`, -1: the missing-label
modes) are left out of p_c; a tag with none known starts at 0.

>>> import numpy as np
>>> y = np.array([[1, 0], [0, 0], [0, 1], [0, 1]], np.float32)
>>> prior_logits(y).round(3).tolist()  # log(1/3), log(1)
[-1.099, 0.0]
>>> prior_logits(np.array([[-1.0, 1.0], [-1.0, 1.0]])).tolist()  # no known target; always present (clipped)
[0.0, 4.595119953155518]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from mlc.switches import Switch

#: Prevalences are clipped to [PRIOR_CLIP, 1 - PRIOR_CLIP]: a tag never (or always) present starts at about ∓4.6.
PRIOR_CLIP = 0.01
#: Name of the layer whose bias is set (every model in :mod:`mlc.models` ends in it).
LOGITS_LAYER = "logits"

_PRIOR = Switch("mlc_logit_prior")


def prior_logits(y) -> np.ndarray:
    """(C,) float32 log-odds of each tag's mean known target in ``y`` (N, C); unknown (-1) entries left out."""
    y = np.asarray(y, np.float64)
    if y.ndim != 2:
        raise ValueError(f"targets must be a 2-d array (samples, tags), got shape {y.shape}")
    known = y >= 0
    counts = known.sum(axis=0)
    p = np.where(known, y, 0.0).sum(axis=0) / np.maximum(counts, 1)
    p = np.clip(p, PRIOR_CLIP, 1.0 - PRIOR_CLIP)
    return np.where(counts > 0, np.log(p / (1.0 - p)), 0.0).astype(np.float32)


def set_prior_bias(model, y) -> bool:
    """Set ``model``'s ``logits`` layer bias to :func:`prior_logits` of ``y``; False (nothing set) when switched
    off by :func:`zero_bias` or when the model has no such layer with a bias of the right size."""
    if not _PRIOR.is_on():
        return False
    try:
        layer = model.get_layer(LOGITS_LAYER)
    except ValueError:
        return False
    bias = getattr(layer, "bias", None)
    prior = prior_logits(y)
    if bias is None or tuple(bias.shape) != prior.shape:
        return False
    bias.assign(prior)
    return True


@contextlib.contextmanager
def zero_bias() -> Iterator[None]:
    """Within this context :func:`set_prior_bias` leaves the bias at 0 (Keras' default): the baseline the
    time-to-quality benchmark compares against (the default run before 2026-12-03).

    >>> with zero_bias():
    ...     set_prior_bias(None, [[1.0]])
    False
    """
    with _PRIOR.off():
        yield
