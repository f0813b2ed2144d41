"""Access-matrix entries for minors and the move to adult care, and my data. Each site's patient is a
teen linked to that site's parent; each site also has an under-13 child linked to the same parent."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.matrix_core import ACTORS, MEMBERS, Route


def _world(db, world):
    from network.people import CareLink, Membership, User

    world.children = {}
    for where, site in (("own", world.own), ("other", world.other)):
        child = User(email=None, full_name=f"Child {where.title()}", birth_year=date.today().year - 8)
        db.add(child)
        db.flush()
        db.add(Membership(user_id=child.id, site_id=site.id, role="patient"))
        db.add(CareLink(parent_id=world.user("parent", where).id, patient_id=child.id))
        world.children[site.id] = child
    db.commit()
    world.teen_links = {site.id: db.scalar(select(CareLink.id).where(
        CareLink.patient_id == world.user("patient", where).id)) for where, site in (("own", world.own),
                                                                                  ("other", world.other))}


def _link(w, s, action):
    return f"/me/adult-care/{w.teen_links[s.id]}/{action}"


#: only the patient decides on their own links (from 18: the matrix's teen gets 409, "not yet");
#: the linked parent is refused, everyone else does not see the link
PATIENT_DECIDES = {**{a: 404 for a in ACTORS}, "anonymous": 302, "patient": (409, 404), "parent": (403, 404)}
#: a parent downloads their under-13 child's data; nobody else sees it
GUARDIAN_ONLY = {**{a: 404 for a in ACTORS}, "anonymous": 302, "parent": (200, 404)}

ROUTES = [
    Route("GET", "me.adult_care", lambda w, s: "/me/adult-care", MEMBERS),
    Route("POST", "me.renew_access", lambda w, s: _link(w, s, "renew"), PATIENT_DECIDES),
    Route("POST", "me.end_access", lambda w, s: _link(w, s, "end"), PATIENT_DECIDES),
    Route("GET", "me.my_data", lambda w, s: "/me/data", MEMBERS),
    Route("GET", "me.export_zip", lambda w, s: "/me/data/export.zip", MEMBERS),
    Route("GET", "me.export_child_zip", lambda w, s: f"/me/data/children/{w.children[s.id].id}/export.zip",
          GUARDIAN_ONLY),
    Route("POST", "me.close_account", lambda w, s: "/me/data/close",
          {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}}),
]

WORLDS = {("me.",): _world}  # the blueprint was "account" on its branch
