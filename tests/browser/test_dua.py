"""The data-use agreement in a browser: a member who has not accepted sees other sites as codes and a
prompt, reads and accepts the agreement, and is back on the charts with names; a leader reads who has
accepted. Each page with axe, under the real CSP."""
from __future__ import annotations

from tests.browser.conftest import check_accessibility, sign_in

# has not accepted in the demo network, and is not one of the printed logins other tests rely on
UNACCEPTED = "parent.summit-gi@demo.carecommons.test"
LEADER = "leader@demo.carecommons.test"


def test_a_member_accepts_the_agreement_and_sees_names(browser, page, live_server, csp_violations):
    sign_in(page, live_server, UNACCEPTED)
    page.goto(live_server + "/outcomes/remission")
    body = page.content()
    assert "Summit Paediatric Gastroenterology" in body and "Riverside Children's Hospital" not in body
    assert "riverside-childrens" not in body
    prompt = page.get_by_role("note").filter(has_text="until you accept the data-use agreement")
    assert prompt.is_visible()
    check_accessibility(browser, page, "outcomes-overview-blinded")
    prompt.get_by_role("link", name="Read and accept the agreement").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Data-use agreement", exact=True).is_visible()
    assert page.get_by_role("heading", name="What I agree to").is_visible()
    check_accessibility(browser, page, "agreement")
    page.get_by_role("button", name="I have read and accept version 1").click()
    page.wait_for_url("**/outcomes/remission")
    assert "You accepted version 1" in page.get_by_role("status").first.inner_text()
    assert "Riverside Children" in page.content()
    assert page.get_by_role("note").filter(has_text="until you accept").count() == 0


def test_a_leader_sees_who_has_accepted(browser, page, live_server, csp_violations):
    sign_in(page, live_server, LEADER)
    page.goto(live_server + "/agreement/manage")
    assert page.get_by_role("heading", name="Who has accepted the agreement").is_visible()
    assert "members have accepted it" in page.content()
    assert page.get_by_role("row", name="Parent").count() >= 1
    check_accessibility(browser, page, "agreement-manage")
