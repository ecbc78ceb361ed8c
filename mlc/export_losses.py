"""The exported script's loss: one snippet per registered loss (:data:`LOSS_CODE`), used by :mod:`mlc.export`.

A snippet is ``fn(loss_kwargs) -> code`` that defines the loss on logits and binds
it to ``loss``: a built-in Keras loss where one is exactly equal to mlc's,
otherwise a small registered ``keras.losses.Loss`` subclass with ``get_config``
(a closure would not survive ``load_model``). The code needs only the script's
imports (``keras``, ``ops``); tests execute every snippet and compare its values
and gradients with :mod:`mlc.losses`.

>>> print(LOSS_CODE["bce"]({}), end="")
# Sigmoid binary cross-entropy on logits: every tag is its own yes/no question.
loss = keras.losses.BinaryCrossentropy(from_logits=True)
>>> "class ZLPR(keras.losses.Loss)" in LOSS_CODE["zlpr"]({})
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LOSS_CODE", "REGISTER_PACKAGE"]

#: Package name under which the script registers its custom Keras objects.
REGISTER_PACKAGE = "multilabel_lab"

_REGISTER = f"@keras.saving.register_keras_serializable(package={REGISTER_PACKAGE!r})"

_WEIGHTED_BCE_CLASS = f'''\
{_REGISTER}
class WeightedBCE(keras.losses.Loss):
    """Binary cross-entropy on logits with one weight per tag.

    weighting="tag":      l = -w_c [y log p + (1 - y) log(1 - p)]  (the tag's whole BCE)
    weighting="positive": l = -[w_c y log p + (1 - y) log(1 - p)]  (like pos_weight)
    A registered class with get_config survives model.save / load_model; a closure does not.
    """

    def __init__(self, weights, weighting="tag", **kwargs):
        super().__init__(**kwargs)
        self.tag_weights = [float(w) for w in weights]
        self.weighting = weighting

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        w = ops.convert_to_tensor(self.tag_weights, dtype=logits.dtype)
        if self.weighting == "tag":
            per_tag = w * ops.binary_crossentropy(y_true, logits, from_logits=True)
        else:  # -log p = softplus(-z) and -log(1 - p) = softplus(z), stable for any z
            per_tag = w * y_true * ops.softplus(-logits) + (1 - y_true) * ops.softplus(logits)
        return ops.mean(per_tag, axis=-1)  # mean over tags; Keras then averages over the batch

    def get_config(self):
        return {{**super().get_config(), "weights": self.tag_weights, "weighting": self.weighting}}
'''

_MSE_CLASS = f'''\
{_REGISTER}
class SigmoidMSE(keras.losses.Loss):
    """Squared error of the sigmoid probability: l = (sigmoid(z) - y)^2, for soft targets."""

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        return ops.mean(ops.square(ops.sigmoid(logits) - y_true), axis=-1)
'''

_FOCAL_CLASS = f'''\
# Not keras.losses.BinaryFocalCrossentropy(from_logits=True): its values are the same here,
# but with gamma < 1 its gradient turns NaN once a confident, correct logit saturates the
# sigmoid (|z| > ~17 makes 1 - p_t exactly 0, and d/dx x^gamma is infinite at 0).
{_REGISTER}
class FocalLoss(keras.losses.Loss):
    """Focal loss (Lin et al. 2017): l = alpha_t (1 - p_t)^gamma BCE(y, z).

    p_t = y p + (1 - y)(1 - p) is the probability of the right answer;
    alpha_t = y alpha + (1 - y)(1 - alpha), or 1 when alpha is None.
    """

    def __init__(self, gamma=2.0, alpha=None, **kwargs):
        super().__init__(**kwargs)
        self.gamma = float(gamma)
        self.alpha = None if alpha is None else float(alpha)

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        bce = ops.binary_crossentropy(y_true, logits, from_logits=True)
        one_minus_pt = y_true * ops.sigmoid(-logits) + (1 - y_true) * ops.sigmoid(logits)
        per_tag = ops.power(ops.maximum(one_minus_pt, 1e-30), self.gamma) * bce  # max: finite gradient at 0
        if self.alpha is not None:
            per_tag = per_tag * (y_true * self.alpha + (1 - y_true) * (1 - self.alpha))
        return ops.mean(per_tag, axis=-1)

    def get_config(self):
        return {{**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}}
'''

_ASL_CLASS = f'''\
{_REGISTER}
class AsymmetricLoss(keras.losses.Loss):
    """Asymmetric loss (Ridnik et al. 2021) on logits.

    l = -y (1 - p)^gamma_pos log p - (1 - y) p_m^gamma_neg log(1 - p_m),
    p = sigmoid(z), p_m = max(p - clip, 0): easy negatives (p < clip) count 0.
    """

    def __init__(self, gamma_pos=0.0, gamma_neg=4.0, clip=0.05, **kwargs):
        super().__init__(**kwargs)
        self.gamma_pos, self.gamma_neg, self.clip = float(gamma_pos), float(gamma_neg), float(clip)

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        log_p, log_1mp = ops.log_sigmoid(logits), ops.log_sigmoid(-logits)  # log p, log(1 - p)
        positive = -y_true * ops.exp(self.gamma_pos * log_1mp) * log_p
        if self.clip > 0:
            p_m = ops.maximum(ops.sigmoid(logits) - self.clip, 0.0)
            log_1mpm = ops.log(ops.minimum(ops.sigmoid(-logits) + self.clip, 1.0))
            factor = ops.power(ops.maximum(p_m, 1e-30), self.gamma_neg)  # max: finite gradient at 0
            negative = -(1 - y_true) * factor * log_1mpm
        else:
            negative = -(1 - y_true) * ops.exp(self.gamma_neg * log_p) * log_1mp
        return ops.mean(positive + negative, axis=-1)

    def get_config(self):
        config = super().get_config()
        return {{**config, "gamma_pos": self.gamma_pos, "gamma_neg": self.gamma_neg, "clip": self.clip}}
'''


_BCE_CLASS = f'''\
{_REGISTER}
class PartialBCE(keras.losses.Loss):
    """BCE on logits with label smoothing and unknown targets (-1 in y).

    Targets become y (1 - smoothing) + smoothing / 2. unknown="negative" counts a -1 as 0;
    unknown="ignore" leaves it out of the image's mean over tags (Durand et al. 2019).
    """

    def __init__(self, smoothing=0.0, unknown="negative", **kwargs):
        super().__init__(**kwargs)
        self.smoothing, self.unknown = float(smoothing), unknown

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        known = ops.cast(y_true > -0.5, logits.dtype)
        y = ops.maximum(y_true, 0.0) * (1 - self.smoothing) + self.smoothing / 2
        per_tag = ops.binary_crossentropy(y, logits, from_logits=True)
        if self.unknown == "negative":
            return ops.mean(per_tag, axis=-1)
        return ops.sum(per_tag * known, axis=-1) / ops.maximum(ops.sum(known, axis=-1), 1.0)

    def get_config(self):
        return {{**super().get_config(), "smoothing": self.smoothing, "unknown": self.unknown}}
'''

_SET_HELPERS = """\
def log_weighted(weight, x):
    # log(weight) + x where weight > 0, else a finite stand-in for log 0 (finite gradients)
    present = weight > 0
    return ops.where(present, x + ops.log(ops.where(present, weight, 1.0)), -1e4)


def pos_neg_weights(y_true):
    # a positive counts with weight y, a negative with 1 - y; an unknown target (-1) with 0
    known = y_true > -0.5
    return ops.where(known, y_true, 0.0), ops.where(known, 1.0 - y_true, 0.0)
"""

_ZLPR_CLASS = f'''\
{_SET_HELPERS}

{_REGISTER}
class ZLPR(keras.losses.Loss):
    """ZLPR (Su et al. 2022), per image: log(1 + sum_neg e^z) + log(1 + sum_pos e^-z)."""

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        w_pos, w_neg = pos_neg_weights(y_true)
        zero = ops.zeros_like(logits[..., :1])  # the "1 +": logsumexp with a 0 term
        negatives = ops.logsumexp(ops.concatenate([zero, log_weighted(w_neg, logits)], axis=-1), axis=-1)
        positives = ops.logsumexp(ops.concatenate([zero, log_weighted(w_pos, -logits)], axis=-1), axis=-1)
        return negatives + positives
'''

_TWO_WAY_CLASS = f'''\
{_SET_HELPERS}

{_REGISTER}
class TwoWayLoss(keras.losses.Loss):
    """Two-way multi-label loss (Kobayashi, CVPR 2023) with temperatures t_pos, t_neg.

    m(S) = softplus(t_neg log sum_neg e^(z / t_neg) + t_pos log sum_pos e^(-z / t_pos));
    loss = mean of m over the images with a positive (their tags) + mean of m over the
    tags with a positive (their images in the batch). call returns one value per image
    whose batch mean is the loss.
    """

    def __init__(self, t_pos=4.0, t_neg=1.0, **kwargs):
        super().__init__(**kwargs)
        self.t_pos, self.t_neg = float(t_pos), float(t_neg)

    def margin(self, w_pos, w_neg, logits, axis):
        negative = self.t_neg * ops.logsumexp(log_weighted(w_neg, logits / self.t_neg), axis=axis)
        positive = self.t_pos * ops.logsumexp(log_weighted(w_pos, -logits / self.t_pos), axis=axis)
        return ops.softplus(negative + positive)

    def call(self, y_true, logits):
        y_true = ops.cast(y_true, logits.dtype)
        w_pos, w_neg = pos_neg_weights(y_true)
        has_positive = ops.cast(w_pos > 0, logits.dtype)
        images, tags = ops.max(has_positive, axis=-1), ops.max(has_positive, axis=0)
        per_image = self.margin(w_pos, w_neg, logits, -1) * images
        per_tag = ops.sum(self.margin(w_pos, w_neg, logits, 0) * tags) / ops.maximum(ops.sum(tags), 1.0)
        n_images = ops.cast(ops.shape(logits)[0], logits.dtype)
        return n_images * per_image / ops.maximum(ops.sum(images), 1.0) + per_tag

    def get_config(self):
        return {{**super().get_config(), "t_pos": self.t_pos, "t_neg": self.t_neg}}
'''


def _bce_code(kw: dict) -> str:
    smoothing, unknown = kw.get("smoothing", 0.0), kw.get("unknown", "negative")
    if smoothing == 0 and unknown == "negative":
        return (
            "# Sigmoid binary cross-entropy on logits: every tag is its own yes/no question.\n"
            "loss = keras.losses.BinaryCrossentropy(from_logits=True)\n"
        )
    return f"{_BCE_CLASS}\n\nloss = PartialBCE({_args(smoothing=smoothing, unknown=unknown)})\n"


def _args(**kwargs: Any) -> str:
    """Keyword arguments as Python source; values are validated numbers, lists, strings or None."""
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


#: Loss registry name -> ``fn(loss_kwargs) -> code`` that ends by binding ``loss``.
#: ``loss_kwargs`` is :meth:`RunConfig.loss_kwargs` (the loss' validated parameters).
LOSS_CODE: dict[str, Callable[[dict], str]] = {
    "bce": _bce_code,
    "weighted_bce": lambda kw: (
        f"{_WEIGHTED_BCE_CLASS}\n\n"
        f"loss = WeightedBCE({_args(weights=list(kw['weights']), weighting=kw.get('weighting', 'tag'))})\n"
    ),
    "mse": lambda kw: f"{_MSE_CLASS}\n\nloss = SigmoidMSE()\n",
    "focal": lambda kw: (
        f"{_FOCAL_CLASS}\n\nloss = FocalLoss({_args(gamma=kw.get('gamma', 2.0), alpha=kw.get('alpha'))})\n"
    ),
    "asl": lambda kw: (
        f"{_ASL_CLASS}\n\nloss = AsymmetricLoss("
        f"{_args(gamma_pos=kw.get('gamma_pos', 0.0), gamma_neg=kw.get('gamma_neg', 4.0), clip=kw.get('clip', 0.05))})\n"
    ),
    "zlpr": lambda kw: f"{_ZLPR_CLASS}\n\nloss = ZLPR()\n",
    "two_way": lambda kw: (
        f"{_TWO_WAY_CLASS}\n\nloss = TwoWayLoss({_args(t_pos=kw.get('t_pos', 4.0), t_neg=kw.get('t_neg', 1.0))})\n"
    ),
}
