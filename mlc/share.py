"""Share links: a :class:`~mlc.config.RunConfig` (and thresholds) as a URL query string, and back.

:func:`to_query` writes only what differs from the defaults, so links stay short
and a partial link means "defaults for the rest". :func:`from_query` never
raises for what a visitor (or anyone editing the URL) can put in a query
string: each field that cannot be read or is not allowed falls back to its
default, with one note per field saying what was ignored and why.

>>> from mlc.config import RunConfig
>>> q = to_query(RunConfig(loss="focal", loss_params={"gamma": 1.0}, epochs=3))
>>> q
{'loss': 'focal', 'epochs': '3', 'p.gamma': '1.0'}
>>> shared = from_query(q)
>>> shared.config == RunConfig(loss="focal", loss_params={"gamma": 1.0}, epochs=3), shared.notes
(True, [])
>>> from_query({"epochs": "many", "lr": "0.01"}).notes
["ignored epochs='many': epochs must be a whole number from 1 to 500, got 'many'"]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlc import checks
from mlc.config import RunConfig, parse_shortcut, shortcut_text

#: Query key -> RunConfig field, in the order they are applied (tags before what depends on them).
KEYS: dict[str, str] = {
    "data": "dataset",
    "tags": "classes",
    "prev": "prevalence",
    "w": "weights",
    "weighting": "weighting",
    "loss": "loss",
    "model": "model",
    "epochs": "epochs",
    "batch": "batch_size",
    "lr": "learning_rate",
    "sched": "lr_schedule",
    "train": "train_size",
    "val": "val_size",
    "test": "test_size",
    "soft": "soft_labels",
    "noise": "label_noise",
    "size": "image_size",
    "seed": "seed",
    "device": "device",
    "missing": "missing_positives",
    "missing_as": "missing_as",
    "single": "single_positive",
}
#: The shortcut scenario travels as one value, ``shortcut=house:tree:0.95:0.5`` (:func:`mlc.config.parse_shortcut`).
SHORTCUT_KEY = "shortcut"
#: Loss parameters travel as ``p.<name>`` (e.g. ``p.gamma=1.5``; ``none`` for an unset optional one).
PARAM_PREFIX = "p."
#: Thresholds: ``thr=0.4`` (every tag) or ``thr=[0.5,0.2,...]`` (one per tag).
THRESHOLD_KEY = "thr"
#: The Predict page's threshold strategy: ``strat=top_k&sp.k=2`` (the manual ones travel as ``thr``).
STRATEGY_KEY = "strat"
STRATEGY_PARAM_PREFIX = "sp."
#: Longest value read from a query string, and most keys: a link is not a payload.
MAX_VALUE_LENGTH = 2000
MAX_KEYS = 64
_LISTS = ("classes", "prevalence", "weights")
_INTS = ("epochs", "batch_size", "train_size", "val_size", "test_size", "image_size", "seed")
#: What belongs to own images and stays out of a link: the images themselves cannot travel in a URL.
OWN_DATA_KEYS = ("tags", "prev", "w", "train", "val", "test")
#: The note a link made for own images gets when it is opened.
OWN_DATA_NOTE = (
    "this link was made for someone's own images, which cannot travel in a link: the data set is not included "
    "(scenes stand in; upload your .zip on the Train page), every other setting is restored"
)
_FLOATS = ("learning_rate", "label_noise", "missing_positives")


@dataclass
class Shared:
    """What a query string restored: a valid config, thresholds (None, one value or one per tag)
    and one note per ignored field."""

    config: RunConfig
    thresholds: float | list[float] | None = None
    notes: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"), ensure_ascii=False)
    return str(value)


def to_query(config: RunConfig, thresholds: float | list[float] | None = None) -> dict[str, str]:
    """Query parameters for ``config`` (fields that differ from the defaults) and ``thresholds``.

    >>> to_query(RunConfig(), thresholds=[0.5, 0.25, 0.5, 0.5, 0.5])
    {'thr': '[0.5,0.25,0.5,0.5,0.5]'}
    """
    own = config.dataset == "own"
    # the defaults of the config's own data set (a digits link with the digits' default tags names no tags)
    default = {**RunConfig(dataset="scenes" if own else config.dataset).to_dict(), "dataset": "scenes"}
    values = config.to_dict()
    if list(values["classes"]) != list(default["classes"]):
        default = {**default, "prevalence": None, "weights": None}  # other tags: their lists always travel
    query: dict[str, str] = {}
    for key, name in KEYS.items():
        if own and key in OWN_DATA_KEYS:
            continue  # they describe the images, which stay with their owner
        if values[name] != default[name]:
            query[key] = _text(values[name])
    if config.cooccur_tag:
        query[SHORTCUT_KEY] = shortcut_text(config)
    for name, value in values["loss_params"].items():
        query[PARAM_PREFIX + name] = "none" if value is None else _text(value)
    if thresholds is not None:
        query[THRESHOLD_KEY] = threshold_text(thresholds)
    return query


def link_note(config: RunConfig) -> str | None:
    """What a link of ``config`` leaves out, for the page that offers it (None: it carries everything).

    >>> link_note(RunConfig(dataset="digits")) is None
    True
    >>> link_note(RunConfig(dataset="own", classes=("cat",), data_name="pets.zip"))
    'The link carries every setting but the data: your own images (pets.zip) cannot travel in a link.'
    """
    if config.dataset != "own":
        return None
    name = config.data_name or "unnamed"
    return f"The link carries every setting but the data: your own images ({name}) cannot travel in a link."


def threshold_text(thresholds: float | Sequence[float]) -> str:
    """The ``thr`` value for one threshold (every tag) or one per tag.

    >>> threshold_text(0.4), threshold_text([0.5, 0.25])
    ('0.4', '[0.5,0.25]')
    """
    return _text(thresholds if isinstance(thresholds, (int, float)) else [float(t) for t in thresholds])


def _parse(name: str, raw: str) -> Any:
    """The typed value of one field from its query text; ValueError with the field's name."""
    if name in _LISTS:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(f'{name} must be a JSON list such as ["dog","cat"], got {raw!r}') from None
        if not isinstance(value, list):
            raise ValueError(f"{name} must be a JSON list, got {raw!r}")
        return tuple(value)
    if name in _INTS:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number from {_range(name)}, got {raw!r}") from None
    if name in _FLOATS:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {raw!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {raw!r}")
        return value
    if name in ("soft_labels", "single_positive"):
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"{name} must be 1 or 0, got {raw!r}")
    return raw


