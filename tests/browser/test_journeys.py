"""Four end-to-end journeys in a real browser, each through the UI as its people would go, with the
axe-core check on every page visited and a screenshot of every step (tests/artifacts/<journey>/).
`make e2e` runs them; they run in `make test` with the other browser tests."""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from network.outcomes import month_key
from tests.browser.test_sessions import create_session_now

pytestmark = [pytest.mark.browser, pytest.mark.journey]

DEMO = "@demo.carecommons.test"


def _email(local: str) -> str:
    return local + DEMO


# 1. ---------------------------------------------------------------------------------------------

HANDBOOK = "Starting secondary school with IBD: a family handbook"


def _review(journey, page, slug: str, decision: str, role: str, step: str, comment: str = "") -> None:
    page.goto(f"{journey.base}/library/{slug}")
    page.get_by_label("Your review").select_option(decision)
    if comment:
        page.get_by_label("Comment (needed when you ask for changes)").fill(comment)
    page.get_by_label("You review as").select_option(role)
    journey.step(page, step)
    journey.go(page, page.get_by_role("button", name="Send review"))
    assert page.get_by_text("Thank you for your review.").is_visible()


def _revise(journey, page, addition: str, summary: str, step: str) -> None:
    journey.go(page, page.get_by_role("link", name="Edit", exact=True))
    body = page.get_by_label("Text (Markdown)")
    body.fill(body.input_value() + addition)
    page.get_by_label("What did you change? (one line)").fill(summary)
    # The editor autosaves 3 s after the last keystroke: wait for it, as the writer sees it, before saving.
    # (An autosave racing the save can fail on SQLite: README, "End-to-end journeys".)
    page.locator("#autosave-status", has_text="Draft autosaved.").wait_for()
    journey.step(page, step)
    journey.go(page, page.get_by_role("button", name="Save as a new revision"))


def test_a_parent_and_a_clinician_coauthor_a_handbook_to_publication(journey):
    j = journey("handbook")
    parent = j.person(_email("parent.riverside-childrens"))
    parent.goto(j.base + "/library/new")
    parent.get_by_label("Title").fill(HANDBOOK)
    parent.get_by_label("Text (Markdown)").fill("## Before term starts\n\n- [ ] Ask the school for a toilet pass\n"
                                                "- [ ] Meet the school nurse\n")
    parent.locator("#preview h2", has_text="Before term starts").wait_for()   # the live preview
    parent.get_by_label("What did you change? (one line)").fill("First draft")
    parent.get_by_label("Parents").check()
    parent.get_by_label("Teens").check()
    j.step(parent, "parent-drafts-in-markdown")
    j.go(parent, parent.get_by_role("button", name="Save draft"))
    assert parent.get_by_role("heading", name=HANDBOOK).is_visible()
    assert parent.locator(".meta-line .status").inner_text() == "Draft"
    assert parent.locator("article.prose input[type=checkbox]").count() == 2
    slug = parent.url.split("/library/")[1].split("?")[0].split("#")[0]

    parent.get_by_label("Co-author's e-mail address").fill(_email("clinician.riverside-childrens"))
    j.go(parent, parent.get_by_role("button", name="Add co-author"))
    coauthors = parent.locator("section[aria-labelledby=authors-heading] li")
    assert coauthors.count() == 2 and "Clinician" in coauthors.all_inner_texts()[1]
    j.step(parent, "parent-invites-a-clinician")

    clinician = j.person(_email("clinician.riverside-childrens"))
    clinician.goto(f"{j.base}/library/{slug}")
    assert clinician.get_by_role("heading", name=HANDBOOK).is_visible()
    j.step(clinician, "clinician-opens-the-draft")
    _revise(j, clinician, "\n## A school day\n\nKeep a spare set of clothes with the school nurse.\n",
            "Added the school-day section", "clinician-adds-a-section")
    assert clinician.locator("article.prose").get_by_role("heading", name="A school day").is_visible()
    assert clinician.get_by_text("Revision 2").is_visible()
    j.go(clinician, clinician.get_by_role("link", name="History"))
    assert clinician.get_by_role("cell", name="Added the school-day section").is_visible()
    assert clinician.get_by_role("cell", name="First draft").is_visible()
    j.step(clinician, "clinician-reads-the-history")

    parent.goto(f"{j.base}/library/{slug}")
    assert parent.locator("article.prose").get_by_text("Keep a spare set of clothes with the school nurse.").is_visible()
    j.go(parent, parent.get_by_role("button", name="Send to review"))
    assert parent.locator(".meta-line .status").inner_text() == "In review"
    assert parent.get_by_text("Publishing needs a patient or parent AND a clinician to approve.").is_visible()
    assert parent.get_by_role("button", name="Publish").count() == 0
    j.step(parent, "parent-sends-to-review")

    reviewer = j.person(_email("parent.northgate-ibd"))
    _review(j, reviewer, slug, "request_changes", "parent", "a-parent-reviewer-asks-for-changes",
            comment="Please add what to do on exam days.")
    parent.goto(f"{j.base}/library/{slug}")
    assert parent.locator(".meta-line .status").inner_text() == "Draft"
    assert parent.get_by_text("Please add what to do on exam days.").is_visible()   # the authors see why
    j.step(parent, "parent-sees-the-changes-asked")
    _revise(j, parent, "\n## Exam days\n\nAsk for extra time and a seat near the door.\n",
            "Exam days, as the reviewer asked", "parent-revises")
    j.go(parent, parent.get_by_role("button", name="Send to review"))

    _review(j, reviewer, slug, "approve", "parent", "the-parent-reviewer-approves")
    parent.goto(f"{j.base}/library/{slug}")
    review = parent.locator("section[aria-labelledby=review-heading]")
    assert "✔ Patient or parent approval" in review.inner_text()
    assert "○ Clinician approval" in review.inner_text()
    assert parent.get_by_role("button", name="Publish").count() == 0   # one approval is not enough
    j.step(parent, "one-approval-not-enough")

    _review(j, j.person(_email("clinician.northgate-ibd")), slug, "approve", "clinician",
            "a-clinician-reviewer-approves")
    parent.goto(f"{j.base}/library/{slug}")
    assert "✔ Clinician approval" in parent.locator("section[aria-labelledby=review-heading]").inner_text()
    j.go(parent, parent.get_by_role("button", name="Publish"))
    assert parent.locator(".meta-line .status").inner_text() == "Published"
    assert parent.locator(".badge-coproduced").inner_text() == "Co-produced"
    j.step(parent, "parent-publishes")

    reader = j.person(_email("patient.northgate-ibd"))
    reader.goto(j.base + "/library/?q=" + "seat near the door")
    results = reader.locator("ol.results")
    assert results.get_by_role("link", name=HANDBOOK).is_visible()
    j.step(reader, "another-member-finds-it")
    j.go(reader, results.get_by_role("link", name=HANDBOOK))
    article = reader.locator("article.prose")
    for heading in ("Before term starts", "A school day", "Exam days"):
        assert article.get_by_role("heading", name=heading).is_visible()
    assert reader.locator(".badge-coproduced").is_visible()
    assert reader.get_by_role("link", name="Edit", exact=True).count() == 0
    j.step(reader, "another-member-reads-it")
    j.finish()


