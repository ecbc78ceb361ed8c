"""Screenshot every page of the app in Debian's Chromium (a developer's tool, not a test).

Starts a real ``streamlit run`` server on a free loopback port, opens each page in a
tall viewport (Streamlit scrolls inside its own container) and writes one PNG per page.

    python scripts/screenshots.py artifacts/shots            # every page
    python scripts/screenshots.py artifacts/shots train learn
"""

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("", "train", "predict", "evaluate", "learn", "runs")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("pages", nargs="*", default=list(PAGES))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            for name in args.pages:
                page.goto(f"{url}/{name}")
                page.wait_for_selector('[data-testid="stApp"]')
                page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=60_000)
                # the page has finished its script run when Streamlit's status widget is gone
                deadline = time.monotonic() + 60
                while page.query_selector('[data-testid="stStatusWidget"]') and time.monotonic() < deadline:
                    time.sleep(0.3)
                # the script run has finished (the h1 shows while it runs) and its images have loaded; before
                # that a screenshot shows grey placeholders
                page.wait_for_function(
                    "document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state')"
                    " === 'notRunning' && Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)",
                    timeout=120_000,
                )
                time.sleep(1.5)  # charts render after the script run
                path = args.out / f"{name or 'home'}.png"
                page.screenshot(path=str(path))
                print(path)
            browser.close()
    finally:
        server.terminate()
        server.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
