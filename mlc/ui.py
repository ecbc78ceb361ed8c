"""Streamlit helpers shared by the pages: cached sample scenes and how to draw them.

With the page sections in ``mlc/ui_train.py``, ``mlc/ui_predict.py`` and
``mlc/ui_learn.py`` (and ``mlc/ui_marshal.py`` for the benchmark), these are the
only modules of :mod:`mlc` that import Streamlit (``tests/test_layering.py``
checks it); everything that is not about showing things in Streamlit lives in the
other modules, so the library stays usable (and testable) without a server.

>>> tags_of([1.0, 0.0, 0.7], ["dog", "cat", "sky"])
['dog', 'sky']
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import streamlit as st

from mlc import devices, inference, losses
from mlc.data import make_dataset, resolve_classes
from mlc.hosting import HostSettings, read_settings
from mlc.inference import Item
from mlc.jobs import JobSnapshot, SessionJobs, TrainingSlots, freeze_startup_objects
from mlc.loss_params import TAG_TABLE_PARAMS
from mlc.states import JobState

#: Scenes are 64x64; drawn at this factor so each pixel stays a crisp square
#: (the browser would blur a small image it has to stretch).
UPSCALE = 3
#: Scenes per row of a strip: a fixed grid, so no lone scene wraps onto a row of its own.
PER_ROW = 5
#: Most scenes one strip may hold: bounds the work a visitor can ask for.
MAX_STRIP = 48
#: Caption of a scene without any tag (it happens: tags are drawn independently).
NO_TAGS = "(no tags)"


def tags_of(y_row: Sequence[float], classes: Sequence[str], threshold: float = 0.5) -> list[str]:
    """Names of the tags whose target (or probability) reaches ``threshold``.

    >>> tags_of([0.5, 0.49], ["tree", "sky"])
    ['tree']
    """
    return [name for name, value in zip(classes, y_row) if value >= threshold]


def caption(tags: Sequence[str]) -> str:
    """One scene's caption: its tags joined with a dot, or :data:`NO_TAGS`.

    >>> caption(["dog", "sky"]), caption([])
    ('dog · sky', '(no tags)')
    """
    return " · ".join(tags) if tags else NO_TAGS


def upscale(image: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    """Nearest-neighbour enlargement of (..., H, W, C) images by an integer ``factor``.

    >>> upscale(np.arange(4).reshape(2, 2, 1), 2)[..., 0].tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    """
    return image.repeat(factor, axis=-3).repeat(factor, axis=-2)


# Global cache, shared by every visitor: the arrays are returned as copies by
# st.cache_data, and everyone starts on seed 0, so the first strip is computed once
# per server. max_entries bounds memory when many visitors click "new samples".
@st.cache_data(max_entries=64, show_spinner=False)
def sample_strip(
    n: int = 10,
    seed: int = 0,
    classes: tuple[str, ...] | None = None,
    prevalence: tuple[float, ...] | None = None,
    soft_labels: bool = False,
) -> tuple[np.ndarray, list[list[str]]]:
    """``n`` generated scenes as uint8 RGB, upscaled for display, with their true tags.

    By default hard (multi-hot) labels at the default prevalence, so the strip
    shows what a training batch looks like; with ``soft_labels`` each tag is
    captioned with its strength, e.g. ``sky 0.62``.
    """
    if not 1 <= n <= MAX_STRIP:
        raise ValueError(f"a strip holds 1 to {MAX_STRIP} scenes, got {n}")
    names = resolve_classes(classes)
    x, y = make_dataset(n, classes=names, prevalence=prevalence, soft_labels=soft_labels, seed=seed)
    images = upscale(np.round(x * 255.0).astype(np.uint8))
    if soft_labels:
        return images, [[f"{c} {v:.2f}" for c, v in zip(names, row) if v > 0] for row in y]
    return images, [tags_of(row, names) for row in y]


# Imported once per server process, after TensorFlow, Keras and Streamlit: keep their
# objects out of the collections Streamlit runs after every script run (see jobs).
freeze_startup_objects()


# ---------------------------------------------------------------- navigation
def ensure_app_navigation() -> None:
    """Make sure a page runs through ``streamlit_app.py``'s ``st.navigation`` (call it first in each page).

    Streamlit still auto-discovers a ``pages/`` folder (its first multipage
    API) until some script calls ``st.navigation``. Right after a server start,
    a first visitor could get that legacy mode: a page run on its own, without
    the app's page config and navigation, and the mode would stick for everyone
    who opens a page link. Switching it off and rerunning hands the request to
    the entry point, which then shows the intended page.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest (a mocked Runtime) resets the flag before every run and drives pages
    # itself; the legacy mode only matters under a real server
    real_server = Runtime.exists() and type(Runtime.instance()) is Runtime
    if real_server and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---------------------------------------------------------------- training sessions
