"""The Predict page's decisions: a threshold strategy fitted on a run, calibrated scores, and the chart.

A visitor picks a strategy of :data:`mlc.threshold_strategies.STRATEGIES`. The two
manual ones (:data:`MANUAL`) are set by hand; the others are fitted on the run's
validation split (``run.val_labels``, ``run.val_probabilities``), so moving a
parameter re-fits on numbers already kept and never re-runs the model.

Calibration is per-tag temperature scaling (:func:`mlc.calibration.fit_temperature`
on validation): ``p_T = sigmoid(logit(p) / T)``, applied to every score before the
strategy decides (and before it is fitted, so the cuts live on the same scale).

>>> rule = fit_choice("top_k", {"k": 1}, ["dog", "cat"], None, None)
>>> tags_by_decision(np.array([[0.2, 0.9]]), ["dog", "cat"], rule)
[(['cat'], [])]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from mlc.calibration import apply_temperature, fit_temperature
from mlc.charts import decision_bars, tag_axis
from mlc.states import DecisionState
from mlc.threshold_strategies import STRATEGIES, DecisionRule, score_rule

__all__ = [
    "DECISION_COLOURS",
    "MANUAL",
    "TemperatureCache",
    "calibrate",
    "decision_chart",
    "decision_frame",
    "fit_choice",
    "needs_validation",
    "scored_split",
    "tags_by_decision",
]

#: The strategies a visitor sets by hand (sliders), not fitted on validation.
MANUAL = ("fixed_global", "manual_per_tag")
#: What each decision is called on the page, and its colour in the chart (sure yes / unsure / no).
DECISION_LABELS = {DecisionState.YES: "sure yes", DecisionState.UNSURE: "unsure", DecisionState.NO: "no"}
DECISION_COLOURS = {"sure yes": "#2f6fdb", "unsure": "#f0a202", "no": "#c9d3e3"}


def needs_validation(name: str) -> bool:
    """Whether strategy ``name`` is fitted on validation labels (the manual and per-image ones are not).

    >>> needs_validation("per_tag_f1"), needs_validation("top_k"), needs_validation("manual_per_tag")
    (True, False, False)
    """
    return name not in MANUAL and STRATEGIES.lookup(name).needs_labels


def fit_choice(name: str, params: Mapping[str, Any], classes: Sequence[str], y_val: Any, p_val: Any) -> DecisionRule:
    """Strategy ``name`` with ``params`` fitted on ``y_val``, ``p_val`` (N, C), as a :class:`DecisionRule`.

    Strategies that ignore the labels are fitted on one row of zeros, so a run
    without validation data can still use them; the others raise ValueError then.

    >>> fit_choice("fixed_global", {"t": 0.3}, ["a", "b"], None, None).thresholds.tolist()
    [0.3, 0.3]
    >>> fit_choice("per_tag_f1", {}, ["a"], None, None)
    Traceback (most recent call last):
    ...
    ValueError: strategy 'per_tag_f1' is fitted on the run's validation split, which this run did not keep
    """
    strategy = STRATEGIES.lookup(name)
    if not needs_validation(name):
        zeros = np.zeros((1, len(classes)))
        return strategy.fit(zeros, zeros, **params)
    if y_val is None or p_val is None:
        raise ValueError(f"strategy {name!r} is fitted on the run's validation split, which this run did not keep")
    return strategy.fit(y_val, p_val, **params)


# ---------------------------------------------------------------- calibration
def calibrate(p: Any, temperatures: np.ndarray | None) -> np.ndarray:
    """``p`` (N, C) temperature-scaled per tag (T (C,)), or unchanged (as float64) when ``temperatures`` is None.

    >>> calibrate([[0.8, 0.5]], np.array([2.0, 1.0])).round(4).tolist()
    [[0.6667, 0.5]]
    """
    arr = np.asarray(p, dtype=np.float64)
    return arr if temperatures is None else apply_temperature(arr, temperatures)


class TemperatureCache:
    """Per-run temperatures (C,) fitted on the run's validation split, once per run (held per session).

    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(val_labels=np.array([[1], [0]]), val_probabilities=np.array([[0.9], [0.2]]))
    >>> cache = TemperatureCache(); t = cache.get(run)
    >>> t is cache.get(run), t.shape
    (True, (1,))
    """

    def __init__(self, max_entries: int = 16):
        self.max_entries = max_entries
        # id(run) -> (run, T): the run is kept with its entry so its id cannot be reused meanwhile
        self._entries: dict[int, tuple[Any, np.ndarray]] = {}

    def get(self, run: Any) -> np.ndarray:
        """The run's temperatures; ValueError when the run kept no validation predictions."""
        hit = self._entries.get(id(run))
        if hit is not None and hit[0] is run:
            return hit[1]
        if run.val_labels is None or run.val_probabilities is None:
            raise ValueError("this run kept no validation predictions: no temperature can be fitted")
        temperatures = fit_temperature(run.val_labels, run.val_probabilities)
        self._entries[id(run)] = (run, temperatures)
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest first
        return temperatures


