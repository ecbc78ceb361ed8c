"""The data sections of the exported plain-Keras script (:mod:`mlc.export`), one per data set.

Every entry of :data:`DATA` is code that, after the script's settings, defines
``load_data(args) -> ((x_train, y_train), (x_val, y_val))`` with images float32
(N, IMAGE_SIZE, IMAGE_SIZE, 3) in [0, 1] and targets (N, len(CLASSES)):

* ``scenes`` — the compact NumPy scene generator (one coloured shape per tag);
* ``digits`` — a simplified generator of scikit-learn's bundled digits, 1–4 per
  canvas, from disjoint pools of source digits for train and validation;
* ``own`` — reads the visitor's labelled images with Pillow (a labels CSV, a
  folder or a .zip; either layout of :mod:`mlc.imagesets`), squashed to
  IMAGE_SIZE × IMAGE_SIZE RGB as mlc does.

:data:`DATA_IMPORTS` lists the extra imports each needs; nothing here imports ``mlc``.

>>> sorted(DATA) == sorted(DATA_IMPORTS) == ['digits', 'own', 'scenes']
True
>>> "def load_data(args):" in DATA["own"]
True
"""

from __future__ import annotations

#: Data set -> import lines its section needs beyond :data:`mlc.export.IMPORTS`.
DATA_IMPORTS: dict[str, str] = {
    "scenes": "import colorsys\n",
    "digits": "from sklearn.datasets import load_digits\n",
    "own": "import csv\nimport io\nimport re\nimport zipfile\nfrom pathlib import Path\n\n"
    "from PIL import Image, ImageOps\n",
}

#: Data set -> the dependencies the header's "Run it with" line names.
NEEDS: dict[str, str] = {"scenes": "numpy", "digits": "numpy, scikit-learn", "own": "numpy, pillow"}

#: Data set -> the header's sentence on where the data comes from (comment lines).
ABOUT: dict[str, str] = {
    "scenes": (
        "# The scenes come from the small generator below (one coloured shape per tag), a simpler\n"
        "# stand-in for Multi-label Lab's pictures, so scores differ from the app's."
    ),
    "digits": (
        "# The canvases come from the simplified digits generator below (scikit-learn's bundled 8x8\n"
        "# handwritten digits, 1-4 per canvas), not Multi-label Lab's own, so scores differ from the app's."
    ),
    "own": (
        "# It reads your own labelled images (the CSV, folder or .zip given as the first argument) with\n"
        "# Pillow, squashed to IMAGE_SIZE x IMAGE_SIZE RGB like the app. Without a split column the split\n"
        "# is a seeded random one, not the app's iterative stratification, so scores differ a little."
    ),
}

