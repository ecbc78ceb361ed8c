"""The run configuration: one validated dataclass for UI, CLI, training and JSON.

Every field is checked in ``__post_init__`` with a message that names the
field and the allowed range, so a bad value is refused at the boundary (a
widget, a CLI flag, a JSON file, a share link) and never deep inside Keras.

>>> cfg = RunConfig(loss="weighted_bce", weights=(1, 8, 1, 1, 1), weighting="positive")
>>> cfg.loss_kwargs()
{'weights': [1.0, 8.0, 1.0, 1.0, 1.0], 'weighting': 'positive'}
>>> RunConfig.from_json(cfg.to_json()) == cfg
True
>>> RunConfig(epochs=0)
Traceback (most recent call last):
...
ValueError: epochs must be a whole number from 1 to 500, got 0
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlc import checks, class_weights, data, datasets, label_problems, loss_params, models
from mlc.checks import short_repr

#: Inclusive ranges of the numeric fields. The hosted app may cap them lower.
LIMITS: dict[str, tuple[float, float]] = {
    "epochs": (1, 500),
    "batch_size": (1, 4096),
    "learning_rate": (1e-6, 1.0),
    "train_size": (1, 200_000),
    "val_size": (1, 100_000),
    "test_size": (1, 100_000),
    "label_noise": (0.0, data.MAX_LABEL_NOISE),
    "image_size": (data.MIN_IMAGE_SIZE, data.MAX_IMAGE_SIZE),
    "seed": (0, data.MAX_SEED),
}
WEIGHTINGS = loss_params.WEIGHTINGS
#: "cosine" decays the learning rate to 5 % over the run (steadier final epochs); "constant" keeps it.
LR_SCHEDULES: tuple[str, ...] = ("cosine", "constant")
_DEVICE = re.compile(r"^(cpu|gpu:\d{1,2}|mirrored|multiworker)$")
#: Loss parameters that live as top-level fields because the tag table edits them.
_TAG_TABLE_PARAMS = ("weights", "weighting")


#: The shortcut scenario's fields, declared once: field -> (default, allowed range or None, hint).
SHORTCUT: dict[str, tuple[Any, tuple[float, float] | None, str]] = {
    "cooccur_tag": ("", None, "the tag that gets a companion ('' = scenario off)"),
    "cooccur_with": ("", None, "its companion (partner) tag"),
    "cooccur_train": (0.95, (0.0, 1.0), "training split: share of the tag's scenes that also hold the partner"),
    "cooccur_test": (0.5, (0.0, 1.0), "validation and test splits: the same share (the link broken)"),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run (the app's defaults).

    ``prevalence`` and ``weights`` default to the tag defaults (imbalanced data,
    all weights 1). ``weights``/``weighting`` feed losses that take them
    (``weighted_bce``); ``loss_params`` holds the other loss parameters (e.g.
    ``{"gamma": 2.0}`` for focal), checked against :func:`mlc.losses.params`.
    """

    loss: str = "bce"
    loss_params: Mapping[str, Any] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None  # None: the data set's tags (scenes: DEFAULT_CLASSES)
    prevalence: tuple[float, ...] | None = None
    weights: tuple[float, ...] | None = None
    weighting: str = "tag"
    model: str = "lean"
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 6e-3
    lr_schedule: str = "cosine"
    train_size: int = 8000
    val_size: int = 1000
    soft_labels: bool = False
    label_noise: float = 0.0
    image_size: int = 64
    seed: int = 0
    device: str = "cpu"
    dataset: str = "scenes"
    test_size: int = 1000
    data_name: str = ""
    data_fingerprint: str = ""
    missing_positives: float = 0.0  # label problems of the training split (mlc.label_problems)
    missing_as: str = "negative"
    single_positive: bool = False

    # the shortcut scenario (scenes only; see SHORTCUT): off while cooccur_tag is ""
    cooccur_tag: str = SHORTCUT["cooccur_tag"][0]
    cooccur_with: str = SHORTCUT["cooccur_with"][0]
    cooccur_train: float = SHORTCUT["cooccur_train"][0]
    cooccur_test: float = SHORTCUT["cooccur_test"][0]

    def __post_init__(self) -> None:
        # each step checks one group of fields (mlc.checks) and returns their canonical values
        steps = (
            _data_fields,
            _tag_fields,
            _choice_fields,
            _number_fields,
            _loss_param_fields,
            _label_fields,
            _shortcut_fields,
        )
        for step in steps:
            for name, value in step(self).items():
                object.__setattr__(self, name, value)  # frozen: the canonical values are set once, here
        # the loss's parameters, checked as mlc.losses.get would (same messages) without importing Keras
        loss_params.check_loss(self.loss, self.loss_kwargs())
        refused = label_problems.unknown_problem(
            self.loss, self.missing_positives, self.missing_as, self.single_positive
        )
        if refused:
            raise ValueError(refused)

    # ------------------------------------------------------------ derived
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def loss_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`mlc.losses.get` (tag-table params added where the loss takes them)."""
        accepted = loss_params.params(self.loss)
        kwargs = {k: v for k, v in self.loss_params.items()}
        if "weights" in accepted:
            kwargs["weights"] = list(self.weights)
        if "weighting" in accepted:
            kwargs["weighting"] = self.weighting
        return kwargs

    def make_loss(self):
        """The configured :class:`keras.losses.Loss` (expects logits)."""
        from mlc import losses  # imports Keras: only training needs the loss object

        return losses.get(self.loss, **self.loss_kwargs())

    def replace(self, **changes: Any) -> RunConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def differences(self, other: RunConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: ``{name: (self_value, other_value)}`` (to label compared runs)."""
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunConfig:
        """Build from a dict (e.g. parsed JSON); unknown keys are an error.

        >>> RunConfig.from_dict({"loss": "focal", "loss_params": {"gamma": 1.0}}).loss_params
        {'gamma': 1.0}
        >>> RunConfig.from_dict({"los": "bce"})
        Traceback (most recent call last):
        ...
        ValueError: unknown config field 'los'; allowed fields: loss, loss_params, classes, ...
        """
        if not isinstance(values, Mapping):
            raise ValueError(f"a run config must be a JSON object, got {type(values).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in values if k not in names]
        if unknown:
            raise ValueError(f"unknown config field {unknown[0]!r}; allowed fields: {', '.join(names)}")
        kwargs = {}
        for key, value in values.items():
            if isinstance(value, list) and key != "loss_params":
                value = tuple(value)
            kwargs[key] = value
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"run config is not valid JSON: {exc}") from exc
        return cls.from_dict(values)


