"""Evaluate & compare page: one run in depth (per-tag metrics, PR curves, threshold sweeps,
why `accuracy` lies) and several runs side by side.

A thin view: every number comes from mlc.evaluation on the runs' kept held-out test
predictions (validation for runs without a test split; each caption says which); no model
runs here except Keras' own `accuracy`, measured on those outputs.
"""

import streamlit as st

from mlc import charts, evaluation, ui_evaluate, ui_saliency
from mlc.runs import data_label
from mlc.states import ThresholdMode
from mlc.ui import accuracy_table, ensure_app_navigation, session_jobs

ensure_app_navigation()

jobs = session_jobs()
jobs.collect()  # a run that finished while the visitor was elsewhere joins the list
runs = evaluation.evaluable_runs(jobs.runs)
by_number = {run.number: run for run in runs}
NUMBER = st.column_config.NumberColumn(format="%.3f")

st.title("Evaluate & compare")
st.caption(
    "Every number here is computed on each run's held-out **test** images (never used to train or to pick "
    "thresholds), with decisions `p ≥ threshold` per tag. "
    "Charts can be saved as PNG or SVG from their ⋯ menu."
)
for other in evaluation.unscorable_runs(jobs.runs):
    st.caption(f"{other.label} is not listed: {other.message or 'it kept no predictions to evaluate'}.")
if not runs:
    st.info(
        "No finished runs in this session yet. Train one on the **Train** page (or the quick model on "
        "**Predict**); it appears here when it finishes.",
        icon=":material/info:",
    )
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

one_tab, compare_tab, thresholds_tab, calibration_tab, saliency_tab = st.tabs(
    ["One run in depth", "Compare runs", "Thresholds", "Calibration", "Where it looks"],
    key="eval_tab",
    on_change="rerun",
)
with saliency_tab:
    ui_saliency.where_it_looks_tab(runs, saliency_tab.open)  # saliency maps are computed only once it is opened
with thresholds_tab:
    ui_evaluate.thresholds_tab(runs)
with calibration_tab:
    ui_evaluate.calibration_tab(runs)

# ---------------------------------------------------------------- one run
with one_tab:
    c1, c2, c3 = st.columns([3, 3, 2], vertical_alignment="bottom")
    number = c1.selectbox(
        "Run",
        list(reversed(by_number)),
        key="eval_run",
        format_func=lambda n: f"{by_number[n].label} · {by_number[n].status}",
    )
    run = ui_evaluate.as_shown(jobs.find(number) or runs[-1])
    mode = c2.radio("Thresholds", list(ThresholdMode), key="eval_mode", format_func=lambda m: m.label)
    value = c3.slider(
        "Threshold",
        0.0,
        1.0,
        0.5,
        0.01,
        key="eval_threshold",
        disabled=mode != ThresholdMode.GLOBAL,
        help="Used by “one threshold for every tag”.",
    )
    thresholds = evaluation.run_thresholds(run, mode, value)
    report = evaluation.run_report(run, thresholds)
    st.caption(
        f"Trained on **{data_label(run.config)}**. "
        + evaluation.split_caption(run, tuned=mode == ThresholdMode.PER_TAG_F1)
        + (
            " **Calibrated**: outputs temperature-scaled per tag (Calibration tab)."
            if ui_evaluate.calibrated_on()
            else ""
        )
    )
    ci = ui_evaluate.run_intervals(run, thresholds)

    m = st.columns(5)
    m[0].metric("mAP", f"{report['map']:.3f}", help="Mean over tags of average precision (threshold-free).")
    m[1].metric(
        "macro F1", f"{report['macro_f1']:.3f}", help="Unweighted mean of the per-tag F1: rare tags count fully."
    )
    m[2].metric(
        "micro F1", f"{report['micro_f1']:.3f}", help="F1 of all (scene, tag) decisions pooled: common tags dominate."
    )
    m[3].metric("Hamming loss", f"{report['hamming_loss']:.4f}", help="Fraction of (scene, tag) cells decided wrong.")
    m[4].metric("subset accuracy", f"{report['subset_accuracy']:.3f}", help="Fraction of scenes with every tag right.")

    ui_evaluate.interval_caption(ci, len(evaluation.scored_split(run).labels))
    st.dataframe(
        ui_evaluate.per_tag_with_intervals(report, ci),
        hide_index=True,
        width="stretch",
        column_config={k: NUMBER for k in ("threshold", "precision", "recall", "f1", "average_precision")},
    )
    points = evaluation.operating_points(report)
    left, right = st.columns(2, gap="large")
    left.altair_chart(charts.pr_chart(evaluation.pr_curves_frame(run), points), width="stretch")
    right.altair_chart(charts.sweep_chart(evaluation.sweep_frame(run), points), width="stretch")

    if run.config.soft_labels:
        st.subheader("Soft labels: predicted vs true strength", anchor=False)
        st.altair_chart(charts.strength_chart(evaluation.strength_frame(run)), width="content")
        st.dataframe(evaluation.mae_table(report), hide_index=True, column_config={"MAE": NUMBER})

    st.subheader("Why `accuracy` lies", anchor=False)
    split = evaluation.scored_split(run)
    lies = accuracy_table(f"{run.id}-{split.name}", split.labels, split.probabilities)
    st.dataframe(evaluation.accuracy_frame(lies), width="stretch", column_config={"model": NUMBER, "all zeros": NUMBER})
    acc, binary, f1 = (lies.row(key) for key in ("keras_accuracy", "binary_accuracy", "macro_f1"))
    st.markdown(
        f"- The reference article compiles with `metrics=['accuracy']`. For a model with {run.config.num_classes} "
        f"outputs the installed Keras turns that into **{lies.keras_class}**: it compares the "
        "single highest output with the *first* true tag (argmax of a multi-hot row), so a scene with dog and sky "
        f"counts as right only when dog scores highest. This model gets **{acc.model:.3f}**; a model "
        f"that never says yes gets **{acc.all_zeros:.3f}** (its argmax is always the first tag).\n"
        f"- Binary accuracy counts every (scene, tag) cell: **{binary.model:.3f}** here, but the all-zeros "
        f"predictor already scores **{binary.all_zeros:.3f}**, because most cells are “tag absent”.\n"
        f"- Per-tag scores do not reward silence: macro F1 is **{f1.model:.3f}** for this model and "
        f"**{f1.all_zeros:.3f}** for all zeros; mAP does not depend on a threshold at all."
    )

