"""Tests for :mod:`mlc.runfiles`: model files, run JSON, bundles and the local run store.

One tiny trained run (32x32 scenes, one epoch) is shared by the module; hostile files are
built in memory (small Keras models, hand-edited config.json, patched zip headers).
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from mlc import data, runfiles, runrecords, runstore
from mlc.config import RunConfig
from mlc.runfiles import (
    MAX_BUNDLE_RUNS,
    MAX_MODEL_BYTES,
    ProbabilitiesToLogits,
    RunFileError,
    RunStore,
    bundle,
    load_model_file,
    model_file,
    run_from_files,
    run_json,
    unbundle,
)
from mlc.states import RunStatus
from mlc.training import Run, make_data, predict_probabilities, sigmoid, train

SIZE = 32
CFG = RunConfig(epochs=1, train_size=128, val_size=64, batch_size=32, image_size=SIZE)
LAMBDA_MESSAGE = "this model contains a Lambda layer (arbitrary Python code); Lambda layers are refused for safety"


@pytest.fixture(scope="module")
def trained() -> Run:
    run = train(CFG)
    assert run.status == "finished"
    run.number = 1
    return run


@pytest.fixture(scope="module")
def trained2() -> Run:
    run = train(CFG.replace(loss="focal", model="linear", seed=3))
    assert run.status == "finished"
    run.number = 2
    return run


@pytest.fixture(scope="module")
def saved(trained) -> bytes:
    return model_file(trained)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return data.make_dataset(16, image_size=SIZE, seed=99)[0]


def save_bytes(model: keras.Model, tmp_path: Path, name: str = "m.keras") -> bytes:
    path = tmp_path / name
    model.save(path)
    return path.read_bytes()


def small(*body, size: int = SIZE, out: int = 5, activation=None) -> keras.Model:
    inputs = keras.Input((size, size, 3))
    x = layers.Flatten()(inputs)
    for layer in body:
        x = layer(x)
    return keras.Model(inputs, layers.Dense(out, activation=activation)(x))


def rezip(archive: bytes, replace: dict[str, bytes | None] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """A copy of a zip with members replaced (None: dropped) or added."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    dst.writestr(info.filename, replace[info.filename])
            else:
                dst.writestr(info, src.read(info))
        for name, content in add.items():
            dst.writestr(name, content)
    return out.getvalue()


def edit_config(archive: bytes, edit) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        config = json.loads(zf.read("config.json"))
    edit(config)
    return rezip(archive, {"config.json": json.dumps(config).encode()})


def find_layer(config: dict, class_name: str) -> dict:
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("class_name") == class_name:
                return node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError(f"no {class_name} in config")


def refused(match: str, call, *args, **kwargs) -> str:
    with pytest.raises(RunFileError, match=match) as info:
        call(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    return text


# ---------------------------------------------------------------- download -> upload
def test_model_file_round_trip_gives_the_same_predictions(trained, saved, images):
    model = load_model_file(saved, num_classes=5, image_size=SIZE)
    assert model.output_shape == (None, 5)
    assert not any(layer.name == "probabilities" for layer in model.layers)  # the sigmoid was cut off exactly
    np.testing.assert_allclose(
        predict_probabilities(model, images), predict_probabilities(trained.model, images), atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(model(images)), np.asarray(trained.model(images)), atol=1e-5
    )  # logits, not probabilities


def test_model_file_is_the_probability_model(saved, trained, images):
    with zipfile.ZipFile(io.BytesIO(saved)) as zf:
        assert {"config.json", "metadata.json", "model.weights.h5"} <= set(zf.namelist())
    run = Run(config=CFG, model=load_model_file(saved, num_classes=5, image_size=SIZE))
    again = load_model_file(model_file(run), num_classes=5, image_size=SIZE)  # a re-download round-trips too
    np.testing.assert_allclose(
        predict_probabilities(again, images), predict_probabilities(trained.model, images), atol=1e-6
    )


def test_model_file_needs_a_model():
    with pytest.raises(ValueError, match="has no model"):
        model_file(Run(config=CFG, status="failed"))


def test_run_json_is_the_runs_record(trained):
    record = json.loads(run_json(trained))
    assert RunConfig.from_dict(record["config"]) == CFG
    assert {"summary", "history", "batch_history", "evaluations", "report"} <= set(record)


def test_reference_article_model_loads_through_the_logits_wrapper(tmp_path, images):
    article = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            layers.Conv2D(8, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(5, activation="sigmoid"),
        ]
    )
    article.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    article.fit(images, (np.arange(80).reshape(16, 5) % 3 == 0).astype("float32"), epochs=1, verbose=0)
    model = load_model_file(save_bytes(article, tmp_path, "x.keras"), num_classes=5, image_size=SIZE)
    assert isinstance(model.layers[-1], ProbabilitiesToLogits)
    np.testing.assert_allclose(predict_probabilities(model, images), np.asarray(article(images)), atol=1e-5)
    # the wrapper is registered: the imported run can be downloaded and uploaded again
    again = load_model_file(model_file(Run(config=CFG, model=model)), num_classes=5, image_size=SIZE)
    np.testing.assert_allclose(predict_probabilities(again, images), np.asarray(article(images)), atol=1e-5)


