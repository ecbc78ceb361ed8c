"""What the pages say about a run: its headline numbers, its per-tag table, its rarest tag, names for it.

Plain functions of a :class:`~mlc.runs.Run` (read through its attributes
only, so nothing here imports TensorFlow): the Train page's summary, the
pickers of the Predict and Runs pages and the names of downloaded files are
built here, so they can be tested without a server.

>>> rarest((0.35, 0.05, 0.3))
1
>>> fmt3(0.91234)
'0.912'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from mlc.runs import Run

#: Columns of a per-tag table, and which of them are scores in [0, 1].
PER_TAG_COLUMNS = ("tag", "support", "precision", "recall", "f1", "average_precision")
PER_TAG_SCORES = ("precision", "recall", "f1", "average_precision")


@dataclass(frozen=True)
class Headline:
    """One headline number as shown: a label, the formatted value and an optional explanation."""

    label: str
    value: str
    help: str | None = None


def fmt3(value: float) -> str:
    """A score with three decimals, as every summary shows them."""
    return f"{value:.3f}"


def rarest(prevalence: Sequence[float]) -> int:
    """Index of the rarest tag: the lowest prevalence, the first one on ties.

    >>> rarest([0.2, 0.1, 0.1])
    1
    """
    if not len(prevalence):
        raise ValueError("prevalence must have one value per tag, got none")
    return min(range(len(prevalence)), key=lambda c: prevalence[c])


def outcome(run: Run) -> str:
    """One line on how the run ended, e.g. ``'Run finished: 8 epochs on CPU.'``."""
    s = run.summary()
    return f"Run {run.status}: {s['epochs_done']} epochs on {s['device']}."


def headlines(run: Run) -> list[Headline]:
    """The six numbers the Train page shows for a finished run, in order.

    mAP, macro F1, the rarest tag's recall at 0.5, then MAE (soft labels) or
    micro F1, the training time and the training speed.
    """
    s, rep, cfg = run.summary(), run.report, run.config
    rare = rep["per_tag"][rarest(cfg.prevalence)]
    fourth = ("MAE", rep["mae"]) if cfg.soft_labels else ("micro F1", rep["micro_f1"])
    return [
        Headline("mAP", fmt3(rep["map"])),
        Headline("macro F1", fmt3(rep["macro_f1"])),
        Headline(f"{rare['tag']} recall", fmt3(rare["recall"]), "The rarest tag, at threshold 0.5"),
        Headline(fourth[0], fmt3(fourth[1])),
        Headline("training time", f"{s['train_seconds']:.1f} s"),
        Headline("samples/s", f"{s['samples_per_second']:,.0f}"),
    ]


def per_tag_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The report's per-tag rows as a table with :data:`PER_TAG_COLUMNS`."""
    return pd.DataFrame(report["per_tag"])[list(PER_TAG_COLUMNS)]


def option_label(run: Run) -> str:
    """How a picker names a scored run: its label and its mAP, e.g. ``'#2 focal · compact · mAP 0.951'``."""
    return f"{run.label} · mAP {fmt3(run.report['map'])}"


def file_stem(run: Run) -> str:
    """The name a run's downloaded files share (before ``.keras`` / ``.json``), e.g. ``'run2-focal-compact'``."""
    return f"run{run.number}-{run.config.loss}-{run.config.model}"