# ---------------------------------------------------------------- the checks of RunConfig, one group each
def _tag_fields(cfg: RunConfig) -> dict[str, Any]:
    """classes, then one prevalence and one weight (finite, >= 0) per tag."""
    if cfg.classes is None and cfg.dataset == "own":
        raise ValueError("classes: a config of your own images needs their tags (read them with mlc.imagesets)")
    classes = data.resolve_classes(datasets.DATASETS[cfg.dataset].default_tags if cfg.classes is None else cfg.classes)
    weights = (1.0,) * len(classes) if cfg.weights is None else checks.number_tuple(cfg.weights, "weights")
    if len(weights) != len(classes):
        raise ValueError(f"weights must have one value per tag ({len(classes)}), got {len(weights)}")
    for name, w in zip(classes, weights):
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"weights: the weight of tag {name!r} must be a finite number >= 0, got {w}")
    prevalence = (
        datasets.default_prevalence(cfg.dataset, classes)
        if cfg.prevalence is None
        else data.resolve_prevalence(cfg.prevalence, classes)
    )
    if cfg.dataset == "digits":  # 1-4 digits per canvas bound the prevalences' sum: refuse here, not in training
        from mlc.digits import DigitSpec

        DigitSpec.build(classes, prevalence, data.MIN_IMAGE_SIZE, "train")
    return {"classes": classes, "prevalence": prevalence, "weights": weights}


