"""Tests of change (PDSA cycles): a site's cycles and ramps, the form to record or edit one, a cycle's page
with its charts, and what sites tried for a measure with what the chart did next."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.outcomes import render as charts
from app.pdsa import wording
from app.presenters import role_label
from app.web import actor, localized_fields
from content import library, pdsa
from network import access, outcome_reports, outcomes
from network.errors import Invalid
from network.roles import ROLE_PRIORITY
from network.visibility import lens as viewer_lens
from network.visibility import site_for

bp = Blueprint("pdsa", __name__, url_prefix="/pdsa")

TEXT_FIELDS = ("title", "aim", "change", "prediction", "plan", "done", "learned", "decision", "start_month",
               "end_month", "follows", "acting_role")


@bp.app_context_processor
def _helpers():
    return {"pdsa_words": wording}


def _fields_from_form() -> pdsa.CycleFields:
    form = request.form
    return pdsa.CycleFields(**{name: form.get(name, "") for name in TEXT_FIELDS if name != "acting_role"},
                            measures=form.getlist("measures"), tools=form.getlist("tools"),
                            acting_role=form.get("acting_role") or None)


def _values_of(cycle: pdsa.Cycle | None, db) -> dict:
    if cycle is None:
        return {"measures": [], "tools": []}
    measures = pdsa.measures_of(db, [cycle])
    values = {name: getattr(cycle, name) or "" for name in ("title", "aim", "change", "prediction", "plan", "done",
                                                             "learned", "decision")}
    values.update(start_month=outcomes.month_key(cycle.start_month), end_month=outcomes.month_key(cycle.end_month),
                  follows=str(cycle.follows_id or ""), measures=[measures[m].key for m in cycle.measure_ids
                                                                 if m in measures],
                  tools=[str(t) for t in cycle.tool_ids], acting_role=cycle.updated_role)
    return values


def _site(db, ref: str, action: str = "pdsa.view"):
    """The site a URL names, through the viewer's lens: a blinded viewer names other sites by code ("S17"),
    and asking for another site by its short name is refused, as on the outcome pages."""
    seen = viewer_lens(db, actor())
    return seen, site_for(db, seen, ref, action=action)


def _form_page(site, *, cycle=None, values=None, errors=None, status=200):
    db, viewer = get_db(), actor()
    seen = viewer_lens(db, viewer)
    tools = library.readable(db, viewer, limit=100)
    chosen = set((values or {}).get("tools", []))
    tools += [r for r in pdsa.tools_of(db, viewer, [cycle]).values() if r not in tools] if cycle else []
    roles = [role for role in ROLE_PRIORITY if role.value in ("clinician", "site_lead") and viewer.has_role(role, site.id)]
    return render_template("pdsa/form.html", site=site, label=seen.label(site), ref=seen.ref(site), cycle=cycle,
                           values=values or {"measures": [], "tools": []}, errors=errors or {},
                           measures=outcomes.measures(db), tools=tools, chosen_tools=chosen,
                           earlier=pdsa.site_options(db, site, exclude=cycle.id if cycle else None),
                           roles=[(role.value, role_label(role)) for role in roles],
                           decisions=[(d, wording.decision_label(d)) for d in ("",) + pdsa.DECISIONS]), status


def _submitted_values() -> dict:
    values = {name: request.form.get(name, "") for name in TEXT_FIELDS}
    values.update(measures=request.form.getlist("measures"), tools=request.form.getlist("tools"))
    return values


@bp.route("/sites/<slug>")
def site_cycles(slug: str):
    """A site's tests of change, ramp by ramp, newest first (addressed by short name, or by code as "S17")."""
    db, viewer = get_db(), actor()
    seen, site = _site(db, slug)
    cycles = pdsa.for_site(db, viewer, site)
    by_id = {c.id: c for c in cycles}
    return render_template("pdsa/site.html", site=site, label=seen.label(site), ref=seen.ref(site), cycles=cycles,
                           by_id=by_id, measures=pdsa.measures_of(db, cycles),
                           may_record=access.can(viewer, "pdsa.record", site))


