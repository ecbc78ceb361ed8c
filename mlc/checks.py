"""One module of checks that every boundary uses (the model: scikit-learn's ``utils/validation.py``).

One narrow validator per kind of value. Each returns the value in its canonical
type or raises ``ValueError`` (``TypeError`` for bytes) with one line that names the
field, the allowed range and what arrived, e.g. ``epochs must be a whole number
from 1 to 500, got 0``. Nothing here imports TensorFlow, Keras or Streamlit.

>>> whole(8, "epochs", 1, 500)
8
>>> whole(0, "epochs", 1, 500)
Traceback (most recent call last):
...
ValueError: epochs must be a whole number from 1 to 500, got 0
>>> number(0.5, "label_noise", 0, 0.5)
0.5
>>> choice("adam", "optimizer", ("adam", "sgd"))
'adam'
>>> whole_text(" 3 ", "MLC_MAX_EPOCHS", 1, 500)
3
>>> boolean_text("yes", "MLC_WORKSHOP_MODE")
True
>>> first_line(ValueError("bad value\\nmore detail"))
'ValueError: bad value'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: Spellings an environment variable or a secrets entry may use for on and off.
TRUE_TEXT = ("1", "true", "yes", "on")
FALSE_TEXT = ("0", "false", "no", "off", "")


def _bounds(lo: float | None, hi: float | None, fmt: str = "") -> str:
    if lo is not None and hi is not None:
        return f" from {lo:{fmt}} to {hi:{fmt}}"
    if lo is not None:
        return f" of at least {lo:{fmt}}"
    if hi is not None:
        return f" of at most {hi:{fmt}}"
    return ""


def _within(value: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def whole(value: Any, name: str, lo: int | None = None, hi: int | None = None, *, integral_floats: bool = False) -> int:
    """``value`` as an ``int`` in ``[lo, hi]`` (either bound may be None).

    Booleans are refused (``True`` is not a count). ``integral_floats=True`` also
    takes floats with no fractional part (``8.0`` from a JSON file).

    >>> whole(8.0, "epochs", 1, 500, integral_floats=True)
    8
    >>> whole(True, "n", 0)
    Traceback (most recent call last):
    ...
    ValueError: n must be a whole number of at least 0, got True
    """
    ok = not isinstance(value, bool) and (
        isinstance(value, numbers.Integral)
        or (integral_floats and isinstance(value, float) and math.isfinite(value) and value.is_integer())
    )
    if not ok or not _within(value, lo, hi):
        raise ValueError(f"{name} must be a whole number{_bounds(lo, hi)}, got {value!r}")
    return int(value)


def number(value: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    """``value`` as a finite ``float`` in ``[lo, hi]``; booleans and strings are refused.

    >>> number(float("nan"), "learning_rate", 1e-6, 1)
    Traceback (most recent call last):
    ...
    ValueError: learning_rate must be a number from 1e-06 to 1, got nan
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not (math.isfinite(value) and _within(value, lo, hi)):
        raise ValueError(f"{name} must be a number{_bounds(lo, hi, 'g')}, got {value!r}")
    return float(value)


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options`` (exact match), else a line listing them.

    >>> choice("relu", "model", ("compact", "linear"))
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'relu'; choose one of: compact, linear
    """
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(options)}")
    return value


def boolean(value: Any, name: str) -> bool:
    """A real ``bool`` (``1`` and ``"true"`` are not booleans here; see :func:`boolean_text`).

    >>> boolean(1, "soft_labels")
    Traceback (most recent call last):
    ...
    ValueError: soft_labels must be true or false, got 1
    """
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def whole_text(raw: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """A whole number written as text (an environment variable, a secrets entry, a link).

    >>> whole_text("two", "MLC_MAX_RUNS", 1, 256)
    Traceback (most recent call last):
    ...
    ValueError: MLC_MAX_RUNS must be a whole number from 1 to 256, got 'two'
    """
    if isinstance(raw, bool):
        raise ValueError(f"{name} must be a whole number{_bounds(lo, hi)}, got {raw!r}")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number{_bounds(lo, hi)}, got {raw!r}") from None
    return whole(value, name, lo, hi)


def boolean_text(raw: Any, name: str) -> bool:
    """On or off written as text: ``1/true/yes/on`` or ``0/false/no/off`` (any case; empty is off).

    >>> boolean_text("maybe", "MLC_TENSORBOARD")
    Traceback (most recent call last):
    ...
    ValueError: MLC_TENSORBOARD must be 1/true or 0/false, got 'maybe'
    """
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in TRUE_TEXT:
        return True
    if text in FALSE_TEXT:
        return False
    raise ValueError(f"{name} must be 1/true or 0/false, got {raw!r}")


def as_bytes(value: Any, name: str) -> bytes:
    """Uploaded content as ``bytes`` (``bytearray`` and ``memoryview`` are copied).

    >>> as_bytes("text", "data")
    Traceback (most recent call last):
    ...
    TypeError: data must be bytes (the uploaded file's content), got str
    """
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes (the uploaded file's content), got {type(value).__name__}")
    return bytes(value)


def first_line(exc: BaseException, limit: int = 200, *, with_type: bool = True) -> str:
    """``"TypeName: first line of the message"``, cut to ``limit`` characters: how an error reaches a person.

    >>> first_line(KeyError())
    'KeyError'
    >>> first_line(OSError("x" * 300), limit=10, with_type=False)
    'xxxxxxx...'
    """
    text = (str(exc).strip().splitlines() or [""])[0]
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    if not with_type:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for quoting what arrived in a message.

    >>> short_repr("a" * 100, limit=10)
    "'aaaaaa..."
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_of(value: Any, name: str, options: Iterable[str]) -> str:
    """A setting's value from a fixed set, in the ``<field> must be ..., got X`` form of the other checks.

    :func:`choice` words a name looked up in a registry ("unknown model ..."); this
    one words a field of a config (an unhashable JSON value is refused, not a TypeError).

    >>> one_of("cosine", "lr_schedule", ("cosine", "constant"))
    'cosine'
    >>> one_of({}, "loss", ("bce", "focal"))
    Traceback (most recent call last):
    ...
    ValueError: loss must be one of: bce, focal; got {}
    """
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of: {', '.join(options)}; got {value!r}")
    return value


def tag_text(raw: Any) -> str:
    """A tag name as typed: stripped text; ``None`` and NaN (an emptied table cell) are empty.

    >>> tag_text("  Boat "), tag_text(None), tag_text(float("nan"))
    ('Boat', '', '')
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return ""
    return str(raw).strip()


def tag_name_problems(
    names: Sequence[Any], most: int, *, what: str = "classes", place: Callable[[int], str] | None = None
) -> list[tuple[int | None, str]]:
    """Every problem with a list of tag names: ``(position or None, line)`` pairs (empty list = valid).

    The one rule for tag names, wherever they come from: 1 to ``most`` of them,
    none empty (after :func:`tag_text`), none repeated ignoring case. ``what`` names
    the whole list in the count line; ``place(i)`` names position ``i`` (0-based),
    ``"classes[1]"`` by default, ``"row 2"`` for the tags table.

    >>> for line in tag_name_problems(["dog", " ", "DOG"], 20, place=lambda i: f"row {i + 1}"):
    ...     print(line)
    (1, 'row 2: the tag name is empty; every tag needs a name')
    (2, "row 3: tag names must be unique (case-insensitive): 'DOG' repeats row 1")
    >>> tag_name_problems([], 20, what="the tags table")
    [(None, 'the tags table is empty: add at least one tag')]
    """
    place = place or (lambda i: f"{what}[{i}]")
    if not names:
        return [(None, f"{what} is empty: add at least one tag")]
    problems: list[tuple[int | None, str]] = []
    if len(names) > most:
        problems.append((None, f"{what} must hold at most {most} tags, got {len(names)}"))
    seen: dict[str, int] = {}
    for i, raw in enumerate(names):
        text = tag_text(raw)
        if not text:
            problems.append((i, f"{place(i)}: the tag name is empty; every tag needs a name"))
        elif text.lower() in seen:
            first = place(seen[text.lower()])
            problems.append((i, f"{place(i)}: tag names must be unique (case-insensitive): {text!r} repeats {first}"))
        else:
            seen[text.lower()] = i
    return problems


def tag_names(names: Any, most: int, name: str = "classes") -> tuple[str, ...]:
    """Validated tag names (stripped) by the rule of :func:`tag_name_problems`; ValueError lists every problem.

    >>> tag_names([" Boat ", "sun"], 20)
    ('Boat', 'sun')
    >>> tag_names(["a", "A"], 20)
    Traceback (most recent call last):
    ...
    ValueError: classes[1]: tag names must be unique (case-insensitive): 'A' repeats classes[0]
    """
    if isinstance(names, (str, bytes)):
        raise ValueError(f"{name} must be a list of tag names, got the string {names!r}; pass e.g. ['dog', 'cat']")
    try:
        names = list(names)
    except TypeError:
        raise ValueError(f"{name} must be a list of tag names, got {short_repr(names)}") from None
    problems = tag_name_problems(names, most, what=name)
    if problems:
        raise ValueError("; ".join(line for _, line in problems))
    return tuple(tag_text(n) for n in names)


def number_tuple(values: Any, name: str) -> tuple[float, ...]:
    """A list of numbers as a tuple of floats (one per tag, say); the ranges are the caller's.

    >>> number_tuple([1, 0.5], "weights")
    (1.0, 0.5)
    >>> number_tuple("0.5", "prevalence")
    Traceback (most recent call last):
    ...
    ValueError: prevalence must be a list of numbers, got the string '0.5'
    """
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a list of numbers, got the string {short_repr(values)}")
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of numbers, got {short_repr(values)}") from None


def json_type(value: Any) -> str:
    """What kind of JSON value ``value`` is, for a message (``object``, ``list``, ``string``, ``number`` ...).

    >>> json_type({}), json_type([1]), json_type(None), json_type(2.5)
    ('object', 'list', 'null', 'number')
    """
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
