"""AppTest of the Train page: defaults render, settings flow into the config,
invalid tags block training with a message, and a tiny real run completes."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from mlc import run_summary
from mlc.config import RunConfig, tag_rows
from mlc.training import runs_table


@pytest.fixture
def train_page(open_page):
    return lambda: open_page("pages/train.py")


def shown_config(at: AppTest) -> RunConfig:
    blocks = [c.value for c in at.code if c.language == "json"]
    assert blocks, "the Config (JSON) expander is missing"
    return RunConfig.from_dict(json.loads(blocks[0]))


def button(at: AppTest, key: str):
    return at.button(key=key)


def test_renders_with_defaults_and_train_enabled(train_page):
    at = train_page()
    assert [t.value for t in at.title] == ["Train"]
    assert shown_config(at) == RunConfig()
    assert not button(at, "train").disabled
    assert button(at, "stop").disabled
    assert not at.error
    # the GPU choice is visible with a reason on a CPU-only machine
    assert any("unavailable" in c.value for c in at.caption)


def test_loss_mode_and_weights_update_the_config(train_page):
    at = train_page()
    at.selectbox(key="loss").set_value("weighted_bce").run()
    assert shown_config(at).loss == "weighted_bce"
    button(at, "fill_ratio").click().run()
    cfg = shown_config(at)
    assert cfg.weights[1] == pytest.approx(19.0)  # cat: (1 - 0.05) / 0.05
    at.radio(key="weighting").set_value("positive").run()
    cfg = shown_config(at)
    assert cfg.weighting == "positive" and cfg.loss_kwargs()["weighting"] == "positive"
    button(at, "fill_ones").click().run()
    assert shown_config(at).weights == (1.0,) * 5


def test_focal_parameters_come_from_the_registry(train_page):
    at = train_page()
    at.selectbox(key="loss").set_value("focal").run()
    at.number_input(key="loss_param_focal_gamma").set_value(1.5).run()
    assert shown_config(at).loss_params == {"gamma": 1.5, "alpha": None}


def test_mse_switches_to_soft_labels_and_says_so(train_page):
    at = train_page()
    at.selectbox(key="loss").set_value("mse").run()
    assert shown_config(at).soft_labels is True
    assert any("soft labels" in i.value for i in at.info)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"weight": -1.0}, "weight must be a finite number >= 0"),
        ({"weight": float("nan")}, "weight must be a finite number >= 0, got empty"),
        ({"tag": ""}, "the tag name is empty"),
        ({"tag": "dog"}, "repeats row 1"),
        ({"prevalence": 2.0}, "prevalence must be a finite number in \\[0, 1\\]"),
    ],
)
def test_invalid_tags_block_training_with_a_message(change, message, train_page):
    at = train_page()
    rows = tag_rows(RunConfig())
    rows[1] = {**rows[1], **change}
    at.session_state["tag_rows"] = rows
    at.session_state["tag_table_version"] = 99  # a fresh editor shows the rows
    at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(__import__("re").search(message, e) for e in errors), errors
    assert button(at, "train").disabled


def test_tiny_real_training_completes_with_history(session, train_page):
    jobs = session()
    at = train_page()
    at.number_input(key="train_size").set_value(64)
    at.number_input(key="val_size").set_value(32)
    at.number_input(key="epochs").set_value(2)
    at.number_input(key="batch_size").set_value(32).run()
    assert shown_config(at).train_size == 64
    button(at, "train").click().run()
    assert not at.exception
    assert jobs.job is not None and jobs.job.join(120), "the run did not finish in 120 s"
    at.run()  # the fragment shows the summary and collects the run
    assert not at.exception, [e.value for e in at.exception]
    at.run()
    # the run is kept in the session's run list, and the page shows its summary and row
    assert len(jobs.runs) == 1
    run = jobs.runs[0]
    assert run.status == "finished" and len(run.epoch_history) == 2
    assert [m.label for m in at.metric] == [h.label for h in run_summary.headlines(run)]
    columns = list(runs_table(jobs.runs)[0])
    assert [len(d.value) for d in at.dataframe if list(d.value.columns) == columns] == [1]
    assert not button(at, "train").disabled


def test_weight_fill_for_a_tag_that_never_occurs_explains_instead_of_crashing(train_page):
    at = train_page()
    rows = tag_rows(RunConfig())
    rows[1] = {**rows[1], "prevalence": 0.0}
    at.session_state["tag_rows"] = rows
    at.session_state["tag_table_version"] = 99
    at.run()
    at.button(key="fill_ratio").click().run()
    assert not at.exception
    assert any("Cannot fill the weights" in e.value and "never" in e.value for e in at.error)
    assert shown_config(at).weights == (1.0,) * 5  # nothing lost


def test_too_many_tags_and_an_empty_table_are_refused_with_a_message(train_page):
    at = train_page()
    for rows, message in (
        ([{"tag": f"t{i}", "prevalence": 0.1, "weight": 1.0} for i in range(21)], "at most 20 tags"),
        ([], "the tags table is empty"),
    ):
        at.session_state["tag_rows"] = rows
        at.session_state["tag_table_version"] = at.session_state["tag_table_version"] + 1
        at.run()
        assert not at.exception
        assert any(message in e.value for e in at.error)
        assert at.button(key="train").disabled


def test_twenty_custom_tags_render_and_reach_the_config(train_page):
    at = train_page()
    at.session_state["tag_rows"] = [{"tag": f"glyph {i}", "prevalence": 0.2, "weight": 1.0} for i in range(20)]
    at.session_state["tag_table_version"] = 99
    at.run()
    assert not at.exception and not at.error
    assert shown_config(at).classes == tuple(f"glyph {i}" for i in range(20))
    assert not at.button(key="train").disabled


def test_a_queued_run_waits_visibly_then_trains(train_page, monkeypatch):
    import threading

    import mlc.ui

    monkeypatch.setenv("MLC_MAX_CONCURRENT_TRAININGS", "1")
    mlc.ui.training_slots.clear()
    try:
        slots = mlc.ui.training_slots()  # the server-wide slots the page uses
        held = threading.Event()
        assert slots.acquire("someone-else", held)
        at = train_page()
        at.number_input(key="train_size").set_value(64)
        at.number_input(key="val_size").set_value(32)
        at.number_input(key="epochs").set_value(1)
        at.number_input(key="batch_size").set_value(32).run()
        button(at, "train").click().run()
        deadline = time.monotonic() + 30
        while not any("Waiting for a free training slot" in i.value for i in at.info):
            assert time.monotonic() < deadline, [i.value for i in at.info]
            time.sleep(0.3)
            at.run()
        # in line there is nothing to chart yet: the place in line and one line of text, no empty charts
        assert any("curves start with the first batch" in c.value for c in at.caption)
        charts_in_line = len(at.get("vega_lite_chart"))  # the data summary's, none of the run's
        slots.release("someone-else")
        deadline = time.monotonic() + 120
        while not any("Run finished" in s.value for s in at.success):
            assert time.monotonic() < deadline
            time.sleep(0.5)
            at.run()
        assert not at.exception
        assert len(at.get("vega_lite_chart")) >= charts_in_line + 2  # the run's loss and metric curves
    finally:
        mlc.ui.training_slots.clear()


def test_repeat_over_three_seeds_trains_three_runs_one_after_another(session, train_page, two_runs):
    """A fake trainer (a copy of a real run per seed, each held until its gate opens): three runs, "seed n of 3"."""
    import copy
    import threading

    gates: dict[int, threading.Event] = {}

    def fake(config, *, on_progress=None, stop_event=None):
        gates.setdefault(config.seed, threading.Event()).wait(30)
        run = copy.copy(two_runs[0])
        run.config, run.number = config, None
        return run

    jobs = session()
    jobs.trainer = fake
    at = train_page()
    seed = shown_config(at).seed
    button(at, "repeat_seeds").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert jobs.series == (1, 3)
    assert any(f"seed 1 of 3** (seed {seed})" in c.value for c in at.caption)
    for n in (1, 2, 3):
        gates.setdefault(seed + n - 1, threading.Event()).set()
        assert jobs.job.join(30)
        at.run()  # the fragment collects the run and starts the next seed
        assert not at.exception, [e.value for e in at.exception]
        if n < 3:
            assert any(f"seed {n + 1} of 3** (seed {seed + n})" in c.value for c in at.caption)
    assert [r.config.seed for r in jobs.runs] == [seed, seed + 1, seed + 2]
    assert jobs.series is None and not button(at, "repeat_seeds").disabled


def test_the_training_time_is_promised_only_once_measured_here(monkeypatch, train_page):
    from mlc import speed

    monkeypatch.setattr(speed, "BOOK", speed.SpeedBook())
    at = train_page()
    start = [i.value for i in at.info if "Press **Train**" in i.value]
    assert start and "train in" not in start[0]  # nothing measured on this server: no time promised
    speed.BOOK.record_gflops(speed.REFERENCE_GFLOPS)
    at.run()
    start = [i.value for i in at.info if "Press **Train**" in i.value][0]
    assert "The defaults train in about" in start and "on this server (from its measured compute speed)" in start
