"""Model files and run history: download, upload, bundles and a local run directory.

A run leaves the app as files and may come back as files, from this app or from
anyone's laptop, so every byte that comes in is treated as untrusted:

* :func:`model_file` / :func:`run_json` give a run's ``.keras`` model (sigmoid
  outputs, the served model) and its JSON record (config, summary, history,
  report) for download.
* :func:`load_model_file` turns uploaded ``.keras`` bytes into a *logits* model
  that can stand in for ``Run.model``. It loads with
  ``keras.saving.load_model(..., safe_mode=True, compile=False)`` and, before
  that, checks the zip itself (size, member count, unpacked size: a zip bomb
  guard) and screens ``config.json`` to refuse what safe mode alone might let
  through: ``Lambda`` layers (even ones naming a function instead of holding a
  Python lambda), layers that read files (``TFSMLayer``, lookup and text
  layers), classes from outside Keras, unregistered custom classes and custom
  functions; every ``compile_config`` (optimizer, loss, metrics, also of
  nested models) is emptied. Keras loads a rebuilt copy of the archive whose
  config.json is exactly the screened one. Legacy HDF5 (``.h5``) files are
  refused: Keras ignores safe mode for them.
* :func:`run_from_files` rebuilds a whole :class:`~mlc.training.Run` from a
  model file and, optionally, its ``run.json``: the validation scenes are
  regenerated from the config exactly as training made them, so the Predict and
  Evaluate pages can use the run like one trained here (status ``"imported"``).
* :func:`bundle` / :func:`unbundle` pack several runs into one zip and back; a
  broken run in a bundle is reported and the others still load.
* :class:`RunStore` keeps runs in a local directory (``MLC_RUN_DIR``) and can
  hand out TensorBoard log directories (``MLC_TENSORBOARD=1``).

Whatever goes wrong with uploaded bytes, the caller sees one exception type,
:class:`RunFileError`, whose message is one line a visitor can act on.

>>> load_model_file(b"not a model")
Traceback (most recent call last):
...
mlc.runfiles.RunFileError: not a Keras model file: a .keras file is a zip archive and these bytes are not one; ...
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from mlc import data as data_mod
from mlc import metrics
from mlc.config import RunConfig
from mlc.training import Run, make_data, predict_probabilities

__all__ = [
    "MAX_BUNDLE_BYTES",
    "MAX_BUNDLE_RUNS",
    "MAX_MODEL_BYTES",
    "ProbabilitiesToLogits",
    "RunFileError",
    "RunStore",
    "bundle",
    "load_model_file",
    "model_file",
    "run_from_files",
    "run_json",
    "tensorboard_available",
    "unbundle",
]

_MiB = 1024 * 1024
#: Largest ``.keras`` upload accepted, in bytes (50 MiB). The app's own models are
#: far smaller (``compact`` about 0.3 MB, ``seed_cnn`` about 6.5 MB at 64x64).
MAX_MODEL_BYTES = 50 * _MiB
#: Largest bundle upload accepted, in bytes (200 MiB).
MAX_BUNDLE_BYTES = 200 * _MiB
#: Most runs one bundle may hold.
MAX_BUNDLE_RUNS = 64
#: Largest ``run.json`` accepted, in bytes (long runs keep one history row per batch).
MAX_RUN_JSON_BYTES = 20 * _MiB
#: Zip bomb guard: the members of an archive may unpack to at most this many
#: times the archive's size limit (their declared sizes are checked before
#: anything is read; Python's zipfile never inflates a member past its declared size).
UNPACK_FACTOR = 4
#: Most members in a ``.keras`` archive (Keras writes three: config.json, metadata.json, model.weights.h5).
MAX_MODEL_MEMBERS = 64
#: Validation scenes regenerated for an imported run: at most this many (a
#: multiple of the scene generator's chunk size, so they are exactly the first
#: scenes of the original validation split) ...
MAX_IMPORT_VAL_SIZE = 5120
#: ... and at most this many bytes of float32 pixels (fewer scenes for large images).
MAX_IMPORT_VAL_BYTES = 256 * _MiB
#: Bundle layout: ``manifest.json`` names this format and version.
BUNDLE_FORMAT = "mlc-runs"
BUNDLE_VERSION = 1
APP_NAME = "Multi-label Lab"
#: Environment variables read by :meth:`RunStore.from_env`.
RUN_DIR_ENV = "MLC_RUN_DIR"
TENSORBOARD_ENV = "MLC_TENSORBOARD"

#: Layers refused on sight in an uploaded model, with the reason shown to the visitor.
REFUSED_LAYERS: dict[str, str] = {
    "TFSMLayer": "loads a SavedModel from the server's disk",
    "StringLookup": "can read a vocabulary file from the server's disk",
    "IntegerLookup": "can read a vocabulary file from the server's disk",
    "TextVectorization": "can read a vocabulary file from the server's disk",
}
_LAMBDA_MESSAGE = (
    "this model contains a Lambda layer (arbitrary Python code); Lambda layers are refused for safety "
    "— rebuild it without Lambda (use built-in layers or a registered layer class)"
)
# Serialisation markers Keras writes for values (tensors, tuples, ...), not classes.
_VALUE_MARKERS = {
    "__keras_tensor__",
    "__tensor__",
    "__numpy__",
    "__bytes__",
    "__ellipsis__",
    "__slice__",
    "__tuple__",
    "__typespec__",
}
# Layers that pass values through unchanged: the output activation is behind them.
_PASS_THROUGH = (
    layers.Dropout,
    layers.Flatten,
    layers.Reshape,
    layers.Identity,
    layers.ActivityRegularization,
    layers.GaussianNoise,
    layers.GaussianDropout,
    layers.AlphaDropout,
)
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$")
_STORE_NAME = re.compile(r"^(\d{8}-\d{6})-([A-Za-z0-9_-]{1,64})$")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EPOCH_KEYS = (
    "epoch",
    "loss",
    "val_loss",
    "macro_f1",
    "micro_f1",
    "map",
    "mae",
    "seconds",
    "samples_per_second",
    "elapsed",
)
_BATCH_KEYS = ("epoch", "batch", "step", "loss", "seconds")
_EVAL_KEYS = ("step", "samples", "train_seconds", "val_loss", "macro_f1", "micro_f1", "map", "mae")


class RunFileError(ValueError):
    """An uploaded model, run JSON or bundle was refused; ``str()`` is one line."""


@keras.saving.register_keras_serializable(package="mlc")
class ProbabilitiesToLogits(layers.Layer):
    """Turn probabilities back into logits: z = log(p) - log(1 - p), p clipped to [1e-7, 1 - 1e-7].

    Put on top of a model that ends in a sigmoid (e.g. ``Dense(C,
    activation="sigmoid")`` as in the reference article), it gives the logits
    model the app works with; ``sigmoid(z)`` then equals the model's own outputs
    to float32 precision (outputs saturated at exactly 0 or 1 come back as
    1e-7 or 1 - 1e-7). Shape (B, C) -> (B, C), float32.

    >>> z = ProbabilitiesToLogits()(np.array([[0.5, 0.8807971]], np.float32))
    >>> np.round(np.asarray(z), 5).tolist()
    [[0.0, 2.0]]
    """

    EPSILON = 1e-7

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, probabilities):
        p = ops.clip(ops.cast(probabilities, "float32"), self.EPSILON, 1.0 - self.EPSILON)
        return ops.log(p) - ops.log1p(-p)

    def compute_output_shape(self, input_shape):
        return input_shape


# ---------------------------------------------------------------- downloads
def model_file(run: Run) -> bytes:
    """The run's served model (sigmoid outputs (B, C) in [0, 1]) as ``.keras`` file bytes.

    Raises ``ValueError`` for a run without a model (one that failed before training).
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a mlc.training.Run, got {type(run).__name__}")
    if run.model is None:
        raise ValueError(f"run {run.label!r} has no model (status {run.status!r}); only runs with a model can be saved")
    with tempfile.TemporaryDirectory(prefix="mlc-model-") as tmp:
        path = Path(tmp) / "model.keras"
        run.probability_model().save(path)
        return path.read_bytes()


