"""Export a run config as a standalone plain-Keras training script.

:func:`keras_script` turns a :class:`~mlc.config.RunConfig` into the text of a
complete Python script that a visitor can copy and run with only NumPy and
Keras 3 (TensorFlow backend) installed (plus Pillow for own images, scikit-learn
for digits); it never imports ``mlc``. The script

* makes its data as the config's data set says (:mod:`mlc.export_data`):
  ``scenes`` with a compact NumPy generator (every tag one coloured shape at a
  random place and size, present with the config's prevalence; with soft labels
  the target is the shape's opacity), ``digits`` with a simplified generator of
  scikit-learn's digits, ``own`` by reading the CSV, folder or .zip given on the
  command line (default ``config.data_name``) with Pillow;
* builds the configured model layer by layer (:data:`MODEL_CODE`, one snippet
  per entry of :data:`mlc.models.MODELS`);
* defines the configured loss on logits (:data:`LOSS_CODE`, one snippet per
  entry of :data:`mlc.losses.LOSSES`), as a built-in Keras loss where one is
  exactly equal to mlc's, otherwise as a small registered ``keras.losses.Loss``
  subclass with ``get_config`` (a closure would not survive ``load_model``);
* trains with Adam and the config's learning-rate schedule, prints per-tag
  precision/recall/F1 at probability 0.5 and saves ``model.keras``.

Every value that comes from the config is embedded with :func:`repr` (tag
names may hold quotes, backslashes, newlines or any Unicode), and the config
itself appears as JSON in comments, so user text never becomes code.

>>> from mlc.config import RunConfig
>>> script = keras_script(RunConfig(loss="focal", classes=("sun", "boat")))
>>> _ = compile(script, "train_multilabel.py", "exec")
>>> "import mlc" in script, "CLASSES = ['sun', 'boat']" in script
(False, True)
"""

from __future__ import annotations

import inspect
import json
import re

import keras
import numpy as np
import tensorflow as tf

from mlc import data, export_data, logit_prior, models, training
from mlc.config import RunConfig
from mlc.export_losses import LOSS_CODE, REGISTER_PACKAGE

__all__ = [
    "IMPORTS",
    "LOSS_CODE",
    "MODEL_CODE",
    "REGISTER_PACKAGE",
    "SCHEDULE_CODE",
    "keras_script",
    "loss_code",
    "model_code",
]

#: The import block of every exported script (nothing beyond the standard library, NumPy and Keras).
IMPORTS = """\
import argparse
import math

import keras
import numpy as np
from keras import layers, ops
"""


# ---------------------------------------------------------------- models
def _plain_args(header: str) -> str:
    """``"filters: int, strides: int = 1"`` -> ``"filters, strides=1"`` (simple defaults only)."""
    plain = []
    for part in header.split(","):
        name, _, rest = part.strip().partition(":")
        default = rest.partition("=")[2].strip()
        plain.append(f"{name}={default}" if default else name)
    return ", ".join(plain)


def _plain_function(fn, name: str) -> str:
    """``fn``'s source as a plain function called ``name``: no decorator, no annotations, its own docstring.

    The exported script builds its model from the very source :mod:`mlc.models`
    trains with, so the two cannot drift apart.
    """
    lines = inspect.getsource(fn).splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("def ")) :]
    header = re.match(r"def \w+\((.*)\)( -> [^:]+)?:$", lines[0]).group(1)
    return "\n".join([f"def {name}({_plain_args(header)}):", *lines[1:]]) + "\n"


#: Building blocks whose mlc version does more than the script needs, written for the script:
#: the exported backbone loads ``BACKBONE_WEIGHTS`` (set by ``--weights``) and lets Keras report errors.
EXPORTED_BLOCKS: dict[str, str] = {
    "batch_normalization": '''\
def batch_normalization(momentum, name):
    """Keras' BatchNormalization (mlc trains with a subclass on TensorFlow's fused kernel: the same maths)."""
    return layers.BatchNormalization(momentum=momentum, name=name)
''',
    "pretrained_backbone": f'''\
BACKBONE_MIN_SIZE = {models.BACKBONE_MIN_SIZE!r}  # smaller images are upscaled inside the model
BACKBONE_WEIGHTS = "imagenet"  # Keras downloads them once into ~/.keras/models; see --weights


def pretrained_backbone(size):
    """MobileNetV3Small without its classifier, frozen: (B, size, size, 3) in [-1, 1] -> (B, s, s, 576).

    include_preprocessing=False: build_model maps the [0, 1] images to [-1, 1] itself (Keras' own
    preprocessing expects 0..255). A frozen model's batch norm runs in inference mode.
    """
    backbone = keras.applications.MobileNetV3Small(
        input_shape=(size, size, 3), include_top=False, weights=BACKBONE_WEIGHTS, include_preprocessing=False
    )
    backbone.trainable = False
    return backbone
''',
}


