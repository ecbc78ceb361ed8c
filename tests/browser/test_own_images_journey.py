"""Journey: Train -> "Your own images" -> upload a zip (made here with Pillow) -> its tags and summary
-> Train (in a worker process of the server) -> Predict -> upload a photo -> see *its* tags."""

import io

from PIL import Image, ImageDraw


def circle_png() -> bytes:
    """A photo of the kind the zip holds: one circle on a plain background."""
    im = Image.new("RGB", (160, 160), (40, 90, 160))
    ImageDraw.Draw(im).ellipse((50, 50, 95, 95), fill=(240, 200, 30))
    buffer = io.BytesIO()
    im.save(buffer, "PNG")
    return buffer.getvalue()


def test_own_images_journey(server, goto, page, screenshot, set_number, shapes_zip):
    pg = page
    goto(pg, server, "Train")
    pg.get_by_text("Your own images", exact=True).click()
    pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "shapes.zip", "mimeType": "application/zip", "buffer": shapes_zip(400)}]
    )
    pg.get_by_text("400 images, 3 tags").wait_for()
    pg.get_by_text("counted over your images", exact=False).wait_for()
    pg.get_by_text("Config (JSON)").click()
    config = pg.locator('[data-testid="stCode"]').filter(has_text='"dataset"')
    config.get_by_text('"own"').wait_for()
    for tag in ("circle", "square", "bar"):
        config.get_by_text(f'"{tag}"').first.wait_for()
    screenshot(pg, "train-own-images")

    set_number(pg, "epochs", 8)
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("Run finished").wait_for(timeout=240_000)
    assert not pg.locator('[data-testid="stException"]').count()

    pg.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Predict").click()
    pg.get_by_role("heading", name="Predict").first.wait_for()
    pg.get_by_text("Your images").wait_for()
    pg.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": "a-circle.png", "mimeType": "image/png", "buffer": circle_png()}]
    )
    tags = pg.locator('[data-testid="stMarkdown"]').filter(has_text="Predicted tags:")
    tags.wait_for()
    slider = pg.get_by_role("slider").first  # one threshold for every tag: at 0 every tag of the run shows
    slider.focus()
    slider.press("Home")
    for tag in ("circle", "square", "bar"):
        tags.get_by_text(tag, exact=True).wait_for()
    assert not tags.get_by_text("dog", exact=True).count()  # the run's tags, not the scenes'
    pg.wait_for_timeout(500)
    assert not pg.locator('[data-testid="stException"]').count()
    screenshot(pg, "predict-own-images")
