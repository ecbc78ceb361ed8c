"""Part 4, ``memory``: peak resident memory of a default ``python -m mlc train`` run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mlc.bench.stats import median

# The directory that holds this very ``mlc`` (a checkout's root or site-packages): the
# measured ``python -m mlc`` runs there so it imports the same package, installed or not.
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def peak_rss_mib(args: list[str], env: dict) -> float:
    """Run a command and return its peak resident memory in MiB (VmHWM), polled from /proc.

    Not ``ru_maxrss``: on Linux a child's maxrss starts from the forking parent's,
    so a large benchmark process would inflate it. Raises RuntimeError if the
    command exits non-zero.
    """
    proc = subprocess.Popen(args, cwd=_PACKAGE_PARENT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}")
    return peak / 1024


def bench_memory(quick: bool, repeats: int) -> dict:
    """Peak RSS of a default CLI run, next to what importing TensorFlow + mlc costs."""
    args = [sys.executable, "-m", "mlc", "train", "--json"]
    if quick:
        args += ["--epochs", "1", "--train-size", "512", "--val-size", "128"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # the import-only probe sleeps a moment so the poller sees its high-water mark
    probe = [sys.executable, "-c", "import time, mlc.training; time.sleep(0.5)"]
    peaks, baseline = [], []
    for _ in range(repeats):
        peaks.append(peak_rss_mib(args, env))
        baseline.append(peak_rss_mib(probe, env))
    return {
        "peak_rss_mib": median(peaks),
        "import_rss_mib": median(baseline),
        "command": " ".join(["python"] + args[1:]),
    }
