"""Tests for mlc.lazy: a module stand-in that imports on first attribute access."""

import subprocess
import sys
from pathlib import Path

import pytest

from mlc.lazy import LazyModule, lazy_module

ROOT = Path(__file__).resolve().parents[1]


def test_nothing_is_imported_until_an_attribute_is_read():
    code = (
        "import sys\n"
        "from mlc.lazy import lazy_module\n"
        "m = lazy_module('colorsys')\n"
        "before = 'colorsys' in sys.modules\n"
        "value = m.rgb_to_hsv(1.0, 0.0, 0.0)\n"
        "print(before, 'colorsys' in sys.modules, m.loaded, value)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True", "(0.0,", "1.0,", "1.0)"]


def test_attributes_come_from_the_real_module():
    import json

    lazy = lazy_module("json")
    assert isinstance(lazy, LazyModule)
    assert lazy.dumps is json.dumps and lazy.loaded


def test_a_missing_attribute_or_module_raises_as_the_import_would():
    with pytest.raises(AttributeError):
        lazy_module("json").no_such_function  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        lazy_module("no_such_module_here").anything  # noqa: B018


def test_dunder_probes_do_not_import():
    lazy = lazy_module("no_such_module_here")
    assert not hasattr(lazy, "__wrapped__")  # doctest and copy ask for these
    assert repr(lazy) == "<lazy module 'no_such_module_here'>" and not lazy.loaded