@pytest.mark.parametrize("module", ["mlc.modelfiles", "mlc.runfiles", None])
def test_files_saved_with_the_logits_wrapper_load_whichever_module_they_name(tmp_path, images, module):
    # mlc.runfiles is where ProbabilitiesToLogits lived before mlc.modelfiles: files saved then name it
    sigmoid_model = small(activation="sigmoid")
    wrapped = load_model_file(save_bytes(sigmoid_model, tmp_path), num_classes=5, image_size=SIZE)
    saved_ = model_file(Run(config=CFG, model=wrapped))
    with zipfile.ZipFile(io.BytesIO(saved_)) as zf:
        node = find_layer(json.loads(zf.read("config.json")), "ProbabilitiesToLogits")
    assert node["module"] == "mlc.modelfiles" and node["registered_name"] == "mlc>ProbabilitiesToLogits"

    def rename(config):
        find_layer(config, "ProbabilitiesToLogits")["module"] = module

    again = load_model_file(edit_config(saved_, rename), num_classes=5, image_size=SIZE)
    np.testing.assert_allclose(predict_probabilities(again, images), np.asarray(sigmoid_model(images)), atol=1e-5)


def test_the_logits_wrapper_from_another_module_is_refused(tmp_path):
    wrapped = load_model_file(save_bytes(small(activation="sigmoid"), tmp_path), num_classes=5, image_size=SIZE)

    def elsewhere(config):
        find_layer(config, "ProbabilitiesToLogits")["module"] = "evil"

    refused(
        "custom class 'ProbabilitiesToLogits' from module 'evil' that this app does not know",
        load_model_file,
        edit_config(model_file(Run(config=CFG, model=wrapped)), elsewhere),
        image_size=SIZE,
    )


def test_a_sigmoid_activation_layer_is_cut_off_exactly(tmp_path, images):
    model = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), layers.Flatten(), layers.Dense(5), layers.Activation("sigmoid")]
    )
    loaded = load_model_file(save_bytes(model, tmp_path), num_classes=5, image_size=SIZE)
    assert not any(isinstance(layer, (ProbabilitiesToLogits, layers.Activation)) for layer in loaded.layers)
    logits = model.layers[1](model.layers[0](images))  # Dense(Flatten(x)) before the sigmoid
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(logits))


def test_a_nested_model_ending_in_sigmoid_is_wrapped(tmp_path, images):
    inner = keras.Sequential([keras.Input((SIZE, SIZE, 3)), layers.Flatten(), layers.Dense(5, activation="sigmoid")])
    inputs = keras.Input((SIZE, SIZE, 3))
    outer = keras.Model(inputs, inner(inputs))
    loaded = load_model_file(save_bytes(outer, tmp_path), num_classes=5, image_size=SIZE)
    assert isinstance(loaded.layers[-1], ProbabilitiesToLogits)
    np.testing.assert_allclose(predict_probabilities(loaded, images), np.asarray(outer(images)), atol=1e-6)


def test_probabilities_to_logits_inverts_the_sigmoid():
    p = np.array([[1e-9, 1e-4, 0.3, 0.5, 0.99, 1.0]], np.float32)
    z = np.asarray(ProbabilitiesToLogits()(p))
    np.testing.assert_allclose(sigmoid(z), np.clip(p, 1e-7, 1 - 1e-7), rtol=1e-5, atol=1e-7)


def test_a_custom_loss_in_the_compile_config_does_not_matter(tmp_path):
    def my_loss(y, p):  # an unregistered closure-style loss, as in the article
        return keras.ops.mean((y - p) ** 2)

    model = small(activation="sigmoid")
    model.compile(optimizer="adam", loss=my_loss)
    assert load_model_file(save_bytes(model, tmp_path), num_classes=5, image_size=SIZE).output_shape == (None, 5)


