"""The training engine: one run of one :class:`~mlc.config.RunConfig`.

A run is config -> data -> model + loss -> ``fit`` -> :class:`Run` (per-batch
and per-epoch history, the trained logits model, validation probabilities and
the final :func:`mlc.metrics.report`). The CLI, the benchmarks and the app all
call :func:`train`.

* Progress streams to ``on_progress(Progress)`` after every batch and epoch
  (called on the training thread: keep it cheap, never call Streamlit in it).
* ``stop_event`` (a ``threading.Event`` set from any thread) ends training
  after the current batch; the partial run is kept (status
  :attr:`~mlc.states.RunStatus.STOPPED`).
* A NaN/inf loss, out-of-memory or any other error ends the run with status
  :attr:`~mlc.states.RunStatus.FAILED` and a one-line ``message``; :func:`train` itself does not raise
  for those (it raises ``ValueError`` only for a config that cannot run here).
* ``device``: ``cpu``, ``gpu:N``, ``mirrored`` or ``multiworker`` (see
  :mod:`mlc.devices`). Under ``multiworker`` every worker process calls
  :func:`train` with the same config: each generates the same scenes (same
  seed), ``batch_size`` is the global batch split over the workers, the
  weights stay identical through synchronous all-reduce, and each worker
  scores the whole validation split itself. Only the chief keeps files
  (:meth:`Run.save`); the loop itself is :mod:`mlc.multiworker`.

The run record, :class:`~mlc.runs.Run`, lives in :mod:`mlc.runs` (no TensorFlow
there); ``Run``, ``runs_table`` and ``RUN_STATUSES`` are importable from here too.

>>> from mlc.config import RunConfig
>>> run = train(RunConfig(epochs=1, train_size=64, val_size=32, batch_size=32))
>>> str(run.status), len(run.epoch_history), len(run.batch_history)
('finished', 1, 2)
>>> run.val_probabilities.shape
(32, 5)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from mlc import checks, datasets, devices, gradients, logit_prior, metrics, models, step_cache
from mlc.checks import first_line
from mlc.config import RunConfig
from mlc.multiworker import fit_multiworker
from mlc.progress import Progress  # noqa: F401 (re-exported: it lived here)
from mlc.runs import RUN_STATUSES, Run, runs_table  # noqa: F401 (re-exported: they lived here)
from mlc.states import RunStatus, StopReason

#: Seed offset so the validation split never repeats training scenes (one value with mlc.datasets).
VAL_SEED_OFFSET = datasets.VAL_SEED_OFFSET
#: A run's message when the device ran out of memory.
OUT_OF_MEMORY = "out of memory on the chosen device; lower the batch size, the image size or the train size"


def make_data(
    config: RunConfig, *, dtype: str = "float32", source: Any = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Training and validation splits for ``config`` from its data set (:func:`mlc.datasets.make_splits`).

    ``dtype="uint8"`` keeps 8-bit training images (what the engine stores);
    the validation images are float32 in [0, 1]. ``source``: own images.
    """
    splits = datasets.make_splits(config, source)
    (x, y) = splits.train
    if dtype == "float32" and x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return (x, y), splits.val


