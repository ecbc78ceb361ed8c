"""Predictions: images in, per-tag sigmoid probabilities out, thresholds applied afterwards.

The Predict page runs each (run, image) pair through the model once and keeps
the probabilities in a :class:`ProbabilityCache`; thresholds are applied to
those cached numbers, so moving a slider never re-runs the model.

* :class:`Item` is one input image as the model sees it, (S, S, 3) float32 in
  [0, 1], with where it came from and, for generated scenes, its true targets.
* :func:`load_uploads` decodes files defensively (:func:`mlc.images.decode`):
  a file that cannot be read becomes one line in ``problems``; the others
  still become items.
* :func:`sample_items` draws generated scenes with their true tags, optionally
  only scenes that contain a given tag (e.g. the rare one); :func:`held_out_images`
  and :func:`held_out_items` draw from a run's own held-out test split instead
  (regenerated for a built-in data set, from the session's images for own data).
* :func:`decide`, :func:`predicted_tags` and :func:`results_table` turn
  probabilities ``p`` (n, C) and thresholds ``t`` (C,) into decisions
  ``p >= t`` (the same rule as :func:`mlc.metrics.report`).

>>> p = np.array([[0.9, 0.2, 0.6]], np.float32)
>>> predicted_tags(p, ["dog", "cat", "sky"], thresholds_for(["dog", "cat", "sky"], 0.5))
[['dog', 'sky']]
>>> predicted_tags(p, ["dog", "cat", "sky"], [0.5, 0.1, 0.7])
[['dog', 'cat']]
"""

from __future__ import annotations

import collections
import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlc import data, datasets, images, metrics
from mlc.runs import Run

#: Most images one request may hold (uploads plus samples): bounds a visitor's work and memory.
MAX_IMAGES = 64
#: Most generated scenes in the gallery.
MAX_SAMPLES = 24
#: Probabilities kept per session: (run, image) pairs, oldest dropped first.
CACHE_ENTRIES = 4096
#: Scenes drawn when looking for ones that contain a given tag (the rare tag is 5 %).
_SEARCH_POOL = 1024
#: Most test images regenerated for a built-in run's sample gallery (whole generator chunks).
TEST_POOL = 512


@dataclass(frozen=True, eq=False)
class Item:
    """One image to predict.

    ``pixels`` (S, S, 3) float32 in [0, 1] is what the model sees; ``key``
    identifies the content (a hash of the uploaded bytes, or the scene's seed
    and index), so the same picture is never run twice through the same model.
    ``truth`` holds the true targets (C,) of a generated scene, else ``None``;
    ``raw`` the uploaded bytes, kept to show the image as uploaded.
    """

    name: str
    source: str  # "upload", "camera", "sample" (a generated scene) or "test" (the run's test split)
    key: str
    pixels: np.ndarray
    truth: tuple[float, ...] | None = None
    raw: bytes | None = None


def content_key(raw: bytes) -> str:
    """Hash that names an uploaded file's content (same bytes, same key).

    >>> content_key(b"abc") == content_key(b"abc") != content_key(b"abd")
    True
    """
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def load_uploads(
    files: Iterable[tuple[str, bytes]], *, size: int = 64, source: str = "upload", limit: int = MAX_IMAGES
) -> tuple[list[Item], list[str]]:
    """Decode ``(name, bytes)`` pairs into items; returns ``(items, problems)``.

    Each refused file gives one line ``"name: why"`` in ``problems`` and does
    not stop the others. Files beyond ``limit`` are not decoded and are
    reported together in one line.

    >>> items, problems = load_uploads([("notes.txt", b"hello")])
    >>> items, problems[0].startswith("notes.txt: ")
    ([], True)
    """
    items: list[Item] = []
    problems: list[str] = []
    skipped = 0
    for name, raw in files:
        if len(items) >= limit:
            skipped += 1
            continue
        try:
            pixels = images.decode(raw, size=size)
        except images.ImageDecodeError as exc:
            problems.append(f"{name}: {exc}")
            continue
        items.append(Item(name=name, source=source, key=content_key(raw), pixels=pixels, raw=raw))
    if skipped:
        problems.append(over_limit(skipped, limit))
    return items, problems


