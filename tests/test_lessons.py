"""mlc.lessons: shapes from the real model, activations, and the loss calculator."""

import math

import numpy as np
import pytest

from mlc import lessons, losses, models
from mlc.config import RunConfig


@pytest.mark.parametrize("name", list(models.MODELS))
def test_layer_table_matches_the_built_model(name):
    table = lessons.layer_table(name, 7, 32)
    model = models.build(name, 7, 32)
    assert table.iloc[0]["output shape"] == "(None, 32, 32, 3)"
    assert table.iloc[-2]["output shape"] == "(None, 7)"
    assert table.iloc[-1]["parameters"] == model.count_params() == table.iloc[:-1]["parameters"].sum()


def test_tensor_shapes_follow_the_config():
    shapes = lessons.tensor_shapes(RunConfig(batch_size=16, classes=("a", "b", "c"), prevalence=(0.5, 0.5, 0.5)))
    assert shapes["shape"].tolist() == ["(16, 64, 64, 3)", "(16, 3)", "(16, 3) or (16,)", "(16, 3)"]


def test_sample_target_one_hot_keeps_only_the_first_present_tag():
    for seed in range(20):
        image, frame = lessons.sample_target(RunConfig(), seed=seed)
        multi = frame[frame["target"].str.startswith("multi")]["value"].to_numpy()
        one = frame[frame["target"].str.startswith("single")]["value"].to_numpy()
        assert image.shape == (64, 64, 3)
        assert one.sum() == (1.0 if multi.max() >= 0.5 else 0.0)
        if multi.max() >= 0.5:
            assert one.argmax() == np.flatnonzero(multi >= 0.5)[0]


def test_activations():
    frame = lessons.activations_frame([3.0, 3.0, 3.0], ["a", "b", "c"])
    soft = frame[frame["activation"] == "softmax"]["value"]
    sig = frame[frame["activation"] == "sigmoid"]["value"]
    assert soft.tolist() == pytest.approx([1 / 3] * 3) and sig.tolist() == pytest.approx([1 / (1 + math.exp(-3))] * 3)
    with pytest.raises(ValueError, match="one value per tag \\(3\\), got 2"):
        lessons.activations_frame([1.0, 2.0], ["a", "b", "c"])
    with pytest.raises(ValueError, match="finite"):
        lessons.activations_frame([1.0, float("inf"), 0.0], ["a", "b", "c"])


def test_loss_table_uses_the_registered_losses():
    rows = lessons.calculator_rows(("dog", "cat", "house", "tree", "sky"), [1.0, 3.0, 1.0, 1.0, 1.0])
    table, totals = lessons.loss_table(rows, weighting="positive")
    assert set(totals) == set(losses.LOSSES)
    y = np.array([r["target"] for r in rows])[None]
    p = np.clip(np.array([r["probability"] for r in rows]), 1e-6, 1 - 1e-6)[None]
    z = np.log(p / (1 - p))
    for name in losses.LOSSES:
        kwargs = losses.defaults(name)
        if "weights" in kwargs:
            kwargs.update(weights=[1.0, 3.0, 1.0, 1.0, 1.0], weighting="positive")
        keras_value = float(losses.get(name, **kwargs)(y.astype("float32"), z.astype("float32")))
        assert totals[name] == pytest.approx(keras_value, rel=1e-4, abs=1e-6), name
    # positive weighting multiplies only the present tags' terms
    assert table.loc[1, "weighted_bce"] == pytest.approx(3 * table.loc[1, "bce"])
    assert table.loc[2, "weighted_bce"] == pytest.approx(table.loc[2, "bce"])


@pytest.mark.parametrize(
    "row, message",
    [
        ({"target": 1.5}, "targets must lie in \\[0, 1\\]"),
        ({"probability": -0.1}, "probabilities must lie in \\[0, 1\\]"),
        ({"weight": -1}, "weights must be >= 0"),
        ({"target": None}, "row 1: target must be a number, got None"),
        ({"probability": "x"}, "row 1: probability must be a number"),
        ({"weight": float("nan")}, "row 1: weight must be a finite number"),
    ],
)
def test_loss_table_refuses_bad_cells(row, message):
    good = {"tag": "dog", "target": 1.0, "probability": 0.5, "weight": 1.0}
    with pytest.raises(ValueError, match=message):
        lessons.loss_table([{**good, **row}])
    with pytest.raises(ValueError, match="at least one row"):
        lessons.loss_table([])


