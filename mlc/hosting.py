"""What this server allows: limits and modes for a shared, hosted demo.

Settings come from environment variables (``MLC_MAX_EPOCHS=20``) or from a
``[mlc]`` table in Streamlit's ``secrets.toml`` (``max_epochs = 20``); the
environment wins. They are enforced where work is accepted
(:meth:`mlc.jobs.SessionJobs.start` refuses a config over the limits, whatever
the widgets or a crafted link said), and the pages use them to bound their widgets.

Every setting is read here, in one place (:func:`read_settings`): a bad value of
one setting falls back to its default with one line saying why, the others apply.

>>> s = settings_from({"MLC_MAX_EPOCHS": "5", "MLC_WORKSHOP_MODE": "1"})
>>> s.max_epochs, s.workshop_mode
(5, True)
>>> s, problems = read_settings({"MLC_MAX_EPOCHS": "5", "MLC_MAX_RUNS": "many"})
>>> s.max_epochs, s.max_runs, problems
(5, 8, ["MLC_MAX_RUNS must be a whole number from 1 to 256, got 'many'; using the default, 8"])
>>> from mlc.config import RunConfig
>>> config_problems(RunConfig(epochs=8), s)
['epochs is 8; this server allows at most 5 (MLC_MAX_EPOCHS)']
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlc import checks
from mlc.config import LIMITS, RunConfig


@dataclass(frozen=True)
class HostSettings:
    """The server's limits (defaults sized for a small shared 2-core host) and modes."""

    #: Most training scenes per run (uint8 in memory: 30,000 scenes are 0.37 GB).
    max_train_size: int = 30_000
    #: Most validation scenes per run (float32: 5,000 scenes are 0.25 GB).
    max_val_size: int = 5_000
    max_epochs: int = 50
    #: Most samples one run may train on (train scenes x epochs): bounds how long a slot is held.
    max_samples: int = 600_000
    #: Trainings that run at once on this server (the rest wait in line): two share a 2-core host.
    max_concurrent_trainings: int = 2
    #: Most images predicted in one request on the Predict page.
    max_images: int = 64
    #: Runs kept per visitor (trained and imported; the oldest is dropped first).
    max_runs: int = 8
    #: Hide advanced controls (device, schedule, noise, seed, batch size, raw config) for a workshop.
    workshop_mode: bool = False
    #: Optional directory that keeps runs across restarts (a local install); None = in memory only.
    run_dir: str | None = None
    #: Write TensorBoard logs for runs into the run directory.
    tensorboard: bool = False
    #: Where trainings run: ``processes`` (a pool of worker processes beside the server, the default)
    #: or ``threads`` (inside the server, as the CLI does; for a laptop or tests).
    trainer: str = "processes"
    #: Runs one worker process serves before it is replaced by a fresh one (its memory goes back to the system).
    worker_runs: int = 20
    #: A Dask scheduler address (``tcp://host:8786``): trainings run on that cluster instead (see the README).
    cluster: str | None = None
    #: Seconds a visitor's runs and job are kept after their last tab closed (a reload finds them again).
    visitor_grace_seconds: int = 900
    #: Seconds a training goes on after its visitor's last tab closed (a reload within it finds it running);
    #: then it stops and frees its slot. The finished runs stay for ``visitor_grace_seconds``.
    job_grace_seconds: int = 60
    #: Largest own-images data set (a .zip upload, and the bytes read from it, counted while reading), in MB.
    max_dataset_mb: int = 200
    #: Most images in an own-images data set (5,000 at 64 px are 61 MB as uint8).
    max_dataset_images: int = 10_000


#: Field -> environment variable.
ENV: dict[str, str] = {f.name: f"MLC_{f.name.upper()}" for f in dataclasses.fields(HostSettings)}
#: Whole-number settings -> their allowed range (the others are on/off switches or the run directory).
RANGES: dict[str, tuple[int, int]] = {
    "max_train_size": (1, int(LIMITS["train_size"][1])),
    "max_val_size": (1, int(LIMITS["val_size"][1])),
    "max_epochs": (1, int(LIMITS["epochs"][1])),
    "max_samples": (1, 10**9),
    "max_concurrent_trainings": (1, 64),
    "max_images": (1, 1000),
    "max_runs": (1, 256),
    "worker_runs": (1, 10_000),
    "visitor_grace_seconds": (0, 7 * 24 * 3600),
    "job_grace_seconds": (0, 7 * 24 * 3600),
    "max_dataset_mb": (1, 4096),
    "max_dataset_images": (1, 100_000),
}
_SWITCHES = ("workshop_mode", "tensorboard")
#: Settings with a fixed set of values -> the values.
CHOICES: dict[str, tuple[str, ...]] = {"trainer": ("processes", "threads")}
_DEFAULTS = HostSettings()


