"""Demo data for the front door: people in the directory, working groups, a few notifications."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import notifications
from network.groups import Group, GroupMember
from network.i18n import N_
from network.people import User

OFFERS = {
    "parent.riverside-childrens": "Happy to talk with newly diagnosed families.",
    "patient.northgate-ibd": "Happy to talk with teens starting at a new school.",
    "clinician.riverside-childrens": "Ask me about previsit planning in clinic.",
    "lead.northgate-ibd": "Glad to share how we run our population-management huddle.",
    "parent.northgate-ibd": "Siblings, school letters, and holidays with IBD.",
}

GROUPS = [
    ("patient-advisory-council", "Patient Advisory Council",
     "Patients and parents who advise the network on what to build and how to say it.",
     ["parent.riverside-childrens", "patient.northgate-ibd", "parent.northgate-ibd", "patient.riverside-childrens"]),
    ("transition-working-group", "Transition working group",
     "Teens, parents and clinicians improving the move to adult care.",
     ["patient.riverside-childrens", "doctor.riverside-childrens", "clinician.northgate-ibd", "parent.riverside-childrens"]),
]


def seed(db: Session, leader: User) -> None:
    users = {u.email.split("@")[0]: u for u in db.scalars(select(User).where(User.email.is_not(None)))}
    for key, offer in OFFERS.items():
        if key in users:
            users[key].in_directory, users[key].offers = True, offer
    for slug, name, purpose, members in GROUPS:
        if db.scalar(select(Group.id).where(Group.slug == slug)):
            continue
        group = Group(slug=slug, name=name, purpose=purpose, created_by_id=leader.id)
        db.add(group)
        db.flush()
        for position, key in enumerate(members):
            if key in users:
                db.add(GroupMember(group_id=group.id, user_id=users[key].id, title="chair" if position == 0 else "member"))
        if slug == "patient-advisory-council" and "parent.riverside-childrens" in users:
            notifications.notify(db, [users["parent.riverside-childrens"].id], "action_item",
                                 N_("You chair the %(group)s: plan its next meeting.", group="Patient Advisory Council"), f"/groups/{slug}")
    db.flush()
