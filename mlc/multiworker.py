"""The training loop for ``device="multiworker"``: what :func:`mlc.training.train` needs of ``model.fit``.

Keras 3.15.1's ``fit`` fails under ``tf.distribute.MultiWorkerMirroredStrategy``
(keras-team/keras#20585), so :func:`fit_multiworker` drives the same callback
hooks with the same ``logs["loss"]`` (the epoch's running mean, weighted by
batch size), and history and progress match ``fit``. Under any other strategy
(one replica) it trains exactly like ``fit`` too, which is how it is tested
without a cluster.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from mlc.config import RunConfig
from mlc.states import StopReason


def fit_multiworker(model, loss, dataset, strategy, config: RunConfig, callback: keras.callbacks.Callback) -> None:
    """Train ``model`` (compiled, built in ``strategy``'s scope) on ``dataset`` for ``config.epochs``.

    ``loss`` is a :mod:`mlc.losses` loss (``loss.call(y, logits)`` gives the
    per-sample loss); ``dataset`` yields global batches of ``config.batch_size``
    (the last one ``config.train_size % batch_size`` when ragged); ``callback``
    has a ``stopped`` attribute, a :class:`~mlc.states.StopReason`, that this
    loop sets to ``PEER`` when another worker asked to stop.

    Each step: every replica sums the per-sample loss of its slice of the
    global batch and divides by the global batch size (known from the step
    index), the optimizer all-reduces (sums) the gradients, so every worker
    applies the same update, and non-trainable float variables (BatchNorm's
    moving statistics, which each worker would otherwise estimate from its
    own slices only) are averaged over the workers: after every step every
    worker holds the same model. The reported batch loss is the all-reduced sum
    over the global batch, the same number on every worker. Before each step
    the workers agree whether any of them asked to stop (a stop request or a
    NaN on one worker ends training on all of them at the same step, instead
    of leaving the others waiting in an all-reduce).

    Why not ``fit``: its symbolic build all-reduces the first batch as one
    nested ``(x, y)`` value, which TF's collective reduce does not take, and
    each step's scalar logs are all-reduced along ``axis=0``.
    """
    train_step = _train_step(model, loss, strategy)
    distributed = strategy.experimental_distribute_dataset(dataset)
    any_worker_stops = _stop_vote(model, strategy)
    batch_size, n_train = config.batch_size, config.train_size

    model.stop_training = False
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(config.epochs):
        callback.on_epoch_begin(epoch)
        loss_sum, seen = 0.0, 0
        for step, (x, y) in enumerate(distributed):
            if any_worker_stops():
                break
            count = min(batch_size, n_train - step * batch_size)
            total = train_step(x, y, tf.constant(float(count)))
            loss_sum += float(strategy.experimental_local_results(total)[0])
            seen += count
            callback.on_train_batch_end(step, {"loss": loss_sum / seen})
        stop = any_worker_stops()
        if stop and not model.stop_training and callback.stopped is StopReason.NONE:
            callback.stopped = StopReason.PEER  # another worker asked; this one ends at the same step
        model.stop_training = stop
        callback.on_epoch_end(epoch, {"loss": loss_sum / seen if seen else float("nan")})
        if model.stop_training:
            break
    callback.on_train_end()


def _train_step(model, loss, strategy):
    """One synchronous step on a distributed global batch: ``(x, y, global count) -> summed batch loss``."""
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)  # in the strategy's scope, not lazily inside a replica
    # BatchNormalization's moving statistics are updated by each replica from its own slice (Keras
    # creates them without aggregation); averaged after each step they stay equal on every worker
    statistics = [v for v in model.non_trainable_variables if "float" in str(v.dtype)]

    @tf.function(reduce_retracing=True)
    def train_step(x, y, global_count):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                local_sum = tf.reduce_sum(loss.call(tf.cast(y, logits.dtype), logits))
                scaled = local_sum / global_count
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            context = tf.distribute.get_replica_context()
            if statistics:
                means = context.all_reduce("mean", [tf.identity(v) for v in statistics])
                for variable, mean in zip(statistics, means):
                    variable.assign(mean)
            return context.all_reduce("sum", local_sum)

        return strategy.run(replica_step, args=(x, y))

    return train_step


def _stop_vote(model, strategy):
    """A function asking every worker whether it wants to stop (``model.stop_training``): True if any does."""

    @tf.function
    def votes(flag):
        # identity: the reduced value must live on the replica's device, not on the function's input
        return strategy.run(
            lambda f: tf.distribute.get_replica_context().all_reduce("sum", tf.identity(f)), args=(flag,)
        )

    def any_worker_stops() -> bool:
        total = votes(tf.constant(1.0 if model.stop_training else 0.0))
        return float(strategy.experimental_local_results(total)[0]) > 0

    return any_worker_stops
