"""Evaluating finished runs: one run in depth, why `accuracy` misleads, and runs side by side.

Everything here is computed from what a :class:`~mlc.runs.Run` keeps — labels
``y`` (n, C) and sigmoid outputs ``p`` (n, C) of its held-out *test* split
(:func:`scored_split`; validation for a run without one) — so no page ever
re-runs a model to evaluate it. Decisions are ``p >= t`` per tag, exactly as
:func:`mlc.metrics.report`; tuned thresholds are fitted on validation and
applied to test. Runs of different data or tags are not compared
(:func:`incomparable_reason`).

Results come back as structured rows (:class:`ComparisonRow`,
:class:`AccuracyRow`) that say what each number is — its key, tag, which run is
best — and separate functions (:func:`comparison_frame`, :func:`accuracy_frame`)
turn them into the tables a page shows, so no page parses a display label.

>>> rows = metric_rows(soft_labels=False)
>>> [r.key for r in rows][:3], rows[0].higher_is_better
(['map', 'macro_f1', 'micro_f1'], True)
>>> threshold_mode("F1-optimal per tag")
<ThresholdMode.PER_TAG_F1: 'per_tag_f1'>
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from mlc import checks, metrics
from mlc.eval_splits import ScoredSplit, incomparable_reason, scored_split, split_caption  # noqa: F401 (re-exported)
from mlc.runs import Run
from mlc.states import ThresholdMode
from mlc.thresholds import precision_recall_curve, threshold_sweep, tuned_thresholds

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

#: The threshold modes' labels, in order (for older code; pass a :class:`~mlc.states.ThresholdMode`).
THRESHOLD_MODES: tuple[str, ...] = tuple(m.label for m in ThresholdMode)
#: Modes runs are compared at: each run at 0.5, or each at its own F1-optimal thresholds
#: (one shared threshold would need a slider, and no run's choice suits the others).
COMPARISON_MODES: tuple[ThresholdMode, ...] = (ThresholdMode.HALF, ThresholdMode.PER_TAG_F1)
#: Most points per tag in a soft-label scatter (the browser draws them all).
MAX_SCATTER_POINTS = 400
#: Columns of :func:`per_tag_table`: everything about each tag.
PER_TAG_COLUMNS = tuple("tag support threshold precision recall f1 average_precision tp fp fn tn".split())
#: Columns of a run's short per-tag summary (the Train page, once a run ends).
SUMMARY_COLUMNS = ("tag", "support", "precision", "recall", "f1", "average_precision")
#: Two runs' values closer than this show no difference at three decimals.
SAME_VALUE = 5e-4


def _require_predictions(run: Run) -> tuple[np.ndarray, np.ndarray]:
    return scored_split(run)[1:]


def evaluable_runs(runs: Sequence[Run]) -> list[Run]:
    """The runs that can be evaluated here: scored, with their test or validation predictions kept."""
    return [
        run
        for run in runs
        if run.report is not None and (run.val_probabilities is not None or run.test_probabilities is not None)
    ]


def unscorable_runs(runs: Sequence[Run]) -> list[Run]:
    """Scored runs that cannot be evaluated here (an imported own-data run: a report, no predictions)."""
    return [run for run in runs if run.report is not None and run not in evaluable_runs([run])]


def rare_tag(run: Run) -> int:
    """Index of the run's rarest tag (lowest configured prevalence; the first on ties)."""
    prevalence = run.config.prevalence
    return min(range(run.config.num_classes), key=lambda c: prevalence[c])


def threshold_mode(mode: ThresholdMode | str) -> ThresholdMode:
    """A :class:`~mlc.states.ThresholdMode` from a member, its value (``"half"``) or its label.

    >>> threshold_mode("half") is threshold_mode("0.5 for every tag") is ThresholdMode.HALF
    True
    """
    names = {m.value: m for m in ThresholdMode} | {m.label: m for m in ThresholdMode}
    return names[checks.choice(mode, "threshold mode", names)]


