"""One registry helper for the things mlc keeps by name: losses, models, pitfalls.

A :class:`Registry` is a ``dict`` (name -> entry, in registration order) whose
``register(name, **meta)`` is a decorator. It refuses a name that is not
identifier-like and a name that is already taken, so a second entry can never
silently replace the first. ``make(name, obj, **meta)`` turns the decorated
object into the stored entry (a spec, the class itself, ...); the decorator
returns the object unchanged.

>>> shapes = Registry("shape", example="square")
>>> @shapes.register("square", sides=4)
... def square():
...     return "■"
>>> list(shapes), shapes["square"]()
(['square'], '■')
>>> shapes.register("square")(lambda: "□")
Traceback (most recent call last):
...
ValueError: shape 'square' is already registered; choose another name
>>> shapes.lookup("circle")
Traceback (most recent call last):
...
ValueError: unknown shape 'circle'; choose one of: square
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


def _keep(name: str, obj: Any, **meta: Any) -> Any:
    return obj


class Registry(dict[str, V], Generic[V]):
    """name -> entry, filled by :meth:`register`; ``kind`` names the things in messages.

    ``make(name, obj, **meta)`` builds the stored entry from the decorated object
    and the decorator's keyword arguments (default: the object itself); it may
    raise ``TypeError`` for an object of the wrong kind.
    """

    def __init__(self, kind: str, *, example: str = "name", make: Callable[..., V] = _keep):
        super().__init__()
        self.kind = kind
        self.example = example
        self.make = make

    def register(self, name: str, **meta: Any) -> Callable[[Any], Any]:
        """Decorator: store ``make(name, obj, **meta)`` under ``name`` and return ``obj``.

        >>> Registry("loss", example="bce").register("two words")
        Traceback (most recent call last):
        ...
        ValueError: loss name must be an identifier-like string such as 'bce', got 'two words'
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"{self.kind} name must be an identifier-like string such as {self.example!r}, got {name!r}"
            )

        def decorator(obj: Any) -> Any:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is already registered; choose another name")
            self[name] = self.make(name, obj, **meta)
            return obj

        return decorator

    def lookup(self, name: Any) -> V:
        """The entry registered as ``name``; ValueError listing the names for any other value."""
        if not isinstance(name, str) or name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self)}")
        return self[name]

    def copy(self) -> Registry[V]:
        """A registry with the same settings and entries (``dict.copy`` would lose them): for tests."""
        twin: Registry[V] = Registry(self.kind, example=self.example, make=self.make)
        twin.update(self)
        return twin
