"""Tests for :mod:`mlc.models`: every registered model, its probability wrapper and saving.

Parametrised over :data:`mlc.models.MODELS` so a new architecture is covered automatically.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mlc import models
from mlc.bench import training_flops_per_sample
from mlc.data import MAX_CLASSES, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from mlc.models import MODELS, build, with_probabilities

MODEL_NAMES = sorted(MODELS)


def images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, size, size, 3), dtype=np.float32)


def sigmoid64(z) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


# ---------------------------------------------------------------- registry
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_registry_entry_is_complete(name):
    spec = MODELS[name]
    assert spec.name == name
    assert callable(spec.builder)
    assert isinstance(spec.summary, str) and len(spec.summary) > 10


# ---------------------------------------------------------------- shapes and probabilities
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("num_classes", [1, 5, 20])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_logits_shape_and_probability_wrapper(name, num_classes, size):
    model = build(name, num_classes, image_size=size)
    assert isinstance(model, keras.Model)
    assert model.input_shape == (None, size, size, 3)
    assert model.output_shape == (None, num_classes)

    probs_model = with_probabilities(model)
    assert probs_model.input_shape == (None, size, size, 3)
    assert probs_model.output_shape == (None, num_classes)
    assert probs_model.layers[-1].name == "probabilities"

    x = images(3, size, seed=num_classes)
    logits = np.asarray(model(x, training=False))
    probs = np.asarray(probs_model(x, training=False))
    assert logits.shape == probs.shape == (3, num_classes)
    assert np.all(np.isfinite(logits))
    assert np.all((probs >= 0.0) & (probs <= 1.0))
    np.testing.assert_allclose(probs, sigmoid64(logits), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_probability_model_shares_weights(name):
    model = build(name, 3, image_size=32)
    probs_model = with_probabilities(model)
    x = images(2, 32)
    before = np.asarray(probs_model(x, training=False))
    logits_layer = model.layers[-1]
    kernel, bias = logits_layer.get_weights()
    logits_layer.set_weights([kernel, bias + 3.0])  # shift every logit by +3
    after = np.asarray(probs_model(x, training=False))
    assert np.all(after > before)
    np.testing.assert_allclose(after, sigmoid64(np.asarray(model(x, training=False))), atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_builds_are_fresh(name):
    a, b = build(name, 4, image_size=32), build(name, 4, image_size=32)
    assert a is not b
    assert not any(wa is wb for wa, wb in zip(a.weights, b.weights))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_saved_probability_model_round_trips_exactly(name, tmp_path):
    model = build(name, 5, image_size=32)
    # make the weights non-trivial (incl. batch-norm statistics) with one training step
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = images(8, 32, seed=1)
    model.fit(x, np.random.default_rng(1).random((8, 5)).astype("float32"), epochs=1, verbose=0)
    probs_model = with_probabilities(model)
    path = tmp_path / "model.keras"
    probs_model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode default: no lambdas, no pickles
    assert loaded.output_shape == (None, 5)
    expected = np.asarray(probs_model.predict(x, verbose=0))
    got = np.asarray(loaded.predict(x, verbose=0))
    np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------- the article's CNN
def test_seed_cnn_is_exactly_the_article_layer_sequence():
    num_classes = 7
    model = build("seed_cnn", num_classes, image_size=64)
    layers = model.layers
    assert [type(layer).__name__ for layer in layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    conv1, pool1, conv2, pool2, _, dense, logits = layers
    for conv, filters in ((conv1, 32), (conv2, 64)):
        assert conv.filters == filters
        assert tuple(conv.kernel_size) == (3, 3)
        assert tuple(conv.strides) == (1, 1)
        assert conv.padding == "valid"
        assert conv.get_config()["activation"] == "relu"
    for pool in (pool1, pool2):
        assert tuple(pool.pool_size) == (2, 2)
    assert dense.units == 128 and dense.get_config()["activation"] == "relu"
    assert logits.units == num_classes and logits.get_config()["activation"] == "linear"
    assert model.output_shape == (None, num_classes)
    # 64 -> conv 62 -> pool 31 -> conv 29 -> pool 14: 14*14*64 features into the dense layer
    assert layers[4].output.shape[-1] == 14 * 14 * 64


def test_seed_cnn_cost_matches_the_design_note():
    """DESIGN: about 116 MFLOP per training sample at 64x64 (3 x forward multiply-adds)."""
    flops = training_flops_per_sample(build("seed_cnn", 5, image_size=64))
    assert 100e6 < flops < 130e6


@pytest.mark.parametrize("size", [32, 64])
def test_compact_needs_fewer_training_flops_than_seed_cnn(size):
    compact = training_flops_per_sample(build("compact", 5, image_size=size))
    seed = training_flops_per_sample(build("seed_cnn", 5, image_size=size))
    assert 0 < compact < seed


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_has_a_positive_cost(name):
    assert training_flops_per_sample(build(name, 5, image_size=32)) > 0


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("name", ["foo", "", "Compact", None])
def test_unknown_model_name(name):
    with pytest.raises(ValueError, match="unknown model"):
        build(name, 5)


@pytest.mark.parametrize("num_classes", [0, -1, MAX_CLASSES + 1, 2.0, True, "5", None])
def test_bad_num_classes(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        build(MODEL_NAMES[0], num_classes)


@pytest.mark.parametrize("image_size", [MIN_IMAGE_SIZE - 1, MAX_IMAGE_SIZE + 1, 64.0, False, "64"])
def test_bad_image_size(image_size):
    with pytest.raises(ValueError, match="image_size"):
        build(MODEL_NAMES[0], 5, image_size=image_size)


def test_register_adds_to_registry_and_build_uses_it(monkeypatch):
    monkeypatch.setattr(models, "MODELS", MODELS.copy())

    @models.register("tiny_test_model", "a test model")
    def tiny(num_classes, image_size):
        return keras.Sequential(
            [
                keras.Input((image_size, image_size, 3)),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(num_classes),
            ]
        )

    assert models.MODELS["tiny_test_model"].summary == "a test model"
    assert build("tiny_test_model", 2, image_size=16).output_shape == (None, 2)
    assert "tiny_test_model" not in MODELS  # the real registry was not touched


def test_register_refuses_a_name_already_taken():
    with pytest.raises(ValueError, match="model 'compact' is already registered"):
        models.register("compact", "a second compact")(lambda num_classes, image_size: None)
    assert MODELS["compact"].summary != "a second compact"


def test_the_default_lean_model_needs_about_half_of_compacts_flops():
    """lean (the default) trades channels for speed: same stem and pooling, about 0.4 of compact's FLOPs."""
    lean = training_flops_per_sample(build("lean", 5, image_size=64))
    compact = training_flops_per_sample(build("compact", 5, image_size=64))
    assert 0.3 < lean / compact < 0.55
