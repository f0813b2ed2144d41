"""Coproduction at the visit: previsit plans filled from library templates, the care team's worklist,
agreed goals, and patient-reported tracking — personal health data, seen only by the patient, their
linked parents and clinicians at the patient's site.

Every look at a patient's data by anyone but the patient or their parent is written to the audit log,
and the family can read that list. Families can download all their data and delete it. The site's
monthly share of visits with a plan and the "were my goals discussed?" score flow into the outcome
measures as aggregates, with small cells left out (network/visibility.py).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from content import plan_forms
from content.library import Resource, ResourceType, Revision
from network import access, audit, minors, outcomes
from network.db import Base, utcnow
from network.errors import Conflict, Invalid, NotFound
from network.people import CareLink, Membership, Site, User, acting_role
from network.roles import Role
from network.visibility import hides
from network.i18n import N_

MAX_NOTE = 5_000
PAST_VISIT_DAYS = 7
ADULT_AGE = minors.ADULT_AGE


class Visit(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[User] = relationship(foreign_keys=[patient_id], lazy="selectin")
    site: Mapped[Site] = relationship(lazy="selectin")
    plan: Mapped["VisitPlan | None"] = relationship(back_populates="visit", uselist=False, lazy="selectin")


class VisitPlan(Base):
    __tablename__ = "visit_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), unique=True)
    template_resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id", ondelete="SET NULL"))
    #: the template revision the form was made from (its fields do not move under the family)
    template_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id", ondelete="SET NULL"))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: "draft" while the family works on it, "submitted" once shared with the care team
    status: Mapped[str] = mapped_column(String(10), default="draft")
    filled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filled_role: Mapped[str] = mapped_column(String(20), default="")
    submitted_at: Mapped[datetime | None] = mapped_column()
    #: after the visit, the family's answer to "were my goals discussed?" (0–10)
    goals_discussed: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="plan")


class PlanNote(Base):
    """A clinician's note on a plan (the family sees them)."""

    __tablename__ = "plan_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("visit_plans.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="selectin")


