"""Tests for :mod:`mlc.export`: the exported plain-Keras script is exact, safe and runs.

Parametrised over :data:`mlc.models.MODELS`, :data:`mlc.losses.LOSSES` and
:data:`mlc.config.LR_SCHEDULES`, so a newly registered model, loss or schedule
without an export snippet fails here.
"""

from __future__ import annotations

import ast
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from mlc import export, losses, models, training
from mlc.batch_norm import plain_keras
from mlc.config import LR_SCHEDULES, RunConfig
from mlc.losses import LOSSES
from mlc.models import MODELS

# The nastiest tag name RunConfig accepts: quotes of every kind, a backslash, an inner
# newline, braces that would break str.format/f-strings, a comment sign and non-ASCII.
NASTY = 'it\'s "x"\\n\n\'\'\' """ {CLASSES} # é ☃ \u2028 \\'
NON_DEFAULT = {
    "bce": [
        {"loss_params": {"smoothing": 0.1, "unknown": "ignore"}},
        {"loss_params": {"smoothing": 0.25}},
    ],
    "two_way": [{"loss_params": {"t_pos": 1.0, "t_neg": 2.0}}],
    "weighted_bce": [
        {"weights": (0.5, 2.0, 0.0, 3.0, 1.0), "weighting": "tag"},
        {"weights": (1.0, 19.0, 0.25, 1.0, 4.0), "weighting": "positive"},
    ],
    "focal": [{"loss_params": {"gamma": 0.5, "alpha": 0.25}}, {"loss_params": {"gamma": 0.0}}],
    "asl": [
        {"loss_params": {"gamma_pos": 1.0, "gamma_neg": 2.0, "clip": 0.1}},
        {"loss_params": {"gamma_pos": 0.0, "gamma_neg": 3.0, "clip": 0.0}},
    ],
}


def namespace(code: str) -> dict:
    """Execute exported code (as a module, not as __main__) and return its globals."""
    ns = {"__name__": "exported_script"}
    exec(compile(code, "train_multilabel.py", "exec"), ns)
    return ns


def loss_configs(name: str) -> list[RunConfig]:
    """Default and non-default parameter configs for a registered loss (spec-derived for new losses)."""
    configs = [RunConfig(loss=name)]
    for change in NON_DEFAULT.get(name, []):
        configs.append(RunConfig(loss=name, **change))
    if name not in NON_DEFAULT:
        params = {}
        for key, spec in losses.params(name).items():
            if spec.kind == "float" and not spec.required:
                base = spec.low if spec.default is None else spec.default
                params[key] = (base + spec.high) / 2 if math.isfinite(spec.high) else base + 0.5
        if params:
            configs.append(RunConfig(loss=name, loss_params=params))
    return configs


