"""Tests for :mod:`mlc.trainers`: which trainer a server's settings choose (no worker is started here)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from mlc import trainpool
from mlc.hosting import HostSettings, settings_from
from mlc.trainers import make_trainer

ROOT = Path(__file__).resolve().parents[1]


class FakePool:
    def __init__(self, size, runs_per_worker):
        self.size, self.runs_per_worker = size, runs_per_worker


def test_threads_train_in_the_server():
    assert make_trainer(settings_from({"MLC_TRAINER": "threads"})) is None


def test_tensorboard_logs_keep_trainings_in_the_server(monkeypatch):
    monkeypatch.setattr(trainpool, "WorkerPool", FakePool)
    assert make_trainer(settings_from({"MLC_RUN_DIR": "/tmp/runs", "MLC_TENSORBOARD": "1"})) is None


def test_processes_are_the_default_a_pool_sized_by_the_settings(monkeypatch):
    monkeypatch.setattr(trainpool, "WorkerPool", FakePool)
    trainer = make_trainer(settings_from({"MLC_MAX_CONCURRENT_TRAININGS": "3", "MLC_WORKER_RUNS": "7"}))
    assert isinstance(trainer, trainpool.PoolTrainer) and not trainer.reports_queue
    assert (trainer.pool.size, trainer.pool.runs_per_worker) == (3, 7)
    assert HostSettings().trainer == "processes"


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_a_cluster_wins_over_the_trainer_setting(monkeypatch, mode):
    made = []
    fake = types.ModuleType("mlc.cluster")
    fake.ClusterTrainer = lambda address: made.append(address) or ("cluster", address)
    monkeypatch.setitem(sys.modules, "mlc.cluster", fake)
    trainer = make_trainer(HostSettings(trainer=mode, cluster="tcp://scheduler:8786"))
    assert trainer == ("cluster", "tcp://scheduler:8786") and made == ["tcp://scheduler:8786"]


@pytest.mark.slow  # a fresh Python process that imports Keras (through mlc.config)
def test_choosing_a_trainer_imports_nothing_heavy_beyond_the_run_config():
    """``mlc.config`` itself brings Keras (the losses); the pool and the choice add no TF module or Streamlit."""
    script = (
        "import sys; import mlc.job_wire; before = set(sys.modules); "
        "from mlc import trainers, trainpool; from mlc.hosting import HostSettings; "
        "trainers.make_trainer(HostSettings(trainer='threads')); "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit')))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["[]"], out.stderr[-2000:]


def test_a_cluster_that_cannot_be_used_keeps_training_here_and_says_why(monkeypatch):
    import sys

    from mlc.hosting import HostSettings
    from mlc.trainers import make_trainer

    monkeypatch.setitem(sys.modules, "mlc.cluster", None)  # as if its client library were missing
    problems: list[str] = []
    trainer = make_trainer(HostSettings(cluster="tcp://127.0.0.1:1", trainer="threads"), problems)
    assert trainer is None
    assert len(problems) == 1 and problems[0].startswith("MLC_CLUSTER 'tcp://127.0.0.1:1' not used:")
