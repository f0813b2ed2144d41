"""Access-matrix entries for two-step sign-in, signed-in devices, and consent to the terms of use and
privacy notice."""
from __future__ import annotations

from tests.matrix_core import ACTORS, EVERYONE, LEADERS_GET, MEMBERS, Route, leaders


def _world(db, world):
    """A published terms of use that every world member has accepted (so the consent gate lets them
    through), and a signed-in device of someone else's for the sign-out route."""
    from network import consent, devices

    leader = world.user("network_leader", "network")
    world.terms = consent.publish(db, leader, kind="terms", title="Terms of use", body="Be kind.")
    for user in world.people.values():
        consent.accept(db, user, document_id=world.terms.id, version=1)
    stranger = world.user("parent", "other")
    devices.start(db, stranger, user_agent="Firefox/140 (Windows)", address="192.0.2.7")
    world.stranger_device = devices.signed_in_devices(db, stranger)[0].id


ALL_302 = {a: 302 for a in ACTORS}
SIGNED_IN_422 = {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}}
#: patients and parents may turn it off (an empty form goes back with a message); roles that require it may not
DISABLE = {"anonymous": 302, "patient": 302, "parent": 302, "clinician": 403, "site_lead": 403,
           "network_leader": 403, "moderator": 403}

ROUTES = [
    # the second step at sign-in: without a pending password step, everyone goes back to sign-in
    Route("GET", "account.sign_in_code", lambda w, s: "/login/code", ALL_302),
    Route("POST", "account.sign_in_code", lambda w, s: "/login/code", ALL_302, data={"code": "123456"}),
    Route("GET", "account.sign_in_setup", lambda w, s: "/login/setup", ALL_302),
    Route("POST", "account.sign_in_setup", lambda w, s: "/login/setup", ALL_302, data={"code": "123456"}),
    # one's own security page
    Route("GET", "account.security", lambda w, s: "/account/security", MEMBERS),
    Route("GET", "account.setup", lambda w, s: "/account/two-step", MEMBERS),
    Route("POST", "account.setup", lambda w, s: "/account/two-step", SIGNED_IN_422),
    Route("POST", "account.new_recovery_codes", lambda w, s: "/account/two-step/recovery-codes", ALL_302),
    Route("POST", "account.disable", lambda w, s: "/account/two-step/off", DISABLE),
    Route("POST", "account.sign_out_device", lambda w, s: f"/account/devices/{w.stranger_device}/sign-out",
          {"anonymous": 302, **{a: 404 for a in ACTORS[1:]}}),
    Route("POST", "account.sign_out_others", lambda w, s: "/account/devices/sign-out-others", ALL_302),
    # terms of use and privacy notice
    Route("POST", "account.reset_twostep", lambda w, s: f"/admin/people/{w.user('clinician').id}/two-step/reset",
          leaders(302)),
    Route("GET", "account.policy", lambda w, s: "/policies/terms", EVERYONE),
    Route("GET", "account.consent_page", lambda w, s: "/consent", ALL_302),
    Route("POST", "account.accept", lambda w, s: "/consent", SIGNED_IN_422),
    Route("GET", "account.policies", lambda w, s: "/admin/policies", LEADERS_GET),
    Route("POST", "account.policies", lambda w, s: "/admin/policies", leaders(422)),
]

WORLDS = {("account.",): _world}