def targets_and_logits(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(32, 5) hard and soft targets, logits from N(0, 3) plus saturated +-30 and +-80 entries."""
    rng = np.random.default_rng(seed)
    y = (rng.random((32, 5)) < 0.4).astype(np.float32)
    y[16:] *= rng.uniform(0.25, 1.0, (16, 5)).astype(np.float32)  # soft labels in half the rows
    z = rng.normal(0.0, 3.0, (32, 5)).astype(np.float32)
    z[0], z[1] = [30.0, -30.0, 80.0, -80.0, 0.0], [-30.0, 30.0, -80.0, 80.0, 16.5]  # confident right and wrong
    return y, z


# ---------------------------------------------------------------- models
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_exports_the_same_architecture(name):
    ns = namespace(export.IMPORTS + "\n" + export.model_code(name))
    if "BACKBONE_WEIGHTS" in ns:
        ns["BACKBONE_WEIGHTS"] = None  # random, as mlc's here (nothing is downloaded at test time)
    exported = ns["build_model"](3, 32)
    reference = models.build(name, 3, 32)
    saved = plain_keras(reference)  # the layers of the model file mlc saves (Keras' own batch norm)
    assert [type(layer).__name__ for layer in exported.layers] == [type(layer).__name__ for layer in saved.layers]
    assert [w.shape for w in exported.get_weights()] == [w.shape for w in reference.get_weights()]
    assert exported.output_shape == reference.output_shape == (None, 3)
    exported.set_weights(reference.get_weights())
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(exported(x, training=False)), np.asarray(reference(x, training=False)), rtol=1e-5, atol=1e-6
    )


def test_unknown_model_has_a_helpful_error():
    with pytest.raises(ValueError, match=r"no Keras export for model 'nope'; export snippets exist for: .*MODEL_CODE"):
        export.model_code("nope")


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_export_equals_mlc(name):
    for k, config in enumerate(loss_configs(name)):
        code = export.loss_code(config)
        assert code in export.keras_script(config)
        exported = namespace(export.IMPORTS + "\n" + code)["loss"]
        reference = config.make_loss()
        y, z = targets_and_logits(seed=k)
        y_t, z_t = keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(z)
        per_sample = keras.ops.convert_to_numpy(exported.call(y_t, z_t))
        expected = keras.ops.convert_to_numpy(reference.call(y, z))
        np.testing.assert_allclose(per_sample, expected, rtol=1e-5, atol=1e-5, err_msg=f"{config.loss_kwargs()}")
        assert float(exported(y, z)) == pytest.approx(float(reference(y, z)), rel=1e-5, abs=1e-5)
        # same gradients too, finite even at saturated logits
        variable = tf.Variable(z)
        with tf.GradientTape(persistent=True) as tape:
            ours, theirs = exported(y, variable), reference(y, variable)
        grad, expected_grad = tape.gradient(ours, variable).numpy(), tape.gradient(theirs, variable).numpy()
        assert np.isfinite(grad).all()
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-6)
        # the custom classes round-trip through their config (what model.save / load_model relies on)
        rebuilt = type(exported).from_config(exported.get_config())
        assert float(rebuilt(y, z)) == pytest.approx(float(exported(y, z)), rel=1e-6)


@pytest.mark.parametrize(
    "name, loss_params", [("bce", {"unknown": "ignore"}), ("bce", {}), ("zlpr", {}), ("two_way", {})]
)
def test_partial_label_losses_export_their_handling_of_unknown_targets(name, loss_params):
    config = RunConfig(loss=name, loss_params=loss_params)
    y, z = targets_and_logits(seed=3)
    y[np.random.default_rng(3).random(y.shape) < 0.3] = -1.0  # unknown targets
    exported = namespace(export.IMPORTS + "\n" + export.loss_code(config))["loss"]
    if name == "bce" and not loss_params:  # the built-in Keras loss: assume-negative is mlc's default
        y = np.maximum(y, 0.0)
    expected = keras.ops.convert_to_numpy(config.make_loss().call(y, z))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(exported.call(y, z)), expected, rtol=1e-5, atol=1e-5)


def test_focal_is_a_custom_class_because_keras_focal_has_nan_gradients():
    """Keras' BinaryFocalCrossentropy has the same values here, but NaN gradients for gamma < 1
    once the sigmoid saturates; the exported class and mlc's focal stay finite."""
    config = RunConfig(loss="focal", loss_params={"gamma": 0.5})
    y = np.array([[1.0, 0.0, 1.0]], np.float32)
    z = tf.Variable([[30.0, -30.0, 0.5]])  # two confident right answers: 1 - p_t is exactly 0 in float32
    exported = namespace(export.IMPORTS + "\n" + export.loss_code(config))["loss"]
    builtin = keras.losses.BinaryFocalCrossentropy(gamma=0.5, from_logits=True)
    with tf.GradientTape(persistent=True) as tape:
        values = {"builtin": builtin(y, z), "exported": exported(y, z), "mlc": config.make_loss()(y, z)}
    grads = {k: tape.gradient(v, z).numpy() for k, v in values.items()}
    assert float(values["builtin"]) == pytest.approx(float(values["mlc"]), rel=1e-6)
    assert np.isnan(grads["builtin"]).any()
    assert np.isfinite(grads["exported"]).all()
    np.testing.assert_allclose(grads["exported"], grads["mlc"], rtol=1e-5, atol=1e-7)
    assert "class FocalLoss(keras.losses.Loss)" in export.loss_code(config)


# ---------------------------------------------------------------- optimiser
@pytest.mark.parametrize("schedule", LR_SCHEDULES)
def test_learning_rate_schedule_matches_training(schedule):
    config = RunConfig(lr_schedule=schedule, epochs=3, train_size=1000, batch_size=64, learning_rate=0.01)
    optimizer = namespace(export.keras_script(config))["make_optimizer"]()
    expected = training.learning_rate(config)
    exported = optimizer._learning_rate if hasattr(optimizer, "_learning_rate") else optimizer.learning_rate
    if schedule == "constant":
        assert float(optimizer.learning_rate) == pytest.approx(expected)
    else:
        assert exported.get_config() == expected.get_config()
        for step in (0, 10, 47):
            assert float(exported(step)) == pytest.approx(float(expected(step)))


# ---------------------------------------------------------------- safety of embedded text
def identifiers(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
    }


def imported_modules(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add(node.module.split(".")[0])
    return out


def test_nasty_tag_names_stay_data():
    config = RunConfig(classes=(NASTY, "plain"), prevalence=(0.4, 0.2), loss="weighted_bce", weights=(2.0, 1.0))
    assert config.classes[0] == NASTY.strip()  # RunConfig keeps the inner quotes, newline and Unicode
    script = export.keras_script(config)
    tree = ast.parse(compile(script, "train_multilabel.py", "exec", flags=ast.PyCF_ONLY_AST))
    assert imported_modules(tree) == {"argparse", "colorsys", "math", "keras", "numpy"}
    baseline = ast.parse(export.keras_script(config.replace(classes=("a", "b"))))
    assert identifiers(tree) == identifiers(baseline)  # the names add no code, only data
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"eval", "exec", "__import__", "open", "compile", "os", "subprocess", "mlc"}
    (classes,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CLASSES"
    ]
    assert ast.literal_eval(classes) == list(config.classes)
    header = script.split("# Run config (RunConfig JSON):\n")[1].split("\n\n")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert RunConfig.from_json("".join(line[1:] for line in header.splitlines())) == config


def test_header_states_config_and_versions():
    import tensorflow as tf

    script = export.keras_script(RunConfig())
    assert f"keras {keras.__version__}" in script and f"tensorflow {tf.__version__}" in script
    assert '#     "loss": "bce",' in script
    assert "import mlc" not in script and "from mlc" not in script


def test_refuses_a_non_config():
    with pytest.raises(ValueError, match="config must be a RunConfig, got dict"):
        export.keras_script({"loss": "bce"})


# ---------------------------------------------------------------- the scene generator in the script
def test_exported_scenes_follow_the_config():
    config = RunConfig(classes=("a", "b", "c"), prevalence=(0.5, 0.1, 0.0), image_size=24, seed=3)
    ns = namespace(export.keras_script(config))
    x, y = ns["make_scenes"](400, 3)
    assert x.shape == (400, 24, 24, 3) and x.dtype == np.float32 and y.shape == (400, 3)
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) <= {0.0, 1.0}
    np.testing.assert_allclose(y.mean(axis=0), [0.5, 0.1, 0.0], atol=0.06)
    np.testing.assert_array_equal(ns["make_scenes"](5, 3)[0], ns["make_scenes"](5, 3)[0])
    # a present tag shows its colour: the image's brightest red/green/blue mix moves with the tag
    present, absent = y[:, 0] == 1, y[:, 0] == 0
    colour = ns["COLOURS"][0]
    near = (np.abs(x - colour).sum(axis=-1) < 0.15).mean(axis=(1, 2))
    assert near[present].min() > 0.0 and near[absent].max() < near[present].mean() / 5