def _choice_fields(cfg: RunConfig) -> dict[str, Any]:
    """loss and model (registry names), weighting, lr_schedule and device."""
    if not isinstance(cfg.device, str) or not _DEVICE.match(cfg.device):
        raise ValueError(
            f"device must be 'cpu', 'gpu:N', 'mirrored' or 'multiworker' (command line with TF_CONFIG), "
            f"got {cfg.device!r}"
        )
    return {
        "loss": checks.one_of(cfg.loss, "loss", loss_params.loss_names()),
        "model": checks.one_of(cfg.model, "model", models.MODELS),
        "weighting": checks.one_of(cfg.weighting, "weighting", WEIGHTINGS),
        "lr_schedule": checks.one_of(cfg.lr_schedule, "lr_schedule", LR_SCHEDULES),
    }


def _number_fields(cfg: RunConfig) -> dict[str, Any]:
    """The whole numbers and numbers within :data:`LIMITS` (8.0 from JSON is 8), and soft_labels."""
    values: dict[str, Any] = {"soft_labels": checks.boolean(cfg.soft_labels, "soft_labels")}
    for name in ("epochs", "batch_size", "train_size", "val_size", "test_size", "image_size", "seed"):
        values[name] = checks.whole(getattr(cfg, name), name, *LIMITS[name], integral_floats=True)
    for name in ("learning_rate", "label_noise"):
        values[name] = checks.number(getattr(cfg, name), name, *LIMITS[name])
    return values


def _loss_param_fields(cfg: RunConfig) -> dict[str, Any]:
    """loss_params as a plain dict, without the fields the tags table edits (their values are checked by the loss)."""
    if not isinstance(cfg.loss_params, Mapping):
        raise ValueError(f"loss_params must be a mapping of parameter -> value, got {cfg.loss_params!r}")
    params = dict(cfg.loss_params)
    misplaced = sorted(set(params) & set(_TAG_TABLE_PARAMS))
    if misplaced:
        raise ValueError(
            f"loss_params must not hold {misplaced[0]!r}; set the top-level field {misplaced[0]!r} instead"
        )
    return {"loss_params": params}


def _data_fields(cfg: RunConfig) -> dict[str, Any]:
    """dataset (a :data:`mlc.datasets.DATASET_NAMES` name) and its tags; data_name/data_fingerprint as text."""
    dataset = checks.one_of(cfg.dataset, "dataset", datasets.DATASET_NAMES)
    datasets.check_tags(dataset, cfg.classes)
    out: dict[str, Any] = {"dataset": dataset}
    for name, most in (("data_name", 200), ("data_fingerprint", 64)):
        value = getattr(cfg, name)
        if not isinstance(value, str) or len(value) > most:
            raise ValueError(f"{name} must be text of at most {most} characters, got {short_repr(value)}")
        out[name] = value
    return out


def _label_fields(cfg: RunConfig) -> dict[str, Any]:
    """missing_positives in [0, 1), missing_as and single_positive (:mod:`mlc.label_problems`)."""
    return label_problems.check_knobs(cfg.missing_positives, cfg.missing_as, cfg.single_positive)


def _shortcut_fields(cfg: RunConfig) -> dict[str, Any]:
    """cooccur_*: off ('' tag), or two different tags of a scenes config and two probabilities in [0, 1].

    >>> RunConfig(cooccur_tag="house", cooccur_with="house").cooccur_with
    Traceback (most recent call last):
    ...
    ValueError: cooccur_with must be a tag other than cooccur_tag ('house'), got 'house'
    """
    out: dict[str, Any] = {
        n: checks.number(getattr(cfg, n), n, *SHORTCUT[n][1]) for n in ("cooccur_train", "cooccur_test")
    }
    for name in ("cooccur_tag", "cooccur_with"):
        value = getattr(cfg, name)
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a tag name or '' (off), got {short_repr(value)}")
        out[name] = value.strip()
    if not out["cooccur_tag"]:
        if out["cooccur_with"]:
            raise ValueError(f"cooccur_with needs a cooccur_tag, got only cooccur_with={out['cooccur_with']!r}")
        return out
    if cfg.dataset != "scenes":
        raise ValueError(f"cooccur_tag: the shortcut scenario needs generated scenes, got dataset {cfg.dataset!r}")
    for name in ("cooccur_tag", "cooccur_with"):
        checks.one_of(out[name], name, cfg.classes)
    if out["cooccur_with"] == out["cooccur_tag"]:
        raise ValueError(
            f"cooccur_with must be a tag other than cooccur_tag ({out['cooccur_tag']!r}), got {out['cooccur_with']!r}"
        )
    return out