@bp.route("/sites/<slug>/new", methods=["GET", "POST"])
def new_cycle(slug: str):
    """The site team records a test of change (a plan, or one under way)."""
    db, viewer = get_db(), actor()
    _seen, site = _site(db, slug, "site.view")
    access.require(viewer, "pdsa.record", site)
    if request.method == "GET":
        values = {"measures": [request.args["measure"]] if request.args.get("measure") else [], "tools": [],
                  "follows": request.args.get("follows", "")}
        return _form_page(site, values=values)
    try:
        cycle = pdsa.record(db, viewer, site, _fields_from_form())
    except Invalid as error:
        return _form_page(site, values=_submitted_values(), errors=localized_fields(error), status=422)
    flash(_("Test of change %(number)s recorded.", number=cycle.number), "success")
    return redirect(url_for("pdsa.cycle_page", cycle_id=cycle.id))


@bp.route("/<int:cycle_id>")
def cycle_page(cycle_id: int):
    """One cycle: its plan and study, its ramp, the linked measures' charts with the cycles marked, and what
    each chart did next."""
    db, viewer = get_db(), actor()
    cycle = pdsa.get(db, viewer, cycle_id)
    seen = viewer_lens(db, viewer)
    measures = pdsa.measures_of(db, [cycle])
    marks = pdsa.chart_marks(db, cycle.site)
    panels = []
    for measure, next_ in pdsa.outcomes_of(db, seen, cycle, measures):
        chart = outcome_reports.site_chart(db, seen, measure, cycle.site)
        panels.append({"measure": measure, "chart": chart, "cycles": marks.get(measure.id, ()),
                       "sentence": wording.next_sentence(next_)})
    return render_template("pdsa/cycle.html", cycle=cycle, site=cycle.site, label=seen.label(cycle.site),
                           ref=seen.ref(cycle.site), panels=panels,
                           ramp=pdsa.ramp(db, cycle), tools=pdsa.tools_of(db, viewer, [cycle]), charts=charts,
                           may_edit=access.can(viewer, "pdsa.edit", cycle), window=pdsa.WINDOW_MONTHS)


@bp.route("/<int:cycle_id>/edit", methods=["GET", "POST"])
def edit_cycle(cycle_id: int):
    """The site team edits a cycle: records what was done and learned, and decides."""
    db, viewer = get_db(), actor()
    cycle = pdsa.get(db, viewer, cycle_id)
    access.require(viewer, "pdsa.edit", cycle)
    if request.method == "GET":
        return _form_page(cycle.site, cycle=cycle, values=_values_of(cycle, db))
    try:
        pdsa.update(db, viewer, cycle.id, _fields_from_form(), version=request.form.get("version", type=int))
    except Invalid as error:
        return _form_page(cycle.site, cycle=cycle, values=_submitted_values(), errors=localized_fields(error), status=422)
    flash(_("Test of change %(number)s saved.", number=cycle.number), "success")
    return redirect(url_for("pdsa.cycle_page", cycle_id=cycle.id))


@bp.route("/measures/<key>")
def measure_cycles(key: str):
    """What sites tried for a measure, with what each site's chart did next (timing, not cause)."""
    db, viewer = get_db(), actor()
    access.require(viewer, "pdsa.view")
    measure = outcomes.measure_by_key(db, key)
    seen = viewer_lens(db, viewer)
    items = pdsa.tried_for_measure(db, seen, measure)
    decision = request.args.get("decision", "")
    if decision in pdsa.DECISIONS:
        items = [item for item in items if item.cycle.decision == decision]
    return render_template("pdsa/measure.html", measure=measure, measures=outcomes.measures(db), items=items,
                           decision=decision, window=pdsa.WINDOW_MONTHS,
                           sentences={item.cycle.id: wording.next_sentence(item.next) for item in items})