def test_exported_soft_labels_and_noise():
    config = RunConfig(classes=("a", "b"), prevalence=(0.5, 0.5), soft_labels=True, label_noise=0.2, image_size=16)
    ns = namespace(export.keras_script(config))
    _, clean = ns["make_scenes"](300, 0)
    present = clean[clean > 0]
    assert present.min() >= 0.25 and present.max() <= 1.0
    _, noisy = ns["make_scenes"](300, 0, label_noise=0.2)
    changed = np.mean((noisy > 0) != (clean > 0))
    assert 0.12 < changed < 0.28


def together_share(y: np.ndarray, tag: int, partner: int) -> float:
    """Share of the images with ``tag`` that also hold ``partner``."""
    return float(y[y[:, tag] >= 0.5, partner].mean())


def test_the_scripts_scenes_plant_the_shortcut_as_mlc_does():
    from mlc import datasets

    config = RunConfig(
        train_size=4000, val_size=4000, test_size=4000, image_size=16,
        cooccur_tag="house", cooccur_with="tree", cooccur_train=0.95, cooccur_test=0.3,
    )  # fmt: skip
    house, tree = config.classes.index("house"), config.classes.index("tree")
    ns = namespace(export.keras_script(config))
    assert ns["COOCCUR"] == ("house", "tree") and (ns["COOCCUR_TRAIN"], ns["COOCCUR_TEST"]) == (0.95, 0.3)
    (_, y_train), (_, y_val) = ns["load_data"](None)
    splits = datasets.make_splits(config)
    for y_script, y_mlc, share in ((y_train, splits.train[1], 0.95), (y_val, splits.val[1], 0.3)):
        assert together_share(y_script, house, tree) == pytest.approx(share, abs=0.04)
        assert together_share(y_script, house, tree) == pytest.approx(together_share(y_mlc, house, tree), abs=0.05)
        # the partner keeps its prevalence, as in mlc
        assert y_script[:, tree].mean() == pytest.approx(config.prevalence[tree], abs=0.03)
    # without the scenario the script's tags stay independent (the same draws as before)
    off = namespace(export.keras_script(config.replace(cooccur_tag="", cooccur_with="")))
    assert off["COOCCUR"] is None
    (_, y_off), _ = off["load_data"](None)
    assert together_share(y_off, house, tree) == pytest.approx(config.prevalence[tree], abs=0.06)


