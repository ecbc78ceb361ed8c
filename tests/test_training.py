"""Tests for :mod:`mlc.training`: the run engine on tiny real trainings.

Runs are kept tiny (a few hundred 64x64 scenes, batch 32) so the file stays fast on a
2-core CPU; one shared run (module fixture) serves the history/report/progress checks.
"""

from __future__ import annotations

import json
import math
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from mlc import losses, models
from mlc.config import RunConfig
from mlc.losses import LOSSES
from mlc.models import MODELS
from mlc.runs import BATCH_COLUMNS, EPOCH_COLUMNS
from mlc.training import RUN_STATUSES, Progress, Run, check_batches, make_data, predict_probabilities, train

# the columns the run record declares (mlc.runs), checked against what training writes
EPOCH_KEYS = set(EPOCH_COLUMNS)
BATCH_KEYS = set(BATCH_COLUMNS)
HAS_GPU = bool(tf.config.list_logical_devices("GPU"))


def tiny(**changes) -> RunConfig:
    base = dict(epochs=1, train_size=64, val_size=32, batch_size=32, image_size=32)
    return RunConfig(**{**base, **changes})


def strict_json(text: str):
    def bad(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=bad)


# 150 = 4 x 32 + 22: a ragged last batch exercises the running-mean recovery
SHARED = RunConfig(epochs=2, train_size=150, val_size=64, batch_size=32)
BATCHES = math.ceil(SHARED.train_size / SHARED.batch_size)


@pytest.fixture(scope="module")
def shared():
    progress: list[Progress] = []
    run = train(SHARED, on_progress=progress.append)
    return run, progress


# ---------------------------------------------------------------- a finished run
def test_run_finishes_with_per_batch_history(shared):
    run, _ = shared
    assert run.status == "finished" and run.message == ""
    hist = run.batch_history
    assert len(hist) == SHARED.epochs * BATCHES
    assert all(set(row) >= BATCH_KEYS for row in hist)
    assert [row["step"] for row in hist] == list(range(1, len(hist) + 1))
    assert [(row["epoch"], row["batch"]) for row in hist] == [
        (e, b) for e in range(1, SHARED.epochs + 1) for b in range(1, BATCHES + 1)
    ]
    assert all(math.isfinite(row["loss"]) and row["loss"] > 0 for row in hist)
    seconds = [row["seconds"] for row in hist]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert run.samples_seen == SHARED.epochs * SHARED.train_size


def test_run_has_per_epoch_history(shared):
    run, _ = shared
    assert [row["epoch"] for row in run.epoch_history] == list(range(1, SHARED.epochs + 1))
    for row in run.epoch_history:
        assert set(row) >= EPOCH_KEYS
        for key in EPOCH_KEYS:
            assert math.isfinite(row[key]), key
        assert 0 <= row["macro_f1"] <= 1 and 0 <= row["map"] <= 1 and 0 <= row["mae"] <= 1
        assert row["seconds"] > 0 and row["samples_per_second"] > 0
        assert row["samples_per_second"] == pytest.approx(SHARED.train_size / row["seconds"])
    elapsed = [row["elapsed"] for row in run.epoch_history]
    assert elapsed == sorted(elapsed)
    assert run.train_seconds == pytest.approx(run.batch_history[-1]["seconds"])
    assert 0 < run.train_seconds <= run.wall_seconds
    assert run.samples_per_second == pytest.approx(run.samples_seen / run.train_seconds)


def test_validation_outputs_and_report(shared):
    run, _ = shared
    probs = run.val_probabilities
    assert probs.shape == (SHARED.val_size, SHARED.num_classes) and probs.dtype == np.float32
    assert np.all((probs >= 0) & (probs <= 1))
    assert run.val_labels.shape == (SHARED.val_size, SHARED.num_classes)
    rep = run.report
    assert rep is not None
    assert [row["tag"] for row in rep["per_tag"]] == list(SHARED.classes)
    # the report scores the final model, as does the last epoch row
    last = run.epoch_history[-1]
    for key in ("map", "macro_f1", "micro_f1", "mae"):
        assert rep[key] == pytest.approx(last[key]), key
    summary = run.summary()
    assert summary["status"] == "finished" and summary["epochs_done"] == SHARED.epochs
    assert summary["map"] == rep["map"] and summary["device"] == "CPU"