def _model_source(name: str) -> str:
    builder = models.MODELS[name].builder
    used = inspect.getsource(builder)
    for block in reversed(models.BUILDING_BLOCKS):  # a block may call the blocks listed before it
        if f"{block.__name__}(" in used:
            used += inspect.getsource(block)
    blocks = [b for b in models.BUILDING_BLOCKS if f"{b.__name__}(" in used]
    code = [EXPORTED_BLOCKS.get(b.__name__) or _plain_function(b, b.__name__) for b in blocks]
    return "\n\n".join([*code, _plain_function(builder, "build_model")])


#: Model registry name -> code defining ``build_model(num_classes, image_size)`` (logits out),
#: made from :mod:`mlc.models`' own source (the tests copy weights across and compare outputs).
MODEL_CODE: dict[str, str] = {name: _model_source(name) for name in models.MODELS}

# ---------------------------------------------------------------- losses
# LOSS_CODE (one snippet per registered loss) lives in mlc.export_losses; loss_code() below picks one.

#: Learning-rate schedule (:data:`mlc.config.LR_SCHEDULES`) -> code of ``make_optimizer()``,
#: the same schedule as :func:`mlc.training.learning_rate`.
SCHEDULE_CODE: dict[str, str] = {
    "cosine": '''\
def make_optimizer():
    """Adam; the learning rate decays along a cosine to 5 % over all steps of the run."""
    steps = EPOCHS * math.ceil(TRAIN_SIZE / BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps, alpha=0.05)
    return keras.optimizers.Adam(schedule)
''',
    "constant": '''\
def make_optimizer():
    """Adam with a constant learning rate."""
    return keras.optimizers.Adam(LEARNING_RATE)
''',
}

_METRICS_CODE = """\
def make_metrics():
    # Not metrics=["accuracy"]: with several outputs Keras 3 resolves it to categorical
    # (argmax) accuracy, "is the top-scoring tag the first true tag?", which is meaningless
    # for multi-label targets. Even binary accuracy flatters a model that never predicts
    # a rare tag. The model outputs logits z, and sigmoid(z) > 0.5 exactly when z > 0, so
    # threshold 0.0 on logits is probability 0.5. (Soft targets count as present when > 0.)
    return [
        keras.metrics.AUC(curve="PR", multi_label=True, num_labels=len(CLASSES), from_logits=True, name="pr_auc"),
        keras.metrics.Precision(thresholds=0.0, name="precision"),
        keras.metrics.Recall(thresholds=0.0, name="recall"),
    ]
"""

#: ``prior_logits``: the output bias each run starts from (:mod:`mlc.logit_prior`), from mlc's own source.
PRIOR_CODE = (
    f"# the output bias starts at each tag's log-odds (Lin et al. 2017, Focal Loss, section 4.1)\n"
    f"PRIOR_CLIP = {logit_prior.PRIOR_CLIP!r}\n\n\n" + _plain_function(logit_prior.prior_logits, "prior_logits")
)

