"""Trainings on a Dask cluster (``MLC_CLUSTER=tcp://host:8786``): the same jobs, run on other machines.

:class:`ClusterTrainer` is a :class:`mlc.job_wire.RemoteTrainer`: the web
server sends the config record only; a cluster worker runs
:func:`train_on_worker` (named as text, :func:`by_name`: the workers have
``mlc`` installed, the scheduler needs none) and sends back progress through a
``distributed.Queue`` and, at the end, the run's payload (record, ``.keras``
bytes, validation arrays) as the task's result. Names on the scheduler, per
training (``job``): ``mlc-train-{job}`` (the task), ``mlc-progress-{job}``
(events), ``mlc-stop-{job}`` (a ``distributed.Event``: Stop) and
``mlc-started-{job}`` (a ``distributed.Variable``: the worker that started it).

* **Queue.** Each worker trains one run at a time (``dask worker --nthreads 1``)
  and the scheduler keeps the rest in *its* line (task state ``queued``, with
  ``worker-saturation`` 1.0). Dask 2026.8 queues only "root-ish" tasks there: a
  lone ``client.submit`` task is sent to a busy worker instead (checked: the
  third of three trainings on two workers sat ``processing`` behind a running
  one), so the task is submitted marked as a data producer, which the
  scheduler always queues. A job's place = its rank among not yet started
  ``mlc-train-*`` tasks by key (:func:`queue_places`), read once a second.
* **Lost worker.** Dask would silently run a task again on another worker when
  its worker dies. Instead the run fails with one line: the client sees its
  started task back in line or on another worker (:func:`lost_after_start`),
  and a re-run that finds the started mark returns a failed run at once.
* Every call to the cluster is bounded (:data:`CALL_SECONDS`): an unreachable
  or vanished cluster ends the run as failed with one line, never a hung job.

``distributed`` is imported on first use: the app imports without it unless
``MLC_CLUSTER`` is set (``pip install 'mlc[cluster]'``). Nor does it import
TensorFlow: the engine is imported on the worker, when a training runs.

>>> queue_places([("mlc-train-2-b", "queued", None, None), ("mlc-train-1-a", "processing", "tcp://w1:1", "tcp://w1:1"),
...               ("mlc-train-3-c", "no-worker", None, None)])
{'mlc-train-2-b': 1, 'mlc-train-3-c': 2}
"""

from __future__ import annotations

import functools
import math
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlc.checks import first_line
from mlc.config import RunConfig
from mlc.job_wire import Outcome, RemoteTrainer, lost_run, run_payload, serve_run
from mlc.runs import Run
from mlc.states import RunStatus

#: Name prefixes on the scheduler (a training's ``job`` follows each).
TASK_PREFIX, PROGRESS_PREFIX, STOP_PREFIX, STARTED_PREFIX = "mlc-train-", "mlc-progress-", "mlc-stop-", "mlc-started-"
#: Seconds the first connection to the scheduler may take.
CONNECT_SECONDS = 10.0
#: Seconds any one later call to the cluster may take before the run is given up as lost.
CALL_SECONDS = 15.0
#: Seconds the finished run's payload (its model and validation arrays, a few MB) may take to arrive.
RESULT_SECONDS = 120.0
#: Seconds between two looks at the scheduler's line (one ``run_on_scheduler`` call per job).
CHECK_SECONDS = 1.0
#: Worker side: progress is sent in lists at most this often (epochs and the end at once).
BATCH_SECONDS = 0.2
#: Worker side: the longest wait on the stop event between two checks that training still runs.
STOP_WAIT_SECONDS = 0.5
#: Task states of a task that has not reached a worker yet.
IN_LINE = ("released", "waiting", "queued", "no-worker")
#: A worker's mark found by a re-run, and a started task seen back in line: the run is not run twice.
WORKER_LOST = (
    "the cluster worker running this training was lost (killed, out of memory, or its machine went away); "
    "the cluster carries on: train again"
)
STOPPED_IN_LINE = "stopped while waiting in the cluster's line"
MISSING = (
    "MLC_CLUSTER is set but Dask's client is not installed: pip install 'mlc[cluster]' "
    "(distributed==2026.8.0), or unset MLC_CLUSTER to train on this server"
)


