"""Real handwriting for multi-label classification: 1–4 handwritten digits per canvas.

The source images are scikit-learn's bundled digits (``sklearn.datasets.load_digits``:
1,797 real 8×8 images in 16 grey levels, the test part of the UCI "Optical
Recognition of Handwritten Digits" set, optdigits; E. Alpaydin and C. Kaynak, 1998,
UCI Machine Learning Repository). They ship inside the scikit-learn wheel, so nothing
is downloaded; scikit-learn is imported on first use only.

**Pools.** The 1,797 images are split once, per digit, 70/15/15 into disjoint
``train``/``val``/``test`` pools (a fixed seed, :data:`POOL_SEED`), so validation and
test canvases hold only handwriting that training never saw (:func:`digit_pools`).

**Tags.** ``classes`` are digits ("0".."9", a subset in the order given); tag ``c`` is
1 when digit ``c`` is on the canvas. Presence is drawn per tag with the asked
``prevalence`` *and* 1–4 digits per canvas: the tags' presence vector is drawn from
independent Bernoulli variables conditioned on the count (0–4 tags with a subset,
1–4 with all ten), with each tag's odds solved for beforehand (:func:`tag_odds`) so
that the conditioned marginals equal the asked prevalence. So no canvas is dropped
or clipped after the fact, and measured prevalence matches what was asked up to
sampling noise. Hence the prevalences must add up to at most 4 (and at least 1 when
all ten digits are tags).

**Distractors.** With a subset of tags the other digits are untagged distractors:
each is added with probability :data:`DISTRACTOR_RATE` while room remains (at most 4
digits in all), and a canvas with no tag gets one, so every canvas holds 1–4 digits,
a canvas can have no tag, and the model must tell a "3" from the other digits.

**Rendering.** Each digit is upscaled smoothly (separable cubic interpolation, as
matrices) to a random side of 0.28–0.5 of the canvas, placed at the least overlapping
of a few random positions, in a dark ink colour on light paper of a random colour
(with a gentle gradient), plus a little pixel noise. Canvases are painted in
chunks of :data:`CHUNK`, each from its own seeded generator (the first ``k·CHUNK``
canvases of a longer call are the same canvases), on up to two threads. Speed at 64 px:
about 6,000–8,000 canvases per CPU-second on one thread (median of five 4,096-canvas
calls on the 2-core CI machine; the scenes of :mod:`mlc.data` measured 11,000–12,000).

>>> x, y = make_digits(4, seed=1)
>>> x.shape, x.dtype, y.shape, y.dtype
((4, 64, 64, 3), dtype('float32'), (4, 10), dtype('float32'))
>>> bool(x.min() >= 0 and x.max() <= 1), bool(((1 <= y.sum(1)) & (y.sum(1) <= 4)).all())
(True, True)
>>> make_digits(2, classes=["3", "7"], prevalence=[0.05, 0.5], image_size=32, dtype="uint8")[0].shape
(2, 32, 32, 3)
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mlc import checks
from mlc.data import MAX_IMAGE_SIZE, MAX_SAMPLES, MAX_SEED, MIN_IMAGE_SIZE
from mlc.datasets import DIGIT_PREVALENCE, DIGIT_TAGS, SPLITS

#: The pools' fixed seed (never the caller's: every run sees the same three pools).
POOL_SEED = 14
#: Share of each digit's source images in the train, val and test pools.
POOL_FRACTIONS = (0.70, 0.15, 0.15)
MAX_DIGITS = 4
#: Chance that each untagged digit joins a canvas as a distractor (room permitting).
DISTRACTOR_RATE = 0.25
#: A digit's side as a fraction of the canvas side.
SCALE_RANGE = (0.28, 0.5)
#: Positions tried per digit; the first whose overlap with earlier digits is at most
#: OVERLAP_OK (of the smaller box) wins, else the least overlapping one.
PLACEMENT_TRIES, OVERLAP_OK = 8, 0.1
#: Least luminance difference between ink and paper.
MIN_CONTRAST = 0.35
NOISE_RANGE = (0.0, 0.04)
#: A glyph pixel belongs to its digit's mask where its ink weight (0..1) exceeds this.
MASK_INK = 0.3
#: Paper colours (each channel) and the gradient's largest swing across the canvas.
#: Dark ink on light paper only: with light-on-dark canvases mixed in, the default
#: ``lean`` model reached validation mAP 0.73 after 6 epochs instead of 0.96.
PAPER_RANGE, GRADIENT_MAX = (0.55, 0.98), 0.25
CHUNK = 256


# ---------------------------------------------------------------- source images and pools
@functools.cache
def source_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images (1797, 8, 8) float32 in [0, 1] (ink = 1) and targets (1797,) int.

    Read-only arrays, loaded once (scikit-learn is imported here, not at module import).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    targets = bunch.target.astype(np.int64)
    images.flags.writeable = targets.flags.writeable = False
    return images, targets


@functools.cache
def digit_pools() -> dict[str, tuple[np.ndarray, ...]]:
    """``{split: (indices of digit 0, ..., of digit 9)}``: disjoint pools of source image indices.

    Each digit's images are shuffled with :data:`POOL_SEED` and cut 70/15/15, so every
    pool holds every digit in proportion.

    >>> pools = digit_pools()
    >>> [sum(len(p) for p in pools[s]) for s in ("train", "val", "test")]
    [1258, 269, 270]
    """
    _, targets = source_digits()
    rng = np.random.default_rng(POOL_SEED)
    pools: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for d in range(len(DIGIT_TAGS)):
        idx = rng.permutation(np.flatnonzero(targets == d))
        cut1 = round(len(idx) * POOL_FRACTIONS[0])
        cut2 = cut1 + round(len(idx) * POOL_FRACTIONS[1])
        for name, part in zip(SPLITS, (idx[:cut1], idx[cut1:cut2], idx[cut2:])):
            part.flags.writeable = False
            pools[name].append(part)
    return {name: tuple(parts) for name, parts in pools.items()}


# ---------------------------------------------------------------- tag presence
def _esym(w: np.ndarray) -> np.ndarray:
    """Elementary symmetric sums e_0..e_len(w) of the odds ``w`` (e_k: all products of k of them)."""
    e = np.zeros(len(w) + 1)
    e[0] = 1.0
    for wi in w:
        e[1:] = e[1:] + wi * e[:-1]
    return e


def _conditioned_marginals(w: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """P(tag i present | lo <= count <= hi) for independent tags of odds ``w``."""
    z = _esym(w)[lo : hi + 1].sum()
    return np.array([wi * _esym(np.delete(w, i))[max(lo - 1, 0) : hi].sum() / z for i, wi in enumerate(w)])


@functools.cache
def tag_odds(prevalence: tuple[float, ...], lo: int, hi: int) -> tuple[float, ...]:
    """Odds per tag whose Bernoulli draws, conditioned on ``lo <= count <= hi``, have marginals ``prevalence``.

    Fixed-point iteration in log-odds (``θ += log p - log m``). A tag at 0 or 1 is
    fixed (odds 0 or inf) and the others are solved with the bounds shifted. At the
    edges of what is possible (a sum of exactly ``hi``) the odds stop at e^±40 and the
    marginals are met to within about 0.001.

    >>> [round(o, 3) for o in tag_odds((0.25,) * 10, 1, 4)][:2]
    [0.364, 0.364]
    >>> tag_odds((1.0, 0.0, 0.5), 0, 4)
    (inf, 0.0, 1.0)
    """
    p = np.asarray(prevalence, float)
    free = (p > 0) & (p < 1)
    ones = int((p >= 1).sum())
    odds = np.where(p >= 1, np.inf, 0.0)
    if free.any():
        lo_f, hi_f = max(lo - ones, 0), hi - ones
        target = p[free]
        theta = np.log(target / (1 - target))
        for _ in range(1000):
            m = _conditioned_marginals(np.exp(theta), lo_f, hi_f)
            if np.abs(m - target).max() < 1e-7:
                break
            theta = np.clip(theta + np.log(target / m), -40.0, 40.0)
        odds[free] = np.exp(theta)
    return tuple(float(o) for o in odds)


def _draw_tags(rng: np.random.Generator, m: int, odds: tuple[float, ...], lo: int, hi: int) -> np.ndarray:
    """(m, C) bool: exact draws from the count-conditioned distribution, tag by tag (no rejection).

    With suffix sums ``E_j`` of the remaining tags' odds, tag j is present with
    probability ``w_j R_{j+1}(c+1) / (w_j R_{j+1}(c+1) + R_{j+1}(c))`` given ``c``
    present so far, ``R_j(c)`` = the weight of completions with ``lo <= count <= hi``.
    """
    w = np.asarray(odds)
    fixed = np.isinf(w)
    lo, hi = max(lo - int(fixed.sum()), 0), hi - int(fixed.sum())
    c_tags = len(w)
    wf = np.where(fixed, 0.0, w)  # a fixed tag is set below; it counts via the shifted bounds
    reach = np.zeros((c_tags + 1, c_tags + 2))  # reach[j, c] = R_j(c)
    for j in range(c_tags + 1):
        e = _esym(wf[j:])
        for c in range(c_tags + 1):
            reach[j, c] = e[max(lo - c, 0) : max(hi - c + 1, 0)].sum()
    present = np.zeros((m, c_tags), bool)
    count = np.zeros(m, np.int64)
    u = rng.random((m, c_tags))
    for j in range(c_tags):
        if fixed[j]:
            present[:, j] = True
            continue
        on = wf[j] * reach[j + 1, count + 1]
        p_on = on / np.maximum(on + reach[j + 1, count], 1e-300)
        present[:, j] = u[:, j] < p_on
        count += present[:, j]
    return present


# ---------------------------------------------------------------- settings
@dataclass(frozen=True)
class DigitSpec:
    """Validated settings shared by every chunk: the tag digits, their prevalence, canvas side, source pool."""

    classes: tuple[str, ...]
    prevalence: tuple[float, ...]
    size: int
    split: str

    @property
    def digits(self) -> tuple[int, ...]:
        return tuple(int(c) for c in self.classes)

    @property
    def bounds(self) -> tuple[int, int]:
        """Tags per canvas: 1–4 with all ten digits as tags, 0–4 when distractors can fill a canvas."""
        return (1 if len(self.classes) == len(DIGIT_TAGS) else 0), MAX_DIGITS

    @classmethod
    def build(cls, classes, prevalence, image_size, split) -> DigitSpec:
        names = checks.tag_names(DIGIT_TAGS if classes is None else classes, len(DIGIT_TAGS), "classes")
        for name in names:
            if name not in DIGIT_TAGS:
                raise ValueError(f"classes: the digits data set's tags are the digits 0 to 9, got {name!r}")
        if prevalence is None:
            prev = (DIGIT_PREVALENCE,) * len(names)
        else:
            prev = checks.number_tuple(prevalence, "prevalence")
            if len(prev) != len(names):
                raise ValueError(f"prevalence must have one value per tag ({len(names)}), got {len(prev)}")
            prev = tuple(checks.number(p, f"prevalence of tag {c!r}", 0, 1) for c, p in zip(names, prev))
        size = checks.whole(image_size, "image_size", MIN_IMAGE_SIZE, MAX_IMAGE_SIZE)
        split = checks.one_of(split, "split", SPLITS)
        spec = cls(names, prev, size, split)
        lo, hi = spec.bounds
        total = sum(prev)
        if not lo - 1e-9 <= total <= hi + 1e-9:
            every = "with all ten digits as tags, " if lo else ""
            raise ValueError(
                f"prevalence: a canvas holds 1 to {hi} digits, so {every}the prevalences must add up to "
                f"{'between 1 and' if lo else 'at most'} {hi}, got {total:g}"
            )
        return spec


# ---------------------------------------------------------------- layout: which digit goes where
@dataclass(frozen=True)
class DigitLayout:
    """The digits drawn on ``n`` canvases, one row per digit (k rows): what :func:`make_digits` paints.

    ``canvas`` (k,) which canvas; ``digit`` (k,) 0–9; ``source`` (k,) index into
    :func:`source_digits`; ``top``, ``left``, ``side`` (k,) the box in pixels; ``tagged``
    (k,) bool (False: a distractor); ``labels`` (n, C) float32 0/1.
    """

    canvas: np.ndarray
    digit: np.ndarray
    source: np.ndarray
    top: np.ndarray
    left: np.ndarray
    side: np.ndarray
    tagged: np.ndarray
    labels: np.ndarray


def _plan_chunk(spec: DigitSpec, rng: np.random.Generator, m: int) -> DigitLayout:
    """The layout of ``m`` canvases (canvas numbers 0..m-1), from ``rng``."""
    lo, hi = spec.bounds
    tags = _draw_tags(rng, m, tag_odds(spec.prevalence, lo, hi), lo, hi)
    present = np.zeros((m, len(DIGIT_TAGS)), bool)
    present[:, list(spec.digits)] = tags
    others = [d for d in range(len(DIGIT_TAGS)) if d not in spec.digits]
    if others:
        # distractors in random order, each with DISTRACTOR_RATE, while there is room; an empty canvas gets one
        room = MAX_DIGITS - tags.sum(1)
        want = rng.random((m, len(others))) < DISTRACTOR_RATE
        order = np.argsort(rng.random((m, len(others))), axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(len(others))[None, :].repeat(m, 0), axis=1)
        want &= np.cumsum(np.take_along_axis(want, order, 1), 1)[np.arange(m)[:, None], rank] <= room[:, None]
        empty = (tags.sum(1) + want.sum(1)) == 0
        want[np.flatnonzero(empty), order[empty, 0]] = True
        present[:, others] = want
    # the digits of each canvas in a random order (it decides who is placed first): slots (m, 4)
    keys = np.where(present, rng.random(present.shape), np.inf)
    slots = np.argsort(keys, axis=1)[:, :MAX_DIGITS]
    used = np.take_along_axis(present, slots, 1)
    canvas, slot = np.nonzero(used)
    digit = slots[canvas, slot]
    pools = digit_pools()[spec.split]
    sizes = np.array([len(p) for p in pools])
    pick = np.floor(rng.random(len(digit)) * sizes[digit]).astype(np.int64)
    flat = np.concatenate(pools)
    source = flat[np.concatenate([[0], np.cumsum(sizes)[:-1]])[digit] + pick]
    s_lo, s_hi = (max(4, round(f * spec.size)) for f in SCALE_RANGE)
    side = rng.integers(s_lo, s_hi + 1, len(digit))
    top, left = _place(rng, spec.size, m, canvas, slot, side)
    tagged = np.isin(digit, spec.digits)
    return DigitLayout(canvas, digit, source, top, left, side, tagged, tags.astype(np.float32))


def _place(rng, size: int, m: int, canvas, slot, side) -> tuple[np.ndarray, np.ndarray]:
    """Top-left corners: slot by slot, the first of PLACEMENT_TRIES positions overlapping little, else the least."""
    top = np.zeros(len(canvas), np.int64)
    left = np.zeros(len(canvas), np.int64)
    boxes = np.zeros((m, MAX_DIGITS, 4))  # y0, x0, y1, x1 of placed digits (empty boxes overlap nothing)
    for j in range(MAX_DIGITS):
        rows = np.flatnonzero(slot == j)
        if not len(rows):
            continue
        s = side[rows][:, None]
        ty = np.floor(rng.random((len(rows), PLACEMENT_TRIES)) * (size - s + 1))
        tx = np.floor(rng.random((len(rows), PLACEMENT_TRIES)) * (size - s + 1))
        if j:
            prev = boxes[canvas[rows], :j][:, None]  # (r, 1, j, 4)
            dy = np.minimum(ty[..., None] + s[..., None], prev[..., 2]) - np.maximum(ty[..., None], prev[..., 0])
            dx = np.minimum(tx[..., None] + s[..., None], prev[..., 3]) - np.maximum(tx[..., None], prev[..., 1])
            inter = np.clip(dy, 0, None) * np.clip(dx, 0, None)
            smaller = np.minimum(s[..., None] ** 2, (prev[..., 2] - prev[..., 0]) ** 2)
            worst = (inter / np.maximum(smaller, 1)).max(-1)  # (r, tries)
            ok = worst <= OVERLAP_OK
            best = np.where(ok.any(1), ok.argmax(1), worst.argmin(1))
        else:
            best = np.zeros(len(rows), np.int64)
        y = ty[np.arange(len(rows)), best]
        x = tx[np.arange(len(rows)), best]
        top[rows], left[rows] = y, x
        boxes[canvas[rows], j] = np.stack([y, x, y + side[rows], x + side[rows]], 1)
    return top, left


def digit_layout(
    n: int,
    *,
    classes: Sequence[str] | None = DIGIT_TAGS,
    prevalence: Sequence[float] | None = None,
    image_size: int = 64,
    seed: int = 0,
    split: str = "train",
) -> DigitLayout:
    """The layout :func:`make_digits` paints for the same arguments (what is drawn where), without pixels.

    >>> lay = digit_layout(3, seed=2)
    >>> lay.labels.shape, bool(set(lay.source) <= set(np.concatenate(digit_pools()["train"])))
    ((3, 10), True)
    """
    spec, n, chunks = _settings(n, classes, prevalence, image_size, seed, split)
    parts = [_plan_chunk(spec, np.random.default_rng(sq), hi - lo) for lo, hi, sq in chunks]
    if not parts:
        return DigitLayout(
            *(np.zeros(0, np.int64),) * 6, np.zeros(0, bool), np.zeros((0, len(spec.classes)), np.float32)
        )
    fields = {f: np.concatenate([getattr(p, f) for p in parts]) for f in DigitLayout.__dataclass_fields__}
    fields["canvas"] = np.concatenate([p.canvas + lo for p, (lo, _, _) in zip(parts, chunks)])
    return DigitLayout(**fields)


def _settings(n, classes, prevalence, image_size, seed, split):
    spec = DigitSpec.build(classes, prevalence, image_size, split)
    n = checks.whole(n, "n", 0, MAX_SAMPLES)
    seed = checks.whole(seed, "seed", 0, MAX_SEED)
    starts = list(range(0, n, CHUNK))
    # the split is part of the entropy: train and val canvases of one seed differ in layout too
    seqs = np.random.SeedSequence([seed, SPLITS.index(spec.split)]).spawn(len(starts))
    return spec, n, [(lo, min(lo + CHUNK, n), sq) for lo, sq in zip(starts, seqs)]


# ---------------------------------------------------------------- painting
@functools.cache
def _resize_matrix(side: int) -> np.ndarray:
    """(side, 8) cubic (Keys, a = -0.5) interpolation weights, pixel centres aligned, edges clamped."""
    a = -0.5
    out = np.zeros((side, 8), np.float32)
    for i in range(side):
        x = (i + 0.5) * 8 / side - 0.5
        base = math.floor(x)
        for k in range(base - 1, base + 3):
            t = abs(x - k)
            w = (a + 2) * t**3 - (a + 3) * t**2 + 1 if t <= 1 else a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
            out[i, min(max(k, 0), 7)] += w if t < 2 else 0.0
    return out


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _paint_chunk(spec: DigitSpec, rng, lay: DigitLayout, out: np.ndarray, masks: np.ndarray | None = None) -> None:
    """Paint the canvases of ``lay`` into ``out`` (m, S, S, 3) float32 in [0, 1]; ``masks`` (m, C, S, S) bool:
    OR in each tagged digit's ink (glyph weight > :data:`MASK_INK`; no random draws, so the same pixels)."""
    m, size = len(out), spec.size
    images, _ = source_digits()
    k = len(lay.digit)
    # paper: a light random colour with a gentle linear gradient in a random direction
    base = PAPER_RANGE[0] + rng.random((m, 3), np.float32) * np.float32(PAPER_RANGE[1] - PAPER_RANGE[0])
    angle = rng.random(m) * 2 * np.pi
    ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    amp = rng.uniform(0.0, GRADIENT_MAX, m).astype(np.float32)
    gx = (np.cos(angle) * amp).astype(np.float32)[:, None, None] * ramp[None, None, :]
    gy = (np.sin(angle) * amp).astype(np.float32)[:, None, None] * ramp[None, :, None]
    out[:] = base[:, None, None, :] + (gx + gy)[..., None]
    # ink: a random colour moved (darkened, or lifted towards white) to a luminance at least
    # MIN_CONTRAST below the paper's; the luminance is linear in both moves, so it lands exactly
    room = (_luminance(base)[lay.canvas] - MIN_CONTRAST).clip(0, None)
    ink = rng.random((k, 3), np.float32)
    lum = np.maximum(_luminance(ink), 1e-3)
    target = (rng.random(k) * room).astype(np.float32)
    scaled = ink * (target / lum)[:, None]
    lifted = ink + (1 - ink) * ((target - lum) / np.maximum(1 - lum, 1e-3))[:, None]
    ink = np.where((target <= lum)[:, None], scaled, lifted).clip(0, 1)
    strength = rng.uniform(0.8, 1.0, k).astype(np.float32)
    # glyphs: each source image upscaled to its side (grouped by side: one matrix product per group),
    # then laid over its box; a loop of small slice updates beats gathering padded patches by far
    glyphs: list[np.ndarray] = [np.empty(0)] * k
    for s in np.unique(lay.side):
        rows = np.flatnonzero(lay.side == s)
        r = _resize_matrix(int(s))
        scaled = (r @ images[lay.source[rows]] @ r.T).clip(0, 1) * strength[rows, None, None]
        for i, g in zip(rows, scaled[..., None]):
            glyphs[i] = g
    for i in range(k):
        c, y0, x0, s = lay.canvas[i], lay.top[i], lay.left[i], lay.side[i]
        box = out[c, y0 : y0 + s, x0 : x0 + s]
        box -= glyphs[i] * (box - ink[i])
        if masks is not None and lay.tagged[i]:
            masks[c, spec.digits.index(lay.digit[i]), y0 : y0 + s, x0 : x0 + s] |= glyphs[i][..., 0] > MASK_INK
    sigma = rng.uniform(*NOISE_RANGE, m).astype(np.float32)
    # grey grain, uniform with standard deviation sigma (a third of the draws of per-channel normals)
    grain = rng.random((m, size, size, 1), np.float32) - np.float32(0.5)
    out += grain * (sigma * np.float32(math.sqrt(12)))[:, None, None, None]
    np.clip(out, 0.0, 1.0, out=out)


