"""What Streamlit sends to the browser for an Altair chart (UI glue: this module imports Streamlit).

:mod:`mlc.bench.live` measures what a Train page watching a job costs, and part of each
1 s tick is Streamlit marshalling the two charts (the Vega-Lite spec with its data
inlined). Streamlit's own converter is private, so without it the chart's own
``to_dict()`` (the spec Altair produces) stands in.

>>> import altair as alt, pandas as pd
>>> spec = vega_lite_spec(alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x"))
>>> spec["mark"]["type"] if isinstance(spec["mark"], dict) else spec["mark"]
'point'
"""

from __future__ import annotations


def vega_lite_spec(chart) -> dict:
    """The Vega-Lite spec (with its datasets) that ``st.altair_chart(chart)`` marshals."""
    try:  # Streamlit's own marshalling of an Altair chart (private, so fall back to to_dict)
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as marshal
    except ImportError:  # pragma: no cover
        return chart.to_dict()
    return marshal(chart)
