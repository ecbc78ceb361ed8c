"""Tests for :mod:`mlc.config`: validation at the boundary, JSON round trips, loss wiring.

Parametrised over :data:`mlc.losses.LOSSES` and :data:`mlc.models.MODELS` so a newly
registered loss or model is covered without editing this file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlc import DEFAULT_CLASSES, data, losses
from mlc.config import LIMITS, RunConfig
from mlc.losses import LOSSES
from mlc.models import MODELS

LOSS_NAMES = sorted(LOSSES)
MODEL_NAMES = sorted(MODELS)
TAG_TABLE_PARAMS = ("weights", "weighting")
N = len(DEFAULT_CLASSES)


def _strict_json(text: str):
    """json.loads that refuses NaN/Infinity tokens (what browsers and jq do)."""

    def bad(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=bad)


def _other_value(spec: losses.ParamSpec, n_tags: int):
    """A valid, non-default value for one loss parameter, derived from its spec."""
    if spec.kind == "choice":
        return next(c for c in spec.choices if c != spec.default)
    if spec.kind == "per_tag":
        return [spec.default + 0.5 * (i % 3) for i in range(n_tags)]
    base = spec.low if spec.default is None else spec.default
    value = (base + spec.high) / 2 if math.isfinite(spec.high) else base + 0.5
    if value == spec.default:  # default at the top of the range
        value = (spec.low + spec.default) / 2
    return value


def non_default_config(loss: str) -> RunConfig:
    """A config for ``loss`` whose every loss parameter differs from its default."""
    kwargs = {"loss": loss}
    params = {}
    for key, spec in losses.params(loss).items():
        if key == "weights":
            kwargs["weights"] = (0.5, 2.0, 1.0, 3.0, 0.0)
        elif key == "weighting":
            kwargs["weighting"] = _other_value(spec, N)
        else:
            params[key] = _other_value(spec, N)
    return RunConfig(loss_params=params, **kwargs)


# ---------------------------------------------------------------- defaults
def test_defaults_are_valid_and_resolved():
    cfg = RunConfig()
    assert cfg.classes == DEFAULT_CLASSES
    assert cfg.num_classes == N
    assert cfg.prevalence == data.default_prevalence(DEFAULT_CLASSES)
    assert cfg.weights == (1.0,) * N
    assert cfg.loss in LOSSES and cfg.model in MODELS
    assert cfg.device == "cpu"
    for name, (lo, hi) in LIMITS.items():
        assert lo <= getattr(cfg, name) <= hi, name
    assert isinstance(cfg.make_loss(), LOSSES[cfg.loss])


def test_config_is_frozen():
    cfg = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3  # type: ignore[misc]


def test_values_are_normalised():
    cfg = RunConfig(epochs=3.0, learning_rate=1, weights=[1, 2, 3, 4, 5], classes=[" a ", "b", "c", "d", "e"])
    assert cfg.epochs == 3 and type(cfg.epochs) is int
    assert cfg.learning_rate == 1.0 and type(cfg.learning_rate) is float
    assert cfg.weights == (1.0, 2.0, 3.0, 4.0, 5.0) and all(type(w) is float for w in cfg.weights)
    assert cfg.classes == ("a", "b", "c", "d", "e")
    # other tags get defaults sized to them
    two = RunConfig(classes=("boat", "sun"))
    assert two.weights == (1.0, 1.0) and len(two.prevalence) == 2


# ---------------------------------------------------------------- invalid values
NAN, INF = float("nan"), float("inf")
INVALID = [
    ("epochs", 0),
    ("epochs", LIMITS["epochs"][1] + 1),
    ("epochs", 2.5),
    ("epochs", True),
    ("epochs", "8"),
    ("epochs", None),
    ("batch_size", -1),
    ("batch_size", 0),
    ("learning_rate", NAN),
    ("learning_rate", INF),
    ("learning_rate", 0),
    ("learning_rate", 2),
    ("learning_rate", "0.01"),
    ("learning_rate", None),
    ("train_size", 1.5),
    ("train_size", 0),
    ("val_size", 0),
    ("image_size", data.MIN_IMAGE_SIZE - 1),
    ("image_size", data.MAX_IMAGE_SIZE + 1),
    ("seed", -1),
    ("seed", 2**32),
    ("label_noise", -0.1),
    ("label_noise", data.MAX_LABEL_NOISE + 0.01),
    ("label_noise", NAN),
    ("soft_labels", "yes"),
    ("soft_labels", 1),
    ("weights", (1.0, 1.0)),
    ("weights", (1.0,) * (N + 1)),
    ("weights", (1.0, 1.0, -1.0, 1.0, 1.0)),
    ("weights", (1.0, NAN, 1.0, 1.0, 1.0)),
    ("weights", (1.0, INF, 1.0, 1.0, 1.0)),
    ("weights", "11111"),
    ("weights", 5),
    ("weighting", "x"),
    ("weighting", None),
    ("device", "tpu"),
    ("device", "gpu"),
    ("device", "gpu:"),
    ("device", "GPU:0"),
    ("device", "cpu "),
    ("device", "multi-worker"),
    ("device", None),
    ("loss", "foo"),
    ("loss", None),
    ("loss", {}),  # from JSON: an object is unhashable, must still be a ValueError
    ("loss", ["bce"]),
    ("model", "foo"),
    ("model", {"a": 1}),
    ("loss_params", ["gamma"]),
    ("loss_params", "gamma=2"),
    ("prevalence", (0.5, 0.5, 0.5, 0.5, 1.5)),
    ("prevalence", (0.5, 0.5, 0.5, 0.5, -0.1)),
    ("prevalence", (0.5, 0.5, 0.5, 0.5, NAN)),
    ("prevalence", (0.5, 0.5)),
    ("prevalence", "0.5"),
]


@pytest.mark.parametrize("field_name, value", INVALID, ids=[f"{f}={v!r}" for f, v in INVALID])
def test_invalid_value_raises_value_error_naming_the_field(field_name, value):
    with pytest.raises(ValueError, match=field_name):
        RunConfig(**{field_name: value})


INVALID_JSON = [(f, v) for f, v in INVALID if not (isinstance(v, float) and not math.isfinite(v))]


@pytest.mark.parametrize("field_name, value", INVALID_JSON, ids=[f"{f}={v!r}" for f, v in INVALID_JSON])
def test_invalid_value_from_dict_is_also_a_value_error(field_name, value):
    """The JSON/share-link boundary refuses the same values with ValueError (never TypeError)."""
    with pytest.raises(ValueError, match=field_name):
        RunConfig.from_dict({field_name: value})


@pytest.mark.parametrize(
    "classes, match",
    [
        (("dog", "cat", "Dog"), r"(?i)unique.*dog"),
        (("sky", "sky "), r"(?i)unique.*sky"),
        ((), "classes"),
        (tuple(f"t{i}" for i in range(data.MAX_CLASSES + 1)), "classes"),
        (("dog", " "), "classes"),
        ("dog", "classes"),
    ],
)
def test_invalid_classes(classes, match):
    with pytest.raises(ValueError, match=match):
        RunConfig(classes=classes)


def test_weights_checked_against_the_configured_tags():
    RunConfig(classes=("a", "b"), weights=(1, 2))
    with pytest.raises(ValueError, match=r"weights must have one value per tag \(2\)"):
        RunConfig(classes=("a", "b"), weights=(1, 2, 3))


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_unknown_loss_param_is_refused(loss):
    with pytest.raises(ValueError, match="no_such_param"):
        RunConfig(loss=loss, loss_params={"no_such_param": 1.0})


@pytest.mark.parametrize("loss", LOSS_NAMES)
@pytest.mark.parametrize("key", TAG_TABLE_PARAMS)
def test_loss_params_must_not_hold_tag_table_fields(loss, key):
    with pytest.raises(ValueError, match=rf"loss_params must not hold '{key}'"):
        RunConfig(loss=loss, loss_params={key: [1.0] * N if key == "weights" else "tag"})


FLOAT_PARAMS = [
    (loss, key)
    for loss in LOSS_NAMES
    for key, spec in losses.params(loss).items()
    if spec.kind == "float" and key not in TAG_TABLE_PARAMS
]


@pytest.mark.parametrize("loss, key", FLOAT_PARAMS)
def test_out_of_range_loss_params_are_refused(loss, key):
    """Every float parameter of every loss refuses a value below its range, NaN and strings."""
    spec = losses.params(loss)[key]
    for bad in (spec.low - 1.0, NAN, "1"):
        with pytest.raises(ValueError, match=key):
            RunConfig(loss=loss, loss_params={key: bad})
    RunConfig(loss=loss, loss_params={key: _other_value(spec, N)})  # and accepts a valid one


# ---------------------------------------------------------------- JSON
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_json_round_trip_with_non_default_params(loss):
    cfg = non_default_config(loss).replace(
        classes=("dog", "cat", "house", "tree", "sky"), epochs=3, seed=7, soft_labels=True, label_noise=0.1
    )
    text = cfg.to_json()
    plain = _strict_json(text)
    assert all(not isinstance(v, tuple) for v in plain.values())
    back = RunConfig.from_json(text)
    assert back == cfg
    assert back.differences(cfg) == {}
    assert RunConfig.from_dict(plain) == cfg  # lists from JSON become tuples
    assert back.make_loss().get_config() == cfg.make_loss().get_config()
    # the non-default values survived (not silently replaced by defaults)
    assert back.loss_kwargs() == cfg.loss_kwargs()
    if losses.params(loss):
        assert back.loss_kwargs() != losses.defaults(loss, N)


def test_to_dict_uses_plain_json_types():
    d = RunConfig(weights=(1, 2, 3, 4, 5)).to_dict()
    assert [f.name for f in dataclasses.fields(RunConfig)] == list(d)
    assert isinstance(d["classes"], list) and isinstance(d["weights"], list) and isinstance(d["prevalence"], list)
    assert type(d["loss_params"]) is dict


def test_unknown_field_in_from_dict():
    with pytest.raises(ValueError, match="unknown config field 'los'"):
        RunConfig.from_dict({"los": "bce"})
    with pytest.raises(ValueError, match="unknown config field 'extra'"):
        RunConfig.from_dict({**RunConfig().to_dict(), "extra": 1})


@pytest.mark.parametrize("text", ["not json", "{", "[1, 2]", '"bce"', "null"])
def test_from_json_rejects_non_objects(text):
    with pytest.raises(ValueError, match="JSON"):
        RunConfig.from_json(text)


def test_from_dict_of_empty_dict_is_defaults():
    assert RunConfig.from_dict({}) == RunConfig()


# ---------------------------------------------------------------- loss wiring
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_loss_kwargs_only_pass_tag_table_params_to_losses_that_take_them(loss):
    cfg = non_default_config(loss)
    kwargs = cfg.loss_kwargs()
    accepted = losses.params(loss)
    assert set(kwargs) <= set(accepted)
    for key in TAG_TABLE_PARAMS:
        assert (key in kwargs) == (key in accepted)
    if "weights" in accepted:
        assert kwargs["weights"] == list(cfg.weights)
    if "weighting" in accepted:
        assert kwargs["weighting"] == cfg.weighting
    for key, value in cfg.loss_params.items():
        assert kwargs[key] == value
    losses.get(loss, **kwargs)  # what make_loss does, must be accepted


def test_weighted_bce_gets_the_tag_table():
    cfg = RunConfig(loss="weighted_bce", weights=(1, 8, 1, 1, 1), weighting="positive")
    assert cfg.loss_kwargs() == {"weights": [1.0, 8.0, 1.0, 1.0, 1.0], "weighting": "positive"}
    assert cfg.make_loss().get_config()["weights"] == [1.0, 8.0, 1.0, 1.0, 1.0]
    # tag-table fields are ignored (not passed) for losses without them
    assert "weights" not in RunConfig(loss="bce", weights=(1, 8, 1, 1, 1)).loss_kwargs()


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_make_loss_returns_the_registered_class_with_the_params(loss):
    cfg = non_default_config(loss)
    made = cfg.make_loss()
    assert type(made) is LOSSES[loss]
    config = made.get_config()
    for key, value in cfg.loss_kwargs().items():
        assert config[key] == value, key


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_registered_model_is_a_valid_choice(model):
    assert RunConfig(model=model).model == model


# ---------------------------------------------------------------- replace / differences
def test_replace_validates_and_differences_names_changed_fields():
    base = RunConfig()
    other = base.replace(epochs=base.epochs + 1, loss="focal", loss_params={"gamma": 1.0})
    assert base.differences(base) == {}
    assert base.differences(other) == {
        "epochs": (base.epochs, base.epochs + 1),
        "loss": (base.loss, "focal"),
        "loss_params": ({}, {"gamma": 1.0}),
    }
    assert other.differences(base)["epochs"] == (base.epochs + 1, base.epochs)
    w = base.replace(weights=(2, 1, 1, 1, 1)).differences(base)
    assert w == {"weights": ([2.0, 1.0, 1.0, 1.0, 1.0], [1.0] * N)}
    with pytest.raises(ValueError, match="epochs"):
        base.replace(epochs=0)


# ---------------------------------------------------------------- properties
NAME_CHARS = string.ascii_letters + string.digits + " _-éß"


@st.composite
def valid_configs(draw):
    loss = draw(st.sampled_from(LOSS_NAMES))
    classes = draw(
        st.lists(
            st.text(NAME_CHARS, min_size=1, max_size=8).filter(lambda s: s.strip()),
            min_size=1,
            max_size=data.MAX_CLASSES,
            unique_by=lambda s: s.strip().lower(),
        )
    )
    n = len(classes)
    unit = st.floats(0.0, 1.0, allow_nan=False)
    params = {}
    for key, spec in losses.params(loss).items():
        if key in TAG_TABLE_PARAMS:
            continue
        if spec.kind == "choice":
            params[key] = draw(st.sampled_from(spec.choices))
        elif spec.kind == "per_tag":
            params[key] = draw(st.lists(st.floats(spec.low, 100.0), min_size=n, max_size=n))
        else:
            hi = spec.high if math.isfinite(spec.high) else 100.0
            value = st.floats(spec.low, hi, exclude_max=not spec.high_inclusive)
            params[key] = draw(st.none() | value if spec.optional else value)
    ints = {
        k: draw(st.integers(int(LIMITS[k][0]), int(min(LIMITS[k][1], 10**6))))
        for k in ("epochs", "batch_size", "train_size", "val_size", "image_size", "seed")
    }
    return RunConfig(
        loss=loss,
        loss_params=params,
        classes=tuple(classes),
        prevalence=draw(st.none() | st.lists(unit, min_size=n, max_size=n).map(tuple)),
        weights=draw(st.none() | st.lists(st.floats(0.0, 1e6), min_size=n, max_size=n).map(tuple)),
        weighting=draw(st.sampled_from(losses.WEIGHTINGS)),
        model=draw(st.sampled_from(MODEL_NAMES)),
        learning_rate=draw(st.floats(*LIMITS["learning_rate"])),
        label_noise=draw(st.floats(*LIMITS["label_noise"])),
        soft_labels=draw(st.booleans()),
        device=draw(st.sampled_from(["cpu", "mirrored", "gpu:0", "gpu:12", "multiworker"])),
        **ints,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_random_valid_configs_round_trip_through_json(cfg):
    text = cfg.to_json()
    _strict_json(text)
    back = RunConfig.from_json(text)
    assert back == cfg
    assert back.differences(cfg) == {}
    assert back.loss_kwargs() == cfg.loss_kwargs()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([f.name for f in dataclasses.fields(RunConfig)]), JSON_VALUES)
def test_any_json_value_for_any_field_is_accepted_or_a_value_error(name, value):
    """The config boundary never leaks TypeError/KeyError etc. for hostile JSON."""
    try:
        cfg = RunConfig.from_dict({name: value})
    except ValueError:
        return
    assert RunConfig.from_json(cfg.to_json()) == cfg


# ---------------------------------------------------------------- the tags table
from mlc.config import WEIGHT_RULES, derive_weights, fill_weights, tag_rows, tag_table_problems, tags_from_table  # noqa: E402


def test_tag_rows_round_trip_through_the_table():
    cfg = RunConfig(weights=(1, 2, 3, 4, 5))
    assert RunConfig(**tags_from_table(tag_rows(cfg))) == cfg


@pytest.mark.parametrize(
    "row, message",
    [
        ({"tag": "", "prevalence": 0.1, "weight": 1}, "row 2: the tag name is empty"),
        ({"tag": None, "prevalence": 0.1, "weight": 1}, "row 2: the tag name is empty"),
        ({"tag": "DOG", "prevalence": 0.1, "weight": 1}, "repeats row 1"),
        (
            {"tag": "x", "prevalence": 1.5, "weight": 1},
            r"row 2 \(x\): prevalence must be a finite number in \[0, 1\], got 1.5",
        ),
        (
            {"tag": "x", "prevalence": float("nan"), "weight": 1},
            "prevalence must be a finite number in \\[0, 1\\], got empty",
        ),
        ({"tag": "x", "prevalence": 0.1, "weight": -1}, "weight must be a finite number >= 0, got -1"),
        ({"tag": "x", "prevalence": 0.1, "weight": float("inf")}, "weight must be a finite number >= 0"),
        ({"tag": "x", "prevalence": 0.1, "weight": None}, "weight must be a finite number >= 0, got empty"),
        ({"tag": "x", "prevalence": 0.1, "weight": "2"}, "weight must be a finite number >= 0"),
    ],
)
def test_tag_table_problems_name_the_row_and_column(row, message):
    rows = [{"tag": "dog", "prevalence": 0.3, "weight": 1.0}, row]
    problems = tag_table_problems(rows)
    assert len(problems) == 1
    assert re.search(message, problems[0])
    with pytest.raises(ValueError, match=message):
        tags_from_table(rows)


@pytest.mark.parametrize(
    "names", [("dog", "Dog"), ("dog", " ", "DOG"), tuple(f"t{i}" for i in range(data.MAX_CLASSES + 1)), ()]
)
def test_the_tags_table_and_classes_share_one_tag_name_rule(names):
    """Same rule, same words; only the place differs: "row 2" in the table, "classes[1]" in a config."""
    rows = [{"tag": n, "prevalence": 0.1, "weight": 1.0} for n in names]
    with pytest.raises(ValueError) as info:
        RunConfig(classes=names, prevalence=(0.1,) * len(names), weights=(1.0,) * len(names))
    as_rows = re.sub(r"classes\[(\d+)\]", lambda m: f"row {int(m.group(1)) + 1}", str(info.value))
    assert as_rows.replace("classes ", "the tags table ") == "; ".join(tag_table_problems(rows))


def test_tag_table_limits():
    assert tag_table_problems([]) == ["the tags table is empty: add at least one tag"]
    many = [{"tag": f"t{i}", "prevalence": 0.1, "weight": 1} for i in range(21)]
    assert "at most 20 tags" in tag_table_problems(many)[0]
    assert tag_table_problems(tag_rows(RunConfig())) == []


@pytest.mark.parametrize("rule", list(WEIGHT_RULES))
def test_fill_weights_derives_from_prevalence(rule):
    rows = tag_rows(RunConfig())
    filled = fill_weights(rows, rule, 8000)
    expected = derive_weights(rule, RunConfig().prevalence, 8000)
    assert [r["weight"] for r in filled] == pytest.approx(expected, abs=1e-4)
    assert [r["tag"] for r in filled] == list(RunConfig().classes)
    if rule != "ones":
        cat = [r["weight"] for r in filled][1]
        assert cat == max(r["weight"] for r in filled)  # the rare tag gets the largest weight


def test_fill_weights_refuses_prevalence_0_with_a_reason():
    rows = [{"tag": "a", "prevalence": 0.0, "weight": 1.0}]
    with pytest.raises(ValueError, match="never"):
        fill_weights(rows, "ratio", 100)
    assert fill_weights(rows, "ones", 100)[0]["weight"] == 1.0


def test_multiworker_is_a_valid_device_and_the_message_names_it():
    assert RunConfig(device="multiworker").device == "multiworker"
    with pytest.raises(ValueError, match="'multiworker' \\(command line with TF_CONFIG\\)"):
        RunConfig(device="workers")
