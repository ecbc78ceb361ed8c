"""AppTest of the Predict page: the quick-model offer, uploads -> probabilities,
a threshold change flips a tag without re-running the model, bad files, F1-optimal
thresholds and the side-by-side comparison of runs."""

import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mlc import decisions, inference
from mlc.config import RunConfig
from mlc.data import make_dataset
from mlc.training import train

CLASSES = ["dog", "cat", "house", "tree", "sky"]
TINY = RunConfig(epochs=2, train_size=256, val_size=128, batch_size=32)


@pytest.fixture
def runs(two_runs):
    return two_runs


@pytest.fixture
def with_runs(session, runs):
    """The page's session_jobs() returns a session that already holds the trained runs."""
    return session(runs)


def png(scene_index: int = 0) -> bytes:
    x, _ = make_dataset(1, seed=100 + scene_index)
    buffer = io.BytesIO()
    Image.fromarray(np.round(x[0] * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def predict_page(open_page):
    return lambda: open_page("pages/predict.py")


def results(at: AppTest):
    """The All images table (the one whose rows are files)."""
    return next(d.value for d in at.dataframe if "file" in d.value.columns)


def charts(at: AppTest) -> list[str]:
    """The Vega-Lite specs of the page's charts, in no particular order."""
    return [c.proto.spec for c in at.get("vega_lite_chart")]


def predicted_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Predicted tags:**"))


def test_without_a_run_offers_a_quick_model(session, predict_page):
    session()
    at = predict_page()
    assert [t.value for t in at.title] == ["Predict"]
    assert any("no trained model" in i.value for i in at.info)
    assert not at.button(key="quick_train").disabled


def test_the_quick_model_promises_a_time_only_once_measured_here(monkeypatch, session, predict_page):
    from mlc import speed

    monkeypatch.setattr(speed, "BOOK", speed.SpeedBook())
    session([])
    offer = [i.value for i in predict_page().info if "quick default" in i.value]
    assert offer and " s " not in offer[0] and "on this server" not in offer[0]
    speed.BOOK.record_gflops(speed.REFERENCE_GFLOPS / 2)
    offer = [i.value for i in predict_page().info if "quick default" in i.value]
    assert offer and "on this server (from its measured compute speed)" in offer[0]


def test_quick_model_button_trains_and_the_predictor_appears(monkeypatch, session, predict_page):
    jobs = session()
    monkeypatch.setattr("mlc.config.QUICK_RUN", TINY)  # the page reads it at each run
    at = predict_page()
    at.button(key="quick_train").click().run()
    assert jobs.job is not None
    assert jobs.job.join(120)
    at.run()  # the fragment collects the finished run on the next run
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(jobs.runs) == 1 and at.selectbox(key="predict_run").value == 1


def test_upload_shows_probabilities_and_a_threshold_flips_a_tag(with_runs, runs, predict_page):
    at = predict_page()
    at.number_input(key="n_samples").set_value(0)
    at.file_uploader(key="uploads").set_value([("scene.png", png(), "image/png")]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = results(at)
    assert list(table["file"]) == ["scene.png"]
    probs = table[["dog", "cat", "house", "tree", "sky"]].to_numpy()[0]
    top = int(np.argmax(probs))
    tag = ["dog", "cat", "house", "tree", "sky"][top]
    calls = session_cache_calls(at)
    # just below the top probability: the tag is predicted; just above: it is not
    at.slider(key="thr_all").set_value(max(0.0, round(float(probs[top]) - 0.01, 2))).run()
    assert tag in predicted_line(at)
    at.slider(key="thr_all").set_value(min(1.0, round(float(probs[top]) + 0.01, 2))).run()
    assert tag not in predicted_line(at)
    assert results(at).loc[0, "predicted"].find(tag) == -1
    assert session_cache_calls(at) == calls, "moving a threshold must not run the model again"


def session_cache_calls(at: AppTest) -> int:
    return at.session_state["probability_cache"].model_calls


def test_a_file_that_is_not_an_image_gets_one_line_and_the_others_still_predict(with_runs, predict_page):
    at = predict_page()
    at.number_input(key="n_samples").set_value(0)
    at.file_uploader(key="uploads").set_value(
        [
            ("notes.png", b"this is not a picture", "image/png"),
            ("scene.png", png(1), "image/png"),
            ("empty.jpg", b"", "image/jpeg"),
        ]
    ).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and errors[0].startswith("notes.png: ") and errors[1].startswith("empty.jpg: ")
    assert all("\n" not in e for e in errors)
    assert list(results(at)["file"]) == ["scene.png"]


def test_f1_optimal_thresholds_fill_the_per_tag_sliders(with_runs, runs, predict_page):
    at = predict_page()
    at.button(key="f1_optimal").click().run()
    assert not at.exception
    assert at.selectbox(key="strategy").value == "manual_per_tag"
    best = inference.optimal_thresholds(runs[1])  # the newest run is selected first
    for tag, value in best.items():
        assert at.slider(key=f"thr_{tag}").value == pytest.approx(value, abs=1e-3)
    shown = {m.label: float(m.value) for m in at.metric}
    rule = decisions.fit_choice("manual_per_tag", {"t": [round(v, 3) for v in best.values()]}, CLASSES, None, None)
    split, expected = decisions.scored_split(runs[1], rule, None)  # tuned on validation: scored on test
    assert split == "test" and shown["F1 (macro)"] == pytest.approx(expected["macro_f1"], abs=1e-3)


def test_samples_show_true_tags_and_runs_compare_side_by_side(with_runs, predict_page):
    at = predict_page()
    at.selectbox(key="containing").set_value("cat")
    at.number_input(key="n_samples").set_value(3).run()
    assert not at.exception
    table = results(at)
    assert len(table) == 3 and all("cat" in t for t in table["true"])
    assert any(m.value.startswith("**True tags:**") for m in at.markdown)
    at.multiselect(key="predict_versus").set_value([1]).run()
    assert not at.exception
    # one more chart: the comparison, its bars offset by run
    compared = [s for s in charts(at) if any(layer["encoding"].get("yOffset") for layer in json.loads(s)["layer"])]
    assert len(charts(at)) == 2 and len(compared) == 1


def test_an_mse_run_shows_predicted_strength_not_probability(session, predict_page):
    run = train(TINY.replace(loss="mse", soft_labels=True))
    run.number = 1
    session([run])
    at = predict_page()
    assert not at.exception
    assert any("predicted strengths" in c.value for c in at.caption)
    assert charts(at) and all("predicted strength" in spec and '"probability"' not in spec for spec in charts(at))


def test_a_run_that_finished_elsewhere_joins_the_list(session, predict_page):
    jobs = session()
    jobs.start(TINY).join(120)  # e.g. started on the Train page, finished while the visitor was away
    at = predict_page()
    assert not at.exception
    assert len(jobs.runs) == 1 and at.selectbox(key="predict_run").value == 1


def test_thresholds_come_from_and_go_to_the_share_link(with_runs, open_page):
    at = open_page("pages/predict.py", query={"thr": "[0.1,0.9,0.5,0.5,0.3]"})
    assert at.selectbox(key="strategy").value == "manual_per_tag"
    assert at.slider(key="thr_cat").value == pytest.approx(0.9)
    at.slider(key="thr_cat").set_value(0.25).run()
    assert at.query_params["thr"] in ("[0.1,0.25,0.5,0.5,0.3]", ["[0.1,0.25,0.5,0.5,0.3]"])
    at.query_params["thr"] = "[0.9,0.9,0.9,0.9,0.9]"  # a stale address on a later rerun never overrides the sliders
    at.run()
    assert at.slider(key="thr_cat").value == pytest.approx(0.25)
    tampered = open_page("pages/predict.py", query={"thr": "[0.1]"})  # another visitor, a tampered link
    assert any("Share link" in w.value for w in tampered.warning)
    assert tampered.selectbox(key="strategy").value == "fixed_global"


def test_the_server_image_limit_applies(with_runs, monkeypatch, predict_page):
    monkeypatch.setenv("MLC_MAX_IMAGES", "2")
    at = predict_page()
    at.number_input(key="n_samples").set_value(0)
    at.file_uploader(key="uploads").set_value([(f"{i}.png", png(i), "image/png") for i in range(3)]).run()
    assert not at.exception
    assert len(results(at)) == 2
    assert any("1 more file(s) not read: at most 2" in e.value for e in at.error)


# ---------------------------------------------------------------- runs of other data sets
def hand_made_run(config: RunConfig, number: int = 1, n: int = 30):
    """A finished run with an untrained model of its config and hand-made val/test arrays (no data set needed)."""
    from mlc import models
    from mlc.runs import Run

    rng = np.random.default_rng(number)
    run = Run(config, status="finished", number=number)
    run.model = models.build(config.model, config.num_classes, config.image_size)
    for split in ("val", "test"):
        y = (rng.random((n, config.num_classes)) < 0.4).astype(np.float32)
        setattr(run, f"{split}_labels", y)
        setattr(run, f"{split}_probabilities", rng.random(y.shape).astype(np.float32))
    run.report = inference.metrics.report(run.val_labels, run.val_probabilities, classes=config.classes)
    return run


DIGITS = RunConfig(dataset="digits", classes=("3", "7"), image_size=32, test_size=40, epochs=1)


def test_a_digits_run_draws_its_test_split_with_true_tags(session, predict_page, monkeypatch):
    from mlc import datasets

    def fake_splits(config, source=None):  # mlc.digits is not here: the digits split made by hand
        assert config.dataset == "digits" and config.test_size == 40
        y = np.zeros((40, 2), np.float32)
        y[::2, 0] = 1
        y[1::3, 1] = 1
        x = np.full((40, 32, 32, 3), 0.5, np.float32)
        return datasets.DataSplits((x[:1], y[:1]), (x[:1], y[:1]), (x, y), config.classes, "digits")

    monkeypatch.setattr(datasets, "make_splits", fake_splits)
    session([hand_made_run(DIGITS)])
    at = predict_page()
    at.selectbox(key="containing").set_value("7")
    at.number_input(key="n_samples").set_value(4).run()
    assert not at.exception
    table = results(at)
    assert len(table) == 4 and all("7" in t for t in table["true"])
    assert set(table.columns) >= {"3", "7"} and "dog" not in table.columns
    assert all(name.startswith("test image ") for name in table["file"])
    assert any("held-out test split (digits, 40 images)" in c.value for c in at.caption)


OWN = RunConfig(
    dataset="own", classes=("cat", "dog", "car"), image_size=32, test_size=3,
    data_name="pets.zip", data_fingerprint="abc123", epochs=1,
)  # fmt: skip


class OwnImages:
    """The few things of an mlc.imagesets.ImageSet the Predict page reads."""

    fingerprint, tags = "abc123", ("cat", "dog", "car")
    split = np.array(["train", "test", "test", "val", "test"])
    labels = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1], [0, 0, 1]], np.float32)

    def columns(self, classes):
        return [self.tags.index(c) for c in classes]

    def images_at(self, size):
        return np.full((5, size, size, 3), 90, np.uint8)


