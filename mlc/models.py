"""Model registry: small CNNs that output one logit per tag.

Models are trained on logits (numerically stable losses) and served with a
sigmoid on top (:func:`with_probabilities`), so a saved model yields per-tag
probabilities.

>>> model = build("compact", num_classes=5)
>>> model.output_shape
(None, 5)
>>> sorted(MODELS)
['compact', 'lean', 'linear', 'mobilenet_v3_small', 'seed_cnn']

``mobilenet_v3_small`` is a pretrained ImageNet backbone: Keras downloads its
weights once into ``~/.keras/models/``; :envvar:`MLC_BACKBONE_WEIGHTS` (or
:func:`backbone_weights`) picks other weights, ``none`` for random ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mlc import checks
from mlc.data import MAX_CLASSES, MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from mlc.lazy import lazy_module
from mlc.registry import Registry
from mlc.switches import Switch

# Keras (and TensorFlow) load when a model is first built, not on import: the home page
# reads the registry's names and summaries, and must not wait seconds for TensorFlow.
keras = lazy_module("keras")
layers = lazy_module("keras.layers")


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: a builder plus the words the UI shows."""

    name: str
    builder: Callable[[int, int], keras.Model]
    summary: str


#: name -> :class:`ModelSpec`; filled by :func:`register` (a name is registered once).
MODELS: Registry[ModelSpec] = Registry(
    "model", example="compact", make=lambda name, builder, summary: ModelSpec(name, builder, summary)
)


def register(name: str, summary: str):
    """Decorator: add ``builder(num_classes, image_size) -> keras.Model`` to :data:`MODELS`.

    >>> register("compact", "again")(lambda num_classes, image_size: None)
    Traceback (most recent call last):
    ...
    ValueError: model 'compact' is already registered; choose another name
    """
    return MODELS.register(name, summary=summary)


def build(name: str, num_classes: int, image_size: int = 64) -> keras.Model:
    """Build a fresh model: input (B, image_size, image_size, 3) in [0, 1] -> logits (B, num_classes).

    >>> build("seed_cnn", 3, image_size=32).output_shape
    (None, 3)
    """
    name = checks.choice(name, "model", MODELS)
    num_classes = checks.whole(num_classes, "num_classes", 1, MAX_CLASSES)
    image_size = checks.whole(image_size, "image_size", MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
    return MODELS[name].builder(num_classes, image_size)


def with_probabilities(model: keras.Model) -> keras.Model:
    """Wrap a logits model so it outputs sigmoid probabilities: p = 1 / (1 + exp(-z)).

    This is the model that is saved and served; it shares weights with ``model``.

    >>> probs = with_probabilities(build("compact", 2, image_size=16))
    >>> probs.output_shape, probs.layers[-1].name
    ((None, 2), 'probabilities')
    """
    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    outputs = layers.Activation("sigmoid", name="probabilities")(model(inputs))
    return keras.Model(inputs, outputs, name=f"{model.name}_probabilities")


def logits_model(name: str, num_classes: int, image_size: int, body: list) -> keras.Sequential:
    """Input (B, image_size, image_size, 3) -> the body layers -> one logit per tag (B, num_classes), no activation."""
    inputs = keras.Input(shape=(image_size, image_size, 3))
    return keras.Sequential([inputs, *body, layers.Dense(num_classes, name="logits")], name=name)


# mlc.export copies the builders' source, docstrings included, into the exported script.
@register(
    "seed_cnn",
    "The reference article's CNN: Conv32-Pool-Conv64-Pool-Flatten-Dense128-Dense C "
    "(about 116 MFLOP per training sample at 64x64).",
)
def seed_cnn(num_classes: int, image_size: int) -> keras.Model:
    """The reference article's CNN. Shapes at 64x64: (B, 64, 64, 3) -> conv (B, 62, 62, 32) -> pool (B, 31, 31, 32)
    -> conv (B, 29, 29, 64) -> pool (B, 14, 14, 64) -> flatten (B, 12544) -> dense (B, 128) -> logits (B, C).
    """
    body = [
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
    ]
    return logits_model("seed_cnn", num_classes, image_size, body)


def batch_normalization(momentum: float, name: str):
    """Keras' BatchNormalization computed by TensorFlow's fused kernel (:mod:`mlc.batch_norm`: same maths and
    weights, a quarter less time per training step of ``lean``); saved files and the exported script use Keras' own.
    """
    if not _FUSED_NORM.is_on():
        return layers.BatchNormalization(momentum=momentum, name=name)
    from mlc.batch_norm import FusedBatchNormalization

    return FusedBatchNormalization(momentum=momentum, name=name)


_FUSED_NORM = Switch("fused_batch_norm")


@contextlib.contextmanager
def keras_batch_norm() -> Iterator[None]:
    """Build models with Keras' own BatchNormalization inside the block, as mlc did before 2026-12-03
    (benchmarks compare against that).

    >>> with keras_batch_norm():
    ...     type(build("lean", 2, 16).layers[1]).__name__
    'BatchNormalization'
    """
    with _FUSED_NORM.off():
        yield


def conv_bn_relu(filters: int, kernel: int, strides: int = 1, padding: str = "same", name: str = ""):
    # batch norm lets the rare tag's features form in a few epochs at a high learning rate;
    # momentum 0.9, not Keras' 0.99: a run of a few hundred steps must end with moving
    # statistics that describe the trained layers (at 0.99 a 188-step run scored mAP 0.77 and
    # macro-F1 0.22 on validation, at 0.9 0.87 and 0.79; the default run needs ~6 % fewer samples)
    return [
        layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name),
        batch_normalization(momentum=0.9, name=f"{name}_bn"),
        layers.ReLU(name=f"{name}_relu"),
    ]


