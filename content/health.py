"""The network's health, month by month: is the network growing, and are patients and parents creating,
not only reading?

One function per figure; each answers a `Figure` (months, one series per role or role group, a run chart
per series from the SPC engine) that pages, the JSON API and the public summary all read, so suppression
cannot be forgotten on any path. Every figure is built from a fixed number of queries, whatever the size
of the network (rows are bucketed by month in Python, so no date arithmetic in SQL).

Suppression (DESIGN "Decisions"): these figures derive from members' own entries, so counts from 1 to
10 are hidden inside the network too, with complementary suppression within each month (a total is
shown, so a single hidden role would be derivable). The sites-on-time share is site-level and visible
to members, as outcome counts are; the public summary suppresses every figure and only shows role
groups (patients and parents / clinicians and site leads / network staff), never single roles.

This module lives in `content/` because it reads the library and stories; `network/` never imports
`content/`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content import library, narratives, pdsa
from network import access, outcomes, spc
from network.db import utcnow
from network.people import Site
from network.usage import UsageEvent
from network.visibility import DEFAULT_THRESHOLD, Cell, hides, is_small, suppress_group

ROLES = ("patient", "parent", "clinician", "site_lead", "network_leader", "moderator")
ROLE_GROUPS = {"family": ("patient", "parent"), "professional": ("clinician", "site_lead"),
               "network": ("network_leader", "moderator")}
USE_KINDS = ("view", "download", "adoption")
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class CreationSource:
    """One kind of thing members create: its model and the columns naming who, in which role, when.

    The "members creating" and "active members" figures read every source in CREATING; a new kind of
    created thing (e.g. PDSA cycles) is one more entry there."""

    kind: str
    model: Any
    person: str = "author_id"
    role: str = "acting_role"
    at: str = "created_at"
    where: Callable[[Any], list] = lambda model: []


#: everything members create. A test of change counts in the team role it was recorded in (a cycle sent
#: with a site token has no person's role, so it is left out).
CREATING: list[CreationSource] = [
    CreationSource("resources", library.Revision),
    CreationSource("resources", library.Suggestion),
    CreationSource("stories", narratives.Story),
    CreationSource("pdsa_cycles", pdsa.Cycle, person="created_by_id",
                   where=lambda model: [model.acting_role != "api_token"]),
]


@dataclass
class Series:
    #: a role ("parent"), a role group ("family") or "total"
    key: str
    #: one per month; None where the cell is suppressed
    values: list[float | None]
    #: for shares: the counts behind each value (None where suppressed)
    numerators: list[int | None] = field(default_factory=list)
    denominators: list[int | None] = field(default_factory=list)
    chart: spc.SPCResult | None = None

    @property
    def suppressed(self) -> int:
        return sum(v is None for v in self.values)


@dataclass
class Figure:
    key: str
    #: "count" (people or uses) or "share" (a proportion 0–1)
    kind: str
    months: list[str]
    series: list[Series]
    public: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {"key": self.key, "kind": self.kind, "months": self.months, "public": self.public, "notes": self.notes,
               "series": []}
        for s in self.series:
            chart = s.chart.to_dict() if s.chart is not None else None
            points = []
            for i, month in enumerate(self.months):
                value = s.values[i]
                if value is not None and self.kind == "count":
                    value = int(value)
                point: dict[str, Any] = {"month": month, "suppressed": value is None, "value": value}
                if self.kind == "share":
                    point.update(numerator=s.numerators[i], denominator=s.denominators[i])
                if chart is not None and s.values[i] is not None:
                    point.update(centre=chart["cl"][i], runs_signal=bool(chart["runs_signal"][i]))
                points.append(point)
            out["series"].append({"key": s.key, "points": points})
        return out


# ---------------------------------------------------------------------------------------------
# Months

def window(count: int = DEFAULT_MONTHS, end: date | None = None) -> list[date]:
    """`count` complete months up to and including `end` (default: the last complete month)."""
    last = end or outcomes.previous_month()
    months = [date(last.year, last.month, 1)]
    while len(months) < count:
        months.insert(0, _shift(months[0], -1))
    return months


def _shift(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def _month_of(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


def _moment(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=timezone.utc)


def _start(months: list[date]) -> datetime:
    return _moment(months[0])


def _stop(months: list[date]) -> datetime:
    return _moment(_shift(months[-1], 1))


def _key(month: date) -> str:
    return month.strftime("%Y-%m")


# ---------------------------------------------------------------------------------------------
# Suppression and charts

def _check(viewer, public: bool) -> None:
    access.require(viewer, "health.view_public" if public else "health.view")


def _count_series(counts: dict[date, dict[str, int]], months: list[date], public: bool,
                  threshold: int = DEFAULT_THRESHOLD) -> list[Series]:
    """Role (or, publicly, role-group) series plus a total, each month suppressed as a group."""
    if public:
        keys = list(ROLE_GROUPS)
        grouped = {m: {g: sum(counts.get(m, {}).get(r, 0) for r in roles) for g, roles in ROLE_GROUPS.items()}
                   for m in months}
    else:
        keys = list(ROLES)
        grouped = {m: {r: counts.get(m, {}).get(r, 0) for r in ROLES} for m in months}
    columns: dict[str, list[float | None]] = {k: [] for k in [*keys, "total"]}
    for m in months:
        cells = [grouped[m][k] for k in keys]
        total = sum(cells)
        hidden = suppress_group([Cell(c, c) for c in cells], threshold=threshold, complement=False)
        for k, c, h in zip(keys, cells, hidden):
            columns[k].append(None if h or is_small(total, threshold) else float(c))
        columns["total"].append(None if is_small(total, threshold) else float(total))
    return [_charted(Series(k, columns[k])) for k in ["total", *keys]]


def _charted(series: Series) -> Series:
    values = np.array([np.nan if v is None else v for v in series.values], dtype=float)
    if np.isfinite(values).sum() >= 2:
        series.chart = spc.run_chart(values)
    return series


def _share_series(key: str, numerators: list[int], denominators: list[int], suppress: bool,
                  threshold: int = DEFAULT_THRESHOLD) -> Series:
    values: list[float | None] = []
    nums: list[int | None] = []
    dens: list[int | None] = []
    for n, d in zip(numerators, denominators):
        hidden = suppress and hides(n, d, threshold=threshold)
        values.append(None if hidden or d == 0 else n / d)
        nums.append(None if hidden else n)
        dens.append(None if hidden else d)
    return _charted(Series(key, values, nums, dens))


# ---------------------------------------------------------------------------------------------
# The figures

def active_members(db: Session, viewer, *, public: bool = False, months: list[date] | None = None) -> Figure:
    """Members who used or created anything in the month, by the role they acted in (a person acting in
    two roles counts in each)."""
    _check(viewer, public)
    months = months or window()
    seen: dict[date, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    rows = db.execute(select(UsageEvent.month, UsageEvent.actor_role, UsageEvent.actor_id).distinct().where(
        UsageEvent.month >= months[0], UsageEvent.month <= months[-1], UsageEvent.actor_id.is_not(None)))
    for month, role, person in rows:
        seen[month][role].add(person)
    for month, role, person in _created(db, months):
        seen[month][role].add(person)
    counts = {m: {r: len(people) for r, people in by_role.items()} for m, by_role in seen.items()}
    return Figure("active_members", "count", [_key(m) for m in months], _count_series(counts, months, public), public)


def _created(db: Session, months: list[date], kinds: set[str] | None = None):
    """(month, role, person) for everything created in the window: one query per creation source."""
    for source in CREATING:
        if kinds is not None and source.kind not in kinds:
            continue
        model = source.model
        at, person, role = getattr(model, source.at), getattr(model, source.person), getattr(model, source.role)
        query = select(at, role, person).where(at >= _start(months), at < _stop(months), person.is_not(None),
                                               *source.where(model))
        for moment, acted_as, who in db.execute(query):
            yield _month_of(moment), acted_as, who


def members_creating(db: Session, viewer, *, public: bool = False, months: list[date] | None = None,
                     kinds: set[str] | None = None) -> Figure:
    """Members who created a resource (a revision or a suggested change), a story, a test of change (PDSA
    cycle) — anything in CREATING — by the role they created in."""
    _check(viewer, public)
    months = months or window()
    seen: dict[date, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for month, role, person in _created(db, months, kinds):
        seen[month][role].add(person)
    counts = {m: {r: len(people) for r, people in by_role.items()} for m, by_role in seen.items()}
    return Figure("members_creating", "count", [_key(m) for m in months], _count_series(counts, months, public),
                  public, notes=sorted({s.kind for s in CREATING}))


def resources_used(db: Session, viewer, *, public: bool = False, months: list[date] | None = None) -> Figure:
    """Views, downloads and adoptions of library resources, by the role of the reader."""
    _check(viewer, public)
    months = months or window()
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    rows = db.execute(select(UsageEvent.month, UsageEvent.actor_role, func.count(UsageEvent.id)).where(
        UsageEvent.month >= months[0], UsageEvent.month <= months[-1], UsageEvent.kind.in_(USE_KINDS),
        UsageEvent.object_type == "resource").group_by(UsageEvent.month, UsageEvent.actor_role))
    for month, role, n in rows:
        counts[month][role] = int(n)
    return Figure("resources_used", "count", [_key(m) for m in months], _count_series(counts, months, public), public)


def attendance(db: Session, viewer, *, public: bool = False, months: list[date] | None = None) -> Figure:
    """Learning-session attendances (a person at a session, counted once however often they rejoined), by role."""
    _check(viewer, public)
    months = months or window()
    pairs: dict[date, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    rows = db.execute(select(UsageEvent.month, UsageEvent.actor_role, UsageEvent.actor_id, UsageEvent.object_id)
                      .distinct().where(UsageEvent.month >= months[0], UsageEvent.month <= months[-1],
                                        UsageEvent.kind == "attendance", UsageEvent.actor_id.is_not(None)))
    for month, role, person, session_id in rows:
        pairs[month][role].add((person, session_id))
    counts = {m: {r: len(p) for r, p in by_role.items()} for m, by_role in pairs.items()}
    return Figure("attendance", "count", [_key(m) for m in months], _count_series(counts, months, public), public)


def coproduced_share(db: Session, viewer, *, public: bool = False, months: list[date] | None = None) -> Figure:
    """Of the resources published by each month's end (and not archived), the share co-produced: a
    patient or parent and a clinician or site lead among the authors or approving reviewers of the
    published revision — the rule of `content.library.coproduction`, computed for all resources in
    three queries. Each month uses the revision published now (earlier publications are not kept)."""
    _check(viewer, public)
    months = months or window()
    Resource, Revision, Review = library.Resource, library.Revision, library.ReviewDecision
    published = db.execute(select(Resource.id, Resource.published_revision_id, Resource.published_at).where(
        Resource.published_revision_id.is_not(None), Resource.status != library.Status.ARCHIVED.value,
        Resource.published_at < _stop(months))).all()
    ids = [r[0] for r in published] or [-1]
    roles: dict[int, set[str]] = defaultdict(set)
    limit = {rid: rev for rid, rev, _at in published}
    for resource_id, revision_id, role in db.execute(select(Revision.resource_id, Revision.id, Revision.acting_role)
                                                     .where(Revision.resource_id.in_(ids), Revision.acting_role != "")):
        if revision_id <= limit[resource_id]:
            roles[resource_id].add(role)
    for resource_id, revision_id, role in db.execute(select(Review.resource_id, Review.revision_id, Review.acting_role)
                                                     .where(Review.resource_id.in_(ids), Review.decision == "approve")):
        if revision_id == limit[resource_id]:
            roles[resource_id].add(role)
    family = {r.value for r in library.FAMILY_ROLES}
    clinical = {r.value for r in library.CLINICAL_ROLES}
    coproduced = {rid for rid, held in roles.items() if held & family and held & clinical}
    numerators, denominators = [], []
    for m in months:
        end = _moment(_shift(m, 1))
        stock = [rid for rid, _rev, at in published if at is not None and at < end]
        denominators.append(len(stock))
        numerators.append(sum(rid in coproduced for rid in stock))
    series = _share_series("coproduced", numerators, denominators, suppress=True)
    return Figure("coproduced_share", "share", [_key(m) for m in months], [series], public)


def due_by(month: date) -> date:
    """A month's figures are due while it is the last complete month — the data-due reminder's rule
    (`outcomes.previous_month`, `notifications.data_due`): by the first day of the month after next."""
    return _shift(month, 2)


def on_time(db: Session, viewer, *, public: bool = False, months: list[date] | None = None,
            today: date | None = None) -> Figure:
    """Of the active sites, the share whose figures for the month arrived on time: every active measure
    the site reports (has ever sent) first submitted before `due_by(month)`; a site that sent nothing is
    not on time. A site is expected from its creation or its first reported month, whichever is earlier.
    Months still inside their due window are left out. Five queries."""
    _check(viewer, public)
    today = today or utcnow().date()
    months = [m for m in (months or window(end=outcomes.previous_month(today))) if due_by(m) <= today] or \
        window(end=outcomes.previous_month(outcomes.previous_month(today)))
    active = set(db.scalars(select(outcomes.Measure.id).where(outcomes.Measure.is_active.is_(True))))
    sites = db.execute(select(Site.id, Site.created_at).where(Site.is_active.is_(True))).all()
    S = outcomes.Submission
    sent_by_site = S.source != "derived"  # figures the platform derives itself are never late
    reported: dict[int, set[int]] = defaultdict(set)
    reporting_since: dict[int, date] = {}
    for site_id, measure_id, since in db.execute(select(S.site_id, S.measure_id, func.min(S.month)).where(
            sent_by_site, S.month <= months[-1]).group_by(S.site_id, S.measure_id)):
        if measure_id in active:
            reported[site_id].add(measure_id)
        reporting_since[site_id] = min(since, reporting_since.get(site_id, since))
    first = db.execute(select(S.site_id, S.measure_id, S.month, func.min(S.created_at)).where(
        sent_by_site, S.month >= months[0], S.month <= months[-1]).group_by(S.site_id, S.measure_id, S.month))
    in_time: dict[tuple[int, date], set[int]] = defaultdict(set)
    for site_id, measure_id, month, at in first:
        if at is not None and at.date() < due_by(month):
            in_time[(site_id, month)].add(measure_id)
    numerators, denominators = [], []
    for m in months:
        due = due_by(m)
        # a site is expected once it existed, or once it began reporting (sites added with their history)
        expected = [sid for sid, created in sites if (created is not None and created.date() < due)
                    or (sid in reporting_since and reporting_since[sid] <= m)]
        denominators.append(len(expected))
        numerators.append(sum(bool(reported[sid]) and in_time[(sid, m)] >= reported[sid] for sid in expected))
    series = _share_series("on_time", numerators, denominators, suppress=public)
    return Figure("sites_on_time", "share", [_key(m) for m in months], [series], public)


FIGURES = (active_members, members_creating, resources_used, attendance, coproduced_share, on_time)


def dashboard(db: Session, viewer, *, public: bool = False) -> list[Figure]:
    """Every figure, for the leaders' dashboard (by role) or the public summary (role groups)."""
    _check(viewer, public)
    return [figure(db, viewer, public=public) for figure in FIGURES]

