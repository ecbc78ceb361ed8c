"""The Predict page's sections as Streamlit glue: which run, which images, which thresholds, and the results.

The widget keys live here; what the choices mean (comparable runs, threshold
settings from a share link, the F1-optimal thresholds, labels) is decided in
:mod:`mlc.inference` and :mod:`mlc.run_summary`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from mlc import charts, images, inference, run_summary, share, speed
from mlc import config as run_config
from mlc.inference import THRESHOLD_CHOICES, Item, ProbabilityCache, ThresholdSetting
from mlc.jobs import SessionJobs
from mlc.ui import caption, host_settings, job_status, show_scenes, uploaded_items, upscale


def threshold_key(tag: str) -> str:
    """The widget key of one tag's threshold slider.

    >>> threshold_key("cat")
    'thr_cat'
    """
    return f"thr_{tag}"


def threshold_state(setting: ThresholdSetting) -> dict[str, Any]:
    """Session-state values (by widget key) that make the threshold controls show ``setting``.

    >>> threshold_state(ThresholdSetting("per_tag", per_tag={"cat": 0.2}))
    {'thr_mode': 'per_tag', 'thr_cat': 0.2}
    """
    if setting.mode == "all":
        return {"thr_mode": "all", "thr_all": setting.value}
    return {"thr_mode": "per_tag", **{threshold_key(t): v for t, v in setting.per_tag.items()}}


# ---------------------------------------------------------------- which run
def quick_model_offer(jobs: SessionJobs) -> None:
    """No run with a model yet: offer a quick default one, and wait for it (the page stops after this)."""
    state = st.session_state
    quick = run_config.QUICK_RUN  # read at each run (a test may swap it)

    def start_quick_run() -> None:
        try:
            jobs.start(quick)
        except (RuntimeError, ValueError) as exc:  # over the server's limits, already training, or the session ended
            state["quick_run_problem"] = str(exc)

    st.info(
        "There is no trained model in this session yet. Train one on the **Train** page, or start a quick default "
        f"model here: {quick.loss} on {quick.train_size:,} scenes for {quick.epochs} epochs "
        f"({speed.estimate_text(quick)}).",
        icon=":material/info:",
    )
    busy = jobs.job is not None and jobs.job.alive
    st.button(
        "Train a quick default model",
        type="primary",
        icon=":material/bolt:",
        key="quick_train",
        on_click=start_quick_run,
        disabled=busy,
    )
    if "quick_run_problem" in state:
        st.error(f"Cannot start training: {state.pop('quick_run_problem')}", icon=":material/error:")

    @st.fragment(run_every=1.0 if busy else None)
    def wait_for_model() -> None:
        active = job_status(jobs)
        collected = None if active else jobs.collect()
        if collected is not None:
            speed.record(collected)  # this server's speed: the next estimates use it
            st.rerun()  # the run is in the list now: show the predictor

    wait_for_model()


def pick_runs(jobs: SessionJobs, runs: list) -> tuple[Any, list]:
    """The run to predict with and the runs to compare it with: ``(run, others)``."""
    by_number = {run.number: run for run in runs}
    pick, versus = st.columns([1, 1])
    number = pick.selectbox(
        "Model",
        list(reversed(by_number)),
        key="predict_run",
        format_func=lambda n: run_summary.option_label(by_number[n]),
        help="Any run of this session (newest first). Runs are kept on this page until you leave.",
    )
    run = jobs.find(number) or runs[-1]
    comparable = inference.comparable_runs(run, runs)
    chosen = versus.multiselect(
        "Compare with",
        [r.number for r in comparable],
        key="predict_versus",
        format_func=lambda n: by_number[n].label,
        help="Same image, several runs: their outputs side by side (runs with the same tags).",
        placeholder="other runs of this session" if comparable else "train another run to compare",
    )
    if run.config.soft_labels:
        st.caption(
            "This run regressed soft labels with mse: its outputs are **predicted strengths** of each tag, "
            "not probabilities; a threshold still turns them into tags."
        )
    return run, [by_number[n] for n in chosen if n in by_number]


# ---------------------------------------------------------------- inputs
@st.cache_data(max_entries=8, show_spinner="Regenerating this run's test images…")
def built_in_test_images(config_json: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mlc.inference.held_out_images` of a built-in data set's config, made once for every visitor."""
    return inference.held_out_images(run_config.RunConfig.from_json(config_json))


