"""Tests for :mod:`mlc.models`: every registered model, its probability wrapper and saving.

Parametrised over :data:`mlc.models.MODELS` so a new architecture is covered automatically.
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from mlc import checks, models
from mlc.bench import training_flops_per_sample
from mlc.data import MAX_CLASSES, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from mlc.models import MODELS, build, with_probabilities

MODEL_NAMES = sorted(MODELS)
#: Models whose fit-and-save round trip takes several seconds (a 1M-parameter pretrained backbone).
SLOW_TO_TRAIN = {"mobilenet_v3_small"}


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


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_TO_TRAIN else n for n in MODEL_NAMES]
)
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


# ---------------------------------------------------------------- the pretrained backbone (random weights here:
# tests/conftest.py sets MLC_BACKBONE_WEIGHTS=none, so nothing is downloaded)
BACKBONE = "mobilenet_v3_small"


def backbone_of(model: keras.Model) -> keras.Model:
    (inner,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner


@pytest.mark.parametrize(("size", "seen"), [(32, 96), (64, 96), (96, 96), (128, 128)])
def test_backbone_upscales_images_under_96_px_and_keeps_bigger_ones(size, seen):
    model = build(BACKBONE, 3, image_size=size)
    assert model.input_shape == (None, size, size, 3)
    assert backbone_of(model).input_shape == (None, seen, seen, 3)
    assert ("upscale" in [layer.name for layer in model.layers]) == (size < models.BACKBONE_MIN_SIZE)
    assert model.output_shape == (None, 3)


def test_backbone_sees_our_unit_images_as_keras_own_preprocessing_sees_0_to_255():
    """Keras' MobileNetV3 rescales 0..255 to [-1, 1] itself; ours is built without that layer and maps [0, 1]."""
    ours = build(BACKBONE, 2, image_size=96)
    inner = backbone_of(ours)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in inner.layers)
    reference = keras.applications.MobileNetV3Small(
        input_shape=(96, 96, 3), include_top=False, weights=None, include_preprocessing=True
    )
    reference.set_weights(inner.get_weights())
    x = images(2, 96, seed=3)  # [0, 1], as training feeds it
    features = keras.Model(ours.inputs[0], ours.get_layer("average").output)
    expected = np.asarray(reference(x * 255.0, training=False)).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(features(x, training=False)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # a training step through the backbone [5 s]
def test_backbone_is_frozen_and_training_moves_only_the_head():
    model = build(BACKBONE, 4, image_size=32)
    assert [w.shape for w in model.trainable_weights] == [(576, 4), (4,)]
    inner = backbone_of(model)
    before = [w.copy() for w in inner.get_weights()]  # batch-norm moving statistics included
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    model.fit(images(8, 32), np.ones((8, 4), np.float32), epochs=1, verbose=0)
    for b, a in zip(before, inner.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[-1].get_weights()[1], np.zeros(4))


@pytest.mark.parametrize(
    ("env", "override", "expected"),
    [
        (None, None, "imagenet"),
        ("", None, "imagenet"),
        ("none", None, None),
        (" None ", None, None),
        ("random", None, None),
        ("/w/file.h5", None, "/w/file.h5"),
        ("/w/file.h5", "imagenet", "imagenet"),
        ("imagenet", "none", None),
    ],
)
def test_weights_come_from_the_context_else_the_environment_else_imagenet(monkeypatch, env, override, expected):
    if env is None:
        monkeypatch.delenv(models.WEIGHTS_ENV, raising=False)
    else:
        monkeypatch.setenv(models.WEIGHTS_ENV, env)
    if isinstance(override, str):
        with models.backbone_weights(None if override == "none" else override):
            assert models.resolve_weights() == expected
    else:
        assert models.resolve_weights() == expected


def test_a_weights_choice_stays_in_its_thread(monkeypatch):
    import threading

    monkeypatch.setenv(models.WEIGHTS_ENV, "imagenet")
    seen = []
    with models.backbone_weights(None):
        thread = threading.Thread(target=lambda: seen.append(models.resolve_weights()))
        thread.start()
        thread.join()
        assert models.resolve_weights() is None
    assert seen == ["imagenet"]  # another visitor's training is not affected


def test_weights_load_from_a_file_named_in_the_environment(monkeypatch, tmp_path):
    source = backbone_of(build(BACKBONE, 2, image_size=96))
    path = tmp_path / "backbone.weights.h5"
    source.save_weights(path)
    monkeypatch.setenv(models.WEIGHTS_ENV, str(path))
    loaded = backbone_of(build(BACKBONE, 2, image_size=96))
    for a, b in zip(loaded.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setenv(models.WEIGHTS_ENV, str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="weights"):  # Keras' own message, not the download one
        build(BACKBONE, 2, image_size=96)


def test_offline_host_gets_one_line_naming_the_file_and_where_keras_looks(monkeypatch, capsys):
    """Keras' real download path, with its fetch replaced by what an offline host does."""
    from keras.src.utils import file_utils

    asked = {}

    def offline_get_file(fname=None, origin=None, cache_subdir="datasets", **kwargs):
        asked.update(fname=fname, origin=origin, cache_subdir=cache_subdir)
        print(f"Downloading data from {origin}")
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline_get_file)
    with models.backbone_weights("imagenet"), pytest.raises(models.BackboneWeightsError) as error:
        build(BACKBONE, 5, image_size=64)
    assert asked == {"fname": models.WEIGHTS_FILE, "origin": models.WEIGHTS_URL, "cache_subdir": "models"}
    message = str(error.value)
    assert "\n" not in message and "could not be downloaded" in message
    assert f"put {models.WEIGHTS_FILE}" in message and f"into {models.weights_dir()}/" in message
    assert models.weights_dir().endswith(f"{os.sep}.keras{os.sep}models") or "KERAS_HOME" in os.environ
    assert models.WEIGHTS_ENV in message
    shown = checks.first_line(error.value, 300)  # what the training engine shows of an error
    assert f"put {models.WEIGHTS_FILE} into {models.weights_dir()}/" in shown and models.WEIGHTS_ENV in shown
    with models.backbone_weights("imagenet"):
        assert build("lean", 5, image_size=64).output_shape == (None, 5)  # other models are unaffected


def test_other_errors_of_the_backbone_are_not_called_download_failures(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("something else")

    monkeypatch.setattr(keras.applications, "MobileNetV3Small", broken)
    with models.backbone_weights("imagenet"), pytest.raises(RuntimeError, match="^something else$"):
        build(BACKBONE, 5)
