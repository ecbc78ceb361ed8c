"""Predict page: upload images (or take generated scenes) and see each tag's sigmoid
probability against thresholds the visitor moves.

A thin view: inputs become mlc.inference Items; probabilities come from the
session's ProbabilityCache (one model call per new image and run), so moving a
threshold only re-applies `p >= t` to numbers already computed.
"""

import streamlit as st

from mlc import charts, images, inference, share
from mlc.config import QUICK_RUN, RunConfig
from mlc.ui import (
    caption,
    ensure_app_navigation,
    gallery,
    host_settings,
    job_status,
    session_jobs,
    show_scenes,
    uploaded_items,
    upscale,
)

ensure_app_navigation()

MODES = ("One threshold for all tags", "Per-tag thresholds")
state = st.session_state
jobs = session_jobs()
cache: inference.ProbabilityCache = state.setdefault("probability_cache", inference.ProbabilityCache())

st.title("Predict")
st.caption(
    "Upload images or take generated scenes, and see each tag's sigmoid output against its threshold. "
    "Moving a threshold only re-reads the numbers: the model runs once per image."
)

# ---------------------------------------------------------------- which run
jobs.collect()  # a run that finished while the visitor was elsewhere joins the list
runs = [run for run in jobs.runs if run.model is not None]


def start_quick_run() -> None:
    try:
        jobs.start(QUICK_RUN)
    except (RuntimeError, ValueError) as exc:  # over the server's limits, already training, or the session ended
        state["quick_run_problem"] = str(exc)


