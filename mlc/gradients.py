"""The gradient microscope: where each tag's gradient on its logit comes from.

For a loss ``L`` (a registered :mod:`mlc.losses` loss with the reduction training uses:
the mean over the batch of the mean over tags) and a batch of targets ``y`` and logits
``z``, both ``(B, C)``, the per-element gradient is

    ``g[b, c] = B · ∂L/∂z[b, c]``

(from ``tf.GradientTape`` on the logits, so it is exact for every loss, the set losses
``zlpr`` / ``two_way`` included; the factor ``B`` makes it the gradient of one image's loss,
independent of the batch size). Per tag ``c``:

* ``total[c]    = (1/B) Σ_b |g[b, c]|``
* ``positive[c] = (1/B) Σ_{b: y >= 0.5} |g[b, c]|`` (cells with a positive target)
* ``negative[c] = (1/B) Σ_{b: 0 <= y < 0.5} |g[b, c]|`` (negative targets)
* ``unknown[c]  = (1/B) Σ_{b: y = -1} |g[b, c]|`` (partial labels: their own share; 0 when
  the loss ignores them, e.g. ``bce(unknown="ignore")``, ``zlpr``; not 0 under
  ``unknown="negative"``, which trains them as negatives)

so ``positive + negative + unknown == total`` exactly. A rare tag under ``bce`` has few
positive cells, so from a bias of 0 (p = 0.5) most of its gradient comes from negatives; the
default start at each tag's prior log-odds (:mod:`mlc.logit_prior`) balances the two pulls at
step 0, and ``weighted_bce`` with positive weights, ``focal`` and ``asl`` move the balance
toward the positives (Lin et al. 2017; Ridnik et al. 2021).

>>> from mlc import losses
>>> rows = split(losses.get("bce"), [[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], ("a", "b"))
>>> [(r.tag, round(r.positive, 3), round(r.negative, 3)) for r in rows]
[('a', 0.125, 0.125), ('b', 0.0, 0.25)]
>>> reading(rows[1])
'b: negatives give 100 % of its gradient'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

from mlc.loss_params import UNKNOWN

__all__ = [
    "PARTS",
    "TagGradient",
    "element_gradients",
    "split_sums",
    "split",
    "shares",
    "reading",
    "history_rows",
    "table",
    "latest",
    "from_epochs",
    "GradientSplit",
    "PROBE_SIZE",
]

#: The parts of a tag's gradient, in the order of :func:`split_sums`' rows.
PARTS = ("positive", "negative", "unknown")
#: Size of the fixed validation probe batch (its first images) measured after every epoch.
PROBE_SIZE = 256
#: ``source`` of a history row: 0 = the training batches of the epoch, 1 = the validation probe.
SOURCES = ("train", "probe")


@dataclass(frozen=True)
class TagGradient:
    """One tag's mean |∂L/∂z| split by target: ``positive + negative + unknown == total``."""

    tag: str
    total: float
    positive: float
    negative: float
    unknown: float = 0.0

    def share(self, part: str) -> float:
        """``part / total`` (NaN when the tag has no gradient at all).

        >>> TagGradient("sky", 1.0, 0.25, 0.75).share("negative")
        0.75
        """
        if part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
        value = getattr(self, part)
        return value / self.total if self.total > 0 else float("nan")


def element_gradients(loss, y_true, logits) -> tf.Tensor:
    """``g = B · ∂L/∂z``, shape ``(B, C)``, with ``L = loss(y_true, logits)`` as training reduces it.

    >>> from mlc import losses
    >>> np.round(element_gradients(losses.get("bce"), [[1.0, 0.0]], [[0.0, 0.0]]).numpy(), 3).tolist()
    [[-0.25, 0.25]]
    """
    z = tf.convert_to_tensor(logits, dtype=tf.float32)
    y = tf.cast(tf.convert_to_tensor(y_true), z.dtype)
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = loss(y, z)
    return tape.gradient(value, z) * tf.cast(tf.shape(z)[0], z.dtype)


