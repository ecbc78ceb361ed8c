"""Tests for :mod:`mlc.runs`: the run record without TensorFlow, its JSON and the runs table.

No training here: runs are built by hand (a config, a status, a few history rows, a report
from :func:`mlc.metrics.report`), so every check is about the record itself.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlc import metrics
from mlc.config import RunConfig
from mlc.runs import (
    BATCH_COLUMNS,
    EPOCH_COLUMNS,
    EVALUATION_COLUMNS,
    RUN_STATUSES,
    Run,
    runs_table,
)
from mlc.states import RunStatus

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras")


def imported_modules(statement: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after ``statement`` runs in a fresh interpreter."""
    code = f"import sys\n{statement}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("statement", ["import mlc.runs", "import mlc", "from mlc.runs import Run, runs_table"])
def test_the_run_record_imports_neither_tensorflow_nor_keras(statement):
    loaded = imported_modules(statement)
    assert "mlc" in loaded
    assert not loaded & set(HEAVY), f"{statement!r} imported {sorted(loaded & set(HEAVY))}"


def test_the_probe_sees_tensorflow_when_it_is_imported():
    # the check above would catch someone importing Keras in mlc.runs
    assert "keras" in imported_modules("import mlc.runs, keras")


def epoch_row(epoch: int, **values) -> dict:
    return {column: float(epoch) for column in EPOCH_COLUMNS} | {"epoch": epoch} | values


def scored_run(**changes) -> Run:
    """A finished run with two epochs of history, batches, an evaluation and a real report."""
    config = RunConfig(epochs=2, train_size=64, val_size=6, batch_size=32)
    y = np.eye(5)[[0, 1, 2, 3, 4, 0]]
    p = np.clip(y * 0.7 + 0.2, 0, 1)
    run = Run(
        config=config,
        status="finished",
        message="all good",
        device="CPU",
        epoch_history=[epoch_row(1, map=float("nan")), epoch_row(2)],
        batch_history=[
            {"epoch": e, "batch": b, "step": 2 * (e - 1) + b, "loss": 0.5, "seconds": 0.25}
            for e in (1, 2)
            for b in (1, 2)
        ],
        evaluations=[{column: 1.0 for column in EVALUATION_COLUMNS}],
        report=metrics.report(y, p, classes=config.classes),
        train_seconds=1.5,
        wall_seconds=2.25,
        samples_seen=128,
    )
    for key, value in changes.items():
        setattr(run, key, value)
    return run


# ---------------------------------------------------------------- status as a type
def test_status_text_becomes_the_enum():
    run = Run(RunConfig(), status="stopped")
    assert run.status is RunStatus.STOPPED and run.status == "stopped"
    assert Run(RunConfig()).status is RunStatus.RUNNING


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown run status 'done'; expected one of: running, finished"):
        Run(RunConfig(), status="done")


def test_run_statuses_is_every_status():
    assert RUN_STATUSES == ("running", "finished", "stopped", "failed", "imported")
    assert all(isinstance(s, RunStatus) for s in RUN_STATUSES)


# ---------------------------------------------------------------- label
@pytest.mark.parametrize(
    "config, number, label",
    [
        (RunConfig(), 0, "bce · lean"),
        (RunConfig(loss="focal", model="linear"), 3, "#3 focal · linear"),
        (RunConfig(loss="weighted_bce", weighting="positive"), 2, "#2 weighted_bce (positive) · lean"),
    ],
)
def test_label_names_number_loss_weighting_and_model(config, number, label):
    assert Run(config, number=number).label == label


@pytest.mark.parametrize(
    "changes, tail",
    [
        ({"cooccur_tag": "house", "cooccur_with": "tree"}, " · shortcut house~tree"),
        ({"missing_positives": 0.3}, " · missing 30%"),
        ({"missing_positives": 0.25, "missing_as": "unknown"}, " · missing 25% as unknown"),
        ({"single_positive": True}, " · single positive"),
        ({"label_noise": 0.1}, " · noise 10%"),
        (
            {"cooccur_tag": "cat", "cooccur_with": "sky", "missing_positives": 0.5, "label_noise": 0.02},
            " · shortcut cat~sky · missing 50% · noise 2%",
        ),
    ],
)
def test_label_names_the_scenario_after_the_model(changes, tail):
    assert Run(RunConfig(**changes), number=4).label == "#4 bce · lean" + tail
    assert Run(RunConfig(dataset="digits", label_noise=0.1), number=1).label == "#1 bce · lean · digits · noise 10%"


# ---------------------------------------------------------------- JSON
def test_json_round_trip_keeps_the_record():
    run = scored_run()
    again = Run.from_json(run.to_json())
    assert again.config == run.config and again.status is RunStatus.FINISHED
    assert (again.message, again.device, again.samples_seen) == ("all good", "CPU", 128)
    assert (again.train_seconds, again.wall_seconds) == (1.5, 2.25)
    assert again.batch_history == run.batch_history and again.evaluations == run.evaluations
    assert math.isnan(again.epoch_history[0]["map"])  # NaN -> null in JSON -> NaN again
    assert again.epoch_history[1] == run.epoch_history[1]
    assert again.report["map"] == pytest.approx(run.report["map"])
    assert again.id != run.id and again.model is None and again.val_probabilities is None
    assert json.loads(again.to_json()) == json.loads(run.to_json())


def test_summary_is_plain_json_text():
    summary = scored_run().summary()
    assert type(summary["status"]) is str and summary["status"] == "finished"
    assert summary["epochs_done"] == 2 and summary["steps"] == 4
    assert summary["samples_per_second"] == pytest.approx(128 / 1.5, abs=0.05)


