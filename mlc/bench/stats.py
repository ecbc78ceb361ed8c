"""The one statistic every benchmark part reports: the median of its repeats."""

from __future__ import annotations

import statistics
from collections.abc import Iterable


def median(values: Iterable[float | None]) -> float | None:
    """Median of the measured values; ``None`` (not measured, e.g. a target not reached) is skipped.

    >>> median([3.0, None, 1.0, 2.0])
    2.0
    >>> median([None]) is None
    True
    """
    measured = [v for v in values if v is not None]
    return statistics.median(measured) if measured else None
