"""Coproduction at the visit: families plan visits and track how they are doing; the care team reads
plans on its worklist, adds notes and records the goals agreed together."""
from __future__ import annotations

import json
from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.forms import ActionForm
from app.web import actor, form_post
from content import visits
from content.markdown import render
from network import access, people, spc
from network.errors import Invalid
from network.roles import Role

bp = Blueprint("visits", __name__, url_prefix="/care")


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _answers(fields) -> dict:
    raw = {}
    for f in fields:
        if f.kind == "multi":
            values = request.form.getlist(f.key)
            if values:
                raw[f.key] = values
        elif request.form.get(f.key, "") != "":
            raw[f.key] = request.form.get(f.key)
    return raw


@bp.route("/")
def index():
    """The family's plans and tracking; a clinician's worklists."""
    db = get_db()
    viewer = actor()
    access.require(viewer, "network.view")
    patients = visits.my_patients(db, viewer)
    plans = {p.id: visits.plans_of(db, viewer, p.id) for p in patients}
    team_sites = [s for s in people.active_sites(db) if access.can(viewer, "plan.worklist", s)]
    return render_template("visits/index.html", patients=patients, plans=plans, team_sites=team_sites,
                           templates=visits.templates(db))


@bp.route("/plans/new", methods=["GET", "POST"])
def new_plan():
    """Plan a visit: the patient (or their parent) picks the site, the date and a template."""
    db = get_db()
    viewer = actor()
    patients = visits.my_patients(db, viewer)
    if not patients:
        access.require(viewer, "patient_data.edit", visits.PatientScope(-1, frozenset(), frozenset()))
    started = form_post(None, lambda: visits.start_plan(
        db, viewer, patient_id=request.form.get("patient", type=int), site_id=request.form.get("site", type=int),
        visit_date=_date(request.form.get("visit_date")), template_id=request.form.get("template", type=int)))
    if started.ok:
        return redirect(url_for("visits.plan", plan_id=started.result.id))
    sites = {p.id: [s for s in people.active_sites(db) if s.id in p.site_ids(Role.PATIENT)] for p in patients}
    return render_template("visits/new_plan.html", patients=patients, sites=sites, templates=visits.templates(db),
                           errors=started.errors, values=request.form, today=date.today()), started.status


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
def plan(plan_id: int):
    """Fill in (family) or read (care team) a plan; notes, agreed goals and the family's rating."""
    db = get_db()
    viewer = actor()
    item = visits.view_plan(db, viewer, plan_id)
    fields = visits.plan_fields(db, item)
    data_scope = visits.scope(db, item.visit.patient)
    family = visits.is_family(viewer, data_scope)
    saved = form_post(None, lambda: visits.save_answers(db, viewer, item.id, _answers(fields),
                                                        submit=request.form.get("submit") == "1"))
    if saved.ok:
        flash(_("Shared with your care team.") if item.status == "submitted" else _("Saved. Share it when ready."),
              "success")
        return redirect(url_for("visits.plan", plan_id=item.id))
    values = request.form if request.method == "POST" else None
    summary = visits.tracking_summary(db, viewer, item)
    return render_template("visits/plan.html", item=item, fields=fields, errors=saved.errors, values=values,
                           family=family,
                           notes=visits.notes(db, item), goals=visits.goals(db, item), summary=summary,
                           items=visits.tracking_items(db), trend=_trend(summary, "pain"), render=render,
                           may_annotate=access.can(viewer, "plan.annotate", visits.PatientScope(
                               data_scope.patient_id, frozenset({item.visit.site_id}), data_scope.parent_ids)),
                           action_form=ActionForm()), saved.status


def _trend(entries, key: str):
    """A run chart of one tracking item (a picture of the last weeks, drawn by the SPC engine)."""
    from app import charts

    points = [(e.entry_date.isoformat(), e.values[key]) for e in entries or [] if isinstance(e.values.get(key), int)]
    if len(points) < 2:
        return None
    result = spc.run_chart([v for _d, v in points])
    labels = [d[:7] for d, _v in points]
    return charts.control_chart_svg(result, labels, title=_("Tummy pain, day by day"),
                                    description=_("Pain from 0 to 10 on each day logged; lower is better."),
                                    better="lower", percent=False, chart_id=f"trend-{key}")


