"""Multi-label pitfalls in Keras, each demonstrated live on the installed Keras/TensorFlow.

:data:`PITFALLS` (:mod:`mlc.pitfall_kit`) maps a name to a :class:`Pitfall`: a title, a plain-words
explanation, the wrong and the fixed code as shown to a visitor, and
``run()``, which really executes the calls on tiny data and tiny models (well
under a few seconds on a CPU) and returns a :class:`Demo` with what happened:
the real error text or the wrong number, the fixed result, and whether the
pitfall showed up as described (``ok``). Expected errors are caught and
reported as text; ``run()`` raises only for genuine bugs.

The explanations state what Keras 3.15.1 with the TensorFlow backend was
observed to do; ``run()`` re-checks it on whatever version is installed.

>>> sorted(PITFALLS)  # doctest: +NORMALIZE_WHITESPACE
['accuracy_is_argmax', 'class_weight_multihot', 'closure_loss_save_load',
 'f1_without_threshold', 'labels_shape', 'softmax_bce']
>>> demo = PITFALLS["labels_shape"].run()
>>> demo.ok, demo.wrong.startswith("ValueError")
(True, True)
"""

from __future__ import annotations

import math
import os
import tempfile

import keras
import numpy as np
from keras import ops

from mlc import checks, losses, metrics
from mlc.pitfall_kit import (
    PITFALLS,
    Demo,
    Pitfall,
    dense_model,
    predictions_that_are_all_right,
    register,
    sigmoid_passthrough,
    source_without_docstring,
    weights_vector,
)

__all__ = ["Demo", "PITFALLS", "Pitfall", "WeightedBCE", "register"]