# ---------------------------------------------------------------- the script runs end to end
def run_script(tmp_path, config: RunConfig, *args: str) -> tuple[str, subprocess.CompletedProcess]:
    """Write ``config``'s script into tmp_path and run it there (with ``args``); it must exit 0."""
    script = export.keras_script(config)
    (tmp_path / "train_multilabel.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MLC_BACKBONE_WEIGHTS", None)  # the script knows no mlc setting: it takes --weights
    # -I: isolated mode, no PYTHONPATH or user site; the script must not need the repository
    done = subprocess.run(
        [sys.executable, "-I", "train_multilabel.py", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return script, done


@pytest.mark.slow
@pytest.mark.parametrize(
    "changes",
    [
        {"loss": "bce", "model": "compact"},
        {
            "loss": "weighted_bce",
            "weights": (1.0, 8.0, 1.0, 1.0, 1.0),
            "weighting": "positive",
            "model": "seed_cnn",
            "soft_labels": True,
            "label_noise": 0.1,
            "lr_schedule": "constant",
        },
        {"loss": "mse", "model": "linear", "soft_labels": True},
        {"loss": "focal", "loss_params": {"gamma": 1.5, "alpha": 0.25}, "model": "compact", "label_noise": 0.2},
        {"loss": "asl", "model": "linear", "classes": (NASTY, "plain"), "prevalence": (0.5, 0.5)},
        {"loss": "bce", "model": "linear", "loss_params": {"smoothing": 0.1, "unknown": "ignore"}},
        {"loss": "zlpr", "model": "linear"},
        {"loss": "two_way", "model": "linear", "loss_params": {"t_pos": 2.0, "t_neg": 0.5}},
        {"loss": "bce", "model": "linear", "cooccur_tag": "house", "cooccur_with": "tree"},
    ],
    ids=[
        "bce-compact",
        "weighted_bce-seed_cnn-soft",
        "mse-linear-soft",
        "focal-compact-noise",
        "asl-linear-nasty",
        "bce-smoothed-ignore-linear",
        "zlpr-linear",
        "two_way-linear",
        "bce-linear-shortcut",
    ],
)
def test_script_runs_standalone_and_saves_a_loadable_model(tmp_path, changes):
    config = RunConfig(train_size=64, val_size=32, epochs=1, batch_size=32, image_size=32, **changes)
    script, done = run_script(tmp_path, config)
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:4] == ["tag", "precision", "recall", "F1"])
    assert len(lines) > header + config.num_classes  # one row per tag after the header
    for name in config.classes:
        assert name in done.stdout
    assert "saved model.keras" in done.stdout
    path = tmp_path / "model.keras"
    assert path.is_file()
    # loading needs only the script's own definitions (they register the custom loss)
    ns = namespace(script)
    model = keras.saving.load_model(path)
    assert model.output_shape == (None, config.num_classes)
    assert type(model.loss).__name__ == type(ns["loss"]).__name__
    if config.loss == "weighted_bce":
        assert model.loss.tag_weights == list(config.weights) and model.loss.weighting == "positive"
    if config.loss in ("focal", "asl", "two_way") or config.loss_params:
        without_name = lambda loss: {k: v for k, v in loss.get_config().items() if k != "name"}  # noqa: E731
        assert without_name(model.loss) == without_name(ns["loss"])


