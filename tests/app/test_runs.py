"""AppTest of the Runs & files page: downloads offered, a bundle and a model file import into
the session (and are usable), bad files get one line each, the run directory keeps runs."""

import time

import pytest

from mlc import runfiles
from mlc.config import RunConfig
from mlc.training import train

TINY = RunConfig(epochs=1, train_size=128, val_size=64, batch_size=32)


@pytest.fixture(scope="module")
def trained():
    runs = [train(TINY), train(TINY.replace(loss="focal"))]
    for i, run in enumerate(runs, start=1):
        run.number = i
    return runs


@pytest.fixture
def runs_page(session, open_page):
    def open_(runs=()):
        jobs = session(runs)
        return open_page("pages/runs.py"), jobs

    return open_


def test_no_runs(runs_page):
    at, _ = runs_page()
    assert any("No runs yet" in i.value for i in at.info)


def test_runs_are_listed_with_downloads(runs_page, trained):
    at, _ = runs_page(trained)
    assert len(at.dataframe[0].value) == 2
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Model (.keras)", "Run (JSON)", "All runs (bundle)"]
    table = at.dataframe[0].value
    assert list(table["data"]) == ["scenes", "scenes"]
    assert list(table["test mAP"]) == pytest.approx([r.test_report["map"] for r in trained])


def test_an_own_data_run_shows_its_data_and_imports_saying_it_cannot_be_re_scored(runs_page, own_data_run):
    run = own_data_run()
    at, _ = runs_page([run])
    assert list(at.dataframe[0].value["data"]) == ["own: pets.zip"]
    at2, jobs = runs_page()
    at2.file_uploader(key="import_files_0").set_value([("pets.zip", runfiles.bundle([run]), "application/zip")]).run()
    at2.button(key="import").click().run()
    assert not at2.exception and not at2.error
    assert any("Imported 1 run(s)" in s.value for s in at2.success)
    assert any("cannot be re-scored" in i.value and "pets.zip" in i.value for i in at2.info)
    assert jobs.runs[0].config.dataset == "own" and jobs.runs[0].model is not None


def test_a_bundle_imports_into_the_session(runs_page, trained):
    at, jobs = runs_page()
    data = runfiles.bundle(trained)
    at.file_uploader(key="import_files_0").set_value([("everyone.zip", data, "application/zip")]).run()
    at.button(key="import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Imported 2 run(s)" in s.value for s in at.success)
    assert [r.config.loss for r in jobs.runs] == ["bce", "focal"]
    assert jobs.runs[0].report["map"] == pytest.approx(trained[0].report["map"], abs=1e-6)
    assert at.file_uploader(key="import_files_1").value in (None, [])  # a fresh uploader: no double import


def test_a_model_file_with_its_json_imports_and_bad_files_get_one_line(runs_page, trained):
    at, jobs = runs_page()
    at.file_uploader(key="import_files_0").set_value(
        [
            ("mine.keras", runfiles.model_file(trained[1]), "application/octet-stream"),
            ("mine.json", runfiles.run_json(trained[1]).encode(), "application/json"),
            ("junk.keras", b"not a model", "application/octet-stream"),
            ("lonely.json", b"{}", "application/json"),
            ("broken.zip", b"PK\x03\x04 not really a zip", "application/zip"),
        ]
    ).run()
    at.button(key="import").click().run()
    assert not at.exception
    assert len(jobs.runs) == 1 and jobs.runs[0].config.loss == "focal"
    errors = [e.value for e in at.error]
    assert any(e.startswith("junk.keras: ") for e in errors) and any(e.startswith("lonely.json: ") for e in errors)
    assert any(e.startswith("broken.zip: ") for e in errors)
    assert all("\n" not in e for e in errors)


def test_the_run_directory_keeps_runs_across_sessions(monkeypatch, tmp_path, open_page, leave):
    monkeypatch.setenv("MLC_RUN_DIR", str(tmp_path / "runs"))
    at = open_page("pages/train.py")
    at.number_input(key="train_size").set_value(96)
    at.number_input(key="val_size").set_value(32)
    at.number_input(key="epochs").set_value(1).run()
    at.button(key="train").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("Run finished" in s.value for s in at.success):
        time.sleep(0.5)
        at.run()
    at.run()
    assert list((tmp_path / "runs").glob("*/model.keras"))
    leave()  # the session ends (or the server restarts): its runs in memory are gone
    fresh = open_page("pages/runs.py")
    assert len(fresh.dataframe[0].value) == 1 and "saved to" in " ".join(m.value for m in fresh.markdown)
