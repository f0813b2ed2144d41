"""Access-matrix entries for the front door: search, directory, groups, notifications, bright spots,
language."""
from __future__ import annotations

from tests.matrix_core import ACTORS, MEMBERS, Route, leaders


def _world(db, world):
    from network import groups

    world.group = groups.create(db, world.user("network_leader", "network"), name="Patient Advisory Council")


MEMBERS_302 = {a: 302 for a in ACTORS}

ROUTES = [
    Route("GET", "front.search", lambda w, s: "/search?q=school", MEMBERS),
    Route("GET", "front.directory", lambda w, s: "/people/", MEMBERS),
    Route("GET", "front.group_list", lambda w, s: "/groups/", MEMBERS),
    Route("POST", "front.create_group", lambda w, s: "/groups/", leaders(422)),
    Route("GET", "front.group", lambda w, s: f"/groups/{w.group.slug}", MEMBERS),
    Route("POST", "front.add_group_member", lambda w, s: f"/groups/{w.group.slug}/members", leaders(422)),
    Route("POST", "front.link_group", lambda w, s: f"/groups/{w.group.slug}/links", leaders(422)),
    Route("GET", "front.notification_list", lambda w, s: "/notifications", MEMBERS),
    Route("POST", "front.read_notifications", lambda w, s: "/notifications/read", MEMBERS_302),
    Route("GET", "front.notification_settings", lambda w, s: "/notifications/settings", MEMBERS),
    Route("POST", "front.notification_settings", lambda w, s: "/notifications/settings", MEMBERS_302),
    Route("GET", "front.bright_spot_list", lambda w, s: "/bright-spots", MEMBERS),
    Route("POST", "front.feature_bright_spot", lambda w, s: "/bright-spots/feature", {**leaders(404), "anonymous": 302}),
    Route("POST", "front.language", lambda w, s: "/language", MEMBERS_302, data={"language": "es"}),
]

WORLDS = {("front.",): _world}
