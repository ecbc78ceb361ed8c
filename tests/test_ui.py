"""The pure parts of mlc.ui that map loss parameters to widget keys (the rest is drawn; see tests/app)."""

import pytest

from mlc import losses, ui
from mlc.loss_params import TAG_TABLE_PARAMS


def test_keys_name_the_loss_and_the_parameter():
    assert ui.loss_param_key("asl", "clip") == "loss_param_asl_clip"
    assert ui.loss_param_key("asl", "clip", key_prefix="calc") == "calc_asl_clip"
    assert len({ui.loss_param_key(loss, name) for loss in losses.LOSSES for name in losses.params(loss)}) == sum(
        len(losses.params(loss)) for loss in losses.LOSSES
    )


@pytest.mark.parametrize("loss", list(losses.LOSSES))
def test_state_shows_every_parameter_value_and_each_optional_switch(loss):
    specs = {k: s for k, s in losses.params(loss).items() if k not in TAG_TABLE_PARAMS}
    values = {k: (s.default if s.kind == "choice" else 0.5) for k, s in specs.items()}
    state = ui.loss_param_state(loss, values)
    for name, spec in specs.items():
        assert state[ui.loss_param_key(loss, name)] == values[name]
        if spec.optional:
            assert state[ui.loss_param_key(loss, name) + "_on"] is True


def test_an_optional_parameter_that_is_off_keeps_its_last_value():
    state = ui.loss_param_state("focal", {"gamma": 2.0, "alpha": None})
    assert state == {"loss_param_focal_gamma": 2.0, "loss_param_focal_alpha_on": False}


# ---------------------------------------------------------------- the page run
class FakePage:
    """What run_page needs of ``st.navigation``'s page: its address and ``run``."""

    def __init__(self, url_path: str, error: Exception | None = None):
        self.url_path, self.error, self.ran = url_path, error, 0

    def run(self):
        self.ran += 1
        if self.error is not None:
            raise self.error


def test_run_page_runs_the_page_once_and_times_it(tmp_path):
    from mlc.rerun_clock import RerunClock, read_log

    clock = RerunClock(log_path=tmp_path / "runs.jsonl")
    home, train = FakePage(""), FakePage("train")
    ui.run_page(home, clock)
    ui.run_page(train, clock)
    assert home.ran == train.ran == 1
    assert clock.pages() == ["home", "train"]
    assert [(r["page"], r["outcome"]) for r in read_log(tmp_path / "runs.jsonl")] == [("home", "ok"), ("train", "ok")]


def test_a_failing_page_is_timed_and_its_error_goes_through():
    from mlc.rerun_clock import RerunClock

    clock = RerunClock()
    with pytest.raises(KeyError):
        ui.run_page(FakePage("learn", KeyError("x")), clock)
    assert len(clock.durations("learn")) == 1


def test_no_warm_up_outside_a_real_server(monkeypatch):
    from mlc.rerun_clock import RerunClock

    started = []
    monkeypatch.setattr(ui, "_tensorflow_warmup", lambda: started.append(1))
    ui.run_page(FakePage(""), RerunClock())
    assert not started  # tests (and AppTest) import TensorFlow themselves, when they need it
