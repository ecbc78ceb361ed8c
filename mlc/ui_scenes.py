"""Scenes on a page: sample strips of generated scenes, upscaled crisp, in a captioned grid.

Streamlit glue (re-exported by :mod:`mlc.ui`, where the pages import it from).

>>> caption(tags_of([1.0, 0.0, 0.7], ["dog", "cat", "sky"]))
'dog · sky'
>>> upscale(np.zeros((2, 2, 3), np.uint8), 3).shape
(6, 6, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from mlc.data import make_dataset, resolve_classes

#: Scenes are 64x64; drawn at this factor so each pixel stays a crisp square
#: (the browser would blur a small image it has to stretch).
UPSCALE = 3
#: Scenes per row of a strip: a fixed grid, so no lone scene wraps onto a row of its own.
PER_ROW = 5
#: Most scenes one strip may hold: bounds the work a visitor can ask for.
MAX_STRIP = 48
#: Caption of a scene without any tag (it happens: tags are drawn independently).
NO_TAGS = "(no tags)"


def tags_of(y_row: Sequence[float], classes: Sequence[str], threshold: float = 0.5) -> list[str]:
    """Names of the tags whose target (or probability) reaches ``threshold``.

    >>> tags_of([0.5, 0.49], ["tree", "sky"])
    ['tree']
    """
    return [name for name, value in zip(classes, y_row) if value >= threshold]


def caption(tags: Sequence[str]) -> str:
    """One scene's caption: its tags joined with a dot, or :data:`NO_TAGS`.

    >>> caption(["dog", "sky"]), caption([])
    ('dog · sky', '(no tags)')
    """
    return " · ".join(tags) if tags else NO_TAGS


def upscale(image: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    """Nearest-neighbour enlargement of (..., H, W, C) images by an integer ``factor``.

    >>> upscale(np.arange(4).reshape(2, 2, 1), 2)[..., 0].tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    """
    return image.repeat(factor, axis=-3).repeat(factor, axis=-2)


# Global cache, shared by every visitor: the arrays are returned as copies by
# st.cache_data, and everyone starts on seed 0, so the first strip is computed once
# per server. max_entries bounds memory when many visitors click "new samples".
@st.cache_data(max_entries=64, show_spinner=False)
def sample_strip(
    n: int = 10,
    seed: int = 0,
    classes: tuple[str, ...] | None = None,
    prevalence: tuple[float, ...] | None = None,
    soft_labels: bool = False,
) -> tuple[np.ndarray, list[list[str]]]:
    """``n`` generated scenes as uint8 RGB, upscaled for display, with their true tags.

    By default hard (multi-hot) labels at the default prevalence, so the strip
    shows what a training batch looks like; with ``soft_labels`` each tag is
    captioned with its strength, e.g. ``sky 0.62``.
    """
    if not 1 <= n <= MAX_STRIP:
        raise ValueError(f"a strip holds 1 to {MAX_STRIP} scenes, got {n}")
    names = resolve_classes(classes)
    x, y = make_dataset(n, classes=names, prevalence=prevalence, soft_labels=soft_labels, seed=seed)
    images = upscale(np.round(x * 255.0).astype(np.uint8))
    if soft_labels:
        return images, [[f"{c} {v:.2f}" for c, v in zip(names, row) if v > 0] for row in y]
    return images, [tags_of(row, names) for row in y]


def show_scenes(images: Sequence[np.ndarray], tags: Sequence[Sequence[str]], per_row: int = PER_ROW) -> None:
    """Draw scenes in a grid of ``per_row`` columns with their tags as captions.

    ``width="content"`` keeps the upscaled pixels 1:1 instead of letting the
    browser stretch (and blur) them; on a narrow screen the columns stack.
    """
    for start in range(0, len(images), per_row):
        columns = st.columns(per_row)
        for column, image, names in zip(columns, images[start : start + per_row], tags[start : start + per_row]):
            column.image(image, caption=caption(names), width="content")