def test_epoch_loss_is_batch_size_weighted_mean_of_batch_losses(shared):
    """Per-batch losses recovered from Keras' running mean add back up to each epoch's loss."""
    run, _ = shared
    sizes = [min(SHARED.batch_size, SHARED.train_size - SHARED.batch_size * (b - 1)) for b in range(1, BATCHES + 1)]
    assert sizes[-1] == 22
    for row in run.epoch_history:
        batch_losses = [b["loss"] for b in run.batch_history if b["epoch"] == row["epoch"]]
        assert np.average(batch_losses, weights=sizes) == pytest.approx(row["loss"], rel=1e-5)
        # and they are per-batch values, not the running mean itself
        assert batch_losses[-1] != pytest.approx(row["loss"], rel=1e-6)


def test_first_batch_loss_matches_an_independent_computation():
    """With one batch per epoch the first step's loss is the loss of the initial model on all data."""
    cfg = RunConfig(epochs=2, train_size=64, val_size=32, batch_size=64, image_size=32)
    initial = {}

    class RecordStart(keras.callbacks.Callback):  # the weights training starts from (prior bias included)
        def on_train_begin(self, logs=None):
            initial["weights"] = [w.copy() for w in self.model.get_weights()]

    run = train(cfg, callbacks=[RecordStart()])
    assert run.status == "finished"
    (x, y), _ = make_data(cfg, dtype="uint8")  # the engine trains on 8-bit scenes
    x = x.astype(np.float32) / 255.0
    model = models.build(cfg.model, cfg.num_classes, cfg.image_size)
    model.set_weights(initial["weights"])
    # training=True: batch norm uses the batch statistics, as in the first train step
    expected = float(cfg.make_loss()(y, model(x, training=True)))
    assert run.batch_history[0]["loss"] == pytest.approx(expected, rel=1e-5)
    assert run.epoch_history[0]["loss"] == pytest.approx(expected, rel=1e-5)
    # the second step saw updated weights
    assert run.batch_history[1]["loss"] != pytest.approx(expected, rel=1e-4)


# ---------------------------------------------------------------- progress
def test_progress_phases_in_order(shared):
    _, progress = shared
    phases = [p.phase for p in progress]
    expected = ["data"] + (["batch"] * BATCHES + ["epoch"]) * SHARED.epochs + ["done"]
    assert phases == expected
    batches = [(p.epoch, p.batch) for p in progress if p.phase == "batch"]
    assert batches == [(e, b) for e in range(1, SHARED.epochs + 1) for b in range(1, BATCHES + 1)]
    for p in progress:
        assert p.epochs == SHARED.epochs and p.batches == BATCHES
    for p in progress:
        if p.phase == "batch":
            assert math.isfinite(p.loss)
        if p.phase == "epoch":
            assert set(p.val) >= EPOCH_KEYS and p.loss == p.val["loss"]


def test_progress_fraction_is_in_unit_interval_and_monotone(shared):
    _, progress = shared
    fractions = [p.fraction for p in progress]
    assert all(0.0 <= f <= 1.0 for f in fractions), fractions
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), fractions
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    elapsed = [p.elapsed for p in progress if p.phase != "done"]
    assert all(a <= b for a, b in zip(elapsed, elapsed[1:]))
    assert progress[-1].elapsed == shared[0].train_seconds
    assert progress[0].eta is None
    assert all(p.eta >= 0 for p in progress[1:])
    assert progress[-1].eta == 0


@pytest.mark.parametrize(
    "epoch, batch, expected",
    [(0, 0, 0.0), (1, 0, 0.0), (1, 2, 0.2), (2, 5, 1.0), (3, 5, 1.0)],
)
def test_progress_fraction_formula(epoch, batch, expected):
    p = Progress("batch", epoch, 2, batch, 5, elapsed=4.0)
    assert p.fraction == pytest.approx(expected)
    assert Progress("data", 0, 0, 0, 0, 0.0).fraction == 0.0