class AgreedGoal(Base):
    """A goal the family and the team agreed at the visit, and who does what (the family keeps it)."""

    __tablename__ = "agreed_goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    goal: Mapped[str] = mapped_column(String(300))
    #: "family", "team" or "both"
    who: Mapped[str] = mapped_column(String(10))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackingItem(Base):
    """What the network asks families to track (defined by network leaders)."""

    __tablename__ = "tracking_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    #: "scale" (0–10), "count" (0–99), "yesno" or "note"
    kind: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class TrackingEntry(Base):
    __tablename__ = "tracking_entries"
    __table_args__ = (UniqueConstraint("patient_id", "entry_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    entry_date: Mapped[date] = mapped_column(Date)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackingSharing(Base):
    """Whether the patient's care team may see their tracking (the family decides)."""

    __tablename__ = "tracking_sharing"

    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    shared_with_team: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------------------------------------
# Whose data, and who may see it

@dataclass(frozen=True)
class PatientScope:
    """The target of the patient-data rules: who the patient is, their sites and their parents."""

    patient_id: int
    site_ids: frozenset[int]
    parent_ids: frozenset[int]
    tracking_shared: bool = True
    #: the day the patient counts as 18 (network/minors.py); the access rule re-checks it against the clock
    adult_on: date | None = None
    #: parents the adult patient renewed, who keep access after adult_on
    renewed_parent_ids: frozenset[int] = frozenset()


def age(user: User, today: date | None = None) -> int | None:
    return minors.age(user, today)


def active_parent_ids(db: Session, patient: User, today: date | None = None) -> set[int]:
    """Linked parents who may still act for the patient: all of them until 18, then only those the
    patient renewed."""
    links = list(db.scalars(select(CareLink).where(CareLink.patient_id == patient.id)))
    renewed = {link.parent_id for link in links if link.adult_access_renewed_at is not None}
    day = minors.adult_on(patient)
    return {link.parent_id for link in links if minors.parent_may_act(link.parent_id, day, renewed, today)}


def scope(db: Session, patient: User, *, tracking: bool = False) -> PatientScope:
    site_ids = frozenset(db.scalars(select(Membership.site_id).where(
        Membership.user_id == patient.id, Membership.role == Role.PATIENT.value, Membership.ended_at.is_(None))))
    shared = True
    if tracking:
        row = db.get(TrackingSharing, patient.id)
        shared = bool(row and row.shared_with_team)
    renewed = frozenset(db.scalars(select(CareLink.parent_id).where(
        CareLink.patient_id == patient.id, CareLink.adult_access_renewed_at.is_not(None))))
    return PatientScope(patient.id, site_ids, frozenset(active_parent_ids(db, patient)), shared,
                        minors.adult_on(patient), renewed)


def _patient(db: Session, patient_id: int) -> User:
    patient = db.get(User, patient_id)
    if patient is None or not patient.has_role(Role.PATIENT):
        raise NotFound(N_("No such patient."))
    return patient


def is_family(actor, data_scope: PatientScope) -> bool:
    return access.signed_in(actor) and (actor.id == data_scope.patient_id or access.parent_acts_for(actor, data_scope))


def _log_view(db: Session, actor, patient: User, what: str, data_scope: PatientScope, **details) -> None:
    """Every look at a patient's data by someone other than the family goes to the audit log."""
    if not is_family(actor, data_scope):
        audit.record(db, actor, "patient_data.view", patient, what=what, **details)
        db.commit()


def my_patients(db: Session, actor) -> list[User]:
    """The patients this person may plan and track for: themselves, and children they may act for."""
    if not access.signed_in(actor):
        return []
    result = [actor] if actor.has_role(Role.PATIENT) else []
    for link in db.scalars(select(CareLink).where(CareLink.parent_id == actor.id)):
        patient = db.get(User, link.patient_id)
        if actor.id in active_parent_ids(db, patient):
            result.append(patient)
    return result


# ---------------------------------------------------------------------------------------------
# Plans

def templates(db: Session) -> list[Resource]:
    return list(db.scalars(select(Resource).where(Resource.type == ResourceType.PREVISIT_TEMPLATE.value,
                                                  Resource.published_revision_id.is_not(None),
                                                  Resource.status != "archived").order_by(Resource.title)))


def template_fields(db: Session, resource: Resource) -> tuple[Revision, list[plan_forms.Field]]:
    revision = db.get(Revision, resource.published_revision_id)
    return revision, plan_forms.parse(revision.body)


def start_plan(db: Session, actor, *, patient_id: int | None, site_id: int | None, visit_date, template_id: int | None,
               today: date | None = None) -> VisitPlan:
    """A patient, or a parent for their child, starts a plan for a visit at the patient's site."""
    today = today or utcnow().date()
    if patient_id is None:
        raise Invalid({"patient": [N_("Choose who the plan is for.")]})
    patient = _patient(db, patient_id)
    data_scope = scope(db, patient)
    access.require(actor, "patient_data.edit", data_scope)
    errors: dict[str, list[str]] = {}
    if site_id not in data_scope.site_ids:
        errors["site"] = [N_("Choose a site where the patient is cared for.")]
    if not isinstance(visit_date, date):
        errors["visit_date"] = [N_("Give the visit date as YYYY-MM-DD.")]
    elif visit_date < today - timedelta(days=PAST_VISIT_DAYS):
        errors["visit_date"] = [N_("That date is more than %(past_visit_days)s days ago; plan an upcoming visit.", past_visit_days=PAST_VISIT_DAYS)]
    elif visit_date > today + timedelta(days=366):
        errors["visit_date"] = [N_("Plan visits up to a year ahead.")]
    template = db.get(Resource, template_id) if isinstance(template_id, int) else None
    if template is None or template.type != ResourceType.PREVISIT_TEMPLATE or not template.is_readable:
        errors["template"] = [N_("Choose one of the published previsit-planning templates.")]
    if errors:
        raise Invalid(errors)
    revision, _fields = template_fields(db, template)
    visit = Visit(patient_id=patient.id, site_id=site_id, visit_date=visit_date, created_by_id=actor.id)
    db.add(visit)
    db.flush()
    plan = VisitPlan(visit_id=visit.id, template_resource_id=template.id, template_revision_id=revision.id,
                     filled_by_id=actor.id, filled_role=acting_role(actor))
    db.add(plan)
    db.flush()
    audit.record(db, actor, "plan.create", plan, patient_id=patient.id, site_id=site_id)
    db.commit()
    return plan


def _plan(db: Session, plan_id: int) -> tuple[VisitPlan, User, PatientScope]:
    plan = db.get(VisitPlan, plan_id)
    if plan is None:
        raise NotFound(N_("No such plan."))
    patient = db.get(User, plan.visit.patient_id)
    return plan, patient, scope(db, patient)


def plan_fields(db: Session, plan: VisitPlan) -> list[plan_forms.Field]:
    revision = db.get(Revision, plan.template_revision_id) if plan.template_revision_id else None
    return plan_forms.parse(revision.body) if revision else []


def view_plan(db: Session, actor, plan_id: int) -> VisitPlan:
    """The plan for the family, or — once submitted — for clinicians at the visit's site (logged)."""
    plan, patient, data_scope = _plan(db, plan_id)
    team_scope = PatientScope(data_scope.patient_id, frozenset({plan.visit.site_id}), data_scope.parent_ids)
    access.require(actor, "patient_data.view", team_scope)
    if not is_family(actor, data_scope) and plan.status != "submitted":
        raise NotFound(N_("No such plan."))
    _log_view(db, actor, patient, "plan", data_scope, plan_id=plan.id)
    return plan


def save_answers(db: Session, actor, plan_id: int, answers: dict, *, submit: bool = False,
                 today: date | None = None) -> VisitPlan:
    plan, patient, data_scope = _plan(db, plan_id)
    access.require(actor, "patient_data.edit", data_scope)
    if plan.status == "submitted" and not submit:
        raise Conflict(N_("This plan has been shared with the care team; ask them to add notes instead."))
    plan.answers = plan_forms.clean_answers(plan_fields(db, plan), answers, today=today or utcnow().date())
    plan.filled_by_id, plan.filled_role, plan.updated_at = actor.id, acting_role(actor), utcnow()
    if submit:
        plan.status = "submitted"
        plan.submitted_at = utcnow()
        audit.record(db, actor, "plan.submit", plan, patient_id=patient.id)
    db.commit()
    return plan


def add_note(db: Session, actor, plan_id: int, body: str) -> PlanNote:
    plan = view_plan(db, actor, plan_id)
    _p, _patient, data_scope = _plan(db, plan_id)
    access.require(actor, "plan.annotate", PatientScope(data_scope.patient_id, frozenset({plan.visit.site_id}),
                                                        data_scope.parent_ids))
    body = (body or "").strip()
    if not body or len(body) > MAX_NOTE:
        raise Invalid({"body": [N_("Write a note (at most %(max_note)s characters).", max_note=MAX_NOTE)]})
    note = PlanNote(plan_id=plan.id, author_id=actor.id, acting_role=acting_role(actor), body=body)
    db.add(note)
    db.commit()
    return note


def notes(db: Session, plan: VisitPlan) -> list[PlanNote]:
    return list(db.scalars(select(PlanNote).where(PlanNote.plan_id == plan.id).order_by(PlanNote.id)))


def record_goals(db: Session, actor, plan_id: int, goals: list[tuple[str, str]]) -> list[AgreedGoal]:
    """After the visit, the team and the family write down what they agreed and who does what."""
    plan = view_plan(db, actor, plan_id)
    errors: dict[str, list[str]] = {}
    clean = []
    for number, (goal, who) in enumerate(goals, start=1):
        goal = (goal or "").strip()
        if not goal:
            continue
        if len(goal) > 300:
            errors[f"goal {number}"] = [N_("Keep a goal under 300 characters.")]
        if who not in ("family", "team", "both"):
            errors[f"goal {number}"] = [N_("Say who does it: the family, the team or both.")]
        clean.append((goal, who))
    if not clean and not errors:
        errors["goals"] = [N_("Write at least one goal.")]
    if errors:
        raise Invalid(errors)
    rows = [AgreedGoal(visit_id=plan.visit_id, goal=g, who=w, recorded_by_id=actor.id) for g, w in clean]
    db.add_all(rows)
    audit.record(db, actor, "plan.goals", plan, count=len(rows))
    db.commit()
    return rows


def goals(db: Session, plan: VisitPlan) -> list[AgreedGoal]:
    return list(db.scalars(select(AgreedGoal).where(AgreedGoal.visit_id == plan.visit_id).order_by(AgreedGoal.id)))


def rate_goals_discussed(db: Session, actor, plan_id: int, score) -> VisitPlan:
    plan, _patient, data_scope = _plan(db, plan_id)
    access.require(actor, "patient_data.edit", data_scope)
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise Invalid({"score": [N_("Give a whole number from 0 to 10.")]})
    if plan.status != "submitted":
        raise Conflict(N_("Share the plan with the care team first."))
    plan.goals_discussed = score
    db.commit()
    return plan


def worklist(db: Session, actor, site: Site, *, today: date | None = None) -> list[Visit]:
    """Upcoming visits at a site with their plans, for its clinicians. Opening one is logged."""
    access.require(actor, "plan.worklist", site)
    today = today or utcnow().date()
    return list(db.scalars(select(Visit).where(Visit.site_id == site.id, Visit.visit_date >= today - timedelta(days=7))
                           .order_by(Visit.visit_date)))


def plans_of(db: Session, actor, patient_id: int) -> list[VisitPlan]:
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    return list(db.scalars(select(VisitPlan).join(Visit).where(Visit.patient_id == patient.id)
                           .order_by(Visit.visit_date.desc())))


# ---------------------------------------------------------------------------------------------
# Tracking

def tracking_items(db: Session) -> list[TrackingItem]:
    return list(db.scalars(select(TrackingItem).where(TrackingItem.is_active.is_(True)).order_by(TrackingItem.position)))


def log_entry(db: Session, actor, patient_id: int, *, entry_date, values: dict, today: date | None = None) -> TrackingEntry:
    today = today or utcnow().date()
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    errors: dict[str, list[str]] = {}
    if not isinstance(entry_date, date):
        errors["entry_date"] = [N_("Give the date as YYYY-MM-DD.")]
    elif entry_date > today:
        errors["entry_date"] = [N_("That day has not happened yet.")]
    clean: dict = {}
    for item in tracking_items(db):
        value = values.get(item.key)
        if value in (None, ""):
            continue
        if item.kind in ("scale", "count"):
            number = plan_forms._int(value)
            top = 10 if item.kind == "scale" else 99
            if number is None or not 0 <= number <= top:
                errors[item.key] = [N_("Give a whole number from 0 to %(top)s.", top=top)]
            else:
                clean[item.key] = number
        elif item.kind == "yesno":
            if value not in ("yes", "no"):
                errors[item.key] = [N_("Answer yes or no.")]
            else:
                clean[item.key] = value
        else:
            if len(str(value)) > 1_000:
                errors[item.key] = [N_("Keep the note under 1,000 characters.")]
            else:
                clean[item.key] = str(value).strip()
    if not clean and not errors:
        errors["values"] = [N_("Fill in at least one item.")]
    if errors:
        raise Invalid(errors)
    entry = db.scalar(select(TrackingEntry).where(TrackingEntry.patient_id == patient.id,
                                                  TrackingEntry.entry_date == entry_date))
    if entry is None:
        entry = TrackingEntry(patient_id=patient.id, entry_date=entry_date)
        db.add(entry)
    entry.values, entry.entered_by_id = clean, actor.id
    db.commit()
    return entry


def entries(db: Session, actor, patient_id: int, *, since: date | None = None) -> list[TrackingEntry]:
    """The patient's entries, for the family — or for their care team if the family shares them (logged)."""
    patient = _patient(db, patient_id)
    data_scope = scope(db, patient, tracking=True)
    access.require(actor, "tracking.view", data_scope)
    query = select(TrackingEntry).where(TrackingEntry.patient_id == patient.id).order_by(TrackingEntry.entry_date)
    if since:
        query = query.where(TrackingEntry.entry_date >= since)
    rows = list(db.scalars(query))
    _log_view(db, actor, patient, "tracking", data_scope)
    return rows


def set_sharing(db: Session, actor, patient_id: int, shared: bool) -> None:
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    row = db.get(TrackingSharing, patient.id) or TrackingSharing(patient_id=patient.id)
    row.shared_with_team, row.changed_at = bool(shared), utcnow()
    db.merge(row)
    audit.record(db, actor, "tracking.sharing", patient, shared=bool(shared))
    db.commit()


def is_shared(db: Session, patient_id: int) -> bool:
    row = db.get(TrackingSharing, patient_id)
    return bool(row and row.shared_with_team)


def tracking_summary(db: Session, actor, plan: VisitPlan, weeks: int = 6) -> list[TrackingEntry] | None:
    """The last weeks of tracking, included in a plan automatically — if the viewer may see them."""
    data_scope = scope(db, db.get(User, plan.visit.patient_id), tracking=True)
    if not access.can(actor, "tracking.view", data_scope):
        return None
    return list(db.scalars(select(TrackingEntry).where(
        TrackingEntry.patient_id == plan.visit.patient_id,
        TrackingEntry.entry_date >= plan.visit.visit_date - timedelta(weeks=weeks)).order_by(TrackingEntry.entry_date)))


# ---------------------------------------------------------------------------------------------
# The family's own data

def require_family(db: Session, actor, patient_id: int) -> User:
    """The patient, if this person is them or a parent who may act for them."""
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    return patient


def access_log(db: Session, actor, patient_id: int) -> list[audit.AuditEvent]:
    """Who other than the family looked at this patient's data, and when."""
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    return list(db.scalars(select(audit.AuditEvent).where(
        audit.AuditEvent.action == "patient_data.view", audit.AuditEvent.object_type == "User",
        audit.AuditEvent.object_id == patient.id).order_by(audit.AuditEvent.id.desc()).limit(500)))


def export(db: Session, actor, patient_id: int) -> dict:
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    plans = plans_of(db, actor, patient.id)
    return {
        "patient": {"id": patient.id, "name": patient.full_name},
        "exported_at": utcnow().isoformat(),
        "plans": [{"visit_date": p.visit.visit_date.isoformat(), "site": p.visit.site.name, "status": p.status,
                   "answers": p.answers, "goals_discussed": p.goals_discussed,
                   "notes": [{"at": n.created_at.isoformat(), "role": n.acting_role, "text": n.body} for n in notes(db, p)],
                   "agreed_goals": [{"goal": g.goal, "who": g.who} for g in goals(db, p)]} for p in plans],
        "tracking": [{"date": e.entry_date.isoformat(), **e.values} for e in
                     db.scalars(select(TrackingEntry).where(TrackingEntry.patient_id == patient.id)
                                .order_by(TrackingEntry.entry_date))],
        "tracking_shared_with_team": is_shared(db, patient.id),
    }


def export_csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "date", "field", "value"])
    for plan in data["plans"]:
        for key, value in plan["answers"].items():
            writer.writerow(["plan", plan["visit_date"], key, value if not isinstance(value, list) else "; ".join(value)])
    for entry in data["tracking"]:
        for key, value in entry.items():
            if key != "date":
                writer.writerow(["tracking", entry["date"], key, value])
    return out.getvalue()


