"""Tests for mlc.losses: numerics, equivalences, serialisation, validation."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mlc import DEFAULT_CLASSES, losses
from mlc.losses import LOSSES

N_TAGS = len(DEFAULT_CLASSES)
NAMES = sorted(LOSSES)

# Non-default parameters for the built-in losses; small focal gamma and a
# positive ASL clip exercise the guarded power/log branches.
NON_DEFAULT = {
    "bce": {"smoothing": 0.1, "unknown": "ignore"},
    "zlpr": {},
    "two_way": {"t_pos": 2.0, "t_neg": 0.5},
    "mse": {},
    "weighted_bce": {"weights": [0.5, 1.0, 2.0, 3.0, 0.0], "weighting": "positive"},
    "focal": {"gamma": 0.5, "alpha": 0.25},
    "asl": {"gamma_pos": 1.0, "gamma_neg": 2.0, "clip": 0.1},
}


def non_default(name: str, n_tags: int = N_TAGS) -> dict:
    """Known non-default params, or ones derived from the specs for new losses."""
    if name in NON_DEFAULT:
        params = dict(NON_DEFAULT[name])
        if "weights" in params:
            params["weights"] = (params["weights"] * n_tags)[:n_tags]
        return params
    out = {}
    for key, spec in losses.params(name).items():
        if spec.kind == "choice":
            out[key] = spec.choices[-1]
        elif spec.kind == "per_tag":
            out[key] = [spec.default + 0.5 * (i % 3) for i in range(n_tags)]
        else:
            base = spec.low if spec.default is None else spec.default
            out[key] = (base + spec.high) / 2 if math.isfinite(spec.high) else base + 0.5
    return out


def variants(name: str, n_tags: int = N_TAGS) -> list[dict]:
    return [losses.defaults(name, n_tags=n_tags), non_default(name, n_tags)]


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_bce(y, z):
    """float64 reference: max(z, 0) - z y + log(1 + exp(-|z|))."""
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def to_np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------ registry


def test_registry_has_the_public_losses():
    assert set(LOSSES) == {"bce", "weighted_bce", "mse", "focal", "asl", "zlpr", "two_way"}
    for name, cls in LOSSES.items():
        assert issubclass(cls, keras.losses.Loss)
        assert cls.registry_name == name


@pytest.mark.parametrize("name", NAMES)
def test_registry_metadata(name):
    text = losses.describe(name)
    assert "Formula:" in text and "\n" not in text and len(text) > 30
    specs = losses.params(name)
    assert set(specs) == set(losses.defaults(name))
    for key, spec in specs.items():
        assert isinstance(spec, losses.ParamSpec)
        if spec.kind != "choice":
            assert spec.low <= spec.high
        # Every declared default is itself valid.
        default = [spec.default] * 3 if spec.kind == "per_tag" else spec.default
        spec.check(default, key)
    loss = losses.get(name, **losses.defaults(name))
    assert loss.name == name


def test_param_specs_describe_ranges():
    clip = losses.params("asl")["clip"]
    assert (clip.default, clip.low, clip.high, clip.high_inclusive) == (0.05, 0.0, 1.0, False)
    assert clip.range_text() == "in [0, 1)"
    gamma = losses.params("focal")["gamma"]
    assert (gamma.default, gamma.low, gamma.high) == (2.0, 0.0, math.inf)
    assert gamma.range_text() == ">= 0"
    assert losses.params("focal")["alpha"].optional
    weights = losses.params("weighted_bce")["weights"]
    assert weights.kind == "per_tag" and weights.required
    weighting = losses.params("weighted_bce")["weighting"]
    assert weighting.choices == ("tag", "positive")
    assert losses.defaults("weighted_bce") == {"weights": [1.0] * N_TAGS, "weighting": "tag"}


def test_register_rejects_duplicates_and_non_losses():
    with pytest.raises(ValueError, match="already registered"):
        losses.register("bce")(losses.MSELoss)
    with pytest.raises(TypeError):
        losses.register("thing")(dict)
    assert "thing" not in LOSSES


# ------------------------------------------------------------------ numerics

# Every (logit, target) pair of {-100, 0, 100} x {0, 1, 0.5}, 3 tags per row.
EXTREME_Z = np.array([[-100.0, 0.0, 100.0]] * 3, dtype=np.float32)
EXTREME_Y = np.array([[0.0] * 3, [1.0] * 3, [0.5] * 3], dtype=np.float32)


@pytest.mark.parametrize("variant", [0, 1], ids=["defaults", "non_default"])
@pytest.mark.parametrize("name", NAMES)
def test_finite_values_and_gradients_at_extreme_logits(name, variant):
    loss = losses.get(name, **variants(name, n_tags=3)[variant])
    z = tf.Variable(EXTREME_Z)
    with tf.GradientTape(persistent=True) as tape:
        elementwise = loss.elementwise(EXTREME_Y, z)
        total = loss(EXTREME_Y, z)
    values = to_np(elementwise)
    assert values.shape == (3, 3)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    assert np.isfinite(float(total))
    for target in (elementwise, total):
        grad = to_np(tape.gradient(target, z))
        assert np.all(np.isfinite(grad)), grad


@pytest.mark.parametrize("name", NAMES)
def test_call_is_mean_over_tags_and_reduction_over_batch(name, rng):
    loss = losses.get(name, **non_default(name))
    y = (rng.random((4, N_TAGS)) < 0.4).astype("float32")
    z = rng.normal(0, 3, (4, N_TAGS)).astype("float32")
    elem = to_np(loss.elementwise(y, z))
    assert elem.shape == (4, N_TAGS)
    np.testing.assert_allclose(to_np(loss.call(y, z)), elem.mean(axis=-1), rtol=1e-6)
    np.testing.assert_allclose(float(loss(y, z)), elem.mean(), rtol=1e-5)


@pytest.mark.parametrize("variant", [0, 1], ids=["defaults", "non_default"])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "target, start, toward",
    [(1.0, 0.0, 1.5), (0.0, 0.0, -1.5), (0.5, 2.0, 1.0), (0.5, -2.0, -1.0), (1.0, -3.0, -1.0)],
)
def test_loss_decreases_when_logit_moves_toward_target(name, variant, target, start, toward):
    if name == "two_way":
        pytest.skip("two_way ranks positives against negatives: one tag alone has none (see its own tests)")
    params = variants(name, n_tags=1)[variant]
    if "weights" in params:
        params["weights"] = [2.0]  # weight 0 would make the loss flat
    y = np.full((1, 1), target, dtype="float32")
    before = losses.elementwise(name, y, [[start]], **params)[0, 0]
    after = losses.elementwise(name, y, [[toward]], **params)[0, 0]
    assert after < before
    # ...and the gradient at the start points the same way.
    z = tf.Variable([[start]], dtype=tf.float32)
    with tf.GradientTape() as tape:
        value = losses.get(name, **params)(y, z)
    assert float(tape.gradient(value, z)[0, 0]) * (toward - start) < 0


# ------------------------------------------------------------- equivalences


def test_bce_known_values():
    y = [[1.0, 0.0, 1.0, 0.5]]
    z = [[0.0, 0.0, 2.0, -100.0]]
    expected = np_bce(np.array(y), np.array(z))
    np.testing.assert_allclose(to_np(losses.bce(y, z)), expected, rtol=1e-6)
    assert expected[0, 0] == pytest.approx(math.log(2))
    assert expected[0, 3] == pytest.approx(50.0, rel=1e-6)  # 0.5·100 + tiny


@pytest.mark.parametrize("weighting", ["tag", "positive"])
def test_weighted_bce_with_unit_weights_is_exactly_bce(weighting, rng):
    y = np.concatenate([(rng.random((6, N_TAGS)) < 0.5), rng.random((2, N_TAGS))]).astype("float32")
    z = rng.normal(0, 10, (8, N_TAGS)).astype("float32")
    z[0] = [-100, 100, 0, -100, 100]
    got = to_np(losses.weighted_bce(y, z, [1.0] * N_TAGS, weighting=weighting))
    np.testing.assert_array_equal(got, to_np(losses.bce(y, z)))


def test_weighted_bce_tag_weighting_scales_each_tag(rng):
    w = np.array([0.0, 0.5, 1.0, 2.0, 7.5])
    y = rng.random((6, N_TAGS)).astype("float32")
    z = rng.normal(0, 4, (6, N_TAGS)).astype("float32")
    got = to_np(losses.weighted_bce(y, z, w.tolist(), weighting="tag"))
    np.testing.assert_allclose(got, w * np_bce(y, z), rtol=1e-5, atol=1e-7)


def test_weighted_bce_positive_weighting_only_scales_the_positive_term(rng):
    w = np.array([0.0, 0.5, 1.0, 2.0, 7.5])
    y = rng.random((6, N_TAGS)).astype("float64")
    y[:2] = 0.0
    y[2:4] = 1.0
    z = rng.normal(0, 4, (6, N_TAGS))
    got = to_np(losses.weighted_bce(y, z, w.tolist(), weighting="positive"))
    log_p, log_q = -np.logaddexp(0, -z), -np.logaddexp(0, z)
    expected = -(w * y * log_p + (1 - y) * log_q)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # Negatives: unchanged. Positives: weight times BCE.
    np.testing.assert_allclose(got[:2], np_bce(y[:2], z[:2]), rtol=1e-10)
    np.testing.assert_allclose(got[2:4], w * np_bce(y[2:4], z[2:4]), rtol=1e-10, atol=1e-12)


def test_weighted_bce_wrapper_uses_the_weights():
    loss = losses.WeightedBCELoss([3.0, 1.0])
    assert float(loss([[1.0, 0.0]], [[0.0, 0.0]])) == pytest.approx(2 * math.log(2), rel=1e-6)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
def test_focal_matches_keras_binary_focal_crossentropy(gamma, alpha, rng):
    y = (rng.random((16, N_TAGS)) < 0.3).astype("float32")
    y[-2:] = rng.random((2, N_TAGS))  # soft targets too
    z = rng.uniform(-6, 6, (16, N_TAGS)).astype("float32")
    kwargs = {"gamma": gamma, "from_logits": True, "reduction": None}
    if alpha is not None:
        kwargs.update(apply_class_balancing=True, alpha=alpha)
    reference = to_np(keras.losses.BinaryFocalCrossentropy(**kwargs)(y, z))
    ours = losses.FocalLoss(gamma=gamma, alpha=alpha, reduction=None)(y, z)
    np.testing.assert_allclose(to_np(ours), reference, rtol=1e-5, atol=1e-6)


def test_focal_known_values():
    # y=1, z=0: (1-0.5)^2 log 2;  y=0, z=2: sigmoid(2)^2 * bce.
    got = to_np(losses.focal([[1.0, 0.0]], [[0.0, 2.0]], gamma=2.0))
    p = np_sigmoid(2.0)
    np.testing.assert_allclose(got, [[0.25 * math.log(2), p**2 * np_bce(0.0, 2.0)]], rtol=1e-6)


def test_asl_with_no_focusing_and_no_clip_is_bce(rng):
    y = np.concatenate([(rng.random((6, N_TAGS)) < 0.5), rng.random((2, N_TAGS))]).astype("float32")
    z = rng.normal(0, 10, (8, N_TAGS)).astype("float32")
    z[0] = [-100, 100, 0, -100, 100]
    got = to_np(losses.asl(y, z, gamma_pos=0.0, gamma_neg=0.0, clip=0.0))
    np.testing.assert_allclose(got, to_np(losses.bce(y, z)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("gamma_pos, gamma_neg, clip", [(0.0, 4.0, 0.05), (1.0, 2.0, 0.2), (0.5, 0.0, 0.0)])
def test_asl_matches_the_paper_formula(gamma_pos, gamma_neg, clip, rng):
    y = np.concatenate([(rng.random((6, N_TAGS)) < 0.5), rng.random((2, N_TAGS))])
    z = rng.uniform(-6, 6, (8, N_TAGS))
    p = np_sigmoid(z)
    p_m = np.maximum(p - clip, 0.0)
    expected = -y * (1 - p) ** gamma_pos * np.log(p) - (1 - y) * p_m**gamma_neg * np.log(1 - p_m)
    got = to_np(losses.asl(y, z, gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_asl_discards_easy_negatives():
    # sigmoid(-4) = 0.018 < clip = 0.05, so a negative there costs nothing.
    got = losses.elementwise("asl", [[0.0, 0.0]], [[-4.0, 0.0]])
    assert got[0, 0] == 0.0 and got[0, 1] > 0.0


def test_mse_known_values():
    got = losses.elementwise("mse", [[1.0, 0.0, 0.5, 1.0, 0.0]], [[0.0, 0.0, 0.0, math.log(3), 100.0]])
    np.testing.assert_allclose(got, [[0.25, 0.25, 0.0, 0.0625, 1.0]], rtol=1e-12)


def test_elementwise_helper_returns_float64_of_input_shape():
    got = losses.elementwise("weighted_bce", [1, 0, 1], [0.0, 0.0, 2.0], weights=[1.0, 2.0, 3.0])
    assert got.dtype == np.float64 and got.shape == (3,)
    np.testing.assert_allclose(got, [1, 2, 3] * np_bce(np.array([1, 0, 1]), np.array([0.0, 0, 2])))


# ---------------------------------------------------------------- serialising


@pytest.mark.parametrize("name", NAMES)
def test_config_is_plain_and_round_trips(name):
    loss = losses.get(name, **non_default(name))
    config = loss.get_config()
    assert set(config) == {"name", "reduction"} | set(losses.params(name))
    for key in losses.params(name):
        value = config[key]
        assert value is None or isinstance(value, (float, str, list))
        if isinstance(value, list):
            assert all(type(v) is float for v in value)
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    assert keras.losses.deserialize(keras.losses.serialize(loss)).get_config() == config


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("name", NAMES)
def test_model_save_and_load_round_trip(name, tmp_path, rng):
    loss = losses.get(name, **non_default(name))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(N_TAGS)])
    model.compile(optimizer="sgd", loss=loss)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    x = rng.normal(size=(8, 4)).astype("float32")
    y = (rng.random((8, N_TAGS)) < 0.5).astype("float32")
    z = model.predict(x, verbose=0)
    np.testing.assert_allclose(float(loaded.loss(y, z)), float(loss(y, z)), rtol=1e-6)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "name, params, fragments",
    [
        ("weighted_bce", {"weights": [1.0, 1.0, -1.0]}, ["weights must be finite and >= 0", "got -1.0 for tag 2"]),
        ("weighted_bce", {"weights": [1.0, float("nan")]}, ["weights must be finite", "for tag 1"]),
        ("weighted_bce", {"weights": [float("inf")]}, ["weights must be finite", "inf", "tag 0"]),
        ("weighted_bce", {"weights": 2.0}, ["one number per tag", "got 2.0"]),
        ("weighted_bce", {"weights": []}, ["one value per tag", "empty"]),
        (
            "weighted_bce",
            {"weights": [1.0], "weighting": "pos"},
            ["weighting must be one of 'tag', 'positive'", "got 'pos'"],
        ),
        ("weighted_bce", {}, ["needs 'weights'", "weights=[1.0, 1.0, 1.0, 1.0, 1.0]"]),
        ("focal", {"gamma": -1.0}, ["gamma must be a finite number >= 0", "got -1.0"]),
        ("focal", {"gamma": float("inf")}, ["gamma must be a finite number >= 0", "inf"]),
        ("focal", {"gamma": "2"}, ["gamma must be", "got '2'"]),
        ("focal", {"alpha": 1.5}, ["alpha must be None or a finite number in [0, 1]", "got 1.5"]),
        ("focal", {"gama": 2.0}, ["unknown parameter 'gama' for loss 'focal'", "gamma, alpha"]),
        ("asl", {"clip": 1.0}, ["clip must be a finite number in [0, 1)", "got 1.0"]),
        ("asl", {"clip": -0.1}, ["clip must be", "got -0.1"]),
        ("asl", {"gamma_neg": -2.0}, ["gamma_neg must be a finite number >= 0"]),
        ("asl", {"gamma_pos": float("nan")}, ["gamma_pos must be", "nan"]),
        ("mse", {"gamma": 1.0}, ["unknown parameter 'gamma' for loss 'mse'", "no parameters"]),
        ("bce", {"gamma": 1.0}, ["unknown parameter 'gamma' for loss 'bce'", "smoothing, unknown"]),
        ("bce", {"smoothing": 0.5}, ["smoothing must be a finite number in [0, 0.5)", "got 0.5"]),
        ("bce", {"unknown": "drop"}, ["unknown must be one of 'negative', 'ignore'", "got 'drop'"]),
        ("two_way", {"t_pos": 0.0}, ["t_pos must be a finite number >= 0.1", "got 0.0"]),
        ("two_way", {"t_neg": -1.0}, ["t_neg must be a finite number >= 0.1", "Kobayashi"]),
        ("foo", {}, ["unknown loss 'foo'; choose one of: bce, weighted_bce, mse, focal, asl"]),
    ],
)
def test_invalid_params_raise_helpful_value_errors(name, params, fragments):
    with pytest.raises(ValueError) as info:
        losses.get(name, **params)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_classes_and_pure_functions_validate_too():
    with pytest.raises(ValueError, match="gamma must be"):
        losses.FocalLoss(gamma=-0.5)
    with pytest.raises(ValueError, match=r"clip must be .* in \[0, 1\)"):
        losses.AsymmetricLoss(clip=1.0)
    with pytest.raises(ValueError, match="weighting must be one of"):
        losses.WeightedBCELoss([1.0], weighting="negative")
    with pytest.raises(ValueError, match="gamma must be"):
        losses.focal([[1.0]], [[0.0]], gamma=-1.0)
    with pytest.raises(ValueError, match="unknown parameter 'gamma' for loss 'mse'; it accepts: no parameters"):
        losses.MSELoss(gamma=1.0)
    with pytest.raises(ValueError, match="smoothing must be"):
        losses.bce([[1.0]], [[0.0]], smoothing=0.7)
    with pytest.raises(ValueError, match="t_neg must be"):
        losses.TwoWayLoss(t_neg=0.0)
    with pytest.raises(ValueError, match="unknown parameter 'gama' for loss 'focal'"):
        losses.FocalLoss(gama=1.0)


def test_weight_count_must_match_the_number_of_tags():
    y, z = np.zeros((2, 5), "float32"), np.zeros((2, 5), "float32")
    message = "weights must have one value per tag (5), got 4"
    with pytest.raises(ValueError) as info:
        losses.weighted_bce(y, z, [1.0] * 4)
    assert message in str(info.value)
    with pytest.raises(ValueError) as info:
        losses.WeightedBCELoss([1.0] * 4)(y, z)
    assert message in str(info.value)
    # Caught when a model is compiled with the wrong number of weights too.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5)])
    model.compile(optimizer="sgd", loss=losses.WeightedBCELoss([1.0] * 4))
    with pytest.raises(ValueError, match=r"one value per tag \(5\), got 4"):
        model.fit(np.zeros((2, 4), "float32"), y, verbose=0)


def test_shape_and_target_checks():
    with pytest.raises(ValueError, match="same shape"):
        losses.bce(np.zeros((2, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="same shape"):
        losses.elementwise("bce", [[0, 1]], [[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        losses.elementwise("bce", [[0, 2]], [[0.0, 1.0]])
    with pytest.raises(ValueError, match="logits must be finite"):
        losses.elementwise("bce", [[0, 1]], [[0.0, np.inf]])


# ------------------------------------------- label smoothing and partial labels (unknown = -1)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.45])
def test_bce_smoothing_is_keras_label_smoothing(smoothing, rng):
    y = (rng.random((6, N_TAGS)) < 0.4).astype("float32")
    z = rng.normal(0, 4, (6, N_TAGS)).astype("float32")
    ours = float(losses.get("bce", smoothing=smoothing)(y, z))
    keras_loss = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=smoothing)
    assert ours == pytest.approx(float(keras_loss(y, z)), rel=1e-5)
    smoothed = y * (1 - smoothing) + smoothing / 2
    np.testing.assert_allclose(to_np(losses.bce(y, z, smoothing=smoothing)), np_bce(smoothed, z), rtol=1e-4, atol=1e-5)


def _partial(rng, shape=(8, N_TAGS)):
    y = (rng.random(shape) < 0.4).astype("float32")
    y[rng.random(shape) < 0.3] = -1.0
    y[0] = -1.0  # an image with no known tag
    return y, rng.normal(0, 3, shape).astype("float32")


def test_bce_assume_negative_counts_unknown_as_zero(rng):
    y, z = _partial(rng)
    np.testing.assert_allclose(to_np(losses.bce(y, z)), np_bce(np.maximum(y, 0), z), rtol=1e-4, atol=1e-5)


def test_bce_ignore_is_the_mean_over_known_tags(rng):
    y, z = _partial(rng)
    loss = losses.get("bce", unknown="ignore", smoothing=0.1)
    known = y >= 0
    target = np.where(known, y, 0) * 0.9 + 0.05
    expected = [np_bce(target[i], z[i])[known[i]].mean() if known[i].any() else 0.0 for i in range(len(y))]
    np.testing.assert_allclose(to_np(loss.call(y, z)), expected, rtol=1e-4, atol=1e-6)
    # an unknown element's logit has no gradient and so no say
    variable = tf.Variable(z)
    with tf.GradientTape() as tape:
        value = loss(y, variable)
    grad = to_np(tape.gradient(value, variable))
    assert np.all(grad[~known] == 0) and np.all(grad[known] != 0)


@pytest.mark.parametrize("name", NAMES)
def test_every_loss_masks_unknown_targets_or_refuses_them(name, rng):
    y, z = _partial(rng)
    params = losses.defaults(name)
    loss = losses.get(name, **params)
    if not type(loss).accepts_unknown:
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"loss '{name}' cannot use unknown targets"):
            loss(y, z)
        return
    assert np.isfinite(float(loss(y, z)))
    if name == "bce":  # assumes negative by default; "ignore" masks
        loss = losses.get(name, unknown="ignore")
    moved = np.where(y < 0, z + 50.0, z).astype("float32")  # only the unknowns' logits change
    np.testing.assert_allclose(to_np(loss.call(y, moved)), to_np(loss.call(y, z)), rtol=1e-5, atol=1e-6)


def test_refusal_and_masking_hold_inside_a_compiled_training_step(rng):
    y, _ = _partial(rng)
    x = rng.normal(size=(8, 3)).astype("float32")

    def fit(loss):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(N_TAGS)])
        model.compile(optimizer="sgd", loss=loss)
        return model.fit(x, y, epochs=1, batch_size=4, verbose=0).history["loss"][-1]

    assert math.isfinite(fit(losses.get("bce", unknown="ignore")))
    assert math.isfinite(fit(losses.get("zlpr")))
    with pytest.raises(tf.errors.InvalidArgumentError, match="cannot use unknown targets"):
        fit(losses.get("focal"))


def test_elementwise_helper_accepts_unknown_targets():
    values = losses.elementwise("bce", [[1, -1]], [[0.0, 3.0]], unknown="ignore")
    np.testing.assert_allclose(values, [[2 * math.log(2), 0.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"or -1 \(unknown\)"):
        losses.elementwise("bce", [[-0.5, 1]], [[0.0, 0.0]])


# ------------------------------------------------------------------ zlpr and two_way


def np_zlpr(y, z):
    """Su et al. (2022) per image, naively in float64: log(1 + Σ_neg e^z) + log(1 + Σ_pos e^-z)."""
    y, z = np.asarray(y, np.float64), np.asarray(z, np.float64)
    return np.log1p(np.sum(np.exp(z) * (y == 0), -1)) + np.log1p(np.sum(np.exp(-z) * (y == 1), -1))


def np_two_way(y, z, t_pos=4.0, t_neg=1.0):
    """Kobayashi's (CVPR 2023) reference formulation, masks as -inf, in float64."""
    y, z = np.asarray(y, np.float64), np.asarray(z, np.float64)

    def lse(a, axis):
        top = np.max(a, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))

    pmask, nmask = np.where(y > 0, 0.0, -np.inf), np.where(y == 0, 0.0, -np.inf)
    total = 0.0
    for axis in (0, 1):  # class-wise, then sample-wise
        has = (y > 0).any(axis=axis)
        margin = t_neg * lse(z / t_neg + nmask, axis) + t_pos * lse(-z / t_pos + pmask, axis)
        total += np.logaddexp(0.0, margin)[has].mean()
    return total


