"""Defensive image decoding: every mode, every accepted format, hostile bytes.

All inputs are made here in memory; nothing is read from disk.
"""

from __future__ import annotations

import io
import random
import struct
import time
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from mlc import images
from mlc.images import ImageDecodeError, decode, preview

SIZE = (40, 30)  # deliberately not square and not 64


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def convert(im: Image.Image) -> np.ndarray:
    """The path decode() takes after loading, for modes no accepted format stores."""
    return images.to_input(im, 64)


def check_pixels(x: np.ndarray, size: int = 64) -> None:
    assert isinstance(x, np.ndarray)
    assert x.shape == (size, size, 3)
    assert x.dtype == np.float32
    assert x.flags.c_contiguous
    assert 0.0 <= x.min() and x.max() <= 1.0


def check_message(exc: ImageDecodeError) -> str:
    msg = str(exc)
    assert type(exc) is ImageDecodeError
    assert msg and "\n" not in msg and "\r" not in msg, repr(msg)
    assert len(msg) < 200, msg
    return msg


def palette_image(mode: str, value, colours) -> Image.Image:
    im = Image.new(mode, SIZE, value)
    flat = [c for rgb in colours for c in rgb]
    im.putpalette(flat + [0] * (768 - len(flat)))
    return im


def noise(mode: str = "RGB", size=(48, 40), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)


