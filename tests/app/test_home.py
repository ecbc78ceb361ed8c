"""AppTest smoke tests of the home page and unit tests of the pure parts of mlc.ui.

The page must show exactly what the library would generate and register, so the
tests compare against mlc directly instead of hard-coding copy.
"""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mlc import DEFAULT_CLASSES, lessons
from mlc.data import make_dataset
from mlc.losses import LOSSES
from mlc.models import MODELS
from mlc.ui import MAX_STRIP, NO_TAGS, caption, sample_strip, tags_of, upscale

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


def expected_captions(n: int, seed: int) -> list[str]:
    _, y = make_dataset(n, seed=seed)
    return [caption(tags_of(row, DEFAULT_CLASSES)) for row in y]


def strip_captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_shows_title_and_sections(app):
    assert [t.value for t in app.title] == ["Multi-label Lab"]
    headings = {h.value for h in app.subheader}
    assert {"Sample scenes", "What the lab teaches", "The tags", "Loss modes", "Models"} <= headings


def test_sample_strip_shows_true_tags_as_captions(app):
    captions = strip_captions(app)
    assert captions == expected_captions(10, seed=0)
    assert any(c != NO_TAGS for c in captions)
    for c in captions:
        assert c == NO_TAGS or set(c.split(" · ")) <= set(DEFAULT_CLASSES)
    assert all(url for image in app.image for url in image.value)


def test_new_samples_button_changes_the_scenes(app):
    app.button(key="new_samples").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state["home_seed"] == 1
    assert strip_captions(app) == expected_captions(10, seed=1)
    app.button(key="new_samples").click().run()
    assert app.session_state["home_seed"] == 2
    assert strip_captions(app) == expected_captions(10, seed=2)


def test_tags_losses_and_models_come_from_the_library(app):
    tags = app.dataframe[0].value
    assert list(tags["tag"]) == list(DEFAULT_CLASSES)
    assert tags.set_index("tag").loc["cat", "prevalence"] == pytest.approx(0.05)
    assert any("cat" in c.value and "5%" in c.value for c in app.caption)

    assert app.table[0].value.equals(lessons.loss_modes())  # one row per registered loss
    assert len(app.table[0].value) == len(LOSSES)

    text = " ".join(m.value for m in app.markdown)
    for spec in MODELS.values():
        assert spec.summary in text


# ---------------------------------------------------------------- mlc.ui pieces
def test_tags_of_uses_threshold_inclusively():
    assert tags_of([0.5, 0.2, 0.9], ["a", "b", "c"]) == ["a", "c"]
    assert tags_of([0.5, 0.2, 0.9], ["a", "b", "c"], threshold=0.95) == []


def test_upscale_is_nearest_neighbour():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    big = upscale(image, 3)
    assert big.shape == (15, 21, 3) and big.dtype == np.uint8
    blocks = big.reshape(5, 3, 7, 3, 3)
    assert (blocks == image[:, None, :, None, :]).all()


def test_sample_strip_matches_generator():
    images, tags = sample_strip(4, 7)
    x, y = make_dataset(4, seed=7)
    assert images.shape == (4, 192, 192, 3) and images.dtype == np.uint8
    assert np.array_equal(images[:, ::3, ::3], np.round(x * 255).astype(np.uint8))
    assert tags == [tags_of(row, DEFAULT_CLASSES) for row in y]


@pytest.mark.parametrize("n", [0, MAX_STRIP + 1])
def test_sample_strip_bounds_its_size(n):
    with pytest.raises(ValueError, match="strip holds"):
        sample_strip(n, 0)


def test_home_names_the_three_data_sets(app):
    from mlc.datasets import DATASETS

    line = next(m.value for m in app.markdown if "data sets to train on" in m.value)
    assert line.startswith(f"{len(DATASETS)} data sets")
    for spec in DATASETS.values():
        assert f"**{spec.title.lower()}**" in line
