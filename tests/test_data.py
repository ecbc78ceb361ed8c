"""Tests for :mod:`mlc.data`, the synthetic multi-label scene generator.

Statistical checks use binomial tolerances (4 sigma) or generous margins on
effects that are far larger than their sampling noise, with fixed seeds, so the
suite is deterministic and robust to small redesigns of the painter.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from mlc import DEFAULT_CLASSES
from mlc.data import (
    DEFAULT_PREVALENCE,
    MAX_CLASSES,
    MAX_IMAGE_SIZE,
    MAX_LABEL_NOISE,
    MAX_SAMPLES,
    MIN_IMAGE_SIZE,
    OTHER_PREVALENCE,
    SOFT_RANGE,
    default_prevalence,
    make_dataset,
    resolve_classes,
)

CHUNK = 256  # samples per rendering chunk (mlc.data.CHUNK)
IDX = {name: i for i, name in enumerate(DEFAULT_CLASSES)}


# ---------------------------------------------------------------- helpers
def binomial_tol(p: float, n: int, sigmas: float = 4.0) -> float:
    """Allowed |observed - p| for a rate over n Bernoulli(p) draws (exact at 0 and 1)."""
    return sigmas * math.sqrt(p * (1.0 - p) / n)


def blueness(x: np.ndarray) -> np.ndarray:
    """B - (R + G) / 2 per pixel."""
    return x[..., 2] - (x[..., 0] + x[..., 1]) / 2


def top_blueness(x: np.ndarray) -> np.ndarray:
    """Per-scene median blueness of the top eighth of the rows (always above the horizon)."""
    rows = max(2, x.shape[1] // 8)
    return np.median(blueness(x[:, :rows]).reshape(len(x), -1), axis=1)


def ranks(a: np.ndarray) -> np.ndarray:
    r = np.empty(len(a))
    r[np.argsort(a, kind="stable")] = np.arange(len(a))
    return r


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC via the rank-sum statistic."""
    pos = label.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    r = ranks(score) + 1
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def colour_features(x: np.ndarray, bins: int = 4) -> np.ndarray:
    """Position-free features: RGB histograms of the upper and lower half, plus a bias."""
    half = x.shape[1] // 2
    out = []
    for part in (x[:, :half], x[:, half:]):
        q = np.minimum((part * bins).astype(np.int64), bins - 1)
        code = ((q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]).reshape(len(x), -1)
        hist = np.zeros((len(x), bins**3))
        np.add.at(hist, (np.repeat(np.arange(len(x)), code.shape[1]), code.ravel()), 1.0)
        out.append(hist / code.shape[1])
    out.append(np.ones((len(x), 1)))
    return np.hstack(out)


def heldout_auc(x: np.ndarray, y: np.ndarray, train: int) -> list[float]:
    """AUC per tag of a ridge regression on colour histograms, trained on the first ``train`` scenes."""
    f = colour_features(x)
    a = f[:train].T @ f[:train] + 1e-3 * np.eye(f.shape[1])
    w = np.linalg.solve(a, f[:train].T @ y[:train])
    score = f[train:] @ w
    return [auc(score[:, c], y[train:, c]) for c in range(y.shape[1])]


# ---------------------------------------------------------------- shapes, dtypes, ranges
@pytest.mark.parametrize("image_size", [16, 32, 64, 100])
@pytest.mark.parametrize("n", [0, 1, 257, 600])
def test_shapes_dtypes_and_ranges(n, image_size):
    x, y = make_dataset(n, image_size=image_size, seed=7)
    assert x.shape == (n, image_size, image_size, 3)
    assert y.shape == (n, len(DEFAULT_CLASSES))
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert np.isfinite(x).all() and np.isfinite(y).all()
    if n:
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert set(np.unique(y)) <= {0.0, 1.0}
        # every scene was actually painted (x is allocated with np.empty)
        assert (x.reshape(n, -1).std(axis=1) > 0.02).all()


def test_every_chunk_is_rendered_with_its_own_randomness():
    n = 2 * CHUNK + 88
    x, y = make_dataset(n, image_size=16, seed=3)
    flat = x.reshape(n, -1)
    assert len(np.unique(flat, axis=0)) == n  # no two scenes alike, none left blank
    # chunks do not repeat each other
    assert not np.array_equal(x[:88], x[CHUNK : CHUNK + 88])
    assert not np.array_equal(x[:88], x[2 * CHUNK :])
    # the labels of the last (partial) chunk look like labels too
    assert 0 < y[2 * CHUNK :].mean() < 1


