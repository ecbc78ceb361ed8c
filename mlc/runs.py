"""The run record: what one training leaves behind, its JSON and the runs table.

A :class:`Run` holds a :class:`~mlc.config.RunConfig`, a :class:`~mlc.states.RunStatus`,
the per-batch and per-epoch history, the final :func:`mlc.metrics.report`, the
validation labels and probabilities (n_val, C) and the trained *logits* model.
:meth:`Run.to_json` writes everything but the model and the arrays;
:meth:`Run.from_dict` reads it back.

This module imports neither TensorFlow nor Keras, so evaluation, inference, run
files and the CLI can read and compare runs without them; only the methods that
need the model (:meth:`Run.probability_model`, :meth:`Run.save`) import them,
when called.

>>> from mlc.config import RunConfig
>>> run = Run(RunConfig(loss="weighted_bce", weights=(1, 8, 1, 1, 1)), status="finished", number=2)
>>> run.label
'#2 weighted_bce (tag) · lean'
>>> run.status is RunStatus.FINISHED
True
>>> again = Run.from_json(run.to_json())
>>> again.config == run.config, again.summary() == run.summary()
(True, True)
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlc.checks import first_line, json_type, short_repr
from mlc.states import RunStatus

if TYPE_CHECKING:  # mlc.config imports Keras (through the loss and model registries)
    import numpy as np

    from mlc.config import RunConfig

#: Every status a run can have (compatibility alias of :class:`~mlc.states.RunStatus`).
RUN_STATUSES: tuple[str, ...] = tuple(RunStatus)
#: Columns of an ``epoch_history`` row (see :func:`mlc.training.train`).
EPOCH_COLUMNS = (
    "epoch",
    "loss",
    "val_loss",
    "macro_f1",
    "micro_f1",
    "map",
    "mae",
    "seconds",
    "samples_per_second",
    "elapsed",
)
#: Columns of a ``batch_history`` row.
BATCH_COLUMNS = ("epoch", "batch", "step", "loss", "seconds")
#: Columns of an ``evaluations`` row (``eval_every``).
EVALUATION_COLUMNS = ("step", "samples", "train_seconds", "val_loss", "macro_f1", "micro_f1", "map", "mae")
#: Columns of a ``gradients`` row (the gradient microscope, :mod:`mlc.gradients`; source 0 train, 1 probe).
GRADIENT_COLUMNS = ("epoch", "source", "tag", "total", "positive", "negative", "unknown")


@dataclass
class Run:
    """One training of one config; what pages keep, compare and save.

    ``status`` is a :class:`~mlc.states.RunStatus` (its text, ``"finished"``, is
    accepted and converted; anything else is a ``ValueError``).
    """

    config: RunConfig
    status: RunStatus = RunStatus.RUNNING
    message: str = ""
    device: str = "CPU"
    batch_history: list[dict] = field(default_factory=list)  # {epoch, batch, step, loss, seconds}
    epoch_history: list[dict] = field(default_factory=list)  # see :func:`mlc.training.train`
    evaluations: list[dict] = field(default_factory=list)  # {step, samples, train_seconds, map, macro_f1, mae}
    gradients: list[dict] = field(default_factory=list)  # per epoch, source and tag: see mlc.gradients
    report: dict | None = None
    val_labels: np.ndarray | None = None  # (n_val, C)
    val_probabilities: np.ndarray | None = None  # (n_val, C)
    test_report: dict | None = None  # the finished model on the held-out test split (same fields as report)
    test_labels: np.ndarray | None = None  # (n_test, C)
    test_probabilities: np.ndarray | None = None  # (n_test, C)
    model: Any = None  # the logits keras.Model
    train_seconds: float = 0.0  # time in fit, validation excluded
    wall_seconds: float = 0.0  # whole run including data and validation
    data_seconds: float = 0.0
    samples_seen: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # stable key for caches and files
    number: int = 0  # position in its session (1, 2, ...; set by mlc.jobs.SessionJobs), 0 when alone

    def __post_init__(self):
        self.status = _status(self.status)

    @property
    def label(self) -> str:
        """Short name for pickers and legends: number, loss (weighting) and model.

        E.g. ``#2 weighted_bce (tag) · compact``, or ``#3 bce · lean · digits`` for another data set;
        a scenario is named after it (:func:`scenario_label`): ``#4 bce · lean · shortcut house~tree``."""
        cfg = self.config
        weighting = f" ({cfg.weighting})" if "weights" in cfg.loss_kwargs() else ""
        number = f"#{self.number} " if self.number else ""
        data = "" if cfg.dataset == "scenes" else f" · {data_label(cfg)}"  # scenes: the default, unnamed
        scenario = scenario_label(cfg)
        return f"{number}{cfg.loss}{weighting} · {cfg.model}{data}{f' · {scenario}' if scenario else ''}"

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.train_seconds if self.train_seconds > 0 else 0.0

    def probability_model(self):
        """The served and saved model: plain Keras layers (mlc's fused batch norm becomes Keras' own,
        :func:`mlc.batch_norm.plain_keras`), the same weights, sigmoid outputs (B, C) in [0, 1]."""
        from mlc import models  # Keras, only when a model is asked for
        from mlc.batch_norm import plain_keras

        return models.with_probabilities(plain_keras(self.model))

    def summary(self) -> dict:
        """Headline numbers of the run (final validation metrics, time, speed, device)."""
        rep = self.report or {}
        return {
            "status": str(self.status),
            "message": self.message,
            "epochs_done": len(self.epoch_history),
            "device": self.device,
            "steps": len(self.batch_history),  # optimizer steps (global batches, also under multiworker)
            "samples_seen": self.samples_seen,  # training samples over all replicas and workers
            "train_seconds": round(self.train_seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "samples_per_second": round(self.samples_per_second, 1),
            "map": rep.get("map"),
            "macro_f1": rep.get("macro_f1"),
            "micro_f1": rep.get("micro_f1"),
            "mae": rep.get("mae"),
        }

    def to_dict(self) -> dict:
        """JSON-able record of the run (everything but the model and arrays)."""
        return {
            "config": self.config.to_dict(),
            "summary": self.summary(),
            "history": self.epoch_history,
            "batch_history": self.batch_history,
            "evaluations": self.evaluations,
            "gradients": self.gradients,
            "report": self.report,
            "test_report": self.test_report,
        }

    def to_json(self, **kwargs) -> str:
        """JSON text; NaN/inf (undefined metrics) become null so any JSON parser reads it."""
        return json.dumps(json_safe(self.to_dict()), **kwargs)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Run:
        """The run a :meth:`to_dict` record describes, without model or validation arrays (a fresh ``id``).

        Strict where a wrong value would mislead: an invalid config, an unknown
        status, a history row that is not numbers (``null`` reads as NaN, as
        before JSON) are a ``ValueError`` naming the field. Lenient where it is
        harmless: a missing summary or status (taken as finished), an odd
        device name ("CPU") or timing (0).
        """
        from mlc.config import RunConfig  # the config registries import Keras

        if not isinstance(record, Mapping) or "config" not in record:
            raise ValueError(f"a run record is a mapping with a 'config', got {short_repr(record)}")
        try:
            config = RunConfig.from_dict(record["config"])
        except Exception as exc:
            raise ValueError(f"the config is invalid: {first_line(exc)}") from exc
        summary = record.get("summary") or {}
        if not isinstance(summary, Mapping):
            raise ValueError(f"'summary' must be a JSON object, got a {json_type(summary)}")
        report = record.get("report")
        if report is not None and not isinstance(report, Mapping):
            raise ValueError(f"'report' must be a JSON object or null, got a {json_type(report)}")
        test_report = record.get("test_report")
        if test_report is not None and not isinstance(test_report, Mapping):
            raise ValueError(f"'test_report' must be a JSON object or null, got a {json_type(test_report)}")
        status = summary.get("status")
        run = cls(
            config=config,
            status=RunStatus.FINISHED if status in (None, "") else _status(status),
            message=_short_text(summary.get("message"), "", limit=300),
            device=_short_text(summary.get("device"), "CPU"),
            epoch_history=_rows(record, "history", EPOCH_COLUMNS),
            batch_history=_rows(record, "batch_history", BATCH_COLUMNS),
            evaluations=_rows(record, "evaluations", EVALUATION_COLUMNS),
            gradients=_rows(record, "gradients", GRADIENT_COLUMNS),  # older records have none
            report=None if report is None else dict(report),
            test_report=None if test_report is None else dict(test_report),
            train_seconds=_number_or(summary.get("train_seconds"), 0.0),
            wall_seconds=_number_or(summary.get("wall_seconds"), 0.0),
        )
        seen = summary.get("samples_seen")
        if not (isinstance(seen, int) and not isinstance(seen, bool) and 0 <= seen < 10**15):
            # older records: recover the count from the speed, so samples_per_second stays as it was
            seen = _number_or(summary.get("samples_per_second"), 0.0) * run.train_seconds
            seen = int(round(seen)) if seen < 1e15 else 0
        run.samples_seen = seen
        return run

    @classmethod
    def from_json(cls, text: str) -> Run:
        """:meth:`from_dict` of JSON text (as :meth:`to_json` writes it)."""
        return cls.from_dict(json.loads(text))

    def save(self, out_dir: str | os.PathLike) -> dict[str, Path]:
        """Write ``model.keras`` (probability outputs) and ``run.json`` into ``out_dir``; their paths.

        On a non-chief worker of a ``multiworker`` run nothing is kept and ``{}``
        comes back: following TensorFlow's MultiWorkerMirroredStrategy guidance,
        every worker saves (reading distributed variables may need the other
        workers) but the non-chief ones write into a temporary directory that is
        removed at once, so only the chief (task 0) writes ``out_dir``.
        """
        from mlc import devices  # TensorFlow: the cluster decides who writes

        if not devices.is_chief(self.config.device):
            with tempfile.TemporaryDirectory(prefix="mlc-worker-") as scratch:
                self._write(Path(scratch))
            return {}
        return self._write(Path(out_dir))

    def _write(self, out: Path) -> dict[str, Path]:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"run": out / "run.json"}
        paths["run"].write_text(self.to_json(indent=2))
        if self.model is not None:
            paths["model"] = out / "model.keras"
            self.probability_model().save(paths["model"])
        return paths


