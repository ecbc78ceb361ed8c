"""The Learn page's explanations, computed: shapes, sigmoid vs softmax, and a loss calculator.

Every number comes from the real objects the app trains with: layer shapes from
a built :mod:`mlc.models` model, loss values from the registered
:mod:`mlc.losses` classes (the same ones ``fit`` uses).

>>> frame = activations_frame([2.0, 2.0, -1.0], ["dog", "sky", "cat"])
>>> frame.groupby("activation")["value"].sum().round(3).to_dict()
{'sigmoid': 2.031, 'softmax': 1.0}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlc import models
from mlc.config import RunConfig
from mlc.data import make_dataset
from mlc.loss_params import loss_info, loss_names

#: Probabilities are clipped into [EPS, 1 - EPS] before turning them into logits.
EPS = 1e-6


# ---------------------------------------------------------------- shapes
def framework_versions() -> dict[str, str]:
    """The installed TensorFlow and Keras versions, which every lesson on the Learn page runs on.

    >>> sorted(framework_versions())
    ['keras', 'tensorflow']
    """
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}


def layer_table(model_name: str, num_classes: int, image_size: int = 64) -> pd.DataFrame:
    """Every layer of the real model: name, type, output shape (batch as ``None``), parameters.

    >>> table = layer_table("seed_cnn", 5)
    >>> table.iloc[-2][["type", "output shape"]].tolist()  # the last layer; the last row is the total
    ['Dense', '(None, 5)']
    """
    with models.backbone_weights(None):  # shapes only: no need to download pretrained weights
        model = models.build(model_name, num_classes, image_size)
    rows = [
        {
            "layer": "input",
            "type": "InputLayer",
            "output shape": str((None, image_size, image_size, 3)),
            "parameters": 0,
        }
    ]
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape) if shape is not None else ()
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": str(shape),
                "parameters": int(layer.count_params()),
            }
        )
    rows.append({"layer": "total", "type": "", "output shape": "", "parameters": int(model.count_params())})
    return pd.DataFrame(rows)


def tensor_shapes(config: RunConfig) -> pd.DataFrame:
    """The arrays ``fit`` sees for ``config``: one batch of images, multi-hot targets,
    what single-label targets would look like instead, and the model's outputs.

    >>> tensor_shapes(RunConfig())["shape"].tolist()
    ['(64, 64, 64, 3)', '(64, 5)', '(64, 5) or (64,)', '(64, 5)']
    """
    b, c, s = config.batch_size, config.num_classes, config.image_size
    target = (
        "soft labels: strength of each tag in [0, 1]"
        if config.soft_labels
        else "multi-hot: 1 for every tag present, any number of 1s"
    )
    return pd.DataFrame(
        [
            {
                "array": "x, one batch of images",
                "shape": str((b, s, s, 3)),
                "dtype": "float32 (uint8 in memory)",
                "meaning": IMAGE_MEANING.get(config.dataset, "RGB in [0, 1]"),
            },
            {"array": "y_true, multi-label (this app)", "shape": str((b, c)), "dtype": "float32", "meaning": target},
            {
                "array": "y_true, single-label (for contrast)",
                "shape": f"{(b, c)} or {(b,)}",
                "dtype": "float32 / int",
                "meaning": "one-hot with exactly one 1, or the class index (sparse)",
            },
            {
                "array": "y_pred, model output",
                "shape": str((b, c)),
                "dtype": "float32",
                "meaning": "one logit per tag; sigmoid gives an independent probability per tag",
            },
        ]
    )


#: What ``x`` holds for each data set (the Shapes lesson).
IMAGE_MEANING = {
    "scenes": "generated scenes, RGB in [0, 1]",
    "digits": "canvases of real handwritten digits, RGB in [0, 1]",
    "own": "your images, resized to the model's input, RGB in [0, 1]",
}


def sample_image(config: RunConfig, seed: int = 0, source: Any = None) -> tuple[np.ndarray, np.ndarray, str]:
    """One image (S, S, 3) float32 of ``config``'s data set, its target (C,) and what it is.

    Scenes are generated; digits come from the data set's validation pool (clean
    targets); own images from ``source`` (an :class:`mlc.imagesets.ImageSet`, or a
    mapping of them by fingerprint), image ``seed`` modulo their number, else a
    ``ValueError`` saying the images are not here.

    >>> x, y, what = sample_image(RunConfig(image_size=32), seed=3)
    >>> x.shape, y.shape, what
    ((32, 32, 3), (5,), 'generated scene 3')
    """
    if config.dataset == "scenes":
        x, y = make_dataset(
            1,
            classes=config.classes,
            prevalence=config.prevalence,
            soft_labels=config.soft_labels,
            seed=seed,
            image_size=config.image_size,
        )
        return x[0], y[0], f"generated scene {seed}"
    if config.dataset != "own":
        from mlc import datasets

        x, y = datasets.make_splits(config.replace(train_size=1, val_size=1, test_size=1, seed=seed)).val
        return np.asarray(x[0], np.float32), np.asarray(y[0], np.float32), f"{config.dataset} image {seed}"
    from mlc.inference import own_image_set

    images = own_image_set(source, config.data_fingerprint)
    if images is None:
        raise ValueError(f"your images ({config.data_name or 'unnamed'}) are not loaded: load them on the Train page")
    i = int(seed) % len(images.labels)
    x = images.images_at(config.image_size)[i].astype(np.float32) / np.float32(255)
    y = np.asarray(images.labels, np.float32)[i, images.columns(config.classes)]
    path = images.paths[i] if getattr(images, "paths", None) is not None else f"image {i}"
    return x, y, f"{path} ({config.data_name or 'your images'})"


def sample_target(config: RunConfig, seed: int = 0, source: Any = None) -> tuple[np.ndarray, pd.DataFrame]:
    """One image of the config's data (:func:`sample_image`) and its :func:`target_frame`."""
    image, row, _ = sample_image(config, seed, source)
    return image, target_frame(config.classes, row)


