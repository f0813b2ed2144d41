"""Minors and the move to adult care.

A child (under 13) is managed by linked parents; a teen (13–17) signs in themselves, with linked
parents and the teen rules (a parent agrees to a teen's story). At 18 a parent's access to the
patient's visit plans and tracking ends unless the patient renews it, parent by parent.

Only a birth year and, optionally, a birth month are held — never a full date of birth. So "turns 18"
is the first day of the birth month of the 18th year (1 January when only the year is known): access
never outlives the birthday, and ends at most a month early (a year when the month is unknown). The
access rule reads this date from the patient-data scope and today from `network.clock`, so access
ends that day even if no job has run; the job below only tells people (a month before, and on the
day), once each.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from network import access, audit, clock, notifications
from network.db import Base, utcnow
from network.errors import Conflict, NotFound
from network.i18n import N_, Text
from network.people import CareLink, Membership, User
from network.roles import Role

TEEN_AGE = 13
ADULT_AGE = 18
#: after turning 18, how long the job still sends the "you are 18" notice (no flood of old news on a first run)
LATE_NOTICE_DAYS = 60


class TransitionNotice(Base):
    """That the patient (and their parents) were told about turning 18: once per kind and date."""

    __tablename__ = "transition_notices"
    __table_args__ = (UniqueConstraint("patient_id", "kind", "adult_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: "soon" (a month before) or "adult" (on or after the day)
    kind: Mapped[str] = mapped_column(String(8))
    #: the date the notice was about (a corrected birth year or month gets its own notices)
    adult_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------------------------------------
# Dates

def adult_on(user) -> date | None:
    """The day the patient counts as 18 (see the module docstring), or None without a birth year."""
    year = getattr(user, "birth_year", None)
    if not year:
        return None
    return date(year + ADULT_AGE, getattr(user, "birth_month", None) or 1, 1)


def notice_from(adult_day: date) -> date:
    """A month before: the first day of the previous month (adult_on is always a first of the month)."""
    return (adult_day - timedelta(days=1)).replace(day=1)


def age(user, today: date | None = None) -> int | None:
    """Whole years, counted from the first day of the birth month (1 January without a month)."""
    year = getattr(user, "birth_year", None)
    if not year:
        return None
    today = today or clock.today()
    month = getattr(user, "birth_month", None) or 1
    return today.year - year - (1 if today.month < month else 0)


def is_child(user, today: date | None = None) -> bool:
    years = age(user, today)
    return years is not None and years < TEEN_AGE


def is_teen(user, today: date | None = None) -> bool:
    years = age(user, today)
    return years is not None and TEEN_AGE <= years < ADULT_AGE


def is_adult(user, today: date | None = None) -> bool:
    years = age(user, today)
    return years is not None and years >= ADULT_AGE


def in_notice_month(user, today: date | None = None) -> bool:
    day = adult_on(user)
    today = today or clock.today()
    return day is not None and notice_from(day) <= today < day


# ---------------------------------------------------------------------------------------------
# The patient's page: what changes, and each parent's access

@dataclass(frozen=True)
class ParentAccess:
    link: CareLink
    parent: User
    #: may this parent still see and edit the patient's plans and tracking today?
    active: bool
    renewed: bool


@dataclass(frozen=True)
class AdultCare:
    patient: User
    age: int | None
    adult_on: date | None
    soon: bool
    adult: bool
    parents: list[ParentAccess]
    #: patients this person is a linked parent of, with the day access ends and whether it continues
    children: list[tuple[User, date | None, bool]]


def parent_may_act(parent_id: int, patient_adult_on: date | None, renewed_parent_ids, today: date | None = None) -> bool:
    """The one rule: a linked parent acts for the patient until 18, after that only if renewed."""
    if patient_adult_on is None or (today or clock.today()) < patient_adult_on:
        return True
    return parent_id in renewed_parent_ids


def _links_of_patient(db: Session, patient: User) -> list[CareLink]:
    return list(db.scalars(select(CareLink).where(CareLink.patient_id == patient.id).order_by(CareLink.id)))


def adult_care(db: Session, actor, today: date | None = None) -> AdultCare:
    access.require(actor, "adult_care.view")
    today = today or clock.today()
    day = adult_on(actor)
    parents = []
    if actor.has_role(Role.PATIENT):
        for link in _links_of_patient(db, actor):
            renewed = link.adult_access_renewed_at is not None
            parents.append(ParentAccess(link, db.get(User, link.parent_id),
                                        parent_may_act(link.parent_id, day, {link.parent_id} if renewed else set(), today),
                                        renewed))
    children = []
    for link in db.scalars(select(CareLink).where(CareLink.parent_id == actor.id).order_by(CareLink.id)):
        child = db.get(User, link.patient_id)
        child_day = adult_on(child)
        children.append((child, child_day, parent_may_act(
            actor.id, child_day, {actor.id} if link.adult_access_renewed_at else set(), today)))
    return AdultCare(actor, age(actor, today), day, in_notice_month(actor, today), is_adult(actor, today),
                     parents, children)


def _own_link(db: Session, actor, link_id: int) -> CareLink:
    link = db.get(CareLink, link_id)
    if link is None:
        raise NotFound(N_("No such link."))
    access.require(actor, "adult_care.decide", link)
    return link


def renew_parent_access(db: Session, actor, link_id: int, today: date | None = None) -> CareLink:
    """An adult patient lets this parent keep seeing and editing their plans and tracking."""
    link = _own_link(db, actor, link_id)
    if not is_adult(actor, today):
        raise Conflict(N_("Your parents keep their access until you turn 18; you can choose from then."))
    if link.adult_access_renewed_at is not None:
        raise Conflict(N_("This parent already has your access; nothing changed."))
    link.adult_access_renewed_at = utcnow()
    audit.record(db, actor, "adult_care.renew", link, parent_id=link.parent_id, patient_id=link.patient_id)
    notifications.notify(db, [link.parent_id], "adult_access",
                         N_("%(name)s renewed your access to their visit plans and tracking.",
                            name=actor.shown_name), "/care/")
    db.commit()
    return link


def end_parent_access(db: Session, actor, link_id: int, today: date | None = None) -> CareLink:
    """An adult patient ends a parent's renewed access (the link itself stays: they are still family)."""
    link = _own_link(db, actor, link_id)
    if not is_adult(actor, today):
        raise Conflict(N_("Your parents keep their access until you turn 18; you can choose from then."))
    if link.adult_access_renewed_at is None:
        raise Conflict(N_("This parent's access has already ended; nothing changed."))
    link.adult_access_renewed_at = None
    audit.record(db, actor, "adult_care.end", link, parent_id=link.parent_id, patient_id=link.patient_id)
    notifications.notify(db, [link.parent_id], "adult_access",
                         N_("%(name)s ended your access to their visit plans and tracking.",
                            name=actor.shown_name), "/me/adult-care")
    db.commit()
    return link


