"""Builders for library tests."""
from __future__ import annotations

from content import library
from content.library import Meta

HANDBOOK = "## Caring at home\n\nRest, fluids and a plan.\n\n## At school\n\nTell the teacher.\n"


def meta(**overrides) -> Meta:
    fields = dict(type="handbook", audience=["parents"], language="en", tags=["school"])
    fields.update(overrides)
    return Meta(**fields)


def make_resource(db, author, *, title="Handbook for families", body=HANDBOOK, **meta_overrides):
    return library.create(db, author, title=title, body=body, meta=meta(**meta_overrides))


def publish(db, world, resource, *, approvers=("parent", "clinician")):
    """Through the real workflow: review by a parent and a clinician, then publish."""
    author = next(u for u in world.people.values() if u.id in resource.coauthor_ids)
    library.submit_for_review(db, author, resource.id)
    for role in approvers:
        reviewer = world.user(role, "other") if world.user(role, "own").id in resource.coauthor_ids else world.user(role)
        library.review(db, reviewer, resource.id, decision="approve")
    return library.publish(db, author, resource.id)