#: Functions the builders call besides Keras (the exported script defines them too).
BUILDING_BLOCKS: tuple[Callable, ...] = (batch_normalization, conv_bn_relu, logits_model)


@register(
    "compact",
    "Faster design: a 4x4 stride-4 'patchify' conv, two 3x3 convs with batch norm and "
    "global max pooling (position-independent 'is it anywhere?' features, few FLOPs).",
)
def compact(num_classes: int, image_size: int) -> keras.Model:
    """A 4x4 stride-4 'patchify' conv, two 3x3 convs with batch norm, global max pooling. Shapes at 64x64:
    (B, 64, 64, 3) -> patchify (B, 16, 16, 32) -> conv1, conv2 (B, 16, 16, 64) -> max (B, 64) -> logits (B, C).
    """
    body = [
        *conv_bn_relu(32, 4, strides=4, padding="valid", name="patchify"),
        *conv_bn_relu(64, 3, name="conv1"),
        *conv_bn_relu(64, 3, name="conv2"),
        layers.GlobalMaxPooling2D(name="anywhere"),  # "is the shape anywhere?"
    ]
    return logits_model("compact", num_classes, image_size, body)


@register(
    "lean",
    "The default: compact with fewer channels, for time to a good model: a 4x4 stride-4 'patchify' conv, "
    "two 3x3 convs (32 and 48 channels, batch norm) and global max pooling (about 0.4 of compact's FLOPs).",
)
def lean(num_classes: int, image_size: int) -> keras.Model:
    """compact with fewer channels (same samples to mAP 0.95, about 1.6x the samples/s). Shapes at 64x64:
    (B, 64, 64, 3) -> patchify (B, 16, 16, 32) -> conv1 (B, 16, 16, 32) -> conv2 (B, 16, 16, 48) -> max (B, 48)
    -> logits (B, C).
    """
    body = [
        *conv_bn_relu(32, 4, strides=4, padding="valid", name="patchify"),
        *conv_bn_relu(32, 3, name="conv1"),
        *conv_bn_relu(48, 3, name="conv2"),
        layers.GlobalMaxPooling2D(name="anywhere"),  # "is the shape anywhere?"
    ]
    return logits_model("lean", num_classes, image_size, body)


@register(
    "linear",
    "Baseline: logistic regression on raw pixels (Flatten -> Dense C). It cannot find an "
    "object that may be anywhere, which is why the CNNs exist.",
)
def linear(num_classes: int, image_size: int) -> keras.Model:
    """Baseline: logistic regression on raw pixels, (B, S, S, 3) -> flatten (B, 3*S*S) -> logits (B, C)."""
    return logits_model("linear", num_classes, image_size, [layers.Flatten(name="pixels")])


# ---------------------------------------------------------------- a pretrained backbone
#: Smallest side the backbone sees: smaller images are upscaled inside the model (bilinear), so
#: every image_size the config allows works and the ImageNet features have some pixels to look at.
BACKBONE_MIN_SIZE = 96
#: Environment variable choosing the backbone's weights: ``imagenet`` (the default), ``none``
#: (random: tests, or the layer table) or a path to a weights file.
WEIGHTS_ENV = "MLC_BACKBONE_WEIGHTS"
#: The file Keras looks for in ``<keras home>/models/`` (MobileNetV3Small, alpha 1.0, no top).
WEIGHTS_FILE = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/" + WEIGHTS_FILE
# a context variable, not a module global: one thread's `with backbone_weights(None)` never
# changes the weights another visitor's training loads
_weights_choice: contextvars.ContextVar[str | None] = contextvars.ContextVar("backbone_weights", default="")


