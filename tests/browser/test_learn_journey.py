"""Journey: Learn -> shapes -> sigmoid vs softmax -> run a pitfall live -> the code for the run."""


def test_learn_journey(server, goto, page, screenshot):
    pg = page
    goto(pg, server, "Learn")
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    screenshot(pg, "learn-shapes")

    pg.get_by_role("tab", name="Sigmoid vs softmax").click()
    pg.get_by_text("Sum over tags").wait_for()
    screenshot(pg, "learn-activations")

    pg.get_by_role("tab", name="Loss calculator").click()
    pg.locator('[data-testid="stMetric"]').filter(has_text="weighted_bce").wait_for()
    screenshot(pg, "learn-calculator")

    pg.get_by_role("tab", name="Pitfalls, live").click()
    pg.get_by_text("class_weight").first.click()  # open the class_weight pitfall
    pg.get_by_role("button", name="Run it live").first.wait_for()
    buttons = pg.get_by_role("button", name="Run it live")
    visible = [i for i in range(buttons.count()) if buttons.nth(i).is_visible()]
    buttons.nth(visible[0]).click()
    pg.locator('[data-testid="stAlertContentSuccess"]').first.wait_for(timeout=180_000)  # a cold worker imports TF
    screenshot(pg, "learn-pitfall")

    pg.get_by_role("tab", name="Code for your run").click()
    pg.get_by_text("Download train_multilabel.py").wait_for()
    pg.get_by_text("def main").first.wait_for()
    assert not pg.locator('[data-testid="stException"]').count()
    screenshot(pg, "learn-code")