def test_a_nested_models_compile_config_is_never_deserialised(tmp_path):
    def my_loss(y, p):
        return keras.ops.mean((y - p) ** 2)

    inner = keras.Sequential([keras.Input((SIZE, SIZE, 3)), layers.Flatten(), layers.Dense(5, activation="sigmoid")])
    inner.compile(optimizer="adam", loss=my_loss)
    inputs = keras.Input((SIZE, SIZE, 3))
    path = tmp_path / "nested.keras"
    keras.Model(inputs, inner(inputs)).save(path)
    # compile=False drops only the top-level compile config: Keras still compiles the nested model
    with pytest.raises(TypeError, match="Could not locate function 'my_loss'"):
        keras.saving.load_model(path, safe_mode=True, compile=False)
    assert load_model_file(path.read_bytes(), num_classes=5, image_size=SIZE).output_shape == (None, 5)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_keras_loads_exactly_the_screened_config(saved, monkeypatch):
    # a second config.json member (zip allows duplicate names) must not slip past the screening
    with zipfile.ZipFile(io.BytesIO(saved)) as zf:
        config = json.loads(zf.read("config.json"))
    find_layer(config, "Activation")["class_name"] = "Lambda"
    doubled = rezip(saved, add={"config.json": json.dumps(config).encode()})
    refused("Lambda layer", load_model_file, doubled, image_size=SIZE)
    seen = []
    real = keras.saving.load_model

    def spy(path, **kwargs):
        with zipfile.ZipFile(path) as zf:
            seen.append([i.filename for i in zf.infolist()].count("config.json"))
        return real(path, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    load_model_file(saved, image_size=SIZE)
    assert seen == [1]


def test_linear_outputs_are_taken_as_logits(tmp_path, images):
    model = small()
    loaded = load_model_file(save_bytes(model, tmp_path), num_classes=5, image_size=SIZE)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), atol=1e-6)


# ---------------------------------------------------------------- refusals: what the model is
def _raising(exc: BaseException):
    def load(*args, **kwargs):
        raise exc

    return load


def test_what_keras_safe_mode_itself_refuses_is_one_line_too(tmp_path, monkeypatch):
    """What Keras 3 does without our screening, and the line a visitor gets should a file get that far."""
    path = tmp_path / "lambda.keras"
    small(layers.Lambda(lambda t: t * 2)).save(path)
    with pytest.raises(ValueError, match="Requested the deserialization of a `Lambda` layer") as lambda_error:
        keras.saving.load_model(path, safe_mode=True, compile=False)

    class Doubler(layers.Layer):
        def call(self, x):
            return x * 2

    path = tmp_path / "custom.keras"
    small(Doubler()).save(path)
    with pytest.raises(TypeError, match="Could not locate class 'Doubler'") as class_error:
        keras.saving.load_model(path, safe_mode=True, compile=False)

    plain = save_bytes(small(), tmp_path, "plain.keras")  # passes the screening; Keras is made to refuse it
    monkeypatch.setattr(keras.saving, "load_model", _raising(lambda_error.value))
    assert refused("Lambda", load_model_file, plain, image_size=SIZE).startswith(LAMBDA_MESSAGE)
    monkeypatch.setattr(keras.saving, "load_model", _raising(class_error.value))
    assert "built-in layers" in refused("custom class 'Doubler'", load_model_file, plain, image_size=SIZE)
    monkeypatch.setattr(keras.saving, "load_model", _raising(TypeError("Could not locate function 'my_loss'. More")))
    refused("custom function 'my_loss'; only Keras' own activations", load_model_file, plain, image_size=SIZE)


def test_lambda_layer_is_refused(tmp_path, monkeypatch):
    data_ = save_bytes(small(layers.Lambda(lambda t: t * 2)), tmp_path)
    monkeypatch.setattr(keras.saving, "load_model", _never)  # refused from config.json, before Keras runs anything
    assert refused("Lambda", load_model_file, data_, image_size=SIZE).startswith(LAMBDA_MESSAGE)


def _double(t):
    return t * 2


