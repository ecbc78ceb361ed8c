"""Painting the synthetic scenes: palette, background, clutter, icons and glyphs.

:mod:`mlc.data` validates the settings (a :class:`~mlc.data.SceneSpec`) and
splits the work into chunks; this module paints one chunk. A scene is painted
as a per-pixel *slot map* (uint8 index into a small per-scene palette) inside
each object's own window, then coloured once with one gather, then lit and
noised. The article's tags get an icon (dog, cat, house, tree; sky is the blue
upper background), any other tag a coloured glyph of its own (ring, cross, ...).

>>> sorted(ICONS)
['cat', 'dog', 'house', 'tree']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from mlc.data import SceneSpec

#: Houses and trees appear this many times more often under a blue sky.
SKY_LIFT = 1.5
#: Soft labels: a present tag's strength is drawn from this range.
SOFT_RANGE = (0.25, 1.0)

# palette slots of a scene: sky, ground, clutter colours, then _PARTS per tag
_SKY, _GROUND = 0, 1
_CLUTTER0, _CLUTTER_MAX = 2, 4
_TAG0 = _CLUTTER0 + _CLUTTER_MAX
_PARTS = 3  # palette slots per tag: e.g. body, roof/ears, door/eyes


def draw_presence(spec: SceneSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, C) bool presence; house/tree lifted under sky with marginals kept; a planted co-occurrence last."""
    prev = np.asarray(spec.prevalence)
    u = rng.random((n, spec.num_classes))
    present = u < prev
    lowered = [c.lower() for c in spec.classes]
    if "sky" in lowered:
        s = lowered.index("sky")
        p_sky = prev[s]
        sky = present[:, s]
        for name in ("house", "tree"):
            if name in lowered and 0.0 < p_sky < 1.0:
                c = lowered.index(name)
                p_with = min(1.0, SKY_LIFT * prev[c])
                p_without = max(0.0, (prev[c] - p_sky * p_with) / (1.0 - p_sky))
                # keep the marginal exact when the lift cannot be fully paid back
                p_with = (prev[c] - (1.0 - p_sky) * p_without) / p_sky
                present[:, c] = u[:, c] < np.where(sky, p_with, p_without)
    if spec.cooccur is not None:  # the shortcut lesson: partner follows tag (draws only when set)
        t, c, p = spec.cooccur
        p_else = min(1.0, max(0.0, (prev[c] - prev[t] * p) / (1.0 - prev[t]))) if prev[t] < 1.0 else 0.0
        present[:, c] = rng.random(n) < np.where(present[:, t], p, p_else)
    return present