def over_limit(extra: int, limit: int = MAX_IMAGES) -> str:
    """The one line for files beyond the per-request image limit."""
    return (
        f"{extra} more file(s) not read: at most {limit} images are predicted at once; "
        "remove some uploads or predict them in several rounds"
    )


def sample_items(
    n: int,
    *,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    prevalence: Sequence[float] | None = None,
    soft_labels: bool = False,
    containing: str | None = None,
    image_size: int = 64,
) -> list[Item]:
    """``n`` generated scenes with their true targets (1 <= n <= :data:`MAX_SAMPLES`).

    With ``containing`` set to a tag name, only scenes where that tag is present
    (target >= 0.5) are kept, so a rare tag can be inspected on purpose.

    >>> [item.name for item in sample_items(2, seed=3)]
    ['scene 3-0', 'scene 3-1']
    >>> all(item.truth[1] >= 0.5 for item in sample_items(3, containing="cat"))
    True
    """
    if not 1 <= int(n) <= MAX_SAMPLES:
        raise ValueError(f"the gallery holds 1 to {MAX_SAMPLES} scenes, got {n}")
    names = data.resolve_classes(classes)
    if containing is not None and containing not in names:
        raise ValueError(f"containing must be one of the tags {list(names)}, got {containing!r}")
    pool = n if containing is None else _SEARCH_POOL
    x, y = data.make_dataset(
        pool, classes=names, prevalence=prevalence, soft_labels=soft_labels, seed=seed, image_size=image_size
    )
    index = np.arange(pool)
    if containing is not None:
        index = index[y[:, names.index(containing)] >= 0.5][:n]
    return [
        Item(
            name=f"scene {seed}-{i}",
            source="sample",
            key=f"scene:{seed}:{image_size}:{soft_labels}:{names}:{prevalence}:{i}",
            pixels=x[i].copy(),
            truth=tuple(float(v) for v in y[i]),
        )
        for i in index
    ]


class HeldOutImagesMissing(ValueError):
    """A run's test images are not here (own images, not in this session): it still predicts uploads."""


def held_out_images(config, source: Any = None, pool: int = TEST_POOL) -> tuple[np.ndarray, np.ndarray]:
    """The first ``pool`` images of the run's test split: x float32 (n, S, S, 3) in [0, 1], y (n, C).

    A built-in data set regenerates them exactly as training made them (the same
    seeds); own images come from ``source`` (an :class:`mlc.imagesets.ImageSet`, or
    a mapping of them by fingerprint, as the session keeps them), which must be
    the very images the run was trained on; else :class:`HeldOutImagesMissing`.

    >>> from mlc.config import RunConfig
    >>> x, y = held_out_images(RunConfig(test_size=3, image_size=32))
    >>> x.shape, y.shape
    ((3, 32, 32, 3), (3, 5))
    """
    if datasets.DATASETS[config.dataset].builtin:
        n = min(int(config.test_size), int(pool))
        splits = datasets.make_splits(config.replace(train_size=1, val_size=1, test_size=n))
        return splits.test
    images_here = own_image_set(source, config.data_fingerprint)
    if images_here is None:
        raise HeldOutImagesMissing(
            f"the test images of this run ({config.data_name or 'your own images'}) are not here: "
            "load the same .zip on the Train page to see them; uploads still get this run's tags"
        )
    rows = np.flatnonzero(np.asarray(images_here.split) == "test")[: int(pool)]
    cols = images_here.columns(config.classes)
    x = images_here.images_at(config.image_size)[rows].astype(np.float32) / np.float32(255)
    return x, np.asarray(images_here.labels, np.float32)[np.ix_(rows, cols)]


def own_image_set(stored: Any, fingerprint: str):
    """The image set with ``fingerprint`` among ``stored`` (one set, a mapping by fingerprint, or None).

    >>> from types import SimpleNamespace
    >>> own_image_set({"f1": SimpleNamespace(fingerprint="f1")}, "f1").fingerprint
    'f1'
    >>> own_image_set(SimpleNamespace(fingerprint="f2"), "f1") is None
    True
    """
    if stored is None:
        return None
    if isinstance(stored, Mapping):
        stored = stored.get(fingerprint)
    if stored is None or not fingerprint or getattr(stored, "fingerprint", None) != fingerprint:
        return None
    return stored


