"""Devices a run can use, and the context that places a run on one.

TensorFlow's device configuration is process-wide and frozen once the runtime
starts, so a long-lived server never reconfigures devices: each run enters
:func:`placement` — ``tf.device`` for one device, a ``MirroredStrategy`` scope
for all GPUs — around building and fitting its model.

Device ids: ``"cpu"``, ``"gpu:N"``, ``"mirrored"`` (all GPUs; on a machine
without GPUs but with several logical CPU devices — as tests create — it
mirrors over those, so the multi-device path is testable on CPU) and
``"multiworker"`` (several processes or machines described by the ``TF_CONFIG``
environment variable, ``tf.distribute.MultiWorkerMirroredStrategy``).

``"multiworker"`` is for the command line only: :func:`list_devices` never
offers it (a Streamlit server is one process whose TensorFlow runtime started
long ago), and :func:`check_device` refuses it unless ``TF_CONFIG`` describes a
cluster of 2 or more workers. TensorFlow 2.21 configures collective ops when
its runtime starts, so the strategy must exist before the first TensorFlow op
of the process: :func:`multiworker_strategy` creates it once (the CLI calls it
first thing) and :func:`placement` reuses it. Nothing in this module starts the
runtime on the ``"multiworker"`` path before that.

>>> [d.id for d in list_devices()][:1]
['cpu']
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import tensorflow as tf

from mlc import checks

#: The device id of a run spread over several worker processes (see :func:`cluster_from_tf_config`).
MULTIWORKER = "multiworker"


@dataclass(frozen=True)
class DeviceOption:
    """One choice for the device picker: ``available`` False comes with a one-line ``reason``."""

    id: str
    label: str
    available: bool
    reason: str = ""


def _gpus() -> list[str]:
    return _local(tf.config.list_logical_devices("GPU"))


def _cpus() -> list[str]:
    return _local(tf.config.list_logical_devices("CPU"))


def _local(logical) -> list[str]:
    """Names of this process's devices: once a multi-worker strategy runs, TensorFlow also lists the other workers'."""
    names = [d.name for d in logical]
    if _STRATEGY is None:
        return names
    resolver = _STRATEGY.cluster_resolver
    own = f"/job:{resolver.task_type}/replica:0/task:{resolver.task_id}/"
    return [n for n in names if "/job:" not in n or n.startswith(own)]


def list_devices() -> list[DeviceOption]:
    """What this process can train on: the CPU, each GPU, and all GPUs mirrored.

    A GPU choice that cannot be used is listed as unavailable with the reason,
    so the UI can show it greyed out instead of hiding it. ``"multiworker"`` is
    never listed: it is a command-line setup (``TF_CONFIG``), not a choice for
    a page.
    """
    gpus = _gpus()
    options = [DeviceOption("cpu", "CPU", True)]
    if gpus:
        for i in range(len(gpus)):
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
    """Raise ValueError if ``device`` cannot be used here, naming what can.

    ``"multiworker"`` is checked against ``TF_CONFIG`` only (see
    :func:`cluster_from_tf_config`), without starting TensorFlow's runtime.
    """
    if device == "cpu":
        return
    if device == MULTIWORKER:
        cluster_from_tf_config()
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
    raise ValueError(f"device must be 'cpu', 'gpu:N', 'mirrored' or 'multiworker', got {device!r}")


@dataclass(frozen=True)
class Cluster:
    """The multi-worker cluster of this process, read from ``TF_CONFIG``.

    ``workers``: the ``host:port`` of every worker, in task order; ``index``:
    this process's task index (0 is the chief, which writes the outputs).
    """

    workers: tuple[str, ...]
    index: int

    @property
    def is_chief(self) -> bool:
        return self.index == 0


_TF_CONFIG_EXAMPLE = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'


def cluster_from_tf_config(environ: Mapping[str, str] | None = None) -> Cluster:
    """Parse and check ``TF_CONFIG`` for ``"multiworker"``; ValueError names what is wrong.

    Only ``worker`` tasks are supported (worker 0 is the chief): at least 2,
    each ``host:port``, and this process's ``task`` one of them. Other keys
    (``rpc_layer``, ``environment``) are left to TensorFlow.

    >>> env = {"TF_CONFIG": '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, '
    ...                     '"task": {"type": "worker", "index": 1}}'}
    >>> cluster_from_tf_config(env)
    Cluster(workers=('127.0.0.1:2222', '127.0.0.1:2223'), index=1)
    >>> cluster_from_tf_config({})
    Traceback (most recent call last):
    ...
    ValueError: device 'multiworker' needs the environment variable TF_CONFIG ...
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "")
    fix = f"; set TF_CONFIG like {_TF_CONFIG_EXAMPLE} (one index per worker process)"
    if not text.strip():
        raise ValueError(
            "device 'multiworker' needs the environment variable TF_CONFIG describing a cluster of 2 or "
            f"more workers, but it is not set{fix}"
        )
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"TF_CONFIG is not valid JSON ({exc}){fix}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object, got {type(spec).__name__}{fix}")
    cluster = spec.get("cluster")
    if not isinstance(cluster, dict):
        raise ValueError(f"TF_CONFIG has no 'cluster' object, got {cluster!r}{fix}")
    others = sorted(k for k in cluster if k != "worker")
    if others:
        raise ValueError(
            f"TF_CONFIG's cluster may only have 'worker' tasks for MultiWorkerMirroredStrategy "
            f"(worker 0 is the chief), got {', '.join(map(repr, others))}{fix}"
        )
    workers = cluster.get("worker")
    if not isinstance(workers, list) or len(workers) < 2:
        got = "none" if workers is None else repr(workers)
        raise ValueError(f"TF_CONFIG's cluster must list 2 or more 'worker' addresses, got {got}{fix}")
    for i, address in enumerate(workers):
        host, _, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"TF_CONFIG worker {i} must be 'host:port' with a port from 1 to 65535, got {address!r}")
    if len(set(workers)) != len(workers):
        raise ValueError(f"TF_CONFIG lists the same worker address twice: {workers}; give each worker its own port")
    task = spec.get("task")
    if not isinstance(task, dict):
        raise ValueError(f"TF_CONFIG has no 'task' object saying which worker this process is, got {task!r}{fix}")
    if task.get("type") != "worker":
        raise ValueError(f"TF_CONFIG's task type must be 'worker', got {task.get('type')!r}{fix}")
    index = task.get("index")
    try:
        index = checks.whole(index, "TF_CONFIG's task index", 0, len(workers) - 1)
    except ValueError as exc:
        raise ValueError(f"{exc} (the cluster has {len(workers)} workers)") from None
    return Cluster(tuple(workers), index)


