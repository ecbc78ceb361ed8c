"""Tests for :mod:`mlc.saliency`: Grad-CAM and occlusion per tag, pointing game and mass inside a mask."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mlc import models, saliency


def quadrant_model(size: int = 32) -> keras.Model:
    """Tag 0's logit is the red in the top-left quadrant, tag 1's the green in the bottom-right (fixed weights)."""
    x = keras.Input((size, size, 3))
    feat = keras.layers.Conv2D(2, 1, use_bias=False, name="feat")(x)  # channel 0 = red, channel 1 = green
    half = size // 2
    pooled = [
        keras.layers.GlobalAveragePooling2D()(keras.layers.Cropping2D(crop)(feat))
        for crop in (((0, half), (0, half)), ((half, 0), (half, 0)))
    ]
    heads = [keras.layers.Dense(1, name=f"tag{i}")(p) for i, p in enumerate(pooled)]
    model = keras.Model(x, keras.layers.Concatenate()(heads))
    model.get_layer("feat").set_weights([np.array([[1, 0], [0, 1], [0, 0]], np.float32).reshape(1, 1, 3, 2)])
    model.get_layer("tag0").set_weights([np.array([[4.0], [0.0]]), np.array([-1.0])])
    model.get_layer("tag1").set_weights([np.array([[0.0], [4.0]]), np.array([-1.0])])
    return model


def two_squares(n: int = 3, size: int = 32) -> np.ndarray:
    """A red square somewhere in the top-left quadrant, a green one in the bottom-right, on grey."""
    rng = np.random.default_rng(0)
    x = np.full((n, size, size, 3), 0.2, np.float32)
    for i in range(n):
        r, c = rng.integers(1, size // 2 - 7, 2)
        x[i, r : r + 6, c : c + 6] = (1, 0, 0)
        r, c = rng.integers(size // 2 + 1, size - 7, 2)
        x[i, r : r + 6, c : c + 6] = (0, 1, 0)
    return x


def test_the_grad_cam_layer_is_the_last_feature_map():
    assert saliency.spatial_layer(quadrant_model()) == "feat"
    assert saliency.spatial_layer(models.build("lean", 5, 64)) == "conv2_relu"
    assert saliency.spatial_layer(models.build("linear", 5, 32)) is None


@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_each_tag_looks_where_its_logit_reads(method):
    maps = saliency.saliency(quadrant_model(), two_squares(), method=method)
    assert maps.shape == (3, 2, 32, 32) and maps.min() >= 0 and maps.max() <= 1
    for n in range(3):
        for tag, quadrant in enumerate((0, 1)):
            row, col = np.unravel_index(maps[n, tag].argmax(), (32, 32))
            assert (row >= 16, col >= 16) == (bool(quadrant), bool(quadrant)), (method, n, tag, row, col)


def test_auto_falls_back_to_occlusion_for_a_model_without_feature_maps():
    model = models.build("linear", 2, 16)
    maps = saliency.saliency(model, np.zeros((1, 16, 16, 3), np.float32), tags=[1])
    assert maps.shape == (1, 1, 16, 16)
    with pytest.raises(ValueError, match="no spatial feature map for Grad-CAM"):
        saliency.gradcam(model, np.zeros((1, 16, 16, 3), np.float32))


def test_bad_arguments_are_named():
    model = quadrant_model(16)
    with pytest.raises(ValueError, match="images must be"):
        saliency.saliency(model, np.zeros((16, 16)))
    with pytest.raises(ValueError, match="tags must be a whole number from 0 to 1"):
        saliency.saliency(model, np.zeros((1, 16, 16, 3)), tags=[2])
    with pytest.raises(ValueError, match="method must be one of"):
        saliency.saliency(model, np.zeros((1, 16, 16, 3)), method="magic")


def test_pointing_game_and_mass_count_only_images_holding_the_tag():
    maps = np.zeros((3, 2, 4, 4))
    maps[:, :, 0, 0] = 1.0  # every map peaks top-left
    maps[:, :, 3, 3] = 0.5
    masks = np.zeros((3, 2, 4, 4), bool)
    masks[0, 0, 0, 0] = True  # image 0, tag 0: hit
    masks[1, 0, 3, 3] = True  # image 1, tag 0: miss (the peak is elsewhere), a third of the mass inside
    # tag 1 is present nowhere
    assert saliency.pointing_game(maps, masks).tolist()[0] == 0.5
    assert np.isnan(saliency.pointing_game(maps, masks)[1])
    assert saliency.mass_inside(maps, masks)[0] == pytest.approx((1 / 1.5 + 0.5 / 1.5) / 2)
    with pytest.raises(ValueError, match="maps and masks must both be"):
        saliency.pointing_game(maps, masks[:, :1])


def test_a_saved_and_loaded_run_model_still_gets_grad_cam_with_the_same_maps():
    """A run's model comes back from its .keras file wrapped (an input, then the model): Grad-CAM looks inside."""
    from mlc import modelfiles
    from mlc.config import RunConfig
    from mlc.runs import Run

    model = models.build("compact", num_classes=3, image_size=32)
    run = Run(RunConfig(classes=("dog", "cat", "sky"), image_size=32), model=model, status="finished")
    loaded = modelfiles.load_model_file(modelfiles.model_file(run), num_classes=3, image_size=32)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    assert saliency.spatial_layer(loaded) == saliency.spatial_layer(model) is not None
    np.testing.assert_allclose(saliency.saliency(loaded, x), saliency.gradcam(model, x), atol=1e-5)


def test_the_overlay_is_enlarged_shows_the_heat_and_draws_only_the_outline():
    image = np.full((64, 64, 3), 0.5, np.float32)
    heat = np.zeros((64, 64))
    heat[:8, :8] = 1.0
    mask = np.zeros((64, 64), bool)
    mask[20:40, 20:40] = True
    pic = saliency.overlay(image, heat, mask, scale=4)
    assert pic.shape == (256, 256, 3) and pic.dtype == np.uint8
    cold = round((0.15 + 0.6 * 0.5) * 255)  # the image in dimmed grey: every colour on it is the heat's
    assert pic[120, 10].tolist() == [cold] * 3 and len(set(pic[2, 2].tolist())) > 1  # cold grey, hot coloured
    assert pic[2, 2].mean() > pic[120, 10].mean() + 60  # the peak is much brighter than what is cold
    assert pic[80, 100].tolist() == pic[81, 100].tolist() == [0, 255, 255]  # the edge, two screen pixels wide
    assert pic[82, 100].tolist() == pic[120, 120].tolist() == [cold] * 3  # inside the outline: the image
    with pytest.raises(ValueError, match="heat must be"):
        saliency.overlay(image, heat[:10])
