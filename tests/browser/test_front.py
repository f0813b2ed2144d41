"""Home for a parent, a clinician and a leader, search, and the Spanish interface, each with axe."""
from __future__ import annotations

import re

from tests.browser.conftest import check_accessibility, sign_in

PEOPLE = {"parent": "parent.riverside-childrens@demo.carecommons.test",
          "clinician": "clinician.riverside-childrens@demo.carecommons.test",
          "leader": "leader@demo.carecommons.test"}


def test_home_for_each_role(browser, live_server):
    for role, email in PEOPLE.items():
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, live_server, email)
        assert page.get_by_role("heading", name="Our shared aim").is_visible()
        assert page.get_by_role("heading", name="Coming up").is_visible()
        check_accessibility(browser, page, f"home-{role}")
        if role == "parent":
            page.get_by_label("Search everything").fill("school")
            page.keyboard.press("Enter")
            page.wait_for_url("**/search?q=school")
            assert page.get_by_role("heading", name="Library").is_visible()
            check_accessibility(browser, page, "search")
        context.close()


SPANISH_READER = "doctor.riverside-childrens@demo.carecommons.test"  # the choice is saved on the account


def test_spanish_interface(browser, page, live_server, csp_violations):
    sign_in(page, live_server, SPANISH_READER)
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Change").last.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Nuestro objetivo común").is_visible()
    check_accessibility(browser, page, "home-es")
    page.goto(live_server + "/library/")
    check_accessibility(browser, page, "library-es")
    page.goto(live_server + "/sessions/")
    assert page.get_by_role("heading", name="Sesiones de aprendizaje", level=1).is_visible()
    # session times through Babel in the session's zone: "jue 10 dic 2026, 06:00"
    assert re.search(r"\b(lun|mar|mié|jue|vie|sáb|dom) \d{1,2} \w+ \d{4}, \d{2}:\d{2}", page.locator("main").inner_text())
    check_accessibility(browser, page, "sessions-es")
    page.goto(live_server + "/notifications")
    assert page.get_by_role("heading", name="Notificaciones", level=1).is_visible()
    check_accessibility(browser, page, "notifications-es")
