"""Tests of change (PDSA cycles): a site team records what it tried — aim, change, prediction, plan, what
was done, what was learned and the decision — linked to measures and library tools, over a span of
months. Cycles chain into a ramp (each may follow an earlier one of the same site). The site's charts
show them as numbered markers, and every member can browse what sites tried for a measure together with
what the chart did next, said as timing only ("a shift began 2 months later"), never as a cause.

Lives in `content/` because a cycle links library resources (content may import network, not back).

Months: `YYYY-MM`, first day of the month stored. The rules, checked in `_check`:
- the start is not before `EARLIEST_MONTH`, not more than `PLAN_AHEAD_MONTHS` after this month, and a
  cycle lasts at most `MAX_CYCLE_MONTHS` months (end ≥ start);
- a cycle may be planned into the future, but *what was done* and *what was learned* can only be
  recorded once it has started (start month ≤ this month), and a *decision* (adopt, adapt, abandon)
  only once it has ended (end month ≤ this month).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from content.library import Resource
from network import access, audit, outcome_reports, usage
from network.db import Base, utcnow
from network.errors import Conflict, Invalid, NotFound
from network.i18n import N_
from network.outcomes import Measure, month_key, parse_month
from network.people import Site
from network.roles import ROLE_PRIORITY, Role

EARLIEST_MONTH = date(2000, 1, 1)
PLAN_AHEAD_MONTHS = 12
MAX_CYCLE_MONTHS = 24
#: "what the chart did next" looks at this many months after a cycle's start
WINDOW_MONTHS = 6
#: MDC-style trend: this many points in a row, each better than the last
TREND_POINTS = 7
DECISIONS = ("adopt", "adapt", "abandon")
TEXT_LIMIT = 5_000
#: usage events for cycles (the network-health figures count "members creating PDSA cycles by role")
USAGE_KIND, USAGE_OBJECT = "creation", "pdsa_cycle"
TEAM_ROLES = (Role.CLINICIAN, Role.SITE_LEAD)


class Cycle(Base):
    __tablename__ = "pdsa_cycles"
    __table_args__ = (UniqueConstraint("site_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    #: 1, 2, 3... within the site: the number on the chart markers
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    aim: Mapped[str] = mapped_column(Text)
    change: Mapped[str] = mapped_column(Text)
    prediction: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[str] = mapped_column(Text, default="")
    learned: Mapped[str] = mapped_column(Text, default="")
    #: "", "adopt", "adapt" or "abandon"
    decision: Mapped[str] = mapped_column(String(8), default="")
    #: first day of the first and last month the cycle ran (or is planned to run)
    start_month: Mapped[date] = mapped_column(Date)
    end_month: Mapped[date] = mapped_column(Date)
    #: the earlier cycle of the same site this one builds on (a ramp)
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("pdsa_cycles.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the person recorded it in ("site_lead", "clinician" or "api_token")
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_role: Mapped[str] = mapped_column(String(20), default="")
    #: bumped by every edit; an edit that started from an older version is a conflict, not an overwrite
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(lazy="joined")
    measure_links: Mapped[list["CycleMeasure"]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    tool_links: Mapped[list["CycleTool"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def measure_ids(self) -> list[int]:
        return sorted(link.measure_id for link in self.measure_links)

    @property
    def tool_ids(self) -> list[int]:
        return sorted(link.resource_id for link in self.tool_links)

    def status(self, today: date | None = None) -> str:
        """"planned" (starts later), "running", "ended" (no decision yet) or "decided"."""
        this_month = _this_month(today)
        if self.decision:
            return "decided"
        if self.start_month > this_month:
            return "planned"
        return "running" if self.end_month >= this_month else "ended"


class CycleMeasure(Base):
    __tablename__ = "pdsa_cycle_measures"
    __table_args__ = (UniqueConstraint("cycle_id", "measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("pdsa_cycles.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)


class CycleTool(Base):
    __tablename__ = "pdsa_cycle_tools"
    __table_args__ = (UniqueConstraint("cycle_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("pdsa_cycles.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)


# ---------------------------------------------------------------------------------------------
# Months

def _this_month(today: date | None = None) -> date:
    today = today or utcnow().date()
    return date(today.year, today.month, 1)


def months_between(a: date, b: date) -> int:
    """Whole months from a to b (negative when b is earlier)."""
    return (b.year - a.year) * 12 + b.month - a.month


def add_months(value: date, n: int) -> date:
    index = value.year * 12 + value.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


# ---------------------------------------------------------------------------------------------
# Input

@dataclass
class CycleFields:
    """What a form or a JSON body says about a cycle. Months as "YYYY-MM"; measures as keys; tools as
    resource ids (or slugs); follows as a cycle id (or None)."""

    title: str = ""
    aim: str = ""
    change: str = ""
    prediction: str = ""
    plan: str = ""
    done: str = ""
    learned: str = ""
    decision: str = ""
    start_month: object = ""
    end_month: object = ""
    follows: object = None
    measures: list = field(default_factory=list)
    tools: list = field(default_factory=list)
    acting_role: str | None = None


@dataclass
class _Clean:
    title: str
    texts: dict
    decision: str
    start: date
    end: date
    follows: "Cycle | None"
    measures: list
    tools: list


def _text(value) -> str:
    return str(value or "").replace("\r\n", "\n").strip()


def _check(db: Session, actor, site: Site, fields: CycleFields, existing: Cycle | None,
           today: date | None) -> _Clean:
    """Every field checked before anything is written; all problems reported at once."""
    errors: dict[str, list[str]] = {}

    def problem(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    title = _text(fields.title)
    if not title or len(title) > 120:
        problem("title", N_("Give the cycle a short name (at most 120 characters)."))
    texts = {name: _text(getattr(fields, name)) for name in ("aim", "change", "prediction", "plan", "done", "learned")}
    required = {"aim": N_("Say what the cycle aims for."), "change": N_("Say which change is tested."),
                "prediction": N_("Say what you predict will happen (e.g. “we predict the share of visits with a "
                                 "plan rises”).")}
    for name, message in required.items():
        if not texts[name]:
            problem(name, message)
    for name, value in texts.items():
        if len(value) > TEXT_LIMIT:
            problem(name, N_("Use at most 5,000 characters."))  # TEXT_LIMIT, written as the English always was
    decision = _text(fields.decision).lower()
    if decision not in ("",) + DECISIONS:
        problem("decision", N_("Choose adopt, adapt or abandon (or leave it for later)."))

    this_month = _this_month(today)
    start, end = parse_month(fields.start_month), parse_month(fields.end_month)
    if start is None:
        problem("start_month", N_("Give the start month as YYYY-MM, e.g. 2025-03."))
    if end is None:
        problem("end_month", N_("Give the end month as YYYY-MM, e.g. 2025-05."))
    if start is not None:
        if start < EARLIEST_MONTH:
            problem("start_month", N_("Start in %(month)s or later.", month=month_key(EARLIEST_MONTH)))
        elif start > add_months(this_month, PLAN_AHEAD_MONTHS):
            problem("start_month", N_("Plan at most %(months)s months ahead.", months=PLAN_AHEAD_MONTHS))
    if start is not None and end is not None:
        if end < start:
            problem("end_month", N_("The end month cannot be before the start month."))
        elif months_between(start, end) + 1 > MAX_CYCLE_MONTHS:
            problem("end_month", N_("A cycle lasts at most %(months)s months; split a longer one into a ramp.",
                                    months=MAX_CYCLE_MONTHS))
    if start is not None and start > this_month:
        for name in ("done", "learned"):
            if texts[name]:
                problem(name, N_("The cycle has not started yet (its start month is in the future): record what was "
                                 "done and learned once it runs."))
    if decision and end is not None and end > this_month:
        problem("decision", N_("A decision comes when the cycle has ended, and its end month is in the future. Set the "
                               "end month to when it ended, or decide later."))

    follows = None
    if fields.follows not in (None, "", 0, "0"):
        try:
            follows = db.get(Cycle, int(fields.follows))
        except (TypeError, ValueError):
            follows = None
        if follows is None or follows.site_id != site.id:
            problem("follows", N_("Choose an earlier cycle of this site."))
            follows = None
        elif existing is not None and _in_chain(db, follows, existing.id):
            problem("follows", N_("A cycle cannot follow itself or a cycle that follows it."))
            follows = None
        elif start is not None and follows.start_month > start:
            problem("follows", N_("The cycle it follows must start no later than this one."))

    keys = [k for k in dict.fromkeys(_text(k) for k in (fields.measures or [])) if k]
    measures = list(db.scalars(select(Measure).where(Measure.key.in_(keys)))) if keys else []
    unknown = sorted(set(keys) - {m.key for m in measures})
    if unknown:
        problem("measures", N_("No such measure: %(keys)s.", keys=', '.join(unknown)))
    elif not measures:
        problem("measures", N_("Link at least one measure, so the cycle shows on its chart."))

    tools = _tools(db, actor, fields.tools or [], problem)
    if errors:
        raise Invalid(errors)
    return _Clean(title, texts, decision, start, end, follows, sorted(measures, key=lambda m: (m.position, m.name)),
                  tools)


def _tools(db: Session, actor, wanted: list, problem) -> list[Resource]:
    """Library resources by id or slug; one the actor may not read is reported as unknown (no leak)."""
    ids = {int(t) for t in wanted if isinstance(t, int) or str(t).strip().isdigit()}
    slugs = {str(t).strip() for t in wanted if not (isinstance(t, int) or str(t).strip().isdigit()) and str(t).strip()}
    found = []
    if ids:
        found += list(db.scalars(select(Resource).where(Resource.id.in_(ids))))
    if slugs:
        found += list(db.scalars(select(Resource).where(Resource.slug.in_(slugs))))
    visible = {r.id: r for r in found if access.can(actor, "library.view", r)}
    missing = (ids - set(visible)) | (slugs - {r.slug for r in visible.values()})
    if missing:
        problem("tools", N_("No such tool in the library: %(tools)s.", tools=', '.join(sorted(map(str, missing)))))
    return sorted(visible.values(), key=lambda r: r.id)


def _in_chain(db: Session, start: Cycle, forbidden_id: int) -> bool:
    seen, node = set(), start
    while node is not None and node.id not in seen:
        if node.id == forbidden_id:
            return True
        seen.add(node.id)
        node = db.get(Cycle, node.follows_id) if node.follows_id else None
    return False


def _acting_role(actor, site: Site, requested: str | None) -> str:
    """The team role the person holds at this site (the one they chose, else by priority); a token says so."""
    if getattr(actor, "acting_role", None) == "api_token":
        return "api_token"
    held = [role.value for role in ROLE_PRIORITY if role in TEAM_ROLES and actor.has_role(role, site.id)]
    if requested:
        if requested in held:
            return requested
        raise Invalid({"acting_role": [N_("Choose one of the roles you hold at this site.")]})
    return held[0] if held else ""


def _person_id(actor) -> int | None:
    if getattr(actor, "acting_role", None) == "api_token":
        return actor.created_by_id
    return actor.id


def _apply(cycle: Cycle, clean: _Clean) -> None:
    cycle.title, cycle.decision = clean.title, clean.decision
    for name, value in clean.texts.items():
        setattr(cycle, name, value)
    cycle.start_month, cycle.end_month = clean.start, clean.end
    cycle.follows_id = clean.follows.id if clean.follows else None
    wanted_m = {m.id for m in clean.measures}
    cycle.measure_links = [link for link in cycle.measure_links if link.measure_id in wanted_m] + [
        CycleMeasure(measure_id=mid) for mid in sorted(wanted_m - set(cycle.measure_ids))]
    wanted_t = {r.id for r in clean.tools}
    cycle.tool_links = [link for link in cycle.tool_links if link.resource_id in wanted_t] + [
        CycleTool(resource_id=rid) for rid in sorted(wanted_t - set(cycle.tool_ids))]


# ---------------------------------------------------------------------------------------------
# Services

def record(db: Session, actor, site: Site, fields: CycleFields, *, today: date | None = None) -> Cycle:
    """A site team records a new cycle (planned or under way)."""
    access.require(actor, "pdsa.record", site)
    role = _acting_role(actor, site, fields.acting_role)
    clean = _check(db, actor, site, fields, None, today)
    number = (db.scalar(select(func.max(Cycle.number)).where(Cycle.site_id == site.id)) or 0) + 1
    cycle = Cycle(site_id=site.id, number=number, created_by_id=_person_id(actor), acting_role=role,
                  updated_by_id=_person_id(actor), updated_role=role, measure_links=[], tool_links=[])
    _apply(cycle, clean)
    db.add(cycle)
    try:
        db.flush()
    except IntegrityError:  # another cycle of this site took the number at the same moment
        db.rollback()
        raise Conflict(N_("Another cycle was recorded for this site at the same moment; nothing was saved. "
                          "Send it again."))
    usage.record(db, actor, USAGE_KIND, USAGE_OBJECT, cycle.id, role=role)
    audit.record(db, actor, "pdsa.record", cycle, site_id=site.id, number=number, acting_role=role)
    db.commit()
    return cycle


def update(db: Session, actor, cycle_id: int, fields: CycleFields, *, version: int | None,
           today: date | None = None) -> Cycle:
    """The site team edits a cycle; `version` is the one the edit started from (a stale one is a Conflict)."""
    cycle = _load(db, cycle_id)
    access.require(actor, "pdsa.edit", cycle)
    role = _acting_role(actor, cycle.site, fields.acting_role)
    if version is None or int(version) != cycle.version:
        raise Conflict(N_("Someone changed this cycle while you were editing it. Reload it to see their changes; "
                          "nothing was saved."))
    clean = _check(db, actor, cycle.site, fields, cycle, today)
    _apply(cycle, clean)
    cycle.version += 1
    cycle.updated_by_id, cycle.updated_role, cycle.updated_at = _person_id(actor), role, utcnow()
    audit.record(db, actor, "pdsa.update", cycle, site_id=cycle.site_id, number=cycle.number, acting_role=role)
    db.commit()
    return cycle


def _load(db: Session, cycle_id) -> Cycle:
    try:
        cycle = db.get(Cycle, int(cycle_id))
    except (TypeError, ValueError):
        cycle = None
    if cycle is None or not cycle.site.is_active:
        raise NotFound(N_("No such cycle."))
    return cycle


def get(db: Session, actor, cycle_id) -> Cycle:
    access.require(actor, "pdsa.view")
    cycle = _load(db, cycle_id)
    access.require(actor, "pdsa.view", cycle)
    return cycle


def for_site(db: Session, actor, site: Site) -> list[Cycle]:
    """A site's cycles, newest first."""
    access.require(actor, "pdsa.view", site)
    return list(db.scalars(select(Cycle).where(Cycle.site_id == site.id)
                           .order_by(Cycle.start_month.desc(), Cycle.number.desc())))


