"""What a pitfall is, and what its live demonstrations run on.

A :class:`Pitfall` holds the words and code a visitor reads and ``run()``, which
executes the calls for real and returns a :class:`Demo`. :data:`PITFALLS` is
the registry (in teaching order) that :mod:`mlc.pitfalls` fills; the helpers
below build the tiny seeded models and data the demos share (no global seed is
touched, so a demo gives the same numbers every time).

>>> dense_model(4, 3, "sigmoid").output_shape
(None, 3)
>>> y, logits = predictions_that_are_all_right(n=8)
>>> bool(((logits > 0) == (y == 1)).all())
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import keras
import numpy as np

from mlc.registry import Registry

__all__ = [
    "Demo",
    "PITFALLS",
    "Pitfall",
    "dense_model",
    "predictions_that_are_all_right",
    "register",
    "sigmoid_passthrough",
    "source_without_docstring",
    "weights_vector",
]


@dataclass(frozen=True)
class Demo:
    """What one live demonstration showed.

    ``wrong``/``fix`` are short texts for the visitor (the real error as
    ``"Type: first line"`` or the wrong number; the correct result).
    ``ok`` is True when the pitfall appeared as the explanation says.
    ``wrong_value``/``fix_value`` are the headline numbers (None when the
    wrong side is an error); ``numbers`` holds any other measured values.
    """

    wrong: str
    fix: str
    ok: bool
    wrong_value: float | None = None
    fix_value: float | None = None
    numbers: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Pitfall:
    """One pitfall: words and code for the visitor, plus ``run() -> Demo``."""

    name: str
    title: str
    explanation: str
    wrong_code: str
    fix_code: str
    run: Callable[[], Demo]


#: name -> :class:`Pitfall`; filled by :func:`register`, in teaching order (a name is registered once).
PITFALLS: Registry[Pitfall] = Registry(
    "pitfall",
    example="labels_shape",
    make=lambda name, run, *, title, explanation, wrong_code, fix_code: Pitfall(
        name, title, " ".join(explanation.split()), wrong_code.strip(), fix_code.strip(), run
    ),
)


def register(name: str, *, title: str, explanation: str, wrong_code: str, fix_code: str):
    """Decorator: add ``run() -> Demo`` to :data:`PITFALLS` under ``name`` with its texts.

    ``explanation`` is one paragraph of prose: its line breaks (wrapped in the source) become single spaces.
    The code texts keep their lines; only their surrounding blank lines are stripped.
    """
    return PITFALLS.register(name, title=title, explanation=explanation, wrong_code=wrong_code, fix_code=fix_code)


# ---------------------------------------------------------------- what the demos run on
def dense_model(inputs: int, outputs: int, activation: str | None = None, seed: int = 1) -> keras.Model:
    """Input -> Dense(outputs) with a seeded initialiser (no global seed is touched)."""
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(
                outputs,
                activation=activation,
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            ),
        ]
    )


def weights_vector(model: keras.Model) -> np.ndarray:
    """Every weight of ``model`` in one flat vector (to compare two trainings)."""
    return np.concatenate([np.asarray(v.numpy()).ravel() for v in model.weights])


def predictions_that_are_all_right(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Multi-hot targets (n, 5) with the default prevalence and logits that get every tag right.

    Present tags get a probability in [0.6, 1), absent ones in [0, 0.4): at the 0.5
    threshold every single tag decision is correct, but the top-scoring tag of a
    sample is a random one of its present tags.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 5)) < np.array([0.35, 0.05, 0.3, 0.4, 0.5])).astype(np.float32)
    p = np.where(y == 1, rng.uniform(0.6, 0.999, y.shape), rng.uniform(0.001, 0.4, y.shape))
    return y, np.log(p / (1 - p)).astype(np.float32)


def sigmoid_passthrough(classes: int) -> keras.Model:
    """A weightless model whose output is sigmoid(input): feed it logits, get those probabilities."""
    return keras.Sequential([keras.Input((classes,)), keras.layers.Activation("sigmoid")])


def source_without_docstring(obj) -> str:
    """The source of ``obj`` as shown to visitors: what the demo runs, minus its docstring."""
    lines = inspect.getsource(obj).splitlines()
    doc = inspect.getdoc(obj)
    if doc:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith('"""'))
        end = (
            start
            if lines[start].strip().count('"""') == 2
            else next(i for i in range(start + 1, len(lines)) if '"""' in lines[i])
        )
        del lines[start : end + 2 if end + 1 < len(lines) and not lines[end + 1].strip() else end + 1]
    return "\n".join(lines) + "\n"
