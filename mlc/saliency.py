"""Where does each tag look? Per-tag saliency maps, and how well they point at the truth.

:func:`saliency` gives one map per image and tag, (N, T, H, W) in [0, 1] at the
image's resolution, from a *logits* model (the registry's models):

* ``gradcam`` — Grad-CAM (Selvaraju et al., ICCV 2017) per tag: the last spatial
  feature map A (h, w, k) of the model (found by :func:`spatial_layer`), weighted
  per channel by the mean gradient of the tag's logit, ``ReLU(Σ_k mean_ij(∂z_t/∂A_ijk) A_k)``,
  upsampled bilinearly and scaled to a maximum of 1. Every tag of every image in
  one compiled call: one forward pass and one batched Jacobian of the chosen logits,
  traced once per model and cached.
* ``occlusion`` — model-agnostic (Zeiler & Fergus, ECCV 2014): a grey patch slides
  over the image and a tag's map is how much its probability drops with the patch
  there. Works for any model (``linear`` has no feature map); all occluded copies
  of an image go through the model in one batch.

Scores against a ground-truth mask (N, T, H, W) bools, for the tags present:
:func:`pointing_game` (share of images whose map maximum falls inside the mask,
Zhang et al., ECCV 2016) and :func:`mass_inside` (share of the map's mass inside).

>>> import numpy as np
>>> maps = np.zeros((1, 1, 4, 4)); maps[0, 0, 0, 0] = 1.0
>>> masks = np.zeros((1, 1, 4, 4), bool); masks[0, 0, :2, :2] = True
>>> pointing_game(maps, masks).tolist(), mass_inside(maps, masks).tolist()
([1.0], [1.0])
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlc import checks

#: Saliency methods by name.
METHODS: tuple[str, ...] = ("gradcam", "occlusion", "auto")
#: Layers that move or rescale pixels without computing features: never the Grad-CAM layer.
_NOT_FEATURES = ("InputLayer", "Cropping2D", "ZeroPadding2D", "Resizing", "Rescaling", "Normalization")


def _unwrapped(model):
    """The model itself, or the one model it only wraps (an input, then one nested model giving the outputs:
    how a saved run's model comes back from a ``.keras`` file, see :func:`mlc.modelfiles.load_model_file`)."""
    import keras

    while True:
        inner = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
        if len(inner) != 1 or not isinstance(inner[0], keras.Model) or isinstance(model, keras.Sequential):
            return model
        model = inner[0]


def spatial_layer(model) -> str | None:
    """The name of the model's last layer with a spatial (B, h, w, k) output, h·w > 1, that computes
    features (a conv, its batch norm or activation, or a nested backbone); None when there is none.
    A model that only wraps another one (a loaded run) is looked into."""
    model = _unwrapped(model)
    found = None
    for layer in model.layers:
        if type(layer).__name__ in _NOT_FEATURES:
            continue
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is not None and len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1:
            found = layer.name
    return found


def _as_images(images: Any) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"images must be (N, H, W, 3) or (H, W, 3), got shape {x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return x.astype(np.float32, copy=False)


def _tags(tags: Sequence[int] | None, num_classes: int) -> list[int]:
    if tags is None:
        return list(range(num_classes))
    out = [checks.whole(t, "tags", 0, num_classes - 1) for t in tags]
    if not out:
        raise ValueError("tags must name at least one tag index")
    return out


def _unit(maps: np.ndarray) -> np.ndarray:
    """Each (H, W) map scaled to a maximum of 1 (an all-zero map stays 0)."""
    peak = maps.max(axis=(-2, -1), keepdims=True)
    return np.where(peak > 0, maps / np.where(peak > 0, peak, 1), 0.0).astype(np.float32)


def _num_classes(model, x: np.ndarray) -> int:
    return int(model(x[:1], training=False).shape[-1])


def _forward(model, layer: str):
    """A callable x -> (the named layer's output, the logits), in one pass (a Sequential is walked layer by
    layer; a functional model through a two-output model built once)."""
    import keras

    if isinstance(model, keras.Sequential):

        def forward(x):
            features, h = None, x
            for each in model.layers:
                h = each(h, training=False)
                if each.name == layer:
                    features = h
            return features, h

        return forward
    two = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
    return lambda x: two(x, training=False)


#: Compiled Grad-CAM functions per model, keyed by (layer, tags); dropped with the model.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cam_function(model, layer: str, tags: tuple[int, ...], size: tuple[int, int]):
    """A ``tf.function`` x (N, H, W, 3) -> cams (N, h, w, T), traced once per model, layer, tags and (H, W)
    (any N: the batch dimension is left open).

    One forward pass and one batched Jacobian of the T selected logits with respect to the
    feature map (each image's logits only move its own features, so per image and tag it
    is exactly the gradient Grad-CAM needs)."""
    import tensorflow as tf

    per_model = _COMPILED.setdefault(model, {})
    key = (layer, tags, size)
    if key not in per_model:
        forward = _forward(model, layer)
        index = tf.constant(tags, tf.int32)

        @tf.function(input_signature=[tf.TensorSpec((None, *size, 3), tf.float32)])
        def cams(x):
            with tf.GradientTape() as tape:
                features, logits = forward(x)  # (N, h, w, k), (N, C)
                chosen = tf.gather(logits, index, axis=1)  # (N, T)
            grads = tape.batch_jacobian(chosen, features)  # (N, T, h, w, k)
            weights = tf.reduce_mean(grads, axis=(2, 3))  # (N, T, k)
            return tf.nn.relu(tf.einsum("nhwk,ntk->nhwt", features, weights))  # (N, h, w, T)

        per_model[key] = cams
    return per_model[key]


def gradcam(model, images: Any, tags: Sequence[int] | None = None, layer: str | None = None) -> np.ndarray:
    """Grad-CAM maps (N, T, H, W) in [0, 1] of a logits ``model`` for tag indices ``tags`` (default: all).

    The gradient computation is compiled once per model (and layer and tags) and reused.
    ValueError when the model has no spatial layer (use ``occlusion``).
    """
    import tensorflow as tf

    x = _as_images(images)
    model = _unwrapped(model)
    tags = _tags(tags, int(model.outputs[0].shape[-1]) if getattr(model, "outputs", None) else _num_classes(model, x))
    layer = layer or spatial_layer(model)
    if layer is None:
        raise ValueError(f"model {model.name!r} has no spatial feature map for Grad-CAM; use method='occlusion'")
    cam = _cam_function(model, layer, tuple(tags), x.shape[1:3])(tf.convert_to_tensor(x))  # (N, h, w, T)
    cam = tf.image.resize(cam, x.shape[1:3], method="bilinear")  # (N, H, W, T)
    return _unit(np.transpose(cam.numpy(), (0, 3, 1, 2)))


def occlusion(
    model, images: Any, tags: Sequence[int] | None = None, patch: int | None = None, stride: int | None = None
) -> np.ndarray:
    """Occlusion maps (N, T, H, W) in [0, 1]: the drop of each tag's probability with a grey patch over a place.

    ``patch`` defaults to a quarter of the image side and ``stride`` to half the patch; each pixel's value is the
    mean drop over the patches covering it (negative drops count as 0).
    """
    x = _as_images(images)
    n, h, w, _ = x.shape
    num_classes = _num_classes(model, x)
    tags = _tags(tags, num_classes)
    patch = checks.whole(patch or max(2, h // 4), "patch", 1, h)
    stride = checks.whole(stride or max(1, patch // 2), "stride", 1, h)
    corners = [(i, j) for i in range(0, h - patch + 1, stride) for j in range(0, w - patch + 1, stride)]
    batch = np.repeat(x[:, None], len(corners) + 1, axis=1)  # (N, P+1, H, W, 3): the image, then each occlusion
    for k, (i, j) in enumerate(corners, start=1):
        batch[:, k, i : i + patch, j : j + patch] = 0.5
    logits = np.asarray(model.predict_on_batch(batch.reshape(-1, h, w, 3)), np.float64)
    prob = (1 / (1 + np.exp(-logits))).reshape(n, len(corners) + 1, num_classes)[..., tags]  # (N, P+1, T)
    drop = np.maximum(prob[:, :1] - prob[:, 1:], 0.0)  # (N, P, T)
    total = np.zeros((n, len(tags), h, w))
    cover = np.zeros((h, w))
    for k, (i, j) in enumerate(corners):
        total[:, :, i : i + patch, j : j + patch] += drop[:, k, :, None, None]
        cover[i : i + patch, j : j + patch] += 1
    return _unit(total / np.maximum(cover, 1))


def saliency(model, images: Any, tags: Sequence[int] | None = None, method: str = "auto") -> np.ndarray:
    """Per-tag maps (N, T, H, W) in [0, 1]: ``gradcam``, ``occlusion``, or ``auto`` (Grad-CAM where the model
    has a spatial layer, occlusion otherwise).

    >>> from mlc import models
    >>> model = models.build("compact", num_classes=3, image_size=32)
    >>> saliency(model, np.zeros((2, 32, 32, 3), np.float32)).shape
    (2, 3, 32, 32)
    """
    method = checks.one_of(method, "method", METHODS)
    if method == "auto":
        method = "gradcam" if spatial_layer(model) is not None else "occlusion"
    return gradcam(model, images, tags) if method == "gradcam" else occlusion(model, images, tags)


def _checked_scores(maps: Any, masks: Any, present: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    maps, masks = np.asarray(maps, np.float64), np.asarray(masks, bool)
    if maps.ndim != 4 or maps.shape != masks.shape:
        raise ValueError(f"maps and masks must both be (N, T, H, W), got {maps.shape} and {masks.shape}")
    present = masks.any(axis=(-2, -1)) if present is None else np.asarray(present, bool)
    if present.shape != maps.shape[:2]:
        raise ValueError(f"present must be (N, T) = {maps.shape[:2]}, got {present.shape}")
    return maps, masks, present


def pointing_game(maps: Any, masks: Any, present: Any = None) -> np.ndarray:
    """(T,) share of images, among those where the tag is ``present`` (default: its mask is not empty), whose
    map maximum falls inside the tag's mask; NaN for a tag present nowhere."""
    maps, masks, present = _checked_scores(maps, masks, present)
    n, t, h, w = maps.shape
    peak = maps.reshape(n, t, -1).argmax(axis=-1)  # (N, T)
    hit = np.take_along_axis(masks.reshape(n, t, -1), peak[..., None], axis=-1)[..., 0]  # (N, T)
    counts = present.sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, (hit & present).sum(axis=0) / np.maximum(counts, 1), np.nan)


def mass_inside(maps: Any, masks: Any, present: Any = None) -> np.ndarray:
    """(T,) mean share of the map's mass inside the tag's mask, over images where the tag is present."""
    maps, masks, present = _checked_scores(maps, masks, present)
    total = maps.sum(axis=(-2, -1))
    inside = (maps * masks).sum(axis=(-2, -1))
    share = np.where(total > 0, inside / np.where(total > 0, total, 1), 0.0)  # (N, T)
    counts = present.sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, (share * present).sum(axis=0) / np.maximum(counts, 1), np.nan)


def _inferno(v: np.ndarray) -> np.ndarray:
    """A dark-to-bright colormap (black, purple, red, orange, pale yellow) of values in [0, 1] -> (..., 3) floats."""
    stops = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float64) / 255
    pos = np.clip(v, 0, 1) * (len(stops) - 1)
    lo = np.minimum(pos.astype(int), len(stops) - 2)
    frac = (pos - lo)[..., None]
    return stops[lo] * (1 - frac) + stops[lo + 1] * frac


def overlay(image: Any, heat: Any, outline: Any = None, scale: int = 4, alpha: float = 0.8) -> np.ndarray:
    """An RGB uint8 picture (H·scale, W·scale, 3): ``image`` (H, W, 3) in [0, 1] (or uint8) in dimmed grey
    (``0.15 + 0.6 × luminance``, so every colour on it is the heat's), blended with ``heat`` (H, W) in [0, 1]
    in a dark-to-bright colormap (weight ``alpha`` × heat, so cold places show the grey image), enlarged
    ``scale``× (nearest), and the boundary of ``outline`` (H, W) bools drawn in cyan, ``max(1, scale // 2)``
    screen pixels wide. (In full colour, a pale-yellow peak on a white cat or a red house did not show.)

    >>> pic = overlay(np.zeros((2, 2, 3)), np.eye(2), outline=np.eye(2, dtype=bool), scale=3)
    >>> pic.shape, pic.dtype.name, pic[0, 0].tolist(), pic[0, 5].tolist()
    ((6, 6, 3), 'uint8', [0, 255, 255], [38, 38, 38])
    """
    x = _as_images(image)[0].astype(np.float64)
    heat = np.clip(np.asarray(heat, np.float64), 0, 1)
    if heat.shape != x.shape[:2]:
        raise ValueError(f"heat must be (H, W) = {x.shape[:2]}, got {heat.shape}")
    scale = checks.whole(scale, "scale", 1, 64)
    grey = (0.15 + 0.6 * (x @ np.array([0.299, 0.587, 0.114])))[..., None].repeat(3, axis=-1)
    weight = alpha * heat[..., None]
    pic = grey * (1 - weight) + _inferno(heat) * weight
    pic = pic.repeat(scale, axis=0).repeat(scale, axis=1)
    if outline is not None:
        m = np.asarray(outline, bool)
        if m.shape != x.shape[:2]:
            raise ValueError(f"outline must be (H, W) = {x.shape[:2]}, got {m.shape}")
        big = m.repeat(scale, axis=0).repeat(scale, axis=1)
        inner = big
        for _ in range(max(1, scale // 2)):  # erode: what is left after width steps is the inside
            pad = np.pad(inner, 1, constant_values=False)
            inner = pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:] & inner
        pic[big & ~inner] = (0.0, 1.0, 1.0)
    return np.round(pic * 255).astype(np.uint8)
