"""Trainings outside the web server: a pool of warm worker processes beside it.

:class:`WorkerPool` starts ``size`` worker processes (``spawn``: a fresh
interpreter, nothing of the server's Streamlit state) as soon as it is made;
each imports TensorFlow once and then serves run after run, so a visitor's
first training does not wait for the import. After ``runs_per_worker`` runs a
worker exits and a fresh one replaces it, which gives TensorFlow's memory back
to the system (a process keeps it for life). A worker that dies under a run
(``kill -9``, the out-of-memory killer) fails that run with
:data:`mlc.job_wire.WORKER_LOST` and is replaced; the server and the other runs
carry on.

:class:`PoolTrainer` is the server side, a :class:`mlc.job_wire.RemoteTrainer`:
it checks out an idle worker (waiting, stop-aware, while none is idle), sends it
the config record over the worker's :func:`multiprocessing.Pipe`, turns the
progress lists it sends back into ``on_progress`` calls and the final payload
into the :class:`~mlc.runs.Run`. In the worker, the main thread trains
(:func:`mlc.job_wire.serve_run`) while a reader thread receives ``stop`` and sets
the run's stop event, so Stop lands within a batch.

Messages are ``(kind, run id, body)`` tuples. Server to worker: ``run`` (body:
config record and the serving function's name), ``stop``, ``exit``. Worker to
server: ``ready`` (TensorFlow imported), ``events`` (a list of progress dicts),
``done`` (the payload), ``error`` (one line: the serving function raised).

This module imports no TensorFlow: the workers do.

>>> pool = WorkerPool(size=1, start=False)
>>> pool.stats()["alive"], PoolTrainer(pool).serve
(0, 'mlc.job_wire:serve_run')
"""

from __future__ import annotations

import collections
import functools
import importlib
import multiprocessing
import os
import queue
import sys
import threading
import time
import types
import uuid
from dataclasses import dataclass
from typing import Any

from mlc import checks
from mlc.config import RunConfig
from mlc.job_wire import WORKER_LOST, Outcome, RemoteTrainer, run_payload
from mlc.runs import Run
from mlc.states import RunStatus

#: What a worker trains with unless told otherwise: ``"module:function"`` taking
#: ``(config_record, send, stop_event)`` and returning a payload.
DEFAULT_SERVE = "mlc.job_wire:serve_run"
#: Most messages one :meth:`PoolTrainer.poll` reads before handing over (keeps Stop responsive).
MAX_MESSAGES_PER_POLL = 1000
#: Seconds a retiring or closing worker gets to exit by itself before it is killed.
EXIT_GRACE = 10.0

_START_LOCK = threading.Lock()


# ---------------------------------------------------------------- worker process side
def _resolve(name: str):
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _send_events(conn, run_id: str, events: list[dict]) -> None:
    conn.send(("events", run_id, events))


#: How much lower than the server a worker's CPU priority is (``nice``): pages stay responsive under load.
WORKER_NICENESS = 10


def _worker_main(conn) -> None:
    """A worker process: import TensorFlow once, then train each run the server sends until ``exit``."""
    import gc
    import signal

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C on the server's terminal: the server ends us
    # below the web server: when trainings fill every core, a page's rerun still gets one at once
    # (trainings lose only the moments the server works; TensorFlow's threads inherit this)
    os.nice(WORKER_NICENESS)
    import mlc.training  # noqa: F401  (the warm import: TensorFlow, Keras, the engine)

    gc.freeze()  # the imported modules live as long as the process: keep them out of every collection
    runs: queue.Queue = queue.Queue()
    stops: dict[str, threading.Event] = {}
    lock = threading.Lock()

    def read() -> None:
        """Reader thread: queue runs, set stop events at once, end the worker when the server goes."""
        while True:
            try:
                kind, run_id, body = conn.recv()
            except (EOFError, OSError):  # the server went away: stop what runs and leave
                kind, run_id, body = "exit", None, None
            if kind == "run":
                with lock:
                    stops[run_id] = threading.Event()
                    runs.put((run_id, body, stops[run_id]))
            elif kind == "stop":
                with lock:
                    event = stops.get(run_id)
                if event is not None:
                    event.set()
            elif kind == "exit":
                with lock:
                    for event in stops.values():
                        event.set()
                runs.put(None)
                return

    threading.Thread(target=read, name="mlc-worker-reader", daemon=True).start()
    conn.send(("ready", None, os.getpid()))
    while (item := runs.get()) is not None:
        run_id, (record, serve_name, *rest), stop = item
        send = functools.partial(_send_events, conn, run_id)
        extra = {"source": rest[0]} if rest and rest[0] is not None else {}  # own images travel with the run
        try:
            message = ("done", run_id, _resolve(serve_name)(record, send, stop, **extra))
        except Exception as exc:  # the serving function raised: this run fails, the worker serves on
            message = ("error", run_id, f"training failed: {checks.first_line(exc, 300)}")
        finally:
            with lock:
                stops.pop(run_id, None)
        try:
            conn.send(message)
        except OSError:
            return  # the server went away
        except Exception as exc:  # the payload would not pickle: say so in one line instead
            conn.send(("error", run_id, f"the training's result could not be sent: {checks.first_line(exc, 300)}"))


