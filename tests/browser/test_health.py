"""The network-health dashboard and public summary, and the Patient Advisory Council's decision log:
voting in the browser, with axe on each page and the real CSP."""
from __future__ import annotations

import pytest

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser

LEADER = "leader@demo.carecommons.test"
CHAIR = "parent.riverside-childrens@demo.carecommons.test"  # chairs the demo Patient Advisory Council


def test_leaders_dashboard_and_public_summary(browser, page, live_server, csp_violations):
    sign_in(page, live_server, LEADER)
    page.get_by_role("link", name="Network health").first.click()
    page.wait_for_url("**/health/")
    assert page.get_by_role("heading", name="Active members").is_visible()
    assert page.locator("svg[role=img]").count() >= 6
    page.get_by_text("Data table").first.click()
    assert page.get_by_role("table", name="Active members").is_visible()
    check_accessibility(browser, page, "health-dashboard")
    page.goto(live_server + "/public/health")
    assert page.get_by_role("heading", name="Sites submitting their data on time").is_visible()
    check_accessibility(browser, page, "health-public")


def test_a_council_member_votes_once_and_sees_their_actions(browser, page, live_server, csp_violations):
    sign_in(page, live_server, CHAIR)
    page.goto(live_server + "/groups/patient-advisory-council")
    page.get_by_role("link", name="Decision log").click()
    check_accessibility(browser, page, "council-log")
    page.get_by_role("link", name="Stories show first names only by default").click()
    assert page.get_by_role("table", name="Votes").is_visible()   # closed: results shown
    check_accessibility(browser, page, "council-decision-closed")
    page.goto(live_server + "/groups/patient-advisory-council/decisions")
    page.get_by_role("link", name="Hold the spring council meeting online").click()
    assert page.get_by_text("The results are hidden until the vote closes.").is_visible()
    check_accessibility(browser, page, "council-decision-open")
    page.get_by_label("for").check()
    page.get_by_role("button", name="Vote", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_text("Your vote is counted").is_visible()
    assert page.get_by_text("You have voted.").is_visible()
    page.goto(live_server + "/")
    page.get_by_role("link", name="open action items").click()
    assert page.get_by_role("heading", name="My action items").is_visible()
    check_accessibility(browser, page, "council-actions")
