"""mlc.checks: one narrow validator per kind; every message names the field, the allowed range and what arrived."""

import math
import re

import numpy as np
import pytest

from mlc import checks

# ---------------------------------------------------------------- whole numbers
WHOLE_GOOD = [
    ((8, "epochs", 1, 500), {}, 8),
    ((1, "epochs", 1, 500), {}, 1),
    ((500, "epochs", 1, 500), {}, 500),
    ((np.int64(7), "n", 0, 10), {}, 7),
    ((0, "n", 0, None), {}, 0),
    ((-5, "offset", None, 0), {}, -5),
    ((10**12, "big", None, None), {}, 10**12),
    ((8.0, "epochs", 1, 500), {"integral_floats": True}, 8),
]


@pytest.mark.parametrize("args, kwargs, expected", WHOLE_GOOD)
def test_whole_accepts_and_returns_an_int(args, kwargs, expected):
    value = checks.whole(*args, **kwargs)
    assert value == expected and type(value) is int


WHOLE_BAD = [
    ((0, "epochs", 1, 500), {}, "epochs must be a whole number from 1 to 500, got 0"),
    ((501, "epochs", 1, 500), {}, "epochs must be a whole number from 1 to 500, got 501"),
    ((2.5, "epochs", 1, 500), {}, "epochs must be a whole number from 1 to 500, got 2.5"),
    ((8.0, "epochs", 1, 500), {}, "epochs must be a whole number from 1 to 500, got 8.0"),
    ((2.5, "epochs", 1, 500), {"integral_floats": True}, "epochs must be a whole number from 1 to 500, got 2.5"),
    ((math.inf, "e", 1, 5), {"integral_floats": True}, "e must be a whole number from 1 to 5, got inf"),
    ((True, "n", 0, None), {}, "n must be a whole number of at least 0, got True"),
    (("3", "n", 0, None), {}, "n must be a whole number of at least 0, got '3'"),
    ((None, "limit", 1, None), {}, "limit must be a whole number of at least 1, got None"),
    ((7, "x", None, 5), {}, "x must be a whole number of at most 5, got 7"),
    (("a", "x", None, None), {}, "x must be a whole number, got 'a'"),
]


@pytest.mark.parametrize("args, kwargs, message", WHOLE_BAD)
def test_whole_refuses_with_field_range_and_value(args, kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checks.whole(*args, **kwargs)


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "value, lo, hi, expected",
    [(0.5, 0, 0.5, 0.5), (0, 0, 1, 0.0), (1, 0, 1, 1.0), (np.float32(0.25), 0, 1, 0.25), (-3.5, None, None, -3.5)],
)
def test_number_accepts_and_returns_a_float(value, lo, hi, expected):
    got = checks.number(value, "x", lo, hi)
    assert got == expected and type(got) is float


