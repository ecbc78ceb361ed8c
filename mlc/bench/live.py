"""Part 6, ``live``: what a Train page watching a job costs the training it watches.

Training samples/s of a job polled by the page's 1 s chart ticks vs a headless
run (separate runs, alternating), and the step rate inside one long run in
alternating windows with and without ticks (adjacent windows pair like with like
while the machine drifts).

The tick marshals charts with Streamlit's own code through the UI glue
(:mod:`mlc.ui_marshal`, imported only when a tick runs).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mlc.bench.stats import median

# A checkout's root when this ``mlc`` is a checkout's (it holds the app's .streamlit/).
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def page_tick(job) -> float:
    """One tick of what the Train page does each second while a job trains, without a browser:
    snapshot the job, build both charts' specs as the page does (a template per chart shape,
    the rows as Arrow data: :func:`mlc.ui_marshal.chart_with_data`), then the clean-up
    Streamlit runs after every script run (Keras' ``clear_session()``, and ``gc.collect(2)``
    unless ``runner.postScriptGC`` is off).
    Returns the tick's duration in seconds."""
    import gc

    import keras

    from mlc import charts
    from mlc.ui_marshal import chart_with_data

    t = time.perf_counter()
    snap = job.snapshot()
    batches = -(-snap.config.train_size // snap.config.batch_size)
    chart_with_data(charts.loss_chart_of, charts.loss_frame(snap.batch_history, snap.epoch_history, batches))
    chart_with_data(charts.metrics_chart_of, charts.metrics_frame(snap.epoch_history, charts.metric_keys()))
    keras.backend.clear_session()
    if post_script_gc():
        gc.collect(2)
    return time.perf_counter() - t


def post_script_gc(config_file: Path | None = None) -> bool:
    """The app's ``runner.postScriptGC`` setting (Streamlit's default, on, without a config file).

    The app's ``.streamlit/config.toml`` is the checkout's when this ``mlc`` is a
    checkout's, else the current directory's (where ``streamlit run`` would read it).
    """
    import tomllib

    if config_file is None:
        candidates = [_PACKAGE_PARENT / ".streamlit" / "config.toml", Path.cwd() / ".streamlit" / "config.toml"]
        config_file = next((path for path in candidates if path.is_file()), None)
    if config_file is None:
        return True
    config = tomllib.loads(config_file.read_text())
    return bool(config.get("runner", {}).get("postScriptGC", True))


def page_ticks(job, stop, every: float = 1.0) -> list[float]:
    durations = []
    while not stop.wait(every):
        durations.append(page_tick(job))
    return durations


def bench_live_windows(config, window: float = 3.0) -> dict:
    """Within one long run, alternate windows with and without page ticks and compare the
    training step rate of adjacent windows (the machine drifts between runs, so this pairs
    like with like). Validation pauses at epoch ends are excluded from step times."""
    from mlc.jobs import TrainingJob

    stamps: list[float] = []
    job = TrainingJob(config)
    record = job._on_progress

    def on_progress(p):
        if p.phase == "batch":
            stamps.append(time.perf_counter())
        record(p)

    job._on_progress = on_progress
    job.start()
    windows, ticks, on = [], [], False
    while job.alive:
        start, on = time.perf_counter(), not on
        while job.alive and time.perf_counter() - start < window:
            if on:
                ticks.append(page_tick(job))
                time.sleep(max(0.0, 1.0 - ticks[-1]))
            else:
                time.sleep(0.05)
        windows.append((start, time.perf_counter(), on))
    s = np.array(stamps)
    rates = []
    for a, b, tick_on in windows:
        w = s[(s >= a) & (s < b)]
        gaps = np.diff(w)
        if len(gaps) < 10:
            rates.append(None)
            continue
        gaps = gaps[gaps < 5 * np.median(gaps)]  # a validation pause is not a training step
        rates.append((tick_on, 1.0 / gaps.mean()))
    pairs = []
    for i in range(1, len(rates)):  # each "on" window against the "off" window next to it
        a, b = rates[i - 1], rates[i]
        if a is None or b is None:
            continue
        on_rate, off_rate = (a[1], b[1]) if a[0] else (b[1], a[1])
        pairs.append(1 - on_rate / off_rate)
    return {
        "pairs": len(pairs),
        "cost_median": median(pairs) if pairs else None,
        "tick_ms_median": 1e3 * median(ticks) if ticks else None,
        "window_s": window,
    }


def bench_live(quick: bool, repeats: int) -> dict:
    import threading

    from mlc.config import RunConfig
    from mlc.jobs import TrainingJob, freeze_startup_objects
    from mlc.training import train

    freeze_startup_objects()  # as the app does when mlc.ui is imported
    config = (
        RunConfig(epochs=3, train_size=4000, val_size=500)
        if not quick
        else RunConfig(epochs=1, train_size=512, val_size=64)
    )
    headless, live, ticks = [], [], []

    def with_page():
        job = TrainingJob(config).start()
        stop = threading.Event()
        counter = []
        poller = threading.Thread(target=lambda: counter.append(len(page_ticks(job, stop))))
        poller.start()
        job.join()
        stop.set()
        poller.join()
        live.append(job.snapshot().run.samples_per_second)
        ticks.append(counter[0])

    repeats = repeats if quick else max(repeats, 5)
    for r in range(repeats):  # alternate which contender goes first: the machine drifts
        if r % 2:
            with_page()
            headless.append(train(config).samples_per_second)
        else:
            headless.append(train(config).samples_per_second)
            with_page()
    h, lv = median(headless), median(live)
    paired = [1 - b / a for a, b in zip(headless, live)]
    long_run = config.replace(epochs=12 if not quick else 2)
    return {
        "headless_samples_per_s": h,
        "live_samples_per_s": lv,
        "cost": 1 - lv / h,
        "paired_cost_median": median(paired),
        "ticks_median": median(ticks),
        "post_script_gc": post_script_gc(),
        "windows": bench_live_windows(long_run),
        "all": {"headless": headless, "live": live},
    }
