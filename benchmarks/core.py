"""Side-by-side measurements of the mlc core (``python -m mlc bench``).

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
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_MAP = 0.95


# ---------------------------------------------------------------- helpers
def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def training_flops_per_sample(model) -> float:
    """Approximate FLOPs of one training sample: 3 x forward (forward + two backward matmuls).

    Counts Conv2D and Dense multiply-adds (2 FLOPs each); pooling/activations are negligible.
    """
    import keras

    flops = 0.0

    def visit(layer):
        nonlocal flops
        if isinstance(layer, keras.Model):
            for sub in layer.layers:
                visit(sub)
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1]
            flops += 2.0 * h * w * c_out * kh * kw * c_in
        elif isinstance(layer, keras.layers.Dense):
            flops += 2.0 * layer.input.shape[-1] * layer.units

    visit(model)
    return 3.0 * flops


def matmul_gflops(seconds: float = 2.0, n: int = 1024) -> float:
    """float32 matmul rate of this machine through TensorFlow (the compute ceiling)."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    mm = tf.function(lambda a, b: tf.matmul(a, b))
    mm(a, b).numpy()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        mm(a, b).numpy()
        count += 1
    return 2.0 * n**3 * count / (time.perf_counter() - start) / 1e9


def _mean_ap(y_true, y_prob) -> float:
    from mlc import metrics

    return metrics.report(y_true, y_prob)["map"]


