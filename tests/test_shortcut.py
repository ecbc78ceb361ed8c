"""The shortcut scenario (a planted co-occurrence) and the lesson's numbers (mlc.shortcut)."""

from __future__ import annotations

import numpy as np
import pytest

from mlc import datasets, share
from mlc.cli import build_parser, config_from_args
from mlc.config import RunConfig, parse_shortcut
from mlc.data import make_dataset

SCENARIO = dict(cooccur_tag="house", cooccur_with="tree", cooccur_train=0.95, cooccur_test=0.5)


def _link(y, classes, tag="house", partner="tree"):
    """(share of tag's images holding the partner, tag's prevalence, partner's prevalence)."""
    t, p = classes.index(tag), classes.index(partner)
    has = y[:, t] >= 0.5
    return float((y[has, p] >= 0.5).mean()), float(has.mean()), float((y[:, p] >= 0.5).mean())


def test_scenario_links_tags_in_train_and_breaks_the_link_in_test():
    config = RunConfig(train_size=3000, val_size=500, test_size=3000, **SCENARIO)
    splits = datasets.make_splits(config)
    train_link, train_house, train_tree = _link(splits.train[1], config.classes)
    test_link, test_house, test_tree = _link(splits.test[1], config.classes)
    assert train_link == pytest.approx(0.95, abs=0.025)
    assert test_link == pytest.approx(0.5, abs=0.05)
    # the tag's prevalence stays as configured, and so does the partner's (house 0.3, tree 0.4)
    for house in (train_house, test_house):
        assert house == pytest.approx(0.3, abs=0.03)
    for tree in (train_tree, test_tree):
        assert tree == pytest.approx(0.4, abs=0.03)


def test_without_the_scenario_the_tags_are_unlinked_and_scenes_unchanged():
    x0, y0 = make_dataset(300, seed=4)
    config = RunConfig(train_size=300, val_size=10, test_size=10, seed=4)
    splits = datasets.make_splits(config)
    assert (splits.train[1] == y0).all()
    assert (splits.train[0] == np.rint(x0 * 255)).all()


def test_masks_split_is_the_same_images_with_the_scenario():
    config = RunConfig(train_size=64, val_size=64, test_size=300, **SCENARIO)
    x, y = datasets.make_splits(config).test
    mx, my, masks = datasets.split_masks(config, "test")
    assert (mx == x).all() and (my == y).all()
    # a present tag's mask is non-empty where it shows, empty where the tag is absent
    tree = config.classes.index("tree")
    assert not masks[y[:, tree] < 0.5, tree].any()
    assert masks[y[:, tree] >= 0.5, tree].reshape(-1, 64 * 64).any(axis=1).mean() > 0.9


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(cooccur_tag="house", cooccur_with="boat"), "cooccur_with"),
        (dict(cooccur_tag="house", cooccur_with="house"), "cooccur_with"),
        (dict(cooccur_tag="house", cooccur_with="tree", cooccur_train=1.5), "cooccur_train"),
        (dict(cooccur_with="tree"), "cooccur_with"),
        (dict(cooccur_tag="3", cooccur_with="4", dataset="digits"), "cooccur_tag"),
    ],
)
def test_bad_scenario_is_refused_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        RunConfig(**changes)


def test_share_link_and_json_carry_the_scenario():
    config = RunConfig(**{**SCENARIO, "cooccur_test": 0.3})
    query = share.to_query(config)
    assert query["shortcut"] == "house:tree:0.95:0.3"
    assert share.from_query(query).config == config
    assert RunConfig.from_json(config.to_json()) == config


def test_cli_flag_sets_the_scenario():
    args = build_parser().parse_args(["train", "--shortcut", "house:tree:0.9:0.4"])
    config = config_from_args(args)
    assert (config.cooccur_tag, config.cooccur_with, config.cooccur_train, config.cooccur_test) == (
        "house",
        "tree",
        0.9,
        0.4,
    )
    with pytest.raises(ValueError, match="shortcut"):
        parse_shortcut("house")
