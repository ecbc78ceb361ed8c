"""On-by-default switches that a ``with`` block turns off for its own thread or task only.

The benchmark's baseline trains as the product did before a change (Keras' batch norm, the output
bias at 0, every run tracing its own step) without a global setting that another visitor's run
could see: each switch is a :class:`contextvars.ContextVar`.

>>> prior = Switch("example")
>>> with prior.off():
...     prior.is_on()
False
>>> prior.is_on()
True
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator


class Switch:
    """A named flag, on unless inside :meth:`off`."""

    def __init__(self, name: str):
        self._var: contextvars.ContextVar[bool] = contextvars.ContextVar(name, default=True)

    def is_on(self) -> bool:
        return self._var.get()

    @contextlib.contextmanager
    def off(self) -> Iterator[None]:
        token = self._var.set(False)
        try:
            yield
        finally:
            self._var.reset(token)
