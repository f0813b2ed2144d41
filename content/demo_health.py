"""Demo data for the network's health and the Patient Advisory Council's workspace.

A year of usage (members reading, downloading and adopting tools, attending learning sessions, and
suggesting changes), growing through the year with patients and parents joining in; submission dates
that make most sites on time; and a council decision log with a closed anonymous vote, a consensus shown
to the network, an open vote, an open discussion and open action items. Runs once: a second seed
changes nothing.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from content import health, library
from network import council
from network.demo import DEMO_DOMAIN, SITES
from network.groups import Group
from network.outcomes import Submission
from network.people import Membership, Site, User
from network.sessions import LearningSession
from network.usage import UsageEvent

#: the people each main demo site adds to the network (no demo sign-in is printed for them)
EXTRA_PEOPLE = (("patient", 3), ("parent", 3), ("clinician", 1))
#: the share of each role active in the first and in the last month of the year (the network grows)
ACTIVE = {"patient": (0.30, 0.75), "parent": (0.40, 0.80), "clinician": (0.55, 0.75), "site_lead": (0.45, 0.60),
          "network_leader": (0.9, 0.9), "moderator": (0.9, 0.9)}


def seed(db: Session) -> None:
    rng = random.Random(11)
    months = health.window()
    if not db.scalar(select(func.count(UsageEvent.id)).where(UsageEvent.month >= months[0])):
        people = _members(db)
        _usage(db, rng, months, people)
        _suggestions(db, rng, months, people)
        _submission_dates(db, rng, months)
    _council(db)
    db.commit()


def _at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(8, 20), rng.randint(0, 59), tzinfo=timezone.utc)


def _members(db: Session) -> list[tuple[User, str]]:
    """Everyone who uses the network, with their role; adds a few families and clinicians per main site."""
    template = db.scalar(select(User).where(User.email == f"leader@{DEMO_DOMAIN}"))
    sites = {s.slug: s for s in db.scalars(select(Site))}
    for slug, *_rest in SITES:
        site = sites.get(slug)
        if site is None:
            continue
        for role, count in EXTRA_PEOPLE:
            for n in range(1, count + 1):
                email = f"{role}{n}.{slug}@{DEMO_DOMAIN}"
                if db.scalar(select(User.id).where(User.email == email)):
                    continue
                user = User(email=email, full_name=f"{role.replace('_', ' ').title()} {n} ({site.name})",
                            password_hash=template.password_hash if template else None, profile_roles=[role],
                            birth_year=2010 if role == "patient" else None)
                db.add(user)
                db.flush()
                db.add(Membership(user_id=user.id, site_id=site.id, role=role))
    db.flush()
    rows = db.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id)
                      .where(Membership.ended_at.is_(None), User.email.is_not(None), User.is_active.is_(True)))
    return [(user, role) for user, role in rows]


def _usage(db: Session, rng: random.Random, months: list[date], people) -> None:
    resources = list(db.scalars(select(library.Resource.id).where(library.Resource.published_revision_id.is_not(None))))
    sessions = list(db.scalars(select(LearningSession.id))) or [0]
    if not resources:
        return
    rows = []
    for index, month in enumerate(months):
        progress = index / max(len(months) - 1, 1)
        session_id = sessions[index % len(sessions)]
        for user, role in people:
            low, high = ACTIVE.get(role, (0.3, 0.5))
            if rng.random() > low + (high - low) * progress:
                continue
            for _ in range(rng.randint(1, 4)):
                day = month + timedelta(days=rng.randint(0, 27))
                kind = "download" if rng.random() < 0.25 else "view"
                rows.append(dict(at=_at(day, rng), month=month, kind=kind, object_type="resource",
                                 object_id=rng.choice(resources), actor_id=user.id, actor_role=role))
            if role == "site_lead" and rng.random() < 0.08:
                rows.append(dict(at=_at(month + timedelta(days=20), rng), month=month, kind="adoption",
                                 object_type="resource", object_id=rng.choice(resources), actor_id=user.id,
                                 actor_role=role))
            if rng.random() < (0.35 if role in ("patient", "parent") else 0.5) + 0.2 * progress:
                rows.append(dict(at=_at(month + timedelta(days=14), rng), month=month, kind="attendance",
                                 object_type="session", object_id=session_id, actor_id=user.id, actor_role=role))
    db.execute(UsageEvent.__table__.insert(), rows)


def _suggestions(db: Session, rng: random.Random, months: list[date], people) -> None:
    """Members suggesting changes to published tools (decided already, so no queue is left waiting)."""
    published = list(db.scalars(select(library.Resource).where(library.Resource.published_revision_id.is_not(None))))
    writers = [(u, r) for u, r in people if r in ("patient", "parent", "clinician", "site_lead")]
    if not published or not writers:
        return
    for index, month in enumerate(months):
        share = 0.12 + 0.18 * index / max(len(months) - 1, 1)
        for user, role in writers:
            if rng.random() > share:
                continue
            resource = rng.choice(published)
            when = _at(month + timedelta(days=rng.randint(0, 27)), rng)
            db.add(library.Suggestion(
                resource_id=resource.id, base_revision_id=resource.published_revision_id, title=resource.title,
                body="(suggested wording, folded into a later revision)", summary="Clearer wording",
                author_id=user.id, acting_role=role, status="declined", created_at=when,
                decision_comment="Thank you — folded into the next revision.", decided_at=when + timedelta(days=3)))
    db.flush()


def _submission_dates(db: Session, rng: random.Random, months: list[date]) -> None:
    """Demo figures are written in one go; date each month's first version as sites would have sent it:
    most in the following month, a few late."""
    late_sites = {}
    now = datetime.now(timezone.utc)
    rows = db.execute(select(Submission.id, Submission.site_id, Submission.month).where(
        Submission.month >= months[0], Submission.month <= months[-1], Submission.source == "demo",
        Submission.version == 1)).all()
    changes = []
    for row_id, site_id, month in rows:
        key = (site_id, month)
        if key not in late_sites:
            late_sites[key] = rng.random() < 0.12 - 0.06 * months.index(month) / len(months) if month in months else False
        sent = health.due_by(month) + timedelta(days=rng.randint(3, 20)) if late_sites[key] else \
            health.due_by(month) - timedelta(days=rng.randint(5, 25))
        changes.append({"id": row_id, "created_at": min(_at(sent, rng), now - timedelta(hours=1))})
    if changes:
        db.execute(update(Submission), changes)


def _council(db: Session) -> None:
    group = db.scalar(select(Group).where(Group.slug == "patient-advisory-council"))
    if group is None or db.scalar(select(council.Decision.id).where(council.Decision.group_id == group.id)):
        return
    members = {m.user.email.split("@")[0]: m.user for m in group.members if m.user.email}
    chair = members.get("parent.riverside-childrens")
    teen = members.get("patient.northgate-ibd")
    parent = members.get("parent.northgate-ibd")
    teen2 = members.get("patient.riverside-childrens")
    if not all((chair, teen, parent, teen2)):
        return
    today = datetime.now(timezone.utc).date()

    names = council.propose(db, chair, group, title="Stories show first names only by default",
                            proposal="Families told us full names on stories feel exposing. Proposal: new stories "
                                     "show the first name only unless the author chooses otherwise.",
                            method="vote", anonymous=True)
    council.comment(db, teen, names, "Yes please — my friends at school can search my name.")
    council.comment(db, parent, names, "Agree, but let authors who want their full name keep it.")
    for who, choice in ((chair, "for"), (teen, "for"), (parent, "for"), (teen2, "abstain")):
        council.vote(db, who, names, choice)
    council.close_vote(db, chair, names, outcome="Carried: first names only by default, full names by choice.",
                       decided_on=today - timedelta(days=60))
    council.set_published(db, chair, names, True)
    council.add_action(db, chair, names, description="Ask the moderators to update the story guidance",
                       owner_id=teen.id, due_on=today + timedelta(days=21))

    plain = council.propose(db, parent, group, title="A plain-language summary on every family tool",
                            proposal="Every family-facing tool starts with three sentences anyone can read.")
    council.comment(db, chair, plain, "The transition checklist would have helped me if it had this.")
    council.record_consensus(db, chair, plain, outcome="Agreed: a plain summary is required before publication.",
                             participant_ids=[chair.id, parent.id, teen2.id], decided_on=today - timedelta(days=30))
    council.set_published(db, chair, plain, True)
    council.add_action(db, chair, plain, description="Draft the plain-summary guidance with the library editors",
                       owner_id=chair.id, due_on=today + timedelta(days=10))
    council.add_action(db, chair, plain, description="Review five tools against the new rule",
                       owner_id=parent.id, due_on=today + timedelta(days=45))

    spring = council.propose(db, teen2, group, title="Hold the spring council meeting online",
                             proposal="Travel is hard for families during exam season.", method="vote")
    council.vote(db, teen2, spring, "for")
    council.vote(db, parent, spring, "against")

    council.propose(db, teen, group, title="Invite two new teen members from the extra sites",
                    proposal="The council has no members from the newer sites yet.")
