"""The network's health: the leaders' dashboard (figures by role, run charts, data tables) and the
aggregate public summary (role groups only). Both read content.health, which suppresses small cells."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import charts
from app.extensions import get_db
from app.presenters import role_label
from app.web import actor
from content import health

bp = Blueprint("health", __name__)

TITLES = {
    "active_members": _l("Active members"),
    "members_creating": _l("Members creating resources, stories and tests of change"),
    "resources_used": _l("Resources used (views, downloads, adoptions)"),
    "attendance": _l("Learning-session attendance"),
    "coproduced_share": _l("Published resources that are co-produced"),
    "sites_on_time": _l("Sites submitting their data on time"),
}
EXPLANATIONS = {
    "active_members": _l("Members who read, used or created anything in the month, by the role they acted in."),
    "members_creating": _l("Members who wrote or suggested a change to a resource, told a story or recorded a "
                           "test of change (PDSA cycle), by the role they acted in. Are patients and parents "
                           "creating, not only reading?"),
    "resources_used": _l("Each view, download or adoption of a library resource, by the role of the reader."),
    "attendance": _l("People present at a learning session (once per session), by role."),
    "coproduced_share": _l("Of the resources published by the end of each month, the share with a patient or "
                           "parent and a clinician among the authors or reviewers."),
    "sites_on_time": _l("Of the active sites, the share whose figures for the month arrived by the end of "
                        "the following month (when the data-due reminders stop)."),
}
GROUP_LABELS = {"family": _l("Patients and parents"), "professional": _l("Clinicians and site leads"),
                "network": _l("Network staff"), "total": _l("All members"), "coproduced": _l("Co-produced"),
                "on_time": _l("On time")}


def series_label(key: str) -> str:
    return str(GROUP_LABELS[key]) if key in GROUP_LABELS else role_label(key)


def chart(figure: health.Figure, series: health.Series, chart_id: str, *, compact: bool = False):
    """A run chart of one series, or nothing when too few months are shown."""
    if series.chart is None:
        return ""
    title = f"{TITLES[figure.key]} — {series_label(series.key)}"
    description = _("%(figure)s, %(who)s, month by month from %(first)s to %(last)s, as a run chart.",
                    figure=TITLES[figure.key], who=series_label(series.key), first=figure.months[0],
                    last=figure.months[-1])
    return charts.control_chart_svg(series.chart, figure.months, title=title, description=description,
                                    better="higher", percent=figure.kind == "share", compact=compact,
                                    chart_id=chart_id)


def cell(figure: health.Figure, value) -> str:
    if value is None:
        return _("suppressed")
    return f"{value * 100:.0f}%" if figure.kind == "share" else f"{value:,.0f}"


def _render(template: str, figures: list[health.Figure], public: bool):
    return render_template(template, figures=figures, titles=TITLES, explanations=EXPLANATIONS,
                           series_label=series_label, chart=chart, cell=cell, public=public)


@bp.route("/health/")
def dashboard():
    """For leaders: is the network growing, and are patients and parents creating, not only reading?"""
    return _render("health/dashboard.html", health.dashboard(get_db(), actor()), False)


@bp.route("/public/health")
def public_summary():
    """For everyone: the same figures for the network as a whole, by role group, small cells hidden."""
    return _render("health/public.html", health.dashboard(get_db(), actor(), public=True), True)
