"""The Train page's sections as Streamlit glue: each draws its widgets and hands back their values.

The widget keys live here (and in :func:`mlc.ui.loss_param_key`); what the
values mean and which config they make is decided in :mod:`mlc.train_form`,
:mod:`mlc.share` and :mod:`mlc.devices`, so this module only lays things out.
Widgets show session state, never a second default: a share link, or coming
back from another page (Streamlit forgets a page's widgets when it is not
shown), restores them through :func:`show_config`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mlc import (
    charts,
    checks,
    devices,
    gradients,
    label_problems,
    losses,
    models,
    run_summary,
    share,
    speed,
    train_form,
    ui_microscope,
)
from mlc.config import (
    LIMITS,
    LR_SCHEDULES,
    SHORTCUT,
    WEIGHT_RULES,
    RunConfig,
    fill_weights,
    tag_rows,
    tag_table_problems,
)
from mlc.hosting import HostSettings
from mlc.jobs import MAX_RUNS_PER_SESSION, SERIES_SEEDS, SessionJobs, seed_series
from mlc.runs import runs_table
from mlc.states import JobState
from mlc.ui import (
    job_progress,
    loss_param_inputs,
    loss_param_state,
    share_url,
    training_slots,
)
from mlc.ui_marshal import chart_with_data

DEFAULTS = RunConfig()
#: Widget key of each form field (see :data:`mlc.share.FORM_FIELDS`).
FIELD_KEYS: dict[str, str] = {name: name for name in share.FORM_FIELDS}
#: The weight-fill buttons: label -> rule of :data:`mlc.config.WEIGHT_RULES`.
WEIGHT_FILLS = {"Inverse frequency": "inverse", "Class-balanced": "balanced", "(1−p)/p": "ratio", "Reset to 1": "ones"}
WEIGHTING_LABELS = {
    "tag": "per tag — the article's: the weight scales the tag's whole BCE",
    "positive": "positive term — like pos_weight: the weight scales only y·log σ(z)",
}


def widget_state(config: RunConfig) -> dict[str, Any]:
    """Session-state values (by widget key) that make the form show ``config`` (the tags table aside)."""
    settings = share.form_settings(config)
    state = {FIELD_KEYS[name]: value for name, value in settings.fields.items()}
    state.update(loss_param_state(config.loss, settings.loss_params))
    state["test_size"] = config.test_size
    return state


def show_config(config: RunConfig, *, keep_dataset: bool = False) -> None:
    """Put ``config`` into the widgets (before they are drawn) and the tags table.

    ``keep_dataset``: the data-set picker was already drawn this run (a pick or an upload), so leave it.
    """
    state = st.session_state
    values = widget_state(config)
    values.pop("dataset", None)
    if not keep_dataset:
        values["dataset"] = config.dataset
    state.update(values)
    state.tag_rows = tag_rows(config)
    state.tag_table_version = state.get("tag_table_version", 0) + 1


def restore_settings() -> list[str]:
    """Show a share link's settings once per session (else the last config); returns the link's notes."""
    state = st.session_state
    state.setdefault("tag_table_version", 0)
    notes: list[str] = []
    query = st.query_params.to_dict()
    if share.has_config(query) and not state.get("_link_applied"):  # a share link opened this session
        # once per session: later reruns may carry an address the browser has not updated yet
        shared = share.from_query(query, devices=[d.id for d in devices.list_devices() if d.available])
        show_config(shared.config)
        notes = shared.notes
        state["_link_applied"] = True
    elif "loss" not in state:
        show_config(state.get("train_config") or DEFAULTS)
    state.setdefault("tag_rows", tag_rows(DEFAULTS))
    return notes


def follow_address(config: RunConfig) -> None:
    """Write ``config`` into the address bar (the share link; no rerun), from now on never the reverse."""
    own = share.to_query(config)
    if own != st.query_params.to_dict():
        st.query_params.from_dict(own)
    st.session_state["_link_applied"] = True


# ---------------------------------------------------------------- settings
def loss_section() -> tuple[str, dict]:
    """The loss mode and its parameters: ``(loss, loss_params)``."""
    with st.container(border=True):
        st.subheader("Loss mode", anchor=False)
        loss = st.selectbox("Loss mode", list(losses.LOSSES), key=FIELD_KEYS["loss"], label_visibility="collapsed")
        loss_cls = losses.LOSSES[loss]
        st.markdown(f"{loss_cls.description}  \n`{loss_cls.formula}`")
        params = loss_param_inputs(loss)
        if train_form.forces_soft_labels(loss):
            st.info(
                f"{loss} regresses soft labels, so the data switches to **soft labels** (presence strength in [0, 1])."
            )
    return loss, params


def tags_section(loss: str, own: bool = False) -> tuple[str, list[dict], list[str]]:
    """The weighting, the tags table and its fill buttons: ``(weighting, rows, problems of the table)``.

    ``own``: the tags are your images' (delete rows to train on fewer; the prevalence is measured, read-only).
    """
    state = st.session_state
    with st.container(border=True):
        st.subheader("Tags", anchor=False)
        uses_weights = train_form.uses_weights(loss)
        weighting = st.radio(
            "Weighting",
            list(WEIGHTING_LABELS),
            format_func=WEIGHTING_LABELS.get,
            key=FIELD_KEYS["weighting"],
            disabled=not uses_weights,
        )
        table = st.data_editor(
            pd.DataFrame(state.tag_rows, columns=["tag", "prevalence", "weight"]),
            key=f"tag_editor_{state.tag_table_version}",
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "tag": st.column_config.TextColumn(
                    "tag", help="Tag name; the article's five have icons, others get a glyph"
                ),
                "prevalence": st.column_config.NumberColumn(
                    "prevalence",
                    help="Measured: the fraction of your images with this tag"
                    if own
                    else "Fraction of generated scenes with this tag",
                    format="%.3f",
                    step=0.01,
                    disabled=own,
                ),
                "weight": st.column_config.NumberColumn(
                    "loss weight", help="Used by weighted_bce", format="%.3f", step=0.1
                ),
            },
        )
        if own:
            st.caption("Your images' tags: delete a row to train on fewer; the prevalence is measured.")
        rows = table.to_dict("records")
        problems = tag_table_problems(rows)
        for problem in problems:
            st.error(problem, icon=":material/error:")
        # A click only records the request (a callback survives a rerun that interrupts this
        # one); it is applied to the table as edited, on the next complete run.
        rule = state.pop("pending_fill", None)
        if rule is not None and not problems:
            try:
                state.tag_rows = fill_weights(rows, rule, state.get(FIELD_KEYS["train_size"], DEFAULTS.train_size))
                state.tag_table_version += 1
                st.rerun()
            except ValueError as exc:
                st.error(f"Cannot fill the weights: {exc}", icon=":material/error:")
        note = None if problems else train_form.unweighted_note(loss, [row["weight"] for row in rows])
        if note:
            st.info(note[0].upper() + note[1:] + ".", icon=":material/balance:")
        st.caption("Fill the weights from prevalence:" if uses_weights else "Weights are used by **weighted_bce**.")
        fills = st.columns(2)
        for i, (label, kind) in enumerate(WEIGHT_FILLS.items()):
            fills[i % 2].button(
                label,
                key=f"fill_{kind}",
                disabled=bool(problems),
                width="stretch",
                on_click=state.__setitem__,
                args=("pending_fill", kind),
                help=WEIGHT_RULES[kind],
            )
    return weighting, rows, problems


def _kept(name: str) -> Any:
    """A field the page does not show (workshop mode): its last value, else the default."""
    return st.session_state.get(FIELD_KEYS[name], getattr(DEFAULTS, name))


def data_section(host: HostSettings, loss: str, own: bool = False) -> dict[str, Any]:
    """Image counts, label noise, seed and soft labels, by field name (``own``: the counts are the images')."""
    k = FIELD_KEYS
    with st.container(border=True):
        st.subheader("Data", anchor=False)
        if own:
            st.caption("The split sizes are your images' (a `split` column, or stratified 70/15/15).")
        sizes = (
            ("train_size", "train images", 500, f"This server allows up to {host.max_train_size:,}."),
            ("val_size", "validation images", 250, f"This server allows up to {host.max_val_size:,}."),
            ("test_size", "test images", 250, "Held out: scored once, by the finished model (Evaluate shows it)."),
        )
        values = {
            name: column.number_input(label, 1, step=step, key=name, disabled=own, help=hint)
            for column, (name, label, step, hint) in zip(st.columns(3), sizes)
        }
        if not host.workshop_mode:
            c3, c4 = st.columns(2)
            values["label_noise"] = c3.slider(
                "label noise",
                0.0,
                float(LIMITS["label_noise"][1]),
                step=0.01,
                key=k["label_noise"],
                help=train_form.LABEL_NOISE_HINT,
            )
            values["seed"] = c4.number_input("seed", 0, int(LIMITS["seed"][1]), key=k["seed"])
        else:
            values.update(label_noise=_kept("label_noise"), seed=_kept("seed"))
        values["soft_labels"] = st.toggle(
            "soft labels (presence strength in [0, 1])",
            key=k["soft_labels"],
            disabled=train_form.forces_soft_labels(loss) or own,
            help="Generated scenes only: your own labels are 0/1." if own else None,
        )
        values.update(label_problems_section(loss))
        values.update(shortcut_section(own))
    return values


def shortcut_section(own: bool) -> dict[str, Any]:
    """The shortcut scenario (:data:`mlc.config.SHORTCUT`) in an expander, scenes only; by field name."""
    names = ("cooccur_tag", "cooccur_with", "cooccur_train", "cooccur_test")
    state = st.session_state
    if own or state.get("dataset", "scenes") != "scenes":
        return {"cooccur_tag": "", "cooccur_with": "", **{n: _kept(n) for n in names[2:]}}
    tags = [checks.tag_text(row.get("tag")) for row in state.get("tag_rows", [])]
    values: dict[str, Any] = {}
    with st.expander("Scenario: a shortcut"):
        st.caption(
            "Make one tag almost always appear with another in training, and break the link in validation and "
            "test: does the model learn the object, or its companion? (Learn → Shortcut exercise)"
        )
        c1, c2 = st.columns(2)
        for column, name, label in ((c1, names[0], "tag"), (c2, names[1], "partner")):
            options = ["", *[t for t in tags if t]]
            if state.get(FIELD_KEYS[name], "") not in options:
                options.append(state[FIELD_KEYS[name]])
            values[name] = column.selectbox(
                label,
                options,
                key=FIELD_KEYS[name],
                format_func=lambda t: t or "— off —",
                help=SHORTCUT[name][2],
            )
        c3, c4 = st.columns(2)
        for column, name, label in ((c3, names[2], "with partner in training"), (c4, names[3], "… in val/test")):
            lo, hi = SHORTCUT[name][1]
            values[name] = column.slider(label, lo, hi, step=0.05, key=FIELD_KEYS[name], help=SHORTCUT[name][2])
    return values


def label_problems_section(loss: str) -> dict[str, Any]:
    """The "Label problems" expander: missing positives (hidden as 0 or as unknown) and single positive."""
    k = FIELD_KEYS
    with st.expander("Label problems", icon=":material/label_off:"):
        st.caption(train_form.LABEL_PROBLEMS_HINT)
        c1, c2 = st.columns(2)
        values = {
            "missing_positives": c1.slider(
                "missing positives",
                0.0,
                float(label_problems.MAX_MISSING),
                step=0.01,
                key=k["missing_positives"],
                help="Each training positive is hidden with this probability (validation and test stay complete)",
            ),
            "missing_as": c2.radio(
                "a hidden positive becomes",
                label_problems.MISSING_AS,
                key=k["missing_as"],
                horizontal=True,
                help="negative: a wrong 0; unknown: -1, which bce can ignore (loss parameter unknown)",
            ),
            "single_positive": st.toggle(
                "single positive label (Cole et al., 2021)",
                key=k["single_positive"],
                help="Each training image keeps one of its positives; every other target becomes unknown",
            ),
        }
        refused = label_problems.unknown_problem(loss, **values)
        if refused:
            st.warning(refused[0].upper() + refused[1:] + ".", icon=":material/warning:")
    return values


def model_section(host: HostSettings) -> dict[str, Any]:
    """Model, epochs, learning rate, batch size and schedule, by field name."""
    k = FIELD_KEYS
    with st.container(border=True):
        st.subheader("Model and optimiser", anchor=False)
        values = {"model": st.selectbox("model", list(models.MODELS), key=k["model"])}
        st.caption(models.MODELS[values["model"]].summary)
        c1, c2 = st.columns(2)
        values["epochs"] = c1.number_input(
            "epochs", 1, key=k["epochs"], help=f"This server allows up to {host.max_epochs}."
        )
        c3, c4 = st.columns(2)
        values["learning_rate"] = c3.number_input(
            "learning rate",
            LIMITS["learning_rate"][0],
            LIMITS["learning_rate"][1],
            format="%.4f",
            step=0.0005,
            key=k["learning_rate"],
        )
        if not host.workshop_mode:
            values["batch_size"] = c2.number_input("batch size", 1, int(LIMITS["batch_size"][1]), key=k["batch_size"])
            values["lr_schedule"] = c4.selectbox("schedule", LR_SCHEDULES, key=k["lr_schedule"])
        else:
            values.update(batch_size=_kept("batch_size"), lr_schedule=_kept("lr_schedule"))
    return values


def device_section(host: HostSettings) -> tuple[str, str | None]:
    """The device picker (hidden in workshop mode): ``(device, why it cannot train or None)``."""
    options = devices.list_devices()
    by_id = {d.id: d for d in options}
    if host.workshop_mode:  # one CPU/GPU choice less to explain; the default device trains
        device = _kept("device")
    else:
        with st.container(border=True):
            st.subheader("Device", anchor=False)
            device = st.selectbox(
                "device",
                list(by_id),
                key=FIELD_KEYS["device"],
                label_visibility="collapsed",
                format_func=lambda i: devices.option_label(by_id[i]),
            )
            for option in options:
                if not option.available:
                    st.caption(f":material/block: **{option.label}** unavailable: {option.reason}")
    return device, devices.device_problem(device, options)


def config_extras(config: RunConfig, host: HostSettings) -> None:
    """The share link of ``config`` and (not in workshop mode) its JSON, in expanders."""
    with st.expander("Share these settings"):
        st.caption("This page's address always holds the settings; anyone who opens it gets them.")
        note = share.link_note(config)
        if note:
            st.caption(f":material/link_off: {note}")
        st.code(share_url(share.to_query(config)), language=None, wrap_lines=True)
    if not host.workshop_mode:
        with st.expander("Config (JSON)"):
            st.code(config.to_json(indent=2), language="json")


# ---------------------------------------------------------------- training panel
def training_panel(
    jobs: SessionJobs, config: RunConfig | None, problems: list[str], shown: list[str], source: Any = None
) -> None:
    """Train and Stop, the server's slots, the settings' ``problems`` (those not ``shown`` already), the
    current job (polled while it is active) and this session's runs. ``source``: own images to train on."""
    state = st.session_state
    # A click only records the request (a callback survives a rerun that interrupts this one);
    # the job starts here, with the settings as they are now.
    start_problem = None
    repeat = state.pop("repeat_requested", False)
    if (state.pop("start_requested", False) or repeat) and config is not None and not problems:
        own_source = source if config.dataset == "own" else None
        try:
            if repeat:  # the same config, seeds s, s+1, s+2, one after another through the job queue
                jobs.start_series(seed_series(config), source=own_source)
            else:
                jobs.start(config, source=own_source)
        except (RuntimeError, ValueError) as exc:  # over the server's limits, already running, or the session ended
            start_problem = str(exc)
    job = jobs.job
    active = job is not None and job.alive
    b1, b2, b4, b3 = st.columns([2, 2, 4, 3], vertical_alignment="center")
    b1.button(
        "Train",
        type="primary",
        icon=":material/play_arrow:",
        disabled=bool(problems) or active or config is None,
        key="train",
        width="stretch",
        on_click=state.__setitem__,
        args=("start_requested", True),
    )
    b2.button("Stop", icon=":material/stop:", disabled=not active, key="stop", width="stretch", on_click=jobs.stop)
    b4.button(
        f"Repeat over {SERIES_SEEDS} seeds",
        icon=":material/repeat:",
        disabled=bool(problems) or active or config is None,
        key="repeat_seeds",
        width="stretch",
        on_click=state.__setitem__,
        args=("repeat_requested", True),
        help=f"Train this config {SERIES_SEEDS} times with seeds s, s+1, s+2, one after another; each run is kept. "
        "Stop ends the current one and drops the rest.",
    )
    if start_problem:
        st.error(f"Cannot start training: {start_problem}", icon=":material/error:")
    slots = training_slots()
    b3.caption(f"Server: {slots.running}/{slots.limit} trainings running, {slots.waiting} waiting.")
    for problem in problems:
        if problem not in shown:
            st.error(problem, icon=":material/error:")
    if problems:
        st.caption("Train is disabled until the settings above are fixed.")
    # fixed containers: the fragment's changing content never shifts what follows it
    with st.container():
        polled = job.snapshot().state if active else None
        in_line = polled is not None and JobState(polled).in_line
        st.fragment(run_every=train_form.poll_seconds(active, polled))(live_panel)(jobs, in_line)
    with st.container():
        session_runs(jobs)


def live_panel(jobs: SessionJobs, in_line: bool = False) -> None:
    """The current job: its progress, live curves and, once it has ended, how it went.

    ``in_line``: the polling was set up for a job waiting for a slot (half as often).
    """
    current = jobs.job
    if current is None:
        estimate = speed.estimate_text(RunConfig())
        st.info("Press **Train** to start." + (f" The defaults train in {estimate}." if estimate else ""))
        return
    snap = current.snapshot()
    if in_line and not JobState(snap.state).in_line:
        st.rerun()  # it got its slot: back to one update a second
    cfg = snap.config
    if jobs.series is not None:
        n, of = jobs.series
        st.caption(f"Repeat over seeds: **seed {n} of {of}** (seed {cfg.seed}).")
    job_progress(snap)
    if JobState(snap.state).in_line:
        # nothing to draw yet: a tick of the line is one line of text, not two empty charts (six
        # visitors in line cost the server's interpreter their charts every two seconds)
        st.caption("The loss and metric curves start with the first batch.")
        return
    batches = train_form.batches_per_epoch(cfg)
    # a template per chart shape, only the rows re-serialised each tick (mlc.ui_marshal)
    losses = charts.loss_frame(snap.batch_history, snap.epoch_history, batches)
    st.vega_lite_chart(spec=chart_with_data(charts.loss_chart_of, losses, height=320), width="stretch")
    scores = charts.metrics_frame(snap.epoch_history, charts.metric_keys(cfg.soft_labels))
    st.vega_lite_chart(spec=chart_with_data(charts.metrics_chart_of, scores, height=240), width="stretch")
    microscope = snap.run.gradients if snap.run is not None else gradients.from_epochs(snap.epoch_history)
    ui_microscope.train_panel(microscope, cfg.classes)
    if snap.active:
        return
    state = JobState(snap.state)
    if state is JobState.FAILED:
        st.error(snap.message or "training failed", icon=":material/error:")
    elif state is JobState.STOPPED:
        st.warning(f"Stopped: {snap.message}. The partial run is kept.", icon=":material/stop_circle:")
    if snap.run is not None and snap.run.report is not None:
        show_summary(snap.run)
    collected = jobs.collect()
    if collected is not None:
        speed.record(collected)  # this server's speed: the next estimates use it
    if collected is not None or jobs.job is not current:
        st.rerun()  # end the polling (or poll the series' next seed) and refresh the run list


def show_summary(run) -> None:
    """A finished run's outcome, six headline numbers and its per-tag table."""
    st.success(run_summary.outcome(run), icon=":material/check_circle:")
    cols = st.columns(3) + st.columns(3)
    for col, headline in zip(cols, run_summary.headlines(run)):
        col.metric(headline.label, headline.value, help=headline.help)
    st.dataframe(
        run_summary.per_tag_frame(run.report),
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in run_summary.PER_TAG_SCORES},
    )


def session_runs(jobs: SessionJobs) -> None:
    """The runs of this session as a table (or what will appear there)."""
    st.subheader("Runs in this session", anchor=False)
    if not jobs.runs:
        st.caption(
            f"Finished runs appear here (the last {MAX_RUNS_PER_SESSION}); the Predict and Evaluate pages use them."
        )
    else:
        st.dataframe(pd.DataFrame(runs_table(jobs.runs)), hide_index=True, width="stretch")
