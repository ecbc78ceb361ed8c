"""How long the server takes to run a page's script, start to finish: a ring buffer of durations.

The app's entry point times every full script run (not fragment ticks) with the
server-wide :data:`CLOCK` (see :func:`mlc.ui.run_page`). With the environment
variable ``MLC_RERUN_LOG=<file>`` set, each run also appends one JSON line
``{"page": ..., "seconds": ..., "cpu_seconds": ..., "outcome": ..., "t": <unix time>}``
to that file, which ``benchmarks/load.py`` reads back for its server-side percentiles.
``cpu_seconds`` is the CPU time of the script's own thread: the work of the run, where
``seconds`` also holds the time it waited for a core or for the interpreter's lock.
``outcome`` is ``"ok"``, ``"rerun"`` (``st.rerun`` ended the run early),
``"stop"`` (``st.stop``, or a newer rerun request) or ``"error"``.

>>> clock = RerunClock(size=3)
>>> for s in (0.1, 0.2, 0.3, 0.4):
...     clock.record("home", s)
>>> clock.durations()  # only the last 3 are kept
[0.2, 0.3, 0.4]
>>> clock.summary()["p50"]
0.3
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

#: Environment variable naming the file that gets one JSON line per script run.
LOG_ENV = "MLC_RERUN_LOG"
#: Durations kept in memory (the newest; about a minute of 8 busy visitors).
DEFAULT_SIZE = 2048
#: What ended a run.
OUTCOMES: tuple[str, ...] = ("ok", "rerun", "stop", "error")


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values`` with linear interpolation, as ``numpy.percentile``;
    None for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([5.0], 95), percentile([], 50)
    (2.5, 5.0, None)
    """
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"q must be a percentile in [0, 100], got {q!r}")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds: Iterable[float]) -> dict[str, float | int | None]:
    """``count``, ``p50``, ``p95`` and ``max`` of durations in seconds (None when there are none).

    >>> summarize([0.5, 0.1, 0.3])
    {'count': 3, 'p50': 0.3, 'p95': 0.48, 'max': 0.5}
    """
    values = list(seconds)
    return {
        "count": len(values),
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "max": _round(max(values, default=None)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


class RerunClock:
    """The newest ``size`` script-run durations per server, thread-safe; optionally logged to a file."""

    def __init__(self, size: int = DEFAULT_SIZE, log_path: str | os.PathLike | None = None):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a whole number >= 1, got {size!r}")
        self._runs: collections.deque[tuple[str, float]] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self.log_path = Path(log_path) if log_path else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, size: int = DEFAULT_SIZE) -> RerunClock:
        """A clock that logs to ``$MLC_RERUN_LOG`` when that is set (and not blank).

        >>> RerunClock.from_env({}).log_path is None
        True
        """
        return cls(size, environ.get(LOG_ENV, "").strip() or None)

    def record(self, page: str, seconds: float, outcome: str = "ok", cpu_seconds: float | None = None) -> None:
        """Keep one run's duration (and append its JSON line to the log file, if any)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        seconds = float(seconds)
        with self._lock:
            self._runs.append((page, seconds))
            if self.log_path is not None:
                entry = {"page": page, "seconds": round(seconds, 6), "outcome": outcome, "t": time.time()}
                if cpu_seconds is not None:
                    entry["cpu_seconds"] = round(float(cpu_seconds), 6)
                line = json.dumps(entry)
                with self.log_path.open("a") as out:  # one write per line: lines from threads never interleave
                    out.write(line + "\n")

    @contextlib.contextmanager
    def timing(self, page: str) -> Iterator[None]:
        """Time the body as one run of ``page``; an exception still records (its outcome) and propagates.

        >>> clock = RerunClock()
        >>> with clock.timing("learn"):
        ...     pass
        >>> clock.pages()
        ['learn']
        """
        start, cpu = time.perf_counter(), time.thread_time()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except BaseException as exc:
            outcome = _outcome_of(exc)
            raise
        finally:
            self.record(page, time.perf_counter() - start, outcome, time.thread_time() - cpu)

    def durations(self, page: str | None = None) -> list[float]:
        """Kept durations in seconds, oldest first (only ``page``'s when given)."""
        with self._lock:
            return [s for p, s in self._runs if page is None or p == page]

    def pages(self) -> list[str]:
        """Pages with a kept run, in order of their first kept run."""
        with self._lock:
            return list(dict.fromkeys(p for p, _ in self._runs))

    def summary(self, page: str | None = None) -> dict[str, float | int | None]:
        """:func:`summarize` of :meth:`durations`."""
        return summarize(self.durations(page))

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()


def _outcome_of(exc: BaseException) -> str:
    # Streamlit's control-flow exceptions, recognised by name so this module needs no Streamlit
    name = type(exc).__name__
    if name == "RerunException":
        return "rerun"
    if name in ("StopException", "ScriptControlException"):
        return "stop"
    return "error"


def read_log(path: str | os.PathLike, since: float | None = None) -> list[dict]:
    """The records of a ``MLC_RERUN_LOG`` file (those at or after unix time ``since``); bad lines skipped.

    A missing file has no records.
    """
    records = []
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return records
    for line in text.splitlines():
        try:
            record = json.loads(line)
            ok = isinstance(record, dict) and isinstance(record.get("seconds"), (int, float))
        except json.JSONDecodeError:
            ok = False
        if ok and (since is None or record.get("t", 0) >= since):
            records.append(record)
    return records


def log_summary(
    records: Iterable[Mapping], outcomes: Iterable[str] = ("ok",), field: str = "seconds"
) -> dict[str, dict]:
    """:func:`summarize` of logged runs with one of ``outcomes``: ``{"all": ..., <page>: ...}``;
    ``field="cpu_seconds"`` summarises the script threads' CPU time instead (runs without it left out).

    >>> log_summary([{"page": "train", "seconds": 0.2, "outcome": "ok"},
    ...              {"page": "train", "seconds": 9.0, "outcome": "rerun"}])["train"]["count"]
    1
    """
    keep = set(outcomes)
    by_page: dict[str, list[float]] = collections.defaultdict(list)
    every: list[float] = []
    for r in records:
        if r.get("outcome", "ok") in keep and isinstance(r.get(field), (int, float)):
            by_page[str(r.get("page"))].append(float(r[field]))
            every.append(float(r[field]))
    return {"all": summarize(every), **{page: summarize(v) for page, v in by_page.items()}}


#: The server-wide clock (one per process), logging where ``MLC_RERUN_LOG`` says.
CLOCK = RerunClock.from_env()