def for_measure(db: Session, actor, measure: Measure) -> list[Cycle]:
    """Every active site's cycles linked to a measure, oldest first."""
    access.require(actor, "pdsa.view")
    return list(db.scalars(select(Cycle).join(CycleMeasure).join(Site, Site.id == Cycle.site_id)
                           .where(CycleMeasure.measure_id == measure.id, Site.is_active.is_(True))
                           .order_by(Cycle.start_month, Site.code, Cycle.number)))


def listing(db: Session, actor, *, site: Site | None = None, measure: Measure | None = None) -> list[Cycle]:
    """The API's list: filtered by site and/or measure."""
    access.require(actor, "pdsa.view")
    query = (select(Cycle).join(Site, Site.id == Cycle.site_id).where(Site.is_active.is_(True))
             .order_by(Site.code, Cycle.number))
    if site is not None:
        query = query.where(Cycle.site_id == site.id)
    if measure is not None:
        query = query.where(Cycle.id.in_(select(CycleMeasure.cycle_id).where(CycleMeasure.measure_id == measure.id)))
    return list(db.scalars(query.limit(1000)))


def ramp(db: Session, cycle: Cycle) -> list[Cycle]:
    """The chain this cycle belongs to, first to last: what it follows, and what follows it."""
    site_cycles = {c.id: c for c in db.scalars(select(Cycle).where(Cycle.site_id == cycle.site_id))}
    chain, node, seen = [], cycle, set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        chain.insert(0, node)
        node = site_cycles.get(node.follows_id) if node.follows_id else None
    frontier = [cycle.id]
    after = []
    while frontier:
        nxt = sorted((c for c in site_cycles.values() if c.follows_id in frontier and c.id not in seen),
                     key=lambda c: (c.start_month, c.number))
        seen.update(c.id for c in nxt)
        after += nxt
        frontier = [c.id for c in nxt]
    return chain + after


