"""Tests for :mod:`mlc.devices` on this CPU-only machine, plus the multi-device path.

Device configuration is process-wide and frozen once TensorFlow starts, so the
multi-device test splits the CPU into two logical devices in a fresh subprocess.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tensorflow as tf

from mlc import devices

ROOT = Path(__file__).resolve().parents[1]
HAS_GPU = bool(tf.config.list_logical_devices("GPU"))
needs_cpu_only = pytest.mark.skipif(HAS_GPU, reason="these expectations are for a machine without GPUs")


def _by_id():
    return {d.id: d for d in devices.list_devices()}


# ---------------------------------------------------------------- list_devices
def test_cpu_is_first_and_available():
    options = devices.list_devices()
    assert options[0].id == "cpu"
    assert options[0].available and options[0].reason == ""
    assert all(o.label for o in options)
    assert len({o.id for o in options}) == len(options)


@needs_cpu_only
def test_gpu_listed_but_unavailable_with_a_reason():
    gpu = _by_id()["gpu:0"]
    assert not gpu.available
    assert gpu.reason.strip() and "\n" not in gpu.reason
    assert "GPU" in gpu.reason


@needs_cpu_only
def test_mirrored_listed_but_unavailable_with_a_reason():
    mirrored = _by_id()["mirrored"]
    assert not mirrored.available
    assert mirrored.reason.strip() and "\n" not in mirrored.reason


def test_available_options_have_no_reason_and_unavailable_ones_do():
    for option in devices.list_devices():
        assert bool(option.reason) != option.available, option


@needs_cpu_only
def test_listed_availability_agrees_with_check_device():
    for option in devices.list_devices():
        if option.available:
            devices.check_device(option.id)
        else:
            with pytest.raises(ValueError):
                devices.check_device(option.id)


# ---------------------------------------------------------------- check_device / placement
def test_check_cpu_passes():
    assert devices.check_device("cpu") is None


@needs_cpu_only
@pytest.mark.parametrize("device", ["gpu:0", "gpu:3"])
def test_missing_gpu_names_what_is_available(device):
    with pytest.raises(ValueError) as info:
        devices.check_device(device)
    message = str(info.value)
    assert device in message
    assert "choose one of: cpu" in message


@needs_cpu_only
def test_mirrored_needs_several_devices():
    with pytest.raises(ValueError, match="mirrored"):
        devices.check_device("mirrored")


@pytest.mark.parametrize("device", ["tpu", "gpu", "CPU", ""])
def test_unknown_device_is_refused(device):
    with pytest.raises(ValueError, match="device must be"):
        devices.check_device(device)


def test_placement_cpu_places_ops_on_the_cpu():
    with devices.placement("cpu") as strategy:
        assert strategy is None
        value = tf.constant([1.0, 2.0]) * 2.0
    assert "CPU:0" in value.device
    assert value.numpy().tolist() == [2.0, 4.0]


@needs_cpu_only
@pytest.mark.parametrize("device", ["gpu:0", "mirrored", "tpu"])
def test_placement_refuses_unusable_devices(device):
    with pytest.raises(ValueError):
        with devices.placement(device):
            pytest.fail("the body must not run")


def test_describe_and_replicas_single_device():
    assert devices.describe("cpu") == "CPU"
    assert devices.describe("gpu:1") == "GPU 1"
    assert devices.replicas("cpu") == 1
    assert devices.replicas("gpu:0") == 1


@needs_cpu_only
def test_describe_mirrored_counts_cpus():
    assert devices.describe("mirrored") == f"{len(tf.config.list_logical_devices('CPU'))} × CPU (mirrored)"


# ---------------------------------------------------------------- multi-device in a subprocess
MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, math
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from mlc import devices
    from mlc.config import RunConfig
    from mlc.training import train

    devices.check_device("mirrored")
    with devices.placement("mirrored") as strategy:
        in_sync = strategy.num_replicas_in_sync
        kind = type(strategy).__name__
    run = train(RunConfig(device="mirrored", epochs=1, train_size=128, val_size=64, batch_size=32))
    print(json.dumps({
        "status": run.status,
        "message": run.message,
        "replicas": devices.replicas("mirrored"),
        "in_sync": in_sync,
        "strategy": kind,
        "run_device": run.device,
        "batch_losses": [b["loss"] for b in run.batch_history],
        "epoch_loss": run.epoch_history[-1]["loss"] if run.epoch_history else None,
        "val_shape": list(run.val_probabilities.shape) if run.val_probabilities is not None else None,
        "has_report": run.report is not None,
    }))
    """
)


