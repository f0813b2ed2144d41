"""A site lead logs a PDSA ramp of two cycles and sees them as numbered markers on the site's chart (in the
SVG, its description and the data table); the other sites' tests of change are browsable by measure.
With the accessibility check on every page along the way."""
from __future__ import annotations

import re
from datetime import date

import pytest

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser

LEAD = "lead.riverside-childrens@demo.carecommons.test"
SITE = "riverside-childrens"


def _month(back: int) -> str:
    today = date.today()
    index = today.year * 12 + today.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _record(page, live_server, *, title, start, end, follows=None, done="", learned="", decision=""):
    page.goto(f"{live_server}/pdsa/sites/{SITE}")
    page.get_by_role("link", name="Record a test of change").click()
    page.wait_for_load_state()
    page.get_by_label("Short name").fill(title)
    page.get_by_label("Aim", exact=True).fill("Every visit meets the model-care checklist.")
    page.get_by_label("The change tested").fill(f"{title}: tried in one clinic first.")
    page.get_by_label("Prediction").fill("We predict the share of visits meeting the checklist rises.")
    page.get_by_label("Start month").fill(start)
    page.get_by_label("End month").fill(end)
    if follows:
        page.get_by_label("Follows (part of a ramp)").select_option(label=follows)
    page.get_by_label("Visits meeting model-care criteria").check()
    if done:
        page.get_by_label("What was done").fill(done)
        page.get_by_label("What was learned").fill(learned)
        page.get_by_label("Decision", exact=True).select_option(decision)
    page.get_by_role("button", name="Record the cycle").click()
    page.wait_for_load_state()
    assert re.search(r"/pdsa/\d+$", page.url), page.url
    return int(re.search(r"(\d+)$", page.url).group(1))


def test_a_site_lead_logs_a_ramp_and_sees_it_on_the_chart(browser, page, live_server, csp_violations):
    sign_in(page, live_server, LEAD)
    page.goto(f"{live_server}/pdsa/sites/{SITE}")
    assert page.get_by_role("heading", name=re.compile("Tests of change at")).is_visible()
    check_accessibility(browser, page, "pdsa-site")
    page.get_by_role("link", name="Record a test of change").click()
    page.wait_for_load_state()
    check_accessibility(browser, page, "pdsa-form")

    # a refusal says why and keeps what was typed
    page.get_by_label("Short name").fill("Huddle on the checklist")
    page.get_by_label("Start month").fill(_month(4))
    page.get_by_label("End month").fill(_month(5))
    page.get_by_role("button", name="Record the cycle").click()
    page.wait_for_load_state()
    assert page.get_by_text("The end month cannot be before the start month.").is_visible()
    assert page.get_by_label("Short name").input_value() == "Huddle on the checklist"
    check_accessibility(browser, page, "pdsa-form-errors")

    first = _record(page, live_server, title="Huddle on the checklist", start=_month(5), end=_month(4),
                    done="Huddles on most clinic days.", learned="Growth was most often missed.", decision="adapt")
    number = int(page.locator("h1 .pdsa-number").inner_text())
    assert page.get_by_text("Test of change %d recorded." % number).is_visible()
    check_accessibility(browser, page, "pdsa-cycle")
    second = _record(page, live_server, title="Checklist in the clinic note", start=_month(3), end=_month(2),
                     follows=f"Cycle {number}: Huddle on the checklist")
    assert second != first
    assert page.get_by_role("heading", name="The ramp").is_visible()
    assert page.locator(".pdsa-ramp li").count() == 2
    assert page.get_by_role("heading", name="What the chart did next").is_visible()

    # the site's chart: numbered markers with their titles, and the description names them
    page.goto(f"{live_server}/outcomes/sites/{SITE}")
    chart = page.locator("svg#c-model-care")
    markers = chart.locator("g.cc-ann-numbered")
    assert markers.count() == 2
    assert [markers.nth(i).get_attribute("data-cycle") for i in range(2)] == [str(number), str(number + 1)]
    assert re.search(rf"Change cycle {number}: Huddle on the checklist", markers.nth(0).locator("title").text_content())
    assert chart.locator("text.cc-ann-number").nth(1).text_content() == str(number + 1)
    description = chart.locator("desc").text_content()
    assert f"Tests of change: {number}, {_month(5)} to {_month(4)}: Huddle on the checklist" in description
    check_accessibility(browser, page, "pdsa-site-charts")

    # the data table lists the cycles running each month
    page.goto(f"{live_server}/outcomes/model-care/sites/{SITE}")
    page.get_by_text("Data table").click()
    table = page.locator("table.data")
    assert table.get_by_role("columnheader", name="Tests of change").is_visible()
    assert table.get_by_role("cell", name=f"{number + 1}: Checklist in the clinic note").count() == 2
    check_accessibility(browser, page, "pdsa-site-measure")

    # every member can browse what sites tried, with what the chart did next
    page.goto(f"{live_server}/pdsa/measures/model-care")
    assert page.get_by_role("link", name=f"Cycle {number + 1}: Checklist in the clinic note").is_visible()
    assert page.get_by_text(re.compile(r"A shift began \d+ months? later")).first.is_visible()
    assert "caused" not in page.locator("table.data").inner_text()
    check_accessibility(browser, page, "pdsa-what-sites-tried")
