"""Journey: the real server trains in its worker processes, not in itself.

With ``MLC_WORKER_RUNS=1`` a worker retires after one run, so a training pressed in
the browser shows in the server's child processes: the worker that served it is gone
and a fresh one has taken its place.
"""

import time
from urllib.parse import urlsplit

import psutil
import pytest


def server_process(url: str) -> psutil.Process:
    port = str(urlsplit(url).port)
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "streamlit" in cmdline and port in cmdline:
            return proc
    pytest.fail(f"no streamlit process serves port {port}")


def worker_pids(server: psutil.Process) -> set[int]:
    """The server's training workers (multiprocessing ``spawn`` children; not its resource tracker)."""
    pids = set()
    for child in server.children():
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                pids.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def two_workers(server: psutil.Process, other_than: set[int] | None = None) -> set[int] | None:
    """The server's two worker pids, once there are two (and they are not ``other_than``), else None."""
    pids = worker_pids(server)
    return pids if len(pids) == 2 and pids != other_than else None


def wait_for(condition, what: str, seconds: float = 240.0):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.3)
    return value


def test_a_training_runs_in_a_worker_process(start_server, goto, page, set_number):
    with start_server(MLC_WORKER_RUNS=1) as url:
        pg = page
        goto(pg, url, "Train")
        server = server_process(url)
        before = wait_for(lambda: two_workers(server), "two workers")
        set_number(pg, "train images", 128)
        set_number(pg, "validation images", 32)
        set_number(pg, "epochs", 1)
        pg.get_by_role("button", name="Train", exact=True).click()
        pg.get_by_text("Run finished").first.wait_for(timeout=120_000)
        after = wait_for(lambda: two_workers(server, other_than=before), "the worker that trained to be replaced")
        assert len(before - after) == 1 and len(after - before) == 1  # one served the run and retired
        assert not pg.locator('[data-testid="stException"]').count()
