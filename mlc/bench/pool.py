"""Part 8, ``pool``: what a visitor waits for a training in a warm worker process vs in the server's own.

For one small, default-like run, the wall time from submitting it until the
:class:`~mlc.runs.Run` is in hand (data generation, model build, training,
validation, and for the pool the payload's trip back and the model loaded in
the server) divided by the run's own ``train_seconds``. The contenders
alternate (pool, in-process, pool, ...) after one unmeasured warm-up run each;
the first run of a fresh worker is reported on its own. ``engine_ratio`` is the
engine's own wall time (``run.wall_seconds``) over ``train_seconds``, ``added_s``
what the trip through the pool (or the call) adds to it.
"""

from __future__ import annotations

import time

from mlc.bench.stats import median


def bench_pool(quick: bool, repeats: int) -> dict:
    """Median ``wall / train_seconds`` through a warm :class:`~mlc.trainpool.WorkerPool` and in-process."""
    from mlc.config import RunConfig
    from mlc.training import train
    from mlc.trainpool import PoolTrainer, WorkerPool

    config = RunConfig(epochs=1, train_size=256, val_size=64) if quick else RunConfig(epochs=2, train_size=3000)
    with WorkerPool(size=1, runs_per_worker=10_000) as pool:
        if not pool.wait_ready(300):
            raise RuntimeError("the benchmark's worker did not import TensorFlow within 300 s")
        trainers = {"pool": PoolTrainer(pool), "in_process": train}
        rows: dict[str, list[dict]] = {name: [] for name in trainers}
        first: dict = {}
        for i in range(repeats + 1):  # round 0 warms both up (the worker's first run, this process's)
            for name, trainer in trainers.items():
                t = time.perf_counter()
                run = trainer(config.replace(seed=i))
                wall = time.perf_counter() - t
                if run.status != "finished":
                    raise RuntimeError(f"the {name} benchmark run ended {run.status}: {run.message}")
                row = {
                    "wall_s": wall,
                    "train_s": run.train_seconds,
                    "ratio": wall / run.train_seconds,
                    # the engine's own wall time (data, build, training, validation) and what is added to it
                    "engine_s": run.wall_seconds,
                    "added_s": wall - run.wall_seconds,
                }
                if i == 0:
                    first[name] = row
                else:
                    rows[name].append(row)
    out: dict = {"config": {"epochs": config.epochs, "train_size": config.train_size, "val_size": config.val_size}}
    for name, measured in rows.items():
        out[name] = {
            "wall_s": median(r["wall_s"] for r in measured),
            "train_s": median(r["train_s"] for r in measured),
            "ratio": median(r["ratio"] for r in measured),
            "engine_ratio": median(r["engine_s"] / r["train_s"] for r in measured),
            "added_s": median(r["added_s"] for r in measured),
            "first_run": first[name],
            "all": measured,
        }
    out["pool_vs_in_process_wall"] = out["pool"]["wall_s"] / out["in_process"]["wall_s"]
    return out


def pool_rows(p: dict) -> list[str]:
    """The table rows of a :func:`bench_pool` result."""
    c = p["config"]
    what = f"{c['epochs']} epochs × {c['train_size']:,} scenes"
    return [
        f"| visitor's wait, Train → run in hand, ÷ the run's train_seconds ({what}) "
        f"| in-process {p['in_process']['ratio']:.2f}× ({p['in_process']['wall_s']:.1f} s) "
        f"| warm worker {p['pool']['ratio']:.2f}× ({p['pool']['wall_s']:.1f} s; fresh worker's first run "
        f"{p['pool']['first_run']['ratio']:.2f}×; the engine alone {p['pool']['engine_ratio']:.2f}×, "
        f"the pool adds {p['pool']['added_s']:.2f} s) "
        f"| wall {p['pool_vs_in_process_wall']:.2f}× in-process (target ≤ 1.3× train_seconds) |"
    ]
