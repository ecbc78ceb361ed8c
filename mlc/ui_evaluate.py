"""Streamlit glue of the Evaluate page's workbench: the Thresholds and Calibration tabs, the
calibration toggle, and the bootstrap intervals (cached per run id). Numbers come from
:mod:`mlc.workbench`; this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mlc import evaluation, workbench
from mlc.charts_calibration import reliability_chart
from mlc.runs import Run
from mlc.threshold_strategies import STRATEGIES

#: Where the visitor's choice "use calibrated probabilities" lives (a bool; Predict reads it too).
CALIBRATED = "calibrated"
NUMBER = st.column_config.NumberColumn(format="%.3f")


def calibrated_on() -> bool:
    """Whether the visitor turned calibration on (False until they do)."""
    return bool(st.session_state.get(CALIBRATED, False))


def _keep_choice() -> None:
    # a widget's own key is dropped on pages that do not draw it: keep the choice under a plain key
    st.session_state[CALIBRATED] = bool(st.session_state["calibrated_toggle"])


def calibration_toggle() -> bool:
    """The toggle "use calibrated probabilities", kept in ``st.session_state["calibrated"]``."""
    st.toggle(
        "use calibrated probabilities",
        value=calibrated_on(),
        key="calibrated_toggle",
        on_change=_keep_choice,
        help="On: the One-run tab (and Predict) use the test outputs after per-tag temperature scaling, "
        "fitted on validation.",
    )
    return calibrated_on()


def as_shown(run: Run) -> Run:
    """``run``, or its temperature-scaled copy when calibration is on."""
    # a run without validation outputs has no temperature to fit: it is shown as it is
    return workbench.calibrated_run(run) if calibrated_on() and run.val_probabilities is not None else run


# ---------------------------------------------------------------- intervals
@st.cache_data(max_entries=64, show_spinner="Bootstrapping 1,000 resamples …")
def cached_intervals(run_id: str, thresholds: tuple[float, ...], _y: np.ndarray, _p: np.ndarray, classes: tuple):
    """:func:`mlc.workbench.intervals`, once per (run id, thresholds)."""
    return workbench.intervals(_y, _p, list(thresholds), list(classes))


def run_intervals(run: Run, thresholds: Any) -> dict:
    """The cached bootstrap intervals of ``run``'s scored split at ``thresholds`` (C,)."""
    split = evaluation.scored_split(run)
    thr = tuple(float(t) for t in np.broadcast_to(thresholds, (run.config.num_classes,)))
    return cached_intervals(run.id, thr, split.labels, split.probabilities, tuple(run.config.classes))


def interval_caption(ci: dict, n_images: int) -> None:
    """One line: the headline metrics' 95 % intervals and what they resampled."""
    parts = [f"{label} {workbench.interval_text(ci['metrics'][key])}" for key, label in workbench.HEADLINE]
    st.caption(
        f"Bootstrap 95 % intervals ({ci['n']:,} resamples of the {n_images} scored images, seeded): "
        + " · ".join(parts)
    )


def per_tag_with_intervals(report: dict, ci: dict) -> pd.DataFrame:
    """The page's per-tag table with each tag's precision, recall and AP interval bounds."""
    table = evaluation.per_tag_table(report).merge(workbench.per_tag_interval_text(ci), on="tag")
    order = ["tag", "support", "threshold", "precision", "precision 95 %", "recall", "recall 95 %", "f1"]
    order += ["average_precision", "AP 95 %"]
    return table[order + [c for c in table.columns if c not in order]]


@st.cache_data(max_entries=32, show_spinner="Bootstrapping the seed groups …")
def _seeds(key: tuple, _runs: Sequence[Run], _thresholds: Sequence[Any]) -> pd.DataFrame:
    return workbench.seed_table(_runs, _thresholds)


@st.cache_data(max_entries=32, show_spinner="Paired bootstrap against the first run …")
def _paired(key: tuple, _runs: Sequence[Run], _thresholds: Sequence[Any]) -> pd.DataFrame:
    return workbench.paired_rows(_runs, _thresholds)


