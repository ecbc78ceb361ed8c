"""Multi-label losses on logits and the registry of them.

Every loss here is a **pure function** ``fn(y_true, logits, **params)`` that
returns *elementwise* losses with the same shape as its inputs, ``(B, C)``
for a batch of ``B`` samples and ``C`` tags, plus a thin, registered
:class:`keras.losses.Loss` wrapper whose ``call`` averages over the tag axis
(shape ``(B,)``); Keras' default reduction then averages over the batch.

All losses take **logits** ``z`` (not probabilities) and are computed with
numerically stable ``keras.ops`` (``log_sigmoid``, ``softplus``, BCE
``from_logits=True``), so logits of +-100 give finite values and gradients.
Notation: ``p = sigmoid(z)``, ``y`` is the (possibly soft) target in [0, 1].

* ``bce``: ``-[y log p + (1-y) log(1-p)]``, optionally label-smoothed and with unknown targets
* ``weighted_bce``: ``w_c bce`` ("tag") or ``-[w_c y log p + (1-y) log(1-p)]``
  ("positive")
* ``mse``: ``(p - y)^2``
* ``focal``: ``alpha_t (1-p_t)^gamma bce``
* ``asl``: ``-y (1-p)^gamma_pos log p - (1-y) p_m^gamma_neg log(1-p_m)``
* ``zlpr``, ``two_way``: losses over a whole image's tags (and a batch's images), in
  :mod:`mlc.set_losses`; their per-image value is spread evenly over the tags.

**Partial labels**: a target of -1 means *unknown*. ``bce`` assumes it negative
(``unknown="negative"``) or masks it out (``unknown="ignore"``); ``zlpr`` and
``two_way`` leave it out of their sums; every other loss refuses it with an
``InvalidArgumentError`` that says so.

The registry is the single source of truth for UI, CLI and configs:

>>> sorted(LOSSES)
['asl', 'bce', 'focal', 'mse', 'two_way', 'weighted_bce', 'zlpr']
>>> loss = get("focal", gamma=1.0)
>>> loss.name, loss.get_config()["gamma"]
('focal', 1.0)
>>> params("focal")["gamma"].default, params("focal")["gamma"].low
(2.0, 0.0)
>>> elementwise("bce", [[1.0, 0.0]], [[0.0, 0.0]]).round(4).tolist()
[[0.6931, 0.6931]]

Each parameter (default, range, help, hint) is declared once in :mod:`mlc.loss_params`, and so
are each built-in loss's description and formula (``LOSS_INFO``): configs and the home page
read them there without importing Keras (this module does);
per-tag weights from prevalence (:func:`inverse_frequency_weights`, ...) come from
:mod:`mlc.class_weights`. Both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mlc import DEFAULT_CLASSES
from mlc import loss_params as declared
from mlc.class_weights import class_balanced_weights, inverse_frequency_weights, positive_weights
from mlc.loss_params import UNKNOWN, WEIGHTINGS, ParamSpec, check_names, concrete_defaults, validate
from mlc.registry import Registry

__all__ = [
    "LOSSES",
    "ParamSpec",
    "register",
    "get",
    "describe",
    "params",
    "defaults",
    "elementwise",
    "bce",
    "weighted_bce",
    "mse",
    "focal",
    "asl",
    "MultiLabelLoss",
    "BCELoss",
    "WeightedBCELoss",
    "MSELoss",
    "FocalLoss",
    "AsymmetricLoss",
    "inverse_frequency_weights",
    "class_balanced_weights",
    "positive_weights",
    "WEIGHTINGS",
]


# ---------------------------------------------------------------- numerical helpers

_TINY = {"float16": 6.2e-5, "bfloat16": 1.2e-38}


def _tiny(dtype) -> float:
    name = keras.backend.standardize_dtype(dtype)
    return _TINY.get(name) or float(np.finfo(name).tiny)


def _pow(base, exponent: float):
    """``base ** exponent`` for ``base`` in [0, 1] with finite gradients.

    ``ops.power`` has an infinite/NaN gradient at ``base == 0``; here the
    base is clamped to the smallest normal float, which changes the value by
    at most ``tiny ** exponent`` (only where the loss itself is ~0).
    """
    if exponent == 0:
        return ops.ones_like(base)
    return ops.exp(exponent * ops.log(ops.maximum(base, _tiny(base.dtype))))


def _prepare(y_true, logits, refuse_unknown: str | None = None):
    """Tensors of one float dtype and matching shapes; ``refuse_unknown`` (a loss' name) asserts no
    target is unknown (-1): ``InvalidArgumentError`` naming the loss, eager or in a compiled step."""
    logits = ops.convert_to_tensor(logits)
    if not keras.backend.is_float_dtype(logits.dtype):
        logits = ops.cast(logits, keras.config.floatx())
    y_true = ops.cast(ops.convert_to_tensor(y_true), logits.dtype)
    ys, zs = tuple(y_true.shape), tuple(logits.shape)
    if len(ys) != len(zs) or any(a is not None and b is not None and a != b for a, b in zip(ys, zs)):
        raise ValueError(
            f"y_true and logits must have the same shape (batch, tags), got "
            f"{ys} and {zs}; pass one multi-hot target per logit."
        )
    if refuse_unknown:
        tf.debugging.assert_greater_equal(
            y_true,
            ops.zeros((), y_true.dtype),
            message=f"loss {refuse_unknown!r} cannot use unknown targets (-1 in y_true); use bce with "
            "unknown='ignore' or 'negative', zlpr or two_way, or fill the unknowns in",
        )
    return y_true, logits


def _check_weight_count(weights: Sequence[float], logits) -> None:
    n_tags = logits.shape[-1] if len(logits.shape) else None
    if n_tags is not None and len(weights) != n_tags:
        raise ValueError(
            f"weights must have one value per tag ({n_tags}), got {len(weights)}; pass a list of length {n_tags}."
        )


# ---------------------------------------------------------------- the registry and the wrappers' base


def _loss_class(name: str, cls: Any) -> type:
    if not (isinstance(cls, type) and issubclass(cls, MultiLabelLoss)):
        raise TypeError(f"@register({name!r}) needs a MultiLabelLoss subclass, got {cls!r}.")
    cls.registry_name = name
    return cls


#: Registry name -> registered, serialisable :class:`keras.losses.Loss` class.
LOSSES: Registry[type[keras.losses.Loss]] = Registry("loss", example="bce", make=_loss_class)


def register(name: str) -> Callable[[type], type]:
    """Class decorator: add a :class:`MultiLabelLoss` subclass to ``LOSSES`` (a name is registered once).

    Sets ``cls.registry_name = name``. Combine it with
    ``@keras.saving.register_keras_serializable(package="mlc")`` so models
    compiled with the loss survive ``model.save`` / ``load_model``.
    """
    return LOSSES.register(name)


class MultiLabelLoss(keras.losses.Loss):
    """Base for the registered wrappers around the pure loss functions.

    Subclasses set ``function`` (the pure elementwise loss), ``param_specs``,
    ``description`` and ``formula``, and an ``__init__`` that names the loss'
    parameters (a loss without parameters needs none) and passes them on as
    keywords with Keras' ``name``, ``reduction`` and ``dtype``. ``call`` returns the mean of the
    elementwise loss over the tag axis, shape ``(B,)``; ``get_config`` holds
    only plain floats/lists/strings, so the loss round-trips through
    ``from_config`` and ``model.save`` / ``keras.models.load_model``.
    """

    registry_name: str = ""
    #: Whether targets may be unknown (-1); a loss without it raises InvalidArgumentError on one.
    accepts_unknown: bool = False
    description: str = ""
    formula: str = ""
    param_specs: dict[str, ParamSpec] = {}
    function: Callable  # set by every subclass: staticmethod(the pure loss function)

    def __init__(self, *, name=None, reduction="sum_over_batch_size", dtype=None, **loss_params):
        super().__init__(name=name or self.registry_name, reduction=reduction, dtype=dtype)
        check_names(self.registry_name, self.param_specs, loss_params)
        self.loss_params = validate(self.param_specs, loss_params)

    def elementwise(self, y_true, logits):
        """Elementwise losses, same shape as ``logits`` (``(B, C)``)."""
        return type(self).function(y_true, logits, **self.loss_params)

    def call(self, y_true, y_pred):
        return ops.mean(self.elementwise(y_true, y_pred), axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({k: list(v) if isinstance(v, list) else v for k, v in self.loss_params.items()})
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.loss_params.items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------- losses: pure function, then its Keras wrapper

# The signatures' defaults are the declared ones (mlc.loss_params), never a second copy.
_WEIGHTING = declared.WEIGHTED_BCE["weighting"].default
_SMOOTHING, _UNKNOWN = declared.BCE["smoothing"].default, declared.BCE["unknown"].default
_GAMMA, _ALPHA = declared.FOCAL["gamma"].default, declared.FOCAL["alpha"].default
_GAMMA_POS, _GAMMA_NEG, _CLIP = (declared.ASL[k].default for k in ("gamma_pos", "gamma_neg", "clip"))


def bce(y_true, logits, smoothing: float = _SMOOTHING, unknown: str = _UNKNOWN):
    """Sigmoid binary cross-entropy on logits, elementwise, shape ``(B, C)``.

    ``l = -[y' log sigmoid(z) + (1 - y') log(1 - sigmoid(z))]``, computed stably
    from logits, with label smoothing ``y' = y (1 - smoothing) + smoothing / 2``
    (Szegedy et al. 2016; as ``label_smoothing`` in Keras' ``BinaryCrossentropy``).

    Partial labels: a target ``y = -1`` is unknown. ``unknown="negative"``
    counts it as ``y = 0``; ``unknown="ignore"`` gives it loss 0 and scales the
    image's known terms by ``C / n_known`` so the mean over tags is the mean over
    the known tags (Durand et al., "Learning a Deep ConvNet for Multi-label
    Classification with Partial Labels", CVPR 2019; an image with no known tag
    contributes 0). Without unknowns both modes are plain BCE.

    >>> keras.ops.convert_to_numpy(bce([[1.0, 0.0]], [[0.0, 2.0]])).round(4)
    array([[0.6931, 2.1269]], dtype=float32)
    >>> keras.ops.convert_to_numpy(bce([[1.0, -1.0]], [[0.0, 2.0]], unknown="ignore")).round(4)
    array([[1.3863, 0.    ]], dtype=float32)
    >>> keras.ops.convert_to_numpy(bce([[1.0]], [[4.0]], smoothing=0.2)).round(4)  # target 0.9
    array([[0.4181]], dtype=float32)
    """
    checked = validate(declared.BCE, {"smoothing": smoothing, "unknown": unknown})
    smoothing, unknown = checked["smoothing"], checked["unknown"]
    y_true, logits = _prepare(y_true, logits)
    known = ops.cast(y_true > UNKNOWN / 2, logits.dtype)  # -1 = unknown; targets are in [0, 1]
    y = ops.maximum(y_true, 0.0)  # unknown -> 0 ("negative"); "ignore" masks it below
    if smoothing:
        y = y * (1.0 - smoothing) + smoothing / 2
    ce = ops.binary_crossentropy(y, logits, from_logits=True)
    if unknown == "negative":
        return ce
    n_tags = ops.cast(ops.shape(logits)[-1], logits.dtype)
    scale = n_tags / ops.maximum(ops.sum(known, axis=-1, keepdims=True), 1.0)
    return ce * known * scale


@register("bce")
@keras.saving.register_keras_serializable(package="mlc")
class BCELoss(MultiLabelLoss):
    """Registered wrapper of :func:`bce`; ``call`` returns shape ``(B,)``.

    >>> float(BCELoss()([[1.0, 0.0]], [[0.0, 0.0]]))
    0.6931...
    >>> BCELoss(smoothing=0.1, unknown="ignore").get_config()["unknown"]
    'ignore'
    """

    # the words and parameters are declared once, in mlc.loss_params (readable without Keras)
    description, formula, param_specs = declared.LOSS_INFO["bce"]
    function = staticmethod(bce)
    accepts_unknown = True

    def __init__(self, smoothing: float = _SMOOTHING, unknown: str = _UNKNOWN, **keras_kwargs):
        super().__init__(smoothing=smoothing, unknown=unknown, **keras_kwargs)


def weighted_bce(y_true, logits, weights, weighting: str = _WEIGHTING):
    """BCE with one weight per tag, elementwise, shape ``(B, C)``.

    * ``weighting="tag"``: ``l = w_c * bce(y, z)`` (positive and negative terms);
    * ``weighting="positive"``: ``l = -[w_c y log p + (1 - y) log(1 - p)]``,
      like ``pos_weight`` in ``tf.nn.weighted_cross_entropy_with_logits``.

    ``weights`` has length ``C``; all ones gives exactly :func:`bce`.

    >>> z = [[0.0, 0.0]]
    >>> keras.ops.convert_to_numpy(weighted_bce([[1.0, 0.0]], z, [2.0, 3.0])).round(4)
    array([[1.3863, 2.0794]], dtype=float32)
    >>> keras.ops.convert_to_numpy(
    ...     weighted_bce([[1.0, 0.0]], z, [2.0, 3.0], weighting="positive")).round(4)
    array([[1.3863, 0.6931]], dtype=float32)
    """
    checked = validate(declared.WEIGHTED_BCE, {"weights": weights, "weighting": weighting})
    weights, weighting = checked["weights"], checked["weighting"]
    y_true, logits = _prepare(y_true, logits, refuse_unknown="weighted_bce")
    _check_weight_count(weights, logits)
    w = ops.convert_to_tensor(weights, dtype=logits.dtype)
    ce = ops.binary_crossentropy(y_true, logits, from_logits=True)
    if weighting == "tag":
        return ce * w
    # -log p = softplus(-z), -log(1 - p) = softplus(z). Tags with w == 1 keep
    # the BCE values bit-for-bit, so all-ones weights give exactly bce.
    weighted = w * y_true * ops.softplus(-logits) + (1.0 - y_true) * ops.softplus(logits)
    is_one = ops.convert_to_tensor([v == 1.0 for v in weights])
    return ops.where(is_one, ce, weighted)


@register("weighted_bce")
@keras.saving.register_keras_serializable(package="mlc")
class WeightedBCELoss(MultiLabelLoss):
    """Registered wrapper of :func:`weighted_bce`; ``call`` returns ``(B,)``.

    >>> loss = WeightedBCELoss([2.0, 1.0], weighting="tag")
    >>> float(loss([[1.0, 0.0]], [[0.0, 0.0]]))  # (2·0.693 + 0.693) / 2
    1.0397...
    """

    # the words and parameters are declared once, in mlc.loss_params (readable without Keras)
    description, formula, param_specs = declared.LOSS_INFO["weighted_bce"]
    function = staticmethod(weighted_bce)

    def __init__(self, weights: Sequence[float], weighting: str = _WEIGHTING, **keras_kwargs):
        super().__init__(weights=weights, weighting=weighting, **keras_kwargs)


def mse(y_true, logits):
    """Squared error of the sigmoid probability, elementwise, shape ``(B, C)``.

    ``l = (sigmoid(z) - y)^2`` with (soft) targets ``y`` in [0, 1].

    >>> keras.ops.convert_to_numpy(mse([[1.0, 0.5]], [[0.0, 0.0]])).round(4)
    array([[0.25, 0.  ]], dtype=float32)
    """
    y_true, logits = _prepare(y_true, logits, refuse_unknown="mse")
    return ops.square(ops.sigmoid(logits) - y_true)


@register("mse")
@keras.saving.register_keras_serializable(package="mlc")
class MSELoss(MultiLabelLoss):
    """Registered wrapper of :func:`mse`; ``call`` returns ``(B,)``.

    >>> loss = MSELoss()
    >>> round(float(loss([[0.8, 0.0]], [[0.0, 0.0]])), 4)  # a soft target 0.8: ((0.5 - 0.8)² + 0.5²) / 2
    0.17
    """

    # the words and parameters are declared once, in mlc.loss_params (readable without Keras)
    description, formula, param_specs = declared.LOSS_INFO["mse"]
    function = staticmethod(mse)


def focal(y_true, logits, gamma: float = _GAMMA, alpha: float | None = _ALPHA):
    """Binary focal loss on logits (Lin et al. 2017), elementwise, ``(B, C)``.

    ``l = alpha_t (1 - p_t)^gamma bce(y, z)`` with ``p = sigmoid(z)``,
    ``p_t = y p + (1 - y)(1 - p)`` and ``alpha_t = y alpha + (1 - y)(1 - alpha)``
    (``alpha_t = 1`` when ``alpha is None``). Matches
    ``keras.losses.BinaryFocalCrossentropy(gamma, from_logits=True)``
    (``apply_class_balancing=True`` when ``alpha`` is given).

    >>> keras.ops.convert_to_numpy(focal([[1.0, 0.0]], [[0.0, 2.0]])).round(4)
    array([[0.1733, 1.6501]], dtype=float32)
    """
    checked = validate(declared.FOCAL, {"gamma": gamma, "alpha": alpha})
    gamma, alpha = checked["gamma"], checked["alpha"]
    y_true, logits = _prepare(y_true, logits, refuse_unknown="focal")
    ce = ops.binary_crossentropy(y_true, logits, from_logits=True)
    one_minus_pt = y_true * ops.sigmoid(-logits) + (1.0 - y_true) * ops.sigmoid(logits)
    loss = _pow(one_minus_pt, gamma) * ce
    if alpha is not None:
        loss = loss * (y_true * alpha + (1.0 - y_true) * (1.0 - alpha))
    return loss


@register("focal")
@keras.saving.register_keras_serializable(package="mlc")
class FocalLoss(MultiLabelLoss):
    """Registered wrapper of :func:`focal`; ``call`` returns ``(B,)``.

    >>> FocalLoss(gamma=1.0, alpha=0.25).get_config()["alpha"]
    0.25
    """

    # the words and parameters are declared once, in mlc.loss_params (readable without Keras)
    description, formula, param_specs = declared.LOSS_INFO["focal"]
    function = staticmethod(focal)

    def __init__(self, gamma: float = _GAMMA, alpha: float | None = _ALPHA, **keras_kwargs):
        super().__init__(gamma=gamma, alpha=alpha, **keras_kwargs)


def asl(y_true, logits, gamma_pos: float = _GAMMA_POS, gamma_neg: float = _GAMMA_NEG, clip: float = _CLIP):
    """Asymmetric loss (Ridnik et al. 2021), elementwise, shape ``(B, C)``.

    ``l = -y (1 - p)^gamma_pos log p - (1 - y) p_m^gamma_neg log(1 - p_m)``
    with ``p = sigmoid(z)`` and the shifted ``p_m = max(p - clip, 0)``, which
    discards easy negatives (``p < clip``) entirely. Computed from logits:
    ``log p = log_sigmoid(z)``, ``1 - p_m = min(sigmoid(-z) + clip, 1)``.
    With ``gamma_pos = gamma_neg = clip = 0`` it is :func:`bce`.

    >>> keras.ops.convert_to_numpy(asl([[1.0, 0.0, 0.0]], [[0.0, 0.0, -4.0]])).round(4)
    array([[0.6931, 0.0245, 0.    ]], dtype=float32)
    """
    checked = validate(declared.ASL, {"gamma_pos": gamma_pos, "gamma_neg": gamma_neg, "clip": clip})
    gamma_pos, gamma_neg, clip = (checked["gamma_pos"], checked["gamma_neg"], checked["clip"])
    y_true, logits = _prepare(y_true, logits, refuse_unknown="asl")
    log_p = ops.log_sigmoid(logits)
    pos_factor = ops.exp(gamma_pos * ops.log_sigmoid(-logits)) if gamma_pos else 1.0
    if clip == 0:
        log_one_minus_pm = ops.log_sigmoid(-logits)
        neg_factor = ops.exp(gamma_neg * log_p) if gamma_neg else 1.0
    else:
        log_one_minus_pm = ops.log(ops.minimum(ops.sigmoid(-logits) + clip, 1.0))
        p_m = ops.maximum(ops.sigmoid(logits) - clip, 0.0)
        neg_factor = _pow(p_m, gamma_neg)
    return -y_true * pos_factor * log_p - (1.0 - y_true) * neg_factor * log_one_minus_pm


@register("asl")
@keras.saving.register_keras_serializable(package="mlc")
class AsymmetricLoss(MultiLabelLoss):
    """Registered wrapper of :func:`asl`; ``call`` returns ``(B,)``.

    >>> AsymmetricLoss().get_config()["gamma_neg"]
    4.0
    """

    # the words and parameters are declared once, in mlc.loss_params (readable without Keras)
    description, formula, param_specs = declared.LOSS_INFO["asl"]
    function = staticmethod(asl)

    def __init__(
        self, gamma_pos: float = _GAMMA_POS, gamma_neg: float = _GAMMA_NEG, clip: float = _CLIP, **keras_kwargs
    ):
        super().__init__(gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip, **keras_kwargs)


def params(name: str) -> dict[str, ParamSpec]:
    """Parameter specs of a registered loss: ``{param: ParamSpec}``.

    >>> {k: (s.default, s.low, s.high) for k, s in params("asl").items()}
    {'gamma_pos': (0.0, 0.0, inf), 'gamma_neg': (4.0, 0.0, inf), 'clip': (0.05, 0.0, 1.0)}
    >>> params("mse")
    {}
    """
    return dict(LOSSES.lookup(name).param_specs)


def defaults(name: str, n_tags: int = len(DEFAULT_CLASSES)) -> dict[str, Any]:
    """Concrete default keyword arguments for :func:`get`.

    Per-tag parameters are expanded to ``n_tags`` copies of their default.

    >>> defaults("weighted_bce", n_tags=3)
    {'weights': [1.0, 1.0, 1.0], 'weighting': 'tag'}
    """
    return concrete_defaults(params(name), n_tags)


def get(name: str, /, **loss_params) -> MultiLabelLoss:
    """Instantiate the registered loss ``name`` with validated parameters.

    >>> get("asl", clip=0.1)
    AsymmetricLoss(gamma_pos=0.0, gamma_neg=4.0, clip=0.1)
    >>> get("foo")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'foo'; choose one of: bce, weighted_bce, mse, focal, asl, zlpr, two_way
    """
    cls = LOSSES.lookup(name)
    check_names(name, cls.param_specs, loss_params)
    return cls(**loss_params)


def describe(name: str) -> str:
    """One-line explanation plus formula of a registered loss, for the UI.

    >>> describe("mse")
    'Squared error between the sigmoid probability and a (soft) target in [0, 1]. Formula: l = (σ(z) - y)²'
    """
    cls = LOSSES.lookup(name)
    return f"{cls.description} Formula: {cls.formula}"


def elementwise(name: str, y_true, logits, **loss_params) -> np.ndarray:
    """Per-element losses of ``name`` from NumPy-like inputs, as float64.

    ``y_true`` (targets in [0, 1], or -1 for unknown) and ``logits`` (finite) must
    have the same shape, ``(B, C)`` or ``(C,)``; the result has that shape.

    >>> elementwise("focal", [[1, 0]], [[0.0, 2.0]], gamma=0.0).round(4).tolist()
    [[0.6931, 2.1269]]
    """
    loss = get(name, **loss_params)
    y = np.asarray(y_true, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    if y.shape != z.shape:
        raise ValueError(f"y_true and logits must have the same shape, got {y.shape} and {z.shape}.")
    known = y[y != UNKNOWN]
    if not np.all(np.isfinite(known)) or known.min(initial=0.0) < 0 or known.max(initial=0.0) > 1:
        raise ValueError(
            f"y_true must contain targets in [0, 1] (1 = tag present) or -1 (unknown), got values in "
            f"[{y.min():g}, {y.max():g}]."
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite; replace inf/NaN, e.g. with np.clip(z, -100, 100).")
    return np.asarray(ops.convert_to_numpy(loss.elementwise(y, z)), dtype=np.float64)


# zlpr and two_way live in mlc.set_losses; importing it registers them (after the five above). Their
# names (zlpr, two_way, ZLPRLoss, TwoWayLoss) resolve lazily, so importing mlc.set_losses first works too.
from mlc import set_losses as _set_losses  # noqa: E402


def __getattr__(name: str):
    if name in _set_losses.__all__:
        return getattr(_set_losses, name)
    raise AttributeError(f"module 'mlc.losses' has no attribute {name!r}")