# ---------------------------------------------------------------- one run
def run_thresholds(run: Run, mode: ThresholdMode | str = ThresholdMode.HALF, value: float = 0.5) -> np.ndarray:
    """Thresholds (C,) for ``mode``: 0.5 everywhere (``HALF``), ``value`` everywhere (``GLOBAL``),
    or per-tag F1-optimal (``PER_TAG_F1``), *fitted on the run's validation split*
    (:func:`mlc.thresholds.tuned_thresholds`) and applied to whatever :func:`scored_split` scores.
    ``mode`` may also be given as its label (:func:`threshold_mode`)."""
    _require_predictions(run)
    mode = threshold_mode(mode)
    c = run.config.num_classes
    if mode is ThresholdMode.GLOBAL:
        return np.full(c, checks.number(value, "threshold", 0, 1))
    if mode is ThresholdMode.PER_TAG_F1:
        if run.val_labels is None or run.val_probabilities is None:
            raise ValueError(f"run {run.label} kept no validation predictions to fit thresholds on")
        return tuned_thresholds(run.val_labels, run.val_probabilities)
    return np.full(c, 0.5)


def run_report(run: Run, thresholds: Any = 0.5) -> dict[str, Any]:
    """:func:`mlc.metrics.report` of the run's :func:`scored_split` (test, else validation) at ``thresholds``."""
    y, p = _require_predictions(run)
    return metrics.report(y, p, thresholds, classes=run.config.classes)


def per_tag_table(report: dict[str, Any], columns: Sequence[str] = PER_TAG_COLUMNS) -> pd.DataFrame:
    """One row per tag of ``report``'s ``columns``: by default support, threshold, precision,
    recall, F1, AP and the confusion counts; :data:`SUMMARY_COLUMNS` for a short summary."""
    return pd.DataFrame(report["per_tag"])[list(columns)]


def mae_table(report: dict[str, Any]) -> pd.DataFrame:
    """One (tag, MAE) row per tag: how far a soft-label run's outputs are from the true strengths."""
    return pd.DataFrame([{"tag": r["tag"], "MAE": r["mae"]} for r in report["per_tag"]], columns=["tag", "MAE"])


@dataclass(frozen=True)
class Headline:
    """One headline number of a run (a metric card): what it is, its value, and a hint."""

    key: str | tuple[str, str]  # a report key, or ("recall", tag) for the rarest tag
    label: str
    value: float
    help: str | None = None


def headline_metrics(run: Run) -> list[Headline]:
    """What to show first when a run ends: mAP, macro F1, its rarest tag's recall at 0.5, and
    MAE for a soft-label run or micro F1 otherwise (from the run's own report)."""
    rep = run.report
    if rep is None:
        raise ValueError(f"run {run.label} has no validation report (it failed before it could be scored)")
    rare = rep["per_tag"][rare_tag(run)]
    last = ("mae", "MAE") if run.config.soft_labels else ("micro_f1", "micro F1")
    return [
        Headline("map", "mAP", rep["map"]),
        Headline("macro_f1", "macro F1", rep["macro_f1"]),
        Headline(("recall", rare["tag"]), f"{rare['tag']} recall", rare["recall"], "The rarest tag, at threshold 0.5"),
        Headline(last[0], last[1], rep[last[0]]),
    ]


def pr_curves_frame(run: Run) -> pd.DataFrame:
    """Tidy (tag, recall, precision, threshold) rows of each tag's precision-recall curve.

    The first row per tag is the "predict nothing" point (recall 0, precision 1,
    no threshold). Long curves are thinned to about 300 points per tag.
    """
    y, p = _require_predictions(run)
    frames = []
    for j, tag in enumerate(run.config.classes):
        precision, recall, cuts = precision_recall_curve(y[:, j], p[:, j])
        thr = np.concatenate([[np.nan], cuts])
        keep = np.unique(np.linspace(0, len(recall) - 1, min(len(recall), 300)).astype(int))
        frames.append(
            pd.DataFrame({"tag": tag, "recall": recall[keep], "precision": precision[keep], "threshold": thr[keep]})
        )
    return pd.concat(frames, ignore_index=True)


def operating_points(report: dict[str, Any]) -> pd.DataFrame:
    """Each tag's (recall, precision) at its current threshold: where it sits on its PR curve."""
    return pd.DataFrame(report["per_tag"])[["tag", "recall", "precision", "threshold", "f1"]]