def parse_shortcut(text: str) -> dict[str, Any]:
    """The shortcut fields from ``tag:partner[:p_train[:p_test]]`` (the CLI's ``--shortcut``; '' = off).

    >>> parse_shortcut("house:tree:0.9")
    {'cooccur_tag': 'house', 'cooccur_with': 'tree', 'cooccur_train': 0.9, 'cooccur_test': 0.5}
    """
    if not text.strip():
        return {}
    parts = [p.strip() for p in text.split(":")]
    if not 2 <= len(parts) <= 4:
        raise ValueError(f"shortcut must be tag:partner[:p_train[:p_test]], e.g. house:tree:0.95:0.5, got {text!r}")
    out: dict[str, Any] = {"cooccur_tag": parts[0], "cooccur_with": parts[1]}
    for name, raw in zip(("cooccur_train", "cooccur_test"), parts[2:] + [None] * 2):
        if raw is None:
            out[name] = SHORTCUT[name][0]
            continue
        try:
            out[name] = float(raw)
        except ValueError:
            raise ValueError(f"{name} must be a number from 0 to 1, got {raw!r} (in shortcut {text!r})") from None
    return out


def shortcut_text(config: RunConfig) -> str:
    """The scenario as ``tag:partner:p_train:p_test`` ('' when off), the form :func:`parse_shortcut` reads.

    >>> shortcut_text(RunConfig(cooccur_tag="house", cooccur_with="tree"))
    'house:tree:0.95:0.5'
    """
    if not config.cooccur_tag:
        return ""
    return f"{config.cooccur_tag}:{config.cooccur_with}:{config.cooccur_train!r}:{config.cooccur_test!r}"


def cooccur(config: RunConfig, split: str) -> tuple[str, str, float] | None:
    """The planted co-occurrence of one split for :func:`mlc.data.make_dataset` (None when off).

    >>> cooccur(RunConfig(cooccur_tag="house", cooccur_with="tree"), "test")
    ('house', 'tree', 0.5)
    """
    if not config.cooccur_tag:
        return None
    p = config.cooccur_train if split == "train" else config.cooccur_test
    return (config.cooccur_tag, config.cooccur_with, p)


# ---------------------------------------------------------------- the tags table
#: Columns of the tags table the Train page edits: one row per tag.
TAG_COLUMNS = ("tag", "prevalence", "weight")


def tag_rows(config: RunConfig) -> list[dict[str, Any]]:
    """The tags table of a config: ``[{"tag", "prevalence", "weight"}, ...]``.

    >>> tag_rows(RunConfig())[1]
    {'tag': 'cat', 'prevalence': 0.05, 'weight': 1.0}
    """
    return [
        {"tag": c, "prevalence": p, "weight": w} for c, p, w in zip(config.classes, config.prevalence, config.weights)
    ]


def tag_table_problems(rows: list[Mapping[str, Any]]) -> list[str]:
    """Every problem in an edited tags table, one line each (empty list = valid).

    Rows are numbered from 1 as the visitor sees them.

    >>> problems = tag_table_problems([{"tag": "dog", "prevalence": 0.3, "weight": -1},
    ...                                {"tag": " Dog", "prevalence": 0.2, "weight": 1}])
    >>> for line in problems:
    ...     print(line)
    row 1 (dog): weight must be a finite number >= 0, got -1
    row 2: tag names must be unique (case-insensitive): 'Dog' repeats row 1
    """
    # the tag names by the one rule of mlc.checks (as RunConfig.classes), numbered as rows
    names = checks.tag_name_problems(
        [row.get("tag") for row in rows], data.MAX_CLASSES, what="the tags table", place=lambda i: f"row {i + 1}"
    )
    problems = [line for at, line in names if at is None]
    for i, row in enumerate(rows):
        name = checks.tag_text(row.get("tag"))
        label = f"row {i + 1} ({name})" if name else f"row {i + 1}"
        problems += [line for at, line in names if at == i]
        for column, lo, hi in (("prevalence", 0.0, 1.0), ("weight", 0.0, math.inf)):
            value = row.get(column)
            number = _table_number(value)
            if number is None or not (lo <= number <= hi):
                allowed = "in [0, 1]" if hi == 1.0 else ">= 0"
                shown = "empty" if value is None or (isinstance(value, float) and math.isnan(value)) else repr(value)
                problems.append(f"{label}: {column} must be a finite number {allowed}, got {shown}")
    return problems


