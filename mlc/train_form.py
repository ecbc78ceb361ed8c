"""The Train page's form as plain decisions: which inputs a loss needs, the config the inputs make,
and how often the page asks about a training.

Widgets hand their values over as they are (Streamlit number inputs may give
floats for whole numbers); :func:`config_from_form` turns them into the one
validated :class:`~mlc.config.RunConfig`, or raises ValueError saying why not.

>>> uses_weights("weighted_bce"), uses_weights("focal")
(True, False)
>>> soft_labels("mse", False), soft_labels("bce", False)
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlc import datasets, losses
from mlc.checks import tag_text
from mlc.config import RunConfig, tags_from_table
from mlc.states import JobState

#: Losses that regress soft labels: with them the data is always soft.
SOFT_LABEL_LOSSES = ("mse",)
#: How the form's values become RunConfig fields (whole numbers, numbers, switches; the rest as they are).
_WHOLE = ("epochs", "batch_size", "train_size", "val_size", "test_size", "seed")
_NUMBER = ("learning_rate", "label_noise", "missing_positives", "cooccur_train", "cooccur_test")
#: What the Train page's "Label problems" expander says (mlc.label_problems).
LABEL_PROBLEMS_HINT = (
    "Damage the training labels on purpose (label noise flips targets; here: hide positives, "
    "or keep one per image). Validation and test keep every label, so the damage is measured honestly. Unknown "
    "targets (-1) need bce (its unknown parameter: assume negative or ignore), zlpr or two_way."
)
#: The label-noise slider's help (every data set: mlc.label_problems applies it where the generator does not).
LABEL_NOISE_HINT = (
    "Each training target flips 0 ↔ 1 with this probability; validation and test keep the true labels. "
    "Your own images: only their known cells flip (unknown ones stay unknown)."
)
#: Seconds between two looks at a training, and at one waiting in line (its place changes slowly).
POLL_SECONDS, POLL_SECONDS_IN_LINE = 1.0, 2.0


def uses_weights(loss: str) -> bool:
    """Whether ``loss`` takes the tags table's weights (and the weighting choice)."""
    return "weights" in losses.params(loss)


def forces_soft_labels(loss: str) -> bool:
    """Whether ``loss`` only makes sense on soft labels (the switch is then on and locked)."""
    return loss in SOFT_LABEL_LOSSES


def soft_labels(loss: str, chosen: bool) -> bool:
    """The soft-labels setting a run gets: the visitor's choice, or on for a soft-label loss."""
    return bool(chosen) or forces_soft_labels(loss)


