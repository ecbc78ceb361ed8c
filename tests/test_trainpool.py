"""Tests for :mod:`mlc.trainpool`: trainings in warm worker processes, and everything that can go wrong there.

The quick part needs no worker process (an empty pool). The rest share one pool of
two workers (spawning one imports TensorFlow, several seconds) and are marked slow.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from mlc.config import RunConfig
from mlc.job_wire import WORKER_LOST
from mlc.jobs import SessionJobs, TrainingJob
from mlc.states import JobState
from mlc.trainpool import PoolTrainer, WorkerPool

TINY = RunConfig(epochs=2, train_size=64, val_size=32, batch_size=32)
#: Long enough to act on mid-run (64 batches an epoch); every such run is stopped or killed early.
LONG = RunConfig(epochs=2, train_size=2048, val_size=32, batch_size=32)


def explode(record, send, stop_event):
    """A worker-side serving function that raises (resolved in the worker as ``<this module>:explode``)."""
    raise RuntimeError("boom\nsecond line")


def wait_for(condition, what: str, seconds: float = 120.0) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after ``seconds`` (a guard, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def training(job: TrainingJob) -> bool:
    snap = job.snapshot()
    return snap.progress is not None and snap.progress.phase == "batch"


# ---------------------------------------------------------------- quick: no worker process
def test_stop_while_waiting_for_a_worker_ends_the_run_stopped():
    pool = WorkerPool(size=1, start=False)  # no worker: the run waits for one
    job = TrainingJob(TINY, trainer=PoolTrainer(pool)).start()
    wait_for(lambda: job.snapshot().state is JobState.RUNNING, "the job to wait for a worker")
    job.stop()
    assert job.join(30)
    snap = job.snapshot()
    assert snap.state is JobState.STOPPED and snap.message == "stopped while waiting for a free worker"
    assert pool.stats()["runs_served"] == 0


def test_a_closed_pool_fails_a_run_with_one_line_and_no_exception():
    pool = WorkerPool(size=1, start=False)
    pool.close()
    run = PoolTrainer(pool)(TINY)
    assert run.status == "failed"
    assert run.message == "training failed: RuntimeError: the training worker pool has been closed"


def test_the_pool_refuses_a_size_it_cannot_use():
    with pytest.raises(ValueError, match="size must be a whole number from 1 to 64, got 0"):
        WorkerPool(size=0, start=False)


# ---------------------------------------------------------------- real workers (one shared pool)
@pytest.fixture(scope="module")
def pool():
    pool = WorkerPool(size=2, runs_per_worker=100)
    assert pool.wait_ready(180), "the workers did not import TensorFlow in time"
    yield pool
    pool.close()
    assert pool.stats()["alive"] == 0


@pytest.mark.slow
def test_progress_arrives_for_every_batch_and_epoch_and_the_run_comes_back_whole(pool):
    events = []
    run = PoolTrainer(pool)(TINY, on_progress=events.append)
    assert run.status == "finished", run.message
    phases = [p.phase for p in events]
    assert phases[0] == "data" and phases[-1] == "done"
    assert phases.count("batch") == 2 * 2 and phases.count("epoch") == 2
    assert [(p.epoch, p.batch) for p in events if p.phase == "batch"] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert len(run.epoch_history) == 2 and run.report is not None
    assert len(run.gradients) == 2 * 2 * 5  # the gradient microscope crossed too: epochs x (train, probe) x tags
    assert run.val_probabilities.shape == (32, 5) and run.model is not None
    import numpy as np

    assert run.model(np.zeros((2, 64, 64, 3), np.float32)).shape == (2, 5)  # the model came back as a logits model


@pytest.mark.slow
def test_stop_after_the_first_batch_ends_the_run_within_a_few_batches(pool):
    stop = threading.Event()

    def on_progress(p):
        if p.phase == "batch":
            stop.set()

    run = PoolTrainer(pool)(LONG, on_progress=on_progress, stop_event=stop)
    assert run.status == "stopped", run.message
    assert 1 <= len(run.batch_history) < 64  # stopped in the first epoch, long before its end
    assert len(run.epoch_history) <= 1 and run.report is not None  # the partial model is scored, as in-process


@pytest.mark.slow
def test_an_exploding_loss_fails_with_one_line(pool):
    run = PoolTrainer(pool)(TINY.replace(loss="weighted_bce", weights=(3e38,) * 5))
    assert run.status == "failed" and "loss became" in run.message and "\n" not in run.message


@pytest.mark.slow
def test_a_serving_function_that_raises_fails_the_run_and_the_worker_serves_on(pool):
    served = pool.stats()["runs_served"]
    run = PoolTrainer(pool, serve=f"{__name__}:explode")(TINY)
    assert run.status == "failed" and run.message == "training failed: RuntimeError: boom"
    stats = pool.stats()
    assert stats["runs_served"] == served + 1 and stats["lost"] == 0
    assert PoolTrainer(pool)(TINY.replace(epochs=1)).status == "finished"


@pytest.mark.slow
def test_a_killed_worker_fails_its_run_and_is_replaced(pool):
    before = pool.stats()
    job = TrainingJob(LONG, trainer=PoolTrainer(pool)).start()
    wait_for(lambda: training(job), "the first batch")
    (victim,) = pool.stats()["busy_pids"]
    os.kill(victim, signal.SIGKILL)
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state is JobState.FAILED and snap.message == WORKER_LOST
    after = pool.stats()
    assert after["lost"] == before["lost"] + 1 and victim not in after["pids"] and after["alive"] == 2
    run = PoolTrainer(pool)(TINY.replace(epochs=1))
    assert run.status == "finished", run.message


@pytest.mark.slow
def test_a_worker_is_recycled_after_its_runs(pool, monkeypatch):
    before = pool.stats()
    monkeypatch.setattr(pool, "runs_per_worker", 1)  # the worker that serves the next run retires after it
    run = PoolTrainer(pool)(TINY.replace(epochs=1))
    assert run.status == "finished", run.message
    after = pool.stats()
    assert after["recycled"] == before["recycled"] + 1
    assert len(set(after["pids"]) - set(before["pids"])) == 1 and after["alive"] == 2


@pytest.mark.slow
def test_closing_the_session_stops_its_job_in_the_worker(pool):
    session = SessionJobs(trainer=PoolTrainer(pool))
    job = session.start(LONG)
    wait_for(lambda: training(job), "the first batch")
    session.close(timeout=60)
    snap = job.snapshot()
    assert snap.state is JobState.STOPPED and snap.run is not None and len(snap.run.batch_history) < 64
    wait_for(lambda: pool.stats()["idle"] == 2, "the worker to come back")


@pytest.mark.slow
def test_two_runs_train_at_once_on_two_workers(pool):
    pool.wait_ready(180)
    jobs = [TrainingJob(LONG.replace(seed=seed), trainer=PoolTrainer(pool)).start() for seed in (1, 2)]
    wait_for(lambda: all(training(job) for job in jobs), "both jobs to train")
    stats = pool.stats()
    assert stats["busy"] == 2 and stats["idle"] == 0 and len(stats["busy_pids"]) == 2
    for job in jobs:
        job.stop()
    assert all(job.join(60) for job in jobs)
    assert [job.snapshot().state for job in jobs] == [JobState.STOPPED, JobState.STOPPED]


@pytest.mark.slow
def test_workers_run_below_the_servers_priority(pool):
    import os

    from mlc.trainpool import WORKER_NICENESS

    assert pool.wait_ready()
    for pid in pool.stats()["pids"]:
        # niceness stops at 19: a server started under `nice` gets workers as low as the system allows
        expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, pid) == expected
