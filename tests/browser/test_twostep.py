"""A clinician sets up two-step sign-in at first sign-in (reading the key from the page, as someone
without a camera would), signs out, and signs in again with a code; the pages pass axe. A member
signs out another of their devices, and a doctor of the demo signs in with the published demo key."""
from __future__ import annotations

import re
import time

import pyotp

from network.demo_twostep import DEMO_TOTP_SECRET
from tests.browser.conftest import check_accessibility, sign_in

NEW_CLINICIAN = "doctor.st-brigids@demo.carecommons.test"  # required to set it up; nobody else uses it
ENROLLED = "doctor.lakeshore-clinic@demo.carecommons.test"
PARENT = "parent.northgate-ibd@demo.carecommons.test"


def test_clinician_sets_up_two_step_sign_in_and_signs_in_with_it(browser, page, live_server, csp_violations):
    sign_in(page, live_server, NEW_CLINICIAN)
    page.wait_for_url("**/login/setup")
    assert page.get_by_role("heading", name="Set up two-step sign-in").is_visible()
    assert page.get_by_role("img", name="QR code for adding CareCommons to your authenticator app").is_visible()
    check_accessibility(browser, page, "twostep-setup")
    page.goto(live_server + "/profile")  # half signed in: no member page opens
    assert "/login" in page.url
    page.goto(live_server + "/login/setup")
    key = page.locator("#manual-key").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", key)
    totp = pyotp.TOTP(key)
    page.get_by_label("Code from your app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    assert "not right" in page.locator(".field .error").inner_text()
    page.get_by_label("Code from your app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved my recovery codes — continue").click()
    assert page.get_by_role("heading", name="Our shared aim").is_visible()
    page.goto(live_server + "/account/security")
    assert page.get_by_text("cannot be turned off").is_visible()
    assert key not in page.content()  # never shown again
    check_accessibility(browser, page, "twostep-security")
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    page.wait_for_load_state()

    sign_in(page, live_server, NEW_CLINICIAN)
    page.wait_for_url("**/login/code")
    check_accessibility(browser, page, "twostep-code")
    next_code = totp.at(time.time() + 30)  # the setup used this step's code; the next step's is fresh
    page.get_by_label("Code").fill(next_code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Our shared aim").is_visible()

    other = browser.new_context().new_page()  # the same code again, elsewhere: refused
    sign_in(other, live_server, NEW_CLINICIAN)
    other.get_by_label("Code").fill(next_code)
    other.get_by_role("button", name="Continue").click()
    assert "already used" in other.locator(".field .error").inner_text()
    other.context.close()


def test_demo_doctor_signs_in_with_the_published_key_and_a_recovery_code(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, ENROLLED)
    page.wait_for_url("**/login/code")
    page.get_by_label("Code").fill(pyotp.TOTP(DEMO_TOTP_SECRET).now())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Our shared aim").is_visible()
    context.close()
    for attempt in ("demo-code-0007", "DEMO-CODE-0007"):  # the second use of a recovery code is refused
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, live_server, ENROLLED)
        page.get_by_label("Code").fill(attempt)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
        if attempt.islower():
            assert page.get_by_role("heading", name="Our shared aim").is_visible()
            assert page.get_by_text("9 recovery codes are left").is_visible()
        else:
            assert "already used" in page.locator(".field .error").inner_text()
        context.close()


def test_member_signs_out_another_device(browser, live_server):
    laptop_context, phone_context = browser.new_context(), browser.new_context()
    laptop, phone = laptop_context.new_page(), phone_context.new_page()
    sign_in(phone, live_server, PARENT)
    sign_in(laptop, live_server, PARENT)
    laptop.goto(live_server + "/account/security")
    rows = laptop.get_by_role("table").locator("tbody tr")
    assert rows.count() >= 2
    check_accessibility(browser, laptop, "devices")
    laptop.get_by_role("button", name="Sign out all other devices").click()
    laptop.wait_for_load_state()
    assert laptop.get_by_role("table").locator("tbody tr").count() == 1
    phone.goto(live_server + "/profile")
    assert "/login" in phone.url
    assert phone.get_by_text("signed out on this device").is_visible()
    laptop_context.close()
    phone_context.close()
