"""mlc.run_transfer: uploaded files import by their suffix, each bad file is one line, runs join the session."""

import dataclasses

import pytest

from mlc import run_transfer, runfiles
from mlc.config import RunConfig
from mlc.jobs import SessionJobs
from mlc.training import train

TINY = RunConfig(epochs=1, train_size=96, val_size=64, batch_size=32)


@pytest.fixture(scope="module")
def trained():
    other = RunConfig(epochs=1, train_size=96, val_size=64, batch_size=32, loss="focal", classes=("boat", "sun"))
    first, second = train(TINY), train(other)
    first.number, second.number = 1, 2
    return first, second


def test_a_bundle_imports_every_run(trained):
    runs, problems = run_transfer.import_files([("all.zip", runfiles.bundle(list(trained)))], fallback=RunConfig())
    assert problems == [] and [r.config.loss for r in runs] == ["bce", "focal"]


def test_a_model_file_takes_its_run_json_of_the_same_name(trained):
    run = trained[1]
    files = [("mine.keras", runfiles.model_file(run)), ("mine.json", runfiles.run_json(run).encode())]
    runs, problems = run_transfer.import_files(files, fallback=RunConfig())
    assert problems == [] and runs[0].config.classes == ("boat", "sun")


def test_without_its_run_json_a_model_file_takes_the_fallback_config(trained):
    fallback = RunConfig(classes=("boat", "sun"))
    runs, problems = run_transfer.import_files([("m.keras", runfiles.model_file(trained[1]))], fallback=fallback)
    assert problems == [] and runs[0].config.classes == fallback.classes


def test_suffixes_are_read_case_insensitively(trained):
    runs, problems = run_transfer.import_files([("ALL.ZIP", runfiles.bundle([trained[0]]))], fallback=None)
    assert len(runs) == 1 and problems == []


def test_each_bad_file_is_one_line_and_the_others_still_import(trained):
    files = [
        ("junk.keras", b"not a model"),
        ("lonely.json", b"{}"),
        ("broken.zip", b"PK\x03\x04 not really a zip"),
        ("good.keras", runfiles.model_file(trained[0])),
        ("notes.txt", b"ignored: not a kind of run file"),
    ]
    runs, problems = run_transfer.import_files(files, fallback=RunConfig())
    assert len(runs) == 1
    assert [p.split(": ", 1)[0] for p in problems] == ["junk.keras", "lonely.json", "broken.zip"]
    assert all("\n" not in p for p in problems)


def test_add_to_session_numbers_the_runs_and_refuses_unscored_ones(trained):
    jobs = SessionJobs()
    unscored = dataclasses.replace(trained[1], report=None)
    added, problems = run_transfer.add_to_session(jobs, [trained[0], unscored])
    assert added == [trained[0]] and jobs.runs == [trained[0]] and added[0].number == 1
    assert len(problems) == 1 and "no validation report" in problems[0]
    jobs.close()
    added, problems = run_transfer.add_to_session(jobs, [trained[1]])
    assert added == [] and "session has ended" in problems[0]


def test_downloads_of_a_run_and_the_bundle(trained):
    run = trained[1]
    files = run_transfer.downloads(run, list(trained))
    assert [d.key for d in files] == ["download_model", "download_json", "download_bundle"]
    model, record, bundle = files
    assert model.file_name == f"run{run.number}-focal-lean.keras" and record.file_name.endswith(".json")
    assert not any(d.disabled for d in files)
    assert model.data()[:2] == b"PK"  # a .keras file is a zip
    assert record.data() == runfiles.run_json(run)
    runs, problems = run_transfer.import_files([("b.zip", bundle.data())], fallback=None)
    assert problems == [] and len(runs) == 2


def test_without_models_the_model_and_bundle_downloads_are_off(trained):
    no_model = dataclasses.replace(trained[0], model=None)
    model, record, bundle = run_transfer.downloads(no_model, [no_model])
    assert model.disabled and bundle.disabled and not record.disabled


# ---------------------------------------------------------------- own images: the run travels, the images do not


def test_an_own_data_run_exports_imports_and_still_predicts_without_its_images(own_data_run):
    import io
    import json
    import zipfile

    import numpy as np

    from mlc import evaluation, inference
    from mlc.runs import runs_table

    run = own_data_run()
    data = runfiles.bundle([run])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        entry = json.loads(zf.read("manifest.json"))["runs"][0]
        record = json.loads(zf.read("run-3/run.json"))
    assert entry["dataset"] == "own" and entry["data_name"] == "pets.zip"
    assert record["config"]["dataset"] == "own" and record["config"]["data_fingerprint"] == "abc123"
    assert record["test_report"]["map"] == pytest.approx(run.test_report["map"])

    (back,), problems = run_transfer.import_files([("pets-runs.zip", data)], fallback=RunConfig())
    assert problems == []
    assert back.status == "imported" and "cannot be re-scored" in back.message and "pets.zip" in back.message
    assert back.config.classes == ("cat", "dog", "car") and back.config.data_fingerprint == "abc123"
    assert back.report["map"] == pytest.approx(run.report["map"])  # the recorded numbers, kept as they were
    assert back.val_probabilities is None and back.test_probabilities is None  # nothing pretends to be re-scored
    assert evaluation.evaluable_runs([back]) == []
    assert runs_table([back])[0]["data"] == "own: pets.zip"

    # ... and it predicts: an upload gets this run's three tags, the same numbers as the original model
    photo = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    items = [inference.Item(f"photo {i}", "upload", f"k{i}", photo[i]) for i in range(2)]
    probs = inference.ProbabilityCache().probabilities(back, items)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs, inference.ProbabilityCache().probabilities(run, items), atol=1e-5)
    table = inference.results_table(items, probs, list(back.config.classes), np.full(3, 0.5))
    assert {"cat", "dog", "car"} <= set(table.columns)
    with pytest.raises(inference.HeldOutImagesMissing, match="pets.zip"):
        inference.held_out_images(back.config)
