"""My data: a member downloads everything they wrote and everything about them (JSON and Markdown in
one zip), and can close their account — deleting what they wrote, or keeping it under "a former
member". The audit log keeps that things happened (never their content); DESIGN "Deleting".

COVERAGE names every column in the schema that points at a person and says what closing an account
does with its rows; a test fails when a new one is missing, so no table can be forgotten.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from content import visits
from content.contact import Block, Connection, ContactMessage
from content.library import Comment, CoAuthor, Draft, Resource, Revision, Suggestion
from content.narratives import Byline, Report, Story, StoryComment
from network import access, audit, devices, minors, passwords
from network.audit import AuditEvent
from network.council import DecisionComment
from network.devices import DeviceSession
from network.twostep import RecoveryCode, TwoStep
from network.db import Base, utcnow
from network.errors import Conflict, Invalid
from network.i18n import N_
from network.people import CareLink, Membership, User
from network.roles import Role
from network.sessions import RoomEvent

#: what closing an account does with rows that point at the person:
#: "erase" — always removed (personal settings, health data, working copies);
#: "content" — what they wrote for others: removed if they choose "delete", else kept under "a former member";
#: "keep" — the record that they took part (a revision of shared work, a review, a vote, an audit event),
#:          kept and shown as "a former member".
COVERAGE: dict[tuple[str, str], str] = {
    ("api_tokens", "created_by_id"): "keep",
    ("audit_events", "actor_id"): "keep",
    ("care_links", "parent_id"): "erase",
    ("care_links", "patient_id"): "erase",
    ("glossary_terms", "edited_by_id"): "keep",
    ("groups", "created_by_id"): "keep",
    ("invitations", "invited_by_id"): "keep",
    ("invitations", "user_id"): "keep",
    ("learning_sessions", "created_by_id"): "keep",
    ("memberships", "user_id"): "keep",
    ("notification_preferences", "user_id"): "erase",
    ("notifications", "user_id"): "erase",
    ("password_resets", "user_id"): "erase",
    ("reports", "reporter_id"): "content",
    ("reports", "closed_by_id"): "keep",
    ("resources", "created_by_id"): "keep",
    ("stories", "author_id"): "content",
    ("stories", "parent_agreed_by_id"): "keep",
    ("submissions", "submitted_by_id"): "keep",
    ("tracking_entries", "patient_id"): "erase",
    ("tracking_entries", "entered_by_id"): "keep",
    ("tracking_sharing", "patient_id"): "erase",
    ("transition_notices", "patient_id"): "erase",
    ("usage_events", "actor_id"): "keep",
    ("visits", "patient_id"): "erase",
    ("visits", "created_by_id"): "keep",
    ("adoptions", "adopted_by_id"): "keep",
    ("agreed_goals", "recorded_by_id"): "keep",
    ("attachments", "uploaded_by_id"): "keep",
    ("coauthors", "user_id"): "erase",
    ("coauthors", "added_by_id"): "keep",
    ("comments", "author_id"): "content",
    ("comments", "resolved_by_id"): "keep",
    ("group_members", "user_id"): "erase",
    ("polls", "opened_by_id"): "keep",
    ("registrations", "user_id"): "keep",
    ("review_schedules", "set_by_id"): "keep",
    ("revisions", "author_id"): "keep",
    ("room_events", "author_id"): "content",
    ("room_presence", "user_id"): "erase",
    ("room_restrictions", "user_id"): "keep",
    ("room_restrictions", "by_id"): "keep",
    ("session_facilitators", "user_id"): "keep",
    ("story_comments", "author_id"): "content",
    ("story_reactions", "user_id"): "keep",
    ("adaptations", "created_by_id"): "keep",
    ("drafts", "user_id"): "erase",
    ("module_presenters", "user_id"): "keep",
    ("poll_votes", "user_id"): "keep",
    ("question_votes", "user_id"): "keep",
    ("review_confirmations", "confirmed_by_id"): "keep",
    ("review_decisions", "reviewer_id"): "keep",
    ("suggestions", "author_id"): "content",
    ("suggestions", "decided_by_id"): "keep",
    ("translation_syncs", "synced_by_id"): "keep",
    ("visit_plans", "filled_by_id"): "keep",
    ("plan_notes", "author_id"): "keep",
    # issue 13 and the parts merged with it
    ("agreement_acceptances", "user_id"): "keep",  # what the network must keep: who accepted which version
    ("data_use_agreements", "published_by_id"): "keep",
    ("policy_acceptances", "user_id"): "keep",  # likewise for the terms and privacy notice
    ("policy_acceptances", "on_behalf_of_id"): "keep",
    ("policy_documents", "published_by_id"): "keep",
    ("council_decisions", "proposed_by_id"): "keep",
    ("council_comments", "author_id"): "content",
    ("council_participants", "user_id"): "keep",  # an anonymous ballot never holds the choice
    ("council_actions", "owner_id"): "keep",
    ("council_actions", "created_by_id"): "keep",
    ("pdsa_cycles", "created_by_id"): "keep",  # shared improvement work
    ("pdsa_cycles", "updated_by_id"): "keep",
    ("safety_flags", "flagger_id"): "keep",  # safeguarding records stay with the team, without the name
    ("safety_flags", "acknowledged_by_id"): "keep",
    ("safety_flags", "resolved_by_id"): "keep",
    ("safety_settings", "updated_by_id"): "keep",
    # requests and blocks go; an accepted thread is ended and kept for the other member (see close_account)
    ("connections", "requester_id"): "erase",
    ("connections", "recipient_id"): "erase",
    ("connections", "parent_decided_by_id"): "keep",
    ("contact_messages", "author_id"): "content",
    ("member_blocks", "blocker_id"): "erase",
    ("member_blocks", "blocked_id"): "erase",
    ("device_sessions", "user_id"): "erase",
    ("two_step", "user_id"): "erase",
    ("recovery_codes", "user_id"): "erase",
}

#: columns whose rows are not exported to the person they point at: who blocked them, and the safety
#: concerns they handled (those are about other members)
NOT_EXPORTED = {("member_blocks", "blocked_id"), ("safety_flags", "acknowledged_by_id"),
                ("safety_flags", "resolved_by_id")}

#: never in an export: secrets and session machinery
SECRET_COLUMNS = {"password_hash", "session_version", "token_hash", "nonce_digest", "client_id",
                  "secret_encrypted", "code_digest", "key_digest"}
#: rows of someone's care written by this person: exported only while they are family of that patient
CARE_TABLES = {"visits": "visit", "visit_plans": "plan", "plan_notes": "note", "agreed_goals": "goal",
               "tracking_entries": "entry"}
CHOICES = ("delete", "anonymise")
FORMER_MEMBER = "A former member"


def person_columns() -> set[tuple[str, str]]:
    """Every (table, column) in the schema with a foreign key to users."""
    import content.models  # noqa: F401  (every model registered)
    import network.models  # noqa: F401
    return {(table.name, column.name) for table in Base.metadata.sorted_tables for column in table.columns
            if any(fk.column.table.name == "users" for fk in column.foreign_keys)}


@dataclass(frozen=True)
class DataSubject:
    """The target of "mydata.export": whose data, and who else may download it (parents of a child)."""

    user_id: int
    guardian_ids: frozenset[int]


def subject(db: Session, person: User) -> DataSubject:
    guardians = frozenset()
    if minors.is_child(person):
        guardians = frozenset(db.scalars(select(CareLink.parent_id).where(CareLink.patient_id == person.id)))
    return DataSubject(person.id, guardians)


def children_for_export(db: Session, actor) -> list[User]:
    """The under-13 children whose data this parent may download."""
    if not access.signed_in(actor):
        return []
    children = db.scalars(select(User).join(CareLink, CareLink.patient_id == User.id)
                          .where(CareLink.parent_id == actor.id).order_by(User.full_name))
    return [child for child in children if minors.is_child(child)]


# ---------------------------------------------------------------------------------------------
# Export

def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(row) -> dict:
    return {column.name: _jsonable(getattr(row, column.key, None)) for column in row.__table__.columns
            if column.name not in SECRET_COLUMNS}


def _model_for(table_name: str):
    person_columns()
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table_name:
            return mapper.class_
    raise KeyError(table_name)


def _care_patient_id(db: Session, table: str, row) -> int | None:
    if table == "visits":
        return row.patient_id
    if table == "tracking_entries":
        return row.patient_id
    if table == "visit_plans":
        return db.get(visits.Visit, row.visit_id).patient_id
    if table == "plan_notes":
        return db.get(visits.Visit, db.get(visits.VisitPlan, row.plan_id).visit_id).patient_id
    if table == "agreed_goals":
        return db.get(visits.Visit, row.visit_id).patient_id
    return None


def collect(db: Session, actor, person: User) -> dict:
    """Everything the network holds that was written by or is about `person`, as plain data."""
    access.require(actor, "mydata.export", subject(db, person))
    family_of: dict[int, bool] = {}

    def may_read_care(patient_id: int) -> bool:
        if patient_id not in family_of:
            patient = db.get(User, patient_id)
            family_of[patient_id] = patient is not None and visits.is_family(person, visits.scope(db, patient))
        return family_of[patient_id]

    tables: dict[str, list[dict]] = {}
    left_out: dict[str, int] = {}
    for table, column in sorted(COVERAGE):
        if table == "audit_events" or (table, column) in NOT_EXPORTED:
            continue
        model = _model_for(table)
        for row in db.scalars(select(model).where(getattr(model, column) == person.id)):
            if table in CARE_TABLES and not may_read_care(_care_patient_id(db, table, row)):
                left_out[table] = left_out.get(table, 0) + 1
                continue
            record = _row(row)
            if table == "council_participants" and _anonymous_vote(db, row):
                record.pop("choice", None)
                record["vote"] = "anonymous: what you chose was never recorded against you"
            if record not in tables.setdefault(table, []):
                tables[table].append(record)
    events = db.scalars(select(AuditEvent).where(
        (AuditEvent.actor_id == person.id)
        | ((AuditEvent.object_type == "User") & (AuditEvent.object_id == person.id))).order_by(AuditEvent.id))
    tables["audit_events"] = [_row(e) for e in events]
    profile = _row(person)
    care = visits.export(db, actor, person.id) if person.has_role(Role.PATIENT) and access.can(
        actor, "patient_data.edit", visits.scope(db, person)) else None
    return {
        "exported_at": utcnow().isoformat(),
        "about": "Everything CareCommons holds that you wrote or that is about you. Ids refer to other rows; "
                 "other people's names are not included.",
        "profile": profile,
        "memberships": [{"role": m.role, "site": m.site.name if m.site else None, "since": m.created_at.isoformat(),
                         "ended": m.ended_at.isoformat() if m.ended_at else None}
                        for m in db.scalars(select(Membership).where(Membership.user_id == person.id))],
        "care": care,
        "tables": tables,
        "left_out": {table: f"{n} rows about other patients' care, kept in their records" for table, n in left_out.items()},
    }


def _anonymous_vote(db: Session, participant) -> bool:
    from network.council import Decision
    decision = db.get(Decision, participant.decision_id)
    return bool(decision and decision.anonymous)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")[:50] or "untitled"


def markdown_files(data: dict) -> dict[str, str]:
    """What the person wrote, as Markdown files (the JSON has the rest)."""
    files = {"README.md": "# Your CareCommons data\n\n`data.json` holds everything: your profile, memberships, care "
                          "links, your care (plans and tracking), notifications and the audit log's entries about "
                          "you. The Markdown files hold what you wrote, one file per story and library revision.\n"}
    tables = data["tables"]
    for story in tables.get("stories", []):
        files[f"stories/{story['id']}-{_slug(story['title'])}.md"] = (
            f"# {story['title']}\n\n{story['body']}\n\n---\nStatus: {story['status']} · readers: {story['visibility']}"
            f" · {story['created_at']}\n")
    for revision in tables.get("revisions", []):
        files[f"library/{revision['resource_id']}-r{revision['number']}-{_slug(revision['title'])}.md"] = (
            f"# {revision['title']}\n\n{revision['body']}\n")
    for name, table in (("comments-on-stories.md", "story_comments"), ("comments-on-library.md", "comments"),
                        ("suggestions.md", "suggestions"), ("private-messages.md", "contact_messages"),
                        ("council-comments.md", "council_comments")):
        rows = tables.get(table, [])
        if rows:
            files[name] = "\n\n---\n\n".join(f"{r['created_at']}\n\n{r['body']}" for r in rows) + "\n"
    said = [r for r in tables.get("room_events", []) if r["kind"] in ("chat", "question")]
    if said:
        files["learning-sessions.md"] = "\n".join(f"- {r['created_at']} ({r['kind']}): {r['body']}" for r in said) + "\n"
    if data.get("care"):
        lines = ["# Visit plans and tracking", ""]
        for plan in data["care"]["plans"]:
            lines += [f"## Visit on {plan['visit_date']} at {plan['site']} ({plan['status']})", ""]
            lines += [f"- {key}: {value}" for key, value in plan["answers"].items()] + [""]
        lines += ["## Tracking", ""] + [f"- {entry}" for entry in data["care"]["tracking"]]
        files["care.md"] = "\n".join(lines) + "\n"
    return files


def export_zip(db: Session, actor, person: User) -> bytes:
    data = collect(db, actor, person)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str))
        for name, text in markdown_files(data).items():
            archive.writestr(name, text)
    audit.record(db, actor, "mydata.export", person)
    db.commit()
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Closing an account

def close_account(db: Session, actor, *, password: str, choice: str) -> dict[str, int]:
    """Close the actor's own account. Bad input changes nothing; the audit log keeps counts, not content."""
    user = db.get(User, actor.id) if access.signed_in(actor) else None
    access.require(actor, "account.close", user or actor)
    errors: dict[str, list[str]] = {}
    if choice not in CHOICES:
        errors["choice"] = [N_("Choose whether to delete what you wrote or keep it without your name.")]
    if not passwords.verify(user.password_hash, password or ""):
        errors["password"] = [N_("That is not your password; nothing was changed.")]
    if errors:
        raise Invalid(errors)
    if user.has_role(Role.NETWORK_LEADER):
        others = db.scalar(select(Membership.id).where(Membership.role == Role.NETWORK_LEADER.value,
                                                       Membership.ended_at.is_(None), Membership.user_id != user.id))
        if others is None:
            raise Conflict(N_("The network needs at least one leader; appoint another before closing your account."))
    counts: dict[str, int] = {}
    remove = choice == "delete"

    # What they wrote for others
    stories = list(db.scalars(select(Story).where(Story.author_id == user.id)))
    if remove:
        story_ids = [s.id for s in stories]
        comment_ids = list(db.scalars(select(StoryComment.id).where(StoryComment.story_id.in_(story_ids or [-1]))))
        own_comment_ids = list(db.scalars(select(StoryComment.id).where(StoryComment.author_id == user.id)))
        db.execute(delete(Report).where(
            ((Report.object_type == "story") & Report.object_id.in_(story_ids or [-1]))
            | ((Report.object_type == "story_comment") & Report.object_id.in_((comment_ids + own_comment_ids) or [-1]))
            | (Report.reporter_id == user.id)))
        for story in stories:
            db.delete(story)
        counts["stories"] = len(stories)
        counts["story comments"] = db.execute(delete(StoryComment).where(StoryComment.author_id == user.id)).rowcount
        counts["library comments"] = db.execute(delete(Comment).where(Comment.author_id == user.id)).rowcount
        counts["suggestions"] = db.execute(delete(Suggestion).where(Suggestion.author_id == user.id)).rowcount
        counts["session messages"] = db.execute(
            update(RoomEvent).where(RoomEvent.author_id == user.id, RoomEvent.kind.in_(("chat", "question")))
            .values(kind="withdrawn", body="", data={})).rowcount
        counts["drafts of your own"] = _delete_sole_drafts(db, user)
        counts["private messages"] = db.execute(delete(ContactMessage).where(ContactMessage.author_id == user.id)).rowcount
        counts["council comments"] = db.execute(delete(DecisionComment).where(DecisionComment.author_id == user.id)).rowcount
    else:
        for story in stories:
            story.byline = Byline.ANONYMOUS.value
        counts["stories kept anonymously"] = len(stories)

    # Their own care, settings and working copies
    visit_ids = list(db.scalars(select(visits.Visit.id).where(visits.Visit.patient_id == user.id)))
    if visit_ids:
        db.execute(delete(visits.Visit).where(visits.Visit.id.in_(visit_ids)))
    counts["visits"] = len(visit_ids)
    for model, column in ((visits.TrackingEntry, "patient_id"), (visits.TrackingSharing, "patient_id"),
                          (minors.TransitionNotice, "patient_id"), (Draft, "user_id"), (CoAuthor, "user_id")):
        db.execute(delete(model).where(getattr(model, column) == user.id))
    db.execute(delete(CareLink).where((CareLink.parent_id == user.id) | (CareLink.patient_id == user.id)))
    from network.groups import GroupMember
    from network.notifications import Notification, NotificationPreference
    from network.people import PasswordReset
    from network.sessions import Presence
    for model in (Notification, NotificationPreference, PasswordReset, GroupMember, Presence):
        db.execute(delete(model).where(model.user_id == user.id))
    for membership in db.scalars(select(Membership).where(Membership.user_id == user.id, Membership.ended_at.is_(None))):
        membership.ended_at = utcnow()
    _close_contact_and_sign_in(db, user, counts)

    # The person: signed out everywhere, personal fields scrubbed
    user.email = None
    user.password_hash = None
    user.full_name = FORMER_MEMBER
    user.name_display = "full"
    user.pronouns = user.bio = user.offers = ""
    user.profile_roles = []
    user.birth_year = user.birth_month = None
    user.in_directory = False
    user.locale = None
    user.last_login_at = None
    user.is_active = False
    user.session_version += 1
    user.closed_at = utcnow()
    audit.record(db, user, "account.close", user, choice=choice, **{k.replace(" ", "_"): v for k, v in counts.items()})
    db.commit()
    db.expire(user, ["memberships"])
    return counts