@bp.route("/plans/<int:plan_id>/notes", methods=["POST"])
def add_note(plan_id: int):
    """A clinician's note on the plan."""
    visits.add_note(get_db(), actor(), plan_id, request.form.get("body", ""))
    flash(_("Note added."), "success")
    return redirect(url_for("visits.plan", plan_id=plan_id) + "#notes")


@bp.route("/plans/<int:plan_id>/goals", methods=["POST"])
def add_goals(plan_id: int):
    """After the visit: the goals agreed together and who does what."""
    goals = list(zip(request.form.getlist("goal"), request.form.getlist("who")))
    visits.record_goals(get_db(), actor(), plan_id, goals)
    flash(_("Agreed goals recorded."), "success")
    return redirect(url_for("visits.plan", plan_id=plan_id) + "#goals")


@bp.route("/plans/<int:plan_id>/rating", methods=["POST"])
def rate(plan_id: int):
    """The family answers: were my goals discussed? (0–10)."""
    score = request.form.get("score", type=int)
    visits.rate_goals_discussed(get_db(), actor(), plan_id, score if score is not None else -1)
    flash(_("Thank you."), "success")
    return redirect(url_for("visits.plan", plan_id=plan_id))


@bp.route("/worklist/<slug>")
def worklist(slug: str):
    """The care team's upcoming visits and their plans."""
    db = get_db()
    site = people.site_by_slug(db, actor(), slug)
    return render_template("visits/worklist.html", site=site, rows=visits.worklist(db, actor(), site))


@bp.route("/tracking/<int:patient_id>", methods=["GET", "POST"])
def tracking(patient_id: int):
    """Log how today went (phone-sized form), see the trend, choose whether the care team sees it."""
    db = get_db()
    viewer = actor()
    items = visits.tracking_items(db)
    logged = form_post(None, lambda: visits.log_entry(db, viewer, patient_id,
                                                      entry_date=_date(request.form.get("entry_date")),
                                                      values={i.key: request.form.get(i.key, "") for i in items}))
    if logged.ok:
        flash(_("Saved."), "success")
        return redirect(url_for("visits.tracking", patient_id=patient_id))
    rows = visits.entries(db, viewer, patient_id, since=date.today() - timedelta(weeks=8))
    patient = db.get(people.User, patient_id)
    family = visits.is_family(viewer, visits.scope(db, patient))
    return render_template("visits/tracking.html", patient=patient, items=items, rows=rows, errors=logged.errors,
                           values=request.form if request.method == "POST" else {}, today=date.today(),
                           trend=_trend(rows, "pain"), family=family, shared=visits.is_shared(db, patient_id),
                           action_form=ActionForm()), logged.status


@bp.route("/tracking/<int:patient_id>/sharing", methods=["POST"])
def sharing(patient_id: int):
    """The family decides whether the care team sees the tracking."""
    visits.set_sharing(get_db(), actor(), patient_id, request.form.get("shared") == "1")
    flash(_("Your choice is saved."), "success")
    return redirect(url_for("visits.tracking", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/access-log")
def access_log(patient_id: int):
    """Who outside the family looked at this patient's plans or tracking, and when."""
    db = get_db()
    return render_template("visits/access_log.html", patient=db.get(people.User, patient_id),
                           events=visits.access_log(db, actor(), patient_id))


@bp.route("/patients/<int:patient_id>/data.json")
def export_json(patient_id: int):
    """All of the patient's plans and tracking, as JSON."""
    data = visits.export(get_db(), actor(), patient_id)
    return Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-carecommons-data.json"'})


@bp.route("/patients/<int:patient_id>/data.csv")
def export_csv(patient_id: int):
    """The same, as CSV."""
    data = visits.export(get_db(), actor(), patient_id)
    return Response(visits.export_csv(data), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="my-carecommons-data.csv"'})


@bp.route("/patients/<int:patient_id>/delete", methods=["POST"])
def delete(patient_id: int):
    """Delete the patient's plans and tracking for good."""
    visits.require_family(get_db(), actor(), patient_id)
    if request.form.get("confirm") != "delete":
        raise Invalid({"confirm": [_("Type “delete” to confirm.")]})
    visits.delete_all(get_db(), actor(), patient_id)
    flash(_("All plans and tracking were deleted."), "success")
    return redirect(url_for("visits.index"))


@bp.app_template_global()
def plan_field_hint(kind: str) -> str:
    return {"scale": _("0 to 10"), "date": _("YYYY-MM-DD")}.get(kind, "")


