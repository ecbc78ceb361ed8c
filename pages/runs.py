"""Runs & files page: this session's runs, their model files and run JSON, bundles of runs
for a workshop, imports, and the optional run directory.

A thin view over mlc.runfiles (files, bundles, the run directory), mlc.run_transfer
(imports) and the session's jobs.
"""

import pandas as pd
import streamlit as st

from mlc import run_transfer
from mlc.config import RunConfig
from mlc.runs import runs_table
from mlc.ui import ensure_app_navigation, host_settings, run_store, run_store_problem, session_jobs

ensure_app_navigation()

state = st.session_state
jobs = session_jobs()
jobs.collect()
host = host_settings()

st.title("Runs & files")
st.caption(
    "Download a run's model and record, bundle all your runs for a workshop, or import runs and models "
    "to predict and evaluate with them."
)

# ---------------------------------------------------------------- this session's runs
st.subheader("Your runs", anchor=False)
if not jobs.runs:
    st.info("No runs yet: train one on the **Train** page, or import files below.", icon=":material/info:")
else:
    st.dataframe(pd.DataFrame(runs_table(jobs.runs)), hide_index=True, width="stretch")
    st.caption(
        f"The last {jobs.max_runs} runs are kept in this session (oldest dropped first). **data** is what each "
        "run was trained on; **mAP** is on its validation images, **test mAP** on its held-out test images."
    )
    by_number = {run.number: run for run in jobs.runs}
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    number = c1.selectbox("Run", list(reversed(by_number)), key="files_run", format_func=lambda n: by_number[n].label)
    run = jobs.find(number) or jobs.runs[-1]
    for column, download in zip((c2, c3, c4), run_transfer.downloads(run, jobs.runs)):
        column.download_button(
            download.label,
            download.data,
            file_name=download.file_name,
            mime=download.mime,
            icon=download.icon,
            key=download.key,
            width="stretch",
            disabled=download.disabled,
            help=download.help,
        )

# ---------------------------------------------------------------- import
st.subheader("Import", anchor=False)
st.markdown(
    "- a **bundle** (`.zip` from *All runs*), e.g. everyone's runs collected in a workshop;\n"
    "- a **model file** (`.keras`), with its **run JSON** (same file name, `.json`) to know its tags and settings — "
    "without it, the Train page's current tags are assumed.\n\n"
    "Models load in Keras' safe mode: no Lambda layers or other code, input and output shapes "
    "checked. Imported runs of a built-in data set (scenes, digits) are scored on regenerated validation and "
    "test images and can be used on **Predict** and **Evaluate & compare**. Runs trained on your own images "
    "travel without the images: they keep their recorded numbers and predict, but cannot be re-scored here."
)
files = st.file_uploader(
    "Files to import",
    type=["zip", "keras", "json"],
    accept_multiple_files=True,
    key=f"import_files_{state.setdefault('import_version', 0)}",
    max_upload_size=50,  # models and bundles; the server's cap is for zips of own images
)
st.button(
    "Import",
    type="primary",
    icon=":material/upload:",
    disabled=not files,
    key="import",
    on_click=state.__setitem__,
    args=("import_requested", True),
)
if state.pop("import_requested", False) and files:
    with st.spinner("Loading and scoring the imported runs …"):
        fallback = state.get("train_config") or RunConfig()  # without a run JSON, the Train page's tags
        imported, problems = run_transfer.import_files([(f.name, f.getvalue()) for f in files], fallback)
    added, refused = run_transfer.add_to_session(jobs, imported)
    problems += refused
    notes = [f"{r.label}: {r.message}" for r in added if r.val_probabilities is None and r.message]
    state["import_result"] = (len(added), problems, [r.label for r in added], notes)
    state["import_version"] += 1  # a fresh uploader: the same files are not imported twice
    st.rerun()
if "import_result" in state:
    count, problems, labels, notes = state.pop("import_result")
    if count:
        st.success(f"Imported {count} run(s): {', '.join(labels)}.", icon=":material/check_circle:")
    for note in notes:
        st.info(note, icon=":material/hide_image:")
    for problem in problems:
        st.error(problem, icon=":material/error:")

# ---------------------------------------------------------------- run directory
st.subheader("Run directory", anchor=False)
store = run_store()
if run_store_problem():
    st.error(run_store_problem(), icon=":material/folder_off:")
if store is None:
    st.caption(
        "Runs live in this browser session only. On a local install, set `MLC_RUN_DIR=/path/to/runs` to keep "
        "every finished run (model and JSON) across restarts; add `MLC_TENSORBOARD=1` for TensorBoard logs."
    )
else:
    st.markdown(f"Finished runs are saved to `{store.path}` and come back when the app restarts.")
    if store.tensorboard:
        st.markdown(f"TensorBoard logs: `tensorboard --logdir {store.path / 'tensorboard'}`")
    for problem in jobs.load_problems:
        st.warning(problem, icon=":material/warning:")