def test_lambda_naming_a_function_is_refused_too(tmp_path, monkeypatch):
    # safe mode only blocks Python lambdas; a Lambda naming a function (even a Keras one) is refused here too
    def point_at_keras(config):
        find_layer(config, "Lambda")["config"]["function"] = {
            "module": "keras.models",
            "class_name": "function",
            "config": "load_model",
            "registered_name": "function",
        }

    data_ = edit_config(save_bytes(small(layers.Lambda(_double)), tmp_path), point_at_keras)
    monkeypatch.setattr(keras.saving, "load_model", _never)
    refused("Lambda layer", load_model_file, data_, image_size=SIZE)


def test_unregistered_custom_layer_is_refused(tmp_path):
    class Doubler(layers.Layer):
        def call(self, x):
            return x * 2

    text = refused("custom class 'Doubler'", load_model_file, save_bytes(small(Doubler()), tmp_path), image_size=SIZE)
    assert "built-in layers" in text


def test_custom_activation_function_is_refused(tmp_path):
    refused(
        "custom function '_double'", load_model_file, save_bytes(small(activation=_double), tmp_path), image_size=SIZE
    )


@pytest.mark.parametrize(
    "module, class_name, match",
    [
        ("os", "system", "custom class 'system' from module 'os' that this app does not know"),
        ("keras.layers", "TFSMLayer", "TFSMLayer layer, which loads a SavedModel"),
        ("keras.layers", "StringLookup", "StringLookup layer, which can read a vocabulary file"),
    ],
)
def test_classes_from_outside_keras_and_file_reading_layers_are_refused(
    tmp_path, monkeypatch, module, class_name, match
):
    def swap(config):
        node = find_layer(config, "Flatten")
        node["module"], node["class_name"] = module, class_name

    data_ = edit_config(save_bytes(small(), tmp_path), swap)
    monkeypatch.setattr(keras.saving, "load_model", _never)
    refused(match, load_model_file, data_, image_size=SIZE)


def test_softmax_output_is_refused(tmp_path):
    text = refused(
        "ends in softmax", load_model_file, save_bytes(small(activation="softmax"), tmp_path), image_size=SIZE
    )
    assert "sigmoid" in text


def test_softmax_layer_output_is_refused(tmp_path):
    model = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), layers.Flatten(), layers.Dense(5), layers.Softmax(), layers.Dropout(0.1)]
    )
    refused(
        "ends in softmax", load_model_file, save_bytes(model, tmp_path), image_size=SIZE
    )  # seen through the Dropout


def test_other_output_activations_are_refused(tmp_path):
    refused(
        "last activation is 'relu'", load_model_file, save_bytes(small(activation="relu"), tmp_path), image_size=SIZE
    )


def test_wrong_input_size_is_refused(tmp_path):
    text = refused(
        r"expects inputs of shape \(None, 48, 48, 3\) but the run's images are \(None, 32, 32, 3\)",
        load_model_file,
        save_bytes(small(size=48), tmp_path),
        image_size=SIZE,
    )
    assert "choose image size 48" in text


def test_wrong_output_count_is_refused(tmp_path):
    refused(
        "the model outputs 7 values but the run has 5 tags",
        load_model_file,
        save_bytes(small(out=7), tmp_path),
        num_classes=5,
        image_size=SIZE,
    )


def test_non_vector_output_is_refused(tmp_path):
    inputs = keras.Input((SIZE, SIZE, 3))
    model = keras.Model(inputs, layers.Conv2D(2, 3)(inputs))
    refused(r"outputs shape \(None, 30, 30, 2\)", load_model_file, save_bytes(model, tmp_path), image_size=SIZE)


def _two_inputs():
    image, extra = keras.Input((SIZE, SIZE, 3)), keras.Input((3,))
    return keras.Model([image, extra], layers.Dense(5)(layers.Concatenate()([layers.Flatten()(image), extra])))


def _two_outputs():
    image = keras.Input((SIZE, SIZE, 3))
    flat = layers.Flatten()(image)
    return keras.Model(image, [layers.Dense(5)(flat), layers.Dense(5)(flat)])


@pytest.mark.parametrize(
    "build, match",
    [
        (_two_inputs, "the model takes 2 inputs; the app feeds it one batch of images"),
        (_two_outputs, "the model has 2 outputs; a multi-label model has one"),
        (lambda: small(out=21), "the model outputs 21 values; the app handles 1 to 20 tags"),
        (lambda: small(activation="tanh"), "last activation is 'tanh'"),
    ],
)
def test_other_model_shapes_are_refused(tmp_path, build, match):
    refused(match, load_model_file, save_bytes(build(), tmp_path), image_size=SIZE)


# ---------------------------------------------------------------- refusals: what the bytes are
def _never(*args, **kwargs):
    raise AssertionError("keras.saving.load_model must not be reached")


