"""The Train page's data set: the picker, the upload of your own images, and the summary of the data.

Streamlit glue. What a pick means for the config is :func:`mlc.train_form.config_for_dataset`;
reading a zip is :func:`mlc.imagesets.read_image_set`; the numbers of the summary are
:func:`mlc.data_summary.summarise`. A visitor's own images live in their session only
(``st.session_state[OWN_IMAGES]``) and go with it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mlc import charts, data_summary, datasets, train_form
from mlc.checks import first_line
from mlc.config import RunConfig
from mlc.hosting import HostSettings
from mlc.ui_marshal import chart_with_data
from mlc.ui_scenes import show_scenes, upscale
from mlc.ui_train import DEFAULTS, show_config

#: Widget key of the data-set picker, and the session key of the visitor's own images (an ImageSet).
DATASET_KEY = "dataset"
OWN_IMAGES = "own_images"
#: Session key: problems of the last upload (lines), and the id of the upload they belong to.
_UPLOAD_PROBLEMS, _UPLOAD_ID = "_own_problems", "_own_upload_id"


def dataset_section(host: HostSettings) -> tuple[str, Any, list[str]]:
    """The picker (and, for own images, the upload): ``(dataset, image set or None, problems that block)``."""
    state = st.session_state
    state.setdefault(DATASET_KEY, DEFAULTS.dataset)
    with st.container(border=True):
        st.subheader("Data set", anchor=False)
        choice = st.radio(
            "Data set",
            train_form.dataset_choices(),
            key=DATASET_KEY,
            format_func=lambda name: datasets.DATASETS[name].title,
            horizontal=True,
            label_visibility="collapsed",
            on_change=_switched,
        )
        st.caption(datasets.DATASETS[choice].summary)
        if choice != "own":
            return choice, None, []
        upload = st.file_uploader(
            "A .zip of your labelled images",
            type=["zip"],
            key="own_zip",
            max_upload_size=host.max_dataset_mb,
            help=(
                "labels.csv (image path, then a `tags` column or one 0/1 column per tag, optional `split`) or one "
                f"folder per tag (`_none/` for no tag). This server takes up to {host.max_dataset_mb:,} MB and "
                f"{host.max_dataset_images:,} images."
            ),
        )
        if upload is not None and state.get(_UPLOAD_ID) != upload.file_id:
            _read(upload, host)
        image_set = state.get(OWN_IMAGES)
        for line in state.get(_UPLOAD_PROBLEMS, []):
            st.warning(line, icon=":material/warning:")
        if image_set is None:
            return choice, None, ["upload a .zip of your labelled images to train on them"]
        ignored = f", {image_set.ignored:,} other files ignored" if image_set.ignored else ""
        st.caption(
            f":material/folder_zip: **{image_set.name}**: {len(image_set.paths):,} images, "
            f"{len(image_set.tags)} tags{ignored}"
        )
        return choice, image_set, []


def _switched() -> None:
    """A new pick: the form shows that data set's tags (its own images' once they are uploaded)."""
    state = st.session_state
    current = state.get("train_config") or DEFAULTS
    try:
        config = train_form.config_for_dataset(state[DATASET_KEY], current, state.get(OWN_IMAGES))
    except ValueError:  # own images not uploaded yet: the tags follow the upload
        return
    show_config(config, keep_dataset=True)


def _read(upload, host: HostSettings) -> None:
    """Read an uploaded zip into the session (replacing the last one), its problems listed, never a traceback."""
    from mlc import imagesets

    state = st.session_state
    state[_UPLOAD_ID] = upload.file_id
    try:
        with st.spinner(f"Reading {upload.name} ..."):
            image_set = imagesets.read_image_set(
                upload.getvalue(),
                name=upload.name,
                image_size=state.get("image_size", DEFAULTS.image_size),
                max_mb=host.max_dataset_mb,
                max_images=host.max_dataset_images,
            )
    except ValueError as exc:  # an unusable archive (ImageSetError carries its problems)
        problems = getattr(exc, "problems", None)
        state[_UPLOAD_PROBLEMS] = [f"{upload.name} cannot be used: {first_line(exc, 300, with_type=False)}"]
        if problems:
            state[_UPLOAD_PROBLEMS] += imagesets.problem_lines(problems)
        return
    state[OWN_IMAGES] = image_set
    state[_UPLOAD_PROBLEMS] = imagesets.problem_lines(image_set.problems)
    current = state.get("train_config") or DEFAULTS
    show_config(train_form.config_for_dataset("own", current, image_set), keep_dataset=True)


@st.cache_data(max_entries=32, show_spinner=False)
def _generated_summary(data_json: str) -> data_summary.DataSummary:
    # shared by every visitor: a generated set's numbers depend on the config's data fields but the seed
    return data_summary.summarise(RunConfig.from_json(data_json))


@st.cache_data(max_entries=128, show_spinner=False)
def _generated_grid(data_json: str) -> tuple:
    return data_summary.sample_grid(RunConfig.from_json(data_json))


def _summary(config: RunConfig, image_set: Any) -> data_summary.DataSummary:
    if datasets.DATASETS[config.dataset].builtin:
        summary = _generated_summary(data_summary.statistics_key(config))
        return data_summary.with_grid(summary, *_generated_grid(data_summary.data_key(config)))
    key = ("_own_summary", image_set.fingerprint, config.classes, config.image_size)
    cached = st.session_state.get("_own_summary")
    if cached is None or cached[0] != key:
        cached = (key, data_summary.summarise(config, image_set))
        st.session_state["_own_summary"] = cached
    return cached[1]


def summary_section(config: RunConfig, image_set: Any = None) -> None:
    """What the model will learn from: images per split, each tag's prevalence and positives per split,
    samples with their tags, how tags occur together, and the warnings."""
    try:
        summary = _summary(config, image_set)
    except ValueError as exc:
        st.error(f"The data cannot be summarised: {first_line(exc, 300, with_type=False)}", icon=":material/error:")
        return
    with st.expander(f"The data: {summary.title.lower()}", expanded=True):
        words = {"train": "training", "val": "validation", "test": "test"}
        st.markdown(" · ".join(f"**{n:,}** {words[name]}" for name, n in summary.sizes.items()) + " images")
        how = (
            f"measured on {data_summary.SAMPLE} generated images made with these settings (the same for every "
            "seed) and scaled to the split sizes; each run makes its images fresh"
            if summary.estimated
            else "counted over your images"
        )
        st.caption(f"Positives per tag and split, {how}. Test images are held out: Evaluate scores on them.")
        st.dataframe(
            pd.DataFrame(summary.rows),
            hide_index=True,
            width="stretch",
            column_config={"prevalence": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1)},
        )
        for line in summary.warnings:
            st.warning(line, icon=":material/warning:")
        if len(summary.images):
            show_scenes(upscale(summary.images, max(1, 192 // summary.images.shape[1])), summary.image_tags)
        if len(summary.rows) > 1:
            st.caption(
                "How tags occur together: of the images with the row's tag, the share that also have the column's."
            )
            # a template per tag list (mlc.ui_marshal): another table of the same tags only re-serialises its rows
            shares = pd.DataFrame(data_summary.co_occurrence_rows(summary))
            tags = charts.co_occurrence_tags(shares)
            spec = chart_with_data(charts.co_occurrence_chart_of, shares, tags=tags, size=300)
            st.vega_lite_chart(spec=spec, width="content")
