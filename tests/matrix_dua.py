"""Access-matrix entries for the data-use agreement and blinding: reading, accepting (the current
version only), publishing and the acceptance list; and the outcome pages addressed by short name or by
code once an agreement is published that nobody in the matrix world has accepted."""
from __future__ import annotations

from tests.matrix_core import ACTORS, ANON_401, LEADERS_GET, MEMBERS, Route, leaders

AGREEMENT = "# Data-use agreement\n\nWe use other sites' figures to learn, never to rank or shame."


def _publish(db, world):
    """Version 1, published by the network leader; nobody has accepted it."""
    from network import agreements

    if agreements.current(db) is None:
        agreements.publish(db, world.user("network_leader", "network"), body=AGREEMENT)


def _blinded(url):
    """A URL builder that first publishes the agreement, so every member in the matrix is blinded."""
    def build(w, s):
        _publish(w.db, w)
        return url(w, s)
    return build


def _measure_id(w) -> int:
    from network import outcomes

    return outcomes.measure_by_key(w.db, "remission").id


MEMBERS_302 = {a: 302 for a in ACTORS}
MEMBERS_STATUS = lambda status: {"anonymous": 302, **{a: status for a in ACTORS[1:]}}  # noqa: E731
# a blinded member may open their own site by short name; another site only by code
OWN_BY_NAME = {"anonymous": 302, "patient": (200, 403), "parent": (200, 403), "clinician": (200, 403),
               "site_lead": (200, 403), "network_leader": 403, "moderator": 403}
FEATURE = {**{a: 403 for a in ACTORS}, "anonymous": 302}

ROUTES = [
    Route("GET", "agreement.show", lambda w, s: "/agreement/", MEMBERS),
    Route("POST", "agreement.accept", lambda w, s: "/agreement/accept", MEMBERS_302, data={"version": "1"}),
    Route("POST", "agreement.accept", lambda w, s: "/agreement/accept", MEMBERS_STATUS(409), data={"version": "2"}),
    Route("POST", "agreement.accept", lambda w, s: "/agreement/accept", MEMBERS_STATUS(422), data={"version": "x"}),
    Route("GET", "agreement.version", lambda w, s: "/agreement/versions/1", MEMBERS),
    Route("GET", "agreement.version", lambda w, s: "/agreement/versions/9", MEMBERS_STATUS(404)),
    Route("GET", "agreement.manage", lambda w, s: "/agreement/manage", LEADERS_GET),
    Route("POST", "agreement.publish", lambda w, s: "/agreement/manage", leaders(422), data={"body": "  "}),
    Route("POST", "agreement.publish", lambda w, s: "/agreement/manage", leaders(302),
          data={"body": AGREEMENT + "\n\nVersion 2.", "summary": "Clearer wording"}),
    Route("GET", "api.agreement_status", lambda w, s: "/api/v1/agreement", ANON_401),
    # blinded outcome pages: by short name only for one's own site, by code for every member
    Route("GET", "outcomes.site", _blinded(lambda w, s: f"/outcomes/sites/{s.slug}"), OWN_BY_NAME),
    Route("GET", "outcomes.site", _blinded(lambda w, s: f"/outcomes/sites/S{s.code}"), MEMBERS),
    Route("GET", "outcomes.site_measure", _blinded(lambda w, s: f"/outcomes/remission/sites/{s.slug}"), OWN_BY_NAME),
    Route("GET", "outcomes.site_measure", _blinded(lambda w, s: f"/outcomes/remission/sites/S{s.code}"), MEMBERS),
    Route("GET", "outcomes.site_csv", _blinded(lambda w, s: f"/outcomes/remission/sites/{s.slug}.csv"), OWN_BY_NAME),
    Route("GET", "outcomes.site_csv", _blinded(lambda w, s: f"/outcomes/remission/sites/S{s.code}.csv"), MEMBERS),
    Route("GET", "outcomes.site_svg", _blinded(lambda w, s: f"/outcomes/remission/sites/{s.slug}.svg"), OWN_BY_NAME),
    Route("GET", "outcomes.site_svg", _blinded(lambda w, s: f"/outcomes/remission/sites/S{s.code}.svg"), MEMBERS),
    Route("GET", "outcomes.site", _blinded(lambda w, s: "/outcomes/sites/S999"), MEMBERS_STATUS(404)),
    Route("POST", "front.feature_bright_spot", _blinded(lambda w, s: "/bright-spots/feature"),
          {**FEATURE, "network_leader": 403}, data=lambda w, s: {"site": s.slug, "measure": _measure_id(w),
                                                                 "featured": "1"}),
    Route("POST", "front.feature_bright_spot", _blinded(lambda w, s: "/bright-spots/feature"),
          {**FEATURE, "network_leader": 302}, data=lambda w, s: {"site": f"S{s.code}", "measure": _measure_id(w),
                                                                 "featured": "1"}),
]

WORLDS = {("agreement.", "api.agreement_status"): _publish}
