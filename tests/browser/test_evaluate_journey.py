"""Journey: two quick runs on the Train page (bce, then weighted_bce with (1-p)/p weights)
-> Evaluate & compare: one run in depth, then both runs side by side."""

import re


def train_tiny(pg) -> None:
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_role("button", name="Stop").and_(pg.locator(":enabled")).wait_for()
    pg.get_by_text(re.compile(r"Run finished")).wait_for(timeout=120_000)
    pg.get_by_role("button", name="Train", exact=True).and_(pg.locator(":enabled")).wait_for()


def test_evaluate_journey(server, goto, browser, page, screenshot, set_number):
    pg = page
    goto(pg, server, "Train")
    nav = pg.locator('[data-testid="stSidebarNav"]')
    set_number(pg, "train images", 512)
    set_number(pg, "validation images", 256)
    set_number(pg, "epochs", 2)
    train_tiny(pg)

    pg.locator('[data-testid="stSelectbox"]').first.click()
    pg.get_by_role("option", name="weighted_bce", exact=True).click()
    pg.get_by_text("BCE with a weight per tag").first.wait_for()
    pg.get_by_role("button", name="(1−p)/p").click()
    pg.wait_for_timeout(800)
    train_tiny(pg)

    nav.get_by_role("link", name="Evaluate & compare").click()
    pg.get_by_role("heading", name="Evaluate & compare").wait_for()
    pg.get_by_text("Why accuracy lies").wait_for()
    pg.locator('[data-testid="stVegaLiteChart"]').nth(1).wait_for()
    pg.locator('[data-testid="stMarkdown"]').filter(has_text="CategoricalAccuracy").first.wait_for()
    screenshot(pg, "evaluate-one-run")

    pg.get_by_role("tab", name="Compare runs").click()
    pg.get_by_text("Download comparison (CSV)").wait_for()
    metrics = pg.locator('[data-testid="stMetric"]').filter(has_text="cat recall")
    metrics.nth(1).wait_for()
    assert metrics.count() == 2
    pg.get_by_text("weighted_bce (weights=").first.wait_for()
    pg.locator('[data-testid="stVegaLiteChart"]').nth(4).wait_for()
    assert not pg.locator('[data-testid="stException"]').count()
    path = screenshot(pg, "evaluate-compare")
    assert path.stat().st_size > 10_000

    # a workshop: this visitor downloads all runs as a bundle; another visitor imports them
    nav.get_by_role("link", name="Runs & files").click()
    pg.get_by_role("heading", name="Your runs").wait_for()
    with pg.expect_download() as download:
        pg.get_by_role("button", name="All runs (bundle)").click()
    bundle = download.value.path().read_bytes()
    assert bundle[:2] == b"PK"
    screenshot(pg, "runs-page")

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg2 = other.new_page()
        pg2.set_default_timeout(60_000)
        pg2.goto(f"{server}/runs")
        pg2.get_by_role("heading", name="Import").wait_for()
        pg2.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            files=[{"name": "everyone.zip", "mimeType": "application/zip", "buffer": bundle}]
        )
        pg2.get_by_role("button", name="Import", exact=True).and_(pg2.locator(":enabled")).click()
        pg2.get_by_text("Imported 2 run(s)").wait_for(timeout=120_000)
        pg2.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Evaluate & compare").click()
        pg2.get_by_role("tab", name="Compare runs").click()
        pg2.get_by_text("Download comparison (CSV)").wait_for()
        assert not pg2.locator('[data-testid="stException"]').count()
    finally:
        other.close()