def test_extreme_image_sizes():
    for size in (MIN_IMAGE_SIZE, MAX_IMAGE_SIZE):
        x, y = make_dataset(3, image_size=size, seed=1)
        assert x.shape == (3, size, size, 3)
        assert x.min() >= 0.0 and x.max() <= 1.0


def test_numpy_integer_arguments_are_accepted():
    x, y = make_dataset(np.int64(5), image_size=np.int32(20), seed=np.uint32(9))
    x2, y2 = make_dataset(5, image_size=20, seed=9)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("soft", [False, True])
def test_same_seed_gives_identical_arrays(soft):
    kw = dict(image_size=24, soft_labels=soft, label_noise=0.1, seed=1234)
    x1, y1 = make_dataset(600, **kw)  # three chunks, rendered on worker threads
    x2, y2 = make_dataset(600, **kw)
    assert np.array_equal(x1, x2)
    assert np.array_equal(y1, y2)


def test_different_seed_gives_different_arrays():
    x0, y0 = make_dataset(300, image_size=16, seed=0)
    x1, y1 = make_dataset(300, image_size=16, seed=1)
    assert not np.array_equal(x0, x1)
    assert not np.array_equal(y0, y1)
    # not merely a shifted stream: nearly all individual scenes differ
    assert (np.abs(x0 - x1).reshape(300, -1).max(axis=1) > 0).mean() > 0.99


def test_scenes_are_pinned_bit_for_bit():
    """The scenes of a fixed seed are pinned, so moving or tidying the painter (mlc.scenes) cannot
    change a single pixel unnoticed. A deliberate change to how scenes look updates this digest."""
    x, y = make_dataset(
        40,
        seed=12,
        dtype="uint8",
        classes=["dog", "cat", "house", "tree", "sky", "boat"],
        soft_labels=True,
        label_noise=0.1,
    )
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    assert digest == "6eeaf8e3818cda62906d4561c3880a08c0a211047bac4891f4dde67824e4c806"


def test_largest_seed_is_accepted_and_distinct():
    x_hi, _ = make_dataset(4, image_size=16, seed=2**32 - 1)
    x_lo, _ = make_dataset(4, image_size=16, seed=0)
    assert not np.array_equal(x_hi, x_lo)


# ---------------------------------------------------------------- prevalence
N_PREV = 20_000


def assert_prevalence(y: np.ndarray, expected) -> None:
    n = len(y)
    observed = (y > 0).mean(axis=0)
    for c, (obs, p) in enumerate(zip(observed, expected)):
        tol = binomial_tol(p, n)
        assert abs(obs - p) <= tol, f"tag {c}: observed {obs:.4f}, expected {p} +- {tol:.4f}"


@pytest.fixture(scope="module")
def default_big():
    return make_dataset(N_PREV, image_size=16, seed=2024)


def test_default_prevalence_values():
    assert default_prevalence() == tuple(DEFAULT_PREVALENCE[c] for c in DEFAULT_CLASSES)
    prev = dict(zip(DEFAULT_CLASSES, default_prevalence()))
    assert prev["cat"] == pytest.approx(0.05)
    assert prev["cat"] == min(prev.values())  # the one rare tag
    assert sorted(prev.values())[1] >= 4 * prev["cat"]
    assert default_prevalence(["Sky", "boat"]) == (DEFAULT_PREVALENCE["sky"], OTHER_PREVALENCE)


def test_default_prevalence_is_observed(default_big):
    _, y = default_big
    assert_prevalence(y, default_prevalence())


@pytest.mark.parametrize(
    "prevalence",
    [
        (0.0, 1.0, 0.5, 0.2, 0.7),
        (1.0, 0.0, 0.0, 1.0, 0.5),  # sky at 0.5: tree lift must saturate at 1
        (0.1, 0.02, 0.9, 0.8, 0.3),  # house/tree lift cannot be paid back fully
        (0.5, 0.5, 0.3, 0.4, 0.0),  # no sky at all
        (0.5, 0.5, 0.3, 0.4, 1.0),  # sky everywhere
    ],
)
def test_custom_prevalence_is_observed(prevalence):
    _, y = make_dataset(N_PREV, prevalence=prevalence, image_size=16, seed=5)
    assert_prevalence(y, prevalence)
    for c, p in enumerate(prevalence):
        if p == 0.0:
            assert not y[:, c].any()
        if p == 1.0:
            assert y[:, c].all()