_SCENES = '''\
# One coloured shape per tag, drawn at a random place and size on a noisy background.
# A tag is present with its prevalence; with soft labels the target is the shape's opacity.
SHAPES = [
    lambda dx, dy, r: dx**2 + dy**2 <= r**2,  # disc
    lambda dx, dy, r: np.maximum(abs(dx), abs(dy)) <= 0.8 * r,  # square
    lambda dx, dy, r: (dy <= 0.8 * r) & (dy >= 2 * abs(dx) - r),  # triangle
    lambda dx, dy, r: abs(np.hypot(dx, dy) - 0.7 * r) <= 0.3 * r,  # ring
    lambda dx, dy, r: (np.minimum(abs(dx), abs(dy)) <= 0.3 * r) & (np.maximum(abs(dx), abs(dy)) <= r),  # cross
    lambda dx, dy, r: abs(dx) + abs(dy) <= r,  # diamond
]
COLOURS = np.array([colorsys.hsv_to_rgb(c / len(CLASSES), 0.9, 1.0) for c in range(len(CLASSES))])


def make_scenes(n, seed, label_noise=0.0, together=None):
    """n images (n, IMAGE_SIZE, IMAGE_SIZE, 3) in [0, 1] and targets (n, len(CLASSES)) in [0, 1].

    together: with COOCCUR set, the share of the tag's scenes that also hold its partner."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] / IMAGE_SIZE
    y = rng.random((n, len(CLASSES))) < np.array(PREVALENCE)
    if COOCCUR is not None and together is not None:  # the shortcut: the partner follows the tag
        t, c = CLASSES.index(COOCCUR[0]), CLASSES.index(COOCCUR[1])
        p_t, p_c = PREVALENCE[t], PREVALENCE[c]
        # elsewhere the partner is rarer (or commoner), so its prevalence stays as asked
        p_else = min(1.0, max(0.0, (p_c - p_t * together) / (1.0 - p_t))) if p_t < 1.0 else 0.0
        y[:, c] = rng.random(n) < np.where(y[:, t], together, p_else)
    y = y.astype(np.float32)
    if SOFT_LABELS:
        y *= rng.uniform(*SOFT_RANGE, size=y.shape).astype(np.float32)
    x = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
    for i in range(n):
        image = rng.uniform(0.0, 0.3, 3) + rng.normal(0.0, 0.04, (IMAGE_SIZE, IMAGE_SIZE, 3))
        for c in np.flatnonzero(y[i]):
            r = rng.uniform(0.1, 0.2)
            cx, cy = rng.uniform(r, 1 - r, size=2)
            mask = SHAPES[c % len(SHAPES)](xx - cx, yy - cy, r)
            image[mask] = (1 - y[i, c]) * image[mask] + y[i, c] * COLOURS[c]
        x[i] = np.clip(image, 0.0, 1.0)
    if label_noise:  # flip targets, not images: 1 <-> 0 (soft: present -> 0, absent -> random strength)
        flip = rng.random(y.shape) < label_noise
        new = rng.uniform(*SOFT_RANGE, size=y.shape) if SOFT_LABELS else 1.0
        y = np.where(flip, np.where(y > 0, 0.0, new), y).astype(np.float32)
    return x, y


def load_data(args):
    """Fresh scenes: training (with the label noise) and validation (clean: noise is trained through, not scored)."""
    return make_scenes(TRAIN_SIZE, SEED, LABEL_NOISE, COOCCUR_TRAIN), make_scenes(VAL_SIZE, VAL_SEED, 0.0, COOCCUR_TEST)
'''