def test_oversize_bytes_are_refused_before_loading(saved, monkeypatch):
    monkeypatch.setattr(keras.saving, "load_model", _never)
    refused(r"the model file is .* MiB; at most 0.0 MiB is accepted", load_model_file, saved, max_bytes=1000)
    assert MAX_MODEL_BYTES == 50 * 1024 * 1024


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda good: b"", "the model file is empty"),
        (lambda good: np.random.default_rng(0).bytes(5000), "not a Keras model file: a .keras file is a zip archive"),
        (lambda good: good[: len(good) // 2], "damaged or truncated zip archive"),
        (lambda good: rezip(good, {"config.json": None}), "the zip archive has no config.json"),
        (lambda good: rezip(good, {"config.json": b"{not json"}), "config.json is not valid JSON"),
        (lambda good: rezip(good, {"model.weights.h5": b"garbage"}), "Keras could not load this model file"),
        (lambda good: b"\x89HDF\r\n\x1a\n" + bytes(100), r"legacy HDF5 \(.h5\) model"),
        (lambda good: b"PK\x03\x04" + bytes(100), "damaged or truncated zip archive"),
    ],
)
def test_bad_bytes_are_refused_with_one_line(saved, make, match):
    refused(match, load_model_file, make(saved), image_size=SIZE)


def test_zip_bomb_member_is_refused(saved, monkeypatch):
    bomb = _declare_size(saved, "model.weights.h5", 0xFFFF_FFF0)  # claims ~4 GiB unpacked
    monkeypatch.setattr(keras.saving, "load_model", _never)
    refused(
        r"unpacks to .* MiB; at most 200 MiB is accepted \(a zip bomb guard\)", load_model_file, bomb, image_size=SIZE
    )


def _declare_size(archive: bytes, member: str, size: int) -> bytes:
    """Patch the central directory so ``member`` declares ``size`` uncompressed bytes."""
    buf = bytearray(archive)
    name = member.encode()
    at = 0
    while True:
        at = buf.index(b"PK\x01\x02", at)
        name_len = struct.unpack_from("<H", buf, at + 28)[0]
        if bytes(buf[at + 46 : at + 46 + name_len]) == name:
            struct.pack_into("<I", buf, at + 24, size)
            return bytes(buf)
        at += 4


def test_argument_errors_are_not_run_file_errors(saved):
    with pytest.raises(TypeError, match="must be bytes"):
        load_model_file("model.keras")
    with pytest.raises(ValueError, match="image_size must be a whole number") as info:
        load_model_file(saved, image_size=7)
    assert not isinstance(info.value, RunFileError)


# ---------------------------------------------------------------- whole runs
def test_run_from_files_reproduces_the_report(trained, saved, images):
    run = run_from_files(saved, run_json(trained))
    assert run.status == "imported" and run.message.startswith("imported (was finished)")
    assert run.config == trained.config and run.id != trained.id
    np.testing.assert_array_equal(run.val_labels, trained.val_labels)  # the very same validation scenes
    assert abs(run.report["map"] - trained.report["map"]) < 1e-6
    assert abs(run.report["macro_f1"] - trained.report["macro_f1"]) < 1e-6
    np.testing.assert_allclose(run.val_probabilities, trained.val_probabilities, atol=1e-6)
    assert len(run.epoch_history) == len(trained.epoch_history) == 1
    for got, want in zip(run.epoch_history, trained.epoch_history):
        for key, value in want.items():
            assert got[key] == value or (math.isnan(got[key]) and math.isnan(value)), key
    assert run.batch_history == trained.batch_history
    assert run.train_seconds == pytest.approx(trained.train_seconds, abs=1e-3)
    np.testing.assert_allclose(
        predict_probabilities(run.model, images), predict_probabilities(trained.model, images), atol=1e-6
    )
    assert run.summary()["map"] == run.report["map"]
    json.loads(run.to_json())  # an imported run can be saved again


def test_run_from_files_with_a_config_and_no_json(saved, trained):
    run = run_from_files(saved, config=CFG)
    assert run.status == "imported" and run.epoch_history == []
    assert abs(run.report["map"] - trained.report["map"]) < 1e-6
    refused(
        "the model outputs 5 values but the run has 3 tags",
        run_from_files,
        saved,
        config=CFG.replace(classes=("a", "b", "c"), prevalence=None, weights=None),
    )


