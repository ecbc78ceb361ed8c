"""mlc.saliency_scores: per-tag pointing game and mass inside against a seeded random-map baseline."""

import numpy as np
import pytest

from mlc import saliency_scores as ss
from mlc.config import RunConfig


def boxes(n=6, size=8):
    masks = np.zeros((n, 2, size, size), bool)
    masks[:, 0, :3, :3] = True  # tag 0 top left in every image
    masks[: n // 2, 1, 5:, 5:] = True  # tag 1 bottom right in half of them
    return masks


def test_a_map_on_the_object_scores_one_and_beats_the_baseline():
    masks = boxes(n=40)
    rows = ss.score_maps(masks.astype(float), masks, tags=["a", "b"])
    assert [r["tag"] for r in rows] == ["a", "b"] and [r["images"] for r in rows] == [40, 20]
    for row in rows:
        assert list(row) == list(ss.FIELDS)
        assert row["pointing_game"] == 1.0 and row["mass_inside"] == pytest.approx(1.0)
        assert row["baseline_mass_inside"] < 0.3 and row["baseline_pointing_game"] < 0.5


def test_a_map_looking_elsewhere_scores_zero():
    masks = boxes()
    elsewhere = np.roll(masks, 4, axis=(-2, -1)).astype(float)
    rows = ss.score_maps(elsewhere, masks)
    assert [r["pointing_game"] for r in rows] == [0.0, 0.0] and rows[0]["mass_inside"] == 0.0


def test_present_is_honoured_and_a_tag_present_nowhere_has_no_score():
    masks = boxes()
    present = masks.any(axis=(-2, -1))
    present[:, 1] = False
    rows = ss.score_maps(masks.astype(float), masks, present)
    assert rows[1]["images"] == 0 and rows[1]["pointing_game"] is None and rows[1]["lift"] is None


def test_the_baseline_is_seeded():
    masks = boxes()
    maps = np.random.default_rng(3).random(masks.shape)
    assert ss.score_maps(maps, masks) == ss.score_maps(maps, masks)
    assert (
        ss.score_maps(maps, masks, seed=1)[0]["baseline_mass_inside"]
        != ss.score_maps(maps, masks)[0]["baseline_mass_inside"]
    )


def test_tag_names_must_match_the_maps():
    with pytest.raises(ValueError, match="tags"):
        ss.score_maps(np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 4, 4), bool), tags=["only one"])


def test_explicit_arrays_score_with_any_model():
    from mlc import models

    model = models.build("linear", num_classes=2, image_size=16)
    masks = boxes(size=16)
    rows = ss.score(model, np.random.default_rng(0).random((6, 16, 16, 3), np.float32), masks, tags=["a", "b"])
    assert ss.method_for(model) == "occlusion" and [r["images"] for r in rows] == [6, 3]
    with pytest.raises(ValueError, match="x and masks"):
        ss.score(model, np.zeros((2, 16, 16, 3), np.float32), masks)


def test_own_images_have_no_masks_and_say_why(own_data_run):
    out = ss.run_saliency(own_data_run())
    assert out["rows"] is None and "no object masks" in out["reason"]


def test_the_sample_is_the_first_images_of_the_whole_test_split(monkeypatch):
    from mlc import datasets
    from mlc.runs import Run

    config = RunConfig(test_size=600, image_size=32)
    x, _, masks = datasets.split_masks(config, "test")
    seen = {}

    def fake_score(model, x, masks, present=None, tags=None, seed=0):
        seen["x"], seen["masks"] = x, masks
        return []

    monkeypatch.setattr(ss, "score", fake_score)
    monkeypatch.setattr(ss, "method_for", lambda model: "gradcam")
    out = ss.score_run(Run(config=config, status="finished", model=object()), sample=50)
    assert out["images"] == 50
    assert np.array_equal(seen["x"], x[:50]) and np.array_equal(seen["masks"], masks[:50])


@pytest.mark.slow
def test_a_trained_model_points_well_above_chance():
    from mlc.training import train

    run = train(RunConfig(epochs=2, train_size=400, val_size=64, batch_size=32, test_size=200))
    out = ss.score_run(run, sample=200)
    assert out["method"] == "gradcam" and out["images"] == 200
    rows = [r for r in out["rows"] if r["images"]]
    pointing = np.mean([r["pointing_game"] for r in rows])
    chance = np.mean([r["baseline_pointing_game"] for r in rows])
    assert pointing > 2 * chance, out["rows"]


def test_a_pointing_game_of_zero_is_never_above_chance():
    # a map that always peaks outside a mask the random map never hits either: both pointing games are 0
    masks = np.zeros((3, 1, 8, 8), bool)
    masks[:, 0, 0, 0] = True
    maps = np.zeros((3, 1, 8, 8))
    maps[:, 0, 7, 7] = 1.0
    (row,) = ss.score_maps(maps, masks, tags=["dot"], seed=1)
    assert row["pointing_game"] == 0.0 and row["baseline_pointing_game"] == 0.0 and row["lift"] is None
    assert ss.above_chance([row]) == ([], ["dot"])
    assert ss.lift_text(row["lift"]) == ss.NO_LIFT and "dot" in ss.lift_note([row])
    good = {"tag": "box", "images": 3, "pointing_game": 0.5, "baseline_pointing_game": 0.0, "lift": None}
    assert ss.above_chance([good]) == (["box"], ["box"])  # above a random map that never hits
