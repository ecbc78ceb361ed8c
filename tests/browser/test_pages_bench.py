"""The page-settle script itself, small: one cold start and one warm round over two pages."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cold_and_warm_settle_times_are_reported(browser):  # browser: skips/fails like the journeys
    out = subprocess.run(
        [sys.executable, "benchmarks/pages.py", "--cold", "1", "--warm", "1", "--pages", "", "learn", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    (cold,) = result["cold"]
    assert cold["health_s"] > 0 and cold["first_page_s"] > 0
    assert set(result["warm"]) == {"home", "learn", "floor"}
    medians = result["medians"]
    assert all(medians[f"warm_{page}_s"] > 0 for page in ("home", "learn", "floor"))
