"""Trainings on a real local Dask cluster (a scheduler and two one-thread workers as subprocesses).

The quick tests check the pure parts (the line, the lost-worker rule, what a
queue can carry) and the missing-``distributed`` message; the slow ones run
real trainings through :class:`mlc.jobs.TrainingJob`, as the app does.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mlc import cluster, states
from mlc.cluster import WORKER_LOST, ClusterHandle, ClusterTrainer, lost_after_start, queue_places
from mlc.config import RunConfig
from mlc.job_wire import run_from_payload
from mlc.jobs import TrainingJob

ROOT = Path(__file__).resolve().parents[1]
PORT = 8621  # this suite's scheduler (8620-8639 are the cluster tests' ports); 8639 is never listened on
TINY = RunConfig(epochs=2, train_size=128, val_size=32, batch_size=32)
# Long enough to be under way when a test acts on it, stopped or killed long before its end.
LONG = RunConfig(epochs=50, train_size=512, val_size=32, batch_size=16)
# Three of these overlap on two workers: the third waits for a whole run.
MEDIUM = RunConfig(epochs=3, train_size=512, val_size=32, batch_size=32)
BOOT_SECONDS = 240.0  # two workers importing TensorFlow on two busy cores


def wait_for(predicate, timeout=BOOT_SECONDS, poll=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


# -- quick: the pure parts ---------------------------------------------------------------------------------------------


def test_the_line_counts_only_trainings_not_yet_started_in_order_of_arrival():
    rows = [
        ("mlc-train-3-c", "queued", None, None),
        ("mlc-train-1-a", "processing", "tcp://w1:1", "tcp://w1:1"),
        ("mlc-train-2-b", "processing", "tcp://w2:1", "tcp://w2:1"),
        ("mlc-train-4-d", "no-worker", None, None),
        ("mlc-train-0-z", "memory", "tcp://w1:1", None),  # finished: not in line
        ("mlc-train-5-e", "processing", None, "tcp://w3:1"),  # just handed to a free worker: under way
    ]
    assert queue_places(rows) == {"mlc-train-3-c": 1, "mlc-train-4-d": 2}
    assert queue_places([]) == {}


def test_a_task_sent_to_a_busy_worker_waits_in_line():
    """Without scheduler-side queueing a worker holds the extra task: it is waiting all the same."""
    rows = [
        ("mlc-train-1-a", "processing", "tcp://w1:1", "tcp://w1:1"),
        ("mlc-train-2-b", "processing", None, "tcp://w1:1"),
    ]
    assert queue_places(rows) == {"mlc-train-2-b": 1}


@pytest.mark.parametrize(
    "state, started_on, processing_on, lost",
    [
        ("processing", "tcp://w1:1", "tcp://w1:1", False),  # training where it started
        ("processing", None, "tcp://w1:1", False),  # not started yet
        ("queued", None, None, False),  # in line
        ("queued", "tcp://w1:1", None, True),  # started, then back in line: its worker died
        ("no-worker", "tcp://w1:1", None, True),
        ("processing", "tcp://w1:1", "tcp://w2:1", True),  # run again elsewhere
        (None, "tcp://w1:1", None, True),  # the scheduler forgot it
        ("memory", "tcp://w1:1", None, False),  # finished
    ],
)
def test_a_started_training_seen_again_in_line_or_elsewhere_is_lost(state, started_on, processing_on, lost):
    assert lost_after_start(state, started_on, processing_on) is lost


def test_events_are_made_plain_for_the_queue():
    event = {"phase": "epoch", "loss": np.float32(0.25), "val": {"map": np.float64(0.5), "n": np.int64(3)}}
    out = cluster.plain([event])
    assert out == [{"phase": "epoch", "loss": 0.25, "val": {"map": 0.5, "n": 3}}]
    assert type(out[0]["val"]["map"]) is float and type(out[0]["val"]["n"]) is int


def test_the_task_function_names_the_worker_function_as_text():
    import pickle

    cloudpickle = pytest.importorskip("cloudpickle")  # comes with distributed
    work = cluster.by_name("mlc.cluster", "train_on_worker")
    blob = cloudpickle.dumps(work)
    assert b"train_on_worker" in blob and pickle.loads(blob).__name__ == "train_on_worker"
    assert cluster.by_name("os.path", "join")("a", "b") == os.path.join("a", "b")


def test_without_distributed_the_trainer_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    with pytest.raises(RuntimeError) as err:
        ClusterTrainer("tcp://127.0.0.1:8786")
    assert "\n" not in str(err.value) and "mlc[cluster]" in str(err.value) and "MLC_CLUSTER" in str(err.value)


@pytest.mark.slow  # a fresh Python that imports TensorFlow (through mlc.config)
def test_mlc_cluster_imports_no_dask_until_used():
    code = "import sys, mlc.cluster; print('distributed' in sys.modules, 'dask' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr[-2000:]


def test_the_cluster_extra_pins_what_the_tests_run_with():
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["cluster"]
    dev = (ROOT / "requirements-dev.txt").read_text().split()
    assert sorted(extra) == ["dask==2026.8.0", "distributed==2026.8.0"] and set(extra) <= set(dev)


def test_a_training_stopped_in_line_ends_stopped():
    handle = ClusterHandle(job="1-a", config=TINY, client=None, future=None, queue=None, stopped_in_line=True)
    outcome = ClusterTrainer("tcp://127.0.0.1:8786").poll(handle, 0.01)
    run = run_from_payload(outcome.payload)
    assert (run.status, run.message) == ("stopped", cluster.STOPPED_IN_LINE)


# -- slow: a real cluster ----------------------------------------------------------------------------------------------


def start_cluster(logs: Path, port: int, workers: int) -> list[subprocess.Popen]:
    """A scheduler (without mlc on its path: it needs none) and one-thread workers, each its own process group."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0")
    procs = []

    def spawn(name, *args, **extra):
        with open(logs / f"{name}.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "dask", *args],  # `dask scheduler`, `dask worker` of this Python
                    cwd=logs,
                    env={**env, **extra},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: the nanny's worker process dies with it
                )
            )

    spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    worker = ("worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1", "--nworkers", "1", "--no-dashboard")
    for i in range(workers):
        spawn(f"worker{i}", *worker, PYTHONPATH=str(ROOT))
    return procs


