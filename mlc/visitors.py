"""Visitors across reloads and tabs: a browser-held key -> that visitor's jobs and runs.

A Streamlit session lives as long as one tab's connection: a reload or a second
tab is a new session. So a visitor's :class:`~mlc.jobs.SessionJobs` is held
here, server-wide, under a *visitor key* their browser keeps in a cookie
(:data:`COOKIE`; never in the address, so a share link does not carry it). Each
session :meth:`Visitors.attach`-es to its key and :meth:`Visitors.detach`-es when
it ends; once a visitor has no tab left, their jobs are released
(:meth:`~mlc.jobs.SessionJobs.close`: job stopped, models dropped) ``grace_seconds``
later unless a tab comes back (0 = at once). A training still running goes on
only ``job_grace_seconds`` after the last tab left (long enough for a reload to
find it running), then it is stopped, so a visitor who left frees their training
slot soon; the finished runs stay for the whole grace. At most ``max_visitors`` are held: a
newcomer past that releases the visitor idle the longest first (visitors with an
open tab are never released, so the bound is on idle ones beyond the open tabs).

A key is :func:`new_key` (``secrets.token_urlsafe(32)``: 256 random bits, 43
characters); anything read back that is not of that shape counts as no key
(:func:`valid_key`). Keys are never listed or shown: only someone holding a key
reaches its runs.

>>> made = []
>>> def factory():
...     made.append(FakeJobs())
...     return made[-1]
>>> clock = FakeClock()
>>> visitors = Visitors(factory, grace_seconds=60, clock=clock, background=False)
>>> key = new_key()
>>> jobs = visitors.attach(key, "tab-1")
>>> visitors.detach(key, "tab-1")  # the tab reloads: its session ends ...
>>> visitors.attach(key, "tab-2") is jobs  # ... and the new one finds the same jobs
True
>>> visitors.detach(key, "tab-2"); clock.advance(61); visitors.sweep()
1
>>> jobs.closed, len(visitors)
(True, 0)
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: Name of the cookie that holds a visitor's key.
COOKIE = "mlc_visitor"
#: Random bytes in a key (``secrets.token_urlsafe``): 43 URL-safe characters.
KEY_BYTES = 32
#: The shape of a key as :func:`new_key` makes it; anything else is no key.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
#: Visitors held at once by default (open tabs beyond it are kept; idle ones past it are released).
MAX_VISITORS = 64
#: Attribute of the cookie's ``<script>`` element (the page hides the element that holds it).
SCRIPT_MARK = "data-mlc-visitor"
#: How long the browser keeps the cookie (seconds): the server forgets a key much sooner (the grace period).
COOKIE_MAX_AGE = 30 * 24 * 3600


class Closable(Protocol):
    """What the registry holds per visitor (a :class:`mlc.jobs.SessionJobs`)."""

    def close(self) -> None: ...


def new_key() -> str:
    """A fresh, unguessable visitor key (256 random bits).

    >>> valid_key(new_key()) is not None, new_key() != new_key()
    (True, True)
    """
    return secrets.token_urlsafe(KEY_BYTES)


def valid_key(raw: object) -> str | None:
    """``raw`` if it has the shape of a key :func:`new_key` makes, else None (treated as no key).

    >>> valid_key("a" * 43), valid_key("a" * 42), valid_key("a" * 42 + ";"), valid_key(None)
    ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', None, None, None)
    """
    if isinstance(raw, str) and KEY_PATTERN.fullmatch(raw):
        return raw
    return None


def key_from(cookies: Mapping[str, str]) -> str | None:
    """The visitor key in a request's cookies, or None when absent or malformed.

    >>> key_from({COOKIE: "b" * 43}) == "b" * 43, key_from({COOKIE: "x"}), key_from({})
    (True, None, None)
    """
    return valid_key(cookies.get(COOKIE))


def cookie_script(key: str, max_age: int = COOKIE_MAX_AGE) -> str:
    """A ``<script>`` that stores ``key`` in the :data:`COOKIE` cookie (site-wide, same-site only).

    ``SameSite=Strict`` (never sent by another site's requests), ``Path=/``, a
    ``Max-Age``, and ``Secure`` when the page is served over https. Raises
    ValueError for a key of the wrong shape (nothing else is ever written into it).

    >>> "mlc_visitor=" + "c" * 43 + "; Path=/; Max-Age=60; SameSite=Strict" in cookie_script("c" * 43, 60)
    True
    >>> cookie_script("x'; alert(1); '")
    Traceback (most recent call last):
    ...
    ValueError: a visitor key must be 43 URL-safe characters (secrets.token_urlsafe(32)), got 15 characters
    """
    if valid_key(key) is None:
        raise ValueError(
            f"a visitor key must be 43 URL-safe characters (secrets.token_urlsafe(32)), got {len(str(key))} characters"
        )
    if not isinstance(max_age, int) or max_age < 1:
        raise ValueError(f"max_age must be a whole number of seconds from 1, got {max_age!r}")
    cookie = f"{COOKIE}={key}; Path=/; Max-Age={max_age}; SameSite=Strict"
    secure = "(location.protocol === 'https:' ? '; Secure' : '')"
    return f"<script {SCRIPT_MARK}>document.cookie = '{cookie}' + {secure};</script>"


@dataclass
class _Visitor:
    jobs: Closable
    tabs: set[str] = field(default_factory=set)
    idle_since: float | None = None  # clock time the last tab left; None while a tab is open
    job_stopped: bool = False  # the running job was stopped after job_grace_seconds idle


class Visitors:
    """Thread-safe registry: visitor key -> their jobs (made by ``factory``), counted open tabs, release timers.

    ``clock`` (seconds, monotonic) is injectable for tests; with ``background``
    (the server), releases run on a daemon thread (a job may take a moment to
    stop) and a sweeper thread releases idle visitors when their grace ends;
    without it, releases run in the calling thread and :meth:`sweep` is called
    by hand. A visitor's ``close()`` is called exactly once.
    """

    def __init__(
        self,
        factory: Callable[[], Closable],
        *,
        grace_seconds: float = 900,
        job_grace_seconds: float = 60,
        max_visitors: int = MAX_VISITORS,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ):
        if not grace_seconds >= 0:
            raise ValueError(f"grace_seconds must be 0 or more seconds, got {grace_seconds!r}")
        if not isinstance(max_visitors, int) or max_visitors < 1:
            raise ValueError(f"max_visitors must be a whole number from 1, got {max_visitors!r}")
        if not job_grace_seconds >= 0:
            raise ValueError(f"job_grace_seconds must be 0 or more seconds, got {job_grace_seconds!r}")
        self.factory = factory
        self.grace_seconds = grace_seconds
        self.job_grace_seconds = min(job_grace_seconds, grace_seconds)
        self.max_visitors = max_visitors
        self._clock = clock
        self._background = background
        self._cond = threading.Condition()
        self._held: dict[str, _Visitor] = {}
        self._sweeper: threading.Thread | None = None
        self._closed = False

    def __len__(self) -> int:
        """Visitors held now (with a tab open, or idle within their grace)."""
        with self._cond:
            return len(self._held)

    def __repr__(self) -> str:  # never the keys
        with self._cond:
            idle = sum(1 for v in self._held.values() if not v.tabs)
            return f"Visitors({len(self._held)} held, {idle} idle, grace {self.grace_seconds} s)"

    def tabs(self, key: str) -> int:
        """Open tabs of the visitor with ``key`` (0 when idle or not held)."""
        with self._cond:
            visitor = self._held.get(key)
            return 0 if visitor is None else len(visitor.tabs)

    def attach(self, key: str, session_id: str) -> Closable:
        """The jobs of visitor ``key``, with ``session_id`` counted as one of their open tabs.

        Makes them (``factory()``) for a key not held. Attaching a session again is a
        no-op (a session's every rerun may call it). Raises ValueError for a key of the
        wrong shape, RuntimeError once the registry is closed.
        """
        if valid_key(key) is None:
            raise ValueError("attach needs a visitor key made by new_key (43 URL-safe characters)")
        with self._cond:
            if self._closed:
                raise RuntimeError("the visitor registry is closed")
            if key in self._held:
                return self._add_tab(key, session_id)
        # made outside the lock (loading a run directory takes a while; other visitors' pages must not wait)
        fresh = self.factory()
        evicted: list[Closable] = []
        with self._cond:
            closed = self._closed
            if closed or key in self._held:  # closed meanwhile, or another tab of this new visitor came first
                evicted.append(fresh)
            else:
                evicted = self._make_room()
                self._held[key] = _Visitor(fresh)
            jobs = None if closed else self._add_tab(key, session_id)
        self._release(evicted)
        if jobs is None:
            raise RuntimeError("the visitor registry is closed")
        return jobs

    def _add_tab(self, key: str, session_id: str) -> Closable:
        """Under the lock: count ``session_id`` as an open tab of held visitor ``key``."""
        visitor = self._held[key]
        visitor.tabs.add(session_id)
        if visitor.idle_since is not None:  # back within the grace period: the sweeper recomputes
            visitor.idle_since, visitor.job_stopped = None, False
            self._cond.notify_all()
        return visitor.jobs

    def detach(self, key: str, session_id: str) -> None:
        """``session_id`` has ended; when it was the visitor's last tab, their grace period starts.

        With a grace of 0 they are released at once. Unknown keys or sessions are ignored.
        """
        released: list[Closable] = []
        with self._cond:
            visitor = self._held.get(key)
            if visitor is None or session_id not in visitor.tabs:
                return
            visitor.tabs.discard(session_id)
            if visitor.tabs:
                return
            visitor.idle_since = self._clock()
            if self.grace_seconds == 0:
                released.append(self._held.pop(key).jobs)
            else:
                self._start_sweeper()
                self._cond.notify_all()
        self._release(released)

    def sweep(self) -> int:
        """Release every visitor idle for at least the grace period; returns how many.

        Visitors idle for at least ``job_grace_seconds`` have their running job stopped (once).
        """
        with self._cond:
            now = self._clock()
            to_stop = []
            for v in self._held.values():
                if v.idle_since is not None and not v.job_stopped and now - v.idle_since >= self.job_grace_seconds:
                    v.job_stopped = True
                    to_stop.append(v.jobs)
            due = [
                key
                for key, v in self._held.items()
                if v.idle_since is not None and now - v.idle_since >= self.grace_seconds
            ]
            released = [self._held.pop(key).jobs for key in due]
        for jobs in to_stop:
            if jobs not in released:
                getattr(jobs, "stop", lambda: None)()  # asks only: the job ends after its batch
        self._release(released)
        return len(released)

    def close(self) -> None:
        """Release every visitor (a server shutting down; tests) and stop the sweeper."""
        with self._cond:
            self._closed = True
            released = [v.jobs for v in self._held.values()]
            self._held.clear()
            self._cond.notify_all()
        self._release(released)

    # -- internals (the lock is held where noted)
    def _make_room(self) -> list[Closable]:
        """Under the lock: remove idle visitors, longest idle first, until a newcomer fits."""
        idle = sorted((v.idle_since, key) for key, v in self._held.items() if v.idle_since is not None)
        evicted = []
        while len(self._held) >= self.max_visitors and idle:
            evicted.append(self._held.pop(idle.pop(0)[1]).jobs)
        return evicted

    def _seconds_to_next(self) -> float | None:
        """Under the lock: seconds until the next idle visitor is due (None: nobody idle)."""
        due = [
            v.idle_since + (self.grace_seconds if v.job_stopped else self.job_grace_seconds)
            for v in self._held.values()
            if v.idle_since is not None
        ]
        if not due:
            return None
        return max(0.0, min(due) - self._clock())

    def _start_sweeper(self) -> None:
        """Under the lock: the background sweeper, started on the first idle visitor."""
        if self._background and self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep_loop, name="mlc-visitors-sweeper", daemon=True)
            self._sweeper.start()

    def _sweep_loop(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                wait = self._seconds_to_next()
                if wait is None or wait > 0:
                    self._cond.wait(wait)  # woken early by attach/detach/close: recompute
                    continue
            self.sweep()

    def _release(self, released: list[Closable]) -> None:
        """Close what was taken out of the registry (outside the lock: stopping a job takes a moment)."""
        if not released:
            return
        if self._background:
            threading.Thread(target=_close_all, args=(released,), name="mlc-visitors-release", daemon=True).start()
        else:
            _close_all(released)


def _close_all(released: list[Closable]) -> None:
    for jobs in released:
        jobs.close()


class VisitorTab:
    """One session's hold on a visitor: :attr:`jobs` attaches it, :meth:`leave` detaches it."""

    def __init__(self, visitors: Visitors, key: str, session_id: str):
        self._visitors, self._key, self.session_id = visitors, key, session_id
        self._visitors.attach(key, session_id)

    def __repr__(self) -> str:  # never the key
        return f"VisitorTab(session {self.session_id!r})"

    @property
    def jobs(self) -> Closable:
        """The visitor's jobs (attaching again each time: made afresh if they were released meanwhile)."""
        return self._visitors.attach(self._key, self.session_id)

    def leave(self) -> None:
        self._visitors.detach(self._key, self.session_id)


class SessionTab:
    """A session without a visitor key (no browser, as under AppTest): its own jobs, closed when it ends."""

    def __init__(self, jobs: Closable):
        self.jobs = jobs

    def leave(self) -> None:
        self.jobs.close()


class FakeClock:
    """A clock for tests and examples: ``clock()`` is the time, :meth:`advance` moves it."""

    def __init__(self, start: float = 0.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeJobs:
    """Stands in for a SessionJobs in tests and examples: counts :meth:`stop` and :meth:`close` calls."""

    def __init__(self):
        self.close_calls = 0
        self.stop_calls = 0

    def stop(self) -> None:
        self.stop_calls += 1

    @property
    def closed(self) -> bool:
        return self.close_calls > 0

    def close(self) -> None:
        self.close_calls += 1
