"""What anyone on the web may see: the network's aggregate charts and an anonymised comparison of
sites for a calendar year, with small cells suppressed (network/visibility.py)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request

from app.extensions import get_db
from app.outcomes import render as charts
from app.outcomes.views import CHART_HEADER, _chart_rows, _csv_response
from app.web import actor
from network import access, outcome_reports, outcomes

bp = Blueprint("public", __name__, url_prefix="/public")


def _year(months: list[date]) -> int | None:
    years = sorted({m.year for m in months})
    if not years:
        return None
    asked = request.args.get("year", type=int)
    return asked if asked in years else years[-1]


@bp.route("/outcomes/")
def index():
    """The network's measures, for the public."""
    access.require(actor(), "outcomes.view_public")
    return render_template("public/index.html", measures=outcomes.measures(get_db()))


@bp.route("/outcomes/<key>")
def measure(key: str):
    """A measure's network chart and the year's anonymised comparison, suppressed."""
    db = get_db()
    access.require(actor(), "outcomes.view_public")
    measure_row = outcomes.measure_by_key(db, key)
    months = outcome_reports.available_months(db, measure_row)
    year = _year(months)
    comparison = outcome_reports.funnel(db, actor(), measure_row, date(year, 1, 1), date(year, 12, 1), public=True) \
        if year else None
    return render_template("public/measure.html", measure=measure_row, measures=outcomes.measures(db),
                           network=outcome_reports.network_chart(db, actor(), measure_row, public=True),
                           funnel=comparison, year=year, years=sorted({m.year for m in months}), charts=charts)


@bp.route("/outcomes/<key>.csv")
def measure_csv(key: str):
    """The public network series as CSV, small totals suppressed."""
    db = get_db()
    access.require(actor(), "outcomes.view_public")
    measure_row = outcomes.measure_by_key(db, key)
    chart = outcome_reports.network_chart(db, actor(), measure_row, public=True)
    return _csv_response(f"{measure_row.key}-network-public.csv", CHART_HEADER, _chart_rows(chart))


@bp.route("/outcomes/<key>/comparison.csv")
def comparison_csv(key: str):
    """The public, anonymised comparison of sites for one calendar year, suppressed."""
    db = get_db()
    access.require(actor(), "outcomes.view_public")
    measure_row = outcomes.measure_by_key(db, key)
    year = _year(outcome_reports.available_months(db, measure_row))
    rows = []
    if year:
        comparison = outcome_reports.funnel(db, actor(), measure_row, date(year, 1, 1), date(year, 12, 1), public=True)
        rows = [[r.label, "" if r.suppressed else r.numerator, "" if r.suppressed else r.denominator,
                 "" if r.suppressed else f"{r.value:.6f}", "suppressed" if r.suppressed else ""]
                for r in comparison.rows]
    return _csv_response(f"{measure_row.key}-{year}-comparison.csv",
                         ["site", "numerator", "denominator", "value", "note"], rows)
