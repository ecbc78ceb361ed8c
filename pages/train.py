"""Train page: choose a loss mode, edit per-tag weights, train with live Altair curves.

A thin view: widgets build one validated RunConfig; training runs in this
visitor's background job (mlc.jobs), polled by a fragment once a second.
"""

import pandas as pd
import streamlit as st

from mlc import charts, devices, hosting, losses, models, share
from mlc.config import (
    LIMITS,
    LR_SCHEDULES,
    WEIGHT_RULES,
    RunConfig,
    fill_weights,
    tag_rows,
    tag_table_problems,
    tags_from_table,
)
from mlc.jobs import MAX_RUNS_PER_SESSION
from mlc.training import runs_table
from mlc.ui import (
    ensure_app_navigation,
    host_settings,
    host_settings_problem,
    job_progress,
    loss_param_inputs,
    sample_strip,
    session_jobs,
    share_url,
    show_scenes,
    training_slots,
)

ensure_app_navigation()

DEFAULTS = RunConfig()
WEIGHT_FILLS = {
    "Inverse frequency": "inverse",
    "Class-balanced": "balanced",
    "(1−p)/p": "ratio",
    "Reset to 1": "ones",
}
WEIGHTING_LABELS = {
    "tag": "per tag — the article's: the weight scales the tag's whole BCE",
    "positive": "positive term — like pos_weight: the weight scales only y·log σ(z)",
}

jobs = session_jobs()
host = host_settings()
state = st.session_state
state.setdefault("tag_table_version", 0)


def show_config(config: RunConfig) -> None:
    """Put ``config`` into the widgets (before they are drawn) and the tags table."""
    for key, value in share.train_widget_state(config).items():
        state[key] = value
    state.tag_rows = tag_rows(config)
    state.tag_table_version += 1


# Widgets show session state, never a second default: a share link, or coming back from
# another page (Streamlit forgets a page's widgets when it is not shown), restores them.
query = st.query_params.to_dict()
if share.has_config(query) and not state.get("_link_applied"):  # a share link opened this session
    # once per session: later reruns may carry an address the browser has not updated yet
    shared = share.from_query(query, devices=[d.id for d in devices.list_devices() if d.available])
    show_config(shared.config)
    state["share_notes"] = shared.notes
    state["_link_applied"] = True
elif "loss" not in state:
    show_config(state.get("train_config") or DEFAULTS)
state.setdefault("tag_rows", tag_rows(DEFAULTS))

st.title("Train")
for note in state.pop("share_notes", []):
    st.warning(f"Share link: {note}; the default is used instead.", icon=":material/link_off:")
if host_settings_problem():
    st.error(host_settings_problem(), icon=":material/settings_alert:")
st.caption(
    "Pick a loss mode, set per-tag weights, and train a small CNN on generated scenes. "
    "Training runs in the background: the page, other pages and **Stop** keep working."
)

settings, panel = st.columns([5, 7], gap="large")
problems: list[str] = []

