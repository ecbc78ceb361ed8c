"""The load script itself, small: real sessions against a real server, no errors.

(The README's table comes from `python benchmarks/load.py --sessions 8`.)"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Small enough that two trainings at once finish in seconds: the test checks the plumbing, not the load.
TINY_RUN = "train=240&val=64&epochs=2&batch=32"


def test_three_sessions_train_and_one_is_refused_with_a_message(browser):  # browser: skips/fails like the journeys
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/load.py",
            "--sessions",
            "3",
            "--timeout",
            "180",
            "--json",
            "--run",
            TINY_RUN,
            "--browser-nice",
            "10",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == [], result
    assert out.returncode == 0
    assert result["completed"] == 2 and result["refused_with_message"] == 1
    assert result["run"] == TINY_RUN and result["browser_nice"] == 10
    assert result["server_peak_rss_mib"] > 0 and result["latency_samples"] > 0
    # the server's own clock (MLC_RERUN_LOG) saw the Train page's reruns, and their CPU time
    assert result["server_rerun_samples"] > 0 and result["server_rerun_ms_p95"] >= result["server_rerun_ms_p50"] > 0
    assert 0 < result["server_rerun_cpu_ms_p50"] <= result["server_rerun_cpu_ms_p95"]