# ---------------------------------------------------------------- the data sets: imports and arguments
def test_each_data_set_imports_only_what_it_needs():
    own = RunConfig(dataset="own", classes=("cat", "dog"), data_name="pets.zip")
    found = {cfg.dataset: imported_modules(ast.parse(export.keras_script(cfg))) for cfg in (RunConfig(), own)}
    found["digits"] = imported_modules(ast.parse(export.keras_script(RunConfig(dataset="digits"))))
    base = {"argparse", "math", "keras", "numpy"}
    assert found == {
        "scenes": base | {"colorsys"},
        "digits": base | {"sklearn"},
        "own": base | {"csv", "io", "re", "zipfile", "pathlib", "PIL"},
    }


def test_the_backbone_script_takes_its_weights_on_the_command_line(monkeypatch):
    ns = namespace(export.keras_script(RunConfig(model="mobilenet_v3_small")))
    assert ns["BACKBONE_WEIGHTS"] == "imagenet" and ns["BACKBONE_MIN_SIZE"] == models.BACKBONE_MIN_SIZE
    for argv, expected in ((["--weights", "none"], None), (["--weights", "/w/x.h5"], "/w/x.h5"), ([], "imagenet")):
        monkeypatch.setattr(sys, "argv", ["train_multilabel.py", *argv])
        ns["parse_args"]()
        assert ns["BACKBONE_WEIGHTS"] == expected
    monkeypatch.setattr(sys, "argv", ["train_multilabel.py", "--weights", "none"])
    with pytest.raises(SystemExit):  # a model without a backbone has no such option
        namespace(export.keras_script(RunConfig(model="lean")))["parse_args"]()


# ---------------------------------------------------------------- own images, read by the script
OWN_TAGS = ("cat", "dog")


def own_tags(i: int) -> set[str]:
    """Image i shows a cat when i is even and a dog when i is a multiple of 3 (so some have both, some none)."""
    return {t for t, yes in (("cat", i % 2 == 0), ("dog", i % 3 == 0)) if yes}


