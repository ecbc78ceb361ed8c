"""A reload keeps your work: the running job survives a page reload and shows in a second tab
(which can stop it), and its run is there afterwards, held under the visitor key in the browser's
cookie; another visitor (even one whose browser brings a made-up key) sees none of it."""

import re
import time

from mlc import visitors

#: A run far longer than the test (minutes even on a fast machine): it is stopped once everything is seen.
RUN_LINK = "train?train=2000&val=200&epochs=30&batch=32"
PROGRESS = '[data-testid="stProgress"]'


def new_page(context):
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    return pg


def visitor_cookie(context) -> dict:
    (cookie,) = [c for c in context.cookies() if c["name"] == visitors.COOKIE]
    return cookie


def test_a_reload_and_a_second_tab_find_the_running_job_and_its_run(browser, start_server):
    # the product's default trainer: the job runs in a worker process and outlives the tab's session
    with start_server(MLC_VISITOR_GRACE_SECONDS=900) as url:
        mine = browser.new_context(viewport={"width": 1400, "height": 1000})
        theirs = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            pg = new_page(mine)
            pg.goto(f"{url}/{RUN_LINK}")
            pg.get_by_role("heading", name="Train").wait_for()
            pg.wait_for_function(f"() => document.cookie.includes('{visitors.COOKIE}=')")
            cookie = visitor_cookie(mine)
            key = cookie["value"]
            assert visitors.valid_key(key) == key
            assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
            assert cookie["expires"] > time.time() + 3600  # kept across a browser restart, not forever
            pg.wait_for_timeout(1000)  # let the link's settings settle before the click
            pg.get_by_role("button", name="Train", exact=True).click()
            pg.locator(PROGRESS).wait_for()

            pg.reload()  # mid-training: a new Streamlit session
            pg.get_by_role("heading", name="Train").wait_for()
            pg.locator(PROGRESS).wait_for()  # the job is still running, shown in the new session
            assert pg.get_by_role("button", name="Stop").is_enabled()
            assert key not in pg.url
            assert visitor_cookie(mine)["value"] == key  # the key was read back, not replaced

            second = new_page(mine)  # a second tab of the same visitor polls the same job
            second.goto(f"{url}/train")
            second.locator(PROGRESS).filter(has_text="epoch").wait_for()  # past the data: a stop keeps a run

            # another visitor, whose browser brings a made-up key: it counts as none, they get a
            # new one of their own and nothing of mine
            theirs.add_cookies([{"name": visitors.COOKIE, "value": "guess", "url": url}])
            other = new_page(theirs)
            other.goto(f"{url}/train")
            other.get_by_text(re.compile(r"Server: 1/\d+ trainings running")).wait_for()
            other.wait_for_function(f"() => /{visitors.COOKIE}=[A-Za-z0-9_-]{{43}}/.test(document.cookie)")
            assert visitors.valid_key(visitor_cookie(theirs)["value"]) not in (None, key)
            assert other.locator(PROGRESS).count() == 0
            assert other.get_by_role("button", name="Stop").is_disabled()

            second.get_by_role("button", name="Stop").click()  # the second tab controls the same job
            pg.get_by_text("The partial run is kept").wait_for(timeout=120_000)  # the reloaded tab sees it end
            second.close()
            pg.reload()  # the ended run is kept too
            pg.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Runs & files").click()
            pg.get_by_role("button", name="Model (.keras)").wait_for()

            other.goto(f"{url}/runs")
            other.get_by_text("No runs yet").first.wait_for()
            assert other.get_by_role("button", name="Model (.keras)").count() == 0
            for p in (pg, other):
                assert not p.locator('[data-testid="stException"]').count()
        finally:
            mine.close()
            theirs.close()
