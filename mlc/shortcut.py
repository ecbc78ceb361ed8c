"""The shortcut lesson: does a tag's detector see the object, or the object's usual companion?

A run trained on the shortcut scenario (:data:`mlc.config.SHORTCUT`: in training
the partner — a tree — accompanies the tag — a house — 95 % of the time, in
validation and test only half the time) is read on its *test* split two ways:

* **recall split by the partner**: of the test scenes holding the tag, those
  *without* the partner and those *with* it, recall = TP / (TP + FN) at the run's
  thresholds. A model that learnt the shortcut finds the tag less often alone.
* **where the tag's saliency lies** (Grad-CAM, :mod:`mlc.saliency`): over test
  scenes holding both, the mean share of the tag's map mass inside the
  *partner's* mask vs inside the tag's *own* mask (``mass_inside``). Masks are
  the generator's (:func:`mlc.datasets.split_masks`), so this is measured, not guessed.

The idea is the "shortcut learning" of Geirhos et al., Nature Machine
Intelligence 2020; a co-occurring context as the shortcut is the setting of
Singh et al., CVPR 2020 ("Don't judge an object by its context").

>>> y = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [0, 1]], np.float32)
>>> p = np.array([[0.9, 0.9], [0.8, 0.9], [0.7, 0.1], [0.2, 0.1], [0.1, 0.9]])
>>> [(r["partner"], r["images"], r["found"], r["recall"]) for r in recall_rows(y, p, 0.5, 0, 1)]
[('without', 2, 1, 0.5), ('with', 2, 2, 1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlc.config import RunConfig


def lesson_config(**changes: Any) -> RunConfig:
    """The exercise's run config (:data:`LESSON`) with ``changes`` (e.g. smaller sizes for a quick try).

    >>> cfg = lesson_config(epochs=1)
    >>> (cfg.cooccur_tag, cfg.cooccur_with, cfg.cooccur_train, cfg.cooccur_test, cfg.epochs)
    ('house', 'tree', 0.95, 0.5, 1)
    """
    settings = dict(prevalence=(0.35, 0.05, 0.3, 0.28, 0.5), epochs=4, train_size=3000, val_size=500, test_size=1000)
    scenario = dict(cooccur_tag="house", cooccur_with="tree", cooccur_train=0.95, cooccur_test=0.5)
    return RunConfig(**{**settings, **scenario, **changes})


def control_of(config: RunConfig) -> RunConfig:
    """The same run without the shortcut (house and tree independent apart from the sky): the comparison."""
    return config.replace(cooccur_tag="", cooccur_with="")


#: The one-click exercise (Learn → Shortcut exercise): house with tree 95 % of the time in training, half
#: the time in validation/test. Tree's prevalence 0.28 <= 0.3 x 0.95 means that in training a tree stands
#: *only* next to a house (a perfect cue); in test (0.5) trees also appear alone (about 19 % of the scenes
#: without a house). About 15-20 s on a 2-core CPU; the gap held over seeds 0-2 (README, "The shortcut lesson").
LESSON = lesson_config()
#: The same run without the shortcut: the comparison.
CONTROL = control_of(LESSON)

RECALL_COLUMNS = ("partner", "images", "found", "recall")
#: Test scenes whose saliency is computed (at most): enough for a stable mean, fast on a CPU.
MAX_SALIENCY_IMAGES = 200


@dataclass(frozen=True)
class Lesson:
    """The lesson's numbers for one run: ``recall`` (:func:`recall_rows`), ``saliency`` (:func:`mass_rows`),
    the tag and partner names and the computed ``sentence``."""

    tag: str
    partner: str
    recall: list[dict[str, Any]]
    saliency: list[dict[str, Any]]
    sentence: str

    @property
    def gap(self) -> float:
        """Recall with the partner minus recall without it (positive: the shortcut shows)."""
        by = {r["partner"]: r["recall"] for r in self.recall}
        return float(by["with"] - by["without"])


def scenario(config: RunConfig) -> tuple[str, str]:
    """``(tag, partner)`` of a config's shortcut scenario; ValueError when it has none."""
    if not config.cooccur_tag:
        raise ValueError("this run has no shortcut scenario (cooccur_tag is empty); train one with --shortcut")
    return config.cooccur_tag, config.cooccur_with