def test_prevalence_for_custom_classes():
    classes = ["boat", "sun", "Cat"]
    _, y = make_dataset(N_PREV, classes=classes, image_size=16, seed=6)
    assert_prevalence(y, (OTHER_PREVALENCE, OTHER_PREVALENCE, DEFAULT_PREVALENCE["cat"]))
    _, y = make_dataset(N_PREV, classes=classes, prevalence=[0.05, 0.6, 1.0], image_size=16, seed=6)
    assert_prevalence(y, (0.05, 0.6, 1.0))


# ---------------------------------------------------------------- co-occurrence
def conditional(y: np.ndarray, tag: int, given: int) -> tuple[float, float]:
    with_g = y[:, given] > 0
    return float(y[with_g, tag].mean()), float(y[~with_g, tag].mean())


def test_house_and_tree_cooccur_with_sky(default_big):
    _, y = default_big
    sky = IDX["sky"]
    for name in ("house", "tree"):
        p_with, p_without = conditional(y, IDX[name], sky)
        p = DEFAULT_PREVALENCE[name]
        assert p_with - p_without > 0.15, (name, p_with, p_without)
        assert p_with / p > 1.2
    # the marginals stay as requested (checked in test_default_prevalence_is_observed)


def test_other_tags_are_independent_of_sky(default_big):
    _, y = default_big
    for name in ("dog", "cat"):
        p_with, p_without = conditional(y, IDX[name], IDX["sky"])
        p = DEFAULT_PREVALENCE[name]
        # difference of two proportions from ~N/2 samples each
        tol = 4 * math.sqrt(p * (1 - p) * (2 / (N_PREV / 2)))
        assert abs(p_with - p_without) < tol, (name, p_with, p_without)


def test_cooccurrence_with_custom_class_names_and_order():
    classes = ["House", "boat", "SKY", "Tree"]
    prevalence = [0.3, 0.3, 0.4, 0.2]
    _, y = make_dataset(N_PREV, classes=classes, prevalence=prevalence, image_size=16, seed=8)
    assert_prevalence(y, prevalence)
    for c in (0, 3):
        p_with, p_without = conditional(y, c, 2)
        assert p_with - p_without > 0.1, (classes[c], p_with, p_without)
    p_with, p_without = conditional(y, 1, 2)
    assert abs(p_with - p_without) < 0.04


