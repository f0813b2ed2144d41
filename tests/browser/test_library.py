"""A parent and a clinician write a handbook together, through review to publication; and the worst
of the XSS corpus, typed into a resource, never runs in the browser."""
from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import check_accessibility, sign_in

PARENT = "parent.riverside-childrens@demo.carecommons.test"
CLINICIAN = "clinician.riverside-childrens@demo.carecommons.test"
REVIEW_PARENT = "parent.northgate-ibd@demo.carecommons.test"
REVIEW_CLINICIAN = "clinician.northgate-ibd@demo.carecommons.test"
PAYLOADS = Path(__file__).resolve().parents[1] / "data" / "xss_payloads.txt"


def new_context_page(browser):
    context = browser.new_context()
    return context, context.new_page()


def test_parent_and_clinician_cowrite_a_handbook_to_publication(browser, page, live_server, csp_violations):
    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/library/new")
    page.get_by_label("Title").fill("Travelling with IBD: a family handbook")
    page.get_by_label("Text (Markdown)").fill("## Before you go\n\n- [ ] Pack twice the medicine you need\n")
    page.locator("#preview h2").wait_for()  # the live preview
    check_accessibility(browser, page, "library-editor")
    page.get_by_label("What did you change? (one line)").fill("First draft")
    page.get_by_label("Parents").check()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Travelling with IBD: a family handbook").is_visible()
    page.get_by_label("Co-author's e-mail address").fill(CLINICIAN)
    page.get_by_role("button", name="Add co-author").click()
    check_accessibility(browser, page, "library-resource-draft")
    slug = page.url.rstrip("/").split("/library/")[1].split("?")[0]

    context, clinician = new_context_page(browser)
    sign_in(clinician, live_server, CLINICIAN)
    clinician.goto(f"{live_server}/library/{slug}/edit")
    body = clinician.get_by_label("Text (Markdown)")
    body.fill(body.input_value() + "\n## At the airport\n\nCarry a letter from your care team.\n")
    clinician.get_by_label("What did you change? (one line)").fill("Added the airport section")
    clinician.get_by_role("button", name="Save as a new revision").click()
    clinician.wait_for_load_state()
    clinician.goto(f"{live_server}/library/{slug}/history")
    assert clinician.get_by_role("cell", name="Added the airport section").is_visible()
    check_accessibility(browser, clinician, "library-history")
    clinician.goto(f"{live_server}/library/{slug}/compare?a=1&b=2")
    assert clinician.locator("ins.diff-ins").first.is_visible()
    check_accessibility(browser, clinician, "library-compare")
    clinician.goto(f"{live_server}/library/{slug}/compare?a=1&b=2&view=side")
    check_accessibility(browser, clinician, "library-compare-side")
    context.close()

    page.goto(f"{live_server}/library/{slug}")
    page.get_by_role("button", name="Send to review").click()
    page.wait_for_load_state()
    for email, role in ((REVIEW_PARENT, "parent"), (REVIEW_CLINICIAN, "clinician")):
        context, reviewer = new_context_page(browser)
        sign_in(reviewer, live_server, email)
        reviewer.goto(f"{live_server}/library/{slug}")
        reviewer.get_by_label("Your review").select_option("approve")
        reviewer.get_by_label("You review as").select_option(role)
        reviewer.get_by_role("button", name="Send review").click()
        reviewer.wait_for_load_state()
        context.close()
    page.goto(f"{live_server}/library/{slug}")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_load_state()
    assert page.get_by_text("Co-produced").first.is_visible()
    check_accessibility(browser, page, "library-resource-published")
    page.goto(f"{live_server}/library/?q=airport")
    assert page.locator("ol.results").get_by_role("link", name="Travelling with IBD: a family handbook").is_visible()
    check_accessibility(browser, page, "library-search")


def test_the_worst_payloads_never_execute(browser, page, live_server, csp_violations):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    payloads = [line for line in PAYLOADS.read_text().splitlines() if line.strip()]
    body = "## Payloads\n\n" + "\n\n".join(payloads) + "\n\n[click me](javascript:window.__xss=1)\n"
    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/library/new")
    page.get_by_label("Title").fill("XSS corpus")
    page.get_by_label("Text (Markdown)").fill(body)
    page.locator("#preview h2").first.wait_for()
    page.get_by_label("Parents").check()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    page.wait_for_timeout(500)
    links = page.locator("article.prose a")
    for i in range(min(links.count(), 40)):
        href = links.nth(i).get_attribute("href") or ""
        assert not href.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    assert page.evaluate("window.__xss === undefined")
    assert page.locator("article.prose script, article.prose iframe, article.prose object, article.prose embed").count() == 0
    assert dialogs == []
