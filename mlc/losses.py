"""Multi-label losses on logits, a registry of them, and per-tag weight helpers.

Every loss here is a **pure function** ``fn(y_true, logits, **params)`` that
returns *elementwise* losses with the same shape as its inputs, ``(B, C)``
for a batch of ``B`` samples and ``C`` tags, plus a thin, registered
:class:`keras.losses.Loss` wrapper whose ``call`` averages over the tag axis
(shape ``(B,)``); Keras' default reduction then averages over the batch.

All losses take **logits** ``z`` (not probabilities) and are computed with
numerically stable ``keras.ops`` (``log_sigmoid``, ``softplus``, BCE
``from_logits=True``), so logits of +-100 give finite values and gradients.
Notation: ``p = sigmoid(z)``, ``y`` is the (possibly soft) target in [0, 1].

* ``bce``: ``-[y log p + (1-y) log(1-p)]``
* ``weighted_bce``: ``w_c bce`` ("tag") or ``-[w_c y log p + (1-y) log(1-p)]``
  ("positive")
* ``mse``: ``(p - y)^2``
* ``focal``: ``alpha_t (1-p_t)^gamma bce``
* ``asl``: ``-y (1-p)^gamma_pos log p - (1-y) p_m^gamma_neg log(1-p_m)``

The registry is the single source of truth for UI, CLI and configs:

>>> sorted(LOSSES)
['asl', 'bce', 'focal', 'mse', 'weighted_bce']
>>> loss = get("focal", gamma=1.0)
>>> loss.name, loss.get_config()["gamma"]
('focal', 1.0)
>>> params("focal")["gamma"].default, params("focal")["gamma"].low
(2.0, 0.0)
>>> elementwise("bce", [[1.0, 0.0]], [[0.0, 0.0]]).round(4).tolist()
[[0.6931, 0.6931]]

Per-tag weights are derived from tag prevalence (fraction of samples that
carry the tag) with :func:`inverse_frequency_weights`,
:func:`class_balanced_weights` and :func:`positive_weights`; they belong inside
the loss (``weighted_bce``), not in ``fit(class_weight=...)``, which is meant
for single-label targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from mlc import DEFAULT_CLASSES

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
]

WEIGHTINGS: tuple[str, ...] = ("tag", "positive")


# --------------------------------------------------------------------------
# Parameter specifications and validation
# --------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return "inf" if x == math.inf else f"{x:g}"


@dataclass(frozen=True)
class ParamSpec:
    """Declarative description of one loss parameter.

    ``default``, ``low`` and ``high`` come first so the spec reads like the
    triple ``(default, low, high)``. ``kind`` is one of

    * ``"float"``: one number in the allowed range;
    * ``"per_tag"``: a sequence with one number per tag, each in the range;
      ``default`` is the value for each tag and the parameter is ``required``
      (the loss cannot know the number of tags); see :func:`defaults`;
    * ``"choice"``: one of ``choices`` (``low``/``high`` are ``None``).

    ``optional=True`` means ``None`` is also accepted (and means "off").
    ``high_inclusive=False`` makes the range half-open, ``[low, high)``.
    ``suggested_high`` is a sensible slider end when ``high`` is infinite.

    >>> spec = ParamSpec(0.05, 0.0, 1.0, high_inclusive=False)
    >>> spec.range_text()
    'in [0, 1)'
    >>> spec.check(1.0, "clip")
    Traceback (most recent call last):
    ...
    ValueError: clip must be a finite number in [0, 1), got 1.0.
    """

    default: Any
    low: float | None = None
    high: float | None = None
    kind: str = "float"
    choices: tuple[str, ...] = ()
    high_inclusive: bool = True
    optional: bool = False
    required: bool = False
    suggested_high: float | None = None
    help: str = ""

    def range_text(self) -> str:
        """Human-readable allowed range, e.g. ``'>= 0'`` or ``'in [0, 1)'``."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.high == math.inf:
            return f">= {_fmt(self.low)}"
        close = "]" if self.high_inclusive else ")"
        return f"in [{_fmt(self.low)}, {_fmt(self.high)}{close}"

    def _in_range(self, x: float) -> bool:
        if not math.isfinite(x) or x < self.low:
            return False
        return x <= self.high if self.high_inclusive else x < self.high

    def check(self, value: Any, name: str, hint: str = "") -> Any:
        """Return ``value`` normalised to plain Python types or raise ValueError.

        ``name`` is the parameter name used in the message; ``hint`` is
        appended as advice on how to fix it.
        """
        tail = f" {hint}" if hint else ""
        if self.optional and value is None:
            return None
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{name} must be {self.range_text()}, got {value!r}.{tail}")
            return value
        if self.kind == "per_tag":
            return self._check_per_tag(value, name, tail)
        prefix = "None or " if self.optional else ""
        number = _as_number(value)
        if number is None or not self._in_range(number):
            raise ValueError(f"{name} must be {prefix}a finite number {self.range_text()}, got {value!r}.{tail}")
        return number

    def _check_per_tag(self, value: Any, name: str, tail: str) -> list[float]:
        if isinstance(value, (str, bytes)) or np.ndim(value) != 1:
            raise ValueError(
                f"{name} must be a 1-D sequence with one number per tag, got "
                f"{value!r}; e.g. {name}=[1.0, 2.0, 1.0, 1.0, 1.0].{tail}"
            )
        out = []
        for i, v in enumerate(list(value)):
            number = _as_number(v)
            if number is None or not self._in_range(number):
                raise ValueError(f"{name} must be finite and {self.range_text()}, got {v!r} for tag {i}.{tail}")
            out.append(number)
        if not out:
            raise ValueError(f"{name} must have one value per tag, got an empty sequence.{tail}")
        return out


