"""AppTest of the Train page's data set: the picker, the tags that follow it, and the data's summary."""

import pytest

from mlc.config import RunConfig

from .test_train import shown_config


@pytest.fixture
def train_page(open_page):
    return lambda: open_page("pages/train.py")


def test_the_default_is_scenes_with_a_summary_of_the_data(train_page):
    at = train_page()
    assert at.radio(key="dataset").value == "scenes"
    assert shown_config(at).dataset == "scenes"
    assert any(e.label.startswith("The data: synthetic scenes") for e in at.expander)
    assert [m.label for m in at.metric][:3] == ["training", "validation", "test"]
    assert any("measured on 600 generated images" in c.value for c in at.caption)


def test_picking_digits_brings_the_ten_digit_tags_and_keeps_the_loss(train_page):
    at = train_page()
    at.selectbox(key="loss").set_value("focal").run()
    at.radio(key="dataset").set_value("digits").run()
    cfg = shown_config(at)
    assert cfg.dataset == "digits" and cfg.classes == tuple("0123456789") and cfg.loss == "focal"
    assert cfg.prevalence == (0.25,) * 10
    assert not at.error and not at.exception
    assert any(e.label.startswith("The data: handwritten digits") for e in at.expander)
    at.radio(key="dataset").set_value("scenes").run()
    assert shown_config(at).classes == RunConfig().classes


def test_own_images_without_an_upload_block_training_with_a_line(train_page):
    at = train_page()
    at.radio(key="dataset").set_value("own").run()
    assert at.button(key="train").disabled
    assert any("upload a .zip of your labelled images" in e.value for e in at.error)
    assert not at.exception
