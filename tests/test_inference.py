"""mlc.inference: uploads, generated scenes, the probability cache and thresholds."""

import io

import numpy as np
import pytest
from PIL import Image

from mlc import datasets, inference, metrics
from mlc.config import RunConfig
from mlc.training import predict_probabilities, train

TINY = RunConfig(epochs=1, train_size=128, val_size=64, batch_size=32)


@pytest.fixture(scope="module")
def run():
    return train(TINY)


def png(colour=(255, 0, 0), size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_load_uploads_keeps_good_files_and_names_bad_ones():
    items, problems = inference.load_uploads([("a.png", png()), ("b.txt", b"nope"), ("c.png", png((0, 0, 255)))])
    assert [i.name for i in items] == ["a.png", "c.png"]
    assert items[0].pixels.shape == (64, 64, 3) and items[0].pixels.dtype == np.float32
    assert items[0].pixels[..., 0].min() == pytest.approx(1.0) and items[0].pixels[..., 2].max() == pytest.approx(0.0)
    assert len(problems) == 1 and problems[0].startswith("b.txt: ") and "\n" not in problems[0]
    assert items[0].key == inference.content_key(png()) != items[1].key


def test_load_uploads_limit():
    files = [(f"{i}.png", png((i, 0, 0))) for i in range(5)]
    items, problems = inference.load_uploads(files, limit=3)
    assert len(items) == 3 and problems == [inference.over_limit(2, 3)]


def test_sample_items_truth_and_containing():
    items = inference.sample_items(4, seed=5, containing="cat")
    assert len(items) == 4 and all(it.truth[1] == 1.0 for it in items)
    assert all(it.source == "sample" and it.pixels.shape == (64, 64, 3) for it in items)
    assert len({it.key for it in items}) == 4
    assert inference.sample_items(2, seed=5)[0].key != inference.sample_items(2, seed=6)[0].key
    with pytest.raises(ValueError, match="1 to 24"):
        inference.sample_items(0)
    with pytest.raises(ValueError, match="containing must be one of the tags"):
        inference.sample_items(2, containing="horse")
    # a tag that never occurs: no scene, not an error
    assert inference.sample_items(2, prevalence=(0.5, 0.0, 0.5, 0.5, 0.5), containing="cat") == []


def test_cache_runs_the_model_once_per_new_image(run):
    cache = inference.ProbabilityCache()
    items = inference.sample_items(5, seed=1)
    p = cache.probabilities(run, items)
    assert p.shape == (5, 5) and cache.model_calls == 1
    expected = predict_probabilities(run.model, np.stack([it.pixels for it in items]))
    np.testing.assert_allclose(p, expected, atol=1e-6)
    again = cache.probabilities(run, items[::-1])
    assert cache.model_calls == 1
    np.testing.assert_allclose(again, p[::-1])
    cache.probabilities(run, inference.sample_items(2, seed=2) + items[:1])
    assert cache.model_calls == 2 and len(cache) == 7


def test_cache_is_bounded_and_keyed_by_run(run):
    cache = inference.ProbabilityCache(max_entries=3)
    cache.probabilities(run, inference.sample_items(5, seed=1))
    assert len(cache) == 3
    other = train(TINY.replace(seed=1, epochs=1))
    a = cache.probabilities(run, inference.sample_items(1, seed=9))
    b = cache.probabilities(other, inference.sample_items(1, seed=9))
    assert not np.allclose(a, b)


def test_cache_refuses_a_wrong_size(run):
    items, _ = inference.load_uploads([("a.png", png())], size=32)
    with pytest.raises(ValueError, match="must be 64x64x3"):
        inference.ProbabilityCache().probabilities(run, items)


@pytest.mark.parametrize(
    "bad, message",
    [
        (1.5, "lie in \\[0, 1\\]"),
        (float("nan"), "lie in"),
        ([0.5, 0.5], "one value per tag \\(5\\), got 2"),
        ({"dog": 0.5}, "missing \\['cat'"),
    ],
)
def test_thresholds_for_refuses_bad_values(bad, message):
    with pytest.raises(ValueError, match=message):
        inference.thresholds_for(["dog", "cat", "house", "tree", "sky"], bad)


def test_decisions_match_the_metrics_rule():
    rng = np.random.default_rng(0)
    p = rng.random((50, 3)).astype(np.float32)
    y = (rng.random((50, 3)) > 0.5).astype(np.float32)
    t = [0.2, 0.5, 0.8]
    rep = metrics.report(y, p, t, classes=["a", "b", "c"])
    d = inference.decide(p, t)
    for j, row in enumerate(rep["per_tag"]):
        assert row["tp"] == int(np.sum(d[:, j] & (y[:, j] >= 0.5)))
        assert row["fp"] == int(np.sum(d[:, j] & (y[:, j] < 0.5)))
    assert inference.decide([[0.5]], [0.5]).tolist() == [[True]]  # at the threshold counts as on


def test_results_table_and_csv(run):
    items = inference.sample_items(3, seed=2)
    uploads, _ = inference.load_uploads([("x.png", png())])
    items += uploads
    p = inference.ProbabilityCache().probabilities(run, items)
    table = inference.results_table(items, p, run.config.classes, 0.5)
    assert list(table["file"])[-1] == "x.png" and table["true"].iloc[-1] == "" and table["exact"].iloc[-1] is None
    for row, probs in zip(table.itertuples(), p):
        assert row.predicted == ", ".join(c for c, v in zip(run.config.classes, probs) if v >= 0.5)
    csv = table.to_csv(index=False)
    assert csv.splitlines()[0] == "file,source,predicted,true,exact,dog,cat,house,tree,sky"


def test_validation_scores_and_optimal_thresholds(run):
    best = inference.optimal_thresholds(run)
    assert list(best) == list(run.config.classes)
    tuned = inference.validation_scores(run, list(best.values()))
    flat = inference.validation_scores(run, 0.5)
    # per tag, F1 at its own optimal threshold is at least F1 at 0.5 on the same data
    for a, b in zip(tuned["per_tag"], flat["per_tag"]):
        assert a["f1"] >= b["f1"] - 1e-9
    assert tuned["macro_f1"] >= flat["macro_f1"] - 1e-9


# ---------------------------------------------------------------- the Predict page's choices
def test_a_link_with_one_threshold_sets_every_tag():
    setting, notes = inference.threshold_setting_from_link("0.4", ["dog", "cat"])
    assert notes == [] and setting == inference.ThresholdSetting("all", value=0.4)
    assert setting.thresholds(["dog", "cat"]).tolist() == pytest.approx([0.4, 0.4])


def test_a_link_with_one_threshold_per_tag_sets_each_tag():
    setting, notes = inference.threshold_setting_from_link("[0.1,0.9]", ["dog", "cat"])
    assert notes == [] and setting.mode == "per_tag" and dict(setting.per_tag) == {"dog": 0.1, "cat": 0.9}
    assert setting.link_text(["dog", "cat"]) == "[0.1,0.9]"


@pytest.mark.parametrize("raw", ["[0.1]", "2", "x", "[0.1,true]"])
def test_a_bad_link_sets_nothing_and_says_why(raw):
    setting, notes = inference.threshold_setting_from_link(raw, ["dog", "cat"])
    assert setting is None and len(notes) == 1 and notes[0].startswith("ignored thr=")


@pytest.mark.parametrize(
    "setting",
    [inference.ThresholdSetting("all", value=0.35), inference.ThresholdSetting("per_tag", per_tag={"a": 0.2, "b": 1})],
)
def test_a_setting_survives_its_own_link(setting):
    again, _ = inference.threshold_setting_from_link(setting.link_text(["a", "b"]), ["a", "b"])
    assert again.thresholds(["a", "b"]).tolist() == setting.thresholds(["a", "b"]).tolist()


def test_a_setting_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="threshold mode must be one of: all, per_tag"):
        inference.ThresholdSetting("some")


