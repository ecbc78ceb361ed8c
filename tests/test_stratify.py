"""Iterative stratification (Sechidis et al., 2011) against a random split."""

import numpy as np
import pytest

from mlc.stratify import DEFAULT_FRACTIONS, iterative_split


def labels(n=1000, seed=0):
    """(n, 4) tags: common, medium, rare (10 positives), and one that co-occurs with the rare one."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n, 4), np.float32)
    y[:, 0] = rng.random(n) < 0.5
    y[:, 1] = rng.random(n) < 0.2
    rare = rng.choice(n, 10, replace=False)
    y[rare, 2] = 1
    y[rare[:5], 3] = 1
    y[:, 3] = np.maximum(y[:, 3], rng.random(n) < 0.05)
    return y


def deviation(y, part):
    """(K, C) |positives in subset - expected| for each subset and tag."""
    r = np.asarray(DEFAULT_FRACTIONS)
    got = np.stack([y[part == j].sum(axis=0) for j in range(3)])
    return np.abs(got - r[:, None] * y.sum(axis=0)[None, :])


def test_every_tags_positives_are_spread_in_proportion():
    y = labels()
    part = iterative_split(y, DEFAULT_FRACTIONS, seed=3)
    assert set(np.unique(part)) == {0, 1, 2}
    assert deviation(y, part).max() <= 1.0
    sizes = np.bincount(part, minlength=3)
    assert np.abs(sizes - 1000 * np.asarray(DEFAULT_FRACTIONS)).max() <= 2


def test_a_rare_tag_always_reaches_validation_and_test_unlike_a_random_split():
    y = labels()
    rng = np.random.default_rng(0)
    strat_val, random_val, strat_dev, random_dev = [], [], [], []
    for seed in range(20):
        part = iterative_split(y, DEFAULT_FRACTIONS, seed=seed)
        rand = rng.choice(3, size=len(y), p=DEFAULT_FRACTIONS)
        strat_val += [int(y[part == j, 2].sum()) for j in (1, 2)]
        random_val += [int(y[rand == j, 2].sum()) for j in (1, 2)]
        strat_dev.append(deviation(y, part)[:, 2].max())
        random_dev.append(deviation(y, rand)[:, 2].max())
    assert min(strat_val) >= 1 and max(strat_val) <= 2  # 10 x 15 % = 1.5
    assert min(random_val) == 0  # some random split leaves validation or test without it
    assert np.mean(strat_dev) < np.mean(random_dev) / 2


def test_the_split_is_seeded():
    y = labels(300)
    a, b = iterative_split(y, seed=5), iterative_split(y, seed=5)
    assert (a == b).all()
    assert (a != iterative_split(y, seed=6)).any()


def test_images_without_tags_fill_the_subsets_to_their_size():
    y = np.zeros((20, 2))
    part = iterative_split(y, (0.5, 0.25, 0.25), seed=0)
    assert np.bincount(part).tolist() == [10, 5, 5]


@pytest.mark.parametrize(
    "y, fractions, message",
    [
        (np.zeros(5), (0.5, 0.5), "y must be"),
        (np.zeros((5, 1)), (0.0, 0.0), "positive sum"),
        (np.zeros((5, 1)), "0.5", "list of numbers"),
    ],
)
def test_bad_arguments_are_refused(y, fractions, message):
    with pytest.raises(ValueError, match=message):
        iterative_split(y, fractions)
