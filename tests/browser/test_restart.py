"""Faults: a server restart loses nothing that was saved to the run directory."""

import re


def test_runs_in_the_run_directory_survive_a_restart(browser, start_server, set_number, tmp_path):
    run_dir = tmp_path / "runs"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        with start_server(MLC_RUN_DIR=run_dir) as url:
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            pg.goto(f"{url}/train")
            pg.get_by_role("heading", name="Train").wait_for()
            set_number(pg, "train images", 96)
            set_number(pg, "validation images", 32)
            set_number(pg, "epochs", 1)
            pg.get_by_role("button", name="Train", exact=True).click()
            pg.get_by_text(re.compile(r"Run finished")).wait_for(timeout=120_000)
            pg.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Runs & files").click()
            pg.get_by_text("are saved to").wait_for()
        assert len(list(run_dir.glob("*/model.keras"))) == 1

        with start_server(MLC_RUN_DIR=run_dir) as url:  # the same directory after a restart
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            pg.goto(f"{url}/runs")
            pg.get_by_role("button", name="Model (.keras)").wait_for()
            pg.goto(f"{url}/evaluate")
            pg.get_by_text("Why accuracy lies").wait_for()
            assert not pg.locator('[data-testid="stException"]').count()
    finally:
        context.close()