def sweep_frame(run: Run, steps: int = 101) -> pd.DataFrame:
    """Tidy (tag, threshold, precision, recall, f1) rows: each tag's scores over ``steps`` thresholds in [0, 1]."""
    y, p = _require_predictions(run)
    grid = np.linspace(0.0, 1.0, steps)
    frames = []
    for j, tag in enumerate(run.config.classes):
        s = threshold_sweep(y[:, j], p[:, j], grid)
        frames.append(
            pd.DataFrame(
                {"tag": tag, "threshold": grid, "precision": s["precision"], "recall": s["recall"], "f1": s["f1"]}
            )
        )
    return pd.concat(frames, ignore_index=True)


def strength_frame(run: Run, max_points: int = MAX_SCATTER_POINTS, seed: int = 0) -> pd.DataFrame:
    """Tidy (tag, true, predicted) rows for a soft-label run's predicted-vs-true scatter
    (at most ``max_points`` scored images, the same ones for every tag)."""
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
class KerasAccuracy(NamedTuple):
    """What ``metrics=["accuracy"]`` reported, and the metric class Keras resolved the string to."""

    value: float
    keras_class: str  # e.g. "CategoricalAccuracy" (or "unknown" if Keras did not say)


def keras_accuracy(y_true: np.ndarray, y_prob: np.ndarray) -> KerasAccuracy:
    """What ``model.compile(metrics=["accuracy"])`` reports for a model whose outputs are
    ``y_prob`` (n, C), and the metric class the installed Keras resolves the string to.

    Measured, not assumed: an identity model that outputs ``y_prob`` is compiled with
    ``binary_crossentropy`` and ``"accuracy"``, then evaluated on ``y_true``. A
    :class:`KerasAccuracy` unpacks like the ``(value, class name)`` pair it used to be.
    """
    import keras

    y_prob = np.asarray(y_prob, np.float32)
    model = keras.Sequential([keras.Input((y_prob.shape[1],)), keras.layers.Identity()])
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    result = model.evaluate(
        y_prob, np.asarray(y_true, np.float32), verbose=0, return_dict=True, batch_size=max(1, min(len(y_prob), 4096))
    )
    resolved = [type(m).__name__ for m in getattr(model.metrics[-1], "metrics", [])]
    return KerasAccuracy(float(result["accuracy"]), resolved[0] if resolved else "unknown")


def binary_accuracy(y_true: np.ndarray, y_prob: np.ndarray, threshold: float = 0.5) -> float:
    """Keras' ``BinaryAccuracy``: the fraction of all (scene, tag) cells decided right at ``threshold``."""
    import keras

    metric = keras.metrics.BinaryAccuracy(threshold=threshold)
    metric.update_state(np.asarray(y_true, np.float32), np.asarray(y_prob, np.float32))
    return float(metric.result())


@dataclass(frozen=True)
class AccuracyRow:
    """One metric of the accuracy lesson: the model's value next to an all-zeros predictor's."""

    key: str  # "keras_accuracy", "binary_accuracy", "macro_f1" or "map"
    label: str  # what a person reads (the table's row name)
    model: float  # rounded to 4 decimals, as shown
    all_zeros: float


