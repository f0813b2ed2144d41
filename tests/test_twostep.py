"""Two-step sign-in, signed-in devices, and consent to the terms of use and privacy notice: the rules
as services, then as pages (the feature is on, as in production)."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from network import audit, consent, devices, twostep
from network.consent import PolicyAcceptance
from network.db import utcnow
from network.errors import Conflict, Forbidden, NotFound
from network.people import CareLink, Membership, User, session_token
from network.twostep import CodeRefused, RecoveryCode, TwoStep
from tests.conftest import TEST_PASSWORD

SECRET = "test-secret"  # TestConfig.SECRET_KEY: services and pages share the encryption key


def enrol(db, user, now=None) -> tuple[str, list[str]]:
    """Set up two-step sign-in as the setup page does; returns (secret, recovery codes)."""
    setup = twostep.begin_setup(db, user, app_secret=SECRET)
    codes = twostep.confirm_setup(db, user, code_at(setup.secret, now or time.time()), app_secret=SECRET,
                                  now=now)
    return setup.secret, codes


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def events(db, action: str) -> int:
    return db.scalar(select(func.count(audit.AuditEvent.id)).where(audit.AuditEvent.action == action))


# ---------------------------------------------------------------------------------------------
# Services: two-step sign-in

def test_setup_shows_the_same_secret_until_confirmed_and_stores_it_encrypted(db, world):
    clinician = world.user("clinician")
    first = twostep.begin_setup(db, clinician, app_secret=SECRET)
    again = twostep.begin_setup(db, clinician, app_secret=SECRET)
    assert first.secret == again.secret and len(first.secret) >= 32
    assert first.uri.startswith("otpauth://totp/CareCommons:") and "issuer=CareCommons" in first.uri
    row = twostep.record_of(db, clinician)
    assert first.secret not in row.secret_encrypted and row.enabled_at is None
    with pytest.raises(CodeRefused) as wrong:
        twostep.confirm_setup(db, clinician, "000000" if code_at(first.secret, time.time()) != "000000"
                              else "111111", app_secret=SECRET)
    assert wrong.value.reason == "wrong" and not twostep.is_enabled(db, clinician)
    codes = twostep.confirm_setup(db, clinician, pyotp.TOTP(first.secret).now(), app_secret=SECRET)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert twostep.is_enabled(db, clinician) and twostep.recovery_codes_left(db, clinician) == 10
    stored = set(db.scalars(select(RecoveryCode.code_digest).where(RecoveryCode.user_id == clinician.id)))
    assert not stored & set(codes)  # only digests are kept
    with pytest.raises(Exception):
        twostep.begin_setup(db, clinician, app_secret=SECRET)  # never shown again once on
    assert events(db, "twostep.enable") == 1


def test_a_code_works_once_within_one_step_either_side(db, world):
    clinician = world.user("clinician")
    now = 1_900_000_000.0
    secret, _codes = enrol(db, clinician, now=now - 300)
    assert twostep.verify(db, clinician, code_at(secret, now - 30), app_secret=SECRET, now=now) == "code"
    with pytest.raises(CodeRefused) as reused:
        twostep.verify(db, clinician, code_at(secret, now - 30), app_secret=SECRET, now=now)
    assert reused.value.reason == "reused"
    assert twostep.verify(db, clinician, code_at(secret, now + 30), app_secret=SECRET, now=now) == "code"
    with pytest.raises(CodeRefused) as older:  # a step before the last one used: refused as a reuse
        twostep.verify(db, clinician, code_at(secret, now), app_secret=SECRET, now=now)
    assert older.value.reason == "reused"
    with pytest.raises(CodeRefused) as expired:
        twostep.verify(db, clinician, code_at(secret, now - 90), app_secret=SECRET, now=now + 60)
    assert expired.value.reason == "wrong"


def test_a_recovery_code_works_once(db, world):
    clinician = world.user("clinician")
    _secret, codes = enrol(db, clinician)
    assert twostep.verify(db, clinician, codes[3].lower().replace("-", " "), app_secret=SECRET) == "recovery"
    assert twostep.recovery_codes_left(db, clinician) == 9
    with pytest.raises(CodeRefused) as used:
        twostep.verify(db, clinician, codes[3], app_secret=SECRET)
    assert used.value.reason == "recovery_used"
    assert twostep.recovery_codes_left(db, clinician) == 9


def test_too_many_wrong_codes_lock_the_account_even_for_a_right_code(db, world):
    clinician = world.user("clinician")
    secret, codes = enrol(db, clinician, now=time.time() - 120)
    good = pyotp.TOTP(secret).now()
    wrong = "000000" if good != "000000" else "111111"
    for tries_left in (4, 3, 2, 1):
        with pytest.raises(CodeRefused) as refused:
            twostep.verify(db, clinician, wrong, app_secret=SECRET)
        assert refused.value.reason == "wrong" and refused.value.tries_left == tries_left
    with pytest.raises(CodeRefused) as locked:
        twostep.verify(db, clinician, wrong, app_secret=SECRET)
    assert locked.value.reason == "locked"
    assert locked.value.retry_at > utcnow() + timedelta(minutes=14)
    for attempt in (good, codes[0]):
        with pytest.raises(CodeRefused) as still:
            twostep.verify(db, clinician, attempt, app_secret=SECRET)
        assert still.value.reason == "locked"
    assert twostep.recovery_codes_left(db, clinician) == 10  # the locked try used nothing
    assert events(db, "twostep.locked") == 1
    row = twostep.record_of(db, clinician)
    row.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
    db.commit()
    assert twostep.verify(db, clinician, good, app_secret=SECRET) == "code"


def test_required_roles_must_set_up_and_others_are_offered(db, world):
    for role, where in (("clinician", "own"), ("site_lead", "other"), ("network_leader", "network"),
                        ("moderator", "network")):
        assert twostep.must_set_up(db, world.user(role, where)), role
    for role in ("parent", "patient"):
        assert not twostep.must_set_up(db, world.user(role)), role
    lead = world.user("site_lead")
    twostep.defer_setup(db, lead, utcnow() + timedelta(days=1))
    db.commit()
    assert not twostep.must_set_up(db, lead)
    twostep.record_of(db, lead).setup_deferred_until = utcnow() - timedelta(minutes=1)
    assert twostep.must_set_up(db, lead)


def test_only_roles_that_do_not_require_it_may_turn_it_off(db, world):
    clinician, parent = world.user("clinician"), world.user("parent")
    secret, _ = enrol(db, clinician, now=time.time() - 120)
    with pytest.raises(Forbidden):
        twostep.disable(db, clinician, pyotp.TOTP(secret).now(), app_secret=SECRET)
    assert twostep.is_enabled(db, clinician)
    parent_secret, _ = enrol(db, parent, now=time.time() - 120)
    twostep.disable(db, parent, pyotp.TOTP(parent_secret).now(), app_secret=SECRET)
    assert not twostep.is_enabled(db, parent) and twostep.recovery_codes_left(db, parent) == 0


# ---------------------------------------------------------------------------------------------
# Services: devices

def test_devices_are_listed_and_signed_out_one_or_all_others(db, world):
    parent, other = world.user("parent"), world.user("parent", "other")
    devices.start(db, parent, user_agent="Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/140.0",
                  address="203.0.113.77")
    devices.start(db, parent, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) Safari/605.1",
                  address="2001:db8:1234:5678::1")
    devices.start(db, parent, user_agent="", address=None)
    listed = devices.signed_in_devices(db, parent)
    assert {d.device for d in listed} == {"Firefox on Windows", "Safari on iPhone", "Unknown device"}
    assert {d.ip_prefix for d in listed} == {"203.0.113.0/24", "2001:db8:1234::/48", ""}
    theirs = devices.start(db, other, user_agent="Chrome/140 (Linux)")
    with pytest.raises(NotFound):
        devices.sign_out_device(db, parent, devices.signed_in_devices(db, other)[0].id)
    keep = listed[0]
    assert devices.sign_out_others(db, parent, keep.id) == 2
    assert [d.id for d in devices.signed_in_devices(db, parent)] == [keep.id]
    devices.sign_out_device(db, parent, keep.id)
    assert devices.signed_in_devices(db, parent) == []
    assert theirs and len(devices.signed_in_devices(db, other)) == 1


def test_the_sign_in_check_of_every_request_is_one_query_memberships_included(db, world, count_queries):
    """Found by the load test (bench/load.py): the check ran a second query for the person's roles."""
    parent = world.user("parent")
    key = devices.start(db, parent)
    db.expunge_all()
    with count_queries() as counter:
        user, record, _versions = devices.load_signed_in(db, session_token(parent), key)
        assert {m.role for m in user.memberships} == {"parent"} and record.user_id == user.id
    assert counter.count == 1