# ---------------------------------------------------------------- stopping
STOP_CFG = RunConfig(epochs=2, train_size=256, val_size=64, batch_size=32)
STOP_AT = 3


def _check_stopped(run, batches_done):
    assert run.status == "stopped"
    assert "stopped" in run.message
    assert len(run.batch_history) == batches_done
    assert run.samples_seen == batches_done * STOP_CFG.batch_size
    assert run.report is not None  # the partial model is scored
    assert run.val_probabilities.shape == (STOP_CFG.val_size, STOP_CFG.num_classes)
    assert len(run.epoch_history) <= 1
    strict_json(run.to_json())


def test_stop_event_from_another_thread_stops_after_that_batch():
    stop = threading.Event()
    progress = []

    def on_progress(p):
        progress.append(p)
        if p.phase == "batch" and p.batch == STOP_AT:
            setter = threading.Thread(target=stop.set)  # set from a different thread
            setter.start()
            setter.join()

    run = train(STOP_CFG, on_progress=on_progress, stop_event=stop)
    _check_stopped(run, STOP_AT)
    assert [p.phase for p in progress][-1] == "done"
    fractions = [p.fraction for p in progress]
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), fractions
    assert fractions[-1] == pytest.approx(STOP_AT / (STOP_CFG.epochs * 8))


def test_stop_event_from_a_watcher_thread_ends_within_one_batch():
    stop, reached = threading.Event(), threading.Event()

    def watcher():
        if reached.wait(timeout=60):
            stop.set()

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()

    def on_progress(p):
        if p.phase == "batch" and p.batch == STOP_AT:
            reached.set()
        elif p.phase == "batch" and p.batch > STOP_AT:
            # the watcher has had a whole batch to act; make sure it did before going on
            assert stop.wait(timeout=30)

    run = train(STOP_CFG, on_progress=on_progress, stop_event=stop)
    thread.join(timeout=5)
    assert run.status == "stopped"
    assert STOP_AT <= len(run.batch_history) <= STOP_AT + 1
    _check_stopped(run, len(run.batch_history))


def test_stop_before_training_starts():
    stop = threading.Event()
    stop.set()
    run = train(tiny(), stop_event=stop)
    assert run.status == "stopped"
    assert run.batch_history == [] and run.epoch_history == []
    assert run.model is None
    strict_json(run.to_json())


# ---------------------------------------------------------------- failures
def test_exploding_loss_fails_with_a_message():
    # float32 overflows: 5 tags x ~0.69 x 3e38 summed in the tag mean is inf at the first batch
    cfg = tiny(loss="weighted_bce", weights=(3e38,) * 5)
    progress = []
    run = train(cfg, on_progress=progress.append)
    assert run.status == "failed"
    assert "loss became" in run.message and "\n" not in run.message
    assert "epoch 1, batch 1" in run.message
    assert len(run.batch_history) == 1 and not math.isfinite(run.batch_history[0]["loss"])
    assert run.epoch_history == []
    assert progress[-1].phase == "done"
    text = run.to_json()
    assert "NaN" not in text and "Infinity" not in text
    record = strict_json(text)
    assert record["batch_history"][0]["loss"] is None
    assert record["summary"]["status"] == "failed"


def test_exception_in_model_building_fails_the_run_only(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom: no model today\nsecond line of a long traceback")

    monkeypatch.setattr(models, "build", broken)
    progress = []
    run = train(tiny(), on_progress=progress.append)
    assert run.status == "failed"
    assert "RuntimeError" in run.message and "boom: no model today" in run.message
    assert "\n" not in run.message and "second line" not in run.message
    assert run.model is None and run.report is None
    assert progress[-1].phase == "done"
    assert run.wall_seconds > 0
    strict_json(run.to_json())


def test_out_of_memory_has_advice(monkeypatch):
    def oom(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")

    monkeypatch.setattr(models, "build", oom)
    run = train(tiny())
    assert run.status == "failed"
    assert "out of memory" in run.message and "batch size" in run.message


def test_exception_in_progress_callback_fails_the_run():
    def on_progress(p):
        if p.phase == "batch":
            raise KeyError("widget gone")

    run = train(tiny(), on_progress=on_progress)
    assert run.status == "failed"
    assert "KeyError" in run.message and "widget gone" in run.message
    assert run.status in RUN_STATUSES


class _Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epoch_logs, self.batches = [], 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))


