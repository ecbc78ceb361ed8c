"""Load test: N real browser sessions against a real ``streamlit run`` server, each training.

    python benchmarks/load.py --sessions 8            # starts its own server, prints a table
    python benchmarks/load.py --sessions 8 --json
    python benchmarks/load.py --url http://host:8501  # an already running server (no memory figures)
    python benchmarks/load.py --sessions 8 --defaults --timeout 900   # the workshop case: Train with the defaults
    python benchmarks/load.py --sessions 8 --defaults --browser-nice 19  # ... with the browsers at low priority
    python benchmarks/load.py --sessions 3 --run "train=240&val=64&epochs=2&batch=32"  # another run per session

Each session is its own Chromium context (Debian's /usr/bin/chromium, driven by
Playwright) that opens a share link for a small run, presses Train, and while its
job waits or trains, changes the seed once a second and times how long the page
takes to rerun (the address bar shows the new seed when the rerun has happened).
The last session asks for more epochs than the server allows and must be refused
with a message. Reported: completed runs, sessions that waited in line, refusals with
a message, errors (exceptions on a page, timeouts; target 0), the server's peak
memory (VmHWM of the server process) and of its training workers together (the
sum of their resident memory at its highest), seconds from pressing Train to the finished
run per session (median and last), and p50/p95 rerun latency while training: in the
browser (seed typed until the address shows it) and in the server (script start to finish,
from the app's rerun clock: ``MLC_RERUN_LOG``, see ``mlc/rerun_clock.py``; target p95 <= 1 s).

On one small machine the 8 browsers' renderers compete with the server for its cores, which
visitors' browsers on their own machines would not; ``--browser-nice 19`` keeps every thread of
Chromium at the lowest CPU priority (re-applied twice a second: Chromium sets its threads'
priorities itself, so a ``nice`` at launch does not hold) to take that share out of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mlc.rerun_clock import LOG_ENV, log_summary, read_log  # noqa: E402 (TF-free, no Streamlit)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The server's epoch limit during the test; the refused session asks for one more.
MAX_EPOCHS = 10
#: A small run: a few seconds of training on a 2-core machine.
RUN_QUERY = "train=1000&val=200&epochs=2&batch=32"


def epoch_limit(defaults: bool) -> int:
    """The server's epoch limit for the test: small runs get :data:`MAX_EPOCHS`, the defaults the app's own."""
    return MAX_EPOCHS if not defaults else 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env_extra: dict[str, str], log: Path, cwd: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """A ``streamlit run`` server (of the app in ``cwd``) on a free loopback port; returns (process, url)
    once healthy."""
    port = free_port()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **env_extra)
    out = log.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=cwd,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the streamlit server did not start; see {log}")


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (the server's training workers), from /proc."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Polls a process's resident memory; ``peak_mib`` is the highest seen (and VmHWM at the end).

    ``workers_peak_mib``: the highest sum of its child processes' resident memory (the worker pool).
    """

    def __init__(self, pid: int, every: float = 0.25):
        self.pid, self.every, self.peak_kib = pid, every, 0
        self.workers_peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self, field: str) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak_kib = max(self.peak_kib, self._read("VmRSS"), self._read("VmHWM"))
            self.workers_peak_kib = max(self.workers_peak_kib, sum(_rss_kib(k) for k in _children(self.pid)))

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.peak_kib = max(self.peak_kib, self._read("VmHWM"))
        self._stop.set()
        self._thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak_kib / 1024

    @property
    def workers_peak_mib(self) -> float:
        return self.workers_peak_kib / 1024


