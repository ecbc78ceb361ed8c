"""Shared AppTest setup: open a page of the real app, optionally with a prepared session.

AppTest gives every test the same session id, so session-scoped caches (the visitor's
jobs) and server-wide ones (settings, run directory) are cleared around each test.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import mlc.ui
from mlc.jobs import SessionJobs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")


@pytest.fixture(autouse=True)
def _train_in_the_test_process(monkeypatch):
    """Page tests train in the test process (fast, no worker processes to spawn).

    Set per test, never for the whole process: the real ``streamlit run`` servers of the
    browser tests (the product) must keep their default, worker processes.
    """
    monkeypatch.setenv("MLC_TRAINER", "threads")


#: The session id AppTest gives every run (streamlit/testing/v1/local_script_runner.py).
APPTEST_SESSION = "test session id"


def end_session() -> None:
    """What Streamlit does when a visitor leaves: release the session's cached resources (jobs stop)."""
    from streamlit.runtime.caching.cache_resource_api import clear_session_cache

    clear_session_cache(APPTEST_SESSION)


def clean() -> None:
    end_session()
    mlc.ui.reread_host_settings()
    mlc.ui.run_store.clear()


@pytest.fixture(autouse=True)
def clean_app_state():
    clean()
    yield
    clean()


@pytest.fixture
def leave():
    """``leave()``: end the AppTest session (as a visitor leaving, or a server restart, would)."""
    return end_session


@pytest.fixture
def session(monkeypatch):
    """``session(runs)``: the pages' ``session_jobs()`` returns a SessionJobs already holding ``runs``."""

    def make(runs=()) -> SessionJobs:
        jobs = SessionJobs()
        jobs.runs.extend(runs)
        monkeypatch.setattr(mlc.ui, "session_jobs", lambda: jobs)
        return jobs

    return make


@pytest.fixture
def open_page():
    """``open_page("pages/x.py", query={...})``: the app run straight into that page, without exceptions."""

    def open_(page: str, *, query: dict | None = None, timeout: float = 120) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=timeout)
        at.switch_page(page)  # before the first run: the entry point runs straight into the page
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_


@pytest.fixture(scope="session")
def two_runs():
    """Two small real runs (bce, and weighted_bce with positive-term weights), numbered 1 and 2.

    Trained once for all the page tests that only need some finished runs (Predict, Evaluate).
    """
    from mlc.config import RunConfig
    from mlc.training import train

    tiny = RunConfig(epochs=2, train_size=256, val_size=128, batch_size=32)
    runs = (
        train(tiny),
        train(tiny.replace(loss="weighted_bce", weights=(1.0, 9.0, 1.0, 1.0, 1.0), weighting="positive")),
    )
    for number, run in enumerate(runs, start=1):
        run.number = number
    return runs
