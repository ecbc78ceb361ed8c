"""Batch normalisation on TensorFlow's fused kernel: Keras' layer, the same maths, fewer passes.

Batch normalisation (Ioffe & Szegedy 2015, arXiv 1502.03167) normalises each
channel of a (B, H, W, C) batch by its batch mean μ and (biased) variance σ²
and applies a learned scale γ and shift β:

    y = γ · (x − μ) / sqrt(σ² + ε) + β,  μ, σ² over the B·H·W values of the channel

and keeps moving averages for inference: m ← m·momentum + μ·(1 − momentum).

Keras 3's ``BatchNormalization`` computes this from generic ops (mean, variance,
scale and shift as separate passes, and as many again in the gradient); on a
CPU that was about a third of a training step of the default ``lean`` model
(batch 64: 31 ms a step, 20 ms without batch norm, 24 ms with the fused kernel).
TensorFlow's ``FusedBatchNormV3`` does forward and gradient in one kernel each.
:class:`FusedBatchNormalization` is Keras' layer (same arguments, weights and
config) whose ``call`` uses that kernel for 4-D float32 channels-last inputs
and falls back to Keras otherwise (masks, renorm, other axes or dtypes).

Files stay plain Keras: :func:`plain_keras` rebuilds a model with Keras' own
``BatchNormalization`` in its place and the same weights, which is what
:meth:`mlc.runs.Run.probability_model` saves, so a downloaded ``.keras`` loads
without ``mlc``.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(2.0, 3.0, (8, 4, 4, 3)).astype("float32")
>>> fused, plain = FusedBatchNormalization(), keras.layers.BatchNormalization()
>>> bool(np.allclose(fused(x, training=True), plain(x, training=True), atol=1e-5))
True
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mlc")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` computed by TensorFlow's fused kernel where it applies.

    Input and output (B, H, W, C) float32, normalised over B, H, W per channel
    C. Outputs, gradients and moving statistics equal Keras' layer up to float
    rounding (the kernel's batch variance is Bessel-corrected; it is scaled back
    to the biased variance Keras uses).
    """

    def _fused_applies(self, inputs, mask) -> bool:
        return (
            mask is None
            and not self.renorm
            and not self.synchronized
            and self.center
            and self.scale
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.dtype == tf.float32
            and keras.backend.backend() == "tensorflow"
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
            )
            shape = tf.shape(inputs)
            n = tf.cast(shape[0] * shape[1] * shape[2], tf.float32)
            variance = variance * (n - 1.0) / tf.maximum(n, 1.0)  # Bessel-corrected -> biased, as Keras
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
            return outputs
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            self.gamma,
            self.beta,
            mean=self.moving_mean,
            variance=self.moving_variance,
            epsilon=self.epsilon,
            is_training=False,
        )
        return outputs


def _plain_layer(layer):
    if isinstance(layer, FusedBatchNormalization):
        return keras.layers.BatchNormalization.from_config(layer.get_config())
    return layer.__class__.from_config(layer.get_config())


def uses_fused(model) -> bool:
    """Whether ``model`` (or a model nested in it) has a :class:`FusedBatchNormalization` layer."""
    return any(isinstance(layer, FusedBatchNormalization) for layer in _all_layers(model))


def _all_layers(model):
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _all_layers(layer)


def plain_keras(model):
    """``model`` with every :class:`FusedBatchNormalization` replaced by Keras' ``BatchNormalization``.

    The copy has the same architecture, names and weights (copied, not shared)
    and computes the same outputs; a model without fused layers is returned as
    it is.

    >>> m = keras.Sequential([keras.Input((4, 4, 2)), FusedBatchNormalization(name="bn")])
    >>> type(plain_keras(m).layers[0]).__name__
    'BatchNormalization'
    """
    if not uses_fused(model):
        return model
    copy = keras.models.clone_model(model, clone_function=_plain_layer, recursive=True)
    copy.set_weights(model.get_weights())
    return copy
