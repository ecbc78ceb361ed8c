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
