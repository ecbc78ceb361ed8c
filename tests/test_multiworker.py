"""Two real workers on loopback: ``--device multiworker`` (MultiWorkerMirroredStrategy from TF_CONFIG).

Each test starts two worker processes on 127.0.0.1 with free ports and a
``TF_CONFIG`` each (task 0 and 1). The TF_CONFIG checks themselves are unit
tests in test_devices.py / test_cli.py. A worker waits for the others inside
TensorFlow without answering Ctrl-C or SIGTERM, so a stuck pair is killed
(SIGKILL) at the timeout; a port taken between choosing and binding it
("Could not start gRPC server") gets one retry with new ports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180
ARGS = ["--epochs", "1", "--train-size", "256", "--val-size", "64", "--batch-size", "32"]
PORT_TAKEN = "Could not start gRPC server"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_workers(argv_for, n: int = 2) -> list[subprocess.CompletedProcess]:
    """Run ``argv_for(index)`` as n workers of one loopback cluster; their completed processes, in task order.

    Output goes to files (no pipe can fill up while we wait for the others);
    a worker that exits early because its port was taken ends the attempt at
    once, since the others would wait for it forever.
    """
    for attempt in (1, 2):
        workers = [f"127.0.0.1:{p}" for p in free_ports(n)]
        with tempfile.TemporaryDirectory(prefix="mlc-workers-") as scratch:
            procs, files = [], []
            for index in range(n):
                env = {
                    **os.environ,
                    "TF_CPP_MIN_LOG_LEVEL": "2",
                    "PYTHONPATH": str(ROOT),
                    "CUDA_VISIBLE_DEVICES": "",
                    "TF_CONFIG": json.dumps(
                        {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
                    ),
                }
                out = open(Path(scratch) / f"{index}.out", "w+")
                err = open(Path(scratch) / f"{index}.err", "w+")
                files.append((out, err))
                procs.append(subprocess.Popen(argv_for(index), cwd=ROOT, env=env, stdout=out, stderr=err, text=True))
            deadline = time.monotonic() + TIMEOUT
            port_taken = False
            try:
                while time.monotonic() < deadline and any(p.poll() is None for p in procs):
                    port_taken = any(
                        p.poll() is not None and PORT_TAKEN in Path(e.name).read_text()
                        for p, (_, e) in zip(procs, files)
                    )
                    if port_taken:
                        break
                    time.sleep(0.2)
            finally:
                for proc in procs:
                    if proc.poll() is None:
                        proc.kill()  # SIGKILL: a worker waiting for the cluster ignores SIGTERM
                    proc.wait()
            results = []
            for proc, (out, err) in zip(procs, files):
                out.close()
                err.close()
                results.append(
                    subprocess.CompletedProcess(
                        proc.args, proc.returncode, Path(out.name).read_text(), Path(err.name).read_text()
                    )
                )
        port_taken = port_taken or any(PORT_TAKEN in r.stderr for r in results)
        if port_taken and attempt == 1:
            continue
        if any(r.returncode < 0 for r in results):
            stderr = "\n---\n".join(r.stderr[-2000:] for r in results)
            pytest.fail(f"the workers did not finish within {TIMEOUT} s and were killed:\n{stderr}")
        return results
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- the data split
SHARD_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from mlc import devices, training

    strategy = devices.multiworker_strategy()  # first TensorFlow work of the process
    n, batch = 70, 16
    x = np.zeros((n, 2, 2, 3), np.uint8)
    y = np.arange(n, dtype=np.float32)[:, None]  # each sample's target is its index
    dataset = strategy.experimental_distribute_dataset(training.training_dataset(x, y, batch, seed=3))
    epochs = []
    for epoch in range(2):
        epochs.append([
            [int(v) for t in strategy.experimental_local_results(yb) for v in t.numpy().ravel()]
            for _, yb in dataset
        ])
    # device listing still works once the strategy runs, and counts this worker's devices only
    # (TensorFlow now also lists the other worker's CPU)
    listed = [o.id for o in devices.list_devices()]
    print(json.dumps({"epochs": epochs, "listed": listed, "local": devices.replicas("mirrored"),
                      "replicas": devices.replicas("multiworker")}))
    """
)


@pytest.mark.slow
def test_each_global_batch_is_split_over_the_workers_without_overlap():
    """AutoShardPolicy.DATA: same shuffled order on both workers, disjoint halves of each batch."""
    procs = start_workers(lambda index: [sys.executable, "-c", SHARD_SCRIPT])
    for proc in procs:
        assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(p.stdout.strip().splitlines()[-1]) for p in procs]
    for record in records:
        assert "multiworker" not in record["listed"] and record["listed"][0] == "cpu"
        assert record["replicas"] == 2 and record["local"] == 1
    seen = [r["epochs"] for r in records]
    for epoch in range(2):
        w0, w1 = seen[0][epoch], seen[1][epoch]
        assert len(w0) == len(w1) == 5  # ceil(70 / 16) steps on each worker, not twice as many
        assert [len(b) for b in w0] == [len(b) for b in w1] == [8, 8, 8, 8, 3]  # 16 -> 8 + 8; the last 6 -> 3 + 3
        flat0 = [i for b in w0 for i in b]
        flat1 = [i for b in w1 for i in b]
        assert not set(flat0) & set(flat1)
        assert sorted(flat0 + flat1) == list(range(70))
    assert seen[0][0] != seen[0][1]  # reshuffled each epoch (in step on both workers)