def _close_contact_and_sign_in(db: Session, user: User, counts: dict[str, int]) -> None:
    """Contact between members and sign-in records: blocks and requests go; an accepted thread is ended and
    stays for the other member only while it still holds messages; every signed-in device ends and its record
    goes with the two-step secret and recovery codes."""
    db.execute(delete(Block).where((Block.blocker_id == user.id) | (Block.blocked_id == user.id)))
    mine = (Connection.requester_id == user.id) | (Connection.recipient_id == user.id)
    db.execute(update(Connection).where(mine, Connection.status == "accepted").values(status="ended", ended_at=utcnow()))
    with_messages = select(ContactMessage.connection_id)
    db.execute(delete(Connection).where(mine, (Connection.status != "ended") | Connection.id.not_in(with_messages)))
    devices.end_all(db, user)
    counts["signed-in devices"] = db.execute(delete(DeviceSession).where(DeviceSession.user_id == user.id)).rowcount
    for model in (RecoveryCode, TwoStep):
        db.execute(delete(model).where(model.user_id == user.id))


def _delete_sole_drafts(db: Session, user: User) -> int:
    """Library drafts that only this person ever wrote and that were never published go with them
    (shared or published work stays: others wrote it too)."""
    removed = 0
    for resource in db.scalars(select(Resource).where(Resource.published_revision_id.is_(None),
                                                      Resource.status == "draft", Resource.created_by_id == user.id)):
        authors = set(db.scalars(select(Revision.author_id).where(Revision.resource_id == resource.id)))
        if authors - {user.id}:
            continue
        db.execute(delete(Draft).where(Draft.resource_id == resource.id))
        resource.current_revision_id = resource.review_revision_id = None
        db.flush()
        db.execute(delete(Revision).where(Revision.resource_id == resource.id))
        db.delete(resource)
        removed += 1
    return removed
