"""mlc.batch_norm: the fused layer computes what Keras' BatchNormalization computes; files stay plain Keras."""

import io
import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from mlc import models
from mlc.batch_norm import FusedBatchNormalization, plain_keras, uses_fused
from mlc.config import RunConfig
from mlc.modelfiles import model_file
from mlc.runs import Run


def _pair(momentum=0.9, **kwargs):
    fused = FusedBatchNormalization(momentum=momentum, **kwargs)
    plain = keras.layers.BatchNormalization(momentum=momentum, **kwargs)
    return fused, plain


def _batch(shape, seed=0):
    rng = np.random.default_rng(seed)
    return tf.constant(rng.normal(1.5, 2.0, shape).astype("float32"))


@pytest.mark.parametrize("shape", [(8, 5, 5, 3), (1, 2, 2, 4), (16, 16, 16, 32)])
def test_training_step_matches_keras(shape):
    fused, plain = _pair()
    x = _batch(shape)
    fused.build(x.shape)
    plain.build(x.shape)
    gamma = np.linspace(0.5, 2.0, shape[-1]).astype("float32")
    for layer in (fused, plain):
        layer.gamma.assign(gamma)
        layer.beta.assign(-gamma)
    upstream = _batch(shape, seed=1)  # a non-uniform gradient from above
    results = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([y, *grads, layer.moving_mean, layer.moving_variance])
    for got, want in zip(*results):
        want = np.asarray(want)  # sums over B·H·W values round differently: tolerance relative to the largest
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(want).max()))


def test_inference_uses_the_moving_statistics():
    fused, plain = _pair()
    x = _batch((4, 3, 3, 2))
    for layer in (fused, plain):
        layer.build(x.shape)
        layer.moving_mean.assign([1.0, -2.0])
        layer.moving_variance.assign([4.0, 0.25])
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False), rtol=1e-5, atol=1e-5)
    before = fused.moving_mean.numpy().copy()
    fused(x, training=False)
    np.testing.assert_array_equal(fused.moving_mean.numpy(), before)  # inference never moves them


def test_frozen_layer_runs_in_inference_mode():
    fused, plain = _pair()
    x = _batch((4, 3, 3, 2))
    for layer in (fused, plain):
        layer.build(x.shape)
        layer.trainable = False
    np.testing.assert_allclose(fused(x, training=True), plain(x, training=True), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 4), (6, 3, 4)])
def test_other_ranks_fall_back_to_keras(shape):
    fused, plain = _pair()
    x = _batch(shape)
    np.testing.assert_allclose(fused(x, training=True), plain(x, training=True), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, plain.moving_variance, rtol=1e-5)


@pytest.mark.parametrize("name", [n for n in models.MODELS if uses_fused(models.build(n, 3, 32))])
def test_plain_keras_copy_predicts_the_same(name):
    model = models.build(name, 3, 32)
    x = _batch((4, 32, 32, 3)).numpy().clip(0, 1)
    for layer in model.layers:  # non-trivial statistics, so a copy that dropped them would differ
        if isinstance(layer, FusedBatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    copy = plain_keras(model)
    assert not uses_fused(copy)
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_a_model_without_fused_layers_is_returned_as_it_is():
    model = models.build("seed_cnn", 2, 32)
    assert plain_keras(model) is model


def test_fused_layer_survives_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((4, 4, 2)), FusedBatchNormalization(momentum=0.8, name="bn")])
    model.layers[0].moving_mean.assign([0.5, -0.5])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0], FusedBatchNormalization)
    assert loaded.layers[0].momentum == pytest.approx(0.8)
    np.testing.assert_allclose(loaded.layers[0].moving_mean, [0.5, -0.5])


def test_a_runs_model_file_names_only_keras_layers():
    config = RunConfig(train_size=64, val_size=32, test_size=32, epochs=1, image_size=32)
    run = Run(config=config, model=models.build(config.model, config.num_classes, config.image_size))
    assert uses_fused(run.model)
    data = model_file(run)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read("config.json").decode()
    assert "FusedBatchNormalization" not in text
    assert json.loads(text)  # a well-formed Keras config


def test_models_build_keras_batch_norm_inside_the_block_and_fused_outside():
    with models.keras_batch_norm():
        assert not uses_fused(models.build("lean", 2, 16))
    assert uses_fused(models.build("lean", 2, 16))


def test_the_ttq_baseline_is_built_as_it_trained_then():
    from mlc.bench import ttq

    with ttq.BUILT_WITH["2026-12-01 default"]():
        assert not uses_fused(models.build("compact", 5, 64))
    assert "default" not in ttq.BUILT_WITH  # today's default: as the app builds it