def measures_of(db: Session, cycles: list[Cycle]) -> dict[int, Measure]:
    ids = {mid for c in cycles for mid in c.measure_ids}
    return {m.id: m for m in db.scalars(select(Measure).where(Measure.id.in_(ids)))} if ids else {}


def tools_of(db: Session, actor, cycles: list[Cycle]) -> dict[int, Resource]:
    """The linked tools this viewer may read (a tool later unpublished is left out, not leaked)."""
    ids = {rid for c in cycles for rid in c.tool_ids}
    rows = db.scalars(select(Resource).where(Resource.id.in_(ids))) if ids else []
    return {r.id: r for r in rows if access.can(actor, "library.view", r)}


def site_options(db: Session, site: Site, *, exclude: int | None = None) -> list[Cycle]:
    """Earlier cycles of a site that a cycle may follow."""
    return [c for c in db.scalars(select(Cycle).where(Cycle.site_id == site.id).order_by(Cycle.number))
            if c.id != exclude]


def chart_marks(db: Session, site: Site, measure: Measure | None = None) -> dict[int, tuple]:
    """measure id -> ((number, "YYYY-MM" start, "YYYY-MM" end, title), ...) for the site's charts."""
    query = (select(Cycle).options(selectinload(Cycle.measure_links)).where(Cycle.site_id == site.id)
             .order_by(Cycle.number))
    marks: dict[int, list] = {}
    for cycle in db.scalars(query):
        for mid in cycle.measure_ids:
            if measure is None or mid == measure.id:
                marks.setdefault(mid, []).append((cycle.number, month_key(cycle.start_month),
                                                  month_key(cycle.end_month), cycle.title))
    return {mid: tuple(items) for mid, items in marks.items()}


