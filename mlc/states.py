"""The states things go through, as ``StrEnum`` types (never loose strings).

A ``StrEnum`` member *is* its string (``JobState.RUNNING == "running"``), so run
JSON written before these types existed still loads, and JSON written now stays
plain text. Nothing here imports TensorFlow, Keras or Streamlit.

>>> JobState("waiting").active
True
>>> RunStatus.FINISHED.ended, RunStatus.RUNNING.ended
(True, False)
>>> ThresholdMode.PER_TAG_F1.label
'F1-optimal per tag'
"""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    """A training job in the web server: in line, then training, then ended one way."""

    #: Created, not yet asking for a slot.
    QUEUED = "queued"
    #: In the server-wide line for a training slot.
    WAITING = "waiting"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Not ended yet (queued, waiting or running)."""
        return self in (JobState.QUEUED, JobState.WAITING, JobState.RUNNING)

    @property
    def in_line(self) -> bool:
        """Waiting for a slot (queued or waiting)."""
        return self in (JobState.QUEUED, JobState.WAITING)


class RunStatus(enum.StrEnum):
    """A run: training, or how it ended, or brought in from files."""

    RUNNING = "running"
    FINISHED = "finished"
    #: Stopped by a person (or by another worker) before its last epoch.
    STOPPED = "stopped"
    FAILED = "failed"
    #: Rebuilt from a model file or a bundle; scored on regenerated validation scenes.
    IMPORTED = "imported"

    @property
    def ended(self) -> bool:
        return self is not RunStatus.RUNNING


class StopReason(enum.StrEnum):
    """Why the training engine stopped a run before its last epoch."""

    NONE = "none"
    #: This process was asked (Stop, Ctrl-C, a visitor who left).
    REQUESTED = "requested"
    #: Another worker of a multi-worker cluster asked; every worker stops at the same step.
    PEER = "peer"


class ThresholdMode(enum.StrEnum):
    """How a run's per-tag thresholds are chosen for a report."""

    HALF = "half"
    GLOBAL = "global"
    PER_TAG_F1 = "per_tag_f1"

    @property
    def label(self) -> str:
        """What a person reads for this mode (pages show it; no code parses it)."""
        return _THRESHOLD_LABELS[self]


_THRESHOLD_LABELS = {
    ThresholdMode.HALF: "0.5 for every tag",
    ThresholdMode.GLOBAL: "one threshold for every tag",
    ThresholdMode.PER_TAG_F1: "F1-optimal per tag",
}


class DecisionState(enum.StrEnum):
    """One (image, tag) decision of a threshold strategy (:mod:`mlc.threshold_strategies`).

    Every strategy says ``YES`` or ``NO``; only an uncertain band also says ``UNSURE``
    (a score between its ``lo`` and ``hi``), which the metrics count apart.
    """

    YES = "yes"
    UNSURE = "unsure"
    NO = "no"


class ProblemKind(enum.StrEnum):
    """What is wrong with one file or CSV row of a visitor's own labelled images (:mod:`mlc.imagesets`)."""

    #: The archive or folder as a whole: no CSV header, several CSVs, not a zip, no images at all.
    LAYOUT = "layout"
    MISSING_IMAGE = "missing_image"
    UNREADABLE_IMAGE = "unreadable_image"
    #: A 0/1 tag cell holding something else (``2``, ``maybe``), or a ``split`` cell that is not train/val/test.
    UNKNOWN_VALUE = "unknown_value"
    DUPLICATE_PATH = "duplicate_path"
    #: A path that would leave the archive or folder (``../x.jpg``, ``/etc/x``, ``C:\\x``, a symlink out).
    UNSAFE_PATH = "unsafe_path"
    #: An archive inside the archive: refused, never opened.
    NESTED_ARCHIVE = "nested_archive"
    #: Over the size limit (``MLC_MAX_DATASET_MB``), counted while reading.
    TOO_LARGE = "too_large"
    #: Over the image limit (``MLC_MAX_DATASET_IMAGES``).
    TOO_MANY = "too_many"
    #: The CSV is not UTF-8 (read as Windows-1252 instead).
    ENCODING = "encoding"
    EMPTY = "empty"
    #: A tag with fewer than ~10 positives in validation: its metrics are noise.
    FEW_POSITIVES = "few_positives"


class Severity(enum.StrEnum):
    """An error drops that file or row (or the whole set); a warning keeps it."""

    ERROR = "error"
    WARNING = "warning"


class SpeedBasis(enum.StrEnum):
    """What a time estimate rests on (:mod:`mlc.speed`): never a constant alone."""

    #: Runs of that model that finished on this server.
    RUNS = "runs"
    #: A typical rate scaled by this server's measured matmul speed (no run of that model has finished yet).
    COMPUTE = "compute"
    #: Nothing measured on this server yet: no time is promised.
    NONE = "none"
