"""Part ``ttq``: today's default run against the one it replaced, in machine-independent units.

Seconds alone say little on a shared machine (this kind measured 91 and 420
GFLOP/s of matmul on different days), so each run is preceded by a TF fp32
2048² matmul measurement in the same process and its time to quality is also
given as *GFLOP-eq*:

    GFLOP-eq = (training seconds to the first validation mAP ≥ 0.95) × (matmul GFLOP/s)

— the same figure on a fast or a slow machine. The contenders alternate
(old, new, old, new, ...), one seed each per round; reported are medians over
the seeds and the median of the per-seed ratios new / old. Validation time is
off the training clock (``train(eval_every=...)``, scored every
:data:`EVAL_SAMPLES` training samples). *Whole-run seconds* is what a visitor
waits for: scene generation + training + one validation per epoch (the cost of
one validation measured in the same run), as a plain run of the config would take.

>>> sorted(CONTENDERS)
['2026-12-01 default', 'default']
>>> CONTENDERS["2026-12-01 default"]().epochs
8
"""

from __future__ import annotations

import contextlib
import time

from mlc.bench.stats import median
from mlc.bench.training import TARGET_MAP, matmul_gflops

#: The training samples between two validation scorings (the clock's resolution).
EVAL_SAMPLES = 800
#: Side of the square matmul that calibrates each run (TF fp32).
MATMUL_N = 2048


def _old_default():
    from mlc.config import RunConfig

    # the default run until 2026-12-01, frozen: compact, 8 epochs of 8,000 scenes, batch 64, Adam 3e-3 cosine
    # (and Keras' own batch norm: see BUILT_WITH)
    return RunConfig(
        model="compact", epochs=8, batch_size=64, learning_rate=3e-3, lr_schedule="cosine", train_size=8000
    )


def _new_default():
    from mlc.config import RunConfig

    return RunConfig()


#: name -> a function giving the contender's config (the first is the baseline of the ratio).
CONTENDERS = {"2026-12-01 default": _old_default, "default": _new_default}


@contextlib.contextmanager
def _as_trained_on_2026_12_01():
    from mlc.logit_prior import zero_bias
    from mlc.models import keras_batch_norm
    from mlc.step_cache import fresh_steps

    with keras_batch_norm(), zero_bias(), fresh_steps():
        yield


#: name -> a function giving the context its models are built in: the old default as it trained then
#: (Keras' own batch norm, the output bias starting at 0, every run tracing its own step).
BUILT_WITH = {"2026-12-01 default": _as_trained_on_2026_12_01}


def one_run(config, seconds_of_matmul: float = 1.0, built_with=contextlib.nullcontext) -> dict:
    """One run of ``config`` with its time to mAP ≥ :data:`TARGET_MAP` and the matmul rate just before it;
    its model is built inside ``built_with()``."""
    from mlc.training import make_data, train

    gflops = matmul_gflops(seconds_of_matmul, n=MATMUL_N)
    t = time.perf_counter()
    splits = make_data(config, dtype="uint8")
    data_seconds = time.perf_counter() - t
    with built_with():
        run = train(config, splits=splits, eval_every=max(1, EVAL_SAMPLES // config.batch_size))
    validating = max(0.0, run.wall_seconds - run.train_seconds - run.data_seconds)
    per_validation = validating / (len(run.evaluations) + 1)  # every scoring plus the final report
    return time_to(run, TARGET_MAP, gflops) | {
        "whole_run_seconds": data_seconds + run.train_seconds + per_validation * config.epochs,
        "final_map": run.report["map"] if run.report else None,
        "status": str(run.status),
    }


def time_to(run, target: float, gflops: float) -> dict:
    """The first scoring of ``run.evaluations`` with mAP ≥ ``target``: its training ``seconds`` and ``samples``,
    and ``gflop_eq`` = seconds × ``gflops`` (each None when never reached)."""
    reached = next((e for e in run.evaluations if e["map"] >= target), None)
    seconds = None if reached is None else reached["train_seconds"]
    return {
        "seconds": seconds,
        "samples": None if reached is None else reached["samples"],
        "matmul_gflops": gflops,
        "gflop_eq": None if seconds is None else seconds * gflops,
    }


def bench_ttq(quick: bool, repeats: int) -> dict:
    """Alternate the :data:`CONTENDERS` over ``repeats`` seeds; medians per contender and the ratio new / old."""
    configs = {name: make() for name, make in CONTENDERS.items()}
    if quick:
        configs = {name: c.replace(train_size=1000, val_size=300, epochs=2) for name, c in configs.items()}
    rows: dict[str, list[dict]] = {name: [] for name in configs}
    for seed in range(repeats):
        for name, config in configs.items():
            built_with = BUILT_WITH.get(name, contextlib.nullcontext)
            rows[name].append(one_run(config.replace(seed=seed), 0.5 if quick else 1.0, built_with))
    out: dict = {"target_map": TARGET_MAP, "matmul_n": MATMUL_N, "contenders": {}}
    for name, results in rows.items():
        out["contenders"][name] = {
            key: median([r[key] for r in results])
            for key in ("seconds", "samples", "matmul_gflops", "gflop_eq", "whole_run_seconds", "final_map")
        } | {
            "reached": sum(r["seconds"] is not None for r in results),
            "runs": len(results),
            "config": configs[name].to_dict(),
            "all": results,
        }
    old, new = (rows[name] for name in configs)
    pairs = [b["gflop_eq"] / a["gflop_eq"] for a, b in zip(old, new) if a["gflop_eq"] and b["gflop_eq"]]
    whole = [b["whole_run_seconds"] / a["whole_run_seconds"] for a, b in zip(old, new)]
    out["ratio_gflop_eq"] = median(pairs)
    out["ratio_whole_run"] = median(whole)
    return out


def ttq_rows(q: dict) -> list[str]:
    """The table rows of :func:`bench_ttq`: one per contender, then the ratio."""
    lines = []
    for name, c in q["contenders"].items():
        reached = f"{c['reached']}/{c['runs']} reached"
        secs = "not reached" if c["seconds"] is None else f"{c['seconds']:.1f} s"
        gfe = "—" if c["gflop_eq"] is None else f"{c['gflop_eq']:,.0f} GFLOP-eq"
        lines.append(
            f"| time to mAP ≥ {q['target_map']}, {name} ({c['config']['model']}, {c['config']['epochs']} × "
            f"{c['config']['train_size']:,}, batch {c['config']['batch_size']}) | {secs} at "
            f"{c['matmul_gflops']:.0f} GFLOP/s matmul ({reached}) | {gfe}; whole run {c['whole_run_seconds']:.1f} s, "
            f"final mAP {c['final_map']:.3f} | — |"
        )
    ratio = q["ratio_gflop_eq"]
    lines.append(
        f"| time to mAP ≥ {q['target_map']} in GFLOP-eq, new / old default (median of seed pairs) | — | — | "
        f"{'—' if ratio is None else f'{ratio:.2f}×'} (target ≤ 0.5×); whole run {q['ratio_whole_run']:.2f}× |"
    )
    return lines
