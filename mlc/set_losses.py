"""Losses over a whole image's tags (and a batch's images): ``zlpr`` and ``two_way``.

Unlike the per-tag losses of :mod:`mlc.losses`, these compare logits with each
other, so they have no per-element terms. Their pure functions keep the
registry's contract (``fn(y_true, logits, **params)`` returns shape ``(B, C)``
and the wrapper's ``call`` is the mean over tags) by spreading each image's
value evenly over its ``C`` tags: every element of a row holds the image's loss.

Targets ``y`` weight the sums: a positive counts with weight ``y`` and a
negative with ``1 - y``, so hard 0/1 targets give the papers' formulas exactly
and soft targets interpolate. An unknown target (``-1``, partial labels) has
weight 0 in both sums: these losses support the mask.

Importing :mod:`mlc.losses` imports this module, which registers both:

>>> from mlc import losses
>>> losses.elementwise("zlpr", [[1.0, 0.0]], [[0.0, 0.0]]).round(4).tolist()  # 2 log 2 in both elements
[[1.3863, 1.3863]]
"""

from __future__ import annotations

import keras
from keras import ops

from mlc import loss_params as declared
from mlc.loss_params import UNKNOWN, validate
from mlc.losses import MultiLabelLoss, _prepare, register

__all__ = ["zlpr", "two_way", "ZLPRLoss", "TwoWayLoss"]

# log(0) of an empty sum, finite so that gradients stay finite: exp(_EMPTY - z) is 0 for any sane logit.
_EMPTY = -1e4
_T_POS, _T_NEG = declared.TWO_WAY["t_pos"].default, declared.TWO_WAY["t_neg"].default


def _log_weighted(weight, x):
    """``log(weight) + x`` where ``weight > 0``, else the finite stand-in for ``log 0``."""
    present = weight > 0
    return ops.where(present, x + ops.log(ops.where(present, weight, 1.0)), _EMPTY)


def _weights(y_true):
    """Positive and negative weights ``(y, 1 - y)``; both 0 for an unknown target (-1)."""
    known = y_true > UNKNOWN / 2
    return ops.where(known, y_true, 0.0), ops.where(known, 1.0 - y_true, 0.0)


def _spread(per_image, logits):
    """Each image's value in every one of its tags: ``(B,)`` -> ``(B, C)``."""
    return ops.expand_dims(per_image, -1) * ops.ones_like(logits)


def zlpr(y_true, logits):
    """ZLPR, zero-bounded log-sum-exp & pairwise rank-based loss (Su et al. 2022), spread over ``(B, C)``.

    Per image ``l = log(1 + Σ_{neg} e^{z_j}) + log(1 + Σ_{pos} e^{-z_i})``: every
    positive logit is pushed above 0 and every negative below it, jointly (J. Su,
    M. Zhu, A. Murtadha, S. Pan, B. Wen, Y. Liu, "ZLPR: A Novel Loss for Multi-label
    Classification", arXiv:2208.02955, 2022). Computed as ``logsumexp`` with a 0
    term. With one tag it is :func:`mlc.losses.bce`.

    >>> keras.ops.convert_to_numpy(zlpr([[1.0, 0.0, -1.0]], [[2.0, -1.0, 5.0]])).round(4)  # -1: unknown
    array([[0.4402, 0.4402, 0.4402]], dtype=float32)
    """
    y_true, logits = _prepare(y_true, logits)
    w_pos, w_neg = _weights(y_true)
    zero = ops.zeros_like(logits[..., :1])
    negatives = ops.concatenate([zero, _log_weighted(w_neg, logits)], axis=-1)
    positives = ops.concatenate([zero, _log_weighted(w_pos, -logits)], axis=-1)
    per_image = ops.logsumexp(negatives, axis=-1) + ops.logsumexp(positives, axis=-1)
    return _spread(per_image, logits)