# ---------------------------------------------------------------- every mode
# (id, make image, format to save in or None = convert in memory,
#  mode Pillow opens the file as, expected RGB in [0, 1], tolerance)
W = 1.0
MODE_CASES = [
    ("1-black", lambda: Image.new("1", SIZE, 0), "PNG", "1", (0, 0, 0), 0),
    ("1-white", lambda: Image.new("1", SIZE, 1), "BMP", "1", (W, W, W), 0),
    ("L", lambda: Image.new("L", SIZE, 128), "PNG", "L", (128 / 255,) * 3, 0),
    ("L-jpeg", lambda: Image.new("L", SIZE, 200), "JPEG", "L", (200 / 255,) * 3, 2 / 255),
    ("LA-transparent", lambda: Image.new("LA", SIZE, (0, 0)), "PNG", "LA", (W, W, W), 0),
    ("LA-opaque", lambda: Image.new("LA", SIZE, (0, 255)), "PNG", "LA", (0, 0, 0), 0),
    ("LA-half", lambda: Image.new("LA", SIZE, (0, 128)), "PNG", "LA", (127 / 255,) * 3, 1 / 255),
    ("La", lambda: Image.new("La", SIZE, (100, 128)), None, "La", (227 / 255,) * 3, 0),
    ("P-gif", lambda: palette_image("P", 1, [(0, 0, 0), (255, 0, 0)]), "GIF", "P", (W, 0, 0), 0),
    ("P-bmp", lambda: palette_image("P", 1, [(0, 0, 0), (0, 0, 255)]), "BMP", "P", (0, 0, W), 0),
    (
        "P-transparent-png",
        lambda: palette_image("P", 0, [(255, 0, 0), (0, 0, 255)]).copy(),
        ("PNG", {"transparency": 0}),
        "P",
        (W, W, W),
        0,
    ),
    (
        "P-transparent-gif",
        lambda: palette_image("P", 0, [(255, 0, 0), (0, 0, 255)]),
        ("GIF", {"transparency": 0}),
        "P",
        (W, W, W),
        0,
    ),
    ("PA-opaque", lambda: palette_image("PA", (1, 255), [(0, 0, 0), (0, 255, 0)]), None, "PA", (0, W, 0), 0),
    ("PA-transparent", lambda: palette_image("PA", (1, 0), [(0, 0, 0), (0, 255, 0)]), None, "PA", (W, W, W), 0),
    ("RGB-png", lambda: Image.new("RGB", SIZE, (0, 255, 0)), "PNG", "RGB", (0, W, 0), 0),
    ("RGB-jpeg", lambda: Image.new("RGB", SIZE, (255, 0, 0)), "JPEG", "RGB", (W, 0, 0), 3 / 255),
    ("RGB-webp", lambda: Image.new("RGB", SIZE, (0, 0, 255)), ("WEBP", {"lossless": True}), "RGB", (0, 0, W), 0),
    ("RGBA-transparent", lambda: Image.new("RGBA", SIZE, (0, 0, 0, 0)), "PNG", "RGBA", (W, W, W), 0),
    (
        "RGBA-transparent-webp",
        lambda: Image.new("RGBA", SIZE, (0, 0, 0, 0)),
        ("WEBP", {"lossless": True}),
        "RGBA",
        (W, W, W),
        0,
    ),
    ("RGBA-half", lambda: Image.new("RGBA", SIZE, (0, 0, 0, 128)), "PNG", "RGBA", (127 / 255,) * 3, 1 / 255),
    ("RGBA-bmp", lambda: Image.new("RGBA", SIZE, (255, 0, 0, 255)), "BMP", "RGB", (W, 0, 0), 0),
    # premultiplied: (100, 0, 0) at alpha 128 over white is 100 + 127 = 227
    ("RGBa", lambda: Image.new("RGBa", SIZE, (100, 0, 0, 128)), None, "RGBa", (227 / 255, 127 / 255, 127 / 255), 0),
    ("CMYK-red", lambda: Image.new("CMYK", SIZE, (0, 255, 255, 0)), "JPEG", "CMYK", (W, 0, 0), 3 / 255),
    ("CMYK-black", lambda: Image.new("CMYK", SIZE, (0, 0, 0, 255)), "JPEG", "CMYK", (0, 0, 0), 3 / 255),
    ("CMYK", lambda: Image.new("CMYK", SIZE, (0, 0, 0, 0)), None, "CMYK", (W, W, W), 0),
    # the JPEG encoder takes YCbCr; the decoder hands back RGB
    ("YCbCr-jpeg", lambda: Image.new("YCbCr", SIZE, (76, 85, 255)), "JPEG", "RGB", (W, 0, 0), 4 / 255),
    ("YCbCr", lambda: Image.new("YCbCr", SIZE, (255, 128, 128)), None, "YCbCr", (W, W, W), 0),
    ("LAB", lambda: Image.new("LAB", SIZE, (255, 128, 128)), None, "LAB", (W, W, W), 2 / 255),
    ("HSV", lambda: Image.new("HSV", SIZE, (0, 255, 255)), None, "HSV", (W, 0, 0), 0),
    ("I;16-white", lambda: Image.new("I;16", SIZE, 65535), "PNG", "I;16", (W, W, W), 0),
    ("I;16-mid", lambda: Image.new("I;16", SIZE, 32768), "PNG", "I;16", (128 / 255,) * 3, 0),
    ("I;16-black", lambda: Image.new("I;16", SIZE, 0), "PNG", "I;16", (0, 0, 0), 0),
    ("I;16B-png", lambda: Image.new("I;16B", SIZE, 65535), "PNG", "I;16", (W, W, W), 0),
    ("I;16B", lambda: Image.new("I;16B", SIZE, 65535), None, "I;16B", (W, W, W), 0),
    ("I;16L", lambda: Image.new("I;16L", SIZE, 13107), None, "I;16L", (51 / 255,) * 3, 0),
    ("I-16bit", lambda: Image.new("I", SIZE, 65535), None, "I", (W, W, W), 0),
    ("I-negative", lambda: Image.new("I", SIZE, -5), None, "I", (0, 0, 0), 0),
    # colour keys (PNG tRNS) are transparency too
    ("1-keyed", lambda: Image.new("1", SIZE, 0), ("PNG", {"transparency": 0}), "1", (W, W, W), 0),
    ("L-keyed", lambda: Image.new("L", SIZE, 10), ("PNG", {"transparency": 10}), "L", (W, W, W), 0),
    ("RGB-keyed", lambda: Image.new("RGB", SIZE, (1, 2, 3)), ("PNG", {"transparency": (1, 2, 3)}), "RGB", (W, W, W), 0),
    ("I;16-keyed", lambda: Image.new("I;16", SIZE, 300), ("PNG", {"transparency": 300}), "I;16", (W, W, W), 0),
    ("F-unit", lambda: Image.new("F", SIZE, 0.6), None, "F", (153 / 255,) * 3, 0),
    ("F-large", lambda: Image.new("F", SIZE, 1000.0), None, "F", (W, W, W), 0),
    ("F-nan", lambda: Image.new("F", SIZE, float("nan")), None, "F", (0, 0, 0), 0),
]
REQUIRED_MODES = {
    "1",
    "L",
    "LA",
    "P",
    "PA",
    "RGB",
    "RGBA",
    "RGBa",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I",
    "I;16",
    "I;16B",
    "I;16L",
    "F",
}