# ---------------------------------------------------------------- server side
@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Any
    runs: int = 0  # runs served
    ready: bool = False  # TensorFlow imported (its ``ready`` message was read)

    @property
    def pid(self) -> int | None:
        return self.process.pid


def _spawn(context) -> _Worker:
    """Start one worker process; the server's ``__main__`` is hidden from it while it starts.

    ``spawn`` re-runs the parent's main script in the child unless it is a
    ``-m`` module; inside a Streamlit server that is the app script (Streamlit
    installs it as ``__main__`` for every script run), which must not run there.
    """
    parent_conn, child_conn = context.Pipe()
    process = context.Process(target=_worker_main, args=(child_conn,), name="mlc-train-worker", daemon=True)
    with _START_LOCK:
        main = sys.modules.get("__main__")
        stand_in = types.ModuleType("__main__")
        sys.modules["__main__"] = stand_in
        try:
            process.start()
        finally:
            if sys.modules.get("__main__") is stand_in:  # a script run may have installed its own meanwhile
                sys.modules["__main__"] = main
    child_conn.close()  # our copy of the child's end: closed, so its death reads as end-of-file here
    return _Worker(process, parent_conn)


def _retire(worker: _Worker, message: tuple | None = ("exit", None, None)) -> None:
    """End a worker in the background: ask it to exit (``message``), kill it after :data:`EXIT_GRACE`."""

    def finish() -> None:
        if message is not None:
            try:
                worker.conn.send(message)
            except OSError:
                pass
        worker.process.join(EXIT_GRACE)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(EXIT_GRACE)
        worker.conn.close()

    threading.Thread(target=finish, name="mlc-worker-retire", daemon=True).start()