def test_mirrored_training_over_two_logical_cpus():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished", result["message"]
    assert result["replicas"] == 2
    assert result["in_sync"] == 2
    assert result["strategy"] == "MirroredStrategy"
    assert result["run_device"] == "2 × CPU (mirrored)"
    losses = result["batch_losses"]
    assert len(losses) == 128 // 32
    assert all(math.isfinite(v) and v > 0 for v in losses)
    assert math.isfinite(result["epoch_loss"])
    # per-batch losses recovered from Keras' running mean are consistent under the strategy too
    assert result["epoch_loss"] == pytest.approx(sum(losses) / len(losses), rel=1e-5)
    assert result["val_shape"] == [64, 5]
    assert result["has_report"]


# ---------------------------------------------------------------- multiworker: TF_CONFIG checks (no cluster needed)
WORKERS = ["127.0.0.1:2222", "127.0.0.1:2223"]


def tf_config(cluster=None, task=None) -> str:
    return json.dumps(
        {
            "cluster": {"worker": WORKERS} if cluster is None else cluster,
            "task": {"type": "worker", "index": 0} if task is None else task,
        }
    )


BAD_TF_CONFIGS = [
    (None, "not set"),
    ("  ", "not set"),
    ("{'cluster': 1}", "not valid JSON"),
    ("[1, 2]", "must be a JSON object, got list"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), "no 'cluster' object"),
    (tf_config(cluster={}), "2 or more 'worker' addresses, got none"),
    (tf_config(cluster={"worker": ["127.0.0.1:2222"]}), "2 or more 'worker' addresses"),
    (tf_config(cluster={"worker": "127.0.0.1:2222,127.0.0.1:2223"}), "2 or more 'worker' addresses"),
    (tf_config(cluster={"worker": WORKERS, "ps": ["127.0.0.1:2224"]}), "only have 'worker' tasks"),
    (tf_config(cluster={"chief": ["127.0.0.1:2224"], "worker": WORKERS}), "worker 0 is the chief"),
    (tf_config(cluster={"worker": ["127.0.0.1", "127.0.0.1:2223"]}), "worker 0 must be 'host:port'"),
    (tf_config(cluster={"worker": ["127.0.0.1:2222", "127.0.0.1:99999"]}), "worker 1 must be 'host:port'"),
    (tf_config(cluster={"worker": ["127.0.0.1:2222", 2223]}), "worker 1 must be 'host:port'"),
    (tf_config(cluster={"worker": ["127.0.0.1:2222", "127.0.0.1:2222"]}), "same worker address twice"),
    (json.dumps({"cluster": {"worker": WORKERS}}), "no 'task' object"),
    (tf_config(task={"type": "chief", "index": 0}), "task type must be 'worker', got 'chief'"),
    (
        tf_config(task={"type": "worker", "index": 2}),
        r"task index must be a whole number from 0 to 1, got 2 \(the cluster has 2 workers\)",
    ),
    (tf_config(task={"type": "worker", "index": -1}), "task index must be"),
    (tf_config(task={"type": "worker", "index": "0"}), "task index must be"),
    (tf_config(task={"type": "worker", "index": True}), "task index must be"),
    (tf_config(task={"type": "worker"}), "got None"),
]


