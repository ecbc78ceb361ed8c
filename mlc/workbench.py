"""The Evaluate page's workbench: threshold strategies side by side, calibration, and error bars.

Everything is computed from what a :class:`~mlc.runs.Run` keeps: strategies and
calibrators are *fitted on validation* and *scored on test* (:func:`fit_and_score`;
a run without a test split has its validation split cut in two, seeded, by
:func:`mlc.threshold_strategies.split_in_two`). Results are tidy DataFrames a page
shows as they are. Shapes: labels ``y`` and outputs ``p`` are ``(N, C)``.

>>> from mlc.config import RunConfig
>>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]]); p = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.4], [0.2, 0.1]])
>>> run = Run(RunConfig(classes=("a", "b")), val_labels=y, val_probabilities=p, test_labels=y, test_probabilities=p)
>>> fit_and_score(run).name
'test'
>>> strategy_summary(run)["strategy"].tolist()[:2]
['fixed_global', 'manual_per_tag']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from mlc import calibration
from mlc.bootstrap import bootstrap_ci, paired_bootstrap, seed_summary
from mlc.eval_splits import scored_split, split_name
from mlc.runs import Run
from mlc.threshold_strategies import STRATEGIES, split_in_two, tuned_vs_test

#: Bootstrap resamples behind every interval on the page (the issue asks for at least 1,000).
RESAMPLES = 1000
#: Equal-width bins of the reliability diagrams and ECE.
BINS = 15
#: The summary columns of the strategies table, in order.
SUMMARY_COLUMNS = (
    "strategy", "micro_f1", "macro_f1", "subset_accuracy", "labels_per_image", "true_per_image",
    "coverage", "unsure", "sure_precision",
)  # fmt: skip


class FitScore(NamedTuple):
    """Where a run's tuned things are fitted (``y_val``, ``p_val``) and scored (``y_test``, ``p_test``).

    ``name`` is "test" (the run's held-out split) or "validation halves" (no test split kept).
    """

    name: str
    y_val: np.ndarray
    p_val: np.ndarray
    y_test: np.ndarray
    p_test: np.ndarray


def fit_and_score(run: Run, seed: int = 0) -> FitScore:
    """Validation to fit on and test to score on; without a test split, seeded halves of validation."""
    if run.val_labels is None or run.val_probabilities is None:
        raise ValueError(f"run {run.label} kept no validation predictions to fit thresholds or calibration on")
    y, p = np.asarray(run.val_labels), np.asarray(run.val_probabilities)
    if split_name(run) == "test":
        return FitScore("test", y, p, np.asarray(run.test_labels), np.asarray(run.test_probabilities))
    a, b = split_in_two(len(y), seed)
    return FitScore("validation halves", y[a], p[a], y[b], p[b])


def strategy_params(name: str, n_tags: int, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``given`` over the strategy's declared defaults, checked (ValueError names the field and range).

    >>> strategy_params("uncertain_band", 2, {"lo": 0.2})
    {'lo': 0.2, 'hi': 0.7}
    """
    return STRATEGIES.lookup(name).check_params(dict(given or {}), n_tags)


def strategy_results(run: Run, params: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict]:
    """Every registered strategy fitted on validation and scored on validation and test
    (:func:`mlc.threshold_strategies.tuned_vs_test`); ``params`` maps a strategy to its edited parameters."""
    split, params = fit_and_score(run), params or {}
    c = split.y_val.shape[1]
    return {
        name: tuned_vs_test(
            split.y_val,
            split.p_val,
            split.y_test,
            split.p_test,
            name,
            run.config.classes,
            **strategy_params(name, c, params.get(name)),
        )  # fmt: skip
        for name in STRATEGIES
    }


def strategy_summary(run: Run, params: Mapping[str, Mapping[str, Any]] | None = None, results=None) -> pd.DataFrame:
    """One row per strategy, on test: micro/macro F1, subset accuracy, labels per image next to the true
    count, and the uncertain band's coverage, unsure cells and precision of the sure decisions."""
    results = results or strategy_results(run, params)
    rows = []
    for name, res in results.items():
        test = res["test"]
        rows.append({"strategy": name, **{k: test[k] for k in SUMMARY_COLUMNS[1:]}})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def strategy_per_tag(results: Mapping[str, dict]) -> pd.DataFrame:
    """Long table: strategy, tag, precision, recall, F1, coverage and threshold on test."""
    rows = [{"strategy": name, **row} for name, res in results.items() for row in res["test"]["per_tag"]]
    return pd.DataFrame(rows, columns=["strategy", "tag", "precision", "recall", "f1", "coverage", "threshold"])


def tuned_gap(result: Mapping[str, Any], supports: Sequence[int] | None = None) -> pd.DataFrame:
    """Per tag: validation F1 (where it was tuned), test F1, and the gap (validation − test).

    ``supports`` (C,) adds each tag's positives on validation: a rare tag's cut is
    fitted on few, so its gap is the one that shows overfitting.
    """
    rows = []
    for j, (v, t) in enumerate(zip(result["validation"]["per_tag"], result["test"]["per_tag"], strict=True)):
        row = {"tag": v["tag"], "threshold": t["threshold"], "validation_f1": v["f1"], "test_f1": t["f1"]}
        row["gap"] = round(v["f1"] - t["f1"], 4)
        if supports is not None:
            row["validation_positives"] = int(supports[j])
        rows.append(row)
    return pd.DataFrame(rows)


def positives_per_tag(y: Any) -> np.ndarray:
    """How many images have each tag (``y >= 0.5``), shape (C,).

    >>> positives_per_tag([[1, 0], [1, 0.2]]).tolist()
    [2, 0]
    """
    return (np.asarray(y) >= 0.5).sum(0)


# ---------------------------------------------------------------- calibration
def temperatures(run: Run) -> np.ndarray:
    """Per-tag temperature (C,) fitted on the fitting split (:func:`fit_and_score`), Guo et al. (2017)."""
    split = fit_and_score(run)
    return calibration.fit_temperature(split.y_val, split.p_val)


def calibrated_run(run: Run) -> Run:
    """A copy of ``run`` whose scored test (or validation) outputs are temperature-scaled.

    The temperature is fitted on validation (whose outputs the copy scales too); when the run
    has no test split the copy holds the scored half of validation only.
    """
    split, temps = fit_and_score(run), temperatures(run)
    p = calibration.apply_temperature(split.p_test, temps)
    ident = f"{run.id}-calibrated"
    if split.name == "test":
        # validation scaled too, so thresholds tuned there are tuned on the scores they are applied to
        p_val = calibration.apply_temperature(split.p_val, temps)
        return dataclasses.replace(run, val_probabilities=p_val, test_probabilities=p, id=ident)
    return dataclasses.replace(run, val_labels=split.y_test, val_probabilities=p, id=ident)


def calibration_table(run: Run, bins: int = BINS, platt: bool = False) -> pd.DataFrame:
    """Per tag on test: ECE, Brier and log loss before and after per-tag temperature (fitted on validation),
    the temperature, and with ``platt`` the same after Platt scaling (a, b per tag)."""
    split = fit_and_score(run)
    temps = calibration.fit_temperature(split.y_val, split.p_val)
    variants = {"": split.p_test, "_temperature": calibration.apply_temperature(split.p_test, temps)}
    if platt:
        a, b = calibration.fit_platt(split.y_val, split.p_val)
        variants["_platt"] = calibration.apply_platt(split.p_test, a, b)
    table = pd.DataFrame({"tag": list(run.config.classes), "temperature": temps.round(3)})
    for suffix, p in variants.items():
        table[f"ece{suffix}"] = calibration.ece(split.y_test, p, bins).per_tag
        table[f"brier{suffix}"] = calibration.brier(split.y_test, p)
        table[f"log_loss{suffix}"] = calibration.log_loss(split.y_test, p).round(4)
    return table


def reliability_frame(run: Run, bins: int = BINS) -> pd.DataFrame:
    """Tidy reliability-diagram rows on test, before and after temperature: ``tag``, ``scores``
    ("raw" / "temperature-scaled"), ``bin``, ``bin_low``, ``bin_high``, ``mean_predicted``,
    ``observed``, ``count``; empty bins are left out."""
    split = fit_and_score(run)
    temps = calibration.fit_temperature(split.y_val, split.p_val)
    frames = []
    for label, p in (("raw", split.p_test), ("temperature-scaled", calibration.apply_temperature(split.p_test, temps))):
        rel = calibration.reliability(split.y_test, p, bins)
        edges = rel["edges"]
        for j, tag in enumerate(run.config.classes):
            keep = rel["count"][j] > 0
            frames.append(
                pd.DataFrame(
                    {
                        "tag": tag,
                        "scores": label,
                        "bin": np.flatnonzero(keep),
                        "bin_low": edges[:-1][keep],
                        "bin_high": edges[1:][keep],
                        "mean_predicted": rel["mean_predicted"][j][keep],
                        "observed": rel["observed"][j][keep],
                        "count": rel["count"][j][keep],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def threshold_shift(run: Run) -> pd.DataFrame:
    """Per tag on test: the F1-optimal threshold before and after temperature scaling, next to half the
    best F1 (Lipton et al., 2014: equal for calibrated scores); ``difference`` is threshold − F1/2."""
    split = fit_and_score(run)
    after = calibration.apply_temperature(split.p_test, calibration.fit_temperature(split.y_val, split.p_val))
    raw = calibration.f1_threshold_vs_half_best_f1(split.y_test, split.p_test, run.config.classes)
    cal = calibration.f1_threshold_vs_half_best_f1(split.y_test, after, run.config.classes)
    rows = []
    for r, c in zip(raw, cal, strict=True):
        rows.append(
            {
                "tag": r["tag"],
                "threshold": r["threshold"],
                "half_best_f1": r["half_best_f1"],
                "difference": r["difference"],
                "threshold_calibrated": c["threshold"],
                "half_best_f1_calibrated": c["half_best_f1"],
                "difference_calibrated": c["difference"],
            }
        )
    return pd.DataFrame(rows)


def loss_calibration(runs: Sequence[Run], bins: int = BINS) -> pd.DataFrame:
    """One row per run: its ``run``, ``loss``, mean ECE and each tag's ECE on its scored split (raw outputs)."""
    rows = []
    for run in runs:
        split = scored_split(run)
        e = calibration.ece(split.labels, split.probabilities, bins).per_tag
        row = {"run": run.label, "loss": run.config.loss, "mean_ece": round(float(e.mean()), 4)}
        row.update({f"ece {tag}": float(v) for tag, v in zip(run.config.classes, e)})
        rows.append(row)
    return pd.DataFrame(rows)


def same_data_runs(runs: Sequence[Run], like: Run) -> list[Run]:
    """The runs whose numbers compare with ``like``'s (same data set, tags and split kind), ``like`` first."""
    from mlc.eval_splits import incomparable_reason

    return [like] + [r for r in runs if r is not like and incomparable_reason([like, r]) is None]


# ---------------------------------------------------------------- error bars
HEADLINE = (("map", "mAP"), ("macro_f1", "macro F1"), ("micro_f1", "micro F1"))


def intervals(y: Any, p: Any, thresholds: Any, classes: Sequence[str], n: int = RESAMPLES) -> dict[str, Any]:
    """:func:`mlc.bootstrap.bootstrap_ci` at ``thresholds``, seeded 0 (the page caches it per run id)."""
    return bootstrap_ci(y, p, n=n, seed=0, thresholds=thresholds, classes=classes)


def interval_text(cell: Mapping[str, float]) -> str:
    """``"0.812 [0.770, 0.850]"``; a dash for an undefined bound.

    >>> interval_text({"value": 0.8, "low": 0.7, "high": math.nan})
    '0.800 [0.700, –]'
    """

    def f(x: float) -> str:
        return "–" if x is None or math.isnan(x) else f"{x:.3f}"

    return f"{f(cell['value'])} [{f(cell['low'])}, {f(cell['high'])}]"


def per_tag_intervals(ci: Mapping[str, Any]) -> pd.DataFrame:
    """Per tag: precision, recall and AP 95 % interval bounds (``precision_low`` ... ``ap_high``)."""
    rows = []
    for r in ci["per_tag"]:
        row = {"tag": r["tag"]}
        for m in ("precision", "recall", "ap"):
            row[f"{m}_low"], row[f"{m}_high"] = r[m]["low"], r[m]["high"]
        rows.append(row)
    return pd.DataFrame(rows)


def per_tag_interval_text(ci: Mapping[str, Any]) -> pd.DataFrame:
    """Per tag, one text column per metric: ``precision 95 %``, ``recall 95 %``, ``AP 95 %`` as ``[low, high]``."""
    rows = []
    for r in ci["per_tag"]:
        row = {"tag": r["tag"]}
        for m, label in (("precision", "precision"), ("recall", "recall"), ("ap", "AP")):
            row[f"{label} 95 %"] = interval_text(r[m]).split(" ", 1)[1]
        rows.append(row)
    return pd.DataFrame(rows)


#: Comparison-table labels (mlc.evaluation.metric_rows) the paired bootstrap measures.
PAIRED_METRICS = {
    "map": "mAP",
    "macro_f1": "macro F1",
    "micro_f1": "micro F1",
    "macro_recall": "macro recall",
    "hamming_loss": "Hamming loss",
    "subset_accuracy": "subset accuracy",
}


def paired_rows(runs: Sequence[Run], thresholds: Sequence[Any]) -> pd.DataFrame:
    """Each later run against the first on the *same* test images (:func:`mlc.bootstrap.paired_bootstrap`):
    rows ``metric``, ``run``, ``difference``, ``low``, ``high``, ``verdict``; for mAP, macro/micro F1, macro
    recall, Hamming loss, subset accuracy and
    the first run's rarest tag's recall, precision and AP (tag rows named ``recall: tag``)."""
    from mlc.evaluation import rare_tag

    first, rare = runs[0], runs[0].config.classes[rare_tag(runs[0])]
    base = scored_split(first)
    rows = []
    for run, thr in zip(runs[1:], thresholds[1:]):
        other = scored_split(run)
        if other.labels.shape != base.labels.shape or not np.array_equal(other.labels, base.labels):
            rows.append({"metric": "all", "run": run.label, "verdict": "not paired: different test images"})
            continue
        for r in paired_bootstrap(
            base.labels, base.probabilities, other.probabilities, n=RESAMPLES, seed=0,
            thresholds_a=thresholds[0], thresholds_b=thr, classes=first.config.classes,
        ):  # fmt: skip
            if r["tag"] is None:
                label = PAIRED_METRICS[r["metric"]]
            elif r["tag"] == rare and r["metric"] in ("recall", "precision", "ap"):
                label = f"{rare} {'AP' if r['metric'] == 'ap' else r['metric']} (rarest tag)"
            else:
                continue
            verdict = "beyond noise" if r["beyond_noise"] else "within noise"
            rows.append({"metric": label, "run": run.label, **{k: r[k] for k in ("difference", "low", "high")},
                         "verdict": verdict})  # fmt: skip
    return pd.DataFrame(rows, columns=["metric", "run", "difference", "low", "high", "verdict"])


def seed_groups(runs: Sequence[Run]) -> list[list[Run]]:
    """Groups of two or more runs whose configs differ only in ``seed``, in first-seen order.

    >>> from mlc.config import RunConfig
    >>> a, b, c = Run(RunConfig(seed=1)), Run(RunConfig(seed=2)), Run(RunConfig(loss="focal"))
    >>> [len(g) for g in seed_groups([a, b, c])]
    [2]
    """
    groups: dict[str, list[Run]] = {}
    for run in runs:
        key = repr(sorted((k, repr(v)) for k, v in run.config.to_dict().items() if k != "seed"))
        groups.setdefault(key, []).append(run)
    return [g for g in groups.values() if len({r.config.seed for r in g}) > 1]


def seed_table(runs: Sequence[Run], thresholds: Sequence[Any]) -> pd.DataFrame:
    """Per seed group: mean ± sd across seeds (:func:`mlc.bootstrap.seed_summary`) of mAP, macro and
    micro F1 at each run's ``thresholds`` (they follow ``runs``), beside the group's first run's
    bootstrap 95 % interval of each."""
    from mlc.metrics import report

    thr = {run.id: t for run, t in zip(runs, thresholds)}
    rows = []
    for group in seed_groups(runs):
        splits = [scored_split(r) for r in group]
        reps = [report(s.labels, s.probabilities, thr[r.id]) for r, s in zip(group, splits)]
        summary = seed_summary([{k: rep[k] for k, _ in HEADLINE} for rep in reps])
        ci = intervals(splits[0].labels, splits[0].probabilities, thr[group[0].id], group[0].config.classes)
        for key, label in HEADLINE:
            rows.append(
                {
                    "runs": ", ".join(f"#{r.number or '?'}" for r in group),
                    "seeds": ", ".join(str(r.config.seed) for r in group),
                    "metric": label,
                    "mean ± sd across seeds": summary[key]["text"],
                    "bootstrap 95 % (first run)": interval_text(ci["metrics"][key]),
                }
            )
    return pd.DataFrame(
        rows, columns=["runs", "seeds", "metric", "mean ± sd across seeds", "bootstrap 95 % (first run)"]
    )