def test_cooccurrence_saturated_lift_keeps_marginal():
    # house 0.9 under sky 0.5: P(house | sky) caps at 1 and the rest is paid without sky
    _, y = make_dataset(N_PREV, prevalence=(0.3, 0.05, 0.9, 0.4, 0.5), image_size=16, seed=9)
    assert_prevalence(y, (0.3, 0.05, 0.9, 0.4, 0.5))
    p_with, p_without = conditional(y, IDX["house"], IDX["sky"])
    assert p_with == 1.0
    assert p_without == pytest.approx(0.8, abs=binomial_tol(0.8, N_PREV // 2))


# ---------------------------------------------------------------- the image shows the labels
@pytest.fixture(scope="module")
def balanced_small():
    """Every default tag at 50 %, 32x32: enough signal for simple statistics."""
    return make_dataset(6000, prevalence=[0.5] * 5, image_size=32, seed=11)


def test_sky_tag_makes_the_top_blue(balanced_small):
    x, y = balanced_small
    b = top_blueness(x)
    sky = y[:, IDX["sky"]] == 1
    assert b[sky].mean() - b[~sky].mean() > 0.15
    assert auc(b, sky) > 0.97


def test_tree_tag_adds_dark_green_pixels(balanced_small):
    x, y = balanced_small
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    dark_green = (g > r + 0.12) & (g > b + 0.12) & (g < 0.55)
    frac = dark_green.reshape(len(x), -1).mean(axis=1)
    tree = y[:, IDX["tree"]] == 1
    assert frac[tree].mean() > 1.15 * frac[~tree].mean()
    assert auc(frac, tree) > 0.65


def test_every_default_tag_is_visible_in_colour_statistics(balanced_small):
    # A position-free linear probe (colour histograms) must beat chance clearly
    # for every tag; a CNN sees far more (shapes), this is only a floor.
    x, y = balanced_small
    aucs = dict(zip(DEFAULT_CLASSES, heldout_auc(x, y, train=4000)))
    for a in aucs.values():
        assert a > 0.6, aucs
    assert aucs["sky"] > 0.97, aucs
    assert aucs["house"] > 0.75 and aucs["tree"] > 0.75, aucs


def test_unknown_tags_get_visible_glyphs():
    names = ["boat", "sun", "car", "kite", "fish", "star", "moon", "bird", "lamp"]
    x, y = make_dataset(4000, classes=names, prevalence=[0.4] * len(names), image_size=32, seed=13)
    aucs = dict(zip(names, heldout_auc(x, y, train=2500)))
    for a in aucs.values():
        assert a > 0.8, aucs


def test_image_depends_on_presence_only_through_the_painted_objects():
    # the same tag present vs absent changes the scenes
    x1, _ = make_dataset(50, classes=["boat"], prevalence=[1.0], image_size=32, seed=3)
    x0, _ = make_dataset(50, classes=["boat"], prevalence=[0.0], image_size=32, seed=3)
    assert not np.array_equal(x1, x0)


# ---------------------------------------------------------------- soft labels
@pytest.fixture(scope="module")
def soft_default():
    return make_dataset(4000, soft_labels=True, image_size=32, seed=21)


def test_soft_labels_values(soft_default):
    _, y = soft_default
    assert y.dtype == np.float32
    assert ((y >= 0) & (y <= 1)).all()
    present = y > 0
    lo, hi = SOFT_RANGE
    assert (y[present] >= np.float32(lo)).all() and (y[present] <= np.float32(hi)).all()
    # absent means exactly zero; nothing sits between 0 and the range
    assert not ((y > 0) & (y < np.float32(lo))).any()
    # strengths are spread across the range, not a constant
    assert y[present].std() > 0.1
    assert y[present].min() < lo + 0.05 and y[present].max() > hi - 0.05
    # presence keeps the requested prevalence
    assert_prevalence(y, default_prevalence())


def test_soft_sky_strength_is_visible_as_blueness():
    x, y = make_dataset(3000, soft_labels=True, image_size=32, seed=22)
    s = y[:, IDX["sky"]]
    present = s > 0
    b = top_blueness(x)
    r = np.corrcoef(b[present], s[present])[0, 1]
    assert r > 0.5, r
    # an overcast (absent) sky is less blue than even a faint blue one
    assert b[~present].mean() < b[present & (s < 0.5)].mean()


@pytest.mark.parametrize("tag", ["house", "tree", "dog", "cat", "boat"])
def test_soft_object_strength_is_visible_as_contrast_with_the_ground(tag):
    # A single object tag, always present. Below 56 % of the height there is only
    # ground (plus clutter and the object): its median is the ground colour, and a
    # stronger object deviates more from it. Clutter is independent of the strength.
    x, y = make_dataset(2000, classes=[tag], prevalence=[1.0], soft_labels=True, image_size=64, seed=23)
    s = y[:, 0]
    assert (s > 0).all()
    size = x.shape[1]
    region = x[:, int(0.56 * size) :].reshape(len(x), -1, 3)
    ground = np.median(region, axis=1)
    dev = np.abs(region - ground[:, None, :]).sum(axis=-1)
    stat = np.percentile(dev, 97, axis=1)
    rho = spearman(s, stat)
    assert rho > 0.12, rho
    q1, q3 = np.quantile(s, [0.25, 0.75])
    assert stat[s >= q3].mean() > stat[s <= q1].mean()


# ---------------------------------------------------------------- label noise
@pytest.mark.parametrize("soft", [False, True])
def test_label_noise_leaves_images_unchanged(soft):
    kw = dict(image_size=32, soft_labels=soft, seed=31)
    x_clean, _ = make_dataset(600, label_noise=0.0, **kw)
    x_noisy, _ = make_dataset(600, label_noise=0.2, **kw)
    assert np.array_equal(x_clean, x_noisy)


def test_hard_label_noise_flip_rate():
    n, rate = 4000, 0.2
    kw = dict(image_size=16, seed=32)
    _, clean = make_dataset(n, **kw)
    _, noisy = make_dataset(n, label_noise=rate, **kw)
    assert set(np.unique(noisy)) <= {0.0, 1.0}
    flipped = clean != noisy
    assert abs(flipped.mean() - rate) <= binomial_tol(rate, flipped.size)
    # flips hit both classes: positives and negatives alike
    pos = clean == 1
    assert abs(flipped[pos].mean() - rate) <= binomial_tol(rate, int(pos.sum()))
    assert abs(flipped[~pos].mean() - rate) <= binomial_tol(rate, int((~pos).sum()))
    # and every tag
    for c in range(clean.shape[1]):
        assert abs(flipped[:, c].mean() - rate) <= binomial_tol(rate, n)


def test_soft_label_noise():
    n, rate = 4000, 0.2
    kw = dict(image_size=16, soft_labels=True, seed=33)
    _, clean = make_dataset(n, **kw)
    _, noisy = make_dataset(n, label_noise=rate, **kw)
    lo, hi = SOFT_RANGE
    changed = clean != noisy
    # a flipped present tag drops to exactly 0; a flipped absent one gets a strength
    assert (noisy[changed & (clean > 0)] == 0).all()
    gained = noisy[changed & (clean == 0)]
    assert ((gained >= np.float32(lo)) & (gained <= np.float32(hi))).all()
    assert abs(changed.mean() - rate) <= binomial_tol(rate, changed.size)


def test_max_label_noise_is_accepted():
    _, clean = make_dataset(2000, image_size=16, seed=34)
    _, noisy = make_dataset(2000, label_noise=MAX_LABEL_NOISE, image_size=16, seed=34)
    flipped = (clean != noisy).mean()
    assert abs(flipped - MAX_LABEL_NOISE) <= binomial_tol(MAX_LABEL_NOISE, clean.size)


# ---------------------------------------------------------------- custom classes
def test_twenty_custom_classes():
    names = [f"tag{i}" for i in range(MAX_CLASSES)]
    x, y = make_dataset(300, classes=names, image_size=32, seed=41)
    assert x.shape == (300, 32, 32, 3) and y.shape == (300, MAX_CLASSES)
    assert x.min() >= 0 and x.max() <= 1
    assert set(np.unique(y)) <= {0.0, 1.0}
    assert y.any(axis=0).all()  # every tag shows up (p = 0.3 each)
    assert default_prevalence(names) == (OTHER_PREVALENCE,) * MAX_CLASSES


def test_single_class():
    x, y = make_dataset(10, classes=["sky"], prevalence=[1.0], image_size=16, seed=42)
    assert y.shape == (10, 1) and (y == 1).all()


def test_known_names_map_to_their_icons_case_insensitively():
    kw = dict(prevalence=[1.0], image_size=32, seed=43)
    x_upper, y_upper = make_dataset(40, classes=["Dog"], **kw)
    x_lower, y_lower = make_dataset(40, classes=["dog"], **kw)
    x_glyph, _ = make_dataset(40, classes=["wolf"], **kw)
    x_absent, _ = make_dataset(40, classes=["Dog"], prevalence=[0.0], image_size=32, seed=43)
    assert np.array_equal(x_upper, x_lower) and np.array_equal(y_upper, y_lower)
    assert not np.array_equal(x_upper, x_glyph)  # unknown names get a glyph, not the dog
    assert not np.array_equal(x_upper, x_absent)  # the dog is actually drawn
    assert default_prevalence(["Dog", "CAT", " sky "]) == (0.35, 0.05, 0.5)


def test_resolve_classes_strips_and_keeps_order():
    assert resolve_classes(None) == DEFAULT_CLASSES
    assert resolve_classes([" Boat ", "sun"]) == ("Boat", "sun")


# ---------------------------------------------------------------- invalid arguments
@pytest.mark.parametrize(
    "kwargs, match",
    [
        # n
        (dict(n=-1), r"n must be .*0 to 1000000"),
        (dict(n=MAX_SAMPLES + 1), r"n must be .*0 to 1000000"),
        (dict(n=2.0), r"n must be a whole number"),
        (dict(n=True), r"n must be a whole number"),
        (dict(n="3"), r"n must be a whole number"),
        (dict(n=None), r"n must be a whole number"),
        # classes
        (dict(classes=[]), r"classes is empty: add at least one tag"),
        (dict(classes=[f"t{i}" for i in range(21)]), r"classes must hold at most 20 tags, got 21"),
        (dict(classes="dog"), r"classes must be a list of tag names"),
        (dict(classes=5), r"classes must be a list of tag names"),
        (dict(classes=["dog", "  "]), r"classes\[1\]: the tag name is empty"),
        (
            dict(classes=["dog", "DOG"]),
            r"classes\[1\]: tag names must be unique \(case-insensitive\): 'DOG' repeats classes\[0\]",
        ),
        # prevalence
        (dict(prevalence=[0.1] * 4), r"prevalence must have one value per tag \(5\), got 4"),
        (dict(prevalence=[0.1] * 6), r"prevalence must have one value per tag \(5\), got 6"),
        (dict(prevalence=[0.1, 0.2, 0.3, 0.4, 1.5]), r"prevalence of tag 'sky' must be in \[0, 1\], got 1.5"),
        (dict(prevalence=[-0.1, 0.2, 0.3, 0.4, 0.5]), r"prevalence of tag 'dog' must be in \[0, 1\]"),
        (dict(prevalence=[0.1, float("nan"), 0.3, 0.4, 0.5]), r"prevalence of tag 'cat' must be in \[0, 1\], got nan"),
        (dict(prevalence=[0.1, 0.2, float("inf"), 0.4, 0.5]), r"prevalence of tag 'house' must be in \[0, 1\]"),
        (dict(prevalence=0.3), r"prevalence must be a list of numbers"),
        (dict(prevalence="0.3"), r"prevalence must be a list of numbers"),
        (dict(prevalence=[0.1, None, 0.3, 0.4, 0.5]), r"prevalence must be a list of numbers"),
        (dict(classes=["boat"], prevalence=[0.1, 0.2]), r"one value per tag \(1\), got 2"),
        # image_size
        (dict(image_size=MIN_IMAGE_SIZE - 1), r"image_size must be a whole number from 16 to 256"),
        (dict(image_size=MAX_IMAGE_SIZE + 1), r"image_size must be a whole number from 16 to 256"),
        (dict(image_size=64.0), r"image_size must be a whole number from 16 to 256"),
        (dict(image_size=True), r"image_size must be a whole number"),
        # label_noise
        (dict(label_noise=-0.01), r"label_noise must be a number from 0 to 0.5"),
        (dict(label_noise=MAX_LABEL_NOISE + 0.01), r"label_noise must be a number from 0 to 0.5"),
        (dict(label_noise=float("nan")), r"label_noise must be a number from 0 to 0.5"),
        (dict(label_noise=None), r"label_noise must be a number from 0 to 0.5"),
        (dict(label_noise="lots"), r"label_noise must be a number from 0 to 0.5"),
        # seed
        (dict(seed=-1), r"seed must be a whole number from 0 to 4294967295"),
        (dict(seed=2**32), r"seed must be a whole number from 0 to 4294967295"),
        (dict(seed=1.5), r"seed must be a whole number"),
        (dict(seed=None), r"seed must be a whole number"),
        (dict(seed=False), r"seed must be a whole number"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else None,
)
def test_invalid_arguments_raise_value_error(kwargs, match):
    kwargs = dict(kwargs)
    n = kwargs.pop("n", 2)
    with pytest.raises(ValueError, match=match):
        make_dataset(n, **kwargs)


def test_uint8_scenes_are_the_float_scenes_quantised():
    x, y = make_dataset(300, seed=3)
    q, y8 = make_dataset(300, seed=3, dtype="uint8")
    assert q.dtype == np.uint8 and (y8 == y).all()
    assert np.abs(x * 255.0 - q).max() <= 0.5 + 1e-4
    with pytest.raises(ValueError, match="dtype must be"):
        make_dataset(3, dtype="float64")


# ---------------------------------------------------------------- masks: where each tag is
def test_masks_line_up_with_the_rendered_objects_and_leave_the_scenes_unchanged():
    x, y = make_dataset(64, seed=3)
    x2, y2, masks = make_dataset(64, seed=3, masks=True)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert masks.shape == (64, 5, 64, 64) and masks.dtype == bool
    present = masks.any(axis=(-2, -1))
    assert (present <= (y >= 0.5)).all()  # a mask only where the tag is present
    assert present[y >= 0.5].mean() > 0.9  # and nearly always there (an object may be fully hidden)
    # pixels inside an object's mask differ from the ground around it
    for c in (0, 3):  # dog, tree
        for n in np.flatnonzero(present[:, c])[:5]:
            inside = x[n][masks[n, c]].mean(axis=0)
            outside = x[n][~masks[n].any(axis=0)].mean(axis=0)
            assert np.abs(inside - outside).max() > 0.05