# ---------------------------------------------------------------------------------------------
# What the chart did next: timing from the SPC engine, never a cause

@dataclass
class Next:
    """The first signal in the measure's good direction that began within the window after the start.

    kind: "shift" (a run on the better side of the centre line longer than the Anhøj limit), "trend"
    (TREND_POINTS or more points each better than the last), "outside" (a point beyond the control limit
    on the better side), "none" (no such signal in the months seen), "no_data" (no figures from the start
    on). `months_later` counts from the start month; `seen` is how many months of the window have data;
    `already` is the month a better-side shift that was already under way at the start began.
    """

    kind: str
    months_later: int | None = None
    month: str | None = None
    length: int | None = None
    seen: int = 0
    window: int = WINDOW_MONTHS
    already: str | None = None
    #: the figures reach the end of the window (else "no signal *yet*")
    complete: bool = False


def _better_sign(measure: Measure) -> int:
    return 1 if measure.better == "higher" else -1


def _shift_runs(result, sign: int) -> list[tuple[int, int]]:
    """(first index, length) of every run on the better side longer than its phase's Anhøj limit."""
    runs, current_start, current_len, last_part = [], None, 0, None
    y, cl = np.asarray(result.y, float), np.asarray(result.cl, float)
    for i in range(len(y)):
        useful = bool(result.include[i]) and np.isfinite(y[i]) and np.isfinite(cl[i]) and y[i] != cl[i]
        if not useful:
            continue
        better = (y[i] - cl[i]) * sign > 0
        if last_part is not None and result.part[i] != last_part:
            if current_start is not None:
                runs.append((current_start, current_len))
            current_start, current_len = None, 0
        last_part = result.part[i]
        if better:
            if current_start is None:
                current_start, current_len = i, 0
            current_len += 1
        elif current_start is not None:
            runs.append((current_start, current_len))
            current_start, current_len = None, 0
    if current_start is not None:
        runs.append((current_start, current_len))
    out = []
    for first, length in runs:
        limit = result.longest_run_max[first]
        if np.isfinite(limit) and length > limit:
            out.append((first, length))
    return out


