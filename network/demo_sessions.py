"""Demo learning sessions: two past ones with transcripts and an upcoming one. Idempotent."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.db import utcnow
from network.people import User
from network.sessions import (AgendaModule, LearningSession, ModulePresenter, Poll, PollVote, Registration,
                              RoomCounter, RoomEvent, SessionFacilitator, room_key)

PLAN = [
    dict(slug="spring-learning-session", title="Spring learning session: previsit planning that works", days=-60,
         modules=[("Welcome and why we plan visits together", "parent.riverside-childrens", "parent",
                   "clinician.riverside-childrens", "clinician"),
                  ("Three sites, three ways to use the template", "lead.northgate-ibd", "site_lead",
                   "parent.northgate-ibd", "parent"),
                  ("What we will test next month", None, None, None, None)]),
    dict(slug="transition-learning-session", title="Growing up with IBD: transition to adult care", days=-21,
         modules=[("A teen's view of the first adult clinic", "patient.riverside-childrens", "patient",
                   "doctor.riverside-childrens", "clinician"),
                  ("Readiness checklists in practice", "clinician.northgate-ibd", "clinician", None, None)]),
    dict(slug="autumn-learning-session", title="Autumn learning session: sharing what worked", days=14,
         modules=[("Bright spots from three sites", "lead.riverside-childrens", "site_lead",
                   "parent.riverside-childrens", "parent"),
                  ("Co-designing the next PDSA cycle", None, None, None, None)]),
]

CHAT = [("parent.riverside-childrens", "parent", "Hello from Riverside! We used the plan for the first time last week."),
        ("clinician.northgate-ibd", "clinician", "Same here; families wrote more than we expected."),
        ("patient.northgate-ibd", "patient", "I liked writing my own questions before the visit."),
        ("lead.riverside-childrens", "site_lead", "Can we share the version with the school section?"),
        ("parent.northgate-ibd", "parent", "Yes please, the school part is what we needed most.")]


def seed(db: Session, leader: User) -> int:
    users = {u.email.split("@")[0]: u for u in db.scalars(select(User).where(User.email.is_not(None)))}
    added = 0
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for plan in PLAN:
        if db.scalar(select(LearningSession.id).where(LearningSession.slug == plan["slug"])):
            continue
        starts = now + timedelta(days=plan["days"], hours=2)
        session = LearningSession(slug=plan["slug"], title=plan["title"], starts_at=starts,
                                  ends_at=starts + timedelta(minutes=120), timezone="Europe/London", capacity=200,
                                  description="Network-wide learning session, co-taught by parents, patients and "
                                              "clinicians.", created_by_id=leader.id, created_at=now - timedelta(days=90))
        db.add(session)
        db.flush()
        db.add(SessionFacilitator(session_id=session.id, user_id=leader.id))
        for position, (title, first, first_role, second, second_role) in enumerate(plan["modules"], start=1):
            module = AgendaModule(session_id=session.id, position=position, title=title, minutes=30)
            db.add(module)
            db.flush()
            for key, role in ((first, first_role), (second, second_role)):
                if key and key in users:
                    db.add(ModulePresenter(module_id=module.id, user_id=users[key].id, acting_role=role))
        participants = [u for key, u in users.items() if key.split(".")[0] in ("parent", "patient", "clinician", "lead", "doctor")]
        past = plan["days"] < 0
        for user in participants[:40]:
            role = {"parent": "parent", "patient": "patient", "lead": "site_lead"}.get(
                user.email.split(".")[0], "clinician")
            db.add(Registration(session_id=session.id, user_id=user.id, acting_role=role,
                                attended_at=starts + timedelta(minutes=3) if past else None))
        if past:
            _transcript(db, session, users, leader, starts)
        added += 1
    db.flush()
    return added


def _transcript(db: Session, session: LearningSession, users: dict, leader: User, starts) -> None:
    key = room_key(session.id)
    seq = 0

    def event(kind, author, role, body="", data=None, minute=0):
        nonlocal seq
        seq += 1
        row = RoomEvent(session_id=session.id, room_key=key, seq=seq, kind=kind, author_id=author.id if author else None,
                        acting_role=role, body=body, data=data or {}, created_at=starts + timedelta(minutes=minute))
        db.add(row)
        db.flush()
        return row

    for minute, (who, role, text) in enumerate(CHAT, start=5):
        if who in users:
            event("chat", users[who], role, text, minute=minute)
    asker = users.get("parent.northgate-ibd")
    question = event("question", asker, "parent", "How do we get teens to fill in the plan themselves?",
                     {"anonymous": True, "votes": 0, "answered": False}, minute=20)
    event("answered", leader, "facilitator", data={"question_id": question.id}, minute=25)
    poll = Poll(session_id=session.id, question="Will your site test the template next month?",
                options=["Yes", "Maybe", "Not yet"], is_open=False, opened_by_id=leader.id)
    db.add(poll)
    db.flush()
    event("poll_open", leader, "facilitator", poll.question, {"poll_id": poll.id, "options": poll.options,
                                                             "counts": [0, 0, 0]}, minute=30)
    for i, user in enumerate(list(users.values())[:24]):
        db.add(PollVote(poll_id=poll.id, user_id=user.id, option=i % 3 if i % 4 else 0, acting_role=""))
    event("poll_close", leader, "facilitator", data={"poll_id": poll.id}, minute=35)
    db.add(RoomCounter(room_key=key, last_seq=seq))