def test_f1_optimal_setting_is_the_optimal_thresholds_to_three_decimals(run):
    setting = inference.f1_optimal_setting(run)
    best = inference.optimal_thresholds(run)
    assert setting.mode == "per_tag" and list(setting.per_tag) == list(run.config.classes)
    assert all(setting.per_tag[t] == round(v, 3) for t, v in best.items())


def test_runs_with_models_and_comparable_runs(run):
    import dataclasses

    no_model = dataclasses.replace(run, model=None)
    other_tags = dataclasses.replace(run, config=RunConfig(classes=("sun", "moon")))
    other_size = dataclasses.replace(run, config=run.config.replace(image_size=32))
    twin = dataclasses.replace(run)
    runs = [run, no_model, other_tags, other_size, twin]
    assert inference.runs_with_models(runs) == [run, other_tags, other_size, twin]
    assert inference.comparable_runs(run, runs) == [no_model, twin]


def test_labels_for_the_pickers():
    items = inference.sample_items(2, seed=3)
    assert inference.item_labels(items) == [f"1. {items[0].name}", f"2. {items[1].name}"]
    assert inference.containing_label(None, "cat") == "any tags"
    assert inference.containing_label("cat", "cat") == "cat (rarest)"
    assert inference.output_label(True) == "predicted strength" and inference.output_label(False) == "probability"


