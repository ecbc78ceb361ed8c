"""What the Train page says about a run's data before it trains: sizes, tags, samples, co-occurrence.

:func:`summarise` describes the data a config will train on, whatever its
data set. For own images every count is exact (the images are here). For a
generated set (scenes, digits) the splits are made fresh for each run, so the
per-tag numbers are *measured on a sample* of :data:`SAMPLE` images made with
the config's settings and scaled to the split sizes (``estimated`` says so).
Those numbers estimate what the settings produce, the same for every seed, so
they are measured at :data:`STATISTICS_SEED` (:func:`statistics_key`) and a new
seed only draws its own sample images (:func:`sample_grid`, :func:`with_grid`):
on a busy server a seed change cost a page run seconds of painting 600 scenes.

>>> from mlc.config import RunConfig
>>> s = summarise(RunConfig(train_size=800, val_size=200, test_size=200), sample=256)
>>> s.sizes, s.estimated, len(s.rows), s.co_occurrence.shape
({'train': 800, 'val': 200, 'test': 200}, True, 5, (5, 5))
>>> s.rows[1]["tag"], 0 <= s.rows[1]["prevalence"] <= 0.2
('cat', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mlc import checks, datasets, label_problems

if TYPE_CHECKING:
    from mlc.config import RunConfig

#: Generated images measured for a summary of a generated data set.
SAMPLE = 600
#: Sample images shown in the grid.
GRID = 10
#: The seed a generated set's per-tag numbers are measured at (:func:`statistics_key`).
STATISTICS_SEED = 0
#: Fewer validation positives than this: the tag's validation metrics are noise (a warning).
FEW_VAL_POSITIVES = 10


@dataclass
class DataSummary:
    """The data of one config: ``sizes`` per split, one row per tag, the (C, C) co-occurrence, a sample grid.

    ``rows``: ``{"tag", "prevalence", "train", "val", "test", "unknown"}`` (positives per split, unknown
    targets: generated sets' training split, own images' every split); ``co_occurrence[i, j]``
    is the share of images holding tag j among those holding tag i (the diagonal is 1, or 0 for a tag
    never seen); ``images`` (n, S, S, 3) uint8 with ``image_tags`` (their true tags); ``warnings``:
    one line per tag whose validation metrics will be noise.
    """

    dataset: str
    title: str
    sizes: dict[str, int]
    rows: list[dict[str, Any]]
    co_occurrence: np.ndarray
    images: np.ndarray
    image_tags: list[list[str]]
    estimated: bool
    warnings: list[str] = field(default_factory=list)


#: The config fields a generated data set's summary depends on (a new loss or epoch count reuses it).
DATA_FIELDS = (
    "dataset", "classes", "prevalence", "soft_labels", "label_noise", "image_size", "seed",
    "train_size", "val_size", "test_size", "missing_positives", "missing_as", "single_positive",
    "cooccur_tag", "cooccur_with", "cooccur_train", "cooccur_test",
)  # fmt: skip


def data_key(config: RunConfig) -> str:
    """The JSON of ``config``'s :data:`DATA_FIELDS`: equal for configs whose data summaries are equal.

    >>> from mlc.config import RunConfig
    >>> data_key(RunConfig(epochs=2)) == data_key(RunConfig(loss="focal"))
    True
    >>> data_key(RunConfig(seed=1)) == data_key(RunConfig())
    False
    """
    import json

    values = config.to_dict()
    return json.dumps({name: values[name] for name in DATA_FIELDS})


def statistics_key(config: RunConfig) -> str:
    """:func:`data_key` at :data:`STATISTICS_SEED`: equal for configs whose generated-set numbers are equal.

    >>> from mlc.config import RunConfig
    >>> statistics_key(RunConfig(seed=1)) == statistics_key(RunConfig(seed=2))
    True
    >>> statistics_key(RunConfig(label_noise=0.1)) == statistics_key(RunConfig())
    False
    """
    return data_key(config.replace(seed=STATISTICS_SEED))


def sample_grid(config: RunConfig, grid: int = GRID) -> tuple[np.ndarray, list[list[str]]]:
    """A generated set's first ``grid`` training images at ``config``'s own seed, (n, S, S, 3) uint8, and
    their tags as training sees them (label problems applied); a few images made, not a sample of SAMPLE."""
    grid = checks.whole(grid, "grid", 0, 48)
    small = summarise(config, sample=max(16, grid), grid=grid)
    return small.images, small.image_tags


def with_grid(summary: DataSummary, images: np.ndarray, image_tags: list[list[str]]) -> DataSummary:
    """``summary`` showing ``images`` (with their ``image_tags``) instead of its own sample grid."""
    return replace(summary, images=images, image_tags=image_tags)


def summarise(config: RunConfig, source: Any = None, *, sample: int = SAMPLE, grid: int = GRID) -> DataSummary:
    """The :class:`DataSummary` of ``config``'s data (``source``: the own images of ``dataset="own"``)."""
    sample = checks.whole(sample, "sample", 16, 20_000)
    grid = checks.whole(grid, "grid", 0, 48)
    spec = datasets.DATASETS.lookup(config.dataset)
    if spec.builtin:
        clean = spec.make(config.replace(train_size=sample, val_size=1, test_size=1), source)
        splits = label_problems.apply_to_splits(clean, config)  # as training sees it (mlc.datasets.make_splits)
        shown = splits.train
        y = clean.train[1]
        sizes = {"train": config.train_size, "val": config.val_size, "test": config.test_size}
        share = datasets.positives(y) / len(y)  # (C,) before label problems: validation and test keep them
        kept = datasets.positives(splits.train[1]) / len(y)  # (C,) training positives left
        unknown = label_problems.unknown_counts(splits.train[1]) / len(y)  # (C,) training unknowns
        rows = [
            {
                "tag": tag,
                "prevalence": round(float(p), 4),
                **{name: int(round(p * n)) for name, n in sizes.items()},
                "train": int(round(k * config.train_size)),
                "unknown": int(round(u * config.train_size)),
            }
            for tag, p, k, u in zip(config.classes, share, kept, unknown)
        ]
    else:
        splits = datasets.make_splits(config, source)
        shown = splits.test if len(splits.test[1]) >= grid else splits.train
        y = np.concatenate([splits.split(name)[1] for name in datasets.SPLITS])  # (N, C) every image
        rows = [
            dict(row, unknown=int(n)) for row, n in zip(datasets.summary_rows(splits), label_problems.unknown_counts(y))
        ]
        sizes = datasets.split_sizes(splits)
    images, labels = shown[0][:grid], shown[1][:grid]
    if images.dtype != np.uint8:
        images = np.rint(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    tags = [[c for c, v in zip(config.classes, row) if v >= 0.5] for row in labels]
    estimated = spec.builtin
    return DataSummary(
        dataset=config.dataset,
        title=spec.title,
        sizes=sizes,
        rows=rows,
        co_occurrence=conditional_co_occurrence(y),
        images=images,
        image_tags=tags,
        estimated=estimated,
        warnings=few_positive_warnings(rows, estimated),
    )


def conditional_co_occurrence(y: np.ndarray) -> np.ndarray:
    """(C, C): among images with tag i, the share that also have tag j (row i; 0 for a tag never present).

    >>> conditional_co_occurrence(np.array([[1, 1], [1, 0], [0, 0]])).tolist()
    [[1.0, 0.5], [1.0, 1.0]]
    """
    counts = datasets.co_occurrence(y).astype(np.float64)
    diagonal = np.diag(counts)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(diagonal > 0, counts / np.maximum(diagonal, 1), 0.0)
    return share


def co_occurrence_rows(summary: DataSummary) -> list[dict[str, Any]]:
    """Tidy rows for a heat map: ``{"tag", "with", "share"}`` for every ordered pair of tags."""
    names = [row["tag"] for row in summary.rows]
    return [
        {"tag": a, "with": b, "share": round(float(summary.co_occurrence[i, j]), 4)}
        for i, a in enumerate(names)
        for j, b in enumerate(names)
    ]


def few_positive_warnings(rows: list[dict[str, Any]], estimated: bool = False) -> list[str]:
    """One line per tag with fewer than :data:`FEW_VAL_POSITIVES` validation positives (its metrics are noise).

    >>> for line in few_positive_warnings([{"tag": "cat", "val": 3}, {"tag": "dog", "val": 40}]):
    ...     print(line)
    cat: only 3 validation images have it (fewer than 10); its validation metrics are noise
    """
    about = "about " if estimated else ""
    return [
        f"{row['tag']}: only {about}{row['val']} validation images have it (fewer than {FEW_VAL_POSITIVES}); "
        "its validation metrics are noise"
        for row in rows
        if row["val"] < FEW_VAL_POSITIVES
    ]