_STRATEGY: tf.distribute.MultiWorkerMirroredStrategy | None = None
_STRATEGY_LOCK = threading.Lock()


def multiworker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """This process's ``MultiWorkerMirroredStrategy``, created on the first call.

    Call it before anything else runs a TensorFlow op: TensorFlow 2.21 refuses
    to configure collective ops once its runtime has started (RuntimeError
    here, with how to fix it). Creation blocks until every worker in
    ``TF_CONFIG`` has started — and while it waits, TensorFlow holds the
    interpreter, so Ctrl-C and SIGTERM (TensorFlow takes it as a preemption
    notice) do not stop it; SIGKILL does. Collectives use RING on CPUs and
    let TensorFlow choose (NCCL) when GPUs are present.
    """
    global _STRATEGY
    with _STRATEGY_LOCK:
        if _STRATEGY is not None:
            return _STRATEGY
        cluster_from_tf_config()
        impl = tf.distribute.experimental.CommunicationImplementation
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=impl.AUTO if tf.config.list_physical_devices("GPU") else impl.RING
        )
        try:
            _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
        except RuntimeError as exc:
            if "Collective ops must be configured at program startup" not in str(exc):
                raise
            raise RuntimeError(
                "device 'multiworker' needs its MultiWorkerMirroredStrategy created before TensorFlow runs "
                "any op in this process, but TensorFlow has already started; call "
                "mlc.devices.multiworker_strategy() first thing in the process (python -m mlc train does)"
            ) from None
        return _STRATEGY


