"""Entry point of Multi-label Lab: page config and navigation, nothing else.

Each page is one thin view in pages/; a new page is one more line in PAGES.
Run with:  streamlit run streamlit_app.py
"""

import streamlit as st

from mlc.ui import run_page

st.set_page_config(page_title="Multi-label Lab", page_icon=":material/label:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Multi-label Lab", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/predict.py", title="Predict", icon=":material/image_search:"),
    st.Page("pages/evaluate.py", title="Evaluate & compare", icon=":material/query_stats:"),
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page("pages/runs.py", title="Runs & files", icon=":material/folder_open:"),
]

# timed by the server's rerun clock (MLC_RERUN_LOG); TensorFlow warms up after the first page
run_page(st.navigation(PAGES))
