"""Access matrix entries for library stewardship (collected by tests/test_access_matrix.py).

The actor is always signed in at the own site; `s` is the site whose objects the URL names, so a
site-scoped route answers (own site, other site).
"""
from __future__ import annotations

from datetime import date, timedelta

from tests.matrix_core import ACTORS, MEMBERS, TEAM_VIEW, Route

COAUTHOR = {**{a: 403 for a in ACTORS}, "anonymous": 302}


def coauthor_only(status, who="parent"):
    return {**COAUTHOR, who: status}


OVERDUE_READERS = {**COAUTHOR, "site_lead": 200, "network_leader": 200}


def team_edit(status):
    """The site's clinicians and site lead; its patients and parents and network leaders are refused;
    another site's adaptation is not found."""
    return {"anonymous": 302, "patient": (403, 404), "parent": (403, 404), "clinician": (status, 404),
            "site_lead": (status, 404), "network_leader": 403, "moderator": 404}


def glossary_editors(status):
    return {**COAUTHOR, "network_leader": status, "moderator": status}


def _stewardship_world(db, world):
    """A published handbook (co-authored by the own-site parent) adapted by both sites, each with a local
    edit; then a network revision that changes the same line; a published Spanish translation by the
    own-site clinician that is now behind; one glossary term."""
    from content import library, stewardship
    from tests.library_fixtures import HANDBOOK, make_resource, meta, publish

    parent = world.user("parent")
    resource = make_resource(db, parent, title="Stewarded handbook")
    publish(db, world, resource, approvers=("patient", "clinician"))
    world.stewarded, world.adaptations = resource, {}
    for where, site in (("own", world.own), ("other", world.other)):
        lead = world.user("site_lead", where)
        adaptation, _created = stewardship.adapt(db, lead, resource.id, site_id=site.id)
        current = stewardship.current_text(db, adaptation)
        stewardship.save_adaptation(db, lead, adaptation.id, base_revision_id=current.id, title=current.title,
                                    body=current.body.replace("Tell the teacher.", "Tell the teacher. Call 0100."),
                                    summary="Local number")
        world.adaptations[site.id] = adaptation
    world.translation = library.create(db, world.user("clinician"), title="Manual para familias",
                                       body="## En casa\n\nDescanso.\n", meta=meta(language="es"),
                                       translation_of_id=resource.id)
    publish(db, world, world.translation, approvers=("patient", "clinician"))
    library.save(db, parent, resource.id, base_revision_id=resource.current_revision_id, title=resource.title,
                 body=HANDBOOK.replace("Tell the teacher.", "Tell the teacher in writing."), summary="Clearer")
    publish(db, world, resource, approvers=("patient", "clinician"))
    world.term = stewardship.save_term(db, world.user("network_leader", "network"), term="exacerbation",
                                       plain="flare", language="en")


def _r(w, suffix=""):
    return f"/library/{w.stewarded.slug}{suffix}"


def _a(w, s, suffix=""):
    return f"/library/adaptations/{w.adaptations[s.id].id}{suffix}"


def _merge_data(w, s):
    from content import stewardship

    adaptation = w.adaptations[s.id]
    return {"network_revision_id": w.stewarded.published_revision_id,
            "adaptation_revision_id": stewardship.current_text(w.db, adaptation).id}


def _day(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


ROUTES = [
    Route("POST", "stewardship.confirm_review", lambda w, s: _r(w, "/confirm-review"), coauthor_only(302)),
    Route("POST", "stewardship.set_review_by", lambda w, s: _r(w, "/review-by"), coauthor_only(302),
          data={"review_by": _day(60)}),
    Route("POST", "stewardship.set_review_by", lambda w, s: _r(w, "/review-by"), coauthor_only(422),
          data={"review_by": _day(-1)}),
    Route("GET", "stewardship.overdue", lambda w, s: "/library/overdue", OVERDUE_READERS),
    Route("POST", "stewardship.adapt", lambda w, s: _r(w, "/adapt"), team_edit(302), data=lambda w, s: {"site": s.id}),
    Route("GET", "stewardship.adaptation", lambda w, s: _a(w, s), TEAM_VIEW),
    Route("GET", "stewardship.adaptation_revision", lambda w, s: _a(w, s, "/revisions/2"), TEAM_VIEW),
    Route("GET", "stewardship.edit_adaptation", lambda w, s: _a(w, s, "/edit"), team_edit(200)),
    Route("POST", "stewardship.edit_adaptation", lambda w, s: _a(w, s, "/edit"), team_edit(422), data={"title": ""}),
    Route("GET", "stewardship.merge", lambda w, s: _a(w, s, "/merge"), team_edit(200)),
    Route("POST", "stewardship.merge", lambda w, s: _a(w, s, "/merge"), team_edit(422), data=_merge_data),
    Route("GET", "stewardship.offer_back", lambda w, s: _a(w, s, "/offer"), team_edit(200)),
    Route("POST", "stewardship.offer_back", lambda w, s: _a(w, s, "/offer"), team_edit(422), data={"title": ""}),
    Route("GET", "stewardship.glossary", lambda w, s: "/library/glossary", MEMBERS),
    Route("POST", "stewardship.glossary", lambda w, s: "/library/glossary", glossary_editors(422)),
    Route("GET", "stewardship.glossary_term", lambda w, s: f"/library/glossary/{w.term.id}", glossary_editors(200)),
    Route("POST", "stewardship.glossary_term", lambda w, s: f"/library/glossary/{w.term.id}", glossary_editors(422),
          data={"term": ""}),
    Route("POST", "stewardship.delete_glossary_term", lambda w, s: f"/library/glossary/{w.term.id}/delete",
          glossary_editors(302)),
    Route("POST", "stewardship.readability_check", lambda w, s: "/library/readability", MEMBERS,
          data={"body": "Rest and fluids.", "language": "en", "audience": "parents"}),
    Route("GET", "stewardship.translation", lambda w, s: f"/library/{w.translation.slug}/translation", MEMBERS),
    Route("POST", "stewardship.translation", lambda w, s: f"/library/{w.translation.slug}/translation",
          coauthor_only(302, "clinician"),
          data=lambda w, s: {"original_revision_id": w.stewarded.published_revision_id}),
]

#: endpoint prefixes -> what their routes need in the database
WORLDS = {("stewardship.",): _stewardship_world}
