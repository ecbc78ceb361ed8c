"""Tests for mlc.rerun_clock: the server-side clock of page script runs, its percentiles and its log."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from mlc.rerun_clock import LOG_ENV, RerunClock, log_summary, percentile, read_log, summarize


@pytest.mark.parametrize("q", [0, 5, 50, 90, 95, 100])
@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [0.4, 0.1, 0.9, 0.3, 7.0, 0.2]])
def test_percentile_agrees_with_numpy(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_nothing_is_none_and_q_is_checked():
    assert percentile([], 95) is None
    with pytest.raises(ValueError, match=r"q must be a percentile in \[0, 100\], got 101"):
        percentile([1.0], 101)


def test_summary_of_nothing_has_no_figures():
    assert summarize([]) == {"count": 0, "p50": None, "p95": None, "max": None}


def test_the_ring_keeps_the_newest_runs_per_page():
    clock = RerunClock(size=4)
    for i, page in enumerate(["home", "train", "home", "train", "learn", "train"]):
        clock.record(page, i / 10)
    assert clock.durations() == [0.2, 0.3, 0.4, 0.5]
    assert clock.durations("train") == [0.3, 0.5]
    assert clock.pages() == ["home", "train", "learn"]
    assert clock.summary("train")["count"] == 2
    clock.clear()
    assert clock.durations() == [] and clock.summary()["p95"] is None


@pytest.mark.parametrize("size", [0, -1, 1.5, "8"])
def test_a_size_that_cannot_hold_runs_is_refused(size):
    with pytest.raises(ValueError, match="size must be a whole number >= 1"):
        RerunClock(size=size)


def test_an_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome must be one of ok, rerun, stop, error, got 'done'"):
        RerunClock().record("home", 0.1, outcome="done")


class RerunException(Exception):
    """Named as Streamlit's: the clock recognises its control-flow exceptions by name."""


class StopException(Exception):
    pass


@pytest.mark.parametrize(
    "exc, outcome", [(RerunException(), "rerun"), (StopException(), "stop"), (KeyError("x"), "error")]
)
def test_timing_records_how_a_run_ended_and_lets_the_exception_through(tmp_path, exc, outcome):
    clock = RerunClock(log_path=tmp_path / "runs.jsonl")
    with pytest.raises(type(exc)):
        with clock.timing("learn"):
            raise exc
    assert len(clock.durations("learn")) == 1
    (record,) = read_log(tmp_path / "runs.jsonl")
    assert record["page"] == "learn" and record["outcome"] == outcome and record["seconds"] >= 0


def test_the_log_gets_one_json_line_per_run_and_reads_back(tmp_path):
    path = tmp_path / "runs.jsonl"
    clock = RerunClock(log_path=path)
    with clock.timing("home"):
        pass
    clock.record("train", 0.25)
    lines = path.read_text().splitlines()
    assert [json.loads(line)["page"] for line in lines] == ["home", "train"]
    records = read_log(path)
    assert [r["seconds"] for r in records][1] == 0.25
    assert read_log(path, since=records[1]["t"]) == records[1:]


def test_a_damaged_or_missing_log_reads_as_what_can_be_read(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"page": "home", "seconds": 0.5, "outcome": "ok", "t": 1}\nnot json\n[1]\n{"page": "x"}\n')
    assert read_log(path) == [{"page": "home", "seconds": 0.5, "outcome": "ok", "t": 1}]
    assert read_log(tmp_path / "missing.jsonl") == []


def test_lines_from_many_threads_never_interleave(tmp_path):
    path = tmp_path / "runs.jsonl"
    clock = RerunClock(size=10_000, log_path=path)

    def work(page):
        for _ in range(200):
            clock.record(page, 0.001)

    threads = [threading.Thread(target=work, args=(f"page{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read_log(path)) == 1600 == len(clock.durations())


def test_the_environment_names_the_log(tmp_path):
    assert RerunClock.from_env({LOG_ENV: str(tmp_path / "r.jsonl")}).log_path == tmp_path / "r.jsonl"
    assert RerunClock.from_env({LOG_ENV: "  "}).log_path is None


def test_log_summary_is_per_page_and_keeps_only_the_asked_outcomes():
    records = [
        {"page": "train", "seconds": 0.1, "outcome": "ok"},
        {"page": "train", "seconds": 0.3, "outcome": "ok"},
        {"page": "home", "seconds": 0.2, "outcome": "ok"},
        {"page": "train", "seconds": 5.0, "outcome": "stop"},
    ]
    summary = log_summary(records)
    assert summary["all"]["count"] == 3 and summary["train"]["max"] == 0.3 and summary["home"]["p50"] == 0.2
    assert log_summary(records, outcomes=("ok", "stop"))["train"]["count"] == 3


def test_the_log_holds_the_script_threads_cpu_time_and_summarises_it(tmp_path):
    path = tmp_path / "runs.jsonl"
    clock = RerunClock(log_path=path)
    with clock.timing("train"):
        sum(i * i for i in range(200_000))  # some work of this thread's own
    clock.record("train", 0.5)  # a run recorded without it
    first, second = read_log(path)
    assert 0 < first["cpu_seconds"] <= first["seconds"] + 0.05 and "cpu_seconds" not in second
    assert log_summary(read_log(path), field="cpu_seconds")["train"]["count"] == 1