# 2. ---------------------------------------------------------------------------------------------

def _upload(journey, page, rows: list[str]) -> None:
    text = "site,measure,month,numerator,denominator\n" + "\n".join(rows) + "\n"
    page.set_input_files("input[type=file]", files=[{"name": "riverside.csv", "mimeType": "text/csv",
                                                     "buffer": text.encode()}])
    journey.go(page, page.get_by_role("button", name="Upload"))


def _month_words(month: str) -> str:
    year, number = month.split("-")
    return f"{calendar.month_abbr[int(number)]} {year}"


def test_a_data_steward_fixes_a_bad_upload_and_sees_the_new_point(journey):
    j = journey("outcomes-upload")
    month = month_key(date.today().replace(day=1))   # the demo's figures stop at the month before
    chart_url = j.base + "/outcomes/steroid-free/sites/riverside-childrens"
    steward = j.person(_email("clinician.riverside-childrens"))
    steward.goto(chart_url)
    steward.get_by_text("Data table").click()
    assert steward.get_by_role("row", name=_month_words(month)).count() == 0
    points = steward.locator("svg[role=img] g.cc-point > title")   # one a month (the legend's swatch has none)
    points_before = points.count()
    j.step(steward, "the-chart-before")

    steward.goto(j.base + "/outcomes/upload")
    j.step(steward, "upload-form")
    _upload(j, steward, [f"riverside-childrens,steroid-free,{month},171,200",
                         f"riverside-childrens,remission,{month},250,200"])
    alert = steward.get_by_role("alert").inner_text()
    assert "Nothing was imported" in alert
    assert "row 3: numerator" in alert and "larger than the denominator" in alert
    j.step(steward, "the-error-shown")
    steward.goto(chart_url)
    steward.get_by_text("Data table").click()
    assert steward.get_by_role("row", name=_month_words(month)).count() == 0   # not even the good row
    j.step(steward, "nothing-imported")

    steward.goto(j.base + "/outcomes/upload")
    _upload(j, steward, [f"riverside-childrens,steroid-free,{month},171,200",
                         f"riverside-childrens,remission,{month},174,200"])
    assert "Imported 2 rows" in steward.get_by_role("status").first.inner_text()
    j.step(steward, "the-fixed-file-imported")

    steward.goto(chart_url)
    assert points.count() == points_before + 1
    assert points.all_text_contents()[-1].startswith(f"{_month_words(month)}: 85.5% (171 of 200)")
    steward.get_by_text("Data table").click()
    row = steward.get_by_role("row", name=_month_words(month))
    assert row.count() == 1
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[:3] == ["171", "200", "85.5%"], cells
    j.step(steward, "the-new-point-on-the-chart")
    j.finish()