# ---------------------------------------------------------------- the reference recipe
def reference_model(num_classes: int = 5, image_size: int = 64):
    """The article's model as it wrote it: sigmoid outputs, binary_crossentropy, accuracy."""
    import keras

    from mlc import models

    logits = models.build("seed_cnn", num_classes, image_size)
    model = keras.Sequential([logits, keras.layers.Activation("sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


class _QualityClock:
    """Keras callback for the recipe: score mAP every N batches, validation time off the clock."""

    def __new__(cls, x_val, y_val, every, budget, probabilities=True):
        import keras

        class QualityClock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.reached = None
                self.best = 0.0
                self.paused = 0.0
                self.step = 0

            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()

            def now(self):
                return time.perf_counter() - self.start - self.paused

            def on_train_batch_end(self, batch, logs=None):
                self.step += 1
                if self.step % every:
                    return
                t = time.perf_counter()
                p = self.model.predict(x_val, batch_size=500, verbose=0)
                score = _mean_ap(y_val, p)
                self.paused += time.perf_counter() - t
                self.best = max(self.best, score)
                if score >= TARGET_MAP:
                    self.reached = self.now()
                    self.model.stop_training = True
                elif self.now() > budget:
                    self.model.stop_training = True

        return QualityClock()


def recipe_time_to_quality(splits, budget: float, seed: int) -> dict:
    import keras

    (x, y), (x_val, y_val) = splits
    keras.utils.set_random_seed(seed)
    model = reference_model(y.shape[1], x.shape[1])
    clock = _QualityClock(x_val, y_val, every=50, budget=budget)
    model.fit(x.astype(np.float64), y.astype(np.float64), batch_size=32, epochs=10_000, verbose=0, callbacks=[clock])
    return {"seconds": clock.reached, "best_map": clock.best, "budget": budget}


def mlc_time_to_quality(config, splits, budget: float) -> dict:
    import threading

    from mlc.training import train

    stop = threading.Event()
    state = {"reached": None, "best": 0.0}

    def watch(p):
        if p.phase == "batch" and p.elapsed > budget:
            stop.set()

    run = train(config, splits=splits, eval_every=25, stop_event=stop, on_progress=watch)
    for ev in run.evaluations:
        state["best"] = max(state["best"], ev["map"])
        if state["reached"] is None and ev["map"] >= TARGET_MAP:
            state["reached"] = ev["train_seconds"]
    return {"seconds": state["reached"], "best_map": state["best"], "budget": budget}


def bench_time_to_quality(quick: bool, repeats: int) -> dict:
    from mlc.config import RunConfig
    from mlc.training import make_data

    config = RunConfig()  # the app's default run, exactly as a visitor gets it
    if quick:
        config = config.replace(train_size=1000, val_size=300, epochs=2)
    splits = make_data(config)
    budget_mlc = 60.0 if not quick else 5.0
    budget_recipe = 240.0 if not quick else 5.0
    rows = {"recipe": [], "mlc": []}
    for r in range(repeats):
        rows["recipe"].append(recipe_time_to_quality(splits, budget_recipe, seed=r))
        rows["mlc"].append(mlc_time_to_quality(config.replace(seed=r), splits, budget_mlc))
    out = {}
    for name, results in rows.items():
        reached = [res["seconds"] for res in results]
        out[name] = {
            "seconds_median": _median(reached) if all(s is not None for s in reached) else None,
            "reached": sum(s is not None for s in reached),
            "runs": len(results),
            "best_map_median": _median([res["best_map"] for res in results]),
            "budget": results[0]["budget"],
            "all": results,
        }
    a, b = out["recipe"]["seconds_median"], out["mlc"]["seconds_median"]
    if a is not None and b:
        out["speedup"] = a / b
        out["speedup_text"] = f"{a / b:.1f}x"
    elif b:
        out["speedup"] = budget_recipe / b
        out["speedup_text"] = (
            f"> {budget_recipe / b:.1f}x (recipe did not reach mAP {TARGET_MAP} in {budget_recipe:.0f}s)"
        )
    else:
        out["speedup"] = None
        out["speedup_text"] = "mlc did not reach the target"
    out["config"] = config.to_dict()
    return out


# ---------------------------------------------------------------- throughput
def bench_throughput(quick: bool, repeats: int) -> dict:

    from mlc.config import RunConfig
    from mlc.training import make_data, train

    n = 512 if quick else 4000
    repeats = repeats if quick else max(repeats, 5)  # the noisiest part: more pairs
    config = RunConfig(model="seed_cnn", batch_size=32, epochs=2, train_size=n, val_size=64)
    splits = make_data(config)
    (x, y), _ = splits
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    recipe, engine = [], []
    for _ in range(repeats):
        model = reference_model()
        model.fit(x64[:256], y64[:256], batch_size=32, epochs=1, verbose=0)  # warm-up: trace + allocate
        t = time.perf_counter()
        model.fit(x64, y64, batch_size=32, epochs=1, verbose=0)
        recipe.append(n / (time.perf_counter() - t))
        run = train(config, splits=splits)
        engine.append(run.epoch_history[-1]["samples_per_second"])  # epoch 2: after warm-up
    flops = training_flops_per_sample(reference_model())
    ceiling = matmul_gflops(1.0 if quick else 3.0)
    r, e = _median(recipe), _median(engine)
    return {
        "recipe_samples_per_s": r,
        "mlc_samples_per_s": e,
        "ratio": e / r,
        "flops_per_sample": flops,
        "recipe_gflops": r * flops / 1e9,
        "mlc_gflops": e * flops / 1e9,
        "matmul_gflops": ceiling,
        "all": {"recipe": recipe, "mlc": engine},
    }


# ---------------------------------------------------------------- data
def bench_data(quick: bool, repeats: int) -> dict:
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
        out["soft" if soft else "hard"] = {"images_per_s": _median(rates), "all": rates}
    return out


# ---------------------------------------------------------------- memory
def _peak_rss_mib(args: list[str], env: dict) -> float:
    """Run a command and return its peak resident memory (VmHWM), polled from /proc.

    Not ``ru_maxrss``: on Linux a child's maxrss starts from the forking parent's,
    so a large benchmark process would inflate it.
    """
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}")
    return peak / 1024


def bench_memory(quick: bool, repeats: int) -> dict:
    """Peak RSS of a default CLI run, next to what importing TensorFlow + mlc costs."""
    args = [sys.executable, "-m", "mlc", "train", "--json"]
    if quick:
        args += ["--epochs", "1", "--train-size", "512", "--val-size", "128"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # the import-only probe sleeps a moment so the poller sees its high-water mark
    probe = [sys.executable, "-c", "import time, mlc.training; time.sleep(0.5)"]
    peaks, baseline = [], []
    for _ in range(repeats):
        peaks.append(_peak_rss_mib(args, env))
        baseline.append(_peak_rss_mib(probe, env))
    return {
        "peak_rss_mib": _median(peaks),
        "import_rss_mib": _median(baseline),
        "command": " ".join(["python"] + args[1:]),
    }


# ---------------------------------------------------------------- weighting lesson
def bench_weighting(quick: bool, repeats: int) -> dict:
    from mlc.config import RunConfig, weighting_lesson
    from mlc.training import make_data, train

    base = RunConfig(val_size=4000 if not quick else 400)
    if quick:
        base = base.replace(train_size=1000, epochs=1)
    rare = int(np.argmin(base.prevalence))
    splits = make_data(base)
    labels = {
        "bce": "bce",
        "tag": "weighted_bce tag (inverse frequency)",
        "positive": "weighted_bce positive ((1-p)/p)",
    }
    contenders = {labels[k]: cfg for k, cfg in weighting_lesson(base).items()}
    out = {"rare_tag": base.classes[rare], "rare_positives": int(splits[1][1][:, rare].sum()), "modes": {}}
    for name, cfg in contenders.items():
        rows = []
        for r in range(repeats):
            run = train(cfg.replace(seed=r), splits=splits)
            tag = run.report["per_tag"][rare]
            rows.append(
                {k: tag[k] for k in ("recall", "precision", "f1", "average_precision")} | {"map": run.report["map"]}
            )
        out["modes"][name] = {k: _median([row[k] for row in rows]) for k in rows[0]}
    return out


# ---------------------------------------------------------------- live page overhead
def _page_tick(job) -> float:
    """One tick of what the Train page does each second while a job trains, without a browser:
    snapshot the job, build both Altair charts and marshal them as Streamlit does (spec
    plus Arrow data), then the clean-up Streamlit runs after every script run (Keras'
    ``clear_session()``, and ``gc.collect(2)`` unless ``runner.postScriptGC`` is off).
    Returns the tick's duration in seconds."""
    import gc

    import keras

    from mlc import charts

    try:  # Streamlit's own marshalling of an Altair chart (private, so fall back to to_dict)
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as marshal
    except ImportError:  # pragma: no cover

        def marshal(chart):
            return chart.to_dict()

    t = time.perf_counter()
    snap = job.snapshot()
    batches = -(-snap.config.train_size // snap.config.batch_size)
    marshal(charts.loss_chart(snap.batch_history, snap.epoch_history, batches))
    marshal(charts.metrics_chart(snap.epoch_history))
    keras.backend.clear_session()
    if _post_script_gc():
        gc.collect(2)
    return time.perf_counter() - t


def _post_script_gc() -> bool:
    """The app's ``runner.postScriptGC`` setting (Streamlit's default is on)."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    return bool(config.get("runner", {}).get("postScriptGC", True))


def _page_ticks(job, stop, every: float = 1.0) -> list[float]:
    durations = []
    while not stop.wait(every):
        durations.append(_page_tick(job))
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
                ticks.append(_page_tick(job))
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
        "cost_median": _median(pairs) if pairs else None,
        "tick_ms_median": 1e3 * _median(ticks) if ticks else None,
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
        poller = threading.Thread(target=lambda: counter.append(len(_page_ticks(job, stop))))
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
    h, lv = _median(headless), _median(live)
    paired = [1 - b / a for a, b in zip(headless, live)]
    long_run = config.replace(epochs=12 if not quick else 2)
    return {
        "headless_samples_per_s": h,
        "live_samples_per_s": lv,
        "cost": 1 - lv / h,
        "paired_cost_median": _median(paired),
        "ticks_median": _median(ticks),
        "post_script_gc": _post_script_gc(),
        "windows": bench_live_windows(long_run),
        "all": {"headless": headless, "live": live},
    }


# ---------------------------------------------------------------- prediction latency
def _photo_jpeg(width: int = 1600, height: int = 1200) -> bytes:
    """A large, photo-like JPEG (smooth gradients plus noise), as a phone would upload."""
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin(xx / 97.0)], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bench_predict(quick: bool, repeats: int) -> dict:
    """Milliseconds per image on the Predict page's path (decode + one model call through the
    probability cache) vs decode + Keras' ``model.predict``, alternating, for each model."""
    import io

    from PIL import Image

    from mlc import images, inference, models
    from mlc.config import RunConfig
    from mlc.data import make_dataset
    from mlc.training import Run

    x, _ = make_dataset(1, seed=3)
    buffer = io.BytesIO()
    Image.fromarray(np.round(x[0] * 255).astype(np.uint8)).save(buffer, format="PNG")
    files = {"scene PNG 64×64": buffer.getvalue(), "photo JPEG 1600×1200": _photo_jpeg()}
    n = 10 if quick else 40
    out: dict = {"files": {k: len(v) for k, v in files.items()}, "models": {}}
    for model_name in ("seed_cnn", "compact"):
        run = Run(RunConfig(model=model_name), model=models.build(model_name, 5))

        def app_path(raw, run=run):
            item = inference.Item(name="f", source="upload", key=str(time.perf_counter_ns()), pixels=images.decode(raw))
            return inference.ProbabilityCache().probabilities(run, [item])

        def keras_predict(raw, run=run):
            return run.model.predict(images.decode(raw)[None], verbose=0)

        rows = {}
        for file_name, raw in files.items():
            for f in (app_path, keras_predict):  # warm up both (graph tracing, first decode)
                f(raw)
            times = {"app": [], "keras_predict": []}
            for i in range(n):
                for name, f in (("app", app_path), ("keras_predict", keras_predict))[:: 1 if i % 2 else -1]:
                    t = time.perf_counter()
                    f(raw)
                    times[name].append((time.perf_counter() - t) * 1e3)
            rows[file_name] = {
                "app_ms": _median(times["app"]),
                "keras_predict_ms": _median(times["keras_predict"]),
                "app_p95_ms": float(np.percentile(times["app"], 95)),
            }
        batch = inference.sample_items(24, seed=5)
        t = time.perf_counter()
        inference.ProbabilityCache().probabilities(run, batch)
        rows["24 generated scenes in one call, per image (model only)"] = {
            "app_ms": (time.perf_counter() - t) * 1e3 / len(batch)
        }
        out["models"][model_name] = rows
    return out


# ---------------------------------------------------------------- report
PARTS = {
    "data": bench_data,
    "throughput": bench_throughput,
    "time_to_quality": bench_time_to_quality,
    "weighting": bench_weighting,
    "memory": bench_memory,
    "live": bench_live,
    "predict": bench_predict,
}


def format_table(results: dict) -> str:
    lines = ["| measurement | reference / baseline | mlc | ratio / target |", "|---|---|---|---|"]
    if "data" in results:
        d = results["data"]
        lines.append(
            f"| scene generation 64×64, images/s (hard labels) | — | {d['hard']['images_per_s']:,.0f} | target ≥ 10,000 |"  # noqa: E501
        )
        lines.append(
            f"| scene generation 64×64, images/s (soft labels) | — | {d['soft']['images_per_s']:,.0f} | target ≥ 5,000 |"  # noqa: E501
        )
    if "throughput" in results:
        t = results["throughput"]
        lines.append(
            f"| training samples/s, seed_cnn, batch 32 | {t['recipe_samples_per_s']:,.0f} | {t['mlc_samples_per_s']:,.0f} "  # noqa: E501
            f"| {t['ratio']:.2f}× (target ≥ 1.2×) |"
        )
        lines.append(
            f"| achieved GFLOP/s ({t['flops_per_sample'] / 1e6:.0f} MFLOP/sample) | {t['recipe_gflops']:.1f} | {t['mlc_gflops']:.1f} "  # noqa: E501
            f"| matmul ceiling {t['matmul_gflops']:.0f} GFLOP/s |"
        )
    if "time_to_quality" in results:
        q = results["time_to_quality"]

        def cell(side):
            s = q[side]
            if s["seconds_median"] is None:
                return f"not reached in {s['budget']:.0f} s (best mAP {s['best_map_median']:.3f}; {s['reached']}/{s['runs']} runs reached)"  # noqa: E501
            return f"{s['seconds_median']:.1f} s"

        lines.append(
            f"| time to macro mAP ≥ {TARGET_MAP} (training s, 1,000 val) | {cell('recipe')} | {cell('mlc')} | {q['speedup_text']} (target ≥ 4×, ≤ 30 s) |"  # noqa: E501
        )
    if "live" in results:
        v = results["live"]
        lines.append(
            f"| training samples/s: headless engine vs Train page job + 1 s chart ticks | {v['headless_samples_per_s']:,.0f} "  # noqa: E501
            f"| {v['live_samples_per_s']:,.0f} | cost {100 * v['cost']:.1f} % of medians, {100 * v['paired_cost_median']:.1f} % "  # noqa: E501
            f"median of pairs (target ≤ 10 %) |"
        )
        w = v.get("windows")
        if w and w["cost_median"] is not None:
            lines.append(
                f"| step rate within one run: {w['window_s']:.0f} s windows with vs without page ticks "
                f"(tick {w['tick_ms_median']:.0f} ms) | — | — | cost {100 * w['cost_median']:.1f} % median of {w['pairs']} "  # noqa: E501
                f"adjacent pairs (target ≤ 10 %) |"
            )
    if "predict" in results:
        for model_name, rows in results["predict"]["models"].items():
            for file_name, r in rows.items():
                keras_ms = r.get("keras_predict_ms")
                ratio = f"{keras_ms / r['app_ms']:.1f}× faster; " if keras_ms else ""
                lines.append(
                    f"| prediction latency, {model_name}, {file_name}{' (decode + model)' if keras_ms else ''}, ms | "
                    f"{'' if keras_ms is None else f'{keras_ms:.1f} (model.predict)'} | {r['app_ms']:.1f} "
                    f"| {ratio}target ≤ 50 ms |"
                )
    if "memory" in results:
        m = results["memory"]
        lines.append(
            f"| peak RSS of `{m['command']}` (default run) | importing TensorFlow + mlc alone: {m['import_rss_mib']:,.0f} MiB "  # noqa: E501
            f"| {m['peak_rss_mib']:,.0f} MiB | run's own share ≈ {m['peak_rss_mib'] - m['import_rss_mib']:,.0f} MiB |"
        )
    if "weighting" in results:
        w = results["weighting"]
        for name, row in w["modes"].items():
            lines.append(
                f"| rare tag `{w['rare_tag']}` ({w['rare_positives']} val positives), {name} | recall@0.5 {row['recall']:.3f} "  # noqa: E501
                f"| precision {row['precision']:.3f}, AP {row['average_precision']:.3f} | mAP {row['map']:.3f} |"
            )
    return "\n".join(lines)


def main(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quick = bool(getattr(args, "quick", False))
    repeats = args.repeats or (1 if quick else 3)
    parts = args.only or list(PARTS)
    results = {"quick": quick, "repeats": repeats, "machine": {"cpus": os.cpu_count()}}
    for name in parts:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        results[name] = PARTS[name](quick, repeats)
    if args.json:
        print(json.dumps(results, default=float))
    else:
        print(format_table(results))
    return 0
