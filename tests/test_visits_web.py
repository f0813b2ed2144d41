"""Previsit plans and tracking through the pages."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from content.visits import VisitPlan
from tests.visit_fixtures import make_plan, make_template, tracking_items


def test_parent_plans_and_shares_a_visit(db, world, login_as):
    template = make_template(db, world)
    parent = login_as("parent")
    started = parent.post("/care/plans/new", data={"patient": world.user("patient").id, "site": world.own.id,
                                                   "visit_date": (date.today() + timedelta(days=4)).isoformat(),
                                                   "template": template.id})
    assert started.status_code == 302
    plan = db.scalar(select(VisitPlan))
    bad = parent.post(f"/care/plans/{plan.id}", data={"energy": "15", "overall": "Meh"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="energy-error"' in text and 'id="overall-error"' in text
    shared = parent.post(f"/care/plans/{plan.id}", data={"energy": "6", "overall": "Better", "bothers": ["Pain", "Sleep"],
                                                         "submit": "1"})
    assert shared.status_code == 302
    db.expire_all()
    assert db.get(VisitPlan, plan.id).answers == {"energy": 6, "overall": "Better", "bothers": ["Pain", "Sleep"]}
    worklist = login_as("clinician").get("/care/worklist/own-site").get_data(as_text=True)
    assert "Read the plan" in worklist
    assert login_as("clinician", "other").get(f"/care/plans/{plan.id}").status_code == 404


def test_plan_in_the_past_is_refused_with_a_message(db, world, login_as):
    template = make_template(db, world)
    response = login_as("parent").post("/care/plans/new", data={
        "patient": world.user("patient").id, "site": world.own.id, "template": template.id,
        "visit_date": (date.today() - timedelta(days=60)).isoformat()})
    assert response.status_code == 422 and "more than 7 days ago" in response.get_data(as_text=True)


def test_tracking_page_logs_and_shares(db, world, login_as):
    tracking_items(db)
    patient = login_as("patient")
    url = f"/care/tracking/{world.user('patient').id}"
    future = patient.post(url, data={"entry_date": (date.today() + timedelta(days=2)).isoformat(), "pain": "3"})
    assert future.status_code == 422 and "has not happened yet" in future.get_data(as_text=True)
    for days in range(5):
        assert patient.post(url, data={"entry_date": (date.today() - timedelta(days=days)).isoformat(),
                                       "pain": str(days)}).status_code == 302
    page = patient.get(url).get_data(as_text=True)
    assert 'role="img"' in page  # the trend chart
    assert login_as("clinician").get(url).status_code == 404
    patient.post(f"{url}/sharing", data={"shared": "1"})
    assert login_as("clinician").get(url).status_code == 200


def test_downloads_and_access_log(db, world, login_as):
    plan = make_plan(db, world, submit=True)
    login_as("clinician").get(f"/care/plans/{plan.id}")
    patient_id = world.user("patient").id
    log = login_as("parent").get(f"/care/patients/{patient_id}/access-log").get_data(as_text=True)
    assert "Clinician Own" in log
    data = login_as("patient").get(f"/care/patients/{patient_id}/data.json").json
    assert data["plans"][0]["answers"]["overall"] == "Worse"
    assert login_as("patient").post(f"/care/patients/{patient_id}/delete", data={}).status_code == 422
    assert login_as("patient").post(f"/care/patients/{patient_id}/delete", data={"confirm": "delete"}).status_code == 302
