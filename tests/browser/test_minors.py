"""A teen turning 18, with time moved: the notice a month before, the parent's access ending on the
day, the patient renewing it and the parent seeing the tracking again. Checked for accessibility."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import minors
from network.db import make_engine
from network.demo_minors import PARENT_EMAIL, TEEN_EMAIL
from tests.browser.conftest import check_accessibility, sign_in


def _run_notices(db_path, today) -> int:
    """`flask jobs run`'s adult-care step, against the live server's database, on a given day."""
    import content.models  # noqa: F401
    import network.models  # noqa: F401

    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with Session(engine) as db:
            return minors.send_transition_notices(db, today=today)
    finally:
        engine.dispose()


def _teen(db_path):
    import network.models  # noqa: F401
    from network.people import User

    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with Session(engine) as db:
            teen = db.scalar(select(User).where(User.email == TEEN_EMAIL))
            return teen.id, minors.adult_on(teen)
    finally:
        engine.dispose()


def test_teen_turning_18(browser, live_server, live_paths, csp_violations, page):
    clock_file, db_path = live_paths["clock"], live_paths["db"]
    teen_id, adult_day = _teen(db_path)
    tracking = f"{live_server}/care/tracking/{teen_id}"
    parent_context = browser.new_context()
    parent = parent_context.new_page()
    try:
        # A month before: both are told; the parent still sees the teen's tracking
        clock_file.write_text((adult_day - timedelta(days=10)).isoformat())
        assert _run_notices(db_path, adult_day - timedelta(days=10)) == 1
        assert _run_notices(db_path, adult_day - timedelta(days=10)) == 0  # idempotent
        sign_in(page, live_server, TEEN_EMAIL)
        page.goto(live_server + "/notifications")
        page.get_by_role("link", name="You count as an adult here from").first.click()
        page.wait_for_url("**/me/adult-care")
        assert page.locator("#soon-notice").is_visible()
        assert "Your parents stop seeing and changing your visit plans and tracking." in page.content()
        assert page.get_by_role("link", name="Getting ready for adult care: a transition checklist for teens").is_visible()
        assert page.get_by_role("button", name="Renew access for Ines Duarte").count() == 0
        check_accessibility(browser, page, "adult-care-notice")
        sign_in(parent, live_server, PARENT_EMAIL)
        assert parent.goto(tracking).status == 200

        # The day: access ends by the rule itself, before any job runs
        clock_file.write_text(adult_day.isoformat())
        response = parent.goto(tracking)
        assert response.status == 404 and "Leo Duarte" not in parent.content()
        assert _run_notices(db_path, adult_day) >= 1  # (other demo teens may enter their notice month that day)
        assert _run_notices(db_path, adult_day) == 0
        parent.goto(live_server + "/notifications")
        assert "Leo Duarte now counts as an adult here" in parent.content()

        # The patient renews; the parent sees the tracking again
        page.goto(live_server + "/me/adult-care")
        assert page.locator("#adult-notice").is_visible()
        check_accessibility(browser, page, "adult-care-renew")
        page.get_by_role("button", name="Renew access for Ines Duarte").click()
        page.wait_for_load_state()
        assert "Ines Duarte can see your plans and tracking again." in page.content()
        assert page.get_by_role("button", name="End access for Ines Duarte").is_visible()
        check_accessibility(browser, page, "adult-care-renewed")
        assert parent.goto(tracking).status == 200
    finally:
        clock_file.write_text("")
        parent_context.close()


def test_my_data_page(browser, live_server, csp_violations, page):
    sign_in(page, live_server, "parent.northgate-ibd@demo.carecommons.test")
    page.goto(live_server + "/me/data")
    assert page.get_by_role("heading", name="What the network keeps").is_visible()
    check_accessibility(browser, page, "my-data")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (zip)").click()
    assert download.value.suggested_filename == "carecommons-my-data.zip"
    page.get_by_label("Your password, to confirm").fill("not my password")
    page.get_by_label("Delete it everywhere").check()
    page.get_by_role("button", name="Close my account").click()
    page.wait_for_load_state()
    assert "That is not your password; nothing was changed." in page.content()
    check_accessibility(browser, page, "my-data-error")
