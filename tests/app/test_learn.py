"""AppTest of the Learn page: every section renders, the loss calculator agrees with
mlc.losses and refuses bad cells, each pitfall runs live, the script is the export's.

Only the open tab runs; a test opens one as a click would, through its session-state key.
"""

import math

import pytest

from mlc import export, lessons, losses
from mlc.config import RunConfig
from mlc.pitfalls import PITFALLS


@pytest.fixture
def learn_page(open_page):
    """``learn_page(tab=None)``: the page opened, on ``tab`` (a label of ui_learn.TABS) when given."""

    def make(tab=None):
        at = open_page("pages/learn.py")
        if tab is not None:
            at.session_state["learn_tab"] = tab
            at.run()
        return at

    return make


def test_every_section_renders(learn_page):
    at = learn_page()
    assert [t.value for t in at.title] == ["Learn"]
    assert [t.label for t in at.tabs] == [
        "Shapes",
        "Sigmoid vs softmax",
        "Loss calculator",
        "Pitfalls, live",
        "Code for your run",
        "Loss microscope",
        "Paper cards",
        "Shortcut exercise",
    ]
    shown = [d.value for d in at.dataframe]
    config = RunConfig()
    assert any(t.equals(lessons.layer_table(config.model, config.num_classes, config.image_size)) for t in shown)
    assert any(t.equals(lessons.tensor_shapes(config)) for t in shown)
    assert len(at.get("vega_lite_chart")) == 1  # the target vector
    assert not at.expander and not at.metric and not at.code  # the other tabs have not run
    assert not at.error
    at.session_state["learn_tab"] = "Sigmoid vs softmax"
    at.run()
    assert len(at.get("vega_lite_chart")) == 1 and not at.dataframe  # only the open tab
    at.session_state["learn_tab"] = "Pitfalls, live"
    at.run()
    assert len(at.expander) == len(PITFALLS)
    assert not at.error


def test_a_new_visitor_runs_only_the_first_tab(learn_page):
    at = learn_page()
    assert at.session_state["learn_tab"] == "Shapes"
    assert [t.value for t in at.title] == ["Learn"] and at.dataframe and not at.metric


def test_softmax_sums_to_one_sigmoid_does_not(learn_page):
    at = learn_page("Sigmoid vs softmax")
    at.slider(key="logit_0").set_value(6.0).run()
    text = next(m.value for m in at.markdown if m.value.startswith("Sum over tags"))
    assert "softmax **1.000**" in text and "sigmoid **1.000**" not in text


def test_loss_calculator_agrees_with_the_loss_classes(learn_page):
    at = learn_page("Loss calculator")
    totals = {m.label: float(m.value) for m in at.metric if m.label in losses.LOSSES}
    assert set(totals) == set(losses.LOSSES)
    # the first default row is a confident hit, p = 0.9 on a present tag
    table = next(d.value for d in at.dataframe if "bce" in d.value.columns)
    assert table.loc[0, "bce"] == pytest.approx(-math.log(0.9), rel=1e-5)
    assert table.loc[0, "mse"] == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize("name", list(PITFALLS))
def test_each_pitfall_runs_live(name, learn_page):
    at = learn_page("Pitfalls, live")
    at.button(key=f"pitfall_{name}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    demo = PITFALLS[name].run()
    assert any(e.value == demo.wrong for e in at.error)
    assert any(s.value == demo.fix for s in at.success)
    assert not at.warning  # the installed Keras reproduced it


def test_code_is_the_export_of_the_train_page_config(learn_page):
    at = learn_page("Code for your run")
    code = [c.value for c in at.code if c.language == "python" and "def main" in c.value]
    assert code == [export.keras_script(RunConfig()).rstrip("\n")]
    at.session_state["train_config"] = RunConfig(loss="focal", model="seed_cnn")
    at.run()
    code = [c.value for c in at.code if c.language == "python" and "def main" in c.value]
    assert code == [export.keras_script(RunConfig(loss="focal", model="seed_cnn")).rstrip("\n")]


class OwnImages:
    """The few things of an mlc.imagesets.ImageSet the Learn page reads."""

    fingerprint = "abc"
    tags = ("cat", "dog", "car")
    paths = None
    labels = None

    def __init__(self):
        import numpy as np

        self.paths = np.array(["a.png", "b.png"])
        self.labels = np.array([[1, 0, 1], [0, 1, 0]], np.float32)

    def columns(self, classes):
        return [self.tags.index(c) for c in classes]

    def images_at(self, size):
        import numpy as np

        return np.full((2, size, size, 3), 51, np.uint8)


OWN = RunConfig(
    dataset="own", classes=("cat", "dog", "car"), image_size=32, batch_size=16, data_name="pets.zip",
    data_fingerprint="abc",
)  # fmt: skip


def test_shapes_follow_the_train_pages_own_data(learn_page):
    at = learn_page()
    at.session_state["train_config"] = OWN
    at.run()
    assert not at.exception
    shown = [d.value for d in at.dataframe]
    assert any(t.equals(lessons.tensor_shapes(OWN)) for t in shown)
    assert any(t.equals(lessons.layer_table(OWN.model, 3, 32)) for t in shown)
    assert any("3 tags of the **own** data at 32 px" in c.value for c in at.caption)
    assert any("not loaded" in i.value for i in at.info)  # the images themselves are not in this session
    at.session_state["own_images"] = {"abc": OwnImages()}
    at.run()
    assert not at.exception and not at.info
    assert len(at.get("vega_lite_chart")) == 1
    assert any('"cat"' in c.proto.spec and '"car"' in c.proto.spec for c in at.get("vega_lite_chart"))


@pytest.mark.slow
def test_the_loss_microscope_draws_every_loss_for_each_target(learn_page):
    at = learn_page("Loss microscope")
    assert at.multiselect(key="micro_losses").value == list(losses.LOSSES)
    for target in ("1 (present)", "0 (absent)", "unknown (-1)"):
        at.radio(key="micro_target").set_value(target).run()
        assert not at.exception and not at.error, target
        assert len(at.get("vega_lite_chart")) == 2  # loss and gradient over z
    captions = " ".join(c.value for c in at.caption)
    assert "focal: refuses unknown targets" in captions and "a single-tag row" not in captions
    assert "here the row has this one tag" in captions
