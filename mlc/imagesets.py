"""A visitor's own labelled images: a .zip (an upload) or a folder, read into an :class:`ImageSet`.

Two layouts, at the top of the archive (a zip whose entries all sit under one
folder is read from inside that folder):

* a CSV (``labels.csv``, or the only ``.csv``) with a header; the first column is
  the image path relative to the CSV, then either a ``tags`` column of tag names
  separated by spaces, ``,``, ``;`` or ``|`` (empty = no tag), or one column per
  tag holding ``0``/``1`` (or ``true``/``false``; empty is 0);
* one folder per tag (``cat/img1.jpg``): the same file name under several tag
  folders is one image with several tags; ``_none/`` holds images with no tag.

An optional ``split`` column (``train``/``val``/``test``) fixes a row's split; the
others are split 70/15/15 by iterative stratification (:mod:`mlc.stratify`).

Images are decoded by :func:`mlc.images.decode` (the Predict page's defensive
decoder) and *squashed* to S × S: neither cropped nor padded, the aspect is not
kept, as Keras' ``image_dataset_from_directory`` and the Predict page do.

Bad data gives a list, not a crash: every missing, undecodable, duplicated or
unsafe file or row becomes a :class:`DataProblem` and is left out; everything
usable is used. Only what makes the whole set unusable (too large, too many
images, nothing left) raises :class:`ImageSetError`, which carries the problems.
The user's files are never changed and nothing is extracted to disk. A CSV that is
not UTF-8 (with or without a BOM; UTF-16 with a BOM also works) is read as
Windows-1252 with a warning line.

>>> import zipfile
>>> from PIL import Image
>>> png = io.BytesIO(); Image.new("RGB", (9, 5), (255, 0, 0)).save(png, "PNG")
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("labels.csv", "path,tags\\na.png,cat dog\\nb.png,\\nc.png,cat\\n")
...     for name in "ab":
...         z.writestr(name + ".png", png.getvalue())
>>> s = read_image_set(buf.getvalue(), name="pets", image_size=16)
>>> s.tags, s.labels.tolist(), s.images.shape
(('cat', 'dog'), [[1.0, 1.0], [0.0, 0.0]], (2, 16, 16, 3))
>>> problem_lines([p for p in s.problems if p.severity == "error"])
['error: row 4: c.png is not in the archive; row left out']
>>> training_problems(s)
['no validation images; add images or fix the split', 'no test images; add images or fix the split']
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlc import checks, images
from mlc.datasets import SPLITS, DataSplits, positives
from mlc.imagefiles import (
    DataProblem,
    ImageSetError,
    MemberError,
    MiB,
    Reread,
    Store,
    clean_path,
    csv_text,
    decode_uint8,
    list_entries,
    open_source,
    problem_lines,
    too_many,
)
from mlc.label_problems import UNKNOWN_LOSSES, unknown_counts
from mlc.loss_params import UNKNOWN
from mlc.states import ProblemKind, Severity
from mlc.stratify import DEFAULT_FRACTIONS, iterative_split

__all__ = ["DataProblem", "ImageSet", "ImageSetError", "problem_lines", "read_image_set", "training_problems"]

#: Defaults of ``MLC_MAX_DATASET_MB`` and ``MLC_MAX_DATASET_IMAGES`` (:class:`mlc.hosting.HostSettings`).
MAX_MB, MAX_IMAGES = 200, 10_000
#: Fewer positives than this in validation: that tag's validation metrics are noise (a warning).
MIN_VAL_POSITIVES = 10
NONE_FOLDER = "_none"
_IMAGE_EXTENSIONS = tuple("." + e for e in images.ACCEPTED_EXTENSIONS)
_TRUE, _FALSE = ("1", "true", "yes", "1.0"), ("0", "false", "no", "0.0")
#: A 0/1 cell that is not known (partial labels): blank or ``?``; it becomes -1 (a ``tags`` column has none).
_UNKNOWN_CELLS = ("", "?")
_SPLIT_WORDS = dict(train="train", training="train", val="val", valid="val", validation="val", test="test")
_TAG_SEPARATORS = re.compile(r"[\s,;|]+")


@dataclass(eq=False)
class ImageSet:
    """Labelled images: ``images`` uint8 (N, S, S, 3), ``labels`` float32 0/1 (N, C), ``split`` (N,) names.

    ``paths`` (N,) are relative to the top of the archive or folder; ``tags`` (C,);
    ``fingerprint`` is a short sha256 of the image bytes, labels and split;
    ``ignored`` counts non-image files left alone.
    """

    name: str
    tags: tuple[str, ...]
    paths: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    images: np.ndarray
    image_size: int
    fingerprint: str
    problems: list[DataProblem] = field(default_factory=list)
    ignored: int = 0
    _reread: Callable[[int], np.ndarray] | None = field(default=None, repr=False)
    _sized: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.paths)

    def images_at(self, size: int) -> np.ndarray:
        """uint8 (N, size, size, 3): the decoded images, or a fresh decode from the source at another size.

        One other size is kept (a run at 32 px after a preview at 64 px decodes once).
        """
        if size == self.image_size:
            return self.images
        if size not in self._sized:
            if self._reread is None:
                raise ValueError(f"image_size {size}: these images were decoded at {self.image_size} px only")
            self._sized.clear()  # memory: at most one extra size
            self._sized[size] = self._reread(size)
        return self._sized[size]

    def columns(self, classes: Sequence[str]) -> list[int]:
        """Indices of ``classes`` in :attr:`tags` (case-insensitive); ValueError naming an unknown one."""
        lower = [t.lower() for t in self.tags]
        out = []
        for c in classes:
            if str(c).lower() not in lower:
                raise ValueError(f"classes: {c!r} is not a tag of {self.name!r}; its tags are {', '.join(self.tags)}")
            out.append(lower.index(str(c).lower()))
        return out

    def splits(self, config) -> DataSplits:
        """``DataSplits`` for ``config.classes`` at ``config.image_size``: train x uint8, val/test float32 [0, 1]."""
        cols = self.columns(config.classes)
        x = self.images_at(config.image_size)
        parts = []
        for name in SPLITS:
            rows = np.flatnonzero(self.split == name)
            xs = x[rows]
            if name != "train":
                xs = xs.astype(np.float32)
                xs /= np.float32(255)  # in place: one float copy per split
            parts.append((xs, self.labels[np.ix_(rows, cols)]))
        return DataSplits(*parts, classes=tuple(config.classes), dataset="own", problems=tuple(self.problems))

    def prevalence(self) -> tuple[float, ...]:
        """Fraction of all images with each tag (an unknown cell counts as absent)."""
        return (
            tuple(round(float(v), 4) for v in (self.labels >= 0.5).mean(axis=0))
            if len(self)
            else (0.0,) * len(self.tags)
        )

    def config_for(self, base):
        """``base`` (a :class:`mlc.config.RunConfig`) made for these images: tags, prevalence, split sizes, name.

        ``weights`` go back to 1 per tag; ValueError if a split is empty.
        """
        sizes = {name: int((self.split == name).sum()) for name in SPLITS}
        empty = [line for line in training_problems(self) if line.endswith("fix the split")]
        if empty:  # RunConfig needs at least one image in each split; say it in these words
            raise ValueError(f"{self.name}: {'; '.join(empty)}")
        return base.replace(
            dataset="own",
            classes=self.tags,
            prevalence=self.prevalence(),
            weights=None,
            train_size=sizes["train"],
            val_size=sizes["val"],
            test_size=sizes["test"],
            data_name=self.name[:200],
            data_fingerprint=self.fingerprint,
        )

    def sample(self, n: int, split: str = "test", seed: int = 0) -> tuple[np.ndarray, list[list[str]]]:
        """Up to ``n`` images of ``split`` at random (seeded): uint8 (n, S, S, 3) and each image's tag names."""
        rows = np.flatnonzero(self.split == split)
        rows = np.sort(np.random.default_rng(seed).permutation(rows)[: max(0, int(n))])
        tags = [[t for t, v in zip(self.tags, self.labels[i]) if v >= 0.5] for i in rows]
        return self.images[rows], tags