@pytest.mark.parametrize("value, expected", BAD_TF_CONFIGS, ids=[e for _, e in BAD_TF_CONFIGS])
def test_multiworker_names_what_is_wrong_with_tf_config(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ValueError, match=expected) as info:
        devices.check_device("multiworker")
    message = str(info.value)
    assert "TF_CONFIG" in message and "\n" not in message
    # the describe fallback never raises (it labels a run, the check above refuses it)
    assert devices.describe("multiworker") == "MultiWorkerMirrored (TF_CONFIG missing or invalid)"


def test_missing_tf_config_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError) as info:
        devices.check_device("multiworker")
    message = str(info.value)
    assert "device 'multiworker' needs the environment variable TF_CONFIG" in message
    assert '"task": {"type": "worker", "index": 0}' in message  # an example to copy


@pytest.mark.parametrize("index", [0, 1])
def test_valid_tf_config_passes_and_names_the_task(monkeypatch, index):
    extra = {"rpc_layer": "grpc"}  # keys TensorFlow reads are left alone
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({**json.loads(tf_config(task={"type": "worker", "index": index})), **extra})
    )
    assert devices.check_device("multiworker") is None
    cluster = devices.cluster_from_tf_config()
    assert cluster == devices.Cluster(tuple(WORKERS), index)
    assert cluster.is_chief is (index == 0)
    assert devices.is_chief("multiworker") is (index == 0)
    assert devices.is_chief("cpu") and devices.is_chief("mirrored")
    assert devices.describe("multiworker") == f"2 workers (MultiWorkerMirrored), task {index}"


@needs_cpu_only
def test_multiworker_replicas_are_one_per_worker_on_cpus(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config(cluster={"worker": WORKERS + ["127.0.0.1:2224"]}))
    assert devices.replicas("multiworker") == 3


def test_multiworker_is_never_offered_by_list_devices(monkeypatch):
    """The app's device picker is list_devices(): multiworker is for the command line only."""
    monkeypatch.setenv("TF_CONFIG", tf_config())
    assert "multiworker" not in {o.id for o in devices.list_devices()}
    monkeypatch.delenv("TF_CONFIG")
    assert "multiworker" not in {o.id for o in devices.list_devices()}


# ---------------------------------------------------------------- multiworker: creation order (subprocess)
LATE_STRATEGY_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # the runtime has started: too late for collective ops
    from mlc import devices
    from mlc.config import RunConfig
    from mlc.training import train

    try:
        devices.multiworker_strategy()
        error = None
    except RuntimeError as exc:
        error = str(exc)
    run = train(RunConfig(device="multiworker", epochs=1, train_size=64, val_size=32, batch_size=32))
    print(json.dumps({"error": error, "status": run.status, "message": run.message}))
    """
)


def test_multiworker_strategy_after_tensorflow_started_explains_the_order():
    """TF 2.21 configures collective ops at startup: a late strategy is refused with how to fix it."""
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": 0}}
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(ROOT),
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CONFIG": json.dumps(config),
    }
    proc = subprocess.run(
        [sys.executable, "-c", LATE_STRATEGY_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "before TensorFlow runs any op" in result["error"]
    assert "mlc.devices.multiworker_strategy() first thing" in result["error"]
    # train() keeps its contract: a failed run with the same one-line reason, no exception
    assert result["status"] == "failed"
    assert "before TensorFlow runs any op" in result["message"]


# ---------------------------------------------------------------- the device picker
def test_option_label_marks_unavailable_options():
    for option in devices.list_devices():
        label = devices.option_label(option)
        assert label.startswith(option.label) and label.endswith(" — unavailable") is (not option.available)


def test_device_problem_for_every_listed_option_and_an_unlisted_one():
    options = devices.list_devices()
    for option in options:
        problem = devices.device_problem(option.id, options)
        assert (problem is None) is option.available
        if problem:
            assert problem == f"{option.label} is unavailable: {option.reason}"
    assert devices.device_problem("multiworker", options) == "device 'multiworker' is not offered by this server"