_DIGITS = '''\
# Canvases of real handwriting: scikit-learn's bundled 8x8 digits (Alpaydin & Kaynak, UCI optdigits;
# shipped inside the wheel, nothing is downloaded), 1-4 per canvas; the tags are the digits present.
# A simplified version of Multi-label Lab's generator: whole-pixel (nearest) upscaling, no overlap
# check, one dark ink and one light paper colour per canvas. Each tag is present with its prevalence (at
# most four per canvas); a canvas with none shows one digit that is not a tag (untagged) when there is one.
# The source digits are split into disjoint pools first (70/15/15 of each digit, a fixed seed), so
# validation canvases hold only handwriting that training never saw.
POOL_SEED = 20111


def digit_pools(split):
    """The source images (1797, 8, 8) in [0, 1] and, per digit, the indices of ``split``'s pool."""
    digits = load_digits()
    rng = np.random.default_rng(POOL_SEED)
    pools = {}
    for d in range(10):
        index = rng.permutation(np.flatnonzero(digits.target == d))
        a, b = round(0.7 * len(index)), round(0.85 * len(index))
        pools[d] = {"train": index[:a], "val": index[a:b], "test": index[b:]}[split]
    return digits.images / 16.0, pools


def make_digits(n, seed, split="train"):
    """n canvases (n, IMAGE_SIZE, IMAGE_SIZE, 3) in [0, 1] and 0/1 targets (n, len(CLASSES))."""
    images, pools = digit_pools(split)
    rng = np.random.default_rng(seed)
    size, prevalence = IMAGE_SIZE, np.array(PREVALENCE, dtype=np.float64)
    x = np.empty((n, size, size, 3), np.float32)
    y = np.zeros((n, len(CLASSES)), np.float32)
    chosen = [int(tag) for tag in CLASSES]
    others = [d for d in range(10) if d not in chosen]  # untagged distractors
    for i in range(n):
        present = np.flatnonzero(rng.random(len(CLASSES)) < prevalence)
        if len(present) > 4:  # at most four
            present = rng.choice(present, 4, replace=False)
        y[i, present] = 1.0
        drawn = [chosen[c] for c in present]
        if not drawn:  # at least one digit: an untagged one (the prevalence stays as asked), else a tag
            if others:
                drawn = [rng.choice(others)]
            elif prevalence.sum() > 0:
                c = rng.choice(len(CLASSES), p=prevalence / prevalence.sum())
                y[i, c], drawn = 1.0, [chosen[c]]
        ink = np.zeros((size, size))
        for d in drawn:
            glyph = images[rng.choice(pools[d])]
            scale = rng.integers(max(1, size // 32), max(1, size // 16) + 1)  # 8 * scale: 1/4 to 1/2 of the side
            glyph = np.kron(glyph, np.ones((scale, scale)))
            top, left = rng.integers(0, size - len(glyph) + 1, size=2)
            patch = ink[top : top + len(glyph), left : left + len(glyph)]
            np.maximum(patch, glyph, out=patch)
        background, colour = rng.uniform(0.6, 1.0, 3), rng.uniform(0.0, 0.4, 3)  # dark ink on light paper, as the app
        canvas = background + ink[..., None] * (colour - background) + rng.normal(0.0, 0.03, (size, size, 3))
        x[i] = np.clip(canvas, 0.0, 1.0)
    return x, y


def load_data(args):
    """Training canvases from the train pool (LABEL_NOISE flips their targets 0 <-> 1), validation canvases
    from the validation pool (clean: noise is trained through, not scored)."""
    x, y = make_digits(TRAIN_SIZE, SEED, "train")
    flip = np.random.default_rng([SEED, 6007]).random(y.shape) < LABEL_NOISE
    return (x, np.where(flip, 1.0 - y, y).astype(np.float32)), make_digits(VAL_SIZE, VAL_SEED, "val")
'''