def test_true_tags_of_a_scene_and_of_an_upload():
    scene = inference.sample_items(1, seed=5)[0]
    classes = ["dog", "cat", "house", "tree", "sky"]
    assert inference.true_tags(scene, classes) == [c for c, v in zip(classes, scene.truth) if v >= 0.5]
    upload = inference.load_uploads([("a.png", png())])[0][0]
    assert inference.true_tags(upload, classes) is None


# ---------------------------------------------------------------- the run's own test images
class FakeImageSet:
    """What inference needs of an mlc.imagesets.ImageSet: split names, labels, tag columns, pixels."""

    def __init__(self, fingerprint="f1", n=6):
        rng = np.random.default_rng(0)
        self.fingerprint, self.tags = fingerprint, ("cat", "dog", "car")
        self.split = np.array(["train", "test", "val", "test", "test", "train"][:n])
        self.labels = (rng.random((n, 3)) < 0.5).astype(np.float32)
        self.labels[1] = [0, 1, 1]
        self._pixels = rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)

    def columns(self, classes):
        return [self.tags.index(c) for c in classes]

    def images_at(self, size):
        assert size == 16
        return self._pixels


OWN = RunConfig(
    dataset="own", classes=("dog", "car"), image_size=16, data_name="pets.zip", data_fingerprint="f1", test_size=3
)


def test_held_out_images_of_a_built_in_set_are_the_runs_test_split():
    cfg = RunConfig(test_size=600, image_size=32, seed=4)
    x, y = inference.held_out_images(cfg)
    assert x.shape == (inference.TEST_POOL, 32, 32, 3) and x.dtype == np.float32
    full = datasets.make_splits(cfg.replace(train_size=1, val_size=1)).test
    np.testing.assert_array_equal(y, full[1][: inference.TEST_POOL])  # the very images training scored on
    np.testing.assert_allclose(x, full[0][: inference.TEST_POOL])
    small = inference.held_out_images(cfg.replace(test_size=5))
    np.testing.assert_array_equal(small[1], datasets.make_splits(cfg.replace(train_size=1, test_size=5)).test[1])


def test_held_out_images_of_own_data_come_from_the_session_images():
    images = FakeImageSet()
    for stored in (images, {"f1": images}):
        x, y = inference.held_out_images(OWN, stored)
        assert x.shape == (3, 16, 16, 3) and x.max() <= 1.0
        np.testing.assert_array_equal(y, images.labels[[1, 3, 4]][:, [1, 2]])  # the run's tags, in its order
        np.testing.assert_allclose(x[0], images._pixels[1] / 255, rtol=1e-6)
    for stored in (None, {}, FakeImageSet("other"), {"f1": FakeImageSet("other")}):
        with pytest.raises(inference.HeldOutImagesMissing, match="pets.zip.*are not here.*uploads still get"):
            inference.held_out_images(OWN, stored)


def test_held_out_items_carry_true_tags_and_honour_containing():
    images = FakeImageSet()
    x, y = inference.held_out_images(OWN, images)
    items = inference.held_out_items(OWN, x, y, 5, seed=0)
    assert [item.name for item in items] == ["test image 0", "test image 1", "test image 2"]  # only 3 exist
    assert items[0].source == "test" and items[0].truth == (1.0, 1.0)
    assert inference.true_tags(items[0], OWN.classes) == ["dog", "car"]
    with_car = inference.held_out_items(OWN, x, y, 3, containing="car")
    assert with_car and all(item.truth[1] == 1.0 for item in with_car)
    assert len({item.key for item in items}) == 3 and "f1" in items[0].key
    with pytest.raises(ValueError, match="containing must be one of the tags"):
        inference.held_out_items(OWN, x, y, 2, containing="cat")
    with pytest.raises(ValueError, match="1 to 24 images"):
        inference.held_out_items(OWN, x, y, 0)


def test_the_domain_shift_line_is_for_uploads_to_models_of_generated_data_only():
    from mlc.config import RunConfig
    from mlc.inference import domain_note

    assert "generated scenes" in domain_note(RunConfig(), 1)
    assert "handwritten digits" in domain_note(RunConfig(dataset="digits"), 3)
    assert domain_note(RunConfig(), 0) is None
    assert domain_note(RunConfig(dataset="own", classes=("a",)), 1) is None
