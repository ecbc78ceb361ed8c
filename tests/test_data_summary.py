"""Tests for :mod:`mlc.data_summary`: what the Train page says about the data before training."""

from __future__ import annotations

import numpy as np
import pytest

from mlc import data_summary
from mlc.config import RunConfig
from mlc.datasets import DataSplits


def test_a_generated_set_is_measured_on_a_sample_and_scaled_to_the_splits():
    config = RunConfig(train_size=2000, val_size=500, test_size=400, image_size=32)
    s = data_summary.summarise(config, sample=512, grid=6)
    assert s.estimated and s.sizes == {"train": 2000, "val": 500, "test": 400}
    cat = s.rows[1]
    assert cat["tag"] == "cat" and cat["prevalence"] < 0.15  # the rare tag stays rare
    assert cat["train"] == round(cat["prevalence"] * 2000)
    assert s.images.shape == (6, 32, 32, 3) and s.images.dtype == np.uint8 and len(s.image_tags) == 6
    assert np.allclose(np.diag(s.co_occurrence)[[r["prevalence"] > 0 for r in s.rows]], 1.0)


class Own:
    name, fingerprint, tags = "mine.zip", "f", ("a", "b")

    def __init__(self, y_val):
        self.y_val = y_val

    def splits(self, config):
        x = np.zeros((4, 8, 8, 3), np.uint8)
        y = np.array([[1, 0], [1, 1], [0, 0], [1, 0]], np.float32)
        xf = np.zeros((len(self.y_val), 8, 8, 3), np.float32)
        return DataSplits((x, y), (xf, self.y_val), (xf, self.y_val), config.classes, "own")


def test_own_images_are_counted_exactly_and_a_rare_validation_tag_is_warned_about():
    y_val = np.array([[1, 0]] * 12, np.float32)
    config = RunConfig(dataset="own", classes=("a", "b"), image_size=16, data_fingerprint="f")
    s = data_summary.summarise(config, Own(y_val), grid=4)
    assert not s.estimated and s.sizes == {"train": 4, "val": 12, "test": 12}
    assert s.rows[0] == {
        "tag": "a",
        "prevalence": pytest.approx(27 / 28, abs=1e-4),
        "train": 3,
        "val": 12,
        "test": 12,
        "unknown": 0,
    }
    assert [line.split(":")[0] for line in s.warnings] == ["b"]  # a: 12 validation positives, b: none
    assert "only 0 validation images" in s.warnings[0]
    assert s.image_tags[0] == ["a"]  # the grid shows test images with their true tags


def test_conditional_co_occurrence_rows_are_tidy():
    y = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    share = data_summary.conditional_co_occurrence(y)
    assert share.tolist() == [[1.0, 0.5], [0.5, 1.0]]
    summary = data_summary.DataSummary("own", "t", {}, [{"tag": "a"}, {"tag": "b"}], share, np.zeros(0), [], False)
    rows = data_summary.co_occurrence_rows(summary)
    assert rows[1] == {"tag": "a", "with": "b", "share": 0.5} and len(rows) == 4


def test_a_tag_never_present_has_an_empty_row():
    share = data_summary.conditional_co_occurrence(np.array([[1, 0], [1, 0]]))
    assert share.tolist() == [[1.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("sample", [0, 15, 30_000])
def test_sample_size_is_checked(sample):
    with pytest.raises(ValueError, match="sample must be a whole number from 16 to 20000"):
        data_summary.summarise(RunConfig(), sample=sample)


def test_a_new_seed_keeps_the_estimated_numbers_and_draws_new_sample_images():
    ds = data_summary
    a, b = RunConfig(seed=1, train_size=400), RunConfig(seed=2, train_size=400)
    assert ds.statistics_key(a) == ds.statistics_key(b) != ds.statistics_key(a.replace(label_noise=0.2))
    assert ds.data_key(a) != ds.data_key(b)
    images_a, tags_a = ds.sample_grid(a)
    images_b, _ = ds.sample_grid(b)
    assert images_a.shape == (ds.GRID, 64, 64, 3) and images_a.dtype == np.uint8 and len(tags_a) == ds.GRID
    assert not np.array_equal(images_a, images_b)
    stats = ds.summarise(RunConfig.from_json(ds.statistics_key(a)), sample=64)
    shown = ds.with_grid(stats, images_a, tags_a)
    assert shown.rows == stats.rows and shown.image_tags == tags_a
    assert np.array_equal(shown.images, images_a)
