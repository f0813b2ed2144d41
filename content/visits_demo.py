"""Demo data for previsit planning and tracking: a template with form fields, families with plans
(one visit done, with notes and agreed goals; one coming up) and six weeks of tracking. Idempotent."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.library import Resource, ReviewDecision, Revision
from content.visits import (AgreedGoal, PlanNote, TrackingEntry, TrackingItem, TrackingSharing, Visit, VisitPlan)
from network.db import utcnow
from network.people import User

TEMPLATE_SLUG = "previsit-planning-template"
FORM = """

## Fill in before your visit

?[choice] Since the last visit, have things been | Better | About the same | Worse {#overall}
?[text] What matters most to you at this visit? {#matters}
?[multi] Which of these have bothered you? | Tummy pain | Tiredness | Toilet trips | Sleep | Mood | School or work {#bothers}
?[scale] How much energy have you had, from 0 (none) to 10 (plenty)? {#energy}
?[yesno] Have you missed school or work because of IBD? {#missed}
?[date] If you had a flare, when did it start? {#flare_start}
?[text] Your questions for the team {#questions}
"""

ITEMS = [("pain", "Tummy pain (0–10)", "scale"), ("stools", "Toilet trips today", "count"),
         ("energy", "Energy (0–10)", "scale"), ("missed", "Missed school or work today", "yesno"),
         ("note", "Anything else", "note")]


def seed(db: Session) -> int:
    if db.scalar(select(TrackingItem.id).limit(1)) is not None:
        return 0
    for position, (key, label, kind) in enumerate(ITEMS):
        db.add(TrackingItem(key=key, label=label, kind=kind, position=position))
    template = _template_with_fields(db)
    users = {u.email.split("@")[0]: u for u in db.scalars(select(User).where(User.email.is_not(None)))}
    rng = random.Random(7)
    today = utcnow().date()
    for slug in ("riverside-childrens", "northgate-ibd"):
        patient, parent = users.get(f"patient.{slug}"), users.get(f"parent.{slug}")
        clinician = users.get(f"clinician.{slug}")
        if patient is None or parent is None or template is None:
            continue
        site_id = min(patient.site_ids())
        for day in range(42):
            pain = max(0, min(10, 6 - day // 8 + rng.randint(-1, 1)))
            db.add(TrackingEntry(patient_id=patient.id, entry_date=today - timedelta(days=41 - day),
                                 values={"pain": pain, "stools": max(1, pain // 2 + rng.randint(0, 2)),
                                         "energy": 10 - pain + rng.randint(-1, 1) if pain < 10 else 1,
                                         "missed": "yes" if pain >= 6 else "no"}, entered_by_id=patient.id))
        db.add(TrackingSharing(patient_id=patient.id, shared_with_team=slug == "riverside-childrens"))
        past = Visit(patient_id=patient.id, site_id=site_id, visit_date=today - timedelta(days=20),
                     created_by_id=parent.id)
        upcoming = Visit(patient_id=patient.id, site_id=site_id, visit_date=today + timedelta(days=9),
                         created_by_id=parent.id)
        db.add_all([past, upcoming])
        db.flush()
        done = VisitPlan(visit_id=past.id, template_resource_id=template.id,
                         template_revision_id=template.published_revision_id, status="submitted",
                         answers={"overall": "Worse", "matters": "Getting back to full days at school.",
                                  "bothers": ["Tiredness", "School or work"], "energy": 4, "missed": "yes",
                                  "questions": "Could we try a later appointment time?"},
                         filled_by_id=parent.id, filled_role="parent", submitted_at=utcnow() - timedelta(days=22),
                         goals_discussed=9)
        draft = VisitPlan(visit_id=upcoming.id, template_resource_id=template.id,
                          template_revision_id=template.published_revision_id, status="draft",
                          answers={"overall": "Better", "energy": 7}, filled_by_id=patient.id, filled_role="patient")
        db.add_all([done, draft])
        db.flush()
        if clinician is not None:
            db.add(PlanNote(plan_id=done.id, author_id=clinician.id, acting_role="clinician",
                            body="Discussed a school plan; letter for rest breaks sent."))
            db.add_all([AgreedGoal(visit_id=past.id, goal="Half days at school for two weeks, then full days",
                                   who="both", recorded_by_id=clinician.id),
                        AgreedGoal(visit_id=past.id, goal="Send the school letter", who="team",
                                   recorded_by_id=clinician.id),
                        AgreedGoal(visit_id=past.id, goal="Keep the energy diary daily", who="family",
                                   recorded_by_id=clinician.id)])
    db.commit()
    return 1


def _template_with_fields(db: Session) -> Resource | None:
    """The seeded previsit template gets a published revision with form fields (co-written)."""
    template = db.scalar(select(Resource).where(Resource.slug == TEMPLATE_SLUG))
    if template is None or template.published_revision_id is None:
        return template
    current = db.get(Revision, template.current_revision_id)
    if "?[" in current.body:
        return template
    author = db.scalar(select(User).where(User.email.like("parent.riverside-childrens@%")))
    number = current.number + 1
    revision = Revision(resource_id=template.id, number=number, title=current.title, body=current.body.rstrip() + FORM,
                        summary="Made the plan fillable: form fields families answer before the visit",
                        author_id=author.id if author else None, acting_role="parent", kind="edit",
                        parent_id=current.id)
    db.add(revision)
    db.flush()
    for role, key in (("clinician", "clinician.northgate-ibd"), ("patient", "patient.northgate-ibd")):
        reviewer = db.scalar(select(User).where(User.email.like(f"{key}@%")))
        if reviewer is not None:
            db.add(ReviewDecision(resource_id=template.id, revision_id=revision.id, reviewer_id=reviewer.id,
                                  acting_role=role, decision="approve", comment="Works on a phone."))
    template.current_revision_id = template.published_revision_id = revision.id
    db.flush()
    from content import search

    search.index_resource(db, template)
    return template
