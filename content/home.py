"""What the home page shows a person: where the network stands on its aim, what is coming up, what is
new, and what needs them — each piece read through the same services (and rules) as its own page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content import library, narratives, visits
from network import access, bright_spots, council, notifications, outcome_reports, outcomes
from network import sessions as learning
from network.db import utcnow
from network.i18n import N_
from network.people import Site
from network.roles import Role

AIM_MEASURE = "remission"


@dataclass
class Need:
    text: str
    link: str
    count: int


def aim_status(db: Session, viewer) -> dict | None:
    """The aim's measure now (last 3 months) against its baseline (first 12 months), with its chart."""
    if not access.can(viewer, "outcomes.view"):
        return None
    measure = db.scalar(select(outcomes.Measure).where(outcomes.Measure.key == AIM_MEASURE))
    if measure is None:
        return None
    chart = outcome_reports.network_chart(db, viewer, measure)
    if len(chart.labels) < 15:
        return None
    rate = chart.numerators / chart.denominators
    return {"measure": measure, "chart": chart, "baseline": float(rate[:12].mean()), "now": float(rate[-3:].mean())}


def needs(db: Session, viewer) -> list[Need]:
    if not access.signed_in(viewer):
        return []
    found: list[Need] = []
    unread = notifications.unread_count(db, viewer)
    if unread:
        found.append(Need("unread notifications", "/notifications", unread))
    if any(viewer.has_role(r) for r in (Role.PATIENT, Role.PARENT, Role.CLINICIAN, Role.SITE_LEAD)):
        waiting = library.awaiting_review_by_others_count(db, viewer)
        if waiting:
            found.append(Need("resources waiting for a review", "/library/", waiting))
    due = _data_due(db, viewer)
    if due:
        found.append(Need(N_("sites with last month's figures still due (%(sites)s)", sites=", ".join(due)), "/outcomes/submit", len(due)))
    plans = _plans_to_read(db, viewer)
    if plans:
        found.append(Need("previsit plans to read before upcoming visits", plans[1], plans[0]))
    agree = narratives.awaiting_my_agreement_count(db, viewer)
    if agree:
        found.append(Need("stories by your teen waiting for your agreement", "/stories/mine", agree))
    actions = council.open_action_count(db, viewer)
    if actions:
        found.append(Need("open action items", "/actions/", actions))
    if access.can(viewer, "story.moderate"):
        queue = narratives.queue(db, viewer)
        waiting = len(queue["stories"]) + len(queue["comments"]) + len(queue["reports"])
        if waiting:
            found.append(Need("items in the moderation queue", "/moderation/", waiting))
    return found


def _data_due(db: Session, viewer) -> list[str]:
    sites = [site for site in (db.get(Site, site_id) for site_id in sorted(viewer.site_ids()))
             if site is not None and access.can(viewer, "outcomes.submit", site)]
    if not sites:  # most members submit for no site: no query
        return []
    month = outcomes.previous_month()
    active = db.scalar(select(func.count(outcomes.Measure.id)).where(outcomes.Measure.is_active.is_(True))) or 0
    names = []
    for site in sites:
        sent = db.scalar(select(func.count(outcomes.Submission.id)).where(
            outcomes.Submission.site_id == site.id, outcomes.Submission.month == month,
            outcomes.Submission.is_current.is_(True))) or 0
        if sent < active:
            names.append(site.name)
    return names


def _plans_to_read(db: Session, viewer) -> tuple[int, str] | None:
    sites = viewer.site_ids(Role.CLINICIAN, Role.SITE_LEAD)
    if not sites:
        return None
    today = utcnow().date()
    rows = db.execute(select(visits.Visit.site_id, func.count(visits.VisitPlan.id))
                      .join(visits.VisitPlan, visits.VisitPlan.visit_id == visits.Visit.id)
                      .where(visits.Visit.site_id.in_(sites), visits.VisitPlan.status == "submitted",
                             visits.Visit.visit_date >= today, visits.Visit.visit_date <= today + timedelta(days=14))
                      .group_by(visits.Visit.site_id)).all()
    total = sum(n for _s, n in rows)
    if not total:
        return None
    first = db.get(Site, rows[0][0])
    return total, f"/care/worklist/{first.slug}"


def front_page(db: Session, viewer) -> dict:
    return {
        "aim": aim_status(db, viewer),
        "sessions": learning.upcoming(db, viewer, limit=3),
        "tools": library.readable(db, viewer, limit=4),
        "stories": narratives.featured(db, viewer, limit=3),
        "bright_spots": bright_spots.find(db, viewer, limit=4),
        "needs": needs(db, viewer),
    }
