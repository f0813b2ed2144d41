"""Learning-session pages: planning, registration with capacity and waitlist, calendars, reminders,
the room page without JavaScript, the transcript and its exports."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from content.library import Resource
from network import sessions
from network.errors import Conflict, Forbidden, Invalid
from network.outbox import OutboxMessage
from network.sessions import Registration, SessionFields
from tests.session_fixtures import live_client, make_session, register_all


def test_leader_plans_a_session_through_pages(db, world, login_as):
    leader = login_as("network_leader")
    created = leader.post("/sessions/new", data={"title": "Winter session", "description": "Together.",
                                                 "starts_local": "2030-01-15T18:00", "minutes": "90",
                                                 "timezone": "America/New_York", "capacity": "2"})
    assert created.status_code == 302
    item = db.scalar(select(sessions.LearningSession).where(sessions.LearningSession.title == "Winter session"))
    assert item.starts_at == datetime(2030, 1, 15, 23, 0, tzinfo=timezone.utc)
    added = leader.post(f"/sessions/{item.slug}/modules", data={
        "module-title": "Co-taught welcome", "module-minutes": "20",
        "module-presenters": "parent.own@example.org:parent, clinician.own@example.org:clinician"})
    assert added.status_code == 302
    page = login_as("patient").get(f"/sessions/{item.slug}?tz=Europe/London").get_data(as_text=True)
    assert "Co-taught welcome" in page and "Parent Own" in page and "23:00" in page and "Europe/London" in page


def test_bad_session_input(db, login_as):
    response = login_as("network_leader").post("/sessions/new", data={"title": "", "minutes": "5",
                                                                      "timezone": "Mars/Olympus"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Give the session a title." in text and "Give the start date and time." in text
    assert db.scalar(select(func.count(sessions.LearningSession.id))) == 0


def test_presenter_must_hold_the_role(db, world, login_as):
    item = make_session(db, world)
    response = login_as("network_leader").post(f"/sessions/{item.slug}/modules", data={
        "module-title": "Bad", "module-minutes": "10", "module-presenters": "patient.own@example.org:clinician"})
    assert response.status_code == 422
    assert "does not hold the role clinician" in response.get_data(as_text=True)


def test_capacity_waitlist_and_promotion(db, world):
    item = make_session(db, world, starts_in=timedelta(days=3), capacity=1)
    first = sessions.register(db, world.user("parent"), item.id)
    second = sessions.register(db, world.user("clinician"), item.id)
    assert (first.status, second.status) == ("registered", "waitlisted")
    with pytest.raises(Conflict):
        sessions.register(db, world.user("clinician"), item.id)
    db.rollback()
    sessions.cancel(db, world.user("parent"), item.id)
    db.refresh(second)
    assert second.status == "registered"
    assert db.scalar(select(OutboxMessage.subject).where(OutboxMessage.to == world.user("clinician").email)).startswith(
        "A place opened up")


def test_register_with_a_role_one_holds(db, world, login_as):
    item = make_session(db, world, starts_in=timedelta(days=3))
    with pytest.raises(Invalid):
        sessions.register(db, world.user("parent"), item.id, role="clinician")
    db.rollback()
    assert login_as("parent").post(f"/sessions/{item.slug}/register", data={"role": "parent"}).status_code == 302
    assert db.scalar(select(Registration.acting_role)) == "parent"


def test_calendar_file_and_personal_feed(db, world, login_as, client):
    item = make_session(db, world, starts_in=timedelta(days=3))
    sessions.register(db, world.user("parent"), item.id)
    ics = login_as("parent").get(f"/sessions/{item.slug}.ics")
    assert ics.mimetype == "text/calendar" and b"BEGIN:VEVENT" in ics.data and b"SUMMARY:Learning session" in ics.data
    page = login_as("parent").get("/sessions/calendar").get_data(as_text=True)
    feed_url = re.search(r'value="http://[^/]+(/sessions/calendar/[^"]+\.ics)"', page).group(1)
    feed = client.get(feed_url)
    assert feed.status_code == 200 and b"Learning session" in feed.data
    assert client.get("/sessions/calendar/forged.ics").status_code == 404
    from network import people
    people.logout_everywhere(db, world.user("parent"))
    assert client.get(feed_url).status_code == 404


def test_reminders_go_once_through_the_outbox(db, world):
    item = make_session(db, world, starts_in=timedelta(hours=5))
    sessions.register(db, world.user("parent"), item.id)
    assert sessions.send_reminders(db) == 1
    assert sessions.send_reminders(db) == 0
    assert db.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.subject.startswith("Reminder"))) == 1


def test_room_page_without_javascript_shows_the_conversation(app, db, world, login_as):
    item = make_session(db, world)
    register_all(db, world, item)
    client = live_client(app, login_as, "parent")
    client.emit("join", {"session_id": item.id}, namespace="/live", callback=True)
    client.emit("chat", {"session_id": item.id, "client_id": "a", "body": "Hello *room*"}, namespace="/live", callback=True)
    page = login_as("clinician").get(f"/sessions/{item.slug}/room").get_data(as_text=True)
    assert "Live features need JavaScript" in page and "<em>room</em>" in page
    # each line as live participants get it (inline, rendered once per process): the page rendered
    # every line of the room's history again as a document (found by the load test)
    assert "Hello <em>room</em> <a" in page and "<p>Hello" not in page
    assert login_as("site_lead").get(f"/sessions/{item.slug}/room").status_code == 403


def test_transcript_exports_and_notes(app, db, world, login_as):
    item = make_session(db, world)
    register_all(db, world, item)
    parent = live_client(app, login_as, "parent")
    parent.emit("join", {"session_id": item.id}, namespace="/live", callback=True)
    parent.emit("chat", {"session_id": item.id, "client_id": "a", "body": "Thank you all"}, namespace="/live",
                callback=True)
    parent.emit("ask", {"session_id": item.id, "client_id": "q", "body": "Secret question?", "anonymous": True},
                namespace="/live", callback=True)
    reader = login_as("clinician")
    page = reader.get(f"/sessions/{item.slug}/transcript").get_data(as_text=True)
    assert "Thank you all" in page and "asked anonymously" in page and "Parent or carer: 1" in page
    markdown = reader.get(f"/sessions/{item.slug}/transcript.md").get_data(as_text=True)
    assert "Secret question? — *anonymous*" in markdown
    csv_text = reader.get(f"/sessions/{item.slug}/transcript.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("time_utc,kind,author") and ",question,," in csv_text
    assert reader.post(f"/sessions/{item.slug}/notes").status_code == 403
    assert login_as("network_leader").post(f"/sessions/{item.slug}/notes").status_code == 302
    notes = db.scalar(select(Resource).where(Resource.title.startswith("Session notes")))
    assert notes.status == "draft"


def test_only_leaders_create_and_only_facilitators_manage(db, world, login_as):
    with pytest.raises(Forbidden):
        sessions.create_session(db, world.user("site_lead"), SessionFields(
            title="x", description="", starts_local=datetime(2030, 1, 1, 10), minutes=60, timezone="UTC"))
    item = make_session(db, world)
    assert login_as("clinician").get(f"/sessions/{item.slug}/manage").status_code == 403
    assert login_as("network_leader").get(f"/sessions/{item.slug}/manage").status_code == 200


def test_the_list_of_upcoming_sessions_is_one_query_whatever_their_agendas(db, world, count_queries):
    """Found by the load test (bench/load.py): the home page's three upcoming sessions loaded every
    agenda, facilitator and presenter, with the presenters' accounts."""
    for n in range(3):
        make_session(db, world, starts_in=timedelta(days=n + 1), title=f"Session {n}")
    db.expunge_all()
    with count_queries() as counter:
        upcoming = sessions.upcoming(db, world.user("parent"), limit=2)
        assert [s.title for s in upcoming] == ["Session 0", "Session 1"]
    assert counter.count == 1
    assert [m.title for m in upcoming[0].modules] == ["Welcome", "Previsit planning"]  # still there when asked


