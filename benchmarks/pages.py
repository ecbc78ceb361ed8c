"""Page settle times in a real browser: a cold server's first page, then every page on a warm server.

    python benchmarks/pages.py                    # 3 cold starts, 3 warm rounds per page, a table
    python benchmarks/pages.py --cold 1 --warm 5 --json
    python benchmarks/pages.py --url http://host:8501   # warm figures only, for a running server

A page has *settled* when Streamlit reports its script run finished
(``stApp[data-test-script-state=notRunning]`` after the run started), its
title is shown, and every image on it has loaded. Times are from the moment the
browser is asked to open the address.

* **cold**: a ``streamlit run`` server is started; as soon as ``/_stcore/health``
  answers, a fresh browser context opens the home page (the browser was launched
  before the server, so its start-up is not counted). Targets: <= 3 s.
* **warm**: after every page has been opened once (and TensorFlow warmed up), each
  page is opened by a new visitor (a new browser context), rounds alternating
  over the pages; medians per page. Target: <= 1 s.
* **floor**: the same visit to a one-line Streamlit app (``st.title``) served the same way,
  alternated with the pages: what loading Streamlit's frontend alone costs on this machine
  now (on a busy shared machine this alone can exceed the target). The table gives each
  page's median beside it and the difference.

``--app-dir`` measures another checkout of the app (e.g. an older commit unpacked with
``git archive``), for before/after figures taken side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.load import CHROMIUM, CHROMIUM_ARGS, start_server  # noqa: E402

#: Page paths (the home page is ""), as the app's navigation names them.
PAGES = ("", "train", "predict", "evaluate", "learn", "runs")
#: Seconds a server is given after a warm-up visit of every page for TensorFlow to finish loading.
WARM_WAIT = 20.0

_SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!document.querySelector('[data-testid="stMainBlockContainer"] h1')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  return Array.from(document.images).every(img => img.complete);
}"""


def settle(page, url: str, timeout: float = 120.0) -> float:
    """Seconds from asking for ``url`` until the page has settled (see the module docstring)."""
    t = time.perf_counter()
    page.goto(url, wait_until="commit")
    # the state attribute starts as "initial"; a finished run is "notRunning"
    page.wait_for_function(_SETTLED, timeout=timeout * 1000, polling=50)
    return time.perf_counter() - t


def visit(browser, url: str) -> float:
    """One new visitor (a fresh browser context) opening ``url``; its settle time in seconds."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        return settle(context.new_page(), url)
    finally:
        context.close()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def cold_start(browser, log: Path, app_dir: Path = ROOT) -> dict:
    """Start a server; seconds to health and from health to the first page settled."""
    t = time.perf_counter()
    proc, url = start_server({}, log, cwd=app_dir)
    healthy = time.perf_counter() - t
    try:
        first = visit(browser, url + "/")
    finally:
        stop(proc)
    return {"health_s": round(healthy, 2), "first_page_s": round(first, 2)}


def warm_pages(
    browser, url: str, rounds: int, pages=PAGES, warm_wait: float = WARM_WAIT, floor_url: str | None = None
) -> dict[str, list[float]]:
    """Every page opened once, a pause for TensorFlow, then ``rounds`` new visitors per page
    (and per round one visit of ``floor_url``, the one-line app, as ``"floor"``)."""
    for name in pages:
        visit(browser, f"{url}/{name}")
    if floor_url:
        visit(browser, floor_url)
    time.sleep(warm_wait)
    times: dict[str, list[float]] = {name or "home": [] for name in pages}
    if floor_url:
        times["floor"] = []
    for _ in range(rounds):
        for name in pages:
            times[name or "home"].append(round(visit(browser, f"{url}/{name}"), 2))
            if floor_url:
                times["floor"].append(round(visit(browser, floor_url), 2))
    return times


FLOOR_APP = 'import streamlit as st\n\nst.title("Floor")\n'


def run(
    cold: int = 3, warm: int = 3, url: str | None = None, pages=PAGES, app_dir: Path = ROOT, floor: bool = True
) -> dict:
    """Measure; returns ``{"cold": [...], "warm": {page: [seconds]}, "medians": {...}}``."""
    from playwright.sync_api import sync_playwright

    log = ROOT / "artifacts" / "pages-server.log"
    log.parent.mkdir(exist_ok=True)
    result: dict = {"cold": [], "warm": {}, "app_dir": str(app_dir)}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as floor_dir:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        servers = []
        try:
            if url is None:
                for _ in range(cold):
                    result["cold"].append(cold_start(browser, log, app_dir))
            if warm:
                floor_url = None
                if floor:
                    (Path(floor_dir) / "streamlit_app.py").write_text(FLOOR_APP)
                    proc, floor_url = start_server({}, log.with_name("pages-floor.log"), cwd=Path(floor_dir))
                    servers.append(proc)
                if url is None:
                    proc, url = start_server({}, log, cwd=app_dir)
                    servers.append(proc)
                result["warm"] = warm_pages(browser, url, warm, pages, floor_url=floor_url)
        finally:
            for proc in servers:
                stop(proc)
            browser.close()
    medians = {"cold_first_page_s": None, "cold_health_s": None}
    if result["cold"]:
        medians["cold_first_page_s"] = statistics.median(r["first_page_s"] for r in result["cold"])
        medians["cold_health_s"] = statistics.median(r["health_s"] for r in result["cold"])
    medians.update({f"warm_{k}_s": statistics.median(v) for k, v in result["warm"].items() if v})
    result["medians"] = medians
    return result


def format_table(r: dict) -> str:
    def s(v):
        return "—" if v is None else f"{v:.2f} s"

    m = r["medians"]
    rows = [
        ("cold server: health answers after start", s(m["cold_health_s"]), len(r["cold"])),
        ("cold server: first page settled after health (target ≤ 3 s)", s(m["cold_first_page_s"]), len(r["cold"])),
    ]
    floor = m.get("warm_floor_s")
    for page, v in r["warm"].items():
        if not v:
            continue
        value = m[f"warm_{page}_s"]
        if page == "floor":
            rows.append(("warm: the one-line app settled (Streamlit's frontend alone)", s(value), len(v)))
            continue
        over = "" if floor is None else f" (+{value - floor:.2f})"
        rows.append((f"warm server, new visitor: {page} settled (target ≤ 1 s)", s(value) + over, len(v)))
    lines = ["| measurement (median; + = over the one-line app) | value | rounds |", "|---|---|---|"]
    lines += [f"| {k} | {v} | {n} |" for k, v, n in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=3, help="cold server starts (default 3)")
    parser.add_argument("--warm", type=int, default=3, help="warm rounds over every page (default 3)")
    parser.add_argument("--url", default=None, help="an already running server (warm figures only)")
    parser.add_argument("--pages", nargs="*", default=list(PAGES), help="page paths ('' is home)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app to serve")
    parser.add_argument("--no-floor", action="store_true", help="skip the one-line app")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.cold, args.warm, args.url, tuple(args.pages), args.app_dir.resolve(), not args.no_floor)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