def held_out_items(
    config, x: np.ndarray, y: np.ndarray, n: int, *, seed: int = 0, containing: str | None = None
) -> list[Item]:
    """``n`` of a run's test images ``x``, ``y`` (:func:`held_out_images`) at random (seeded), with their true tags.

    With ``containing`` only images holding that tag are drawn (fewer if the split has fewer).

    >>> from mlc.config import RunConfig
    >>> cfg = RunConfig(test_size=8, image_size=32)
    >>> x, y = held_out_images(cfg)
    >>> [item.name for item in held_out_items(cfg, x, y, 2, seed=1)]
    ['test image 0', 'test image 5']
    """
    if not 1 <= int(n) <= MAX_SAMPLES:
        raise ValueError(f"the gallery holds 1 to {MAX_SAMPLES} images, got {n}")
    names = list(config.classes)
    index = np.arange(len(y))
    if containing is not None:
        if containing not in names:
            raise ValueError(f"containing must be one of the tags {names}, got {containing!r}")
        index = index[y[:, names.index(containing)] >= 0.5]
    index = np.sort(np.random.default_rng(seed).permutation(index)[: int(n)])
    where = config.data_fingerprint or f"{config.dataset}:{config.seed}:{config.image_size}:{names}"
    return [
        Item(
            name=f"test image {i}",
            source="test",
            key=f"test:{where}:{config.image_size}:{i}",
            pixels=np.asarray(x[i], np.float32).copy(),
            truth=tuple(float(v) for v in y[i]),
        )
        for i in index
    ]


class ProbabilityCache:
    """Bounded, thread-safe store of each (run, image) pair's probabilities (C,).

    :meth:`probabilities` runs the model only on items it has not seen with
    that run, in one batch.
    """

    def __init__(self, max_entries: int = CACHE_ENTRIES):
        self.max_entries = max_entries
        self._store: collections.OrderedDict[tuple[str, str], np.ndarray] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.model_calls = 0  # how many batches went through a model (tests check it stays put)

    def __len__(self) -> int:
        return len(self._store)

    def probabilities(self, run: Run, items: Sequence[Item]) -> np.ndarray:
        """Sigmoid probabilities (len(items), C) of ``run``'s model on ``items``."""
        c = run.config.num_classes
        if not items:
            return np.zeros((0, c), np.float32)
        if run.model is None:
            raise ValueError(f"run {run.label} has no model to predict with (it failed before training)")
        with self._lock:
            missing = [it for it in items if (run.id, it.key) not in self._store]
        if missing:
            from mlc.training import predict_probabilities  # imports TensorFlow: only when a model runs

            size = run.config.image_size
            wrong = [it.name for it in missing if it.pixels.shape != (size, size, 3)]
            if wrong:
                raise ValueError(f"images must be {size}x{size}x3 for this run, got another size for {wrong[0]!r}")
            probs = predict_probabilities(run.model, np.stack([it.pixels for it in missing]))  # (m, C)
            with self._lock:
                self.model_calls += 1
                for it, row in zip(missing, probs):
                    self._store[(run.id, it.key)] = row
                    self._store.move_to_end((run.id, it.key))
                while len(self._store) > self.max_entries:
                    self._store.popitem(last=False)
        with self._lock:
            out = []
            for it in items:
                row = self._store.get((run.id, it.key))
                if row is None:  # evicted between the two locks by a huge request: compute it alone
                    from mlc.training import predict_probabilities

                    row = predict_probabilities(run.model, it.pixels[None])[0]
                out.append(row)
        return np.stack(out).astype(np.float32)


