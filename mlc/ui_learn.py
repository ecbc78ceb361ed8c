"""The Learn page's tabs as Streamlit glue: shapes, sigmoid vs softmax, the loss calculator, pitfalls, code.

Each function draws one tab for the Train page's current config; the numbers
and tables come from :mod:`mlc.lessons`, the demos from :mod:`mlc.pitfalls`,
the script from :mod:`mlc.export`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mlc import charts, export, lessons, losses, models, ui_microscope, ui_papers
from mlc.config import RunConfig
from mlc.jobs import SessionJobs
from mlc.pitfalls import PITFALLS
from mlc.ui import layer_table, pitfall_demo, upscale
from mlc.ui_shortcut import shortcut_tab

#: The page's tabs in order; only the open one is drawn (each switch reruns the page).
TABS = (
    "Shapes",
    "Sigmoid vs softmax",
    "Loss calculator",
    "Pitfalls, live",
    "Code for your run",
    "Loss microscope",
    "Paper cards",
    "Shortcut exercise",
)


def learn_tabs(train_config: RunConfig, jobs: SessionJobs) -> None:
    """The page's :data:`TABS`; only the selected one runs (``st.session_state["learn_tab"]`` is its label).

    Drawing all five on every run made the page's first paint wait for the loss calculator,
    two charts, every pitfall's code and the exported script, most of it out of sight.
    """
    draw = {
        "Shapes": lambda: shapes_tab(train_config),
        "Sigmoid vs softmax": lambda: activations_tab(train_config),
        "Loss calculator": lambda: calculator_tab(train_config),
        "Pitfalls, live": pitfalls_tab,
        "Code for your run": lambda: code_tab(train_config, jobs),
        "Loss microscope": ui_microscope.learn_tab,
        "Paper cards": lambda: ui_papers.papers_tab(jobs),
        "Shortcut exercise": lambda: shortcut_tab(jobs),
    }
    for label, tab in zip(TABS, st.tabs(TABS, key="learn_tab", on_change="rerun")):
        if tab.open:
            with tab:
                draw[label]()


@st.cache_data(max_entries=64, show_spinner=False)
def loss_table(rows: list[dict], weighting: str):
    """:func:`mlc.lessons.loss_table` of the calculator's rows, computed once per table for every visitor
    (each loss runs as TensorFlow ops: a tenth of a second or more)."""
    return lessons.loss_table(rows, weighting=weighting)


def shapes_tab(train_config: RunConfig) -> None:
    """The real model's layers, the arrays fit sees, and one scene's multi-hot target."""
    c1, c2 = st.columns([2, 5])
    model_name = c1.selectbox(
        "Model", list(models.MODELS), index=list(models.MODELS).index(train_config.model), key="learn_model"
    )
    c1.markdown(models.MODELS[model_name].summary)
    c1.caption(
        f"{train_config.num_classes} tags of the **{train_config.dataset}** data at {train_config.image_size} px and "
        f"batch size {train_config.batch_size}, as on the Train page."
    )
    c2.dataframe(
        layer_table(model_name, train_config.num_classes, train_config.image_size), hide_index=True, width="stretch"
    )
    st.dataframe(lessons.tensor_shapes(train_config), hide_index=True, width="stretch")
    left, right = st.columns([1, 3], vertical_alignment="center")
    number = left.number_input("image", 0, 10_000, 28, key="learn_scene", help="Another number, another image.")
    try:
        image, target, what = lessons.sample_image(train_config, int(number), st.session_state.get("own_images"))
    except ValueError as exc:
        right.info(f"No image to show: {exc}.", icon=":material/hide_image:")
        return
    left.image(upscale((image * 255).round().astype("uint8"), 3), caption=what)
    target = lessons.target_frame(train_config.classes, target)
    right.altair_chart(charts.target_chart(target), width="stretch")
    right.caption(
        "A multi-label target has a 1 for *every* tag present; a single-label (softmax) setup can only say one of them."
    )


def activations_tab(train_config: RunConfig) -> None:
    """Logit sliders and the sigmoid and softmax of them, side by side."""
    classes = list(train_config.classes)[:8]
    st.markdown(
        "Move the logits (the model's raw outputs, one per tag). **Sigmoid** turns each one into its own "
        "probability; **softmax** divides one unit of probability among all tags, so they compete."
    )
    starts = [2.5, 2.0, -1.0, -3.0, 0.5, 1.0, -2.0, 0.0]
    cols = st.columns(min(len(classes), 5))
    logits = [
        cols[i % len(cols)].slider(f"logit · {tag}", -6.0, 6.0, starts[i], 0.1, key=f"logit_{i}")
        for i, tag in enumerate(classes)
    ]
    frame = lessons.activations_frame(logits, classes)
    st.altair_chart(charts.activation_chart(frame), width="stretch")
    sums = lessons.activation_sums(frame)
    st.markdown(
        f"Sum over tags: sigmoid **{sums['sigmoid']:.3f}** (anything from 0 to {len(classes)}), softmax "
        f"**{sums['softmax']:.3f}** (always 1). Raise one logit: its softmax share grows and every other "
        "tag's share shrinks, while their sigmoids stay put."
    )
    st.markdown(
        "**Neither one flags the unknown.** Show a model something it never saw (a photo to a model of "
        "generated scenes, a cup to a pet classifier) and its logits are still just numbers: softmax "
        "still hands out one unit of probability, so one class can get nearly 100 % (what Teachable "
        "Machine users meet), and a sigmoid still answers *yes/no* per tag, often with confidence. A "
        'low score everywhere is possible with sigmoid but never guaranteed: "none of these" has to be '
        "trained (images with no tags) or detected separately, and the cure for photos is training on "
        "photos (Train → Data set → Your own images)."
    )


def calculator_tab(train_config: RunConfig) -> None:
    """One editable sample, every registered loss computed on it by the classes training uses."""
    state = st.session_state
    st.markdown(
        "One sample, one row per tag: its target (1 present, 0 absent, or a soft strength) and the model's "
        "probability. Every loss mode is computed by the same `mlc.losses` classes training uses."
    )
    rows = lessons.calculator_rows(train_config.classes, lessons.calculator_weights(train_config))
    version = state.setdefault("calculator_version", 0)
    edited = st.data_editor(
        pd.DataFrame(rows),
        key=f"calculator_{version}",
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        column_config={
            "tag": st.column_config.TextColumn("tag"),
            "target": st.column_config.NumberColumn("target y", min_value=0.0, max_value=1.0, step=0.05),
            "probability": st.column_config.NumberColumn("probability p", min_value=0.0, max_value=1.0, step=0.05),
            "weight": st.column_config.NumberColumn("weight (weighted_bce)", min_value=0.0, step=0.1),
        },
    )
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    weighting = c1.radio(
        "weighted_bce weighting",
        losses.WEIGHTINGS,
        horizontal=True,
        key="calculator_weighting",
        index=losses.WEIGHTINGS.index(train_config.weighting),
    )
    if c2.button("Reset table", key="calculator_reset", icon=":material/restart_alt:"):
        state["calculator_version"] = version + 1
        st.rerun()
    try:
        table, totals = loss_table(edited.to_dict("records"), weighting)
    except ValueError as exc:
        st.error(f"{exc}. Fix the cell, or reset the table.", icon=":material/error:")
    else:
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns if c != "tag"},
        )
        metric_cols = st.columns(len(totals))
        for col, (name, value) in zip(metric_cols, totals.items()):
            col.metric(name, f"{value:.4f}", help=losses.LOSSES[name].formula)
        st.caption(
            "Totals are the mean over tags, which is how Keras reduces one sample. Weights start as the Train "
            "page's when its loss uses them, else inverse frequency of the tags' prevalence."
        )
        st.markdown("\n".join(f"- **{n}**: `{losses.LOSSES[n].formula}`" for n in losses.LOSSES))


def pitfalls_tab() -> None:
    """Each pitfall's words and code, run live on the installed Keras at a click."""
    state = st.session_state
    st.markdown(
        "Each pitfall runs for real on the installed Keras when you press its button: the wrong call, "
        "its actual error or misleading number, then the fix."
    )
    for name, pitfall in PITFALLS.items():
        with st.expander(pitfall.title, expanded=False):
            st.markdown(pitfall.explanation)
            wrong, fix = st.columns(2)
            wrong.markdown("**The pitfall**")
            wrong.code(pitfall.wrong_code, language="python")
            fix.markdown("**The fix**")
            fix.code(pitfall.fix_code, language="python")
            if st.button("Run it live", key=f"pitfall_{name}", icon=":material/play_arrow:") or name in state.get(
                "pitfalls_run", ()
            ):
                state.setdefault("pitfalls_run", set()).add(name)
                demo = pitfall_demo(name)
                wrong.error(demo.wrong, icon=":material/close:")
                fix.success(demo.fix, icon=":material/check:")
                if not demo.ok:
                    st.warning(
                        "This Keras version did not reproduce the pitfall as described; the output above is "
                        "what it actually did."
                    )


def code_tab(train_config: RunConfig, jobs: SessionJobs) -> None:
    """The plain-Keras script for the Train page's config or a run's, to read and download."""
    choices = lessons.export_choices(train_config, jobs.runs)
    chosen = st.selectbox("Configuration", list(choices), key="export_choice")
    script = export.keras_script(choices[chosen])
    st.download_button(
        "Download train_multilabel.py",
        script.encode(),
        file_name="train_multilabel.py",
        mime="text/x-python",
        icon=":material/download:",
        key="download_script",
    )
    data = (
        "It draws simple shape scenes"
        if choices[chosen].dataset == "scenes"
        else f"It reads the same {choices[chosen].dataset} data (its first lines say where from)"
    )
    st.caption(
        "A complete, standalone script: plain Keras, no mlc. "
        f"{data}, builds the same model and loss, trains and prints per-tag "
        "precision/recall/F1. Copy it with the button at the top right of the code."
    )
    st.code(script, language="python", line_numbers=True)