def delete_all(db: Session, actor, patient_id: int) -> None:
    """Delete the patient's plans, visits and tracking for good; the audit log keeps only that it happened."""
    patient = _patient(db, patient_id)
    access.require(actor, "patient_data.edit", scope(db, patient))
    visit_ids = list(db.scalars(select(Visit.id).where(Visit.patient_id == patient.id)))
    if visit_ids:
        db.execute(Visit.__table__.delete().where(Visit.id.in_(visit_ids)))
    db.execute(TrackingEntry.__table__.delete().where(TrackingEntry.patient_id == patient.id))
    db.execute(TrackingSharing.__table__.delete().where(TrackingSharing.patient_id == patient.id))
    audit.record(db, actor, "patient_data.delete", patient, visits=len(visit_ids))
    db.commit()


# ---------------------------------------------------------------------------------------------
# Measures from coproduction

PLAN_MEASURE = "previsit-plan"
GOALS_MEASURE = "goals-discussed"


def derive_measures(db: Session, month: date) -> int:
    """Write each site's figures for `month` into the outcome measures (source "derived"): the share
    of visits with a submitted plan, and the share of rated plans whose goals were discussed (7+ of
    10). Small cells are left out, so no family can be picked out. Idempotent: a new run replaces."""
    first = date(month.year, month.month, 1)
    after = date(first.year + (first.month == 12), 1 if first.month == 12 else first.month + 1, 1)
    measures = {m.key: m for m in db.scalars(select(outcomes.Measure).where(
        outcomes.Measure.key.in_((PLAN_MEASURE, GOALS_MEASURE))))}
    rows = db.execute(select(Visit.site_id, func.count(Visit.id), func.count(VisitPlan.submitted_at),
                             func.count(VisitPlan.goals_discussed),
                             func.sum(func.coalesce((VisitPlan.goals_discussed >= 7).cast(Integer), 0)))
                      .outerjoin(VisitPlan, VisitPlan.visit_id == Visit.id)
                      .where(Visit.visit_date >= first, Visit.visit_date < after).group_by(Visit.site_id)).all()
    written = 0
    for site_id, visits_n, planned_n, rated_n, discussed_n in rows:
        for key, numerator, denominator in ((PLAN_MEASURE, planned_n, visits_n), (GOALS_MEASURE, discussed_n or 0, rated_n)):
            measure = measures.get(key)
            if measure is None or denominator == 0 or hides(int(numerator), int(denominator)):
                continue
            _write_derived(db, measure, site_id, first, int(numerator), int(denominator))
            written += 1
    db.commit()
    return written


def _write_derived(db: Session, measure, site_id: int, month: date, numerator: int, denominator: int) -> None:
    from network.outcomes import Submission

    current = db.scalar(select(Submission).where(Submission.measure_id == measure.id, Submission.site_id == site_id,
                                                 Submission.month == month, Submission.is_current.is_(True)))
    if current is not None and (current.numerator, current.denominator) == (numerator, denominator):
        return
    version = 1
    if current is not None:
        current.is_current = False
        version = current.version + 1
        db.flush()
    db.add(Submission(site_id=site_id, measure_id=measure.id, month=month, numerator=numerator,
                      denominator=denominator, version=version, source="derived", acting_role=""))
    measure.data_version += 1
