"""The shortcut scenario (a planted co-occurrence) and the lesson's numbers (mlc.shortcut)."""

from __future__ import annotations

import numpy as np
import pytest

from mlc import datasets, share, shortcut
from mlc.cli import build_parser, config_from_args
from mlc.config import RunConfig, parse_shortcut
from mlc.data import make_dataset

#: The slow test's run: the exercise, smaller (about 10 s on 2 cores).
SMALL = dict(train_size=1500, epochs=3, test_size=600)
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


# ---------------------------------------------------------------- the lesson's numbers (mlc.shortcut)
def test_recall_rows_split_the_tags_scenes_by_the_partner_with_counts():
    y = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [1, 0], [0, 1]], np.float32)
    p = np.array([[0.9, 0], [0.6, 0], [0.7, 0], [0.2, 0], [0.45, 0], [0.99, 0]])
    rows = shortcut.recall_rows(y, p, [0.5, 0.5], 0, 1)
    assert rows == [
        {"partner": "without", "images": 3, "found": 1, "recall": round(1 / 3, 4)},
        {"partner": "with", "images": 2, "found": 2, "recall": 1.0},
    ]
    # the run's thresholds decide: at 0.4 the 0.45 scene counts too
    assert shortcut.recall_rows(y, p, 0.4, 0, 1)[0]["found"] == 2
    with pytest.raises(ValueError, match="y and p"):
        shortcut.recall_rows(y, p[:3], 0.5, 0, 1)


def test_mass_rows_measure_the_tags_map_on_its_own_and_the_partners_mask():
    maps = np.zeros((2, 4, 4))
    maps[:, :2, :2] = 1.0  # every map on the top-left quarter
    masks = np.zeros((2, 2, 4, 4), bool)
    masks[:, 0, 2:, 2:] = True  # the tag: bottom right
    masks[:, 1, :2, :] = True  # the partner: the top half (holds the whole map)
    masks[1, 1] = False  # scene 2 has no partner: left out
    rows = shortcut.mass_rows(maps, masks, 0, 1)
    assert rows == [{"region": "own", "images": 1, "mass": 0.0}, {"region": "partner", "images": 1, "mass": 1.0}]


def test_the_sentence_is_computed_from_the_rows():
    recall = [{"partner": "without", "recall": 0.5}, {"partner": "with", "recall": 0.9}]
    text = shortcut.sentence(
        "house", "tree", recall, [{"region": "own", "mass": 0.3}, {"region": "partner", "mass": 0.2}]
    )
    assert text.startswith("house recall 0.50 without a tree vs 0.90 with one; 20 % of house's saliency falls on")
    assert shortcut.Lesson("house", "tree", recall, [], text).gap == pytest.approx(0.4)


def test_overlay_outlines_the_mask_and_keeps_the_image_where_the_map_is_cold():
    image = np.full((8, 8, 3), 0.5)
    mask = np.zeros((8, 8), bool)
    mask[2:6, 2:6] = True
    out = shortcut.overlay(image, np.zeros((8, 8)), mask)
    assert (out[2, 3] == (0, 1, 1)).all() and (out[3, 3] == 0.5).all() and (out[0, 0] == 0.5).all()


def test_the_exercise_is_a_valid_scenario_and_its_control_has_none():
    assert shortcut.scenario(shortcut.LESSON) == ("house", "tree")
    assert shortcut.CONTROL.differences(shortcut.LESSON).keys() == {"cooccur_tag", "cooccur_with"}
    with pytest.raises(ValueError, match="no shortcut scenario"):
        shortcut.scenario(shortcut.CONTROL)


@pytest.mark.slow
def test_the_scenario_trains_and_shows_the_recall_gap():
    """A small shortcut run finds houses less often without a tree than with one (the lesson's direction)."""
    from mlc.training import train

    run = train(shortcut.LESSON.replace(**SMALL))
    lesson = shortcut.lesson(run)
    by = {r["partner"]: r for r in lesson.recall}
    assert by["without"]["images"] > 50 and by["with"]["images"] > 50
    assert by["without"]["recall"] < by["with"]["recall"], lesson.sentence
    assert [r["region"] for r in lesson.saliency] == ["own", "partner"]
    assert all(0.0 <= r["mass"] <= 1.0 for r in lesson.saliency)
