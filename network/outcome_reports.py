"""Read models for outcome sharing: the network chart, every site's chart, a site's page, the funnel.

Every page, CSV, API answer and FHIR export reads these, so labels (`site_label`) and suppression are
applied the same way everywhere. A measure's charts are computed for all sites at once (arrays of
sites × months) and cached until its `data_version` changes, so a page never recomputes what has not
changed. Queries per page are bounded whatever the number of sites.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Callable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from network import access, spc
from network.funnel import proportion_funnel
from network.outcomes import ChartType, Measure, RuleSet, month_key
from network.people import Site
from network.visibility import Cell, Lens, hides, lens, suppress_group


@dataclass
class Chart:
    """One series and its SPC result, ready for a page, a CSV file or the API."""

    labels: list[str]                       # "YYYY-MM" per point
    numerators: np.ndarray
    denominators: np.ndarray
    result: spc.SPCResult
    explain: Callable[[], list[str]]        # the plain-English signal sentences, worked out when asked for
    rule_set: str
    revised: set[int] = field(default_factory=set)   # indexes of points corrected after first submission
    #: months left out because their counts are too small to show (public views only)
    suppressed_months: list[str] = field(default_factory=list)

    @cached_property
    def signals(self) -> list[str]:
        return self.explain()

    @property
    def latest(self) -> float | None:
        return float(self.result.y[-1]) if len(self.labels) else None

    @property
    def has_signal(self) -> bool:
        return bool(self.result.sigma_signal.any() or self.result.runs_signal.any())


@dataclass
class SiteChart:
    site: Site
    label: str
    chart: Chart
    ref: str = ""      # what this viewer's URLs call the site (short name, or "S17" when blinded)


@dataclass
class _Matrix:
    """All current figures of one measure: rows are sites, columns months (NaN = not submitted)."""

    months: list[date]
    labels: list[str]                       # "YYYY-MM" per month column
    site_ids: list[int]
    numerators: np.ndarray
    denominators: np.ndarray
    revised: dict[int, set[int]]            # site id -> month indexes revised


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64
#: key -> the lock held by whoever is computing it now
_COMPUTING: dict = {}


def _cached(key, compute):
    """The cached value, computed once: requests asking for a key while another computes it wait for
    that result instead of computing it too (found by bench/load.py: after a restart or new figures,
    every home and overview page arriving at once computed all charts of all measures side by side)."""
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        lock = _COMPUTING.setdefault(key, threading.Lock())
    with lock:
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
        try:
            value = compute()
            with _CACHE_LOCK:
                _CACHE[key] = value
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        finally:
            with _CACHE_LOCK:
                _COMPUTING.pop(key, None)
    return value


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def _month_grid(first: date, last: date) -> list[date]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


_CURRENT_FIGURES = ("SELECT site_id, month, numerator, denominator, version FROM submissions "
                    "WHERE measure_id = {param} AND is_current")


def _fetch_figures(db: Session, measure_id: int) -> list[tuple]:
    """The measure's current figures as plain driver tuples: at 12,000 rows a measure, building
    SQLAlchemy Row objects costs more than the query itself. (Executed through SQLAlchemy, so
    statement events — and the tests' query counts — still see it.)"""
    connection = db.connection()
    param = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    result = connection.exec_driver_sql(_CURRENT_FIGURES.format(param=param), (measure_id,))
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _load_matrix(db: Session, measure: Measure) -> _Matrix:
    """One query; plain driver values (no per-row type conversion), placed with numpy."""
    rows = _fetch_figures(db, measure.id)
    if not rows:
        return _Matrix([], [], [], np.zeros((0, 0)), np.zeros((0, 0)), {})
    site_col, month_col, num_col, den_col, version_col = zip(*rows)
    # SQLite gives "2024-03-01", PostgreSQL a date: both become numpy months
    month_numbers = np.array([str(m)[:7] for m in month_col], dtype="datetime64[M]").astype(np.int64)
    first = int(month_numbers.min())
    cols_j = month_numbers - first
    site_ids_array, rows_i = np.unique(np.asarray(site_col, dtype=np.int64), return_inverse=True)
    site_ids = [int(s) for s in site_ids_array]
    months = _month_grid(_month_from_number(first), _month_from_number(int(month_numbers.max())))
    numerators = np.full((len(site_ids), len(months)), np.nan)
    denominators = np.full_like(numerators, np.nan)
    numerators[rows_i, cols_j] = np.asarray(num_col, dtype=float)
    denominators[rows_i, cols_j] = np.asarray(den_col, dtype=float)
    revised: dict[int, set[int]] = {}
    for k in np.flatnonzero(np.asarray(version_col) > 1):
        revised.setdefault(site_ids[rows_i[k]], set()).add(int(cols_j[k]))
    return _Matrix(months, [month_key(m) for m in months], site_ids, numerators, denominators, revised)


def _month_from_number(number: int) -> date:
    """numpy's datetime64[M] counts months from 1970-01."""
    return date(1970 + number // 12, number % 12 + 1, 1)


def matrix(db: Session, measure: Measure) -> _Matrix:
    return _cached(("matrix", measure.id, measure.data_version), lambda: _load_matrix(db, measure))


def chart_for(measure: Measure, labels: list[str], numerators, denominators, *, revised=None) -> Chart:
    """The measure's chart type and rule set applied to one series (missing months already dropped)."""
    numerators = np.asarray(numerators, dtype=float)
    denominators = np.asarray(denominators, dtype=float)
    direction = "increase" if measure.better == "higher" else "decrease"
    kind = measure.chart_type
    baseline = measure.baseline_months
    freeze = baseline if baseline and len(labels) > baseline else None
    if kind == ChartType.U:
        result = spc.u_chart(numerators, denominators, multiply=measure.multiplier, freeze=freeze)
    elif kind == ChartType.RUN:
        with np.errstate(invalid="ignore", divide="ignore"):
            result = spc.run_chart(numerators / denominators, freeze=freeze)
    else:
        result = spc.p_chart(numerators, denominators, laney=kind == ChartType.P_LANEY, freeze=freeze)
    if measure.rule_set == RuleSet.MDC and len(labels) >= 2:
        def explain() -> list[str]:
            mdc = spc.mdc_chart(result.y, improvement=direction, fix_after=freeze)
            return spc.explain_signals(mdc, direction, labels=labels)
    else:
        def explain() -> list[str]:
            return spc.explain_signals(result, direction, labels=labels)
    return Chart(labels, numerators, denominators, result, explain, measure.rule_set, revised or set())


def _row_chart(measure: Measure, m: _Matrix, i: int, batch=None) -> Chart:
    present = ~np.isnan(m.denominators[i]) & (m.denominators[i] > 0)
    positions = np.flatnonzero(present)
    labels = [m.labels[j] for j in positions]
    revised_here = {int(np.searchsorted(positions, j)) for j in m.revised.get(m.site_ids[i], set()) if present[j]}
    if batch is not None:
        direction = "increase" if measure.better == "higher" else "decrease"
        result = batch.result(i)
        return Chart(labels, m.numerators[i, present], m.denominators[i, present], result,
                     lambda: spc.explain_signals(result, direction, labels=labels), measure.rule_set, revised_here)
    return chart_for(measure, labels, m.numerators[i, present], m.denominators[i, present], revised=revised_here)


def _all_site_charts(db: Session, measure: Measure) -> dict[int, Chart]:
    m = matrix(db, measure)
    if not m.site_ids:
        return {}
    fast = measure.chart_type == ChartType.P and measure.rule_set == RuleSet.ANHOEJ and not measure.baseline_months
    batch = spc.p_chart_batch(np.nan_to_num(m.numerators, nan=0.0), np.nan_to_num(m.denominators, nan=0.0)) \
        if fast else None
    return {site_id: _row_chart(measure, m, i, batch) for i, site_id in enumerate(m.site_ids)}


def _network_chart(db: Session, measure: Measure) -> Chart:
    m = matrix(db, measure)
    numerators = np.nansum(m.numerators, axis=0) if m.site_ids else np.zeros(0)
    denominators = np.nansum(m.denominators, axis=0) if m.site_ids else np.zeros(0)
    present = denominators > 0
    labels = [label for label, keep in zip(m.labels, present) if keep]
    revised_any = set().union(*m.revised.values()) if m.revised else set()
    positions = np.flatnonzero(present)
    revised = {int(np.searchsorted(positions, j)) for j in revised_any if j < len(present) and present[j]}
    return chart_for(measure, labels, numerators[present], denominators[present], revised=revised)


def _network_total(db: Session, measure: Measure) -> Chart:
    return _cached(("network", measure.id, measure.data_version), lambda: _network_chart(db, measure))


def _every_site_chart(db: Session, measure: Measure) -> dict[int, Chart]:
    """site id -> Chart, whoever looks: the one cache entry every site-level view reads."""
    return _cached(("sites", measure.id, measure.data_version), lambda: _all_site_charts(db, measure))


# ---------------------------------------------------------------------------------------------
# What pages and exports ask for

def network_chart(db: Session, viewer, measure: Measure, *, public: bool = False) -> Chart:
    """The network total as a chart; in public, months whose totals are small are hidden."""
    access.require(_actor(viewer), "outcomes.view_public" if public else "outcomes.view")
    chart = _network_total(db, measure)
    if public:
        hidden = [hides(int(n), int(d), complement=measure.is_proportion)
                  for n, d in zip(chart.numerators, chart.denominators)]
        if any(hidden):
            chart = _without(measure, chart, hidden)
    return chart


def _actor(viewer):
    return viewer.actor if isinstance(viewer, Lens) else viewer


def site_charts(db: Session, viewer, measure: Measure) -> list[SiteChart]:
    """Every site's chart for a measure (members only: site-level counts are visible to members),
    labelled through the viewer's lens; a blinded viewer gets them in code order."""
    seen = lens(db, viewer)
    access.require(seen.actor, "outcomes.view")
    charts = _every_site_chart(db, measure)
    sites = {s.id: s for s in db.scalars(select(Site).where(Site.id.in_(list(charts)), Site.is_active.is_(True)))}
    items = [SiteChart(sites[site_id], seen.label(sites[site_id]), chart, seen.ref(sites[site_id]))
             for site_id, chart in charts.items() if site_id in sites]
    if seen.blinded:
        items.sort(key=lambda item: seen.order(item.site))
    return items


def from_site_charts(db: Session, measure: Measure, name: str, compute):
    """`compute(charts)` over every site's chart of a measure (site id -> Chart, whoever looks), cached
    with the charts until the measure's data changes: for what a page would otherwise recompute from
    the same charts on every request (the home page's bright spots)."""
    return _cached((name, measure.id, measure.data_version), lambda: compute(_every_site_chart(db, measure)))


def warm(db: Session, measure: Measure) -> tuple[Chart, dict[int, Chart]]:
    """The network chart and every site's (site id -> Chart), computed now if not cached: for a server
    process filling its caches before readers ask (app/outcomes/warm.py), never for a page (pages read
    through the viewer's lens)."""
    return _network_total(db, measure), _every_site_chart(db, measure)


def site_chart(db: Session, viewer, measure: Measure, site: Site) -> Chart | None:
    access.require(_actor(viewer), "outcomes.view")
    charts = _every_site_chart(db, measure)
    return charts.get(site.id)


SORTS = ("name", "latest", "signal", "size")


def sort_site_charts(items: list[SiteChart], how: str, better: str) -> list[SiteChart]:
    if how == "latest":
        sign = -1 if better == "higher" else 1
        return sorted(items, key=lambda s: (s.chart.latest is None, sign * (s.chart.latest or 0), s.label))
    if how == "signal":
        return sorted(items, key=lambda s: (not s.chart.has_signal, s.label))
    if how == "size":
        return sorted(items, key=lambda s: (-float(np.sum(s.chart.denominators[-12:])), s.label))
    return sorted(items, key=lambda s: s.label)


@dataclass
class FunnelRow:
    label: str
    site: Site | None
    numerator: int | None
    denominator: int | None
    value: float | None
    suppressed: bool
    outlier: bool = False
    limits: dict = field(default_factory=dict)
    ref: str | None = None   # the viewer's URL name for the site (None in public)


@dataclass
class Funnel:
    start: str
    end: str
    rows: list[FunnelRow]
    result: object | None  # FunnelResult over the shown rows
    target: float | None


def funnel(db: Session, viewer, measure: Measure, start: date, end: date, *, public: bool = False) -> Funnel:
    """Sites compared over one period (sums of their months), as FunnelPlotR does for proportions.
    In public, labels are codes and small cells are hidden with complementary suppression."""
    seen = lens(db, viewer)
    access.require(seen.actor, "outcomes.view_public" if public else "outcomes.view")
    m = matrix(db, measure)
    columns = [j for j, month in enumerate(m.months) if start <= month <= end]
    sites = {s.id: s for s in db.scalars(select(Site).where(Site.is_active.is_(True)))}
    cells, owners = [], []
    for i, site_id in enumerate(m.site_ids):
        if site_id not in sites or not columns:
            continue
        den = np.nansum(m.denominators[i, columns])
        if den <= 0:
            continue
        cells.append(Cell(int(np.nansum(m.numerators[i, columns])), int(den)))
        owners.append(sites[site_id])
    hidden = suppress_group(cells, complement=measure.is_proportion) if public else [False] * len(cells)
    shown = [k for k, h in enumerate(hidden) if not h]
    labels = [f"Site {site.code}" if public else seen.label(site) for site in owners]
    refs = [None if public else seen.ref(site) for site in owners]
    result = None
    if len(shown) >= 2:
        result = proportion_funnel([cells[k].numerator for k in shown], [cells[k].denominator for k in shown],
                                   labels=[labels[k] for k in shown])
    rows, position = [], {k: p for p, k in enumerate(shown)}
    for k, (cell, site) in enumerate(zip(cells, owners)):
        label = labels[k]
        if hidden[k]:
            rows.append(FunnelRow(label, None if public else site, None, None, None, True, ref=refs[k]))
            continue
        p = position[k]
        rows.append(FunnelRow(label, None if public else site, cell.numerator, cell.denominator,
                              cell.numerator / cell.denominator, False,
                              bool(result.outlier[p]) if result is not None else False,
                              {"lcl95": float(result.lcl95[p]), "ucl95": float(result.ucl95[p]),
                               "lcl99": float(result.lcl99[p]), "ucl99": float(result.ucl99[p])}
                              if result is not None else {}, refs[k]))
    return Funnel(month_key(start), month_key(end), sorted(rows, key=lambda r: r.label), result,
                  float(result.target) if result is not None else None)


def available_months(db: Session, measure: Measure) -> list[date]:
    return matrix(db, measure).months


def _without(measure: Measure, chart: Chart, hidden: list[bool]) -> Chart:
    """The chart recomputed without the hidden months (their limits would reveal their counts)."""
    keep = ~np.asarray(hidden, dtype=bool)
    labels = [label for label, k in zip(chart.labels, keep) if k]
    smaller = chart_for(measure, labels, chart.numerators[keep], chart.denominators[keep])
    smaller.suppressed_months = [label for label, k in zip(chart.labels, keep) if not k]
    return smaller


def site_overview(db: Session, viewer, site: Site) -> list[tuple[Measure, Chart | None]]:
    """A site's page: one chart per measure."""
    access.require(_actor(viewer), "outcomes.view")
    return [(measure, site_chart(db, viewer, measure, site)) for measure in
            db.scalars(select(Measure).where(Measure.is_active.is_(True)).order_by(Measure.position, Measure.name))]


def fhir_rows(db: Session, viewer, measures: list[Measure]) -> list[dict]:
    """Every current figure of these measures as rows for the FHIR export (labels by the viewer's lens;
    a site whose name the viewer may not see has no short name in its rows, so the report is blinded)."""
    seen = lens(db, viewer)
    access.require(seen.actor, "outcomes.view")
    sites = {s.id: s for s in db.scalars(select(Site))}
    rows = []
    for measure in measures:
        m = matrix(db, measure)
        order = sorted(range(len(m.site_ids)), key=lambda i: seen.order(sites[m.site_ids[i]])) \
            if seen.blinded else range(len(m.site_ids))
        for i in order:
            site = sites[m.site_ids[i]]
            slug = site.slug if seen.shows_name(site) else None
            for j, label in enumerate(m.labels):
                if np.isnan(m.denominators[i, j]):
                    continue
                rows.append({"site": slug, "site_label": seen.label(site), "measure": measure.key,
                             "month": label, "numerator": int(m.numerators[i, j]),
                             "denominator": int(m.denominators[i, j]), "suppressed": False})
    return rows
