"""Safeguarding (flags, the urgent queue, screening, crisis guidance, safeguarding contacts) and contact
between members (requests, a parent's approval for a teen, private threads, rate limit, blocks)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from content import contact, narratives, safeguarding
from network import audit, outbox
from network.db import utcnow
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.notifications import Notification, NotificationPreference
from network.people import Membership
from tests.session_fixtures import make_session, register_all

TODAY = date(2026, 11, 26)


def _published_story(db, world, author=None, visibility="network"):
    author = author or world.user("parent")
    story = narratives.tell(db, author, title="Our first year", body="We learned a lot.", tags=["school"],
                            visibility=visibility, byline_choice="first")
    narratives.moderate(db, world.user("moderator", "network"), story.id, decision="approve")
    return story


def _designate(db, world, role="clinician", where="other"):
    return safeguarding.set_contact(db, world.user("network_leader", "network"),
                                    email=world.user(role, where).email, designated=True)


def _audit_actions(db) -> list[str]:
    return list(db.scalars(select(audit.AuditEvent.action).order_by(audit.AuditEvent.id)))


# ---------------------------------------------------------------------------------------------
# Flags

def test_a_flag_goes_to_the_urgent_queue_and_tells_every_contact_at_once(db, world):
    contact_person = _designate(db, world)
    # the contact switched every notification kind off: a safety concern still reaches them
    db.add(NotificationPreference(user_id=contact_person.id, kind="safeguarding", in_app=False, by_email=False))
    db.commit()
    story = _published_story(db, world)
    flag = safeguarding.flag(db, world.user("patient", "other"), object_type="story", object_id=story.id,
                             concern="self_harm", details="They sound very low.")
    assert flag.status == "new" and flag.source == "member" and flag.flagger_role == "patient"
    assert "We learned a lot." in flag.excerpt
    notes = list(db.scalars(select(Notification).where(Notification.user_id == contact_person.id,
                                                       Notification.kind == "safeguarding")))
    assert len(notes) == 1 and notes[0].read_at is None and notes[0].link == f"/safety/flags/{flag.id}"
    mails = outbox.messages_to(db, contact_person.email)
    assert len(mails) == 1 and "safety concern" in mails[0].subject
    assert "safety.flag" in _audit_actions(db)
    queue = safeguarding.queue(db, world.user("moderator", "network"))
    assert [f.id for f in queue["open"]] == [flag.id]
    assert [f.id for f in safeguarding.queue(db, contact_person)["open"]] == [flag.id]


def test_a_flag_on_something_the_flagger_cannot_see_is_404_and_changes_nothing(db, world):
    story = narratives.tell(db, world.user("parent"), title="Site only", body="Just us.", tags=[],
                            visibility="site", byline_choice="first")
    narratives.moderate(db, world.user("moderator", "network"), story.id, decision="approve")
    before = (db.scalar(select(func.count(safeguarding.SafetyFlag.id))), len(_audit_actions(db)))
    with pytest.raises(NotFound):
        safeguarding.flag(db, world.user("parent", "other"), object_type="story", object_id=story.id, concern="abuse")
    with pytest.raises(NotFound):
        safeguarding.flag(db, world.user("parent", "other"), object_type="nonsense", object_id=1, concern="abuse")
    with pytest.raises(NotFound):
        safeguarding.flag(db, world.user("parent"), object_type="story", object_id=999_999, concern="abuse")
    assert (db.scalar(select(func.count(safeguarding.SafetyFlag.id))), len(_audit_actions(db))) == before


def test_bad_input_is_refused_and_changes_nothing(db, world):
    story = _published_story(db, world)
    with pytest.raises(Invalid) as error:
        safeguarding.flag(db, world.user("clinician"), object_type="story", object_id=story.id, concern="bored")
    assert "concern" in error.value.field_errors
    assert db.scalar(select(func.count(safeguarding.SafetyFlag.id))) == 0


def test_a_chat_message_is_flaggable_only_by_who_can_see_its_room(db, world):
    session = make_session(db, world)
    register_all(db, world, session, roles=(("parent", "own"), ("clinician", "own")))
    from network import sessions

    event, _created = sessions.chat(db, world.user("parent"), session, body="I do not feel safe at home", client_id="c1")
    flag = safeguarding.flag(db, world.user("clinician"), object_type="room_message", object_id=event.id,
                             concern="abuse")
    assert flag.link == f"/sessions/{session.slug}/transcript"
    # every member may read the main room's transcript, so may flag it
    assert safeguarding.find_flaggable(db, world.user("patient", "other"), "room_message", event.id).text
    opened, _created = sessions.open_breakout(db, world.user("network_leader", "network"), session,
                                              name="Parents", roles=["parent"], client_id="b1")
    room = opened.data["room"]
    private, _created = sessions.chat(db, world.user("parent"), session, body="Parents only", client_id="c2", room=room)
    assert safeguarding.flag(db, world.user("parent"), object_type="room_message", object_id=private.id,
                             concern="other").object_id == private.id
    with pytest.raises(NotFound):  # a clinician is not in the parents' breakout
        safeguarding.flag(db, world.user("clinician"), object_type="room_message", object_id=private.id,
                          concern="other")


def test_a_plan_note_is_flaggable_by_the_family_and_the_care_team_only(db, world):
    from content import visits
    from tests.visit_fixtures import make_plan

    plan = make_plan(db, world, submit=True)
    note = visits.add_note(db, world.user("clinician"), plan.id, "Please call us if the pain wakes them at night.")
    flag = safeguarding.flag(db, world.user("parent"), object_type="plan_note", object_id=note.id,
                             concern="medical_emergency")
    assert flag.object_type == "plan_note"
    with pytest.raises(NotFound):
        safeguarding.flag(db, world.user("clinician", "other"), object_type="plan_note", object_id=note.id,
                          concern="medical_emergency")


def test_handling_acknowledges_records_and_resolves_with_waiting_time(db, world):
    story = _published_story(db, world)
    flag = safeguarding.flag(db, world.user("clinician"), object_type="story", object_id=story.id, concern="self_harm")
    flag.created_at = utcnow() - timedelta(minutes=42)
    db.commit()
    assert flag.waited() >= timedelta(minutes=42)
    moderator = world.user("moderator", "network")
    with pytest.raises(Forbidden):
        safeguarding.acknowledge(db, world.user("clinician"), flag.id)
    safeguarding.acknowledge(db, moderator, flag.id)
    assert flag.acknowledged_role == "moderator" and flag.status == "acknowledged"
    waited = flag.waited()
    with pytest.raises(Conflict):
        safeguarding.acknowledge(db, moderator, flag.id)
    with pytest.raises(Invalid):
        safeguarding.resolve(db, moderator, flag.id, action="  ")
    safeguarding.resolve(db, moderator, flag.id, action="Phoned the family; the site team follows up.")
    assert flag.status == "resolved" and "Phoned the family" in flag.actions
    assert flag.waited() == waited  # the clock stopped at acknowledgement
    assert [f.id for f in safeguarding.queue(db, moderator)["handled"]] == [flag.id]
    assert safeguarding.queue(db, moderator)["open"] == []
    actions = _audit_actions(db)
    assert {"safety.acknowledge", "safety.action", "safety.resolve"} <= set(actions)


def test_flags_come_before_ordinary_reports_on_the_moderation_page(db, world, login_as):
    story = _published_story(db, world)
    narratives.report(db, world.user("clinician"), object_type="story", object_id=story.id, reason="Off topic")
    flag = safeguarding.flag(db, world.user("clinician"), object_type="story", object_id=story.id, concern="abuse")
    page = login_as("moderator").get("/moderation/").get_data(as_text=True)
    assert page.index(f'/safety/flags/{flag.id}') < page.index("Off topic")


# ---------------------------------------------------------------------------------------------
# Screening

def test_phrase_matching_is_case_insensitive_and_whole_phrase():
    phrases = ["hurt myself", "no way out"]
    assert safeguarding.matching_phrase(phrases, "Sometimes I want to HURT   myself.") == "hurt myself"
    assert safeguarding.matching_phrase(phrases, "There is no way out!") == "no way out"
    assert safeguarding.matching_phrase(phrases, "I hurt myselfie sticks") is None
    assert safeguarding.matching_phrase(phrases, "a sign: no wayout") is None
    assert safeguarding.clean_phrases(" Hurt Myself \n\nhurt myself\nNo  way out") == ["hurt myself", "no way out"]


def test_a_new_story_with_a_risk_phrase_is_flagged_automatically_and_not_blocked(db, world):
    contact_person = _designate(db, world)
    safeguarding.update_settings(db, world.user("network_leader", "network"), crisis_guidance="Call 999.",
                                 risk_phrases="end it all\nhurt myself")
    story = narratives.tell(db, world.user("patient"), title="Hard week", body="Some days I want to End it all.",
                            tags=[], visibility="network", byline_choice="first")
    assert story.body == "Some days I want to End it all."
    flags = list(db.scalars(select(safeguarding.SafetyFlag)))
    assert [(f.source, f.matched_phrase, f.object_id, f.flagger_id) for f in flags] == \
        [("screening", "end it all", story.id, None)]
    assert "safety.screen_match" in _audit_actions(db)
    assert outbox.messages_to(db, contact_person.email)
    narratives.tell(db, world.user("patient"), title="Good week", body="We went to the beach.", tags=[],
                    visibility="network", byline_choice="first")
    assert db.scalar(select(func.count(safeguarding.SafetyFlag.id))) == 1


def test_a_chat_message_with_a_risk_phrase_is_broadcast_and_flagged(app, db, world, login_as):
    from app.extensions import socketio

    safeguarding.update_settings(db, world.user("network_leader", "network"), crisis_guidance="Call 999.",
                                 risk_phrases="hurt myself")
    session = make_session(db, world)
    register_all(db, world, session, roles=(("parent", "own"),))
    client = login_as("parent")
    sio = socketio.test_client(app, namespace="/live", flask_test_client=client)
    sio.emit("join", {"session_id": session.id}, namespace="/live", callback=True)
    ack = sio.emit("chat", {"session_id": session.id, "client_id": "m1", "body": "I want to hurt myself"},
                   namespace="/live", callback=True)
    assert ack.get("seq") and "error" not in ack
    received = [r for r in sio.get_received("/live") if r["name"] == "event"]
    assert received[-1]["args"][0]["body"] == "I want to hurt myself"
    flag = db.scalar(select(safeguarding.SafetyFlag))
    assert flag.object_type == "room_message" and flag.object_id == ack["id"] and flag.source == "screening"
    sio.disconnect(namespace="/live")


def test_only_leaders_change_the_settings_and_bad_input_changes_nothing(db, world):
    with pytest.raises(Forbidden):
        safeguarding.update_settings(db, world.user("moderator", "network"), crisis_guidance="x", risk_phrases="")
    leader = world.user("network_leader", "network")
    with pytest.raises(Invalid):
        safeguarding.update_settings(db, leader, crisis_guidance="  ", risk_phrases="a")
    with pytest.raises(Invalid):
        safeguarding.update_settings(db, leader, crisis_guidance="ok", risk_phrases="x" * 200)
    assert safeguarding.settings(db).risk_phrases == []
    with pytest.raises(Invalid):
        safeguarding.set_contact(db, leader, email="nobody@example.org", designated=True)
    person = _designate(db, world)
    assert [u.id for u in safeguarding.safeguarding_contacts(db)] == [person.id]
    assert all(m.safeguarding_contact for m in db.scalars(select(Membership).where(Membership.user_id == person.id)))
    safeguarding.set_contact(db, leader, user_id=person.id, designated=False)
    assert safeguarding.safeguarding_contacts(db) == []


# ---------------------------------------------------------------------------------------------
# Contact between members

def _list(db, *users, offers="Happy to talk with newly diagnosed families."):
    for user in users:
        user.in_directory, user.offers = True, offers
    db.commit()


def test_request_accept_thread_block(db, world):
    asker, helper = world.user("parent", "other"), world.user("parent")
    _list(db, helper)
    request = contact.ask(db, asker, helper.id, note="Our son was just diagnosed.", today=TODAY)
    assert request.status == "pending"
    assert [n.kind for n in db.scalars(select(Notification).where(Notification.user_id == helper.id))] == ["contact_request"]
    with pytest.raises(Conflict):
        contact.ask(db, asker, helper.id, today=TODAY)
    with pytest.raises(NotFound):
        contact.thread(db, asker, request.id)  # no thread before acceptance
    with pytest.raises(Forbidden):
        contact.answer(db, asker, request.id, accept=True)  # the asker cannot accept for them
    contact.answer(db, helper, request.id, accept=True)
    message = contact.send(db, asker, request.id, body="Thank you! **What helped you** most?")
    _row, messages = contact.thread(db, helper, request.id)
    assert [m.id for m in messages] == [message.id]
    with pytest.raises(NotFound):
        contact.thread(db, world.user("moderator", "network"), request.id)
    contact.block(db, helper, asker.id)
    with pytest.raises(NotFound):
        contact.thread(db, helper, request.id)
    with pytest.raises(NotFound):
        contact.send(db, asker, request.id, body="hello?")
    with pytest.raises(Forbidden) as refused:
        contact.ask(db, asker, helper.id, today=TODAY)
    assert "not taking contact requests" in refused.value.message  # the block is not revealed
    with pytest.raises(Forbidden) as mine:
        contact.ask(db, helper, asker.id, today=TODAY)
    assert "Unblock" in mine.value.message or "not taking" in mine.value.message
    contact.unblock(db, helper, asker.id)
    assert contact.ask(db, asker, helper.id, today=TODAY).status == "pending"
    assert {"contact.request", "contact.accept", "contact.message", "contact.block", "contact.unblock"} <= \
        set(_audit_actions(db))


def test_requests_to_someone_not_opted_in_are_refused_clearly(db, world):
    before = db.scalar(select(func.count(contact.Connection.id)))
    with pytest.raises(Forbidden) as error:
        contact.ask(db, world.user("parent"), world.user("clinician", "other").id, today=TODAY)
    assert "not taking contact requests" in error.value.message
    _list(db, world.user("parent"))
    with pytest.raises(Forbidden):
        contact.ask(db, world.user("parent"), world.user("parent").id, today=TODAY)
    assert db.scalar(select(func.count(contact.Connection.id))) == before


def test_an_adult_outside_a_teens_site_waits_for_a_linked_parent(db, world):
    teen, parent = world.user("patient"), world.user("parent")  # born 2011: 15 in 2026
    adult = world.user("clinician", "other")
    adult.birth_year = 1980
    _list(db, teen)
    request = contact.ask(db, adult, teen.id, note="Hi", today=TODAY)
    assert request.status == "awaiting_parent"
    assert contact.overview(db, teen).incoming == []  # the teen does not see it yet
    with pytest.raises(NotFound):
        contact.answer(db, teen, request.id, accept=True)
    assert [c.id for c in contact.overview(db, parent).to_approve] == [request.id]
    with pytest.raises(NotFound):
        contact.approve(db, world.user("parent", "other"), request.id, approved=True)
    contact.approve(db, parent, request.id, approved=True)
    assert [c.id for c in contact.overview(db, teen).incoming] == [request.id]
    contact.answer(db, teen, request.id, accept=True)
    assert request.status == "accepted"


def test_people_at_the_teens_own_site_and_other_teens_ask_directly(db, world):
    teen = world.user("patient")
    _list(db, teen)
    same_site_adult = world.user("clinician")
    same_site_adult.birth_year = 1985
    db.commit()
    assert contact.ask(db, same_site_adult, teen.id, today=TODAY).status == "pending"
    other_teen = world.user("patient", "other")  # born 2011 too
    assert contact.ask(db, other_teen, teen.id, today=TODAY).status == "pending"
    # a leader gave no birth year: treated as an adult outside the site
    assert contact.ask(db, world.user("network_leader", "network"), teen.id, today=TODAY).status == "awaiting_parent"


def test_a_parent_refusal_hides_the_request_for_good(db, world):
    teen = world.user("patient")
    _list(db, teen)
    request = contact.ask(db, world.user("moderator", "network"), teen.id, today=TODAY)
    contact.approve(db, world.user("parent"), request.id, approved=False)
    assert request.status == "refused_by_parent"
    assert contact.overview(db, teen).incoming == []
    with pytest.raises(NotFound):
        contact.approve(db, world.user("parent"), request.id, approved=True)


def test_thread_messages_are_rate_limited_with_a_clear_429(db, world):
    asker, helper = world.user("parent", "other"), world.user("parent")
    _list(db, helper)
    request = contact.ask(db, asker, helper.id, today=TODAY)
    contact.answer(db, helper, request.id, accept=True)
    now = utcnow()
    for i in range(contact.RATE_COUNT):
        contact.send(db, asker, request.id, body=f"message {i}", now=now)
    with pytest.raises(contact.TooMany) as error:
        contact.send(db, asker, request.id, body="one too many", now=now)
    assert error.value.status == 429 and "at most" in error.value.message
    contact.send(db, asker, request.id, body="a minute later", now=now + timedelta(seconds=61))


def test_a_private_message_can_be_reported_and_flagged(db, world):
    asker, helper = world.user("parent", "other"), world.user("parent")
    _list(db, helper)
    request = contact.ask(db, asker, helper.id, today=TODAY)
    contact.answer(db, helper, request.id, accept=True)
    message = contact.send(db, asker, request.id, body="Send me your address.")
    report = contact.report(db, helper, message.id, reason="Asks for personal details")
    assert report.object_type == "contact_message"
    assert report in narratives.queue(db, world.user("moderator", "network"))["reports"]
    flag = safeguarding.flag(db, helper, object_type="contact_message", object_id=message.id, concern="abuse")
    assert flag.link == f"/connections/{request.id}"
    with pytest.raises(NotFound):
        safeguarding.flag(db, world.user("clinician"), object_type="contact_message", object_id=message.id,
                          concern="abuse")
    moderator = world.user("moderator", "network")
    assert safeguarding.view_flag(db, moderator, flag.id).excerpt == "Send me your address."
    assert "safety.view_private" in _audit_actions(db)


# ---------------------------------------------------------------------------------------------
# Pages

def test_flag_page_then_crisis_guidance(db, world, login_as):
    safeguarding.update_settings(db, world.user("network_leader", "network"),
                                 crisis_guidance="**Call 999** in an emergency.", risk_phrases="")
    story = _published_story(db, world)
    client = login_as("clinician")
    page = client.get(f"/stories/{story.id}")
    assert f"/safety/flag/story/{story.id}" in page.get_data(as_text=True)
    assert client.get(f"/safety/flag/story/{story.id}").status_code == 200
    assert client.post(f"/safety/flag/story/{story.id}", data={"concern": ""}).status_code == 422
    response = client.post(f"/safety/flag/story/{story.id}", data={"concern": "self_harm"}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "<strong>Call 999</strong>" in text and "safeguarding contacts" in text


def test_thread_page_renders_markdown_through_the_one_renderer(db, world, login_as):
    asker, helper = world.user("parent", "other"), world.user("parent")
    _list(db, helper)
    request = contact.ask(db, asker, helper.id, today=TODAY)
    contact.answer(db, helper, request.id, accept=True)
    client = login_as("parent")
    response = client.post(f"/connections/{request.id}/messages",
                           data={"body": "**bold** <script>alert(1)</script>"}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "<strong>bold</strong>" in text and "<script>alert(1)" not in text
    directory = login_as("parent", "other").get("/people/").get_data(as_text=True)
    assert f"/connections/ask/{helper.id}" in directory


def test_the_rate_limit_answers_429_with_a_clear_message(db, world, login_as):
    asker, helper = world.user("parent", "other"), world.user("parent")
    _list(db, helper)
    request = contact.ask(db, asker, helper.id, today=TODAY)
    contact.answer(db, helper, request.id, accept=True)
    client = login_as("parent", "other")
    for i in range(contact.RATE_COUNT):
        assert client.post(f"/connections/{request.id}/messages", data={"body": f"m{i}"}).status_code == 302
    response = client.post(f"/connections/{request.id}/messages", data={"body": "again"})
    assert response.status_code == 429 and "at most 10 messages a minute" in response.get_data(as_text=True)


def test_the_teen_rule_uses_the_one_definition_of_ages(db, world):
    """network/minors.py counts from the birth month and reads the network's today (network/clock.py)."""
    from network import clock
    teen = world.user("patient")
    teen.birth_year, teen.birth_month = 2008, 12  # 18 on 1 December 2026
    adult = world.user("clinician", "other")
    adult.birth_year = 1980
    _list(db, teen)
    with clock.frozen(date(2026, 11, 30)):
        assert contact.is_teen(teen) and contact.ask(db, adult, teen.id).status == "awaiting_parent"
    with clock.frozen(date(2026, 12, 1)):
        assert not contact.is_teen(teen) and contact.is_adult(teen)
