"""Model files: the run's ``.keras`` download, and uploaded ``.keras`` bytes screened and loaded as a logits model.

* :func:`model_file` gives a run's served model (sigmoid outputs) as ``.keras`` bytes.
* :func:`load_model_file` turns uploaded ``.keras`` bytes into a *logits* model
  that can stand in for ``Run.model``. Every byte is untrusted: it loads with
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
* :class:`ProbabilitiesToLogits` (registered as ``mlc>ProbabilitiesToLogits``)
  turns a sigmoid model's outputs back into logits.

>>> load_model_file(b"not a model")
Traceback (most recent call last):
...
mlc.uploads.RunFileError: not a Keras model file: a .keras file is a zip archive and these bytes are not one; ...
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from mlc import data as data_mod
from mlc.checks import as_bytes, first_line, json_type, short_repr, whole
from mlc.runs import Run
from mlc.uploads import MiB, RunFileError, check_zip_size, size_text

#: Largest ``.keras`` upload accepted, in bytes (50 MiB). The app's own models are
#: far smaller (``compact`` about 0.3 MB, ``seed_cnn`` about 6.5 MB at 64x64).
MAX_MODEL_BYTES = 50 * MiB
#: Most members in a ``.keras`` archive (Keras writes three: config.json, metadata.json, model.weights.h5).
MAX_MODEL_MEMBERS = 64

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


def model_file(run: Run) -> bytes:
    """The run's served model (sigmoid outputs (B, C) in [0, 1]) as ``.keras`` file bytes.

    Raises ``ValueError`` for a run without a model (one that failed before training).
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a mlc.runs.Run, got {type(run).__name__}")
    if run.model is None:
        raise ValueError(f"run {run.label!r} has no model (status {run.status!r}); only runs with a model can be saved")
    with tempfile.TemporaryDirectory(prefix="mlc-model-") as tmp:
        path = Path(tmp) / "model.keras"
        run.probability_model().save(path)
        return path.read_bytes()


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
    data = as_bytes(data, "data")
    image_size = whole(image_size, "image_size", data_mod.MIN_IMAGE_SIZE, data_mod.MAX_IMAGE_SIZE)
    if num_classes is not None:
        num_classes = whole(num_classes, "num_classes", 1, data_mod.MAX_CLASSES)
    max_bytes = whole(max_bytes, "max_bytes", 1, 2**40)
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
        raise RunFileError(f"the model loaded but could not be used: {first_line(exc)}") from exc


def _check_model_archive(data: bytes, max_bytes: int) -> dict:
    """Refuse oversize, non-zip, damaged, bomb-like or unsafe archives before Keras sees them.

    Returns the screened ``config.json`` (every ``compile_config`` emptied).
    """
    if len(data) == 0:
        raise RunFileError("the model file is empty; upload the .keras file that model.save('name.keras') wrote")
    if len(data) > max_bytes:
        raise RunFileError(
            f"the model file is {size_text(len(data))}; at most {size_text(max_bytes)} is accepted "
            "— upload a smaller model"
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
            check_zip_size(
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
            f"the model file is a damaged or truncated zip archive ({first_line(exc)}); upload it again"
        ) from exc
    try:
        config = json.loads(config_text)
    except Exception as exc:  # bad UTF-8, bad JSON, absurd nesting
        raise RunFileError(f"not a .keras model file: its config.json is not valid JSON ({first_line(exc)})") from exc
    if not isinstance(config, dict):
        raise RunFileError(f"not a .keras model file: its config.json holds a {json_type(config)}, not an object")
    try:
        _check_model_config(config)
    except RunFileError:
        raise
    except Exception as exc:  # a config shaped like nothing Keras writes
        raise RunFileError(f"not a .keras model file: its config.json is malformed ({first_line(exc)})") from exc
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
            f"the model file is a damaged or truncated zip archive ({first_line(exc)}); upload it again"
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
            f"this model uses a custom function {short_repr(name)}; only Keras' own activations are accepted "
            "— use a built-in activation such as 'relu' or 'sigmoid'"
        )
    if isinstance(registered, str) and registered in _ALLOWED_REGISTERED and module in _ALLOWED_REGISTERED[registered]:
        return
    if isinstance(module, str) and (module == "keras" or module.startswith("keras.")):
        return  # Keras resolves it among its own classes (an unknown name fails there and is explained)
    where = f" from module {short_repr(module)}" if module else ""
    raise RunFileError(
        f"this model uses a custom class {short_repr(class_name)}{where} that this app does not know; "
        "only Keras' built-in layers are accepted — rebuild the model with built-in layers"
    )


#: Registered classes (``package>Name``) an uploaded model may contain besides Keras' own, with the
#: modules a saved file may name for them: this one, and ``mlc.runfiles`` where the class lived before.
_ALLOWED_REGISTERED = {"mlc>ProbabilitiesToLogits": (None, "", "mlc.modelfiles", "mlc.runfiles")}


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
    return f"Keras could not load this model file ({first_line(exc)}); save it again with model.save('name.keras')"


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


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
