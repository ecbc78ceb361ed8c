"""Runs in and out of a session: the files a run downloads as, importing uploaded files by their kind,
and adding them to the session.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from mlc import run_summary, runfiles

if TYPE_CHECKING:
    from mlc.config import RunConfig
    from mlc.jobs import SessionJobs
    from mlc.runs import Run


#: The name of a bundle of every run of a session.
BUNDLE_NAME = "multilabel-lab-runs.zip"


@dataclass(frozen=True)
class Download:
    """One file a visitor can download: what the button says, how to make the bytes (on click), its name."""

    label: str
    data: Callable[[], bytes | str]
    file_name: str
    mime: str
    key: str
    help: str
    icon: str = ":material/download:"
    disabled: bool = False


def downloads(run: Run, runs: Sequence[Run]) -> list[Download]:
    """The files of ``run`` (its model, its JSON) and the bundle of every one of ``runs`` that has a model."""
    from mlc.inference import runs_with_models

    stem, with_models = run_summary.file_stem(run), runs_with_models(runs)
    return [
        Download(
            "Model (.keras)",
            lambda: runfiles.model_file(run),
            f"{stem}.keras",
            "application/zip",
            "download_model",
            "The probability model (sigmoid outputs), loadable with keras.saving.load_model.",
            disabled=run.model is None,
        ),
        Download(
            "Run (JSON)",
            lambda: runfiles.run_json(run),
            f"{stem}.json",
            "application/json",
            "download_json",
            "Config, per-epoch history and the validation report.",
        ),
        Download(
            "All runs (bundle)",
            lambda: runfiles.bundle(with_models),
            BUNDLE_NAME,
            "application/zip",
            "download_bundle",
            "Every run with its model, in one .zip another visitor can import.",
            icon=":material/folder_zip:",
            disabled=not with_models,
        ),
    ]


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
