"""The Learn page's "Shortcut exercise" tab: train the shortcut scenario in one click, then read it.

The runs go through the session's job queue (:class:`mlc.jobs.SessionJobs`, as the
Train page's), so they also appear on Runs and Evaluate; the numbers come from
:mod:`mlc.shortcut`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mlc import shortcut, speed, train_form
from mlc.config import shortcut_text
from mlc.jobs import SessionJobs
from mlc.runs import Run
from mlc.states import JobState
from mlc.ui import job_progress, upscale

_REQUEST = "shortcut_requested"
_CACHE = "shortcut_lessons"
EXPLANATION = (
    "A multi-label model can say **house** because it sees a house — or because, in its training data, houses "
    "nearly always stood next to a tree. Here the training split puts a tree next to "
    f"{shortcut.LESSON.cooccur_train:.0%} of the houses, while validation and test break the link "
    f"({shortcut.LESSON.cooccur_test:.0%}). If the model took the shortcut, it finds houses *without* a tree "
    "less often, and part of its house saliency (Grad-CAM) lies on the tree. The control run trains on the "
    "same scenes without the planted link (there a tree hides part of a house now and then, so houses with a "
    "tree are slightly *harder*)."
)


def shortcut_tab(jobs: SessionJobs) -> None:
    """Explanation, the one-click buttons, the job's progress, then the lesson of the latest runs."""
    st.markdown(EXPLANATION)
    state = st.session_state
    request = state.pop(_REQUEST, None)
    if request is not None:
        try:
            configs = [shortcut.LESSON] if request == "lesson" else [shortcut.LESSON, shortcut.CONTROL]
            jobs.start_series(configs)
        except (RuntimeError, ValueError) as exc:
            st.error(f"Cannot start training: {exc}", icon=":material/error:")
    active = jobs.job is not None and jobs.job.alive
    estimate = speed.estimate_text(shortcut.LESSON)
    buttons = (  # (label, key, request, icon, primary, help)
        ("Train the shortcut run", "shortcut_train", "lesson", "play_arrow", True,
         f"`--shortcut {shortcut_text(shortcut.LESSON)}`, {shortcut.LESSON.train_size:,} training scenes, "
         f"{shortcut.LESSON.epochs} epochs" + (f": {estimate}." if estimate else ".")),
        ("… and a control run without the shortcut", "shortcut_train_both", "both", "compare", False,
         "The same run on scenes where house and tree are not linked, trained right after."),
    )  # fmt: skip
    for column, (label, key, value, icon, primary, tip) in zip(st.columns(len(buttons)), buttons):
        column.button(
            label,
            type="primary" if primary else "secondary",
            icon=f":material/{icon}:",
            disabled=active,
            width="stretch",
            key=key,
            on_click=state.__setitem__,
            args=(_REQUEST, value),
            help=tip,
        )
    with st.container():
        polled = jobs.job.snapshot().state if active else None
        st.fragment(run_every=train_form.poll_seconds(active, polled))(_progress)(jobs)
    with st.container():
        _results(jobs)


def _progress(jobs: SessionJobs) -> None:
    """The current job while it trains; a finished one is collected into the session's runs."""
    job = jobs.job
    if job is None:
        return
    snap = job.snapshot()
    if snap.active:
        if snap.config in (shortcut.LESSON, shortcut.CONTROL):
            which = "shortcut run" if snap.config.cooccur_tag else "control run"
            st.caption(f"Training the {which} …")
        job_progress(snap)
        return
    if JobState(snap.state) is JobState.FAILED:
        st.error(snap.message or "training failed", icon=":material/error:")
    if jobs.collect() is not None or jobs.job is not job:
        st.rerun()  # show the new run (or follow the series' next one)


def _latest(jobs: SessionJobs, config) -> Run | None:
    found = [run for run in jobs.runs if run.config == config and run.test_probabilities is not None]
    return found[-1] if found else None


def _lesson_and_pictures(run: Run) -> tuple[shortcut.Lesson, list[dict]]:
    """:func:`mlc.shortcut.lesson` and its pictures once per run (Grad-CAM over a few hundred test scenes)."""
    cache = st.session_state.setdefault(_CACHE, {})
    if run.id not in cache:
        while len(cache) >= 4:  # the last few runs' lessons only
            cache.pop(next(iter(cache)))
        cache[run.id] = (shortcut.lesson(run), shortcut.examples(run))
    return cache[run.id]


def _results(jobs: SessionJobs) -> None:
    lesson_run, control_run = _latest(jobs, shortcut.LESSON), _latest(jobs, shortcut.CONTROL)
    if lesson_run is None:
        st.info(
            "Press **Train the shortcut run**; its results appear here once it has trained.", icon=":material/school:"
        )
        return
    shown = [("Shortcut run", lesson_run)] + ([("Control run", control_run)] if control_run is not None else [])
    for title, run in shown:
        with st.spinner(f"Reading the {title.lower()} (Grad-CAM on the test scenes) …"):
            try:
                lesson, pictures = _lesson_and_pictures(run)
            except ValueError as exc:
                st.error(f"Cannot read {run.label}: {exc}", icon=":material/error:")
                continue
        st.subheader(f"{title} ({run.label})", anchor=False)
        st.markdown(f"**{lesson.sentence[0].upper() + lesson.sentence[1:]}.**")
        by = {r["partner"]: r for r in lesson.recall}
        mass = {r["region"]: r["mass"] for r in lesson.saliency}
        cols = st.columns(4)
        cols[0].metric(f"{lesson.tag} recall, no {lesson.partner}", f"{by['without']['recall']:.2f}")
        cols[1].metric(
            f"{lesson.tag} recall, with {lesson.partner}",
            f"{by['with']['recall']:.2f}",
            delta=f"{lesson.gap:+.2f}",
            delta_color="off",
        )
        cols[2].metric(f"saliency on the {lesson.partner}", f"{mass['partner']:.0%}")
        cols[3].metric(f"saliency on the {lesson.tag}", f"{mass['own']:.0%}")
        st.dataframe(pd.DataFrame(lesson.recall), hide_index=True, width="stretch")
        st.caption(
            f"Test scenes with a {lesson.tag}, at threshold 0.5. The pictures: {lesson.tag}'s Grad-CAM map "
            f"(red-yellow), the {lesson.partner} outlined in cyan, the {lesson.tag} in white."
        )
        for col, item in zip(st.columns(len(pictures)), pictures):
            image = upscale(np.rint(item["image"] * 255).astype("uint8"), 4)
            where = f"with a {lesson.partner}" if item["with_partner"] else f"no {lesson.partner}"
            col.image(image, caption=f"{where} · p({lesson.tag}) = {item['probability']:.2f}", width="stretch")