def paint_chunk(
    spec: SceneSpec, rng: np.random.Generator, x_out: np.ndarray, y_out: np.ndarray, masks_out: np.ndarray | None = None
) -> None:
    """Paint ``n = len(x_out)`` scenes into ``x_out`` (n, S, S, 3) float32 and their targets into ``y_out`` (n, C).

    ``masks_out`` (n, C, S, S) bool, when given, receives each present tag's *visible* pixels (an object
    partly hidden by one drawn later keeps only what shows; sky is the uncovered upper background). It
    takes nothing from ``rng``: the scenes are the same with or without it.

    Everything random comes from ``rng``, in a fixed order: one generator per chunk
    gives the same scenes whatever thread paints them.

    >>> from mlc.data import SceneSpec
    >>> spec = SceneSpec.build(["sky", "boat"], None, False, 0.0, 16)
    >>> x, y = np.empty((2, 16, 16, 3), np.float32), np.empty((2, 2), np.float32)
    >>> paint_chunk(spec, np.random.default_rng(0), x, y)
    >>> bool(((0 <= x) & (x <= 1)).all()), sorted(set(y.ravel().tolist())) <= [0.0, 1.0]
    (True, True)
    """
    n, S = len(x_out), spec.size
    C = spec.num_classes
    present = draw_presence(spec, rng, n)  # (n, C)
    if spec.soft_labels:
        strength = np.where(present, rng.uniform(*SOFT_RANGE, (n, C)), 0.0)
    else:
        strength = present.astype(np.float64)

    palette = np.empty((n, _TAG0 + _PARTS * C, 3), np.float32)
    ground = _jitter(rng, _GROUND_COLOURS, n)
    palette[:, _GROUND] = ground
    overcast = _jitter(rng, _OVERCAST_COLOURS, n)
    palette[:, _SKY] = overcast
    palette[:, _CLUTTER0 : _CLUTTER0 + _CLUTTER_MAX] = rng.uniform(0.05, 0.95, (n, _CLUTTER_MAX, 3))

    # background: upper part above a random horizon, ground below
    yy = np.arange(S, dtype=np.float32)
    horizon = rng.uniform(0.3, 0.55, n).astype(np.float32) * S
    slots = np.where(yy[None, :, None] < horizon[:, None, None], _SKY, _GROUND)
    slots = np.broadcast_to(slots, (n, S, S)).astype(np.uint8)

    _paint_clutter(rng, slots, S)

    lowered = [c.lower() for c in spec.classes]
    glyph_index = 0
    draw_order = sorted(range(C), key=lambda c: ICONS[lowered[c]].depth if lowered[c] in ICONS else 5)
    for c in draw_order:
        name = lowered[c]
        base = _TAG0 + _PARTS * c
        if name == "sky":
            blue = _jitter(rng, _SKY_COLOURS, n)
            s = strength[:, c, None].astype(np.float32)
            palette[:, _SKY] = np.where(present[:, c, None], s * blue + (1 - s) * overcast, overcast)
            continue
        icon = ICONS.get(name)
        if icon is None:
            icon = _glyph(c, glyph_index)
            glyph_index += 1
        idx = np.flatnonzero(present[:, c])
        colours = icon.colours(rng, n)  # (n, parts, 3)
        s = strength[:, c, None, None].astype(np.float32)
        # soft labels: a faint object is a blend of its colours with the ground
        palette[:, base : base + _PARTS] = s * colours + (1 - s) * ground[:, None, :]
        if len(idx):
            _paint_icon(rng, slots, idx, icon, base, S, horizon[idx])

    if masks_out is not None:
        for c, name in enumerate(lowered):
            if name == "sky":
                masks_out[:, c] = (slots == _SKY) & present[:, c, None, None]
            else:
                base = _TAG0 + _PARTS * c
                masks_out[:, c] = (slots >= base) & (slots < base + _PARTS)
    img = np.take(
        palette.reshape(-1, 3), slots.astype(np.intp) + (np.arange(n) * palette.shape[1])[:, None, None], axis=0
    )
    # lighting: per-scene gain and offset, then pixel noise from a shared bank
    gain = rng.uniform(0.8, 1.15, (n, 1, 1, 1)).astype(np.float32)
    bias = rng.uniform(-0.06, 0.06, (n, 1, 1, 1)).astype(np.float32)
    img *= gain
    img += bias
    npix = S * S * 3
    bank = rng.standard_normal(npix * 4, dtype=np.float32)
    bank *= np.float32(0.035)
    offsets = rng.integers(0, bank.size - npix, n)
    img += sliding_window_view(bank, npix)[offsets].reshape(n, S, S, 3)
    np.clip(img, 0.0, 1.0, out=x_out)

    y = strength
    if spec.label_noise > 0:
        flip = rng.random((n, C)) < spec.label_noise
        if spec.soft_labels:
            y = np.where(flip, np.where(present, 0.0, rng.uniform(*SOFT_RANGE, (n, C))), y)
        else:
            y = np.where(flip, 1.0 - y, y)
    y_out[...] = y


# ---------------------------------------------------------------- colours
def _rgb(*hexes: str) -> np.ndarray:
    return np.array([[int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)] for h in hexes], np.float32)


