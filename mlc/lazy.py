"""A module imported on first use, so a registry can be read without importing Keras.

``keras = lazy_module("keras")`` at the top of a module gives a stand-in that
imports the real module the first time one of its attributes is read. The
model registry uses it: the names, summaries and builders of :data:`mlc.models.MODELS`
are there at once (the home page shows them), while Keras (and TensorFlow, some
seconds of import) loads when a builder first runs.

>>> json = lazy_module("json")
>>> json
<lazy module 'json'>
>>> json.dumps([1])
'[1]'
"""

from __future__ import annotations

import importlib
import types


class LazyModule:
    """Stands in for module ``name``; reading an attribute imports it (once) and reads it there."""

    def __init__(self, name: str):
        self._name = name
        self._module: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # copy, pickle and doctest probe dunders: do not import for them
        return getattr(self._load(), attr)

    @property
    def loaded(self) -> bool:
        """True once the real module has been imported through this stand-in."""
        return self._module is not None

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> LazyModule:
    """A stand-in for ``import name`` that imports on first attribute access (see the module docstring)."""
    return LazyModule(name)
