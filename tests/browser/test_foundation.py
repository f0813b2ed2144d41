"""A demo parent signs in and reaches the home page; the pages pass the axe-core check."""
from __future__ import annotations

from tests.browser.conftest import check_accessibility, sign_in

PARENT = "parent.riverside-childrens@demo.carecommons.test"


def test_parent_signs_in_and_reaches_home(browser, page, live_server, csp_violations):
    page.goto(live_server + "/")
    check_accessibility(browser, page, "landing")
    page.get_by_role("link", name="Sign in").first.click()
    check_accessibility(browser, page, "login")
    sign_in(page, live_server, PARENT)
    assert page.get_by_role("heading", name="Our shared aim").is_visible()
    assert page.get_by_text("Riverside Children's Hospital").first.is_visible()
    check_accessibility(browser, page, "home-parent")
    page.goto(live_server + "/profile")
    check_accessibility(browser, page, "profile")


def test_wrong_password_is_announced(page, live_server, csp_violations):
    sign_in(page, live_server, PARENT, password="not the password")
    assert page.get_by_role("alert").is_visible()
    assert "do not match" in page.get_by_role("alert").inner_text()


def test_keyboard_user_can_skip_to_content(page, live_server, csp_violations):
    page.goto(live_server + "/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_phone_sized_home(browser, live_server):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    sign_in(page, live_server, PARENT)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page scrolls sideways on a phone ({width}px)"
    check_accessibility(browser, page, "home-phone")
    context.close()
