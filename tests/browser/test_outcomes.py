"""A data steward uploads figures (a bad file first), and members and the public read the charts."""
from __future__ import annotations

from network.outcomes import month_key, previous_month
from tests.browser.conftest import check_accessibility, sign_in

STEWARD = "clinician.riverside-childrens@demo.carecommons.test"
PARENT = "parent.northgate-ibd@demo.carecommons.test"


def csv_upload(page, text: str) -> None:
    page.set_input_files("input[type=file]", files=[{"name": "figures.csv", "mimeType": "text/csv",
                                                     "buffer": text.encode()}])
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()


def test_steward_uploads_with_an_error_then_fixes_it(browser, page, live_server, csp_violations):
    month = month_key(previous_month())
    sign_in(page, live_server, STEWARD)
    page.goto(live_server + "/outcomes/upload")
    check_accessibility(browser, page, "outcomes-upload")
    csv_upload(page, f"site,measure,month,numerator,denominator\nriverside-childrens,remission,{month},180,200\n"
                     f"riverside-childrens,steroid-free,{month},250,200\n")
    alert = page.get_by_role("alert")
    assert "Nothing was imported" in alert.inner_text() and "row 3: numerator" in alert.inner_text()
    check_accessibility(browser, page, "outcomes-upload-errors")
    csv_upload(page, f"site,measure,month,numerator,denominator\nriverside-childrens,remission,{month},180,200\n"
                     f"riverside-childrens,steroid-free,{month},190,200\n")
    assert "Imported 2 rows" in page.get_by_role("status").first.inner_text()
    page.goto(live_server + "/outcomes/remission/sites/riverside-childrens")
    chart = page.locator("svg[role=img]").first
    assert chart.is_visible()
    page.get_by_text("Data table").click()
    assert page.get_by_role("row", name=f"{_month_words(month)}").count() >= 1
    check_accessibility(browser, page, "outcomes-site-measure")


def _month_words(month: str) -> str:
    import calendar

    year, number = month.split("-")
    return f"{calendar.month_abbr[int(number)]} {year}"


def test_member_reads_the_network_charts(browser, page, live_server, csp_violations):
    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/outcomes/remission")
    assert page.get_by_role("heading", name="The whole network").is_visible()
    assert page.locator("ul.multiples > li").count() == 70
    assert page.locator("#network-chart-title").text_content().startswith("Patients in remission")
    check_accessibility(browser, page, "outcomes-overview")
    page.get_by_label("Sort by").select_option("signal")
    page.get_by_role("button", name="Apply").click()
    assert "sort=signal" in page.url
    page.goto(live_server + "/outcomes/remission/funnel")
    assert page.locator("svg[role=img]").count() == 1
    check_accessibility(browser, page, "outcomes-funnel")
    page.goto(live_server + "/outcomes/sites/northgate-ibd")
    check_accessibility(browser, page, "outcomes-site")


def test_public_page_has_no_site_names(browser, page, live_server, csp_violations):
    page.goto(live_server + "/public/outcomes/remission")
    body = page.content()
    assert "Riverside" not in body and "Site 1" in body
    check_accessibility(browser, page, "outcomes-public")


def test_chart_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/outcomes/remission/sites/northgate-ibd")
    box = page.locator("svg[role=img]").first.bounding_box()
    assert box["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
