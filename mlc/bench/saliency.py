"""Part ``saliency``: milliseconds for all five tags' maps of one 64×64 image, warm (target ≤ 100 ms).

Per model: :func:`mlc.saliency.saliency` (``auto``: the compiled Grad-CAM, a
``tf.function`` of one forward pass and one batched Jacobian, traced once per model;
occlusion for ``linear``) against an eager Grad-CAM reference (a persistent tape, one
``tape.gradient`` per tag, the sub-model built per call: the straightforward way),
alternating A, B, A, B after a warm-up of both, medians and the ratio.
"""

from __future__ import annotations

import time

import numpy as np

from mlc.bench.realdata import or_dash, table_row
from mlc.bench.stats import median

#: Models measured (``linear`` has no feature map: occlusion, no eager reference).
MODELS = ("lean", "compact", "seed_cnn", "linear")
#: The target of the issue: all five tags of one 64×64 image.
TARGET_MS = 100.0


def eager_gradcam(model, x: np.ndarray, layer: str) -> np.ndarray:
    """The reference: Grad-CAM (N, T, H, W) in [0, 1] with an eager persistent tape, one gradient per tag."""
    import keras
    import tensorflow as tf

    if isinstance(model, keras.Sequential):

        def forward(h):
            features = None
            for each in model.layers:
                h = each(h, training=False)
                features = h if each.name == layer else features
            return features, h
    else:
        two = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])

        def forward(h):
            return two(h, training=False)

    with tf.GradientTape(persistent=True) as tape:
        features, logits = forward(tf.convert_to_tensor(x))
        per_tag = [tf.reduce_sum(logits[:, t]) for t in range(logits.shape[-1])]
    cams = []
    for target in per_tag:
        weights = tf.reduce_mean(tape.gradient(target, features), axis=(1, 2), keepdims=True)
        cams.append(tf.nn.relu(tf.reduce_sum(weights * features, axis=-1)))
    del tape
    cam = tf.image.resize(tf.stack(cams, axis=-1), x.shape[1:3], method="bilinear").numpy()
    cam = np.transpose(cam, (0, 3, 1, 2))
    peak = cam.max(axis=(-2, -1), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0.0)


def bench_saliency(quick: bool, repeats: int) -> dict:
    """``{"models": {name: {"method", "ms", "p95_ms", "eager_ms", "ratio"}}, "target_ms", "image"}``: one 64×64
    scene, all five tags per call, untrained models (the cost does not depend on the weights).

    >>> row = saliency_rows({"saliency": {"target_ms": 100.0, "image": "scene", "models": {"lean": {
    ...     "method": "gradcam", "ms": 5.0, "p95_ms": 9.0, "eager_ms": 50.0, "ratio": 10.0}}}})[0]
    >>> row.split(" | ")[1:]
    ['50.0 (eager Grad-CAM)', '5.0 (p95 9.0)', '10.0× faster; target ≤ 100 ms |']
    """
    from mlc import models, saliency
    from mlc.data import make_dataset

    x, _ = make_dataset(1, seed=3)  # (1, 64, 64, 3)
    n = 5 if quick else 40
    out: dict = {"target_ms": TARGET_MS, "image": "scene 64×64, 5 tags", "models": {}}
    for name in ("lean", "linear") if quick else MODELS:  # quick: one Grad-CAM model, the occlusion one
        model = models.build(name, 5)
        layer = saliency.spatial_layer(model)
        contenders = {"mlc": lambda model=model: saliency.saliency(model, x)}
        if layer is not None:
            contenders["eager"] = lambda model=model, layer=layer: eager_gradcam(model, x, layer)
        for f in contenders.values():  # warm up: tracing, first calls
            f()
            f()
        times: dict[str, list[float]] = {k: [] for k in contenders}
        order = list(contenders.items())
        for i in range(n):
            for key, f in order[:: 1 if i % 2 else -1]:
                t = time.perf_counter()
                f()
                times[key].append((time.perf_counter() - t) * 1e3)
        ms = median(times["mlc"])
        eager = median(times["eager"]) if "eager" in times else None
        out["models"][name] = {
            "method": "gradcam" if layer is not None else "occlusion",
            "ms": ms,
            "p95_ms": float(np.percentile(times["mlc"], 95)),
            "eager_ms": eager,
            "ratio": None if eager is None else eager / ms,
        }
    return out


def saliency_rows(results: dict) -> list[str]:
    """The table's rows of a ``saliency`` result (none when it was not measured)."""
    if "saliency" not in results:
        return []
    s = results["saliency"]
    return [
        table_row(
            f"saliency, {name} ({r['method']}), {s['image']} in one call, warm, ms",
            or_dash(r["eager_ms"], "{:.1f} (eager Grad-CAM)"),
            f"{r['ms']:.1f} (p95 {r['p95_ms']:.1f})",
            f"{or_dash(r['ratio'], '{:.1f}× faster; ', '')}target ≤ {s['target_ms']:.0f} ms",
        )
        for name, r in s["models"].items()
    ]