def target_frame(classes: Sequence[str], row: np.ndarray) -> pd.DataFrame:
    """Tidy (tag, value, target) rows of one target vector (C,) as multi-hot (the truth) and as the
    one-hot a single-label model would be forced to learn (only the first present tag).

    >>> target_frame(["a", "b"], np.array([1.0, 1.0]))["value"].tolist()
    [1.0, 1.0, 1.0, 0.0]
    """
    row = np.asarray(row, np.float32)
    onehot = np.zeros_like(row)
    present = np.flatnonzero(row >= 0.5)
    if present.size:
        onehot[present[0]] = 1.0
    return pd.concat(
        [
            pd.DataFrame({"tag": list(classes), "value": row, "target": "multi-label y_true (this image)"}),
            pd.DataFrame({"tag": list(classes), "value": onehot, "target": "single-label one-hot (loses the rest)"}),
        ],
        ignore_index=True,
    )


# ---------------------------------------------------------------- sigmoid vs softmax
def sigmoid(z: Any) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise, float64.

    >>> sigmoid([0.0]).tolist()
    [0.5]
    """
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def softmax(z: Any) -> np.ndarray:
    """exp(z_c) / sum_k exp(z_k) over the last axis, float64 (shifted by the max for stability).

    >>> softmax([1000.0, 1000.0]).tolist()
    [0.5, 0.5]
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def activations_frame(logits: Sequence[float], classes: Sequence[str]) -> pd.DataFrame:
    """Tidy (tag, logit, activation, value) rows: sigmoid and softmax of the same logits (C,)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.shape != (len(classes),):
        raise ValueError(f"logits must have one value per tag ({len(classes)}), got {z.size}")
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite numbers")
    return pd.concat(
        [
            pd.DataFrame({"tag": list(classes), "logit": z, "activation": "sigmoid", "value": sigmoid(z)}),
            pd.DataFrame({"tag": list(classes), "logit": z, "activation": "softmax", "value": softmax(z)}),
        ],
        ignore_index=True,
    )


# ---------------------------------------------------------------- loss calculator
def calculator_rows(classes: Sequence[str], weights: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """A starting table for the loss calculator: a confident hit, a missed rare tag, a true
    negative, a false alarm and a near miss (cycled over the tags)."""
    examples = [(1.0, 0.9), (1.0, 0.2), (0.0, 0.1), (0.0, 0.6), (1.0, 0.55)]
    weights = list(weights) if weights is not None else [1.0] * len(classes)
    return [
        {"tag": tag, "target": examples[i % 5][0], "probability": examples[i % 5][1], "weight": float(weights[i])}
        for i, tag in enumerate(classes)
    ]


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    values = []
    for i, row in enumerate(rows, start=1):
        v = row.get(key)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"row {i}: {key} must be a number, got {v!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"row {i}: {key} must be a finite number, got {v!r}")
        values.append(v)
    return np.array(values, dtype=np.float64)


def loss_table(
    rows: Sequence[Mapping[str, Any]],
    *,
    weighting: str = "tag",
    loss_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-element value of every registered loss for rows of (tag, target, probability, weight).

    The probabilities p become logits z = log(p / (1 - p)) (p clipped to
    [1e-6, 1 - 1e-6]) and go through :func:`mlc.losses.elementwise` — the loss
    classes training uses. ``weighted_bce`` takes the ``weight`` column and
    ``weighting``; other losses use their registry defaults unless
    ``loss_params[name]`` overrides them. Returns the per-element table (one
    column per loss) and each loss's total for this one sample: the mean over
    tags, as Keras reduces a (1, C) batch.

    >>> table, totals = loss_table([{"tag": "dog", "target": 1, "probability": 0.5, "weight": 2}])
    >>> round(float(table.loc[0, "bce"]), 4), round(totals["weighted_bce"], 4)
    (0.6931, 1.3863)
    """
    if not rows:
        raise ValueError("the calculator needs at least one row (tag, target, probability, weight)")
    y = _column(rows, "target")
    p = _column(rows, "probability")
    w = _column(rows, "weight")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"targets must lie in [0, 1] (1 = present, soft values allowed), got {y.tolist()}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"probabilities must lie in [0, 1], got {p.tolist()}")
    if np.any(w < 0):
        raise ValueError(f"weights must be >= 0, got {w.tolist()}")
    pc = np.clip(p, EPS, 1 - EPS)
    z = np.log(pc / (1 - pc))
    table = pd.DataFrame({"tag": [str(r.get("tag", "")) for r in rows], "target": y, "probability": p, "logit": z})
    from mlc import losses  # imports Keras: the values come from the classes training uses

    totals = {}
    overrides = dict(loss_params or {})
    for name in losses.LOSSES:
        params = losses.defaults(name, n_tags=len(rows))
        params.update(overrides.get(name, {}))
        if "weights" in params:
            params["weights"] = w.tolist()
        if "weighting" in params:
            params["weighting"] = weighting
        values = losses.elementwise(name, y[None, :], z[None, :], **params)[0]  # (C,)
        table[name] = values
        totals[name] = float(values.mean())
    return table, totals