def thresholds_for(classes: Sequence[str], value: float | Sequence[float] | Mapping[str, float]) -> np.ndarray:
    """Thresholds (C,) from one value for every tag, one value per tag, or a ``{tag: value}`` mapping.

    Values must lie in [0, 1].

    >>> thresholds_for(["dog", "cat"], 0.3).tolist()
    [0.30000001192092896, 0.30000001192092896]
    >>> thresholds_for(["dog", "cat"], {"cat": 0.2, "dog": 0.5}).tolist()
    [0.5, 0.20000000298023224]
    """
    names = list(classes)
    if isinstance(value, Mapping):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"thresholds need a value for every tag; missing {missing}")
        value = [value[n] for n in names]
    t = (
        np.broadcast_to(np.asarray(value, dtype=np.float64), (len(names),))
        if np.ndim(value) == 0
        else np.asarray(value, np.float64)
    )
    if t.shape != (len(names),):
        raise ValueError(f"thresholds must have one value per tag ({len(names)}), got {t.size}")
    if not np.all(np.isfinite(t)) or np.any((t < 0) | (t > 1)):
        raise ValueError(f"thresholds must lie in [0, 1], got {t.tolist()}")
    return t.astype(np.float32)


def decide(probs: np.ndarray, thresholds: Any) -> np.ndarray:
    """Decisions (n, C) bool: ``probs >= thresholds`` per tag (as :func:`mlc.metrics.report`).

    >>> decide(np.array([[0.5, 0.4]]), [0.5, 0.5]).tolist()
    [[True, False]]
    """
    p = np.asarray(probs, np.float32)
    return p >= np.asarray(thresholds, np.float32)[None, :]


def predicted_tags(probs: np.ndarray, classes: Sequence[str], thresholds: Any) -> list[list[str]]:
    """Names of the tags at or above their threshold, per image."""
    return [[c for c, on in zip(classes, row) if on] for row in decide(probs, thresholds)]


def verdict(truth: Sequence[str], predicted: Sequence[str]) -> str:
    """Plain words comparing true and predicted tags of one image.

    >>> verdict(["dog", "sky"], ["dog", "sky"]), verdict(["cat", "sky"], ["sky", "tree"])
    ('all right', 'missed cat; wrongly added tree')
    """
    missed = [t for t in truth if t not in predicted]
    extra = [t for t in predicted if t not in truth]
    notes = ([f"missed {', '.join(missed)}"] if missed else []) + (
        [f"wrongly added {', '.join(extra)}"] if extra else []
    )
    return "; ".join(notes) or "all right"


def results_table(
    items: Sequence[Item], probs: np.ndarray, classes: Sequence[str], thresholds: Any, *, truth_threshold: float = 0.5
) -> pd.DataFrame:
    """One row per image: ``file``, ``source``, each tag's probability, ``predicted`` tags and,
    for generated scenes, the ``true`` tags and whether the prediction is ``exact``.

    >>> items = sample_items(2, seed=1)
    >>> table = results_table(items, np.full((2, 5), 0.6, np.float32), list(data.resolve_classes(None)), 0.5)
    >>> list(table.columns)
    ['file', 'source', 'predicted', 'true', 'exact', 'dog', 'cat', 'house', 'tree', 'sky']
    """
    names = list(classes)
    t = thresholds_for(names, thresholds) if np.ndim(thresholds) == 0 else np.asarray(thresholds, np.float32)
    tags = predicted_tags(probs, names, t)
    rows = []
    for item, p, predicted in zip(items, probs, tags):
        row: dict[str, Any] = {"file": item.name, "source": item.source}
        row.update({c: round(float(v), 4) for c, v in zip(names, p)})
        row["predicted"] = ", ".join(predicted)
        if item.truth is not None:
            truth = [c for c, v in zip(names, item.truth) if v >= truth_threshold]
            row["true"] = ", ".join(truth)
            row["exact"] = truth == predicted
        else:
            row["true"], row["exact"] = "", None
        rows.append(row)
    columns = ["file", "source", "predicted", "true", "exact", *names]
    return pd.DataFrame(rows, columns=columns)


def validation_scores(run: Run, thresholds: Any) -> dict[str, Any]:
    """What ``thresholds`` give on the run's validation split: micro/macro P, R, F1 and per-tag rows.

    Uses the probabilities saved with the run (no model call).
    """
    if run.val_labels is None or run.val_probabilities is None:
        raise ValueError(f"run {run.label} kept no validation predictions")
    rep = metrics.report(run.val_labels, run.val_probabilities, thresholds, classes=run.config.classes)
    keys = ("micro_precision", "micro_recall", "micro_f1", "macro_precision", "macro_recall", "macro_f1")
    return {**{k: rep[k] for k in keys}, "per_tag": rep["per_tag"]}


