"""Parts ``import``, ``digits`` and ``own_memory``: real data in, time to a good model, memory.

* ``import``: a zip of real-size JPEG photos (scikit-image's sample photos,
  scaled to camera sizes and re-encoded, made here: nothing is downloaded)
  read by :func:`mlc.imagesets.read_image_set` (decode + resize to 64 px),
  images/s, against a plain Pillow loop (full decode, ``resize``) on the
  same archive, alternating, medians.
* ``digits``: time to test mAP ≥ 0.9 on the ``digits`` data set with the
  default model, against ``compact`` side by side; scored every
  :data:`EVAL_SAMPLES` training samples on the held-out test split (the
  clock stops at the first score ≥ 0.9; scoring time is off the clock), in
  seconds and GFLOP-eq (seconds × the matmul GFLOP/s measured just before).
* ``own_memory``: peak resident memory of ``python -m mlc train --data
  ZIP`` on 5,000 own images against a scenes run of the same split sizes.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from mlc.bench.memory import peak_rss_mib
from mlc.bench.stats import median

#: Photos in the import archive, and their long side in pixels (a phone camera's is ~4,000; a web photo's ~1,600).
IMPORT_IMAGES, IMPORT_SIDE = 1000, 1600
#: The digits part: target test mAP and the training samples between two scorings.
DIGITS_TARGET, EVAL_SAMPLES = 0.9, 800
#: Own images of the memory part.
OWN_IMAGES = 5000


def photo_zip(n: int, side: int = IMPORT_SIDE, seed: int = 0) -> bytes:
    """A zip of ``n`` JPEGs (quality 90) made from scikit-image's sample photos, cropped, flipped and scaled to
    ``side`` px on the long side, with a ``labels.csv`` (tags from the photo each came from)."""
    from PIL import Image
    from skimage import data as photos

    sources = {
        "cat": photos.chelsea(),
        "coffee": photos.coffee(),
        "astronaut": photos.astronaut(),
        "rocket": photos.rocket(),
    }
    rng = np.random.default_rng(seed)
    names = list(sources)
    buffer = io.BytesIO()
    rows = ["path,tags"]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(n):
            tag = names[i % len(names)]
            im = Image.fromarray(sources[tag])
            w, h = im.size
            box = rng.integers(0, w // 6), rng.integers(0, h // 6)
            im = im.crop((box[0], box[1], w - rng.integers(0, w // 6), h - rng.integers(0, h // 6)))
            if rng.random() < 0.5:
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            scale = side / max(im.size)
            im = im.resize((round(im.size[0] * scale), round(im.size[1] * scale)), Image.Resampling.BILINEAR)
            out = io.BytesIO()
            im.save(out, "JPEG", quality=90)
            archive.writestr(f"photos/{i:05d}.jpg", out.getvalue())
            rows.append(f"photos/{i:05d}.jpg,{tag}")
        archive.writestr("labels.csv", "\n".join(rows) + "\n")
    return buffer.getvalue()


def _plain_pillow(archive_bytes: bytes, size: int = 64) -> int:
    """The baseline: every JPEG fully decoded by Pillow and resized, one after another."""
    from PIL import Image

    count = 0
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".jpg"):
                with Image.open(io.BytesIO(archive.read(info))) as im:
                    np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.LANCZOS))
                count += 1
    return count


def bench_import(quick: bool, repeats: int) -> dict:
    """images/s of :func:`mlc.imagesets.read_image_set` vs a plain Pillow loop on one archive, alternating."""
    from mlc import imagesets

    n = 60 if quick else IMPORT_IMAGES
    archive = photo_zip(n)
    rates: dict[str, list[float]] = {"mlc.imagesets": [], "plain Pillow": []}
    for _ in range(repeats):
        t = time.perf_counter()
        got = imagesets.read_image_set(archive, name="photos.zip", image_size=64, max_mb=2048, max_images=10**6)
        rates["mlc.imagesets"].append(len(got.paths) / (time.perf_counter() - t))
        t = time.perf_counter()
        rates["plain Pillow"].append(_plain_pillow(archive) / (time.perf_counter() - t))
    out = {name: median(values) for name, values in rates.items()}
    return {
        "images": n,
        "side": IMPORT_SIDE,
        "archive_mb": round(len(archive) / 2**20, 1),
        "images_per_s": out,
        "ratio": out["mlc.imagesets"] / out["plain Pillow"],
    }


def _digits_run(model: str, seed: int, quick: bool) -> dict:
    from mlc import datasets
    from mlc.bench.training import matmul_gflops
    from mlc.bench.ttq import time_to
    from mlc.config import RunConfig
    from mlc.training import train

    config = RunConfig(dataset="digits", model=model, seed=seed)
    if quick:
        config = config.replace(train_size=600, val_size=200, test_size=200, epochs=1)
    splits = datasets.make_splits(config)
    gflops = matmul_gflops(0.5 if quick else 1.0)
    # the clock's scorings run on the held-out test split: time to *test* mAP
    clocked = (splits.train, splits.test)
    run = train(config.replace(val_size=config.test_size), splits=clocked, eval_every=max(1, EVAL_SAMPLES // 64))
    return time_to(run, DIGITS_TARGET, gflops) | {"final_test_map": run.report["map"] if run.report else None}


def bench_digits(quick: bool, repeats: int) -> dict:
    """Time to test mAP ≥ :data:`DIGITS_TARGET` on digits: the default model vs ``compact``, alternating seeds."""
    from mlc.config import RunConfig

    models = [RunConfig().model, "compact"]
    rows: dict[str, list[dict]] = {m: [] for m in models}
    for seed in range(repeats):
        for model in models:
            rows[model].append(_digits_run(model, seed, quick))
    out: dict = {"target_map": DIGITS_TARGET, "contenders": {}}
    for model, results in rows.items():
        out["contenders"][model] = {
            key: median([r[key] for r in results])
            for key in ("seconds", "samples", "matmul_gflops", "gflop_eq", "final_test_map")
        } | {"reached": sum(r["seconds"] is not None for r in results), "runs": len(results)}
    return out


def own_images_zip(path: Path, n: int, side: int = 160, seed: int = 0) -> None:
    """A zip of ``n`` small JPEGs of coloured shapes with a 0/1-column labels.csv (three tags), written to ``path``."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    rows = ["path,circle,square,bar"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(n):
            im = Image.new("RGB", (side, side), tuple(int(v) for v in rng.integers(0, 255, 3)))
            draw = ImageDraw.Draw(im)
            tags = rng.random(3) < (0.4, 0.3, 0.2)
            for k, present in enumerate(tags):
                if present:
                    x, y = rng.integers(0, side - 50, 2)
                    colour = tuple(int(v) for v in rng.integers(0, 255, 3))
                    [draw.ellipse, draw.rectangle, draw.rectangle][k](
                        (x, y, x + 45, y + (45 if k < 2 else 10)), fill=colour
                    )
            out = io.BytesIO()
            im.save(out, "JPEG", quality=85)
            archive.writestr(f"img/{i:05d}.jpg", out.getvalue())
            rows.append(f"img/{i:05d}.jpg," + ",".join(str(int(t)) for t in tags))
        archive.writestr("labels.csv", "\n".join(rows) + "\n")


