"""Tests for :mod:`mlc.pitfalls`: every demo really reproduces its pitfall on the installed Keras.

Each ``run()`` executes once per test session (a module fixture caches the demos);
the per-pitfall tests pin the behaviour observed with Keras 3.15.1 / TensorFlow 2.21.
"""

from __future__ import annotations

import keras
import pytest

from mlc import pitfalls
from mlc.pitfalls import PITFALLS, Demo

NAMES = list(PITFALLS)


@pytest.fixture(scope="module")
def demos() -> dict[str, Demo]:
    return {}


def demo_of(demos: dict[str, Demo], name: str) -> Demo:
    if name not in demos:
        demos[name] = PITFALLS[name].run()
    return demos[name]


def test_registry_holds_the_article_pitfalls():
    assert set(PITFALLS) == {
        "labels_shape",
        "softmax_bce",
        "class_weight_multihot",
        "accuracy_is_argmax",
        "f1_without_threshold",
        "closure_loss_save_load",
    }


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_complete_and_its_code_parses(name):
    pitfall = PITFALLS[name]
    assert pitfall.name == name
    assert 10 < len(pitfall.title) < 80
    assert 80 < len(pitfall.explanation) < 700  # a few sentences in plain words
    assert pitfall.explanation == " ".join(pitfall.explanation.split())  # one paragraph, as shown
    for code in (pitfall.wrong_code, pitfall.fix_code):
        assert code and code == code.strip()
        compile(code, f"<{name}>", "exec")


@pytest.mark.parametrize("name", NAMES)
def test_run_reproduces_the_pitfall(demos, name):
    demo = demo_of(demos, name)
    assert isinstance(demo, Demo)
    assert demo.ok, demo
    assert demo.wrong.strip() and demo.fix.strip()
    assert len(demo.wrong) < 600 and len(demo.fix) < 600


def test_labels_shape_is_a_rank_error(demos):
    demo = demo_of(demos, "labels_shape")
    assert demo.wrong.startswith("ValueError: Arguments `target` and `output` must have the same rank")
    assert "target.shape=(None,)" in demo.wrong and "output.shape=(None, 3)" in demo.wrong
    assert "(8, 3)" in demo.fix


def test_softmax_bce_reports_the_sigmoid_loss(demos):
    demo = demo_of(demos, "softmax_bce")
    assert demo.wrong_value <= 0.5 < 0.8 < demo.fix_value  # a present tag's probability: softmax vs sigmoid
    n = demo.numbers
    # Keras 3 + TensorFlow computes BCE from the logits cached on the softmax output
    assert n["softmax_reported_loss"] == pytest.approx(n["sigmoid_reported_loss"], rel=1e-6)
    assert n["softmax_actual_loss"] > 5 * n["softmax_reported_loss"]
    assert "exactly the sigmoid model's" in demo.wrong


def test_class_weight_is_argmax_sample_weight(demos):
    demo = demo_of(demos, "class_weight_multihot")
    n = demo.numbers
    assert n["diff_class_weight_vs_argmax"] == 0.0
    assert n["diff_class_weight_vs_unweighted"] > 1e-3  # class_weight did do something
    assert n["diff_class_weight_vs_per_tag_loss"] > 1e-2  # but not what per-tag weights do
    assert n["samples_without_tags"] > 0 and n["samples_with_several_tags"] > 0
    assert "[1.00, 3.00, 10.00]" in demo.fix


def test_accuracy_is_categorical(demos):
    demo = demo_of(demos, "accuracy_is_argmax")
    n = demo.numbers
    assert "CategoricalAccuracy" in demo.wrong
    assert n["binary_accuracy"] == 1.0 and n["macro_f1"] == pytest.approx(1.0)
    assert n["accuracy"] < 0.8  # argmax accuracy of predictions that get every tag right
    assert n["all_zeros_binary_accuracy"] > 0.6 and n["all_zeros_macro_f1"] == 0.0


def test_f1_without_threshold_is_argmax(demos):
    demo = demo_of(demos, "f1_without_threshold")
    assert demo.wrong_value < 0.8
    assert demo.fix_value == pytest.approx(1.0)
    assert demo.wrong.startswith("F1Score() = ")


def test_closure_loss_fails_to_load_and_the_class_loads(demos):
    demo = demo_of(demos, "closure_loss_save_load")
    assert demo.wrong.startswith("load_model: TypeError: Could not locate function 'loss'")
    assert "WeightedBCE(weights=[1.0, 2.0, 3.0])" in demo.fix
    assert demo.fix_value == pytest.approx(demo.numbers["loss_before_save"], rel=1e-6)


def test_fix_class_round_trips_its_config():
    loss = pitfalls.WeightedBCE([1.0, 2.0])
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, pitfalls.WeightedBCE) and again.tag_weights == [1.0, 2.0]


def test_register_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="pitfall 'labels_shape' is already registered"):
        pitfalls.register("labels_shape", title="t", explanation="e", wrong_code="a", fix_code="b")(lambda: None)
    with pytest.raises(ValueError, match="identifier-like string"):
        pitfalls.register("two words", title="t", explanation="e", wrong_code="a", fix_code="b")