def test_extra_callbacks_run_after_the_engine_and_see_validation_scores():
    recorder = _Recorder()
    run = train(tiny(epochs=2), callbacks=[recorder])
    assert run.status == "finished"
    assert recorder.batches == len(run.batch_history) == 4
    assert len(recorder.epoch_logs) == 2
    for logs, row in zip(recorder.epoch_logs, run.epoch_history):
        assert logs["val_map"] == row["map"] and logs["val_loss"] == row["val_loss"]
        assert {"loss", "val_macro_f1", "val_micro_f1", "val_mae"} <= set(logs)


def test_a_failing_extra_callback_fails_the_run_only():
    class Broken(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise RuntimeError("disk full")

    run = train(tiny(), callbacks=[Broken()])
    assert run.status == "failed" and "disk full" in run.message


# ---------------------------------------------------------------- arguments refused up front
def test_splits_must_match_the_config():
    splits = make_data(tiny(train_size=32, val_size=16))
    with pytest.raises(ValueError, match="splits must match"):
        train(tiny(), splits=splits)
    with pytest.raises(ValueError, match="splits must match"):
        train(tiny(train_size=32, val_size=32), splits=splits)


def test_given_splits_are_used():
    cfg = tiny()
    (x, y), (x_val, y_val) = make_data(cfg.replace(seed=5))  # different scenes than cfg would generate
    run = train(cfg, splits=((x, y), (x_val, y_val)))
    assert run.status == "finished"
    assert run.val_labels is y_val


@pytest.mark.parametrize("eval_every", [0, -1, 1.5, "2"])
def test_bad_eval_every(eval_every):
    with pytest.raises(ValueError, match="eval_every"):
        train(tiny(), eval_every=eval_every)


def test_callbacks_must_be_keras_callbacks():
    with pytest.raises(ValueError, match="keras.callbacks.Callback"):
        train(tiny(), callbacks=[lambda logs: None])


def test_config_must_be_a_run_config():
    with pytest.raises(ValueError, match="RunConfig"):
        train(tiny().to_dict())


@pytest.mark.skipif(HAS_GPU, reason="needs a machine without GPUs")
def test_unavailable_device_is_refused_up_front():
    with pytest.raises(ValueError, match="gpu:0"):
        train(tiny(device="gpu:0"))


def two_workers(monkeypatch, index: int = 0) -> None:
    cluster = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))