def test_to_json_turns_non_finite_numbers_into_null():
    run = Run(config=RunConfig(), status="finished")
    run.epoch_history = [{"epoch": 1, "loss": float("nan"), "map": float("inf"), "mae": 0.5}]
    run.report = {"macro_f1": float("-inf"), "per_tag": [{"f1": float("nan")}]}
    text = run.to_json()
    for token in ("NaN", "Infinity"):
        assert token not in text
    record = json.loads(text)
    assert record["history"][0] == {"epoch": 1, "loss": None, "map": None, "mae": 0.5}
    assert record["report"]["per_tag"][0]["f1"] is None


@pytest.mark.parametrize("status", RUN_STATUSES)
def test_records_with_status_text_load(status):
    record = {"config": {}, "summary": {"status": status}}
    assert Run.from_dict(record).status is RunStatus(status)


def test_a_minimal_record_loads_with_defaults():
    run = Run.from_dict({"config": {"epochs": 3}})
    assert run.config == RunConfig(epochs=3) and run.status is RunStatus.FINISHED
    assert run.epoch_history == run.batch_history == run.evaluations == [] and run.report is None
    assert (run.device, run.train_seconds, run.samples_seen) == ("CPU", 0.0, 0)


def test_older_records_without_a_sample_count_recover_it_from_the_speed():
    run = Run.from_dict({"config": {}, "summary": {"train_seconds": 2.0, "samples_per_second": 50.0}})
    assert run.samples_seen == 100 and run.samples_per_second == 50.0


def test_odd_summary_values_are_tamed():
    summary = {"device": ["gpu"], "message": "a\nb " * 200, "train_seconds": -1, "wall_seconds": "long"}
    run = Run.from_dict({"config": {}, "summary": summary})
    assert run.device == "CPU" and "\n" not in run.message and len(run.message) <= 300
    assert run.train_seconds == run.wall_seconds == 0.0


@pytest.mark.parametrize(
    "record, match",
    [
        ([], "a run record is a mapping with a 'config'"),
        ({"summary": {}}, "a run record is a mapping with a 'config'"),
        ({"config": {"epochs": 0}}, "the config is invalid: ValueError: epochs must be a whole number from 1 to 500"),
        ({"config": {}, "summary": [1]}, "'summary' must be a JSON object, got a list"),
        ({"config": {}, "summary": {"status": "fin\nished"}}, r"unknown run status 'fin\\nished'"),
        ({"config": {}, "report": "good"}, "'report' must be a JSON object or null, got a string"),
        ({"config": {}, "history": {}}, "'history' must be a list of rows, got a object"),
        ({"config": {}, "batch_history": [[1]]}, "batch_history row 1 must be a JSON object, got a list"),
        ({"config": {}, "evaluations": [{"map": True}]}, "evaluations row 1: 'map' must be a number, got True"),
    ],
)
def test_bad_records_are_refused_naming_the_field(record, match):
    with pytest.raises(ValueError, match=match):
        Run.from_dict(record)


def test_history_rows_keep_exactly_their_columns():
    run = Run.from_dict({"config": {}, "batch_history": [{"epoch": 1, "loss": None, "extra": "x"}]})
    (row,) = run.batch_history
    assert tuple(row) == BATCH_COLUMNS and row["epoch"] == 1
    assert all(math.isnan(row[c]) for c in BATCH_COLUMNS if c != "epoch")


# ---------------------------------------------------------------- runs table
def test_runs_table_has_one_row_per_run():
    first = scored_run()
    second = scored_run(config=RunConfig(loss="weighted_bce", model="linear"), status="stopped", number=7)
    second.report = None
    rows = runs_table([first, second])
    assert [r["run"] for r in rows] == [1, 7]  # position when unnumbered, else the session number
    assert [r["loss"] for r in rows] == ["bce", "weighted_bce (tag)"]
    assert [r["model"] for r in rows] == ["lean", "linear"]
    assert [r["status"] for r in rows] == ["finished", "stopped"] and type(rows[1]["status"]) is str
    assert rows[0]["epochs"] == 2 and rows[0]["train s"] == 1.5 and rows[0]["device"] == "CPU"
    assert rows[0]["mAP"] == first.report["map"] and rows[0]["macro F1"] == first.report["macro_f1"]
    rare = int(np.argmin(first.config.prevalence))  # cat, 5 %
    assert rows[0]["rare-tag recall"] == first.report["per_tag"][rare]["recall"]
    assert rows[1]["mAP"] is None and rows[1]["rare-tag recall"] is None
    assert [r["data"] for r in rows] == ["scenes", "scenes"]
    assert rows[0]["test mAP"] is None  # a run without a test split


def test_runs_table_names_the_data_set_and_the_test_map():
    digits = scored_run(config=RunConfig(dataset="digits", classes=("1", "2", "3")))
    digits.test_report = {"map": 0.75}
    own = scored_run(config=RunConfig(dataset="own", classes=("a", "b"), data_name="pets.zip"), number=2)
    rows = runs_table([digits, own])
    assert [r["data"] for r in rows] == ["digits", "own: pets.zip"]
    assert [r["test mAP"] for r in rows] == [0.75, None]
    assert list(rows[0])[:3] == ["run", "data", "loss"]


def test_runs_table_of_no_runs_is_empty():
    assert runs_table([]) == []


def test_save_without_model_writes_only_run_json(tmp_path):
    run = Run(config=RunConfig(), status="failed", message="x")
    paths = run.save(tmp_path)
    assert set(paths) == {"run"} and not (tmp_path / "model.keras").exists()
    assert Run.from_json(paths["run"].read_text()).message == "x"
