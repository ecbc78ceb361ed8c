"""Evaluating finished runs: one run in depth, why `accuracy` misleads, and runs side by side.

Everything here is computed from what a :class:`~mlc.training.Run` keeps — its
validation labels ``y`` (n, C) and sigmoid outputs ``p`` (n, C) — so no page
ever re-runs a model to evaluate it. Decisions are ``p >= t`` per tag, exactly
as :func:`mlc.metrics.report`.

>>> rows = metric_rows(soft_labels=False)
>>> [r.key for r in rows][:3], rows[0].higher_is_better
(['map', 'macro_f1', 'micro_f1'], True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlc import metrics
from mlc.runs import Run

#: Thresholds a visitor can evaluate at.
THRESHOLD_MODES = ("0.5 for every tag", "one threshold for every tag", "F1-optimal per tag")
#: Most points per tag in a soft-label scatter (the browser draws them all).
MAX_SCATTER_POINTS = 400


def _require_predictions(run: Run) -> tuple[np.ndarray, np.ndarray]:
    if run.val_labels is None or run.val_probabilities is None:
        raise ValueError(f"run {run.label} kept no validation predictions (it failed before it could be scored)")
    return run.val_labels, run.val_probabilities


def rare_tag(run: Run) -> int:
    """Index of the run's rarest tag (lowest configured prevalence; the first on ties)."""
    prevalence = run.config.prevalence
    return min(range(run.config.num_classes), key=lambda c: prevalence[c])


# ---------------------------------------------------------------- one run
def run_thresholds(run: Run, mode: str = THRESHOLD_MODES[0], value: float = 0.5) -> np.ndarray:
    """Thresholds (C,) for ``mode``: 0.5 everywhere, ``value`` everywhere, or per-tag F1-optimal
    on the run's validation split (optimistic there: chosen and scored on the same scenes)."""
    y, p = _require_predictions(run)
    c = run.config.num_classes
    if mode == THRESHOLD_MODES[0]:
        return np.full(c, 0.5)
    if mode == THRESHOLD_MODES[1]:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"threshold must be a number in [0, 1], got {value!r}")
        return np.full(c, float(value))
    if mode == THRESHOLD_MODES[2]:
        return np.array([row["threshold"] for row in metrics.best_thresholds(y, p, classes=run.config.classes)])
    raise ValueError(f"threshold mode must be one of {list(THRESHOLD_MODES)}, got {mode!r}")


def run_report(run: Run, thresholds: Any = 0.5) -> dict[str, Any]:
    """:func:`mlc.metrics.report` of the run's validation predictions at ``thresholds``."""
    y, p = _require_predictions(run)
    return metrics.report(y, p, thresholds, classes=run.config.classes)


def per_tag_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per tag: support, threshold, precision, recall, F1, AP and the confusion counts."""
    columns = ["tag", "support", "threshold", "precision", "recall", "f1", "average_precision", "tp", "fp", "fn", "tn"]
    return pd.DataFrame(report["per_tag"])[columns]


def pr_curves_frame(run: Run) -> pd.DataFrame:
    """Tidy (tag, recall, precision, threshold) rows of each tag's precision-recall curve.

    The first row per tag is the "predict nothing" point (recall 0, precision 1,
    no threshold). Long curves are thinned to about 300 points per tag.
    """
    y, p = _require_predictions(run)
    frames = []
    for j, tag in enumerate(run.config.classes):
        precision, recall, cuts = metrics.precision_recall_curve(y[:, j], p[:, j])
        thr = np.concatenate([[np.nan], cuts])
        keep = np.unique(np.linspace(0, len(recall) - 1, min(len(recall), 300)).astype(int))
        frames.append(
            pd.DataFrame({"tag": tag, "recall": recall[keep], "precision": precision[keep], "threshold": thr[keep]})
        )
    return pd.concat(frames, ignore_index=True)


def operating_points(report: dict[str, Any]) -> pd.DataFrame:
    """Each tag's (recall, precision) at its current threshold: where it sits on its PR curve."""
    rows = [
        {
            "tag": r["tag"],
            "recall": r["recall"],
            "precision": r["precision"],
            "threshold": r["threshold"],
            "f1": r["f1"],
        }
        for r in report["per_tag"]
    ]
    return pd.DataFrame(rows)


