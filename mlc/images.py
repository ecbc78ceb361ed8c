"""Defensive decoding of uploaded images into model inputs.

A visitor's upload is untrusted bytes: ``st.file_uploader(type=...)`` checks only
the file *name*. Everything here assumes the bytes may be empty, truncated,
corrupt, hostile or simply another format with a misleading extension:

* only :data:`ACCEPTED_FORMATS` decoders are tried (``Image.open(formats=...)``),
  so e.g. TIFF, PSD or PPM bytes are refused even though Pillow reads them;
* the file size is checked before anything is parsed (:data:`MAX_BYTES`) and
  the pixel count from the header before any pixel is decoded
  (:data:`MAX_PIXELS`); Pillow's ``DecompressionBombWarning`` is raised as an
  error locally, without touching the global warning filters or
  ``Image.MAX_IMAGE_PIXELS``; progressive JPEGs with absurdly many scans are
  refused, since each scan re-walks every block (a known CPU sink);
* animated GIF/PNG/WebP give their first frame, the EXIF orientation is applied
  (a broken EXIF block is ignored, not fatal) and every Pillow mode becomes RGB
  with transparency composited over white (rules in :func:`to_rgb`);
* whatever goes wrong, the caller sees one exception type,
  :class:`ImageDecodeError`, with a one-line message a visitor can act on.

>>> png = io.BytesIO()
>>> Image.new("RGBA", (40, 30), (255, 0, 0, 255)).save(png, "PNG")
>>> x = decode(png.getvalue(), size=32)
>>> x.shape, x.dtype, x[0, 0].tolist()
((32, 32, 3), dtype('float32'), [1.0, 0.0, 0.0])
>>> decode(b"GIF89a, or so it says")
Traceback (most recent call last):
...
mlc.images.ImageDecodeError: not an image this app reads (PNG, JPEG, WebP, BMP or GIF): cannot identify the file
"""

from __future__ import annotations

import io
import re
import threading
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from mlc import checks

#: Pillow format names that :func:`decode` lets Pillow try (MPO camera files
#: open through the JPEG decoder and are accepted as JPEG).
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
#: File-name extensions for ``st.file_uploader(type=ACCEPTED_EXTENSIONS)``.
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
#: Largest upload accepted, in bytes (10 MiB).
MAX_BYTES = 10 * 1024 * 1024
#: Largest width × height accepted, read from the header before decoding.
MAX_PIXELS = 25_000_000
#: Largest ``size`` for :func:`decode` and ``max_side`` for :func:`preview`.
MAX_SIZE = 1024
MAX_PREVIEW_SIDE = 4096
#: A progressive JPEG with more scans than this is refused: every scan walks all
#: blocks, so thousands of tiny scans in a small file cost minutes of CPU.
#: Ordinary encoders write 1 (baseline) to about 20 (optimised progressive).
MAX_JPEG_SCANS = 100

_FORMATS_TEXT = "PNG, JPEG, WebP, BMP or GIF"
_WHITE = (255, 255, 255)
# Decodes are serialised: ``warnings.catch_warnings`` swaps the process-wide
# filter list, which is only safe if two decodes never overlap (otherwise one
# could restore the other's temporary filter for good); it also bounds the peak
# memory of full-resolution decodes to one at a time.
_LOCK = threading.Lock()
# Orientation tag (0x0112) -> transpose; the same table as ImageOps.exif_transpose.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Magic numbers of formats people upload by mistake, for a friendlier refusal.
_LOOKALIKES = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", "Windows icon (ICO)"),
    (b"PK\x03\x04", "ZIP archive"),
)


class ImageDecodeError(ValueError):
    """The uploaded bytes are not an image this app can use; ``str()`` is one line."""