def split_sums(loss, y_true, logits) -> tf.Tensor:
    """Sums over the batch of ``|g|`` per part and tag, shape ``(3, C)``: rows positive, negative, unknown.

    Graph-friendly (the :class:`GradientSplit` metric runs it inside the training step).

    >>> from mlc import losses
    >>> split_sums(losses.get("bce"), [[1.0, -1.0]], [[0.0, 0.0]]).numpy().round(3).tolist()  # -1 trained as 0
    [[0.25, 0.0], [0.0, 0.0], [0.0, 0.25]]
    """
    g = tf.abs(element_gradients(loss, y_true, logits))
    y = tf.cast(tf.convert_to_tensor(y_true), g.dtype)
    unknown = tf.cast(y <= UNKNOWN / 2, g.dtype)
    positive = tf.cast(y >= 0.5, g.dtype)
    negative = 1.0 - positive - unknown
    return tf.stack([tf.reduce_sum(g * m, axis=0) for m in (positive, negative, unknown)])


def _rows_from(sums: np.ndarray, count: float, classes: Sequence[str]) -> list[TagGradient]:
    sums = np.asarray(sums, dtype=np.float64) / max(float(count), 1.0)
    if len(classes) != sums.shape[1]:
        raise ValueError(f"classes must name every tag ({sums.shape[1]}), got {len(classes)}")
    return [
        TagGradient(str(tag), float(sums[:, c].sum()), float(sums[0, c]), float(sums[1, c]), float(sums[2, c]))
        for c, tag in enumerate(classes)
    ]


def split(loss, y_true, logits, classes: Sequence[str] | None = None) -> list[TagGradient]:
    """One :class:`TagGradient` per tag for a batch ``(B, C)`` (tags named ``classes``, default ``0..C-1``)."""
    sums = split_sums(loss, y_true, logits).numpy()
    names = classes if classes is not None else [str(c) for c in range(sums.shape[1])]
    return _rows_from(sums, np.shape(logits)[0], names)


def shares(rows: Sequence[TagGradient]) -> list[dict]:
    """Per tag ``{tag, positive, negative, unknown}`` as fractions of its total (NaN for no gradient).

    >>> shares([TagGradient("sky", 2.0, 0.5, 1.5)])
    [{'tag': 'sky', 'positive': 0.25, 'negative': 0.75, 'unknown': 0.0}]
    """
    return [{"tag": r.tag, **{p: r.share(p) for p in PARTS}} for r in rows]


def reading(row: TagGradient) -> str:
    """One line in words: which targets give most of the tag's gradient.

    >>> reading(TagGradient("dog", 1.0, 0.6, 0.4))
    'dog: positives give 60 % of its gradient'
    """
    if not row.total > 0:
        return f"{row.tag}: no gradient (the loss is flat here)"
    part = max(PARTS, key=lambda p: getattr(row, p))
    word = {"positive": "positives", "negative": "negatives", "unknown": "unknown targets"}[part]
    return f"{row.tag}: {word} give {round(100 * row.share(part))} % of its gradient"


