"""Background training jobs for a long-lived server (the Train page).

A blocking ``fit`` in a Streamlit script freezes the page and dies on the next
click, so a run trains in a :class:`TrainingJob`: a worker thread with no
Streamlit calls, a stop ``Event`` checked after every batch, and a
:meth:`TrainingJob.snapshot` that a polling fragment reads.

:class:`TrainingSlots` is the server-wide limit on concurrent trainings (one
shared instance per server). A job that finds every slot taken waits in line
(state ``"waiting"``, with its place in the queue) until one frees up or it is
stopped. :class:`SessionJobs` holds one visitor's jobs and finished runs and
stops its jobs when the visitor leaves.

>>> slots = TrainingSlots(limit=1)
>>> slots.limit, slots.running, slots.waiting
(1, 0, 0)
"""

from __future__ import annotations

import collections
import functools
import gc
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlc import checks, hosting, states
from mlc.config import RunConfig
from mlc.hosting import HostSettings, check_config
from mlc.progress import Progress
from mlc.runs import Run

if TYPE_CHECKING:
    from mlc.runfiles import RunStore

#: Environment variable that sets the server-wide number of concurrent trainings (read by :mod:`mlc.hosting`).
LIMIT_ENV = hosting.ENV["max_concurrent_trainings"]
#: Default: two trainings share a small (2-core) host; more would only slow each one down.
DEFAULT_LIMIT = HostSettings.max_concurrent_trainings
#: Runs kept per session (oldest dropped first).
MAX_RUNS_PER_SESSION = 8
#: Every job state, in order (kept for older code; the type is :class:`mlc.states.JobState`).
JOB_STATES: tuple[states.JobState, ...] = tuple(states.JobState)


def freeze_startup_objects() -> int:
    """Exclude everything alive now (imported TensorFlow, Keras, Streamlit ...) from cyclic GC.

    Streamlit runs ``gc.collect(2)`` and ``keras.backend.clear_session()`` (another
    full collection) after every script run, fragment ticks included. With
    TensorFlow imported that is ~400k objects and ~0.2 s per collection with the
    GIL held, which stalls a training thread twice a second. Objects made at
    import time live as long as the process anyway; frozen, each collection takes
    well under a millisecond. Call once, after the heavy imports. Returns how many
    objects were frozen.
    """
    gc.freeze()
    return gc.get_freeze_count()


def limit_from_env(environ=os.environ) -> int:
    """The concurrent-training limit from ``MLC_MAX_CONCURRENT_TRAININGS`` (default 2), as :mod:`mlc.hosting` reads it.

    Raises ValueError for a value it cannot use (:func:`mlc.hosting.read_settings`
    reports it and keeps the default instead, which is what the app does).

    >>> limit_from_env({"MLC_MAX_CONCURRENT_TRAININGS": "3"})
    3
    >>> limit_from_env({})
    2
    """
    return hosting.settings_from({LIMIT_ENV: environ.get(LIMIT_ENV, "")}).max_concurrent_trainings


class TrainingSlots:
    """A fair (first come, first served) counting semaphore with a visible queue. Thread-safe."""

    def __init__(self, limit: int = DEFAULT_LIMIT):
        self.limit = checks.whole(limit, "limit", 1)
        self._cond = threading.Condition()
        self._holders: set[str] = set()
        self._queue: collections.deque[str] = collections.deque()

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._holders)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    def position(self, ticket: str) -> int | None:
        """1-based place of ``ticket`` in the waiting line, or None if it is not waiting."""
        with self._cond:
            try:
                return self._queue.index(ticket) + 1
            except ValueError:
                return None

    def acquire(self, ticket: str, stop: threading.Event, poll: float = 0.2) -> bool:
        """Wait for a slot; False if ``stop`` was set first (the ticket leaves the line)."""
        with self._cond:
            self._queue.append(ticket)
            try:
                while not (self._queue[0] == ticket and len(self._holders) < self.limit):
                    if stop.is_set():
                        return False
                    self._cond.wait(poll)
                self._holders.add(ticket)
                return True
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def release(self, ticket: str) -> None:
        with self._cond:
            self._holders.discard(ticket)
            self._cond.notify_all()


@dataclass(frozen=True)
class JobSnapshot:
    """What a page needs to draw one tick: copied under the job's lock, safe to read."""

    id: str
    state: states.JobState
    config: RunConfig
    progress: Progress | None
    batch_history: list[dict]  # {step, epoch, loss}
    epoch_history: list[dict]  # the engine's per-epoch rows
    queue_position: int | None
    run: Run | None
    message: str
    elapsed: float  # seconds since the job was started (waiting included)

    @property
    def active(self) -> bool:
        """Not ended yet: queued, waiting for a slot, or training."""
        return self.state.active

    @property
    def in_line(self) -> bool:
        """Waiting for a training slot (queued or waiting)."""
        return self.state.in_line


def train(config: RunConfig, **kwargs) -> Run:
    """:func:`mlc.training.train`, imported on first use (this module imports no TensorFlow)."""
    from mlc.training import train as engine

    return engine(config, **kwargs)