@dataclass(frozen=True)
class AccuracyLies:
    """The accuracy lesson of one run: its rows and the class Keras resolved ``"accuracy"`` to."""

    keras_class: str
    rows: tuple[AccuracyRow, ...]

    def row(self, key: str) -> AccuracyRow:
        """The row with that :attr:`AccuracyRow.key`; KeyError naming the keys there are."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(f"no accuracy row {key!r}; there are {[r.key for r in self.rows]}")


def accuracy_lies(y_true: Any, y_prob: Any) -> AccuracyLies:
    """The model's scores next to those of a predictor that never says yes (all zeros).

    Rows: what ``metrics=["accuracy"]`` reports (argmax accuracy for C > 1 in Keras 3),
    Keras' binary accuracy at 0.5, and the honest multi-label numbers — macro F1 at
    0.5 and mAP. Values are rounded to 4 decimals; :func:`accuracy_frame` is the table.

    >>> y = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], np.float32)
    >>> lies = accuracy_lies(y, y * 0.9 + 0.05)
    >>> lies.keras_class, lies.row("binary_accuracy").all_zeros
    ('CategoricalAccuracy', 0.8333)
    >>> lies.row("macro_f1")
    AccuracyRow(key='macro_f1', label='macro F1 (threshold 0.5)', model=0.6667, all_zeros=0.0)
    """
    y = np.asarray(y_true, np.float32)
    p = np.asarray(y_prob, np.float32)
    zeros = np.zeros_like(p)
    acc_model, acc_zeros = keras_accuracy(y, p), keras_accuracy(y, zeros)
    rep_model, rep_zeros = metrics.report(y, p), metrics.report(y, zeros)
    values = [
        (
            "keras_accuracy",
            f'metrics=["accuracy"] (Keras resolves it to {acc_model.keras_class})',
            acc_model.value,
            acc_zeros.value,
        ),
        ("binary_accuracy", "binary accuracy (threshold 0.5)", binary_accuracy(y, p), binary_accuracy(y, zeros)),
        ("macro_f1", "macro F1 (threshold 0.5)", rep_model["macro_f1"], rep_zeros["macro_f1"]),
        ("map", "mAP", rep_model["map"], rep_zeros["map"]),
    ]
    # np.round, as DataFrame.round rounds, so the table and the prose quote the same digits
    rows = tuple(AccuracyRow(k, label, float(np.round(m, 4)), float(np.round(z, 4))) for k, label, m, z in values)
    return AccuracyLies(acc_model.keras_class, rows)


def accuracy_frame(lies: AccuracyLies) -> pd.DataFrame:
    """The lesson as a table: one row per metric (index ``metric``), columns ``model`` and ``all zeros``.

    >>> accuracy_frame(AccuracyLies("X", (AccuracyRow("map", "mAP", 0.5, 0.25),)))
            model  all zeros
    metric
    mAP       0.5       0.25
    """
    table = pd.DataFrame(
        [[r.model, r.all_zeros] for r in lies.rows], index=[r.label for r in lies.rows], columns=["model", "all zeros"]
    ).astype(float)
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
    for run, number in zip(runs, run_numbers(runs)):
        d = run.config.to_dict()
        weighted = "weights" in run.config.loss_kwargs()  # weights/weighting mean nothing to other losses
        extra = ", ".join(f"{k}={_short(d[k])}" for k in differ if weighted or k not in ("weights", "weighting"))
        names.append(f"{number} {run.config.loss}" + (f" ({extra})" if extra else ""))
    return names


def run_numbers(runs: Sequence[Run]) -> list[str]:
    """Each run's short name, ``#n`` (``#?`` for a run outside a session): what names a best run."""
    return [f"#{run.number or '?'}" for run in runs]


@dataclass(frozen=True)
class ComparisonRow:
    """One metric of runs side by side: what it is, each run's value, and which run is best.

    ``key`` is a report key (``"macro_f1"``), ``(metric, tag)`` for the rarest tag's
    rows (``("recall", "cat")``; tag None when the runs' rarest tags differ), or
    ``"train_seconds"``. ``values`` follow the runs' order. ``best_run`` is the index
    of the single best run (lower is better when ``higher_is_better`` is False); None
    when several runs share the best value (``tie``), with fewer than two runs, or
    when no value is a number.
    """

    key: str | tuple[str, str | None]
    label: str
    values: tuple[float, ...]
    higher_is_better: bool = True
    tag: str | None = None
    is_rare_tag: bool = False
    best_run: int | None = None
    tie: bool = False


def _best(values: Sequence[float], higher_is_better: bool) -> tuple[int | None, bool]:
    """(index of the single best value, whether several share it); NaN never wins."""
    numbers = [v for v in values if not math.isnan(v)]
    if len(values) < 2 or not numbers:
        return None, False
    target = max(numbers) if higher_is_better else min(numbers)
    winners = [i for i, v in enumerate(values) if v == target]
    return (winners[0], False) if len(winners) == 1 else (None, True)


def _row(key, label: str, values: Sequence[float], higher_is_better: bool = True, **rare: Any) -> ComparisonRow:
    values = tuple(float(v) for v in values)
    best_run, tie = _best(values, higher_is_better)
    return ComparisonRow(key, label, values, higher_is_better, best_run=best_run, tie=tie, **rare)