class BackboneWeightsError(RuntimeError):
    """The pretrained weights could not be had (offline host, no file in Keras' cache)."""


@contextlib.contextmanager
def backbone_weights(weights: str | None) -> Iterator[None]:
    """Build backbones with ``weights`` ("imagenet", None for random, or a file path) inside the block.

    >>> with backbone_weights(None):
    ...     resolve_weights() is None
    True
    """
    token = _weights_choice.set("none" if weights is None else str(weights))
    try:
        yield
    finally:
        _weights_choice.reset(token)


def resolve_weights() -> str | None:
    """The weights a backbone built now loads: :func:`backbone_weights`, else ``$MLC_BACKBONE_WEIGHTS``, else imagenet.

    >>> with backbone_weights("imagenet"):
    ...     resolve_weights()
    'imagenet'
    """
    choice = (_weights_choice.get() or os.environ.get(WEIGHTS_ENV, "") or "imagenet").strip()
    return None if choice.lower() in ("none", "random") else choice


def weights_dir() -> str:
    """The directory Keras keeps downloaded weights in: ``$KERAS_HOME/models``, else ``~/.keras/models``."""
    try:
        from keras.src.backend.config import keras_home  # private, but it is what keras.utils.get_file uses

        home = keras_home()
    except ImportError:  # pragma: no cover - a Keras without the accessor
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    home = os.path.expanduser(home)
    if not os.access(home if os.path.isdir(home) else os.path.dirname(home), os.W_OK):
        home = os.path.join("/tmp", ".keras")  # get_file's own fallback for a read-only home
    return os.path.join(home, "models")


def pretrained_backbone(size: int) -> keras.Model:
    """MobileNetV3Small without its classifier, frozen: (B, size, size, 3) in [-1, 1] -> (B, s, s, 576), s = size / 32.

    Built without Keras' own Rescaling layer (which maps 0..255 to [-1, 1]): the models here take
    images in [0, 1], so the builder rescales them itself. A frozen model's batch norm runs in
    inference mode, so training never moves the ImageNet statistics.
    """
    weights = resolve_weights()
    try:
        backbone = keras.applications.MobileNetV3Small(
            input_shape=(size, size, 3), include_top=False, weights=weights, include_preprocessing=False
        )
    except Exception as error:
        if weights != "imagenet" or "URL fetch failure" not in str(error):
            raise
        found = os.path.isfile(os.path.join(weights_dir(), WEIGHTS_FILE))
        # where to put the file comes first: the engine shows the first 300 characters of an error
        raise BackboneWeightsError(
            f"mobilenet_v3_small: the ImageNet weights could not be downloaded; put {WEIGHTS_FILE} into "
            f"{weights_dir()}/"
            + (" (the file there does not match Keras' hash)" if found else "")
            + f" or set {WEIGHTS_ENV} to its path (get it from {WEIGHTS_URL.rsplit('/', 1)[0]}/)"
        ) from None
    backbone.trainable = False
    return backbone


BUILDING_BLOCKS += (pretrained_backbone,)


@register(
    "mobilenet_v3_small",
    "Transfer learning: Keras' MobileNetV3Small with ImageNet weights, frozen, and a new logit per tag "
    "on its average-pooled features; images under 96 px are upscaled inside the model. For real photos.",
)
def mobilenet_v3_small(num_classes: int, image_size: int) -> keras.Model:
    """A frozen ImageNet MobileNetV3Small and a trained dense head. Shapes at 64x64: (B, 64, 64, 3) in [0, 1]
    -> upscale (B, 96, 96, 3) -> 2x - 1 (B, 96, 96, 3) in [-1, 1] -> backbone (B, 3, 3, 576) -> mean (B, 576)
    -> logits (B, C).
    """
    size = max(image_size, BACKBONE_MIN_SIZE)
    upscale = [layers.Resizing(size, size, interpolation="bilinear", name="upscale")] if size > image_size else []
    body = [
        *upscale,
        layers.Rescaling(2.0, offset=-1.0, name="to_plus_minus_1"),  # what MobileNetV3 was trained on
        pretrained_backbone(size),
        layers.GlobalAveragePooling2D(name="average"),
    ]
    return logits_model("mobilenet_v3_small", num_classes, image_size, body)