@register("zlpr")
@keras.saving.register_keras_serializable(package="mlc")
class ZLPRLoss(MultiLabelLoss):
    """Registered wrapper of :func:`zlpr`; ``call`` returns the per-image loss, ``(B,)``.

    >>> round(float(ZLPRLoss()([[1.0, 0.0]], [[0.0, 0.0]])), 4)  # 2 log 2
    1.3863
    """

    description, formula, param_specs = declared.LOSS_INFO["zlpr"]
    function = staticmethod(zlpr)
    accepts_unknown = True


def _margin(w_pos, w_neg, logits, axis, t_pos, t_neg):
    """``softplus(T_n log Σ_neg e^{z/T_n} + T_p log Σ_pos e^{-z/T_p})`` along ``axis``."""
    hardest_negative = t_neg * ops.logsumexp(_log_weighted(w_neg, logits / t_neg), axis=axis)
    hardest_positive = t_pos * ops.logsumexp(_log_weighted(w_pos, -logits / t_pos), axis=axis)
    return ops.softplus(hardest_negative + hardest_positive)


def _mean_where(values, mask):
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


def two_way(y_true, logits, t_pos: float = _T_POS, t_neg: float = _T_NEG):
    """Two-way multi-label loss (Kobayashi, CVPR 2023), spread over ``(B, C)``.

    With ``m(S) = softplus(T_n log Σ_{neg∈S} e^{z/T_n} + T_p log Σ_{pos∈S} e^{-z/T_p})``,
    a smooth "hardest negative minus hardest positive" margin,

    ``L = mean_{images with a positive} m(image's tags) + mean_{tags with a positive} m(tag's images)``,

    the sample-wise term (tags of one image) plus the class-wise term (images
    of one tag in the batch), T. Kobayashi, "Two-way Multi-Label Loss", CVPR 2023
    (paper defaults ``T_p = 4``, ``T_n = 1``). The class-wise term couples the
    images of a batch: image ``b`` gets ``B·m_b/n_images + class term`` (``m_b`` = 0
    without a positive) so the batch mean is ``L``. With no negatives anywhere
    (one tag alone, say) there is nothing to rank against and the loss is 0.

    >>> keras.ops.convert_to_numpy(two_way([[1.0, 0.0]], [[0.0, 0.0]])).round(4)  # softplus(0): log 2
    array([[0.6931, 0.6931]], dtype=float32)
    """
    checked = validate(declared.TWO_WAY, {"t_pos": t_pos, "t_neg": t_neg})
    t_pos, t_neg = checked["t_pos"], checked["t_neg"]
    y_true, logits = _prepare(y_true, logits)
    if len(logits.shape) == 1:  # one image's tags
        return two_way(y_true[None], logits[None], t_pos, t_neg)[0]
    w_pos, w_neg = _weights(y_true)
    has_positive = ops.cast(w_pos > 0, logits.dtype)
    image_mask = ops.max(has_positive, axis=-1)  # (B,)
    tag_mask = ops.max(has_positive, axis=0)  # (C,)
    per_image = _margin(w_pos, w_neg, logits, -1, t_pos, t_neg) * image_mask
    per_tag = _margin(w_pos, w_neg, logits, 0, t_pos, t_neg)
    n_images = ops.cast(ops.shape(logits)[0], logits.dtype)
    sample_share = n_images * per_image / ops.maximum(ops.sum(image_mask), 1.0)
    return _spread(sample_share + _mean_where(per_tag, tag_mask), logits)


@register("two_way")
@keras.saving.register_keras_serializable(package="mlc")
class TwoWayLoss(MultiLabelLoss):
    """Registered wrapper of :func:`two_way`; ``call`` returns ``(B,)`` whose batch mean is the loss.

    >>> TwoWayLoss(t_pos=2.0).get_config()["t_pos"]
    2.0
    """

    description, formula, param_specs = declared.LOSS_INFO["two_way"]
    function = staticmethod(two_way)
    accepts_unknown = True

    def __init__(self, t_pos: float = _T_POS, t_neg: float = _T_NEG, **keras_kwargs):
        super().__init__(t_pos=t_pos, t_neg=t_neg, **keras_kwargs)
