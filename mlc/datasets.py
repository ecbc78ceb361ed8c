"""Data sets as a registry: where a run's images and tags come from.

Every entry of :data:`DATASETS` makes a run's three splits from its
:class:`~mlc.config.RunConfig` (``config.dataset`` names the entry):

* ``scenes`` — the synthetic scenes of :mod:`mlc.data` (the default); train,
  validation and test are three disjoint seed ranges;
* ``digits`` — real handwriting: scikit-learn's 1,797 bundled 8×8 digits,
  composed 1–4 per canvas by :mod:`mlc.digits`; the source digits are split into
  disjoint pools first, so validation and test canvases hold only handwriting the
  model never saw;
* ``own`` — the visitor's own labelled images (:mod:`mlc.imagesets`), passed in
  as ``source``; it cannot be rebuilt from a name, so it never travels in a link.

This module imports neither TensorFlow nor scikit-learn (the generators are
imported when a split is made), so the config, pages and share links can name
data sets cheaply.

>>> list(DATASETS)
['scenes', 'digits', 'own']
>>> DATASETS["digits"].default_tags[:3], DATASETS["own"].builtin
(('0', '1', '2'), False)
>>> check_tags("digits", ["3", "7"])
>>> check_tags("digits", ["3", "x"])
Traceback (most recent call last):
...
ValueError: classes: the digits data set's tags are the digits 0 to 9, got 'x'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlc import DEFAULT_CLASSES
from mlc.registry import Registry

if TYPE_CHECKING:
    from mlc.config import RunConfig

#: Seed offsets of the generated validation and test splits (train uses the config's seed).
VAL_SEED_OFFSET = 1_000_003
TEST_SEED_OFFSET = 2_000_006
#: The split names, in order.
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Tags of the ``digits`` data set and their default prevalence (1–4 digits per canvas: about 2.5 of 10).
DIGIT_TAGS: tuple[str, ...] = tuple("0123456789")
DIGIT_PREVALENCE = 0.25


@dataclass
class DataSplits:
    """A run's data: ``train`` (x uint8 (N, S, S, 3), y (N, C)), ``val`` and ``test`` (x float32 in [0, 1]).

    ``classes`` are the tags (C), ``dataset`` the registry name, ``problems`` the
    data's own findings (own images: :class:`mlc.imagesets.DataProblem` rows).
    """

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    classes: tuple[str, ...]
    dataset: str
    problems: tuple = ()

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


@dataclass(frozen=True)
class DataSetSpec:
    """One registered data set: ``make(config, source) -> DataSplits``.

    ``builtin`` = it is rebuilt from the config alone (a share link or an imported
    run can name it); ``default_tags`` and ``default_prevalence`` fill a new config.
    """

    name: str
    title: str
    summary: str
    builtin: bool
    default_tags: tuple[str, ...]
    default_prevalence: Callable[[Sequence[str]], tuple[float, ...]]
    make: Callable[[RunConfig, Any], DataSplits]


def _spec(name: str, make, **meta) -> DataSetSpec:
    return DataSetSpec(name=name, make=make, **meta)


#: name -> :class:`DataSetSpec`, in registration order (the first is the default).
DATASETS: Registry[DataSetSpec] = Registry("data set", example="scenes", make=_spec)


def _scene_prevalence(classes: Sequence[str]) -> tuple[float, ...]:
    from mlc.data import default_prevalence

    return default_prevalence(classes)


@DATASETS.register(
    "scenes",
    title="Synthetic scenes",
    summary="Learnable synthetic scenes: each tag a drawn object (dog, cat, house, tree, sky, or a glyph) "
    "at a random place, size and colour. Endless, made fresh for every run.",
    builtin=True,
    default_tags=DEFAULT_CLASSES,
    default_prevalence=_scene_prevalence,
)
def scene_splits(config: RunConfig, source: Any = None) -> DataSplits:
    """Three disjoint seed ranges of :func:`mlc.data.make_dataset` (validation and test labels stay clean).

    A shortcut scenario (``config.cooccur_tag``) plants ``cooccur_train`` in train, ``cooccur_test`` in val/test.
    """
    from mlc.config import cooccur
    from mlc.data import make_dataset

    kwargs = dict(
        classes=config.classes,
        prevalence=config.prevalence,
        soft_labels=config.soft_labels,
        image_size=config.image_size,
    )
    train = make_dataset(
        config.train_size,
        label_noise=config.label_noise,
        seed=config.seed,
        dtype="uint8",
        cooccur=cooccur(config, "train"),
        **kwargs,
    )
    # validation and test targets stay clean: noise is something to train through, not to score against
    val = make_dataset(
        config.val_size, seed=(config.seed + VAL_SEED_OFFSET) % 2**32, cooccur=cooccur(config, "val"), **kwargs
    )
    test = make_dataset(
        config.test_size, seed=(config.seed + TEST_SEED_OFFSET) % 2**32, cooccur=cooccur(config, "test"), **kwargs
    )
    return DataSplits(train, val, test, config.classes, "scenes")


@DATASETS.register(
    "digits",
    title="Handwritten digits",
    summary="Real handwriting: scikit-learn's 1,797 bundled 8x8 digits, 1-4 per canvas at random places and "
    "sizes; the tags are the digits present. Validation and test hold only handwriting training never saw.",
    builtin=True,
    default_tags=DIGIT_TAGS,
    default_prevalence=lambda classes: (DIGIT_PREVALENCE,) * len(classes),
)
def digit_splits(config: RunConfig, source: Any = None) -> DataSplits:
    """Canvases of real digits from three disjoint pools of source images (:func:`mlc.digits.make_digits`)."""
    train = _digit_split(config, "train", dtype="uint8")
    return DataSplits(train, _digit_split(config, "val"), _digit_split(config, "test"), config.classes, "digits")


def _digit_split(config: RunConfig, name: str, dtype: str = "float32", masks: bool = False) -> tuple:
    """One split of :func:`digit_splits` (``masks=True``: with the digits' ink masks, the same canvases)."""
    from mlc.digits import make_digits

    n, offset = _split_size_offset(config, name)
    return make_digits(
        n,
        classes=config.classes,
        prevalence=config.prevalence,
        image_size=config.image_size,
        seed=(config.seed + offset) % 2**32,
        split=name,
        dtype=dtype,
        masks=masks,
    )


def _split_size_offset(config: RunConfig, split: str) -> tuple[int, int]:
    """(images, seed offset) of a split."""
    return {
        "train": (config.train_size, 0),
        "val": (config.val_size, VAL_SEED_OFFSET),
        "test": (config.test_size, TEST_SEED_OFFSET),
    }[split]


@DATASETS.register(
    "own",
    title="Your own images",
    summary="Your labelled images: a .zip (or a folder on the command line) with a labels CSV or one folder "
    "per tag. They stay in your session and are never changed.",
    builtin=False,
    default_tags=(),
    default_prevalence=lambda classes: (0.0,) * len(classes),
)
def own_splits(config: RunConfig, source: Any = None) -> DataSplits:
    """The splits of an :class:`mlc.imagesets.ImageSet` (``source``), at the config's image size and tags."""
    if source is None:
        raise ValueError(
            f"this run was trained on your own images ({config.data_name or 'unnamed'}); "
            "they are not here, so it cannot be retrained or re-scored (it can still predict)"
        )
    if config.data_fingerprint and source.fingerprint != config.data_fingerprint:
        raise ValueError(
            f"the images given ({source.name}, {source.fingerprint}) are not the ones this config was made for "
            f"({config.data_name}, {config.data_fingerprint})"
        )
    return source.splits(config)


DATASET_NAMES: tuple[str, ...] = tuple(DATASETS)
DEFAULT_DATASET = DATASET_NAMES[0]


def check_tags(dataset: str, classes: Any) -> None:
    """Refuse tags a data set cannot make (``digits``: only the digits 0–9); other sets take any names."""
    if dataset != "digits" or classes is None or isinstance(classes, (str, bytes)):
        return
    for name in classes:
        if str(name).strip() not in DIGIT_TAGS:
            raise ValueError(f"classes: the digits data set's tags are the digits 0 to 9, got {str(name).strip()!r}")


def default_prevalence(dataset: str, classes: Sequence[str]) -> tuple[float, ...]:
    """The prevalence a new config of ``dataset`` starts with, one per tag."""
    return DATASETS.lookup(dataset).default_prevalence(classes)


def make_splits(config: RunConfig, source: Any = None) -> DataSplits:
    """The run's train/val/test splits from its data set (``source``: own images, else ``None``).

    The config's label problems (:mod:`mlc.label_problems`) are applied here, to the training split only.
    """
    from mlc import label_problems

    return label_problems.apply_to_splits(DATASETS.lookup(config.dataset).make(config, source), config)


#: Data sets whose generator knows where each tag is (:func:`split_masks` works for them).
MASK_DATASETS: tuple[str, ...] = ("scenes", "digits")


def masks_problem(config: RunConfig) -> str | None:
    """Why a run's data has no object masks (one line), or None when :func:`split_masks` can make them.

    >>> from mlc.config import RunConfig
    >>> masks_problem(RunConfig()) is None, masks_problem(RunConfig(dataset="digits")) is None
    (True, True)
    >>> masks_problem(RunConfig(dataset="own", classes=("a",), prevalence=(0.5,)))
    'the own data set has no object masks; only generated scenes and digits do'
    """
    if config.dataset not in MASK_DATASETS:
        return f"the {config.dataset} data set has no object masks; only generated scenes and digits do"
    return None


def split_masks(config: RunConfig, split: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One split of a generated data set again, with where each tag is: ``(x, y, masks)``.

    ``x`` float32 (N, S, S, 3) and ``y`` (N, C) are the very images and targets of
    :func:`make_splits` for that split; ``masks`` (N, C, S, S) bool marks each
    present tag's pixels (the ground truth saliency is scored against; digits: the
    ink of every instance of the digit). Only the generator knows where objects are,
    so ``own`` images refuse with a clear message.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    problem = masks_problem(config)
    if problem:
        raise ValueError(problem)
    if config.dataset == "digits":
        x, y, masks = _digit_split(config, split, masks=True)
        return x, y, masks
    from mlc.config import cooccur
    from mlc.data import make_dataset

    size, offset = _split_size_offset(config, split)
    return make_dataset(
        size,
        classes=config.classes,
        prevalence=config.prevalence,
        soft_labels=config.soft_labels,
        image_size=config.image_size,
        label_noise=config.label_noise if split == "train" else 0.0,
        seed=(config.seed + offset) % 2**32,
        masks=True,
        cooccur=cooccur(config, split),
    )


def positives(y: np.ndarray) -> np.ndarray:
    """(C,) images with each tag (a soft target counts where it is ≥ 0.5).

    >>> positives(np.array([[1, 0], [1, 1], [0.2, 0]])).tolist()
    [2, 1]
    """
    return (np.asarray(y) >= 0.5).sum(axis=0).astype(int)


def summary_rows(splits: DataSplits) -> list[dict[str, Any]]:
    """One row per tag: ``tag``, ``prevalence`` (over all splits) and positives per split (``train``, ...).

    >>> y = np.array([[1, 0], [0, 0]], np.float32)
    >>> s = DataSplits((y, y), (y, y), (y, y), ("a", "b"), "own")
    >>> summary_rows(s)[0]
    {'tag': 'a', 'prevalence': 0.5, 'train': 1, 'val': 1, 'test': 1}
    """
    counts = {name: positives(splits.split(name)[1]) for name in SPLITS}
    total = sum(len(splits.split(name)[1]) for name in SPLITS)
    rows = []
    for i, tag in enumerate(splits.classes):
        n = sum(int(counts[name][i]) for name in SPLITS)
        rows.append(
            {"tag": tag, "prevalence": round(n / total, 4) if total else 0.0, **{s: int(counts[s][i]) for s in SPLITS}}
        )
    return rows


def split_sizes(splits: DataSplits) -> dict[str, int]:
    """Images per split, e.g. ``{"train": 8000, "val": 1000, "test": 1000}``."""
    return {name: len(splits.split(name)[1]) for name in SPLITS}


def co_occurrence(y: np.ndarray) -> np.ndarray:
    """(C, C) images holding both tags i and j (the diagonal: images with tag i).

    >>> co_occurrence(np.array([[1, 1], [1, 0]])).tolist()
    [[2, 1], [1, 1]]
    """
    hard = (np.asarray(y) >= 0.5).astype(np.int64)
    return hard.T @ hard