def own_png(i: int) -> bytes:
    """A PNG whose red value encodes i (6 i + 3, i < 42); sizes and modes vary (squashed to the config's size)."""
    import io

    from PIL import Image

    v = 6 * i + 3
    mode, colour = [("RGB", (v, 90, 40)), ("RGBA", (v, 90, 40, 255)), ("L", v)][i % 3]
    buffer = io.BytesIO()
    Image.new(mode, (20 + 7 * i, 30), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def write_own(root, layout: str, n: int = 12) -> None:
    """n images under root: labels.csv with a `tags` column, a CSV of 0/1 columns with a split, or tag folders."""
    root.mkdir(parents=True, exist_ok=True)
    if layout == "folders":
        for i in range(n):
            for tag in sorted(own_tags(i)) or ["_none"]:
                (root / tag).mkdir(exist_ok=True)
                (root / tag / f"img{i}.png").write_bytes(own_png(i))
        return
    (root / "images").mkdir(exist_ok=True)
    for i in range(n):
        (root / "images" / f"img{i}.png").write_bytes(own_png(i))
    if layout == "tags":
        separators = [" ", ",", ";", "|"]
        rows = [f'images/img{i}.png,"{separators[i % 4].join(sorted(own_tags(i)))}"' for i in range(n)]
        (root / "labels.csv").write_text("path,tags\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    else:  # 0/1 columns (also true/false) and a split column
        splits = ["train", "train", "val"]
        rows = [
            f"images/img{i}.png,{['0', '1'][i % 2 == 0]},{['false', 'true'][i % 3 == 0]},{splits[i % 3]}"
            for i in range(n)
        ]
        (root / "tags.csv").write_text("file,cat,dog,split\n" + "\n".join(rows) + "\n", encoding="utf-8")


def zip_folder(folder, path, top: str = "pets") -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{top}/{file.relative_to(folder).as_posix()}")


def own_config(**changes) -> RunConfig:
    return RunConfig(**{"dataset": "own", "classes": OWN_TAGS, "prevalence": (0.5, 0.3), "image_size": 16, **changes})


def decoded_index(x: np.ndarray) -> list[int]:
    return [int(round((float(image[0, 0, 0]) * 255 - 3) / 6)) for image in x]


@pytest.mark.parametrize("layout", ["tags", "columns", "folders", "folders-zip"])
def test_the_script_reads_both_layouts_like_mlc(tmp_path, layout):
    write_own(tmp_path / "pets", layout.removesuffix("-zip"))
    path = {"tags": "pets", "columns": "pets/tags.csv", "folders": "pets", "folders-zip": "pets.zip"}[layout]
    if layout == "folders-zip":
        zip_folder(tmp_path / "pets", tmp_path / "pets.zip")
    ns = namespace(export.keras_script(own_config(classes=("dog", "cat"), prevalence=(0.3, 0.5))))
    x, y, split = ns["read_images"](str(tmp_path / path))
    assert x.shape == (12, 16, 16, 3) and x.dtype == np.float32 and y.shape == (12, 2)
    assert 0.0 <= x.min() and x.max() <= 1.0
    index = decoded_index(x)
    assert sorted(index) == list(range(12))
    for k, i in enumerate(index):  # the tags in the config's order (dog, cat), not the file's
        assert y[k].tolist() == [float("dog" in own_tags(i)), float("cat" in own_tags(i))], (layout, i)
    if layout == "columns":
        assert [split[index.index(i)] for i in range(3)] == ["train", "train", "val"]
    else:
        assert set(split) == {""}


def test_the_scripts_split_keeps_a_split_column_and_else_follows_the_runs_proportions(tmp_path):
    write_own(tmp_path / "a", "columns")
    ns = namespace(export.keras_script(own_config()))
    (x_train, _), (x_val, _) = ns["load_data"](type("Args", (), {"data": str(tmp_path / "a" / "tags.csv")}))
    assert sorted(decoded_index(x_train)) == [i for i in range(12) if i % 3 != 2]
    assert sorted(decoded_index(x_val)) == [2, 5, 8, 11]
    write_own(tmp_path / "b", "tags", n=40)
    ns = namespace(export.keras_script(own_config(train_size=60, val_size=20, test_size=20)))
    assert ns["SPLIT_FRACTIONS"] == [0.6, 0.2, 0.2]
    (x_train, _), (x_val, _) = ns["load_data"](type("Args", (), {"data": str(tmp_path / "b")}))
    assert (len(x_train), len(x_val)) == (24, 8)  # the other 8 are the test split
    assert not set(decoded_index(x_train)) & set(decoded_index(x_val))


def test_the_script_skips_missing_and_broken_images_with_a_line(tmp_path, capsys):
    write_own(tmp_path, "tags", n=4)
    (tmp_path / "images" / "img1.png").write_bytes(b"not a png")
    with open(tmp_path / "labels.csv", "a", encoding="utf-8") as f:
        f.write("images/gone.png,cat\n")
    x, y, _ = namespace(export.keras_script(own_config()))["read_images"](str(tmp_path))
    assert sorted(decoded_index(x)) == [0, 2, 3]
    out = capsys.readouterr().out
    assert "skipped images/img1.png" in out and "skipped images/gone.png: no such file" in out


def test_the_script_refuses_two_csvs_and_names_them(tmp_path):
    write_own(tmp_path, "columns", n=3)
    (tmp_path / "other.csv").write_text("a,b\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"several CSV files \(other\.csv, tags\.csv\)"):
        namespace(export.keras_script(own_config()))["read_images"](str(tmp_path))


def test_the_own_script_defaults_to_the_runs_data_name():
    script = export.keras_script(own_config(data_name='pets\'s "photos".zip'))
    assert "DATA_PATH = 'pets\\'s \"photos\".zip'" in script
    assert "python train_multilabel.py path/to/your/images" in script
    assert namespace(script)["DATA_PATH"] == 'pets\'s "photos".zip'


# ---------------------------------------------------------------- digits, made by the script
def test_the_scripts_digits_follow_the_config():
    config = RunConfig(dataset="digits", classes=("3", "7", "8"), prevalence=(0.5, 0.05, 0.3), image_size=32)
    ns = namespace(export.keras_script(config))
    x, y = ns["make_digits"](1500, 4, "train")
    assert x.shape == (1500, 32, 32, 3) and x.dtype == np.float32 and y.shape == (1500, 3)
    assert 0.0 <= x.min() and x.max() <= 1.0 and set(np.unique(y)) <= {0.0, 1.0}
    assert y.sum(axis=1).max() <= 4  # a canvas without a tag shows an untagged digit instead
    np.testing.assert_allclose(y.mean(axis=0), [0.5, 0.05, 0.3], atol=0.04)
    _, all_ten = namespace(export.keras_script(RunConfig(dataset="digits", image_size=16)))["make_digits"](1500, 1)
    assert 1 <= all_ten.sum(axis=1).min() and all_ten.sum(axis=1).max() <= 4
    np.testing.assert_allclose(all_ten.mean(axis=0), 0.25, atol=0.05)
    np.testing.assert_array_equal(ns["make_digits"](5, 4)[0], ns["make_digits"](5, 4)[0])
    # ink: a canvas is more than its background and noise
    assert (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))).min() > 0.3


def test_the_scripts_digit_pools_are_disjoint_and_cover_every_digit():
    ns = namespace(export.keras_script(RunConfig(dataset="digits")))
    pools = {split: ns["digit_pools"](split)[1] for split in ("train", "val", "test")}
    for d in range(10):
        train, val, test = (set(pools[s][d].tolist()) for s in ("train", "val", "test"))
        assert train and val and test
        assert not train & val and not train & test and not val & test
        assert abs(len(train) / (len(train) + len(val) + len(test)) - 0.7) < 0.02


# ---------------------------------------------------------------- the new data sets and the backbone, end to end
@pytest.mark.slow
@pytest.mark.parametrize("case", ["own-folder", "own-csv", "own-zip-default", "digits", "backbone"])
def test_script_runs_on_each_data_set(tmp_path, case):
    small = dict(train_size=64, val_size=32, epochs=1, batch_size=16, image_size=16)
    args: tuple[str, ...] = ()
    if case == "own-folder":
        write_own(tmp_path / "pets", "tags", n=20)
        config, args = own_config(**{**small, "train_size": 14, "val_size": 3, "test_size": 3}), ("pets",)
    elif case == "own-csv":
        write_own(tmp_path / "pets", "columns", n=20)
        config, args = own_config(**small, model="linear"), ("pets/tags.csv",)
    elif case == "own-zip-default":
        write_own(tmp_path / "folder", "folders", n=20)
        zip_folder(tmp_path / "folder", tmp_path / "pets.zip")
        config = own_config(**{**small, "train_size": 14, "val_size": 3, "test_size": 3}, data_name="pets.zip")
    elif case == "digits":
        config = RunConfig(dataset="digits", **small)
    else:
        config, args = RunConfig(model="mobilenet_v3_small", **{**small, "image_size": 32}), ("--weights", "none")
    _, done = run_script(tmp_path, config, *args)
    assert "saved model.keras" in done.stdout
    for name in config.classes:
        assert name in done.stdout
    model = keras.saving.load_model(tmp_path / "model.keras")
    assert model.output_shape == (None, config.num_classes)
    if case.startswith("own"):
        assert "20 images:" in done.stdout