def test_a_photo_on_an_own_data_run_gets_that_runs_tags_and_its_test_images_need_the_set(session, predict_page):
    session([hand_made_run(OWN)])
    at = predict_page()
    at.file_uploader(key="uploads").set_value([("me.png", png(), "image/png")]).run()
    assert not at.exception and not at.error
    table = results(at)
    assert list(table["file"]) == ["me.png"]
    assert {"cat", "dog", "car"} <= set(table.columns) and "sky" not in table.columns
    assert any("are not here" in i.value and "pets.zip" in i.value for i in at.info)

    at.session_state["own_images"] = {"abc123": OwnImages()}  # the Train page keeps the loaded set here
    at.run()
    assert not at.exception and not any("are not here" in i.value for i in at.info)
    table = results(at)
    assert len(table) == 4  # the upload and the 3 test images
    assert sorted(table["true"][table["source"] == "test"]) == sorted(["cat", "dog, car", "car"])


def test_an_imported_own_data_run_predicts_without_its_images(session, predict_page):
    from mlc import runfiles

    made = hand_made_run(OWN)
    (run,), problems = runfiles.unbundle(runfiles.bundle([made]))
    assert problems == [] and run.val_labels is None and "cannot be re-scored" in run.message
    run.number = 1
    session([run])
    at = predict_page()
    at.file_uploader(key="uploads").set_value([("me.png", png(), "image/png")]).run()
    assert not at.exception and not at.error
    assert list(results(at)["file"]) == ["me.png"] and "car" in results(at).columns
    assert any("validation images are not here" in c.value for c in at.caption)
    assert at.button(key="f1_optimal").disabled


