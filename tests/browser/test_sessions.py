"""Two visitors: each sees only their own run, and a visitor who leaves mid-training
frees the server's training slot once the grace period for a reload has passed (their job is stopped)."""

import re


def open_train(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(f"{url}/train")
    pg.get_by_role("heading", name="Train").wait_for()
    pg.get_by_text(re.compile(r"Server: \d+/\d+ trainings running")).wait_for()
    return context, pg


def server_line(pg) -> str:
    return pg.get_by_text(re.compile(r"Server: \d+/\d+ trainings running")).inner_text()


def test_leaving_mid_training_frees_the_slot_and_sessions_stay_apart(browser, start_server):
    # a short grace period: a visitor's job outlives their last tab by that long (a reload finds it)
    with start_server(MLC_VISITOR_GRACE_SECONDS=2) as url:
        leave_mid_training(browser, url)


def leave_mid_training(browser, server):
    leaver, pa = open_train(browser, server)
    stayer, pb = open_train(browser, server)
    try:
        box = pa.get_by_label("epochs", exact=True)
        box.fill("50")  # far longer than this test (and within the server limit): only leaving can end it
        box.press("Enter")
        pa.wait_for_timeout(1000)  # let the rerun settle before the click
        pa.get_by_role("button", name="Train", exact=True).click()
        pa.locator('[data-testid="stProgress"]').wait_for()

        # the other visitor sees the server busy, but no run and no Stop of their own
        pb.get_by_role("button", name="Reset to 1").click()  # any interaction reruns the page
        pb.wait_for_function("() => /Server: 1\\/\\d+ trainings running/.test(document.body.innerText)", timeout=30_000)
        assert pb.get_by_role("button", name="Stop").is_disabled()
        assert pb.locator('[data-testid="stProgress"]').count() == 0
        assert "Press Train to start" in pb.locator('[data-testid="stAlert"]').first.inner_text().replace("*", "")

        leaver.close()  # the visitor leaves mid-training
        leaver = None
        # their job is stopped and the slot released within seconds of the grace period
        for _ in range(30):
            pb.get_by_role("button", name="Reset to 1").click()
            pb.wait_for_timeout(1000)
            if server_line(pb).startswith("Server: 0/"):
                break
        assert server_line(pb).startswith("Server: 0/"), server_line(pb)
    finally:
        if leaver is not None:
            leaver.close()
        stayer.close()


def test_another_session_never_sees_or_downloads_a_run(browser, server, set_number):
    """Runs live in the session that trained them; crafted links reach nothing else."""
    owner, pa = open_train(browser, server)
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        set_number(pa, "train images", 96)
        set_number(pa, "validation images", 32)
        set_number(pa, "epochs", 1)
        pa.get_by_role("button", name="Train", exact=True).click()
        pa.get_by_text(re.compile(r"Run finished")).wait_for(timeout=120_000)

        pb = other.new_page()
        pb.set_default_timeout(60_000)
        for path, empty in (
            ("predict?run=1&predict_run=1", "no trained model"),
            ("evaluate?eval_run=1&compare_runs=1", "No finished runs"),
            ("runs?files_run=1&run=1", "No runs yet"),
        ):
            pb.goto(f"{server}/{path}")
            pb.get_by_text(empty).first.wait_for()
            assert pb.get_by_role("button", name="Model (.keras)").count() == 0
            assert not pb.locator('[data-testid="stException"]').count()
        # the owner still has it
        pa.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Runs & files").click()
        pa.get_by_role("button", name="Model (.keras)").wait_for()
    finally:
        owner.close()
        other.close()