def run_test_images(cfg) -> tuple[np.ndarray, np.ndarray]:
    """The run's test images: regenerated (cached) for a built-in set, the session's own images otherwise."""
    if cfg.dataset != "own":
        return built_in_test_images(cfg.to_json())
    return inference.held_out_images(cfg, st.session_state.get("own_images"))


def sample_gallery(cfg) -> list[Item]:
    """The "test images" column: how many, which tag they must hold, a seed; the drawn items."""
    classes = list(cfg.classes)
    st.subheader("Test images", anchor=False)
    s1, s2, s3 = st.columns([2, 3, 2], vertical_alignment="bottom")
    n_samples = s1.number_input("How many", 0, inference.MAX_SAMPLES, 6, key="n_samples")
    rare = classes[run_summary.rarest(cfg.prevalence)]
    containing = s2.selectbox(
        "Containing",
        [None, *classes],
        key="containing",
        format_func=lambda t: inference.containing_label(t, rare),
        help="Only images where this tag is present: see how each run handles the rare tag.",
    )
    seed = s3.number_input("Seed", 0, 2**31 - 1, 7, key="sample_seed", help="Other numbers, other images.")
    if not n_samples:
        return []
    try:
        x, y = run_test_images(cfg)
    except inference.HeldOutImagesMissing as exc:
        text = str(exc)
        st.info(text[:1].upper() + text[1:] + ".", icon=":material/hide_image:")
        return []
    if containing is not None and containing not in classes:
        containing = None  # a tag of the previously chosen run
    samples = inference.held_out_items(cfg, x, y, int(n_samples), seed=int(seed), containing=containing)
    if not samples:
        st.warning(f"No image with {containing} in this run's test split.")
    st.caption(
        f"Drawn from this run's held-out test split ({cfg.dataset}, {len(y):,} images) with their true tags, "
        "so right and wrong answers show."
    )
    return samples


def image_inputs(cfg) -> list[Item]:
    """Uploads, the camera and the run's test images as items; a file that cannot be read gets one error line."""
    uploads_col, samples_col = st.columns([1, 1], gap="large")
    with uploads_col:
        st.subheader("Your images", anchor=False)
        limit = host_settings().max_images
        files = st.file_uploader(
            "Upload images",
            type=list(images.ACCEPTED_EXTENSIONS),
            accept_multiple_files=True,
            key="uploads",
            max_upload_size=images.MAX_BYTES // 2**20,  # the decoder refuses more anyway
            help=f"PNG, JPEG, WebP, BMP or GIF (first frame); up to {limit} at once. "
            f"Each is resized to {cfg.image_size}×{cfg.image_size}, as the model was trained.",
        )
        items, problems = uploaded_items(files or [], size=cfg.image_size, limit=limit)
        if st.toggle("Use the camera", key="use_camera"):
            shot = st.camera_input("Take a picture", key="camera")
            if shot is not None:
                shot_items, shot_problems = uploaded_items([shot], size=cfg.image_size, source="camera")
                items += shot_items
                problems += shot_problems
    with samples_col:
        samples = sample_gallery(cfg)
    for problem in problems:
        st.error(problem, icon=":material/broken_image:")
    return items + samples


# ---------------------------------------------------------------- thresholds
def apply_threshold_link(classes: list[str]) -> None:
    """A share link's thresholds (``thr=0.4``, or one per tag) go into the sliders, once per session."""
    state = st.session_state
    raw = st.query_params.get(share.THRESHOLD_KEY)
    if raw is None or state.get("_thr_link_applied"):  # once per session, as on the Train page
        return
    setting, notes = inference.threshold_setting_from_link(raw, classes)
    for note in notes:
        st.warning(f"Share link: {note}; the sliders keep their values.", icon=":material/link_off:")
    if setting is not None:
        state.update(threshold_state(setting))
    state["_thr_link_applied"] = True