def train(
    config: RunConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    splits: tuple | datasets.DataSplits | None = None,
    eval_every: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    source: Any = None,
    microscope: bool = True,
) -> Run:
    """Train one run and return it (finished, stopped or failed).

    ``splits`` = ((x_train, y_train), (x_val, y_val)[, (x_test, y_test)]) or a
    :class:`mlc.datasets.DataSplits` skips data generation (benchmarks reuse one
    dataset); otherwise the config's data set makes them (``source``: the own
    images of ``dataset="own"``). With a test split, the finished run is also
    scored on it once (``run.test_report``, ``test_labels``, ``test_probabilities``:
    the held-out numbers Evaluate shows). ``eval_every`` = N also scores the
    validation split every N batches into ``run.evaluations`` with validation
    time kept out of ``train_seconds`` (time-to-quality measurements).
    ``callbacks`` are extra Keras callbacks appended after the engine's own,
    e.g. ``keras.callbacks.TensorBoard(log_dir=...)``; at each epoch end their
    ``logs`` also hold the validation scores as ``val_loss``, ``val_map``,
    ``val_macro_f1``, ``val_micro_f1`` and ``val_mae`` (TensorBoard draws them
    next to the training loss). A callback that raises fails the run like any
    other error. ``microscope=False`` leaves the gradient microscope out (``run.gradients`` stays
    empty): only the benchmark's contender (``python -m mlc bench --only microscope``) wants that.

    Each ``epoch_history`` row: epoch, loss (mean train loss), val_loss,
    macro_f1, micro_f1, map, mae (on validation, thresholds 0.5), seconds
    (training wall time of the epoch), samples_per_second, elapsed.
    """
    if isinstance(splits, datasets.DataSplits):
        splits = (splits.train, splits.val, splits.test)
    callbacks = _checked_arguments(config, splits, eval_every, callbacks)
    stop_event = stop_event or threading.Event()
    emit = on_progress or (lambda p: None)
    run = Run(config=config, device=devices.describe(config.device))
    batches = math.ceil(config.train_size / config.batch_size)
    started = time.perf_counter()
    loss = x_val = test = None
    try:
        (x, y), (x_val, y_val), test = _prepare_data(run, splits, emit, batches, source)
        if stop_event.is_set():
            run.status, run.message = RunStatus.STOPPED, "stopped before training started"
        else:
            keras.utils.set_random_seed(config.seed)
            loss = config.make_loss()

            def build() -> step_cache.WorkingModel:
                split = gradients.GradientSplit(loss, config.num_classes) if microscope else None
                return step_cache.WorkingModel(_compiled_model(config, loss, metrics=[split] if split else ()), split)

            with devices.placement(config.device) as strategy:
                own = build()  # the caller's model: its initial weights are the run's
                run.model = own.model
                logit_prior.set_prior_bias(run.model, y)  # each tag starts at its base rate (mlc.logit_prior)
                key = step_cache.step_key(config, microscope)
                working = step_cache.working_model(key, own, build, reuse=strategy is None)
                dataset = training_dataset(x, y, config.batch_size, config.seed)
                engine = _EngineCallback(run, loss, x_val, y_val, batches, stop_event, emit, eval_every)
                engine.microscope, engine.probe = working.split, microscope
                _fit(working.model, loss, dataset, strategy, engine, callbacks)
                if working.model is not run.model:  # the caller's model gets the weights; the step is kept
                    run.model.set_weights(working.model.get_weights())
                    step_cache.CACHE.give_back(key, working)
            _record_end(run, engine.stopped)
    except tf.errors.ResourceExhaustedError:
        run.status, run.message = RunStatus.FAILED, OUT_OF_MEMORY
    except Exception as exc:  # any failure ends this run only; the caller keeps working
        run.status, run.message = RunStatus.FAILED, f"training failed: {first_line(exc, 300)}"
    finally:
        run.wall_seconds = time.perf_counter() - started
    if run.status != RunStatus.FAILED and run.model is not None:
        _final_report(run, loss, x_val)
        if test is not None and len(test[0]):
            _test_report(run, test)
    # "done" reports the batches actually trained, so fraction ends at 1.0 and never goes back
    last = run.batch_history[-1] if run.batch_history else {"epoch": 0, "batch": 0}
    emit(Progress("done", last["epoch"], config.epochs, last["batch"], batches, run.train_seconds))
    return run


def _checked_arguments(config, splits, eval_every, callbacks) -> list[keras.callbacks.Callback]:
    """Raise ValueError for arguments :func:`train` cannot run with here; the callbacks as a list."""
    if not isinstance(config, RunConfig):
        raise ValueError(f"config must be a RunConfig, got {type(config).__name__}")
    devices.check_device(config.device)
    check_batches(config)
    if eval_every is not None:
        checks.whole(eval_every, "eval_every", 1)
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, keras.callbacks.Callback):
            raise ValueError(
                f"callbacks must be keras.callbacks.Callback instances, got {type(cb).__name__}; "
                "wrap custom hooks in a keras.callbacks.Callback subclass"
            )
    if splits is not None and (len(splits[0][0]) != config.train_size or len(splits[1][0]) != config.val_size):
        raise ValueError(
            f"splits must match the config: {config.train_size} training and {config.val_size} "
            f"validation samples, got {len(splits[0][0])} and {len(splits[1][0])}"
        )
    return callbacks