# ---------------------------------------------------------------- the CLI on two workers
@pytest.fixture(scope="module")
def cli_pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("multiworker")
    procs = start_workers(
        lambda index: [
            sys.executable,
            "-m",
            "mlc",
            "train",
            "--device",
            "multiworker",
            "--json",
            *ARGS,
            "--out",
            str(root / f"out{index}"),
        ]
    )
    return procs, root


@pytest.mark.slow
def test_both_workers_finish_and_print_one_json_object(cli_pair):
    procs, _ = cli_pair
    for index, proc in enumerate(procs):
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        assert proc.stdout.strip().count("\n") == 0
        summary = json.loads(proc.stdout)["summary"]
        assert summary["status"] == "finished", summary["message"]
        assert summary["device"] == f"2 workers (MultiWorkerMirrored), task {index}"


@pytest.mark.slow
def test_the_global_batch_is_split_not_repeated(cli_pair):
    procs, root = cli_pair
    for proc in procs:
        summary = json.loads(proc.stdout)["summary"]
        assert summary["steps"] == 256 // 32  # ceil(train_size / batch_size) global steps, on each worker
        assert summary["samples_seen"] == 256
    saved = json.loads((root / "out0" / "run.json").read_text())
    assert [b["batch"] for b in saved["batch_history"]] == list(range(1, 9))


@pytest.mark.slow
def test_synchronous_all_reduce_keeps_the_workers_identical(cli_pair):
    procs, _ = cli_pair
    first, second = (json.loads(p.stdout) for p in procs)
    loss0, loss1 = first["history"][-1]["loss"], second["history"][-1]["loss"]
    assert abs(loss0 - loss1) <= 1e-6  # the loss of each global batch is all-reduced: one number
    # same weights (and BatchNorm statistics) on both: the same validation scores
    assert abs(first["history"][-1]["val_loss"] - second["history"][-1]["val_loss"]) <= 1e-6
    assert first["report"]["map"] == pytest.approx(second["report"]["map"], abs=1e-6)
    assert first["config"] == second["config"]


@pytest.mark.slow
def test_only_the_chief_writes_outputs(cli_pair):
    procs, root = cli_pair
    assert (root / "out0" / "model.keras").is_file() and (root / "out0" / "run.json").is_file()
    assert not (root / "out1").exists()
    assert "saved" in procs[0].stderr
    assert "only the chief worker (task 0) writes outputs" in procs[1].stderr


# ---------------------------------------------------------------- the loop itself, on one replica (no cluster)
def _one_replica_training(loop: bool, stop_after: int | None = None):
    """(callback rows, weights after epoch 1) of two epochs with ``fit`` or with mlc.multiworker's loop."""
    import keras
    import numpy as np
    import tensorflow as tf

    from mlc import models, training
    from mlc.config import RunConfig
    from mlc.multiworker import fit_multiworker
    from mlc.states import StopReason

    config = RunConfig(epochs=2, train_size=80, val_size=8, batch_size=32, image_size=32)  # a ragged last batch
    (x, y), _ = training.make_data(config, dtype="uint8")

    class Recorder(keras.callbacks.Callback):
        stopped = StopReason.NONE

        def __init__(self):
            super().__init__()
            self.rows, self.weights = [], None

        def on_train_batch_end(self, batch, logs=None):
            self.rows.append(("batch", batch, float(logs["loss"])))
            if stop_after is not None and batch == stop_after:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.rows.append(("epoch", epoch, float(logs["loss"])))
            if epoch == 0:
                self.weights = [np.asarray(v) for v in self.model.weights]

    keras.utils.set_random_seed(config.seed)
    loss = config.make_loss()
    model = models.build(config.model, config.num_classes, config.image_size)
    model.compile(optimizer=keras.optimizers.Adam(training.learning_rate(config)), loss=loss)
    dataset = training.training_dataset(x, y, config.batch_size, config.seed)
    recorder = Recorder()
    if loop:
        fit_multiworker(model, loss, dataset, tf.distribute.get_strategy(), config, recorder)
    else:
        model.fit(dataset, epochs=config.epochs, verbose=0, shuffle=False, callbacks=[recorder])
    return recorder


def test_the_loop_trains_like_fit_on_one_replica():
    import numpy as np

    fit, loop = _one_replica_training(False), _one_replica_training(True)
    assert [r[:2] for r in loop.rows] == [r[:2] for r in fit.rows]  # the same hooks in the same order
    first_epoch = slice(0, 4)  # 3 batches (32 + 32 + 16) and the epoch end
    np.testing.assert_allclose([r[2] for r in loop.rows[first_epoch]], [r[2] for r in fit.rows[first_epoch]], rtol=1e-5)
    for got, want in zip(loop.weights, fit.weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_stop_on_this_worker_ends_the_loop_after_that_batch():
    from mlc.states import StopReason

    recorder = _one_replica_training(True, stop_after=0)
    assert [r[:2] for r in recorder.rows] == [("batch", 0), ("epoch", 0)]
    assert recorder.stopped is StopReason.NONE  # this worker asked: no peer to blame