def test_mode_table_covers_every_required_mode():
    made = {case[1]().mode for case in MODE_CASES}
    assert REQUIRED_MODES <= made


@pytest.mark.parametrize(
    "make, fmt, opens_as, expected, tol",
    [pytest.param(*case[1:], id=case[0]) for case in MODE_CASES],
)
def test_every_mode_becomes_rgb(make, fmt, opens_as, expected, tol):
    im = make()
    if fmt is None:
        assert im.mode == opens_as
        x = convert(im)
    else:
        name, kw = fmt if isinstance(fmt, tuple) else (fmt, {})
        data = encode(im, name, **kw)
        assert Image.open(io.BytesIO(data)).mode == opens_as  # the path under test
        x = decode(data)
    check_pixels(x)
    np.testing.assert_allclose(x.reshape(-1, 3).min(0), expected, atol=tol + 1e-6)
    np.testing.assert_allclose(x.reshape(-1, 3).max(0), expected, atol=tol + 1e-6)


def test_wide_range_modes_scale_by_their_maximum():
    ramp = np.arange(12, dtype=np.int64).reshape(3, 4)
    i32 = Image.fromarray((ramp * 100_000).astype(np.int32))  # max 1.1 M > 65535
    assert i32.mode == "I"
    g = np.asarray(images.to_rgb(i32))[..., 0]
    assert g.max() == 255 and g.min() == 0 and g[0, 1] == round(255 / 11)
    f = Image.fromarray(np.array([[0.0, 1.0, 2.0], [np.inf, -3.0, np.nan]], np.float32))
    assert np.asarray(images.to_rgb(f))[..., 0].tolist() == [[0, 128, 255], [255, 0, 0]]


def test_to_rgb_passes_rgb_through():
    im = Image.new("RGB", (3, 3))
    assert images.to_rgb(im) is im


