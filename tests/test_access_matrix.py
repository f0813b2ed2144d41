"""The access matrix: every route, every role (and anonymous), own site and another site -> status.

A route registered without an entry here fails `test_every_route_has_an_entry`, so no door opens
without a decision. Expectations: one status for every actor-site pair, or (own site, other site).
Network roles hold no site, so for them own and other are the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
from sqlalchemy import select

from network import people
from network.people import CareLink, Membership
from tests.outcome_fixtures import add_figures, add_measure, months

ACTORS = ("anonymous", "patient", "parent", "clinician", "site_lead", "network_leader", "moderator")


@dataclass
class Route:
    method: str
    endpoint: str
    url: Callable[[Any, Any], str]  # (world, target site) -> url
    expect: dict[str, Any]          # actor -> status or (own, other)
    data: dict | None = None


def membership_at(db, site, role="clinician"):
    return db.scalars(select(Membership).where(Membership.site_id == site.id, Membership.role == role)).one()


def _invitation(db, world, site):
    invitation, _token = people.invite(db, world.user("network_leader", "network"), email="x@example.org",
                                       full_name="X", role="parent", site_id=site.id, secret="s",
                                       link_for=lambda t: t)
    return invitation.id


def _token(db, world, site):
    from network import outcomes

    token, _secret = outcomes.create_token(db, world.user("network_leader", "network"), site, "matrix")
    return token.id


def _care_link(db, world, site):
    return db.scalars(select(CareLink).where(CareLink.patient_id == world.user(
        "patient", "own" if site is world.own else "other").id)).one().id


EVERYONE = {a: 200 for a in ACTORS}
MEMBERS = {"anonymous": 302, **{a: 200 for a in ACTORS[1:]}}
LEADERS_GET = {"anonymous": 302, "patient": 403, "parent": 403, "clinician": 403, "site_lead": 403,
               "network_leader": 200, "moderator": 403}


def leaders(status):
    return {**LEADERS_GET, "network_leader": status}


# Site-scoped: a site's own team, leaders anywhere; others see 404 for another site.
TEAM_VIEW = {"anonymous": 302, "patient": (200, 404), "parent": (200, 404), "clinician": (200, 404),
             "site_lead": (200, 404), "network_leader": 200, "moderator": 404}


def team_manage(status):
    return {"anonymous": 302, "patient": (403, 404), "parent": (403, 404), "clinician": (403, 404),
            "site_lead": (status, 404), "network_leader": status, "moderator": 404}


BAD_TOKEN = "eyJpZCI6MX0.tampered.signature"
ANON_401 = {"anonymous": 401, **{a: 200 for a in ACTORS[1:]}}
SUBMITTERS = {"anonymous": 302, "patient": 403, "parent": 403, "clinician": 403, "site_lead": 200,
              "network_leader": 403, "moderator": 403}


def submitters(status):
    return {**SUBMITTERS, "site_lead": status}

ROUTES = [
    Route("GET", "home.index", lambda w, s: "/", EVERYONE),
    Route("GET", "home.healthz", lambda w, s: "/healthz", EVERYONE),
    Route("GET", "auth.login", lambda w, s: "/login", {"anonymous": 200, **{a: 302 for a in ACTORS[1:]}}),
    Route("POST", "auth.login", lambda w, s: "/login", {"anonymous": 422, **{a: 302 for a in ACTORS[1:]}}),
    Route("POST", "auth.logout", lambda w, s: "/logout", {a: 302 for a in ACTORS}),
    Route("GET", "auth.accept_invitation", lambda w, s: f"/invite/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("POST", "auth.accept_invitation", lambda w, s: f"/invite/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("GET", "auth.request_reset", lambda w, s: "/reset", EVERYONE),
    Route("POST", "auth.request_reset", lambda w, s: "/reset", {a: 422 for a in ACTORS}),
    Route("GET", "auth.reset", lambda w, s: f"/reset/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("POST", "auth.reset", lambda w, s: f"/reset/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("GET", "auth.profile", lambda w, s: "/profile", MEMBERS),
    Route("POST", "auth.profile", lambda w, s: "/profile", {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}},
          data={"full_name": ""}),
    Route("GET", "sites.index", lambda w, s: "/sites/", MEMBERS),
    Route("GET", "sites.show", lambda w, s: f"/sites/{s.slug}", MEMBERS),
    Route("GET", "sites.team", lambda w, s: f"/sites/{s.slug}/team", TEAM_VIEW),
    Route("POST", "sites.invite", lambda w, s: f"/sites/{s.slug}/invitations", team_manage(422)),
    Route("POST", "sites.end_membership",
          lambda w, s: f"/sites/{s.slug}/team/{membership_at(w.db, s).id}/end", team_manage(302)),
    Route("POST", "sites.set_steward",
          lambda w, s: f"/sites/{s.slug}/team/{membership_at(w.db, s).id}/steward", team_manage(302),
          data={"data_steward": "y"}),
    Route("GET", "admin.index", lambda w, s: "/admin/", LEADERS_GET),
    Route("GET", "admin.sites", lambda w, s: "/admin/sites", LEADERS_GET),
    Route("POST", "admin.create_site", lambda w, s: "/admin/sites", leaders(422)),
    Route("GET", "admin.edit_site", lambda w, s: f"/admin/sites/{s.id}", LEADERS_GET),
    Route("POST", "admin.edit_site", lambda w, s: f"/admin/sites/{s.id}", leaders(422), data={"name": ""}),
    Route("GET", "admin.people_list", lambda w, s: "/admin/people", LEADERS_GET),
    Route("GET", "admin.person", lambda w, s: f"/admin/people/{w.user('parent').id}", LEADERS_GET),
    Route("POST", "admin.add_membership", lambda w, s: f"/admin/people/{w.user('parent').id}/memberships",
          leaders(422)),
    Route("POST", "admin.end_membership", lambda w, s: f"/admin/memberships/{membership_at(w.db, s).id}/end",
          leaders(302)),
    Route("POST", "admin.set_active", lambda w, s: f"/admin/people/{w.user('parent', 'other').id}/active",
          leaders(302), data={"active": "0"}),
    Route("POST", "admin.add_care_link", lambda w, s: "/admin/carelinks", leaders(422)),
    Route("POST", "admin.remove_care_link", lambda w, s: f"/admin/carelinks/{_care_link(w.db, w, s)}/delete",
          leaders(302)),
    Route("GET", "admin.invitations", lambda w, s: "/admin/invitations", LEADERS_GET),
    Route("POST", "admin.invite", lambda w, s: "/admin/invitations", leaders(422)),
    Route("POST", "admin.revoke_invitation",
          lambda w, s: f"/admin/invitations/{_invitation(w.db, w, s)}/revoke", leaders(302)),
    Route("GET", "admin.audit_log", lambda w, s: "/admin/audit", LEADERS_GET),
    # outcome sharing
    Route("GET", "outcomes.index", lambda w, s: "/outcomes/", {a: 302 for a in ACTORS}),
    Route("GET", "outcomes.overview", lambda w, s: "/outcomes/remission", MEMBERS),
    Route("GET", "outcomes.funnel", lambda w, s: "/outcomes/remission/funnel", MEMBERS),
    Route("GET", "outcomes.site", lambda w, s: f"/outcomes/sites/{s.slug}", MEMBERS),
    Route("GET", "outcomes.site_measure", lambda w, s: f"/outcomes/remission/sites/{s.slug}", MEMBERS),
    Route("GET", "outcomes.data_csv", lambda w, s: "/outcomes/remission/data.csv", MEMBERS),
    Route("GET", "outcomes.site_csv", lambda w, s: f"/outcomes/remission/sites/{s.slug}.csv", MEMBERS),
    Route("GET", "outcomes.network_svg", lambda w, s: "/outcomes/remission/network.svg", MEMBERS),
    Route("GET", "outcomes.site_svg", lambda w, s: f"/outcomes/remission/sites/{s.slug}.svg", MEMBERS),
    Route("GET", "outcomes.fhir_export", lambda w, s: "/outcomes/fhir.json", MEMBERS),
    Route("GET", "outcomes.submit", lambda w, s: "/outcomes/submit", SUBMITTERS),
    Route("POST", "outcomes.submit", lambda w, s: "/outcomes/submit", submitters(422)),
    Route("GET", "outcomes.upload", lambda w, s: "/outcomes/upload", SUBMITTERS),
    Route("POST", "outcomes.upload", lambda w, s: "/outcomes/upload", submitters(422)),
    Route("GET", "outcomes.tokens", lambda w, s: f"/outcomes/sites/{s.slug}/tokens", team_manage(200)),
    Route("POST", "outcomes.tokens", lambda w, s: f"/outcomes/sites/{s.slug}/tokens", team_manage(422)),
    Route("POST", "outcomes.revoke_token",
          lambda w, s: f"/outcomes/sites/{s.slug}/tokens/{_token(w.db, w, s)}/revoke", team_manage(302)),
    Route("GET", "outcomes.measures", lambda w, s: "/outcomes/measures/", MEMBERS),
    Route("GET", "outcomes.new_measure", lambda w, s: "/outcomes/measures/new", LEADERS_GET),
    Route("POST", "outcomes.new_measure", lambda w, s: "/outcomes/measures/new", leaders(422)),
    Route("GET", "outcomes.edit_measure", lambda w, s: "/outcomes/measures/remission/edit", LEADERS_GET),
    Route("POST", "outcomes.edit_measure", lambda w, s: "/outcomes/measures/remission/edit", leaders(422),
          data={"key": ""}),
    Route("GET", "public.index", lambda w, s: "/public/outcomes/", EVERYONE),
    Route("GET", "public.measure", lambda w, s: "/public/outcomes/remission", EVERYONE),
    Route("GET", "public.measure_csv", lambda w, s: "/public/outcomes/remission.csv", EVERYONE),
    Route("GET", "public.comparison_csv", lambda w, s: "/public/outcomes/remission/comparison.csv", EVERYONE),
    # JSON API (session or token; writes need a token)
    Route("GET", "api.openapi", lambda w, s: "/api/v1/openapi.json", EVERYONE),
    Route("GET", "api.list_measures", lambda w, s: "/api/v1/measures", EVERYONE),
    Route("GET", "api.network_series", lambda w, s: "/api/v1/measures/remission/network", EVERYONE),
    Route("GET", "api.site_series", lambda w, s: "/api/v1/measures/remission/sites", ANON_401),
    Route("POST", "api.post_submissions", lambda w, s: "/api/v1/submissions", {a: 401 for a in ACTORS}),
    Route("POST", "api.post_measure_report", lambda w, s: "/api/v1/fhir/MeasureReport", {a: 401 for a in ACTORS}),
    Route("GET", "api.get_measure_reports", lambda w, s: "/api/v1/fhir/MeasureReport", ANON_401),
]

#: endpoints that need no entry: files anyone may fetch
EXEMPT = {"static"}


def test_every_route_has_an_entry(app):
    covered = {(r.method, r.endpoint) for r in ROUTES}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, rule.endpoint) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without an access-matrix entry:\n" + "\n".join(sorted(missing))


def _cases():
    for route in ROUTES:
        for actor in ACTORS:
            for where in ("own", "other"):
                expected = route.expect[actor]
                status = expected[0 if where == "own" else 1] if isinstance(expected, tuple) else expected
                yield pytest.param(route, actor, where, status,
                                   id=f"{route.method} {route.endpoint} {actor} {where}")


@pytest.mark.parametrize("route,actor,where,status", list(_cases()))
def test_access(db, world, login_as, route, actor, where, status):
    world.db = db
    measure = add_measure(db)
    for site in (world.own, world.other):
        add_figures(db, site, measure, [(m, 60, 100) for m in months(2025, 6)])
    site = world.own if where == "own" else world.other
    url = route.url(world, site)
    client = login_as(actor)
    response = client.open(url, method=route.method, data=route.data or {})
    assert response.status_code == status, f"{route.method} {url} as {actor} ({where} site)"
    if status == 302 and actor == "anonymous" and route.endpoint not in ("auth.logout", "outcomes.index"):
        assert "/login" in response.headers["Location"]