# ---------------------------------------------------------------- 1. label shape
@register(
    "labels_shape",
    title="Labels of shape (N,) for a model with C outputs",
    explanation="""
A multi-label model has one output per tag, so the targets must be a multi-hot matrix of shape (N, C): one row
per sample, a 0/1 column per tag. Keras 3 refuses class ids of shape (N,) for binary_crossentropy with a
ValueError about ranks (and (N, 1) with one about shapes); it does not one-hot them for you.
""",
    wrong_code="""
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
y = np.array([0, 2, 1, 0, 1, 2, 0, 2])  # one tag id per sample: shape (N,)
model.fit(x, y)
""",
    fix_code="""
# one row per sample, one 0/1 column per tag; several tags may be 1
y = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0],
              [0, 1, 0], [1, 0, 1], [1, 0, 0], [0, 1, 1]], dtype="float32")  # (N, C)
model.fit(x, y)
""",
)
def _labels_shape() -> Demo:
    x = np.random.default_rng(0).random((8, 4)).astype(np.float32)
    ids = np.array([0, 2, 1, 0, 1, 2, 0, 2])
    multi_hot = np.array(
        [[1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0], [0, 1, 0], [1, 0, 1], [1, 0, 0], [0, 1, 1]], np.float32
    )
    model = dense_model(4, 3, "sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    wrong_value = None
    try:
        history = model.fit(x, ids, epochs=1, verbose=0)
    except Exception as exc:  # this call is expected to fail: its error is the demonstration
        wrong, failed = checks.first_line(exc, 300), True
    else:  # a future Keras might broadcast silently instead: report the number it produced
        wrong_value = float(history.history["loss"][-1])
        wrong, failed = f"no error: Keras accepted (N,) labels and reported loss {wrong_value:.4f}", False
    fixed = dense_model(4, 3, "sigmoid")
    fixed.compile(optimizer="adam", loss="binary_crossentropy")
    loss = float(fixed.fit(x, multi_hot, epochs=1, verbose=0).history["loss"][-1])
    out_shape = tuple(fixed.predict(x, verbose=0).shape)
    fix = f"fit works with y of shape {multi_hot.shape}: loss {loss:.4f}, predictions of shape {out_shape}"
    ok = (failed or wrong_value is not None) and out_shape == multi_hot.shape and math.isfinite(loss)
    return Demo(wrong, fix, ok, wrong_value=wrong_value, fix_value=loss)


# ---------------------------------------------------------------- 2. softmax + BCE
@register(
    "softmax_bce",
    title="Softmax outputs with binary cross-entropy",
    explanation="""
Softmax makes the tags compete: its outputs sum to 1, so two present tags can never both be above 0.5. Worse,
Keras 3 on TensorFlow hides it during training: binary_crossentropy picks up the logits cached on a softmax
output and computes a sigmoid BCE from them, so fit() reports exactly the loss of the sigmoid model while the
model you predict with outputs softmax probabilities. Use a sigmoid per tag (or logits and from_logits=True).
""",
    wrong_code="""
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
model.fit(x, y)  # every target row is [1, 1, 0, 0]: two tags present
model.predict(x[:1])  # sums to 1: the two present tags share the probability
""",
    fix_code="""
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
model.fit(x, y)
model.predict(x[:1])  # each tag its own yes/no probability: both present tags near 1
""",
)
def _softmax_bce() -> Demo:
    x = np.ones((512, 3), np.float32)
    y = np.tile(np.array([[1, 1, 0, 0]], np.float32), (512, 1))
    out = {}
    for activation in ("softmax", "sigmoid"):
        model = dense_model(3, 4, activation)  # same seeded start for both
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
        history = model.fit(x, y, batch_size=64, epochs=4, shuffle=False, verbose=0)
        p = model.predict(x[:1], verbose=0)
        actual = float(np.mean(ops.convert_to_numpy(keras.losses.binary_crossentropy(y[:1], p))))
        out[activation] = (p[0], float(history.history["loss"][-1]), actual)
    (p_soft, reported_soft, actual_soft), (p_sig, reported_sig, _) = out["softmax"], out["sigmoid"]
    fmt = lambda p: "[" + ", ".join(f"{v:.2f}" for v in p) + "]"  # noqa: E731
    same = abs(reported_soft - reported_sig) <= 1e-6 * max(1.0, reported_sig)
    wrong = (
        f"softmax: p = {fmt(p_soft)} (sum {p_soft.sum():.2f}); the two present tags cannot both pass 0.5. "
        f"fit() reported loss {reported_soft:.4f}"
        + (" (exactly the sigmoid model's)" if same else "")
        + f", but the BCE of these outputs is {actual_soft:.4f}"
    )
    fix = f"sigmoid: p = {fmt(p_sig)}; both present tags near 1, loss {reported_sig:.4f}"
    ok = bool(min(p_soft[:2]) <= 0.5 + 1e-6 and min(p_sig[:2]) > 0.8 and actual_soft > 2 * reported_soft)
    return Demo(
        wrong,
        fix,
        ok,
        wrong_value=float(min(p_soft[:2])),
        fix_value=float(min(p_sig[:2])),
        numbers={
            "softmax_reported_loss": reported_soft,
            "softmax_actual_loss": actual_soft,
            "sigmoid_reported_loss": reported_sig,
        },
    )


# ---------------------------------------------------------------- 3. class_weight
@register(
    "class_weight_multihot",
    title="fit(class_weight=...) with multi-hot targets",
    explanation="""
class_weight is made for single-label data. With (N, C) multi-hot targets Keras 3 silently turns it into one
weight per sample, the weight of argmax(y): the first present tag only, and tag 0's weight for a sample with
no tag at all. Training is identical to sample_weight=w[argmax(y)]. Put per-tag weights inside the loss
instead (a weighted BCE, or pos_weight for the positive term only).
""",
    wrong_code="""
model.compile(optimizer="sgd", loss=keras.losses.BinaryCrossentropy(from_logits=True))
model.fit(x, y, class_weight={0: 1.0, 1: 3.0, 2: 10.0})  # y: (N, 3) multi-hot
""",
    fix_code="""
loss = mlc.losses.get("weighted_bce", weights=[1.0, 3.0, 10.0])  # or the WeightedBCE class of the export
model.compile(optimizer="sgd", loss=loss)
model.fit(x, y)  # every (sample, tag) term carries its tag's weight
""",
)
def _class_weight_multihot() -> Demo:
    rng = np.random.default_rng(0)
    n = 64
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (rng.random((n, 3)) < np.array([0.5, 0.3, 0.1])).astype(np.float32)
    w = np.array([1.0, 3.0, 10.0], np.float32)

    def one_step(loss=None, **fit_kwargs) -> np.ndarray:
        model = dense_model(4, 3)  # identical seeded start every time
        model.compile(
            optimizer=keras.optimizers.SGD(0.1), loss=loss or keras.losses.BinaryCrossentropy(from_logits=True)
        )
        model.fit(x, y, batch_size=n, epochs=1, shuffle=False, verbose=0, **fit_kwargs)
        return weights_vector(model)

    with_class_weight = one_step(class_weight={0: 1.0, 1: 3.0, 2: 10.0})
    argmax_weights = one_step(sample_weight=w[np.argmax(y, axis=1)])
    unweighted = one_step()
    per_tag = one_step(loss=losses.get("weighted_bce", weights=w.tolist()))
    diff_argmax = float(np.abs(with_class_weight - argmax_weights).max())
    diff_none = float(np.abs(with_class_weight - unweighted).max())
    diff_per_tag = float(np.abs(with_class_weight - per_tag).max())
    no_tag = int((y.sum(axis=1) == 0).sum())
    several = int((y.sum(axis=1) > 1).sum())
    # the fix: the loss itself scales each (sample, tag) term by its tag's weight
    z = rng.normal(size=y.shape).astype(np.float32)
    ratio = losses.elementwise("weighted_bce", y, z, weights=w.tolist()) / losses.elementwise("bce", y, z)
    ratios = ratio.mean(axis=0)
    wrong = (
        f"class_weight={{0: 1, 1: 3, 2: 10}} trained exactly like sample_weight = w[argmax(y)] "
        f"(largest weight difference after one step: {diff_argmax:.1e}); {several} samples with several tags "
        f"got one tag's weight, and {no_tag} samples with no tag got tag 0's weight 1"
    )
    fix = (
        "per-tag weights in the loss: weighted / plain BCE per tag column = "
        + "["
        + ", ".join(f"{r:.2f}" for r in ratios)
        + "]"
        + " (a sample with no tag still gets every tag's weight on its negative terms)"
    )
    ok = diff_argmax <= 1e-6 and diff_none > 1e-4 and bool(np.allclose(ratios, w, rtol=1e-4))
    return Demo(
        wrong,
        fix,
        ok,
        wrong_value=diff_argmax,
        fix_value=diff_per_tag,
        numbers={
            "diff_class_weight_vs_argmax": diff_argmax,
            "diff_class_weight_vs_unweighted": diff_none,
            "diff_class_weight_vs_per_tag_loss": diff_per_tag,
            "samples_without_tags": float(no_tag),
            "samples_with_several_tags": float(several),
        },
    )


# ---------------------------------------------------------------- 4. 'accuracy'
def _resolved_metric_names(model: keras.Model) -> list[str]:
    """Class names of the metrics Keras compiled (best effort: empty if the internals change)."""
    names: list[str] = []
    stack = list(model.metrics)
    while stack:
        metric = stack.pop(0)
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)) and inner:  # a container such as CompileMetrics
            stack.extend(inner)
        else:
            names.append(type(metric).__name__)
    return names