def recall_rows(y: Any, p: Any, thresholds: Any, tag: int, partner: int) -> list[dict[str, Any]]:
    """Recall of tag ``tag`` over the scenes holding it, split by whether tag ``partner`` is there too.

    ``y`` (N, C) targets (present: >= 0.5), ``p`` (N, C) probabilities, ``thresholds``
    one value or (C,). Rows ``{"partner": "without"|"with", "images", "found", "recall"}``,
    recall = found / images (NaN for no images).
    """
    y, p = np.asarray(y) >= 0.5, np.asarray(p, np.float64)
    if y.shape != p.shape or y.ndim != 2:
        raise ValueError(f"y and p must both be (N, C), got {y.shape} and {p.shape}")
    cut = np.broadcast_to(np.asarray(thresholds, np.float64), (y.shape[1],))[tag]
    rows = []
    for label, with_partner in (("without", False), ("with", True)):
        group = y[:, tag] & (y[:, partner] == with_partner)
        found = int((p[group, tag] >= cut).sum())
        n = int(group.sum())
        rows.append({"partner": label, "images": n, "found": found, "recall": round(found / n, 4) if n else np.nan})
    return rows


def mass_rows(maps: Any, masks: Any, tag: int, partner: int) -> list[dict[str, Any]]:
    """Where tag ``tag``'s saliency lies on the scenes holding both tags.

    ``maps`` (N, H, W) the tag's maps, ``masks`` (N, C, H, W) the scenes' object masks.
    Rows ``{"region": "own"|"partner", "images", "mass"}``: the mean share of the map's
    mass inside the tag's own mask / inside the partner's mask (:func:`mlc.saliency.mass_inside`).

    >>> maps = np.zeros((1, 2, 2)); maps[0, 0, 0] = 3.0; maps[0, 1, 1] = 1.0
    >>> masks = np.zeros((1, 2, 2, 2), bool); masks[0, 0, 1, 1] = True; masks[0, 1, 0, 0] = True
    >>> [(r["region"], r["mass"]) for r in mass_rows(maps, masks, 0, 1)]
    [('own', 0.25), ('partner', 0.75)]
    """
    from mlc.saliency import mass_inside

    maps, masks = np.asarray(maps, np.float64), np.asarray(masks, bool)
    both = masks[:, tag].any(axis=(1, 2)) & masks[:, partner].any(axis=(1, 2))
    rows = []
    for region, index in (("own", tag), ("partner", partner)):
        share = mass_inside(maps[both, None], masks[both, index, None], np.ones((int(both.sum()), 1), bool))[0]
        rows.append({"region": region, "images": int(both.sum()), "mass": round(float(share), 4)})
    return rows


def sentence(tag: str, partner: str, recall: list[dict], saliency: list[dict]) -> str:
    """The lesson in one line, from its rows.

    >>> sentence("house", "tree", [{"partner": "without", "recall": 0.52}, {"partner": "with", "recall": 0.93}],
    ...          [{"region": "own", "mass": 0.4}, {"region": "partner", "mass": 0.38}])
    "house recall 0.52 without a tree vs 0.93 with one; 38 % of house's saliency falls on the tree (40 % on the house)"
    """
    by = {r["partner"]: r["recall"] for r in recall}
    text = f"{tag} recall {by['without']:.2f} without a {partner} vs {by['with']:.2f} with one"
    if saliency:
        mass = {r["region"]: r["mass"] for r in saliency}
        text += (
            f"; {100 * mass['partner']:.0f} % of {tag}'s saliency falls on the {partner}"
            f" ({100 * mass['own']:.0f} % on the {tag})"
        )
    return text


def paired_scenes(config: RunConfig, tag: str, partner: str, limit: int = MAX_SALIENCY_IMAGES):
    """Test scenes holding both tags (the first ``limit``): ``(index, x, masks)`` — indices into the test split,
    images (n, S, S, 3) and masks (n, C, S, S) of :func:`mlc.datasets.split_masks`."""
    from mlc.datasets import split_masks

    x, y, masks = split_masks(config, "test")
    t, c = config.classes.index(tag), config.classes.index(partner)
    index = np.flatnonzero((y[:, t] >= 0.5) & (y[:, c] >= 0.5))[:limit]
    return index, x[index], masks[index]