# ---------------------------------------------------------------- settings
with settings:
    with st.container(border=True):
        st.subheader("Loss mode", anchor=False)
        loss = st.selectbox("Loss mode", list(losses.LOSSES), key="loss", label_visibility="collapsed")
        loss_cls = losses.LOSSES[loss]
        st.markdown(f"{loss_cls.description}  \n`{loss_cls.formula}`")
        loss_params = loss_param_inputs(loss)
        if loss == "mse":
            st.info("mse regresses soft labels, so the data switches to **soft labels** (presence strength in [0, 1]).")

    with st.container(border=True):
        st.subheader("Tags", anchor=False)
        uses_weights = "weights" in losses.params(loss)
        weighting = st.radio(
            "Weighting",
            list(WEIGHTING_LABELS),
            format_func=WEIGHTING_LABELS.get,
            key="weighting",
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
                    "prevalence", help="Fraction of generated scenes with this tag", format="%.3f", step=0.01
                ),
                "weight": st.column_config.NumberColumn(
                    "loss weight", help="Used by weighted_bce", format="%.3f", step=0.1
                ),
            },
        )
        rows = table.to_dict("records")
        table_problems = tag_table_problems(rows)
        for problem in table_problems:
            st.error(problem, icon=":material/error:")
        problems += table_problems
        # A click only records the request (a callback survives a rerun that interrupts this
        # one); it is applied to the table as edited, on the next complete run.
        rule = state.pop("pending_fill", None)
        if rule is not None and not table_problems:
            try:
                state.tag_rows = fill_weights(rows, rule, state.get("train_size", DEFAULTS.train_size))
                state.tag_table_version += 1
                st.rerun()
            except ValueError as exc:
                st.error(f"Cannot fill the weights: {exc}", icon=":material/error:")
        st.caption("Fill the weights from prevalence:" if uses_weights else "Weights are used by **weighted_bce**.")
        fills = st.columns(2)
        for i, (label, kind) in enumerate(WEIGHT_FILLS.items()):
            fills[i % 2].button(
                label,
                key=f"fill_{kind}",
                disabled=bool(table_problems),
                width="stretch",
                on_click=state.__setitem__,
                args=("pending_fill", kind),
                help=WEIGHT_RULES[kind],
            )

    with st.container(border=True):
        st.subheader("Data", anchor=False)
        c1, c2 = st.columns(2)
        train_size = c1.number_input(
            "train scenes", 1, step=500, key="train_size", help=f"This server allows up to {host.max_train_size:,}."
        )
        val_size = c2.number_input(
            "validation scenes", 1, step=250, key="val_size", help=f"This server allows up to {host.max_val_size:,}."
        )
        if not host.workshop_mode:
            c3, c4 = st.columns(2)
            label_noise = c3.slider(
                "label noise",
                0.0,
                float(LIMITS["label_noise"][1]),
                step=0.01,
                key="label_noise",
                help="Each training target flips with this probability (validation stays clean)",
            )
            seed = c4.number_input("seed", 0, int(LIMITS["seed"][1]), key="seed")
        else:
            label_noise, seed = state.get("label_noise", DEFAULTS.label_noise), state.get("seed", DEFAULTS.seed)
        soft_labels = st.toggle("soft labels (presence strength in [0, 1])", key="soft_labels", disabled=loss == "mse")
        soft_labels = soft_labels or loss == "mse"

    with st.container(border=True):
        st.subheader("Model and optimiser", anchor=False)
        model = st.selectbox("model", list(models.MODELS), key="model")
        st.caption(models.MODELS[model].summary)
        c1, c2 = st.columns(2)
        epochs = c1.number_input("epochs", 1, key="epochs", help=f"This server allows up to {host.max_epochs}.")
        c3, c4 = st.columns(2)
        learning_rate = c3.number_input(
            "learning rate",
            LIMITS["learning_rate"][0],
            LIMITS["learning_rate"][1],
            format="%.4f",
            step=0.0005,
            key="learning_rate",
        )
        if not host.workshop_mode:
            batch_size = c2.number_input("batch size", 1, int(LIMITS["batch_size"][1]), key="batch_size")
            lr_schedule = c4.selectbox("schedule", LR_SCHEDULES, key="lr_schedule")
        else:
            batch_size, lr_schedule = (
                state.get("batch_size", DEFAULTS.batch_size),
                state.get("lr_schedule", DEFAULTS.lr_schedule),
            )

    options = devices.list_devices()
    by_id = {d.id: d for d in options}
    if host.workshop_mode:  # one CPU/GPU choice less to explain; the default device trains
        device = state.get("device", DEFAULTS.device)
    else:
        with st.container(border=True):
            st.subheader("Device", anchor=False)
            device = st.selectbox(
                "device",
                list(by_id),
                key="device",
                label_visibility="collapsed",
                format_func=lambda i: by_id[i].label if by_id[i].available else f"{by_id[i].label} — unavailable",
            )
            for option in options:
                if not option.available:
                    st.caption(f":material/block: **{option.label}** unavailable: {option.reason}")
    if device not in by_id:
        problems.append(f"device {device!r} is not offered by this server")
    elif not by_id[device].available:
        problems.append(f"{by_id[device].label} is unavailable: {by_id[device].reason}")

# ---------------------------------------------------------------- the config
config = None
if not table_problems:
    try:
        config = RunConfig(
            loss=loss,
            loss_params=loss_params,
            weighting=weighting,
            model=model,
            epochs=int(epochs),
            batch_size=int(batch_size),
            learning_rate=float(learning_rate),
            lr_schedule=lr_schedule,
            train_size=int(train_size),
            val_size=int(val_size),
            soft_labels=bool(soft_labels),
            label_noise=float(label_noise),
            seed=int(seed),
            device=device,
            **tags_from_table(rows),
        )
        state["train_config"] = config  # the Learn page exports it; coming back to this page restores it
    except ValueError as exc:
        problems.append(str(exc))
if config is not None:
    problems += hosting.config_problems(config, host)
    own = share.to_query(config)
    if own != st.query_params.to_dict():  # the address bar is the share link (no rerun)
        st.query_params.from_dict(own)
    state["_link_applied"] = True  # from now on the address follows the page, never the reverse

