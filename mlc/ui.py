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
import threading
import time

import numpy as np
import streamlit as st

from mlc import inference, loss_params, speed, visitors
from mlc.hosting import HostSettings, read_settings
from mlc.inference import Item
from mlc.jobs import JobSnapshot, SessionJobs, TrainingSlots, freeze_startup_objects
from mlc.loss_params import TAG_TABLE_PARAMS
from mlc.rerun_clock import CLOCK, RerunClock
from mlc.states import JobState
from mlc.ui_scenes import (  # noqa: F401 (re-exported: they lived here)
    MAX_STRIP,
    NO_TAGS,
    PER_ROW,
    UPSCALE,
    caption,
    sample_strip,
    show_scenes,
    tags_of,
    upscale,
)
from mlc.visitors import SessionTab, Visitors, VisitorTab

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
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest (a mocked Runtime) resets the flag before every run and drives pages
    # itself; the legacy mode only matters under a real server
    if _real_server() and PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _real_server() -> bool:
    """True under ``streamlit run`` (AppTest mocks the Runtime and drives pages itself)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


# ---------------------------------------------------------------- the page run: timed; TensorFlow warmed up
#: Seconds the warm-up waits after the first page run before importing TensorFlow: that page's
#: images go out first (the import holds the interpreter's lock for seconds on end).
WARMUP_DELAY = 1.0
#: Seconds of matmul the warm-up spends measuring this server's compute speed (for :mod:`mlc.speed`).
GFLOPS_PROBE_SECONDS = 0.3


def warm_up_tensorflow(delay: float = WARMUP_DELAY) -> None:
    """Import TensorFlow, Keras and what the Train, Predict and Learn pages use, start the TensorFlow
    runtime and run a tiny model once, then freeze the imported objects (:func:`freeze_startup_objects`).

    The home page imports none of this (it shows in well under a second on a cold server);
    a server runs this once in the background after its first page (:func:`run_page`), so a
    visitor who moves on to Train finds TensorFlow loaded. Never raises: a page that needs
    TensorFlow imports it itself, and says what went wrong.
    """
    time.sleep(delay)
    try:
        import mlc.ui_learn  # noqa: F401 (imported to warm up: export, pitfalls, losses, charts)
        import mlc.ui_predict  # noqa: F401
        import mlc.ui_train  # noqa: F401 (devices, losses, models, train_form)
        from mlc import devices, evaluation, models, training  # noqa: F401

        devices.list_devices()  # starts the TensorFlow runtime
        model = models.build("linear", 2, image_size=16)
        model(np.zeros((1, 16, 16, 3), np.float32))  # the first eager call loads kernels
        training.predict_probabilities(model, np.zeros((1, 16, 16, 3), np.float32))
        # this server's compute speed: time estimates scale with it until a run has finished here
        speed.record_gflops(devices.matmul_gflops(seconds=GFLOPS_PROBE_SECONDS))
    except Exception:  # noqa: S110 (best effort: the page that needs it will import and report)
        pass
    freeze_startup_objects()


@st.cache_resource(show_spinner=False)
def _tensorflow_warmup() -> threading.Thread:
    """The server's one warm-up thread (:func:`warm_up_tensorflow`), started on first call."""
    thread = threading.Thread(target=warm_up_tensorflow, name="mlc-tensorflow-warmup", daemon=True)
    thread.start()
    return thread


def run_page(page, clock: RerunClock = CLOCK) -> None:
    """Run the page ``st.navigation`` chose, timed by ``clock`` (:mod:`mlc.rerun_clock`), then make sure
    the server's TensorFlow warm-up has started (under a real server only, not under AppTest).

    The entry point's only call: ``run_page(st.navigation(PAGES))``.
    """
    try:
        with clock.timing(page.url_path or "home"):
            page.run()
    finally:
        if _real_server():
            _tensorflow_warmup()


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
    return [f"Server setting ignored: {line}." for line in [*_read_host_settings()[1], *_TRAINER_PROBLEMS]]


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

    return make_trainer(host_settings(), _TRAINER_PROBLEMS)


_TRAINER_PROBLEMS: list[str] = []


def new_session_jobs() -> SessionJobs:
    """A fresh job-and-runs holder for one visitor (the one place a SessionJobs is made for the pages).

    With a run directory, it starts with the runs saved there (newest kept). A cluster
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


@st.cache_resource(show_spinner=False)
def visitor_registry() -> Visitors:
    """Every visitor's jobs by visitor key, server-wide; released ``MLC_VISITOR_GRACE_SECONDS`` after their last tab."""
    host = host_settings()
    return Visitors(
        new_session_jobs, grace_seconds=host.visitor_grace_seconds, job_grace_seconds=host.job_grace_seconds
    )


#: Session-state slot of this session's visitor key (server side; the browser holds it in a cookie).
VISITOR_KEY_STATE = "_mlc_visitor_key"


def visitor_key() -> str | None:
    """This session's visitor key: kept from earlier in the session, else the browser's cookie, else a new one.

    A new key (or one the cookie did not carry) is written to the browser's cookie
    by a hidden script on the page, so a reload or a second tab finds the same runs.
    None without a real browser server (AppTest): the session keeps its own runs.
    """
    from streamlit.runtime import Runtime

    if not (Runtime.exists() and type(Runtime.instance()) is Runtime):
        return None
    state = st.session_state
    key = visitors.valid_key(state.get(VISITOR_KEY_STATE)) or visitors.key_from(st.context.cookies)
    key = state[VISITOR_KEY_STATE] = key or visitors.new_key()
    if visitors.key_from(st.context.cookies) != key:  # this connection did not bring it: store it
        st.html(_HIDE_COOKIE_SCRIPT + visitors.cookie_script(key), unsafe_allow_javascript=True)
    return key


#: The cookie script's element takes no room on the page (hidden elements leave no gap).
_HIDE_COOKIE_SCRIPT = (
    f'<style>[data-testid="stElementContainer"]:has(script[{visitors.SCRIPT_MARK}]) {{display: none}}</style>'
)


@st.cache_resource(scope="session", on_release=lambda tab: tab.leave(), show_spinner=False)
def _session_tab(key: str | None) -> VisitorTab | SessionTab:
    if key is None:
        return SessionTab(new_session_jobs())
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return VisitorTab(visitor_registry(), key, get_script_run_ctx().session_id)


def session_jobs() -> SessionJobs:
    """This visitor's job and runs, shared by their tabs and kept across a reload.

    A session that ends (tab closed or reloaded) only detaches: the runs and a
    running job are released ``MLC_VISITOR_GRACE_SECONDS`` after the visitor's last
    tab closed (:mod:`mlc.visitors`). Without a browser (AppTest) they are the
    session's own and released when it ends.
    """
    return _session_tab(visitor_key()).jobs


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
    specs = loss_params.params(loss)
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
    for name, spec in loss_params.params(loss).items():
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
    from mlc import devices  # imports TensorFlow; a job exists only once training has begun

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
