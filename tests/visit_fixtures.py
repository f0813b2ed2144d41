"""Builders for previsit-plan and tracking tests."""
from __future__ import annotations

from datetime import date, timedelta

from content import visits
from content.visits import TrackingItem
from tests.library_fixtures import make_resource, publish

TEMPLATE = """## Before your visit

?[choice] Since the last visit, have things been | Better | The same | Worse {#overall}
?[text] What matters most to you? {#matters}
?[multi] What bothers you? | Pain | Tiredness | Sleep {#bothers}
?[scale] Energy from 0 to 10 {#energy}
?[date] When did the last flare start? {#flare}
?[yesno] Missed school? {#missed}
"""


def make_template(db, world):
    template = make_resource(db, world.user("clinician"), title="Previsit plan", body=TEMPLATE,
                             type="previsit_template", audience=["patients", "parents"])
    publish(db, world, template, approvers=("parent", "site_lead"))
    return template


def tracking_items(db):
    for position, (key, label, kind) in enumerate([("pain", "Pain", "scale"), ("stools", "Toilet trips", "count"),
                                                   ("missed", "Missed school", "yesno"), ("note", "Note", "note")]):
        db.add(TrackingItem(key=key, label=label, kind=kind, position=position))
    db.commit()


def make_plan(db, world, *, actor_role="parent", submit=False, days_ahead=7):
    template = make_template(db, world)
    plan = visits.start_plan(db, world.user(actor_role), patient_id=world.user("patient").id, site_id=world.own.id,
                             visit_date=date.today() + timedelta(days=days_ahead), template_id=template.id)
    if submit:
        visits.save_answers(db, world.user(actor_role), plan.id, {"overall": "Worse", "energy": "4"}, submit=True)
    return plan
