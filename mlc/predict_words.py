"""What the Predict page says about the images it shows: their names, true tags, the picker's key, labels.

Plain text from plain data (no TensorFlow, no Streamlit); :mod:`mlc.inference` re-exports every name.

>>> from mlc.inference import Item
>>> item_labels([Item("scene.png", "upload", "k", None)])
['1. scene.png']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlc.inference import Item


def output_label(soft_labels: bool) -> str:
    """What a model's outputs are: probabilities, or predicted strengths for a soft-label (mse) run.

    >>> output_label(False), output_label(True)
    ('probability', 'predicted strength')
    """
    return "predicted strength" if soft_labels else "probability"


def containing_label(tag: str | None, rare: str) -> str:
    """How the "containing" picker names a tag choice (``None`` = any), marking the rarest tag.

    >>> containing_label(None, "cat"), containing_label("cat", "cat"), containing_label("dog", "cat")
    ('any tags', 'cat (rarest)', 'dog')
    """
    if tag is None:
        return "any tags"
    return f"{tag}{' (rarest)' if tag == rare else ''}"


def item_labels(items: Sequence[Item]) -> list[str]:
    """Numbered names of the images for a picker, e.g. ``'1. scene.png'``."""
    return [f"{i + 1}. {item.name}" for i, item in enumerate(items)]


def domain_note(config, uploaded: int) -> str | None:
    """What to say when photos meet a model trained on generated images only (domain shift); None otherwise.

    >>> from mlc.config import RunConfig
    >>> domain_note(RunConfig(), 1).startswith("This model has only ever seen generated scenes")
    True
    >>> domain_note(RunConfig(), 0) is None, domain_note(RunConfig(dataset="own", classes=("a",)), 2) is None
    (True, True)
    """
    if not uploaded or config.dataset == "own":
        return None
    what = {"scenes": "generated scenes", "digits": "handwritten digits composed on plain paper"}[config.dataset]
    return (
        f"This model has only ever seen {what}: on a photo it still answers every tag, but it answers the "
        "question it was trained on (domain shift), so a cat photo can score *dog* high. Sigmoid outputs do not "
        "flag the unknown (see Learn → Sigmoid vs softmax); to tag your own photos, train on your own images "
        "(Train → Data set → Your own images)."
    )


def picker_key(names: Sequence[str]) -> str:
    """A widget key that changes whenever the list of images does, so a picker never keeps a stale label.

    >>> picker_key(["1. a.png"]) == picker_key(["1. a.png"]), picker_key(["1. a.png"]) == picker_key(["1. b.png"])
    (True, False)
    """
    import hashlib

    return "focus_" + hashlib.sha1("\n".join(names).encode()).hexdigest()[:10]


def true_tags(item: Item, classes: Sequence[str], threshold: float = 0.5) -> list[str] | None:
    """The tags present in a generated scene (target >= ``threshold``), or None for an upload."""
    if item.truth is None:
        return None
    return [c for c, v in zip(classes, item.truth) if v >= threshold]
