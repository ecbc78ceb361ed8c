"""What this server allows: limits and modes for a shared, hosted demo.

Settings come from environment variables (``MLC_MAX_EPOCHS=20``) or from a
``[mlc]`` table in Streamlit's ``secrets.toml`` (``max_epochs = 20``); the
environment wins. They are enforced where work is accepted
(:meth:`mlc.jobs.SessionJobs.start` refuses a config over the limits, whatever
the widgets or a crafted link said), and the pages use them to bound their widgets.

>>> s = settings_from({"MLC_MAX_EPOCHS": "5", "MLC_WORKSHOP_MODE": "1"})
>>> s.max_epochs, s.workshop_mode
(5, True)
>>> from mlc.config import RunConfig
>>> config_problems(RunConfig(epochs=8), s)
['epochs is 8; this server allows at most 5 (MLC_MAX_EPOCHS)']
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


#: Field -> environment variable.
ENV: dict[str, str] = {f.name: f"MLC_{f.name.upper()}" for f in dataclasses.fields(HostSettings)}
_INT_RANGES = {
    "max_train_size": (1, int(LIMITS["train_size"][1])),
    "max_val_size": (1, int(LIMITS["val_size"][1])),
    "max_epochs": (1, int(LIMITS["epochs"][1])),
    "max_samples": (1, 10**9),
    "max_images": (1, 1000),
    "max_runs": (1, 256),
}


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{ENV[name]} must be 1/true or 0/false, got {raw!r}")


def settings_from(environ: Mapping[str, str] = os.environ, secrets: Mapping[str, Any] | None = None) -> HostSettings:
    """Settings from ``secrets`` (the ``[mlc]`` table) overridden by ``MLC_*`` environment variables.

    Raises ValueError naming the variable for a value it cannot use.
    """
    values: dict[str, Any] = {}
    sources = [(name, (secrets or {}).get(name)) for name in ENV] + [
        (name, environ.get(var)) for name, var in ENV.items()
    ]
    for name, raw in sources:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if name in _INT_RANGES:
            lo, hi = _INT_RANGES[name]
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise ValueError(f"{ENV[name]} must be a whole number from {lo} to {hi}, got {raw!r}") from None
            if not lo <= value <= hi:
                raise ValueError(f"{ENV[name]} must be a whole number from {lo} to {hi}, got {value}")
            values[name] = value
        elif name in ("workshop_mode", "tensorboard"):
            values[name] = _boolean(name, raw)
        else:
            values[name] = str(raw).strip()
    return HostSettings(**values)


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