def bench_own_memory(quick: bool, repeats: int) -> dict:
    """Peak RSS of a CLI run on :data:`OWN_IMAGES` own images vs scenes of the same split sizes, alternating."""
    n = 150 if quick else OWN_IMAGES
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    train_n, val_n = round(n * 0.7), round(n * 0.15)
    common = ["--epochs", "1"]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "own.zip"
        own_images_zip(archive, n)
        own = [sys.executable, "-m", "mlc", "train", "--json", "--data", str(archive), *common]
        scenes = [sys.executable, "-m", "mlc", "train", "--json", "--train-size", str(train_n)]
        scenes += ["--val-size", str(val_n), "--test-size", str(n - train_n - val_n), *common]
        peaks: dict[str, list[float]] = {"own images": [], "scenes": []}
        for _ in range(repeats):
            peaks["own images"].append(peak_rss_mib(own, env))
            peaks["scenes"].append(peak_rss_mib(scenes, env))
        size_mb = archive.stat().st_size / 2**20
    out = {name: median(v) for name, v in peaks.items()}
    return {"images": n, "archive_mb": round(size_mb, 1), "peak_rss_mib": out, "epochs": 1}


def table_row(*cells: str) -> str:
    """One Markdown table row of the benchmark table.

    >>> table_row("a", "b")
    '| a | b |'
    """
    return "| " + " | ".join(cells) + " |"


def or_dash(value: float | None, fmt: str, missing: str = "—") -> str:
    """``value`` formatted (``fmt``, e.g. ``"{:.1f} s"``), or ``missing`` when it was not measured.

    >>> or_dash(1.234, "{:.1f} s"), or_dash(None, "{:.1f} s"), or_dash(None, "{}", "not reached")
    ('1.2 s', '—', 'not reached')
    """
    return missing if value is None else fmt.format(value)


def realdata_rows(results: dict) -> list[str]:
    """Table rows of the three parts that are present in ``results``."""
    lines = []
    if "import" in results:
        r, rate = results["import"], results["import"]["images_per_s"]
        lines.append(
            table_row(
                f"own-images import: {r['images']:,} JPEGs of {r['side']} px ({r['archive_mb']} MB zip), decode + "
                "resize to 64 px",
                f"{rate['plain Pillow']:.0f} images/s (plain Pillow loop)",
                f"{rate['mlc.imagesets']:.0f} images/s (mlc.imagesets)",
                f"{r['ratio']:.2f}× faster",
            )
        )
    if "digits" in results:
        d = results["digits"]
        lines += [
            table_row(
                f"digits: time to test mAP ≥ {d['target_map']}, {model}",
                f"{or_dash(c['seconds'], '{:.1f} s', 'not reached')} at {c['matmul_gflops']:.0f} GFLOP/s matmul "
                f"({c['reached']}/{c['runs']} reached)",
                f"{or_dash(c['gflop_eq'], '{:,.0f} GFLOP-eq')}; final test mAP {c['final_test_map']:.3f}",
                "—",
            )
            for model, c in d["contenders"].items()
        ]
    if "own_memory" in results:
        m, p = results["own_memory"], results["own_memory"]["peak_rss_mib"]
        lines.append(
            table_row(
                f"peak memory, `mlc train --data` on {m['images']:,} own images ({m['archive_mb']} MB zip), "
                f"{m['epochs']} epoch",
                f"{p['scenes']:.0f} MiB (scenes, same split sizes)",
                f"{p['own images']:.0f} MiB",
                f"{p['own images'] / p['scenes']:.2f}×",
            )
        )
    return lines