# ---------------------------------------------------------------- public API
def make_digits(
    n: int,
    *,
    classes: Sequence[str] | None = DIGIT_TAGS,
    prevalence: Sequence[float] | None = None,
    image_size: int = 64,
    seed: int = 0,
    split: str = "train",
    dtype: str = "float32",
    masks: bool = False,
) -> tuple[np.ndarray, ...]:
    """``n`` canvases of real handwritten digits and their tags (and, ``masks=True``, where each tag is).

    Returns ``x`` (n, S, S, 3), S = ``image_size``, float32 in [0, 1] (``dtype="uint8"``:
    0..255 uint8, the same canvases) and ``y`` (n, C) float32 0/1, C = len(classes):
    ``y[i, c] = 1`` when digit ``classes[c]`` is on canvas i. ``prevalence`` is one value
    in [0, 1] per tag (default :data:`mlc.datasets.DIGIT_PREVALENCE` each). ``split``
    picks the pool of source images (disjoint: see :func:`digit_pools`). Same arguments
    -> identical arrays. :func:`digit_layout` gives what was drawn where. ``masks=True``
    returns ``(x, y, masks)``, masks (n, C, S, S) bool: the ink pixels of every placed
    instance of each tagged digit (empty iff the tag is absent), the same canvases.

    >>> x, y = make_digits(3, classes=["3"], prevalence=[1.0], seed=4)
    >>> y.ravel().tolist()
    [1.0, 1.0, 1.0]
    >>> bool((make_digits(2, seed=9)[0] == make_digits(2, seed=9)[0]).all())
    True
    """
    spec, n, chunks = _settings(n, classes, prevalence, image_size, seed, split)
    dtype = checks.one_of(dtype, "dtype", ("float32", "uint8"))
    x = np.empty((n, spec.size, spec.size, 3), dtype)
    y = np.empty((n, len(spec.classes)), np.float32)
    where = np.zeros((n, len(spec.classes), spec.size, spec.size), bool) if masks else None

    def render(lo: int, hi: int, seq: np.random.SeedSequence) -> None:
        rng = np.random.default_rng(seq)
        lay = _plan_chunk(spec, rng, hi - lo)
        y[lo:hi] = lay.labels
        chunk_masks = None if where is None else where[lo:hi]
        if dtype == "float32":
            _paint_chunk(spec, rng, lay, x[lo:hi], chunk_masks)
        else:
            pixels = np.empty((hi - lo, spec.size, spec.size, 3), np.float32)
            _paint_chunk(spec, rng, lay, pixels, chunk_masks)
            x[lo:hi] = np.rint(pixels * np.float32(255.0))

    source_digits()  # load once before the threads start
    workers = min(2, os.cpu_count() or 1, len(chunks))
    if workers <= 1:
        for chunk in chunks:
            render(*chunk)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda c: render(*c), chunks))
    return (x, y) if where is None else (x, y, where)
