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