def config_from_form(
    fields: Mapping[str, Any], loss_params: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> RunConfig:
    """The run the form describes: its fields (see :data:`mlc.share.FORM_FIELDS`), the loss's
    parameters and the tags table. ValueError (every problem of the table, or the config's) if invalid.

    >>> rows = [{"tag": "dog", "prevalence": 0.3, "weight": 1.0}]
    >>> config_from_form({"loss": "mse", "epochs": 2.0, "soft_labels": False}, {}, rows).soft_labels
    True
    """
    values: dict[str, Any] = dict(fields)
    for name in _WHOLE:
        if name in values:
            values[name] = int(values[name])
    for name in _NUMBER:
        if name in values:
            values[name] = float(values[name])
    loss = values.get("loss", RunConfig.loss)
    values["soft_labels"] = soft_labels(loss, values.get("soft_labels", False))
    specs = losses.params(loss) if loss in losses.LOSSES else {}
    if all(specs[k].default == v for k, v in loss_params.items() if k in specs):
        loss_params = {}  # every parameter at its declared default: the plain loss (bce's form is RunConfig())
    return RunConfig(**values, loss_params=dict(loss_params), **tags_from_table(list(rows)))


def config_for_dataset(dataset: str, current: RunConfig, image_set: Any = None) -> RunConfig:
    """The config the form shows once the visitor picks ``dataset``: ``current``'s training settings, the
    data set's tags and prevalence (own images: theirs, measured; weights back to 1).

    >>> digits = config_for_dataset("digits", RunConfig(loss="focal"))
    >>> digits.classes[:3], digits.loss
    (('0', '1', '2'), 'focal')
    >>> config_for_dataset("scenes", RunConfig(dataset="digits", classes=("3",))).classes
    ('dog', 'cat', 'house', 'tree', 'sky')
    """
    fresh = dict(classes=None, prevalence=None, weights=None, data_name="", data_fingerprint="")
    if dataset == "own":
        if image_set is None:
            raise ValueError("choose your own images: upload a .zip first")
        # own labels start as given (0/1, unknown cells -1): no soft labels and no added noise until the visitor
        # moves the label-noise slider (mlc.label_problems.add_noise flips their known training cells)
        base = current.replace(dataset="own", **dict(fresh, classes=image_set.tags), soft_labels=False, label_noise=0.0)
        return image_set.config_for(base)
    defaults = RunConfig()
    sizes = {name: getattr(defaults, name) for name in ("train_size", "val_size", "test_size")}
    sizes = sizes if current.dataset == "own" else {}  # leaving own images: back to the generated sizes
    return current.replace(dataset=dataset, **fresh, **sizes)


def own_config(fields: Mapping[str, Any], loss_params: Mapping[str, Any], rows, image_set: Any) -> RunConfig:
    """:func:`config_from_form` for own images: the tags table picks which of their tags to train (its
    prevalence column is theirs, measured), and the split sizes, name and fingerprint come from the images.

    ValueError for a tag the images do not have, or one they hold no positive of
    (:func:`mlc.imagesets.training_problems`).
    """
    from mlc.imagesets import training_problems

    named = tags_from_table(list(rows))["classes"]
    unknown = [t for t in named if t not in image_set.tags]
    if unknown:
        raise ValueError(
            f"tag {unknown[0]!r} is not in your images; their tags are: {', '.join(image_set.tags)} "
            "(remove rows to train on fewer of them)"
        )
    refused = training_problems(image_set, named, fields.get("loss", RunConfig.loss))
    if refused:
        raise ValueError("; ".join(refused))
    fixed = image_set.config_for(RunConfig(dataset="own", classes=image_set.tags))
    measured = dict(zip(fixed.classes, fixed.prevalence))
    table = [dict(row, prevalence=measured[tag_text(row["tag"])]) for row in rows]
    values = dict(fields, dataset="own", data_name=fixed.data_name, data_fingerprint=fixed.data_fingerprint)
    values.update(train_size=fixed.train_size, val_size=fixed.val_size, test_size=fixed.test_size)
    values["image_size"] = values.get("image_size", fixed.image_size)
    return config_from_form(values, loss_params, table)


def dataset_choices() -> list[str]:
    """The data sets the Train page offers, in registry order.

    >>> dataset_choices()
    ['scenes', 'digits', 'own']
    """
    return list(datasets.DATASETS)


def batches_per_epoch(config: RunConfig) -> int:
    """Optimizer steps in one epoch, ``ceil(train_size / batch_size)``.

    >>> batches_per_epoch(RunConfig(train_size=100, batch_size=32))
    4
    """
    return -(-config.train_size // config.batch_size)


def poll_seconds(alive: bool, state: str | None = None) -> float | None:
    """How often the page looks at a job: not at all once its worker has ended (or without a job),
    half as often while it waits in line for a slot (its place changes slowly).

    >>> poll_seconds(True, "running"), poll_seconds(True, "waiting"), poll_seconds(False, "finished")
    (1.0, 2.0, None)
    """
    if not alive:
        return None
    return POLL_SECONDS_IN_LINE if state is not None and JobState(state).in_line else POLL_SECONDS


def unweighted_note(loss: str, weights: Sequence[float], *, cli: bool = False) -> str | None:
    """The line to show when a weighted loss has every weight 1: it then trains exactly as ``bce`` does.

    >>> unweighted_note("weighted_bce", (1.0, 1.0)).startswith("every tag weight is 1, so weighted_bce trains exactly")
    True
    >>> unweighted_note("weighted_bce", (1, 19)) is None, unweighted_note("bce", (1, 1)) is None
    (True, True)
    """
    if not uses_weights(loss) or any(float(w) != 1.0 for w in weights):
        return None
    how = (
        "give --auto-weights ratio|inverse|balanced (or --weights)"
        if cli
        else "fill the weights from prevalence ((1−p)/p, inverse frequency or class-balanced)"
    )
    return f"every tag weight is 1, so {loss} trains exactly as bce does: {how}"