def test_probabilities_of_zero_and_one_are_clipped_not_infinite():
    table, totals = lessons.loss_table([{"tag": "dog", "target": 1.0, "probability": 0.0, "weight": 1.0}])
    assert all(math.isfinite(v) for v in totals.values())
    assert table.loc[0, "bce"] == pytest.approx(-math.log(1e-6), rel=1e-3)


def test_calculator_weights_are_the_configs_when_its_loss_uses_them():
    weighted = RunConfig(loss="weighted_bce", weights=(1.0, 9.0, 1.0, 2.0, 1.0))
    assert lessons.calculator_weights(weighted) == list(weighted.weights)
    plain = RunConfig(loss="focal", weights=(1.0, 9.0, 1.0, 2.0, 1.0))
    assert lessons.calculator_weights(plain) == pytest.approx(losses.inverse_frequency_weights(plain.prevalence))


def test_activation_sums():
    sums = lessons.activation_sums(lessons.activations_frame([6.0, 6.0, 6.0], ["a", "b", "c"]))
    assert sums["softmax"] == pytest.approx(1.0) and sums["sigmoid"] == pytest.approx(3 * lessons.sigmoid(6.0))


def test_loss_modes_lists_every_registered_loss():
    table = lessons.loss_modes()
    assert list(table["Mode"]) == [f"`{n}`" for n in losses.LOSSES]
    assert list(table.iloc[:, 2]) == [cls.formula for cls in losses.LOSSES.values()]


def test_export_choices_put_the_current_settings_first_then_runs_newest_first():
    class FakeRun:
        def __init__(self, label, config):
            self.label, self.config = label, config

    current, old, new = RunConfig(), RunConfig(loss="focal"), RunConfig(loss="mse", soft_labels=True)
    choices = lessons.export_choices(current, [FakeRun("#1", old), FakeRun("#2", new)])
    assert list(choices.values()) == [current, new, old]
    assert list(choices)[1:] == ["run #2", "run #1"]


# ---------------------------------------------------------------- the chosen data
class OwnImages:
    """The few things of an mlc.imagesets.ImageSet the lessons read."""

    fingerprint = "abc"
    tags = ("cat", "dog", "car")
    paths = np.array(["a.png", "b.png"])
    labels = np.array([[1, 0, 1], [0, 1, 0]], np.float32)

    def columns(self, classes):
        return [self.tags.index(c) for c in classes]

    def images_at(self, size):
        return np.full((2, size, size, 3), 51, np.uint8)


OWN = RunConfig(dataset="own", classes=("car", "cat"), image_size=32, data_name="pets.zip", data_fingerprint="abc")


def test_shapes_and_target_come_from_own_images():
    x, y, what = lessons.sample_image(OWN, seed=2, source={"abc": OwnImages()})
    assert x.shape == (32, 32, 3) and x.max() == pytest.approx(0.2)
    assert y.tolist() == [1.0, 1.0] and what == "a.png (pets.zip)"  # image 2 % 2 = 0, in the run's tag order
    image, frame = lessons.sample_target(OWN, seed=1, source=OwnImages())
    assert frame["tag"].tolist() == ["car", "cat"] * 2 and frame["value"].tolist() == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="pets.zip.*not loaded"):
        lessons.sample_image(OWN, source=None)
    shapes = lessons.tensor_shapes(OWN.replace(batch_size=8))
    assert shapes["shape"].tolist()[:2] == ["(8, 32, 32, 3)", "(8, 2)"]
    assert "your images" in shapes["meaning"][0]


def test_a_digits_image_comes_from_the_data_set(monkeypatch):
    from mlc import datasets

    seen = []

    def fake(config, source=None):
        seen.append(config)
        x, y = np.zeros((1, 32, 32, 3), np.float32), np.array([[0, 1]], np.float32)
        return datasets.DataSplits((x, y), (x + 0.5, y), (x, y), config.classes, "digits")

    monkeypatch.setattr(datasets, "make_splits", fake)
    cfg = RunConfig(dataset="digits", classes=("3", "7"), image_size=32)
    x, y, what = lessons.sample_image(cfg, seed=5)
    assert (x == 0.5).all() and y.tolist() == [0.0, 1.0] and what == "digits image 5"
    assert seen[0].seed == 5 and seen[0].val_size == 1
    assert "handwritten digits" in lessons.tensor_shapes(cfg)["meaning"][0]


def test_target_frame_of_an_image_without_tags():
    frame = lessons.target_frame(["a", "b"], np.zeros(2))
    assert frame["value"].tolist() == [0.0] * 4