def test_zlpr_matches_the_paper_formula(rng):
    y = (rng.random((16, N_TAGS)) < 0.4).astype("float32")
    z = rng.normal(0, 3, (16, N_TAGS)).astype("float32")
    np.testing.assert_allclose(to_np(losses.get("zlpr").call(y, z)), np_zlpr(y, z), rtol=1e-5, atol=1e-6)


def test_zlpr_with_one_tag_is_bce_and_an_unknown_tag_is_dropped(rng):
    y = (rng.random((8, 1)) < 0.5).astype("float32")
    z = rng.normal(0, 3, (8, 1)).astype("float32")
    np.testing.assert_allclose(to_np(losses.zlpr(y, z)), np_bce(y, z), rtol=1e-5, atol=1e-6)
    y2, z2 = rng.integers(0, 2, (8, 4)).astype("float32"), rng.normal(0, 3, (8, 4)).astype("float32")
    with_unknown = np.concatenate([y2, -np.ones((8, 1), "float32")], axis=1)
    z_extra = np.concatenate([z2, rng.normal(0, 3, (8, 1)).astype("float32")], axis=1)
    np.testing.assert_allclose(
        to_np(losses.get("zlpr").call(with_unknown, z_extra)), np_zlpr(y2, z2), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("t_pos, t_neg", [(4.0, 1.0), (1.0, 1.0), (0.5, 2.0)])
def test_two_way_matches_the_papers_formulation(t_pos, t_neg, rng):
    y = (rng.random((16, N_TAGS)) < 0.4).astype("float32")
    y[3] = 0.0  # an image without a positive: left out of the sample-wise mean
    z = rng.normal(0, 3, (16, N_TAGS)).astype("float32")
    loss = losses.get("two_way", t_pos=t_pos, t_neg=t_neg)
    assert float(loss(y, z)) == pytest.approx(np_two_way(y, z, t_pos, t_neg), rel=1e-5)
    # the image without a positive carries only the class-wise term: the total minus the sample-wise mean
    class_wise = np_two_way(y, z, t_pos, t_neg) - _sample_mean(y, z, t_pos, t_neg)
    assert to_np(loss.call(y, z))[3] == pytest.approx(class_wise, rel=1e-4, abs=1e-5)


def _sample_mean(y, z, t_pos, t_neg):
    """The sample-wise half of np_two_way (one image per batch leaves only it)."""
    return np.mean([np_two_way(y[i : i + 1], z[i : i + 1], t_pos, t_neg) for i in range(len(y)) if y[i].any()])


def test_two_way_pulls_positives_up_and_negatives_down():
    y = np.array([[1.0, 0.0]], "float32")
    z = tf.Variable([[0.0, 0.0]])
    with tf.GradientTape() as tape:
        value = losses.get("two_way")(y, z)
    grad = to_np(tape.gradient(value, z))
    assert grad[0, 0] < 0 < grad[0, 1]
    assert float(losses.get("two_way")(y, [[3.0, -3.0]])) < float(value)


# ----------------------------------------------------------- moved names


def test_moved_names_are_re_exported():
    from mlc import class_weights, loss_params

    assert losses.ParamSpec is loss_params.ParamSpec and losses.WEIGHTINGS == loss_params.WEIGHTINGS
    for name in ("inverse_frequency_weights", "class_balanced_weights", "positive_weights"):
        assert getattr(losses, name) is getattr(class_weights, name)
