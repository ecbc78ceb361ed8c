"""Journey: open Predict with no model -> train the quick default model -> upload a PNG
-> see its tag probabilities -> move the threshold -> the predicted tag list changes."""

import io

import numpy as np
from PIL import Image

from mlc.data import make_dataset


def scene_png() -> bytes:
    x, _ = make_dataset(1, seed=22)  # dog, cat (the rare tag) and tree
    buffer = io.BytesIO()
    Image.fromarray(np.round(x[0] * 255).astype(np.uint8)).resize((256, 256), Image.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def test_predict_journey(server, goto, page, screenshot):
    pg = page
    goto(pg, server, "Predict")

    pg.get_by_role("button", name="Train a quick default model").click()
    pg.locator('[data-testid="stProgress"]').wait_for()
    pg.get_by_text("Your images").wait_for(timeout=150_000)  # the run finished: the predictor is shown

    pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "my-scene.png", "mimeType": "image/png", "buffer": scene_png()}]
    )
    tags = pg.locator('[data-testid="stMarkdown"]').filter(has_text="Predicted tags:")
    tags.wait_for()
    # the picker names the image shown: the upload comes first, and the picker says so (issue 18)
    pg.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stSelectbox"]')].some(box =>
            box.innerText.includes('Image') && (box.innerText.includes('1. my-scene.png') ||
            [...box.querySelectorAll('input')].some(i => (i.value || '').includes('1. my-scene.png'))))"""
    )
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    pg.get_by_text("as uploaded").wait_for()
    table = pg.locator('[data-testid="stDataFrame"]').last
    table.wait_for()

    slider = pg.get_by_role("slider").first  # the one threshold for every tag
    slider.focus()
    slider.press("End")  # threshold 1.0: nothing passes
    tags.filter(has_text="none above threshold").wait_for()
    slider.press("Home")  # threshold 0.0: every tag passes
    for tag in ("dog", "cat", "house", "tree", "sky"):
        tags.get_by_text(tag, exact=True).wait_for()
    slider.press("End")
    tags.filter(has_text="none above threshold").wait_for()
    for _ in range(50):  # back to 0.5, a usable picture for people
        slider.press("ArrowLeft")
    pg.wait_for_timeout(800)
    assert not pg.locator('[data-testid="stException"]').count()
    path = screenshot(pg, "predict-uploaded")
    assert path.stat().st_size > 10_000
