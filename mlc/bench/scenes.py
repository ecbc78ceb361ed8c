"""Part 3, ``data``: synthetic scene generation speed, images/s at 64x64."""

from __future__ import annotations

import time

from mlc.bench.stats import median


def bench_data(quick: bool, repeats: int) -> dict:
    """``{"hard": {"images_per_s", "all"}, "soft": {...}}`` for :func:`mlc.data.make_dataset`."""
    from mlc.data import make_dataset

    n = 2000 if quick else 20000
    make_dataset(256)
    out = {}
    for soft in (False, True):
        rates = []
        for r in range(repeats):
            t = time.perf_counter()
            make_dataset(n, soft_labels=soft, seed=r)
            rates.append(n / (time.perf_counter() - t))
        out["soft" if soft else "hard"] = {"images_per_s": median(rates), "all": rates}
    return out
