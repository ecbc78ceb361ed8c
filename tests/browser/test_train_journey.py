"""Journey: open the app -> Train -> weighted_bce -> (1-p)/p weights -> Train a tiny run
-> the loss chart appears and grows -> the run finishes with a summary."""

import re


def test_train_journey(server, goto, page, screenshot, set_number):
    pg = page
    goto(pg, server, "Train")

    # loss mode: weighted_bce (the page's first select box)
    pg.locator('[data-testid="stSelectbox"]').first.click()
    pg.get_by_role("option", name="weighted_bce", exact=True).click()
    pg.get_by_text("BCE with a weight per tag").first.wait_for()
    # automatic weights from prevalence, then positive-term weighting; the config shows
    # each change before the next one (a click made while the page reruns can be merged away)
    pg.get_by_text("Config (JSON)").click()
    config = pg.locator('[data-testid="stCode"]').filter(has_text='"weights"')
    config.get_by_text('"weighted_bce"').wait_for()
    pg.get_by_role("button", name="(1−p)/p").click()
    config.get_by_text("19.0").wait_for()
    pg.get_by_text("positive term").click()
    config.get_by_text('"positive"').wait_for()

    # a tiny run
    set_number(pg, "train images", 384)
    set_number(pg, "validation images", 96)
    set_number(pg, "epochs", 4)
    set_number(pg, "batch size", 16)
    pg.get_by_role("button", name="Train", exact=True).click()

    chart = pg.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    progress = pg.locator('[data-testid="stProgress"]')
    progress.wait_for()
    first_text = progress.inner_text()
    first_chart = chart.screenshot()
    # the page keeps updating while training runs: a later tick shows more batches
    pg.wait_for_function(
        "t => { const p = document.querySelector('[data-testid=\"stProgress\"]'); return !p || p.innerText !== t; }",
        arg=first_text,
    )
    pg.get_by_text(re.compile(r"Run finished")).wait_for(timeout=120_000)
    assert chart.screenshot() != first_chart  # the chart grew
    metrics = pg.locator('[data-testid="stMetric"]')
    metrics.nth(5).wait_for()
    assert metrics.count() == 6
    assert "mAP" in metrics.first.inner_text()
    pg.get_by_role("heading", name="Runs in this session").wait_for()
    pg.locator('[data-testid="stDataFrame"]').nth(2).wait_for()  # tags, per-tag report, run list
    assert not pg.locator('[data-testid="stException"]').count()
    path = screenshot(pg, "train-finished")
    assert path.stat().st_size > 10_000