# ---------------------------------------------------------------------------------------------
# Services: consent

def young_child(db, world, where="own") -> User:
    child = User(email=None, full_name="Little One", birth_year=utcnow().year - 8)
    db.add(child)
    db.flush()
    db.add(Membership(user_id=child.id, site_id=world.own.id, role="patient"))
    db.add(CareLink(parent_id=world.user("parent", where).id, patient_id=child.id))
    db.commit()
    return child


def test_members_accept_each_current_version_and_again_when_it_changes(db, world):
    leader, parent = world.user("network_leader", "network"), world.user("parent")
    assert consent.outstanding(db, parent) == []
    terms = consent.publish(db, leader, kind="terms", title="Terms of use", body="# Terms\n\nBe kind.")
    privacy = consent.publish(db, leader, kind="privacy", title="Privacy notice", body="We keep little.")
    assert terms.version == 1 and terms.published_role == "network_leader"
    assert [o.document.kind for o in consent.outstanding(db, parent)] == ["terms", "privacy"]
    consent.accept(db, parent, document_id=terms.id, version=1)
    consent.accept(db, parent, document_id=terms.id, version=1)  # twice is harmless
    consent.accept(db, parent, document_id=privacy.id, version=1)
    assert consent.outstanding(db, parent) == []
    assert db.scalar(select(func.count(PolicyAcceptance.id)).where(PolicyAcceptance.user_id == parent.id)) == 2
    terms2 = consent.publish(db, leader, kind="terms", title="Terms of use", body="Be kinder.",
                             summary="Kinder.")
    assert [(o.document.kind, o.document.version) for o in consent.outstanding(db, parent)] == [("terms", 2)]
    with pytest.raises(Conflict):
        consent.accept(db, parent, document_id=terms.id, version=1)  # the stale version
    assert consent.outstanding(db, parent)[0].document.id == terms2.id
    assert events(db, "policy.accept") == 2 and events(db, "policy.publish") == 3
    with pytest.raises(Forbidden):
        consent.publish(db, parent, kind="terms", title="Mine", body="x")