def _prepare_data(run: Run, splits, emit, batches: int, source: Any):
    """The run's ((x, y), (x_val, y_val), test or None): ``splits`` or the data set's (uint8 training images)."""
    config = run.config
    if config.device == devices.MULTIWORKER:
        devices.multiworker_strategy()  # before any TensorFlow op of this process (see mlc.devices)
    emit(Progress("data", 0, config.epochs, 0, batches, 0.0))
    t0 = time.perf_counter()
    if splits is None:
        splits = datasets.make_splits(config, source)
    if isinstance(splits, datasets.DataSplits):
        splits = (splits.train, splits.val, splits.test)
    (x, y), (x_val, y_val) = splits[0], splits[1]
    test = splits[2] if len(splits) > 2 else None
    run.data_seconds = time.perf_counter() - t0
    run.val_labels = y_val
    return (x, y), (x_val, y_val), test


def _test_report(run: Run, test: tuple[np.ndarray, np.ndarray]) -> None:
    """The held-out scores: the finished model once on the test split (never used for choices)."""
    x_test, y_test = test
    run.test_labels = y_test
    run.test_probabilities = predict_probabilities(run.model, x_test)
    run.test_report = metrics.report(y_test, run.test_probabilities, classes=run.config.classes)


def _compiled_model(config: RunConfig, loss, metrics=()) -> keras.Model:
    """The config's logits model compiled with Adam (call inside the strategy's scope).

    ``metrics``: e.g. the gradient microscope's :class:`~mlc.gradients.GradientSplit`, fed the logits of every
    training step."""
    model = models.build(config.model, config.num_classes, config.image_size)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(config)), loss=loss, metrics=list(metrics) or None)
    return model


def _fit(model, loss, dataset, strategy, engine: _EngineCallback, callbacks: list) -> None:
    """``model.fit`` with the engine's callback first, or the multi-worker loop where ``fit`` cannot run."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # Keras' fit fails under MultiWorkerMirrored (keras#20585): the engine's own loop,
        # which drives only the engine callback (extra callbacks are for fit)
        fit_multiworker(model, loss, dataset, strategy, engine.run.config, engine)
    else:
        model.fit(dataset, epochs=engine.run.config.epochs, verbose=0, shuffle=False, callbacks=[engine, *callbacks])


def _record_end(run: Run, stopped: StopReason) -> None:
    """Finished or stopped (a run the engine failed keeps its status and message)."""
    if run.status != RunStatus.RUNNING:
        return
    if stopped is StopReason.NONE:
        run.status = RunStatus.FINISHED
        return
    by = " on another worker" if stopped is StopReason.PEER else ""
    run.status, run.message = RunStatus.STOPPED, f"stopped by request{by} after {run.samples_seen} samples"


def _final_report(run: Run, loss, x_val: np.ndarray) -> None:
    """The run's report on the validation split, scoring the model once more if a stop cut an epoch short."""
    last_eval = run.evaluations[-1]["step"] if run.evaluations else None
    last_step = run.batch_history[-1]["step"] if run.batch_history else None
    if last_eval is None or last_eval != last_step:  # stopped mid-epoch: score the model as it is
        _score(run, run.model, loss, x_val)
    run.report = metrics.report(run.val_labels, run.val_probabilities, classes=run.config.classes)


def check_batches(config: RunConfig) -> None:
    """Raise ValueError if a ``multiworker`` run would give some replica an empty slice of a batch.

    Every global batch is split over all replicas of all workers; a replica
    handed an empty slice fails inside the model (with TF 2.21, a shape error
    in BatchNormalization on TensorFlow's stand-in for the missing data). So
    ``batch_size`` and the last, partial
    batch (``train_size % batch_size``, if not 0) need at least one sample per
    replica. Other devices have no such limit.
    """
    if config.device != devices.MULTIWORKER:
        return
    n = devices.replicas(config.device)
    last = config.train_size % config.batch_size
    if config.batch_size < n:
        raise ValueError(
            f"batch_size must be at least the number of replicas ({n}) under device 'multiworker', "
            f"got {config.batch_size}; the global batch is split over them"
        )
    if 0 < last < n:
        fixed = config.train_size - last
        raise ValueError(
            f"train_size {config.train_size} leaves a last batch of {last} sample(s), too few to split over "
            f"{n} replicas under device 'multiworker'; use a train_size of {fixed} or {fixed + n}, "
            f"or a batch_size that divides it"
        )


