"""Learnable synthetic scenes for multi-label classification.

Every tag is drawn as a recognisable primitive: for the reference article's tags
a small icon (a standing *dog* seen from the side, a sitting *cat* with pointy
ears, a *house* with a roof and door, a *tree* with a trunk and a round or pine
canopy) and *sky* as a blue upper background; any other tag name gets a
coloured glyph of its own (ring, cross, diamond, ...). Position, scale, colour,
the horizon, background clutter, lighting and pixel noise vary per scene, so a
small CNN has to learn shapes, not pixel positions.

This module holds the public API (settings, validation, chunking); the painting
itself is :mod:`mlc.scenes`. Speed: chunks of scenes are painted on two threads
(NumPy releases the GIL), each from its own seeded generator.

>>> x, y = make_dataset(4, seed=1)
>>> x.shape, x.dtype, y.shape, y.dtype
((4, 64, 64, 3), dtype('float32'), (4, 5), dtype('float32'))
>>> bool(x.min() >= 0.0 and x.max() <= 1.0)
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mlc import DEFAULT_CLASSES, checks
from mlc.scenes import SKY_LIFT, SOFT_RANGE, paint_chunk  # noqa: F401 (SKY_LIFT, SOFT_RANGE re-exported)

#: Default fraction of scenes containing each of the default tags. ``cat`` is
#: the rare tag (5 %) so that the choice of loss visibly matters.
DEFAULT_PREVALENCE: dict[str, float] = {
    "dog": 0.35,
    "cat": 0.05,
    "house": 0.30,
    "tree": 0.40,
    "sky": 0.50,
}
#: Prevalence of a tag that is not one of the defaults.
OTHER_PREVALENCE = 0.30
MAX_CLASSES = 20
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 256
MAX_LABEL_NOISE = 0.5
MAX_SAMPLES = 1_000_000
#: The largest seed (seeds are 32-bit, as NumPy's SeedSequence entropy here).
MAX_SEED = 2**32 - 1

#: Scenes per painted chunk: each chunk has its own seeded generator, so a split that
#: keeps whole chunks regenerates exactly the same scenes (mlc.runrecords relies on it).
CHUNK = 256


# ---------------------------------------------------------------- validation
def resolve_classes(classes: Sequence[str] | None) -> tuple[str, ...]:
    """Validated tag names: default five when None; 1..20 unique non-empty names (:func:`mlc.checks.tag_names`).

    >>> resolve_classes(None)
    ('dog', 'cat', 'house', 'tree', 'sky')
    >>> resolve_classes([" Boat ", "sun"])
    ('Boat', 'sun')
    """
    if classes is None:
        return DEFAULT_CLASSES
    return checks.tag_names(classes, MAX_CLASSES, "classes")


def default_prevalence(classes: Sequence[str] | None = None) -> tuple[float, ...]:
    """Default per-tag prevalence: the article's tags are imbalanced, with ``cat`` rare.

    >>> default_prevalence()
    (0.35, 0.05, 0.3, 0.4, 0.5)
    >>> default_prevalence(["sky", "boat"])
    (0.5, 0.3)
    """
    return tuple(DEFAULT_PREVALENCE.get(c.lower(), OTHER_PREVALENCE) for c in resolve_classes(classes))


def resolve_prevalence(prevalence: Sequence[float] | None, classes: Sequence[str]) -> tuple[float, ...]:
    """Validated prevalence, one value in [0, 1] per tag (default: :func:`default_prevalence`)."""
    if prevalence is None:
        return default_prevalence(classes)
    values = checks.number_tuple(prevalence, "prevalence")
    if len(values) != len(classes):
        raise ValueError(f"prevalence must have one value per tag ({len(classes)}), got {len(values)}")
    for name, p in zip(classes, values):
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise ValueError(f"prevalence of tag {name!r} must be in [0, 1], got {p}")
    return values


# ---------------------------------------------------------------- public API
def make_dataset(
    n: int,
    *,
    classes: Sequence[str] | None = None,
    prevalence: Sequence[float] | None = None,
    soft_labels: bool = False,
    label_noise: float = 0.0,
    image_size: int = 64,
    seed: int = 0,
    dtype: str = "float32",
    masks: bool = False,
    cooccur: tuple[str, str, float] | None = None,
) -> tuple[np.ndarray, ...]:
    """Generate ``n`` labelled scenes (and, with ``masks=True``, where each tag is).

    Returns ``x`` float32 of shape (n, image_size, image_size, 3) in [0, 1] and
    ``y`` float32 of shape (n, C), C = len(classes). ``y`` is multi-hot
    (tag present -> 1) or, with ``soft_labels=True``, the presence strength in
    [0, 1] that the image shows: sky blueness, or an object's opacity over the
    ground. Tags are drawn independently with the given ``prevalence`` except
    that houses and trees co-occur with sky more often (marginals are kept).
    ``label_noise`` flips each target with that probability (the image is not
    changed): 1 <-> 0 for hard labels; for soft labels a present tag drops to 0
    and an absent one gets a random strength. Same arguments -> identical arrays.
    ``dtype="uint8"`` returns the same scenes as 8-bit pixels 0..255 (a quarter
    of the memory; the training engine stores them this way). ``masks=True``
    returns ``(x, y, masks)`` with ``masks`` (n, C, S, S) bool: each present tag's
    visible pixels (the same scenes as without masks), the ground truth that
    :mod:`mlc.saliency` scores maps against.

    ``cooccur=(tag, partner, p)`` plants a co-occurrence (the shortcut lesson):
    every scene with ``tag`` also holds ``partner`` with probability ``p``. The
    tag's prevalence stays as configured; the partner's scenes *without* the tag
    are thinned (or thickened) to keep its prevalence too, ``q = (p_partner -
    p_tag * p) / (1 - p_tag)``, clipped to [0, 1] — where the clip bites (p_tag * p
    > p_partner) the partner's prevalence rises to p_tag * p. The partner then no
    longer follows the sky lift. ``None`` (default): tags independent, same scenes
    as before.

    >>> x, y = make_dataset(3, classes=["sky", "boat"], soft_labels=True, seed=2)
    >>> y.shape, bool(((0 <= y) & (y <= 1)).all())
    ((3, 2), True)
    >>> bool((make_dataset(3, seed=5)[0] == make_dataset(3, seed=5)[0]).all())
    True
    """
    spec = SceneSpec.build(classes, prevalence, soft_labels, label_noise, image_size, cooccur)
    n = checks.whole(n, "n", 0, MAX_SAMPLES)
    seed = checks.whole(seed, "seed", 0, MAX_SEED)
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")
    x = np.empty((n, spec.size, spec.size, 3), dtype)
    y = np.empty((n, spec.num_classes), np.float32)
    where = np.zeros((n, spec.num_classes, spec.size, spec.size), bool) if masks else None
    starts = list(range(0, n, CHUNK))
    seeds = np.random.SeedSequence(seed).spawn(len(starts))

    def render(k: int) -> None:
        lo = starts[k]
        hi = min(lo + CHUNK, n)
        chunk_masks = None if where is None else where[lo:hi]
        if dtype == "float32":
            paint_chunk(spec, np.random.default_rng(seeds[k]), x[lo:hi], y[lo:hi], chunk_masks)
        else:
            pixels = np.empty((hi - lo, spec.size, spec.size, 3), np.float32)
            paint_chunk(spec, np.random.default_rng(seeds[k]), pixels, y[lo:hi], chunk_masks)
            x[lo:hi] = np.rint(pixels * np.float32(255.0))

    workers = min(2, os.cpu_count() or 1, len(starts))
    if workers <= 1:
        for k in range(len(starts)):
            render(k)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(render, range(len(starts))))
    return (x, y) if where is None else (x, y, where)


# ---------------------------------------------------------------- scene spec
@dataclass(frozen=True)
class SceneSpec:
    """Validated generation settings shared by every chunk."""

    classes: tuple[str, ...]
    prevalence: tuple[float, ...]
    soft_labels: bool
    label_noise: float
    size: int
    #: (tag index, partner index, p) of a planted co-occurrence, or None (see :func:`make_dataset`)
    cooccur: tuple[int, int, float] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @classmethod
    def build(cls, classes, prevalence, soft_labels, label_noise, image_size, cooccur=None) -> SceneSpec:
        names = resolve_classes(classes)
        prev = resolve_prevalence(prevalence, names)
        size = checks.whole(image_size, "image_size", MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
        noise = checks.number(label_noise, "label_noise", 0.0, MAX_LABEL_NOISE)
        return cls(names, prev, bool(soft_labels), noise, size, _resolve_cooccur(cooccur, names))


def _resolve_cooccur(cooccur, names: tuple[str, ...]) -> tuple[int, int, float] | None:
    """``(tag, partner, p)`` names -> indices into ``names`` (two different tags, p in [0, 1]).

    >>> _resolve_cooccur(("house", "tree", 0.95), ("dog", "house", "tree"))
    (1, 2, 0.95)
    """
    if cooccur is None:
        return None
    if not isinstance(cooccur, (tuple, list)) or len(cooccur) != 3:
        raise ValueError(f"cooccur must be (tag, partner, probability), got {cooccur!r}")
    tag, partner, p = cooccur
    for what, name in (("tag", tag), ("partner", partner)):
        if name not in names:
            raise ValueError(f"cooccur: the {what} must be one of the tags {list(names)}, got {name!r}")
    if tag == partner:
        raise ValueError(f"cooccur: the partner must differ from the tag, got {tag!r} twice")
    return names.index(tag), names.index(partner), checks.number(p, "cooccur probability", 0.0, 1.0)
