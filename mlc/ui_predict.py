"""The Predict page's sections as Streamlit glue: which run, which images, which thresholds, and the results.

The widget keys live here; what the choices mean (comparable runs, threshold
settings from a share link, the F1-optimal thresholds, labels) is decided in
:mod:`mlc.inference` and :mod:`mlc.run_summary`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from mlc import charts, decisions, images, inference, predict_scenes, run_summary, share, speed
from mlc import config as run_config
from mlc.inference import Item, ProbabilityCache, ThresholdSetting
from mlc.jobs import SessionJobs
from mlc.threshold_strategies import STRATEGIES, DecisionRule
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
    {'strategy': 'manual_per_tag', 'thr_cat': 0.2}
    """
    if setting.mode == "all":
        return {"strategy": "fixed_global", "thr_all": setting.value}
    return {"strategy": "manual_per_tag", **{threshold_key(t): v for t, v in setting.per_tag.items()}}


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
        f"model here: {quick.loss} on {quick.train_size:,} scenes for {quick.epochs} epochs"
        + (f" ({estimate})." if (estimate := speed.estimate_text(quick)) else "."),
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


@st.cache_data(max_entries=8, show_spinner="Generating new images …")
def fresh_images(config_json: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mlc.predict_scenes.fresh_split` of a config and seed (images, tags, masks), once for all visitors."""
    return predict_scenes.fresh_split(run_config.RunConfig.from_json(config_json), seed)


def sample_gallery(cfg) -> list[Item]:
    """The "test images" column: from where (the run's test split, or new images of a generated data set), how
    many, which tag they must hold, a seed; the drawn items."""
    classes = list(cfg.classes)
    st.subheader("Test images", anchor=False)
    fresh = False
    if cfg.dataset in predict_scenes.FRESH_DATASETS:
        origin = st.segmented_control(
            "From",
            ["test", "fresh"],
            default="test",
            key="sample_origin",
            format_func=lambda o: "the run's test split" if o == "test" else "new images",
            help="New images are made like the test split, from seeds no split uses: never seen in training.",
        )
        fresh = origin == "fresh"
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
        x, y = fresh_images(cfg.to_json(), int(seed))[:2] if fresh else run_test_images(cfg)
    except inference.HeldOutImagesMissing as exc:
        text = str(exc)
        st.info(text[:1].upper() + text[1:] + ".", icon=":material/hide_image:")
        return []
    if containing is not None and containing not in classes:
        containing = None  # a tag of the previously chosen run
    draw = predict_scenes.fresh_items if fresh else inference.held_out_items
    samples = draw(cfg, x, y, int(n_samples), seed=int(seed), containing=containing)
    if not samples:
        st.warning(f"No image with {containing} in this run's {'new images' if fresh else 'test split'}.")
    if fresh:
        st.caption(
            f"{len(y):,} new images made like this run's test split ({cfg.dataset}), with their true tags and "
            "where each object is: right and wrong answers show, and the heat maps get the true outline."
        )
    else:
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
    note = inference.domain_note(cfg, len(items))
    if note:
        st.info(note, icon=":material/travel_explore:")
        st.page_link("pages/learn.py", label="Why sigmoid outputs do not flag the unknown", icon=":material/school:")
    return items + samples


# ---------------------------------------------------------------- thresholds and strategies
def apply_threshold_link(classes: list[str]) -> None:
    """A share link's decision settings go into the widgets, once per session: ``thr=0.4`` (or one per tag)
    for the manual strategies, ``strat=top_k&sp.k=2`` for the others."""
    state = st.session_state
    if state.get("_thr_link_applied"):  # once per session, as on the Train page
        return
    state["_thr_link_applied"] = True
    raw = st.query_params.get(share.THRESHOLD_KEY)
    if raw is not None:
        setting, notes = inference.threshold_setting_from_link(raw, classes)
        for note in notes:
            st.warning(f"Share link: {note}; the sliders keep their values.", icon=":material/link_off:")
        if setting is not None:
            state.update(threshold_state(setting))
    name, params, notes = share.strategy_from_query(st.query_params.to_dict(), len(classes))
    for note in notes:
        st.warning(f"Share link: {note}; the default is used instead.", icon=":material/link_off:")
    if name == "fixed_global" and "t" in params:
        state.update(threshold_state(ThresholdSetting("all", value=params["t"])))
    elif name == "manual_per_tag" and "t" in params:
        state.update(threshold_state(ThresholdSetting("per_tag", per_tag=dict(zip(classes, params["t"])))))
    elif name is not None and name not in decisions.MANUAL:
        state["strategy"] = name
        state.update({param_key(name, k): v for k, v in params.items()})


def param_key(strategy: str, param: str) -> str:
    """The widget key of a fitted strategy's parameter.

    >>> param_key("top_k", "k")
    'sp_top_k_k'
    """
    return f"sp_{strategy}_{param}"


def _manual_setting(name: str, classes: list[str]) -> ThresholdSetting:
    state = st.session_state
    if name == "fixed_global":
        state.setdefault("thr_all", 0.5)
        return ThresholdSetting("all", value=st.slider("Threshold (every tag)", 0.0, 1.0, step=0.01, key="thr_all"))
    columns = st.columns(min(len(classes), 5))
    per_tag = {}
    for i, tag in enumerate(classes):
        key = threshold_key(tag)
        state.setdefault(key, 0.5)  # the F1 button may have set it: no second default here
        per_tag[tag] = columns[i % len(columns)].slider(tag, 0.0, 1.0, step=0.001, key=key, format="%.3f")
    return ThresholdSetting("per_tag", per_tag=per_tag)


def _strategy_params(name: str) -> dict[str, Any]:
    """One widget per declared parameter of a fitted strategy (whole numbers: a number input)."""
    strategy, state = STRATEGIES[name], st.session_state
    values: dict[str, Any] = {}
    columns = st.columns(max(1, len(strategy.params)))
    for col, (param, spec) in zip(columns, strategy.params.items()):
        key = param_key(name, param)
        state.setdefault(key, spec.default)
        if param in strategy.whole:
            values[param] = col.number_input(param, int(spec.low), int(spec.high), step=1, key=key, help=spec.help)
        else:
            values[param] = col.slider(param, float(spec.low), float(spec.high), step=0.01, key=key, help=spec.help)
    return values


def _follow_link(query: dict[str, str]) -> None:
    """The address carries the decision settings: ``thr`` or ``strat`` and its ``sp.*``, never both."""
    for key in list(st.query_params):
        ours = key in (share.STRATEGY_KEY, share.THRESHOLD_KEY) or key.startswith(share.STRATEGY_PARAM_PREFIX)
        if ours and key not in query:
            del st.query_params[key]
    for key, value in query.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def _temperatures(run) -> np.ndarray | None:
    """The run's per-tag temperatures when the calibrated toggle is on (cached per run), else None."""
    state = st.session_state
    has_val = run.val_labels is not None and run.val_probabilities is not None
    # st.session_state["calibrated"] is shared with the Evaluate page; a widget's own key is dropped on
    # pages that do not draw it, so the toggle has its own key, seeded from and written back to the shared one.
    if "calibrated_toggle" not in state:
        state["calibrated_toggle"] = bool(state.get("calibrated", False))
    on = st.toggle(
        "calibrated (temperature fitted on validation)",
        key="calibrated_toggle",
        disabled=not has_val,
        help="Each tag's probability becomes sigmoid(logit(p) / T), T fitted per tag on this run's validation "
        "split by minimising its log loss (Guo et al., 2017). The strategy then decides on those.",
    )
    state["calibrated"] = bool(on)
    if not (on and has_val):
        return None
    temperatures = state.setdefault("temperature_cache", decisions.TemperatureCache()).get(run)
    st.caption(
        "Temperature per tag: "
        + ", ".join(f"{t} T = {v:.2f}" for t, v in zip(run.config.classes, temperatures))
        + " (T > 1 softens over-confident scores, T < 1 sharpens timid ones)."
    )
    return temperatures


def _fill_f1_optimal(run) -> None:
    """The F1 button: per-tag cuts maximising validation F1 (on calibrated scores when the toggle is on)."""
    state = st.session_state
    cache = state.setdefault("temperature_cache", decisions.TemperatureCache())
    temperatures = cache.get(run) if state.get("calibrated") else None
    p_val = decisions.calibrate(run.val_probabilities, temperatures)
    rule = decisions.fit_choice("per_tag_f1", {}, run.config.classes, run.val_labels, p_val)
    cuts = {t: round(float(v), 3) for t, v in zip(run.config.classes, rule.thresholds)}
    state.update(threshold_state(ThresholdSetting("per_tag", per_tag=cuts)))


def threshold_controls(run) -> tuple[DecisionRule, np.ndarray | None]:
    """The strategy picker, its parameters, the calibrated toggle and what they give on a held-out split.

    Returns the fitted rule and the temperatures (C,) to apply to scores first (None: uncalibrated).
    """
    classes = list(run.config.classes)
    has_val = run.val_labels is not None and run.val_probabilities is not None
    apply_threshold_link(classes)
    with st.container(border=True):
        t1, t2 = st.columns([3, 2], vertical_alignment="bottom")
        name = t1.selectbox(
            "Threshold strategy",
            list(STRATEGIES),
            key="strategy",
            format_func=lambda n: STRATEGIES[n].label,
            help="How scores become tags. The manual ones use the sliders; the others are fitted on this run's "
            "validation split (moving a parameter re-fits on kept numbers, the model does not run again).",
        )
        t2.button(
            "F1-optimal per tag (validation)",
            icon=":material/tune:",
            on_click=lambda: _fill_f1_optimal(run),
            key="f1_optimal",
            disabled=not has_val,
            help="Per-tag thresholds that maximise each tag's F1 on this run's validation images.",
        )
        st.caption(STRATEGIES[name].description)
        temperatures = _temperatures(run)
        if name in decisions.MANUAL:
            setting = _manual_setting(name, classes)
            params = {"t": setting.value if name == "fixed_global" else [setting.per_tag[t] for t in classes]}
            query = {share.THRESHOLD_KEY: setting.link_text(classes)}
        else:
            params = _strategy_params(name)
            query = share.strategy_query(name, params)
        p_val = decisions.calibrate(run.val_probabilities, temperatures) if has_val else None
        try:
            rule = decisions.fit_choice(name, params, classes, run.val_labels, p_val)
        except ValueError as exc:  # a band with lo above hi, or a fitted strategy without validation data
            st.warning(f"{exc}; deciding with one threshold of 0.5 instead.", icon=":material/warning:")
            rule = decisions.fit_choice("fixed_global", {"t": 0.5}, classes, None, None)
        _follow_link(query)
        for note in rule.notes:
            st.caption(note)
        scored = decisions.scored_split(run, rule, temperatures)
        if scored is None:
            st.caption(
                "This run's validation images are not here (an imported run trained on someone's own images): "
                "it predicts, but what the thresholds give cannot be measured."
            )
            return rule, temperatures
        split, scores = scored
        m = st.columns(4)
        m[0].metric("F1 (micro)", f"{scores['micro_f1']:.3f}")
        m[1].metric("F1 (macro)", f"{scores['macro_f1']:.3f}")
        m[2].metric("labels per image", f"{scores['labels_per_image']:.2f}", help=f"true: {scores['true_per_image']}")
        m[3].metric("coverage", f"{scores['coverage']:.3f}", help="Share of (image, tag) cells decided, not unsure.")
        tuned = "tuned on validation, " if decisions.needs_validation(name) else ""
        st.caption(f"What this strategy gives ({tuned}scored on this run's {split} split, {scores['n']:,} images).")
    return rule, temperatures


# ---------------------------------------------------------------- results
def look_closer(
    run,
    others: list,
    items: list[Item],
    probs: np.ndarray,
    rule: DecisionRule,
    cache: ProbabilityCache,
    calibrated: bool = False,
) -> None:
    """One image as uploaded and as the model sees it, its decisions under ``rule`` (sure yes / unsure / no),
    and other runs' outputs. ``probs`` (n, C) are already calibrated when ``calibrated``."""
    cfg, classes = run.config, list(run.config.classes)
    value_label = inference.output_label(cfg.soft_labels)
    st.subheader("Look closer", anchor=False)
    names = inference.item_labels(items)
    # the options are the labels themselves, under a key that follows the list: when uploads or test
    # images change, the picker can never show one image's name beside another image (issue 18)
    previous = st.session_state.get("focus_name")
    chosen = st.selectbox(
        "Image", names, index=names.index(previous) if previous in names else 0, key=inference.picker_key(names)
    )
    st.session_state["focus_name"] = chosen
    focus = names.index(chosen)
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
                [["test image" if item.source == "test" else item.name]],
                per_row=1,
            )
    with model_col:
        st.image(
            upscale(images.to_uint8(item.pixels), 4),
            caption=f"as the model sees it ({cfg.image_size}×{cfg.image_size})",
        )
    with chart_col:
        frame = decisions.decision_frame(probs[focus], classes, rule)
        label = f"calibrated {value_label}" if calibrated else value_label
        st.altair_chart(decisions.decision_chart(frame, rule, value_label=label), width="stretch")
        predicted, unsure = decisions.tags_by_decision(probs[focus : focus + 1], classes, rule)[0]
        nothing = "none above threshold" if rule.thresholds is not None else "none"
        badges = " ".join(f":blue-badge[{tag}]" for tag in predicted) or nothing
        st.markdown(f"**Predicted tags:** {badges}")
        if rule.band is not None:
            st.markdown("**unsure:** " + (" ".join(f":orange-badge[{tag}]" for tag in unsure) or "none"))
        truth = inference.true_tags(item, classes)
        if truth is not None:
            st.markdown(f"**True tags:** {caption(truth)} — {inference.verdict(truth, predicted)}")
    if others:
        temps = st.session_state.setdefault("temperature_cache", decisions.TemperatureCache())
        frames = []
        for r in [run, *others]:
            p = cache.probabilities(r, [item])
            if calibrated and r.val_labels is not None and r.val_probabilities is not None:
                p = decisions.calibrate(p, temps.get(r))  # each run with its own temperatures
            frames.append(decisions.runs_frame(p[0], classes, rule, run=r.label))
        st.altair_chart(charts.runs_probability_chart(frames, value_label=value_label), width="stretch")
        st.caption("Same image, same decision rule; faded bars are not a sure yes.")


def all_images(run, items: list[Item], probs: np.ndarray, rule: DecisionRule) -> None:
    """Every image's outputs and tags (under ``rule``) in one table, and as a CSV download."""
    table = decisions.decision_table(inference.results_table(items, probs, list(run.config.classes), 0.5), probs, rule)
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
