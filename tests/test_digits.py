"""Tests for :mod:`mlc.digits`: real handwritten digits composed 1–4 per canvas.

Prevalence checks use binomial tolerances (4 sigma) with fixed seeds, so they are
deterministic and still fail if the sampling scheme drifts by a few points.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from mlc.datasets import DIGIT_PREVALENCE, DIGIT_TAGS, SPLITS
from mlc.digits import (
    CHUNK,
    MAX_DIGITS,
    SCALE_RANGE,
    _conditioned_marginals,
    digit_layout,
    digit_pools,
    make_digits,
    source_digits,
    tag_odds,
)

N_PREVALENCE = 4096  # canvases per prevalence measurement


def binomial_tol(p: float, n: int, sigmas: float = 4.0) -> float:
    return sigmas * math.sqrt(p * (1.0 - p) / n)


def digits_per_canvas(lay, n: int) -> np.ndarray:
    return np.bincount(lay.canvas, minlength=n)


# ---------------------------------------------------------------- shapes, dtypes, determinism
def test_shapes_dtypes_and_range():
    x, y = make_digits(5, seed=3)
    assert x.shape == (5, 64, 64, 3) and x.dtype == np.float32
    assert y.shape == (5, 10) and y.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) <= {0.0, 1.0}
    x8, y8 = make_digits(5, seed=3, dtype="uint8")
    assert x8.dtype == np.uint8 and np.array_equal(y8, y)
    assert np.array_equal(x8, np.rint(x * 255).astype(np.uint8)), "uint8 is the same canvases in 8 bits"
    xs, ys = make_digits(3, image_size=16, classes=["5"], prevalence=[0.5])
    assert xs.shape == (3, 16, 16, 3) and ys.shape == (3, 1)
    x0, y0 = make_digits(0)
    assert x0.shape == (0, 64, 64, 3) and y0.shape == (0, 10)


def test_same_arguments_same_arrays_and_seeds_differ():
    a = make_digits(40, seed=11, split="val")
    b = make_digits(40, seed=11, split="val")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], make_digits(40, seed=12, split="val")[0])
    assert not np.array_equal(a[0], make_digits(40, seed=11, split="test")[0])


def test_a_longer_call_starts_with_the_same_whole_chunks():
    # mlc.runrecords regenerates the first k*CHUNK validation canvases of a run
    short = make_digits(CHUNK, seed=5, split="val")
    long = make_digits(CHUNK + 37, seed=5, split="val")
    assert np.array_equal(short[0], long[0][:CHUNK]) and np.array_equal(short[1], long[1][:CHUNK])


def test_the_layout_is_what_make_digits_paints():
    x, y = make_digits(300, seed=8)
    lay = digit_layout(300, seed=8)
    assert np.array_equal(lay.labels, y)
    # ink differs from the background: inside the digits' boxes pixels vary far more than outside
    inside = np.zeros(x.shape[:3], bool)
    for c, t, left, s in zip(lay.canvas, lay.top, lay.left, lay.side):
        inside[c, t : t + s, left : left + s] = True
    dev = np.abs(x - np.median(x.reshape(300, -1, 3), axis=1)[:, None, None, :]).sum(-1)
    assert dev[inside].mean() > 3 * dev[~inside].mean()


# ---------------------------------------------------------------- pools: disjoint handwriting
def test_pools_are_disjoint_stratified_and_cover_every_image():
    images, targets = source_digits()
    assert images.shape == (1797, 8, 8) and 0.0 <= images.min() and images.max() == 1.0
    pools = digit_pools()
    flat = {name: np.concatenate(pools[name]) for name in SPLITS}
    assert sum(len(v) for v in flat.values()) == len(set(np.concatenate(list(flat.values())))) == 1797
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not set(flat[a]) & set(flat[b]), f"{a} and {b} share source images"
    for d in range(10):
        sizes = np.array([len(pools[name][d]) for name in SPLITS])
        assert all((targets[pools[name][d]] == d).all() for name in SPLITS)
        assert np.abs(sizes / sizes.sum() - (0.70, 0.15, 0.15)).max() < 0.01, (d, sizes)
    assert digit_pools() is pools, "the pools are fixed: made once, never reseeded"


def test_no_training_handwriting_reaches_validation_or_test():
    _, targets = source_digits()
    used = {}
    for name in SPLITS:
        lay = digit_layout(2000, seed=1, split=name)
        assert (targets[lay.source] == lay.digit).all(), "each drawn digit is an image of that digit"
        assert set(lay.source) <= set(np.concatenate(digit_pools()[name]))
        used[name] = set(lay.source.tolist())
    assert not used["train"] & used["val"] and not used["train"] & used["test"] and not used["val"] & used["test"]
    # and the draws reach most of each pool, so the split is a real choice, not a tiny sample
    assert len(used["train"]) > 0.9 * sum(len(p) for p in digit_pools()["train"])


# ---------------------------------------------------------------- labels and subsets
def test_labels_are_the_digits_drawn_and_each_canvas_holds_one_to_four():
    n = 1000
    lay = digit_layout(n, seed=2)
    counts = digits_per_canvas(lay, n)
    assert counts.min() >= 1 and counts.max() <= MAX_DIGITS
    drawn = np.zeros((n, 10), np.float32)
    drawn[lay.canvas, lay.digit] = 1
    assert np.array_equal(drawn, lay.labels) and lay.tagged.all()
    assert (lay.labels.sum(1) >= 1).all(), "with all ten digits as tags every canvas has a tag"
    assert set(np.bincount(counts)[1:].nonzero()[0] + 1) == {1, 2, 3, 4}


def test_boxes_lie_inside_the_canvas_at_the_documented_scales_and_overlap_little():
    size, n = 64, 1000
    lay = digit_layout(n, seed=4, image_size=size)
    assert (lay.top >= 0).all() and (lay.left >= 0).all()
    assert (lay.top + lay.side <= size).all() and (lay.left + lay.side <= size).all()
    assert lay.side.min() >= round(SCALE_RANGE[0] * size) and lay.side.max() <= round(SCALE_RANGE[1] * size)
    heavy = pairs = 0
    for c in range(n):
        rows = np.flatnonzero(lay.canvas == c)
        for i in rows:
            for j in rows[rows > i]:
                dy = min(lay.top[i] + lay.side[i], lay.top[j] + lay.side[j]) - max(lay.top[i], lay.top[j])
                dx = min(lay.left[i] + lay.side[i], lay.left[j] + lay.side[j]) - max(lay.left[i], lay.left[j])
                inter = max(dy, 0) * max(dx, 0) / min(lay.side[i], lay.side[j]) ** 2
                pairs += 1
                heavy += inter > 0.5
    assert pairs > 500 and heavy / pairs < 0.02, (heavy, pairs)


def test_a_subset_of_tags_in_the_order_given_with_untagged_distractors():
    n = 2000
    lay = digit_layout(n, classes=["7", "3"], prevalence=[0.4, 0.1], seed=6)
    x, y = make_digits(n, classes=["7", "3"], prevalence=[0.4, 0.1], seed=6)
    assert y.shape == (n, 2) and np.array_equal(y, lay.labels)
    for col, digit in enumerate((7, 3)):
        has = np.zeros(n, bool)
        has[lay.canvas[lay.digit == digit]] = True
        assert np.array_equal(has, y[:, col] == 1), f"column {col} is digit {digit}"
    assert np.array_equal(lay.tagged, np.isin(lay.digit, (3, 7)))
    counts = digits_per_canvas(lay, n)
    assert counts.min() >= 1 and counts.max() <= MAX_DIGITS, "distractors fill canvases, within 1-4 digits"
    assert (y.sum(1) == 0).mean() > 0.3, "a canvas can hold only distractors (no tag)"
    assert set(lay.digit[~lay.tagged]) == set(range(10)) - {3, 7}


# ---------------------------------------------------------------- prevalence
@pytest.mark.parametrize(
    "classes, prevalence",
    [
        (DIGIT_TAGS, None),  # balanced: 0.25 each
        (DIGIT_TAGS, [0.25, 0.25, 0.25, 0.05, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]),  # a rare "3"
        (["3"], [0.05]),  # a rare single tag among distractors
        (["1", "2", "3", "4", "5"], [0.9, 0.9, 0.9, 0.9, 0.3]),  # close to the 4-digit ceiling
        (DIGIT_TAGS, [0.11] * 10),  # close to the 1-digit floor
    ],
)
def test_measured_prevalence_is_what_was_asked(classes, prevalence):
    _, y = make_digits(N_PREVALENCE, classes=classes, prevalence=prevalence, seed=21, image_size=16)
    asked = np.array(prevalence if prevalence is not None else [DIGIT_PREVALENCE] * len(classes))
    measured = y.mean(0)
    tol = np.array([binomial_tol(p, N_PREVALENCE) for p in asked]) + 0.002
    assert (np.abs(measured - asked) <= tol).all(), (measured.round(3), asked)


def test_tag_odds_solve_the_count_conditioned_marginals():
    for p, lo in [((0.25,) * 10, 1), ((0.05,) + (0.25,) * 9, 1), ((0.6,) * 6, 0), ((0.05,), 0)]:
        odds = np.array(tag_odds(p, lo, MAX_DIGITS))
        assert np.abs(_conditioned_marginals(odds, lo, MAX_DIGITS) - p).max() < 1e-6
    assert tag_odds((1.0, 0.0, 0.5), 0, 4) == (math.inf, 0.0, 1.0)
    _, y = make_digits(50, classes=["1", "2"], prevalence=[1.0, 0.0], image_size=16)
    assert (y[:, 0] == 1).all() and (y[:, 1] == 0).all()


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": -1}, "n must be a whole number from 0 to 1000000, got -1"),
        ({"n": 2.5}, "n must be a whole number"),
        ({"classes": ["3", "x"]}, "classes: the digits data set's tags are the digits 0 to 9, got 'x'"),
        ({"classes": ["3", " 3"]}, "tag names must be unique"),
        ({"classes": []}, "classes is empty"),
        ({"classes": "37"}, "classes must be a list of tag names"),
        ({"classes": ["3"], "prevalence": [0.1, 0.2]}, "prevalence must have one value per tag (1), got 2"),
        ({"classes": ["3"], "prevalence": [1.5]}, "prevalence of tag '3' must be a number from 0 to 1, got 1.5"),
        ({"classes": ["3"], "prevalence": [float("nan")]}, "prevalence of tag '3' must be a number"),
        ({"classes": ["3"], "prevalence": "0.5"}, "prevalence must be a list of numbers"),
        ({"classes": list("01234"), "prevalence": [0.9] * 5}, "must add up to at most 4, got 4.5"),
        ({"prevalence": [0.05] * 10}, "with all ten digits as tags, the prevalences must add up to between 1 and 4"),
        ({"image_size": 8}, "image_size must be a whole number from 16 to 256, got 8"),
        ({"seed": -1}, "seed must be a whole number from 0 to 4294967295, got -1"),
        ({"split": "dev"}, "split must be one of: train, val, test; got 'dev'"),
        ({"dtype": "float64"}, "dtype must be one of: float32, uint8; got 'float64'"),
    ],
)
def test_bad_arguments_name_the_field_the_range_and_the_value(kwargs, message):
    kwargs = {"n": 2, **kwargs}
    with pytest.raises(ValueError) as err:
        make_digits(kwargs.pop("n"), **kwargs)
    assert message in str(err.value)


def test_importing_the_module_does_not_import_scikit_learn():
    code = "import sys, mlc.digits; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kwargs", [{}, {"classes": ["3", "7"], "prevalence": [0.4, 0.5], "image_size": 48}])
def test_masks_mark_the_ink_of_each_tagged_digit_on_the_same_canvases(kwargs):
    x, y = make_digits(300, seed=5, **kwargs)
    mx, my, masks = make_digits(300, seed=5, masks=True, **kwargs)
    np.testing.assert_array_equal(mx, x)
    np.testing.assert_array_equal(my, y)
    size = x.shape[1]
    assert masks.shape == (300, y.shape[1], size, size) and masks.dtype == bool
    # empty iff the tag is absent
    np.testing.assert_array_equal(masks.any(axis=(2, 3)), y >= 0.5)
    # ink is darker than the paper outside every mask (compared per canvas)
    lum = x @ np.array([0.299, 0.587, 0.114], np.float32)
    inside, outside = masks.any(1), ~masks.any(1)
    for i in np.flatnonzero(inside.any(axis=(1, 2))):
        assert lum[i][inside[i]].mean() < lum[i][outside[i]].mean() - 0.1
    # uint8 canvases carry the same masks
    np.testing.assert_array_equal(make_digits(300, seed=5, masks=True, dtype="uint8", **kwargs)[2], masks)


def test_a_mask_covers_every_instance_of_its_digit():
    lay = digit_layout(200, seed=3)
    _, _, masks = make_digits(200, seed=3, masks=True)
    for i in range(len(lay.digit)):
        c, d, y0, x0, s = lay.canvas[i], lay.digit[i], lay.top[i], lay.left[i], lay.side[i]
        assert masks[c, d, y0 : y0 + s, x0 : x0 + s].any()
    # nothing of a digit's mask lies outside the union of its own boxes
    for c in range(5):
        for d in np.flatnonzero(lay.labels[c]):
            box = np.zeros(masks.shape[2:], bool)
            for i in np.flatnonzero((lay.canvas == c) & (lay.digit == d)):
                box[lay.top[i] : lay.top[i] + lay.side[i], lay.left[i] : lay.left[i] + lay.side[i]] = True
            assert not (masks[c, d] & ~box).any()