def _as_number(value: Any) -> float | None:
    """``float(value)`` for real numbers (not bools/strings), else ``None``."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    if np.ndim(value) != 0:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def _validate(loss: str, specs: dict[str, ParamSpec], values: dict) -> dict:
    """Check ``values`` against ``specs``; return normalised plain values."""
    return {key: specs[key].check(value, key, _HINTS.get((loss, key), "")) for key, value in values.items()}


_HINTS: dict[tuple[str, str], str] = {
    ("weighted_bce", "weights"): ("Use e.g. inverse_frequency_weights(prevalence); 1.0 means unweighted."),
    ("weighted_bce", "weighting"): (
        "'tag' scales the whole BCE of a tag, 'positive' only its y=1 term (like pos_weight)."
    ),
    ("focal", "gamma"): "Use 0 for plain BCE or a focusing value such as 2.0.",
    ("focal", "alpha"): (
        "alpha is the weight of positives (negatives get 1 - alpha); use None to switch balancing off."
    ),
    ("asl", "gamma_pos"): "Typical: 0.0 (no focusing on positives).",
    ("asl", "gamma_neg"): "Typical: 4.0; 0.0 switches negative focusing off.",
    ("asl", "clip"): "Typical: 0.05; 0.0 switches the probability shift off.",
}


# --------------------------------------------------------------------------
# Numerical helpers
# --------------------------------------------------------------------------

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


def _prepare(y_true, logits):
    """Tensors of one float dtype and matching shapes."""
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
    return y_true, logits


def _check_weight_count(weights: Sequence[float], logits) -> None:
    n_tags = logits.shape[-1] if len(logits.shape) else None
    if n_tags is not None and len(weights) != n_tags:
        raise ValueError(
            f"weights must have one value per tag ({n_tags}), got {len(weights)}; pass a list of length {n_tags}."
        )


# --------------------------------------------------------------------------
# Pure elementwise loss functions
# --------------------------------------------------------------------------

_BCE_SPECS: dict[str, ParamSpec] = {}
_WEIGHTED_BCE_SPECS = {
    "weights": ParamSpec(
        1.0,
        0.0,
        math.inf,
        kind="per_tag",
        required=True,
        suggested_high=10.0,
        help="One non-negative weight per tag.",
    ),
    "weighting": ParamSpec(
        "tag",
        kind="choice",
        choices=WEIGHTINGS,
        help="'tag': weight scales the whole term; 'positive': only y=1 terms.",
    ),
}
_MSE_SPECS: dict[str, ParamSpec] = {}
_FOCAL_SPECS = {
    "gamma": ParamSpec(
        2.0,
        0.0,
        math.inf,
        suggested_high=5.0,
        help="Focusing strength; 0 gives (alpha-weighted) BCE.",
    ),
    "alpha": ParamSpec(
        None,
        0.0,
        1.0,
        optional=True,
        help="Weight of positives (negatives get 1 - alpha); None = off.",
    ),
}
_ASL_SPECS = {
    "gamma_pos": ParamSpec(
        0.0,
        0.0,
        math.inf,
        suggested_high=5.0,
        help="Focusing on positives, (1 - p)^gamma_pos.",
    ),
    "gamma_neg": ParamSpec(
        4.0,
        0.0,
        math.inf,
        suggested_high=8.0,
        help="Focusing on negatives, p_m^gamma_neg.",
    ),
    "clip": ParamSpec(
        0.05,
        0.0,
        1.0,
        high_inclusive=False,
        help="Probability shift for negatives: p_m = max(p - clip, 0).",
    ),
}


def bce(y_true, logits):
    """Sigmoid binary cross-entropy on logits, elementwise.

    ``l = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]``, computed stably
    from logits. Inputs and output have shape ``(B, C)``.

    >>> keras.ops.convert_to_numpy(bce([[1.0, 0.0]], [[0.0, 2.0]])).round(4)
    array([[0.6931, 2.1269]], dtype=float32)
    """
    y_true, logits = _prepare(y_true, logits)
    return ops.binary_crossentropy(y_true, logits, from_logits=True)


def weighted_bce(y_true, logits, weights, weighting: str = "tag"):
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
    checked = _validate(
        "weighted_bce",
        _WEIGHTED_BCE_SPECS,
        {"weights": weights, "weighting": weighting},
    )
    weights, weighting = checked["weights"], checked["weighting"]
    y_true, logits = _prepare(y_true, logits)
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


def mse(y_true, logits):
    """Squared error of the sigmoid probability, elementwise, shape ``(B, C)``.

    ``l = (sigmoid(z) - y)^2`` with (soft) targets ``y`` in [0, 1].

    >>> keras.ops.convert_to_numpy(mse([[1.0, 0.5]], [[0.0, 0.0]])).round(4)
    array([[0.25, 0.  ]], dtype=float32)
    """
    y_true, logits = _prepare(y_true, logits)
    return ops.square(ops.sigmoid(logits) - y_true)


def focal(y_true, logits, gamma: float = 2.0, alpha: float | None = None):
    """Binary focal loss on logits (Lin et al. 2017), elementwise, ``(B, C)``.

    ``l = alpha_t (1 - p_t)^gamma bce(y, z)`` with ``p = sigmoid(z)``,
    ``p_t = y p + (1 - y)(1 - p)`` and ``alpha_t = y alpha + (1 - y)(1 - alpha)``
    (``alpha_t = 1`` when ``alpha is None``). Matches
    ``keras.losses.BinaryFocalCrossentropy(gamma, from_logits=True)``
    (``apply_class_balancing=True`` when ``alpha`` is given).

    >>> keras.ops.convert_to_numpy(focal([[1.0, 0.0]], [[0.0, 2.0]])).round(4)
    array([[0.1733, 1.6501]], dtype=float32)
    """
    checked = _validate("focal", _FOCAL_SPECS, {"gamma": gamma, "alpha": alpha})
    gamma, alpha = checked["gamma"], checked["alpha"]
    y_true, logits = _prepare(y_true, logits)
    ce = ops.binary_crossentropy(y_true, logits, from_logits=True)
    one_minus_pt = y_true * ops.sigmoid(-logits) + (1.0 - y_true) * ops.sigmoid(logits)
    loss = _pow(one_minus_pt, gamma) * ce
    if alpha is not None:
        loss = loss * (y_true * alpha + (1.0 - y_true) * (1.0 - alpha))
    return loss


def asl(y_true, logits, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05):
    """Asymmetric loss (Ridnik et al. 2021), elementwise, shape ``(B, C)``.

    ``l = -y (1 - p)^gamma_pos log p - (1 - y) p_m^gamma_neg log(1 - p_m)``
    with ``p = sigmoid(z)`` and the shifted ``p_m = max(p - clip, 0)``, which
    discards easy negatives (``p < clip``) entirely. Computed from logits:
    ``log p = log_sigmoid(z)``, ``1 - p_m = min(sigmoid(-z) + clip, 1)``.
    With ``gamma_pos = gamma_neg = clip = 0`` it is :func:`bce`.

    >>> keras.ops.convert_to_numpy(asl([[1.0, 0.0, 0.0]], [[0.0, 0.0, -4.0]])).round(4)
    array([[0.6931, 0.0245, 0.    ]], dtype=float32)
    """
    checked = _validate(
        "asl",
        _ASL_SPECS,
        {"gamma_pos": gamma_pos, "gamma_neg": gamma_neg, "clip": clip},
    )
    gamma_pos, gamma_neg, clip = (checked["gamma_pos"], checked["gamma_neg"], checked["clip"])
    y_true, logits = _prepare(y_true, logits)
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


# --------------------------------------------------------------------------
# Registry and Keras wrappers
# --------------------------------------------------------------------------

#: Registry name -> registered, serialisable :class:`keras.losses.Loss` class.
LOSSES: dict[str, type[keras.losses.Loss]] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: add a :class:`MultiLabelLoss` subclass to ``LOSSES``.

    Sets ``cls.registry_name = name``. Combine it with
    ``@keras.saving.register_keras_serializable(package="mlc")`` so models
    compiled with the loss survive ``model.save`` / ``load_model``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"loss name must be an identifier-like string such as 'bce', got {name!r}.")

    def decorator(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, MultiLabelLoss)):
            raise TypeError(f"@register({name!r}) needs a MultiLabelLoss subclass, got {cls!r}.")
        if name in LOSSES and LOSSES[name] is not cls:
            raise ValueError(
                f"loss name {name!r} is already registered to {LOSSES[name].__name__}; choose another name."
            )
        cls.registry_name = name
        LOSSES[name] = cls
        return cls

    return decorator


class MultiLabelLoss(keras.losses.Loss):
    """Base for the registered wrappers around the pure loss functions.

    Subclasses set ``function`` (the pure elementwise loss), ``param_specs``,
    ``description`` and ``formula``. ``call`` returns the mean of the
    elementwise loss over the tag axis, shape ``(B,)``; ``get_config`` holds
    only plain floats/lists/strings, so the loss round-trips through
    ``from_config`` and ``model.save`` / ``keras.models.load_model``.
    """

    registry_name: str = ""
    description: str = ""
    formula: str = ""
    param_specs: dict[str, ParamSpec] = {}
    function: Callable = staticmethod(bce)

    def __init__(self, loss_params: dict, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name or self.registry_name, reduction=reduction, dtype=dtype)
        self.loss_params = _validate(self.registry_name, self.param_specs, loss_params)

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


@register("bce")
@keras.saving.register_keras_serializable(package="mlc")
class BCELoss(MultiLabelLoss):
    """Registered wrapper of :func:`bce`; ``call`` returns shape ``(B,)``.

    >>> float(BCELoss()([[1.0, 0.0]], [[0.0, 0.0]]))
    0.6931...
    """

    description = "Sigmoid binary cross-entropy: every tag is its own yes/no question."
    formula = "l = -[y·log σ(z) + (1-y)·log(1-σ(z))]"
    param_specs = _BCE_SPECS
    function = staticmethod(bce)

    def __init__(self, *, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__({}, name=name, reduction=reduction, dtype=dtype)


@register("weighted_bce")
@keras.saving.register_keras_serializable(package="mlc")
class WeightedBCELoss(MultiLabelLoss):
    """Registered wrapper of :func:`weighted_bce`; ``call`` returns ``(B,)``.

    >>> loss = WeightedBCELoss([2.0, 1.0], weighting="tag")
    >>> float(loss([[1.0, 0.0]], [[0.0, 0.0]]))  # (2·0.693 + 0.693) / 2
    1.0397...
    """

    description = (
        "BCE with a weight per tag: 'tag' scales a tag's whole BCE, 'positive' only its y=1 term (pos_weight)."
    )
    formula = "tag: l = -w_c·[y·log σ(z) + (1-y)·log(1-σ(z))];  positive: l = -[w_c·y·log σ(z) + (1-y)·log(1-σ(z))]"
    param_specs = _WEIGHTED_BCE_SPECS
    function = staticmethod(weighted_bce)

    def __init__(
        self,
        weights: Sequence[float],
        weighting: str = "tag",
        *,
        name=None,
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__({"weights": weights, "weighting": weighting}, name=name, reduction=reduction, dtype=dtype)


@register("mse")
@keras.saving.register_keras_serializable(package="mlc")
class MSELoss(MultiLabelLoss):
    """Registered wrapper of :func:`mse`; ``call`` returns ``(B,)``.

    >>> float(MSELoss()([[1.0, 0.0]], [[0.0, 0.0]]))
    0.25
    """

    description = "Squared error between the sigmoid probability and a (soft) target in [0, 1]."
    formula = "l = (σ(z) - y)²"
    param_specs = _MSE_SPECS
    function = staticmethod(mse)

    def __init__(self, *, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__({}, name=name, reduction=reduction, dtype=dtype)


@register("focal")
@keras.saving.register_keras_serializable(package="mlc")
class FocalLoss(MultiLabelLoss):
    """Registered wrapper of :func:`focal`; ``call`` returns ``(B,)``.

    >>> FocalLoss(gamma=1.0, alpha=0.25).get_config()["alpha"]
    0.25
    """

    description = (
        "Focal loss: BCE scaled by (1 - p_t)^γ so easy, well-classified elements count less (Lin et al. 2017)."
    )
    formula = "l = α_t·(1-p_t)^γ·BCE(y, z),  p_t = y·p + (1-y)·(1-p),  α_t = y·α + (1-y)·(1-α) (1 if α is None)"
    param_specs = _FOCAL_SPECS
    function = staticmethod(focal)

    def __init__(
        self, gamma: float = 2.0, alpha: float | None = None, *, name=None, reduction="sum_over_batch_size", dtype=None
    ):
        super().__init__({"gamma": gamma, "alpha": alpha}, name=name, reduction=reduction, dtype=dtype)


@register("asl")
@keras.saving.register_keras_serializable(package="mlc")
class AsymmetricLoss(MultiLabelLoss):
    """Registered wrapper of :func:`asl`; ``call`` returns ``(B,)``.

    >>> AsymmetricLoss().get_config()["gamma_neg"]
    4.0
    """

    description = (
        "Asymmetric loss: separate focusing for positives and negatives, and a "
        "probability shift that drops easy negatives (Ridnik et al. 2021)."
    )
    formula = "l = -y·(1-p)^γ+·log p - (1-y)·p_m^γ-·log(1-p_m),  p = σ(z),  p_m = max(p - clip, 0)"
    param_specs = _ASL_SPECS
    function = staticmethod(asl)

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        *,
        name=None,
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(
            {"gamma_pos": gamma_pos, "gamma_neg": gamma_neg, "clip": clip},
            name=name,
            reduction=reduction,
            dtype=dtype,
        )


def _lookup(name: str) -> type[MultiLabelLoss]:
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}.")
    return LOSSES[name]


def params(name: str) -> dict[str, ParamSpec]:
    """Parameter specs of a registered loss: ``{param: ParamSpec}``.

    >>> {k: (s.default, s.low, s.high) for k, s in params("asl").items()}
    {'gamma_pos': (0.0, 0.0, inf), 'gamma_neg': (4.0, 0.0, inf), 'clip': (0.05, 0.0, 1.0)}
    >>> params("bce")
    {}
    """
    return dict(_lookup(name).param_specs)


def defaults(name: str, n_tags: int = len(DEFAULT_CLASSES)) -> dict[str, Any]:
    """Concrete default keyword arguments for :func:`get`.

    Per-tag parameters are expanded to ``n_tags`` copies of their default.

    >>> defaults("weighted_bce", n_tags=3)
    {'weights': [1.0, 1.0, 1.0], 'weighting': 'tag'}
    """
    if isinstance(n_tags, bool) or not isinstance(n_tags, (int, np.integer)) or n_tags < 1:
        raise ValueError(f"n_tags must be a positive integer, got {n_tags!r}.")
    return {
        key: [spec.default] * int(n_tags) if spec.kind == "per_tag" else spec.default
        for key, spec in params(name).items()
    }


def get(name: str, /, **loss_params) -> MultiLabelLoss:
    """Instantiate the registered loss ``name`` with validated parameters.

    >>> get("asl", clip=0.1)
    AsymmetricLoss(gamma_pos=0.0, gamma_neg=4.0, clip=0.1)
    >>> get("foo")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'foo'; choose one of: bce, weighted_bce, mse, focal, asl.
    """
    cls = _lookup(name)
    specs = cls.param_specs
    unknown = sorted(set(loss_params) - set(specs))
    if unknown:
        accepted = ", ".join(specs) if specs else "no parameters"
        raise ValueError(f"unknown parameter {unknown[0]!r} for loss {name!r}; it accepts: {accepted}.")
    missing = [k for k, s in specs.items() if s.required and k not in loss_params]
    if missing:
        key = missing[0]
        example = defaults(name)[key]
        raise ValueError(f"loss {name!r} needs {key!r}: {specs[key].help} e.g. get({name!r}, {key}={example!r}).")
    return cls(**loss_params)


def describe(name: str) -> str:
    """One-line explanation plus formula of a registered loss, for the UI.

    >>> describe("mse")
    'Squared error between the sigmoid probability and a (soft) target in [0, 1]. Formula: l = (σ(z) - y)²'
    """
    cls = _lookup(name)
    return f"{cls.description} Formula: {cls.formula}"


def elementwise(name: str, y_true, logits, **loss_params) -> np.ndarray:
    """Per-element losses of ``name`` from NumPy-like inputs, as float64.

    ``y_true`` (targets in [0, 1]) and ``logits`` (finite) must have the same
    shape, ``(B, C)`` or ``(C,)``; the result has that shape.

    >>> elementwise("focal", [[1, 0]], [[0.0, 2.0]], gamma=0.0).round(4).tolist()
    [[0.6931, 2.1269]]
    """
    loss = get(name, **loss_params)
    y = np.asarray(y_true, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    if y.shape != z.shape:
        raise ValueError(f"y_true and logits must have the same shape, got {y.shape} and {z.shape}.")
    if not np.all(np.isfinite(y)) or y.min(initial=0.0) < 0 or y.max(initial=0.0) > 1:
        raise ValueError(
            f"y_true must contain targets in [0, 1] (1 = tag present), got values in [{y.min():g}, {y.max():g}]."
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite; replace inf/NaN, e.g. with np.clip(z, -100, 100).")
    return np.asarray(ops.convert_to_numpy(loss.elementwise(y, z)), dtype=np.float64)


# --------------------------------------------------------------------------
# Per-tag weights from prevalence
# --------------------------------------------------------------------------


def _check_prevalence(prevalence: Sequence[float]) -> np.ndarray:
    if isinstance(prevalence, (str, bytes)) or np.ndim(prevalence) != 1 or len(prevalence) == 0:
        raise ValueError(
            "prevalence must be a non-empty 1-D sequence with one fraction per tag, "
            f"got {prevalence!r}; e.g. Y.mean(axis=0) for a multi-hot matrix Y."
        )
    out = []
    for i, v in enumerate(list(prevalence)):
        p = _as_number(v)
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
        or _as_number(n_samples) is None
        or not math.isfinite(float(n_samples))
        or float(n_samples) <= 0
    ):
        raise ValueError(f"n_samples must be a positive number of training samples, got {n_samples!r}.")
    b = _as_number(beta)
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