@register(
    "accuracy_is_argmax",
    title="metrics=['accuracy'] on a multi-label model",
    explanation="""
With more than one output, Keras 3 resolves 'accuracy' to categorical accuracy: it asks whether the
top-scoring tag equals argmax(y), the first present tag. A model that gets every tag right scores far below 1,
and the number means nothing for multi-label data. binary_accuracy is honest per cell but flatters a model
that predicts nothing: on sparse tags all-zeros scores high. Report per-tag precision/recall/F1 (and mAP)
instead.
""",
    wrong_code="""
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.evaluate(x, y)  # 'accuracy' here is CategoricalAccuracy
""",
    fix_code="""
model.compile(optimizer="adam", loss="binary_crossentropy",
              metrics=[keras.metrics.F1Score(threshold=0.5, average="macro"),
                       keras.metrics.Precision(), keras.metrics.Recall()])
""",
)
def _accuracy_is_argmax() -> Demo:
    y, logits = predictions_that_are_all_right()
    model = sigmoid_passthrough(y.shape[1])
    model.compile(
        loss="binary_crossentropy",
        metrics=[
            "accuracy",
            keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            keras.metrics.F1Score(threshold=0.5, average="macro", name="macro_f1"),
        ],
    )
    right = model.evaluate(logits, y, verbose=0, return_dict=True)
    resolved = [n for n in _resolved_metric_names(model) if "Accuracy" in n and n != "BinaryAccuracy"]
    zeros = model.evaluate(np.full(y.shape, -5.0, np.float32), y, verbose=0, return_dict=True)
    truth = metrics.report(y, ops.convert_to_numpy(ops.sigmoid(logits)))
    as_name = f" (resolved to {resolved[0]})" if resolved else ""
    wrong = (
        f"'accuracy'{as_name} = {right['accuracy']:.3f} for predictions that get every tag right "
        f"(binary accuracy {right['binary_accuracy']:.3f}); a model that predicts no tag at all gets "
        f"binary accuracy {zeros['binary_accuracy']:.3f}"
    )
    fix = (
        f"macro F1 at 0.5: {right['macro_f1']:.3f} for the right predictions, {zeros['macro_f1']:.3f} for "
        f"predicting nothing (mlc.metrics.report: macro F1 {truth['macro_f1']:.3f}, mAP {truth['map']:.3f})"
    )
    ok = (
        right["accuracy"] < right["binary_accuracy"] - 0.1
        and right["binary_accuracy"] > 0.999
        and zeros["binary_accuracy"] > 0.6
        and zeros["macro_f1"] < 0.01
        and right["macro_f1"] > 0.999
    )
    return Demo(
        wrong,
        fix,
        bool(ok),
        wrong_value=float(right["accuracy"]),
        fix_value=float(right["macro_f1"]),
        numbers={
            "accuracy": float(right["accuracy"]),
            "binary_accuracy": float(right["binary_accuracy"]),
            "all_zeros_binary_accuracy": float(zeros["binary_accuracy"]),
            "all_zeros_macro_f1": float(zeros["macro_f1"]),
            "macro_f1": float(right["macro_f1"]),
        },
    )


