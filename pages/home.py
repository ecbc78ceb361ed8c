"""Landing page: what the lab teaches, the tags, loss modes and models, and real sample scenes.

A thin view: everything shown comes from mlc (tags, prevalence, loss and model
registries, the scene generator), so the page cannot drift from what training uses.
"""

import pandas as pd
import streamlit as st

from mlc import DEFAULT_CLASSES, lessons
from mlc.data import default_prevalence
from mlc.datasets import DATASETS
from mlc.models import MODELS
from mlc.run_summary import rarest
from mlc.ui import ensure_app_navigation, sample_strip, show_scenes

ensure_app_navigation()

STRIP_SIZE = 10

prevalence = dict(zip(DEFAULT_CLASSES, default_prevalence(DEFAULT_CLASSES)))
rare = DEFAULT_CLASSES[rarest(list(prevalence.values()))]

st.title("Multi-label Lab")
st.markdown(
    "Train a small Keras CNN on synthetic scenes and **see** what it takes to say "
    "*which* of several tags a picture shows: the output activation, the shape of "
    "the targets, the loss, the metrics and the thresholds."
)
st.markdown(
    f"{len(DATASETS)} data sets to train on, picked on the Train page: "
    + ", ".join(f"**{spec.title.lower()}**" for spec in DATASETS.values())
    + " (a .zip with a labels CSV or one folder per tag). The samples below are scenes, the default."
)

with st.container(horizontal=True, gap="small"):
    st.page_link("pages/train.py", label="1 · Train a loss mode", icon=":material/model_training:")
    st.page_link("pages/predict.py", label="2 · Predict and move thresholds", icon=":material/image_search:")
    st.page_link("pages/evaluate.py", label="3 · Evaluate & compare runs", icon=":material/query_stats:")
    st.page_link("pages/learn.py", label="Learn: shapes, losses, pitfalls, code", icon=":material/school:")

# ------------------------------------------------------------------ samples
if "home_seed" not in st.session_state:
    st.session_state.home_seed = 0


def _new_samples() -> None:
    st.session_state.home_seed += 1


with st.container(border=True):
    with st.container(horizontal=True, vertical_alignment="center"):
        st.subheader("Sample scenes", anchor=False)
        st.button(
            "New samples",
            icon=":material/refresh:",
            on_click=_new_samples,
            key="new_samples",
            width="content",
        )
    images, tags = sample_strip(STRIP_SIZE, st.session_state.home_seed)
    show_scenes(images, tags)
    st.caption(
        "Each caption is the scene's true label: a scene can hold several tags at once, "
        "or none. The model sees only the pixels and has to name every tag present."
    )

# ------------------------------------------------------------------ lessons + tags
teaching, tag_box = st.columns([3, 2], gap="large")

with teaching:
    st.subheader("What the lab teaches", anchor=False)
    st.markdown(
        f"""
- **Sigmoid, not softmax.** Each tag has its own output and its own probability;
  a scene can be *dog* and *tree* and *sky* at once, so the probabilities need not sum to 1.
- **Multi-hot targets.** A label is a vector with a 1 for every tag present, e.g.
  `[1, 0, 0, 1, 1]` = dog + tree + sky, or a soft strength in [0, 1] for the MSE mode.
- **The loss decides how a rare tag is learned.** Plain BCE asks one yes/no question per tag.
  Weighting a tag's *whole* BCE changes how hard it pulls on the shared layers but barely
  moves its recall; weighting only its *positive* term (`pos_weight`) shifts where its
  probabilities settle and lifts recall, at a cost in precision. MSE regresses soft labels;
  focal loss and ASL turn down the many easy negatives.
- **`accuracy` misleads.** In Keras 3, `metrics=['accuracy']` on sigmoid outputs is argmax
  accuracy, and even binary accuracy scores {1 - prevalence[rare]:.0%} on *{rare}* by never
  predicting it. Per-tag precision, recall and F1, micro/macro F1 and mAP tell the truth.
- **Thresholds are a choice.** 0.5 is not sacred: a threshold tuned per tag on validation
  data trades precision for recall, tag by tag.
"""
    )

with tag_box:
    st.subheader("The tags", anchor=False)
    st.dataframe(
        pd.DataFrame({"tag": list(prevalence), "prevalence": list(prevalence.values())}),
        hide_index=True,
        column_config={
            "tag": st.column_config.TextColumn("Tag"),
            "prevalence": st.column_config.ProgressColumn(
                "Share of scenes", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
    st.caption(
        f"*{rare}* is the rare tag ({prevalence[rare]:.0%} of scenes): "
        "the one where the choice of loss and threshold shows."
    )

# ------------------------------------------------------------------ losses
st.subheader("Loss modes", anchor=False)
st.table(lessons.loss_modes(), hide_index=True)

# ------------------------------------------------------------------ models
st.subheader("Models", anchor=False)
for column, spec in zip(st.columns(len(MODELS)), MODELS.values()):
    with column.container(border=True, height="stretch"):
        st.markdown(f"**`{spec.name}`**")
        st.write(spec.summary)