def run_json(run: Run) -> str:
    """The run's JSON record (config, summary, history, report), as :meth:`Run.to_json` writes it."""
    if not isinstance(run, Run):
        raise TypeError(f"run must be a mlc.training.Run, got {type(run).__name__}")
    return run.to_json(indent=2)


# ---------------------------------------------------------------- model upload
def load_model_file(
    data: bytes,
    *,
    num_classes: int | None = None,
    image_size: int = 64,
    max_bytes: int = MAX_MODEL_BYTES,
) -> keras.Model:
    """Load uploaded ``.keras`` bytes as a logits model: images (B, S, S, 3) in [0, 1] -> logits (B, C).

    The result can serve as ``Run.model`` (:func:`mlc.training.predict_probabilities`
    applies the sigmoid). How the outputs become logits:

    * last layer a sigmoid ``Activation`` (the app's own ``probabilities``
      layer, see :func:`mlc.models.with_probabilities`): it is cut off, exactly;
    * last layer ending in a sigmoid otherwise (``Dense(C, activation="sigmoid")``):
      :class:`ProbabilitiesToLogits` is put on top (same probabilities to float precision);
    * no activation (linear): the outputs are taken as logits as they are;
    * softmax or any other activation: refused.

    ``S`` is ``image_size``; ``C`` must equal ``num_classes`` when given.
    Raises :class:`RunFileError` (and nothing else) for bytes it refuses; a
    bad argument of the caller is a ``ValueError`` / ``TypeError``.
    """
    _check_bytes(data, "data")
    image_size = _check_int(image_size, "image_size", data_mod.MIN_IMAGE_SIZE, data_mod.MAX_IMAGE_SIZE)
    if num_classes is not None:
        num_classes = _check_int(num_classes, "num_classes", 1, data_mod.MAX_CLASSES)
    max_bytes = _check_int(max_bytes, "max_bytes", 1, 2**40)
    data = bytes(data)
    config = _check_model_archive(data, max_bytes)
    with tempfile.TemporaryDirectory(prefix="mlc-upload-") as tmp:
        path = Path(tmp) / "model.keras"  # a fixed name: the visitor's file name never reaches the disk
        _rebuild_archive(data, config, path)
        try:
            model = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # whatever Keras or h5py raise for hostile bytes
            raise RunFileError(_explain_load_error(exc)) from exc
    try:
        return _to_logits(model, num_classes=num_classes, image_size=image_size)
    except RunFileError:
        raise
    except Exception as exc:
        raise RunFileError(f"the model loaded but could not be used: {_exc_line(exc)}") from exc


