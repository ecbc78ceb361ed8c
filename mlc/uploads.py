"""What every run file coming in shares: one error type, size lines and the zip bomb guard.

A model file, a ``run.json``, a bundle or a folder of the run directory may come
from anyone, so :mod:`mlc.modelfiles`, :mod:`mlc.runrecords`, :mod:`mlc.bundles`
and :mod:`mlc.runstore` refuse what they cannot take with one exception type,
:class:`RunFileError`, whose message is one line a visitor can act on. Their own
limits live with them (``MAX_MODEL_BYTES`` in :mod:`mlc.modelfiles`, ...).

>>> check_size(3 * MiB, "run.json", 2 * MiB)
Traceback (most recent call last):
...
mlc.uploads.RunFileError: run.json is 3.0 MiB; at most 2.0 MiB is accepted
>>> safe_run_id("3f2a9c01d4e5")
'3f2a9c01d4e5'
"""

from __future__ import annotations

import re
from typing import Any

MiB = 1024 * 1024
#: Zip bomb guard: the members of an archive may unpack to at most this many
#: times the archive's size limit (their declared sizes are checked before
#: anything is read; Python's zipfile never inflates a member past its declared size).
UNPACK_FACTOR = 4
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RunFileError(ValueError):
    """An uploaded model, run JSON or bundle was refused; ``str()`` is one line."""


def size_text(n: int) -> str:
    """A byte count for a message: one decimal below 10 MiB.

    >>> size_text(1536 * 1024), size_text(50 * MiB)
    ('1.5 MiB', '50 MiB')
    """
    return f"{n / MiB:.1f} MiB" if n < 10 * MiB else f"{n / MiB:.0f} MiB"


def check_size(n: int, what: str, limit: int) -> None:
    """Raise :class:`RunFileError` when ``what`` (``n`` bytes) is over ``limit`` bytes."""
    if n > limit:
        raise RunFileError(f"{what} is {size_text(n)}; at most {size_text(limit)} is accepted")


def check_zip_size(infos, what: str, max_members: int, max_bytes: int, members_hint: str, size_hint: str = "") -> None:
    """Refuse an archive with too many members, or one that would unpack to more than
    :data:`UNPACK_FACTOR` x ``max_bytes`` (a zip bomb), before anything is read from it.

    ``infos`` are its ``zipfile.ZipInfo`` entries (declared sizes).
    """
    if len(infos) > max_members:
        raise RunFileError(f"the {what} holds {len(infos)} files; {members_hint}")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > UNPACK_FACTOR * max_bytes:
        raise RunFileError(
            f"the {what} unpacks to {size_text(unpacked)}; at most {size_text(UNPACK_FACTOR * max_bytes)} is accepted "
            f"(a zip bomb guard){size_hint}"
        )


def safe_run_id(run_id: Any) -> str:
    """``run_id`` if it may name a folder or a bundle member (1 to 64 letters, digits, ``-``, ``_``).

    >>> safe_run_id("../up")
    Traceback (most recent call last):
    ...
    ValueError: run id must be 1 to 64 letters, digits, '-' or '_', got '../up'
    """
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ValueError(f"run id must be 1 to 64 letters, digits, '-' or '_', got {run_id!r}")
    return run_id
