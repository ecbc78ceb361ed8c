"""Where this server's trainings run, chosen from its settings: :func:`make_trainer`.

* ``MLC_CLUSTER`` set: on that Dask cluster (:class:`mlc.cluster.ClusterTrainer`).
* ``MLC_TRAINER=processes`` (the default): a :class:`~mlc.trainpool.WorkerPool`
  of ``MLC_MAX_CONCURRENT_TRAININGS`` warm worker processes beside the server,
  each replaced after ``MLC_WORKER_RUNS`` runs.
* ``MLC_TRAINER=threads``: in the server's own process, on a thread (``None``:
  :class:`mlc.jobs.SessionJobs` then trains with :func:`mlc.training.train`).
  ``MLC_TENSORBOARD=1`` trains there too: its logs are written by a Keras callback
  that :class:`~mlc.jobs.SessionJobs` adds to in-process trainings only.

No TensorFlow here (the workers import it).

>>> from mlc.hosting import HostSettings
>>> make_trainer(HostSettings(trainer="threads")) is None
True
>>> make_trainer(HostSettings(tensorboard=True)) is None
True
"""

from __future__ import annotations

from collections.abc import Callable

from mlc.checks import first_line
from mlc.hosting import HostSettings
from mlc.runs import Run


def make_trainer(settings: HostSettings, problems: list[str] | None = None) -> Callable[..., Run] | None:
    """The server-wide trainer for ``settings`` (made once per server), or None for in-process training.

    A cluster that cannot be used here (its client library is not installed) is not used:
    the trainings stay on this server and one line saying why is added to ``problems``.
    """
    if settings.cluster:
        try:
            from mlc.cluster import ClusterTrainer  # its client library only where a cluster is used

            return ClusterTrainer(settings.cluster)
        except (ImportError, RuntimeError, ValueError) as exc:
            if problems is not None:
                why = first_line(exc)
                problems.append(f"MLC_CLUSTER {settings.cluster!r} not used: {why}; training on this server")
    if settings.trainer == "threads" or settings.tensorboard:
        return None
    from mlc.trainpool import PoolTrainer, WorkerPool

    return PoolTrainer(WorkerPool(size=settings.max_concurrent_trainings, runs_per_worker=settings.worker_runs))