def optimal_thresholds(run: Run) -> dict[str, float]:
    """Per-tag thresholds that maximise F1 on the run's validation split (see :func:`mlc.metrics.best_thresholds`)."""
    if run.val_labels is None or run.val_probabilities is None:
        raise ValueError(f"run {run.label} kept no validation predictions")
    best = metrics.best_thresholds(run.val_labels, run.val_probabilities, classes=run.config.classes)
    return {row["tag"]: float(row["threshold"]) for row in best}


# ---------------------------------------------------------------- the Predict page's choices
#: The two ways the Predict page sets thresholds: one value for every tag, or one per tag.
THRESHOLD_CHOICES: dict[str, str] = {"all": "One threshold for all tags", "per_tag": "Per-tag thresholds"}


@dataclass(frozen=True)
class ThresholdSetting:
    """What the threshold controls show: ``mode`` (a key of :data:`THRESHOLD_CHOICES`) with the one
    ``value`` for every tag, or ``per_tag`` values by tag name.

    >>> ThresholdSetting("per_tag", per_tag={"dog": 0.2, "cat": 0.7}).link_text(["dog", "cat"])
    '[0.2,0.7]'
    >>> ThresholdSetting("all", value=0.4).link_text(["dog", "cat"])
    '0.4'
    """

    mode: str = "all"
    value: float = 0.5
    per_tag: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.mode not in THRESHOLD_CHOICES:
            raise ValueError(f"threshold mode must be one of: {', '.join(THRESHOLD_CHOICES)}; got {self.mode!r}")

    def thresholds(self, classes: Sequence[str]) -> np.ndarray:
        """Thresholds (C,) for ``classes`` (see :func:`thresholds_for`)."""
        return thresholds_for(classes, self.value if self.mode == "all" else self.per_tag)

    def link_text(self, classes: Sequence[str]) -> str:
        """The share link's ``thr`` value for this setting (:data:`mlc.share.THRESHOLD_KEY`)."""
        from mlc import share

        values = self.value if self.mode == "all" else [self.per_tag[t] for t in classes]
        return share.threshold_text(values)


def threshold_setting_from_link(raw: Any, classes: Sequence[str]) -> tuple[ThresholdSetting | None, list[str]]:
    """The setting a share link's ``thr`` value asks for (None if it asks for nothing usable), and notes.

    >>> threshold_setting_from_link("[0.1,0.9]", ["dog", "cat"])
    (ThresholdSetting(mode='per_tag', value=0.5, per_tag={'dog': 0.1, 'cat': 0.9}), [])
    >>> threshold_setting_from_link("[0.1]", ["dog", "cat"])[0] is None
    True
    """
    from mlc import share

    shared, notes = share.thresholds_from_query({share.THRESHOLD_KEY: raw}, len(classes))
    if shared is None:
        return None, notes
    if isinstance(shared, float):
        return ThresholdSetting("all", value=shared), notes
    return ThresholdSetting("per_tag", per_tag=dict(zip(classes, shared))), notes


def f1_optimal_setting(run: Run) -> ThresholdSetting:
    """Per-tag thresholds that maximise each tag's validation F1 (:func:`optimal_thresholds`), to 3 decimals."""
    return ThresholdSetting("per_tag", per_tag={t: round(v, 3) for t, v in optimal_thresholds(run).items()})


def runs_with_models(runs: Iterable[Run]) -> list[Run]:
    """The runs that can predict (a run rebuilt without its model cannot)."""
    return [run for run in runs if run.model is not None]


def comparable_runs(run: Run, runs: Iterable[Run]) -> list[Run]:
    """The other runs whose outputs can stand next to ``run``'s: same tags, same image size."""
    cfg = run.config
    return [
        r
        for r in runs
        if r is not run and list(r.config.classes) == list(cfg.classes) and r.config.image_size == cfg.image_size
    ]


# what the page says about the images it shows lives in mlc.predict_words (re-exported: these names lived here)
from mlc.predict_words import (  # noqa: E402, F401
    containing_label,
    domain_note,
    item_labels,
    output_label,
    picker_key,
    true_tags,
)