def _check_model_archive(data: bytes, max_bytes: int) -> dict:
    """Refuse oversize, non-zip, damaged, bomb-like or unsafe archives before Keras sees them.

    Returns the screened ``config.json`` (every ``compile_config`` emptied).
    """
    if len(data) == 0:
        raise RunFileError("the model file is empty; upload the .keras file that model.save('name.keras') wrote")
    if len(data) > max_bytes:
        raise RunFileError(
            f"the model file is {_mib(len(data))}; at most {_mib(max_bytes)} is accepted — upload a smaller model"
        )
    if data.startswith(_HDF5_MAGIC):
        raise RunFileError(
            "this is a legacy HDF5 (.h5) model; only the .keras format is accepted (Keras cannot load .h5 "
            "safely) — load it in your own Keras and save it again with model.save('name.keras')"
        )
    if not data.startswith(b"PK"):
        raise RunFileError(
            "not a Keras model file: a .keras file is a zip archive and these bytes are not one; "
            "save the model with model.save('name.keras')"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            _check_zip_size(
                infos,
                "model archive",
                MAX_MODEL_MEMBERS,
                max_bytes,
                f"a .keras file holds a few (at most {MAX_MODEL_MEMBERS} accepted) — save the model with "
                "model.save('name.keras')",
                " — upload the .keras file that model.save wrote",
            )
            names = {i.filename for i in infos}
            if "config.json" not in names:
                raise RunFileError(
                    "not a .keras model file: the zip archive has no config.json; "
                    "save the model with model.save('name.keras')"
                )
            config_text = zf.read("config.json")
    except RunFileError:
        raise
    except Exception as exc:  # BadZipFile, zlib.error, encrypted or unsupported members, ...
        raise RunFileError(
            f"the model file is a damaged or truncated zip archive ({_exc_line(exc)}); upload it again"
        ) from exc
    try:
        config = json.loads(config_text)
    except Exception as exc:  # bad UTF-8, bad JSON, absurd nesting
        raise RunFileError(f"not a .keras model file: its config.json is not valid JSON ({_exc_line(exc)})") from exc
    if not isinstance(config, dict):
        raise RunFileError(f"not a .keras model file: its config.json holds a {_json_type(config)}, not an object")
    try:
        _check_model_config(config)
    except RunFileError:
        raise
    except Exception as exc:  # a config shaped like nothing Keras writes
        raise RunFileError(f"not a .keras model file: its config.json is malformed ({_exc_line(exc)})") from exc
    return config


def _rebuild_archive(data: bytes, config: dict, path: Path) -> None:
    """Write a copy of the archive to ``path`` whose config.json is exactly the screened ``config``.

    Keras then loads what was checked (a duplicate config.json member cannot
    swap in anything else), and every member's CRC is verified on the way.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w") as dst:
            for info in src.infolist():
                if info.filename != "config.json" and not info.is_dir():
                    dst.writestr(info, src.read(info))
            dst.writestr("config.json", json.dumps(config))
    except Exception as exc:  # CRC errors, bad compression, encrypted members
        raise RunFileError(
            f"the model file is a damaged or truncated zip archive ({_exc_line(exc)}); upload it again"
        ) from exc


def _check_model_config(config: Any) -> None:
    """Walk config.json (iteratively), empty every ``compile_config`` and refuse unsafe or unknown classes.

    ``compile=False`` only drops the top-level ``compile_config``: Keras still
    compiles nested models from theirs (deserialising their optimizer, loss
    and metrics, custom functions included). Emptying them all means no loss or
    metric from the file is ever deserialised, and a nested model compiled
    with a custom loss still loads.
    """
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if "compile_config" in node:
            node["compile_config"] = None
        class_name = node.get("class_name")
        if isinstance(class_name, str):
            _check_class(node, class_name)
        stack.extend(node.values())


def _check_class(node: dict, class_name: str) -> None:
    module = node.get("module")
    registered = node.get("registered_name")
    if class_name in ("Lambda", "__lambda__"):
        raise RunFileError(_LAMBDA_MESSAGE)
    if class_name in REFUSED_LAYERS:
        raise RunFileError(
            f"this model contains a {class_name} layer, which {REFUSED_LAYERS[class_name]}; "
            "it is refused for safety — rebuild the model without it"
        )
    if class_name in _VALUE_MARKERS:
        return
    if class_name == "function":
        name = node.get("config")
        if isinstance(module, str) and (
            module.startswith("keras.activations") or module.startswith("keras.src.activations")
        ):
            return
        raise RunFileError(
            f"this model uses a custom function {_short_repr(name)}; only Keras' own activations are accepted "
            "— use a built-in activation such as 'relu' or 'sigmoid'"
        )
    if isinstance(registered, str) and registered in _ALLOWED_REGISTERED and module in _ALLOWED_REGISTERED[registered]:
        return
    if isinstance(module, str) and (module == "keras" or module.startswith("keras.")):
        return  # Keras resolves it among its own classes (an unknown name fails there and is explained)
    where = f" from module {_short_repr(module)}" if module else ""
    raise RunFileError(
        f"this model uses a custom class {_short_repr(class_name)}{where} that this app does not know; "
        "only Keras' built-in layers are accepted — rebuild the model with built-in layers"
    )


#: Registered classes (``package>Name``) an uploaded model may contain besides Keras' own.
_ALLOWED_REGISTERED = {"mlc>ProbabilitiesToLogits": (None, "", "mlc.runfiles")}


def _explain_load_error(exc: BaseException) -> str:
    """One line for whatever ``keras.saving.load_model`` raised (the config was already screened)."""
    text = str(exc)
    if "Lambda" in text and ("safe_mode" in text or "lambda" in text):
        return _LAMBDA_MESSAGE
    found = re.search(r"Could not locate class '([^']{1,100})'", text)
    if found:
        return (
            f"this model uses a custom class {found.group(1)!r} that this app does not know; "
            "only Keras' built-in layers are accepted — rebuild the model with built-in layers"
        )
    found = re.search(r"Could not locate function '([^']{1,100})'", text)
    if found:
        return (
            f"this model uses a custom function {found.group(1)!r}; only Keras' own activations are accepted "
            "— use a built-in activation such as 'relu' or 'sigmoid'"
        )
    return f"Keras could not load this model file ({_exc_line(exc)}); save it again with model.save('name.keras')"


def _to_logits(model: Any, *, num_classes: int | None, image_size: int) -> keras.Model:
    """Check the input and output shapes, then make the outputs logits (see :func:`load_model_file`)."""
    if not isinstance(model, keras.Model):
        raise RunFileError(f"the file holds a {type(model).__name__}, not a Keras model; save a keras.Model")
    inputs, outputs = _tensors(model, "inputs"), _tensors(model, "outputs")
    if len(inputs) != 1:
        raise RunFileError(f"the model takes {len(inputs)} inputs; the app feeds it one batch of images")
    if len(outputs) != 1:
        raise RunFileError(f"the model has {len(outputs)} outputs; a multi-label model has one: a value per tag")
    in_shape = tuple(inputs[0].shape)
    want = (None, image_size, image_size, 3)
    if in_shape != want:
        hint = f"rebuild it with keras.Input(shape=({image_size}, {image_size}, 3))"
        if (
            len(in_shape) == 4
            and in_shape[3] == 3
            and in_shape[1] == in_shape[2]
            and isinstance(in_shape[1], int)
            and data_mod.MIN_IMAGE_SIZE <= in_shape[1] <= data_mod.MAX_IMAGE_SIZE
        ):
            hint = f"choose image size {in_shape[1]} for the run, or {hint}"
        raise RunFileError(
            f"the model expects inputs of shape {_shape(in_shape)} but the run's images are {_shape(want)}; {hint}"
        )
    out_shape = tuple(outputs[0].shape)
    if len(out_shape) != 2 or not isinstance(out_shape[1], int):
        raise RunFileError(
            f"the model outputs shape {_shape(out_shape)}; a multi-label model outputs (None, C): one value per tag"
        )
    count = out_shape[1]
    if num_classes is not None and count != num_classes:
        raise RunFileError(
            f"the model outputs {count} values but the run has {num_classes} tags; "
            f"upload the run.json that belongs to the model or choose {count} tags"
        )
    if not 1 <= count <= data_mod.MAX_CLASSES:
        raise RunFileError(f"the model outputs {count} values; the app handles 1 to {data_mod.MAX_CLASSES} tags")

    last = _output_layer(model)
    activation, holder = _final_activation(last)
    if activation == "sigmoid" and holder is last and isinstance(last, layers.Activation):
        logits = keras.Model(inputs[0], last.input, name=f"{model.name}_logits")  # exact: the sigmoid is cut off
    elif activation == "sigmoid":
        logits = keras.Model(inputs[0], ProbabilitiesToLogits()(outputs[0]), name=f"{model.name}_logits")
    elif activation == "linear":
        logits = model
    elif activation == "softmax":
        raise RunFileError(
            "the model ends in softmax, which makes the tags compete for one unit of probability; "
            "multi-label needs independent sigmoid outputs (or logits) — rebuild the last layer with "
            "activation='sigmoid'"
        )
    else:
        raise RunFileError(
            f"the model's last activation is {activation!r}; a multi-label model ends in sigmoid "
            "(probabilities) or no activation (logits) — rebuild the last layer with activation='sigmoid'"
        )
    probe = np.asarray(logits(np.zeros((1, image_size, image_size, 3), np.float32), training=False))
    if probe.shape != (1, count):
        raise RunFileError(f"the model returned shape {probe.shape} for one image; expected (1, {count})")
    if not np.isfinite(probe).all():
        raise RunFileError("the model outputs NaN or infinite values; its weights are broken — retrain or re-save it")
    return logits


def _tensors(model, attr: str) -> list:
    try:
        value = getattr(model, attr)
    except Exception as exc:
        raise RunFileError(
            f"the model was never built, so its {attr} are unknown; build it (call it once) before saving"
        ) from exc
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _output_layer(model):
    history = getattr(model.outputs[0], "_keras_history", None)
    return history[0] if history is not None else model.layers[-1]


def _final_activation(layer, depth: int = 0) -> tuple[str, Any]:
    """(activation name, layer that applies it) at the output of ``layer``."""
    if depth > 50:
        return "linear", layer
    if isinstance(layer, keras.Model):
        return _final_activation(_output_layer(layer), depth + 1)
    if isinstance(layer, layers.Softmax):
        return "softmax", layer
    if isinstance(layer, _PASS_THROUGH):
        try:
            return _final_activation(layer.input._keras_history[0], depth + 1)
        except Exception:  # a shared layer has no single input
            return "linear", layer
    if isinstance(layer, (layers.ReLU, layers.LeakyReLU, layers.ELU, layers.PReLU)):
        return type(layer).__name__.lower(), layer
    fn = getattr(layer, "activation", None)
    if fn is None:
        return "linear", layer
    return getattr(fn, "__name__", str(fn)), layer


# ---------------------------------------------------------------- whole runs
def run_from_files(
    model_data: bytes,
    run_json_text: str | bytes | None = None,
    *,
    config: RunConfig | None = None,
) -> Run:
    """Rebuild a :class:`~mlc.training.Run` from an uploaded model and, optionally, its ``run.json``.

    The config comes from ``run_json_text`` when given (checked by
    :meth:`RunConfig.from_dict`), else from ``config``, else the app's default
    five tags. The validation scenes are regenerated with
    :func:`mlc.training.make_data` from that config — the very scenes training
    scored on — and the model's probabilities on them give ``val_probabilities``
    and ``report``. To bound server work at most :data:`MAX_IMPORT_VAL_SIZE`
    scenes (fewer for large images, :data:`MAX_IMPORT_VAL_BYTES` of pixels) are
    used: the first ones of the original split, so the report of a larger
    split is then computed on its first part. History and timings come from the
    JSON. The run gets status ``"imported"`` and a fresh ``id``.

    Raises :class:`RunFileError` for a refused model or JSON.
    """
    if config is not None and not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig or None, got {type(config).__name__}")
    record: dict = {}
    if run_json_text is not None:
        record = _parse_run_json(run_json_text)
        config = record["config"]
    config = config or RunConfig()
    model = load_model_file(model_data, num_classes=config.num_classes, image_size=config.image_size)

    n_val = import_val_size(config)
    _, (x_val, y_val) = make_data(config.replace(train_size=1, val_size=n_val))
    try:
        probabilities = predict_probabilities(model, x_val)
    except Exception as exc:
        raise RunFileError(f"the model could not run on the validation scenes: {_exc_line(exc)}") from exc
    if not np.isfinite(probabilities).all():
        raise RunFileError("the model outputs NaN or infinite values on the validation scenes; retrain or re-save it")

    summary = record.get("summary", {})
    was = _short_text(summary.get("status"), "", limit=20)
    run = Run(config=config, status="imported", model=model)
    run.message = f"imported (was {was})" if was else "imported from a model file"
    if n_val < config.val_size:
        run.message += f"; scored on the first {n_val} of {config.val_size} validation scenes"
    run.device = _short_text(summary.get("device"), "CPU")
    run.train_seconds = _number_or(summary.get("train_seconds"), 0.0)
    run.wall_seconds = _number_or(summary.get("wall_seconds"), 0.0)
    samples = _number_or(summary.get("samples_per_second"), 0.0) * run.train_seconds
    run.samples_seen = int(round(samples)) if samples < 1e15 else 0  # keeps samples_per_second as it was
    run.epoch_history = record.get("history", [])
    run.batch_history = record.get("batch_history", [])
    run.evaluations = record.get("evaluations", [])
    run.val_labels = y_val
    run.val_probabilities = probabilities
    run.report = metrics.report(y_val, probabilities, classes=config.classes)
    return run


def import_val_size(config: RunConfig) -> int:
    """How many validation scenes :func:`run_from_files` regenerates for ``config``.

    >>> import_val_size(RunConfig(val_size=1000)), import_val_size(RunConfig(val_size=50_000))
    (1000, 5120)
    >>> import_val_size(RunConfig(val_size=50_000, image_size=256))
    256
    """
    chunk = data_mod._CHUNK  # whole generator chunks: the same scenes as the original split
    per_scene = config.image_size**2 * 3 * 4
    cap = min(MAX_IMPORT_VAL_SIZE, MAX_IMPORT_VAL_BYTES // per_scene)
    cap = max(chunk, cap // chunk * chunk)
    return min(config.val_size, cap)


def _parse_run_json(text: str | bytes) -> dict:
    """Parse and check a run.json: ``{"config": RunConfig, "summary": {...}, "history": [...], ...}``."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_RUN_JSON_BYTES:
            raise RunFileError(f"run.json is {_mib(len(text))}; at most {_mib(MAX_RUN_JSON_BYTES)} is accepted")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RunFileError(
                f"run.json is not UTF-8 text ({_exc_line(exc)}); upload the run.json the app wrote"
            ) from exc
    if not isinstance(text, str):
        raise TypeError(f"run_json_text must be str, bytes or None, got {type(text).__name__}")
    if len(text) > MAX_RUN_JSON_BYTES:
        raise RunFileError(f"run.json is {_mib(len(text))}; at most {_mib(MAX_RUN_JSON_BYTES)} is accepted")
    try:
        obj = json.loads(text)
    except Exception as exc:  # JSONDecodeError, RecursionError for absurd nesting
        raise RunFileError(f"run.json is not valid JSON ({_exc_line(exc)}); upload the run.json the app wrote") from exc
    if not isinstance(obj, dict):
        raise RunFileError(f"run.json must hold a JSON object with a 'config', got a {_json_type(obj)}")
    if "config" not in obj:
        raise RunFileError("run.json has no 'config'; upload the run.json the app wrote next to the model")
    try:
        config = RunConfig.from_dict(obj["config"])
    except Exception as exc:
        raise RunFileError(f"run.json: the config is invalid: {_exc_line(exc)}") from exc
    summary = obj.get("summary") or {}
    if not isinstance(summary, dict):
        raise RunFileError(f"run.json: 'summary' must be a JSON object, got a {_json_type(summary)}")
    return {
        "config": config,
        "summary": summary,
        "history": _rows(obj, "history", _EPOCH_KEYS),
        "batch_history": _rows(obj, "batch_history", _BATCH_KEYS),
        "evaluations": _rows(obj, "evaluations", _EVAL_KEYS),
    }


def _rows(obj: dict, key: str, columns: tuple[str, ...]) -> list[dict]:
    """History rows with exactly ``columns``, numbers only (null -> NaN, as before JSON)."""
    rows = obj.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise RunFileError(f"run.json: {key!r} must be a list of rows, got a {_json_type(rows)}")
    out = []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise RunFileError(f"run.json: {key} row {i} must be a JSON object, got a {_json_type(row)}")
        clean = {}
        for column in columns:
            value = row.get(column, float("nan"))
            if value is None:
                value = float("nan")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RunFileError(f"run.json: {key} row {i}: {column!r} must be a number, got {_short_repr(value)}")
            clean[column] = value
        out.append(clean)
    return out


# ---------------------------------------------------------------- bundles
def bundle(runs: Sequence[Run]) -> bytes:
    """A zip of several runs: ``run-<number or id>/run.json`` + ``model.keras`` each, and ``manifest.json``.

    The manifest holds ``format`` ("mlc-runs"), ``format_version``, ``app``,
    ``created`` (UTC, ISO 8601) and one entry per run (folder, id, number,
    label, status, mAP). Every run must have a model; at most
    :data:`MAX_BUNDLE_RUNS` runs (what :func:`unbundle` accepts).
    """
    runs = list(runs)
    if not runs:
        raise ValueError("bundle needs at least one run")
    if len(runs) > MAX_BUNDLE_RUNS:
        raise ValueError(f"a bundle holds at most {MAX_BUNDLE_RUNS} runs, got {len(runs)}; pick fewer runs")
    for run in runs:
        if not isinstance(run, Run):
            raise TypeError(f"runs must be mlc.training.Run objects, got {type(run).__name__}")
        if run.model is None:
            raise ValueError(f"run {run.label!r} has no model (status {run.status!r}); leave it out of the bundle")
    entries, used = [], set()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for run in runs:
            folder = f"run-{run.number}" if run.number else f"run-{_safe_id(run.id)}"
            if folder in used:
                folder = f"{folder}-{_safe_id(run.id)}"
            while folder in used:
                folder = f"{folder}-{uuid.uuid4().hex[:4]}"
            used.add(folder)
            zf.writestr(f"{folder}/run.json", run_json(run))
            zf.writestr(f"{folder}/model.keras", model_file(run))
            entries.append(
                {
                    "folder": folder,
                    "id": run.id,
                    "number": run.number,
                    "label": run.label,
                    "status": run.status,
                    "map": _finite_or_none((run.report or {}).get("map")),
                }
            )
        manifest = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_VERSION,
            "app": APP_NAME,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "runs": entries,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    return buffer.getvalue()


def unbundle(
    data: bytes,
    *,
    max_bytes: int = MAX_BUNDLE_BYTES,
    max_runs: int = MAX_BUNDLE_RUNS,
) -> tuple[list[Run], list[str]]:
    """Runs from a bundle, rebuilt by :func:`run_from_files`, and one problem line per refused run.

    A run folder is any folder holding ``run.json`` and ``model.keras``; the
    ``manifest.json`` is optional (a zip of folders saved by
    :class:`RunStore` or by hand loads too), but when present it must be this
    app's format and it orders the runs. Nothing is ever extracted to disk by
    member name: members are read into memory, and names that are absolute,
    contain ``..`` or odd characters are ignored (one problem line lists them).

    Raises :class:`RunFileError` when the bundle as a whole is refused: not a
    zip, larger than ``max_bytes``, more than ``max_runs`` runs or too many
    members, members unpacking to more than ``4 * max_bytes`` (zip bomb guard),
    a foreign manifest, or no run at all.
    """
    _check_bytes(data, "data")
    max_bytes = _check_int(max_bytes, "max_bytes", 1, 2**40)
    max_runs = _check_int(max_runs, "max_runs", 1, 10_000)
    data = bytes(data)
    if len(data) > max_bytes:
        raise RunFileError(
            f"the bundle is {_mib(len(data))}; at most {_mib(max_bytes)} is accepted — bundle fewer runs"
        )
    if not data.startswith(b"PK"):
        raise RunFileError("not a run bundle: a bundle is a zip archive and these bytes are not one; download it again")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise RunFileError(
            f"the bundle is a damaged or truncated zip archive ({_exc_line(exc)}); download it again"
        ) from exc
    with zf:
        infos = zf.infolist()
        _check_zip_size(
            infos,
            "bundle",
            4 * max_runs + 16,
            max_bytes,
            f"at most {4 * max_runs + 16} are accepted (two per run, at most {max_runs} runs)",
        )
        folders, ignored, manifest_info = _bundle_layout(infos)
        problems: list[str] = []
        if ignored:
            shown = ", ".join(repr(n[:80]) for n in ignored[:3])
            problems.append(f"ignored {len(ignored)} unexpected file(s) in the bundle: {shown}")
        order = _manifest_order(zf, manifest_info) if manifest_info is not None else []
        if not folders:
            raise RunFileError("no runs in this bundle: expected folders that each hold run.json and model.keras")
        if len(folders) > max_runs:
            raise RunFileError(f"the bundle holds {len(folders)} runs; at most {max_runs} are accepted")
        names = [f for f in order if f in folders] + sorted((f for f in folders if f not in order), key=_natural_key)
        problems += [f"{f}: listed in manifest.json but missing from the bundle" for f in order if f not in folders]
        runs: list[Run] = []
        for name in names:
            members = folders[name]
            try:
                run = _run_from_members(zf, members)
            except RunFileError as exc:
                problems.append(f"{name}: {exc}")
                continue
            run.message += f"; from bundle folder {name}"
            runs.append(run)
    return runs, problems


def _bundle_layout(infos) -> tuple[dict[str, dict], list[str], Any]:
    """Group members into run folders; return (folders, ignored names, manifest info)."""
    folders: dict[str, dict] = {}
    ignored: list[str] = []
    manifest = None
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        if name == "manifest.json":
            manifest = info
            continue
        parts = name.split("/")
        if (
            len(parts) < 2
            or parts[-1] not in ("run.json", "model.keras")
            or not all(_SAFE_SEGMENT.match(p) and p not in (".", "..") for p in parts[:-1])
        ):
            ignored.append(name)
            continue
        folder = "/".join(parts[:-1])
        slot = folders.setdefault(folder, {})
        slot.setdefault("duplicates", 0)
        if parts[-1] in slot:
            slot["duplicates"] += 1
        slot[parts[-1]] = info
    return folders, ignored, manifest


def _manifest_order(zf: zipfile.ZipFile, info) -> list[str]:
    if info.file_size > _MiB:
        raise RunFileError(f"the bundle's manifest.json is {_mib(info.file_size)}; at most 1 MiB is accepted")
    try:
        manifest = json.loads(zf.read(info).decode("utf-8"))
    except Exception as exc:
        raise RunFileError(
            f"the bundle's manifest.json is not valid JSON ({_exc_line(exc)}); download the bundle again"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise RunFileError(f"not a run bundle of this app: manifest.json does not name the format {BUNDLE_FORMAT!r}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= BUNDLE_VERSION:
        raise RunFileError(
            f"the bundle has format version {_short_repr(version)}; this app reads version {BUNDLE_VERSION} "
            "— update the app or export the runs again"
        )
    entries = manifest.get("runs", [])
    if not isinstance(entries, list):
        raise RunFileError("the bundle's manifest.json: 'runs' must be a list")
    return [e["folder"] for e in entries if isinstance(e, dict) and isinstance(e.get("folder"), str)]


def _run_from_members(zf: zipfile.ZipFile, members: dict) -> Run:
    if members.get("duplicates"):
        raise RunFileError("the folder holds the same file twice; refused as ambiguous")
    missing = [n for n in ("run.json", "model.keras") if n not in members]
    if missing:
        raise RunFileError(f"no {' and no '.join(missing)} in this folder; each run needs run.json and model.keras")
    model_info, json_info = members["model.keras"], members["run.json"]
    if model_info.file_size > MAX_MODEL_BYTES:
        raise RunFileError(f"model.keras is {_mib(model_info.file_size)}; at most {_mib(MAX_MODEL_BYTES)} is accepted")
    if json_info.file_size > MAX_RUN_JSON_BYTES:
        raise RunFileError(f"run.json is {_mib(json_info.file_size)}; at most {_mib(MAX_RUN_JSON_BYTES)} is accepted")
    try:
        model_bytes, json_bytes = zf.read(model_info), zf.read(json_info)
    except Exception as exc:  # CRC errors, bad compression, encryption
        raise RunFileError(f"the files could not be read from the bundle ({_exc_line(exc)})") from exc
    return run_from_files(model_bytes, json_bytes)


# ---------------------------------------------------------------- a local run directory
def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package is installed.

    Keras' TensorBoard callback needs it: without it TF 2.21 still creates the
    event file but the first ``tf.summary.scalar`` raises ``TBNotInstalledError``,
    which would fail the run.
    """
    return importlib.util.find_spec("tensorboard") is not None


class RunStore:
    """Runs kept in a local directory, one folder per run: ``<YYYYmmdd-HHMMSS>-<run id>/run.json + model.keras``.

    Optional: the app works without it; ``MLC_RUN_DIR`` turns it on
    (:meth:`from_env`). With ``tensorboard=True`` (or ``MLC_TENSORBOARD=1``),
    :meth:`tensorboard_dir` gives a fresh log directory under
    ``<path>/tensorboard/`` for ``keras.callbacks.TensorBoard(log_dir=...)``,
    passed to :func:`mlc.training.train` as ``callbacks=[...]``; this needs the
    ``tensorboard`` package (``pip install tensorboard``).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = RunStore(Path(tmp) / "runs")
    ...     store.load_all()
    ([], [])
    """

    def __init__(self, path: str | os.PathLike, *, tensorboard: bool = False):
        if not isinstance(tensorboard, bool):
            raise TypeError(f"tensorboard must be True or False, got {tensorboard!r}")
        self.path = Path(path).expanduser()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"run directory {str(self.path)!r} cannot be created: {_exc_line(exc)}") from exc
        if not self.path.is_dir() or not os.access(self.path, os.W_OK | os.X_OK):
            raise ValueError(f"run directory {str(self.path)!r} is not a writable directory")
        if tensorboard and not tensorboard_available():
            raise ValueError(
                "TensorBoard logging needs the tensorboard package; pip install tensorboard, or turn it off"
            )
        self.tensorboard = tensorboard

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r}, tensorboard={self.tensorboard})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RunStore | None:
        """The store named by ``MLC_RUN_DIR`` (``None`` when unset or empty); ``MLC_TENSORBOARD=1`` adds TensorBoard.

        A directory that cannot be created, or a bad ``MLC_TENSORBOARD``, is a
        ``ValueError`` naming the variable (a misconfigured server should fail loudly).
        """
        raw = (environ.get(RUN_DIR_ENV) or "").strip()
        tb_raw = (environ.get(TENSORBOARD_ENV) or "").strip().lower()
        if tb_raw in ("", "0", "false", "no", "off"):
            tensorboard = False
        elif tb_raw in ("1", "true", "yes", "on"):
            tensorboard = True
        else:
            raise ValueError(f"{TENSORBOARD_ENV} must be 1 or 0 (true/false), got {environ.get(TENSORBOARD_ENV)!r}")
        if not raw:
            if tensorboard:
                raise ValueError(f"{TENSORBOARD_ENV}=1 needs {RUN_DIR_ENV}: set it to the directory for runs and logs")
            return None
        try:
            return cls(raw, tensorboard=tensorboard)
        except ValueError as exc:
            name = TENSORBOARD_ENV if "tensorboard package" in str(exc) else RUN_DIR_ENV
            raise ValueError(f"{name}: {exc}") from exc

    def save(self, run: Run) -> Path:
        """Write the run's folder (atomically: a hidden temp folder renamed into place) and return it.

        Saving the same run again (same ``run.id``) returns its existing folder.
        """
        if not isinstance(run, Run):
            raise TypeError(f"run must be a mlc.training.Run, got {type(run).__name__}")
        if run.model is None:
            raise ValueError(
                f"run {run.label!r} has no model (status {run.status!r}); only runs with a model are stored"
            )
        run_id = _safe_id(run.id)
        existing = self._folder_of(run_id)
        if existing is not None:
            return existing
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.path))
        try:
            run.save(tmp)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            final = self.path / f"{stamp}-{run_id}"
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def load_all(self, limit: int | None = MAX_BUNDLE_RUNS) -> tuple[list[Run], list[str]]:
        """The stored runs, oldest first (newest last), at most the ``limit`` newest.

        One problem line per broken folder.

        Each run is rebuilt by :func:`run_from_files` (so its validation scenes
        are regenerated: about a second per run) and keeps its stored ``id``.
        """
        if limit is not None:
            limit = _check_int(limit, "limit", 1, 1_000_000)
        folders = sorted((p for p in self.path.iterdir() if _STORE_NAME.match(p.name) and p.is_dir()), key=self._age)
        if limit is not None:
            folders = folders[-limit:]
        runs, problems = [], []
        for folder in folders:
            try:
                run = self._load(folder)
            except (RunFileError, OSError) as exc:
                problems.append(f"{folder.name}: {_exc_line(exc) if isinstance(exc, OSError) else exc}")
                continue
            runs.append(run)
        return runs, problems

    def tensorboard_dir(self, run_or_config: Run | RunConfig) -> Path:
        """A new, empty log directory ``<path>/tensorboard/<time>-<run id or config hash>``.

        Raises ``ValueError`` when the store was made without ``tensorboard=True``.
        """
        if not self.tensorboard:
            raise ValueError(
                "TensorBoard logging is off for this store; use RunStore(path, tensorboard=True) "
                f"or set {TENSORBOARD_ENV}=1"
            )
        if isinstance(run_or_config, Run):
            key = _safe_id(run_or_config.id)
        elif isinstance(run_or_config, RunConfig):
            digest = hashlib.sha1(run_or_config.to_json(sort_keys=True).encode()).hexdigest()[:8]
            key = f"{run_or_config.loss}-{run_or_config.model}-{digest}-{uuid.uuid4().hex[:4]}"
        else:
            raise TypeError(f"run_or_config must be a Run or a RunConfig, got {type(run_or_config).__name__}")
        path = self.path / "tensorboard" / f"{time.strftime('%Y%m%d-%H%M%S')}-{key}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def _age(folder: Path) -> tuple:
        # the name's second, then run.json's write time: two saves within one second keep their order
        try:
            written = (folder / "run.json").stat().st_mtime_ns
        except OSError:
            written = 0
        return _STORE_NAME.match(folder.name).group(1), written, folder.name

    def _folder_of(self, run_id: str) -> Path | None:
        for p in self.path.iterdir():
            m = _STORE_NAME.match(p.name)
            if m and m.group(2) == run_id and p.is_dir():
                return p
        return None

    def _load(self, folder: Path) -> Run:
        model_path, json_path = folder / "model.keras", folder / "run.json"
        for path in (model_path, json_path):
            if not path.is_file():
                raise RunFileError(f"no {path.name} in this folder")
        if model_path.stat().st_size > MAX_MODEL_BYTES:
            raise RunFileError(
                f"model.keras is {_mib(model_path.stat().st_size)}; at most {_mib(MAX_MODEL_BYTES)} is accepted"
            )
        if json_path.stat().st_size > MAX_RUN_JSON_BYTES:
            raise RunFileError(
                f"run.json is {_mib(json_path.stat().st_size)}; at most {_mib(MAX_RUN_JSON_BYTES)} is accepted"
            )
        run = run_from_files(model_path.read_bytes(), json_path.read_bytes())
        run.id = _STORE_NAME.match(folder.name).group(2)  # the same run keeps its folder (save is idempotent)
        run.message += f"; from {folder.name}"
        return run


# ---------------------------------------------------------------- helpers
def _check_zip_size(infos, what: str, max_members: int, max_bytes: int, members_hint: str, size_hint: str = "") -> None:
    """Refuse an archive with too many members, or one that would unpack to more than
    UNPACK_FACTOR x ``max_bytes`` (a zip bomb), before anything is read from it."""
    if len(infos) > max_members:
        raise RunFileError(f"the {what} holds {len(infos)} files; {members_hint}")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > UNPACK_FACTOR * max_bytes:
        raise RunFileError(
            f"the {what} unpacks to {_mib(unpacked)}; at most {_mib(UNPACK_FACTOR * max_bytes)} is accepted "
            f"(a zip bomb guard){size_hint}"
        )


def _check_bytes(value: Any, name: str) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes (the uploaded file's content), got {type(value).__name__}")


def _check_int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    return int(value)


def _safe_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"run id must be 1 to 64 letters, digits, '-' or '_', got {run_id!r}")
    return run_id


def _mib(n: int) -> str:
    return f"{n / _MiB:.1f} MiB" if n < 10 * _MiB else f"{n / _MiB:.0f} MiB"


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _exc_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_text(value: Any, default: str, limit: int = 80) -> str:
    if not isinstance(value, str) or not value.strip():
        return default
    return " ".join(value.split())[:limit]


def _number_or(value: Any, default: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    return float(value) if ok else default


def _finite_or_none(value: Any):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
