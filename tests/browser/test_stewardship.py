"""A site lead adapts the network's medicines handbook for their site; the network version changes
through the usual coproduced review; the lead merges the change, settling the one place both edited.
With the accessibility check on every stewardship page along the way."""
from __future__ import annotations

import re

from tests.browser.conftest import check_accessibility, sign_in

LEAD = "lead.riverside-childrens@demo.carecommons.test"
LEADER = "leader@demo.carecommons.test"
AUTHOR = "parent.riverside-childrens@demo.carecommons.test"        # a co-author of the handbook
REVIEWERS = (("parent.northgate-ibd@demo.carecommons.test", "parent"),
             ("clinician.northgate-ibd@demo.carecommons.test", "clinician"))
HANDBOOK = "/library/self-management-handbook-medicines"
SENTENCE = "Bring it up with your team at your next visit, or phone them before then."
LOCAL = "Bring it up with your team: the Riverside IBD nurses answer on 0113 555 0123."
NETWORK = "Bring it up with your team at any visit; they would much rather know."


def _other(browser, live_server, email):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, email)
    return context, page


def _network_publishes_a_change(browser, live_server):
    """A co-author edits the handbook, a parent and a clinician at another site approve, it is published."""
    context, author = _other(browser, live_server, AUTHOR)
    author.goto(live_server + HANDBOOK + "/edit")
    body = author.get_by_label("Text (Markdown)")
    body.fill(body.input_value().replace(SENTENCE, NETWORK) + "\n## Medicines on school trips\n\nPack a spare day.\n")
    author.get_by_label("What did you change? (one line)").fill("Friendlier advice; school trips")
    author.get_by_role("button", name="Save as a new revision").click()
    author.wait_for_load_state()
    author.get_by_role("button", name="Send to review").click()
    author.wait_for_load_state()
    for email, role in REVIEWERS:
        review_context, reviewer = _other(browser, live_server, email)
        reviewer.goto(live_server + HANDBOOK)
        reviewer.get_by_label("Your review").select_option("approve")
        reviewer.get_by_label("You review as").select_option(role)
        reviewer.get_by_role("button", name="Send review").click()
        reviewer.wait_for_load_state()
        review_context.close()
    author.goto(live_server + HANDBOOK)
    author.get_by_role("button", name="Publish").click()
    author.wait_for_load_state()
    context.close()


def test_a_site_lead_adapts_a_handbook_and_merges_the_network_change(browser, page, live_server, csp_violations):
    sign_in(page, live_server, LEAD)
    page.goto(live_server + HANDBOOK)
    assert page.get_by_role("heading", name=re.compile(r"Adapted by \d+ sites")).is_visible()
    check_accessibility(browser, page, "stewardship-resource")
    page.get_by_role("button", name="Adapt for Riverside Children's Hospital").click()
    page.wait_for_load_state()
    assert re.search(r"/library/adaptations/\d+$", page.url)
    adaptation_url = page.url
    assert page.get_by_text("Up to date with the network version").is_visible()
    check_accessibility(browser, page, "stewardship-adaptation")

    page.get_by_role("link", name="Edit for your site").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Readability").is_visible()
    body = page.get_by_label("Text (Markdown)")
    assert SENTENCE in body.input_value()
    body.fill(body.input_value().replace(SENTENCE, LOCAL) + "\nIf you have an exacerbation, call us the same day.\n")
    page.locator(".readability-body mark", has_text="exacerbation").wait_for()  # the panel refreshed as we typed
    check_accessibility(browser, page, "stewardship-adaptation-editor")
    page.get_by_label("What did you change? (one line)").fill("Our nurses' phone number")
    page.get_by_role("button", name="Save as a new revision").click()
    page.wait_for_load_state()
    assert page.get_by_text("0113 555 0123").first.is_visible()

    _network_publishes_a_change(browser, live_server)

    page.goto(adaptation_url)
    assert page.get_by_role("heading", name="The network version changed").is_visible()
    page.get_by_role("link", name="Review and merge the network changes").click()
    page.wait_for_load_state()
    conflict = page.get_by_role("group", name=re.compile("Place 1: changed both"))
    assert "0113 555 0123" in conflict.locator(".merge-mine pre").inner_text()
    assert "they would much rather know" in conflict.locator(".merge-theirs pre").inner_text()
    check_accessibility(browser, page, "stewardship-merge")
    page.get_by_role("button", name="Merge and save").click()   # nothing chosen yet: refused, nothing lost
    page.wait_for_load_state()
    assert page.get_by_text("Choose what to keep here").first.is_visible()
    choices = page.get_by_label("Keep both (yours first)")
    assert choices.count() == 2  # the phone number, and both adding to the end
    for choice in choices.all():
        choice.check()
    page.get_by_role("button", name="Merge and save").click()
    page.wait_for_load_state()
    assert page.url == adaptation_url
    article = page.locator("article.prose")
    assert article.get_by_text("0113 555 0123").is_visible()
    assert article.get_by_text("they would much rather know").is_visible()
    assert article.get_by_role("heading", name="Medicines on school trips").is_visible()
    assert page.get_by_text("Up to date with the network version").is_visible()
    check_accessibility(browser, page, "stewardship-adaptation-merged")


def test_a_leader_sees_overdue_tools_the_glossary_and_a_translation_behind(browser, page, live_server,
                                                                          csp_violations):
    sign_in(page, live_server, LEADER)
    page.goto(live_server + "/library/overdue")
    assert page.get_by_role("link", name=re.compile("a transition checklist")).is_visible()
    check_accessibility(browser, page, "stewardship-overdue")
    page.goto(live_server + "/library/glossary")
    assert page.get_by_role("rowheader", name="exacerbation", exact=True).is_visible()
    check_accessibility(browser, page, "stewardship-glossary")
    page.goto(live_server + "/library/guia-recien-diagnosticados")
    assert page.get_by_text(re.compile(r"Behind the original since \w{3} \d{1,2}, \d{4}")).is_visible()  # Babel: "Nov 26, 2026"
    page.get_by_role("link", name="See what changed").click()
    page.wait_for_load_state()
    assert page.locator("ins.diff-ins").first.is_visible()
    check_accessibility(browser, page, "stewardship-translation")