def scenario_label(config: RunConfig) -> str:
    """What was done to a run's data on purpose, short ("" when nothing): the shortcut scenario, the label
    problems of the training split and label noise.

    >>> from mlc.config import RunConfig
    >>> scenario_label(RunConfig()), scenario_label(RunConfig(cooccur_tag="house", cooccur_with="tree"))
    ('', 'shortcut house~tree')
    >>> scenario_label(RunConfig(missing_positives=0.3, missing_as="unknown", label_noise=0.05))
    'missing 30% as unknown · noise 5%'
    >>> scenario_label(RunConfig(single_positive=True, missing_positives=0.5, label_noise=0.005))
    'missing 50% · single positive · noise 0.5%'
    """
    parts = []
    if config.cooccur_tag:
        parts.append(f"shortcut {config.cooccur_tag}~{config.cooccur_with}")
    if config.missing_positives:
        unknown = " as unknown" if config.missing_as == "unknown" else ""
        parts.append(f"missing {config.missing_positives * 100:.3g}%{unknown}")
    if config.single_positive:
        parts.append("single positive")
    if config.label_noise:
        parts.append(f"noise {config.label_noise * 100:.3g}%")
    return " · ".join(parts)


def data_label(config: RunConfig) -> str:
    """The data a run was trained on, as a table shows it: the data set's name, own images with theirs.

    >>> from mlc.config import RunConfig
    >>> data_label(RunConfig()), data_label(RunConfig(dataset="own", classes=("a",), data_name="pets.zip"))
    ('scenes', 'own: pets.zip')
    """
    if config.dataset == "own":
        return f"own: {config.data_name or 'unnamed'}"
    return config.dataset


