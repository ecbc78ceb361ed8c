"""AppTest of the Train page's "Label problems" expander: the knobs reach the config, a refusing loss is named."""

import json

import pytest

from mlc.config import RunConfig


@pytest.fixture
def train_page(open_page):
    return lambda: open_page("pages/train.py")


def shown_config(at) -> RunConfig:
    return RunConfig.from_dict(json.loads([c.value for c in at.code if c.language == "json"][0]))


def test_label_problem_knobs_reach_the_config(train_page):
    at = train_page()
    assert any(e.label == "Label problems" for e in at.expander)
    at.slider(key="missing_positives").set_value(0.3).run()
    at.radio(key="missing_as").set_value("unknown").run()
    at.toggle(key="single_positive").set_value(True).run()
    cfg = shown_config(at)
    assert (cfg.missing_positives, cfg.missing_as, cfg.single_positive) == (0.3, "unknown", True)
    assert not at.error and not at.button(key="train").disabled


def test_a_loss_that_refuses_unknowns_is_named_with_the_fix_and_blocks_training(train_page):
    at = train_page()
    at.toggle(key="single_positive").set_value(True).run()
    at.selectbox(key="loss").set_value("focal").run()
    assert any("Loss 'focal' cannot train on unknown targets" in w.value for w in at.warning)
    assert any("cannot train on unknown targets" in e.value for e in at.error)
    assert at.button(key="train").disabled
