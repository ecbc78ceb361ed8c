"""AppTest of Predict's "Where each tag looks": a heat map per predicted tag (any tag on demand), the true
outline for the run's test images, none for uploads; maps cached per run and image, so moving a threshold
never recomputes them."""

import io

import numpy as np
import pytest
from PIL import Image

from mlc import saliency, ui_saliency
from mlc.data import make_dataset


@pytest.fixture
def counted(monkeypatch):
    """Images passed through mlc.saliency.saliency by the page (its cache emptied first)."""
    ui_saliency.cached_maps.clear()
    calls = []
    real = saliency.saliency

    def count(model, images, *args, **kwargs):
        calls.append(len(images))
        return real(model, images, *args, **kwargs)

    monkeypatch.setattr(saliency, "saliency", count)
    yield calls
    ui_saliency.cached_maps.clear()


def heat_captions(at):
    return [c.value for c in at.caption if c.value.startswith("Bright = where")]


def map_captions(at, tags):
    """Captions of the page's heat maps ("<tag> · <score>")."""
    shown = [img.caption for element in at.get("image") for img in element.proto.imgs]
    return [c for c in shown if c.split(" · ")[0] in tags]


@pytest.mark.slow
def test_heat_maps_follow_the_threshold_without_recomputing(session, two_runs, open_page, counted):
    session(list(two_runs))
    at = open_page("pages/predict.py")  # six of the run's test images by default
    at.slider(key="thr_all").set_value(0.0).run()  # every tag predicted: a map for each
    assert not at.exception, [e.value for e in at.exception]
    assert counted == [1], "one saliency call for the focused image, all tags at once"
    tags = list(two_runs[1].config.classes)
    (caption,) = heat_captions(at)
    assert "true outline" in caption
    assert sorted(c.split(" · ")[0] for c in map_captions(at, tags)) == sorted(tags)
    at.slider(key="thr_all").set_value(1.0).run()  # nothing predicted: no map, nothing recomputed
    assert map_captions(at, tags) == []
    at.slider(key="thr_all").set_value(0.0).run()
    assert counted == [1], "moving a threshold must not recompute a heat map"


def test_an_upload_gets_heat_maps_without_an_outline(session, two_runs, open_page, counted):
    session(list(two_runs))
    at = open_page("pages/predict.py")
    del counted[:]  # the first open showed a test image's maps
    at.number_input(key="n_samples").set_value(0)
    x, _ = make_dataset(1, seed=100)
    buffer = io.BytesIO()
    Image.fromarray(np.round(x[0] * 255).astype(np.uint8)).save(buffer, format="PNG")
    at.file_uploader(key="uploads").set_value([("scene.png", buffer.getvalue(), "image/png")]).run()
    at.slider(key="thr_all").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    (caption,) = heat_captions(at)
    assert "No outline" in caption and counted == [1]


def test_new_scenes_get_their_true_outline(session, two_runs, open_page, counted, monkeypatch):
    from mlc import predict_scenes

    edges = []
    real = saliency.overlay

    def overlay(image, heat, edge=None, **kwargs):
        edges.append(edge)
        return real(image, heat, edge, **kwargs)

    monkeypatch.setattr(saliency, "overlay", overlay)
    session(list(two_runs))
    at = open_page("pages/predict.py")
    at.segmented_control(key="sample_origin").set_value("fresh").run()
    del edges[:]
    at.slider(key="thr_all").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    (caption,) = heat_captions(at)
    assert "true outline" in caption
    run = two_runs[1]  # the newest run is the default
    x, y, masks = predict_scenes.fresh_split(run.config, 7)
    (item,) = predict_scenes.fresh_items(run.config, x, y, 6, seed=7)[:1]
    _, index = predict_scenes.fresh_index(item.source, item.key)
    assert len(edges) == run.config.num_classes
    for t, edge in enumerate(edges):
        np.testing.assert_array_equal(edge, masks[index, t])