def read_settings(
    environ: Mapping[str, str] = os.environ, secrets: Mapping[str, Any] | None = None
) -> tuple[HostSettings, list[str]]:
    """Every setting from ``secrets`` (the ``[mlc]`` table) overridden by ``MLC_*`` environment variables.

    Returns ``(settings, problems)``: a value that cannot be used leaves that one
    setting at its default and adds a line naming the variable (or the secrets
    entry), the allowed range and what arrived. Never raises for a bad value.

    >>> for line in read_settings({"MLC_TENSORBOARD": "maybe"}, {"max_images": 0})[1]:
    ...     print(line)
    max_images in the [mlc] secrets must be a whole number from 1 to 1000, got 0; using the default, 64
    MLC_TENSORBOARD must be 1/true or 0/false, got 'maybe'; using the default, off
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, raw, source in _given(environ, secrets):
        try:
            values[name] = _parse(name, raw, source)
        except ValueError as exc:
            problems.append(f"{exc}; using the default, {_shown(getattr(_DEFAULTS, name))}")
    return HostSettings(**values), problems


def settings_from(environ: Mapping[str, str] = os.environ, secrets: Mapping[str, Any] | None = None) -> HostSettings:
    """Settings as :func:`read_settings`, but a value it cannot use raises ValueError naming the variable.

    >>> settings_from({"MLC_MAX_EPOCHS": "0"})
    Traceback (most recent call last):
    ...
    ValueError: MLC_MAX_EPOCHS must be a whole number from 1 to 500, got 0
    """
    return HostSettings(**{name: _parse(name, raw, source) for name, raw, source in _given(environ, secrets)})


def _given(environ: Mapping[str, str], secrets: Mapping[str, Any] | None) -> Iterator[tuple[str, Any, str]]:
    """``(field, raw value, where it came from)`` of each setting that is set; the environment wins."""
    for name, variable in ENV.items():
        raw, source = environ.get(variable), variable
        if _blank(raw):  # an empty variable counts as not set
            raw, source = (secrets or {}).get(name), f"{name} in the [mlc] secrets"
        if not _blank(raw):
            yield name, raw, source


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _parse(name: str, raw: Any, source: str) -> Any:
    """One setting's value from its text (or a secrets value); ValueError naming ``source``."""
    if name in RANGES:
        return checks.whole_text(raw, source, *RANGES[name])
    if name in _SWITCHES:
        return checks.boolean_text(raw, source)
    if name in CHOICES:
        return checks.one_of(str(raw).strip().lower(), source, CHOICES[name])
    return str(raw).strip()


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    return "none" if default is None else str(default)


def config_problems(config: RunConfig, settings: HostSettings) -> list[str]:
    """Every way ``config`` goes beyond this server's limits, one line each (empty = allowed)."""
    problems = []
    for field, limit in (("train_size", "max_train_size"), ("val_size", "max_val_size"), ("epochs", "max_epochs")):
        value, most = getattr(config, field), getattr(settings, limit)
        if value > most:
            problems.append(f"{field} is {value:,}; this server allows at most {most:,} ({ENV[limit]})")
    samples = config.train_size * config.epochs
    if samples > settings.max_samples:
        problems.append(
            f"train_size x epochs is {samples:,} samples; this server allows at most "
            f"{settings.max_samples:,} per run ({ENV['max_samples']}): fewer epochs or scenes"
        )
    return problems


def check_config(config: RunConfig, settings: HostSettings) -> None:
    """Raise ValueError listing :func:`config_problems`, if any."""
    problems = config_problems(config, settings)
    if problems:
        raise ValueError("; ".join(problems))