def _trends(y: np.ndarray, sign: int) -> list[tuple[int, int]]:
    out, start = [], 0
    for i in range(1, len(y) + 1):
        rising = i < len(y) and np.isfinite(y[i]) and np.isfinite(y[i - 1]) and (y[i] - y[i - 1]) * sign > 0
        if not rising:
            if i - start >= TREND_POINTS:
                out.append((start, i - start))
            start = i
    return out


def _outside(result, sign: int) -> list[int]:
    y = np.asarray(result.y, float)
    limit = np.asarray(result.ucl if sign > 0 else result.lcl, float)
    return [i for i in np.flatnonzero(np.asarray(result.sigma_signal, bool))
            if np.isfinite(limit[i]) and (y[i] - limit[i]) * sign > 0]


def what_next(chart, measure: Measure, start: date, *, window: int = WINDOW_MONTHS) -> Next:
    """Reads the site's chart for the measure from the cycle's start month on."""
    if chart is None or not chart.labels:
        return Next("no_data", window=window)
    months = [parse_month(label) for label in chart.labels]
    offsets = [months_between(start, m) for m in months]
    in_window = [i for i, off in enumerate(offsets) if 0 <= off <= window]
    if not in_window:
        return Next("no_data", window=window)
    sign = _better_sign(measure)
    result = chart.result
    events = [(first, 0, "shift", length) for first, length in _shift_runs(result, sign)]
    events += [(first, 1, "trend", length) for first, length in _trends(np.asarray(result.y, float), sign)]
    events += [(i, 2, "outside", 1) for i in _outside(result, sign)]
    seen = len(in_window)
    complete = max(offsets) >= window
    already, under_way = None, range(0)
    for first, _rank, kind, length in events:
        if kind == "shift" and offsets[first] < 0 and first + length - 1 >= in_window[0]:
            already, under_way = chart.labels[first], range(first, first + length)
    # points of a better-side shift that was already under way are not a new signal
    candidates = sorted(e for e in events if 0 <= offsets[e[0]] <= window and e[0] not in under_way)
    if not candidates:
        return Next("none", seen=seen, window=window, already=already, complete=complete)
    first, _rank, kind, length = candidates[0]
    return Next(kind, months_later=offsets[first], month=chart.labels[first], length=int(length), seen=seen,
                window=window, already=already, complete=complete)


