"""Label problems as data knobs: damage the TRAINING targets on purpose, seeded.

Real multi-label data is rarely fully labelled. Three knobs of
:class:`mlc.config.RunConfig` turn a clean training split into a damaged one:

* ``label_noise`` p: each known training target flips 0 <-> 1 with probability
  p (:func:`add_noise`). The scene generator flips its own targets while it
  draws them (soft labels included), so for ``scenes`` it is applied there and
  not again here (:data:`GENERATOR_NOISE`); for digits and own images it is
  applied here; unknown cells (-1) stay unknown;

* ``missing_positives`` m in [0, 1): each true positive (``y >= 0.5``) of the
  training split is hidden with probability m; ``missing_as`` says what it
  becomes: ``"negative"`` (0, a wrong negative) or ``"unknown"`` (-1);
* ``single_positive``: each training image keeps exactly one of its positives,
  chosen uniformly at random; the others become unknown (-1), and so does every
  negative, because in the single-positive setting nothing else is observed
  (Cole et al., "Multi-label learning from single positive labels", CVPR 2021).
  An image without positives has nothing observed: all its cells become -1.

Validation and test keep their full labels: the damage is trained through and
scored honestly. :func:`apply_to_splits` is the one place this happens, for
every data set (:func:`mlc.datasets.make_splits`). The draws come from their own
generators, seeded by ``(seed, NOISE_SEED)`` and ``(seed, LABEL_SEED)``, so the
images of a run are the same with or without these knobs, and its missing or
single positives do not depend on the label noise's draws.

>>> y = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0]], np.float32)
>>> damage(y, single_positive=True, seed=0).tolist()
[[-1.0, 1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, -1.0]]
>>> int(damage(y, missing_positives=0.5, missing_as="negative", seed=1).sum()) <= int(y.sum())
True
>>> add_noise(np.array([[1, 0, -1]] * 2, np.float32), 0.5, seed=3).tolist()
[[0.0, 0.0, -1.0], [1.0, 0.0, -1.0]]
>>> unknown_problem("focal", single_positive=True).split(";")[0]
"loss 'focal' cannot train on unknown targets (-1), which single_positive makes"
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from mlc import checks
from mlc.loss_params import UNKNOWN

if TYPE_CHECKING:
    from mlc.datasets import DataSplits

#: What a hidden positive becomes.
MISSING_AS: tuple[str, ...] = ("negative", "unknown")
#: Largest missing-positive rate the config accepts (the range is [0, 1): at 1 no positive is left).
MAX_MISSING = 0.99
#: Seed offset of the label-problem draws (independent of the images and of label noise).
LABEL_SEED = 7_919
#: Seed offset of the label-noise draws of data sets whose generator does not flip targets itself.
NOISE_SEED = 6_007
#: Data sets whose generator applies ``label_noise`` while drawing the training split (never applied twice).
GENERATOR_NOISE: tuple[str, ...] = ("scenes",)
#: Losses that train on unknown targets (-1): ``bce`` (assume negative / ignore), ``zlpr``, ``two_way``.
#: Every other registered loss refuses them (tests check this against ``accepts_unknown`` of mlc.losses).
UNKNOWN_LOSSES: tuple[str, ...] = ("bce", "zlpr", "two_way")


def check_knobs(missing_positives: Any, missing_as: Any, single_positive: Any) -> dict[str, Any]:
    """The three knobs, checked (messages name the field, the range and what arrived).

    >>> check_knobs(1.0, "unknown", False)
    Traceback (most recent call last):
    ...
    ValueError: missing_positives must be a number from 0 to 0.99 (below 1: at 1 no positive is left), got 1.0
    """
    try:
        rate = checks.number(missing_positives, "missing_positives", 0.0, MAX_MISSING)
    except ValueError:
        raise ValueError(
            f"missing_positives must be a number from 0 to {MAX_MISSING} (below 1: at 1 no positive is left), "
            f"got {checks.short_repr(missing_positives)}"
        ) from None
    return {
        "missing_positives": rate,
        "missing_as": checks.one_of(missing_as, "missing_as", MISSING_AS),
        "single_positive": checks.boolean(single_positive, "single_positive"),
    }


def makes_unknowns(missing_positives: float = 0.0, missing_as: str = "negative", single_positive: bool = False) -> bool:
    """Whether the knobs put unknown (-1) targets into the training split."""
    return bool(single_positive) or (missing_positives > 0 and missing_as == "unknown")


def unknown_problem(
    loss: str, missing_positives: float = 0.0, missing_as: str = "negative", single_positive: bool = False
) -> str | None:
    """Why ``loss`` cannot train with these knobs (it refuses unknown targets), or ``None``."""
    if loss in UNKNOWN_LOSSES or not makes_unknowns(missing_positives, missing_as, single_positive):
        return None
    knob = "single_positive" if single_positive else "missing_as='unknown'"
    return (
        f"loss {loss!r} cannot train on unknown targets (-1), which {knob} makes; choose "
        f"{', '.join(UNKNOWN_LOSSES[:-1])} or {UNKNOWN_LOSSES[-1]}, or set missing_as='negative' "
        "and single_positive off"
    )


def damage(
    y: np.ndarray,
    *,
    missing_positives: float = 0.0,
    missing_as: str = "negative",
    single_positive: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """A damaged copy of training targets ``y`` (N, C) float32 (targets in [0, 1], -1 unknown).

    Missing positives first (each positive hidden with probability m), then the
    single positive label (one kept positive per image, uniform among the ones
    still there; every other cell -1, negatives too, as in Cole et al.). Cells
    already unknown stay unknown.
    Deterministic for a seed; ``y`` itself is not changed.
    """
    y = np.array(y, dtype=np.float32, copy=True)
    if y.ndim != 2:
        raise ValueError(f"y must be (images, tags), got shape {y.shape}")
    rng = np.random.default_rng([int(seed), LABEL_SEED])
    positive = y >= 0.5
    if missing_positives > 0:
        hidden = positive & (rng.random(y.shape) < missing_positives)
        y[hidden] = UNKNOWN if missing_as == "unknown" else 0.0
        positive &= ~hidden
    if single_positive:
        # one uniform pick per image among its positives: the largest random key wins
        keys = np.where(positive, rng.random(y.shape), -1.0)
        keep = keys.argmax(axis=1)
        has = positive.any(axis=1)
        out = np.full_like(y, UNKNOWN)
        rows = np.flatnonzero(has)
        out[rows, keep[rows]] = y[rows, keep[rows]]
        y = out
    return y


def add_noise(y: np.ndarray, label_noise: float, seed: int = 0) -> np.ndarray:
    """A copy of 0/1 targets ``y`` (N, C) float32 with each known cell flipped (``1 - y``) with probability
    ``label_noise``; unknown cells (-1) stay. One uniform draw per cell from the generator
    ``(seed, NOISE_SEED)``, so the flipped cells are the same for a seed whatever the targets are.
    """
    y = np.array(y, dtype=np.float32, copy=True)
    if y.ndim != 2:
        raise ValueError(f"y must be (images, tags), got shape {y.shape}")
    rate = checks.number(label_noise, "label_noise", 0.0, 1.0)
    flip = (np.random.default_rng([int(seed), NOISE_SEED]).random(y.shape) < rate) & (y >= 0)
    y[flip] = 1.0 - y[flip]
    return y


def noise_applied_here(dataset: str, label_noise: float) -> bool:
    """Whether :func:`apply_to_splits` flips ``dataset``'s training targets (not done by its generator).

    >>> noise_applied_here("digits", 0.2), noise_applied_here("scenes", 0.2), noise_applied_here("own", 0.0)
    (True, False, False)
    """
    return label_noise > 0 and dataset not in GENERATOR_NOISE


def apply_to_splits(splits: DataSplits, config) -> DataSplits:
    """``splits`` with the config's label problems applied to the training targets only: label noise
    first (unless the data set's generator applied it, :data:`GENERATOR_NOISE`), then missing positives
    and the single positive label (:func:`damage`). Validation and test are returned untouched."""
    noisy = noise_applied_here(splits.dataset, config.label_noise)
    if not (noisy or config.missing_positives > 0 or config.single_positive):
        return splits
    x, y = splits.train
    if noisy:
        y = add_noise(y, config.label_noise, config.seed)
    if config.missing_positives > 0 or config.single_positive:
        y = damage(
            y,
            missing_positives=config.missing_positives,
            missing_as=config.missing_as,
            single_positive=config.single_positive,
            seed=config.seed,
        )
    return dataclasses.replace(splits, train=(x, y))


def unknown_counts(y: np.ndarray) -> np.ndarray:
    """(C,) unknown (-1) targets per tag.

    >>> unknown_counts(np.array([[1, -1], [-1, -1]])).tolist()
    [1, 2]
    """
    return (np.asarray(y) < UNKNOWN / 2).sum(axis=0).astype(int)