def history_rows(epoch: int, source: str, rows: Sequence[TagGradient]) -> list[dict]:
    """Rows for ``Run.gradients`` (numbers only): ``{epoch, source, tag, total, positive, negative, unknown}``.

    ``source`` is 0 for the training batches, 1 for the validation probe; ``tag`` is the tag's index.

    >>> history_rows(1, "probe", [TagGradient("a", 1.0, 0.5, 0.5)])[0]["source"]
    1
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    keep = ("total", *PARTS)
    return [
        {"epoch": epoch, "source": SOURCES.index(source), "tag": c, **{k: asdict(r)[k] for k in keep}}
        for c, r in enumerate(rows)
    ]


def table(history: Sequence[Mapping], classes: Sequence[str]) -> list[dict]:
    """``Run.gradients`` rows made readable: ``source`` and ``tag`` by name, plus each part's share.

    >>> table([{"epoch": 1, "source": 0, "tag": 1, "total": 2.0, "positive": 0.5, "negative": 1.5,
    ...         "unknown": 0.0}], ("dog", "sky"))[0]["negative_share"]
    0.75
    """
    out = []
    for row in history:
        tag, source = int(row["tag"]), int(row["source"])
        if not (0 <= tag < len(classes) and 0 <= source < len(SOURCES)):
            continue  # a row of another tag list: not this run's
        total = float(row["total"])
        readable = {"epoch": int(row["epoch"]), "source": SOURCES[source], "tag": classes[tag], "total": total}
        for part in PARTS:
            value = float(row[part])
            readable[part] = value
            readable[f"{part}_share"] = value / total if total > 0 and math.isfinite(value) else float("nan")
        out.append(readable)
    return out


def latest(history: Sequence[Mapping], classes: Sequence[str], source: str = "probe") -> list[TagGradient]:
    """The last epoch's :class:`TagGradient` rows of ``source`` (empty without any).

    >>> latest([{"epoch": 1, "source": 1, "tag": 0, "total": 1.0, "positive": 0.1, "negative": 0.9,
    ...          "unknown": 0.0}], ("sky",))[0].negative
    0.9
    """
    rows = [r for r in table(history, classes) if r["source"] == source]
    if not rows:
        return []
    last = max(r["epoch"] for r in rows)
    return [TagGradient(r["tag"], r["total"], *(r[p] for p in PARTS)) for r in rows if r["epoch"] == last]


def from_epochs(epoch_history: Sequence[Mapping]) -> list[dict]:
    """The ``Run.gradients`` rows carried by live epoch rows (their ``gradients`` key; a job's epoch events).

    >>> from_epochs([{"epoch": 1, "gradients": [{"epoch": 1, "tag": 0}]}, {"epoch": 2}])
    [{'epoch': 1, 'tag': 0}]
    """
    return [g for row in epoch_history for g in (row.get("gradients") or ())]


#: The Learn tab's targets for one logit: present, absent, unknown (partial labels).
TARGETS = {"1 (present)": 1.0, "0 (absent)": 0.0, "unknown (-1)": UNKNOWN}
#: Losses that compare a row's logits (one tag per row here) and are computed one z at a time.
_SET_LOSSES = ("zlpr", "two_way")
#: Parameters the curves use instead of the defaults: weighted_bce with all-ones weights would be bce.
CURVE_PARAMS = {"weighted_bce": {"weights": [4.0], "weighting": "positive"}}


#: Losses whose value couples the images of a batch (two_way's batch-wise term).
_BATCH_LOSSES = ("two_way",)


def _one_at_a_time(loss, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loss and gradient of each (1, 1) batch ``(y[i], z[i])``, in one traced ``tf.map_fn``."""

    @tf.function
    def both(ys, zs):
        def one(pair):
            yi, zi = pair[0][None], pair[1][None]
            with tf.GradientTape() as tape:
                tape.watch(zi)
                value = loss(yi, zi)
            return value, tape.gradient(value, zi)[0]

        return tf.map_fn(one, (ys, zs), fn_output_signature=(tf.float32, tf.float32))

    values, grads = both(tf.constant(y), tf.constant(z))
    return values.numpy().reshape(-1), grads.numpy().reshape(-1)


def curve_losses() -> list[str]:
    """Every registered loss mode, in registry order (the curves' choices)."""
    from mlc import losses

    return list(losses.LOSSES)


def curves(names: Sequence[str], target: float, z_range=(-8.0, 8.0), points: int = 161):
    """Loss ``l(z)`` and gradient ``∂l/∂z`` of each loss over one logit: a frame (mode, z, loss, gradient), notes.

    The loss is the registered one with its defaults (``weighted_bce``: ``CURVE_PARAMS``), called on a
    one-tag batch as training calls it (:func:`element_gradients`). ``zlpr`` / ``two_way`` compare a row's
    logits, so here each z is a single-tag row of its own; a loss that refuses an unknown target is left
    out with a note.

    >>> frame, notes = curves(["bce"], 1.0, points=3)
    >>> frame[["z", "loss", "gradient"]].round(4).values.tolist()
    [[-8.0, 8.0003, -0.9997], [0.0, 0.6931, -0.5], [8.0, 0.0003, -0.0003]]
    """
    import pandas as pd

    from mlc import losses

    z = np.linspace(z_range[0], z_range[1], points, dtype=np.float32)[:, None]  # (N, 1)
    frames, notes = [], []
    for name in names:
        params = CURVE_PARAMS.get(name, {}) or losses.defaults(name, n_tags=1)
        loss = losses.get(name, **params)
        if target == UNKNOWN and not loss.accepts_unknown:
            notes.append(f"{name}: refuses unknown targets, so it has no curve here.")
            continue
        y = np.full_like(z, target)
        if name in _BATCH_LOSSES:  # the batch couples the images: one single-image batch per z
            values, grads = _one_at_a_time(loss, y, z)
        else:  # zlpr's rows and every per-element loss are independent: one (N, 1) batch
            values = np.asarray(keras.ops.convert_to_numpy(loss.elementwise(y, z)))[:, 0]
            grads = element_gradients(loss, y, z).numpy()[:, 0]
        if not np.any(grads):
            why = (
                "it leaves an unknown target out of its sums"
                if target == UNKNOWN
                else "a one-tag row has nothing to compare"
            )
            notes.append(f"{name}: a flat line at 0 here (its gradient is 0 for every z): {why}.")
        label = name if name not in CURVE_PARAMS else f"{name} (positive, weight {params['weights'][0]:g})"
        frames.append(pd.DataFrame({"mode": label, "z": z[:, 0], "loss": values, "gradient": grads}))
    if target == UNKNOWN and "bce" in names:
        notes.append("bce's default unknown='negative' trains an unknown as a 0; with unknown='ignore' it gives 0.")
    if any(n in _SET_LOSSES for n in names):
        notes.append("zlpr and two_way compare the logits of a whole row; here the row has this one tag.")
    notes += same_curve_notes([f for f in frames if np.any(f["gradient"])])  # the flat ones have their note
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["mode", "z", "loss", "gradient"])
    return frame, notes