@pytest.mark.parametrize(
    "value, lo, hi, message",
    [
        (0.6, 0, 0.5, "label_noise must be a number from 0 to 0.5, got 0.6"),
        (-0.1, 0, 0.5, "label_noise must be a number from 0 to 0.5, got -0.1"),
        (math.nan, 0, 0.5, "label_noise must be a number from 0 to 0.5, got nan"),
        (math.inf, None, None, "label_noise must be a number, got inf"),
        ("0.1", 0, 0.5, "label_noise must be a number from 0 to 0.5, got '0.1'"),
        (True, 0, 0.5, "label_noise must be a number from 0 to 0.5, got True"),
        (None, 1e-6, 1, "label_noise must be a number from 1e-06 to 1, got None"),
        (-1, 0, None, "label_noise must be a number of at least 0, got -1"),
    ],
)
def test_number_refuses_with_field_range_and_value(value, lo, hi, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checks.number(value, "label_noise", lo, hi)


# ---------------------------------------------------------------- choices
@pytest.mark.parametrize("validator", [checks.choice, checks.one_of])
def test_choices_accept_an_option(validator):
    assert validator("sgd", "optimizer", ("adam", "sgd")) == "sgd"
    assert validator("b", "letter", iter(["a", "b"])) == "b"  # any iterable of options


@pytest.mark.parametrize(
    "validator, value, message",
    [
        (checks.choice, "relu", "unknown model 'relu'; choose one of: compact, linear"),
        (checks.choice, "Compact", "unknown model 'Compact'; choose one of: compact, linear"),
        (checks.choice, None, "unknown model None; choose one of: compact, linear"),
        (checks.choice, {}, "unknown model {}; choose one of: compact, linear"),
        (checks.one_of, "relu", "model must be one of: compact, linear; got 'relu'"),
        (checks.one_of, ["compact"], "model must be one of: compact, linear; got ['compact']"),
        (checks.one_of, {}, "model must be one of: compact, linear; got {}"),
    ],
)
def test_choices_refuse_listing_the_options(validator, value, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        validator(value, "model", ("compact", "linear"))


# ---------------------------------------------------------------- booleans
@pytest.mark.parametrize("value", [True, False])
def test_boolean_accepts_real_booleans(value):
    assert checks.boolean(value, "soft_labels") is value


@pytest.mark.parametrize("value", [1, 0, "true", None, np.bool_(True)])
def test_boolean_refuses_look_alikes(value):
    with pytest.raises(ValueError, match=rf"^soft_labels must be true or false, got {re.escape(repr(value))}$"):
        checks.boolean(value, "soft_labels")


# ---------------------------------------------------------------- settings written as text
@pytest.mark.parametrize("raw, expected", [(" 3 ", 3), ("1", 1), ("256", 256), (7, 7)])
def test_whole_text_accepts(raw, expected):
    assert checks.whole_text(raw, "MLC_MAX_RUNS", 1, 256) == expected


@pytest.mark.parametrize(
    "raw, shown", [("two", "'two'"), ("2.5", "'2.5'"), ("", "''"), ("0", "0"), ("257", "257"), (True, "True")]
)
def test_whole_text_refuses_naming_the_variable(raw, shown):
    with pytest.raises(
        ValueError, match=rf"^MLC_MAX_RUNS must be a whole number from 1 to 256, got {re.escape(shown)}$"
    ):
        checks.whole_text(raw, "MLC_MAX_RUNS", 1, 256)


@pytest.mark.parametrize(
    "raw, expected",
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("off", False), ("", False)]
    + [(True, True), (False, False)],
)
def test_boolean_text_accepts_on_and_off(raw, expected):
    assert checks.boolean_text(raw, "MLC_TENSORBOARD") is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "y"])
def test_boolean_text_refuses_naming_the_variable(raw):
    with pytest.raises(ValueError, match=rf"^MLC_TENSORBOARD must be 1/true or 0/false, got '{raw}'$"):
        checks.boolean_text(raw, "MLC_TENSORBOARD")


# ---------------------------------------------------------------- bytes, lists of numbers
@pytest.mark.parametrize("value", [b"abc", bytearray(b"abc"), memoryview(b"abc")])
def test_as_bytes_copies_to_bytes(value):
    assert checks.as_bytes(value, "data") == b"abc"


@pytest.mark.parametrize("value, kind", [("abc", "str"), (None, "NoneType"), ([1], "list")])
def test_as_bytes_refuses_other_types_with_a_type_error(value, kind):
    with pytest.raises(TypeError, match=rf"^data must be bytes \(the uploaded file's content\), got {kind}$"):
        checks.as_bytes(value, "data")


@pytest.mark.parametrize("values, expected", [([1, 0.5], (1.0, 0.5)), ((np.float32(2),), (2.0,)), ([], ())])
def test_number_tuple_accepts(values, expected):
    assert checks.number_tuple(values, "weights") == expected