def test_multiworker_without_tf_config_is_refused_up_front(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        train(tiny(device="multiworker"))


@pytest.mark.skipif(HAS_GPU, reason="replica counts assume one replica per worker (no GPUs)")
@pytest.mark.parametrize(
    "train_size, batch_size, problem",
    [
        (65, 32, "last batch of 1 sample"),
        (64, 1, "batch_size must be at least"),
        (64, 32, None),
        (66, 32, None),
        (67, 32, None),
    ],
)
def test_multiworker_batches_need_a_sample_per_replica(monkeypatch, train_size, batch_size, problem):
    two_workers(monkeypatch)
    config = tiny(device="multiworker", train_size=train_size, batch_size=batch_size)
    if problem is None:
        check_batches(config)
        return
    with pytest.raises(ValueError, match=problem) as info:
        check_batches(config)
    assert "2 replicas" in str(info.value) or "(2)" in str(info.value)
    check_batches(config.replace(device="cpu"))  # a limit of multiworker only


def test_a_single_process_run_saves_on_every_device_but_a_non_chief_worker(tmp_path, monkeypatch):
    run = Run(config=tiny())
    assert set(run.save(tmp_path / "cpu")) == {"run"}
    two_workers(monkeypatch, index=1)
    worker = Run(config=tiny(device="multiworker"))
    assert worker.save(tmp_path / "worker1") == {}
    assert not (tmp_path / "worker1").exists()
    two_workers(monkeypatch, index=0)
    assert set(worker.save(tmp_path / "chief")) == {"run"}


def test_summary_counts_steps_and_samples(shared):
    run, _ = shared
    summary = run.summary()
    assert (
        summary["steps"] == len(run.batch_history) == SHARED.epochs * math.ceil(SHARED.train_size / SHARED.batch_size)
    )
    assert summary["samples_seen"] == SHARED.epochs * SHARED.train_size


# ---------------------------------------------------------------- JSON and saving
def test_run_to_json_is_strict_json(shared):
    run, _ = shared
    record = strict_json(run.to_json())
    assert set(record) >= {"config", "summary", "history", "batch_history", "evaluations", "report"}
    assert RunConfig.from_dict(record["config"]) == SHARED
    assert len(record["history"]) == SHARED.epochs
    assert record["summary"]["status"] == "finished"


def test_save_writes_model_and_run_json(shared, tmp_path):
    run, _ = shared
    paths = run.save(tmp_path / "out")
    assert paths["model"] == tmp_path / "out" / "model.keras" and paths["model"].is_file()
    assert paths["run"] == tmp_path / "out" / "run.json"
    assert strict_json(paths["run"].read_text()) == strict_json(run.to_json())
    loaded = keras.models.load_model(paths["model"])
    _, (x_val, y_val) = make_data(SHARED)
    np.testing.assert_array_equal(y_val, run.val_labels)
    probs = np.asarray(loaded.predict(x_val, verbose=0))
    np.testing.assert_allclose(probs, run.val_probabilities, rtol=0, atol=1e-6)
    np.testing.assert_allclose(predict_probabilities(run.model, x_val), run.val_probabilities, atol=0)


# ---------------------------------------------------------------- determinism and evaluations
def test_same_seed_same_losses_different_seed_different():
    a = train(tiny(seed=3))
    b = train(tiny(seed=3))
    c = train(tiny(seed=4))
    assert a.batch_history[0]["loss"] == b.batch_history[0]["loss"]
    assert [r["loss"] for r in a.batch_history] == [r["loss"] for r in b.batch_history]
    np.testing.assert_array_equal(a.val_probabilities, b.val_probabilities)
    assert a.batch_history[0]["loss"] != c.batch_history[0]["loss"]


def test_eval_every_records_evaluations():
    cfg = RunConfig(epochs=2, train_size=128, val_size=32, batch_size=32, image_size=32)
    run = train(cfg, eval_every=3)
    assert run.status == "finished"
    # every 3rd step, plus each epoch end (steps 4 and 8) scored once
    assert [e["step"] for e in run.evaluations] == [3, 4, 6, 8]
    assert [e["samples"] for e in run.evaluations] == [96, 128, 192, 256]
    seconds = [e["train_seconds"] for e in run.evaluations]
    assert all(0 < a < b for a, b in zip(seconds, seconds[1:]))
    for e in run.evaluations:
        assert {"map", "macro_f1", "mae", "val_loss"} <= set(e)
    # epoch rows reuse the evaluation made at the epoch's last step
    assert run.epoch_history[1]["map"] == run.evaluations[-1]["map"]
    assert run.epoch_history[0]["val_loss"] == run.evaluations[1]["val_loss"]


# ---------------------------------------------------------------- every registered loss and model
def _loss_config(name: str) -> RunConfig:
    changes = {"loss": name}
    if "weights" in losses.params(name):
        changes["weights"] = (1.0, 4.0, 1.0, 2.0, 0.5)
    return tiny(**changes)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_trains(name):
    run = train(_loss_config(name))
    assert run.status == "finished", run.message
    assert all(math.isfinite(r["loss"]) for r in run.batch_history)
    assert math.isfinite(run.epoch_history[-1]["val_loss"])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_trains(name):
    run = train(tiny(model=name))
    assert run.status == "finished", run.message
    assert run.model.name == models.build(name, 5, 32).name
    assert run.val_probabilities.shape == (32, 5)
    assert all(math.isfinite(r["loss"]) for r in run.batch_history)


@pytest.mark.parametrize(
    "config",
    [
        RunConfig(classes=("only",), prevalence=(0.5,), epochs=1, train_size=64, val_size=32, batch_size=32),
        RunConfig(
            classes=tuple(f"t{i}" for i in range(20)),
            prevalence=(0.2,) * 20,
            epochs=1,
            train_size=64,
            val_size=32,
            batch_size=32,
        ),
        RunConfig(prevalence=(0.35, 0.0, 0.3, 0.4, 0.5), epochs=1, train_size=64, val_size=32, batch_size=32),
        RunConfig(prevalence=(1.0, 1.0, 1.0, 1.0, 1.0), epochs=1, train_size=64, val_size=32, batch_size=32),
        RunConfig(epochs=1, train_size=1, val_size=1, batch_size=1),
        RunConfig(epochs=1, train_size=3, val_size=2, batch_size=4096, loss="weighted_bce", weights=(0.0,) * 5),
        RunConfig(
            epochs=1,
            train_size=32,
            val_size=8,
            batch_size=32,
            loss="mse",
            soft_labels=True,
            label_noise=0.5,
            image_size=16,
            model="linear",
        ),
    ],
    ids=[
        "one-tag",
        "twenty-tags",
        "prevalence-0",
        "prevalence-1",
        "one-sample",
        "zero-weights-huge-batch",
        "tiny-images",
    ],
)
def test_valid_extremes_train_or_fail_with_a_message(config):
    """Extreme but valid settings never raise: the run finishes, or fails with one line."""
    run = train(config)
    assert run.status in ("finished", "failed"), run.status
    if run.status == "failed":
        assert run.message and "\n" not in run.message
    else:
        assert run.report is not None and len(run.report["per_tag"]) == config.num_classes
        assert run.val_probabilities.shape == (config.val_size, config.num_classes)
        json.loads(run.to_json())  # NaN metrics (a tag without positives) become null, not invalid JSON


# ---------------------------------------------------------------- the held-out test split
def test_a_finished_run_is_scored_once_on_its_test_split(shared):
    run, _ = shared
    assert run.test_labels.shape == (SHARED.test_size, 5)
    assert run.test_probabilities.shape == (SHARED.test_size, 5)
    assert set(run.test_report) == set(run.report)
    from mlc import datasets, metrics

    expected = datasets.make_splits(SHARED).test[1]
    np.testing.assert_array_equal(run.test_labels, expected)  # the test seed range, not validation's
    assert metrics.report(run.test_labels, run.test_probabilities)["map"] == pytest.approx(run.test_report["map"])
    again = Run.from_json(run.to_json())
    assert again.test_report["map"] == pytest.approx(run.test_report["map"])


def test_two_splits_given_means_no_test_report_and_three_give_one():
    config = tiny(test_size=8)
    (x, y), val = make_data(config, dtype="uint8")
    assert train(config, splits=((x, y), val)).test_report is None
    test = (val[0][:8], val[1][:8])
    run = train(config, splits=((x, y), val, test))
    assert run.test_report is not None and run.test_probabilities.shape == (8, 5)


def test_own_images_train_through_source():
    from mlc.datasets import DataSplits

    class Images:
        name, fingerprint, tags = "mine.zip", "f00", ("a", "b")

        def splits(self, config):
            rng = np.random.default_rng(1)
            x = rng.integers(0, 256, (48, 32, 32, 3)).astype(np.uint8)
            y = rng.integers(0, 2, (48, 2)).astype(np.float32)
            xf = x.astype(np.float32) / 255
            return DataSplits((x[:32], y[:32]), (xf[32:40], y[32:40]), (xf[40:], y[40:]), config.classes, "own")

    config = tiny(dataset="own", classes=("a", "b"), train_size=32, val_size=8, test_size=8, data_fingerprint="f00")
    run = train(config, source=Images())
    assert run.status == "finished" and run.test_probabilities.shape == (8, 2)
    failed = train(config)  # the images are not here: the run fails with a line, train() does not raise
    assert failed.status == "failed" and "your own images" in failed.message