# 3. ---------------------------------------------------------------------------------------------

def test_a_leader_runs_a_live_session_with_a_parent_and_a_clinician(journey):
    j = journey("live-session")
    leader = j.person(_email("leader"))
    leader.goto(j.base + "/sessions/new")
    j.step(leader, "leader-plans-a-session")
    slug = create_session_now(leader, j.base, "Planning visits together, live")
    assert leader.get_by_text("Previsit planning").first.is_visible()
    j.step(leader, "leader-adds-the-agenda")

    people = {}
    for name, email in (("parent", _email("parent.riverside-childrens")),
                        ("clinician", _email("clinician.northgate-ibd"))):
        page = j.person(email)
        page.goto(f"{j.base}/sessions/{slug}")
        j.step(page, f"{name}-sees-the-session")
        j.go(page, page.get_by_role("button", name="Register"))
        j.go(page, page.get_by_role("link", name="Enter the live room"))
        people[name] = page
    leader.goto(f"{j.base}/sessions/{slug}/room")
    parent, clinician = people["parent"], people["clinician"]
    everyone = (leader, parent, clinician)
    for page in everyone:
        page.get_by_text("Connected.").wait_for()
        page.locator("#presence").get_by_text("3 here").wait_for()

    parent.get_by_label("Your message").fill("Hello, I'm here with my **notes**")
    parent.get_by_role("button", name="Send").click()
    for page in (leader, clinician):
        page.locator("#chat li strong", has_text="notes").wait_for()

    leader.get_by_label("Open a poll: question").fill("Which day suits the next session?")
    leader.get_by_label("Options, one per line").fill("Tuesday\nThursday")
    leader.get_by_role("button", name="Open poll").click()
    for page in (parent, clinician):
        page.locator(".poll h3", has_text="Which day suits the next session?").wait_for()
    parent.locator(".poll button", has_text="Tuesday").click()
    clinician.locator(".poll button", has_text="Tuesday").click()
    leader.locator(".poll li", has_text="Tuesday").locator(".count", has_text="2").wait_for()
    leader.get_by_role("button", name="Close poll").click()
    for page in (parent, clinician):
        page.locator(".poll button", has_text="Thursday").and_(page.locator("[disabled]")).wait_for()
        # a closed poll says so, and its buttons look unavailable (they looked the same as before)
        page.locator(".poll .poll-closed", has_text="The poll closed.").wait_for()
        assert page.locator(".poll button", has_text="Thursday").evaluate("b => getComputedStyle(b).opacity") == "0.55"
        assert page.locator(".poll li", has_text="Tuesday").locator(".count").inner_text().strip() == "2"
        assert page.locator(".poll li", has_text="Thursday").locator(".count").inner_text().strip() == "0"
    j.step(parent, "parent-sees-the-poll-results")

    parent.get_by_label("Ask a question").fill("Can teens come to the next session?")
    parent.get_by_role("button", name="Ask", exact=True).click()
    question = clinician.locator("#questions li", has_text="Can teens come to the next session?")
    question.wait_for()
    question.get_by_role("button", name="Upvote").click()
    for page in (leader, parent):
        page.locator("#questions li", has_text="Can teens come").locator(".votes", has_text="(1)").wait_for()
    j.step(clinician, "clinician-upvotes-a-question")
    leader.get_by_label("Your message").fill("Yes: teens are welcome, with or without a parent.")
    leader.get_by_role("button", name="Send").click()
    leader.locator("#questions li", has_text="Can teens come").get_by_role("button", name="Mark answered").click()
    for page in (parent, clinician):
        page.locator("#questions li", has_text="Can teens come").locator("strong", has_text="answered").wait_for()
        page.locator("#chat li", has_text="teens are welcome").wait_for()
    j.step(leader, "leader-answers")
    j.step(parent, "parent-sees-the-answer")

    leader.goto(f"{j.base}/sessions/{slug}/transcript")
    transcript = leader.locator("main").inner_text()
    for text in ("Hello, I'm here with my **notes**", "Can teens come to the next session?",
                 "Which day suits the next session?", "teens are welcome"):
        assert text in transcript, text
    j.step(leader, "leader-reads-the-transcript")
    j.finish()


# 4. ---------------------------------------------------------------------------------------------

