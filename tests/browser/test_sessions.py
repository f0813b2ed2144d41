"""A facilitator, a parent and a clinician in one live room: chat, a poll and the agenda move for all."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.browser.conftest import check_accessibility, sign_in

LEADER = "leader@demo.carecommons.test"
PARENT = "parent.riverside-childrens@demo.carecommons.test"
CLINICIAN = "clinician.northgate-ibd@demo.carecommons.test"


def person(browser, live_server, email):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, email)
    return context, page


def test_three_people_in_one_room(browser, page, live_server, csp_violations):
    sign_in(page, live_server, LEADER)
    page.goto(live_server + "/sessions/new")
    page.get_by_label("Title").fill("Live test session")
    page.get_by_label("Starts").fill(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone of the start time").select_option("UTC")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/manage")
    page.get_by_label("Module title").fill("Welcome")
    page.get_by_role("button", name="Add module").click()
    page.get_by_label("Module title").fill("Previsit planning")
    page.get_by_role("button", name="Add module").click()
    slug = page.url.split("/sessions/")[1].split("/")[0]
    page.goto(f"{live_server}/sessions/{slug}")
    check_accessibility(browser, page, "session-show")

    others = {}
    for email in (PARENT, CLINICIAN):
        context, other = person(browser, live_server, email)
        other.goto(f"{live_server}/sessions/{slug}")
        other.get_by_role("button", name="Register").click()
        other.wait_for_load_state()
        other.get_by_role("link", name="Enter the live room").click()
        others[email] = (context, other)
    page.goto(f"{live_server}/sessions/{slug}/room")
    for p in [page] + [o for _c, o in others.values()]:
        p.get_by_text("Connected.").wait_for()
    parent, clinician = others[PARENT][1], others[CLINICIAN][1]
    parent.get_by_role("heading", name="Who is here").wait_for()
    parent.locator("#presence").get_by_text("3 here").wait_for()

    parent.get_by_label("Your message").fill("Hello from a *parent*")
    parent.get_by_role("button", name="Send").click()
    clinician.locator("#chat li em", has_text="parent").wait_for()

    page.get_by_label("Open a poll: question").fill("Will you try the plan?")
    page.get_by_label("Options, one per line").fill("Yes\nNo")
    page.get_by_role("button", name="Open poll").click()
    parent.locator(".poll button", has_text="Yes").click()
    clinician.locator(".poll .count", has_text="1").first.wait_for()

    page.get_by_label("Move everyone to").select_option(label="Previsit planning")
    page.get_by_role("button", name="Go").click()
    parent.locator('#agenda li[aria-current="step"]', has_text="Previsit planning").wait_for()

    check_accessibility(browser, parent, "session-room")
    for context, _page in others.values():
        context.close()
    page.goto(f"{live_server}/sessions/{slug}/transcript")
    assert "Hello from a *parent*" in page.content()
    check_accessibility(browser, page, "session-transcript")