def training_problems(image_set: ImageSet, classes: Sequence[str] | None = None, loss: str | None = None) -> list[str]:
    """Why these images cannot train a run on ``classes`` (default: every tag), one line each; empty = fine.

    ``loss``: a loss that refuses unknown targets (:data:`mlc.label_problems.UNKNOWN_LOSSES`) cannot train
    on tags with unknown (blank or ``?``) training cells.
    """
    from mlc.data import MAX_CLASSES

    classes = list(image_set.tags if classes is None else classes)
    try:
        cols = image_set.columns(classes)
    except ValueError as exc:
        return [str(exc)]
    lines = []
    if not classes:
        lines.append("choose at least one tag to train on")
    if len(classes) > MAX_CLASSES:
        lines.append(f"{len(classes)} tags; a run trains on at most {MAX_CLASSES}: choose fewer")
    for name, words in zip(SPLITS, ("training", "validation", "test")):
        if not (image_set.split == name).any():
            lines.append(f"no {words} images; add images or fix the split")
    train = positives(image_set.labels[image_set.split == "train"])
    empty = [classes[k] for k, c in enumerate(cols) if train[c] == 0]
    if empty:
        lines.append(f"no training image has the tag {', '.join(empty)}: add some, or leave the tag out")
    if loss is not None and loss not in UNKNOWN_LOSSES:
        unknown = unknown_counts(image_set.labels[image_set.split == "train"])
        holes = [classes[k] for k, c in enumerate(cols) if unknown[c]]
        if holes:
            lines.append(
                f"loss {loss!r} cannot train on unknown targets (blank or ? cells of {', '.join(holes)}); choose "
                "bce, zlpr or two_way, or fill the cells in"
            )
    return lines