@pytest.mark.parametrize(
    "text, match",
    [
        ("{", r"run.json is not valid JSON \(JSONDecodeError"),
        ("[1, 2]", "run.json must hold a JSON object with a 'config', got a list"),
        ('{"summary": {}}', "run.json has no 'config'"),
        (
            '{"config": {"epochs": 0}}',
            "run.json: the config is invalid: ValueError: epochs must be a whole number from 1 to 500, got 0",
        ),
        ('{"config": {"los": "bce"}}', "run.json: the config is invalid: ValueError: unknown config field 'los'"),
        ('{"config": {}, "history": [1]}', "run.json: history row 1 must be a JSON object, got a number"),
        ('{"config": {}, "history": [{"map": "high"}]}', "run.json: history row 1: 'map' must be a number, got 'high'"),
        (b"\xff\xfe{}", "run.json is not UTF-8 text"),
    ],
)
def test_bad_run_json_is_refused_with_one_line(saved, text, match):
    refused(match, run_from_files, saved, text)


def test_odd_summary_values_are_tamed(saved, trained):
    record = json.loads(run_json(trained))
    record["summary"] = {
        "status": "stopped",
        "message": "line one\nline two " * 50,
        "device": ["gpu"],
        "train_seconds": 1e308,
        "samples_per_second": 1e308,
    }
    run = run_from_files(saved, json.dumps(record))
    assert run.message == "imported (was stopped)"
    assert run.device == "CPU" and run.samples_seen == 0


@pytest.mark.parametrize("status", ["running", "finished", "stopped", "failed", "imported"])
def test_every_recorded_status_loads_and_is_named_in_the_message(saved, trained, status):
    record = json.loads(run_json(trained))
    record["summary"]["status"] = status  # plain text, as every run.json holds it
    run = run_from_files(saved, json.dumps(record))
    assert run.status is RunStatus.IMPORTED and run.message == f"imported (was {status})"


def test_a_run_json_without_a_status_is_imported_from_a_model_file(saved, trained):
    record = json.loads(run_json(trained))
    del record["summary"]["status"]
    assert run_from_files(saved, json.dumps(record)).message == "imported from a model file"


@pytest.mark.parametrize("status", ["fin\nished " * 50, "done", 3, ["finished"]])
def test_an_unknown_status_is_refused_with_one_line(saved, trained, status):
    record = json.loads(run_json(trained))
    record["summary"]["status"] = status
    text = refused(
        r"^run.json: unknown run status .*; expected one of: running, finished, stopped, failed, imported$",
        run_from_files,
        saved,
        json.dumps(record),
    )
    assert len(text) < 200


def test_without_json_or_config_the_default_config_is_assumed(saved):
    refused(r"the run's images are \(None, 64, 64, 3\); choose image size 32", run_from_files, saved)


def test_import_caps_the_validation_scenes_at_a_prefix_of_the_original_split(monkeypatch):
    assert runfiles.MAX_IMPORT_VAL_SIZE % data.CHUNK == 0
    monkeypatch.setattr(runrecords, "MAX_IMPORT_VAL_SIZE", 256)  # where run_from_files reads it
    cfg = CFG.replace(val_size=300)
    n = runfiles.import_val_size(cfg)
    assert n == 256
    _, (x_full, y_full) = make_data(cfg.replace(train_size=1))
    _, (x_cap, y_cap) = make_data(cfg.replace(train_size=1, val_size=n))
    np.testing.assert_array_equal(x_cap, x_full[:n])
    np.testing.assert_array_equal(y_cap, y_full[:n])