with settings:
    if config is not None:
        with st.expander("Sample scenes the model will learn from"):
            images, captions = sample_strip(10, config.seed, config.classes, config.prevalence, config.soft_labels)
            show_scenes(images, captions)
        with st.expander("Share these settings"):
            st.caption("This page's address always holds the settings; anyone who opens it gets them.")
            st.code(share_url(share.to_query(config)), language=None, wrap_lines=True)
        if not host.workshop_mode:
            with st.expander("Config (JSON)"):
                st.code(config.to_json(indent=2), language="json")

# ---------------------------------------------------------------- training panel
# A click only records the request (a callback survives a rerun that interrupts this one);
# the job starts here, with the settings as they are now.
start_problem = None
if state.pop("start_requested", False) and config is not None and not problems:
    try:
        jobs.start(config)
    except (RuntimeError, ValueError) as exc:  # over the server's limits, already running, or the session ended
        start_problem = str(exc)

with panel:
    job = jobs.job
    active = job is not None and job.alive
    b1, b2, b3 = st.columns([2, 2, 3], vertical_alignment="center")
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
    if start_problem:
        st.error(f"Cannot start training: {start_problem}", icon=":material/error:")
    slots = training_slots()
    b3.caption(f"Server: {slots.running}/{slots.limit} trainings running, {slots.waiting} waiting.")
    for problem in problems:
        if problem not in table_problems:
            st.error(problem, icon=":material/error:")
    if problems:
        st.caption("Train is disabled until the settings above are fixed.")

    def live_panel() -> None:
        current = jobs.job
        if current is None:
            st.info("Press **Train** to start. The defaults train in about half a minute on a 2-core CPU.")
            return
        snap = current.snapshot()
        if waiting and snap.state not in ("queued", "waiting"):
            st.rerun()  # it got its slot: back to one update a second
        cfg = snap.config
        batches = -(-cfg.train_size // cfg.batch_size)
        job_progress(snap)
        st.altair_chart(charts.loss_chart(snap.batch_history, snap.epoch_history, batches, height=320), width="stretch")
        st.altair_chart(
            charts.metrics_chart(snap.epoch_history, soft_labels=cfg.soft_labels, height=240), width="stretch"
        )
        if snap.active:
            return
        run = snap.run
        if snap.state == "failed":
            st.error(snap.message or "training failed", icon=":material/error:")
        elif snap.state == "stopped":
            st.warning(f"Stopped: {snap.message}. The partial run is kept.", icon=":material/stop_circle:")
        if run is not None and run.report is not None:
            show_summary(run)
        if jobs.collect() is not None:
            st.rerun()  # end the polling and refresh the run list

    def show_summary(run) -> None:
        s = run.summary()
        rep = run.report
        rare = min(range(run.config.num_classes), key=lambda c: run.config.prevalence[c])
        rare_row = rep["per_tag"][rare]
        st.success(
            f"Run {run.status}: {s['epochs_done']} epochs on {s['device']}.",
            icon=":material/check_circle:",
        )
        cols = st.columns(3) + st.columns(3)
        cols[0].metric("mAP", f"{rep['map']:.3f}")
        cols[1].metric("macro F1", f"{rep['macro_f1']:.3f}")
        cols[2].metric(
            f"{rare_row['tag']} recall", f"{rare_row['recall']:.3f}", help="The rarest tag, at threshold 0.5"
        )
        cols[3].metric(
            "MAE" if run.config.soft_labels else "micro F1",
            f"{rep['mae' if run.config.soft_labels else 'micro_f1']:.3f}",
        )
        cols[4].metric("training time", f"{s['train_seconds']:.1f} s")
        cols[5].metric("samples/s", f"{s['samples_per_second']:,.0f}")
        per_tag = pd.DataFrame(rep["per_tag"])[["tag", "support", "precision", "recall", "f1", "average_precision"]]
        st.dataframe(
            per_tag,
            hide_index=True,
            width="stretch",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in ("precision", "recall", "f1", "average_precision")
            },
        )

    # fixed containers: the fragment's changing content never shifts what follows it
    with st.container():
        # once a second while training; a place in line changes slowly, so a waiting page asks half as often
        waiting = active and job.snapshot().state in ("queued", "waiting")
        st.fragment(run_every=(2.0 if waiting else 1.0) if active else None)(live_panel)()
    with st.container():
        st.subheader("Runs in this session", anchor=False)
        if not jobs.runs:
            st.caption(
                f"Finished runs appear here (the last {MAX_RUNS_PER_SESSION}); the Predict and Evaluate pages use them."
            )
        else:
            st.dataframe(pd.DataFrame(runs_table(jobs.runs)), hide_index=True, width="stretch")