# ---------------------------------------------------------------- what the page shows
def tags_by_decision(probs: Any, classes: Sequence[str], rule: DecisionRule) -> list[tuple[list[str], list[str]]]:
    """Per image (rows of ``probs`` (N, C)): (the sure-yes tags, the unsure tags).

    >>> band = fit_choice("uncertain_band", {"lo": 0.3, "hi": 0.7}, ["a", "b", "c"], None, None)
    >>> tags_by_decision(np.array([[0.9, 0.5, 0.1]]), ["a", "b", "c"], band)
    [(['a'], ['b'])]
    """
    p = np.asarray(probs, dtype=np.float64)
    yes, maybe = rule.decide(p), rule.unsure(p)
    names = list(classes)
    return [
        ([c for c, on in zip(names, y) if on], [c for c, on in zip(names, m) if on])
        for y, m in zip(yes, maybe, strict=True)
    ]


def decision_frame(probs: Sequence[float], classes: Sequence[str], rule: DecisionRule, run: str = "") -> pd.DataFrame:
    """Tidy (tag, value, threshold, decision, run) rows for one image's scores (C,) under ``rule``.

    ``threshold`` is the tag's cut for a one-cut-per-tag rule, NaN otherwise.

    >>> rule = fit_choice("top_k", {"k": 1}, ["dog", "cat"], None, None)
    >>> decision_frame([0.4, 0.3], ["dog", "cat"], rule)["decision"].tolist()
    ['sure yes', 'no']
    """
    p = np.asarray(probs, dtype=np.float64)
    states = rule.states(p[None, :])[0]
    cuts = np.full(p.shape, np.nan) if rule.thresholds is None else np.asarray(rule.thresholds, np.float64)
    return pd.DataFrame(
        {
            "tag": list(classes),
            "value": p,
            "threshold": cuts,
            "decision": [DECISION_LABELS[s] for s in states],
            "run": run,
        }
    )


def decision_chart(
    frame: pd.DataFrame, rule: DecisionRule, *, value_label: str = "probability", step: int = 32
) -> alt.LayerChart:
    """Bars of each tag's score coloured by its decision (sure yes / unsure / no), each tag's cut as a
    tick when the rule has one, and the uncertain band's ``lo`` and ``hi`` as two dashed lines.

    >>> band = fit_choice("uncertain_band", {"lo": 0.3, "hi": 0.7}, ["a", "b"], None, None)
    >>> spec = decision_chart(decision_frame([0.9, 0.5], ["a", "b"], band), band).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['bar', 'text', 'rule']
    """
    classes = list(frame["tag"])
    base = alt.Chart(frame).encode(y=tag_axis(classes))
    tooltip = [
        alt.Tooltip("tag:N"),
        alt.Tooltip("value:Q", title=value_label, format=".3f"),
        alt.Tooltip("decision:N"),
    ]
    bars = decision_bars(base, value_label, tooltip, DECISION_COLOURS)
    labels = base.mark_text(align="left", dx=4, fontSize=12).encode(
        x=alt.X("value:Q"), text=alt.Text("value:Q", format=".2f")
    )
    layers: list[alt.Chart] = [bars, labels]
    if rule.thresholds is not None:
        ticks = base.mark_tick(color="#d62728", thickness=3, size=step - 4).encode(
            x=alt.X("threshold:Q"), tooltip=[alt.Tooltip("tag:N"), alt.Tooltip("threshold:Q", format=".3f")]
        )
        layers.append(ticks)
    if rule.band is not None:
        lo, hi = rule.band
        edges = pd.DataFrame({"x": [lo, hi], "edge": [f"lo {lo:.2f}", f"hi {hi:.2f}"]})
        lines = (
            alt.Chart(edges)
            .mark_rule(color="#b35c00", strokeDash=[5, 3], strokeWidth=2)
            .encode(x="x:Q", tooltip=[alt.Tooltip("edge:N", title="band")])
        )
        layers.append(lines)
    # a step per tag, not a total height: Streamlit sizes discrete axes by their step (as mlc.charts)
    return alt.layer(*layers).properties(height=alt.Step(step))


