"""My data: the zip of everything a member wrote and everything about them, and closing an account
(delete what they wrote, or keep it as "a former member"); the audit log keeps that it happened."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import pytest
from sqlalchemy import select

from content import library, mydata, narratives, visits
from network import clock, people
from network.audit import AuditEvent
from network.errors import Conflict, Invalid, NotFound
from network.people import CareLink, Membership, User
from network.sessions import RoomEvent
from tests.conftest import TEST_PASSWORD
from tests.library_fixtures import make_resource, publish
from tests.session_fixtures import make_session
from tests.visit_fixtures import tracking_items

STORY = dict(body="The week my daughter went back to school.", tags=["school"], visibility="network",
             byline_choice="full")


def test_every_column_that_points_at_a_person_has_a_decision():
    """A new table with a user foreign key fails here until COVERAGE says what export and closing do."""
    assert mydata.person_columns() == set(mydata.COVERAGE)
    assert set(mydata.COVERAGE.values()) <= {"erase", "content", "keep"}


@pytest.fixture
def writings(db, world):
    """The own-site parent wrote a story, a comment, a library tool, a session message and tracking."""
    parent, moderator = world.user("parent"), world.user("moderator", "network")
    story = narratives.tell(db, parent, title="Back to school", **STORY)
    narratives.moderate(db, moderator, story.id, decision="approve")
    comment = narratives.comment(db, parent, story.id, body="One more thing about the school nurse.")
    tool = make_resource(db, parent, title="Shared school letter")
    publish(db, world, tool, approvers=("patient", "clinician"))
    tool_comment = library.add_comment(db, parent, tool.id, body="Note to self: add the nurse's number")
    draft = make_resource(db, parent, title="My private draft")
    session = make_session(db, world)
    db.add(RoomEvent(session_id=session.id, room_key=f"{session.id}:main", seq=1, kind="chat", author_id=parent.id,
                     acting_role="parent", body="Hello from the parent"))
    tracking_items(db)
    child = world.user("patient")
    visits.log_entry(db, parent, child.id, entry_date=date.today(), values={"pain": 2})
    db.commit()
    return {"story": story, "comment": comment, "tool": tool, "draft": draft, "session": session,
            "tool_comment": tool_comment}


def _zip(payload: bytes) -> tuple[dict, dict[str, str]]:
    archive = zipfile.ZipFile(io.BytesIO(payload))
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    return json.loads(files.pop("data.json")), files


def test_export_holds_what_they_wrote_and_what_is_about_them(db, world, writings):
    parent = world.user("parent")
    data, files = _zip(mydata.export_zip(db, parent, parent))
    assert data["profile"]["email"] == parent.email and "password_hash" not in data["profile"]
    assert "session_version" not in data["profile"]
    assert [s["title"] for s in data["tables"]["stories"]] == ["Back to school"]
    assert [c["body"] for c in data["tables"]["story_comments"]] == ["One more thing about the school nurse."]
    assert {r["title"] for r in data["tables"]["revisions"]} == {"Shared school letter", "My private draft"}
    assert [e["body"] for e in data["tables"]["room_events"]] == ["Hello from the parent"]
    assert data["tables"]["tracking_entries"][0]["values"] == {"pain": 2}  # they may still act for the teen
    assert {row["patient_id"] for row in data["tables"]["care_links"]} == {world.user("patient").id}
    assert any(e["action"] == "story.create" for e in data["tables"]["audit_events"])
    assert data["memberships"] == [{"role": "parent", "site": "Own Site Hospital", "since": data["memberships"][0]["since"],
                                    "ended": None}]
    story_file = next(name for name in files if name.startswith("stories/"))
    assert files[story_file].startswith("# Back to school\n\nThe week my daughter went back to school.")
    assert "Hello from the parent" in files["learning-sessions.md"]
    assert "One more thing about the school nurse." in files["comments-on-stories.md"]
    assert "add the nurse's number" in files["comments-on-library.md"]
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "mydata.export"))


def test_a_parent_no_longer_exports_an_adult_childs_tracking(db, world, writings):
    parent, patient = world.user("parent"), world.user("patient")
    patient.birth_year, patient.birth_month = 2008, 1
    db.commit()
    data, _files = _zip(mydata.export_zip(db, parent, parent))
    assert "tracking_entries" not in data["tables"] and "tracking_entries" in data["left_out"]
    own, _files = _zip(mydata.export_zip(db, patient, patient))
    assert own["care"]["tracking"][0]["pain"] == 2 and "care.md" in _files


def test_parents_download_an_under_13_childs_data_and_nobody_else_does(db, world):
    parent, teen = world.user("parent"), world.user("patient")
    with pytest.raises(NotFound):  # a teen's data is their own
        mydata.export_zip(db, parent, teen)
    teen.birth_year = date.today().year - 9
    db.commit()
    assert mydata.children_for_export(db, parent) == [teen]
    data, _files = _zip(mydata.export_zip(db, parent, teen))
    assert data["profile"]["id"] == teen.id
    for stranger in (world.user("parent", "other"), world.user("clinician"), world.user("network_leader", "network")):
        with pytest.raises(NotFound):
            mydata.export_zip(db, stranger, teen)


def test_closing_refuses_bad_input_and_changes_nothing(db, world, writings):
    parent = world.user("parent")
    for password, choice, field in (("wrong password", "delete", "password"), (TEST_PASSWORD, "maybe", "choice")):
        with pytest.raises(Invalid) as error:
            mydata.close_account(db, parent, password=password, choice=choice)
        assert field in error.value.field_errors
        db.rollback()
    db.expire_all()
    assert db.get(User, parent.id).is_active and db.get(narratives.Story, writings["story"].id) is not None
    leader = world.user("network_leader", "network")
    with pytest.raises(Conflict, match="at least one leader"):
        mydata.close_account(db, leader, password=TEST_PASSWORD, choice="delete")


def test_closing_with_delete_removes_what_they_wrote_everywhere(db, world, writings):
    parent = world.user("parent")
    token = people.session_token(parent)
    counts = mydata.close_account(db, parent, password=TEST_PASSWORD, choice="delete")
    db.expire_all()
    assert db.get(narratives.Story, writings["story"].id) is None
    assert db.get(narratives.StoryComment, writings["comment"].id) is None
    assert db.get(library.Resource, writings["draft"].id) is None  # only theirs, never published
    assert db.get(library.Resource, writings["tool"].id) is not None  # published: shared work stays
    assert db.get(library.Comment, writings["tool_comment"].id) is None
    chat = db.scalar(select(RoomEvent).where(RoomEvent.author_id == parent.id))
    assert chat.kind == "withdrawn" and chat.body == ""
    user = db.get(User, parent.id)
    assert (user.email, user.password_hash, user.full_name, user.is_active) == (None, None, "A former member", False)
    assert user.closed_at is not None and people.user_for_session(db, token) is None
    assert not db.scalar(select(CareLink.id).where(CareLink.parent_id == parent.id))
    assert all(m.ended_at for m in db.scalars(select(Membership).where(Membership.user_id == parent.id)))
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "account.close"))
    assert event.details["choice"] == "delete" and event.details["stories"] == 1 == counts["stories"]
    assert "school" not in json.dumps(event.details)
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "story.create"))  # history kept
    assert people.authenticate(db, "parent.own@example.org", TEST_PASSWORD) is None


def test_closing_with_anonymise_keeps_their_words_without_their_name(db, world, writings):
    parent = world.user("parent")
    mydata.close_account(db, parent, password=TEST_PASSWORD, choice="anonymise")
    db.expire_all()
    story = db.get(narratives.Story, writings["story"].id)
    assert story.body == STORY["body"] and story.byline == "anonymous"
    assert narratives.byline(story) == "A parent at a network site"
    comment = db.get(narratives.StoryComment, writings["comment"].id)
    assert comment.body.startswith("One more thing") and comment.author.full_name == "A former member"
    revision = db.scalar(select(library.Revision).where(library.Revision.resource_id == writings["tool"].id))
    assert revision.author.shown_name == "A former member"
    assert db.scalar(select(RoomEvent.body).where(RoomEvent.author_id == parent.id)) == "Hello from the parent"


def test_my_data_pages(db, world, writings, login_as):
    client = login_as("parent")
    page = client.get("/me/data").get_data(as_text=True)
    assert "What the network keeps" in page and "never what you wrote" in page
    response = client.get("/me/data/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert _zip(response.data)[0]["profile"]["id"] == world.user("parent").id
    wrong = client.post("/me/data/close", data={"password": "nope", "choice": "delete"})
    assert wrong.status_code == 422 and "That is not your password; nothing was changed." in wrong.get_data(as_text=True)
    assert client.get("/me/data").status_code == 200
    closed = client.post("/me/data/close", data={"password": TEST_PASSWORD, "choice": "anonymise"})
    assert closed.status_code == 302
    assert client.get("/me/data").status_code == 302  # signed out
    with clock.frozen(date.today()):
        assert login_as("parent", "other").get(f"/me/data/children/{world.user('patient').id}/export.zip").status_code == 404


@pytest.fixture
def safety_and_contact(db, world):
    """The own-site parent ran a PDSA cycle, wrote to a clinician, raised a safety concern, blocked someone,
    signed in on a device with two-step on; the clinician blocked the parent."""
    from content.contact import Block, Connection, ContactMessage
    from content.pdsa import Cycle
    from content.safeguarding import SafetyFlag
    from network import devices
    from network.twostep import RecoveryCode, TwoStep
    parent, clinician, other = world.user("parent"), world.user("clinician"), world.user("parent", "other")
    cycle = Cycle(site_id=world.own.id, number=1, title="Reminder texts", aim="Fewer missed visits",
                  change="Text two days before", prediction="Half as many missed", start_month=date(2026, 1, 1),
                  end_month=date(2026, 3, 1), created_by_id=parent.id, acting_role="parent")
    thread = Connection(requester_id=parent.id, recipient_id=clinician.id, status="accepted", acting_role="parent")
    request = Connection(requester_id=parent.id, recipient_id=other.id, status="pending", acting_role="parent")
    db.add_all([cycle, thread, request])
    db.flush()
    db.add_all([ContactMessage(connection_id=thread.id, author_id=parent.id, acting_role="parent", body="Thanks for the call"),
                ContactMessage(connection_id=thread.id, author_id=clinician.id, acting_role="clinician", body="Any time"),
                SafetyFlag(object_type="story", object_id=1, flagger_id=parent.id, flagger_role="parent",
                           concern="self_harm", details="Worried about this one", acknowledged_by_id=clinician.id),
                Block(blocker_id=parent.id, blocked_id=other.id), Block(blocker_id=clinician.id, blocked_id=parent.id),
                TwoStep(user_id=parent.id, secret_encrypted="never-exported"),
                RecoveryCode(user_id=parent.id, code_digest="f" * 64)])
    db.commit()
    key = devices.start(db, parent, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", address="10.0.0.7")
    return {"cycle": cycle, "thread": thread, "request": request, "key": key}


def test_export_holds_cycles_private_messages_and_concerns_they_raised(db, world, safety_and_contact):
    parent, clinician = world.user("parent"), world.user("clinician")
    data, files = _zip(mydata.export_zip(db, parent, parent))
    tables = data["tables"]
    assert [c["title"] for c in tables["pdsa_cycles"]] == ["Reminder texts"]
    assert [m["body"] for m in tables["contact_messages"]] == ["Thanks for the call"]  # theirs, not the clinician's
    assert "Thanks for the call" in files["private-messages.md"]
    assert [f["details"] for f in tables["safety_flags"]] == ["Worried about this one"]
    assert [b["blocked_id"] for b in tables["member_blocks"]] == [world.user("parent", "other").id]  # not who blocked them
    assert "never-exported" not in json.dumps(data) and "f" * 64 not in json.dumps(data)
    assert tables["two_step"] and "secret_encrypted" not in tables["two_step"][0]
    assert tables["device_sessions"][0]["device"] == "Firefox on Linux" and "key_digest" not in tables["device_sessions"][0]
    # the clinician acknowledged the concern: it is about someone else, so not in the clinician's export
    assert "safety_flags" not in mydata.collect(db, clinician, clinician)["tables"]


def test_an_anonymous_ballot_is_exported_without_a_choice(db, world):
    from network.council import Decision, Participant
    from network.groups import Group
    parent = world.user("parent")
    group = Group(name="Council", slug="council", created_by_id=parent.id)
    db.add(group)
    db.flush()
    secret = Decision(group_id=group.id, title="Secret", method="vote", options=["for", "against"], anonymous=True)
    named = Decision(group_id=group.id, title="Named", method="vote", options=["for", "against"])
    db.add_all([secret, named])
    db.flush()
    db.add_all([Participant(decision_id=secret.id, user_id=parent.id, acting_role="parent"),
                Participant(decision_id=named.id, user_id=parent.id, acting_role="parent", choice="for")])
    db.commit()
    ballots = {b["decision_id"]: b for b in mydata.collect(db, parent, parent)["tables"]["council_participants"]}
    assert "choice" not in ballots[secret.id] and ballots[secret.id]["vote"].startswith("anonymous")
    assert ballots[named.id]["choice"] == "for"


@pytest.mark.parametrize("choice", mydata.CHOICES)
def test_closing_ends_devices_two_step_blocks_and_requests(db, world, safety_and_contact, choice):
    from content.contact import Block, Connection, ContactMessage
    from content.safeguarding import SafetyFlag
    from network import devices
    from content.pdsa import Cycle
    from network.devices import DeviceSession
    from network.twostep import RecoveryCode, TwoStep
    parent = world.user("parent")
    token = people.session_token(parent)
    assert devices.load_signed_in(db, token, safety_and_contact["key"])[0] is not None
    counts = mydata.close_account(db, parent, password=TEST_PASSWORD, choice=choice)
    db.expire_all()
    assert counts["signed-in devices"] == 1
    assert devices.load_signed_in(db, token, safety_and_contact["key"])[0] is None
    for model in (DeviceSession, TwoStep, RecoveryCode):
        assert db.scalar(select(model.id).where(model.user_id == parent.id)) is None
    assert db.scalar(select(Block.id).where((Block.blocker_id == parent.id) | (Block.blocked_id == parent.id))) is None
    assert db.get(Connection, safety_and_contact["request"].id) is None
    thread = db.get(Connection, safety_and_contact["thread"].id)
    assert thread.status == "ended"  # the clinician keeps their side of the conversation
    mine = db.scalar(select(ContactMessage.id).where(ContactMessage.author_id == parent.id))
    assert (mine is None) == (choice == "delete")
    flag = db.scalar(select(SafetyFlag))
    assert flag.details == "Worried about this one" and flag.flagger.full_name == "A former member"
    assert db.get(Cycle, safety_and_contact["cycle"].id).created_by_id == parent.id  # shared work stays


def test_closing_on_one_device_signs_out_every_device(db, world, login_as):
    from network.devices import DeviceSession
    parent = world.user("parent")
    phone, laptop = login_as("parent"), login_as("parent")
    assert phone.get("/me/data").status_code == laptop.get("/me/data").status_code == 200
    assert laptop.post("/me/data/close", data={"password": TEST_PASSWORD, "choice": "delete"}).status_code == 302
    assert phone.get("/me/data").status_code == laptop.get("/me/data").status_code == 302
    db.expire_all()
    assert db.scalar(select(DeviceSession.id).where(DeviceSession.user_id == parent.id)) is None