def comparison_table(
    runs: Sequence[Run], mode: ThresholdMode | str = ThresholdMode.HALF, value: float = 0.5
) -> list[ComparisonRow]:
    """Rows of runs side by side, each run on its own :func:`scored_split` at its :func:`run_thresholds`
    for ``mode``: the :func:`metric_rows`, then each run's rarest-tag recall, precision and AP,
    then training time. :func:`comparison_frame` makes the table a page shows.
    """
    if not runs:
        raise ValueError("comparison_table needs at least one run")
    reports = [run_report(r, run_thresholds(r, mode, value)) for r in runs]
    soft = all(r.config.soft_labels for r in runs)
    rows = [_row(m.key, m.label, [rep[m.key] for rep in reports], m.higher_is_better) for m in metric_rows(soft)]
    rare_names = {r.config.classes[rare_tag(r)] for r in runs}
    tag = rare_names.pop() if len(rare_names) == 1 else None
    for key, label in (("recall", "recall"), ("precision", "precision"), ("average_precision", "AP")):
        values = [rep["per_tag"][rare_tag(r)][key] for r, rep in zip(runs, reports)]
        rows.append(_row((key, tag), f"{tag or 'rarest tag'} {label} (rarest tag)", values, tag=tag, is_rare_tag=True))
    rows.append(_row("train_seconds", "training time, s", [round(r.train_seconds, 1) for r in runs], False))
    return rows


def comparison_frame(runs: Sequence[Run], rows: Sequence[ComparisonRow]) -> pd.DataFrame:
    """The comparison as a table: metrics (rows, by label; index ``metric``) x runs (columns named
    by :func:`run_names`), plus a ``best`` column with the best run's number (``#2``), ``tie``,
    or nothing."""
    names, numbers = run_names(runs), run_numbers(runs)
    table = pd.DataFrame({row.label: list(row.values) for row in rows}, index=names).T
    table.index.name = "metric"
    table["best"] = ["tie" if r.tie else "" if r.best_run is None else numbers[r.best_run] for r in rows]
    return table


#: How the comparison table marks a row's best value, and the rarest tag's rows.
BEST_CELL_STYLE = "font-weight: 700; background-color: #dbe7fb"
RARE_ROW_STYLE = "; color: #9a3412"


def comparison_styler(runs: Sequence[Run], rows: Sequence[ComparisonRow]) -> Styler:
    """:func:`comparison_frame` with each row's best value shaded and the rarest tag's rows in
    orange, the run columns at three decimals (a pandas ``Styler``; the data is the frame)."""
    table = comparison_frame(runs, rows)
    names = list(table.columns[:-1])

    def styles(_: pd.DataFrame) -> pd.DataFrame:
        cells = []
        for row in rows:
            line = [BEST_CELL_STYLE if i == row.best_run else "" for i in range(len(names))]
            if row.is_rare_tag:
                line = [style + RARE_ROW_STYLE for style in line]
            cells.append([*line, ""])  # the ``best`` column itself stays plain
        return pd.DataFrame(cells, index=table.index, columns=table.columns)

    return table.style.apply(styles, axis=None).format(precision=3, subset=names)


@dataclass(frozen=True)
class RunCard:
    """One run's value of one comparison row, as a metric card beside the first run's."""

    label: str  # e.g. "cat recall"
    value: float
    run_name: str  # the run's column name (:func:`run_names`)
    #: ``value`` minus the first run's, or None for the first run and for values within
    #: :data:`SAME_VALUE` of it (no difference at three decimals)
    delta: float | None
    versus: str  # the first run's number, e.g. "#1"


def rare_recall_cards(runs: Sequence[Run], rows: Sequence[ComparisonRow]) -> list[RunCard]:
    """One card per run with its rarest tag's recall, and its difference from the first run's."""
    row = next(r for r in rows if r.is_rare_tag and r.key[0] == "recall")
    names, numbers = run_names(runs), run_numbers(runs)
    base = row.values[0]
    label = f"{row.tag or 'rarest tag'} recall"
    return [
        RunCard(label, v, name, None if i == 0 or abs(v - base) < SAME_VALUE else v - base, numbers[0])
        for i, (v, name) in enumerate(zip(row.values, names))
    ]


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
