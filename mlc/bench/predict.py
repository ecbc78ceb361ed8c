"""Part 7, ``predict``: milliseconds per image on the Predict page's path vs ``model.predict``."""

from __future__ import annotations

import time

import numpy as np

from mlc.bench.stats import median


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
                "app_ms": median(times["app"]),
                "keras_predict_ms": median(times["keras_predict"]),
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