if not runs:
    st.info(
        "There is no trained model in this session yet. Train one on the **Train** page, or start a quick default "
        f"model here: {QUICK_RUN.loss} on {QUICK_RUN.train_size:,} scenes for {QUICK_RUN.epochs} epochs "
        "(about 15 s on a 2-core CPU).",
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
        if not active and jobs.collect() is not None:
            st.rerun()  # the run is in the list now: show the predictor

    wait_for_model()
    st.stop()

by_number = {run.number: run for run in runs}
pick, versus = st.columns([1, 1])
number = pick.selectbox(
    "Model",
    list(reversed(by_number)),
    key="predict_run",
    format_func=lambda n: f"{by_number[n].label} · mAP {by_number[n].report['map']:.3f}",
    help="Any run of this session (newest first). Runs are kept on this page until you leave.",
)
run = jobs.find(number) or runs[-1]
cfg = run.config
classes = list(cfg.classes)
comparable = [
    r for r in runs if r is not run and list(r.config.classes) == classes and r.config.image_size == cfg.image_size
]
others = versus.multiselect(
    "Compare with",
    [r.number for r in comparable],
    key="predict_versus",
    format_func=lambda n: by_number[n].label,
    help="Same image, several runs: their outputs side by side (runs with the same tags).",
    placeholder="other runs of this session" if comparable else "train another run to compare",
)
value_label = "predicted strength" if cfg.soft_labels else "probability"
if cfg.soft_labels:
    st.caption(
        "This run regressed soft labels with mse: its outputs are **predicted strengths** of each tag, "
        "not probabilities; a threshold still turns them into tags."
    )

# ---------------------------------------------------------------- inputs
uploads_col, samples_col = st.columns([1, 1], gap="large")
with uploads_col:
    st.subheader("Your images", anchor=False)
    files = st.file_uploader(
        "Upload images",
        type=list(images.ACCEPTED_EXTENSIONS),
        accept_multiple_files=True,
        key="uploads",
        help=f"PNG, JPEG, WebP, BMP or GIF (first frame); up to {host_settings().max_images} at once. "
        f"Each is resized to {cfg.image_size}×{cfg.image_size}, as the model was trained.",
    )
    items, problems = uploaded_items(files or [], size=cfg.image_size, limit=host_settings().max_images)
    if st.toggle("Use the camera", key="use_camera"):
        shot = st.camera_input("Take a picture", key="camera")
        if shot is not None:
            shot_items, shot_problems = uploaded_items([shot], size=cfg.image_size, source="camera")
            items += shot_items
            problems += shot_problems
with samples_col:
    st.subheader("Generated scenes", anchor=False)
    s1, s2, s3 = st.columns([2, 3, 2], vertical_alignment="bottom")
    n_samples = s1.number_input("How many", 0, inference.MAX_SAMPLES, 6, key="n_samples")
    rare = min(range(len(classes)), key=lambda c: cfg.prevalence[c])
    containing = s2.selectbox(
        "Containing",
        [None, *classes],
        key="containing",
        format_func=lambda t: "any tags" if t is None else f"{t}{' (rarest)' if t == classes[rare] else ''}",
        help="Only scenes where this tag is present: see how each run handles the rare tag.",
    )
    seed = s3.number_input("Seed", 0, 2**31 - 1, 7, key="sample_seed", help="Other numbers, other scenes.")
    samples = (
        gallery(int(n_samples), int(seed), cfg.classes, cfg.prevalence, cfg.soft_labels, containing, cfg.image_size)
        if n_samples
        else []
    )
    if n_samples and not samples:
        st.warning(f"No scene with {containing} among the scenes drawn with this seed; try another seed.")
    st.caption("Scenes drawn from the generator with their true tags, so right and wrong answers show.")
items += samples
for problem in problems:
    st.error(problem, icon=":material/broken_image:")

# ---------------------------------------------------------------- thresholds
# a share link's thresholds (thr=0.4, or one per tag) go into the sliders once
query_thr = st.query_params.get(share.THRESHOLD_KEY)
if query_thr is not None and not state.get("_thr_link_applied"):  # once per session, as on the Train page
    shared_thr, thr_notes = share.thresholds_from_query({share.THRESHOLD_KEY: query_thr}, len(classes))
    for note in thr_notes:
        st.warning(f"Share link: {note}; the sliders keep their values.", icon=":material/link_off:")
    if isinstance(shared_thr, float):
        state["thr_mode"], state["thr_all"] = MODES[0], shared_thr
    elif shared_thr is not None:
        state["thr_mode"] = MODES[1]
        state.update({f"thr_{tag}": v for tag, v in zip(classes, shared_thr)})
    state["_thr_link_applied"] = True


def set_f1_optimal() -> None:
    for tag, value in inference.optimal_thresholds(run).items():
        state[f"thr_{tag}"] = round(value, 3)
    state["thr_mode"] = MODES[1]


with st.container(border=True):
    t1, t2 = st.columns([3, 2], vertical_alignment="bottom")
    mode = t1.radio("Thresholds", MODES, horizontal=True, key="thr_mode")
    t2.button(
        "F1-optimal per tag (validation)",
        icon=":material/tune:",
        on_click=set_f1_optimal,
        key="f1_optimal",
        help="Per-tag thresholds that maximise each tag's F1 on this run's validation scenes.",
    )
    if mode == MODES[0]:
        state.setdefault("thr_all", 0.5)
        value = st.slider("Threshold (every tag)", 0.0, 1.0, step=0.01, key="thr_all")
        thresholds = inference.thresholds_for(classes, value)
    else:
        columns = st.columns(min(len(classes), 5))
        per_tag = {}
        for i, tag in enumerate(classes):
            state.setdefault(f"thr_{tag}", 0.5)  # the F1 button may have set it: no second default here
            per_tag[tag] = columns[i % len(columns)].slider(tag, 0.0, 1.0, step=0.001, key=f"thr_{tag}", format="%.3f")
        thresholds = inference.thresholds_for(classes, per_tag)
    own_thr = share.to_query(RunConfig(), value if mode == MODES[0] else [per_tag[t] for t in classes])[
        share.THRESHOLD_KEY
    ]
    if st.query_params.get(share.THRESHOLD_KEY) != own_thr:  # the address shares the thresholds too
        st.query_params[share.THRESHOLD_KEY] = own_thr
    state["_thr_link_applied"] = True
    scores = inference.validation_scores(run, thresholds)
    m = st.columns(4)
    m[0].metric("precision (micro)", f"{scores['micro_precision']:.3f}")
    m[1].metric("recall (micro)", f"{scores['micro_recall']:.3f}")
    m[2].metric("F1 (micro)", f"{scores['micro_f1']:.3f}")
    m[3].metric("F1 (macro)", f"{scores['macro_f1']:.3f}")
    st.caption(f"What these thresholds give on this run's {len(run.val_labels):,} validation scenes.")

if not items:
    st.info("Upload images, use the camera, or ask for generated scenes to see predictions.", icon=":material/image:")
    st.stop()

# ---------------------------------------------------------------- results
try:
    probs = cache.probabilities(run, items)  # (n, C)
except ValueError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
table = inference.results_table(items, probs, classes, thresholds)

st.subheader("Look closer", anchor=False)
names = [f"{i + 1}. {item.name}" for i, item in enumerate(items)]
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
        show_scenes([upscale(images.to_uint8(item.pixels))], [["generated scene"]], per_row=1)
with model_col:
    st.image(
        upscale(images.to_uint8(item.pixels), 4), caption=f"as the model sees it ({cfg.image_size}×{cfg.image_size})"
    )
with chart_col:
    st.altair_chart(
        charts.probability_chart(probs[focus], classes, thresholds, value_label=value_label), width="stretch"
    )
    predicted = inference.predicted_tags(probs[focus : focus + 1], classes, thresholds)[0]
    badges = " ".join(f":blue-badge[{tag}]" for tag in predicted) or "none above threshold"
    st.markdown(f"**Predicted tags:** {badges}")
    if item.truth is not None:
        truth = [c for c, v in zip(classes, item.truth) if v >= 0.5]
        verdict = inference.verdict(truth, predicted)
        st.markdown(f"**True tags:** {caption(truth)} — {verdict}")

if others:
    compared = [run] + [by_number[n] for n in others if n in by_number]
    frames = [
        charts.probability_frame(cache.probabilities(r, [item])[0], classes, thresholds, run=r.label) for r in compared
    ]
    st.altair_chart(charts.runs_probability_chart(frames, value_label=value_label), width="stretch")
    st.caption("Same image, same thresholds; faded bars are below the threshold.")

st.subheader("All images", anchor=False)
config = {c: st.column_config.ProgressColumn(c, min_value=0.0, max_value=1.0, format="%.2f") for c in classes}
st.dataframe(table, hide_index=True, width="stretch", column_config=config)
st.download_button(
    "Download CSV",
    table.to_csv(index=False).encode(),
    file_name=f"predictions-run{run.number}.csv",
    mime="text/csv",
    icon=":material/download:",
    key="download_csv",
)