def lesson(run, thresholds: Any = 0.5, saliency: bool = True) -> Lesson:
    """The lesson's numbers for a finished ``run`` (:class:`mlc.runs.Run`) trained on a shortcut scenario —
    or on the same data without it (a control; its ``config`` then names no scenario, so ``LESSON``'s
    tag and partner are read). ``thresholds``: one value or (C,) (e.g. :func:`mlc.evaluation.run_thresholds`).
    ``saliency=False`` skips the Grad-CAM part (``saliency`` rows empty)."""
    config = run.config
    tag, partner = scenario(config) if config.cooccur_tag else scenario(LESSON)
    if run.test_labels is None or run.test_probabilities is None:
        raise ValueError(f"run {run.label} has no test predictions (it did not finish)")
    t, c = config.classes.index(tag), config.classes.index(partner)
    recall = recall_rows(run.test_labels, run.test_probabilities, thresholds, t, c)
    masses: list[dict[str, Any]] = []
    if saliency:
        from mlc.saliency import saliency as maps_of

        _, x, masks = paired_scenes(config, tag, partner)
        maps = maps_of(run.model, x, [t], method="auto")[:, 0]
        masses = mass_rows(maps, masks, t, c)
    return Lesson(tag, partner, recall, masses, sentence(tag, partner, recall, masses))


def overlay(
    image: Any, heat: Any, outline: Any = None, alpha: float = 0.55, colour: tuple[float, float, float] = (0, 1, 1)
) -> np.ndarray:
    """An (S, S, 3) float image in [0, 1] with ``heat`` (S, S) in [0, 1] blended in (red-yellow) and the
    boundary of ``outline`` (S, S) bools drawn in ``colour`` (cyan) — a tag's heat map over a scene with
    another object's mask.

    >>> overlay(np.zeros((4, 4, 3)), np.ones((4, 4)), np.eye(4, dtype=bool)).shape
    (4, 4, 3)
    """
    image, heat = np.asarray(image, np.float64), np.clip(np.asarray(heat, np.float64), 0, 1)
    hot = np.stack([np.ones_like(heat), heat, np.zeros_like(heat)], axis=-1)  # red -> yellow
    out = (1 - alpha * heat[..., None]) * image + alpha * heat[..., None] * hot
    if outline is not None:
        m = np.asarray(outline, bool)
        inner = m.copy()
        inner[1:] &= m[:-1]
        inner[:-1] &= m[1:]
        inner[:, 1:] &= m[:, :-1]
        inner[:, :-1] &= m[:, 1:]
        out[m & ~inner] = colour
    return np.clip(out, 0, 1)


def examples(run, k: int = 4) -> list[dict[str, Any]]:
    """``k`` test scenes holding the tag for the lesson's pictures, half with the partner and half without:
    ``{"image": overlay (S, S, 3), "with_partner", "probability"}`` — the tag's Grad-CAM map blended in, the
    partner's mask outlined in cyan and the tag's own in white (:func:`overlay`)."""
    from mlc.datasets import split_masks
    from mlc.saliency import saliency as maps_of

    config = run.config
    tag, partner = scenario(config) if config.cooccur_tag else scenario(LESSON)
    t, c = config.classes.index(tag), config.classes.index(partner)
    x, y, masks = split_masks(config, "test")
    has = y[:, t] >= 0.5
    with_p = np.flatnonzero(has & (y[:, c] >= 0.5))[: (k + 1) // 2]
    without = np.flatnonzero(has & (y[:, c] < 0.5))[: k // 2]
    index = np.concatenate([with_p, without]).astype(int)
    maps = maps_of(run.model, x[index], [t], method="auto")[:, 0]
    probs = np.asarray(run.test_probabilities)[index, t]
    out = []
    for j, i in enumerate(index):
        picture = overlay(x[i], maps[j], masks[i, c], colour=(0.0, 1.0, 1.0))
        picture = overlay(picture, np.zeros_like(maps[j]), masks[i, t], colour=(1.0, 1.0, 1.0))
        out.append({"image": picture, "with_partner": bool(y[i, c] >= 0.5), "probability": round(float(probs[j]), 3)})
    return out