def calculator_weights(config: RunConfig) -> list[float]:
    """The calculator's starting weights: the config's own when its loss uses weights, else the
    inverse frequency of its tags' prevalence (what weighting would start from).

    >>> [round(w, 2) for w in calculator_weights(RunConfig(classes=("a", "b"), prevalence=(0.5, 0.25)))]
    [0.67, 1.33]
    """
    from mlc.config import derive_weights

    if "weights" in config.loss_kwargs():
        return list(config.weights)
    return derive_weights("inverse", config.prevalence, config.train_size)


def activation_sums(frame: pd.DataFrame) -> dict[str, float]:
    """The sum over tags of each activation in an :func:`activations_frame` (softmax's is always 1).

    >>> {k: round(v, 3) for k, v in activation_sums(activations_frame([0.0, 0.0], ["a", "b"])).items()}
    {'sigmoid': 1.0, 'softmax': 1.0}
    """
    return {name: float(value) for name, value in frame.groupby("activation")["value"].sum().items()}


# ---------------------------------------------------------------- the registries, for reading
def loss_modes() -> pd.DataFrame:
    """One row per registered loss: its name (as code), what it does, and its formula.

    >>> loss_modes().columns.tolist()
    ['Mode', 'What it does', 'Per tag and scene (z = logit, y = target)']
    """
    names = loss_names()  # the registry's words without importing Keras (the home page shows them)
    return pd.DataFrame(
        {
            "Mode": [f"`{name}`" for name in names],
            "What it does": [loss_info(name).description for name in names],
            "Per tag and scene (z = logit, y = target)": [loss_info(name).formula for name in names],
        }
    )


def export_choices(current: RunConfig, runs: Sequence[Any]) -> dict[str, RunConfig]:
    """The configurations a script can be exported for: the Train page's current one, then each run's, newest first.

    >>> list(export_choices(RunConfig(), []))
    ["the Train page's current settings"]
    """
    choices = {"the Train page's current settings": current}
    choices.update({f"run {run.label}": run.config for run in reversed(list(runs))})
    return choices