@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """The server-wide limit on concurrent trainings (thread-safe, shared by every visitor).

    Its size is the host settings' ``max_concurrent_trainings`` (``MLC_MAX_CONCURRENT_TRAININGS``).
    """
    return TrainingSlots(host_settings().max_concurrent_trainings)


@st.cache_resource(show_spinner=False)
def _read_host_settings() -> tuple[HostSettings, list[str]]:
    secrets: dict = {}
    try:
        secrets = dict(st.secrets.get("mlc", {}))
    except Exception:  # no secrets.toml (the usual local case), or an unreadable one
        secrets = {}
    return read_settings(os.environ, secrets)


def host_settings() -> HostSettings:
    """This server's limits and modes (:mod:`mlc.hosting`), read once from the environment and secrets.

    A setting that cannot be used keeps its default (see :func:`host_settings_problems`); never raises.
    """
    return _read_host_settings()[0]


def host_settings_problems() -> list[str]:
    """One line per server setting that could not be used (shown to the operator on the Train page)."""
    return [f"Server setting ignored: {line}." for line in _read_host_settings()[1]]


def host_settings_problem() -> str | None:
    """Every :func:`host_settings_problems` line, one paragraph each, or None when all settings apply."""
    return "\n\n".join(host_settings_problems()) or None


def reread_host_settings() -> None:
    """Read the environment and secrets again on next use (after an operator changed them; tests)."""
    _read_host_settings.clear()


@st.cache_resource(show_spinner=False)
def run_store():
    """The optional run directory (``MLC_RUN_DIR``; TensorBoard logs with ``MLC_TENSORBOARD=1``), or None."""
    from mlc.runfiles import RunStore

    host = host_settings()
    if not host.run_dir:
        return None
    try:
        return RunStore(host.run_dir, tensorboard=host.tensorboard)
    except (OSError, ValueError) as exc:  # an unusable directory must not take the app down
        _RUN_STORE_PROBLEMS.append(f"Run directory {host.run_dir!r} not used: {exc}")
        return None


_RUN_STORE_PROBLEMS: list[str] = []


def run_store_problem() -> str | None:
    """Why the configured run directory is not used, or None."""
    return _RUN_STORE_PROBLEMS[-1] if _RUN_STORE_PROBLEMS else None


@st.cache_resource(show_spinner=False)
def server_trainer():
    """Where this server's trainings run (:func:`mlc.trainers.make_trainer`), made once for every visitor.

    By default a pool of warm worker processes (``MLC_TRAINER``, ``MLC_WORKER_RUNS``); None trains in
    this process. Made at the first visitor's first page, so its workers import TensorFlow before Train.
    """
    from mlc.trainers import make_trainer

    return make_trainer(host_settings())


