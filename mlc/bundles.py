"""Bundles: several runs in one zip (``run-<n>/run.json`` + ``model.keras`` each, and ``manifest.json``) and back.

:func:`bundle` packs runs that have a model; :func:`unbundle` rebuilds them
with :func:`mlc.runrecords.run_from_files`. A bundle is untrusted: nothing is
ever extracted to disk by member name, its size, member count and unpacked size
are bounded before anything is read, and a broken run in it is reported while
the others still load.

>>> unbundle(b"not a zip")
Traceback (most recent call last):
...
mlc.uploads.RunFileError: not a run bundle: a bundle is a zip archive and these bytes are not one; download it again
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import re
import uuid
import zipfile
from collections.abc import Sequence
from typing import Any

from mlc.checks import as_bytes, first_line, short_repr, whole
from mlc.modelfiles import MAX_MODEL_BYTES, model_file
from mlc.runrecords import MAX_RUN_JSON_BYTES, run_from_files, run_json
from mlc.runs import Run
from mlc.uploads import MiB, RunFileError, check_size, check_zip_size, safe_run_id, size_text

#: Largest bundle upload accepted, in bytes (200 MiB).
MAX_BUNDLE_BYTES = 200 * MiB
#: Most runs one bundle may hold.
MAX_BUNDLE_RUNS = 64
#: Bundle layout: ``manifest.json`` names this format and version.
BUNDLE_FORMAT = "mlc-runs"
BUNDLE_VERSION = 1
APP_NAME = "Multi-label Lab"
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$")


def bundle(runs: Sequence[Run]) -> bytes:
    """A zip of several runs: ``run-<number or id>/run.json`` + ``model.keras`` each, and ``manifest.json``.

    The manifest holds ``format`` ("mlc-runs"), ``format_version``, ``app``,
    ``created`` (UTC, ISO 8601) and one entry per run (folder, id, number,
    label, status, dataset, data_name, mAP; own images never travel, only their
    name). Every run must have a model; at most :data:`MAX_BUNDLE_RUNS` runs (what :func:`unbundle` accepts).
    """
    runs = list(runs)
    if not runs:
        raise ValueError("bundle needs at least one run")
    if len(runs) > MAX_BUNDLE_RUNS:
        raise ValueError(f"a bundle holds at most {MAX_BUNDLE_RUNS} runs, got {len(runs)}; pick fewer runs")
    for run in runs:
        if not isinstance(run, Run):
            raise TypeError(f"runs must be mlc.runs.Run objects, got {type(run).__name__}")
        if run.model is None:
            raise ValueError(f"run {run.label!r} has no model (status {run.status!r}); leave it out of the bundle")
    entries, used = [], set()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for run in runs:
            folder = f"run-{run.number}" if run.number else f"run-{safe_run_id(run.id)}"
            if folder in used:
                folder = f"{folder}-{safe_run_id(run.id)}"
            while folder in used:
                folder = f"{folder}-{uuid.uuid4().hex[:4]}"
            used.add(folder)
            zf.writestr(f"{folder}/run.json", run_json(run))
            zf.writestr(f"{folder}/model.keras", model_file(run))
            entries.append(
                {
                    "folder": folder,
                    "id": run.id,
                    "number": run.number,
                    "label": run.label,
                    "status": run.status,
                    "dataset": run.config.dataset,
                    "data_name": run.config.data_name,
                    "map": _finite_or_none((run.report or {}).get("map")),
                }
            )
        manifest = {
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_VERSION,
            "app": APP_NAME,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "runs": entries,
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
    return buffer.getvalue()


def unbundle(
    data: bytes,
    *,
    max_bytes: int = MAX_BUNDLE_BYTES,
    max_runs: int = MAX_BUNDLE_RUNS,
) -> tuple[list[Run], list[str]]:
    """Runs from a bundle, rebuilt by :func:`run_from_files`, and one problem line per refused run.

    A run folder is any folder holding ``run.json`` and ``model.keras``; the
    ``manifest.json`` is optional (a zip of folders saved by
    :class:`RunStore` or by hand loads too), but when present it must be this
    app's format and it orders the runs. Nothing is ever extracted to disk by
    member name: members are read into memory, and names that are absolute,
    contain ``..`` or odd characters are ignored (one problem line lists them).

    Raises :class:`RunFileError` when the bundle as a whole is refused: not a
    zip, larger than ``max_bytes``, more than ``max_runs`` runs or too many
    members, members unpacking to more than ``4 * max_bytes`` (zip bomb guard),
    a foreign manifest, or no run at all.
    """
    data = as_bytes(data, "data")
    max_bytes = whole(max_bytes, "max_bytes", 1, 2**40)
    max_runs = whole(max_runs, "max_runs", 1, 10_000)
    if len(data) > max_bytes:
        raise RunFileError(
            f"the bundle is {size_text(len(data))}; at most {size_text(max_bytes)} is accepted — bundle fewer runs"
        )
    if not data.startswith(b"PK"):
        raise RunFileError("not a run bundle: a bundle is a zip archive and these bytes are not one; download it again")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise RunFileError(
            f"the bundle is a damaged or truncated zip archive ({first_line(exc)}); download it again"
        ) from exc
    with zf:
        infos = zf.infolist()
        check_zip_size(
            infos,
            "bundle",
            4 * max_runs + 16,
            max_bytes,
            f"at most {4 * max_runs + 16} are accepted (two per run, at most {max_runs} runs)",
        )
        folders, ignored, manifest_info = _bundle_layout(infos)
        problems: list[str] = []
        if ignored:
            shown = ", ".join(repr(n[:80]) for n in ignored[:3])
            problems.append(f"ignored {len(ignored)} unexpected file(s) in the bundle: {shown}")
        order = _manifest_order(zf, manifest_info) if manifest_info is not None else []
        if not folders:
            raise RunFileError("no runs in this bundle: expected folders that each hold run.json and model.keras")
        if len(folders) > max_runs:
            raise RunFileError(f"the bundle holds {len(folders)} runs; at most {max_runs} are accepted")
        names = [f for f in order if f in folders] + sorted((f for f in folders if f not in order), key=_natural_key)
        problems += [f"{f}: listed in manifest.json but missing from the bundle" for f in order if f not in folders]
        runs: list[Run] = []
        for name in names:
            try:
                run = _run_from_members(zf, folders[name])
            except RunFileError as exc:
                problems.append(f"{name}: {exc}")
                continue
            run.message += f"; from bundle folder {name}"
            runs.append(run)
    return runs, problems


def _bundle_layout(infos) -> tuple[dict[str, dict], list[str], Any]:
    """Group members into run folders; return (folders, ignored names, manifest info)."""
    folders: dict[str, dict] = {}
    ignored: list[str] = []
    manifest = None
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        if name == "manifest.json":
            manifest = info
            continue
        parts = name.split("/")
        if (
            len(parts) < 2
            or parts[-1] not in ("run.json", "model.keras")
            or not all(_SAFE_SEGMENT.match(p) and p not in (".", "..") for p in parts[:-1])
        ):
            ignored.append(name)
            continue
        folder = "/".join(parts[:-1])
        slot = folders.setdefault(folder, {})
        slot.setdefault("duplicates", 0)
        if parts[-1] in slot:
            slot["duplicates"] += 1
        slot[parts[-1]] = info
    return folders, ignored, manifest


def _manifest_order(zf: zipfile.ZipFile, info) -> list[str]:
    if info.file_size > MiB:
        raise RunFileError(f"the bundle's manifest.json is {size_text(info.file_size)}; at most 1 MiB is accepted")
    try:
        manifest = json.loads(zf.read(info).decode("utf-8"))
    except Exception as exc:
        raise RunFileError(
            f"the bundle's manifest.json is not valid JSON ({first_line(exc)}); download the bundle again"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise RunFileError(f"not a run bundle of this app: manifest.json does not name the format {BUNDLE_FORMAT!r}")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= BUNDLE_VERSION:
        raise RunFileError(
            f"the bundle has format version {short_repr(version)}; this app reads version {BUNDLE_VERSION} "
            "— update the app or export the runs again"
        )
    entries = manifest.get("runs", [])
    if not isinstance(entries, list):
        raise RunFileError("the bundle's manifest.json: 'runs' must be a list")
    return [e["folder"] for e in entries if isinstance(e, dict) and isinstance(e.get("folder"), str)]


def _run_from_members(zf: zipfile.ZipFile, members: dict) -> Run:
    if members.get("duplicates"):
        raise RunFileError("the folder holds the same file twice; refused as ambiguous")
    missing = [n for n in ("run.json", "model.keras") if n not in members]
    if missing:
        raise RunFileError(f"no {' and no '.join(missing)} in this folder; each run needs run.json and model.keras")
    model_info, json_info = members["model.keras"], members["run.json"]
    check_size(model_info.file_size, "model.keras", MAX_MODEL_BYTES)
    check_size(json_info.file_size, "run.json", MAX_RUN_JSON_BYTES)
    try:
        model_bytes, json_bytes = zf.read(model_info), zf.read(json_info)
    except Exception as exc:  # CRC errors, bad compression, encryption
        raise RunFileError(f"the files could not be read from the bundle ({first_line(exc)})") from exc
    return run_from_files(model_bytes, json_bytes)


def _finite_or_none(value: Any):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]
