"""Browser journeys: a real `streamlit run` server and Debian's Chromium via Playwright.

Without Chromium the journeys skip with how to install it — except in CI
(CI=true), where a missing browser is a failure, never a skip.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # each journey starts a real server and browser (10-80 s): not in the quick loop
            # (`-m "not slow"`); CI runs them all
            item.add_marker(pytest.mark.slow)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(name: str = "streamlit-server", env: dict | None = None):
    """A real Streamlit server on a free loopback port; yields its URL, stops it afterwards.

    ``env`` adds environment variables (the app's settings, e.g. ``MLC_RUN_DIR``).
    """
    port = _free_port()
    # the app's settings are the test's own: none leak in from the test process (MLC_*)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    env = dict(inherited, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **(env or {}))
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    with log.open("w") as out:
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
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit server did not start; see {log}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def server():
    """One server shared by the journeys."""
    with streamlit_server() as url:
        yield url


@pytest.fixture
def start_server(request):
    """``start_server(**env)``: a context manager for a server of the test's own with those settings."""
    return lambda **env: streamlit_server(f"streamlit-{request.node.name}", env={k: str(v) for k, v in env.items()})


@pytest.fixture
def fresh_server(request):
    """A server of the test's own, just started (for first-visit behaviour)."""
    with streamlit_server(f"streamlit-{request.node.name}") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() and shutil.which("chromedriver")):
        message = "Chromium is not installed: sudo apt-get install chromium chromium-driver"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI must run the browser tests)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    """A fresh browser context; on failure its screen is saved to artifacts/<test>-failed.png."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            full_screenshot(pg, f"{request.node.name}-failed")
        except Exception:  # the page may be gone; the assertion already says what failed
            pass
    context.close()


def fill_number(pg, label: str, value) -> None:
    """Type a value into the number input with that label and commit it (Enter)."""
    box = pg.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    pg.wait_for_timeout(400)


@pytest.fixture
def set_number():
    """``set_number(page, label, value)``: fill a Streamlit number input and commit it."""
    return fill_number


def open_app_page(pg, url: str, name: str):
    """Open the app at its home page, click ``name`` in the sidebar, wait for the page's title."""
    pg.goto(url)
    pg.wait_for_selector('[data-testid="stApp"]')
    pg.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()
    pg.get_by_role("heading", name=name).first.wait_for()


@pytest.fixture
def goto():
    """``goto(page, url, "Train")``: the app opened and navigated to that page through the sidebar."""
    return open_app_page


@pytest.fixture
def screenshot():
    """``screenshot(page, name)``: a full-height PNG in artifacts/ for people to look at."""
    return full_screenshot


def full_screenshot(pg, name: str) -> Path:
    """Full-height screenshot into artifacts/ (Streamlit scrolls inside stMain, so grow the viewport)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = pg.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    pg.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 40, 6000))})
    pg.wait_for_timeout(300)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
