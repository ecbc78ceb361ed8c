"""Per-run saliency scores: does each tag look where its object is, and how much better than chance?

For a trained run over a bounded sample of its held-out test split (the first
:data:`SAMPLE` = 200 test images, regenerated with their object masks by
:func:`mlc.datasets.split_masks`), per tag and over the images where the tag is
present (its mask is not empty):

* ``pointing_game`` — share of images whose map maximum falls inside the tag's mask
  (Zhang et al., ECCV 2016, :func:`mlc.saliency.pointing_game`);
* ``mass_inside`` — mean share of the map's mass inside the mask
  (:func:`mlc.saliency.mass_inside`);
* ``baseline_pointing_game`` / ``baseline_mass_inside`` — the same scores for uniform
  random maps (seeded), i.e. roughly the mask's share of the image: what "chance" is;
* ``lift`` = ``pointing_game / baseline_pointing_game`` (NaN where the baseline is 0).

Maps come from :func:`mlc.saliency.saliency` with ``method="auto"``: Grad-CAM where the
model has a spatial layer, occlusion otherwise. :func:`score_maps` and :func:`score` take
explicit arrays (any images, masks and presence, e.g. a shortcut lesson's test scenes), and
:func:`score_run` a run; :func:`run_saliency` is the JSON-ready form (``rows`` None with a
``reason`` when the run's data set has no masks).

>>> import numpy as np
>>> masks = np.zeros((2, 1, 4, 4), bool); masks[:, 0, :2, :2] = True
>>> maps = masks.astype(float)  # looks exactly at the object
>>> row = score_maps(maps, masks, tags=["box"])[0]
>>> row["tag"], row["images"], row["pointing_game"], row["mass_inside"]
('box', 2, 1.0, 1.0)
>>> 0.0 <= row["baseline_pointing_game"] <= 1.0
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlc import saliency as sal

#: Test images scored per run (the first ones of the test split).
SAMPLE = 200
#: Images per saliency call (bounds memory: Grad-CAM keeps every tag's gradient of a batch).
CHUNK = 50
#: The seed of the random-map baseline.
BASELINE_SEED = 0
#: The fields of one row, in order.
FIELDS = (
    "tag",
    "images",
    "pointing_game",
    "mass_inside",
    "baseline_pointing_game",
    "baseline_mass_inside",
    "lift",
)


def _float(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def score_maps(
    maps: Any, masks: Any, present: Any = None, tags: Sequence[str] | None = None, seed: int = BASELINE_SEED
) -> list[dict[str, Any]]:
    """One row per tag (:data:`FIELDS`) from maps and masks (N, T, H, W) and ``present`` (N, T) bools
    (default: the mask is not empty); scores are None for a tag present in no image."""
    maps, masks = np.asarray(maps, np.float64), np.asarray(masks, bool)
    present = masks.any(axis=(-2, -1)) if present is None else np.asarray(present, bool)
    n, t = maps.shape[:2]
    tags = list(tags) if tags is not None else [str(k) for k in range(t)]
    if len(tags) != t:
        raise ValueError(f"tags: one name per map tag ({t}), got {len(tags)}")
    random_maps = np.random.default_rng(seed).random(maps.shape)
    pg, mass = sal.pointing_game(maps, masks, present), sal.mass_inside(maps, masks, present)
    base_pg, base_mass = sal.pointing_game(random_maps, masks, present), sal.mass_inside(random_maps, masks, present)
    rows = []
    for k, tag in enumerate(tags):
        lift = pg[k] / base_pg[k] if base_pg[k] > 0 else np.nan
        rows.append(
            {
                "tag": tag,
                "images": int(present[:, k].sum()),
                "pointing_game": _float(pg[k]),
                "mass_inside": _float(mass[k]),
                "baseline_pointing_game": _float(base_pg[k]),
                "baseline_mass_inside": _float(base_mass[k]),
                "lift": _float(lift),
            }
        )
    return rows


def method_for(model) -> str:
    """The method ``auto`` picks for ``model``: ``gradcam`` with a spatial layer, else ``occlusion``."""
    return "gradcam" if sal.spatial_layer(model) is not None else "occlusion"


def score(
    model, x: Any, masks: Any, present: Any = None, tags: Sequence[str] | None = None, seed: int = BASELINE_SEED
) -> list[dict[str, Any]]:
    """Rows as :func:`score_maps` for a logits ``model`` on images ``x`` (N, H, W, 3) against ``masks``
    (N, T, H, W), all T tags, maps by ``saliency(..., method="auto")`` in chunks of :data:`CHUNK`."""
    x = np.asarray(x)
    masks = np.asarray(masks, bool)
    if len(x) != len(masks):
        raise ValueError(f"x and masks: one mask set per image, got {len(x)} images and {len(masks)} mask sets")
    method = method_for(model)
    maps = np.concatenate(
        [sal.saliency(model, x[i : i + CHUNK], method=method) for i in range(0, len(x), CHUNK)], axis=0
    )
    return score_maps(maps, masks, present, tags, seed)


def score_run(run, sample: int = SAMPLE) -> dict[str, Any]:
    """``{"method", "images", "split", "rows"}`` for a finished run over its first ``sample`` test images.

    ValueError when the run's data set has no masks (own images) or the run has no model.
    """
    from mlc.data import CHUNK as SCENE_CHUNK
    from mlc.datasets import masks_problem, split_masks
    from mlc.digits import CHUNK as DIGIT_CHUNK

    problem = masks_problem(run.config)
    if problem:
        raise ValueError(problem)
    if run.model is None:
        raise ValueError("the run has no model to explain (it did not finish)")
    # a generated split is drawn in chunks of its own seeds: whole chunks are the split's first images,
    # so only those are made again (not a 100,000-image split's masks)
    chunk = math.lcm(SCENE_CHUNK, DIGIT_CHUNK)
    whole_chunks = -(-max(sample, 1) // chunk) * chunk
    config = run.config.replace(test_size=min(run.config.test_size, whole_chunks))
    x, _, masks = split_masks(config, "test")
    x, masks = x[:sample], masks[:sample]
    return {
        "method": method_for(run.model),
        "images": int(len(x)),
        "split": "test",
        "rows": score(run.model, x, masks, tags=list(run.config.classes)) if len(x) else [],
    }


def run_saliency(run, sample: int = SAMPLE) -> dict[str, Any]:
    """:func:`score_run`, or ``{"rows": None, "reason": ...}`` when the run cannot be scored (JSON-ready)."""
    try:
        return score_run(run, sample)
    except ValueError as exc:
        return {"method": None, "images": 0, "split": "test", "rows": None, "reason": str(exc)}


#: A tag "looks at its object well above chance" when its pointing game is at least this many times the baseline's.
ABOVE_CHANCE = 2.0


def above_chance(rows: Sequence[dict[str, Any]], factor: float = ABOVE_CHANCE) -> tuple[list[str], list[str]]:
    """(tags whose pointing game is > 0 and >= ``factor`` × the random baseline's, tags scored at all).

    A pointing game of 0 is never above chance, even when the random map's is 0 too.

    >>> above_chance([{"tag": "a", "pointing_game": 0.8, "baseline_pointing_game": 0.1},
    ...               {"tag": "b", "pointing_game": 0.1, "baseline_pointing_game": 0.1},
    ...               {"tag": "c", "pointing_game": None, "baseline_pointing_game": None},
    ...               {"tag": "d", "pointing_game": 0.0, "baseline_pointing_game": 0.0}])
    (['a'], ['a', 'b', 'd'])
    """
    scored = [r for r in rows if r["pointing_game"] is not None]
    above = [
        r["tag"]
        for r in scored
        if r["pointing_game"] > 0 and r["pointing_game"] >= factor * (r["baseline_pointing_game"] or 0.0)
    ]
    return above, [r["tag"] for r in scored]


#: What the "× random" column shows where the ratio is undefined (the random map never hit the mask).
NO_LIFT = "—"


def lift_text(lift: float | None) -> str:
    """The "× random" cell: the ratio with two decimals, or :data:`NO_LIFT` when it is undefined.

    >>> lift_text(3.14159), lift_text(None), lift_text(float("nan"))
    ('3.14', '—', '—')
    """
    return NO_LIFT if lift is None or np.isnan(lift) else f"{lift:.2f}"


def lift_note(rows: Sequence[dict[str, Any]]) -> str | None:
    """Why a "× random" cell shows :data:`NO_LIFT` (one sentence), or None when every scored tag has a ratio.

    >>> lift_note([{"tag": "sky", "images": 4, "lift": None}])
    '—: the random map never hit the mask of sky, so the ratio is undefined (its pointing game is 0).'
    >>> lift_note([{"tag": "a", "images": 4, "lift": 2.0}, {"tag": "b", "images": 0, "lift": None}]) is None
    True
    """
    tags = [r["tag"] for r in rows if r.get("images") and r.get("lift") is None]
    if not tags:
        return None
    return (
        f"{NO_LIFT}: the random map never hit the mask of {', '.join(tags)}, so the ratio is undefined "
        "(its pointing game is 0)."
    )


def comparison_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Long rows ``run`` + :data:`FIELDS` from ``{run label: score_run result}`` (runs without rows skipped).

    >>> comparison_rows({"#1 bce": {"rows": [{"tag": "a", "pointing_game": 0.5}]}, "#2": {"rows": None}})
    [{'run': '#1 bce', 'tag': 'a', 'pointing_game': 0.5}]
    """
    return [{"run": label, **row} for label, result in results.items() for row in result.get("rows") or []]


def split_index(source: str, key: str) -> int | None:
    """The test-split index of a Predict item drawn from the run's test images (``source == "test"``, its
    key ending in ``:<index>``, see :func:`mlc.inference.held_out_items`), else None.

    >>> split_index("test", "test:scenes:0:64:['a']:17"), split_index("upload", "ab12")
    (17, None)
    """
    tail = key.rsplit(":", 1)[-1]
    return int(tail) if source == "test" and tail.isdigit() else None
