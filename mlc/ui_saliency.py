"""Streamlit glue of "Where it looks" (the Evaluate page's saliency tab): per-tag pointing game and mass
inside the true mask, next to the random baseline, for one run and side by side across runs of the same
data. Scores come from :mod:`mlc.saliency_scores`, computed once per run id (``st.cache_data``).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from mlc import config as run_config
from mlc import decisions, inference, predict_scenes, saliency, saliency_scores
from mlc.datasets import masks_problem, split_masks
from mlc.eval_splits import incomparable_reason
from mlc.runs import Run

NUMBER = st.column_config.NumberColumn(format="%.3f")
#: Runs compared at most (each one's scores are one saliency pass over its sample).
MAX_COMPARED = 6
COLUMNS = {
    "tag": "tag",
    "images": "images with the tag",
    "pointing_game": "pointing game",
    "baseline_pointing_game": "random map: pointing game",
    "lift": "× random",
    "mass_inside": "mass inside",
    "baseline_mass_inside": "random map: mass inside",
}


@st.cache_data(max_entries=32, show_spinner="Computing where each tag looks (once per run) …")
def cached_scores(run_id: str, _run: Run) -> dict:
    """:func:`mlc.saliency_scores.score_run` of a run, once per run id."""
    return saliency_scores.score_run(_run)


def scores_frame(rows: Sequence[dict], columns: Sequence[str] = tuple(COLUMNS)) -> pd.DataFrame:
    """Rows as the tab's table (columns renamed for reading; "× random" as text: a dash where undefined)."""
    frame = pd.DataFrame(list(rows), columns=list(columns))
    frame["lift"] = [saliency_scores.lift_text(v) for v in frame["lift"]]
    return frame.rename(columns=COLUMNS)


#: The table's number columns (three decimals); "× random" is text.
NUMBERS = {c: NUMBER for k, c in COLUMNS.items() if k not in ("tag", "images", "lift")}


