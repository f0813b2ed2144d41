"""Shared pieces of the access matrix: the actors, the Route record and the usual expectations.

Feature modules named tests/matrix_*.py add their own ROUTES and WORLDS (endpoint prefixes -> a
function that builds the objects their routes need); tests/test_access_matrix.py collects them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import select

from network import people
from network.people import CareLink, Membership

ACTORS = ("anonymous", "patient", "parent", "clinician", "site_lead", "network_leader", "moderator")


@dataclass
class Route:
    method: str
    endpoint: str
    url: Callable[[Any, Any], str]  # (world, target site) -> url
    expect: dict[str, Any]          # actor -> status or (own, other)
    data: dict | Callable[[Any, Any], dict] | None = None


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