# ---------------------------------------------------------------- strategies, the band, calibration (issue 15)
def with_one_upload(page):
    at = page()
    at.number_input(key="n_samples").set_value(0)
    at.file_uploader(key="uploads").set_value([("scene.png", png(), "image/png")]).run()
    assert not at.exception
    return at


def test_switching_strategy_changes_the_predicted_tags_without_running_the_model(with_runs, predict_page):
    at = with_one_upload(predict_page)
    at.slider(key="thr_all").set_value(1.0).run()  # nothing reaches 1.0
    assert results(at).loc[0, "predicted"] == ""
    calls = session_cache_calls(at)
    at.selectbox(key="strategy").set_value("top_k").run()
    at.number_input(key="sp_top_k_k").set_value(2).run()
    assert not at.exception
    probs = results(at)[CLASSES].to_numpy()[0]
    expected = [CLASSES[i] for i in sorted(np.argsort(-probs, kind="stable")[:2])]
    assert results(at).loc[0, "predicted"] == ", ".join(expected)
    assert session_cache_calls(at) == calls, "a strategy parameter must not run the model again"
    assert at.query_params["strat"] in ("top_k", ["top_k"]) and at.query_params["sp.k"] in ("2", ["2"])
    assert "thr" not in at.query_params


def test_the_band_shows_unsure_tags_apart_and_draws_its_edges(with_runs, predict_page):
    at = with_one_upload(predict_page)
    at.selectbox(key="strategy").set_value("uncertain_band").run()
    at.slider(key="sp_uncertain_band_lo").set_value(0.0).run()
    at.slider(key="sp_uncertain_band_hi").set_value(1.0).run()  # every score is in [0, 1): all unsure
    assert not at.exception
    row = results(at).loc[0]
    assert row["predicted"] == "" and row["unsure"] == ", ".join(CLASSES)
    assert any(m.value.startswith("**unsure:**") and "cat" in m.value for m in at.markdown)
    spec = json.loads(next(s for s in charts(at) if '"unsure"' in s))
    assert [layer["mark"]["type"] for layer in spec["layer"]][-1] == "rule"