def sweep_frame(run: Run, steps: int = 101) -> pd.DataFrame:
    """Tidy (tag, threshold, precision, recall, f1) rows: each tag's scores over ``steps`` thresholds in [0, 1]."""
    y, p = _require_predictions(run)
    grid = np.linspace(0.0, 1.0, steps)
    frames = []
    for j, tag in enumerate(run.config.classes):
        s = metrics.threshold_sweep(y[:, j], p[:, j], grid)
        frames.append(
            pd.DataFrame(
                {"tag": tag, "threshold": grid, "precision": s["precision"], "recall": s["recall"], "f1": s["f1"]}
            )
        )
    return pd.concat(frames, ignore_index=True)


def strength_frame(run: Run, max_points: int = MAX_SCATTER_POINTS, seed: int = 0) -> pd.DataFrame:
    """Tidy (tag, true, predicted) rows for a soft-label run's predicted-vs-true scatter
    (at most ``max_points`` validation scenes, the same ones for every tag)."""
    y, p = _require_predictions(run)
    index = np.arange(len(y))
    if len(index) > max_points:
        index = np.sort(np.random.default_rng(seed).choice(index, max_points, replace=False))
    frames = [
        pd.DataFrame({"tag": tag, "true": y[index, j], "predicted": p[index, j]})
        for j, tag in enumerate(run.config.classes)
    ]
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- why accuracy lies
def keras_accuracy(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[float, str]:
    """What ``model.compile(metrics=["accuracy"])`` reports for a model whose outputs are
    ``y_prob`` (n, C), and the metric class the installed Keras resolves the string to.

    Measured, not assumed: an identity model that outputs ``y_prob`` is compiled with
    ``binary_crossentropy`` and ``"accuracy"``, then evaluated on ``y_true``.
    """
    import keras

    y_prob = np.asarray(y_prob, np.float32)
    model = keras.Sequential([keras.Input((y_prob.shape[1],)), keras.layers.Identity()])
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    result = model.evaluate(
        y_prob, np.asarray(y_true, np.float32), verbose=0, return_dict=True, batch_size=max(1, min(len(y_prob), 4096))
    )
    resolved = [type(m).__name__ for m in getattr(model.metrics[-1], "metrics", [])]
    return float(result["accuracy"]), resolved[0] if resolved else "unknown"


def binary_accuracy(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Keras' ``BinaryAccuracy``: the fraction of all (scene, tag) cells decided right at ``threshold``."""
    import keras

    metric = keras.metrics.BinaryAccuracy(threshold=threshold)
    metric.update_state(np.asarray(y_true, np.float32), np.asarray(y_prob, np.float32))
    return float(metric.result())


def accuracy_lies(y_true: Any, y_prob: Any) -> pd.DataFrame:
    """The model's scores next to those of a predictor that never says yes (all zeros).

    Rows: what ``metrics=["accuracy"]`` reports (argmax accuracy for C > 1 in Keras 3),
    Keras' binary accuracy at 0.5, and the honest multi-label numbers — macro F1 at
    0.5 and mAP. Columns ``model`` and ``all zeros``.

    >>> y = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)
    >>> table = accuracy_lies(y, y * 0.9 + 0.05)
    >>> float(table.loc["binary accuracy (threshold 0.5)", "all zeros"])
    0.8333
    >>> table.loc["macro F1 (threshold 0.5)"].tolist()
    [0.6667, 0.0]
    """
    y = np.asarray(y_true, np.float32)
    p = np.asarray(y_prob, np.float32)
    zeros = np.zeros_like(p)
    acc_model, resolved = keras_accuracy(y, p)
    acc_zeros, _ = keras_accuracy(y, zeros)
    rep_model, rep_zeros = metrics.report(y, p), metrics.report(y, zeros)
    rows = {
        f'metrics=["accuracy"] (Keras resolves it to {resolved})': (acc_model, acc_zeros),
        "binary accuracy (threshold 0.5)": (binary_accuracy(y, p), binary_accuracy(y, zeros)),
        "macro F1 (threshold 0.5)": (rep_model["macro_f1"], rep_zeros["macro_f1"]),
        "mAP": (rep_model["map"], rep_zeros["map"]),
    }
    table = pd.DataFrame(rows, index=["model", "all zeros"]).T.astype(float).round(4)
    table.index.name = "metric"
    return table


# ---------------------------------------------------------------- runs side by side
@dataclass(frozen=True)
class MetricRow:
    """One row of the comparison table: a report key, its label and which direction is better."""

    key: str
    label: str
    higher_is_better: bool = True


def metric_rows(soft_labels: bool = False) -> list[MetricRow]:
    """Rows of the comparison table (MAE first among them when the runs regress soft labels)."""
    rows = [
        MetricRow("map", "mAP"),
        MetricRow("macro_f1", "macro F1"),
        MetricRow("micro_f1", "micro F1"),
        MetricRow("macro_recall", "macro recall"),
        MetricRow("hamming_loss", "Hamming loss", higher_is_better=False),
        MetricRow("subset_accuracy", "subset accuracy"),
    ]
    if soft_labels:
        rows.insert(0, MetricRow("mae", "MAE", higher_is_better=False))
    return rows


def differing_settings(runs: Sequence[Run]) -> list[str]:
    """Config fields whose values differ among ``runs`` (what tells them apart), in config order.

    >>> from mlc.config import RunConfig
    >>> a, b = Run(RunConfig()), Run(RunConfig(loss="focal", learning_rate=1e-3))
    >>> differing_settings([a, b])
    ['loss', 'learning_rate']
    """
    if len(runs) < 2:
        return []
    dicts = [r.config.to_dict() for r in runs]
    return [k for k in dicts[0] if any(d.get(k) != dicts[0].get(k) for d in dicts[1:])]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def run_names(runs: Sequence[Run]) -> list[str]:
    """Legend names: ``#n loss`` plus the other settings that differ among ``runs``."""
    differ = [k for k in differing_settings(runs) if k != "loss"]
    names = []
    for run in runs:
        d = run.config.to_dict()
        weighted = "weights" in run.config.loss_kwargs()  # weights/weighting mean nothing to other losses
        extra = ", ".join(f"{k}={_short(d[k])}" for k in differ if weighted or k not in ("weights", "weighting"))
        names.append(f"#{run.number or '?'} {run.config.loss}" + (f" ({extra})" if extra else ""))
    return names


def comparison_table(runs: Sequence[Run], mode: str = THRESHOLD_MODES[0], value: float = 0.5) -> pd.DataFrame:
    """Metrics (rows) x runs (columns, named by :func:`run_names`) on each run's own validation
    split, each at its :func:`run_thresholds` for ``mode``, plus each run's rarest-tag recall,
    precision and AP, and a ``best`` column with the number (``#2``) of the run with the best
    value per row ("tie" when several share it).
    """
    if not runs:
        raise ValueError("comparison_table needs at least one run")
    names = run_names(runs)
    reports = [run_report(r, run_thresholds(r, mode, value)) for r in runs]
    soft = all(r.config.soft_labels for r in runs)
    rows: dict[str, list] = {}
    better: dict[str, bool] = {}
    for row in metric_rows(soft):
        rows[row.label] = [rep[row.key] for rep in reports]
        better[row.label] = row.higher_is_better
    rare_names = {r.config.classes[rare_tag(r)] for r in runs}
    rare = rare_names.pop() if len(rare_names) == 1 else "rarest tag"
    for key, label in (("recall", "recall"), ("precision", "precision"), ("average_precision", "AP")):
        name = f"{rare} {label} (rarest tag)"
        rows[name] = [rep["per_tag"][rare_tag(r)][key] for r, rep in zip(runs, reports)]
        better[name] = True
    rows["training time, s"] = [round(r.train_seconds, 1) for r in runs]
    better["training time, s"] = False
    table = pd.DataFrame(rows, index=names).T
    table.index.name = "metric"

    def best(label: str) -> str:
        values = pd.to_numeric(table.loc[label], errors="coerce")
        if values.isna().all() or len(runs) < 2:
            return ""
        winner = values.idxmax() if better[label] else values.idxmin()
        # the run's number is enough here: its full name heads its column
        return str(winner).split(" ")[0] if (values == values[winner]).sum() == 1 else "tie"

    table["best"] = [best(label) for label in table.index]
    return table


def history_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """Tidy (run, epoch, value, series) rows of each run's per-epoch train/validation loss and
    validation mAP, for overlaying runs (colour = run)."""
    frames = []
    for run, name in zip(runs, run_names(runs)):
        for r in run.epoch_history:
            for key, series in (("loss", "train loss"), ("val_loss", "validation loss"), ("map", "validation mAP")):
                value = r.get(key)
                if value is not None and np.isfinite(value):
                    frames.append({"run": name, "epoch": r["epoch"], "value": float(value), "series": series})
    return pd.DataFrame(frames, columns=["run", "epoch", "value", "series"])
