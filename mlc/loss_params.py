"""Loss parameters: how one is declared (:class:`ParamSpec`), checked, and offered as an input.

Each parameter of each registered loss is declared once, here: its default,
its allowed range, a ``help`` line (what it does) and a ``hint`` (how to fix a
bad value, appended to the error). :mod:`mlc.losses` builds its functions'
defaults, its Keras wrappers and its errors from these declarations; the Train
page builds its inputs from them (:meth:`ParamSpec.number_input`).

>>> FOCAL["gamma"].default, FOCAL["gamma"].range_text()
(2.0, '>= 0')
>>> validate(FOCAL, {"gamma": -1})
Traceback (most recent call last):
...
ValueError: gamma must be a finite number >= 0, got -1. Use 0 for plain BCE or a focusing value such as 2.0.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from mlc import DEFAULT_CLASSES

#: How ``weighted_bce`` applies a tag's weight: to its whole BCE, or to its positive term only.
WEIGHTINGS: tuple[str, ...] = ("tag", "positive")

#: What ``bce`` does with an unknown target (-1 in y): count it as a negative, or leave it out of the mean.
UNKNOWN_MODES: tuple[str, ...] = ("negative", "ignore")

#: The value of an unknown target in y (partial labels).
UNKNOWN = -1.0


def _fmt(x: float) -> str:
    return "inf" if x == math.inf else f"{x:g}"


def as_number(value: Any) -> float | None:
    """``float(value)`` for a real number (not a bool, string or array), else ``None``.

    >>> as_number(2), as_number(np.float32(0.5)), as_number(True), as_number("1"), as_number([1.0])
    (2.0, 0.5, None, None, None)
    """
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    if np.ndim(value) != 0:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


class NumberInput(NamedTuple):
    """What a number input for one parameter offers: ``[low, high]`` (``high`` None = open), a step,
    and the value to start from when an optional parameter is switched on."""

    low: float
    high: float | None
    step: float
    start: float


@dataclass(frozen=True)
class ParamSpec:
    """Declarative description of one loss parameter.

    ``default``, ``low`` and ``high`` come first so the spec reads like the
    triple ``(default, low, high)``. ``kind`` is one of

    * ``"float"``: one number in the allowed range;
    * ``"per_tag"``: a sequence with one number per tag, each in the range;
      ``default`` is the value for each tag and the parameter is ``required``
      (the loss cannot know the number of tags); see :func:`mlc.losses.defaults`;
    * ``"choice"``: one of ``choices`` (``low``/``high`` are ``None``).

    ``optional=True`` means ``None`` is also accepted (and means "off").
    ``high_inclusive=False`` makes the range half-open, ``[low, high)``.
    ``suggested_high`` is a sensible slider end when ``high`` is infinite.
    ``help`` says what the parameter does; ``hint`` how to fix a bad value.

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
    hint: str = ""

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

    def check(self, value: Any, name: str, hint: str | None = None) -> Any:
        """Return ``value`` normalised to plain Python types or raise ValueError.

        ``name`` is the parameter name used in the message; ``hint`` (by
        default the declared one) is appended as advice on how to fix it.
        """
        hint = self.hint if hint is None else hint
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
        number = as_number(value)
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
            number = as_number(v)
            if number is None or not self._in_range(number):
                raise ValueError(f"{name} must be finite and {self.range_text()}, got {v!r} for tag {i}.{tail}")
            out.append(number)
        if not out:
            raise ValueError(f"{name} must have one value per tag, got an empty sequence.{tail}")
        return out

    def number_input(self) -> NumberInput:
        """The range, step and starting value of an input for a ``"float"`` parameter.

        An infinite ``high`` becomes ``suggested_high`` (or no end); a half-open
        range ends one step of 0.01 below ``high``. Steps: 0.05 up to 1, else 0.5.

        >>> ASL["clip"].number_input()
        NumberInput(low=0.0, high=0.99, step=0.05, start=0.05)
        >>> FOCAL["alpha"].number_input()  # optional and off by default: starts a quarter of the way up
        NumberInput(low=0.0, high=1.0, step=0.05, start=0.25)
        """
        if self.kind != "float":
            raise ValueError(f"only a 'float' parameter has a number input, not a {self.kind!r} one")
        high = self.high if self.high is not None and math.isfinite(self.high) else self.suggested_high
        if high is not None and not self.high_inclusive:
            high = high - 0.01
        start = self.default if self.default is not None else (self.low + (high or 1.0)) / 4
        return NumberInput(
            float(self.low), None if high is None else float(high), 0.05 if (high or 10) <= 1 else 0.5, float(start)
        )


