"""Learn page: shapes, sigmoid vs softmax, a loss calculator, pitfalls run live on the
installed Keras, and the plain-Keras script for the current configuration.

A thin view: each tab is drawn by mlc.ui_learn over mlc.lessons (computed
explanations), mlc.pitfalls (live demos) and mlc.export (the script).
"""

import streamlit as st

from mlc import lessons, ui_learn
from mlc.config import RunConfig
from mlc.ui import ensure_app_navigation, session_jobs

ensure_app_navigation()

jobs = session_jobs()
train_config: RunConfig = st.session_state.get("train_config") or RunConfig()

versions = lessons.framework_versions()
st.title("Learn")
st.caption(
    f"The reference article's three recipes, made exact for the installed TensorFlow {versions['tensorflow']} / "
    f"Keras {versions['keras']}: every shape, value and error below comes from running the real thing."
)

ui_learn.learn_tabs(train_config, jobs)
