"""mlc.ui_scenes: scene grids as encoded images, pixel for pixel."""

import io

import numpy as np
from PIL import Image

from mlc.ui_scenes import scene_pngs, upscale


def test_scene_pngs_hold_the_upscaled_pixels_exactly():
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    pngs = scene_pngs(images, 3)
    assert len(pngs) == 3
    for png, image in zip(pngs, images):
        decoded = np.asarray(Image.open(io.BytesIO(png)))
        assert decoded.shape == (24, 24, 3)
        np.testing.assert_array_equal(decoded, upscale(image, 3))


def test_different_images_give_different_files():
    a = np.zeros((1, 4, 4, 3), np.uint8)
    assert scene_pngs(a, 2) != scene_pngs(a + 1, 2)