_SKY_COLOURS = _rgb("#4f9be8", "#6cb4f0", "#3b7fd6", "#87c5f5", "#5aa0e0")
_OVERCAST_COLOURS = _rgb("#b9b9b4", "#d8cfc0", "#8c8c90", "#e6ddd2", "#c9b3a5", "#6e6a66")
_GROUND_COLOURS = _rgb("#5f9c45", "#7aa84f", "#8b7355", "#9e9e8e", "#6b8e3e", "#a08a62")


def _jitter(rng: np.random.Generator, choices: np.ndarray, n: int, amount: float = 0.06) -> np.ndarray:
    """(n, 3): a random base colour per scene with a little per-channel jitter."""
    base = choices[rng.integers(0, len(choices), n)]
    return np.clip(base + rng.uniform(-amount, amount, (n, 3)), 0.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- shapes
MaskFn = Callable[[np.ndarray, np.ndarray, np.ndarray], list[np.ndarray]]


@dataclass(frozen=True)
class Icon:
    """How one tag is drawn.

    ``masks(u, v, variant)`` gets window coordinates normalised by the object
    size, u rightwards and v downwards with the object centre at (0, 0), shape
    (m, W, W), and returns one boolean mask per palette part, back to front.
    """

    name: str
    size_range: tuple[float, float]  # object size in pixels at 64x64
    depth: int  # paint order: lower first (further back)
    masks: MaskFn
    part_colours: tuple[np.ndarray, ...]  # per part: (k, 3) choices
    shared_choice: bool = True  # parts use the same choice row (matching tones)

    def colours(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out = np.empty((n, _PARTS, 3), np.float32)
        pick = rng.integers(0, 1 << 30, n)
        for p in range(_PARTS):
            choices = self.part_colours[min(p, len(self.part_colours) - 1)]
            k = pick % len(choices) if self.shared_choice else rng.integers(0, len(choices), n)
            out[:, p] = np.clip(choices[k] + rng.uniform(-0.05, 0.05, (n, 3)), 0, 1)
        return out


def _ellipse(u, v, cu, cv, ru, rv):
    return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2 < 1.0


def _box(u, v, u0, u1, v0, v1):
    return (u > u0) & (u < u1) & (v > v0) & (v < v1)


def _house(u, v, variant):
    body = _box(u, v, -0.34, 0.34, -0.02, 0.45)
    roof = (v > -0.42) & (v <= 0.0) & (np.abs(u) < 0.46 * (v + 0.42) / 0.42)
    door = _box(u, v, 0.04, 0.18, 0.18, 0.45) | _box(u, v, -0.26, -0.1, 0.08, 0.22)
    return [body, roof, door]


_HOUSE_COLOURS = (  # walls, roof, door and window; each part picks its own
    _rgb("#e8dcc0", "#c4a484", "#f2f0e6", "#b5523b", "#e0c068"),
    _rgb("#8b2e2e", "#5a3a2a", "#555560", "#9c4a1a", "#2f4f6f"),
    _rgb("#3b2a1e", "#2a2a35", "#4a3020", "#202830", "#3a2418"),
)


def _tree(u, v, variant):
    trunk = _box(u, v, -0.07, 0.07, 0.1, 0.5)
    round_top = _ellipse(u, v, 0.0, -0.12, 0.33, 0.32)
    pine = (v > -0.5) & (v < 0.2) & (np.abs(u) < 0.34 * (v + 0.5) / 0.7)
    canopy = np.where(variant[:, None, None] < 0.5, round_top, pine)
    return [trunk, canopy, np.zeros_like(trunk)]


# trunk, canopy (the empty third part takes the last); each part picks its own
_TREE_COLOURS = (_rgb("#6b4423", "#5a3a1e", "#7a5230"), _rgb("#1f6b2a", "#2e8b35", "#3f7f1f", "#1d5b3a", "#5a8f25"))


def _dog(u, v, variant):
    u = u * np.where(variant < 0.5, 1.0, -1.0)[:, None, None].astype(np.float32)  # face left or right
    body = _ellipse(u, v, 0.06, 0.02, 0.3, 0.13)
    legs = _box(u, v, -0.18, -0.1, 0.0, 0.36) | _box(u, v, 0.2, 0.28, 0.0, 0.36)
    head = _ellipse(u, v, -0.28, -0.16, 0.13, 0.12) | _ellipse(u, v, -0.42, -0.12, 0.09, 0.06)
    tail = (np.abs((u - 0.4) + 0.45 * (v + 0.1)) < 0.035) & (v > -0.26) & (v < 0.02)
    ear = _ellipse(u, v, -0.22, -0.08, 0.05, 0.12)
    return [body | legs | tail, head, ear]


_DOG_COLOURS = (  # body, head, ear; one choice row for all three (matching tones)
    _rgb("#a0662e", "#d2a679", "#6b4226", "#c8862e", "#b8582a"),
    _rgb("#93582a", "#c49668", "#5e3a20", "#b87828", "#a84e22"),
    _rgb("#4a2c14", "#7a5030", "#2a180c", "#5a3410", "#3a2a1c"),
)


def _cat(u, v, variant):
    side = np.where(variant < 0.5, 1.0, -1.0)[:, None, None].astype(np.float32)
    body = _ellipse(u, v, 0.0, 0.2, 0.2, 0.27)
    tail = _ellipse(u * side, v, 0.22, 0.3, 0.06, 0.16)
    head = _ellipse(u, v, 0.0, -0.16, 0.16, 0.14)
    ears = (
        (v > -0.46)
        & (v < -0.22)
        & ((np.abs(u - 0.11) < 0.09 * (v + 0.46) / 0.24) | (np.abs(u + 0.11) < 0.09 * (v + 0.46) / 0.24))
    )
    eyes = _ellipse(u, v, 0.065, -0.17, 0.035, 0.035) | _ellipse(u, v, -0.065, -0.17, 0.035, 0.035)
    return [body | tail, head | ears, eyes]


_CAT_COLOURS = (  # body, head, eyes; one choice row for all three
    _rgb("#e08a2e", "#8a8f9a", "#2a2a2a", "#eeeae0", "#d8b890"),
    _rgb("#d07a20", "#7a7f8a", "#222222", "#e2ded4", "#c8a880"),
    _rgb("#3cc850", "#e8d030", "#3cc850", "#30a0e0", "#e8d030"),
)


#: How each of the article's tags is drawn (sky is the background, not an icon); each one's masks and
#: part colours stand together above.
ICONS: dict[str, Icon] = {
    icon.name: icon
    for icon in (
        Icon("house", (20, 30), 0, _house, _HOUSE_COLOURS, shared_choice=False),
        Icon("tree", (18, 30), 1, _tree, _TREE_COLOURS, shared_choice=False),
        Icon("dog", (20, 30), 2, _dog, _DOG_COLOURS),
        Icon("cat", (20, 29), 3, _cat, _CAT_COLOURS),
    )
}


# generic glyphs for tags that are not one of the article's: shape by index, hue by index
def _ring(u, v, variant):
    r = u * u + v * v
    return [(r < 0.2) & (r > 0.09)]


def _cross(u, v, variant):
    return [((np.abs(u - v) < 0.1) | (np.abs(u + v) < 0.1)) & (np.abs(u) < 0.4)]


def _plus(u, v, variant):
    return [(_box(u, v, -0.1, 0.1, -0.42, 0.42)) | _box(u, v, -0.42, 0.42, -0.1, 0.1)]


def _diamond(u, v, variant):
    return [np.abs(u) + np.abs(v) < 0.42]


def _triangle(u, v, variant):
    return [(v > -0.4) & (v < 0.35) & (np.abs(u) < 0.45 * (v + 0.4) / 0.75)]


def _frame(u, v, variant):
    outer = _box(u, v, -0.4, 0.4, -0.4, 0.4)
    return [outer & ~_box(u, v, -0.24, 0.24, -0.24, 0.24)]


def _half_disk(u, v, variant):
    return [(u * u + v * v < 0.18) & (v < 0.05)]


def _stripes(u, v, variant):
    inside = _box(u, v, -0.4, 0.4, -0.4, 0.4)
    return [inside & (np.floor((v + 0.4) / 0.16) % 2 == 0)]


_GLYPHS: tuple[MaskFn, ...] = (_ring, _cross, _plus, _diamond, _triangle, _frame, _half_disk, _stripes)


def _glyph(tag_index: int, glyph_index: int) -> Icon:
    hue = (0.61803398875 * glyph_index) % 1.0
    colour = np.array([_hsv(hue, 0.75, 0.85)], np.float32)
    return Icon(f"glyph{glyph_index}", (14, 22), 4, _GLYPHS[glyph_index % len(_GLYPHS)], (colour,))


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def _paint_icon(
    rng: np.random.Generator,
    slots: np.ndarray,
    idx: np.ndarray,
    icon: Icon,
    base: int,
    S: int,
    horizon: np.ndarray,
) -> None:
    """Paint ``icon`` into ``slots[idx]`` inside a window per scene."""
    m = len(idx)
    scale = S / 64.0
    lo, hi = icon.size_range
    size = rng.uniform(lo * scale, hi * scale, m).astype(np.float32)  # (m,)
    win = min(S, int(math.ceil(hi * scale)) + 2)
    # objects stand on the ground: window top from just above the horizon down
    top_lo = np.clip(horizon - 0.55 * win, 0, S - win)
    oy = (top_lo + rng.random(m) * (S - win - top_lo + 1)).astype(np.intp)
    ox = rng.integers(0, S - win + 1, m)
    grid = np.arange(win, dtype=np.float32) - (win - 1) / 2
    centre_jitter = rng.uniform(-1, 1, (m, 2)).astype(np.float32) * (win - size[:, None]) / 2
    u = (grid[None, None, :] - centre_jitter[:, 0, None, None]) / size[:, None, None]  # (m, 1, W)
    v = (grid[None, :, None] - centre_jitter[:, 1, None, None]) / size[:, None, None]  # (m, W, 1)
    u, v = np.broadcast_arrays(u, v)
    variant = rng.random(m)
    rows = oy[:, None, None] + np.arange(win)[None, :, None]
    cols = ox[:, None, None] + np.arange(win)[None, None, :]
    sub = slots[idx[:, None, None], rows, cols]  # (m, W, W)
    for part, mask in enumerate(icon.masks(u, v, variant)):
        sub[mask] = base + part
    slots[idx[:, None, None], rows, cols] = sub


def _paint_clutter(rng: np.random.Generator, slots: np.ndarray, S: int) -> None:
    """1-4 small random rectangles, disks and bars per scene in random colours."""
    n = len(slots)
    count = rng.integers(1, _CLUTTER_MAX + 1, n)
    win = max(3, int(round(10 * S / 64)))
    g = np.arange(win, dtype=np.float32) - (win - 1) / 2
    for j in range(_CLUTTER_MAX):
        idx = np.flatnonzero(count > j)
        m = len(idx)
        if not m:
            break
        half = rng.uniform(1.5, win / 2, (m, 2)).astype(np.float32)
        kind = rng.integers(0, 3, m)[:, None, None]
        u = g[None, None, :] / half[:, 0, None, None]
        v = g[None, :, None] / half[:, 1, None, None]
        box = (np.abs(u) < 1) & (np.abs(v) < 1)
        disk = u * u + v * v < 1
        bar = np.abs(u) < 1
        bar = bar & (np.abs(v) < 0.35 * win / half[:, 1, None, None])
        mask = np.where(kind == 0, box, np.where(kind == 1, disk, bar))
        oy = rng.integers(0, S - win + 1, m)
        ox = rng.integers(0, S - win + 1, m)
        rows = oy[:, None, None] + np.arange(win)[None, :, None]
        cols = ox[:, None, None] + np.arange(win)[None, None, :]
        sub = slots[idx[:, None, None], rows, cols]
        sub[mask] = _CLUTTER0 + j
        slots[idx[:, None, None], rows, cols] = sub
