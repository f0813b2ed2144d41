"""Access-matrix entries for network health (dashboard, public summary, JSON API) and the Patient
Advisory Council's decision log (proposals, discussion, votes, consensus, action items)."""
from __future__ import annotations

from datetime import date

from tests.matrix_core import ACTORS, EVERYONE, MEMBERS, Route


def _world(db, world):
    """A council chaired by the own-site parent with the own-site patient as member: an open anonymous
    vote, an open consensus, a decided unpublished decision with the patient's action item, and a
    published decision."""
    from network import council, groups

    leader, parent, patient = (world.user("network_leader", "network"), world.user("parent"), world.user("patient"))
    world.group = groups.create(db, leader, name="Patient Advisory Council")
    groups.add_member(db, leader, world.group, parent.email, "chair")
    groups.add_member(db, leader, world.group, patient.email, "member")
    world.vote = council.propose(db, parent, world.group, title="Colour scheme", method="vote", anonymous=True)
    world.consensus = council.propose(db, parent, world.group, title="Meeting time", method="consensus")
    world.secret = council.propose(db, parent, world.group, title="Private matter", method="consensus")
    council.record_consensus(db, parent, world.secret, outcome="Agreed", participant_ids=[parent.id, patient.id])
    world.item = council.add_action(db, parent, world.secret, description="Write it up", owner_id=patient.id,
                                    due_on=date(2030, 1, 1))
    world.shared = council.propose(db, parent, world.group, title="Shared matter", method="consensus")
    council.record_consensus(db, parent, world.shared, outcome="Agreed", participant_ids=[parent.id])
    council.set_published(db, parent, world.shared, True)


def _d(w, decision, suffix=""):
    return f"/groups/{w.group.slug}/decisions/{decision.id}{suffix}"


def _group_only(members, leader, others=404):
    """Patient (member) and parent (chair) are in the group; others do not see an unpublished decision."""
    return {"anonymous": 302, "patient": members[0], "parent": members[1], "clinician": others, "site_lead": others,
            "network_leader": leader, "moderator": others}


LEADS = {"anonymous": 302, "patient": 403, "parent": 403, "clinician": 403, "site_lead": 200,
         "network_leader": 200, "moderator": 403}

ROUTES = [
    Route("GET", "health.dashboard", lambda w, s: "/health/", LEADS),
    Route("GET", "health.public_summary", lambda w, s: "/public/health", EVERYONE),
    Route("GET", "api.health_figures", lambda w, s: "/api/v1/health", {**LEADS, "anonymous": 401}),
    Route("GET", "api.health_public", lambda w, s: "/api/v1/health/public", EVERYONE),
    Route("GET", "council.log", lambda w, s: f"/groups/{w.group.slug}/decisions", MEMBERS),
    Route("POST", "council.propose", lambda w, s: f"/groups/{w.group.slug}/decisions",
          _group_only((422, 422), 403, 403)),
    Route("GET", "council.show", lambda w, s: _d(w, w.secret), _group_only((200, 200), 200)),
    Route("GET", "council.show", lambda w, s: _d(w, w.shared), MEMBERS),
    Route("POST", "council.comment", lambda w, s: _d(w, w.consensus, "/comments"), _group_only((422, 422), 403)),
    Route("POST", "council.vote", lambda w, s: _d(w, w.vote, "/vote"), _group_only((422, 422), 403)),
    Route("POST", "council.close", lambda w, s: _d(w, w.vote, "/close"), _group_only((403, 302), 302)),
    Route("POST", "council.record", lambda w, s: _d(w, w.consensus, "/record"), _group_only((403, 422), 422)),
    Route("POST", "council.publish", lambda w, s: _d(w, w.secret, "/publish"), _group_only((403, 302), 302)),
    Route("POST", "council.add_action", lambda w, s: _d(w, w.secret, "/actions"), _group_only((403, 422), 422)),
    Route("GET", "council.my_actions", lambda w, s: "/actions/", MEMBERS),
    Route("POST", "council.complete_action", lambda w, s: f"/actions/{w.item.id}/done",
          {**{a: 403 for a in ACTORS}, "anonymous": 302, "patient": 302, "parent": 302, "network_leader": 302}),
    Route("GET", "council.network_decisions", lambda w, s: "/decisions/", MEMBERS),
]

WORLDS = {("council.",): _world}
