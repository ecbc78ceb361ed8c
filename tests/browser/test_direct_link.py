"""A page link opened first thing after a server start gets the app's navigation,
page config and page — not Streamlit's legacy pages/ auto-discovery."""


def test_first_visit_to_a_page_link_uses_the_app_navigation(fresh_server, page):
    page.goto(f"{fresh_server}/train")
    page.get_by_role("heading", name="Train").wait_for()
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Multi-label Lab").wait_for()
    assert "streamlit app" not in nav.inner_text().lower()
    # the entry point's page config ran: wide layout
    width = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
    assert width > 1000