def read_image_set(
    source: Any,
    *,
    name: str | None = None,
    image_size: int = 64,
    max_mb: int = MAX_MB,
    max_images: int = MAX_IMAGES,
    seed: int = 0,
) -> ImageSet:
    """Read a .zip path, a folder path or zip bytes (an upload) into an :class:`ImageSet` (see the module doc).

    ``max_mb`` bounds the archive and the bytes read from it (counted while
    reading: a zip's declared sizes can lie); more than ``max_images`` images is
    refused. Raises :class:`ImageSetError` when nothing usable is left.
    """
    image_size = checks.whole(image_size, "image_size", 1, images.MAX_SIZE)
    limit = checks.whole(max_mb, "max_mb", 1) * MiB
    max_images = checks.whole(max_images, "max_images", 1)
    problems: list[DataProblem] = []
    opener, default_name = open_source(source, limit)
    store = opener()
    try:
        entries, ignored = list_entries(store, problems, limit, max_images)
        csvs = [e for e in entries if "/" not in e and e.lower().endswith(".csv")]
        if csvs:
            rows, tags, mentioned = _read_csv(store, csvs, problems)
            _unlisted(entries, mentioned, problems)
        else:
            rows, tags = _read_folders(store, entries, problems)
        ignored += sum(1 for e in entries if not e.lower().endswith(_IMAGE_EXTENSIONS) and e not in csvs)
        if len(rows) > max_images:
            raise ImageSetError([too_many(len(rows), max_images)])
        rows, pixels, digests = _decode(store, rows, image_size, problems)
    finally:
        store.close()
    if not rows or not tags:
        what = "no usable labelled image was found" if not rows else "no image has a tag: name at least one"
        problems.append(DataProblem(ProblemKind.EMPTY, "", what))
        raise ImageSetError(problems)
    labels = np.array([[_cell(r, t) for t in tags] for r in rows], np.float32)
    split = _split(rows, labels, seed)
    paths = np.array([r.path for r in rows])
    fingerprint = _fingerprint(paths, digests, tags, labels, split)
    _few_positives(tags, labels, split, problems)
    reread = Reread(opener, store.top, store.raw, tuple(r.member for r in rows), tuple(digests))
    return ImageSet(
        name=name or default_name,
        tags=tags,
        paths=paths,
        labels=labels,
        split=split,
        images=pixels,
        image_size=image_size,
        fingerprint=fingerprint,
        problems=problems,
        ignored=ignored,
        _reread=reread,
    )


def _cell(row: _Row, tag: str) -> float:
    """One label: 1 present, 0 absent, -1 unknown (a blank or ``?`` 0/1 cell)."""
    return 1.0 if tag in row.tags else UNKNOWN if tag in row.unknown else 0.0


# ---------------------------------------------------------------- layouts
@dataclass
class _Row:
    path: str
    member: str
    where: str
    tags: set[str]
    split: str = ""
    unknown: set[str] = field(default_factory=set)  # tags whose cell was blank or "?" (-1)


