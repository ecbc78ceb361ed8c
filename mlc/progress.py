"""Where a training is and how it goes: :class:`Progress`, and its plain-dict form for crossing processes.

No TensorFlow here: the web server reads progress that a worker process or a
cluster sends, without importing the engine (:mod:`mlc.training` re-exports it).

>>> p = Progress("batch", epoch=1, epochs=2, batch=3, batches=4, elapsed=1.5, loss=0.7)
>>> round(p.fraction, 3), p.eta
(0.375, 2.5)
>>> from_event(to_event(p)) == p
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The phases a training passes through, in order (``done`` once, at the end).
PHASES = ("data", "batch", "epoch", "done")


@dataclass(frozen=True)
class Progress:
    """A snapshot sent to ``on_progress``: where training is and how it goes.

    ``phase`` is ``"data"`` (generating scenes), ``"batch"``, ``"epoch"`` (after
    validation) or ``"done"``. ``epoch`` counts from 1; ``batch`` is the batch
    within the epoch (1..batches).
    """

    phase: str
    epoch: int
    epochs: int
    batch: int
    batches: int
    elapsed: float  # seconds since training started (data generation excluded)
    loss: float | None = None
    val: dict | None = None  # the epoch's validation summary (phase "epoch")

    @property
    def fraction(self) -> float:
        """Share of all batches done, in [0, 1]."""
        total = self.epochs * self.batches
        return 0.0 if total == 0 else max(0.0, min(1.0, ((self.epoch - 1) * self.batches + self.batch) / total))

    @property
    def eta(self) -> float | None:
        """Seconds left at the current pace, or None before the first batch."""
        f = self.fraction
        return None if f <= 0 else self.elapsed * (1 - f) / f


def to_event(p: Progress) -> dict[str, Any]:
    """``p`` as a plain dict of numbers and strings (picklable, JSON-able), for a pipe or a cluster queue."""
    return dataclasses.asdict(p)


def from_event(event: Mapping[str, Any]) -> Progress:
    """The :class:`Progress` that :func:`to_event` wrote; ValueError for a dict that is not one.

    >>> from_event({"phase": "warp"})
    Traceback (most recent call last):
    ...
    ValueError: a progress event's phase must be one of data, batch, epoch, done, got 'warp'
    """
    if not isinstance(event, Mapping) or event.get("phase") not in PHASES:
        got = event.get("phase") if isinstance(event, Mapping) else event
        raise ValueError(f"a progress event's phase must be one of {', '.join(PHASES)}, got {got!r}")
    names = {f.name for f in dataclasses.fields(Progress)}
    return Progress(**{k: v for k, v in event.items() if k in names})