def training_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches of (images float32 in [0, 1], targets), reshuffled every epoch.

    ``x`` is float32 in [0, 1] or uint8 0..255 (N, H, W, 3). Images are held once, as uint8
    (a quarter of float32's memory; scenes are 8-bit pictures anyway), and batches are gathered by shuffled index, so no
    shuffle buffer holds a second copy of the data.

    Under a multi-worker strategy the dataset is sharded by data
    (``AutoShardPolicy.DATA``, as Keras does for arrays): every worker builds
    the same pipeline from the same in-memory scenes and seed, so the shuffled
    order agrees, and tf.data splits each global batch of ``batch_size`` into
    one disjoint slice per replica (64 → 32 + 32 on two CPU workers). The default
    (AUTO) would try to shard by file first and fall back to the same thing
    with a warning; OFF would feed every worker whole batches (twice the work,
    a doubled effective batch). Single-process strategies ignore the policy.

    >>> ds = training_dataset(np.zeros((5, 2, 2, 3), np.uint8), np.eye(5, 2), batch_size=2, seed=0)
    >>> [tuple(x.shape) for x, y in ds]
    [(2, 2, 2, 3), (2, 2, 2, 3), (1, 2, 2, 3)]
    >>> ds.options().experimental_distribute.auto_shard_policy.name
    'DATA'
    """
    if x.dtype == np.uint8:
        quantised = x
    else:
        quantised = np.empty(x.shape, np.uint8)  # (N, H, W, 3)
        for i in range(0, len(x), 2048):  # in chunks: no full-size float temporaries
            quantised[i : i + 2048] = np.rint(np.clip(x[i : i + 2048], 0, 1) * np.float32(255.0))
    images = tf.constant(quantised)
    targets = tf.constant(y, dtype=tf.float32)  # (N, C)

    def gather(index):
        return tf.cast(tf.gather(images, index), tf.float32) / 255.0, tf.gather(targets, index)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (
        tf.data.Dataset.range(len(x))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)  # deterministic order (the default), as DATA needs
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )


def learning_rate(config: RunConfig):
    """Adam's learning rate: a constant, or cosine decay to 5 % over all steps of the run."""
    if config.lr_schedule == "constant":
        return config.learning_rate
    steps = config.epochs * math.ceil(config.train_size / config.batch_size)
    return keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps, alpha=0.05)