@dataclass
class TrainingJob:
    """One run trained from a watcher thread; start it, poll :meth:`snapshot`, :meth:`stop` it.

    The thread runs ``trainer`` (:func:`mlc.training.train` in this process by
    default; a :class:`mlc.job_wire.RemoteTrainer` trains in a worker process or
    on a cluster and only waits here). A trainer whose ``reports_queue`` is true
    is also given ``on_wait(position)``: its engine keeps its own waiting line,
    shown like the server's.
    """

    config: RunConfig
    slots: TrainingSlots | None = None
    trainer: Callable[..., Run] = train
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    source: Any = None  # own images (mlc.imagesets.ImageSet) for a dataset="own" config

    def __post_init__(self):
        self.state = states.JobState.QUEUED
        self.message = ""
        self.run: Run | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._batches: list[dict] = []
        self._epochs: list[dict] = []
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._remote_position: int | None = None  # place in a remote engine's line (reports_queue trainers)

    # -- control (any thread)
    def start(self) -> TrainingJob:
        if self._thread is not None:
            raise RuntimeError("this job was already started; create a new TrainingJob to train again")
        self._started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name=f"mlc-train-{self.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to end after the current batch (or to leave the queue)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker thread; True when it has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            in_queue = self.slots is not None and self.state is states.JobState.WAITING
            position = self.slots.position(self.id) if in_queue else None
            return JobSnapshot(
                id=self.id,
                state=self.state,
                config=self.config,
                progress=self._progress,
                batch_history=list(self._batches),
                epoch_history=list(self._epochs),
                queue_position=position if position is not None else self._remote_position,
                run=self.run,
                message=self.message,
                elapsed=0.0 if self._started_at is None else time.perf_counter() - self._started_at,
            )

    # -- worker thread
    def _on_wait(self, position: int | None) -> None:
        """A remote engine's news: waiting at ``position`` in its line, or (None) under way."""
        with self._lock:
            self._remote_position = position
            if self.state in (states.JobState.RUNNING, states.JobState.WAITING):
                self.state = states.JobState.WAITING if position is not None else states.JobState.RUNNING

    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            self._progress = p
            self._remote_position = None
            if self.state is states.JobState.WAITING:
                self.state = states.JobState.RUNNING
            if p.phase == "batch":
                self._batches.append({"step": (p.epoch - 1) * p.batches + p.batch, "epoch": p.epoch, "loss": p.loss})
            elif p.phase == "epoch" and p.val is not None:
                self._epochs.append(dict(p.val))

    def _set(self, state: states.JobState, message: str = "") -> None:
        with self._lock:
            self.state, self.message = state, message

    def _work(self) -> None:
        holds_slot = False
        try:
            if self.slots is not None:
                self._set(states.JobState.WAITING)
                holds_slot = self.slots.acquire(self.id, self._stop)
                if not holds_slot:
                    self._set(states.JobState.STOPPED, "stopped while waiting for a free training slot")
                    return
            self._set(states.JobState.RUNNING)
            extra = {"on_wait": self._on_wait} if getattr(self.trainer, "reports_queue", False) else {}
            if self.source is not None:
                extra["source"] = self.source
            run = self.trainer(self.config, on_progress=self._on_progress, stop_event=self._stop, **extra)
            state = ended_state(run.status)
            with self._lock:
                self.run = run
                self.state, self.message = state, run.message
        except Exception as exc:  # the engine reports its own failures; this catches the unexpected
            self._set(states.JobState.FAILED, f"training failed: {checks.first_line(exc, 300)}")
        finally:
            if holds_slot:
                self.slots.release(self.id)


def ended_state(run_status: str) -> states.JobState:
    """The state a job ends in for its run's status: finished, stopped or failed.

    ValueError for a status a finished trainer cannot return (``running``, ``imported``).

    >>> ended_state("stopped")
    <JobState.STOPPED: 'stopped'>
    """
    ended = [s for s in states.JobState if not s.active]
    if run_status not in ended:
        names = ", ".join(ended)
        raise ValueError(f"a trainer must return a run whose status is one of {names}, got {str(run_status)!r}")
    return states.JobState(run_status)


def _tensorboard(log_dir: str):
    import keras

    return keras.callbacks.TensorBoard(log_dir=log_dir)


#: How many seeds the Train page's "repeat over seeds" trains.
SERIES_SEEDS = 3


def seed_series(config: RunConfig, n: int = SERIES_SEEDS) -> list[RunConfig]:
    """``config`` with seeds ``s, s+1, ..., s+n-1`` (everything else the same): one repeat per seed.

    >>> [c.seed for c in seed_series(RunConfig(seed=7))]
    [7, 8, 9]
    """
    n = checks.whole(n, "n", 1, 20)
    return [config.replace(seed=config.seed + i) for i in range(n)]


