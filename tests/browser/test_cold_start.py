"""A cold server: the home page first (without TensorFlow), then straight on to the pages that need it
while the server's background warm-up is still importing it; every run lands in the rerun log."""

import time

from mlc.rerun_clock import LOG_ENV, read_log


def test_first_page_then_the_tensorflow_pages_while_warming_up(start_server, page, tmp_path):
    log = tmp_path / "reruns.jsonl"
    with start_server(**{LOG_ENV: log}) as url:
        page.goto(url)
        page.get_by_role("heading", name="Multi-label Lab").first.wait_for()
        page.get_by_text("Sample scenes").wait_for()
        # at once, before the warm-up (1 s after the first page) has finished importing TensorFlow
        for name in ("Train", "Learn", "Predict"):
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()
            page.get_by_role("heading", name=name).first.wait_for(timeout=120_000)
            assert not page.locator('[data-testid="stException"]').count(), name
        # the server writes a run's record when the run ends, which can be after the next page shows
        deadline = time.monotonic() + 60
        while not {"home", "train", "learn", "predict"} <= {r["page"] for r in read_log(log)}:
            assert time.monotonic() < deadline, read_log(log)
            time.sleep(0.5)
        records = read_log(log)
    finished = {(r["page"], r["outcome"]) for r in records}
    # moving on as soon as a heading shows may stop a page's run ("stop"): what matters is that
    # every page ran, and none raised while TensorFlow was still being imported
    assert ("home", "ok") in finished and {"train", "learn"} <= {r["page"] for r in records}, records
    assert not [r for r in records if r["outcome"] == "error"], records
    assert all(r["seconds"] >= 0 for r in records)