# ---------------------------------------------------------------- 5. F1Score threshold
@register(
    "f1_without_threshold",
    title="keras.metrics.F1Score() without a threshold",
    explanation="""
F1Score's default threshold=None is single-label behaviour: the highest-scoring tag of each sample counts as
predicted and every other tag as absent, so a sample can never have two tags. For multi-label outputs pass a
float threshold, e.g. F1Score(threshold=0.5).
""",
    wrong_code="""
f1 = keras.metrics.F1Score(average="macro")  # threshold=None: argmax, one tag per sample
f1.update_state(y, probabilities)
""",
    fix_code="""
f1 = keras.metrics.F1Score(threshold=0.5, average="macro")  # every tag with p >= 0.5
f1.update_state(y, probabilities)
""",
)
def _f1_without_threshold() -> Demo:
    y, logits = predictions_that_are_all_right()
    probabilities = ops.convert_to_numpy(ops.sigmoid(logits))
    default = keras.metrics.F1Score(average="macro")
    default.update_state(y, probabilities)
    thresholded = keras.metrics.F1Score(threshold=0.5, average="macro")
    thresholded.update_state(y, probabilities)
    per_tag = keras.metrics.F1Score(average=None)
    per_tag.update_state(y, probabilities)
    wrong_value, fix_value = float(default.result()), float(thresholded.result())
    per_tag_text = ", ".join(f"{v:.2f}" for v in ops.convert_to_numpy(per_tag.result()))
    wrong = f"F1Score() = {wrong_value:.3f} (per tag: {per_tag_text}) for predictions that get every tag right at 0.5"
    fix = f"F1Score(threshold=0.5) = {fix_value:.3f}"
    ok = wrong_value < 0.9 and fix_value > 0.999
    return Demo(wrong, fix, bool(ok), wrong_value=wrong_value, fix_value=fix_value)


