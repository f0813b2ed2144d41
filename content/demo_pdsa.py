"""Demo tests of change: PDSA ramps at several demo sites, placed by what the demo figures' SPC charts
actually show — some ramps just before a shift in the better direction (the "what sites tried" page then
says "a shift began 2 months later"), some in quiet stretches where no signal followed. Recorded through
the real service, by each site's lead or clinician. Idempotent."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import pdsa
from content.library import Resource
from network import outcome_reports
from network.outcomes import Measure, month_key, parse_month
from network.people import Membership, Site, User

# (site slug, measure key, "improved" or "quiet", tool slug or None)
PLAN = [
    ("riverside-childrens", "previsit-plan", "improved", "previsit-planning-template"),
    ("northgate-ibd", "model-care", "improved", "population-management-algorithm"),
    ("lakeshore-clinic", "remission", "quiet", None),
    ("st-brigids", "model-care", "improved", "population-management-algorithm"),
    ("harbour-view", "previsit-plan", "quiet", "previsit-planning-template"),
    ("summit-gi", "remission", "improved", None),
    ("prairie-childrens", "model-care", "quiet", None),
]

RAMPS = {
    "previsit-plan": [
        ("Text a link to the previsit plan", "Half of families complete a previsit plan before their visit.",
         "Nurses text families the previsit plan link three days before the visit (one clinic, two weeks).",
         "We predict the share of visits with a plan rises from about 1 in 10 to 1 in 4 in the test clinic.",
         "Families said the text came too early; some links expired.", "Texts work; timing matters.", "adapt"),
        ("Text the link two days before, with a reminder", "Half of families complete a previsit plan.",
         "The text goes two days before, with a reminder the day before, in every clinic.",
         "We predict the share of visits with a plan keeps rising.",
         "Every clinic sent the texts; front desk checked plans on arrival.",
         "Completion roughly doubled in the test clinics; families liked the reminder.", "adopt"),
    ],
    "model-care": [
        ("Huddle on the population list", "Every visit meets the model-care checklist.",
         "A ten-minute pre-clinic huddle walks through the day's patients against the checklist.",
         "We predict the share of visits meeting model-care criteria rises.",
         "Huddles ran on 8 of 10 clinic days.", "Growth and nutrition were most often missed.", "adapt"),
        ("Checklist built into the clinic note", "Every visit meets the model-care checklist.",
         "The checklist's items become required fields in the clinic note template.",
         "We predict the share of visits meeting model-care criteria rises further.",
         "The template went live in all clinics.", "Missed items fell; documentation time did not rise.", "adopt"),
    ],
    "remission": [
        ("Treat-to-target review", "More patients in remission.",
         "Patients not in remission are reviewed monthly against a treat-to-target plan.",
         "We predict the share of patients in remission rises within six months.",
         "Reviews ran for three months.", "Too few patients changed treatment to move the figure.", "abandon"),
        ("Dose optimisation by drug levels", "More patients in remission.",
         "Check drug levels for every patient on a biologic and adjust the dose.",
         "We predict the share of patients in remission rises.",
         "Drug levels were checked for most patients.", "Many were already optimised here.", "adapt"),
    ],
}


def _team(db: Session, site: Site) -> list[User]:
    rows = db.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id)
                      .where(Membership.site_id == site.id, Membership.ended_at.is_(None),
                             Membership.role.in_(("site_lead", "clinician"))).order_by(Membership.id)).all()
    leads = [user for user, role in rows if role == "site_lead"]
    clinicians = [user for user, role in rows if role == "clinician"]
    return leads + clinicians


def _shift_start(chart, measure: Measure) -> int | None:
    """The first better-side shift that starts late enough to leave room for a ramp before it."""
    starts = sorted(first for first, _length in pdsa._shift_runs(chart.result, pdsa._better_sign(measure)))
    return next((first for first in starts if first >= 6), None)


def _quiet_start(chart, measure: Measure, back: int) -> int | None:
    """A month (searching back from `back` months before the end) after which no signal in the better
    direction began within the window."""
    for i in range(len(chart.labels) - pdsa.WINDOW_MONTHS - 1 - back, 6, -1):
        if pdsa.what_next(chart, measure, parse_month(chart.labels[i])).kind == "none" and \
                pdsa.what_next(chart, measure, parse_month(chart.labels[i - 2])).kind == "none":
            return i - 2
    return None


def seed(db: Session, *, today: date | None = None) -> int:
    """Add the demo cycles if there are none yet; returns how many were recorded."""
    if db.scalar(select(pdsa.Cycle.id).limit(1)):
        return 0
    leader = db.scalar(select(User).join(Membership, Membership.user_id == User.id)
                       .where(Membership.role == "network_leader").order_by(User.id))
    if leader is None:
        return 0
    measures = {m.key: m for m in db.scalars(select(Measure))}
    sites = {s.slug: s for s in db.scalars(select(Site))}
    tools = {r.slug: r for r in db.scalars(select(Resource)) if r.is_readable}
    recorded = 0
    for index, (slug, key, kind, tool) in enumerate(PLAN):
        site, measure = sites.get(slug), measures.get(key)
        team = _team(db, site) if site is not None else []
        if measure is None or not team:
            continue
        chart = outcome_reports.site_chart(db, leader, measure, site)
        if chart is None or len(chart.labels) < 24:
            continue
        if kind == "improved":
            shift = _shift_start(chart, measure)
            if shift is None:
                continue
            spans = [(shift - 4, shift - 3), (shift - 2, shift - 1)]
        else:
            quiet = _quiet_start(chart, measure, back=(index * 7) % 30)
            if quiet is None:
                continue
            spans = [(quiet, quiet + 1), (quiet + 2, quiet + 2)]
        previous = None
        for step, ((first, last), texts) in enumerate(zip(spans, RAMPS[key])):
            title, aim, change, prediction, done, learned, decision = texts
            if kind == "quiet" and step == 1:
                decision = "abandon"
            author = team[step % len(team)]
            fields = pdsa.CycleFields(title=title, aim=aim, change=change, prediction=prediction,
                                      plan="Test small: one clinic, two to four weeks; count weekly.",
                                      done=done, learned=learned, decision=decision,
                                      start_month=chart.labels[first], end_month=chart.labels[last],
                                      follows=previous.id if previous else None, measures=[key],
                                      tools=[tools[tool].id] if tool in tools else [])
            previous = pdsa.record(db, author, site, fields, today=today)
            recorded += 1
    recorded += _planned_next(db, sites.get("riverside-childrens"), measures.get("previsit-plan"), today)
    return recorded


def _planned_next(db: Session, site: Site | None, measure: Measure | None, today: date | None) -> int:
    """Riverside (the demo site lead's site) also has a cycle running now, with nothing learned yet."""
    if site is None or measure is None:
        return 0
    team = _team(db, site)
    earlier = db.scalar(select(pdsa.Cycle).where(pdsa.Cycle.site_id == site.id).order_by(pdsa.Cycle.number.desc()))
    if not team:
        return 0
    now = pdsa._this_month(today)
    fields = pdsa.CycleFields(title="Plans in Spanish", aim="Every family can complete a previsit plan.",
                              change="Offer the previsit plan in Spanish by text.",
                              prediction="We predict the share of Spanish-speaking families with a plan rises.",
                              plan="Two clinics, one month; count plans completed in Spanish.",
                              start_month=month_key(now), end_month=month_key(pdsa.add_months(now, 1)),
                              follows=earlier.id if earlier else None, measures=[measure.key])
    pdsa.record(db, team[0], site, fields, today=today)
    return 1
