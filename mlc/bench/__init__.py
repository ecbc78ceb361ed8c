"""Side-by-side measurements of the mlc core (``mlc bench`` / ``python -m mlc bench``).

Each part alternates its contenders (A, B, A, B, ...) in one process, repeats,
and reports medians, because a shared 2-core machine is noisy:

1. ``time_to_quality``: wall time from the start of training until macro mAP
   >= 0.95 on a 1,000-image validation split — the reference article's recipe
   (on mlc scenes) vs the mlc default config. Validation time is excluded
   from both clocks; the recipe is given a time budget and reported as
   "not reached" with its best mAP when it runs out.
2. ``throughput``: training samples/s after warm-up of the article's recipe
   (seed_cnn, float64 NumPy arrays, ``model.fit``, batch 32, Adam, sigmoid +
   ``binary_crossentropy`` + ``accuracy``) vs the mlc engine on the same
   architecture and batch size, with achieved GFLOP/s next to a float32
   matmul GFLOP/s measured in the same run.
3. ``data``: synthetic scene generation, images/s at 64x64 (hard and soft labels).
4. ``memory``: peak resident memory of a default ``python -m mlc train`` run.
5. ``weighting``: the rare tag's recall/precision at 0.5 for bce vs weighted_bce
   (article's per-tag weighting and positive-term weighting), same seed and budget.
6. ``live``: training samples/s of a Train-page job polled by 1 s chart ticks vs headless.
7. ``predict``: ms per image on the Predict page's path (decode + one direct model
   call) vs decode + ``model.predict``, for a small PNG scene and a 1600×1200 JPEG.
8. ``pool``: a visitor's wait (submit → run in hand) over the run's own training
   seconds, through a warm worker process vs in-process.
9. ``ttq``: the 2026-12-01 default run vs today's default, time to mAP >= 0.95 in
   GFLOP-eq (seconds × TF fp32 2048² matmul GFLOP/s measured in the same process),
   whole-run seconds and final mAP (``python -m mlc bench --only ttq``).
10. ``import``: own images in: a zip of 1,000 real-size JPEGs read by
    :mod:`mlc.imagesets` (decode + resize), images/s vs a plain Pillow loop.
11. ``digits``: time to test mAP >= 0.9 on the digits data set, default model vs ``compact``.
12. ``own_memory``: peak memory of ``mlc train --data`` on 5,000 own images vs scenes of the same sizes.
13. ``microscope``: the gradient microscope's cost on training samples/s, on vs off, alternating.
14. ``saliency``: ms for all five tags' maps of one 64×64 image, warm, compiled vs eager Grad-CAM.

The suite is part of the installed package (it needs nothing from a checkout):
:func:`run` measures and returns one JSON-ready dict, :func:`format_table`
turns it into the Markdown table the README quotes. Modules, by what they
measure: :mod:`~mlc.bench.training` (parts 1, 2, 5), :mod:`~mlc.bench.scenes`
(3), :mod:`~mlc.bench.memory` (4), :mod:`~mlc.bench.live` (6),
:mod:`~mlc.bench.predict` (7), :mod:`~mlc.bench.pool` (8), :mod:`~mlc.bench.ttq` (9),
:mod:`~mlc.bench.realdata` (10-12), :mod:`~mlc.bench.microscope` (13), :mod:`~mlc.bench.saliency` (14);
:mod:`~mlc.bench.table` formats.

>>> list(PARTS)[-4:], len(PARTS)
(['digits', 'own_memory', 'microscope', 'saliency'], 14)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from mlc.bench.live import bench_live, bench_live_windows
from mlc.bench.memory import bench_memory
from mlc.bench.microscope import bench_microscope
from mlc.bench.pool import bench_pool
from mlc.bench.predict import bench_predict
from mlc.bench.realdata import bench_digits, bench_import, bench_own_memory
from mlc.bench.saliency import bench_saliency
from mlc.bench.scenes import bench_data
from mlc.bench.table import format_table
from mlc.bench.training import (
    TARGET_MAP,
    bench_throughput,
    bench_time_to_quality,
    bench_weighting,
    matmul_gflops,
    mlc_time_to_quality,
    recipe_time_to_quality,
    reference_model,
    training_flops_per_sample,
)
from mlc.bench.ttq import bench_ttq

#: Every part, in the order a full run measures them; each is ``f(quick, repeats) -> dict``.
PARTS: dict[str, Callable[[bool, int], dict]] = {
    "data": bench_data,
    "throughput": bench_throughput,
    "time_to_quality": bench_time_to_quality,
    "weighting": bench_weighting,
    "memory": bench_memory,
    "live": bench_live,
    "predict": bench_predict,
    "pool": bench_pool,
    "ttq": bench_ttq,
    "import": bench_import,
    "digits": bench_digits,
    "own_memory": bench_own_memory,
    "microscope": bench_microscope,
    "saliency": bench_saliency,
}


def run(
    parts: Iterable[str] | None = None,
    *,
    quick: bool = False,
    repeats: int | None = None,
    on_part: Callable[[str], None] | None = None,
) -> dict:
    """Measure ``parts`` (default: all of :data:`PARTS`) and return the results.

    ``quick`` uses small sizes and one repeat (a smoke run, not a measurement);
    ``repeats`` defaults to 3 (1 when quick). ``on_part(name)`` is called before
    each part starts. The dict has ``quick``, ``repeats``, ``machine`` and one
    entry per part, and serialises with ``json.dumps(results, default=float)``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    names = list(parts) if parts else list(PARTS)
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        raise ValueError(f"unknown benchmark part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    repeats = repeats or (1 if quick else 3)
    results: dict = {"quick": quick, "repeats": repeats, "machine": {"cpus": os.cpu_count()}}
    for name in names:
        if on_part is not None:
            on_part(name)
        results[name] = PARTS[name](quick, repeats)
    return results


__all__ = [
    "PARTS",
    "TARGET_MAP",
    "bench_data",
    "bench_digits",
    "bench_import",
    "bench_own_memory",
    "bench_live",
    "bench_live_windows",
    "bench_memory",
    "bench_microscope",
    "bench_pool",
    "bench_predict",
    "bench_saliency",
    "bench_throughput",
    "bench_ttq",
    "bench_time_to_quality",
    "bench_weighting",
    "format_table",
    "matmul_gflops",
    "mlc_time_to_quality",
    "recipe_time_to_quality",
    "reference_model",
    "run",
    "training_flops_per_sample",
]
