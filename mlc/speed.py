"""How long a run will take on this server, from the runs that finished here (no TensorFlow).

A :class:`SpeedBook` keeps, per model, the *whole-run rate* of the last few
finished runs: training samples (``train_size × epochs``) per wall second,
data generation and validation included — what a visitor waits for. Until a
model has a finished run on this server, the rate comes from
:data:`TYPICAL_RATES` (medians of ``mlc bench --only ttq`` on a 2-core CPU)
and the text says so. An estimate scales the rate by pixels,
``rate × (64 / image_size)²``:

    seconds ≈ train_size × epochs / (rate × (64 / image_size)²)

One book serves the whole server (:data:`BOOK`, a lock guards it): every
visitor's finished run makes everyone's estimate better.

>>> book = SpeedBook()
>>> class Cfg: model, epochs, train_size, image_size = "compact", 5, 6000, 64
>>> book.record_rate("compact", 64, 1500.0)
>>> book.estimate_seconds(Cfg())
20.0
>>> book.estimate_text(Cfg())
'about 20 s on this server'
>>> fresh = SpeedBook()
>>> fresh.estimate_text(Cfg()) is None  # nothing measured here yet: no promise
True
>>> fresh.record_gflops(150.0)  # half the reference machine's compute
>>> fresh.estimate_text(Cfg())
'about 50 s on this server (from its measured compute speed)'
"""

from __future__ import annotations

import math
import statistics
import threading
from collections import deque
from typing import Any

from mlc.states import SpeedBasis

#: Whole-run training samples per second of each model at 64×64 on a 2-core CPU, lightly
#: shared (rounded from ``mlc bench --only ttq``, 2026-12-02, matmul ≈ 300 GFLOP/s; seed_cnn, linear guessed):
#: the estimate until a run of that model has finished on this server.
#: mobilenet_v3_small: 0.59 of lean's whole-run rate (median of 3 alternating pairs, 6,000 samples, 2026-12-02).
TYPICAL_RATES: dict[str, float] = {
    "compact": 1200.0,
    "lean": 2200.0,
    "seed_cnn": 500.0,
    "linear": 5000.0,
    "mobilenet_v3_small": 1300.0,
}
#: float32 1024² matmul GFLOP/s (`devices.matmul_gflops`) of the machine :data:`TYPICAL_RATES` were measured on.
REFERENCE_GFLOPS = 300.0
#: A model with neither a measured nor a typical rate.
FALLBACK_RATE = 800.0
#: Finished runs remembered per model (the estimate is their median).
KEEP = 5
#: Runs shorter than this many training samples say little about the rate (start-up dominates).
MIN_SAMPLES = 2000


def run_rate(run: Any) -> float | None:
    """A finished run's whole-run rate at 64×64: ``samples_seen / wall_seconds × (image_size / 64)²``.

    ``None`` for a run that did not finish, was too short or has no wall time.

    >>> class Cfg: image_size = 32
    >>> class R: status, samples_seen, wall_seconds, config = "finished", 8000, 4.0, Cfg()
    >>> run_rate(R())
    500.0
    """
    if str(getattr(run, "status", "")) != "finished":
        return None
    samples, seconds = getattr(run, "samples_seen", 0), getattr(run, "wall_seconds", 0.0)
    if samples < MIN_SAMPLES or not seconds or not math.isfinite(seconds) or seconds <= 0:
        return None
    return samples / seconds * (run.config.image_size / 64) ** 2


class SpeedBook:
    """Thread-safe per-model whole-run rates of the runs that finished on this server."""

    def __init__(self, typical: dict[str, float] | None = None):
        self._lock = threading.Lock()
        self._rates: dict[str, deque[float]] = {}
        self.typical = dict(TYPICAL_RATES if typical is None else typical)
        self.gflops: float | None = None

    def record_gflops(self, gflops: float) -> None:
        """Remember this server's measured float32 matmul GFLOP/s (scales the typical rates)."""
        if math.isfinite(gflops) and gflops > 0:
            with self._lock:
                self.gflops = float(gflops)

    def record_rate(self, model: str, image_size: int, samples_per_second: float) -> None:
        """Remember one finished run's rate (samples/s at ``image_size``), kept as its 64×64 equivalent."""
        if not (math.isfinite(samples_per_second) and samples_per_second > 0):
            return
        rate = samples_per_second * (image_size / 64) ** 2
        with self._lock:
            self._rates.setdefault(model, deque(maxlen=KEEP)).append(rate)

    def record(self, run: Any) -> bool:
        """Remember a finished run (see :func:`run_rate`); False when it says nothing about speed."""
        rate = run_rate(run)
        if rate is None:
            return False
        self.record_rate(run.config.model, 64, rate)
        return True

    def rate(self, model: str) -> tuple[float, bool]:
        """``(samples/s at 64×64, measured_here)``: the median of this server's runs, else the typical rate
        (scaled by this server's matmul speed once it is measured)."""
        with self._lock:
            measured = list(self._rates.get(model, ()))
            gflops = self.gflops
        if measured:
            return statistics.median(measured), True
        typical = self.typical.get(model, FALLBACK_RATE)
        return (typical if gflops is None else typical * gflops / REFERENCE_GFLOPS), False

    def basis(self, model: str) -> SpeedBasis:
        """What an estimate for ``model`` rests on now."""
        with self._lock:
            if self._rates.get(model):
                return SpeedBasis.RUNS
            return SpeedBasis.NONE if self.gflops is None else SpeedBasis.COMPUTE

    def estimate_seconds(self, config: Any) -> float:
        """Estimated whole-run seconds of ``config`` (``model``, ``epochs``, ``train_size``, ``image_size``)."""
        rate, _ = self.rate(config.model)
        return config.train_size * config.epochs / (rate * (64 / config.image_size) ** 2)

    def estimate_text(self, config: Any) -> str | None:
        """'about 25 s on this server' (from its finished runs), '... (from its measured compute speed)'
        before a run of that model finished here, or ``None`` while nothing is measured here."""
        basis = self.basis(config.model)
        if basis is SpeedBasis.NONE:
            return None
        how = "" if basis is SpeedBasis.RUNS else " (from its measured compute speed)"
        return f"about {duration_text(self.estimate_seconds(config))} on this server{how}"


def duration_text(seconds: float) -> str:
    """A rounded duration for a sentence.

    >>> [duration_text(s) for s in (3.2, 24.6, 61, 150, 7200)]
    ['5 s', '25 s', '1 min', '2.5 min', '120 min']
    """
    if seconds < 57.5:
        return f"{max(5, 5 * round(seconds / 5))} s"
    minutes = seconds / 60
    return f"{round(minutes)} min" if minutes >= 10 or round(minutes * 2) % 2 == 0 else f"{round(minutes * 2) / 2} min"


#: The server-wide book (module state is shared by every session of a Streamlit server).
BOOK = SpeedBook()


def record(run: Any) -> bool:
    """Remember a finished run in :data:`BOOK`."""
    return BOOK.record(run)


def record_gflops(gflops: float) -> None:
    """Remember this server's measured matmul GFLOP/s in :data:`BOOK`."""
    BOOK.record_gflops(gflops)


def estimate_text(config: Any) -> str | None:
    """:meth:`SpeedBook.estimate_text` of :data:`BOOK` (``None``: nothing measured here yet, say no time)."""
    return BOOK.estimate_text(config)
