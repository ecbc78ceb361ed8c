"""Fresh images for Predict: new scenes (or digit canvases) of a run's generated data set, with their masks.

The run's test split is what Predict draws by default; for a generated data set it can
also draw images no split holds: :func:`fresh_split` makes :data:`FRESH_POOL` of them
from a seed range of their own (:data:`FRESH_SEED_OFFSET` past the run's seed, the
visitor's seed added), the way the test split is made (a shortcut scenario's test
co-occurrence, digits from the test pool of handwriting), *with* the object masks.
:func:`fresh_items` turns a draw into Predict items (``source == "sample"``) whose key
names the seed and index, so :func:`fresh_index` finds each item's mask again and its
heat maps get the true outline, as the test images' do.

>>> from mlc.config import RunConfig
>>> cfg = RunConfig(image_size=32)
>>> x, y, masks = fresh_split(cfg, seed=3)
>>> x.shape, masks.shape
((256, 32, 32, 3), (256, 5, 32, 32))
>>> items = fresh_items(cfg, x, y, 2, seed=3)
>>> [(it.source, fresh_index(it.source, it.key)) for it in items]
[('sample', (3, 114)), ('sample', (3, 123))]
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mlc import checks

#: Images made per fresh draw (one generator chunk); the gallery picks among them.
FRESH_POOL = 256
#: Fresh images' seeds start here past the run's seed (train: +0, val: +1,000,003, test: +2,000,006).
FRESH_SEED_OFFSET = 3_000_009
#: Data sets whose fresh images can be made (their generator knows where each tag is).
FRESH_DATASETS = ("scenes", "digits")


def fresh_split(config, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:data:`FRESH_POOL` new images of the run's data set: x float32 (n, S, S, 3), y (n, C), masks (n, C, S, S).

    Same arguments -> the same images. ValueError for a data set that cannot be generated (own images).
    """
    if config.dataset not in FRESH_DATASETS:
        raise ValueError(f"dataset: fresh images are made for {', '.join(FRESH_DATASETS)}, got {config.dataset!r}")
    seed = checks.whole(seed, "seed", 0, 2**31 - 1)
    at = (config.seed + FRESH_SEED_OFFSET + seed) % 2**32
    common = dict(classes=config.classes, prevalence=config.prevalence, image_size=config.image_size, seed=at)
    if config.dataset == "digits":
        from mlc.digits import make_digits

        return make_digits(FRESH_POOL, split="test", masks=True, **common)
    from mlc.config import cooccur
    from mlc.data import make_dataset

    return make_dataset(
        FRESH_POOL, soft_labels=config.soft_labels, masks=True, cooccur=cooccur(config, "test"), **common
    )


def fresh_items(config, x: np.ndarray, y: np.ndarray, n: int, *, seed: int = 0, containing: str | None = None):
    """``n`` of :func:`fresh_split`'s images (seed ``seed``) as Predict items, drawn as
    :func:`mlc.inference.held_out_items` draws test images; named "new scene <i>", keyed ``fresh:...:<seed>:<i>``."""
    from mlc.inference import held_out_items

    where = f"{config.dataset}:{config.seed}:{config.image_size}:{list(config.classes)}:{config.prevalence}"
    what = "new canvas" if config.dataset == "digits" else "new scene"
    out = []
    for item in held_out_items(config, x, y, n, seed=seed, containing=containing):
        i = int(item.key.rsplit(":", 1)[1])
        out.append(dataclasses.replace(item, name=f"{what} {i}", source="sample", key=f"fresh:{where}:{seed}:{i}"))
    return out


def fresh_index(source: str, key: str) -> tuple[int, int] | None:
    """``(seed, index)`` of a :func:`fresh_items` item in its :func:`fresh_split`, else None.

    >>> fresh_index("sample", "fresh:scenes:0:64:['a']:None:7:12"), fresh_index("test", "test:x:3")
    ((7, 12), None)
    """
    if source != "sample" or not key.startswith("fresh:"):
        return None
    seed, index = key.rsplit(":", 2)[1:]
    return (int(seed), int(index)) if seed.isdigit() and index.isdigit() else None
