"""Compatibility shim: the benchmark suite moved into the package as :mod:`mlc.bench`.

It ships with ``pip install .`` now, so ``mlc bench`` works without a checkout.
Old imports (``from benchmarks.core import training_flops_per_sample``) keep working;
new code imports from :mod:`mlc.bench`.
"""

from pathlib import Path

from mlc.bench import (  # noqa: F401  (re-exported names)
    PARTS,
    TARGET_MAP,
    bench_data,
    bench_live,
    bench_live_windows,
    bench_memory,
    bench_predict,
    bench_throughput,
    bench_time_to_quality,
    bench_weighting,
    format_table,
    matmul_gflops,
    mlc_time_to_quality,
    recipe_time_to_quality,
    reference_model,
    training_flops_per_sample,
)

#: The checkout's root (this file's parent's parent), as before the move.
ROOT = Path(__file__).resolve().parents[1]


def main(args) -> int:
    """What ``mlc bench`` runs: measure, then print the table (or ``--json``)."""
    from mlc.cli import cmd_bench

    return cmd_bench(args)
