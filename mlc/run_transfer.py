"""Runs in and out of a session: importing uploaded files by their kind, and adding them to the session.

The Runs & files page hands over ``(file name, bytes)`` pairs; what each file
is follows from its suffix:

* ``.zip``: a bundle of runs (:func:`mlc.runfiles.unbundle`);
* ``.keras``: a model file, with the run JSON of the same name (``.json``) when
  it was uploaded too; without it, ``fallback`` (the Train page's config) gives
  the tags and settings;
* ``.json``: only read as the partner of a ``.keras`` file of the same name.

Every file that cannot be used becomes one line ``"<name>: <why>"``; the others
still import.

>>> import_files([("notes.json", b"{}")], fallback=None)
([], ['notes.json: a run JSON needs its model file (same name, .keras) to be imported'])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

from mlc import runfiles

if TYPE_CHECKING:
    from mlc.config import RunConfig
    from mlc.jobs import SessionJobs
    from mlc.training import Run


def _with_suffix(name: str, suffix: str) -> str:
    return str(PurePath(name).with_suffix(suffix))


def import_files(files: Sequence[tuple[str, bytes]], fallback: RunConfig | None) -> tuple[list[Run], list[str]]:
    """Runs rebuilt from uploaded ``(name, data)`` files, and one problem line per file that failed."""
    by_name = dict(files)
    runs: list[Run] = []
    problems: list[str] = []
    for name, data in files:
        suffix = PurePath(name).suffix.lower()
        if suffix == ".zip":
            try:
                got, why = runfiles.unbundle(data)
            except runfiles.RunFileError as exc:  # not a bundle at all: one line, the other files still load
                got, why = [], [str(exc)]
            runs += got
            problems += [f"{name}: {w}" for w in why]
        elif suffix == ".keras":
            partner = by_name.get(_with_suffix(name, ".json"))
            try:
                runs.append(runfiles.run_from_files(data, partner, config=None if partner is not None else fallback))
            except runfiles.RunFileError as exc:
                problems.append(f"{name}: {exc}")
        elif suffix == ".json" and _with_suffix(name, ".keras") not in by_name:
            problems.append(f"{name}: a run JSON needs its model file (same name, .keras) to be imported")
    return runs, problems


def add_to_session(jobs: SessionJobs, runs: Sequence[Run]) -> tuple[list[Run], list[str]]:
    """Add ``runs`` to the session: the runs added (numbered by the session) and one line per refused run."""
    added, problems = [], []
    for run in runs:
        try:
            added.append(jobs.add(run))
        except (RuntimeError, ValueError) as exc:
            problems.append(f"{run.label}: {exc}")
    return added, problems
