"""A parent fills a previsit plan; a clinician at the same site reads it; one at another site cannot.
Checked for accessibility on the form, the worklist and tracking, on a phone-sized screen too."""
from __future__ import annotations

from datetime import date, timedelta

from tests.browser.conftest import check_accessibility, sign_in

PARENT = "parent.riverside-childrens@demo.carecommons.test"
SAME_SITE = "clinician.riverside-childrens@demo.carecommons.test"
OTHER_SITE = "clinician.northgate-ibd@demo.carecommons.test"


def test_plan_seen_by_own_site_only(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/care/plans/new")
    page.get_by_label("Visit date").fill((date.today() + timedelta(days=3)).isoformat())
    check_accessibility(browser, page, "care-new-plan-phone")
    page.get_by_role("button", name="Start the plan").click()
    page.wait_for_url("**/care/plans/*")
    page.get_by_label("Worse").check()
    page.get_by_label("What matters most to you at this visit?").fill("Sleeping through the night")
    page.get_by_label("How much energy have you had, from 0 (none) to 10 (plenty)?").fill("3")
    check_accessibility(browser, page, "care-plan-form-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Share with my care team").click()
    page.wait_for_load_state()
    plan_url = page.url
    page.goto(live_server + "/care/")
    page.get_by_role("link", name="Tracking").first.click()
    page.get_by_label("Tummy pain (0–10)").fill("4")
    page.get_by_role("button", name="Save today").click()
    page.wait_for_load_state()
    check_accessibility(browser, page, "care-tracking-phone")
    context.close()

    context = browser.new_context()
    clinician = context.new_page()
    sign_in(clinician, live_server, SAME_SITE)
    clinician.goto(live_server + "/care/worklist/riverside-childrens")
    check_accessibility(browser, clinician, "care-worklist")
    clinician.goto(plan_url)
    assert "Sleeping through the night" in clinician.content()
    check_accessibility(browser, clinician, "care-plan-clinician")
    context.close()

    context = browser.new_context()
    outsider = context.new_page()
    sign_in(outsider, live_server, OTHER_SITE)
    response = outsider.goto(plan_url)
    assert response.status == 404 and "Sleeping through the night" not in outsider.content()
    context.close()
