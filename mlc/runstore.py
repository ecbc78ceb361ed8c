"""The run store: runs kept in a local directory (``MLC_RUN_DIR``), and TensorBoard log directories.

Optional: the app works without it. A folder of the store is read back like
any upload (:func:`mlc.runrecords.run_from_files`): a broken folder is one
problem line, the others still load.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     RunStore.from_env({"MLC_RUN_DIR": tmp}).load_all()
([], [])
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from mlc import hosting
from mlc.bundles import MAX_BUNDLE_RUNS
from mlc.checks import first_line, whole
from mlc.config import RunConfig
from mlc.modelfiles import MAX_MODEL_BYTES
from mlc.runrecords import MAX_RUN_JSON_BYTES, run_from_files
from mlc.runs import Run
from mlc.uploads import RunFileError, check_size, safe_run_id

#: Environment variables that :meth:`RunStore.from_env` uses (read by :func:`mlc.hosting.settings_from`).
RUN_DIR_ENV = hosting.ENV["run_dir"]
TENSORBOARD_ENV = hosting.ENV["tensorboard"]
_STORE_NAME = re.compile(r"^(\d{8}-\d{6})-([A-Za-z0-9_-]{1,64})$")


def tensorboard_available() -> bool:
    """Whether the ``tensorboard`` package is installed.

    Keras' TensorBoard callback needs it: without it TF 2.21 still creates the
    event file but the first ``tf.summary.scalar`` raises ``TBNotInstalledError``,
    which would fail the run.
    """
    return importlib.util.find_spec("tensorboard") is not None


class RunStore:
    """Runs kept in a local directory, one folder per run: ``<YYYYmmdd-HHMMSS>-<run id>/run.json + model.keras``.

    Optional: the app works without it; ``MLC_RUN_DIR`` turns it on
    (:meth:`from_env`). With ``tensorboard=True`` (or ``MLC_TENSORBOARD=1``),
    :meth:`tensorboard_dir` gives a fresh log directory under
    ``<path>/tensorboard/`` for ``keras.callbacks.TensorBoard(log_dir=...)``,
    passed to :func:`mlc.training.train` as ``callbacks=[...]``; this needs the
    ``tensorboard`` package (``pip install tensorboard``).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = RunStore(Path(tmp) / "runs")
    ...     store.load_all()
    ([], [])
    """

    def __init__(self, path: str | os.PathLike, *, tensorboard: bool = False):
        if not isinstance(tensorboard, bool):
            raise TypeError(f"tensorboard must be True or False, got {tensorboard!r}")
        self.path = Path(path).expanduser()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"run directory {str(self.path)!r} cannot be created: {first_line(exc)}") from exc
        if not self.path.is_dir() or not os.access(self.path, os.W_OK | os.X_OK):
            raise ValueError(f"run directory {str(self.path)!r} is not a writable directory")
        if tensorboard and not tensorboard_available():
            raise ValueError(
                "TensorBoard logging needs the tensorboard package; pip install tensorboard, or turn it off"
            )
        self.tensorboard = tensorboard

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r}, tensorboard={self.tensorboard})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RunStore | None:
        """The store named by ``MLC_RUN_DIR`` (``None`` when unset or empty); ``MLC_TENSORBOARD=1`` adds TensorBoard.

        The variables are read where every server setting is read,
        :func:`mlc.hosting.settings_from`. A bad value there, a directory that
        cannot be created or TensorBoard without its package is a
        ``ValueError`` naming the variable (a misconfigured server should fail loudly).
        """
        settings = hosting.settings_from(environ)
        if not settings.run_dir:
            if settings.tensorboard:
                raise ValueError(f"{TENSORBOARD_ENV}=1 needs {RUN_DIR_ENV}: set it to the directory for runs and logs")
            return None
        try:
            return cls(settings.run_dir, tensorboard=settings.tensorboard)
        except ValueError as exc:
            name = TENSORBOARD_ENV if "tensorboard package" in str(exc) else RUN_DIR_ENV
            raise ValueError(f"{name}: {exc}") from exc

    def save(self, run: Run) -> Path:
        """Write the run's folder (atomically: a hidden temp folder renamed into place) and return it.

        Saving the same run again (same ``run.id``) returns its existing folder.
        """
        if not isinstance(run, Run):
            raise TypeError(f"run must be a mlc.runs.Run, got {type(run).__name__}")
        if run.model is None:
            raise ValueError(
                f"run {run.label!r} has no model (status {run.status!r}); only runs with a model are stored"
            )
        run_id = safe_run_id(run.id)
        existing = self._folder_of(run_id)
        if existing is not None:
            return existing
        tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.path))
        try:
            run.save(tmp)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            final = self.path / f"{stamp}-{run_id}"
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def load_all(self, limit: int | None = MAX_BUNDLE_RUNS) -> tuple[list[Run], list[str]]:
        """The stored runs, oldest first (newest last), at most the ``limit`` newest.

        One problem line per broken folder.

        Each run is rebuilt by :func:`run_from_files` (so its validation scenes
        are regenerated: about a second per run) and keeps its stored ``id``.
        """
        if limit is not None:
            limit = whole(limit, "limit", 1, 1_000_000)
        folders = sorted((p for p in self.path.iterdir() if _STORE_NAME.match(p.name) and p.is_dir()), key=self._age)
        if limit is not None:
            folders = folders[-limit:]
        runs, problems = [], []
        for folder in folders:
            try:
                run = self._load(folder)
            except (RunFileError, OSError) as exc:
                problems.append(f"{folder.name}: {first_line(exc) if isinstance(exc, OSError) else exc}")
                continue
            runs.append(run)
        return runs, problems

    def tensorboard_dir(self, run_or_config: Run | RunConfig) -> Path:
        """A new, empty log directory ``<path>/tensorboard/<time>-<run id or config hash>``.

        Raises ``ValueError`` when the store was made without ``tensorboard=True``.
        """
        if not self.tensorboard:
            raise ValueError(
                "TensorBoard logging is off for this store; use RunStore(path, tensorboard=True) "
                f"or set {TENSORBOARD_ENV}=1"
            )
        if isinstance(run_or_config, Run):
            key = safe_run_id(run_or_config.id)
        elif isinstance(run_or_config, RunConfig):
            digest = hashlib.sha1(run_or_config.to_json(sort_keys=True).encode()).hexdigest()[:8]
            key = f"{run_or_config.loss}-{run_or_config.model}-{digest}-{uuid.uuid4().hex[:4]}"
        else:
            raise TypeError(f"run_or_config must be a Run or a RunConfig, got {type(run_or_config).__name__}")
        path = self.path / "tensorboard" / f"{time.strftime('%Y%m%d-%H%M%S')}-{key}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def _age(folder: Path) -> tuple:
        # the name's second, then run.json's write time: two saves within one second keep their order
        try:
            written = (folder / "run.json").stat().st_mtime_ns
        except OSError:
            written = 0
        return _STORE_NAME.match(folder.name).group(1), written, folder.name

    def _folder_of(self, run_id: str) -> Path | None:
        for p in self.path.iterdir():
            m = _STORE_NAME.match(p.name)
            if m and m.group(2) == run_id and p.is_dir():
                return p
        return None

    def _load(self, folder: Path) -> Run:
        model_path, json_path = folder / "model.keras", folder / "run.json"
        for path in (model_path, json_path):
            if not path.is_file():
                raise RunFileError(f"no {path.name} in this folder")
        check_size(model_path.stat().st_size, "model.keras", MAX_MODEL_BYTES)
        check_size(json_path.stat().st_size, "run.json", MAX_RUN_JSON_BYTES)
        run = run_from_files(model_path.read_bytes(), json_path.read_bytes())
        run.id = _STORE_NAME.match(folder.name).group(2)  # the same run keeps its folder (save is idempotent)
        run.message += f"; from {folder.name}"
        return run
