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