@st.cache_resource(scope="session", on_release=lambda jobs: jobs.close(), show_spinner=False)
def session_jobs() -> SessionJobs:
    """This visitor's job and runs; released (job stopped, models dropped) when they leave.

    With a run directory, the session starts with the runs saved there (newest kept). A cluster
    keeps its own waiting line, so its jobs skip the server's slots.
    """
    host = host_settings()
    trainer = server_trainer()
    slots = None if getattr(trainer, "reports_queue", False) else training_slots()
    jobs = SessionJobs(slots, settings=host, store=run_store(), trainer=trainer)
    if jobs.store is not None:
        saved, problems = jobs.store.load_all(limit=host.max_runs)
        for run in saved:
            jobs.add(run)
        jobs.load_problems = problems
    return jobs


#: Session-state keys of the loss-parameter inputs start with this.
LOSS_PARAM_PREFIX = "loss_param"


def loss_param_key(loss: str, name: str, key_prefix: str = LOSS_PARAM_PREFIX) -> str:
    """The widget key of parameter ``name`` of ``loss`` (``<key>_on`` is an optional one's switch).

    >>> loss_param_key("focal", "gamma")
    'loss_param_focal_gamma'
    """
    return f"{key_prefix}_{loss}_{name}"


def loss_param_state(loss: str, params: dict, key_prefix: str = LOSS_PARAM_PREFIX) -> dict:
    """Session-state values that make :func:`loss_param_inputs` show ``params`` (None = an optional one off).

    >>> loss_param_state("focal", {"gamma": 1.0, "alpha": None})
    {'loss_param_focal_gamma': 1.0, 'loss_param_focal_alpha_on': False}
    """
    specs = losses.params(loss)
    state = {}
    for name, value in params.items():
        key = loss_param_key(loss, name, key_prefix)
        if specs[name].optional:
            state[f"{key}_on"] = value is not None
        if value is not None:
            state[key] = value
    return state


def loss_param_inputs(loss: str, key_prefix: str = LOSS_PARAM_PREFIX) -> dict:
    """Widgets for a loss's parameters, built from their declarations (not the tag-table ones).

    Returns ``{param: value}`` for :class:`~mlc.config.RunConfig` ``loss_params``.
    """
    values = {}
    for name, spec in losses.params(loss).items():
        if name in TAG_TABLE_PARAMS:
            continue  # edited in the tags table
        key = loss_param_key(loss, name, key_prefix)
        if spec.kind == "choice":
            st.session_state.setdefault(key, spec.default)
            values[name] = st.selectbox(name, spec.choices, key=key, help=spec.help)
            continue
        bounds = spec.number_input()
        if spec.optional:
            st.session_state.setdefault(f"{key}_on", spec.default is not None)
            if not st.checkbox(f"use {name}", key=f"{key}_on", help=spec.help):
                values[name] = None
                continue
        # the value lives in session state (a share link or a return visit may have set it)
        st.session_state.setdefault(key, bounds.start)
        values[name] = st.number_input(
            name, min_value=bounds.low, max_value=bounds.high, step=bounds.step, key=key, help=spec.help
        )
    return values


def show_scenes(images: Sequence[np.ndarray], tags: Sequence[Sequence[str]], per_row: int = PER_ROW) -> None:
    """Draw scenes in a grid of ``per_row`` columns with their tags as captions.

    ``width="content"`` keeps the upscaled pixels 1:1 instead of letting the
    browser stretch (and blur) them; on a narrow screen the columns stack.
    """
    for start in range(0, len(images), per_row):
        columns = st.columns(per_row)
        for column, image, names in zip(columns, images[start : start + per_row], tags[start : start + per_row]):
            column.image(image, caption=caption(names), width="content")


def share_url(query: dict[str, str]) -> str:
    """The current page's address with ``query`` as its query string (what a visitor shares)."""
    from urllib.parse import urlencode, urlsplit, urlunsplit

    url = st.context.url or "http://localhost:8501/train"
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