def paired_section(selected: Sequence[Run], mode: Any) -> None:
    """Compare runs: the paired bootstrap of each run against the first, and seed groups' mean ± sd."""
    thresholds = [evaluation.run_thresholds(r, mode) for r in selected]
    key = (tuple(r.id for r in selected), str(mode))
    st.markdown(f"**Beyond noise? Each run minus {selected[0].label}, on the same test images**")
    st.dataframe(
        _paired(key, selected, thresholds),
        hide_index=True,
        width="stretch",
        column_config={k: NUMBER for k in ("difference", "low", "high")},
    )
    st.caption(
        f"Paired bootstrap ({workbench.RESAMPLES:,} resamples of the test images, the same for both runs): "
        "“beyond noise” when the 95 % interval of the difference excludes 0."
    )
    seeds = _seeds(key, selected, thresholds)
    if not seeds.empty:
        st.markdown("**Runs that differ only in seed: mean ± sd across seeds**")
        st.dataframe(seeds, hide_index=True, width="stretch")


@st.cache_data(max_entries=128, show_spinner=False)
def _per_run(kind: str, run_id: str, _run: Run, platt: bool = False) -> pd.DataFrame:
    """A calibration frame of one run, computed once per (kind, run id): every tab runs on every rerun."""
    if kind == "table":
        return workbench.calibration_table(_run, platt=platt)
    return {"reliability": workbench.reliability_frame, "shift": workbench.threshold_shift}[kind](_run)


# ---------------------------------------------------------------- thresholds tab
def _param_widgets(name: str, n_tags: int, classes: Sequence[str]) -> dict[str, Any]:
    """Inputs built from the strategy's declared parameters; returns the edited values."""
    strategy, values = STRATEGIES[name], {}
    for key, spec in strategy.params.items():
        wkey = f"wb_param_{name}_{key}"
        if spec.kind == "per_tag":
            cols = st.columns(n_tags)
            values[key] = [
                col.number_input(f"{key} · {tag}", 0.0, 1.0, float(spec.default), 0.05, key=f"{wkey}_{j}")
                for j, (col, tag) in enumerate(zip(cols, classes))
            ]
        elif key in strategy.whole:
            values[key] = st.number_input(
                key, int(spec.low), int(spec.high), int(spec.default), 1, key=wkey, help=spec.help
            )
        else:
            box = spec.number_input()
            values[key] = st.number_input(key, box.low, box.high, box.start, box.step, key=wkey, help=spec.help)
    return values


def _fittable(runs: Sequence[Run]) -> dict[int, Run]:
    """The runs that kept validation predictions (to fit on), by number; says so when there are none."""
    by_number = {r.number: r for r in runs if r.val_labels is not None and r.val_probabilities is not None}
    if not by_number:
        st.info("None of these runs kept validation predictions to fit thresholds or calibration on.")
    return by_number


def thresholds_tab(runs: Sequence[Run]) -> None:
    """Every strategy fitted on validation, scored on test; one strategy's parameters editable."""
    by_number = _fittable(runs)
    if not by_number:
        return
    c1, c2 = st.columns(2)
    number = c1.selectbox("Run", list(reversed(by_number)), key="wb_run", format_func=lambda n: by_number[n].label)
    run = by_number.get(number) or list(by_number.values())[-1]
    name = c2.selectbox(
        "Strategy to tune", list(STRATEGIES), index=list(STRATEGIES).index("per_tag_f1"), key="wb_strategy",
        format_func=lambda n: f"{n} · {STRATEGIES[n].label}",
    )  # fmt: skip
    st.caption(STRATEGIES[name].description)
    edited = _param_widgets(name, run.config.num_classes, run.config.classes)
    try:
        results = workbench.strategy_results(run, {name: edited})
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        return
    split = workbench.fit_and_score(run)
    where = (
        f"fitted on the run’s {len(split.y_val)} validation images, scored on its {len(split.y_test)} test images"
        if split.name == "test"
        else f"this run kept no test split: fitted on {len(split.y_val)} validation images, "
        f"scored on the other {len(split.y_test)} (seeded halves)"
    )
    st.caption(f"Every strategy at its declared defaults (the one above as edited), {where}.")
    st.dataframe(
        workbench.strategy_summary(run, results=results),
        hide_index=True,
        width="stretch",
        column_config={k: NUMBER for k in workbench.SUMMARY_COLUMNS[1:] if k != "unsure"},
    )
    st.caption(
        "labels_per_image: mean “yes” per image, next to true_per_image. The uncertain band leaves cells "
        "“unsure”: coverage is the share of cells decided, sure_precision the precision of its sure yes."
    )
    per_tag = workbench.strategy_per_tag(results)
    st.markdown("**Per-tag F1 on test, strategies side by side**")
    side = per_tag.pivot(index="tag", columns="strategy", values="f1").loc[list(run.config.classes), list(STRATEGIES)]
    st.dataframe(side, width="stretch", column_config={k: NUMBER for k in STRATEGIES})
    with st.expander("Per-tag precision, recall, F1 and threshold of every strategy"):
        st.dataframe(per_tag, hide_index=True, width="stretch")
    st.markdown(f"**{name}: tuned on validation, scored on test, per tag**")
    positives = workbench.positives_per_tag(split.y_val)
    st.dataframe(
        workbench.tuned_gap(results[name], positives),
        hide_index=True,
        width="stretch",
        column_config={k: NUMBER for k in ("threshold", "validation_f1", "test_f1", "gap")},
    )
    rare = int(np.argmin(positives))
    gap = results[name]["gap"]["per_tag"][rare]["f1"]
    verdict = "it did better where it was tuned: overfit" if gap > 0.02 else "on this run it held up on test"
    st.caption(
        f"gap = validation F1 − test F1. The rarest tag, {run.config.classes[rare]}, has {int(positives[rare])} "
        f"positives on validation, so its tuned cut rests on few images: its gap is {gap:+.3f} ({verdict})."
    )
    for note in results[name]["rule"].notes:
        st.caption(note)