def threshold_controls(run) -> np.ndarray:
    """The threshold controls and what they give on the run's validation scenes; returns thresholds (C,)."""
    state = st.session_state
    classes = list(run.config.classes)
    apply_threshold_link(classes)
    with st.container(border=True):
        t1, t2 = st.columns([3, 2], vertical_alignment="bottom")
        mode = t1.radio(
            "Thresholds", list(THRESHOLD_CHOICES), format_func=THRESHOLD_CHOICES.get, horizontal=True, key="thr_mode"
        )
        t2.button(
            "F1-optimal per tag (validation)",
            icon=":material/tune:",
            on_click=lambda: state.update(threshold_state(inference.f1_optimal_setting(run))),
            key="f1_optimal",
            disabled=run.val_labels is None,
            help="Per-tag thresholds that maximise each tag's F1 on this run's validation images.",
        )
        if mode == "all":
            state.setdefault("thr_all", 0.5)
            setting = ThresholdSetting(
                "all", value=st.slider("Threshold (every tag)", 0.0, 1.0, step=0.01, key="thr_all")
            )
        else:
            columns = st.columns(min(len(classes), 5))
            per_tag = {}
            for i, tag in enumerate(classes):
                key = threshold_key(tag)
                state.setdefault(key, 0.5)  # the F1 button may have set it: no second default here
                per_tag[tag] = columns[i % len(columns)].slider(tag, 0.0, 1.0, step=0.001, key=key, format="%.3f")
            setting = ThresholdSetting("per_tag", per_tag=per_tag)
        own = setting.link_text(classes)
        if st.query_params.get(share.THRESHOLD_KEY) != own:  # the address shares the thresholds too
            st.query_params[share.THRESHOLD_KEY] = own
        state["_thr_link_applied"] = True
        thresholds = setting.thresholds(classes)
        if run.val_labels is None or run.val_probabilities is None:
            st.caption(
                "This run's validation images are not here (an imported run trained on someone's own images): "
                "it predicts, but what the thresholds give cannot be measured."
            )
            return thresholds
        scores = inference.validation_scores(run, thresholds)
        m = st.columns(4)
        m[0].metric("precision (micro)", f"{scores['micro_precision']:.3f}")
        m[1].metric("recall (micro)", f"{scores['micro_recall']:.3f}")
        m[2].metric("F1 (micro)", f"{scores['micro_f1']:.3f}")
        m[3].metric("F1 (macro)", f"{scores['macro_f1']:.3f}")
        st.caption(f"What these thresholds give on this run's {len(run.val_labels):,} validation images.")
    return thresholds


# ---------------------------------------------------------------- results
def look_closer(
    run, others: list, items: list[Item], probs: np.ndarray, thresholds: np.ndarray, cache: ProbabilityCache
) -> None:
    """One image as uploaded and as the model sees it, its outputs against the thresholds, and other runs' outputs."""
    cfg, classes = run.config, list(run.config.classes)
    value_label = inference.output_label(cfg.soft_labels)
    st.subheader("Look closer", anchor=False)
    names = inference.item_labels(items)
    focus = st.selectbox("Image", range(len(items)), format_func=lambda i: names[i], key="focus")
    focus = min(int(focus or 0), len(items) - 1)
    item = items[focus]
    seen_col, model_col, chart_col = st.columns([2, 2, 5], gap="medium")
    with seen_col:
        if item.raw is not None:
            try:
                st.image(images.preview(item.raw, max_side=320), caption="as uploaded")
            except images.ImageDecodeError as exc:  # it decoded for the model, so this is unexpected but harmless
                st.caption(f"(no preview: {exc})")
        else:
            show_scenes(
                [upscale(images.to_uint8(item.pixels))],
                [["test image" if item.source == "test" else "generated scene"]],
                per_row=1,
            )
    with model_col:
        st.image(
            upscale(images.to_uint8(item.pixels), 4),
            caption=f"as the model sees it ({cfg.image_size}×{cfg.image_size})",
        )
    with chart_col:
        st.altair_chart(
            charts.probability_chart(probs[focus], classes, thresholds, value_label=value_label), width="stretch"
        )
        predicted = inference.predicted_tags(probs[focus : focus + 1], classes, thresholds)[0]
        badges = " ".join(f":blue-badge[{tag}]" for tag in predicted) or "none above threshold"
        st.markdown(f"**Predicted tags:** {badges}")
        truth = inference.true_tags(item, classes)
        if truth is not None:
            st.markdown(f"**True tags:** {caption(truth)} — {inference.verdict(truth, predicted)}")
    if others:
        frames = [
            charts.probability_frame(cache.probabilities(r, [item])[0], classes, thresholds, run=r.label)
            for r in [run, *others]
        ]
        st.altair_chart(charts.runs_probability_chart(frames, value_label=value_label), width="stretch")
        st.caption("Same image, same thresholds; faded bars are below the threshold.")


def all_images(run, table) -> None:
    """Every image's outputs and tags in one table, and as a CSV download."""
    st.subheader("All images", anchor=False)
    config = {
        c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="%.2f") for c in run.config.classes
    }
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)
    st.download_button(
        "Download CSV",
        table.to_csv(index=False).encode(),
        file_name=f"predictions-run{run.number}.csv",
        mime="text/csv",
        icon=":material/download:",
        key="download_csv",
    )
