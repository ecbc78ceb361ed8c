"""Devices a run can use, and the context that places a run on one.

TensorFlow's device configuration is process-wide and frozen once the runtime
starts, so a long-lived server never reconfigures devices: each run enters
:func:`placement` — ``tf.device`` for one device, a ``MirroredStrategy`` scope
for all GPUs — around building and fitting its model.

Device ids: ``"cpu"``, ``"gpu:N"`` and ``"mirrored"`` (all GPUs; on a machine
without GPUs but with several logical CPU devices — as tests create — it
mirrors over those, so the multi-device path is testable on CPU).

>>> [d.id for d in list_devices()][:1]
['cpu']
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import tensorflow as tf


@dataclass(frozen=True)
class DeviceOption:
    """One choice for the device picker: ``available`` False comes with a one-line ``reason``."""

    id: str
    label: str
    available: bool
    reason: str = ""


def _gpus() -> list[str]:
    return [d.name for d in tf.config.list_logical_devices("GPU")]


def _cpus() -> list[str]:
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def list_devices() -> list[DeviceOption]:
    """What this process can train on: the CPU, each GPU, and all GPUs mirrored.

    A GPU choice that cannot be used is listed as unavailable with the reason,
    so the UI can show it greyed out instead of hiding it.
    """
    gpus = _gpus()
    options = [DeviceOption("cpu", "CPU", True)]
    if gpus:
        for i, name in enumerate(gpus):
            details = _gpu_name(i)
            options.append(DeviceOption(f"gpu:{i}", f"GPU {i}" + (f" — {details}" if details else ""), True))
    else:
        why = (
            "TensorFlow sees no GPU in this process (no CUDA build or driver)"
            if not tf.test.is_built_with_cuda()
            else "TensorFlow was built with CUDA but found no usable GPU"
        )
        options.append(DeviceOption("gpu:0", "GPU", False, why))
    if len(gpus) >= 2:
        options.append(DeviceOption("mirrored", f"All {len(gpus)} GPUs — mirrored", True))
    else:
        options.append(
            DeviceOption("mirrored", "All GPUs — mirrored", False, f"needs 2 or more GPUs, found {len(gpus)}")
        )
    return options


def _gpu_name(index: int) -> str:
    try:
        physical = tf.config.list_physical_devices("GPU")[index]
        return tf.config.experimental.get_device_details(physical).get("device_name", "")
    except (IndexError, ValueError, RuntimeError):
        return ""


def check_device(device: str) -> None:
    """Raise ValueError if ``device`` cannot be used here, naming what can."""
    if device == "cpu":
        return
    gpus = _gpus()
    if device == "mirrored":
        if len(gpus) >= 1 or len(_cpus()) >= 2:
            return
        raise ValueError("device 'mirrored' needs GPUs (or several logical CPU devices), found none; use 'cpu'")
    if device.startswith("gpu:"):
        index = int(device.split(":", 1)[1])
        if index < len(gpus):
            return
        usable = ["cpu"] + [f"gpu:{i}" for i in range(len(gpus))]
        raise ValueError(
            f"device {device!r} is not available: TensorFlow sees {len(gpus)} GPU(s); "
            f"choose one of: {', '.join(usable)}"
        )
    raise ValueError(f"device must be 'cpu', 'gpu:N' or 'mirrored', got {device!r}")


def describe(device: str) -> str:
    """Human-readable name of where a run trains, e.g. 'CPU' or '2 × CPU (mirrored)'."""
    if device == "mirrored":
        gpus = _gpus()
        return f"{len(gpus)} × GPU (mirrored)" if gpus else f"{len(_cpus())} × CPU (mirrored)"
    if device.startswith("gpu:"):
        return f"GPU {device.split(':')[1]}"
    return "CPU"


def replicas(device: str) -> int:
    """How many copies of the model train in parallel on ``device``."""
    if device == "mirrored":
        return len(_gpus()) or len(_cpus())
    return 1


@contextlib.contextmanager
def placement(device: str) -> Iterator[tf.distribute.Strategy | None]:
    """Context that places model creation and training on ``device``.

    Yields the ``MirroredStrategy`` for ``"mirrored"`` (batches are split over
    replicas) and ``None`` for a single device.
    """
    check_device(device)
    if device == "mirrored":
        targets = _gpus() or _cpus()
        strategy = tf.distribute.MirroredStrategy(devices=targets)
        with strategy.scope():
            yield strategy
        return
    name = "/CPU:0" if device == "cpu" else f"/GPU:{device.split(':')[1]}"
    with tf.device(name):
        yield None