def queue_places(tasks: Iterable[tuple[str, str, str | None, str | None]]) -> dict[str, int]:
    """``{key: place}`` (1 = next) of the trainings still waiting, from ``(key, state, started_on, processing_on)``.

    Waiting = no worker has started it (no mark) and it is in the scheduler's
    line, or was handed to a worker that is busy with another training (a
    worker-side wait, when the scheduler does not queue). A task just handed to
    a free worker counts as under way. Keys start with the submit time in
    nanoseconds, so their order is the order of arrival.

    >>> queue_places([("mlc-train-1-a", "processing", "tcp://w:1", "tcp://w:1"),
    ...               ("mlc-train-2-b", "processing", None, "tcp://w:1"), ("mlc-train-3-c", "processing", None, "tcp://v:1")])
    {'mlc-train-2-b': 1}
    """
    rows = list(tasks)
    busy = {on for _, state, started_on, on in rows if state == "processing" and started_on is not None}
    waiting = sorted(
        key
        for key, state, started_on, on in rows
        if started_on is None and (state in IN_LINE or (state == "processing" and on in busy))
    )
    return {key: place for place, key in enumerate(waiting, start=1)}


def lost_after_start(state: str | None, started_on: str | None, processing_on: str | None) -> bool:
    """Whether a training that a worker started is now being run again (its worker died under it).

    ``state`` is the task's state on the scheduler (None: the scheduler forgot
    it), ``started_on`` the worker its mark names, ``processing_on`` the worker
    the scheduler gave it to now.

    >>> lost_after_start("processing", "tcp://w1:1", "tcp://w1:1"), lost_after_start("queued", "tcp://w1:1", None)
    (False, True)
    >>> lost_after_start("processing", "tcp://w1:1", "tcp://w2:1"), lost_after_start("queued", None, None)
    (True, False)
    """
    if started_on is None:
        return False
    if state == "processing":
        return processing_on is not None and processing_on != started_on
    return state is None or state in IN_LINE


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars made Python numbers: what a Dask queue (msgpack) can carry.

    >>> import numpy as np
    >>> plain([{"loss": np.float32(0.5), "val": {"map": np.float64(0.25)}}, None])
    [{'loss': 0.5, 'val': {'map': 0.25}}, None]
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item"):  # a NumPy scalar (np.float64 is a float too, but msgpack refuses it)
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# -- worker side ------------------------------------------------------------------------------------------------------


def train_on_worker(
    config_record: Mapping[str, Any], job: str, every: float = BATCH_SECONDS, source: Any = None
) -> dict[str, Any]:
    """Cluster worker side: train the config record, send progress to ``mlc-progress-{job}``, return the payload.

    Marks ``mlc-started-{job}`` with this worker's address before anything else;
    a second attempt of the same training (Dask re-runs a task whose worker
    died) finds the mark and returns a failed run at once. A thread watches
    ``mlc-stop-{job}`` and stops training after the current batch once it is set.
    """
    from distributed import Event, Queue, Variable, get_client, get_worker

    client = get_client()
    mark = Variable(STARTED_PREFIX + job, client=client)
    try:
        mark.get(timeout=0.05)
    except TimeoutError:
        pass
    else:
        return run_payload(lost_run(_config_or_default(config_record), WORKER_LOST))
    worker = get_worker()
    mark.set(worker.address, timeout=CALL_SECONDS)
    queue = Queue(PROGRESS_PREFIX + job, client=client)  # the client made it first: one more reference
    stop, done = threading.Event(), threading.Event()
    abandoned = functools.partial(_abandoned, worker, TASK_PREFIX + job)
    watcher = threading.Thread(
        target=_watch_stop, args=(Event(STOP_PREFIX + job, client=client), stop, done, abandoned), daemon=True
    )
    watcher.start()

    def send(events: list[dict]) -> None:
        try:
            queue.put(plain(events), timeout=CALL_SECONDS)
        except Exception:  # progress is best effort: the payload still carries the whole history
            pass

    try:
        return serve_run(config_record, send, stop, every=every, source=source)
    finally:
        done.set()


def _watch_stop(event: Any, stop: threading.Event, done: threading.Event, abandoned=lambda: False) -> None:
    """Set ``stop`` once the cluster event is set or nobody wants the result; end when training does (``done``)."""
    while not done.is_set():
        try:
            if event.wait(timeout=STOP_WAIT_SECONDS) or abandoned():
                stop.set()
                return
        except Exception:  # the scheduler did not answer this time: look again shortly
            done.wait(STOP_WAIT_SECONDS)


def _abandoned(worker: Any, key: str) -> bool:
    """Whether the scheduler let go of this task while it runs (its web server went away, or it was cancelled).

    A thread cannot be killed, so Dask lets a released task run to its end; this
    training stops after the current batch instead and frees the worker.
    """
    try:
        ts = worker.state.tasks.get(key)
    except Exception:  # a Dask without this state: keep training
        return False
    return ts is None or ts.state in ("cancelled", "released", "forgotten")