def pointing_chart(long_rows: Sequence[dict]) -> alt.Chart:
    """Per tag: each run's pointing game (bars, one colour per run) and the random baseline (black ticks)."""
    frame = pd.DataFrame(list(long_rows))
    base = alt.Chart(frame).encode(
        x=alt.X("tag:N", title=None, sort=None, axis=alt.Axis(labelFontSize=13, labelAngle=0)),
        xOffset=alt.XOffset("run:N"),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("pointing_game:Q", title="pointing game (share of images)", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", legend=alt.Legend(orient="bottom", title=None, columns=2, labelLimit=260)),
        tooltip=[
            alt.Tooltip("run:N"),
            alt.Tooltip("tag:N"),
            alt.Tooltip("pointing_game:Q", format=".3f"),
            alt.Tooltip("baseline_pointing_game:Q", title="random map", format=".3f"),
            alt.Tooltip("mass_inside:Q", format=".3f"),
            alt.Tooltip("images:Q"),
        ],
    )
    ticks = base.mark_tick(color="black", thickness=3, size=18).encode(y="baseline_pointing_game:Q")
    return (bars + ticks).properties(height=300)


def where_it_looks_tab(runs: Sequence[Run], is_open: bool | None = True) -> None:
    """The tab: pick a run; its per-tag scores and chart; other runs of the same data side by side.

    Nothing is computed unless ``is_open`` (the tab is the selected one: a saliency pass per run costs
    a second or two the first time)."""
    if is_open is False:
        st.caption("Open this tab to compute where each tag looks.")
        return
    by_number = {run.number: run for run in runs if run.model is not None}
    if not by_number:
        st.info("No run here has a model to explain.", icon=":material/info:")
        return
    number = st.selectbox(
        "Run", list(reversed(by_number)), key="sal_run", format_func=lambda n: by_number[n].label
    )  # fmt: skip
    run = by_number.get(number) or list(by_number.values())[-1]
    problem = masks_problem(run.config)
    if problem:
        st.info(
            f"Nothing to score here: {problem}. Saliency needs to know where each object is, which only the "
            "generator does; the maps themselves are on **Predict**.",
            icon=":material/info:",
        )
        return
    try:
        result = cached_scores(run.id, run)
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        return
    st.caption(
        f"Over the run's first {result['images']} test images, maps by **{result['method']}**; per tag only "
        "the images where it is present. **Pointing game**: share of images whose map peak falls inside the "
        "tag's true mask (Zhang et al., 2016). **Mass inside**: mean share of the map inside it. The **random "
        "map** baseline (uniform noise, seeded) scores about the mask's share of the image: chance."
    )
    above, scored = saliency_scores.above_chance(result["rows"])
    if scored:
        st.markdown(
            f"**{len(above)} of {len(scored)} tags** point at their object at least "
            f"{saliency_scores.ABOVE_CHANCE:.0f}× as often as a random map"
            + (f": {', '.join(above)}." if above else ".")
        )
    st.dataframe(scores_frame(result["rows"]), hide_index=True, width="stretch", column_config=NUMBERS)
    if note := saliency_scores.lift_note(result["rows"]):
        st.caption(note)
    same = [r for r in by_number.values() if masks_problem(r.config) is None and not incomparable_reason([run, r])]
    st.subheader("Across runs of the same data")
    picked = st.multiselect(
        "Runs",
        [r.number for r in same],
        default=[r.number for r in same][-MAX_COMPARED:],
        max_selections=MAX_COMPARED,
        key="sal_compare",
        format_func=lambda n: by_number[n].label,
        help="Does a loss (focal, ASL, weighting) change where the model looks? Same tags, same kind of test images.",
    )
    results = {by_number[n].label: cached_scores(by_number[n].id, by_number[n]) for n in picked}
    long_rows = saliency_scores.comparison_rows(results)
    if not long_rows:
        st.caption("Pick runs to compare.")
        return
    st.altair_chart(pointing_chart(long_rows), width="stretch")
    st.caption("Bars: each run's pointing game per tag. Black ticks: the random map's (chance).")
    frame = scores_frame(long_rows, ("run", *COLUMNS))
    st.dataframe(frame, hide_index=True, width="stretch", column_config=NUMBERS)
    if note := saliency_scores.lift_note(long_rows):
        st.caption(note)


# ---------------------------------------------------------------- Predict: heat maps
#: Heat maps are shown at least this many pixels wide (a 64 px image 4× larger: readable).
MIN_SHOWN_PX = 256


@st.cache_data(max_entries=512, show_spinner="Computing where each tag looks …")
def cached_maps(run_id: str, item_key: str, _run: Run, _pixels: np.ndarray) -> np.ndarray:
    """Every tag's map (C, H, W) of one image for one run, once per (run id, image key): thresholds never
    recompute it."""
    return saliency.saliency(_run.model, _pixels[None])[0]


@st.cache_data(max_entries=4, show_spinner="Regenerating the test images' object masks …")
def cached_test_masks(config_json: str) -> np.ndarray:
    """The run's test split's object masks (N, C, S, S), made once per config."""
    return split_masks(run_config.RunConfig.from_json(config_json), "test")[2]


@st.cache_data(max_entries=8, show_spinner="Regenerating the new images' object masks …")
def cached_fresh_masks(config_json: str, seed: int) -> np.ndarray:
    """The masks (N, C, S, S) of :func:`mlc.predict_scenes.fresh_split` for a config and seed."""
    return predict_scenes.fresh_split(run_config.RunConfig.from_json(config_json), seed)[2]


def truth_outline(run: Run, item) -> np.ndarray | None:
    """(C, S, S) masks of a test or new image of a generated data set, else None (uploads, own images)."""
    fresh = predict_scenes.fresh_index(item.source, item.key)
    if fresh is not None:
        masks = cached_fresh_masks(run.config.to_json(), fresh[0])
        return masks[fresh[1]] if fresh[1] < len(masks) else None
    index = saliency_scores.split_index(item.source, item.key)
    if index is None or masks_problem(run.config) is not None:
        return None
    masks = cached_test_masks(run.config.to_json())
    return masks[index] if index < len(masks) else None


def heat_maps(run: Run, items: Sequence, probs: np.ndarray, rule) -> None:
    """Predict's "Where each tag looks": the focused image's heat map per tag (the predicted tags by default,
    any on demand), the true object's outline for the run's test images."""
    classes = list(run.config.classes)
    names = inference.item_labels(items)
    chosen = st.session_state.get("focus_name")
    focus = names.index(chosen) if chosen in names else 0
    item = items[focus]
    predicted, _ = decisions.tags_by_decision(probs[focus : focus + 1], classes, rule)[0]
    st.subheader("Where each tag looks", anchor=False)
    tags = st.multiselect(
        "Heat maps for", classes, default=list(predicted), key=f"heat_tags:{run.id}:{item.key}:{','.join(predicted)}"
    )
    if not tags:
        st.caption("No tag picked (none is predicted): pick any tag to see where the model looks for it.")
        return
    try:
        maps = cached_maps(run.id, item.key, run, item.pixels)
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        return
    outline = truth_outline(run, item)
    size = item.pixels.shape[0]
    scale = max(1, -(-MIN_SHOWN_PX // size))
    columns = st.columns(min(len(tags), 4))
    for k, tag in enumerate(tags):
        t = classes.index(tag)
        edge = None if outline is None else outline[t]
        pic = saliency.overlay(item.pixels, maps[t], edge, scale=scale)
        columns[k % len(columns)].image(pic, caption=f"{tag} · {probs[focus, t]:.2f}", width=size * scale)
    method = saliency_scores.method_for(run.model)
    st.caption(
        f"Bright = where the tag's evidence is ({method}; each map scaled to its own maximum). "
        + (
            "Cyan: the object's true outline."
            if outline is not None
            else "No outline: only the test and new images of a generated data set have one."
        )
    )