def kill(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    """A scheduler and two one-thread workers for the module, killed at the end."""
    pytest.importorskip("distributed")
    addr = f"tcp://127.0.0.1:{PORT}"
    procs = start_cluster(tmp_path_factory.mktemp("dask"), PORT, workers=2)
    try:
        cluster.shared_client(addr, timeout=60).wait_for_workers(2, timeout=BOOT_SECONDS)
        yield addr
    finally:
        kill(procs)


def train(address, config, **kwargs):
    return TrainingJob(config, trainer=ClusterTrainer(address, **kwargs)).start()


def names_left(address):
    """Every mlc-* name the scheduler still holds: tasks, queues, variables, events."""

    def look(dask_scheduler):
        ext = dask_scheduler.extensions
        names = [*dask_scheduler.tasks, *ext["queues"].queues, *ext["variables"].variables, *ext["events"]._events]
        return sorted(str(n) for n in names if str(n).startswith("mlc-"))

    return cluster.shared_client(address).run_on_scheduler(look)


@pytest.mark.slow
def test_a_tiny_run_trains_on_the_cluster_with_progress_for_every_batch_and_epoch(address):
    from mlc.training import predict_probabilities

    job = train(address, TINY)
    assert job.join(timeout=BOOT_SECONDS)
    snap = job.snapshot()
    assert snap.state is states.JobState.FINISHED, snap.message
    batches = TINY.train_size // TINY.batch_size
    assert [b["step"] for b in snap.batch_history] == list(range(1, TINY.epochs * batches + 1))
    assert [row["epoch"] for row in snap.epoch_history] == [1, 2]
    run = snap.run
    assert run.val_probabilities.shape == (TINY.val_size, TINY.num_classes)
    x = np.zeros((3, TINY.image_size, TINY.image_size, 3), dtype="uint8")
    assert predict_probabilities(run.model, x).shape == (3, TINY.num_classes)
    assert wait_for(lambda: not names_left(address), timeout=30), names_left(address)


@pytest.mark.slow
def test_stop_mid_run_ends_stopped(address):
    job = train(address, LONG)
    assert wait_for(lambda: len(job.snapshot().batch_history) >= 3)
    job.stop()
    assert job.join(timeout=120)
    snap = job.snapshot()
    assert snap.state is states.JobState.STOPPED, snap.message
    assert snap.run.epoch_history[-1]["epoch"] < LONG.epochs


@pytest.mark.slow
def test_three_runs_on_two_workers_one_waits_with_its_place_then_runs(address):
    jobs = [train(address, MEDIUM) for _ in range(3)]
    seen = {job.id: set() for job in jobs}

    def look():
        for job in jobs:
            snap = job.snapshot()
            if snap.state is states.JobState.WAITING:
                seen[job.id].add(snap.queue_position)
        return not any(job.alive for job in jobs)

    assert wait_for(look, timeout=3 * BOOT_SECONDS, poll=0.05)
    snaps = [job.snapshot() for job in jobs]
    assert [s.state for s in snaps] == [states.JobState.FINISHED] * 3, [s.message for s in snaps]
    waited = [job for job in jobs if seen[job.id]]
    assert len(waited) == 1 and seen[waited[0].id] == {1}, seen
    assert len(waited[0].snapshot().batch_history) == MEDIUM.epochs * (MEDIUM.train_size // MEDIUM.batch_size)


@pytest.mark.slow
def test_stop_while_waiting_in_the_clusters_line_cancels_it(address):
    busy = [train(address, LONG) for _ in range(2)]
    assert wait_for(lambda: all(len(job.snapshot().batch_history) >= 1 for job in busy))
    waiting = train(address, TINY)
    assert wait_for(lambda: waiting.snapshot().queue_position == 1)
    assert waiting.snapshot().state is states.JobState.WAITING
    waiting.stop()
    assert waiting.join(timeout=60)
    snap = waiting.snapshot()
    assert (snap.state, snap.message, snap.batch_history) == (states.JobState.STOPPED, cluster.STOPPED_IN_LINE, [])
    for job in busy:
        job.stop()
    assert all(job.join(timeout=120) for job in busy)
    assert [job.snapshot().state for job in busy] == [states.JobState.STOPPED] * 2
    assert wait_for(lambda: not names_left(address), timeout=30), names_left(address)


@pytest.mark.slow
def test_a_worker_killed_mid_run_fails_that_run_and_the_cluster_carries_on(address):
    client = cluster.shared_client(address)
    job = train(address, LONG)
    assert wait_for(lambda: len(job.snapshot().batch_history) >= 3)

    def running_on(dask_scheduler):
        return [
            ts.processing_on.address
            for key, ts in dask_scheduler.tasks.items()
            if str(key).startswith("mlc-train-") and ts.processing_on is not None
        ]

    (worker,) = client.run_on_scheduler(running_on)
    os.kill(client.run(os.getpid)[worker], signal.SIGKILL)
    assert job.join(timeout=120)
    snap = job.snapshot()
    assert snap.state is states.JobState.FAILED and snap.message == WORKER_LOST
    client.wait_for_workers(2, timeout=BOOT_SECONDS)  # the worker's nanny starts a fresh one
    after = train(address, TINY)
    assert after.join(timeout=BOOT_SECONDS)
    assert after.snapshot().state is states.JobState.FINISHED, after.snapshot().message
    assert wait_for(lambda: not names_left(address), timeout=30), names_left(address)  # the killed run's too


@pytest.mark.slow
def test_a_second_attempt_of_a_started_training_fails_at_once(address):
    """What a worker does when Dask runs a training again after its first worker died: no second training."""
    from distributed import Variable

    client = cluster.shared_client(address)
    job = f"{time.time_ns()}-rerun"
    Variable(cluster.STARTED_PREFIX + job, client=client).set("tcp://127.0.0.1:1")  # the first attempt's mark
    work = cluster.by_name("mlc.cluster", "train_on_worker")
    future = client.submit(work, TINY.to_dict(), job, key=cluster.TASK_PREFIX + job, pure=False)
    run = run_from_payload(future.result(timeout=BOOT_SECONDS))
    assert (run.status, run.message, run.batch_history) == ("failed", WORKER_LOST, [])
    Variable(cluster.STARTED_PREFIX + job, client=client).delete()


@pytest.mark.slow
def test_a_training_nobody_waits_for_any_more_stops_and_frees_its_worker(address):
    """A web server that goes away releases its tasks; Dask cannot kill the thread, so the training stops itself."""
    client = cluster.shared_client(address)
    trainer = ClusterTrainer(address)
    handle = trainer.submit(LONG)
    assert wait_for(lambda: trainer.poll(handle, 0.2).events or handle.started)
    trainer.release(handle)  # cancels the task, as a closed client would

    def executing(dask_worker):
        return dask_worker.state.executing_count

    assert wait_for(lambda: sum(client.run(executing).values()) == 0, timeout=60)


@pytest.mark.slow
def test_a_scheduler_gone_mid_run_fails_the_run_with_one_line(tmp_path):
    """Its own cluster (one worker), whose scheduler is killed while a training runs: no hung job."""
    pytest.importorskip("distributed")
    port = PORT + 1
    procs = start_cluster(tmp_path, port, workers=1)
    try:
        addr = f"tcp://127.0.0.1:{port}"
        cluster.shared_client(addr, timeout=60).wait_for_workers(1, timeout=BOOT_SECONDS)
        job = train(addr, LONG)
        assert wait_for(lambda: len(job.snapshot().batch_history) >= 3)
        os.killpg(procs[0].pid, signal.SIGKILL)
        assert job.join(timeout=120)
        snap = job.snapshot()
        assert snap.state is states.JobState.FAILED and "\n" not in snap.message and addr in snap.message
    finally:
        kill(procs)


@pytest.mark.slow
def test_an_unreachable_cluster_fails_the_run_with_one_line():
    job = train("tcp://127.0.0.1:8639", TINY, connect_seconds=2)
    assert job.join(timeout=60)
    snap = job.snapshot()
    assert snap.state is states.JobState.FAILED
    assert "\n" not in snap.message and "tcp://127.0.0.1:8639" in snap.message and "did not answer" in snap.message
