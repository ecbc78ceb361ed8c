"""Tests for :mod:`mlc.datasets`: the data-set registry, parametrised over every entry."""

from __future__ import annotations

import numpy as np
import pytest

from mlc import datasets
from mlc.config import RunConfig
from mlc.datasets import DATASETS, DataSplits, make_splits

SMALL = dict(train_size=40, val_size=16, test_size=12, image_size=32)


class FakeImages:
    """The part of an own-image set the registry uses: name, fingerprint, splits(config)."""

    name, fingerprint, tags = "mine.zip", "abc123", ("a", "b")

    def splits(self, config):
        rng = np.random.default_rng(0)

        def part(n, dtype):
            x = rng.integers(0, 256, (n, config.image_size, config.image_size, 3)).astype(np.uint8)
            y = rng.integers(0, 2, (n, len(config.classes))).astype(np.float32)
            return (x if dtype == "uint8" else x.astype(np.float32) / 255), y

        return DataSplits(part(6, "uint8"), part(3, "f"), part(3, "f"), config.classes, "own")


def _config(name: str) -> RunConfig:
    if name == "own":
        return RunConfig(dataset="own", classes=FakeImages.tags, data_fingerprint="abc123", **SMALL)
    return RunConfig(dataset=name, **SMALL)


def _source(name: str):
    return FakeImages() if name == "own" else None


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_data_set_makes_three_splits_of_the_right_shapes(name):
    config = _config(name)
    splits = make_splits(config, _source(name))
    assert splits.dataset == name and splits.classes == config.classes
    x, xv, xt = splits.train[0], splits.val[0], splits.test[0]
    assert x.dtype == np.uint8 and xv.dtype == np.float32 and xt.dtype == np.float32
    for images, labels in (splits.train, splits.val, splits.test):
        assert images.shape[1:] == (32, 32, 3) and labels.shape == (len(images), len(config.classes))
    if DATASETS[name].builtin:
        assert (len(x), len(xv), len(xt)) == (40, 16, 12)
        assert 0.0 <= xv.min() and xv.max() <= 1.0


@pytest.mark.parametrize("name", [n for n in DATASETS if DATASETS[n].builtin])
def test_generated_splits_are_reproducible_and_disjoint(name):
    config = _config(name)
    a, b = make_splits(config), make_splits(config)
    np.testing.assert_array_equal(a.val[0], b.val[0])
    np.testing.assert_array_equal(a.test[1], b.test[1])
    assert not np.array_equal(a.val[0][:8], a.test[0][:8])  # different seed ranges


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_entry_says_what_it_is(name):
    spec = DATASETS[name]
    assert spec.title and len(spec.summary) > 40
    assert isinstance(spec.builtin, bool)
    if spec.default_tags:
        assert len(spec.default_prevalence(spec.default_tags)) == len(spec.default_tags)


def test_own_images_are_required_and_must_be_the_ones_the_config_names():
    config = _config("own")
    with pytest.raises(ValueError, match=r"your own images \(unnamed\).*cannot be retrained or re-scored"):
        make_splits(config)
    other = FakeImages()
    other.fingerprint = "zzz"
    with pytest.raises(ValueError, match="not the ones this config was made for"):
        make_splits(config, other)


def test_digit_tags_are_checked_and_default():
    assert RunConfig(dataset="digits").classes == datasets.DIGIT_TAGS
    assert RunConfig(dataset="digits").prevalence == (datasets.DIGIT_PREVALENCE,) * 10
    assert RunConfig(dataset="digits", classes=("7", "1")).classes == ("7", "1")
    with pytest.raises(ValueError, match="digits 0 to 9, got 'dog'"):
        RunConfig(dataset="digits", classes=("dog",))
    with pytest.raises(ValueError, match="dataset must be one of"):
        RunConfig(dataset="imagenet")


def test_summary_rows_count_positives_per_split():
    y = np.array([[1, 0], [1, 1], [0, 0]], np.float32)
    splits = DataSplits((y, y), (y[:1], y[:1]), (y[2:], y[2:]), ("a", "b"), "own")
    rows = datasets.summary_rows(splits)
    assert rows[0] == {"tag": "a", "prevalence": 0.6, "train": 2, "val": 1, "test": 0}
    assert datasets.split_sizes(splits) == {"train": 3, "val": 1, "test": 1}
    assert datasets.co_occurrence(y).tolist() == [[2, 1], [1, 1]]


def test_digit_prevalences_that_no_canvas_can_hold_are_refused_by_the_config():
    with pytest.raises(ValueError, match="prevalences must add up to between 1 and 4, got 9"):
        RunConfig(dataset="digits", prevalence=(0.9,) * 10)
    assert RunConfig(dataset="digits", classes=("3",), prevalence=(0.05,)).prevalence == (0.05,)


def test_split_masks_are_the_test_split_with_masks():
    from mlc.config import RunConfig

    config = RunConfig(train_size=40, val_size=20, test_size=24, image_size=32)
    splits = datasets.make_splits(config)
    x, y, masks = datasets.split_masks(config, "test")
    np.testing.assert_array_equal(y, splits.test[1])
    np.testing.assert_allclose(x, splits.test[0], atol=1e-6)
    assert masks.shape == (24, config.num_classes, 32, 32) and masks.dtype == bool
    # a mask is present exactly where its tag is
    assert ((masks.any(axis=(2, 3))) <= (y >= 0.5)).all()


def test_split_masks_refuse_own_images_and_unknown_splits():
    from mlc.config import RunConfig

    with pytest.raises(ValueError, match="split must be one of"):
        datasets.split_masks(RunConfig(), "holdout")
    with pytest.raises(ValueError, match="no object masks"):
        datasets.split_masks(RunConfig(dataset="own", classes=("a",), prevalence=(0.5,)), "test")


@pytest.mark.parametrize("split", ["test", "val"])
def test_split_masks_of_digits_are_the_split_of_make_splits_with_ink_masks(split):
    from mlc.config import RunConfig

    config = RunConfig(dataset="digits", train_size=40, val_size=20, test_size=24, image_size=32)
    assert datasets.masks_problem(config) is None
    splits = datasets.make_splits(config)
    x, y, masks = datasets.split_masks(config, split)
    np.testing.assert_array_equal(x, splits.split(split)[0])
    np.testing.assert_array_equal(y, splits.split(split)[1])
    assert masks.shape == (len(y), 10, 32, 32) and masks.dtype == bool
    np.testing.assert_array_equal(masks.any(axis=(2, 3)), y >= 0.5)
