"""Demo data for minors and the move to adult care: a teen who turns 18 within a month of the demo's
today, with a linked parent (so the notice, the end of the parent's access and renewal can be seen)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import clock, minors
from network.people import CareLink, Membership, Site, User
from network.roles import Role

DEMO_DOMAIN = "demo.carecommons.test"
TEEN_EMAIL = f"patient.nearly-adult@{DEMO_DOMAIN}"
PARENT_EMAIL = f"parent.nearly-adult@{DEMO_DOMAIN}"


def birth_for_adult_on(adult_day: date) -> tuple[int, int]:
    """The birth year and month that make someone count as 18 on `adult_day` (a first of the month)."""
    return adult_day.year - minors.ADULT_AGE, adult_day.month


def next_first_of_month(today: date) -> date:
    return date(today.year + (today.month == 12), 1 if today.month == 12 else today.month + 1, 1)


def seed(db: Session, site: Site, password_hash: str, today: date | None = None) -> list[tuple[str, str, str]]:
    """Idempotent. The teen turns 18 on the first day of next month (always within the notice month)."""
    year, month = birth_for_adult_on(next_first_of_month(today or clock.today()))
    people = {}
    for email, name, role, birth in ((PARENT_EMAIL, "Ines Duarte", Role.PARENT, (None, None)),
                                     (TEEN_EMAIL, "Leo Duarte", Role.PATIENT, (year, month))):
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, full_name=name, password_hash=password_hash, profile_roles=[role.value])
            db.add(user)
            db.flush()
            db.add(Membership(user_id=user.id, site_id=site.id, role=role.value))
        user.birth_year, user.birth_month = birth
        people[role] = user
    parent, teen = people[Role.PARENT], people[Role.PATIENT]
    if not db.scalar(select(CareLink.id).where(CareLink.parent_id == parent.id, CareLink.patient_id == teen.id)):
        db.add(CareLink(parent_id=parent.id, patient_id=teen.id))
    db.flush()
    return [("patient (turns 18 next month)", TEEN_EMAIL, site.name), ("their parent", PARENT_EMAIL, site.name)]