def describe(device: str) -> str:
    """Human-readable name of where a run trains, e.g. 'CPU', '2 × CPU (mirrored)' or
    '2 workers (MultiWorkerMirrored), task 0'."""
    if device == MULTIWORKER:
        try:
            cluster = cluster_from_tf_config()
        except ValueError:
            return "MultiWorkerMirrored (TF_CONFIG missing or invalid)"
        return f"{len(cluster.workers)} workers (MultiWorkerMirrored), task {cluster.index}"
    if device == "mirrored":
        gpus = _gpus()
        return f"{len(gpus)} × GPU (mirrored)" if gpus else f"{len(_cpus())} × CPU (mirrored)"
    if device.startswith("gpu:"):
        return f"GPU {device.split(':')[1]}"
    return "CPU"


def replicas(device: str) -> int:
    """How many copies of the model train in parallel on ``device``.

    For ``"multiworker"`` before its strategy exists: workers × local GPUs (or
    × 1 on CPUs), counted without starting TensorFlow's runtime.
    """
    if device == "mirrored":
        return len(_gpus()) or len(_cpus())
    if device == MULTIWORKER:
        if _STRATEGY is not None:
            return _STRATEGY.num_replicas_in_sync
        return len(cluster_from_tf_config().workers) * max(1, len(tf.config.list_physical_devices("GPU")))
    return 1


def is_chief(device: str) -> bool:
    """Whether this process writes a run's outputs: always, except on non-chief workers of ``"multiworker"``."""
    return device != MULTIWORKER or cluster_from_tf_config().is_chief


@contextlib.contextmanager
def placement(device: str) -> Iterator[tf.distribute.Strategy | None]:
    """Context that places model creation and training on ``device``.

    Yields the ``MirroredStrategy`` for ``"mirrored"`` (batches are split over
    replicas), this process's ``MultiWorkerMirroredStrategy`` for
    ``"multiworker"`` (see :func:`multiworker_strategy`; batches are split
    over every replica of every worker) and ``None`` for a single device.
    """
    check_device(device)
    if device == MULTIWORKER:
        strategy = multiworker_strategy()
        with strategy.scope():
            yield strategy
        return
    if device == "mirrored":
        targets = _gpus() or _cpus()
        strategy = tf.distribute.MirroredStrategy(devices=targets)
        with strategy.scope():
            yield strategy
        return
    name = "/CPU:0" if device == "cpu" else f"/GPU:{device.split(':')[1]}"
    with tf.device(name):
        yield None


# ---------------------------------------------------------------- the device picker
def option_label(option: DeviceOption) -> str:
    """What the picker shows for one option: its label, marked when it cannot be used.

    >>> option_label(DeviceOption("gpu:0", "GPU", False, "no GPU")), option_label(DeviceOption("cpu", "CPU", True))
    ('GPU — unavailable', 'CPU')
    """
    return option.label if option.available else f"{option.label} — unavailable"


def device_problem(device: str, options: list[DeviceOption]) -> str | None:
    """Why ``device`` cannot train here (not offered, or offered but unavailable), or None.

    >>> options = [DeviceOption("cpu", "CPU", True), DeviceOption("gpu:0", "GPU", False, "no CUDA")]
    >>> device_problem("cpu", options), device_problem("gpu:0", options), device_problem("tpu", options)
    (None, 'GPU is unavailable: no CUDA', "device 'tpu' is not offered by this server")
    """
    by_id = {o.id: o for o in options}
    if device not in by_id:
        return f"device {device!r} is not offered by this server"
    if not by_id[device].available:
        return f"{by_id[device].label} is unavailable: {by_id[device].reason}"
    return None


def matmul_gflops(seconds: float = 2.0, n: int = 1024) -> float:
    """This machine's float32 (n, n) @ (n, n) matmul rate through TensorFlow, GFLOP/s (2·n³ per product):
    the compute ceiling that benchmarks normalise by and the server's time estimates scale with
    (:func:`mlc.speed.record_gflops`). Runs for about ``seconds`` after one unmeasured product."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    mm = tf.function(lambda a, b: tf.matmul(a, b))
    mm(a, b).numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        mm(a, b).numpy()
        count += 1
    return 2.0 * n**3 * count / (time.perf_counter() - start) / 1e9
