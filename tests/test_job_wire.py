"""mlc.job_wire: the payload, the event batcher, and the RemoteTrainer contract (with a fake engine)."""

import threading

import numpy as np
import pytest

from mlc import job_wire
from mlc.config import RunConfig
from mlc.job_wire import EventBatcher, Outcome, RemoteTrainer, lost_run, run_from_payload, run_payload
from mlc.progress import Progress, to_event
from mlc.runs import Run
from mlc.states import RunStatus

TINY = RunConfig(epochs=1, train_size=64, val_size=32, batch_size=32)


def _record_run(status=RunStatus.FINISHED) -> Run:
    run = Run(config=TINY, status=status, message="done", train_seconds=1.5, wall_seconds=2.0, samples_seen=64)
    run.batch_history = [{"epoch": 1, "batch": 1, "step": 1, "loss": 0.7, "seconds": 0.5}]
    run.val_labels = np.eye(32, 5, dtype=np.float32)
    run.val_probabilities = np.full((32, 5), 0.25, np.float32)
    return run


def test_a_payload_without_a_model_keeps_record_arrays_and_id():
    run = _record_run()
    back = run_from_payload(run_payload(run))
    assert back.id == run.id and back.status == RunStatus.FINISHED and back.message == "done"
    assert back.batch_history == run.batch_history and back.samples_seen == 64
    np.testing.assert_array_equal(back.val_probabilities, run.val_probabilities)
    assert back.model is None


@pytest.mark.parametrize(
    "payload, match",
    [
        ({}, "must be a mlc-run-payload mapping"),
        ("text", "must be a mlc-run-payload mapping"),
        ({"format": "mlc-run-payload", "version": 99}, "version 1, got version 99"),
    ],
)
def test_a_foreign_payload_is_refused_with_one_line(payload, match):
    with pytest.raises(ValueError, match=match):
        run_from_payload(payload)


def test_the_batcher_holds_batches_but_sends_epochs_and_the_end_at_once():
    sent = []
    batcher = EventBatcher(sent.append, every=3600)
    for b in (1, 2):
        batcher(Progress("batch", 1, 1, b, 2, 0.1 * b, 0.5))
    assert sent == []
    batcher(Progress("epoch", 1, 1, 2, 2, 0.2, 0.4))
    batcher(Progress("batch", 2, 2, 1, 2, 0.3, 0.3))
    batcher.flush()
    assert [[e["phase"] for e in s] for s in sent] == [["batch", "batch", "epoch"], ["batch"]]


def test_with_every_zero_each_event_goes_alone():
    sent = []
    batcher = EventBatcher(sent.append, every=0)
    for b in (1, 2, 3):
        batcher(Progress("batch", 1, 1, b, 3, 0.1, 0.5))
    assert [len(s) for s in sent] == [1, 1, 1]


class FakeEngine(RemoteTrainer):
    """Scripted outcomes, one per poll; records what the trainer asked of it."""

    poll_seconds = 0.0

    def __init__(self, outcomes, fail_submit=None):
        self.outcomes, self.fail_submit = list(outcomes), fail_submit
        self.stops = self.releases = 0

    def submit(self, config):
        if self.fail_submit:
            raise ConnectionError(self.fail_submit)
        return "handle"

    def poll(self, handle, timeout):
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]

    def request_stop(self, handle):
        self.stops += 1

    def release(self, handle):
        self.releases += 1


def _batch(b):
    return to_event(Progress("batch", 1, 1, b, 2, 0.1 * b, 0.5))


def test_events_become_progress_calls_and_the_payload_a_run():
    run = _record_run()
    outcomes = [Outcome(position=2), Outcome(events=[_batch(1), _batch(2)]), Outcome(payload=run_payload(run))]
    engine = FakeEngine(outcomes)
    seen, waits = [], []
    back = engine(TINY, on_progress=seen.append, on_wait=waits.append)
    assert [p.batch for p in seen] == [1, 2] and back.id == run.id
    assert waits[0] == 2 and waits[-1] is None
    assert engine.releases == 1


def test_a_lost_training_is_a_failed_run_with_the_engines_line():
    engine = FakeEngine([Outcome(events=[_batch(1)]), Outcome(lost=job_wire.WORKER_LOST)])
    run = engine(TINY)
    assert run.status == RunStatus.FAILED and run.message == job_wire.WORKER_LOST and engine.releases == 1


def test_a_submit_that_fails_is_a_failed_run_not_an_exception():
    run = FakeEngine([Outcome()], fail_submit="cluster at tcp://nowhere:1 is unreachable")(TINY)
    assert run.status == RunStatus.FAILED
    assert run.message == (
        "the training could not be started: ConnectionError: cluster at tcp://nowhere:1 is unreachable"
    )


def test_a_misbehaving_engine_fails_the_run_in_one_line():
    engine = FakeEngine([Outcome(events=[{"phase": "warp"}])])
    run = engine(TINY)
    assert run.status == RunStatus.FAILED and run.message.startswith("training failed: ValueError: a progress event")
    assert "\n" not in run.message and engine.releases == 1


def test_the_stop_is_passed_on_once():
    stop = threading.Event()
    stop.set()
    engine = FakeEngine([Outcome(), Outcome(), Outcome(payload=run_payload(_record_run(RunStatus.STOPPED)))])
    run = engine(TINY, stop_event=stop)
    assert engine.stops == 1 and run.status == RunStatus.STOPPED


def test_lost_run_is_failed_with_the_message():
    run = lost_run(TINY, "gone")
    assert (run.status, run.message, run.report) == (RunStatus.FAILED, "gone", None)


def test_serve_run_refuses_a_bad_record_with_a_failed_payload():
    sent = []
    payload = job_wire.serve_run({"epochs": "many"}, sent.append, threading.Event())
    run = run_from_payload(payload)
    assert run.status == RunStatus.FAILED and run.message.startswith("the training settings were refused:")


@pytest.mark.slow
def test_serve_run_trains_here_and_its_payload_brings_a_working_model():
    sent = []
    payload = job_wire.serve_run(TINY.to_dict(), sent.extend, threading.Event())
    run = run_from_payload(payload)
    assert run.status == RunStatus.FINISHED and [e["phase"] for e in sent][-1] == "done"
    assert sum(e["phase"] == "batch" for e in sent) == 2
    from mlc.training import predict_probabilities

    probs = predict_probabilities(run.model, np.zeros((3, 64, 64, 3), np.float32))
    assert probs.shape == (3, 5)
    # the model came back exactly: same probabilities on the validation split as the worker computed
    _, (x_val, _) = __import__("mlc.training", fromlist=["make_data"]).make_data(TINY)
    np.testing.assert_allclose(predict_probabilities(run.model, x_val), run.val_probabilities, atol=1e-5)
