"""Run records as files: a run's ``run.json`` download, and whole runs rebuilt from uploaded files.

* :func:`run_json` is the run's JSON record (config, summary, history, report),
  as :meth:`mlc.runs.Run.to_json` writes it.
* :func:`run_from_files` rebuilds a whole :class:`~mlc.runs.Run` from a model
  file and, optionally, its ``run.json``: the validation scenes are regenerated
  from the config exactly as training made them, so the Predict and Evaluate
  pages can use the run like one trained here (status ``"imported"``).

Uploaded text is untrusted: a ``run.json`` that is too large, not UTF-8, not
JSON, or holds an invalid config, an unknown status or history rows that are
not numbers is a :class:`~mlc.uploads.RunFileError` with one line.

>>> run_from_files(b"PK", "[]")
Traceback (most recent call last):
...
mlc.uploads.RunFileError: run.json must hold a JSON object with a 'config', got a list
"""

from __future__ import annotations

import json

import numpy as np

from mlc import data as data_mod
from mlc import datasets, metrics
from mlc.checks import first_line, json_type
from mlc.config import RunConfig
from mlc.modelfiles import load_model_file
from mlc.runs import Run
from mlc.states import RunStatus
from mlc.training import predict_probabilities
from mlc.uploads import MiB, RunFileError, check_size

#: Largest ``run.json`` accepted, in bytes (long runs keep one history row per batch).
MAX_RUN_JSON_BYTES = 20 * MiB
#: Validation scenes regenerated for an imported run: at most this many (a
#: multiple of the scene generator's chunk size, so they are exactly the first
#: scenes of the original validation split) ...
MAX_IMPORT_VAL_SIZE = 5120
#: ... and at most this many bytes of float32 pixels (fewer scenes for large images).
MAX_IMPORT_VAL_BYTES = 256 * MiB


def run_json(run: Run) -> str:
    """The run's JSON record (config, summary, history, report), as :meth:`Run.to_json` writes it."""
    if not isinstance(run, Run):
        raise TypeError(f"run must be a mlc.runs.Run, got {type(run).__name__}")
    return run.to_json(indent=2)


def run_from_files(
    model_data: bytes,
    run_json_text: str | bytes | None = None,
    *,
    config: RunConfig | None = None,
) -> Run:
    """Rebuild a :class:`~mlc.runs.Run` from an uploaded model and, optionally, its ``run.json``.

    The config comes from ``run_json_text`` when given (checked by
    :meth:`Run.from_dict`), else from ``config``, else the app's default
    five tags. The validation scenes are regenerated with
    :func:`mlc.training.make_data` from that config — the very scenes training
    scored on — and the model's probabilities on them give ``val_probabilities``
    and ``report``. To bound server work at most :data:`MAX_IMPORT_VAL_SIZE`
    scenes (fewer for large images, :data:`MAX_IMPORT_VAL_BYTES` of pixels) are
    used: the first ones of the original split, so the report of a larger
    split is then computed on its first part. History and timings come from the
    JSON. The run gets status ``"imported"`` and a fresh ``id``.

    Raises :class:`RunFileError` for a refused model or JSON.
    """
    if config is not None and not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig or None, got {type(config).__name__}")
    record, was = _parse_run_json(run_json_text) if run_json_text is not None else (None, "")
    config = record.config if record is not None else config or RunConfig()
    model = load_model_file(model_data, num_classes=config.num_classes, image_size=config.image_size)

    run = record if record is not None else Run(config=config)  # history and timings from the JSON
    run.status, run.model = RunStatus.IMPORTED, model
    run.message = f"imported (was {was})" if was else "imported from a model file"
    if not datasets.DATASETS[config.dataset].builtin:
        # own images never travel with a run: keep the recorded report, predict, but do not pretend to re-score
        run.message += (
            f"; trained on your own images ({config.data_name or 'unnamed'}), which are not here: "
            "it predicts, but cannot be re-scored"
        )
        return run
    n_val = import_val_size(config)
    n_test = min(config.test_size, n_val)
    splits = datasets.make_splits(config.replace(train_size=1, val_size=n_val, test_size=n_test))
    (x_val, y_val), (x_test, y_test) = splits.val, splits.test
    try:
        probabilities = predict_probabilities(model, x_val)
    except Exception as exc:
        raise RunFileError(f"the model could not run on the validation scenes: {first_line(exc)}") from exc
    if not np.isfinite(probabilities).all():
        raise RunFileError("the model outputs NaN or infinite values on the validation scenes; retrain or re-save it")

    if n_val < config.val_size:
        run.message += f"; scored on the first {n_val} of {config.val_size} validation scenes"
    run.val_labels = y_val
    run.val_probabilities = probabilities
    run.report = metrics.report(y_val, probabilities, classes=config.classes)
    run.test_labels, run.test_probabilities = y_test, predict_probabilities(model, x_test)
    run.test_report = metrics.report(y_test, run.test_probabilities, classes=config.classes)
    return run


def import_val_size(config: RunConfig) -> int:
    """How many validation scenes :func:`run_from_files` regenerates for ``config``.

    >>> import_val_size(RunConfig(val_size=1000)), import_val_size(RunConfig(val_size=50_000))
    (1000, 5120)
    >>> import_val_size(RunConfig(val_size=50_000, image_size=256))
    256
    """
    chunk = data_mod.CHUNK  # whole generator chunks: the same scenes as the original split
    per_scene = config.image_size**2 * 3 * 4
    cap = min(MAX_IMPORT_VAL_SIZE, MAX_IMPORT_VAL_BYTES // per_scene)
    cap = max(chunk, cap // chunk * chunk)
    return min(config.val_size, cap)


def _parse_run_json(text: str | bytes) -> tuple[Run, str]:
    """The run record a run.json holds (no model, no arrays) and the status it recorded ("" for none)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        check_size(len(text), "run.json", MAX_RUN_JSON_BYTES)
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RunFileError(
                f"run.json is not UTF-8 text ({first_line(exc)}); upload the run.json the app wrote"
            ) from exc
    if not isinstance(text, str):
        raise TypeError(f"run_json_text must be str, bytes or None, got {type(text).__name__}")
    check_size(len(text), "run.json", MAX_RUN_JSON_BYTES)
    try:
        obj = json.loads(text)
    except Exception as exc:  # JSONDecodeError, RecursionError for absurd nesting
        raise RunFileError(
            f"run.json is not valid JSON ({first_line(exc)}); upload the run.json the app wrote"
        ) from exc
    if not isinstance(obj, dict):
        raise RunFileError(f"run.json must hold a JSON object with a 'config', got a {json_type(obj)}")
    if "config" not in obj:
        raise RunFileError("run.json has no 'config'; upload the run.json the app wrote next to the model")
    try:
        record = Run.from_dict(obj)
    except ValueError as exc:  # an invalid config, an unknown status, a history row that is not numbers
        raise RunFileError(f"run.json: {exc}") from exc
    recorded = (obj.get("summary") or {}).get("status") not in (None, "")
    return record, str(record.status) if recorded else ""
