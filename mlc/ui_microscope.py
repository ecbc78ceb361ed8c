"""Streamlit views of the gradient microscope: the Train page's panel and the Learn page's tab.

Everything computed here comes from :mod:`mlc.gradients` (the split, its readings) and
its curves over one logit (:func:`mlc.gradients.curves`); this module only draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from mlc import charts_gradients, gradients
from mlc.ui_marshal import chart_with_data


@st.cache_data(max_entries=32, show_spinner=False)
def _curves(names: tuple[str, ...], target: float):
    """:func:`mlc.gradients.curves`, once per choice for every visitor (TensorFlow ops: a fraction of a second)."""
    return gradients.curves(names, target)


def train_panel(history: Sequence[Mapping], classes: Sequence[str], key: str = "micro") -> None:
    """Each tag's positive / negative share of its gradient per epoch, and the latest reading in words."""
    if not history:
        return
    st.markdown("**Loss microscope** — where each tag's gradient on its logit comes from")
    sources = {"validation probe (fixed images)": "probe", "training batches": "train"}
    label = st.radio("measured on", list(sources), horizontal=True, key=f"{key}_source", label_visibility="collapsed")
    source = sources[label]
    frame = charts_gradients.share_frame(history, classes, source)
    if frame.empty:
        st.caption("No gradients measured on these yet.")
        return
    columns, panel = charts_gradients.panel_layout(len(classes))  # the live panel is half the page wide
    parts = charts_gradients.share_parts(frame)
    draw = charts_gradients.share_chart_of
    spec = chart_with_data(draw, frame, classes=tuple(classes), parts=parts, panel_width=panel, columns=columns)
    st.vega_lite_chart(spec=spec)
    latest = gradients.latest(history, classes, source)
    st.caption(" · ".join(gradients.reading(row) for row in latest))


def learn_tab() -> None:
    """The Learn page's "Loss microscope": each loss mode's loss and gradient over one logit z."""
    st.markdown(
        "For **one logit** z and its target, each loss mode's loss and its gradient ∂l/∂z — computed by the same "
        "functions training uses. The gradient is what moves the logit: where it is near 0, that target "
        "no longer teaches anything."
    )
    targets = gradients.TARGETS
    target = st.radio("target y", list(targets), horizontal=True, key="micro_target")
    names = st.multiselect("loss modes", gradients.curve_losses(), default=gradients.curve_losses(), key="micro_losses")
    if not names:
        st.info("Pick at least one loss mode.")
        return
    frame, notes = _curves(tuple(names), targets[target])
    st.altair_chart(charts_gradients.curve_chart(frame, "loss", "loss l(z)"), width="stretch")
    st.altair_chart(charts_gradients.curve_chart(frame, "gradient", "gradient ∂l/∂z"), width="stretch")
    for note in notes:
        st.caption(note)