def _config_or_default(record: Mapping[str, Any]) -> RunConfig:
    try:
        return RunConfig.from_dict(record)
    except Exception:
        return RunConfig()


# -- server side ------------------------------------------------------------------------------------------------------

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def shared_client(address: str, timeout: float = CONNECT_SECONDS) -> Any:
    """The one ``distributed.Client`` of this process for ``address`` (made on first use, again after a loss).

    Thread-safe: every training job of the server shares it. Raises
    RuntimeError with one line when ``distributed`` is missing or the
    scheduler does not answer within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    with _clients_lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        if client is not None:
            _close_quietly(client)
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except Exception as exc:
            raise RuntimeError(
                f"the cluster at {address} (MLC_CLUSTER) did not answer within {timeout:g} s: {first_line(exc, 200)}"
            ) from None
        _clients[address] = client
        return client


def _close_quietly(client: Any) -> None:
    try:
        client.close(timeout=2)
    except Exception:  # already gone
        pass


def by_name(module: str, name: str):
    """A task function that imports ``module`` and calls its ``name`` when it runs, on the worker.

    Dask 2026.8 unpickles every task graph on the scheduler too: a function
    pickled by reference (``mlc.cluster.train_on_worker``) would need ``mlc``
    installed there. This closure is pickled by value and names the function
    as text, so only the workers import ``mlc``.

    >>> by_name("math", "sqrt")(9.0)
    3.0
    """

    def call(*args: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args)

    call.__qualname__ = call.__name__ = name  # the task's name on the dashboard and in logs
    return call


def _tasks_view(task_prefix: str, started_prefix: str):
    """The function the scheduler runs for one look at the line: ``[(key, state, started_on, processing_on)]``.

    Built here as a closure so that it is pickled by value: the scheduler needs no ``mlc`` installed.
    """

    def view(dask_scheduler):
        marks = dask_scheduler.extensions["variables"].variables
        rows = []
        for key, ts in dask_scheduler.tasks.items():
            if isinstance(key, str) and key.startswith(task_prefix):
                mark = marks.get(started_prefix + key[len(task_prefix) :])
                on = ts.processing_on.address if ts.processing_on is not None else None
                rows.append((key, ts.state, mark["value"] if mark else None, on))
        return rows

    return view


@dataclass
class ClusterHandle:
    """One training on the cluster, as :class:`ClusterTrainer` tracks it."""

    job: str
    config: RunConfig
    client: Any
    future: Any
    queue: Any
    started: bool = False  # progress arrived: a worker trains it
    stopped_in_line: bool = False
    position: int | None = None
    checked_at: float = field(default=-math.inf)
    seen: bool = False  # the scheduler has listed the task (a new graph reaches it after a moment)
    submitted_at: float = field(default_factory=time.monotonic)

    @property
    def key(self) -> str:
        return TASK_PREFIX + self.job


class ClusterTrainer(RemoteTrainer):
    """Trains on the Dask cluster at ``address`` (``tcp://host:8786``): ``trainer(config, ...) -> Run``.

    Raises RuntimeError (one line) at once when ``distributed`` is not
    installed; the scheduler is first contacted by the first training.
    """

    poll_seconds = BATCH_SECONDS
    reports_queue = True

    def __init__(self, address: str, *, connect_seconds: float = CONNECT_SECONDS, call_seconds: float = CALL_SECONDS):
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise RuntimeError(MISSING) from exc
        self.address = str(address).strip()
        self.connect_seconds, self.call_seconds = connect_seconds, call_seconds

    def __repr__(self) -> str:
        return f"ClusterTrainer({self.address!r})"

    @property
    def client(self) -> Any:
        return shared_client(self.address, self.connect_seconds)

    def submit(self, config: RunConfig, source: Any = None) -> ClusterHandle:
        from distributed import Queue

        client = self.client
        job = f"{time.time_ns()}-{uuid.uuid4().hex[:12]}"
        queue = Queue(PROGRESS_PREFIX + job, client=client)  # before the task: the worker only adds to it
        key = TASK_PREFIX + job
        work = by_name(__name__, train_on_worker.__name__)
        try:
            from dask._task_spec import Task  # the graph form that can mark a task root-ish

            task = Task(key, work, config.to_dict(), job, BATCH_SECONDS, source, _data_producer=True)
            future = client.get({key: task}, key, sync=False)
        except TypeError:  # a Dask without the marker: plain submit (queues on the workers instead)
            future = client.submit(work, config.to_dict(), job, BATCH_SECONDS, source, key=key, pure=False)
        return ClusterHandle(job=job, config=config, client=client, future=future, queue=queue)

    def poll(self, handle: ClusterHandle, timeout: float) -> Outcome:
        if handle.stopped_in_line:
            run = Run(config=handle.config, status=RunStatus.STOPPED, message=STOPPED_IN_LINE)
            return Outcome(payload=run_payload(run))
        status = handle.future.status
        if status == "finished":
            events = self._drain(handle)
            return Outcome(events, payload=handle.future.result(timeout=RESULT_SECONDS))
        if status == "error":
            return Outcome(self._drain(handle), lost=self._error_line(handle))
        if status in ("cancelled", "lost"):
            return Outcome(lost=f"the connection to the cluster at {self.address} was lost; train again")
        try:
            events = self._events(handle, timeout)
        except TimeoutError:
            events = []
        except Exception as exc:
            return Outcome(lost=self._gone(exc))
        if events:
            handle.started, handle.position = True, None
        now = time.monotonic()
        if now - handle.checked_at >= CHECK_SECONDS:
            handle.checked_at = now
            lost = self._check(handle)
            if lost is not None:
                return Outcome(events, lost=lost)
        return Outcome(events, position=handle.position)

    def _events(self, handle: ClusterHandle, timeout: float) -> list[dict]:
        """Events that arrive within ``timeout`` seconds, and any others already waiting."""
        first = handle.queue.get(timeout=timeout, callback_timeout=timeout + self.call_seconds)
        return [*first, *self._drain(handle)]

    def _drain(self, handle: ClusterHandle) -> list[dict]:
        batches = handle.queue.get(batch=True, callback_timeout=self.call_seconds)
        return [event for batch in batches for event in batch]

    def _check(self, handle: ClusterHandle) -> str | None:
        """One look at the scheduler: this job's place in line, or why it is lost."""
        try:
            rows = handle.client.run_on_scheduler(
                _tasks_view(TASK_PREFIX, STARTED_PREFIX), callback_timeout=self.call_seconds
            )
        except Exception as exc:
            return self._gone(exc)
        mine = next((row for row in rows if row[0] == handle.key), None)
        if mine is None:
            arriving = not handle.seen and time.monotonic() - handle.submitted_at < self.call_seconds
            if handle.future.done() or arriving:
                return None  # ended since the status check, or not registered yet: the next look tells
            return f"the cluster at {self.address} no longer knows this training (was its scheduler restarted?)"
        handle.seen = True
        _, state, started_on, processing_on = mine
        if lost_after_start(state, started_on, processing_on):
            handle.future.cancel()
            return WORKER_LOST
        if started_on is not None:
            handle.started = True
        handle.position = None if handle.started else queue_places(rows).get(handle.key)
        return None

    def _gone(self, exc: BaseException) -> str:
        return f"the cluster at {self.address} stopped answering ({type(exc).__name__}); train again"

    def _error_line(self, handle: ClusterHandle) -> str:
        try:
            exc = handle.future.exception(timeout=self.call_seconds)
        except Exception as err:
            exc = err
        if type(exc).__name__ == "KilledWorker":
            return WORKER_LOST
        return f"the training failed on the cluster: {first_line(exc, 300)}"

    def request_stop(self, handle: ClusterHandle) -> None:
        # Set the event first: a task that starts just as it is cancelled still stops after one batch.
        # (The scheduler call itself, not Event.set: only that takes a time limit.)
        client = handle.client
        client.sync(client.scheduler.event_set, name=STOP_PREFIX + handle.job, callback_timeout=self.call_seconds)
        if not handle.started and not handle.future.done():
            handle.future.cancel()
            handle.stopped_in_line = True

    def release(self, handle: ClusterHandle) -> None:
        from distributed import Variable

        client = handle.client
        if not handle.future.done():
            handle.future.cancel()
        handle.future.release()
        # The scheduler counts one reference per Queue object: ours and the worker's (a killed worker never
        # drops its own). Releasing twice removes the queue either way; a release of a removed queue is a no-op.
        handle.queue.close()
        handle.queue.close()
        Variable(STARTED_PREFIX + handle.job, client=client).delete()
        client.sync(client.scheduler.event_clear, name=STOP_PREFIX + handle.job, callback_timeout=self.call_seconds)