def test_a_parent_accepts_for_a_child_under_13_only(db, world):
    leader, parent = world.user("network_leader", "network"), world.user("parent")
    child = young_child(db, world)
    terms = consent.publish(db, leader, kind="terms", title="Terms of use", body="Be kind.")
    pending = consent.outstanding(db, parent)
    assert [(o.document.kind, o.child.id if o.child else None) for o in pending] == \
        [("terms", None), ("terms", child.id)]
    with pytest.raises(NotFound):  # another family's child
        consent.accept(db, world.user("parent", "other"), document_id=terms.id, version=1,
                       on_behalf_of_id=child.id)
    with pytest.raises(Forbidden):  # a teen accepts for themselves
        consent.accept(db, parent, document_id=terms.id, version=1,
                       on_behalf_of_id=world.user("patient").id)
    row = consent.accept(db, parent, document_id=terms.id, version=1, on_behalf_of_id=child.id)
    assert row.user_id == parent.id and row.on_behalf_of_id == child.id and row.acting_role == "parent"
    assert [o.child for o in consent.outstanding(db, parent)] == [None]
    assert consent.waiting_for_parent(db, child) == []
    with pytest.raises(Forbidden):  # an under-13 cannot accept for themselves
        consent.accept(db, child, document_id=terms.id, version=1)


# ---------------------------------------------------------------------------------------------
# Pages

def post_login(client, user, **extra):
    return client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, **extra})