async def one_session(
    browser, url: str, index: int, refused: bool, timeout: float, defaults: bool = False, run: str = RUN_QUERY
) -> dict:
    """Open a share link, press Train, measure reruns while training, wait for the end."""
    result = {
        "session": index,
        "completed": False,
        "waited": False,
        "refused_with_message": False,
        "error": None,
        "latencies_ms": [],
        "seconds_to_result": None,
    }
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(timeout * 1000)
    try:
        limit = epoch_limit(defaults)
        if refused:
            query = f"epochs={limit + 1}&" if defaults else re.sub(r"epochs=\d+", f"epochs={limit + 1}", run) + "&"
        else:
            query = "" if defaults else run + "&"
        await page.goto(f"{url}/train?{query}seed={index}")
        await page.get_by_role("heading", name="Train").wait_for()
        if refused:
            await page.get_by_text(f"this server allows at most {limit}").first.wait_for()
            result["refused_with_message"] = await page.get_by_role("button", name="Train", exact=True).is_disabled()
            return result
        pressed = time.perf_counter()
        await page.get_by_role("button", name="Train", exact=True).click()
        started = (
            page.get_by_role("button", name="Stop").and_(page.locator(":enabled")).or_(page.get_by_text("Run finished"))
        )
        await started.first.wait_for(timeout=30_000)  # the click reached the server and a job exists
        seed_box = page.get_by_label("seed", exact=True)
        deadline = time.monotonic() + timeout
        seed = 1000 + index * 100
        while time.monotonic() < deadline:
            if await page.get_by_text("Run finished").count():
                result["completed"] = True
                result["seconds_to_result"] = round(time.perf_counter() - pressed, 1)
                break
            if await page.locator('[data-testid="stException"]').count():
                result["error"] = "exception shown on the page"
                break
            if await page.get_by_text("Waiting for a free training slot").count():
                result["waited"] = True
            seed += 1
            t = time.perf_counter()
            await seed_box.fill(str(seed))
            await seed_box.press("Enter")
            await page.wait_for_url(f"**seed={seed}**", timeout=30_000)
            result["latencies_ms"].append((time.perf_counter() - t) * 1e3)
            await page.wait_for_timeout(1000)
        else:
            result["error"] = f"did not finish within {timeout:.0f} s"
    except Exception as exc:  # a load test reports failures, it does not stop at the first
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        if result["error"]:
            try:
                await page.screenshot(path=str(ROOT / "artifacts" / f"load-session-{index}-failed.png"), full_page=True)
            except Exception:  # the page may be gone
                pass
        await context.close()
    return result