def _read_csv(store: Store, csvs: list[str], problems: list[DataProblem]) -> tuple[list[_Row], tuple[str, ...], set]:
    """The rows of the CSV that can be used, the tags, and every path the CSV names (used or not)."""
    chosen = [c for c in csvs if c.lower() == "labels.csv"] or csvs
    if len(chosen) > 1:
        raise ImageSetError(
            [DataProblem(ProblemKind.LAYOUT, "", f"several CSV files ({', '.join(sorted(csvs))}); name one labels.csv")]
        )
    where = chosen[0]
    try:
        text = csv_text(store.read(where), where, problems)
    except MemberError as exc:
        raise ImageSetError([DataProblem(ProblemKind.LAYOUT, where, f"the CSV {exc}")]) from None
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    try:
        table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ImageSetError([DataProblem(ProblemKind.LAYOUT, where, f"not a readable CSV ({exc})")]) from None
    if not table or len(table[0]) < 2:
        raise ImageSetError(
            [
                DataProblem(
                    ProblemKind.LAYOUT, where, "needs a header: the image path, then a tags column or 0/1 columns"
                )
            ]
        )
    header = [h.strip() for h in table[0]]
    lower = [h.lower() for h in header]
    split_col = lower.index("split") if "split" in lower[1:] else None
    tag_col = lower.index("tags") if "tags" in lower[1:] else None
    # a column without a name (a spreadsheet's trailing comma) is no tag
    tag_cols = [] if tag_col is not None else [k for k in range(1, len(header)) if k != split_col and header[k]]
    names: dict[str, str] = {}  # lower -> first spelling
    for k in tag_cols:
        names.setdefault(header[k].lower(), header[k])
    rows: list[_Row] = []
    seen: dict[str, str] = {}
    mentioned: set[str | None] = set()
    for number, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if tag_col == len(header) - 1 and len(cells) > len(header):  # a.png,cat,dog: unquoted tags
            cells = cells[:tag_col] + [",".join(cells[tag_col:])]
        cells = cells + [""] * (len(header) - len(cells))
        at = f"row {number}"

        def problem(kind, message, severity=Severity.ERROR, at=at):
            problems.append(DataProblem(kind, at, message, severity))

        path = clean_path(cells[0].strip())
        mentioned.add(path)
        if not cells[0].strip():
            problem(ProblemKind.MISSING_IMAGE, "no image path in the first column; row left out")
            continue
        if path is None:
            problem(ProblemKind.UNSAFE_PATH, f"{cells[0].strip()!r} leaves the archive; row left out")
            continue
        if not store.has(path):
            problem(ProblemKind.MISSING_IMAGE, f"{path} is not in the archive; row left out")
            continue
        if path in seen:
            problem(ProblemKind.DUPLICATE_PATH, f"{path} is listed again (first in {seen[path]}); row left out")
            continue
        unknown: set[str] = set()
        if tag_col is not None:
            found = [t for t in _TAG_SEPARATORS.split(cells[tag_col].strip()) if t]
            tags = {names.setdefault(t.lower(), t) for t in found}  # tags in order of first appearance
        else:
            tags, bad = set(), []
            for k in tag_cols:
                value = cells[k].strip().lower()
                if value in _TRUE:
                    tags.add(names[header[k].lower()])
                elif value in _UNKNOWN_CELLS:
                    unknown.add(names[header[k].lower()])
                elif value not in _FALSE:
                    bad.append(f"{header[k]}={cells[k].strip()!r}")
            if bad:
                problem(
                    ProblemKind.UNKNOWN_VALUE, f"{', '.join(bad)}: a tag column holds 0/1 or true/false; row left out"
                )
                continue
        split = ""
        if split_col is not None and cells[split_col].strip():
            split = _SPLIT_WORDS.get(cells[split_col].strip().lower(), "")
            if not split:
                problem(
                    ProblemKind.UNKNOWN_VALUE,
                    f"split={cells[split_col].strip()!r} is not train, val or test; split chosen for it",
                    Severity.WARNING,
                )
        seen[path] = at
        rows.append(_Row(path, path, at, tags, split, unknown))
    return rows, tuple(names.values()), mentioned


