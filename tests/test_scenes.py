"""mlc.scenes: painting one chunk of scenes (the statistics of whole data sets are tests/test_data.py)."""

import numpy as np
import pytest

from mlc import DEFAULT_CLASSES, scenes
from mlc.data import SceneSpec


def spec(classes=DEFAULT_CLASSES, prevalence=None, soft=False, noise=0.0, size=32):
    return SceneSpec.build(classes, prevalence, soft, noise, size)


def paint(s: SceneSpec, n: int, seed: int):
    x = np.empty((n, s.size, s.size, 3), np.float32)
    y = np.empty((n, s.num_classes), np.float32)
    scenes.paint_chunk(s, np.random.default_rng(seed), x, y)
    return x, y


def test_a_chunk_is_a_function_of_its_generator_only():
    a, b = paint(spec(), 16, seed=5), paint(spec(), 16, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], paint(spec(), 16, seed=6)[0])


@pytest.mark.parametrize("soft", [False, True])
def test_a_chunk_fills_pixels_in_range_and_targets(soft):
    x, y = paint(spec(soft=soft, classes=("sky", "boat", "cat")), 24, seed=1)
    assert ((0 <= x) & (x <= 1)).all() and ((0 <= y) & (y <= 1)).all()
    if not soft:
        assert set(np.unique(y)) <= {0.0, 1.0}


def test_every_article_tag_but_sky_has_an_icon():
    assert set(scenes.ICONS) == set(DEFAULT_CLASSES) - {"sky"}  # sky is the background colour


def test_presence_keeps_each_marginal_under_the_sky_lift():
    prevalence = (0.35, 0.05, 0.30, 0.40, 0.50)
    present = scenes.draw_presence(spec(prevalence=prevalence), np.random.default_rng(0), 40_000)
    assert present.shape == (40_000, 5) and present.dtype == bool
    assert np.allclose(present.mean(axis=0), prevalence, atol=0.01)
    sky, house = present[:, 4], present[:, 2]
    assert house[sky].mean() > house[~sky].mean()  # houses are drawn more often under a blue sky