def same_curve_notes(frames, atol: float = 1e-3) -> list[str]:
    """One note per group of loss modes whose loss and gradient curves coincide (drawn on top of each other,
    only the last one drawn shows): each frame has columns mode, loss, gradient over the same z.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"mode": "a", "loss": [1.0, 2.0], "gradient": [0.5, 0.0]})
    >>> same_curve_notes([a, a.assign(mode="b"), a.assign(mode="c", loss=[1.0, 3.0])])
    ['a and b draw the same curves here: one line hides the other.']
    """
    groups: list[list] = []
    for frame in frames:
        for group in groups:
            first = group[0]
            if np.allclose(first["loss"], frame["loss"], atol=atol) and np.allclose(
                first["gradient"], frame["gradient"], atol=atol
            ):
                group.append(frame)
                break
        else:
            groups.append([frame])
    notes = []
    for group in groups:
        if len(group) > 1:
            names = [str(f["mode"].iloc[0]) for f in group]
            listed = " and ".join(names) if len(names) == 2 else ", ".join(names[:-1]) + f" and {names[-1]}"
            hide = "one line hides the other" if len(names) == 2 else "the lines hide each other"
            notes.append(f"{listed} draw the same curves here: {hide}.")
    return notes


@keras.saving.register_keras_serializable(package="mlc")
class GradientSplit(keras.metrics.Metric):
    """Keras metric that sums :func:`split_sums` of every training batch (the logits the step already has).

    ``sums`` (3, C) and ``count`` (images) are reset at each epoch's start by ``fit``; ``result()`` is
    the mean |g| over tags and images so far (a scalar for the logs). Read :meth:`rows` at epoch end.
    """

    def __init__(self, loss, num_classes: int, name: str = "gradient_total", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = loss
        self.num_classes = int(num_classes)
        self.sums = self.add_variable(shape=(3, self.num_classes), initializer="zeros", name="sums", aggregation="sum")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count", aggregation="sum")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred, tf.float32)
        self.sums.assign_add(tf.stop_gradient(split_sums(self.loss, y_true, y_pred)))
        self.count.assign_add(tf.cast(tf.shape(y_pred)[0], tf.float32))

    def result(self):
        return tf.reduce_sum(self.sums) / tf.maximum(self.count, 1.0) / self.num_classes

    def rows(self, classes: Sequence[str]) -> list[TagGradient]:
        """The epoch so far as :class:`TagGradient` rows (empty before any batch)."""
        count = float(keras.ops.convert_to_numpy(self.count))
        if count <= 0:
            return []
        return _rows_from(keras.ops.convert_to_numpy(self.sums), count, classes)

    def get_config(self) -> dict:
        loss = keras.saving.serialize_keras_object(self.loss)
        return {"name": self.name, "num_classes": self.num_classes, "loss": loss}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