# ---------------------------------------------------------------------------------------------
# The job: tell people a month before, and on the day


def _on_day(sentence: Text, day: date, **params) -> Text:
    """`sentence` (an N_ template with %(when)s) for `day`: the English writes the day in full ("1 December
    2026", as it always did); each reader sees the date in their own language."""
    text = str.__new__(Text, sentence.template % {**params, "when": f"{day:%-d %B %Y}"})
    text.template, text.params = sentence.template, {**params, "when": day}
    return text

def send_transition_notices(db: Session, today: date | None = None) -> int:
    """Idempotent: each patient gets each notice once per date (and their linked parents with it)."""
    today = today or clock.today()
    years = (today.year - ADULT_AGE, today.year - ADULT_AGE + 1)
    patient_ids = select(Membership.user_id).where(Membership.role == Role.PATIENT.value, Membership.ended_at.is_(None))
    patients = list(db.scalars(select(User).where(User.birth_year.in_(years), User.is_active.is_(True),
                                                  User.id.in_(patient_ids)).order_by(User.id)))
    sent = 0
    for patient in patients:
        day = adult_on(patient)
        if notice_from(day) <= today < day:
            kind = "soon"
        elif day <= today < day + timedelta(days=LATE_NOTICE_DAYS):
            kind = "adult"
        else:
            continue
        if db.scalar(select(TransitionNotice.id).where(TransitionNotice.patient_id == patient.id,
                                                       TransitionNotice.kind == kind, TransitionNotice.adult_on == day)):
            continue
        parent_ids = [link.parent_id for link in _links_of_patient(db, patient)]
        if kind == "soon":
            notifications.notify(db, [patient.id], "turning_18", _on_day(
                N_("You count as an adult here from %(when)s. See what changes for your plans and tracking."), day),
                                 "/me/adult-care")
            notifications.notify(db, parent_ids, "turning_18", _on_day(
                N_("%(name)s counts as an adult here from %(when)s: your access to their plans and tracking ends "
                   "then unless they renew it."), day, name=patient.shown_name), "/me/adult-care")
        else:
            notifications.notify(db, [patient.id], "turned_18",
                                 N_("You now count as an adult here: your parents no longer see your plans and "
                                    "tracking unless you renew their access."), "/me/adult-care")
            notifications.notify(db, parent_ids, "turned_18",
                                 N_("%(name)s now counts as an adult here: your access to their plans and tracking "
                                    "has ended unless they renew it.", name=patient.shown_name), "/me/adult-care")
            audit.record(db, None, "adult_care.turned_18", patient, parents=len(parent_ids))
        db.add(TransitionNotice(patient_id=patient.id, kind=kind, adult_on=day))
        sent += 1
    db.commit()
    return sent