def _unlisted(entries: list[str], mentioned: set, problems: list[DataProblem]) -> None:
    """One warning for the images the CSV does not name (they have no labels, so they are left out)."""
    extra = [e for e in entries if e.lower().endswith(_IMAGE_EXTENSIONS) and e not in mentioned]
    if extra:
        shown = ", ".join(extra[:3]) + (", …" if len(extra) > 3 else "")
        problems.append(
            DataProblem(
                ProblemKind.LAYOUT,
                "",
                f"{len(extra)} image(s) not listed in the CSV ({shown}); left out",
                Severity.WARNING,
            )
        )


def _read_folders(store: Store, entries: list[str], problems) -> tuple[list[_Row], tuple[str, ...]]:
    """One folder per tag; a file name under several tag folders is one image (the first copy is read)."""
    by_name: dict[str, _Row] = {}
    tags: dict[str, str] = {}  # lower -> first spelling
    unlabelled: set[str] = set()
    for entry in sorted(entries):
        if not entry.lower().endswith(_IMAGE_EXTENSIONS):
            continue
        if "/" not in entry:
            problems.append(
                DataProblem(ProblemKind.LAYOUT, entry, f"not in a tag folder (use {NONE_FOLDER}/ for no tag); left out")
            )
            continue
        folder, rest = entry.split("/", 1)
        row = by_name.setdefault(rest, _Row(rest, entry, entry, set()))
        if folder == NONE_FOLDER:
            unlabelled.add(rest)
        else:
            row.tags.add(tags.setdefault(folder.lower(), folder))
    for rest in sorted(unlabelled):
        if by_name[rest].tags:
            problems.append(
                DataProblem(
                    ProblemKind.DUPLICATE_PATH,
                    f"{NONE_FOLDER}/{rest}",
                    "also under a tag folder: the image keeps its tags",
                    Severity.WARNING,
                )
            )
    return list(by_name.values()), tuple(sorted(tags.values(), key=str.lower))


# ---------------------------------------------------------------- decoding, split, fingerprint
def _decode(store: Store, rows: list[_Row], size: int, problems) -> tuple[list[_Row], np.ndarray, list[str]]:
    kept, digests = [], []
    out = np.empty((len(rows), size, size, 3), np.uint8)
    for row in rows:
        try:
            data = store.read(row.member, most=images.MAX_BYTES)
            out[len(kept)] = decode_uint8(data, size)
        except images.ImageDecodeError as exc:
            problems.append(DataProblem(ProblemKind.UNREADABLE_IMAGE, row.where, f"{row.path}: {exc}; left out"))
            continue
        except MemberError as exc:
            kind = ProblemKind.UNSAFE_PATH if exc.unsafe else ProblemKind.UNREADABLE_IMAGE
            problems.append(DataProblem(kind, row.where, f"{row.path} {exc}; left out"))
            continue
        kept.append(row)
        digests.append(hashlib.sha256(data).hexdigest())
    return kept, out[: len(kept)].copy() if len(kept) < len(rows) else out, digests


def _split(rows: list[_Row], labels: np.ndarray, seed: int) -> np.ndarray:
    """Given splits kept; the rest by iterative stratification (70/15/15), seeded."""
    split = np.array([r.split for r in rows], dtype="<U5")
    free = np.flatnonzero(split == "")
    if free.size:
        split[free] = np.array(SPLITS)[iterative_split(labels[free], DEFAULT_FRACTIONS, seed)]
    return split


def _fingerprint(paths, digests, tags, labels, split) -> str:
    """16 hex digits of sha256 over each image's bytes, tags and split, by path (the container does not matter)."""
    h = hashlib.sha256()
    h.update("\x1f".join(tags).encode())
    for k in np.argsort(paths, kind="stable"):
        on = ",".join(t for t, v in zip(tags, labels[k]) if v >= 0.5)
        h.update(f"\n{digests[k]}|{on}|{split[k]}".encode())
    return h.hexdigest()[:16]


def _few_positives(tags, labels, split, problems) -> None:
    val = positives(labels[split == "val"])
    for tag, n in zip(tags, val):
        if n < MIN_VAL_POSITIVES:
            problems.append(
                DataProblem(
                    ProblemKind.FEW_POSITIVES,
                    tag,
                    f"only {n} validation image(s) have this tag (fewer than {MIN_VAL_POSITIVES}): "
                    "its validation metrics are noise",
                    Severity.WARNING,
                )
            )