def runs_table(runs: list[Run]) -> list[dict]:
    """One overview row per run (newest last): what it was and how it scored (mAP on validation and test)."""
    rows = []
    for i, run in enumerate(runs, start=1):
        cfg, rep = run.config, run.report or {}
        rare = min(range(cfg.num_classes), key=lambda c: cfg.prevalence[c])
        weighting = cfg.weighting if "weights" in cfg.loss_kwargs() else ""
        rows.append(
            {
                "run": run.number or i,
                "data": data_label(cfg),
                "loss": cfg.loss + (f" ({weighting})" if weighting else ""),
                "model": cfg.model,
                "epochs": len(run.epoch_history),
                "status": str(run.status),
                "mAP": rep.get("map"),
                "test mAP": (run.test_report or {}).get("map"),
                "macro F1": rep.get("macro_f1"),
                "rare-tag recall": rep["per_tag"][rare]["recall"] if rep else None,
                "train s": round(run.train_seconds, 1),
                "device": run.device,
            }
        )
    return rows


def _status(value: Any) -> RunStatus:
    """``value`` as a :class:`~mlc.states.RunStatus` (its text is accepted), else a ``ValueError``.

    >>> _status("stopped")
    <RunStatus.STOPPED: 'stopped'>
    >>> _status("done")
    Traceback (most recent call last):
    ...
    ValueError: unknown run status 'done'; expected one of: running, finished, stopped, failed, imported
    """
    if isinstance(value, str) and value in RUN_STATUSES:
        return RunStatus(value)
    raise ValueError(f"unknown run status {short_repr(value)}; expected one of: {', '.join(RUN_STATUSES)}")


def _rows(record: Mapping, key: str, columns: tuple[str, ...]) -> list[dict]:
    """History rows with exactly ``columns``, numbers only (null -> NaN, as before JSON)."""
    rows = record.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ValueError(f"{key!r} must be a list of rows, got a {json_type(rows)}")
    out = []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise ValueError(f"{key} row {i} must be a JSON object, got a {json_type(row)}")
        clean = {}
        for column in columns:
            value = row.get(column, float("nan"))
            if value is None:
                value = float("nan")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} row {i}: {column!r} must be a number, got {short_repr(value)}")
            clean[column] = value
        out.append(clean)
    return out


def json_safe(obj):
    """``obj`` with NaN/inf floats (also nested in dicts, lists, tuples) as None: strict JSON.

    >>> json_safe({"map": float("nan"), "rows": [1.0, float("inf")]})
    {'map': None, 'rows': [1.0, None]}
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def _short_text(value: Any, default: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters, or ``default`` for a non-text or blank value."""
    if not isinstance(value, str) or not value.strip():
        return default
    return " ".join(value.split())[:limit]


def _number_or(value: Any, default: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    return float(value) if ok else default
