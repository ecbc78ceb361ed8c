"""Predict page: upload images (or take generated scenes) and see each tag's sigmoid
probability and its decision under the threshold strategy the visitor picks.

A thin view: the sections (mlc.ui_predict) turn inputs into mlc.inference Items;
probabilities come from the session's ProbabilityCache (one model call per new
image and run), so moving a threshold or a strategy parameter only re-decides numbers already computed.
"""

import streamlit as st

from mlc import decisions, inference, ui_predict, ui_saliency
from mlc.ui import ensure_app_navigation, session_jobs

ensure_app_navigation()

jobs = session_jobs()
cache: inference.ProbabilityCache = st.session_state.setdefault("probability_cache", inference.ProbabilityCache())

st.title("Predict")
st.caption(
    "Upload images or draw the run's test images, and see each tag's sigmoid output and its decision: "
    "sure yes, unsure or no under the threshold strategy you pick. "
    "Moving a threshold only re-reads the numbers: the model runs once per image."
)

jobs.collect()  # a run that finished while the visitor was elsewhere joins the list
runs = inference.runs_with_models(jobs.runs)
if not runs:
    ui_predict.quick_model_offer(jobs)
    st.stop()

run, others = ui_predict.pick_runs(jobs, runs)
items = ui_predict.image_inputs(run.config)
rule, temperatures = ui_predict.threshold_controls(run)
if not items:
    st.info("Upload images, use the camera, or draw test images to see predictions.", icon=":material/image:")
    st.stop()

try:
    probs = cache.probabilities(run, items)  # (n, C)
except ValueError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
shown = decisions.calibrate(probs, temperatures)  # the strategy decides on calibrated scores when asked
ui_predict.look_closer(run, others, items, shown, rule, cache, calibrated=temperatures is not None)
ui_saliency.heat_maps(run, items, shown, rule)  # cached per run and image: thresholds only re-pick tags
ui_predict.all_images(run, items, shown, rule)
