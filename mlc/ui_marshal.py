"""What Streamlit sends to the browser for an Altair chart, built once per chart shape (UI glue).

``st.altair_chart(chart)`` turns the chart into a Vega-Lite spec each call: Altair's
``to_dict()`` validates the whole spec against the Vega-Lite JSON schema, which costs a live
Train page tens of milliseconds per chart and per 1 s tick — most of a tick's CPU. The spec
of a chart drawn by a pure function ``draw(frame, **layout)`` depends only on the frame's
columns and dtypes and on ``layout``, never on its rows, so :func:`chart_with_data` builds
and validates that spec once (a template), and each call serialises only the frame to Arrow
and names the dataset by its content, as Streamlit does: the result is the very spec
``st.altair_chart`` would send (``st.vega_lite_chart(spec=...)`` draws it).

A ``draw`` whose spec reads the data (a scale domain from the rows, say) must take that as a
``layout`` argument instead, or the template would keep the first frame's reading.

>>> import altair as alt, pandas as pd
>>> def dots(frame, height):
...     return alt.Chart(frame).mark_point().encode(x="x:Q").properties(height=height)
>>> spec = chart_with_data(dots, pd.DataFrame({"x": [1.0, 2.0]}), height=90)
>>> spec["height"], len(spec["datasets"]), spec["data"]["name"] in spec["datasets"]
(90, 1, True)
>>> spec == vega_lite_spec(dots(pd.DataFrame({"x": [1.0, 2.0]}), height=90))
True
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import pandas as pd

#: Templates kept (one per chart function, column layout and layout arguments in use).
MAX_TEMPLATES = 256


def vega_lite_spec(chart) -> dict:
    """The Vega-Lite spec (with its datasets as Arrow bytes) that ``st.altair_chart(chart)`` marshals."""
    try:  # Streamlit's own marshalling of an Altair chart (private, so fall back to to_dict)
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as marshal
    except ImportError:  # pragma: no cover
        return chart.to_dict()
    return marshal(chart)


def arrow_bytes(frame: pd.DataFrame) -> tuple[str, bytes]:
    """``(name, bytes)``: the frame as Arrow IPC bytes and the content hash Streamlit names them by."""
    from streamlit import dataframe_util
    from streamlit.util import calc_hash

    data = dataframe_util.convert_anything_to_arrow_bytes(frame)
    return calc_hash(data), data


def _columns(frame: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    return tuple((str(c), str(t)) for c, t in frame.dtypes.items())


@functools.lru_cache(maxsize=MAX_TEMPLATES)
def _template(draw: Callable, columns: tuple, layout: tuple, frame_box: tuple) -> tuple[str, str]:
    """``(spec JSON without its datasets, the dataset name in it)`` for this chart shape."""
    spec = vega_lite_spec(draw(frame_box[0], **dict(layout)))
    datasets = spec.pop("datasets", {})
    if len(datasets) != 1:
        raise ValueError(
            f"chart_with_data needs a chart with exactly one dataset; {draw.__qualname__} drew {len(datasets)}"
        )
    (name,) = datasets
    return json.dumps(spec), name


class _Box(tuple):
    """Carries the first frame into the template builder without making it part of the cache key."""

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other) -> bool:
        return isinstance(other, _Box)


def chart_with_data(draw: Callable, frame: pd.DataFrame, **layout) -> dict:
    """The spec ``st.altair_chart(draw(frame, **layout))`` would send, from a template built once.

    ``draw(frame, **layout)`` must return an Altair chart with one dataset, ``frame``; ``layout``
    values must be hashable (tuples, not lists).
    """
    text, name = _template(draw, _columns(frame), tuple(sorted(layout.items())), _Box((frame,)))
    new_name, data = arrow_bytes(frame)
    spec = json.loads(text.replace(json.dumps(name), json.dumps(new_name)))
    spec["datasets"] = {new_name: data}
    return spec


def template_count() -> int:
    """How many chart templates are kept now."""
    return _template.cache_info().currsize