def validate(specs: Mapping[str, ParamSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``values`` against ``specs`` (each with its declared hint); return normalised plain values.

    >>> validate(ASL, {"clip": 0})
    {'clip': 0.0}
    """
    return {key: specs[key].check(value, key) for key, value in values.items()}


def concrete_defaults(specs: Mapping[str, ParamSpec], n_tags: int = len(DEFAULT_CLASSES)) -> dict[str, Any]:
    """Default keyword arguments from ``specs``; a per-tag parameter becomes ``n_tags`` copies of its default.

    >>> concrete_defaults(WEIGHTED_BCE, n_tags=3)
    {'weights': [1.0, 1.0, 1.0], 'weighting': 'tag'}
    """
    if isinstance(n_tags, bool) or not isinstance(n_tags, (int, np.integer)) or n_tags < 1:
        raise ValueError(f"n_tags must be a positive integer, got {n_tags!r}.")
    return {
        key: [spec.default] * int(n_tags) if spec.kind == "per_tag" else spec.default for key, spec in specs.items()
    }


def check_names(loss: str, specs: Mapping[str, ParamSpec], given: Mapping[str, Any]) -> None:
    """Refuse a parameter ``loss`` does not take, and a missing required one (with an example).

    >>> check_names("focal", FOCAL, {"gama": 2.0})
    Traceback (most recent call last):
    ...
    ValueError: unknown parameter 'gama' for loss 'focal'; it accepts: gamma, alpha.
    """
    unknown = sorted(set(given) - set(specs))
    if unknown:
        accepted = ", ".join(specs) if specs else "no parameters"
        raise ValueError(f"unknown parameter {unknown[0]!r} for loss {loss!r}; it accepts: {accepted}.")
    missing = [k for k, s in specs.items() if s.required and k not in given]
    if missing:
        key = missing[0]
        example = concrete_defaults(specs)[key]
        raise ValueError(f"loss {loss!r} needs {key!r}: {specs[key].help} e.g. get({loss!r}, {key}={example!r}).")


# ---------------------------------------------------------------- the declarations
# One parameter per entry: (default, low, high) and its options, then what it does (help) and how
# to fix a bad value (hint). Laid out by hand, one compact block per parameter.
# fmt: off
BCE: dict[str, ParamSpec] = {
    "smoothing": ParamSpec(
        0.0, 0.0, 0.5, high_inclusive=False,
        help="Label smoothing: targets become y(1 - ε) + ε/2.",
        hint="Typical: 0.0 (off) or 0.1; 0.5 would make every target 0.5.",
    ),
    "unknown": ParamSpec(
        "negative", kind="choice", choices=UNKNOWN_MODES,
        help="An unknown target (-1): 'negative' counts it as 0, 'ignore' leaves it out of the mean.",
        hint="'negative' assumes an unknown tag is absent; 'ignore' masks it (Durand et al. 2019).",
    ),
}
WEIGHTED_BCE: dict[str, ParamSpec] = {
    "weights": ParamSpec(
        1.0, 0.0, math.inf, kind="per_tag", required=True, suggested_high=10.0,
        help="One non-negative weight per tag.",
        hint="Use e.g. inverse_frequency_weights(prevalence); 1.0 means unweighted.",
    ),
    "weighting": ParamSpec(
        "tag", kind="choice", choices=WEIGHTINGS,
        help="'tag': weight scales the whole term; 'positive': only y=1 terms.",
        hint="'tag' scales the whole BCE of a tag, 'positive' only its y=1 term (like pos_weight).",
    ),
}
MSE: dict[str, ParamSpec] = {}
FOCAL: dict[str, ParamSpec] = {
    "gamma": ParamSpec(
        2.0, 0.0, math.inf, suggested_high=5.0,
        help="Focusing strength; 0 gives (alpha-weighted) BCE.",
        hint="Use 0 for plain BCE or a focusing value such as 2.0.",
    ),
    "alpha": ParamSpec(
        None, 0.0, 1.0, optional=True,
        help="Weight of positives (negatives get 1 - alpha); None = off.",
        hint="alpha is the weight of positives (negatives get 1 - alpha); use None to switch balancing off.",
    ),
}
ASL: dict[str, ParamSpec] = {
    "gamma_pos": ParamSpec(0.0, 0.0, math.inf, suggested_high=5.0, help="Focusing on positives, (1 - p)^gamma_pos.",
                           hint="Typical: 0.0 (no focusing on positives)."),
    "gamma_neg": ParamSpec(4.0, 0.0, math.inf, suggested_high=8.0, help="Focusing on negatives, p_m^gamma_neg.",
                           hint="Typical: 4.0; 0.0 switches negative focusing off."),
    "clip": ParamSpec(0.05, 0.0, 1.0, high_inclusive=False,
                      help="Probability shift for negatives: p_m = max(p - clip, 0).",
                      hint="Typical: 0.05; 0.0 switches the probability shift off."),
}
ZLPR: dict[str, ParamSpec] = {}
TWO_WAY: dict[str, ParamSpec] = {
    "t_pos": ParamSpec(4.0, 0.1, math.inf, suggested_high=10.0,
                       help="Temperature T_p of the soft maximum over positives (the paper's 4).",
                       hint="Use a positive value such as 4.0 (Kobayashi 2023); near 0.1 it is nearly a hard minimum."),
    "t_neg": ParamSpec(1.0, 0.1, math.inf, suggested_high=10.0,
                       help="Temperature T_n of the soft maximum over negatives (the paper's 1).",
                       hint="Use a positive value such as 1.0 (Kobayashi 2023); near 0.1 it is nearly a hard maximum."),
}
# fmt: on

#: Parameters the Train page edits in its tags table, not as loss inputs.
TAG_TABLE_PARAMS = ("weights", "weighting")


# ---------------------------------------------------------------- the built-in losses, without Keras
class LossInfo(NamedTuple):
    """What the UI shows of a built-in loss, readable without importing Keras (:mod:`mlc.losses`
    builds its registered classes' ``description``, ``formula`` and ``param_specs`` from these)."""

    description: str
    formula: str
    params: dict[str, ParamSpec]


#: Built-in loss name -> :class:`LossInfo`, in the order :data:`mlc.losses.LOSSES` registers them.
LOSS_INFO: dict[str, LossInfo] = {
    "bce": LossInfo(
        "Sigmoid binary cross-entropy: every tag is its own yes/no question; optional label smoothing, "
        "and unknown targets (-1) assumed negative or ignored (Durand et al. 2019).",
        "l = -[y'·log σ(z) + (1-y')·log(1-σ(z))],  y' = y·(1-ε) + ε/2",
        BCE,
    ),
    "weighted_bce": LossInfo(
        "BCE with a weight per tag: 'tag' scales a tag's whole BCE, 'positive' only its y=1 term (pos_weight).",
        "tag: l = -w_c·[y·log σ(z) + (1-y)·log(1-σ(z))];  positive: l = -[w_c·y·log σ(z) + (1-y)·log(1-σ(z))]",
        WEIGHTED_BCE,
    ),
    "mse": LossInfo(
        "Squared error between the sigmoid probability and a (soft) target in [0, 1].", "l = (σ(z) - y)²", MSE
    ),
    "focal": LossInfo(
        "Focal loss: BCE scaled by (1 - p_t)^γ so easy, well-classified elements count less (Lin et al. 2017).",
        "l = α_t·(1-p_t)^γ·BCE(y, z),  p_t = y·p + (1-y)·(1-p),  α_t = y·α + (1-y)·(1-α) (1 if α is None)",
        FOCAL,
    ),
    "asl": LossInfo(
        "Asymmetric loss: separate focusing for positives and negatives, and a "
        "probability shift that drops easy negatives (Ridnik et al. 2021).",
        "l = -y·(1-p)^γ+·log p - (1-y)·p_m^γ-·log(1-p_m),  p = σ(z),  p_m = max(p - clip, 0)",
        ASL,
    ),
    "zlpr": LossInfo(
        "ZLPR: a softmax-like loss over each image's tags that ranks every positive above 0 and every "
        "negative below 0 (Su et al. 2022); unknown targets (-1) are left out.",
        "per image: log(1 + Σ_neg e^z) + log(1 + Σ_pos e^-z)",
        ZLPR,
    ),
    "two_way": LossInfo(
        "Two-way loss: soft-max margins between positives and negatives within each image and within each "
        "tag across the batch (Kobayashi, CVPR 2023); unknown targets (-1) are left out.",
        "softplus(T_n·log Σ_neg e^(z/T_n) + T_p·log Σ_pos e^(-z/T_p)), per image and per tag, each averaged",
        TWO_WAY,
    ),
}


def _registered():
    """:mod:`mlc.losses` when something imported it (a loss registered there is known then), else None."""
    return sys.modules.get("mlc.losses")


def loss_names() -> list[str]:
    """Every loss a config may name: the built-in ones, and any registered since in :mod:`mlc.losses`.

    >>> loss_names()[:2]
    ['bce', 'weighted_bce']
    """
    losses = _registered()
    return list(losses.LOSSES) if losses is not None else list(LOSS_INFO)


def loss_info(name: str) -> LossInfo:
    """The :class:`LossInfo` of loss ``name`` (a loss registered in :mod:`mlc.losses` included).

    >>> loss_info("mse").formula
    'l = (σ(z) - y)²'
    >>> loss_info("foo")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'foo'; choose one of: bce, weighted_bce, mse, focal, asl, zlpr, two_way
    """
    if isinstance(name, str) and name in LOSS_INFO:
        return LOSS_INFO[name]
    from mlc import losses  # not a built-in: only the registry (which imports Keras) can know it

    cls = losses.LOSSES.lookup(name)
    return LossInfo(cls.description, cls.formula, dict(cls.param_specs))


def params(name: str) -> dict[str, ParamSpec]:
    """Parameter specs of loss ``name``: ``{param: ParamSpec}`` (:func:`mlc.losses.params`, without Keras).

    >>> list(params("focal"))
    ['gamma', 'alpha']
    """
    return dict(loss_info(name).params)


def check_loss(name: str, loss_params: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse what :func:`mlc.losses.get` would refuse (an unknown or missing parameter, a bad value),
    with the same messages, without building the Keras loss; returns the normalised values.

    >>> check_loss("asl", {"clip": 0})
    {'clip': 0.0}
    >>> check_loss("weighted_bce", {"weighting": "tag"})
    Traceback (most recent call last):
    ...
    ValueError: loss 'weighted_bce' needs 'weights': One non-negative weight per tag. e.g. get('weighted_bce', ...).
    """
    if not (isinstance(name, str) and name in LOSS_INFO):
        from mlc import losses  # a registered loss may check more in its __init__: build it

        return dict(losses.get(name, **loss_params).loss_params)
    specs = LOSS_INFO[name].params
    check_names(name, specs, loss_params)
    return validate(specs, loss_params)
