"""Reading a visitor's archive or folder safely, and the problem rows every finding becomes.

The entries of a .zip (a path or an upload's bytes) or a folder, by a cleaned
relative path: a name that would leave the archive (``../x``, ``/x``, ``C:/x``)
or a symlink out of the folder is a :class:`DataProblem`, never read; archives
inside the archive are refused unopened; macOS/Windows leftovers are ignored.
Every byte read counts against one budget, *while* reading (a zip's declared
sizes can lie), and nothing is ever written to disk. :class:`Reread` decodes the
same entries again at another size. :mod:`mlc.imagesets` builds the data set on top.

>>> clean_path("cats/./a.jpg"), clean_path("../a.jpg"), clean_path("C:/x.jpg")
('cats/a.jpg', None, None)
>>> problem_lines([DataProblem(ProblemKind.MISSING_IMAGE, "row 3", "a.jpg is not in the archive")])
['error: row 3: a.jpg is not in the archive']
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlc import checks, images
from mlc.states import ProblemKind, Severity

MiB = 1024 * 1024
ARCHIVE_EXTENSIONS = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")


@dataclass(frozen=True)
class DataProblem:
    """One finding: ``kind``, ``where`` (``"row 4"`` of the CSV, header = row 1, or a file path), ``message``."""

    kind: ProblemKind
    where: str
    message: str
    severity: Severity = Severity.ERROR

    def line(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}" if self.where else f"{self.severity}: {self.message}"


class ImageSetError(ValueError):
    """The images cannot be used at all; ``problems`` lists why (``str()`` is the first lines)."""

    def __init__(self, problems: Sequence[DataProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(problem_lines(self.problems, limit=3)))


def problem_lines(problems: Sequence[DataProblem], limit: int = 20) -> list[str]:
    """The first ``limit`` problems as lines, then ``"… and N more"``.

    >>> rows = [DataProblem(ProblemKind.MISSING_IMAGE, f"row {i}", "gone") for i in (2, 3, 4)]
    >>> problem_lines(rows, limit=2)
    ['error: row 2: gone', 'error: row 3: gone', '… and 1 more']
    """
    lines = [p.line() for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"… and {len(problems) - limit} more")
    return lines


class MemberError(Exception):
    """One entry cannot be read (a corrupt or encrypted zip member, a link out of the folder); one line."""

    def __init__(self, message: str, unsafe: bool = False):
        super().__init__(message)
        self.unsafe = unsafe


class Store:
    """Entries of a zip or a folder by their cleaned relative path; :meth:`read` counts bytes against the budget."""

    def __init__(self, names: dict[str, Any], reader: Callable[[Any], Any], limit: int, close=lambda: None):
        self.names, self._reader, self.limit, self.read_total, self.close = names, reader, limit, 0, close
        self.top = ""
        self.raw: dict[str, str] = {}  # cleaned path -> the name in the archive, set by list_entries

    def adopt(self, top: str, raw: dict[str, str]) -> None:
        """Name the entries as the same source did when :func:`list_entries` listed it (``top``, ``raw``)."""
        self.names = {p: self.names[r] for p, r in raw.items() if r in self.names}
        self.top, self.raw = top, raw

    def has(self, entry: str) -> bool:
        return self.top + entry in self.names

    def read(self, entry: str, most: int | None = None) -> bytes:
        """The entry's bytes (at most ``most`` + 1 of them).

        :class:`ImageSetError` when the total goes over the limit; :class:`MemberError`
        for anything else that goes wrong (hostile archives raise many exception types).
        """
        chunks, got = [], 0
        try:
            with self._reader(self.names[self.top + entry]) as f:
                while chunk := f.read(1 << 16):
                    got += len(chunk)
                    self.read_total += len(chunk)
                    if self.read_total > self.limit:
                        raise ImageSetError([too_large(f"unpacks to more than {self.limit // MiB} MB", self.limit)])
                    chunks.append(chunk)
                    if most is not None and got > most:
                        break
        except (ImageSetError, MemberError):
            raise
        except Exception as exc:  # BadZipFile, NotImplementedError, RuntimeError (encrypted), zlib.error, EOFError...
            raise MemberError(f"cannot be read ({checks.first_line(exc, 120, with_type=False)})") from exc
        return b"".join(chunks)


@dataclass(frozen=True)
class Opener:
    """Opens the source afresh as a :class:`Store` (images are re-read at another size); picklable.

    ``data``: an upload's zip bytes (kept, so the images can be decoded again), else ``path``.
    """

    data: bytes | None
    path: str | None
    folder: bool
    limit: int

    def __call__(self) -> Store:
        if self.data is not None:
            return zip_store(io.BytesIO(self.data), self.limit)
        return (folder_store if self.folder else zip_store)(Path(self.path), self.limit)


def open_source(source: Any, limit: int) -> tuple[Opener, str]:
    """An :class:`Opener` for a .zip path, a folder path, zip bytes or an upload object, and the source's name."""
    if hasattr(source, "getvalue") or isinstance(source, (bytes, bytearray, memoryview)):
        upload = hasattr(source, "getvalue")  # Streamlit's UploadedFile, io.BytesIO
        data = bytes(source.getvalue() if upload else source)
        name = Path(str(getattr(source, "name", "") or "uploaded images")).stem if upload else "uploaded images"
        if len(data) > limit:
            raise ImageSetError([too_large(f"the archive is {len(data) / MiB:.1f} MB", limit)])
        return Opener(data, None, False, limit), name
    path = Path(os.fspath(source))
    if path.is_dir():
        return Opener(None, str(path), True, limit), path.name
    if not path.is_file():
        raise ImageSetError([DataProblem(ProblemKind.LAYOUT, str(path), "no such file or folder")])
    if path.stat().st_size > limit:
        raise ImageSetError([too_large(f"the archive is {path.stat().st_size / MiB:.1f} MB", limit)])
    return Opener(None, str(path), False, limit), path.stem