@pytest.mark.parametrize(
    "values, message",
    [
        ("0.5", "weights must be a list of numbers, got the string '0.5'"),
        (0.5, "weights must be a list of numbers, got 0.5"),
        ([1, None], "weights must be a list of numbers, got [1, None]"),
        ([1, "x"], "weights must be a list of numbers, got [1, 'x']"),
    ],
)
def test_number_tuple_refuses(values, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checks.number_tuple(values, "weights")


# ---------------------------------------------------------------- first line of an exception, short repr
@pytest.mark.parametrize(
    "exc, kwargs, expected",
    [
        (ValueError("bad value\nmore detail"), {}, "ValueError: bad value"),
        (KeyError(), {}, "KeyError"),
        (RuntimeError("  \n  "), {}, "RuntimeError"),
        (OSError("x" * 300), {"limit": 10, "with_type": False}, "xxxxxxx..."),
        (ValueError("x" * 10), {"limit": 10}, "ValueError: xxxxxxxxxx"),
        (ValueError("first\nsecond"), {"with_type": False}, "first"),
    ],
)
def test_first_line(exc, kwargs, expected):
    assert checks.first_line(exc, **kwargs) == expected


def test_first_line_default_limit_is_200_characters():
    assert len(checks.first_line(ValueError("y" * 500), with_type=False)) == 200


@pytest.mark.parametrize("value, limit, expected", [("ab", 60, "'ab'"), ("a" * 100, 10, "'aaaaaa..."), (3, 60, "3")])
def test_short_repr(value, limit, expected):
    assert checks.short_repr(value, limit) == expected


# ---------------------------------------------------------------- tag names: one rule for every path
@pytest.mark.parametrize("names", [["dog"], [" Boat ", "sun"], [f"t{i}" for i in range(20)], ("a", "b")])
def test_tag_names_accepts_and_strips(names):
    assert checks.tag_names(names, 20) == tuple(str(n).strip() for n in names)
    assert checks.tag_name_problems(names, 20) == []


@pytest.mark.parametrize(
    "names, message",
    [
        ([], "classes is empty: add at least one tag"),
        ([f"t{i}" for i in range(21)], "classes must hold at most 20 tags, got 21"),
        (["dog", "  "], "classes[1]: the tag name is empty; every tag needs a name"),
        (["dog", None], "classes[1]: the tag name is empty; every tag needs a name"),
        (["dog", "cat", "DOG"], "classes[2]: tag names must be unique (case-insensitive): 'DOG' repeats classes[0]"),
        ("dog", "classes must be a list of tag names, got the string 'dog'; pass e.g. ['dog', 'cat']"),
        (5, "classes must be a list of tag names, got 5"),
    ],
)
def test_tag_names_refuses_naming_the_position(names, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        checks.tag_names(names, 20)


def test_tag_names_lists_every_problem_at_once():
    with pytest.raises(ValueError) as info:
        checks.tag_names(["a", "", "A", "b", "B"], 20)
    assert str(info.value) == "; ".join(
        [
            "classes[1]: the tag name is empty; every tag needs a name",
            "classes[2]: tag names must be unique (case-insensitive): 'A' repeats classes[0]",
            "classes[4]: tag names must be unique (case-insensitive): 'B' repeats classes[3]",
        ]
    )


def test_tag_name_problems_place_each_problem_for_a_table():
    rows = ["dog", float("nan"), " Dog", "cat"]
    problems = checks.tag_name_problems(rows, 3, what="the tags table", place=lambda i: f"row {i + 1}")
    assert problems == [
        (None, "the tags table must hold at most 3 tags, got 4"),
        (1, "row 2: the tag name is empty; every tag needs a name"),
        (2, "row 3: tag names must be unique (case-insensitive): 'Dog' repeats row 1"),
    ]


@pytest.mark.parametrize("raw, expected", [(" a ", "a"), (None, ""), (float("nan"), ""), (5, "5"), ("", "")])
def test_tag_text(raw, expected):
    assert checks.tag_text(raw) == expected
