"""Services for people, sites, memberships, invitations and resets: rules and audit, without HTTP."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from network import audit, people
from network.audit import AuditEvent
from network.db import utcnow
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.outbox import OutboxMessage
from network.people import Invitation, Membership, User
from tests.conftest import TEST_PASSWORD

SECRET = "unit-test-secret"
NEW_PASSWORD = "a fresh long passphrase"


def link(token: str) -> str:
    return f"http://127.0.0.1/invite/{token}"


def rows(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def invite(db, world, actor=None, **overrides):
    kwargs = dict(email="New.Person@Example.org", full_name="New Person", role="parent",
                  site_id=world.own.id, secret=SECRET, link_for=link)
    kwargs.update(overrides)
    return people.invite(db, actor or world.user("site_lead"), **kwargs)


def test_invitation_creates_account_once(db, world):
    invitation, token = invite(db, world)
    mail = db.scalars(select(OutboxMessage).where(OutboxMessage.to == "new.person@example.org")).one()
    assert token in mail.body and "Own Site Hospital" in mail.subject
    user = people.accept_invitation(db, SECRET, token, password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert user.email == "new.person@example.org"
    assert user.has_role(people.Role.PARENT, world.own.id)
    assert people.authenticate(db, "new.person@example.org", NEW_PASSWORD).id == user.id
    users_before = rows(db, User)
    with pytest.raises(Invalid) as reused:
        people.accept_invitation(db, SECRET, token, password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert "already been used" in reused.value.field_errors["link"][0]
    assert rows(db, User) == users_before
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "invitation.create" in actions and "invitation.accept" in actions


def test_expired_invitation_is_refused_and_creates_nothing(db, world):
    invitation, token = invite(db, world)
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    users_before, memberships_before = rows(db, User), rows(db, Membership)
    with pytest.raises(Invalid) as expired:
        people.accept_invitation(db, SECRET, token, password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert "expired" in expired.value.field_errors["link"][0]
    assert (rows(db, User), rows(db, Membership)) == (users_before, memberships_before)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
    lambda t: "x" + t,                                           # payload changed
    lambda t: "",                                                # nothing at all
])
def test_tampered_invitation_is_refused(db, world, mangle):
    _invitation, token = invite(db, world)
    users_before = rows(db, User)
    with pytest.raises(Invalid) as bad:
        people.accept_invitation(db, SECRET, mangle(token), password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert "not valid" in bad.value.field_errors["link"][0]
    assert rows(db, User) == users_before


def test_invitation_signed_with_another_secret_is_refused(db, world):
    _invitation, token = invite(db, world)
    with pytest.raises(Invalid):
        people.invitation_for_token(db, "another-secret", token)


def test_revoked_invitation_is_dead(db, world):
    invitation, token = invite(db, world)
    people.revoke_invitation(db, world.user("site_lead"), invitation.id)
    with pytest.raises(Invalid) as revoked:
        people.invitation_for_token(db, SECRET, token)
    assert "withdrawn" in revoked.value.field_errors["link"][0]


def test_weak_or_mismatched_password_keeps_invitation_usable(db, world):
    _invitation, token = invite(db, world)
    with pytest.raises(Invalid) as bad:
        people.accept_invitation(db, SECRET, token, password="short", password_again="different")
    assert set(bad.value.field_errors) == {"password", "password_again"}
    db.rollback()
    assert people.invitation_for_token(db, SECRET, token).accepted_at is None


def test_invitation_to_existing_account_adds_role_with_its_password(db, world):
    clinician = world.user("clinician")
    _invitation, token = invite(db, world, actor=world.user("network_leader", "network"),
                                email=clinician.email, role="clinician", site_id=world.other.id)
    with pytest.raises(Invalid):
        people.accept_invitation(db, SECRET, token, password="wrong password!!", password_again="")
    db.rollback()
    user = people.accept_invitation(db, SECRET, token, password=TEST_PASSWORD, password_again="")
    assert user.id == clinician.id and user.has_role(people.Role.CLINICIAN, world.other.id)


@pytest.mark.parametrize("field,value,message", [
    ("email", "not-an-address", "e-mail"),
    ("full_name", "   ", "name"),
    ("role", "wizard", "role"),
])
def test_invitation_bad_input_changes_nothing(db, world, field, value, message):
    before = rows(db, Invitation), rows(db, OutboxMessage)
    with pytest.raises(Invalid) as bad:
        invite(db, world, **{field: value})
    assert message in " ".join(bad.value.field_errors[field]).lower()
    db.rollback()
    assert (rows(db, Invitation), rows(db, OutboxMessage)) == before


def test_site_lead_invites_only_to_own_site_and_not_network_roles(db, world):
    lead = world.user("site_lead")
    with pytest.raises(NotFound):
        invite(db, world, actor=lead, site_id=world.other.id)
    with pytest.raises(Forbidden):
        invite(db, world, actor=lead, role="network_leader", site_id=None)
    with pytest.raises(Forbidden):
        invite(db, world, actor=world.user("clinician"))
    with pytest.raises(NotFound):
        invite(db, world, actor=world.user("clinician", "other"))


def test_password_reset_is_single_use_and_signs_out_other_sessions(db, world):
    parent = world.user("parent")
    version = parent.session_version
    people.request_password_reset(db, parent.email.upper(), secret=SECRET, link_for=link)
    body = db.scalars(select(OutboxMessage).where(OutboxMessage.to == parent.email)).one().body
    token = body.split("/invite/")[1].split()[0]
    people.reset_password(db, SECRET, token, password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert people.authenticate(db, parent.email, NEW_PASSWORD) is not None
    assert parent.session_version == version + 1
    with pytest.raises(Invalid):
        people.reset_password(db, SECRET, token, password=NEW_PASSWORD, password_again=NEW_PASSWORD)


def test_reset_for_unknown_address_sends_nothing(db, world):
    people.request_password_reset(db, "nobody@example.org", secret=SECRET, link_for=link)
    assert rows(db, OutboxMessage) == 0


def test_failed_login_is_audited_without_the_password(db, world):
    assert people.authenticate(db, world.user("parent").email, "wrong password") is None
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert "wrong password" not in str(event.details)
    assert people.authenticate(db, "nobody@example.org", "whatever") is None


def test_session_token_carries_version(db, world):
    parent = world.user("parent")
    token = people.session_token(parent)
    assert people.user_for_session(db, token).id == parent.id
    people.logout_everywhere(db, parent)
    assert people.user_for_session(db, token) is None
    assert people.user_for_session(db, "garbage") is None


def test_deactivation_ends_sessions_and_sign_in(db, world):
    leader, parent = world.user("network_leader", "network"), world.user("parent")
    token = people.session_token(parent)
    people.set_user_active(db, leader, parent.id, False)
    assert people.user_for_session(db, token) is None
    assert people.authenticate(db, parent.email, TEST_PASSWORD) is None
    with pytest.raises(Conflict):
        people.set_user_active(db, leader, leader.id, False)


def test_profile_update_and_name_display(db, world):
    parent = world.user("parent")
    people.update_profile(db, parent, parent.id, full_name="Maria Gómez Ruiz", name_display="first",
                          pronouns="she/her", bio="Mum of two.", profile_roles=["parent", "patient"])
    assert parent.shown_name == "Maria"
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "profile.update")).one().details["fields"]
    with pytest.raises(Forbidden):
        people.update_profile(db, world.user("clinician"), parent.id, full_name="X", name_display="full",
                              pronouns="", bio="", profile_roles=[])


def test_profile_bad_input_changes_nothing(db, world):
    parent = world.user("parent")
    with pytest.raises(Invalid) as bad:
        people.update_profile(db, parent, parent.id, full_name="", name_display="nickname", pronouns="x" * 41,
                              bio="y" * 2001, profile_roles=["astronaut"])
    assert set(bad.value.field_errors) == {"full_name", "name_display", "pronouns", "bio", "profile_roles"}
    db.rollback()
    assert db.get(User, parent.id).full_name == "Parent Own"


def test_sites_created_renamed_deactivated_and_audited(db, world):
    leader = world.user("network_leader", "network")
    site = people.create_site(db, leader, name="Hilltop Children's", slug="hilltop", city="Hilltop")
    assert site.code == 3
    with pytest.raises(Invalid) as duplicate:
        people.create_site(db, leader, name="Again", slug="hilltop")
    assert "already" in duplicate.value.field_errors["slug"][0]
    db.rollback()
    with pytest.raises(Invalid):
        people.create_site(db, leader, name="Bad", slug="Bad Slug!")
    db.rollback()
    people.update_site(db, leader, site.id, name="Hilltop Children's Hospital", city="Hilltop", is_active=False)
    assert [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.object_type == "Site")
                                         .order_by(AuditEvent.id))] == ["site.create", "site.deactivate"]
    assert site not in people.active_sites(db)
    with pytest.raises(Forbidden):
        people.create_site(db, world.user("site_lead"), name="Mine", slug="mine")


def test_ended_membership_loses_access_at_once(db, world):
    lead, clinician = world.user("site_lead"), world.user("clinician")
    membership = db.scalars(select(Membership).where(Membership.user_id == clinician.id)).one()
    people.set_data_steward(db, lead, membership.id, True)
    people.end_membership(db, lead, membership.id)
    assert not clinician.has_role(people.Role.CLINICIAN, world.own.id)
    with pytest.raises(NotFound):
        people.end_membership(db, lead, membership.id)


def test_data_steward_only_for_clinicians(db, world):
    lead = world.user("site_lead")
    parent_membership = db.scalars(select(Membership).where(Membership.user_id == world.user("parent").id)).one()
    with pytest.raises(Invalid):
        people.set_data_steward(db, lead, parent_membership.id, True)


def test_last_network_leader_cannot_step_down(db, world):
    leader = world.user("network_leader", "network")
    membership = db.scalars(select(Membership).where(Membership.user_id == leader.id)).one()
    with pytest.raises(Conflict):
        people.end_membership(db, leader, membership.id)


def test_care_links(db, world):
    lead = world.user("site_lead")
    parent, patient = world.user("parent", "other"), world.user("patient")
    with pytest.raises(Forbidden):
        people.link_parent(db, world.user("clinician"), parent_id=parent.id, patient_id=patient.id)
    link_row = people.link_parent(db, lead, parent_id=parent.id, patient_id=patient.id)
    assert patient in people.patients_of(db, parent)
    with pytest.raises(Invalid):
        people.link_parent(db, lead, parent_id=parent.id, patient_id=patient.id)
    db.rollback()
    with pytest.raises(Invalid):
        people.link_parent(db, lead, parent_id=world.user("clinician").id, patient_id=patient.id)
    db.rollback()
    people.unlink_parent(db, lead, link_row.id)
    assert patient not in people.patients_of(db, parent)


def test_audit_log_is_append_only_and_leaders_only(db, world):
    leader = world.user("network_leader", "network")
    people.create_site(db, leader, name="Audited", slug="audited")
    event = audit.page(db, leader, limit=1)[0]
    event.action = "rewritten"
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()
    db.delete(db.get(AuditEvent, event.id))
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()
    with pytest.raises(Forbidden):
        audit.page(db, world.user("site_lead"))


def test_active_sites_among_some_asks_only_for_those(db, world, count_queries):
    """The library page lists the sites a viewer may adopt for: only their own are read, not all 70
    (found by the load test)."""
    with count_queries() as counter:
        assert people.active_sites(db, among=set()) == []
    assert counter.count == 0
    assert people.active_sites(db, among={world.own.id}) == [world.own]
    world.own.is_active = False
    db.commit()
    assert people.active_sites(db, among={world.own.id, world.other.id}) == [world.other]
    assert world.own not in people.active_sites(db)
