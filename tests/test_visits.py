"""Previsit plans and tracking: personal health data seen only by the family and the patient's own
care team, every other look audited; bad answers refused field by field; measures from coproduction."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from content import plan_forms, visits
from content.visits import TrackingEntry, VisitPlan
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.outcomes import Submission
from network.people import CareLink, Membership
from tests.outcome_fixtures import add_measure
from tests.visit_fixtures import TEMPLATE, make_plan, make_template, tracking_items


def test_template_fields_are_parsed_and_displayed():
    fields = plan_forms.parse(TEMPLATE)
    assert [(f.key, f.kind) for f in fields] == [("overall", "choice"), ("matters", "text"), ("bothers", "multi"),
                                                 ("energy", "scale"), ("flare", "date"), ("missed", "yesno")]
    assert fields[0].options == ["Better", "The same", "Worse"]
    shown = plan_forms.display_markdown(TEMPLATE)
    assert "?[" not in shown and "**What matters most to you?** *(free text)*" in shown
    with pytest.raises(Invalid):
        plan_forms.parse("?[choice] Only one option | A")
    with pytest.raises(Invalid):
        plan_forms.parse("?[slider] What?")


@pytest.mark.parametrize("answers,field", [
    ({"overall": "Fantastic"}, "overall"), ({"energy": "11"}, "energy"), ({"energy": "lots"}, "energy"),
    ({"bothers": ["Pain", "Boredom"]}, "bothers"), ({"flare": "2999-01-01"}, "flare"), ({"flare": "soon"}, "flare"),
    ({"missed": "maybe"}, "missed"), ({"matters": "x" * 2001}, "matters"), ({"colour": "red"}, "_"),
])
def test_wrong_answers_are_refused_per_field_and_nothing_saved(db, world, answers, field):
    plan = make_plan(db, world)
    with pytest.raises(Invalid) as refused:
        visits.save_answers(db, world.user("parent"), plan.id, answers)
    assert field in refused.value.field_errors
    db.rollback()
    assert db.get(VisitPlan, plan.id).answers == {}


def test_parent_plans_clinician_at_the_site_reads_others_cannot(db, world):
    plan = make_plan(db, world, submit=True)
    assert visits.view_plan(db, world.user("clinician"), plan.id).id == plan.id
    assert visits.view_plan(db, world.user("patient"), plan.id).id == plan.id
    for outsider in (world.user("clinician", "other"), world.user("parent", "other"),
                     world.user("network_leader", "network"), world.user("moderator", "network")):
        with pytest.raises(NotFound):
            visits.view_plan(db, outsider, plan.id)


def test_a_draft_is_the_familys_alone(db, world):
    plan = make_plan(db, world)
    with pytest.raises(NotFound):
        visits.view_plan(db, world.user("clinician"), plan.id)


def test_every_look_by_the_team_is_logged_and_the_family_sees_it(db, world):
    plan = make_plan(db, world, submit=True)
    visits.view_plan(db, world.user("parent"), plan.id)
    assert visits.access_log(db, world.user("parent"), world.user("patient").id) == []
    visits.view_plan(db, world.user("clinician"), plan.id)
    [event] = visits.access_log(db, world.user("patient"), world.user("patient").id)
    assert event.actor_id == world.user("clinician").id and event.details["what"] == "plan"


def test_bad_plans_are_refused(db, world):
    template = make_template(db, world)
    parent, patient = world.user("parent"), world.user("patient")
    with pytest.raises(Invalid) as other_site:
        visits.start_plan(db, parent, patient_id=patient.id, site_id=world.other.id,
                          visit_date=date.today() + timedelta(days=3), template_id=template.id)
    assert "site" in other_site.value.field_errors
    with pytest.raises(Invalid) as long_ago:
        visits.start_plan(db, parent, patient_id=patient.id, site_id=world.own.id,
                          visit_date=date.today() - timedelta(days=30), template_id=template.id)
    assert "visit_date" in long_ago.value.field_errors
    with pytest.raises(NotFound):  # an unlinked parent
        visits.start_plan(db, world.user("parent", "other"), patient_id=patient.id, site_id=world.own.id,
                          visit_date=date.today(), template_id=template.id)
    assert db.scalar(select(func.count(VisitPlan.id))) == 0


def test_ended_membership_loses_access_at_once(db, world):
    from network import people

    plan = make_plan(db, world, submit=True)
    membership = db.scalars(select(Membership).where(Membership.user_id == world.user("clinician").id)).one()
    people.end_membership(db, world.user("site_lead"), membership.id)
    with pytest.raises(NotFound):
        visits.view_plan(db, world.user("clinician"), plan.id)


def test_at_18_a_parents_access_ends_unless_renewed(db, world):
    plan = make_plan(db, world, submit=True)
    patient = world.user("patient")
    patient.birth_year = datetime.now(timezone.utc).year - 18
    db.commit()
    with pytest.raises(NotFound):
        visits.view_plan(db, world.user("parent"), plan.id)
    link = db.scalars(select(CareLink).where(CareLink.patient_id == patient.id)).one()
    link.adult_access_renewed_at = datetime.now(timezone.utc)
    db.commit()
    assert visits.view_plan(db, world.user("parent"), plan.id).id == plan.id


def test_notes_goals_and_rating(db, world):
    plan = make_plan(db, world, submit=True)
    with pytest.raises(Conflict):
        visits.save_answers(db, world.user("parent"), plan.id, {"energy": "5"})
    db.rollback()
    with pytest.raises(Exception):
        visits.add_note(db, world.user("parent"), plan.id, "I am not a clinician")
    db.rollback()
    visits.add_note(db, world.user("clinician"), plan.id, "Talked about school.")
    visits.record_goals(db, world.user("clinician"), plan.id, [("Half days at school", "both"), ("", "team")])
    with pytest.raises(Invalid):
        visits.record_goals(db, world.user("clinician"), plan.id, [("Goal", "everyone")])
    db.rollback()
    with pytest.raises(Invalid):
        visits.rate_goals_discussed(db, world.user("parent"), plan.id, 11)
    visits.rate_goals_discussed(db, world.user("parent"), plan.id, 9)
    assert [g.goal for g in visits.goals(db, plan)] == ["Half days at school"]
    assert db.get(VisitPlan, plan.id).goals_discussed == 9


def test_tracking_rules(db, world):
    tracking_items(db)
    patient, parent = world.user("patient"), world.user("parent")
    visits.log_entry(db, parent, patient.id, entry_date=date.today(), values={"pain": "3", "missed": "no"})
    with pytest.raises(Invalid) as future:
        visits.log_entry(db, patient, patient.id, entry_date=date.today() + timedelta(days=1), values={"pain": "1"})
    assert "entry_date" in future.value.field_errors
    with pytest.raises(Invalid) as bad:
        visits.log_entry(db, patient, patient.id, entry_date=date.today(), values={"pain": "12", "stools": "-1"})
    assert set(bad.value.field_errors) == {"pain", "stools"}
    db.rollback()
    with pytest.raises(NotFound):  # not shared yet
        visits.entries(db, world.user("clinician"), patient.id)
    visits.set_sharing(db, patient, patient.id, True)
    assert len(visits.entries(db, world.user("clinician"), patient.id)) == 1
    with pytest.raises(NotFound):
        visits.entries(db, world.user("clinician", "other"), patient.id)
    assert db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "patient_data.view")) == 1


def test_export_and_delete(db, world):
    tracking_items(db)
    make_plan(db, world, submit=True)
    visits.log_entry(db, world.user("patient"), world.user("patient").id, entry_date=date.today(), values={"pain": 2})
    data = visits.export(db, world.user("parent"), world.user("patient").id)
    assert data["plans"][0]["answers"] == {"overall": "Worse", "energy": 4} and data["tracking"][0]["pain"] == 2
    assert "plan," in visits.export_csv(data)
    with pytest.raises(Forbidden):  # the care team reads plans, but the family's export is the family's
        visits.export(db, world.user("clinician"), world.user("patient").id)
    with pytest.raises(NotFound):
        visits.export(db, world.user("clinician", "other"), world.user("patient").id)
    visits.delete_all(db, world.user("patient"), world.user("patient").id)
    db.expire_all()
    assert db.scalar(select(func.count(VisitPlan.id))) == 0 and db.scalar(select(func.count(TrackingEntry.id))) == 0


def test_coproduction_measures_are_aggregates_with_small_cells_left_out(db, world):
    plan_measure = add_measure(db, key="previsit-plan")
    add_measure(db, key="goals-discussed")
    make_plan(db, world, submit=True)
    month = date.today() + timedelta(days=7)
    assert visits.derive_measures(db, month) == 0  # one visit: too small to show
    template = db.scalar(select(visits.Resource).where(visits.Resource.type == "previsit_template"))
    for _ in range(12):
        plan = visits.start_plan(db, world.user("parent"), patient_id=world.user("patient").id, site_id=world.own.id,
                                 visit_date=month, template_id=template.id)
        visits.save_answers(db, world.user("parent"), plan.id, {"energy": 5}, submit=True)
    db.add_all([visits.Visit(patient_id=world.user("patient").id, site_id=world.own.id, visit_date=month)
                for _ in range(12)])
    db.commit()
    assert visits.derive_measures(db, month) >= 1
    row = db.scalar(select(Submission).where(Submission.measure_id == plan_measure.id))
    assert (row.numerator, row.denominator, row.source) == (13, 25, "derived")