# ---------------------------------------------------------------- compare
with compare_tab:
    numbers = list(reversed(by_number))
    newest = by_number[numbers[0]]  # by default: the newest run and those that compare with it
    default = [n for n in numbers if evaluation.incomparable_reason([newest, by_number[n]]) is None][:4]
    chosen = st.multiselect(
        "Runs to compare", numbers, default=default, key="compare_runs", format_func=lambda n: by_number[n].label
    )
    selected = [by_number[n] for n in sorted(chosen) if n in by_number]
    if len(selected) < 2:
        st.info(
            "Pick two or more runs (train another on the **Train** page, e.g. weighted_bce against bce).",
            icon=":material/compare_arrows:",
        )
        st.stop()
    reason = evaluation.incomparable_reason(selected)
    if reason:
        st.warning(f"Not compared. {reason}", icon=":material/block:")
        st.stop()
    cmp_mode = st.radio(
        "Thresholds",
        evaluation.COMPARISON_MODES,
        key="compare_mode",
        format_func=lambda m: m.label,
        horizontal=True,
        help="F1-optimal: each run at its own best per-tag thresholds, fitted on its validation images.",
    )
    rows = evaluation.comparison_table(selected, cmp_mode)

    cards = evaluation.rare_recall_cards(selected, rows)
    for col, card in zip(st.columns(len(cards)), cards):
        col.metric(
            card.label,
            f"{card.value:.3f}",
            help=card.run_name,
            border=True,
            delta=None if card.delta is None else f"{card.delta:+.3f} vs {card.versus}",
        )
        col.caption(card.run_name)

    st.dataframe(evaluation.comparison_styler(selected, rows), width="stretch")
    st.caption(
        f"On each run's own {evaluation.scored_split(selected[0]).name} split ({selected[0].config.dataset}). "
        "Best value per row shaded (lower is better for Hamming loss, MAE and time); "
        "the rarest tag's rows in orange — weighting should move its recall."
    )
    st.download_button(
        "Download comparison (CSV)",
        evaluation.comparison_frame(selected, rows).to_csv().encode(),
        file_name="comparison.csv",
        mime="text/csv",
        icon=":material/download:",
        key="download_comparison",
    )

    ui_evaluate.paired_section(selected, cmp_mode)
    history = evaluation.history_frame(selected)
    st.markdown("**Validation mAP per epoch**")
    st.altair_chart(charts.history_chart(history, "validation mAP"), width="stretch")
    a, b = st.columns(2, gap="large")
    for column, series in ((a, "train loss"), (b, "validation loss")):
        column.markdown(f"**{series.capitalize()} per epoch**")
        column.altair_chart(charts.history_chart(history, series), width="stretch")
    if "loss" in evaluation.differing_settings(selected):
        st.caption("Different loss modes have different scales: compare their losses by shape; compare quality by mAP.")