# ---------------------------------------------------------------- bundles
def test_bundle_round_trip(trained, trained2, images):
    packed = bundle([trained, trained2])
    with zipfile.ZipFile(io.BytesIO(packed)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert set(zf.namelist()) == {
            "manifest.json",
            "run-1/run.json",
            "run-1/model.keras",
            "run-2/run.json",
            "run-2/model.keras",
        }
    assert manifest["format"] == "mlc-runs" and manifest["format_version"] == 1
    assert manifest["app"] == "Multi-label Lab" and manifest["created"].endswith("+00:00")
    assert [e["folder"] for e in manifest["runs"]] == ["run-1", "run-2"]
    assert manifest["runs"][1]["id"] == trained2.id

    runs, problems = unbundle(packed)
    assert problems == []
    assert [r.config for r in runs] == [trained.config, trained2.config]
    for got, want in zip(runs, [trained, trained2]):
        assert got.status == "imported" and "from bundle folder" in got.message
        assert abs(got.report["map"] - want.report["map"]) < 1e-6
        np.testing.assert_allclose(
            predict_probabilities(got.model, images), predict_probabilities(want.model, images), atol=1e-6
        )


def test_bundle_needs_runs_with_models(trained):
    with pytest.raises(ValueError, match="at least one run"):
        bundle([])
    with pytest.raises(ValueError, match="has no model"):
        bundle([trained, Run(config=CFG, status="failed")])
    with pytest.raises(ValueError, match=f"at most {MAX_BUNDLE_RUNS} runs"):
        bundle([trained] * (MAX_BUNDLE_RUNS + 1))


@pytest.fixture(scope="module")
def packed(trained, trained2) -> bytes:
    return bundle([trained, trained2])


def test_a_corrupt_run_is_reported_and_the_other_loads(packed, trained):
    broken = rezip(packed, {"run-2/model.keras": b"PK\x03\x04 broken"})
    runs, problems = unbundle(broken)
    assert [r.config for r in runs] == [trained.config]
    assert len(problems) == 1 and problems[0].startswith("run-2: the model file is a damaged or truncated zip archive")
    assert "\n" not in problems[0]


def test_a_run_missing_its_model_or_json_is_reported(packed):
    runs, problems = unbundle(
        rezip(packed, {"run-1/model.keras": None, "run-2/run.json": b'{"config": {"epochs": -1}}'})
    )
    assert runs == []
    assert problems[0] == "run-1: no model.keras in this folder; each run needs run.json and model.keras"
    assert problems[1].startswith("run-2: run.json: the config is invalid: ValueError: epochs")


def test_path_traversal_names_are_ignored_and_nothing_is_written(packed, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with zipfile.ZipFile(io.BytesIO(packed)) as zf:
        good_json, good_model = zf.read("run-1/run.json"), zf.read("run-1/model.keras")
    hostile = rezip(
        packed,
        {"manifest.json": None, "run-2/run.json": None, "run-2/model.keras": None},
        {
            "../evil/run.json": good_json,
            "../evil/model.keras": good_model,
            "/abs/run.json": good_json,
            "/abs/model.keras": good_model,
            "run-1/../../up/run.json": good_json,
            "..\\win\\run.json": good_json,
            "../../escape.txt": b"x",
        },
    )
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    runs, problems = unbundle(hostile)
    assert len(runs) == 1 and "from bundle folder run-1" in runs[0].message
    assert len(problems) == 1 and problems[0].startswith(
        "ignored 7 unexpected file(s) in the bundle: '../evil/run.json'"
    )
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "evil").exists() and not (tmp_path / "escape.txt").exists() and not Path("/abs").exists()


def test_a_bundle_without_manifest_loads_its_folders(packed):
    runs, problems = unbundle(rezip(packed, {"manifest.json": None}))
    assert len(runs) == 2 and problems == []


def test_too_many_runs_are_refused(packed):
    refused("the bundle holds 2 runs; at most 1 are accepted", unbundle, packed, max_runs=1)
    many = rezip(packed, add={f"r{i}/run.json": b"{}" for i in range(300)})
    refused(r"the bundle holds 305 files; at most 272 are accepted", unbundle, many)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda good: b"not a zip", "not a run bundle: a bundle is a zip archive"),
        (lambda good: good[:-30], "the bundle is a damaged or truncated zip archive"),
        (lambda good: rezip(good, {"manifest.json": b'{"format": "other"}'}), "not a run bundle of this app"),
        (
            lambda good: rezip(good, {"manifest.json": b'{"format": "mlc-runs", "format_version": 9}'}),
            "format version 9",
        ),
        (lambda good: rezip(good, {"manifest.json": b"{"}), "manifest.json is not valid JSON"),
        (lambda good: _declare_size(good, "run-1/model.keras", 0xFFFF_FFF0), r"unpacks to .*\(a zip bomb guard\)"),
        (
            lambda good: rezip(
                good, {n: None for n in ("run-1/run.json", "run-1/model.keras", "run-2/run.json", "run-2/model.keras")}
            ),
            "no runs in this bundle",
        ),
    ],
)
def test_bad_bundles_are_refused(packed, make, match):
    refused(match, unbundle, make(packed))


def test_oversize_bundle_is_refused(packed):
    refused(r"the bundle is .* MiB; at most 0.0 MiB is accepted", unbundle, packed, max_bytes=1000)


