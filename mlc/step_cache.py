"""Traced training steps kept across runs of one process: a repeated config skips graph building.

The first batch of every run used to carry 1.7–2.8 s of TensorFlow tracing
(py-spy: Keras builds the train step's graph in Python, op by op, Adam's
update the largest part), a sixth of the default run's time to a good model.
A worker process serves many runs, and in a workshop most of them are the
same config with another seed. So :func:`mlc.training.train` trains a
*working* model taken from this cache, keyed by everything that shapes the
compiled step (:func:`step_key`), and hands the caller its own model with the
trained weights copied in:

1. the caller's model is built and compiled as always (seeded, prior bias:
   its initial weights are the run's);
2. a cached working model of the same key gets those weights, and its
   optimizer's slots and step counter go back to zero, so training it is
   training a fresh model (the tests compare histories run for run);
3. after training the weights go back into the caller's model and the working
   model returns to the cache (one per key, :data:`MAX_KEYS` keys).

A working model is taken out while it trains, so two runs of one key at once
each get their own. Runs under a distribution strategy build their own (no
reuse).

>>> from mlc.config import RunConfig
>>> step_key(RunConfig(seed=1), True) == step_key(RunConfig(seed=2, val_size=300), True)
True
>>> step_key(RunConfig(), True) == step_key(RunConfig(learning_rate=1e-3), True)
False
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlc.switches import Switch

#: Config fields that change the data a run sees but not its compiled training step.
DATA_ONLY_FIELDS: frozenset[str] = frozenset(
    {"seed", "val_size", "test_size", "data_name", "data_fingerprint", "label_noise", "cooccur_train", "cooccur_test"}
)
#: Distinct keys whose working model is kept (the newest); each one holds one small model and its graph.
MAX_KEYS = 2
#: Optimizer variables that are settings, not state: never reset.
_SETTING_VARIABLES = ("learning_rate",)


@dataclass
class WorkingModel:
    """A compiled model whose train step may already be traced, and the microscope metric compiled into it."""

    model: Any
    split: Any = None

    def start_from(self, model) -> None:
        """Take ``model``'s weights and start the optimizer afresh (zero slots, step 0)."""
        self.model.set_weights(model.get_weights())
        for variable in self.model.optimizer.variables:
            if not any(s in variable.name for s in _SETTING_VARIABLES):
                variable.assign(np.zeros(tuple(variable.shape), variable.dtype))


def step_key(config, microscope: bool) -> str:
    """Everything that shapes ``config``'s compiled training step, as one string (data-only fields left out)."""
    fields = {k: v for k, v in config.to_dict().items() if k not in DATA_ONLY_FIELDS}
    return json.dumps({"config": fields, "microscope": bool(microscope)}, sort_keys=True, default=str)


class StepCache:
    """Working models by :func:`step_key`, at most :data:`MAX_KEYS`, the oldest dropped first. Thread-safe."""

    def __init__(self, max_keys: int = MAX_KEYS):
        self.max_keys = max_keys
        self._models: collections.OrderedDict[str, WorkingModel] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def take(self, key: str, build: Callable[[], WorkingModel]) -> WorkingModel:
        """The cached working model of ``key`` (removed until :meth:`give_back`), else ``build()``'s."""
        with self._lock:
            working = self._models.pop(key, None)
            if working is not None:
                self.hits += 1
                return working
            self.misses += 1
        return build()

    def give_back(self, key: str, working: WorkingModel) -> None:
        """Keep ``working`` for the next run of ``key`` (replacing one kept meanwhile)."""
        with self._lock:
            self._models.pop(key, None)
            self._models[key] = working
            while len(self._models) > self.max_keys:
                self._models.popitem(last=False)

    def clear(self) -> None:
        """Drop every kept model and zero the hit and miss counts."""
        with self._lock:
            self._models.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)


#: This process's cache (:func:`mlc.training.train` uses it).
CACHE = StepCache()


def working_model(key: str, own: WorkingModel, build: Callable[[], WorkingModel], reuse: bool = True) -> WorkingModel:
    """The model to train for a run whose own compiled model (``own``, with its microscope metric) holds its
    initial weights: a working model of ``key`` from :data:`CACHE` (or ``build()``'s) starting from those weights;
    ``own`` itself when ``reuse`` is False (a distribution strategy) or inside :func:`fresh_steps`."""
    if not reuse or not enabled():
        return own
    working = CACHE.take(key, build)
    working.start_from(own.model)
    return working


_REUSE = Switch("mlc_step_cache")


def enabled() -> bool:
    """False inside :func:`fresh_steps`."""
    return _REUSE.is_on()


@contextlib.contextmanager
def fresh_steps() -> Iterator[None]:
    """Within this context every run builds and traces its own step: the benchmark's baseline (before
    2026-12-03) and anyone who wants to see the graph-building time.

    >>> with fresh_steps():
    ...     enabled()
    False
    """
    with _REUSE.off():
        yield
