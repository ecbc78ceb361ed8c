"""Train page: choose a loss mode, edit per-tag weights, train with live Altair curves.

A thin view: the sections (mlc.ui_train) build one validated RunConfig
(mlc.train_form); training runs in this visitor's background job (mlc.jobs),
polled by a fragment once a second.
"""

import streamlit as st

from mlc import hosting, train_form, ui_data, ui_train
from mlc.ui import ensure_app_navigation, host_settings, host_settings_problem, session_jobs

ensure_app_navigation()

jobs = session_jobs()
host = host_settings()
link_notes = ui_train.restore_settings()

st.title("Train")
for note in link_notes:
    st.warning(f"Share link: {note}; the default is used instead.", icon=":material/link_off:")
if host_settings_problem():
    st.error(host_settings_problem(), icon=":material/settings_alert:")
st.caption(
    "Pick a data set and a loss mode, set per-tag weights, and train a small CNN. "
    "Training runs in the background: the page, other pages and **Stop** keep working."
)

settings, panel = st.columns([5, 7], gap="large")
with settings:
    dataset, image_set, data_problems = ui_data.dataset_section(host)
    own = dataset == "own"
    loss, loss_params = ui_train.loss_section()
    weighting, rows, table_problems = ui_train.tags_section(loss, own)
    fields = {"dataset": dataset, "loss": loss, "weighting": weighting, **ui_train.data_section(host, loss, own)}
    fields.update(ui_train.model_section(host))
    fields["device"], device_problem = ui_train.device_section(host)
problems = data_problems + table_problems + ([device_problem] if device_problem else [])

config = None
if not table_problems and not (own and image_set is None):
    try:
        if own:
            config = train_form.own_config(fields, loss_params, rows, image_set)
        else:
            config = train_form.config_from_form(fields, loss_params, rows)
        st.session_state["train_config"] = config  # the Learn page exports it; coming back restores it
    except ValueError as exc:
        problems.append(str(exc))
if config is not None:
    problems += hosting.config_problems(config, host)
    ui_train.follow_address(config)
    with settings:
        ui_train.config_extras(config, host)

with panel:
    ui_train.training_panel(jobs, config, problems, shown=table_problems, source=image_set)
    if config is not None:
        ui_data.summary_section(config, image_set)
