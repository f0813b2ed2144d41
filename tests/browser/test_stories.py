"""A parent tells an anonymous, network-only story; a moderator approves it; another member reads it
without learning who wrote it."""
from __future__ import annotations

from tests.browser.conftest import check_accessibility, sign_in

PARENT = "parent.northgate-ibd@demo.carecommons.test"
MODERATOR = "moderator@demo.carecommons.test"
READER = "clinician.riverside-childrens@demo.carecommons.test"


def test_anonymous_story_through_moderation(browser, page, live_server, csp_violations):
    sign_in(page, live_server, PARENT)
    page.goto(live_server + "/stories/")
    check_accessibility(browser, page, "stories-index")
    page.get_by_role("link", name="Tell your story").click()
    check_accessibility(browser, page, "stories-new")
    page.get_by_label("Title").fill("The day we found our footing")
    page.get_by_label("Your story (Markdown)").fill("It took us a year. **Then one day it did not feel so heavy.**")
    page.get_by_label("siblings").check()
    page.get_by_label("Anonymous (“a parent at a network site”)").check()
    page.get_by_label("Members of the network").check()
    page.get_by_role("button", name="Send to the moderators").click()
    page.wait_for_load_state()
    assert page.get_by_role("cell", name="Waiting for a moderator").first.is_visible()
    check_accessibility(browser, page, "stories-mine")
    parent_name = page.locator(".account a[href=\"/profile\"]").inner_text()

    context = browser.new_context()
    moderator = context.new_page()
    sign_in(moderator, live_server, MODERATOR)
    moderator.goto(live_server + "/moderation/")
    check_accessibility(browser, moderator, "moderation-queue")
    moderator.get_by_role("link", name="The day we found our footing").click()
    assert "anonymous to readers" in moderator.content()
    check_accessibility(browser, moderator, "moderation-story")
    moderator.get_by_label("Approve").check()
    moderator.get_by_role("button", name="Record decision").click()
    moderator.wait_for_load_state()
    context.close()

    context = browser.new_context()
    reader = context.new_page()
    sign_in(reader, live_server, READER)
    reader.goto(live_server + "/stories/")
    reader.get_by_role("link", name="The day we found our footing").click()
    content = reader.content()
    assert "A parent at a network site" in content and parent_name not in content
    check_accessibility(browser, reader, "stories-show")
    reader.get_by_role("button", name="This helped me").click()
    assert reader.get_by_text("This story helped 1 person.").is_visible()
    context.close()

    anonymous = browser.new_context().new_page()
    anonymous.goto(live_server + "/stories/")
    assert "The day we found our footing" not in anonymous.content()