# ---------------------------------------------------------------- public API
def decode(data: bytes, *, size: int = 64, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image file bytes into a model input.

    Returns float32 of shape (size, size, 3) in [0, 1], C-contiguous: the first
    frame, EXIF orientation applied, converted to RGB by :func:`to_rgb` and
    squashed to size × size (aspect not kept, like Keras'
    ``image_dataset_from_directory``) with a Lanczos filter after an
    integer-factor box reduction. Large JPEGs are decoded at a reduced DCT scale
    that is still at least ``size`` on each side.

    Raises :class:`ImageDecodeError` (and nothing else) for any bytes it
    refuses: empty, larger than ``max_bytes``, more than ``max_pixels`` pixels
    (Pillow's ``Image.MAX_IMAGE_PIXELS``, 89 M by default, caps a larger value),
    not one of :data:`ACCEPTED_FORMATS`, truncated or corrupt. A bad ``size``,
    limit or ``data`` type is a programming error: ``ValueError`` / ``TypeError``.

    >>> bmp = io.BytesIO()
    >>> Image.new("L", (10, 20), 255).save(bmp, "BMP")
    >>> x = decode(bmp.getvalue(), size=8)
    >>> x.shape, float(x.min()), x.flags.c_contiguous
    ((8, 8, 3), 1.0, True)
    """
    size = checks.whole(size, "size", 1, MAX_SIZE)
    rgb = _load_rgb(data, max_bytes=max_bytes, max_pixels=max_pixels, draft_side=size)
    return _to_float(_resize(rgb, (size, size)))


def preview(
    data: bytes, *, max_side: int = 512, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """The image "as uploaded", for display: uint8 (h, w, 3), aspect kept.

    Same decoding and refusals as :func:`decode` (first frame, orientation,
    transparency over white, :class:`ImageDecodeError`); the longer side is
    scaled down to ``max_side`` if needed, never up.

    >>> png = io.BytesIO()
    >>> Image.new("RGB", (2000, 500), (0, 128, 255)).save(png, "PNG")
    >>> p = preview(png.getvalue())
    >>> p.shape, p.dtype, p[0, 0].tolist()
    ((128, 512, 3), dtype('uint8'), [0, 128, 255])
    """
    max_side = checks.whole(max_side, "max_side", 1, MAX_PREVIEW_SIDE)
    rgb = _load_rgb(data, max_bytes=max_bytes, max_pixels=max_pixels, draft_side=max_side)
    w, h = rgb.size
    scale = max_side / max(w, h)
    if scale < 1:
        rgb = _resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))))
    return np.array(rgb, dtype=np.uint8)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] (any shape) -> uint8 0..255, rounded; values outside are clipped.

    >>> to_uint8(np.array([0.0, 0.5, 1.0, 1.7], np.float32)).tolist()
    [0, 128, 255, 255]
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"to_uint8 expects float pixels in [0, 1], got dtype {x.dtype}; integer images are already 0..255"
        )
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_input(im: Image.Image, size: int = 64) -> np.ndarray:
    """An image already in memory as a model input, as :func:`decode` makes one after loading.

    :func:`to_rgb`, squashed to size × size (Lanczos), float32 (size, size, 3) in [0, 1].

    >>> x = to_input(Image.new("LA", (5, 3), (0, 0)), size=4)
    >>> x.shape, x.dtype, x[0, 0].tolist()
    ((4, 4, 3), dtype('float32'), [1.0, 1.0, 1.0])
    """
    size = checks.whole(size, "size", 1, MAX_SIZE)
    return _to_float(_resize(to_rgb(im), (size, size)))


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> mode ``RGB`` (a new image, or ``im`` itself if already RGB).

    Rules:

    * ``1``, ``L``, ``P`` without transparency, ``RGBX``, ``CMYK``, ``YCbCr``,
      ``LAB``, ``HSV``: Pillow's own conversion (``1`` is black/white).
    * Transparency is composited over white: ``LA``, ``PA``, ``RGBA``, and
      ``1``/``L``/``P``/``RGB`` with a transparent palette entry or colour key
      (``info["transparency"]``) via ``RGBA``; the premultiplied ``La`` and
      ``RGBa`` as ``colour + (255 - alpha)``, which is exact; a 16/32-bit grey
      colour key becomes white.
    * 16-bit ``I;16``, ``I;16B``, ``I;16L``, ``I;16N``: value / 65535 (full scale
      is white, so nothing clips).
    * 32-bit ``I``: negatives -> 0; value / 65535 if the maximum is at most
      65535 (16-bit data stored as I), else value / maximum.
    * ``F``: NaN and -inf -> 0, +inf -> the brightest value; negatives -> 0;
      kept as is if the maximum is at most 1, else value / maximum.

    High-depth results are rounded to 8 bits per channel (grey).

    >>> to_rgb(Image.new("I;16", (1, 1), 65535)).getpixel((0, 0))
    (255, 255, 255)
    >>> to_rgb(Image.new("RGBA", (1, 1), (0, 0, 0, 0))).getpixel((0, 0))
    (255, 255, 255)
    """
    mode = im.mode
    keyed = "transparency" in im.info  # a palette entry or colour key (PNG tRNS, GIF)
    if mode in ("LA", "PA", "RGBA") or (keyed and mode in ("1", "L", "P", "RGB")):
        return _over_white(im.convert("RGBA"))
    if mode == "RGB":
        return im
    if mode in ("1", "L", "P", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        return im.convert("RGB")
    if mode in ("La", "RGBa"):
        a = np.asarray(im)
        colour, alpha = a[..., :-1].astype(np.int16), a[..., -1:].astype(np.int16)
        out = np.minimum(colour + (255 - alpha), 255).astype(np.uint8)
        return Image.fromarray(np.broadcast_to(out, (*out.shape[:2], 3)).copy())
    if mode.startswith("I") or mode == "F":
        raw = np.asarray(im)
        x = _scale_wide(raw, mode)
        key = im.info.get("transparency")
        if keyed and isinstance(key, (int, float)):
            x[raw == key] = 1.0
        return _grey(x)
    raise ImageDecodeError(f"unsupported colour mode {mode!r}; save the image as 8-bit RGB and try again")


# ---------------------------------------------------------------- internals
def _load_rgb(data, *, max_bytes: int, max_pixels: int, draft_side: int) -> Image.Image:
    """Checks shared by :func:`decode` and :func:`preview`; returns a loaded RGB image."""
    max_bytes = checks.whole(max_bytes, "max_bytes", 1, None)
    max_pixels = checks.whole(max_pixels, "max_pixels", 1, None)
    try:
        nbytes = memoryview(data).nbytes
    except TypeError:
        raise TypeError(
            f"data must be the file's bytes (bytes, bytearray or memoryview), got "
            f"{type(data).__name__}; for a Streamlit upload pass uploaded_file.getvalue()"
        ) from None
    if nbytes == 0:
        raise ImageDecodeError(f"empty file (0 bytes); upload a {_FORMATS_TEXT} image")
    if nbytes > max_bytes:
        got, limit = _bytes_text(nbytes), _bytes_text(max_bytes)
        if got == limit:  # just over: rounding would hide the difference
            got, limit = f"{nbytes:,} bytes", f"{max_bytes:,} bytes"
        raise ImageDecodeError(f"file is {got}; the limit is {limit} — upload a smaller image")
    data = bytes(data)  # no copy for bytes; a stable snapshot of a bytearray
    with _LOCK:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                # "Corrupt EXIF data" and the like: noise in the server log
                warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
                im = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
                w, h = im.size
                if w < 1 or h < 1:
                    raise ImageDecodeError(f"the file is truncated or corrupt: the image is {w}×{h} pixels")
                if w * h > max_pixels:
                    raise ImageDecodeError(
                        f"image is {w}×{h} pixels ({_count_text(w * h)}); "
                        f"the limit is {_count_text(max_pixels)} pixels — resize it first"
                    )
                if im.format in ("JPEG", "MPO"):
                    scans = data.count(b"\xff\xda")
                    if scans > MAX_JPEG_SCANS:
                        raise ImageDecodeError(
                            f"the JPEG has {scans} scans; the limit is {MAX_JPEG_SCANS} "
                            "— re-save it as an ordinary JPEG"
                        )
                    im.draft(None, (draft_side, draft_side))
                im.seek(0)
                im.load()
                im = _orient(im)
                return to_rgb(im)
        except ImageDecodeError:
            raise
        except Exception as exc:  # anything Pillow/NumPy raise on hostile bytes
            raise ImageDecodeError(_describe(exc, data, max_pixels)) from exc


def _orient(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; an unreadable EXIF block means "as stored".

    Reads the tag itself rather than calling ``ImageOps.exif_transpose``, which
    also re-serialises EXIF and XMP afterwards (more to fail on broken data)
    and copies the image even when there is nothing to do.
    """
    try:
        method = _ORIENTATION.get(int(im.getexif().get(0x0112, 1)))
    except Exception:  # broken EXIF: ignore orientation rather than refuse
        return im
    return im if method is None else im.transpose(method)


def _scale_wide(a: np.ndarray, mode: str) -> np.ndarray:
    """I;16*, I or F pixels -> float32 in [0, 1] (the rules in :func:`to_rgb`)."""
    if mode.startswith("I;16"):
        return a.astype(np.float32) / np.float32(65535)
    if mode == "I":
        a = np.maximum(a, 0)
        top = int(a.max(initial=0))
        return a.astype(np.float32) / np.float32(65535 if top <= 65535 else top)
    if mode != "F":
        raise ImageDecodeError(f"unsupported colour mode {mode!r}; save the image as 8-bit RGB and try again")
    x = a.astype(np.float32)  # a copy, safe to modify
    finite = np.isfinite(x)
    top = float(x[finite].max(initial=0.0))
    x[~finite] = np.where(x[~finite] > 0, max(top, 1.0), 0.0)
    np.maximum(x, 0.0, out=x)
    if top > 1.0:
        x /= np.float32(top)
    return x


def _over_white(rgba: Image.Image) -> Image.Image:
    out = Image.new("RGB", rgba.size, _WHITE)
    out.paste(rgba, (0, 0), rgba)
    return out


def _grey(x: np.ndarray) -> Image.Image:
    """(h, w) float in [0, 1] -> RGB grey image."""
    g = np.rint(x * np.float32(255)).astype(np.uint8)
    return Image.fromarray(g).convert("RGB")


def _resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    if im.size == size:
        return im
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_float(im: Image.Image) -> np.ndarray:
    x = np.asarray(im, dtype=np.uint8).astype(np.float32)
    x /= np.float32(255)
    return x


def _describe(exc: BaseException, data, max_pixels: int) -> str:
    """One line a visitor understands, for an exception raised while decoding."""
    if isinstance(exc, UnidentifiedImageError):
        head = data[:8]
        for magic, name in _LOOKALIKES:
            if head.startswith(magic):
                return (
                    f"not an image this app reads ({_FORMATS_TEXT}): this looks like a {name} file — convert it first"
                )
        return f"not an image this app reads ({_FORMATS_TEXT}): cannot identify the file"
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        # Pillow's own limit (checked in Image.open, before ours) is the lower one here
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
        m = re.search(r"\((\d+) pixels\)", str(exc))
        found = f"image has {_count_text(int(m.group(1)))} pixels" if m else "image has too many pixels"
        return f"{found}; the limit is {_count_text(limit)} pixels — resize it first"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode this image — try a smaller one"
    reason = re.sub(r"[^A-Za-z0-9 .,:;'=+/%()-]+", " ", str(exc))
    reason = " ".join(reason.split())[:120] or type(exc).__name__
    return f"the file is truncated or corrupt: {reason}"


def _bytes_text(n: int) -> str:
    """1536 -> '1.5 KB'; 10 MiB -> '10 MB' (binary units, as file browsers show them)."""
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _count_text(n: int) -> str:
    """25_000_000 -> '25 M'; 2_500_000 -> '2.5 M'; 400 -> '400'."""
    if n >= 10_000_000:
        return f"{n / 1e6:,.0f} M"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}".removesuffix(".0") + " M"
    return f"{n:,}"