def predict_logits(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Logits (n, C) of a logits model on images x (n, H, W, 3), in batches."""
    out = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    if not out:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    return np.concatenate(out).astype(np.float32)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically safe 1 / (1 + exp(-z)), float32.

    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    z = np.asarray(z, dtype=np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)


def predict_probabilities(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Sigmoid probabilities (n, C) of a logits model on images x (n, H, W, 3)."""
    return sigmoid(predict_logits(model, x, batch_size))


def _score(run: Run, model, loss, x_val, logits=None) -> dict:
    """Validation probabilities, loss and headline metrics of the model as it is now (``logits``: if known)."""
    logits = predict_logits(model, x_val) if logits is None else logits
    run.val_probabilities = sigmoid(logits)
    val_loss = float(np.mean(np.asarray(loss(run.val_labels, logits))))
    rep = metrics.report(run.val_labels, run.val_probabilities, classes=run.config.classes)
    return {
        "val_loss": val_loss,
        "macro_f1": rep["macro_f1"],
        "micro_f1": rep["micro_f1"],
        "map": rep["map"],
        "mae": rep["mae"],
    }


class _EngineCallback(keras.callbacks.Callback):
    """Keras callback: per-batch history, stop/NaN checks, per-epoch validation.

    ``stopped`` says why training ended early (:class:`~mlc.states.StopReason`):
    ``NONE``, ``REQUESTED`` (the stop event) or ``PEER`` (another worker, set by
    :func:`mlc.multiworker.fit_multiworker`).
    """

    def __init__(self, run, loss, x_val, y_val, batches, stop_event, emit, eval_every):
        super().__init__()
        self.run, self.loss_fn = run, loss
        self.x_val, self.y_val = x_val, y_val
        self.batches, self.stop_event, self.emit = batches, stop_event, emit
        self.eval_every = eval_every
        self.stopped = StopReason.NONE
        self.batch_size = run.config.batch_size
        self.n_train = run.config.train_size
        self.clock_start = None  # fit wall time minus validation pauses
        self.paused = 0.0
        self.microscope = None  # the GradientSplit metric compiled into the model (None: no train rows)
        self.probe = True  # measure the microscope on the validation probe every epoch
        self.val_logits = None  # of the last validation

    # -- clock: validation time is not training time
    def _now(self) -> float:
        return time.perf_counter() - self.clock_start - self.paused

    def on_train_begin(self, logs=None):
        self.clock_start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.epoch_start = self._now()
        self.prev_mean, self.prev_count = 0.0, 0
        self.batches_done = 0

    def on_train_batch_end(self, batch, logs=None):
        count = min((batch + 1) * self.batch_size, self.n_train)
        mean = float(logs["loss"])
        # Keras reports the running mean weighted by batch size; recover this batch's loss
        batch_loss = (mean * count - self.prev_mean * self.prev_count) / (count - self.prev_count)
        self.prev_mean, self.prev_count = mean, count
        self.batches_done = batch + 1
        run = self.run
        now = self._now()
        run.train_seconds = now
        step = (self.epoch - 1) * self.batches + batch + 1
        run.samples_seen = (self.epoch - 1) * self.n_train + count
        run.batch_history.append(
            {"epoch": self.epoch, "batch": batch + 1, "step": step, "loss": batch_loss, "seconds": now}
        )
        if not math.isfinite(batch_loss):
            run.status = RunStatus.FAILED
            run.message = (
                f"loss became {batch_loss} at epoch {self.epoch}, batch {batch + 1}; "
                "lower the learning rate or check the loss parameters"
            )
            self.model.stop_training = True
            return
        if self.eval_every and step % self.eval_every == 0:
            self._evaluate(step, run.samples_seen)
        self.emit(Progress("batch", self.epoch, run.config.epochs, batch + 1, self.batches, now, batch_loss))
        if self.stop_event.is_set():
            self.stopped = StopReason.REQUESTED
            self.model.stop_training = True

    def _evaluate(self, step: int, samples: int) -> dict:
        t = time.perf_counter()
        trained = self._now()  # read the clock before validating: validation time is not training time
        self.val_logits = predict_logits(self.model, self.x_val)
        scores = _score(self.run, self.model, self.loss_fn, self.x_val, logits=self.val_logits)
        self.run.evaluations.append({"step": step, "samples": samples, "train_seconds": trained, **scores})
        self.paused += time.perf_counter() - t
        return scores

    def _record_gradients(self) -> list[dict]:
        """The gradient microscope's rows of this epoch (added to ``run.gradients``, and returned): the training
        batches' sums and the fixed validation probe. Validation time, not training time."""
        t = time.perf_counter()
        classes, rows = self.run.config.classes, []
        if self.microscope is not None:
            rows += gradients.history_rows(self.epoch, "train", self.microscope.rows(classes))
        if self.probe and self.val_logits is not None and len(self.val_logits):
            n = gradients.PROBE_SIZE  # the first validation images: the same probe every epoch
            probe = gradients.split(self.loss_fn, self.y_val[:n], self.val_logits[:n], classes)
            rows += gradients.history_rows(self.epoch, "probe", probe)
        self.run.gradients += rows
        self.paused += time.perf_counter() - t
        return rows

    def on_epoch_end(self, epoch, logs=None):
        run = self.run
        if run.status == RunStatus.FAILED:
            return
        seconds = self._now() - self.epoch_start
        epoch_samples = self.prev_count
        step = (self.epoch - 1) * self.batches + self.batches_done
        last = run.evaluations[-1] if run.evaluations else None
        if last is not None and last["step"] == step:  # eval_every already scored this step
            scores = {k: last[k] for k in ("val_loss", "macro_f1", "micro_f1", "map", "mae")}
        else:
            scores = self._evaluate(step, run.samples_seen)
        row = {
            "epoch": self.epoch,
            "loss": float(logs["loss"]) if logs and "loss" in logs else float("nan"),
            **scores,
            "seconds": seconds,
            "samples_per_second": epoch_samples / seconds if seconds > 0 else 0.0,
            "elapsed": self._now(),
        }
        run.epoch_history.append(row)
        microscope = self._record_gradients()
        if logs is not None:  # later callbacks (e.g. TensorBoard) see the validation scores too
            logs.update({f"val_{k}": v for k, v in scores.items() if k != "val_loss"}, val_loss=scores["val_loss"])
        self.emit(
            # batches_done, not batches: an epoch cut short by a stop must not report itself complete
            Progress(
                "epoch",
                self.epoch,
                run.config.epochs,
                self.batches_done,
                self.batches,
                row["elapsed"],
                row["loss"],
                {**row, "gradients": microscope},  # live: the page draws the microscope from the epoch events
            )
        )