def zip_store(file, limit: int) -> Store:
    try:
        z = zipfile.ZipFile(file)
    except Exception as exc:  # a hostile archive may raise almost anything here
        reason = checks.first_line(exc, 120, with_type=False)
        raise ImageSetError([DataProblem(ProblemKind.LAYOUT, "", f"not a readable .zip archive ({reason})")]) from None
    infos = {i.filename: i for i in z.infolist() if not i.is_dir()}
    return Store(infos, z.open, limit, close=z.close)


def folder_store(root: Path, limit: int) -> Store:
    names: dict[str, Any] = {}
    for folder, _dirs, files in os.walk(root):  # symlinked folders are not followed
        for f in files:
            p = Path(folder, f)
            names[p.relative_to(root).as_posix()] = p
    base = root.resolve()

    def opener(p: Path):
        if not p.resolve().is_relative_to(base):  # a symlink pointing out of the folder
            raise MemberError("is a link out of the folder; left out", unsafe=True)
        return open(p, "rb")

    return Store(names, opener, limit)


def clean_path(name: str) -> str | None:
    """A member name as a relative POSIX path, or None if it would leave the archive."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return None if ".." in parts or not parts else "/".join(parts)


def _junk(path: str) -> bool:
    """macOS and Windows leftovers (``__MACOSX/``, ``.DSStore``, ``Thumbs.db``): left alone, counted as ignored."""
    parts = path.split("/")
    return parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts) or parts[-1].lower() == "thumbs.db"


def list_entries(store: Store, problems: list[DataProblem], limit: int, max_images: int) -> tuple[list[str], int]:
    """Cleaned entry names below the top (unsafe, nested archives and junk left out), and the junk count."""
    if len(store.names) > 4 * max_images + 1000:
        raise ImageSetError([too_many(len(store.names), max_images, "files")])
    clean: dict[str, str] = {}
    ignored = 0
    for raw in store.names:
        path = clean_path(raw)
        if path is None:
            problems.append(DataProblem(ProblemKind.UNSAFE_PATH, raw, "this path leaves the archive; left out"))
        elif _junk(path):
            ignored += 1
        elif path.lower().endswith(ARCHIVE_EXTENSIONS):
            problems.append(
                DataProblem(ProblemKind.NESTED_ARCHIVE, path, "an archive inside the archive is never opened; left out")
            )
        else:
            clean[path] = raw
    declared = sum(getattr(store.names[r], "file_size", 0) for r in clean.values())
    if declared > limit:
        raise ImageSetError([too_large(f"its files unpack to {declared / MiB:.1f} MB", limit)])
    store.names, store.raw = {p: store.names[r] for p, r in clean.items()}, clean
    firsts = {p.split("/")[0] for p in clean}
    if len(firsts) == 1 and all("/" in p for p in clean):
        inner = [p.split("/", 1)[1] for p in clean]
        # one top folder: the data set is inside it, unless it is the only tag folder
        if any("/" in p or p.lower().endswith(".csv") for p in inner):
            store.top = firsts.pop() + "/"
            return inner, ignored
    return list(clean), ignored


def too_large(what: str, limit: int) -> DataProblem:
    return DataProblem(ProblemKind.TOO_LARGE, "", f"{what}; at most {limit // MiB} MB is accepted (MLC_MAX_DATASET_MB)")


def too_many(n: int, most: int, what: str = "images") -> DataProblem:
    return DataProblem(
        ProblemKind.TOO_MANY, "", f"{n:,} {what}; at most {most:,} images are accepted (MLC_MAX_DATASET_IMAGES)"
    )


def csv_text(data: bytes, where: str, problems: list[DataProblem]) -> str:
    """UTF-8 (a BOM is fine), UTF-16 with a BOM, else Windows-1252 with a warning (Latin-1 for its 5 holes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    problems.append(
        DataProblem(
            ProblemKind.ENCODING,
            where,
            "not UTF-8; read as Windows-1252 (check accented names, or save it as CSV UTF-8)",
            Severity.WARNING,
        )
    )
    return text


def decode_uint8(data: bytes, size: int) -> np.ndarray:
    """uint8 (size, size, 3): :func:`mlc.images.decode` (squashed, neither cropped nor padded), rounded."""
    return images.to_uint8(images.decode(data, size=size))


@dataclass(frozen=True)
class Reread:
    """The same images at another size, from the source again; picklable (a worker process re-decodes too)."""

    opener: Opener
    top: str
    raw: dict[str, str]
    members: tuple[str, ...]
    digests: tuple[str, ...]

    def __call__(self, size: int) -> np.ndarray:
        again = self.opener()
        again.adopt(self.top, self.raw)
        out = np.empty((len(self.members), size, size, 3), np.uint8)
        try:
            for k, (member, digest) in enumerate(zip(self.members, self.digests)):
                try:
                    data = again.read(member, most=images.MAX_BYTES)
                except MemberError as exc:
                    raise ValueError(f"{member} {exc} now; read the images again") from None
                if hashlib.sha256(data).hexdigest() != digest:  # a changed file is refused, not mixed in
                    raise ValueError(f"{member} changed since the images were read; read them again")
                out[k] = decode_uint8(data, size)
        finally:
            again.close()
        return out