_MAIN_CODE = '''\
def report(model, x, y, threshold=0.5):
    """Per-tag precision / recall / F1 at a probability threshold (soft targets >= 0.5 count as present)."""
    probabilities = 0.5 * (1.0 + np.tanh(0.5 * model.predict(x, verbose=0)))  # sigmoid, overflow-free
    predicted, present = probabilities >= threshold, y >= 0.5
    print(f"{'tag':<20}{'precision':>10}{'recall':>8}{'F1':>8}{'support':>9}")
    for c, name in enumerate(CLASSES):
        tp = np.sum(predicted[:, c] & present[:, c])
        precision = tp / max(predicted[:, c].sum(), 1)
        recall = tp / max(present[:, c].sum(), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        print(f"{name:<20}{precision:>10.3f}{recall:>8.3f}{f1:>8.3f}{present[:, c].sum():>9}")


def main():
    args = parse_args()
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_val, y_val) = load_data(args)
    model = build_model(len(CLASSES), IMAGE_SIZE)
    model.get_layer("logits").bias.assign(prior_logits(y_train))  # each tag starts at its base rate
    model.compile(optimizer=make_optimizer(), loss=loss, metrics=make_metrics())
    model.fit(
        x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, validation_data=(x_val, y_val), verbose=2
    )
    report(model, x_val, y_val)
    model.save("model.keras")  # outputs logits: apply a sigmoid for probabilities
    print("saved model.keras")


if __name__ == "__main__":
    main()
'''


def model_code(name: str) -> str:
    """Code defining ``build_model(num_classes, image_size)`` for the registered model ``name``.

    >>> "layers.Flatten" in model_code("linear")
    True
    """
    if name not in MODEL_CODE:
        raise ValueError(
            f"no Keras export for model {name!r}; export snippets exist for: {', '.join(MODEL_CODE)}. "
            "Add a snippet to mlc.export.MODEL_CODE when registering a model."
        )
    return MODEL_CODE[name]


def loss_code(config: RunConfig) -> str:
    """Code that defines the configured loss (on logits) and binds it to ``loss``.

    It needs :data:`IMPORTS`; executed, ``loss`` computes the same values as
    ``config.make_loss()``.

    >>> print(loss_code(RunConfig(loss="bce")), end="")
    # Sigmoid binary cross-entropy on logits: every tag is its own yes/no question.
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    """
    if not isinstance(config, RunConfig):
        raise ValueError(f"config must be a RunConfig, got {type(config).__name__}")
    if config.loss not in LOSS_CODE:
        raise ValueError(
            f"no Keras export for loss {config.loss!r}; export snippets exist for: {', '.join(LOSS_CODE)}. "
            "Add a snippet to mlc.export.LOSS_CODE when registering a loss."
        )
    return LOSS_CODE[config.loss](config.loss_kwargs())


def _header(config: RunConfig) -> str:
    # one field per line; ensure_ascii JSON escapes newlines, quotes and non-ASCII, so every line stays a comment
    fields = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=True)}" for k, v in config.to_dict().items()]
    config_lines = "#   {\n" + ",\n".join(f"#     {f}" for f in fields) + "\n#   }"
    argument = " path/to/your/images" if config.dataset == "own" else ""
    return (
        f"# Multi-label classification in plain Keras, exported from Multi-label Lab.\n"
        f"#\n"
        f"# Run it with:  python train_multilabel.py{argument}   "
        f"(needs {export_data.NEEDS[config.dataset]} and keras 3 with TensorFlow; not mlc)\n"
        f"# Generated with keras {keras.__version__}, tensorflow {tf.__version__}, numpy {np.__version__}.\n"
        f"{export_data.ABOUT[config.dataset]}\n"
        f"# The config's device is not used: Keras places the model itself.\n"
        f"#\n"
        f"# Run config (RunConfig JSON):\n{config_lines}\n"
    )


def _settings(config: RunConfig) -> str:
    val_seed = (config.seed + training.VAL_SEED_OFFSET) % 2**32
    lines = (
        f"CLASSES = {list(config.classes)!r}\n"
        f"PREVALENCE = {list(config.prevalence)!r}  # fraction of scenes that show each tag\n"
        f"SOFT_LABELS = {config.soft_labels!r}\n"
        f"SOFT_RANGE = {tuple(data.SOFT_RANGE)!r}  # strength of a present tag with soft labels\n"
        f"LABEL_NOISE = {config.label_noise!r}  # probability of flipping a training target\n"
        f"IMAGE_SIZE = {config.image_size!r}\n"
        f"TRAIN_SIZE, VAL_SIZE = {config.train_size!r}, {config.val_size!r}\n"
        f"EPOCHS, BATCH_SIZE = {config.epochs!r}, {config.batch_size!r}\n"
        f"LEARNING_RATE = {config.learning_rate!r}\n"
        f"SEED, VAL_SEED = {config.seed!r}, {val_seed!r}\n"
    )
    if config.dataset == "scenes":
        lines += _shortcut_settings(config)
    if config.dataset == "own":
        sizes = (config.train_size, config.val_size, config.test_size)
        fractions = [round(n / sum(sizes), 4) for n in sizes]
        lines += (
            f"DATA_PATH = {config.data_name or None!r}  # the images the run was trained on (a CSV, folder or .zip)\n"
            f"SPLIT_FRACTIONS = {fractions!r}  # train / val / test, for images the data gives no split\n"
        )
    return lines


