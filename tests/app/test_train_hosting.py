"""AppTest of the Train page as a hosted, shared page: share links restore the settings
(tampered fields fall back with a note), the page writes its settings into the address,
settings survive a visit to another page, server limits block Train, workshop mode."""

import json

import pytest
from streamlit.testing.v1 import AppTest

import mlc.ui
from mlc import share
from mlc.config import RunConfig


@pytest.fixture
def open_train(open_page):
    return lambda query=None: open_page("pages/train.py", query=query)


def shown_config(at: AppTest) -> RunConfig:
    blocks = [c.value for c in at.code if c.language == "json"]
    return RunConfig.from_dict(json.loads(blocks[0]))


def test_a_share_link_restores_the_settings(open_train):
    config = RunConfig(
        loss="focal",
        loss_params={"gamma": 1.5, "alpha": 0.25},
        epochs=3,
        model="seed_cnn",
        classes=("boat", "sun"),
        prevalence=(0.5, 0.1),
        learning_rate=0.001,
    )
    at = open_train(share.to_query(config))
    assert shown_config(at) == config
    assert not at.warning
    assert at.number_input(key="loss_param_focal_gamma").value == 1.5


def test_a_tampered_link_falls_back_field_by_field_with_a_note(open_train):
    at = open_train({"epochs": "lots", "loss": "focal", "p.gamma": "-4", "x": "1"})
    cfg = shown_config(at)
    assert cfg.loss == "focal" and cfg.epochs == RunConfig().epochs
    assert cfg.make_loss().get_config()["gamma"] == 2.0  # the default
    notes = [w.value for w in at.warning]
    assert any("epochs='lots'" in n for n in notes) and any("p.gamma='-4'" in n for n in notes)
    assert any("unknown parameter 'x'" in n for n in notes)
    assert not at.error


def test_the_page_writes_its_settings_into_the_address(open_train):
    at = open_train()
    at.number_input(key="epochs").set_value(4).run()
    assert at.query_params.get("epochs") in ("4", ["4"])
    links = [c.value for c in at.code if "?" in c.value and c.language != "json"]
    assert links and "epochs=4" in links[0], [(c.language, c.value[:80]) for c in at.code]


def test_settings_survive_a_visit_to_another_page(open_train):
    at = open_train()
    at.selectbox(key="loss").set_value("weighted_bce").run()
    at.number_input(key="epochs").set_value(3).run()
    at.switch_page("pages/learn.py").run()
    at.switch_page("pages/train.py").run()
    cfg = shown_config(at)
    assert cfg.loss == "weighted_bce" and cfg.epochs == 3


def test_server_limits_block_training_with_a_message(monkeypatch, open_train):
    monkeypatch.setenv("MLC_MAX_EPOCHS", "5")
    at = open_train()
    assert any("this server allows at most 5 (MLC_MAX_EPOCHS)" in e.value for e in at.error)
    assert at.button(key="train").disabled
    at.number_input(key="epochs").set_value(5).run()
    assert not at.error and not at.button(key="train").disabled


def test_a_bad_server_setting_is_reported_and_defaults_apply(monkeypatch, open_train):
    monkeypatch.setenv("MLC_MAX_EPOCHS", "zero")
    at = open_train()
    assert any("MLC_MAX_EPOCHS must be a whole number" in e.value for e in at.error)
    assert not at.button(key="train").disabled


def test_every_bad_server_setting_is_shown_and_the_others_apply(monkeypatch, open_train):
    monkeypatch.setenv("MLC_MAX_EPOCHS", "zero")
    monkeypatch.setenv("MLC_MAX_CONCURRENT_TRAININGS", "100")
    monkeypatch.setenv("MLC_MAX_TRAIN_SIZE", "500")
    mlc.ui.training_slots.clear()
    try:
        at = open_train()  # a bad setting is shown on the page, never raised at page load
        shown = " ".join(e.value for e in at.error)
        assert "MLC_MAX_EPOCHS must be a whole number from 1 to 500, got 'zero'" in shown
        assert "MLC_MAX_CONCURRENT_TRAININGS must be a whole number from 1 to 64, got 100" in shown
        assert mlc.ui.host_settings().max_train_size == 500  # the good one applies
        assert mlc.ui.training_slots().limit == mlc.ui.host_settings().max_concurrent_trainings == 2
        assert len(mlc.ui.host_settings_problems()) == 2
    finally:
        mlc.ui.training_slots.clear()


def test_the_training_slots_follow_the_host_setting(monkeypatch, open_train):
    monkeypatch.setenv("MLC_MAX_CONCURRENT_TRAININGS", "3")
    mlc.ui.training_slots.clear()
    try:
        open_train()
        assert mlc.ui.training_slots().limit == 3
    finally:
        mlc.ui.training_slots.clear()


def test_workshop_mode_hides_advanced_controls(monkeypatch, open_train):
    monkeypatch.setenv("MLC_WORKSHOP_MODE", "1")
    at = open_train()
    keys = {w.key for w in at.selectbox} | {w.key for w in at.number_input} | {w.key for w in at.slider}
    assert {"loss", "model", "epochs", "train_size"} <= keys
    assert not keys & {"device", "batch_size", "lr_schedule", "seed", "label_noise"}
    assert not [c for c in at.code if c.language == "json"]
    assert not at.button(key="train").disabled


def test_a_stale_address_on_a_later_rerun_never_overrides_the_visitor(open_train):
    at = open_train({"epochs": "3"})
    at.number_input(key="epochs").set_value(5).run()
    at.query_params["epochs"] = "3"  # the browser had not caught up with the page's new address yet
    at.run()
    assert shown_config(at).epochs == 5