def test_a_teen_tracks_symptoms_and_shares_a_previsit_plan(journey):
    j = journey("previsit-plan")
    visit_day = date.today() + timedelta(days=2)
    teen = j.person(_email("patient.northgate-ibd"))
    teen.goto(j.base + "/care/")
    j.step(teen, "my-care")
    j.go(teen, teen.get_by_role("link", name="Tracking").first)
    tracking_url = teen.url
    assert teen.get_by_text("Only you (and your parents) see this tracking.").is_visible()
    teen.get_by_label("Tummy pain (0–10)").fill("12")
    teen.get_by_label("Anything else").fill("Tired after PE")
    j.go(teen, teen.get_by_role("button", name="Save today"))
    assert "Nothing was saved" in teen.get_by_role("alert").inner_text()
    assert teen.get_by_text("Give a whole number from 0 to 10.").is_visible()
    j.step(teen, "a-mistake-is-caught")
    teen.get_by_label("Tummy pain (0–10)").fill("3")
    teen.get_by_label("Energy (0–10)").fill("6")
    j.go(teen, teen.get_by_role("button", name="Save today"))
    today_row = teen.get_by_role("row", name=date.today().isoformat())
    assert today_row.get_by_role("cell").all_inner_texts()[0] == "3"
    assert "Tired after PE" in today_row.inner_text()
    j.go(teen, teen.get_by_role("button", name="Share with my care team"))
    assert teen.get_by_text("Your care team can see this tracking.").is_visible()
    j.step(teen, "tracking-shared")

    teen.goto(j.base + "/care/")
    j.go(teen, teen.get_by_role("link", name="Plan a visit"))
    teen.get_by_label("Visit date").fill(visit_day.isoformat())
    j.step(teen, "plan-a-visit")
    j.go(teen, teen.get_by_role("button", name="Start the plan"))
    teen.get_by_label("About the same").check()
    teen.get_by_label("What matters most to you at this visit?").fill("Being able to do PE again")
    teen.get_by_label("Tiredness").check()
    teen.get_by_label("How much energy have you had, from 0 (none) to 10 (plenty)?").fill("6")
    teen.get_by_label("Your questions for the team").fill("Can I stop the iron tablets?")
    j.step(teen, "teen-fills-the-plan")
    j.go(teen, teen.get_by_role("button", name="Share with my care team"))
    assert teen.get_by_text("Shared with your care team.").is_visible()
    assert "shared with the care team" in teen.locator(".meta-line").inner_text()
    plan_url = teen.url
    j.step(teen, "plan-shared")

    clinician = j.person(_email("clinician.northgate-ibd"))
    clinician_name = clinician.locator(".account a[href$='/profile']").inner_text()
    clinician.goto(j.base + "/care/")
    j.step(clinician, "clinician-my-care")
    j.go(clinician, clinician.get_by_role("link", name=re.compile("Northgate")))
    row = clinician.get_by_role("row", name=visit_day.isoformat())
    j.step(clinician, "clinician-worklist")
    j.go(clinician, row.get_by_role("link", name="Read the plan"))
    assert clinician.url == plan_url
    assert clinician.get_by_label("What matters most to you at this visit?").input_value() == "Being able to do PE again"
    assert clinician.get_by_label("Your questions for the team").input_value() == "Can I stop the iron tablets?"
    assert clinician.get_by_role("heading", name="The last weeks of tracking").is_visible()
    clinician.get_by_label("Add a note").fill("We will talk about the iron tablets first.")
    j.go(clinician, clinician.get_by_role("button", name="Add note"))
    assert clinician.locator("#notes").get_by_text("We will talk about the iron tablets first.").is_visible()
    j.step(clinician, "clinician-reads-the-plan-and-adds-a-note")
    clinician.goto(tracking_url)
    assert "Tired after PE" in clinician.get_by_role("row", name=date.today().isoformat()).inner_text()
    j.step(clinician, "clinician-sees-the-tracking")

    parent = j.person(_email("parent.northgate-ibd"))
    parent.goto(j.base + "/care/")
    j.step(parent, "parent-my-care")
    j.go(parent, parent.locator(f'a[href="{urlsplit(plan_url).path}"]'))
    assert parent.url == plan_url
    assert parent.get_by_label("What matters most to you at this visit?").input_value() == "Being able to do PE again"
    assert parent.locator("#notes").get_by_text("We will talk about the iron tablets first.").is_visible()
    j.step(parent, "parent-sees-the-plan")

    teen.goto(plan_url)
    j.go(teen, teen.locator("#main .eyebrow").get_by_role("link", name="My care"))
    j.go(teen, teen.get_by_role("link", name="Who looked at this data"))
    looks = teen.get_by_role("row").filter(has=teen.get_by_role("cell", name=clinician_name, exact=True))
    assert sorted(set(r.get_by_role("cell").nth(2).inner_text() for r in looks.all())) == ["plan", "tracking"]
    j.step(teen, "teen-sees-who-looked")
    j.finish()
