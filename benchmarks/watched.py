"""A run watched in a browser vs the same run headless: where does the browser's share of the time go?

    python benchmarks/watched.py              # the app's default run, 2 rounds, alternating
    python benchmarks/watched.py --rounds 3 --json

Each round trains the app's default config twice, alternating: once headless
(``python -m mlc train --json``, in its own process, as the CLI does) and once
pressed in Chromium on a real ``streamlit run`` server whose page watches it (the
live curves redraw while it trains; the training itself runs in the server's worker
pool). Reported per contender: the median training samples/s (the run's own
``samples_seen / train_seconds``; the server's run is read back from its run
directory) and the ratio watched / headless; and what the visitor waits: seconds from the click on
Train to "Run finished" on the page over the run's own training seconds (target <= 1.3: data,
graph building, validation and the transfer back all count). Before the worker pool the watched run
trained in a thread of the server and reached about 63 % of the headless speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load import CHROMIUM, CHROMIUM_ARGS, start_server  # noqa: E402


def headless() -> float:
    """Samples/s of the default run trained by the CLI in its own process."""
    out = subprocess.run(
        [sys.executable, "-m", "mlc", "train", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    summary = summary.get("summary", summary)
    return summary["samples_seen"] / summary["train_seconds"]


def watched(url: str, run_dir: Path, page) -> tuple[float, float]:
    """Samples/s of the default run pressed on the Train page and watched until it ends, and the visitor's
    wait: seconds from the click to the finished summary on the page over the run's own training seconds."""
    before = set(run_dir.glob("*/run.json"))
    page.goto(f"{url}/train")
    page.get_by_role("heading", name="Train").wait_for()
    button = page.get_by_role("button", name="Train", exact=True)
    button.wait_for()
    pressed = time.perf_counter()
    button.click()
    page.get_by_text("Run finished").first.wait_for(timeout=900_000)
    waited = time.perf_counter() - pressed
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = set(run_dir.glob("*/run.json")) - before
        if new:
            summary = json.loads(new.pop().read_text())["summary"]
            return summary["samples_seen"] / summary["train_seconds"], waited / summary["train_seconds"]
        time.sleep(0.5)
    raise RuntimeError("the finished run did not appear in the run directory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rates: dict[str, list[float]] = {"headless": [], "watched": []}
    waits: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        log = ROOT / "artifacts" / "watched-server.log"
        log.parent.mkdir(exist_ok=True)
        proc, url = start_server({"MLC_RUN_DIR": str(run_dir)}, log)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for _ in range(args.rounds):
                    rates["headless"].append(headless())
                    # a new visitor each round: in the same session the page would find the last
                    # round's "Run finished" at once and the wait would be measured short
                    context = browser.new_context(viewport={"width": 1400, "height": 1400})
                    page = context.new_page()
                    page.set_default_timeout(120_000)
                    rate, wait = watched(url, run_dir, page)
                    context.close()
                    rates["watched"].append(rate)
                    waits.append(wait)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(20)
    result = {k: float(np.median(v)) for k, v in rates.items()}
    result["ratio_watched_over_headless"] = result["watched"] / result["headless"]
    result["wait_over_training"] = float(np.median(waits))
    result["rounds"] = args.rounds
    result["each_round"] = {"samples_per_s": rates, "wait_over_training": waits}
    if args.json:
        print(json.dumps(result))
    else:
        print("| contender | training samples/s (median) |\n|---|---|")
        print(f"| headless (`mlc train`) | {result['headless']:,.0f} |")
        print(f"| pressed and watched in Chromium | {result['watched']:,.0f} |")
        print(f"| ratio watched / headless | {result['ratio_watched_over_headless']:.2f} |")
        print(f"| Train pressed → finished summary, over training time | {result['wait_over_training']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
