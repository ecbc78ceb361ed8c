"""Model files and run history: download, upload, bundles and a local run directory.

A run leaves the app as files and may come back as files, from this app or from
anyone's laptop, so every byte that comes in is treated as untrusted. This
module is the one place to import them from; each concern has its own module:

* :mod:`mlc.modelfiles`: :func:`model_file` (a run's ``.keras`` model, sigmoid
  outputs, for download) and :func:`load_model_file` (uploaded ``.keras`` bytes,
  screened, loaded with Keras' safe mode, as a *logits* model), with
  :class:`ProbabilitiesToLogits` for models that end in a sigmoid.
* :mod:`mlc.runrecords`: :func:`run_json` (a run's JSON record) and
  :func:`run_from_files` (a whole :class:`~mlc.runs.Run` rebuilt from a model file
  and, optionally, its ``run.json``, scored on regenerated validation scenes;
  status ``"imported"``).
* :mod:`mlc.bundles`: :func:`bundle` / :func:`unbundle` pack several runs into one
  zip and back; a broken run in a bundle is reported and the others still load.
* :mod:`mlc.runstore`: :class:`RunStore` keeps runs in a local directory
  (``MLC_RUN_DIR``) and can hand out TensorBoard log directories (``MLC_TENSORBOARD=1``).
* :mod:`mlc.uploads`: what they share, above all :class:`RunFileError`.

Whatever goes wrong with uploaded bytes, the caller sees one exception type,
:class:`RunFileError`, whose message is one line a visitor can act on.

>>> load_model_file(b"not a model")
Traceback (most recent call last):
...
mlc.uploads.RunFileError: not a Keras model file: a .keras file is a zip archive and these bytes are not one; ...
"""

from __future__ import annotations

from mlc.bundles import APP_NAME, BUNDLE_FORMAT, BUNDLE_VERSION, MAX_BUNDLE_BYTES, MAX_BUNDLE_RUNS, bundle, unbundle
from mlc.modelfiles import (
    MAX_MODEL_BYTES,
    MAX_MODEL_MEMBERS,
    REFUSED_LAYERS,
    ProbabilitiesToLogits,
    load_model_file,
    model_file,
)
from mlc.runrecords import (
    MAX_IMPORT_VAL_BYTES,
    MAX_IMPORT_VAL_SIZE,
    MAX_RUN_JSON_BYTES,
    import_val_size,
    run_from_files,
    run_json,
)
from mlc.runstore import RUN_DIR_ENV, TENSORBOARD_ENV, RunStore, tensorboard_available
from mlc.uploads import UNPACK_FACTOR, RunFileError

__all__ = [
    "APP_NAME",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "MAX_BUNDLE_BYTES",
    "MAX_BUNDLE_RUNS",
    "MAX_IMPORT_VAL_BYTES",
    "MAX_IMPORT_VAL_SIZE",
    "MAX_MODEL_BYTES",
    "MAX_MODEL_MEMBERS",
    "MAX_RUN_JSON_BYTES",
    "REFUSED_LAYERS",
    "RUN_DIR_ENV",
    "TENSORBOARD_ENV",
    "UNPACK_FACTOR",
    "ProbabilitiesToLogits",
    "RunFileError",
    "RunStore",
    "bundle",
    "import_val_size",
    "load_model_file",
    "model_file",
    "run_from_files",
    "run_json",
    "tensorboard_available",
    "unbundle",
]
