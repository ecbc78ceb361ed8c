"""Background jobs: slots, stop, failure isolation, session cleanup (real tiny trainings)."""

import threading
import time

import pytest

from mlc import hosting, jobs, states
from mlc.config import RunConfig
from mlc.jobs import DEFAULT_LIMIT, LIMIT_ENV, SessionJobs, TrainingJob, TrainingSlots, limit_from_env
from mlc.training import Run

TINY = RunConfig(epochs=1, train_size=96, val_size=32, batch_size=32)
LONG = RunConfig(epochs=50, train_size=256, val_size=32, batch_size=16)


def wait_for(predicate, timeout=60.0, poll=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def test_limit_from_env():
    assert limit_from_env({}) == DEFAULT_LIMIT
    assert limit_from_env({LIMIT_ENV: " 4 "}) == 4
    for bad in ("0", "-1", "x", "65"):
        with pytest.raises(ValueError, match=LIMIT_ENV):
            limit_from_env({LIMIT_ENV: bad})


def test_the_limit_is_the_host_setting():
    """One place reads MLC_MAX_CONCURRENT_TRAININGS: the jobs' names for it are the host settings'."""
    assert LIMIT_ENV == hosting.ENV["max_concurrent_trainings"] == "MLC_MAX_CONCURRENT_TRAININGS"
    assert DEFAULT_LIMIT == hosting.HostSettings().max_concurrent_trainings
    assert limit_from_env({LIMIT_ENV: "7", "MLC_MAX_EPOCHS": "bad"}) == 7  # other settings are not its business


def test_slots_are_fair_and_bounded():
    slots = TrainingSlots(limit=1)
    stop = threading.Event()
    assert slots.acquire("a", stop)
    order = []

    def waiter(name):
        if slots.acquire(name, stop):
            order.append(name)

    threads = [threading.Thread(target=waiter, args=(n,)) for n in ("b", "c")]
    threads[0].start()
    assert wait_for(lambda: slots.position("b") == 1)
    threads[1].start()
    assert wait_for(lambda: slots.position("c") == 2)
    assert slots.running == 1 and slots.waiting == 2
    slots.release("a")
    assert wait_for(lambda: order == ["b"])
    assert slots.position("c") == 1
    slots.release("b")
    assert wait_for(lambda: order == ["b", "c"])
    slots.release("c")
    for t in threads:
        t.join(5)
    assert slots.running == 0 and slots.waiting == 0


def test_stop_while_waiting_leaves_the_line():
    slots = TrainingSlots(limit=1)
    assert slots.acquire("holder", threading.Event())
    stop = threading.Event()
    result = []
    t = threading.Thread(target=lambda: result.append(slots.acquire("w", stop)))
    t.start()
    assert wait_for(lambda: slots.position("w") == 1)
    stop.set()
    t.join(5)
    assert result == [False] and slots.waiting == 0


def test_invalid_limit():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=rf"^limit must be a whole number of at least 1, got {bad!r}$"):
            TrainingSlots(bad)


def gated_trainer(status="finished"):
    """A trainer that holds its slot until ``gate`` is set, then returns a Run with ``status`` (no TensorFlow)."""
    gate = threading.Event()

    def trainer(config, on_progress=None, stop_event=None):
        gate.wait(30)
        return Run(config, status=status)

    return trainer, gate


def test_job_states_are_job_state_members_through_the_whole_life():
    slots = TrainingSlots(limit=1)
    trainer, gate = gated_trainer()
    first = TrainingJob(TINY, slots, trainer)
    assert first.snapshot().state is states.JobState.QUEUED and first.snapshot().in_line
    first.start()
    assert wait_for(lambda: first.snapshot().state is states.JobState.RUNNING)
    running = first.snapshot()
    assert running.active and not running.in_line and running.queue_position is None
    second = TrainingJob(TINY, slots, trainer).start()
    assert wait_for(lambda: second.snapshot().state is states.JobState.WAITING)
    waiting = second.snapshot()
    assert waiting.active and waiting.in_line and waiting.queue_position == 1
    gate.set()
    assert first.join(30) and second.join(30)
    for job in (first, second):
        snap = job.snapshot()
        assert snap.state is states.JobState.FINISHED and not snap.active and not snap.in_line
        assert snap.state == "finished"  # a StrEnum member is its string: old comparisons keep working


def test_stopped_in_line_is_a_stopped_state():
    slots = TrainingSlots(limit=1)
    assert slots.acquire("holder", threading.Event())
    job = TrainingJob(TINY, slots, gated_trainer()[0]).start()
    assert wait_for(lambda: job.snapshot().state is states.JobState.WAITING)
    job.stop()
    assert job.join(30)
    snap = job.snapshot()
    assert snap.state is states.JobState.STOPPED and snap.message == "stopped while waiting for a free training slot"
    slots.release("holder")