# ---------------------------------------------------------------- calibration tab
def calibration_tab(runs: Sequence[Run]) -> None:
    """Reliability per tag, ECE / Brier / log loss before and after temperature, thresholds, loss modes."""
    by_number = _fittable(runs)
    if not by_number:
        return
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    number = c1.selectbox("Run", list(reversed(by_number)), key="cal_run", format_func=lambda n: by_number[n].label)
    run = by_number.get(number) or list(by_number.values())[-1]
    with c2:
        calibration_toggle()
    platt = c3.checkbox("also Platt scaling", key="cal_platt", help="a, b per tag, fitted on validation")
    st.caption(
        "Temperature scaling keeps each tag's ranking and its 0.5 cut (logit 0): with the toggle on, mAP and "
        "the numbers at 0.5 or at F1-optimal cuts stay the same; a global threshold other than 0.5 and the "
        "F1-against-threshold sweep move, and the probabilities themselves (Predict) become more honest."
    )
    split = workbench.fit_and_score(run)
    st.caption(
        f"Temperatures (one per tag, Guo et al. 2017) fitted on {len(split.y_val)} validation images by "
        f"minimising log loss; scored on {len(split.y_test)} "
        + ("test images." if split.name == "test" else "other validation images (seeded halves).")
        + f" ECE with {workbench.BINS} equal-width bins."
    )
    table = _per_run("table", run.id, run, platt)
    st.dataframe(table, hide_index=True, width="stretch", column_config={k: NUMBER for k in table.columns[1:]})
    frame = _per_run("reliability", run.id, run)
    cols = st.columns(3)
    for j, tag in enumerate(run.config.classes):
        row = table.iloc[j]
        ece = {"raw": row["ece"], "scaled": row["ece_temperature"]}
        cols[j % 3].altair_chart(reliability_chart(frame, tag, ece), width="content")
    st.markdown("**F1-optimal threshold vs half the best F1 (Lipton et al., 2014), on test**")
    shift = _per_run("shift", run.id, run)
    st.dataframe(shift, hide_index=True, width="stretch", column_config={k: NUMBER for k in shift.columns[1:]})
    st.caption("For calibrated scores the F1-optimal threshold is half the best F1: difference near 0.")
    st.markdown("**Loss modes compared on calibration (raw outputs, this session’s runs on the same data)**")
    peers = workbench.same_data_runs(runs, run)
    st.dataframe(workbench.loss_calibration(peers), hide_index=True, width="stretch")
    losses = {r.config.loss for r in peers}
    if len(losses) == 1:
        st.caption(
            f"Only {losses.pop()} runs here: train a focal or asl run on the same data to see those losses "
            "move probabilities away from frequencies (a higher ECE)."
        )