def _shortcut_settings(config: RunConfig) -> str:
    """The shortcut scenario's lines (``config.cooccur_*``): the tag, its partner and how often they go together."""
    if not config.cooccur_tag:
        return "COOCCUR = None  # the shortcut scenario is off\nCOOCCUR_TRAIN = COOCCUR_TEST = None\n"
    return (
        f"COOCCUR = {(config.cooccur_tag, config.cooccur_with)!r}  # the shortcut scenario: (tag, partner)\n"
        f"COOCCUR_TRAIN, COOCCUR_TEST = {config.cooccur_train!r}, {config.cooccur_test!r}"
        "  # share of the tag's scenes with the partner: training, validation\n"
    )


def _arguments(config: RunConfig) -> str:
    """``parse_args()``: the data's path for own images, ``--weights`` for a pretrained backbone."""
    lines = [
        "def parse_args():",
        '    parser = argparse.ArgumentParser(description="Train the exported multi-label model.")',
    ]
    if config.dataset == "own":
        lines += [
            '    parser.add_argument("data", nargs="?" if DATA_PATH else None, default=DATA_PATH,',
            '                        help="your labels CSV, folder or .zip of images (default: %(default)s)")',
        ]
    backbone = "pretrained_backbone(" in MODEL_CODE[config.model]
    if backbone:
        lines += [
            '    parser.add_argument("--weights", default="imagenet",',
            '                        help="backbone weights: imagenet (downloaded once into ~/.keras/models), "',
            '                        "a weights file, or none (random)")',
        ]
    lines.append("    args = parser.parse_args()")
    if backbone:
        lines += [
            "    global BACKBONE_WEIGHTS",
            '    BACKBONE_WEIGHTS = None if args.weights.lower() == "none" else args.weights',
        ]
    return "\n".join([*lines, "    return args"]) + "\n"


def keras_script(config: RunConfig) -> str:
    """A standalone, runnable plain-Keras script that reproduces ``config``.

    Sections: header comments (config as JSON, versions) -> imports ->
    settings -> the data set's ``load_data`` (:mod:`mlc.export_data`) -> ``build_model``
    -> ``loss`` -> ``make_metrics`` -> ``make_optimizer`` -> ``prior_logits`` -> ``parse_args`` ->
    ``report``/``main`` under ``if __name__ == "__main__"``. Importing or ``exec``-ing the script without
    running it as ``__main__`` only defines things (no data, no training).

    Raises ValueError for a config whose model or loss has no export snippet.

    >>> script = keras_script(RunConfig(model="linear", lr_schedule="constant"))
    >>> 'logits_model("linear"' in script, "keras.optimizers.Adam(LEARNING_RATE)" in script
    (True, True)
    """
    if not isinstance(config, RunConfig):
        raise ValueError(f"config must be a RunConfig, got {type(config).__name__}")
    if config.lr_schedule not in SCHEDULE_CODE:
        raise ValueError(
            f"no Keras export for lr_schedule {config.lr_schedule!r}; export snippets exist for: "
            f"{', '.join(SCHEDULE_CODE)}. Add one to mlc.export.SCHEDULE_CODE."
        )
    sections = [
        _header(config),
        IMPORTS + export_data.DATA_IMPORTS[config.dataset],
        _settings(config),
        export_data.DATA[config.dataset],
        model_code(config.model),
        loss_code(config),
        _METRICS_CODE,
        SCHEDULE_CODE[config.lr_schedule],
        PRIOR_CODE,
        _arguments(config),
        _MAIN_CODE,
    ]
    return "\n\n".join(s.rstrip("\n") + "\n" for s in sections)