class SessionJobs:
    """One visitor's current job and finished runs (bounded); :meth:`close` stops everything.

    Held in a session-scoped ``st.cache_resource`` whose ``on_release`` calls
    :meth:`close`, so a visitor who leaves mid-training frees their slot and memory.
    """

    def __init__(
        self,
        slots: TrainingSlots | None = None,
        max_runs: int = MAX_RUNS_PER_SESSION,
        settings: HostSettings | None = None,
        store: RunStore | None = None,
        trainer: Callable[..., Run] | None = None,
    ):
        self.slots = slots
        #: What :meth:`start` trains with unless told otherwise: in this process, or a pool or cluster trainer.
        self.trainer = trainer or train
        self.settings = settings
        self.store = store  # an optional run directory: finished runs are saved there too
        self.max_runs = settings.max_runs if settings is not None else max_runs
        self.job: TrainingJob | None = None
        self.runs: list[Run] = []
        self._lock = threading.Lock()
        self._collected: set[str] = set()
        self._numbered = 0
        self.load_problems: list[str] = []  # runs in the run directory that could not be read
        self.closed = False
        #: A series ("repeat over 3 seeds"): the configs still to train, each started when the one before ends.
        self.pending: list[RunConfig] = []
        self._series: tuple[int, int] | None = None  # (which one is running, 1-based; how many)
        self._series_source: Any = None
        self._series_trainer: Callable[..., Run] | None = None

    def start(self, config: RunConfig, trainer: Callable[..., Run] | None = None, source: Any = None) -> TrainingJob:
        """Start training ``config`` in the background (``source``: the own images of a ``dataset="own"`` config).

        Raises ValueError when the config is over the server's limits (checked here,
        where the work is accepted, whatever the widgets allowed), RuntimeError when a
        job is already running or the session has ended.
        """
        if self.settings is not None:
            check_config(config, self.settings)
        with self._lock:
            if self.closed:
                raise RuntimeError("this session has ended")
            if self.job is not None and self.job.alive:
                raise RuntimeError("a training is already running in this session; stop it first")
            trainer = trainer or self.trainer
            if self.store is not None and self.store.tensorboard and trainer is train:
                log_dir = str(self.store.tensorboard_dir(config))
                trainer = functools.partial(train, callbacks=[_tensorboard(log_dir)])
            self.job = TrainingJob(config, self.slots, trainer, source=source).start()
            return self.job

    def start_series(
        self, configs: Sequence[RunConfig], trainer: Callable[..., Run] | None = None, source: Any = None
    ) -> TrainingJob:
        """Train ``configs`` one after another through :meth:`start`: the first now, each next one when
        the one before has ended and :meth:`collect` sees it. :meth:`stop` ends the current one and drops the rest.
        """
        configs = list(configs)
        if not configs:
            raise ValueError("a series needs at least one config, got none")
        if self.settings is not None:
            for config in configs:
                check_config(config, self.settings)  # refuse the whole series up front, not its third run
        job = self.start(configs[0], trainer=trainer, source=source)
        with self._lock:
            self.pending = configs[1:]
            self._series = (1, len(configs))
            self._series_source, self._series_trainer = source, trainer
        return job

    @property
    def series(self) -> tuple[int, int] | None:
        """``(n, of)`` while a series is on ("seed n of of"), else None."""
        return self._series

    def stop(self) -> None:
        """Stop the current job; a series' pending configs are dropped (Stop means stop, not "skip one")."""
        with self._lock:
            self.pending = []
        job = self.job
        if job is not None:
            job.stop()

    def collect(self) -> Run | None:
        """Move the current job's finished run into :attr:`runs` once; returns it when newly added.

        In a series, the next pending config starts here (after a failed one too: each seed is its own run).
        """
        with self._lock:
            job = self.job
            if job is None or job.alive or job.id in self._collected:
                return None
            if job.run is None and job.state not in (states.JobState.FAILED, states.JobState.STOPPED):
                return None
            self._collected.add(job.id)
            run = self._add(job.run) if job.run is not None and job.run.report is not None else None
            following = self.pending.pop(0) if self.pending and not self.closed else None
            if following is None:
                self._series = None
        if run is not None and self.store is not None:
            self.store.save(run)  # outside the lock: writing a model takes a moment
        if following is not None:
            n, of = self._series or (0, 0)
            self.start(following, trainer=self._series_trainer, source=self._series_source)
            self._series = (n + 1, of)
        return run

    def add(self, run: Run) -> Run:
        """Add a run made elsewhere (imported from a file or a run directory) to this session."""
        if run.report is None:
            raise ValueError(f"run {run.label} has no validation report; only scored runs can join a session")
        with self._lock:
            if self.closed:
                raise RuntimeError("this session has ended")
            return self._add(run)

    def _add(self, run: Run) -> Run:
        self._numbered += 1
        run.number = self._numbered
        self.runs.append(run)
        del self.runs[: max(0, len(self.runs) - self.max_runs)]  # oldest first
        return run

    def find(self, number: int) -> Run | None:
        """This session's run with that number, or None (only ever this session's own runs)."""
        return next((run for run in self.runs if run.number == number), None)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the job, wait for its thread, and drop runs (models) so memory is released."""
        with self._lock:
            self.closed = True
            job = self.job
        if job is not None:
            job.stop()
            job.join(timeout)
        with self._lock:
            self.job = None
            self.runs.clear()