def tags_from_table(rows: list[Mapping[str, Any]]) -> dict[str, tuple]:
    """``{"classes", "prevalence", "weights"}`` from a valid tags table; ValueError listing every problem."""
    problems = tag_table_problems(rows)
    if problems:
        raise ValueError("; ".join(problems))
    return {
        "classes": tuple(checks.tag_text(r["tag"]) for r in rows),
        "prevalence": tuple(float(r["prevalence"]) for r in rows),
        "weights": tuple(float(r["weight"]) for r in rows),
    }


def _table_number(value: Any) -> float | None:
    if isinstance(value, (bool, str)) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


#: How the Train page and the CLI derive weights from prevalence.
WEIGHT_RULES: dict[str, str] = {
    "inverse": "inverse frequency, 1/p, scaled to mean 1",
    "balanced": "class-balanced effective number (Cui et al. 2019), scaled to mean 1",
    "ratio": "negatives per positive, (1 - p)/p — meant for weighting='positive'",
    "ones": "every weight 1 (weighted_bce then equals bce)",
}


def derive_weights(rule: str, prevalence, train_size: int) -> list[float]:
    """Per-tag weights from prevalence by one of :data:`WEIGHT_RULES`.

    >>> [round(w, 2) for w in derive_weights("ratio", (0.5, 0.05), 1000)]
    [1.0, 19.0]
    """
    if rule == "inverse":
        return class_weights.inverse_frequency_weights(prevalence)
    if rule == "balanced":
        return class_weights.class_balanced_weights(prevalence, train_size)
    if rule == "ratio":
        return class_weights.positive_weights(prevalence)
    if rule == "ones":
        return [1.0] * len(prevalence)
    raise ValueError(f"weight rule must be one of: {', '.join(WEIGHT_RULES)}; got {rule!r}")


def fill_weights(rows: list[Mapping[str, Any]], rule: str, train_size: int) -> list[dict[str, Any]]:
    """A copy of a valid tags table with its weights derived by ``rule`` (rounded to 4 digits).

    >>> fill_weights([{"tag": "a", "prevalence": 0.2, "weight": 1.0}], "ratio", 100)
    [{'tag': 'a', 'prevalence': 0.2, 'weight': 4.0}]
    """
    tags = tags_from_table(rows)
    weights = derive_weights(rule, tags["prevalence"], train_size)
    return [
        {"tag": c, "prevalence": p, "weight": round(float(w), 4)}
        for c, p, w in zip(tags["classes"], tags["prevalence"], weights)
    ]


def weighting_lesson(base: RunConfig) -> dict[str, RunConfig]:
    """The three runs that show what class weighting does (same data, seed and budget).

    ``bce``; ``tag``: the article's weighted_bce, inverse-frequency weights scaling
    each tag's whole BCE; ``positive``: (1 - p)/p weights on the positive term only.

    >>> {k: (c.loss, c.weighting) for k, c in weighting_lesson(RunConfig()).items()}
    {'bce': ('bce', 'tag'), 'tag': ('weighted_bce', 'tag'), 'positive': ('weighted_bce', 'positive')}
    """
    return {
        "bce": base.replace(loss="bce"),
        "tag": base.replace(
            loss="weighted_bce", weights=derive_weights("inverse", base.prevalence, base.train_size), weighting="tag"
        ),
        "positive": base.replace(
            loss="weighted_bce", weights=derive_weights("ratio", base.prevalence, base.train_size), weighting="positive"
        ),
    }


#: The Predict page's one-click model when a visitor has no run yet: the default
#: setup on fewer scenes, mAP about 0.95 (the page shows the time :mod:`mlc.speed` expects on this server).
QUICK_RUN = RunConfig(epochs=6, train_size=5000, val_size=1000)