def _range(name: str) -> str:
    from mlc.config import LIMITS

    lo, hi = LIMITS[name]
    return f"{lo} to {hi}"


def _param(raw: str) -> Any:
    if raw.lower() == "none":
        return None
    try:
        value = float(raw)
    except ValueError:
        return raw  # a choice parameter; the loss registry validates it
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {raw!r}")
    return value


def _first(value: Any) -> str:
    """Streamlit gives str; other callers may give lists (repeated keys): the last one wins."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return str(value)


def from_query(params: Mapping[str, Any], devices: Sequence[str] | None = None) -> Shared:
    """Restore a config (and thresholds) from query parameters, field by field.

    A field is kept only if the config it makes together with the fields kept
    before it is valid; otherwise its default stays and a note says why. Unknown
    keys, over-long values and too many keys are noted and ignored. With
    ``devices`` (the ids this server offers), any other device falls back to the
    default too. Never raises for any mapping of strings.
    """
    notes: list[str] = []
    items = list(params.items())
    if len(items) > MAX_KEYS:
        notes.append(f"the link has {len(items)} parameters; only the first {MAX_KEYS} were read")
        items = items[:MAX_KEYS]
    query: dict[str, str] = {}
    for key, value in items:
        text = _first(value)
        if len(text) > MAX_VALUE_LENGTH:
            notes.append(f"ignored {key}: its value is {len(text)} characters long (at most {MAX_VALUE_LENGTH})")
            continue
        query[str(key)] = text
    known = set(KEYS) | {THRESHOLD_KEY, STRATEGY_KEY, SHORTCUT_KEY}
    for key in query:
        if key not in known and not key.startswith((PARAM_PREFIX, STRATEGY_PARAM_PREFIX)):
            notes.append(f"ignored unknown parameter {key!r}")

    accepted: dict[str, Any] = {}
    config = RunConfig()

    def attempt(changes: dict[str, Any], label: str) -> None:
        nonlocal config
        try:
            config = RunConfig.from_dict({**accepted, **changes})
            accepted.update(changes)
        except ValueError as exc:
            notes.append(f"ignored {label}: {checks.first_line(exc, 300, with_type=False)}")

    for key, name in KEYS.items():
        if key not in query:
            continue
        raw = query[key]
        try:
            value = _parse(name, raw)
        except ValueError as exc:
            notes.append(f"ignored {key}={raw!r}: {exc}")
            continue
        if name == "dataset" and value == "own":
            notes.append(OWN_DATA_NOTE)
            continue
        if name == "device" and devices is not None and value not in devices:
            notes.append(f"ignored {key}={raw!r}: this server offers {', '.join(devices)}")
            continue
        attempt({name: value}, f"{key}={raw!r}")
    if SHORTCUT_KEY in query:  # the four fields at once: a tag without its partner is no scenario
        raw = query[SHORTCUT_KEY]
        try:
            attempt(parse_shortcut(raw), f"{SHORTCUT_KEY}={raw!r}")
        except ValueError as exc:
            notes.append(f"ignored {SHORTCUT_KEY}={raw!r}: {exc}")
    params_in = {k[len(PARAM_PREFIX) :]: v for k, v in query.items() if k.startswith(PARAM_PREFIX)}
    for name, raw in params_in.items():
        try:
            value = _param(raw)
        except ValueError as exc:
            notes.append(f"ignored {PARAM_PREFIX}{name}={raw!r}: {exc}")
            continue
        attempt({"loss_params": {**accepted.get("loss_params", {}), name: value}}, f"{PARAM_PREFIX}{name}={raw!r}")

    thresholds = None
    if THRESHOLD_KEY in query:
        thresholds = _thresholds(query[THRESHOLD_KEY], config.num_classes, notes)
    return Shared(config=config, thresholds=thresholds, notes=notes)


def has_config(params: Mapping[str, Any]) -> bool:
    """Whether a query string carries run settings (not just, say, the Predict page's thresholds).

    >>> has_config({"thr": "0.4"}), has_config({"epochs": "3"}), has_config({"p.gamma": "1"})
    (False, True, True)
    >>> has_config({"shortcut": "house:tree"})
    True
    """
    return any(k in KEYS or k == SHORTCUT_KEY or str(k).startswith(PARAM_PREFIX) for k in params)


def thresholds_from_query(params: Mapping[str, Any], n_tags: int) -> tuple[float | list[float] | None, list[str]]:
    """The ``thr`` parameter for a run with ``n_tags`` tags: (value or None, notes). Never raises.

    >>> thresholds_from_query({"thr": "[0.2,0.7]"}, 2), thresholds_from_query({"thr": "2"}, 2)[0]
    (([0.2, 0.7], []), None)
    """
    notes: list[str] = []
    if THRESHOLD_KEY not in params:
        return None, notes
    raw = _first(params[THRESHOLD_KEY])[:MAX_VALUE_LENGTH]
    return _thresholds(raw, n_tags, notes), notes


def _thresholds(raw: str, n_tags: int, notes: list[str]) -> float | list[float] | None:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        notes.append(f"ignored thr={raw!r}: thresholds must be a number in [0, 1] or a JSON list of {n_tags}")
        return None
    values = [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    ok = isinstance(values, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1 for v in values
    )
    if not ok or (isinstance(value, list) and len(values) != n_tags):
        notes.append(f"ignored thr={raw!r}: thresholds must be a number in [0, 1] or a list of {n_tags} such numbers")
        return None
    return float(value) if not isinstance(value, list) else [float(v) for v in values]


def strategy_query(name: str, params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for a threshold strategy and its parameters (lists as JSON).

    >>> strategy_query("top_k", {"k": 2})
    {'strat': 'top_k', 'sp.k': '2'}
    """
    return {STRATEGY_KEY: name, **{STRATEGY_PARAM_PREFIX + k: _text(v) for k, v in params.items()}}


def strategy_from_query(params: Mapping[str, Any], n_tags: int) -> tuple[str | None, dict[str, Any], list[str]]:
    """The ``strat`` and ``sp.*`` parameters for a run with ``n_tags`` tags: (name or None, params, notes).

    Never raises: an unknown strategy gives None and a note; a parameter that cannot
    be read or is out of range keeps its default, with a note naming it.

    >>> strategy_from_query({"strat": "top_k", "sp.k": "2"}, 5)
    ('top_k', {'k': 2}, [])
    >>> strategy_from_query({"strat": "top_k", "sp.k": "99"}, 5)[1:]
    ({}, ['ignored sp.k=99: k must be a whole number from 1 to 20, got 99'])
    """
    from mlc.threshold_strategies import STRATEGIES  # here: the Train page's links do not need it

    notes: list[str] = []
    if STRATEGY_KEY not in params:
        return None, {}, notes
    name = _first(params[STRATEGY_KEY])[:100]
    if name not in STRATEGIES:
        notes.append(f"ignored strat={name!r}: the strategy must be one of {', '.join(STRATEGIES)}")
        return None, {}, notes
    strategy = STRATEGIES[name]
    out: dict[str, Any] = {}
    for key in sorted(params):
        if not str(key).startswith(STRATEGY_PARAM_PREFIX):
            continue
        field_name, raw = str(key)[len(STRATEGY_PARAM_PREFIX) :], _first(params[key])[:MAX_VALUE_LENGTH]
        try:
            value = json.loads(raw)
            out[field_name] = strategy.check_params({field_name: value}, n_tags)[field_name]
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            reason = "not a number or a JSON list" if isinstance(exc, json.JSONDecodeError) else str(exc).rstrip(".")
            notes.append(f"ignored {key}={raw}: {reason}")
    return name, out, notes


#: The RunConfig fields the Train page edits one input each (the tags table holds the tags, prevalence, weights).
FORM_FIELDS = (
    "loss",
    "weighting",
    "model",
    "epochs",
    "batch_size",
    "learning_rate",
    "lr_schedule",
    "train_size",
    "val_size",
    "soft_labels",
    "label_noise",
    "seed",
    "device",
    "missing_positives",
    "missing_as",
    "single_positive",
    "cooccur_tag",
    "cooccur_with",
    "cooccur_train",
    "cooccur_test",
)


@dataclass(frozen=True)
class FormSettings:
    """What the Train page's inputs show for one config: ``fields`` (:data:`FORM_FIELDS` -> value) and
    ``loss_params`` (every parameter of the loss outside the tags table -> value; ``None`` = an optional
    parameter switched off)."""

    fields: dict[str, Any]
    loss_params: dict[str, Any]


def form_settings(config: RunConfig) -> FormSettings:
    """The Train form's settings, field by field, that show ``config`` (declared defaults fill the loss's gaps).

    >>> settings = form_settings(RunConfig(loss="focal", loss_params={"gamma": 1}))
    >>> settings.fields["loss"], settings.loss_params
    ('focal', {'gamma': 1.0, 'alpha': None})
    """
    from mlc import losses
    from mlc.loss_params import TAG_TABLE_PARAMS

    params: dict[str, Any] = {}
    for name, spec in losses.params(config.loss).items():
        if name in TAG_TABLE_PARAMS:
            continue
        value = config.loss_params.get(name, spec.default)
        params[name] = value if value is None or spec.kind == "choice" else float(value)
    return FormSettings({name: getattr(config, name) for name in FORM_FIELDS}, params)