class BrowserNice:
    """While open, keeps every thread of this process's Chromium descendants at ``niceness`` (re-applied every
    ``every`` s: Chromium sets its own threads' priorities, per thread, so a ``nice`` at launch does not hold).
    The visitors' browsers stand in for machines of their own and should not take the server's cores."""

    def __init__(self, niceness: int, every: float = 0.5):
        self.niceness, self.every = niceness, every
        self.threads_set = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _browser_threads(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        me, tids = os.getpid(), []
        for pid in parents:
            ancestor, hops = parents.get(pid), 0
            while ancestor not in (None, 0, 1, me) and hops < 20:
                ancestor, hops = parents.get(ancestor), hops + 1
            try:
                if ancestor == me and Path(f"/proc/{pid}/comm").read_text().strip() == "chromium":
                    tids += [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
            except OSError:
                continue
        return tids

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for tid in self._browser_threads():
                try:
                    if os.getpriority(os.PRIO_PROCESS, tid) < self.niceness:
                        os.setpriority(os.PRIO_PROCESS, tid, self.niceness)
                        self.threads_set += 1
                except OSError:  # the thread ended meanwhile
                    continue

    def __enter__(self) -> BrowserNice:
        if self.niceness > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


async def drive(
    url: str, sessions: int, timeout: float, defaults: bool = False, run: str = RUN_QUERY, browser_nice: int = 0
) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with BrowserNice(browser_nice):
                return await asyncio.gather(
                    *[
                        one_session(browser, url, i, (i == sessions - 1 and sessions > 1), timeout, defaults, run)
                        for i in range(sessions)
                    ]
                )
        finally:
            await browser.close()


def run_load(
    sessions: int = 8,
    url: str | None = None,
    timeout: float = 300.0,
    defaults: bool = False,
    run: str = RUN_QUERY,
    browser_nice: int = 0,
) -> dict:
    """Run the load test; returns the figures (see the module docstring)."""
    started = time.perf_counter()
    watch = None
    proc = None
    rerun_log = None
    if url is None:
        log = ROOT / "artifacts" / "load-server.log"
        log.parent.mkdir(exist_ok=True)
        rerun_log = ROOT / "artifacts" / "load-reruns.jsonl"
        rerun_log.unlink(missing_ok=True)
        proc, url = start_server({"MLC_MAX_EPOCHS": str(epoch_limit(defaults)), LOG_ENV: str(rerun_log)}, log)
        watch = MemoryWatch(proc.pid)
    driving = time.time()
    try:
        if watch:
            with watch:
                results = asyncio.run(drive(url, sessions, timeout, defaults, run, browser_nice))
        else:
            results = asyncio.run(drive(url, sessions, timeout, defaults, run, browser_nice))
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    latencies = [v for r in results for v in r["latencies_ms"]]
    waits = sorted(r["seconds_to_result"] for r in results if r["seconds_to_result"] is not None)
    # the server's own clock: full script runs of the Train page while the sessions drove it
    records = read_log(rerun_log, since=driving) if rerun_log else []
    server = log_summary(records).get("train", {})
    cpu = log_summary(records, field="cpu_seconds").get("train", {})
    return {
        "sessions": sessions,
        "completed": sum(r["completed"] for r in results),
        "waited_in_line": sum(r["waited"] for r in results),
        "refused_with_message": sum(r["refused_with_message"] for r in results),
        "errors": [f"session {r['session']}: {r['error']}" for r in results if r["error"]],
        "run": "the app's defaults" if defaults else run,
        "browser_nice": browser_nice,
        "server_peak_rss_mib": None if watch is None else round(watch.peak_mib, 1),
        "workers_peak_rss_mib": None if watch is None else round(watch.workers_peak_mib, 1),
        "seconds_to_result_median": float(np.median(waits)) if waits else None,
        "seconds_to_result_last": waits[-1] if waits else None,
        "rerun_latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else None,
        "rerun_latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else None,
        "latency_samples": len(latencies),
        "server_rerun_ms_p50": _ms(server.get("p50")),
        "server_rerun_ms_p95": _ms(server.get("p95")),
        "server_rerun_samples": server.get("count", 0),
        "server_rerun_cpu_ms_p50": _ms(cpu.get("p50")),
        "server_rerun_cpu_ms_p95": _ms(cpu.get("p95")),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1e3


def format_table(r: dict) -> str:
    def ms(v):
        return "—" if v is None else f"{v:,.0f} ms"

    rows = [
        ("sessions (one asks for more epochs than allowed)", r["sessions"]),
        ("runs completed", r["completed"]),
        ("sessions that waited in line for a slot", r["waited_in_line"]),
        ("refused with a message", r["refused_with_message"]),
        ("errors (target 0)", len(r["errors"])),
        ("run each session trains", r.get("run", RUN_QUERY)),
        ("the browsers' CPU priority (nice)", r.get("browser_nice", 0)),
        ("server peak memory", "—" if r["server_peak_rss_mib"] is None else f"{r['server_peak_rss_mib']:,.0f} MiB"),
        (
            "training workers' peak memory, together",
            "—" if r.get("workers_peak_rss_mib") is None else f"{r['workers_peak_rss_mib']:,.0f} MiB",
        ),
        (
            "Train pressed → finished run, median / last",
            "—"
            if r.get("seconds_to_result_median") is None
            else f"{r['seconds_to_result_median']:.0f} s / {r['seconds_to_result_last']:.0f} s",
        ),
        ("page rerun latency while training, p50", ms(r["rerun_latency_ms_p50"])),
        ("page rerun latency while training, p95", ms(r["rerun_latency_ms_p95"])),
        ("server-side rerun (script start to finish) while training, p50", ms(r.get("server_rerun_ms_p50"))),
        ("server-side rerun (script start to finish) while training, p95", ms(r.get("server_rerun_ms_p95"))),
        (
            "CPU time of those reruns' script thread, p50 / p95",
            f"{ms(r.get('server_rerun_cpu_ms_p50'))} / {ms(r.get('server_rerun_cpu_ms_p95'))}",
        ),
        ("wall time", f"{r['wall_seconds']} s"),
    ]
    lines = ["| measurement | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    lines += [f"- {e}" for e in r["errors"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8, help="browser sessions (default 8)")
    parser.add_argument("--url", default=None, help="an already running server (default: start one)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a session may take (default 300)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--defaults", action="store_true", help="every session trains the app's default run")
    parser.add_argument(
        "--run", default=RUN_QUERY, help=f"the share-link query of each session's run (default {RUN_QUERY})"
    )
    parser.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        help="keep Chromium at this lower CPU priority (e.g. 19): visitors' browsers run on their own machines",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.browser_nice <= 19:
        parser.error(f"--browser-nice must be in 0..19, got {args.browser_nice}")
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    if not re.search(r"epochs=\d+", args.run):
        parser.error(f"--run must name its epochs (e.g. {RUN_QUERY}), got {args.run!r}")
    results = run_load(args.sessions, args.url, args.timeout, args.defaults, args.run, args.browser_nice)
    print(json.dumps(results) if args.json else format_table(results))
    return 0 if not results["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