# ---------------------------------------------------------------- the local run store
def test_run_store_round_trip(tmp_path, trained, trained2):
    store = RunStore(tmp_path / "runs")
    first = store.save(trained)
    assert (
        first.name.endswith(f"-{trained.id}") and (first / "run.json").is_file() and (first / "model.keras").is_file()
    )
    assert store.save(trained) == first  # idempotent
    store.save(trained2)
    (tmp_path / "runs" / "20000101-000000-broken").mkdir()  # sorts first; holds nothing
    (tmp_path / "runs" / ".partial-abc").mkdir()  # an interrupted save: ignored
    runs, problems = store.load_all()
    assert problems == ["20000101-000000-broken: no model.keras in this folder"]
    assert [r.config for r in runs] == [trained.config, trained2.config]  # newest last, even within one second
    assert {r.id for r in runs} == {trained.id, trained2.id}
    assert all(r.status == "imported" for r in runs)
    mine = next(r for r in runs if r.id == trained.id)
    assert abs(mine.report["map"] - trained.report["map"]) < 1e-6
    assert store.save(mine) == first  # a loaded run keeps its folder
    latest, _ = store.load_all(limit=1)
    assert [r.id for r in latest] == [trained2.id]
    assert [p.name for p in (tmp_path / "runs").glob(".partial-*")] == [".partial-abc"]  # saves left no temp folder


def test_run_store_save_is_atomic(tmp_path, trained, monkeypatch):
    store = RunStore(tmp_path)

    def fail(self, out_dir):
        (Path(out_dir) / "run.json").write_text("{")
        raise OSError("disk full")

    monkeypatch.setattr(Run, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        store.save(trained)
    assert list(tmp_path.iterdir()) == []


def test_from_env(tmp_path):
    assert RunStore.from_env({}) is None
    assert RunStore.from_env({"MLC_RUN_DIR": "  "}) is None
    store = RunStore.from_env({"MLC_RUN_DIR": str(tmp_path / "a" / "b")})
    assert store.path == tmp_path / "a" / "b" and store.path.is_dir() and not store.tensorboard
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^MLC_RUN_DIR: run directory .* cannot be created"):
        RunStore.from_env({"MLC_RUN_DIR": str(tmp_path / "file" / "runs")})
    with pytest.raises(ValueError, match="MLC_TENSORBOARD must be 1/true or 0/false"):  # as every setting says it
        RunStore.from_env({"MLC_RUN_DIR": str(tmp_path), "MLC_TENSORBOARD": "maybe"})
    with pytest.raises(ValueError, match="MLC_TENSORBOARD=1 needs MLC_RUN_DIR"):
        RunStore.from_env({"MLC_TENSORBOARD": "1"})


def test_tensorboard_needs_the_package_and_the_switch(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="TensorBoard logging is off"):
        RunStore(tmp_path).tensorboard_dir(CFG)
    monkeypatch.setattr(runstore, "tensorboard_available", lambda: False)  # where RunStore looks it up
    with pytest.raises(
        ValueError, match="^MLC_TENSORBOARD: TensorBoard logging needs the tensorboard package; pip install"
    ):
        RunStore.from_env({"MLC_RUN_DIR": str(tmp_path), "MLC_TENSORBOARD": "1"})


def test_tensorboard_event_files_are_written(tmp_path):
    pytest.importorskip("tensorboard", reason="Keras' TensorBoard callback needs the tensorboard package")
    store = RunStore.from_env({"MLC_RUN_DIR": str(tmp_path), "MLC_TENSORBOARD": "1"})
    log_dir = store.tensorboard_dir(CFG)
    assert log_dir.parent == tmp_path / "tensorboard" and list(log_dir.iterdir()) == []
    run = train(
        CFG.replace(train_size=64, val_size=32, epochs=2), callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir))]
    )
    assert run.status == "finished", run.message
    tags = {}
    for split in ("train", "validation"):
        files = list((log_dir / split).glob("events.out.tfevents.*"))
        assert files, split
        tags[split] = _event_tags(files)
    assert "epoch_loss" in tags["train"]
    assert {"epoch_loss", "epoch_map", "epoch_macro_f1"} <= tags["validation"]
    assert store.load_all() == ([], [])  # log folders are not runs


def _event_tags(files) -> set[str]:
    from tensorflow.core.util import event_pb2

    tags = set()
    for record in tf.data.TFRecordDataset([str(f) for f in files]):
        event = event_pb2.Event.FromString(record.numpy())
        tags.update(v.tag for v in event.summary.value)
    return tags