def test_a_trainer_returning_an_unfinished_run_fails_the_job():
    trainer, gate = gated_trainer(status="running")
    gate.set()
    job = TrainingJob(TINY, trainer=trainer).start()
    assert job.join(30)
    snap = job.snapshot()
    assert snap.state is states.JobState.FAILED
    assert snap.message == (
        "training failed: ValueError: a trainer must return a run whose status is one of "
        "finished, stopped, failed, got 'running'"
    )


def test_ended_state_maps_run_statuses():
    assert [jobs.ended_state(s) for s in ("finished", "stopped", "failed")] == [
        states.JobState.FINISHED,
        states.JobState.STOPPED,
        states.JobState.FAILED,
    ]
    for bad in ("running", "imported", "queued", "done"):
        with pytest.raises(ValueError, match=repr(bad)):
            jobs.ended_state(bad)


def test_job_states_tuple_is_built_from_the_enum():
    assert jobs.JOB_STATES == tuple(states.JobState)
    assert jobs.JOB_STATES == ("queued", "waiting", "running", "finished", "stopped", "failed")


def test_job_trains_in_background_and_streams_history():
    job = TrainingJob(TINY).start()
    assert job.join(120)
    snap = job.snapshot()
    assert snap.state is states.JobState.FINISHED and not snap.active
    assert isinstance(snap.run, Run) and snap.run.report is not None
    assert [b["step"] for b in snap.batch_history] == [1, 2, 3]
    assert len(snap.epoch_history) == 1 and "val_loss" in snap.epoch_history[0]
    with pytest.raises(RuntimeError, match="already started"):
        job.start()


