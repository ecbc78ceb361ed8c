"""What crosses a process or network boundary for one training, both ends of it.

A training that runs outside the web server (a worker process of
:mod:`mlc.trainpool`, or a cluster worker of :mod:`mlc.cluster`) sends three
things back: progress events (every batch and epoch, as
:func:`mlc.progress.to_event` dicts), and at the end one *payload*: the run's
record (config, history, report, timings), its model as ``.keras`` bytes and
its validation labels and probabilities. The server sends two: the config (as
:meth:`RunConfig.to_dict`) and, maybe, a stop.

* Worker side: :func:`serve_run` trains in that process with
  :func:`mlc.training.train` and returns the payload.
* Server side: :class:`RemoteTrainer` is a trainer like :func:`mlc.training.train`
  (``trainer(config, on_progress=..., stop_event=...) -> Run``), so
  :class:`mlc.jobs.TrainingJob` and the pages use it unchanged; a subclass says
  how to submit, poll, stop and release. Whatever happens over there (the
  worker raises, is killed, the cluster goes away) ends as a failed
  :class:`~mlc.runs.Run` with one line, never an exception in the server.

This module imports no TensorFlow until a payload with a model is read.

>>> run = lost_run(RunConfig(epochs=1), WORKER_LOST)
>>> str(run.status), run.message.split(";")[0]
('failed', 'the training process ended unexpectedly (killed, or out of memory)')
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlc.checks import first_line
from mlc.config import RunConfig
from mlc.progress import Progress, from_event, to_event
from mlc.runs import Run
from mlc.states import RunStatus

#: Payload format name and version (a worker and a server of different versions refuse each other's payloads).
PAYLOAD_FORMAT = "mlc-run-payload"
PAYLOAD_VERSION = 1
#: A run whose worker process died under it (``kill -9``, the kernel's out-of-memory killer, a crash).
WORKER_LOST = (
    "the training process ended unexpectedly (killed, or out of memory); "
    "the server carries on: train again, perhaps with fewer scenes or a smaller batch"
)


def run_payload(run: Run) -> dict[str, Any]:
    """The finished ``run`` as plain data: record, ``.keras`` model bytes (or None) and validation arrays.

    Everything in it pickles (a pipe, a cluster's result): dicts, strings,
    numbers, bytes and NumPy arrays.
    """
    model = None
    # a failed run's model is not shipped: it may hold NaN weights, which loading it back rightly refuses
    if run.model is not None and run.status != RunStatus.FAILED:
        from mlc.modelfiles import model_file  # TensorFlow: only where a model exists

        model = model_file(run)
    return {
        "format": PAYLOAD_FORMAT,
        "version": PAYLOAD_VERSION,
        "record": run.to_dict(),
        "id": run.id,
        "data_seconds": run.data_seconds,
        "val_labels": run.val_labels,
        "val_probabilities": run.val_probabilities,
        "test_labels": run.test_labels,
        "test_probabilities": run.test_probabilities,
        "model": model,
    }


def run_from_payload(payload: Mapping[str, Any]) -> Run:
    """The :class:`Run` a :func:`run_payload` describes (its model loaded back as a logits model).

    ValueError for anything that is not a payload of this version.
    """
    if not isinstance(payload, Mapping) or payload.get("format") != PAYLOAD_FORMAT:
        raise ValueError(f"a training result must be a {PAYLOAD_FORMAT} mapping, got {type(payload).__name__}")
    if payload.get("version") != PAYLOAD_VERSION:
        raise ValueError(
            f"a training result must be {PAYLOAD_FORMAT} version {PAYLOAD_VERSION}, got version "
            f"{payload.get('version')!r}; run the same version of Multi-label Lab on the workers as on the server"
        )
    run = Run.from_dict(payload["record"])
    run.id = str(payload["id"])
    run.data_seconds = float(payload.get("data_seconds") or 0.0)
    run.val_labels = payload.get("val_labels")
    run.val_probabilities = payload.get("val_probabilities")
    run.test_labels = payload.get("test_labels")
    run.test_probabilities = payload.get("test_probabilities")
    if payload.get("model") is not None:
        from mlc.modelfiles import load_model_file

        run.model = load_model_file(
            payload["model"], num_classes=run.config.num_classes, image_size=run.config.image_size
        )
    return run


def lost_run(config: RunConfig, message: str) -> Run:
    """A failed run with ``message`` for a training that never came back."""
    return Run(config=config, status=RunStatus.FAILED, message=message)


class EventBatcher:
    """Collects progress events and hands them to ``send`` in lists: at most every ``every`` seconds.

    ``every=0`` sends each event at once. Epoch, data and done events are sent
    at once too (a page must not miss the end of an epoch). Thread-safe.

    >>> sent = []
    >>> b = EventBatcher(sent.append, every=60)
    >>> b(Progress("batch", 1, 1, 1, 2, 0.1, 0.5)); sent
    []
    >>> b(Progress("epoch", 1, 1, 2, 2, 0.2, 0.4)); [len(s) for s in sent]
    [2]
    """

    def __init__(self, send: Callable[[list[dict]], None], every: float = 0.0):
        self.send, self.every = send, every
        self._pending: list[dict] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, p: Progress) -> None:
        with self._lock:
            self._pending.append(to_event(p))
            now = time.monotonic()
            if p.phase == "batch" and now - self._last < self.every:
                return
            pending, self._pending, self._last = self._pending, [], now
        self.send(pending)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if pending:
            self.send(pending)


def serve_run(
    config_record: Mapping[str, Any],
    send: Callable[[list[dict]], None],
    stop_event: threading.Event,
    *,
    every: float = 0.0,
    source: Any = None,
) -> dict[str, Any]:
    """Worker side: train the config (a :meth:`RunConfig.to_dict` record) here; the run's payload.

    ``source``: the own images a ``dataset="own"`` config trains on (sent with the run).

    Progress goes to ``send`` as lists of events (see :class:`EventBatcher`);
    ``stop_event`` ends training after the current batch. Never raises for a
    training that fails (the payload's run says so); a record that is not a
    valid config gives a failed run too.
    """
    from mlc.training import train  # TensorFlow, in the worker only

    try:
        config = RunConfig.from_dict(config_record)
    except Exception as exc:
        return run_payload(lost_run(RunConfig(), f"the training settings were refused: {first_line(exc, 300)}"))
    batcher = EventBatcher(send, every)
    try:
        run = train(config, on_progress=batcher, stop_event=stop_event, source=source)
    finally:
        batcher.flush()
    return run_payload(run)


@dataclass
class Outcome:
    """One poll of a training elsewhere: new events, and the end when it came (a payload, or why it was lost)."""

    events: list[dict] = field(default_factory=list)
    payload: Mapping[str, Any] | None = None
    lost: str | None = None  # one line: the training will not come back
    position: int | None = None  # place in the engine's waiting line (1 = next), None once it runs

    @property
    def ended(self) -> bool:
        return self.payload is not None or self.lost is not None


class RemoteTrainer:
    """A trainer whose trainings run elsewhere: ``trainer(config, on_progress=, stop_event=, on_wait=) -> Run``.

    Subclasses implement :meth:`submit`, :meth:`poll`, :meth:`request_stop` and
    :meth:`release`; this class turns them into the engine's contract: every
    event becomes an ``on_progress(Progress)`` call, the stop event is passed
    on once, a place in the engine's own queue goes to ``on_wait(position)``,
    and the end is a :class:`Run` (failed, with one line, when the training was
    lost or the engine misbehaved).
    """

    #: How long one :meth:`poll` may wait for news, in seconds (bounds how late a stop is passed on).
    poll_seconds: float = 0.05
    #: :class:`mlc.jobs.TrainingJob` passes ``on_wait`` only to trainers that say they queue.
    reports_queue: bool = False

    def submit(self, config: RunConfig, source: Any = None) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def poll(self, handle: Any, timeout: float) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def request_stop(self, handle: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def release(self, handle: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(
        self,
        config: RunConfig,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        stop_event: threading.Event | None = None,
        on_wait: Callable[[int | None], None] | None = None,
        source: Any = None,
    ) -> Run:
        stop_event = stop_event or threading.Event()
        emit = on_progress or (lambda p: None)
        try:
            handle = self.submit(config) if source is None else self.submit(config, source)
        except Exception as exc:
            return lost_run(config, f"the training could not be started: {first_line(exc, 300)}")
        stop_sent = False
        try:
            while True:
                if stop_event.is_set() and not stop_sent:
                    stop_sent = True
                    self.request_stop(handle)
                outcome = self.poll(handle, self.poll_seconds)
                if on_wait is not None:
                    on_wait(outcome.position)
                for event in outcome.events:
                    emit(from_event(event))
                if outcome.lost is not None:
                    return lost_run(config, outcome.lost)
                if outcome.payload is not None:
                    return run_from_payload(outcome.payload)
        except Exception as exc:  # the engine itself misbehaved: this run ends, the server carries on
            return lost_run(config, f"training failed: {first_line(exc, 300)}")
        finally:
            try:
                self.release(handle)
            except Exception:  # releasing is best effort: the run's outcome is already decided
                pass
