"""Minors and the move to adult care: ages from a birth year and month, the parent's access that ends
at 18 by the rule itself (no job needed), renewal by the patient, and the idempotent notice job."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from content import narratives, visits
from network import access, clock, minors
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, NotFound
from network.notifications import Notification
from network.people import CareLink, User
from tests.visit_fixtures import tracking_items

EVE, DAY = date(2026, 11, 30), date(2026, 12, 1)


@pytest.fixture
def nearly_adult(db, world):
    """The own-site patient turns 18 on 1 December 2026 (born December 2008)."""
    patient = world.user("patient")
    patient.birth_year, patient.birth_month = 2008, 12
    db.commit()
    tracking_items(db)
    with clock.frozen(date(2026, 11, 20)):
        visits.log_entry(db, patient, patient.id, entry_date=date(2026, 11, 20), values={"pain": 3})
    return patient


def _link(db, world):
    return db.scalar(select(CareLink).where(CareLink.patient_id == world.user("patient").id))


def test_age_counts_from_the_first_of_the_birth_month_or_1_january():
    with_month = User(full_name="A", birth_year=2008, birth_month=12)
    year_only = User(full_name="B", birth_year=2008)
    assert minors.adult_on(with_month) == DAY and minors.adult_on(year_only) == date(2026, 1, 1)
    assert minors.age(with_month, EVE) == 17 and minors.age(with_month, DAY) == 18
    assert minors.notice_from(DAY) == date(2026, 11, 1)
    assert minors.in_notice_month(with_month, date(2026, 11, 1)) and not minors.in_notice_month(with_month, date(2026, 10, 31))
    assert not minors.in_notice_month(with_month, DAY)
    child = User(full_name="C", birth_year=2014, birth_month=6)
    assert minors.is_child(child, date(2027, 5, 31)) and minors.is_teen(child, date(2027, 6, 1))
    assert minors.age(User(full_name="D"), DAY) is None and not minors.is_adult(User(full_name="D"), DAY)
    assert narratives.is_teen(with_month, EVE) and not narratives.is_teen(with_month, DAY)


def test_parent_access_ends_at_18_by_the_rule_itself(db, world, nearly_adult):
    parent = world.user("parent")
    with clock.frozen(EVE):
        assert [e.values for e in visits.entries(db, parent, nearly_adult.id)] == [{"pain": 3}]
        scope_built_the_day_before = visits.scope(db, nearly_adult, tracking=True)
        assert nearly_adult in visits.my_patients(db, parent)
    with clock.frozen(DAY):  # no job has run: the rule reads the date
        assert not access.can(parent, "tracking.view", scope_built_the_day_before)
        assert not access.can(parent, "patient_data.edit", scope_built_the_day_before)
        with pytest.raises(NotFound):
            visits.entries(db, parent, nearly_adult.id)
        assert nearly_adult not in visits.my_patients(db, parent)
        assert visits.entries(db, nearly_adult, nearly_adult.id)  # the patient keeps their own data
        assert db.scalar(select(Notification.id).where(Notification.kind == "turned_18")) is None


def test_patient_renews_and_ends_a_parents_access(db, world, nearly_adult):
    parent, link = world.user("parent"), _link(db, world)
    with clock.frozen(EVE):
        with pytest.raises(Conflict, match="until you turn 18"):
            minors.renew_parent_access(db, nearly_adult, link.id)
        assert link.adult_access_renewed_at is None
    with clock.frozen(DAY):
        with pytest.raises(Forbidden):
            minors.renew_parent_access(db, parent, link.id)
        with pytest.raises(NotFound):
            minors.renew_parent_access(db, world.user("patient", "other"), link.id)
        minors.renew_parent_access(db, nearly_adult, link.id)
        assert visits.entries(db, parent, nearly_adult.id)
        with pytest.raises(Conflict, match="already"):
            minors.renew_parent_access(db, nearly_adult, link.id)
        assert db.scalar(select(Notification.text).where(Notification.user_id == parent.id,
                                                         Notification.kind == "adult_access")).endswith("renewed your access to their visit plans and tracking.")
        status = minors.adult_care(db, nearly_adult)
        assert status.adult and [(p.parent.id, p.active, p.renewed) for p in status.parents] == [(parent.id, True, True)]
        minors.end_parent_access(db, nearly_adult, link.id)
        with pytest.raises(NotFound):
            visits.entries(db, parent, nearly_adult.id)
        with pytest.raises(Conflict, match="already ended"):
            minors.end_parent_access(db, nearly_adult, link.id)
    actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("adult_care.")).order_by(AuditEvent.id)))
    assert actions == ["adult_care.renew", "adult_care.end"]


def test_notice_job_tells_once_a_month_before_and_once_on_the_day(db, world, nearly_adult):
    parent = world.user("parent")
    assert minors.send_transition_notices(db, today=date(2026, 10, 31)) == 0
    assert minors.send_transition_notices(db, today=date(2026, 11, 5)) == 1
    assert minors.send_transition_notices(db, today=date(2026, 11, 25)) == 0
    soon = {n.user_id: n.text for n in db.scalars(select(Notification).where(Notification.kind == "turning_18"))}
    assert soon[nearly_adult.id].startswith("You count as an adult here from 1 December 2026")
    assert "ends then unless they renew it" in soon[parent.id]
    assert minors.send_transition_notices(db, today=DAY) == 1
    assert minors.send_transition_notices(db, today=date(2026, 12, 2)) == 0
    turned = set(db.scalars(select(Notification.user_id).where(Notification.kind == "turned_18")))
    assert turned == {nearly_adult.id, parent.id}
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "adult_care.turned_18")).object_id == nearly_adult.id


def test_adult_care_pages(db, world, nearly_adult, login_as):
    from tests.library_fixtures import make_resource, publish

    guide = make_resource(db, world.user("clinician"), title="Moving to the adult clinic", type="transition")
    publish(db, world, guide, approvers=("parent", "site_lead"))
    tagged = make_resource(db, world.user("clinician"), title="Handing over the medicines", tags=["transition"])
    publish(db, world, tagged, approvers=("parent", "site_lead"))
    make_resource(db, world.user("clinician"), title="Unpublished transition notes", type="transition")
    teen, parent = login_as("patient"), login_as("parent")
    link = _link(db, world)
    with clock.frozen(date(2026, 11, 10)):
        page = teen.get("/me/adult-care").get_data(as_text=True)
        assert "You count as an adult here from December 1, 2026." in page and "Moving to the adult clinic" in page
        assert "Until you turn 18" in page and "Renew access" not in page
        assert "Handing over the medicines" in page and "Unpublished transition notes" not in page
        early = teen.post(f"/me/adult-care/{link.id}/renew")
        assert early.status_code == 409 and "until you turn 18" in early.get_data(as_text=True)
        assert "continues until December 1, 2026" in parent.get("/me/adult-care").get_data(as_text=True)
    with clock.frozen(DAY):
        assert parent.get(f"/care/tracking/{nearly_adult.id}").status_code == 404
        page = teen.get("/me/adult-care").get_data(as_text=True)
        assert "Ended" in page and "Renew access for Parent Own" in page
        assert teen.post(f"/me/adult-care/{link.id}/renew").status_code == 302
        assert parent.get(f"/care/tracking/{nearly_adult.id}").status_code == 200
        assert "End access for Parent Own" in teen.get("/me/adult-care").get_data(as_text=True)
        assert parent.post(f"/me/adult-care/{link.id}/end").status_code == 403
        assert teen.post(f"/me/adult-care/{link.id}/end").status_code == 302
        assert parent.get(f"/care/tracking/{nearly_adult.id}").status_code == 404