def scored_split(run: Any, rule: DecisionRule, temperatures: np.ndarray | None) -> tuple[str, dict[str, Any]] | None:
    """What ``rule`` gives on the run's held-out test split when it kept one (the rule was tuned on
    validation, so it is scored elsewhere), else on validation: ``(split name, score_rule(...))`` plus ``n`` (images).

    None when the run kept neither.
    """
    for split, y, p in (
        ("test", getattr(run, "test_labels", None), getattr(run, "test_probabilities", None)),
        ("validation", run.val_labels, run.val_probabilities),
    ):
        if y is not None and p is not None:
            scores = score_rule(y, rule, calibrate(p, temperatures), run.config.classes)
            return split, {**scores, "n": len(y)}
    return None


def runs_frame(probs: Sequence[float], classes: Sequence[str], rule: DecisionRule, run: str = "") -> pd.DataFrame:
    """:func:`mlc.charts.probability_frame` rows for the runs chart, "above threshold" meaning a sure yes of ``rule``.

    >>> rule = fit_choice("top_k", {"k": 1}, ["a", "b"], None, None)
    >>> runs_frame([0.4, 0.3], ["a", "b"], rule)["decision"].tolist()
    ['above threshold', 'below threshold']
    """
    from mlc.charts import probability_frame

    p = np.asarray(probs, dtype=np.float64)
    cuts = np.full(p.shape, np.nan) if rule.thresholds is None else rule.thresholds
    frame = probability_frame(p, classes, cuts, run=run)
    frame["decision"] = np.where(rule.decide(p[None, :])[0], "above threshold", "below threshold")
    return frame


def decision_table(table: pd.DataFrame, probs: Any, rule: DecisionRule) -> pd.DataFrame:
    """:func:`mlc.inference.results_table`'s rows with ``predicted`` (and ``exact``) under ``rule``, and for
    the uncertain band an ``unsure`` column after ``predicted``. Tag columns must be the rule's tags, in order.

    >>> t = pd.DataFrame({"file": ["x"], "predicted": ["a"], "true": ["b"], "exact": [False], "a": [0.6], "b": [0.9]})
    >>> top = fit_choice("top_k", {"k": 1}, ["a", "b"], None, None)
    >>> decision_table(t, [[0.6, 0.9]], top)[["predicted", "exact"]].values.tolist()
    [['b', True]]
    """
    names = list(table.columns[-np.asarray(probs).shape[1] :])
    out = table.copy()
    pairs = tags_by_decision(probs, names, rule)
    out["predicted"] = [", ".join(yes) for yes, _ in pairs]
    known = out["exact"].notna() if "exact" in out else None
    if known is not None:
        out["exact"] = [
            (t == pred) if k else None for t, pred, k in zip(out["true"], out["predicted"], known, strict=True)
        ]
    if rule.band is not None:
        out.insert(list(out.columns).index("predicted") + 1, "unsure", [", ".join(m) for _, m in pairs])
    return out