_OWN = '''\
# Your images, in either layout Multi-label Lab reads, as a folder or a .zip (a single top folder
# inside is skipped):
#   * a CSV at the top (labels.csv, or the only .csv; or give the CSV's path) with a header, the image
#     path relative to the CSV first, then a `tags` column (tag names split by spaces , ; or |) or one
#     0/1 (true/false) column per tag, and an optional `split` column (train / val / test);
#   * or one folder per tag (cat/img1.jpg): the same file name under several tag folders is one image
#     with several tags, and _none/ holds images with no tag.
# Simplified: a file that is missing or does not decode is skipped with a line, not listed with the rest.
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


def list_files(path):
    """(files, csv name or None): files maps a name (relative, with /) to a function returning its bytes."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if not n.endswith("/") and not n.startswith("__MACOSX/")]
        files = {n: (lambda n=n: archive.read(n)) for n in names}
        chosen = None
    else:
        root = path.parent if path.is_file() else path
        if not root.is_dir():
            raise SystemExit(f"no such CSV, folder or .zip: {path}")
        files = {p.relative_to(root).as_posix(): p.read_bytes for p in sorted(root.rglob("*")) if p.is_file()}
        chosen = path.name if path.is_file() else None
    tops = {name.split("/")[0] for name in files}
    if chosen is None and len(tops) == 1 and all("/" in name for name in files):  # all in one top folder
        top = tops.pop() + "/"
        files = {name[len(top) :]: read for name, read in files.items()}
    if chosen is None:
        csvs = sorted(n for n in files if "/" not in n and n.lower().endswith(".csv"))
        if len(csvs) > 1 and "labels.csv" not in csvs:
            raise SystemExit(f"several CSV files ({', '.join(csvs)}): give the path of the one to use")
        chosen = "labels.csv" if "labels.csv" in csvs else (csvs[0] if csvs else None)
    return files, chosen


def csv_rows(text):
    """(image name, set of tags, split or "") per row of a labels CSV."""
    table = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    header = [cell.strip() for cell in table[0]]
    lower = [cell.lower() for cell in header]
    split_at = lower.index("split") if "split" in lower else None
    tags_at = lower.index("tags") if "tags" in lower else None
    rows = []
    for row in table[1:]:
        cells = [cell.strip() for cell in row] + [""] * len(header)
        if tags_at is not None:
            tags = set(re.split(r"[\\s,;|]+", cells[tags_at])) - {""}
        else:
            tags = {header[i] for i in range(1, len(header)) if i != split_at and cells[i].lower() in ("1", "true")}
        split = cells[split_at].lower() if split_at is not None else ""
        rows.append((cells[0].removeprefix("./"), tags, split))
    return rows


def folder_rows(files):
    """(image name, set of tags, "") per image of the folder-per-tag layout (_none/: no tag)."""
    images = {}
    for name in files:
        folder, _, file = name.partition("/")
        if file and "/" not in file and file.lower().endswith(IMAGE_TYPES):
            _, tags = images.setdefault(file, (name, set()))  # the first path stands for the image
            if folder != "_none":
                tags.add(folder)
    return [(name, tags, "") for name, tags in images.values()]


def decode(data):
    """Image bytes -> (IMAGE_SIZE, IMAGE_SIZE, 3) float32 in [0, 1]: upright, transparency over white, squashed."""
    with Image.open(io.BytesIO(data)) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA", "P") or "transparency" in im.info:
            im = Image.alpha_composite(Image.new("RGBA", im.size, "white"), im.convert("RGBA"))
        # squashed to a square, neither cropped nor padded (like the app, and image_dataset_from_directory)
        im = im.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        return np.asarray(im, np.float32) / 255.0


def read_images(path):
    """x (N, IMAGE_SIZE, IMAGE_SIZE, 3) float32 in [0, 1], y (N, len(CLASSES)) 0/1 and split (N,) ("" if none)."""
    files, csv_name = list_files(path)
    rows = csv_rows(files[csv_name]().decode("utf-8-sig")) if csv_name else folder_rows(files)
    x, y, split = [], [], []
    for name, tags, part in rows:
        try:
            x.append(decode(files[name]()))
        except KeyError:
            print(f"skipped {name}: no such file")
            continue
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            print(f"skipped {name}: {error}")
            continue
        y.append([float(tag in tags) for tag in CLASSES])
        split.append(part)
    if not x:
        raise SystemExit(f"no readable images in {path}")
    return np.stack(x), np.array(y, np.float32).reshape(-1, len(CLASSES)), np.array(split, dtype="<U5")


def load_data(args):
    """The images of ``args.data``: the CSV's split column where it has one, else a seeded random split
    in the proportions of the exported run (a simplification: the app stratifies per tag)."""
    x, y, split = read_images(args.data)
    unsplit = np.flatnonzero(~np.isin(split, ["train", "val", "test"]))
    order = np.random.default_rng(SEED).permutation(unsplit)
    cuts = np.rint(np.cumsum(SPLIT_FRACTIONS)[:2] * len(order)).astype(int)
    for part, index in zip(["train", "val", "test"], np.split(order, cuts)):
        split[index] = part
    train, val = split == "train", split == "val"
    print(f"{len(x)} images: {train.sum()} to train on, {val.sum()} to validate on")
    if not train.any() or not val.any():
        raise SystemExit("too few images: training and validation each need at least one")
    flip = np.random.default_rng([SEED, 6007]).random(y[train].shape) < LABEL_NOISE  # training targets only
    return (x[train], np.where(flip, 1.0 - y[train], y[train]).astype(np.float32)), (x[val], y[val])
'''

#: Data set -> code defining ``load_data(args)`` (and what it needs), after the script's settings.
DATA: dict[str, str] = {"scenes": _SCENES, "digits": _DIGITS, "own": _OWN}
