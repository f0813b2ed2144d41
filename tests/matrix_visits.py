"""Access-matrix entries for previsit plans and tracking: each site's patient has a submitted plan and
shared tracking; the own-site people are the family and the care team of the own-site patient only."""
from __future__ import annotations

from datetime import date, timedelta

from tests.matrix_core import ACTORS, MEMBERS, Route


def _world(db, world):
    from content import visits
    from tests.visit_fixtures import make_template, tracking_items

    tracking_items(db)
    template = make_template(db, world)
    world.plans = {}
    for where, site in (("own", world.own), ("other", world.other)):
        parent, patient = world.user("parent", where), world.user("patient", where)
        plan = visits.start_plan(db, parent, patient_id=patient.id, site_id=site.id,
                                 visit_date=date.today() + timedelta(days=5), template_id=template.id)
        visits.save_answers(db, parent, plan.id, {"energy": 5}, submit=True)
        visits.set_sharing(db, patient, patient.id, True)
        world.plans[site.id] = plan


def _plan(w, s, suffix=""):
    return f"/care/plans/{w.plans[s.id].id}{suffix}"


def _patient(w, s, suffix):
    where = "own" if s is w.own else "other"
    return f"/care/{suffix.format(id=w.user('patient', where).id)}"


def expect(family, team, outsiders=404):
    """(own site, other site): own-site family and team act on their own patient only."""
    return {"anonymous": 302, "patient": (family, 404), "parent": (family, 404), "clinician": (team, 404),
            "site_lead": (team, 404), "network_leader": outsiders, "moderator": outsiders}


ROUTES = [
    Route("GET", "visits.index", lambda w, s: "/care/", MEMBERS),
    Route("GET", "visits.new_plan", lambda w, s: "/care/plans/new",
          {**{a: 404 for a in ACTORS}, "anonymous": 302, "patient": 200, "parent": 200}),
    Route("POST", "visits.new_plan", lambda w, s: "/care/plans/new",
          {**{a: 404 for a in ACTORS}, "anonymous": 302, "patient": 422, "parent": 422}),
    Route("GET", "visits.plan", _plan, expect(200, 200)),
    Route("POST", "visits.plan", _plan, expect(409, 403)),
    Route("POST", "visits.add_note", lambda w, s: _plan(w, s, "/notes"), expect(403, 422)),
    Route("POST", "visits.add_goals", lambda w, s: _plan(w, s, "/goals"), expect(422, 422)),
    Route("POST", "visits.rate", lambda w, s: _plan(w, s, "/rating"), expect(422, 403)),
    Route("GET", "visits.worklist", lambda w, s: f"/care/worklist/{s.slug}",
          {"anonymous": 302, "patient": (403, 404), "parent": (403, 404), "clinician": (200, 404),
           "site_lead": (200, 404), "network_leader": 403, "moderator": 404}),
    Route("GET", "visits.tracking", lambda w, s: _patient(w, s, "tracking/{id}"), expect(200, 200)),
    Route("POST", "visits.tracking", lambda w, s: _patient(w, s, "tracking/{id}"), expect(422, 403)),
    Route("POST", "visits.sharing", lambda w, s: _patient(w, s, "tracking/{id}/sharing"), expect(302, 403)),
    Route("GET", "visits.access_log", lambda w, s: _patient(w, s, "patients/{id}/access-log"), expect(200, 403)),
    Route("GET", "visits.export_json", lambda w, s: _patient(w, s, "patients/{id}/data.json"), expect(200, 403)),
    Route("GET", "visits.export_csv", lambda w, s: _patient(w, s, "patients/{id}/data.csv"), expect(200, 403)),
    Route("POST", "visits.delete", lambda w, s: _patient(w, s, "patients/{id}/delete"), expect(422, 403)),
]

WORLDS = {("visits.",): _world}
