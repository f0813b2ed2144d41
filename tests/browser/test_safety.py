"""Safeguarding in the browser: a chat message in a live room is flagged by a participant, who then sees
the crisis guidance; a safeguarding contact is told; a moderator handles it in the urgent queue.
And contact between members: ask from the directory, accept, write in the private thread, block."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from tests.browser.conftest import check_accessibility, sign_in

LEADER = "leader@demo.carecommons.test"
MODERATOR = "moderator@demo.carecommons.test"
PARENT = "parent.riverside-childrens@demo.carecommons.test"
CLINICIAN = "clinician.northgate-ibd@demo.carecommons.test"
CONTACT = "clinician.riverside-childrens@demo.carecommons.test"  # a safeguarding contact in the demo
MESSAGE = "Things at home have been really hard lately"


def person(browser, live_server, email):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, email)
    return context, page


def _open_session(page, live_server) -> str:
    page.goto(live_server + "/sessions/new")
    page.get_by_label("Title").fill("Safeguarding test session")
    page.get_by_label("Starts").fill(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone of the start time").select_option("UTC")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/manage")
    return page.url.split("/sessions/")[1].split("/")[0]


def test_a_chat_message_flagged_in_a_live_room_is_handled_in_the_urgent_queue(browser, page, live_server,
                                                                              csp_violations):
    sign_in(page, live_server, LEADER)
    slug = _open_session(page, live_server)
    rooms = {}
    for email in (PARENT, CLINICIAN):
        context, other = person(browser, live_server, email)
        other.goto(f"{live_server}/sessions/{slug}")
        other.get_by_role("button", name="Register").click()
        other.wait_for_load_state()
        other.get_by_role("link", name="Enter the live room").click()
        other.get_by_text("Connected.").wait_for()
        rooms[email] = (context, other)
    parent, clinician = rooms[PARENT][1], rooms[CLINICIAN][1]

    parent.get_by_label("Your message").fill(MESSAGE)
    parent.get_by_role("button", name="Send").click()
    line = clinician.locator("#chat li", has_text=MESSAGE)
    line.wait_for()
    with rooms[CLINICIAN][0].expect_page() as opened:
        line.get_by_role("link", name="Flag a safety concern").click()
    form = opened.value
    form.wait_for_load_state()
    assert MESSAGE in form.locator(".excerpt").inner_text()
    check_accessibility(browser, form, "safety-flag-form")
    form.get_by_label("Someone may be being abused or harmed by another person").check()
    form.get_by_label("Anything the safeguarding contacts should know (optional)").fill(
        "Said in the parents' session; please check in.")
    form.get_by_role("button", name="Send to the safeguarding contacts").click()
    form.wait_for_url("**/safety/help")
    assert "safeguarding contacts have been told" in form.content()
    form.get_by_role("heading", name="The network's crisis guidance").wait_for()
    assert "999" in form.locator(".prose").inner_text()  # the leaders' guidance from the demo
    check_accessibility(browser, form, "safety-guidance")
    # the room is still open in the first tab, and the message was never blocked
    assert clinician.locator("#chat li", has_text=MESSAGE).count() == 1

    contact_context, contact_page = person(browser, live_server, CONTACT)
    contact_page.goto(live_server + "/notifications")
    contact_page.get_by_role("link", name="A member flagged a safety concern").first.wait_for()
    contact_context.close()

    moderator_context, moderator = person(browser, live_server, MODERATOR)
    moderator.goto(live_server + "/moderation/")
    moderator.get_by_role("heading", name="Safety concerns first (1 open)").wait_for()
    moderator.get_by_role("link", name="Open the urgent queue").click()
    row = moderator.locator("#urgent-open tbody tr", has_text=MESSAGE)
    row.wait_for()
    assert "Live-room message" in row.inner_text()
    check_accessibility(browser, moderator, "safety-queue")
    row.get_by_role("link").first.click()
    moderator.get_by_role("button", name="Acknowledge: I am on it").click()
    assert moderator.locator("#flag-status").inner_text() == "Acknowledged"
    moderator.get_by_label("What was done").fill("Spoke with the facilitator; the site team called the family.")
    moderator.get_by_role("button", name="Record and resolve").click()
    moderator.wait_for_url("**/safety/queue")
    assert moderator.locator("#urgent-open tbody tr", has_text=MESSAGE).count() == 0
    moderator.get_by_role("table", name="Recently handled").get_by_role("link", name="Abuse or harm").first.wait_for()
    check_accessibility(browser, moderator, "safety-queue-handled")
    moderator_context.close()
    for context, _page in rooms.values():
        context.close()


def test_ask_to_connect_accept_write_and_block(browser, page, live_server, csp_violations):
    asker_context, asker = person(browser, live_server, CLINICIAN)
    asker.goto(live_server + "/people/")
    card = asker.locator(".card-item", has_text="Happy to talk with newly diagnosed families.")
    card.get_by_role("link", name="to connect").click()
    check_accessibility(browser, asker, "contact-ask")
    asker.get_by_label("A short message (optional)").fill("Could we compare notes on clinic letters?")
    asker.get_by_role("button", name="Send the request").click()
    asker.wait_for_url("**/connections/")

    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/connections/")
    check_accessibility(browser, page, "contact-overview")
    request = page.locator("li", has_text="Could we compare notes")
    request.get_by_role("button", name="Accept").click()
    page.wait_for_url(re.compile(r"/connections/\d+$"))
    page.get_by_label("Your message (Markdown)").fill("Of course — **happy to**.")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#thread strong", has_text="happy to").wait_for()
    check_accessibility(browser, page, "contact-thread")
    thread_url = page.url.split("#")[0]

    asker.goto(thread_url)
    asker.locator("#thread", has_text="happy to").wait_for()
    asker.get_by_role("button", name="Block").click()
    asker.wait_for_url("**/connections/")
    page.goto(thread_url)
    assert "We could not find that page" in page.content()  # contact ended at once
    asker_context.close()