# ---------------------------------------------------------------- 6. closure loss
@keras.saving.register_keras_serializable(package="mlc_pitfalls")
class WeightedBCE(keras.losses.Loss):
    """BCE on logits with one weight per tag; registered and with ``get_config``, so it survives saving."""

    def __init__(self, weights, **kwargs):
        super().__init__(**kwargs)
        self.tag_weights = [float(w) for w in weights]

    def call(self, y_true, logits):
        w = ops.convert_to_tensor(self.tag_weights, dtype=logits.dtype)
        bce = ops.binary_crossentropy(ops.cast(y_true, logits.dtype), logits, from_logits=True)
        return ops.mean(bce * w, axis=-1)

    def get_config(self):
        return {**super().get_config(), "weights": self.tag_weights}


@register(
    "closure_loss_save_load",
    title="A loss made by a closure does not survive save / load",
    explanation="""
model.save() stores a plain function loss only by its name ('loss'); the weights captured by the closure are
not saved at all. keras.saving.load_model() then fails with a TypeError (Could not locate function 'loss'). A
keras.losses.Loss subclass registered with @keras.saving.register_keras_serializable and a get_config() of
plain lists loads back with its weights.
""",
    wrong_code="""
def make_loss(weights):
    def loss(y_true, logits):
        bce = ops.binary_crossentropy(y_true, logits, from_logits=True)
        return ops.mean(bce * ops.convert_to_tensor(weights), axis=-1)
    return loss

model.compile(optimizer="adam", loss=make_loss([1.0, 2.0, 3.0]))
model.save("model.keras")
keras.saving.load_model("model.keras")  # TypeError
""",
    fix_code=source_without_docstring(WeightedBCE)
    + """
model.compile(optimizer="adam", loss=WeightedBCE([1.0, 2.0, 3.0]))
model.save("model.keras")
model = keras.saving.load_model("model.keras")  # works: the class is registered
""",
)
def _closure_loss_save_load() -> Demo:
    rng = np.random.default_rng(0)
    x = rng.random((16, 4)).astype(np.float32)
    y = (rng.random((16, 3)) < 0.3).astype(np.float32)
    weights = [1.0, 2.0, 3.0]

    def make_loss(w):
        def loss(y_true, logits):
            bce = ops.binary_crossentropy(ops.cast(y_true, logits.dtype), logits, from_logits=True)
            return ops.mean(bce * ops.convert_to_tensor(w, dtype=logits.dtype), axis=-1)

        return loss

    with tempfile.TemporaryDirectory(prefix="mlc-pitfall-") as tmp:
        closure_model = dense_model(4, 3)
        closure_model.compile(optimizer="adam", loss=make_loss(weights))
        closure_model.fit(x, y, epochs=1, verbose=0)
        path = os.path.join(tmp, "closure.keras")
        closure_model.save(path)
        try:
            keras.saving.load_model(path)
        except Exception as exc:  # expected to fail: its error is the demonstration
            wrong, closure_failed = f"load_model: {checks.first_line(exc, 300)}", True
        else:
            wrong, closure_failed = "no error: load_model restored the closure loss", False

        class_model = dense_model(4, 3)
        class_model.compile(optimizer="adam", loss=WeightedBCE(weights))
        class_model.fit(x, y, epochs=1, verbose=0)
        before = float(class_model.loss(y, class_model.predict(x, verbose=0)))
        path = os.path.join(tmp, "class.keras")
        class_model.save(path)
        try:
            loaded = keras.saving.load_model(path)
        except (TypeError, ValueError) as exc:  # would contradict the fix: report, ok=False
            return Demo(wrong, f"load_model failed for the class too: {checks.first_line(exc, 300)}", False)
        restored = loaded.loss
        after = float(restored(y, loaded.predict(x, verbose=0)))
    restored_weights = list(getattr(restored, "tag_weights", []))
    fix = (
        f"load_model restored {type(restored).__name__}(weights={restored_weights}); "
        f"loss on the same batch {before:.4f} before saving, {after:.4f} after loading"
    )
    ok = (
        closure_failed
        and isinstance(restored, WeightedBCE)
        and restored_weights == weights
        and abs(before - after) < 1e-6
    )
    return Demo(wrong, fix, bool(ok), wrong_value=None, fix_value=after, numbers={"loss_before_save": before})