# ---------------------------------------------------------------- orientation
def halves(size=(80, 40)) -> Image.Image:
    """Left half red, right half blue."""
    im = Image.new("RGB", size, (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return im


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 80x40; shown rotated 90 degrees clockwise: 40x80
    data = encode(halves(), "JPEG", exif=exif, quality=95)
    p = preview(data)
    assert p.shape == (80, 40, 3)
    x = decode(data)
    check_pixels(x)
    # the stored left (red) half is the displayed top half
    assert x[:28, :, 0].min() > 0.9 and x[:28, :, 2].max() < 0.1
    assert x[36:, :, 2].min() > 0.9 and x[36:, :, 0].max() < 0.1


def test_without_orientation_nothing_turns():
    x = decode(encode(halves(), "PNG"))
    assert x[:, :28, 0].min() == 1.0 and x[:, 36:, 2].min() == 1.0


@pytest.mark.parametrize("exif", [b"Exif\x00\x00garbage", b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"])
def test_broken_exif_is_ignored_not_fatal(exif):
    data = encode(halves(), "JPEG", exif=exif)
    x = decode(data)
    check_pixels(x)
    assert x[:, :20, 0].min() > 0.9  # as stored


# ---------------------------------------------------------------- formats
@pytest.mark.parametrize(
    "fmt, kw",
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
        ("GIF", {}),
        ("JPEG", {"progressive": True}),
        ("WEBP", {"quality": 90}),
    ],
    ids=["png", "jpeg", "webp-lossless", "bmp", "gif", "jpeg-progressive", "webp-lossy"],
)
def test_each_accepted_format_decodes(fmt, kw):
    data = encode(halves(), fmt, **kw)
    x = decode(data)
    check_pixels(x)
    assert x[:, :28, 0].min() > 0.9 and x[:, 36:, 2].min() > 0.9
    p = preview(data)
    assert p.shape == (40, 80, 3) and p.dtype == np.uint8


def test_camera_mpo_decodes_as_jpeg():
    data = encode(halves(), "MPO", save_all=True, append_images=[Image.new("RGB", (80, 40))])
    check_pixels(decode(data))


@pytest.mark.parametrize("fmt, kw", [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_animation_gives_first_frame(fmt, kw):
    frames = [Image.new("RGB", SIZE, c) for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=50, **kw)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    x = decode(data)
    assert x[..., 0].min() == 1.0 and x[..., 1:].max() == 0.0


def test_extension_and_format_lists_agree():
    assert images.ACCEPTED_FORMATS == ("PNG", "JPEG", "WEBP", "BMP", "GIF")
    assert set(images.ACCEPTED_EXTENSIONS) == {"png", "jpg", "jpeg", "webp", "bmp", "gif"}
    registered = Image.registered_extensions()
    for ext in images.ACCEPTED_EXTENSIONS:
        assert registered["." + ext] in images.ACCEPTED_FORMATS


def _other_formats():
    small = Image.new("RGB", (16, 16), (9, 9, 9))
    yield "tiff", encode(small, "TIFF"), "TIFF"
    yield "ico", encode(small, "ICO"), "icon"
    yield "ppm", encode(small, "PPM"), "cannot identify"  # Pillow reads PPM by default
    yield "tga", encode(small, "TGA"), "cannot identify"
    yield "psd-like", b"8BPS\x00\x01" + bytes(40), "Photoshop"
    yield "pdf-like", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"
    yield "svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', "cannot identify"
    yield "text", "hello, \u00e9t\u00e9\n".encode(), "cannot identify"
    yield "zip", b"PK\x03\x04" + bytes(30), "ZIP"


@pytest.mark.parametrize("data, hint", [pytest.param(*c[1:], id=c[0]) for c in _other_formats()])
def test_other_formats_are_refused(data, hint):
    with pytest.raises(ImageDecodeError) as info:
        decode(data)
    msg = check_message(info.value)
    assert msg.startswith("not an image this app reads (PNG, JPEG, WebP, BMP or GIF)")
    assert hint in msg
    with pytest.raises(ImageDecodeError):
        preview(data)


# ---------------------------------------------------------------- corrupt input
def png_header(width: int, height: int, idat: bytes = zlib.compress(b"\x00" * 64)) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_empty_file():
    for data in (b"", bytearray(), memoryview(b"")):
        with pytest.raises(ImageDecodeError, match=r"^empty file \(0 bytes\)"):
            decode(data)


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed):
    data = np.random.default_rng(seed).bytes(1 + 500 * seed)
    with pytest.raises(ImageDecodeError) as info:
        decode(data)
    check_message(info.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_truncated_files(fmt):
    data = encode(noise(), fmt)
    for cut in (1, 7, 12, 20, 33, len(data) // 3, len(data) // 2, len(data) - 200):
        with pytest.raises(ImageDecodeError) as info:
            decode(data[:cut])
        check_message(info.value)


def test_truncated_message_names_the_problem():
    data = encode(noise(), "PNG")
    with pytest.raises(ImageDecodeError, match="^the file is truncated or corrupt: "):
        decode(data[: len(data) // 2])


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_bit_flipped_headers(fmt):
    data = encode(noise(), fmt)
    for pos in range(0, 40, 3):
        for bit in (0, 7):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            try:
                x = decode(bytes(bad))
            except ImageDecodeError as exc:
                check_message(exc)
            else:
                check_pixels(x)


@pytest.mark.parametrize(
    "width, height, pattern",
    [
        (100_000, 100_000, r"image has 10,000 M pixels; the limit is 25 M pixels"),  # Pillow's bomb error
        (10_000, 10_000, r"image has 100 M pixels; the limit is 25 M pixels"),  # Pillow's bomb warning
        (6_000, 5_000, r"image is 6000×5000 pixels \(30 M\); the limit is 25 M pixels"),  # our own check
        (2**31 - 1, 1, r"the limit is 25 M pixels"),
    ],
)
def test_huge_dimensions_are_refused_before_decoding(width, height, pattern):
    data = png_header(width, height)
    filters, limit = list(warnings.filters), Image.MAX_IMAGE_PIXELS
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=pattern) as info:
        decode(data)
    assert time.perf_counter() - start < 2.0  # sanity bound: nothing was decoded
    assert "resize it first" in check_message(info.value)
    assert warnings.filters == filters and Image.MAX_IMAGE_PIXELS == limit  # nothing global changed


def test_concurrent_decodes_leave_global_state_alone():
    data = [encode(noise(seed=i), "PNG") for i in range(4)] + [png_header(10_000, 10_000)] * 4
    filters, limit = list(warnings.filters), Image.MAX_IMAGE_PIXELS

    def attempt(d):
        try:
            return decode(d).shape
        except ImageDecodeError as exc:
            return check_message(exc)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, data * 5))
    assert results.count((64, 64, 3)) == 20
    assert sum("the limit is 25 M pixels" in str(r) for r in results) == 20
    assert warnings.filters == filters and Image.MAX_IMAGE_PIXELS == limit


def test_custom_pixel_limit():
    data = encode(Image.new("RGB", (20, 20)), "PNG")
    with pytest.raises(ImageDecodeError, match=r"^image is 20×20 pixels \(400\); the limit is 399 pixels"):
        decode(data, max_pixels=399)
    check_pixels(decode(data, max_pixels=400))


def test_oversize_file_is_refused_before_parsing():
    # not even an image: the size check must come first
    data = b"\x00" * 12_900_000
    with pytest.raises(ImageDecodeError, match=r"^file is 12.3 MB; the limit is 10 MB — ") as info:
        decode(data)
    check_message(info.value)
    with pytest.raises(ImageDecodeError, match=r"^file is 10,485,761 bytes; the limit is 10,485,760 bytes"):
        decode(data[: images.MAX_BYTES + 1])
    png = encode(noise(), "PNG")
    with pytest.raises(ImageDecodeError, match=r"^file is 5.\d KB; the limit is 1000 bytes"):
        decode(png, max_bytes=1000)
    with pytest.raises(ImageDecodeError, match=r"the limit is 1000 bytes"):
        preview(png, max_bytes=1000)
    check_pixels(decode(png, max_bytes=len(png)))


def test_jpeg_with_thousands_of_scans_is_refused():
    data = encode(Image.new("L", (64, 64), 100), "JPEG", progressive=True)
    last_scan = data.rindex(b"\xff\xda")
    scan = data[last_scan:-2]  # the final (small) scan, up to EOI
    hostile = data[:-2] + scan * 2000 + data[-2:]
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=r"scans; the limit is 100"):
        decode(hostile)
    assert time.perf_counter() - start < 2.0


def test_zero_width_header():
    with pytest.raises(ImageDecodeError) as info:
        decode(png_header(0, 10))
    check_message(info.value)


# ---------------------------------------------------------------- fuzz
def _seeds() -> list[bytes]:
    frames = [noise(seed=1), noise(seed=2)]
    rotated = Image.Exif()
    rotated[0x0112] = 6
    return [
        encode(noise(), "PNG"),
        encode(palette_image("P", 0, [(255, 0, 0), (0, 9, 9)]), "PNG", transparency=0),
        encode(noise("L"), "PNG"),
        encode(Image.new("I;16", (20, 12), 4000), "PNG"),
        encode(noise(), "JPEG", quality=80),
        encode(noise(), "JPEG", progressive=True, exif=rotated),
        encode(noise("CMYK"), "JPEG"),
        encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        encode(noise(), "BMP"),
        encode(noise("RGBA"), "WEBP", quality=70),
        encode(noise(), "WEBP", lossless=True),
    ]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # truncation
        del b[rng.randrange(1, len(b)) :]
    elif kind == 2:  # byte insertion
        pos = rng.randrange(len(b))
        b[pos:pos] = rng.randbytes(rng.randint(1, 16))
    else:  # overwrite a run, often in the header
        pos = rng.randrange(min(len(b), 64)) if rng.random() < 0.5 else rng.randrange(len(b))
        run = rng.randbytes(rng.randint(1, 8))
        b[pos : pos + len(run)] = run
    return bytes(b)


def test_mutated_files_decode_or_refuse_cleanly():
    rng = random.Random(20240611)
    seeds = _seeds()
    outcomes = {"decoded": 0, "refused": 0}
    for i in range(300):
        data = _mutate(seeds[i % len(seeds)], rng)
        fn = preview if i % 4 == 3 else decode
        try:
            x = fn(data)
        except ImageDecodeError as exc:  # any other exception type fails the test
            check_message(exc)
            outcomes["refused"] += 1
        else:
            if fn is decode:
                check_pixels(x)
            else:
                assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3
            outcomes["decoded"] += 1
    # both outcomes occur, or the mutations are not exercising anything
    assert outcomes["decoded"] > 20 and outcomes["refused"] > 20, outcomes


def _rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _huge_header_png(width: int, height: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.mark.slow
def test_thousands_of_mutants_through_the_upload_path_bounded_in_time_and_memory():
    """3,000 mutated files (bit flips, truncations, insertions, header overwrites of PNG,
    palette, 16-bit, JPEG, progressive, CMYK, animated GIF, BMP and WebP seeds, plus huge
    headers and zero-size files, under wrong extensions) go through the Predict page's
    loader: each ends as an image or one line naming the file, within a time bound per
    file, and memory does not grow."""
    from mlc.inference import load_uploads

    rng = random.Random(7)
    seeds = _seeds() + [_huge_header_png(100_000, 100_000), _huge_header_png(1, 60_000_000), b""]
    names = ["a.png", "b.jpg", "c.gif", "d.webp", "e.bmp", "f.txt", "noext"]
    baseline = _rss_mib()
    slowest, decoded, refused = 0.0, 0, 0
    for i in range(3000):
        seed = seeds[i % len(seeds)]
        data = _mutate(seed, rng) if seed and i % 7 else seed
        name = names[i % len(names)]
        t = time.perf_counter()
        items, problems = load_uploads([(name, data)])
        slowest = max(slowest, time.perf_counter() - t)
        if items:
            check_pixels(items[0].pixels)
            decoded += 1
        else:
            assert len(problems) == 1 and problems[0].startswith(f"{name}: ") and "\n" not in problems[0]
            refused += 1
    grown = _rss_mib() - baseline
    assert decoded > 200 and refused > 200, (decoded, refused)
    assert slowest < 3.0, f"one file took {slowest:.2f} s"
    assert grown < 300, f"memory grew by {grown:.0f} MiB over 3,000 files"


# ---------------------------------------------------------------- API details
def test_output_is_a_fresh_contiguous_array():
    data = encode(halves(), "PNG")
    x = decode(data, size=17)
    check_pixels(x, 17)
    assert x.flags.writeable and x.flags.owndata
    p = preview(data)
    assert p.flags.c_contiguous and p.flags.writeable


def test_preview_keeps_aspect_and_never_enlarges():
    big = encode(Image.new("RGB", (1200, 300), (1, 2, 3)), "PNG")
    assert preview(big).shape == (128, 512, 3)
    assert preview(big, max_side=100).shape == (25, 100, 3)
    small = encode(Image.new("RGB", (30, 7)), "PNG")
    assert preview(small).shape == (7, 30, 3)
    thin = encode(Image.new("L", (2000, 1)), "PNG")
    assert preview(thin).shape == (1, 512, 3)


def test_large_jpeg_is_decoded_at_reduced_scale_correctly():
    data = encode(halves((1600, 800)), "JPEG", quality=90)
    x = decode(data, size=32)
    assert x[:, :14, 0].min() > 0.9 and x[:, 18:, 2].min() > 0.9


def test_to_uint8_round_trips_decode():
    data = encode(noise(size=(64, 64)), "PNG")
    x = decode(data)
    assert np.array_equal(images.to_uint8(x), np.asarray(Image.open(io.BytesIO(data))))
    with pytest.raises(ValueError, match="float pixels"):
        images.to_uint8(np.zeros(3, np.uint8))


@pytest.mark.parametrize("bad", [0, 1025, -1, 2.5, True, "64", None])
def test_bad_size_is_a_programming_error(bad):
    data = encode(halves(), "PNG")
    with pytest.raises(ValueError, match="size must be a whole number from 1 to 1024") as info:
        decode(data, size=bad)
    assert type(info.value) is ValueError


@pytest.mark.parametrize("kw", [{"max_bytes": 0}, {"max_pixels": -5}, {"max_side": 0}])
def test_bad_limits_are_programming_errors(kw):
    data = encode(halves(), "PNG")
    fn = preview if "max_side" in kw else decode
    with pytest.raises(ValueError, match="must be a whole number") as info:
        fn(data, **kw)
    assert type(info.value) is ValueError


def test_non_bytes_is_a_type_error():
    with pytest.raises(TypeError, match=r"getvalue\(\)"):
        decode("picture.png")
    with pytest.raises(TypeError):
        decode(io.BytesIO(b"\x89PNG"))


def test_bytes_like_inputs():
    data = encode(halves(), "PNG")
    for variant in (bytearray(data), memoryview(data)):
        check_pixels(decode(variant))


def test_messages_are_plain_text():
    # Pillow's reasons may quote file content; nothing markdown-ish gets through
    bad = png_header(8, 8, idat=b"[x](http://e.vil) *" * 3)
    with pytest.raises(ImageDecodeError) as info:
        decode(bad)
    msg = check_message(info.value)
    assert not set("[]*`<>_#|") & set(msg), msg


def test_pillow_limit_caps_a_larger_pixel_limit():
    with pytest.raises(ImageDecodeError, match=r"^image has 100 M pixels; the limit is 89 M pixels"):
        decode(png_header(10_000, 10_000), max_pixels=500_000_000)