def test_job_stop_ends_within_a_batch_and_keeps_the_partial_run():
    job = TrainingJob(LONG).start()
    assert wait_for(lambda: len(job.snapshot().batch_history) >= 3)
    job.stop()
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state == "stopped"
    total = LONG.epochs * (LONG.train_size // LONG.batch_size)
    assert 3 <= len(snap.run.batch_history) < total
    assert snap.run.report is not None  # the partial model is scored


def test_queued_job_waits_for_a_slot_then_runs():
    slots = TrainingSlots(limit=1)
    first = TrainingJob(LONG, slots).start()
    assert wait_for(lambda: first.snapshot().state == "running")
    second = TrainingJob(TINY, slots).start()
    assert wait_for(lambda: second.snapshot().state == "waiting")
    assert second.snapshot().queue_position == 1
    first.stop()
    assert second.join(120)
    assert second.snapshot().state == "finished"
    assert first.join(60) and slots.running == 0


def test_a_failing_run_does_not_affect_another():
    def broken(config, **kwargs):
        raise RuntimeError("boom\nsecond line")

    bad = TrainingJob(TINY, trainer=broken).start()
    good = TrainingJob(TINY).start()
    assert bad.join(30) and good.join(120)
    assert bad.snapshot().state == "failed"
    assert bad.snapshot().message == "training failed: RuntimeError: boom"
    assert good.snapshot().state == "finished"


def test_nan_run_fails_with_message():
    cfg = TINY.replace(loss="weighted_bce", weights=(3e38,) * 5)
    job = TrainingJob(cfg).start()
    assert job.join(60)
    snap = job.snapshot()
    assert snap.state == "failed" and "loss became" in snap.message


def test_session_jobs_collects_bounded_runs_and_refuses_a_second_job():
    session = SessionJobs(max_runs=2)
    for seed in range(3):
        job = session.start(TINY.replace(seed=seed))
        assert job.join(120)
        assert session.collect() is job.run
        assert session.collect() is None  # once only
    assert [r.config.seed for r in session.runs] == [1, 2]
    session.start(LONG)
    with pytest.raises(RuntimeError, match="already running"):
        session.start(TINY)
    session.stop()
    assert session.job.join(60)


def test_session_close_stops_the_job_and_drops_runs():
    slots = TrainingSlots(limit=1)
    session = SessionJobs(slots)
    job = session.start(LONG)
    assert wait_for(lambda: len(job.snapshot().batch_history) >= 2)
    session.close(timeout=60)
    assert not job.alive and job.snapshot().state == "stopped"
    assert session.runs == [] and session.job is None and slots.running == 0
    with pytest.raises(RuntimeError, match="ended"):
        session.start(TINY)


def test_two_sessions_do_not_see_or_stop_each_other():
    a, b = SessionJobs(), SessionJobs()
    ja = a.start(LONG)
    jb = b.start(TINY)
    assert wait_for(lambda: len(ja.snapshot().batch_history) >= 2)
    b.stop()  # b's stop touches only b's job
    assert jb.join(120)
    assert ja.alive and ja.snapshot().state == "running"
    a.stop()
    assert ja.join(60)
    b.collect()
    a.collect()
    assert all(r.config == TINY for r in b.runs) and all(r.config == LONG for r in a.runs)


def test_a_closed_session_lets_its_models_and_data_be_freed():
    """After a visitor leaves (close), nothing of theirs stays reachable from the session
    (still alive here, as Streamlit may hold it a while) or anything global: the run and
    its model are garbage."""
    import gc
    import weakref

    session = SessionJobs()
    job = session.start(TINY)
    assert job.join(120)
    run = session.collect()
    refs = [weakref.ref(run), weakref.ref(run.model)]
    del run, job
    session.close(timeout=60)
    gc.collect()
    assert [r() for r in refs] == [None, None]


class QueueingTrainer:
    """A trainer whose engine keeps its own line: waits at place 2, then 1, then trains one batch."""

    reports_queue = True

    def __init__(self):
        self.go = threading.Event()
        self.finish = threading.Event()

    def __call__(self, config, *, on_progress, stop_event, on_wait):
        from mlc.progress import Progress

        on_wait(2)
        self.go.wait(10)
        on_wait(1)
        self.finish.wait(10)
        on_wait(None)
        on_progress(Progress("batch", 1, 1, 1, 1, 0.1, 0.5))
        return Run(config=config, status=states.RunStatus.FINISHED)


def test_a_remote_engines_line_shows_as_waiting_with_its_place():
    trainer = QueueingTrainer()
    session = SessionJobs(trainer=trainer)  # no server slots: the engine queues
    job = session.start(TINY)
    assert wait_for(lambda: job.snapshot().queue_position == 2)
    assert job.snapshot().state is states.JobState.WAITING
    trainer.go.set()
    assert wait_for(lambda: job.snapshot().queue_position == 1)
    trainer.finish.set()
    assert job.join(10)
    snap = job.snapshot()
    assert snap.state is states.JobState.FINISHED and snap.queue_position is None and len(snap.batch_history) == 1


def test_the_session_trainer_is_used_unless_start_names_another():
    calls = []

    def fake(config, *, on_progress, stop_event):
        calls.append(config.epochs)
        return Run(config=config, status=states.RunStatus.FINISHED)

    session = SessionJobs(trainer=fake)
    session.start(TINY).join(10)
    assert calls == [1]


def test_importing_jobs_does_not_start_the_engine():
    import subprocess
    import sys

    code = "import sys, mlc.jobs; print('mlc.training' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- a series: repeat over seeds
def scored_fake(gates=None):
    """A trainer that returns a scored run (it joins the session's runs) at once, or when its seed's gate opens."""
    seen = []

    def trainer(config, *, on_progress=None, stop_event=None):
        seen.append(config.seed)
        if gates is not None:
            while not gates[config.seed].wait(0.02):
                if stop_event.is_set():
                    return Run(config=config, status=states.RunStatus.STOPPED, report={"macro_f1": 0.0})
        return Run(config=config, status=states.RunStatus.FINISHED, report={"macro_f1": 0.5})

    return trainer, seen


def collect_until(session, count, timeout=30.0):
    """Collect (as the pages' polling does) until the session holds ``count`` runs and no job is alive."""

    def done():
        session.collect()
        return len(session.runs) == count and not session.job.alive

    return wait_for(done, timeout)


def test_seed_series_varies_only_the_seed():
    configs = jobs.seed_series(TINY.replace(seed=4))
    assert [c.seed for c in configs] == [4, 5, 6]
    assert all(c.replace(seed=0) == TINY.replace(seed=0) for c in configs)


def test_a_series_trains_each_seed_in_turn_and_keeps_every_run():
    trainer, seen = scored_fake()
    session = SessionJobs(trainer=trainer)
    session.start_series(jobs.seed_series(TINY.replace(seed=10)))
    assert session.series == (1, 3)
    assert collect_until(session, 3)
    assert seen == [10, 11, 12] and [r.config.seed for r in session.runs] == [10, 11, 12]
    assert session.series is None and session.pending == []


def test_the_series_shows_which_seed_runs_and_stop_drops_the_rest():
    gates = {s: threading.Event() for s in (0, 1, 2)}
    trainer, seen = scored_fake(gates)
    session = SessionJobs(trainer=trainer)
    session.start_series(jobs.seed_series(TINY.replace(seed=0)))
    gates[0].set()
    assert wait_for(lambda: session.collect() is not None)
    assert session.series == (2, 3) and session.job.alive and seen == [0, 1]
    session.stop()  # ends seed 1 and drops seed 2
    assert session.job.join(10)
    session.collect()
    assert session.pending == [] and session.series is None
    assert seen == [0, 1] and not session.job.alive
    assert [r.config.seed for r in session.runs] == [0, 1]  # the stopped one is kept, as a single run's is


def test_a_series_over_the_servers_limits_is_refused_before_its_first_run():
    trainer, seen = scored_fake()
    session = SessionJobs(trainer=trainer, settings=hosting.HostSettings(max_epochs=1))
    with pytest.raises(ValueError):
        session.start_series(jobs.seed_series(TINY.replace(epochs=2)))
    assert seen == [] and session.job is None