def test_getting_a_session_for_a_room_event_leaves_the_agenda_until_asked(db, world, count_queries):
    """Found by the load test: every chat message loaded the session's whole agenda and its presenters."""
    session = make_session(db, world)
    leader_id = world.user("network_leader", "network").id  # who made it facilitates it
    db.expunge_all()
    with count_queries() as counter:
        found = sessions.get(db, world.user("parent"), session.id)
        assert found.facilitator_ids == {leader_id}
    assert counter.count == 2  # the session and its facilitators (5 with the agenda; accounts when asked)
    assert [m.title for m in found.modules] == ["Welcome", "Previsit planning"]
    assert {p.acting_role for p in found.modules[0].presenters} == {"parent", "clinician"}


def test_may_i_speak_here_asks_the_registration_and_the_restriction_once_each(db, world, count_queries):
    """Every chat message, question and vote asks this; it read the person's restriction twice."""
    session = make_session(db, world)
    register_all(db, world, session)
    parent = world.user("parent")
    with count_queries() as counter:
        assert sessions.check_room(db, parent, session, write=True) is None
    asked = [" ".join(q.split()) for q in counter.statements]
    assert len([q for q in asked if "FROM room_restrictions" in q]) == 1
    assert len([q for q in asked if "FROM registrations" in q]) == 1
    assert not [q for q in asked if "FROM users" in q]  # the registration's account is the one asking
    sessions.restrict(db, world.user("network_leader", "network"), session, user_id=parent.id, kind="muted",
                      client_id="mute-1")
    with pytest.raises(Forbidden, match="muted"):
        sessions.check_room(db, parent, session, write=True)
    assert sessions.check_room(db, parent, session) is None  # reading along is still allowed
