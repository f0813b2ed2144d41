"""Demo data for safeguarding and contact between members: crisis guidance and risk phrases, two
safeguarding contacts, two connected parents with a private thread, an adult's request to a teen waiting
for the teen's parent, and a safety concern flagged, acknowledged and resolved. Idempotent."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from content.contact import Connection, ContactMessage
from content.narratives import Story
from content.safeguarding import SafetyFlag, settings
from network import audit
from network.db import utcnow
from network.people import Membership, User

GUIDANCE = """**If someone is in immediate danger, call 999 (or your local emergency number) now.**

Thank you for telling us. The network's safeguarding contacts have been told and will look at this today.

- **Worried about yourself?** Talk to someone you trust, or call a helpline: Samaritans 116 123 (free, any time).
- **A child or teen at risk?** Call your local children's services, or the police on 999 in an emergency.
- **A medical emergency with IBD** (heavy bleeding, severe pain, high fever): call 999 or go to the
  nearest emergency department; then phone your IBD team.

This page is guidance from the network's leaders, not medical advice."""

RISK_PHRASES = ["end it all", "hurt myself", "kill myself", "no reason to live", "nobody would miss me",
                "he hits me", "she hits me", "not safe at home", "vomiting blood"]

THREAD = [
    ("asker", "Hello — our daughter was diagnosed last month and the directory says you are happy to talk. "
              "Is there anything you wish you had known in the **first few weeks**?"),
    ("helper", "Welcome, and I am sorry it has been a hard month. Three things helped us:\n\n"
               "1. A symptom diary (the network's tracking page does this)\n2. Writing questions down before "
               "clinic — the *previsit plan* is great for that\n3. Telling school early"),
    ("asker", "Thank you, that is really kind. We will try the previsit plan before our next visit."),
]


def _user(db: Session, local: str) -> User | None:
    return db.scalar(select(User).where(User.email == f"{local}@demo.carecommons.test"))


def seed(db: Session) -> None:
    leader, moderator = _user(db, "leader"), _user(db, "moderator")
    asker, helper = _user(db, "parent.northgate-ibd"), _user(db, "parent.riverside-childrens")
    if not (leader and moderator and asker and helper):
        return
    row = settings(db, for_update=True)
    if not row.risk_phrases:
        row.crisis_guidance, row.risk_phrases, row.updated_by_id = GUIDANCE, RISK_PHRASES, leader.id
    contact_person = _user(db, "clinician.riverside-childrens")
    for person in (moderator, contact_person):
        if person is not None:
            db.execute(update(Membership).where(Membership.user_id == person.id, Membership.ended_at.is_(None))
                       .values(safeguarding_contact=True))
    now = utcnow()
    if db.scalar(select(Connection.id).limit(1)) is None:
        helper.in_directory = True
        connection = Connection(requester_id=asker.id, recipient_id=helper.id, acting_role="parent",
                                note="Our daughter was just diagnosed.", status="accepted",
                                created_at=now - timedelta(days=6), answered_at=now - timedelta(days=5))
        db.add(connection)
        db.flush()
        for position, (who, body) in enumerate(THREAD):
            author = asker if who == "asker" else helper
            db.add(ContactMessage(connection_id=connection.id, author_id=author.id, acting_role="parent", body=body,
                                  created_at=now - timedelta(days=5, hours=-position * 3)))
        teen, adult = _user(db, "patient.northgate-ibd"), _user(db, "doctor.riverside-childrens")
        if teen is not None and adult is not None:
            teen.in_directory = True
            db.add(Connection(requester_id=adult.id, recipient_id=teen.id, acting_role="clinician",
                              note="I run the transition clinic at Riverside; happy to compare notes.",
                              status="awaiting_parent", needs_parent=True, created_at=now - timedelta(days=1)))
    if db.scalar(select(SafetyFlag.id).limit(1)) is None:
        story = db.scalar(select(Story).where(Story.status == "published").order_by(Story.id))
        flagger = _user(db, "clinician.northgate-ibd")
        if story is not None and flagger is not None:
            raised = now - timedelta(days=3)
            flag = SafetyFlag(object_type="story", object_id=story.id, flagger_id=flagger.id, flagger_role="clinician",
                              source="member", concern="self_harm",
                              details="A line near the end worried me; could someone check in with the author?",
                              excerpt=f"{story.title}\n\n{story.body[:500]}", link=f"/stories/{story.id}",
                              created_at=raised, acknowledged_at=raised + timedelta(minutes=14),
                              acknowledged_by_id=moderator.id, acknowledged_role="moderator",
                              actions=(f"{(raised + timedelta(minutes=14)):%Y-%m-%d %H:%M} UTC · {moderator.shown_name}: "
                                       "Read the story; contacted the author's site lead.\n"
                                       f"{(raised + timedelta(hours=3)):%Y-%m-%d %H:%M} UTC · {moderator.shown_name}: "
                                       "Site lead spoke with the family; they are well supported. No further action."),
                              resolved_at=raised + timedelta(hours=3), resolved_by_id=moderator.id,
                              resolved_role="moderator")
            db.add(flag)
            db.flush()
            audit.record(db, flagger, "safety.flag", flag, object_type="story", object_id=story.id, concern="self_harm")
            audit.record(db, moderator, "safety.acknowledge", flag, waited_seconds=14 * 60)
            audit.record(db, moderator, "safety.resolve", flag)
    db.commit()