# ---------------------------------------------------------------- prediction inputs
def uploaded_items(
    files, *, size: int, source: str = "upload", limit: int = inference.MAX_IMAGES
) -> tuple[list[Item], list[str]]:
    """Decode Streamlit ``UploadedFile`` objects once per upload (memoised in the session by file id).

    Returns ``(items, problems)`` as :func:`mlc.inference.load_uploads`; a
    threshold change reruns the page without decoding anything again.
    """
    slot = f"_decoded_{source}"
    memo: dict = st.session_state.get(slot, {})
    current: dict = {}
    items, problems = [], []
    for f in files[:limit]:
        key = (f.file_id, size)
        if key not in memo:
            got, why = inference.load_uploads([(f.name, f.getvalue())], size=size, source=source)
            memo[key] = (got[0] if got else None, why[0] if why else None)
        current[key] = item_or_problem = memo[key]
        if item_or_problem[0] is not None:
            items.append(item_or_problem[0])
        else:
            problems.append(item_or_problem[1])
    if len(files) > limit:
        problems.append(inference.over_limit(len(files) - limit, limit))
    st.session_state[slot] = current  # only the files still uploaded: removed ones free their memory
    return items, problems


@st.cache_data(max_entries=64, show_spinner=False)
def gallery(
    n: int,
    seed: int,
    classes: tuple[str, ...],
    prevalence: tuple[float, ...] | None,
    soft_labels: bool,
    containing: str | None,
    image_size: int,
) -> list[Item]:
    """Generated scenes with their true tags (:func:`mlc.inference.sample_items`), cached for every visitor."""
    return inference.sample_items(
        n,
        seed=seed,
        classes=classes,
        prevalence=prevalence,
        soft_labels=soft_labels,
        containing=containing,
        image_size=image_size,
    )


def job_progress(snap: JobSnapshot) -> None:
    """A job's state in one element: its place in line, data generation, or a progress bar
    with device, epoch/batch, the latest loss and the time left. Nothing once it has ended."""
    cfg, p = snap.config, snap.progress
    state = JobState(snap.state)
    if state.in_line:
        where = f" — number {snap.queue_position} in line" if snap.queue_position else ""
        st.info(
            f"Waiting for a free training slot{where}. It starts by itself; **Stop** on the Train page "
            "leaves the line.",
            icon=":material/hourglass_top:",
        )
    elif state is JobState.RUNNING:
        if p is None or p.phase == "data":
            st.progress(0.0, text=f"Generating {cfg.train_size + cfg.val_size} scenes …")
        else:
            eta = "" if p.eta is None else f" · about {p.eta:.0f} s left"
            loss = "" if p.loss is None else f" · loss {p.loss:.4f}"
            st.progress(
                p.fraction,
                text=f"Training {cfg.loss} · {cfg.model} on {devices.describe(cfg.device)} · "
                f"epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches}{loss}{eta}",
            )


def job_status(jobs: SessionJobs) -> bool:
    """This session's current training as :func:`job_progress`, or its failure message.

    Returns True while the job is active. Draws nothing when there is no job.
    """
    job = jobs.job
    if job is None:
        return False
    snap = job.snapshot()
    job_progress(snap)
    if JobState(snap.state) is JobState.FAILED:
        st.error(snap.message or "training failed", icon=":material/error:")
    return snap.active


@st.cache_data(max_entries=32, show_spinner=False)
def accuracy_table(run_id: str, _y_true: np.ndarray, _y_prob: np.ndarray):
    """:func:`mlc.evaluation.accuracy_lies` of one run, computed once per run id (it builds a Keras model)."""
    from mlc.evaluation import accuracy_lies

    return accuracy_lies(_y_true, _y_prob)


@st.cache_data(max_entries=32, show_spinner=False)
def layer_table(model_name: str, num_classes: int, image_size: int):
    """:func:`mlc.lessons.layer_table`, built once per (model, tags, size) for every visitor."""
    from mlc.lessons import layer_table as table

    return table(model_name, num_classes, image_size)


@st.cache_data(max_entries=16, show_spinner="Running it on the installed Keras …")
def pitfall_demo(name: str):
    """The live demo of one :data:`mlc.pitfalls.PITFALLS` entry, run once per server (results are deterministic)."""
    from mlc.pitfalls import PITFALLS

    return PITFALLS.lookup(name).run()
