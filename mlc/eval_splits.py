"""Which images a run is evaluated on, and which runs may be compared at all.

A run trained now keeps three splits' worth of outcomes: validation (seen while
training, and where tuned thresholds are *fitted*) and the held-out test split
(seen by nothing; where the Evaluate page *scores*). Older runs kept only
validation; they are still evaluated there, and the page says so.

Runs compare only when their numbers are over the same question: the same data
set, the same tags in the same order, for own images the very same images
(``data_fingerprint``), and the same kind of split.

>>> from mlc.config import RunConfig
>>> from mlc.runs import Run
>>> run = Run(RunConfig(), val_labels=np.zeros((3, 5)), val_probabilities=np.zeros((3, 5)))
>>> scored_split(run).name, split_name(Run(RunConfig()))
('validation', None)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from mlc.runs import Run


class ScoredSplit(NamedTuple):
    """The split a run's numbers are on: ``name`` ("test" or "validation"), labels and outputs (n, C)."""

    name: str
    labels: np.ndarray
    probabilities: np.ndarray


def split_name(run: Run) -> str | None:
    """ "test" when the run kept test predictions, else "validation" when it kept those, else None."""
    if run.test_labels is not None and run.test_probabilities is not None:
        return "test"
    if run.val_labels is not None and run.val_probabilities is not None:
        return "validation"
    return None


def scored_split(run: Run) -> ScoredSplit:
    """The run's held-out test split, or its validation split when it kept no test predictions."""
    name = split_name(run)
    if name == "test":
        return ScoredSplit(name, run.test_labels, run.test_probabilities)
    if name == "validation":
        return ScoredSplit(name, run.val_labels, run.val_probabilities)
    raise ValueError(f"run {run.label} kept no test or validation predictions (it failed before it could be scored)")


def split_caption(run: Run, tuned: bool = False) -> str:
    """Which images a run's numbers are on and, with ``tuned`` thresholds, where those were fitted.

    >>> from mlc.config import RunConfig
    >>> run = Run(RunConfig(), test_labels=np.zeros((4, 5)), test_probabilities=np.zeros((4, 5)))
    >>> split_caption(run)
    'On the run’s 4 held-out test images (never used to train or to choose anything).'
    """
    split = scored_split(run)
    n = len(split.labels)
    if split.name == "test":
        text = f"On the run’s {n} held-out test images (never used to train or to choose anything)."
        if tuned:
            text += " F1-optimal thresholds are fitted on its validation images and applied to the test images."
        return text
    text = f"On the run’s {n} validation images (this run kept no test split)."
    if tuned:
        text += " F1-optimal thresholds are chosen on these same images, so the numbers are a little optimistic."
    return text


def _number(run: Run) -> str:
    return f"#{run.number or '?'}"


def incomparable_reason(runs: Sequence[Run]) -> str | None:
    """Why ``runs`` cannot be compared (one line), or None when they can.

    >>> from mlc.config import RunConfig
    >>> a, b = Run(RunConfig(), number=1), Run(RunConfig(dataset="digits"), number=2)
    >>> incomparable_reason([a, a]) is None
    True
    >>> incomparable_reason([a, b])
    'Run #2 was trained on digits, run #1 on scenes: different tags and test images, so their numbers do not compare.'
    """
    if not runs:
        return None
    first = runs[0]
    a = first.config
    for other in runs[1:]:
        b = other.config
        if a.dataset != b.dataset:
            return (
                f"Run {_number(other)} was trained on {b.dataset}, run {_number(first)} on {a.dataset}: "
                "different tags and test images, so their numbers do not compare."
            )
        if tuple(a.classes) != tuple(b.classes):
            return (
                f"Run {_number(other)} has the tags {', '.join(b.classes)} and run {_number(first)} "
                f"{', '.join(a.classes)}: per-tag and averaged numbers over different tags do not compare."
            )
        if a.dataset == "own" and a.data_fingerprint != b.data_fingerprint:
            names = [c.data_name or c.data_fingerprint or "unnamed" for c in (a, b)]
            return (
                f"Runs {_number(first)} and {_number(other)} were trained on different image sets "
                f"({names[0]} and {names[1]}): their test images differ."
            )
    if len({split_name(r) for r in runs}) > 1:
        return "Some of these runs are scored on a test split and others only on validation: pick runs of one kind."
    return None


def held_out_calibration(run: Run, bins: int = 15) -> dict | None:
    """Per-tag temperature fitted on validation (Guo et al., 2017), then ECE, Brier and log loss on the scored
    split before and after it (:func:`mlc.calibration.calibration_report`); None without kept predictions."""
    from mlc import calibration

    if run.val_labels is None or run.val_probabilities is None or split_name(run) is None:
        return None
    scored = scored_split(run)
    temps = calibration.fit_temperature(run.val_labels, run.val_probabilities)
    before = calibration.calibration_report(
        scored.labels, scored.probabilities, bins, classes=run.config.classes, temperature=temps
    )
    calibrated = calibration.apply_temperature(scored.probabilities, temps)
    after = calibration.calibration_report(scored.labels, calibrated, bins, classes=run.config.classes, temperature=1)
    for row, cal in zip(before["per_tag"], after["per_tag"]):
        row.update({f"{key}_calibrated": cal[key] for key in ("ece", "brier", "log_loss")})
    return {"split": scored.name, "fitted_on": "validation", **before}


def held_out_intervals(run: Run, n: int = 1000, seed: int = 0) -> dict | None:
    """Bootstrap 95 % intervals over the scored split's images at threshold 0.5 (:func:`mlc.bootstrap.bootstrap_ci`)."""
    from mlc.bootstrap import bootstrap_ci

    if split_name(run) is None:
        return None
    scored = scored_split(run)
    return {"split": scored.name, **bootstrap_ci(scored.labels, scored.probabilities, n=n, seed=seed,
                                                classes=run.config.classes)}  # fmt: skip
