"""Tests for mlc.loss_params: each parameter declared once (default, range, help, hint) and used from there."""

from __future__ import annotations

import inspect
import math

import pytest

from mlc import losses
from mlc.loss_params import ParamSpec, as_number, check_names, concrete_defaults, validate

DECLARED = [(name, key, spec) for name in losses.LOSSES for key, spec in losses.params(name).items()]
IDS = [f"{name}.{key}" for name, key, _ in DECLARED]


@pytest.mark.parametrize("name, key, spec", DECLARED, ids=IDS)
def test_every_parameter_has_help_and_a_hint(name, key, spec):
    assert spec.help.strip() and spec.hint.strip()


@pytest.mark.parametrize("name, key, spec", DECLARED, ids=IDS)
def test_a_bad_value_names_the_parameter_and_ends_with_its_declared_hint(name, key, spec):
    bad = {"per_tag": [-1.0], "choice": "nope", "float": -1.0}[spec.kind]
    with pytest.raises(ValueError) as info:
        validate({key: spec}, {key: bad})
    assert str(info.value).startswith(key) and str(info.value).endswith(spec.hint)
    with pytest.raises(ValueError) as info:  # the loss itself gives the same message
        losses.get(name, **{**losses.defaults(name), key: bad})
    assert str(info.value).endswith(spec.hint)


@pytest.mark.parametrize("name, key, spec", [d for d in DECLARED if d[2].kind != "per_tag"])
def test_the_functions_and_classes_default_to_the_declared_value(name, key, spec):
    cls = losses.LOSSES[name]
    assert inspect.signature(cls).parameters[key].default == spec.default
    assert inspect.signature(cls.function).parameters[key].default == spec.default
    assert cls(**({"weights": [1.0]} if name == "weighted_bce" else {})).loss_params[key] == spec.default


def test_check_may_be_given_another_hint():
    spec = ParamSpec(1.0, 0.0, 2.0, hint="declared hint")
    with pytest.raises(ValueError, match="got 3.0. other$"):
        spec.check(3.0, "x", "other")
    with pytest.raises(ValueError, match=r"in \[0, 2\], got 3.0\.$"):
        spec.check(3.0, "x", "")


@pytest.mark.parametrize(
    "spec, expected",
    [
        (ParamSpec(2.0, 0.0, math.inf, suggested_high=5.0), (0.0, 5.0, 0.5, 2.0)),
        (ParamSpec(2.0, 0.0, math.inf), (0.0, None, 0.5, 2.0)),
        (ParamSpec(0.05, 0.0, 1.0, high_inclusive=False), (0.0, 0.99, 0.05, 0.05)),
        (ParamSpec(None, 0.0, 1.0, optional=True), (0.0, 1.0, 0.05, 0.25)),
        (ParamSpec(None, 0.0, math.inf, optional=True, suggested_high=8.0), (0.0, 8.0, 0.5, 2.0)),
    ],
)
def test_number_input_range_step_and_start(spec, expected):
    assert tuple(spec.number_input()) == pytest.approx(expected)


def test_a_choice_or_per_tag_parameter_has_no_number_input():
    for key in ("weights", "weighting"):
        with pytest.raises(ValueError, match="only a 'float' parameter"):
            losses.params("weighted_bce")[key].number_input()


def test_concrete_defaults_and_name_checks():
    specs = losses.params("weighted_bce")
    assert concrete_defaults(specs, 2) == {"weights": [1.0, 1.0], "weighting": "tag"}
    with pytest.raises(ValueError, match="n_tags must be a positive integer"):
        concrete_defaults(specs, 0)
    with pytest.raises(ValueError, match=r"needs 'weights'.*weights=\[1.0, 1.0, 1.0, 1.0, 1.0\]"):
        check_names("weighted_bce", specs, {})
    with pytest.raises(ValueError, match="it accepts: no parameters"):
        check_names("bce", {}, {"gamma": 1.0})
    check_names("weighted_bce", specs, {"weights": [1.0]})  # fine: nothing raised


def test_as_number_takes_real_numbers_only():
    assert as_number(3) == 3.0 and as_number(float("inf")) == math.inf
    assert [as_number(v) for v in (True, "2", b"2", None, [1], object())] == [None] * 6


# ---------------------------------------------------------------- the built-in losses without Keras
def test_the_words_and_params_of_every_registered_loss_are_declared_here():
    from mlc.loss_params import LOSS_INFO, loss_names

    assert list(LOSS_INFO) == list(losses.LOSSES) == loss_names()
    for name, info in LOSS_INFO.items():
        cls = losses.LOSSES[name]
        assert (cls.description, cls.formula, cls.param_specs) == tuple(info)
        assert losses.describe(name) == f"{info.description} Formula: {info.formula}"


@pytest.mark.parametrize("name, key, spec", DECLARED, ids=IDS)
def test_check_loss_refuses_what_the_loss_refuses_with_the_same_message(name, key, spec):
    from mlc.loss_params import check_loss

    bad = {**losses.defaults(name), key: {"per_tag": [-1.0], "choice": "nope", "float": -1.0}[spec.kind]}
    with pytest.raises(ValueError) as by_loss:
        losses.get(name, **bad)
    with pytest.raises(ValueError) as by_check:
        check_loss(name, bad)
    assert str(by_check.value) == str(by_loss.value)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_check_loss_keeps_what_the_loss_keeps(name):
    from mlc.loss_params import check_loss

    given = losses.defaults(name, n_tags=3)
    assert check_loss(name, given) == losses.get(name, **given).loss_params


def test_check_loss_refuses_an_unknown_name_or_parameter_as_get_does():
    from mlc.loss_params import check_loss

    for name, given in [("focal", {"gama": 2.0}), ("weighted_bce", {}), ("nope", {})]:
        with pytest.raises(ValueError) as by_loss:
            losses.get(name, **given)
        with pytest.raises(ValueError) as by_check:
            check_loss(name, given)
        assert str(by_check.value) == str(by_loss.value)


def test_a_loss_registered_later_is_known_through_the_registry(monkeypatch):
    from mlc import loss_params

    monkeypatch.setattr(losses, "LOSSES", losses.LOSSES.copy())

    @losses.register("halved_bce")
    class HalvedBCE(losses.MSELoss):
        description = "half of it"

    assert "halved_bce" in loss_params.loss_names()
    assert loss_params.loss_info("halved_bce").description == "half of it"
    assert loss_params.params("halved_bce") == {}
    assert loss_params.check_loss("halved_bce", {}) == {}
