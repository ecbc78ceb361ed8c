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

from mlc import losses
from mlc.config import RunConfig, tags_from_table
from mlc.states import JobState

#: Losses that regress soft labels: with them the data is always soft.
SOFT_LABEL_LOSSES = ("mse",)
#: How the form's values become RunConfig fields (whole numbers, numbers, switches; the rest as they are).
_WHOLE = ("epochs", "batch_size", "train_size", "val_size", "seed")
_NUMBER = ("learning_rate", "label_noise")
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
    values["soft_labels"] = soft_labels(values.get("loss", RunConfig.loss), values.get("soft_labels", False))
    return RunConfig(**values, loss_params=dict(loss_params), **tags_from_table(list(rows)))


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