@dataclass
class Tried:
    """One cycle on the "what sites tried" page: the site as this viewer may name it, and what followed."""

    cycle: Cycle
    label: str
    #: what a link to the site carries for this viewer: the short name where the name shows, else "S17"
    ref: str
    next: Next


def tried_for_measure(db: Session, viewer, measure: Measure) -> list[Tried]:
    """Every cycle linked to the measure with what the site's chart did next, each site named (and
    addressed) through the viewer's lens. Site charts come from the measure's cached batch, so the page's
    queries do not grow with the number of sites."""
    from network.visibility import lens

    seen = lens(db, viewer)
    cycles = for_measure(db, seen.actor, measure)
    charts = {item.site.id: item.chart for item in outcome_reports.site_charts(db, seen, measure)}
    return [Tried(c, seen.label(c.site), seen.ref(c.site), what_next(charts.get(c.site_id), measure, c.start_month))
            for c in cycles]


def outcomes_of(db: Session, viewer, cycle: Cycle, measures: dict[int, Measure]) -> list[tuple[Measure, Next]]:
    """What each linked measure's chart did after this cycle began."""
    out = []
    for mid in cycle.measure_ids:
        measure = measures.get(mid)
        if measure is None:
            continue
        chart = outcome_reports.site_chart(db, viewer, measure, cycle.site)
        out.append((measure, what_next(chart, measure, cycle.start_month)))
    return out