def test_a_strategy_link_is_restored_and_a_tampered_parameter_falls_back(with_runs, open_page):
    at = open_page("pages/predict.py", query={"strat": "top_k", "sp.k": "3"})
    assert at.selectbox(key="strategy").value == "top_k" and at.number_input(key="sp_top_k_k").value == 3
    bad = open_page("pages/predict.py", query={"strat": "top_k", "sp.k": "999"})
    assert any("sp.k" in w.value for w in bad.warning)
    assert bad.selectbox(key="strategy").value == "top_k" and bad.number_input(key="sp_top_k_k").value == 1
    unknown = open_page("pages/predict.py", query={"strat": "oracle"})
    assert any("oracle" in w.value for w in unknown.warning)
    assert unknown.selectbox(key="strategy").value == "fixed_global"


def test_the_calibrated_toggle_changes_the_probabilities_and_says_each_tags_temperature(with_runs, predict_page):
    at = with_one_upload(predict_page)
    raw = results(at)[CLASSES].to_numpy()[0]
    at.toggle(key="calibrated_toggle").set_value(True).run()
    assert not at.exception and at.session_state["calibrated"] is True
    calibrated = results(at)[CLASSES].to_numpy()[0]
    assert not np.allclose(raw, calibrated, atol=1e-3)
    assert any(c.value.startswith("Temperature per tag: dog T = ") for c in at.caption)
    at.switch_page("pages/learn.py").run()  # another page: the shared key stays, the widget's own key goes
    assert at.session_state["calibrated"] is True
    at.switch_page("pages/predict.py").run()
    assert at.toggle(key="calibrated_toggle").value is True


def test_a_link_naming_a_manual_strategy_sets_its_sliders(with_runs, open_page):
    at = open_page("pages/predict.py", query={"strat": "manual_per_tag", "sp.t": "[0.1,0.9,0.5,0.5,0.3]"})
    assert at.selectbox(key="strategy").value == "manual_per_tag" and at.slider(key="thr_cat").value == 0.9
    assert at.query_params["thr"] in ("[0.1,0.9,0.5,0.5,0.3]", ["[0.1,0.9,0.5,0.5,0.3]"])


def picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Image")


def test_the_image_picker_always_names_the_image_shown(with_runs, predict_page):
    """Issue 18: test images first, then uploads come in front; the picker must follow, never keep a stale name."""
    at = predict_page()
    assert picker(at).value.startswith("1. test image")
    before = list(results(at)["file"])
    at.file_uploader(key="uploads").set_value(
        [("cat.png", png(1), "image/png"), ("cup.png", png(2), "image/png")]
    ).run()
    assert not at.exception
    files = list(results(at)["file"])
    assert files[:2] == ["cat.png", "cup.png"] and files[2:] == before
    assert picker(at).value == "1. cat.png"  # the first item, which the pictures and the chart show
    shown = results(at).loc[0, "predicted"]  # the chart beside the picker is the cat's: its tags are the cat's
    assert all(tag in predicted_line(at) for tag in shown.split(", ") if tag)
    picker(at).set_value("2. cup.png").run()
    assert picker(at).value == "2. cup.png"
    at.number_input(key="n_samples").set_value(2).run()  # the list changes again: the choice survives by name
    assert picker(at).value == "2. cup.png"


def test_a_photo_on_a_model_of_generated_scenes_gets_the_domain_shift_line(with_runs, predict_page):
    at = predict_page()
    assert not any("only ever seen generated scenes" in i.value for i in at.info)  # test images only: no line
    at.file_uploader(key="uploads").set_value([("cat-photo.png", png(3), "image/png")]).run()
    line = next(i.value for i in at.info if "only ever seen generated scenes" in i.value)
    assert "domain shift" in line and "Your own images" in line