class WorkerPool:
    """``size`` warm worker processes, each replaced after ``runs_per_worker`` runs. Thread-safe.

    ``start=False`` makes an empty pool that spawns its workers on :meth:`start`
    (tests, a server that wants them later). :meth:`close` ends them.
    """

    def __init__(self, size: int = 2, runs_per_worker: int = 20, *, start: bool = True):
        self.size = checks.whole(size, "size", 1, 64)
        self.runs_per_worker = checks.whole(runs_per_worker, "runs_per_worker", 1)
        self._context = multiprocessing.get_context("spawn")
        self._cond = threading.Condition()
        self._idle: collections.deque[_Worker] = collections.deque()
        self._busy: set[_Worker] = set()
        self._counts = {"spawned": 0, "runs_served": 0, "recycled": 0, "lost": 0}
        self.closed = False
        if start:
            self.start()

    # -- workers
    def start(self) -> WorkerPool:
        """Spawn workers up to :attr:`size` (they import TensorFlow in the background)."""
        with self._cond:
            while not self.closed and len(self._idle) + len(self._busy) < self.size:
                self._idle.append(_spawn(self._context))
                self._counts["spawned"] += 1
            self._cond.notify_all()
        return self

    def _replace(self) -> None:
        """Called with the lock held, after a worker left: a fresh one takes its place."""
        if not self.closed:
            self._idle.append(_spawn(self._context))
            self._counts["spawned"] += 1
            self._cond.notify_all()

    def _drain_idle(self) -> None:
        """With the lock held: read idle workers' ``ready`` messages; replace the ones that died."""
        for worker in list(self._idle):
            try:
                while worker.conn.poll(0):
                    if worker.conn.recv()[0] == "ready":
                        worker.ready = True
                dead = not worker.process.is_alive()
            except (EOFError, OSError):
                dead = True
            if dead:
                self._idle.remove(worker)
                self._counts["lost"] += 1
                _retire(worker, None)
                self._replace()

    def checkout(self, timeout: float) -> _Worker | None:
        """An idle worker (a warm one first), or None after ``timeout`` seconds. RuntimeError once closed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.closed:
                    raise RuntimeError("the training worker pool has been closed")
                self._drain_idle()
                if self._idle:
                    worker = next((w for w in self._idle if w.ready), self._idle[0])
                    self._idle.remove(worker)
                    self._busy.add(worker)
                    return worker
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def checkin(self, worker: _Worker) -> None:
        """A worker whose run ended cleanly comes back (or retires after :attr:`runs_per_worker` runs)."""
        with self._cond:
            self._busy.discard(worker)
            worker.runs += 1
            self._counts["runs_served"] += 1
            if self.closed:
                _retire(worker)
            elif worker.runs >= self.runs_per_worker or not worker.process.is_alive():
                self._counts["recycled"] += 1
                _retire(worker)
                self._replace()
            else:
                self._idle.append(worker)
            self._cond.notify_all()

    def discard(self, worker: _Worker, *, lost: bool = True) -> None:
        """A worker that died, or whose run was abandoned mid-way: end it for sure, replace it."""
        with self._cond:
            self._busy.discard(worker)
            self._counts["lost" if lost else "recycled"] += 1
            if worker.process.is_alive():
                worker.process.kill()
            _retire(worker, None)
            self._replace()

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Wait until every idle worker has imported TensorFlow; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._drain_idle()
                if all(w.ready for w in self._idle):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return False
                self._cond.wait(min(left, 0.05))

    def stats(self) -> dict[str, Any]:
        """``size``, ``alive``, ``idle``, ``busy``, ``ready`` (idle and warm), ``spawned``, ``runs_served``,
        ``recycled`` (after their runs), ``lost`` (died or abandoned), ``replaced`` (both), ``pids``, ``busy_pids``."""
        with self._cond:
            workers = [*self._idle, *self._busy]
            return {
                "size": self.size,
                "alive": sum(w.process.is_alive() for w in workers),
                "idle": len(self._idle),
                "busy": len(self._busy),
                "ready": sum(w.ready for w in self._idle),
                **self._counts,
                "replaced": self._counts["recycled"] + self._counts["lost"],
                "pids": sorted(w.pid for w in workers if w.pid is not None),
                "busy_pids": sorted(w.pid for w in self._busy if w.pid is not None),
            }

    def close(self, timeout: float = EXIT_GRACE) -> None:
        """End every worker (a running training ends as lost); the pool takes no more runs."""
        with self._cond:
            self.closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            self._cond.notify_all()
        for worker in workers:
            try:
                worker.conn.send(("exit", None, None))
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout)
            worker.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(eq=False)
class _Handle:
    """One run through the pool: its worker once checked out, and how it ended."""

    config: RunConfig
    id: str
    source: Any = None  # own images (mlc.imagesets.ImageSet), sent with the run
    worker: _Worker | None = None
    stop: bool = False
    ended: str | None = None  # "clean" (payload or error line came back) or "lost"


class PoolTrainer(RemoteTrainer):
    """Trains on a :class:`WorkerPool`: ``trainer(config, on_progress=, stop_event=) -> Run``.

    ``serve`` names the worker-side function (``"module:function"``, default
    :data:`DEFAULT_SERVE`), resolved in the worker for each run.
    """

    def __init__(self, pool: WorkerPool, serve: str = DEFAULT_SERVE):
        self.pool, self.serve = pool, serve

    def submit(self, config: RunConfig, source: Any = None) -> _Handle:
        # no worker yet: poll checks one out, so waiting for one sees a Stop
        return _Handle(config, uuid.uuid4().hex[:12], source)

    def poll(self, handle: _Handle, timeout: float) -> Outcome:
        if handle.worker is None:
            return self._start(handle, timeout)
        worker, events = handle.worker, []
        try:
            if not worker.conn.poll(timeout):
                if not worker.process.is_alive():
                    handle.ended = "lost"
                    return Outcome(lost=WORKER_LOST)
                return Outcome()
            for _ in range(MAX_MESSAGES_PER_POLL):
                kind, _run_id, body = worker.conn.recv()
                if kind == "ready":
                    worker.ready = True
                elif kind == "events":
                    events.extend(body)
                elif kind == "done":
                    handle.ended = "clean"
                    return Outcome(events=events, payload=body)
                elif kind == "error":
                    handle.ended = "clean"
                    return Outcome(events=events, lost=body)
                if not worker.conn.poll(0):
                    break
        except (EOFError, OSError):  # the process died: its end of the pipe closed
            handle.ended = "lost"
            return Outcome(events=events, lost=WORKER_LOST)
        return Outcome(events=events)

    def _start(self, handle: _Handle, timeout: float) -> Outcome:
        if handle.stop:
            message = "stopped while waiting for a free worker"
            stopped = Run(config=handle.config, status=RunStatus.STOPPED, message=message)
            return Outcome(payload=run_payload(stopped))
        worker = self.pool.checkout(timeout)
        if worker is None:
            return Outcome()
        try:
            worker.conn.send(("run", handle.id, (handle.config.to_dict(), self.serve, handle.source)))
        except OSError:  # died while idle: replace it and try another at the next poll
            self.pool.discard(worker)
            return Outcome()
        handle.worker = worker
        return Outcome()

    def request_stop(self, handle: _Handle) -> None:
        handle.stop = True
        if handle.worker is not None:
            try:
                handle.worker.conn.send(("stop", handle.id, None))
            except OSError:
                pass  # gone: the next poll reads the end-of-file

    def release(self, handle: _Handle) -> None:
        if handle.worker is None:
            return
        if handle.ended == "clean":
            self.pool.checkin(handle.worker)
        else:  # lost, or abandoned mid-run (the engine misbehaved): never reuse it
            self.pool.discard(handle.worker, lost=True)
        handle.worker = None


__all__ = ["DEFAULT_SERVE", "PoolTrainer", "WorkerPool"]
