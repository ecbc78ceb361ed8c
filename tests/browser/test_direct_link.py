"""A page link opened first thing after a server start gets the app's navigation,
page config and page — not Streamlit's legacy pages/ auto-discovery."""

from conftest import streamlit_server


def test_first_visit_to_a_page_link_uses_the_app_navigation(browser):
    with streamlit_server("streamlit-direct-link") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(f"{url}/train")
        pg.get_by_role("heading", name="Train").wait_for()
        nav = pg.locator('[data-testid="stSidebarNav"]')
        nav.get_by_text("Multi-label Lab").wait_for()
        links = nav.inner_text()
        assert "streamlit app" not in links.lower()
        # the entry point's page config ran: wide layout
        width = pg.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
        assert width > 1000
        context.close()
