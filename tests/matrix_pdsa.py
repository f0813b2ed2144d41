"""Access-matrix entries for tests of change (PDSA cycles), collected by tests/test_access_matrix.py.

Each site has one cycle (recorded by its site lead) linked to the matrix's remission measure; `s` is the
site whose cycle or page the URL names, so a site-scoped write answers (own site, other site).
"""
from __future__ import annotations

from tests.matrix_core import ACTORS, MEMBERS, Route
from tests.matrix_dua import OWN_BY_NAME, _blinded

ANON_401 = {"anonymous": 401, **{a: 200 for a in ACTORS[1:]}}


def team_edit(status, anonymous=302):
    """The site's clinicians and site lead; its patients and parents and network leaders are refused;
    another site's cycle is not found."""
    return {"anonymous": anonymous, "patient": (403, 404), "parent": (403, 404), "clinician": (status, 404),
            "site_lead": (status, 404), "network_leader": 403, "moderator": 404}


def _pdsa_world(db, world):
    from content import pdsa

    world.cycles = {}
    for where, site in (("own", world.own), ("other", world.other)):
        fields = pdsa.CycleFields(title="Huddle", aim="More plans", change="A morning huddle",
                                  prediction="We predict the share of visits with a plan rises",
                                  start_month="2025-02", end_month="2025-03", measures=["remission"])
        world.cycles[site.id] = pdsa.record(db, world.user("site_lead", where), site, fields)


def _c(w, s, suffix=""):
    return f"/pdsa/{w.cycles[s.id].id}{suffix}"


ROUTES = [
    Route("GET", "pdsa.site_cycles", lambda w, s: f"/pdsa/sites/{s.slug}", MEMBERS),
    Route("GET", "pdsa.new_cycle", lambda w, s: f"/pdsa/sites/{s.slug}/new", team_edit(200)),
    Route("POST", "pdsa.new_cycle", lambda w, s: f"/pdsa/sites/{s.slug}/new", team_edit(422), data={"title": ""}),
    Route("GET", "pdsa.cycle_page", lambda w, s: _c(w, s), MEMBERS),
    Route("GET", "pdsa.edit_cycle", lambda w, s: _c(w, s, "/edit"), team_edit(200)),
    Route("POST", "pdsa.edit_cycle", lambda w, s: _c(w, s, "/edit"), team_edit(409), data={"version": "99"}),
    Route("GET", "pdsa.measure_cycles", lambda w, s: "/pdsa/measures/remission", MEMBERS),
    Route("GET", "api.list_cycles", lambda w, s: f"/api/v1/cycles?site={s.slug}", ANON_401),
    Route("GET", "api.show_cycle", lambda w, s: f"/api/v1/cycles/{w.cycles[s.id].id}", ANON_401),
    Route("POST", "api.create_cycle", lambda w, s: f"/api/v1/sites/{s.slug}/cycles", team_edit(422, 401),
          data={"title": "x"}),
    Route("PUT", "api.update_cycle", lambda w, s: f"/api/v1/cycles/{w.cycles[s.id].id}", team_edit(422, 401),
          data={"title": "x"}),
    # once an agreement is published that nobody accepted: other sites by code only (as the outcome pages)
    Route("GET", "pdsa.site_cycles", _blinded(lambda w, s: f"/pdsa/sites/{s.slug}"), OWN_BY_NAME),
    Route("GET", "pdsa.site_cycles", _blinded(lambda w, s: f"/pdsa/sites/S{s.code}"), MEMBERS),
    Route("GET", "pdsa.measure_cycles", _blinded(lambda w, s: "/pdsa/measures/remission"), MEMBERS),
    Route("GET", "api.list_cycles", _blinded(lambda w, s: f"/api/v1/cycles?site=S{s.code}"), ANON_401),
    Route("GET", "api.list_cycles", _blinded(lambda w, s: f"/api/v1/cycles?site={s.slug}"),
          {**OWN_BY_NAME, "anonymous": 401}),
    Route("POST", "api.create_cycle", _blinded(lambda w, s: f"/api/v1/sites/S{s.code}/cycles"), team_edit(422, 401),
          data={"title": "x"}),
]

WORLDS = {("pdsa.", "api.list_cycles", "api.show_cycle", "api.create_cycle", "api.update_cycle"): _pdsa_world}