def test_a_clinician_sets_up_two_step_sign_in_before_reaching_any_page(client, db, world):
    clinician = world.user("clinician")
    response = post_login(client, clinician)
    assert response.headers["Location"] == "/login/setup"
    assert client.get("/profile").status_code == 302  # half signed in: no member page
    page = client.get("/login/setup").get_data(as_text=True)
    secret = re.search(r'id="manual-key"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert 'src="data:image/svg+xml' in page
    wrong = client.post("/login/setup", data={"code": "12345"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    done = client.post("/login/setup", data={"code": pyotp.TOTP(secret).now()})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and len(re.findall(r"<li><code>[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}</code>", text)) == 10
    security = client.get("/account/security").get_data(as_text=True)
    assert "cannot be turned off" in security and secret not in security
    assert "with two-step sign-in" in security


def test_signing_in_with_a_code_and_its_refusals(app, db, world):
    parent = world.user("parent")
    secret, codes = enrol(db, parent, now=time.time() - 120)
    client = app.test_client()
    assert post_login(client, parent, remember="y").headers["Location"] == "/login/code"
    assert client.get("/").status_code == 200 and parent.full_name not in client.get("/").get_data(as_text=True)
    wrong = client.post("/login/code", data={"code": "999999" if pyotp.TOTP(secret).now() != "999999" else "888888"})
    assert wrong.status_code == 422 and "4 tries left" in wrong.get_data(as_text=True)
    good = pyotp.TOTP(secret).now()
    assert client.post("/login/code", data={"code": good}).headers["Location"] == "/"
    assert client.get("/profile").status_code == 200
    again = app.test_client()
    post_login(again, parent)
    reused = again.post("/login/code", data={"code": good})
    assert reused.status_code == 422 and "already used" in reused.get_data(as_text=True)
    assert again.get("/profile").status_code == 302
    assert again.post("/login/code", data={"code": codes[0]}).status_code == 302
    assert again.get("/profile").status_code == 200
    third = app.test_client()
    post_login(third, parent)
    used = third.post("/login/code", data={"code": codes[0]})
    assert used.status_code == 422 and "already used" in used.get_data(as_text=True)


def test_a_locked_account_says_until_when(app, db, world):
    parent = world.user("parent")
    secret, _codes = enrol(db, parent, now=time.time() - 120)
    client = app.test_client()
    post_login(client, parent)
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    for _ in range(4):
        assert client.post("/login/code", data={"code": wrong}).status_code == 422
    locked = client.post("/login/code", data={"code": wrong})
    assert locked.status_code == 429 and "locked until" in locked.get_data(as_text=True)
    right = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 429 and client.get("/profile").status_code == 302


def test_a_password_reset_link_does_not_skip_the_second_step(app, db, world):
    from network import people

    parent = world.user("parent")
    enrol(db, parent, now=time.time() - 120)
    links = []
    people.request_password_reset(db, parent.email, secret=SECRET, link_for=links.append)
    client = app.test_client()
    response = client.post(f"/reset/{links[0]}",
                           data={"password": "a brand new passphrase", "password_again": "a brand new passphrase"})
    assert response.headers["Location"] == "/login/code"
    assert client.get("/profile").status_code == 302


def test_a_device_signed_out_elsewhere_is_refused_on_its_next_request(app, db, world):
    parent = world.user("parent")
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    for device in (laptop, phone, tablet):
        post_login(device, parent, remember="")
    listed = devices.signed_in_devices(db, parent)
    assert len(listed) == 3
    page = laptop.get("/account/security").get_data(as_text=True)
    assert page.count('/sign-out"') == 3 and page.count("(this device)") == 1
    with phone.session_transaction() as session:
        phone_key = session["device"]
    phone_record = db.scalar(select(devices.DeviceSession).where(
        devices.DeviceSession.key_digest == devices._digest(phone_key)))
    assert laptop.post(f"/account/devices/{phone_record.id}/sign-out").status_code == 302
    refused = phone.get("/profile")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert "signed out on this device" in phone.get("/login").get_data(as_text=True)
    assert laptop.post("/account/devices/sign-out-others").status_code == 302
    assert tablet.get("/profile").status_code == 302
    assert laptop.get("/profile").status_code == 200
    assert len(devices.signed_in_devices(db, parent)) == 1
    laptop.post("/logout")
    assert devices.signed_in_devices(db, parent) == []


def test_members_accept_the_current_terms_before_any_other_page(db, world, login_as):
    leader, parent = world.user("network_leader", "network"), world.user("parent")
    terms = consent.publish(db, leader, kind="terms", title="Terms of use", body="## Be kind\n\nPlease.")
    client = login_as("parent")
    gate = client.get("/profile")
    assert gate.status_code == 302 and gate.headers["Location"].startswith("/consent")
    page = client.get("/consent?next=/profile").get_data(as_text=True)
    assert "<h2" in page and "Be kind" in page and "I have read and accept this" in page
    assert client.get("/policies/terms").status_code == 200  # reading stays open
    footer = client.get("/policies/terms").get_data(as_text=True)
    assert 'href="/policies/terms"' in footer and 'href="/policies/privacy"' not in footer
    assert client.get("/api/v1/measures", headers={"Accept": "application/json"}).status_code == 403
    terms2 = consent.publish(db, leader, kind="terms", title="Terms of use", body="Be kinder.")
    stale = client.post("/consent?next=/profile", data={"document_id": terms.id, "version": 1})
    assert stale.status_code == 409 and "newer version" in stale.get_data(as_text=True)
    assert db.scalar(select(func.count(PolicyAcceptance.id))) == 0
    accepted = client.post("/consent?next=/profile", data={"document_id": terms2.id, "version": 2})
    assert accepted.status_code == 302
    assert client.get("/consent?next=/profile").headers["Location"] == "/profile"
    assert client.get("/profile").status_code == 200
    consent.publish(db, leader, kind="privacy", title="Privacy notice", body="We keep little.")
    assert client.get("/profile").headers["Location"].startswith("/consent")  # asked again at once
    assert [o.document.kind for o in consent.outstanding(db, parent)] == ["privacy"]


def test_a_parent_is_asked_to_accept_for_their_young_child(db, world, login_as):
    leader = world.user("network_leader", "network")
    child = young_child(db, world)
    terms = consent.publish(db, leader, kind="terms", title="Terms of use", body="Be kind.")
    consent.accept(db, world.user("parent"), document_id=terms.id, version=1)
    client = login_as("parent")
    assert client.get("/").headers["Location"].startswith("/consent")
    page = client.get("/consent").get_data(as_text=True)
    assert "for Little One" in page and "as their parent or carer" in page
    assert client.post("/consent", data={"document_id": terms.id, "version": 1,
                                         "on_behalf_of": child.id}).status_code == 302
    assert client.get("/").status_code == 200
    row = db.scalar(select(PolicyAcceptance).where(PolicyAcceptance.on_behalf_of_id == child.id))
    assert row.user_id == world.user("parent").id


def test_leaders_publish_versions_from_the_admin_page(db, world, login_as):
    client = login_as("network_leader")
    assert 'href="/policies/' not in client.get("/").get_data(as_text=True)  # no footer link before publishing
    response = client.post("/admin/policies", data={"kind": "privacy", "title": "Privacy notice",
                                                    "body": "What we keep.", "summary": "First version"})
    assert response.status_code == 302
    doc = consent.document(db, "privacy")
    assert doc.version == 1 and doc.published_by_id == world.user("network_leader", "network").id
    assert client.get("/").headers["Location"].startswith("/consent")  # the leader accepts it too
    assert "What we keep." in client.get("/consent").get_data(as_text=True)
    assert login_as("parent").get("/admin/policies").status_code in (302, 403)


def test_the_two_step_record_is_kept_per_person(db, world):
    clinician = world.user("clinician")
    enrol(db, clinician)
    assert db.scalar(select(func.count(TwoStep.id)).where(TwoStep.user_id == clinician.id)) == 1


def test_a_leader_resets_a_members_two_step_sign_in(db, world, login_as):
    clinician = world.user("clinician")
    enrol(db, clinician)
    assert login_as("site_lead").post(f"/admin/people/{clinician.id}/two-step/reset").status_code == 403
    assert twostep.is_enabled(db, clinician)
    response = login_as("network_leader").post(f"/admin/people/{clinician.id}/two-step/reset")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/people/{clinician.id}"
    db.expire_all()
    assert not twostep.is_enabled(db, clinician) and twostep.recovery_codes_left(db, clinician) == 0
    assert twostep.must_set_up(db, clinician)
    assert events(db, "twostep.reset") == 1


def test_under_13_for_consent_is_network_minors_child(db, world):
    """Consent asks the one definition of ages: 13 from the first day of the birth month, on the network's today."""
    from datetime import date

    from network import clock, minors
    child = young_child(db, world)
    child.birth_year, child.birth_month = 2013, 6
    with clock.frozen(date(2026, 5, 31)):
        assert consent.is_under_13(child) and minors.is_child(child)
        assert [c.id for c in consent.young_children(db, world.user("parent"))] == [child.id]
    with clock.frozen(date(2026, 6, 1)):
        assert not consent.is_under_13(child) and minors.is_teen(child)
