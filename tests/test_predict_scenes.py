"""mlc.predict_scenes: new images of a generated data set for Predict, with masks that find their items again."""

import numpy as np
import pytest

from mlc import datasets, predict_scenes
from mlc.config import RunConfig


@pytest.mark.parametrize(
    "config",
    [RunConfig(image_size=32, test_size=64), RunConfig(dataset="digits", image_size=32, test_size=64)],
    ids=["scenes", "digits"],
)
def test_new_images_are_seeded_unseen_and_carry_their_masks(config):
    x, y, masks = predict_scenes.fresh_split(config, seed=1)
    again = predict_scenes.fresh_split(config, seed=1)
    np.testing.assert_array_equal(x, again[0])
    assert not np.array_equal(x, predict_scenes.fresh_split(config, seed=2)[0])
    test_x = datasets.make_splits(config).test[0]
    assert not (np.abs(x[:64] - test_x).max(axis=(1, 2, 3)) == 0).any()  # none of them is a test image
    assert masks.shape == (predict_scenes.FRESH_POOL, config.num_classes, 32, 32)
    assert (masks.any(axis=(2, 3)) <= (y >= 0.5)).all()
    items = predict_scenes.fresh_items(config, x, y, 5, seed=1, containing=config.classes[0])
    for item in items:
        seed, i = predict_scenes.fresh_index(item.source, item.key)
        assert seed == 1 and item.source == "sample" and item.truth[0] == 1.0
        np.testing.assert_array_equal(item.pixels, x[i])


def test_a_shortcut_scenario_makes_new_images_like_its_test_split():
    config = RunConfig(image_size=32, cooccur_tag="house", cooccur_with="tree", cooccur_train=0.95, cooccur_test=0.0)
    _, y, _ = predict_scenes.fresh_split(config, seed=0)
    house, tree = config.classes.index("house"), config.classes.index("tree")
    assert y[:, house].sum() > 0 and not ((y[:, house] == 1) & (y[:, tree] == 1)).any()


def test_own_images_have_no_new_ones():
    with pytest.raises(ValueError, match="fresh images are made for scenes, digits"):
        predict_scenes.fresh_split(RunConfig(dataset="own", classes=("a",), prevalence=(0.5,)))
    assert predict_scenes.fresh_index("upload", "fresh:1:2") is None
