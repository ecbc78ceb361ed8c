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
    assert any(m.value == "**8,000** training · **1,000** validation · **1,000** test images" for m in at.markdown)
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


def upload(at, data: bytes, name: str = "shapes.zip"):
    at.radio(key="dataset").set_value("own").run()
    return at.file_uploader(key="own_zip").set_value([(name, data, "application/zip")]).run()


def test_an_uploaded_zip_brings_its_tags_sizes_and_a_counted_summary(train_page, shapes_zip):
    at = upload(train_page(), shapes_zip(120))
    assert not at.exception and not at.error, [e.value for e in at.error]
    cfg = shown_config(at)
    assert cfg.dataset == "own" and cfg.classes == ("circle", "square", "bar") and cfg.data_name == "shapes.zip"
    assert cfg.train_size + cfg.val_size + cfg.test_size == 120
    assert at.number_input(key="train_size").disabled and at.toggle(key="soft_labels").disabled
    assert any("counted over your images" in c.value for c in at.caption)
    assert any("shapes.zip" in c.value and "120 images" in c.value for c in at.caption)
    assert not at.button(key="train").disabled
    # fewer tags: remove a row of the table; a tag the images do not have is refused with a line
    assert at.session_state["own_images"].fingerprint == cfg.data_fingerprint


def test_a_zip_that_cannot_be_used_is_a_list_of_lines_not_a_traceback(train_page):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("labels.csv", "path,tags\nmissing.png,cat\n")
        archive.writestr("notes.txt", "hello")
    at = upload(train_page(), buffer.getvalue(), "broken.zip")
    assert not at.exception
    lines = [w.value for w in at.warning]
    assert any(line.startswith("broken.zip cannot be used") for line in lines), lines
    assert any("missing.png" in line for line in lines), lines
    assert at.button(key="train").disabled


def test_not_a_zip_at_all_is_refused_in_one_line(train_page):
    at = upload(train_page(), b"this is not a zip archive", "fake.zip")
    assert not at.exception
    assert any(w.value.startswith("fake.zip cannot be used") for w in at.warning)
    assert at.button(key="train").disabled


@pytest.mark.slow
def test_a_tiny_training_on_own_images_finishes_with_a_test_report(session, train_page, shapes_zip):
    jobs = session()
    at = upload(train_page(), shapes_zip(120))
    at.number_input(key="epochs").set_value(1).run()
    at.button(key="train").click().run()
    assert not at.exception
    assert jobs.job is not None and jobs.job.join(120), "the run did not finish in 120 s"
    at.run()
    at.run()
    run = jobs.runs[0]
    assert run.status == "finished" and run.config.dataset == "own"
    assert run.test_report is not None and [r["tag"] for r in run.test_report["per_tag"]] == ["circle", "square", "bar"]


def test_weighted_bce_with_every_weight_1_shows_the_hint_until_weights_are_filled(train_page):
    at = train_page()
    at.selectbox(key="loss").set_value("weighted_bce").run()
    assert any("trains exactly as bce does" in i.value for i in at.info)
    at.button(key="fill_ratio").click().run()
    assert not any("trains exactly as bce does" in i.value for i in at.info)
