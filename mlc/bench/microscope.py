"""The gradient microscope's cost on training speed (``python -m mlc bench --only microscope``).

The same config, data and seed trained with the microscope on (the default: the ``GradientSplit``
metric in every training step, the validation probe each epoch) and off (``train(microscope=False)``),
alternating on/off so drift hits both alike. Reported: median training samples/s of each (validation
and the probe excluded, as in every run's speed) and median whole-run wall seconds; the cost is
``1 - on / off`` (target <= 5 %).
"""

from __future__ import annotations

from statistics import median

#: Training images per measured run (quick: a smoke run).
TRAIN_SIZE, QUICK_TRAIN_SIZE = 4000, 256


def bench_microscope(quick: bool, repeats: int) -> dict:
    """Samples/s and wall seconds with the microscope on vs off, alternating; the relative cost."""
    from mlc import datasets
    from mlc.config import RunConfig
    from mlc.training import train

    config = RunConfig(
        train_size=QUICK_TRAIN_SIZE if quick else TRAIN_SIZE,
        val_size=64 if quick else 256,
        test_size=32,
        epochs=1 if quick else 2,
        image_size=32 if quick else 64,
    )
    splits = datasets.make_splits(config)
    if not quick:  # a smoke run is no measurement: no warm-up (graph tracing, thread pools) for it
        train(config.replace(train_size=128, val_size=64, epochs=1))
    speed: dict[str, list[float]] = {"on": [], "off": []}
    wall: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(max(repeats, 1) * 2):
        side = ("off", "on")[i % 2] if (i // 2) % 2 else ("on", "off")[i % 2]  # on/off, off/on, ...
        run = train(config, splits=splits, microscope=side == "on")
        if run.status != "finished":
            raise RuntimeError(f"benchmark run failed: {run.message}")
        speed[side].append(run.samples_per_second)
        wall[side].append(run.wall_seconds)
    on, off = median(speed["on"]), median(speed["off"])
    return {
        "train_size": config.train_size,
        "epochs": config.epochs,
        "runs_each": len(speed["on"]),
        "samples_per_s": {"on": on, "off": off},
        "wall_seconds": {"on": median(wall["on"]), "off": median(wall["off"])},
        "cost": 1 - on / off if off > 0 else float("nan"),
    }
