"""Tests of change (PDSA cycles): who records and edits, month rules, ramps, links, what the chart did next,
the chart markers, the pages and the JSON API."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from content import pdsa
from network import outcome_reports, outcomes
from network.audit import AuditEvent
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.people import User
from network.usage import UsageEvent
from tests.library_fixtures import make_resource, publish
from tests.outcome_fixtures import add_figures, add_measure, months

TODAY = date(2025, 6, 15)


def fields(**overrides) -> pdsa.CycleFields:
    values = dict(title="Morning huddle", aim="Every visit has a plan", change="A five-minute huddle before clinic",
                  prediction="We predict the share of visits with a plan rises", plan="Two weeks, clinic A",
                  start_month="2025-02", end_month="2025-03", measures=["remission"])
    values.update(overrides)
    return pdsa.CycleFields(**values)


def count(db) -> int:
    return db.scalar(select(func.count(pdsa.Cycle.id)))


@pytest.fixture
def measure(db):
    return add_measure(db)


# ---------------------------------------------------------------------------------------------
# Who records and edits

def test_site_team_records_with_acting_role_usage_and_audit(db, world, measure):
    cycle = pdsa.record(db, world.user("site_lead"), world.own, fields(), today=TODAY)
    assert (cycle.number, cycle.acting_role, cycle.version) == (1, "site_lead", 1)
    assert cycle.measure_ids == [measure.id]
    second = pdsa.record(db, world.user("clinician"), world.own, fields(title="Second", follows=cycle.id), today=TODAY)
    assert (second.number, second.acting_role, second.follows_id) == (2, "clinician", cycle.id)
    events = db.execute(select(UsageEvent.kind, UsageEvent.object_type, UsageEvent.object_id, UsageEvent.actor_role)
                        .order_by(UsageEvent.id)).all()
    assert [tuple(e) for e in events] == [("creation", "pdsa_cycle", cycle.id, "site_lead"),
                                          ("creation", "pdsa_cycle", second.id, "clinician")]
    assert db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "pdsa.record")) == 2
    # numbers are per site
    other = pdsa.record(db, world.user("site_lead", "other"), world.other, fields(), today=TODAY)
    assert other.number == 1


@pytest.mark.parametrize("role,where,error", [
    ("patient", "own", Forbidden), ("parent", "own", Forbidden), ("network_leader", "network", Forbidden),
    ("moderator", "network", NotFound), ("site_lead", "other", NotFound), ("clinician", "other", NotFound)])
def test_only_the_sites_own_team_records(db, world, measure, role, where, error):
    with pytest.raises(error):
        pdsa.record(db, world.user(role, where), world.own, fields(), today=TODAY)
    assert count(db) == 0


def test_only_the_sites_own_team_edits_and_stale_edits_conflict(db, world, measure):
    cycle = pdsa.record(db, world.user("site_lead"), world.own, fields(), today=TODAY)
    with pytest.raises(NotFound):
        pdsa.update(db, world.user("site_lead", "other"), cycle.id, fields(title="Hijack"), version=1, today=TODAY)
    with pytest.raises(Forbidden):
        pdsa.update(db, world.user("parent"), cycle.id, fields(title="Hijack"), version=1, today=TODAY)
    updated = pdsa.update(db, world.user("clinician"), cycle.id, fields(done="Ran it", learned="Works",
                                                                         decision="adopt"), version=1, today=TODAY)
    assert (updated.version, updated.decision, updated.updated_role) == (2, "adopt", "clinician")
    with pytest.raises(Conflict):
        pdsa.update(db, world.user("site_lead"), cycle.id, fields(title="Stale"), version=1, today=TODAY)
    db.expire_all()
    assert (db.get(pdsa.Cycle, cycle.id).title, db.get(pdsa.Cycle, cycle.id).version) == ("Morning huddle", 2)


def test_every_member_reads_cycles(db, world, measure):
    cycle = pdsa.record(db, world.user("site_lead"), world.own, fields(), today=TODAY)
    for role, where in (("patient", "other"), ("moderator", "network"), ("network_leader", "network")):
        assert pdsa.get(db, world.user(role, where), cycle.id).id == cycle.id
    with pytest.raises(Exception) as refused:
        pdsa.get(db, None, cycle.id)
    assert type(refused.value).__name__ == "Unauthenticated"


# ---------------------------------------------------------------------------------------------
# Months and the other rules: every refusal says why and writes nothing

@pytest.mark.parametrize("overrides,field,words", [
    (dict(start_month="2025-13"), "start_month", "YYYY-MM"),
    (dict(start_month="March"), "start_month", "YYYY-MM"),
    (dict(end_month=""), "end_month", "YYYY-MM"),
    (dict(start_month="1999-12", end_month="2000-01"), "start_month", "2000-01 or later"),
    (dict(start_month="2025-04", end_month="2025-03"), "end_month", "cannot be before"),
    (dict(start_month="2026-07", end_month="2026-08"), "start_month", "at most 12 months ahead"),
    (dict(start_month="2023-01", end_month="2025-01"), "end_month", "at most 24 months"),
    (dict(start_month="2025-07", end_month="2025-08", done="Ran it"), "done", "has not started yet"),
    (dict(start_month="2025-07", end_month="2025-08", learned="Works"), "learned", "has not started yet"),
    (dict(start_month="2025-05", end_month="2025-07", decision="adopt"), "decision", "end month is in the future"),
    (dict(decision="continue"), "decision", "adopt, adapt or abandon"),
    (dict(title=""), "title", "short name"),
    (dict(prediction=" "), "prediction", "predict"),
    (dict(measures=[]), "measures", "at least one measure"),
    (dict(measures=["remission", "no-such"]), "measures", "No such measure: no-such"),
    (dict(aim="x" * 5001), "aim", "at most 5,000"),
])
def test_bad_input_is_refused_clearly_and_nothing_changes(db, world, measure, overrides, field, words):
    with pytest.raises(Invalid) as refused:
        pdsa.record(db, world.user("site_lead"), world.own, fields(**overrides), today=TODAY)
    assert words in " ".join(refused.value.field_errors[field])
    assert count(db) == 0
    assert db.scalar(select(func.count(UsageEvent.id))) == 0


def test_a_plan_may_be_in_the_future_and_a_decision_needs_an_ended_cycle(db, world, measure):
    planned = pdsa.record(db, world.user("site_lead"), world.own,
                          fields(start_month="2025-09", end_month="2025-11"), today=TODAY)
    assert planned.status(TODAY) == "planned"
    running = pdsa.record(db, world.user("site_lead"), world.own,
                          fields(start_month="2025-05", end_month="2025-07", done="Started"), today=TODAY)
    assert running.status(TODAY) == "running"
    decided = pdsa.record(db, world.user("site_lead"), world.own,
                          fields(start_month="2025-04", end_month="2025-06", decision="abandon"), today=TODAY)
    assert decided.status(TODAY) == "decided"


def test_follows_must_be_an_earlier_cycle_of_the_same_site_without_loops(db, world, measure):
    lead = world.user("site_lead")
    first = pdsa.record(db, lead, world.own, fields(), today=TODAY)
    theirs = pdsa.record(db, world.user("site_lead", "other"), world.other, fields(), today=TODAY)
    with pytest.raises(Invalid) as refused:
        pdsa.record(db, lead, world.own, fields(follows=theirs.id), today=TODAY)
    assert "earlier cycle of this site" in refused.value.field_errors["follows"][0]
    with pytest.raises(Invalid):
        pdsa.record(db, lead, world.own, fields(follows=99999), today=TODAY)
    with pytest.raises(Invalid) as refused:
        pdsa.record(db, lead, world.own, fields(follows=first.id, start_month="2025-01"), today=TODAY)
    assert "no later than this one" in refused.value.field_errors["follows"][0]
    second = pdsa.record(db, lead, world.own, fields(follows=first.id, start_month="2025-04", end_month="2025-05"),
                         today=TODAY)
    with pytest.raises(Invalid) as refused:  # first would follow second, which follows first
        pdsa.update(db, lead, first.id, fields(follows=second.id, start_month="2025-04", end_month="2025-05"),
                    version=1, today=TODAY)
    assert "cannot follow itself" in refused.value.field_errors["follows"][0]
    assert [c.number for c in pdsa.ramp(db, first)] == [1, 2] == [c.number for c in pdsa.ramp(db, second)]


def test_linked_tools_must_be_resources_the_actor_can_see(db, world, measure):
    published = make_resource(db, world.user("parent"), title="Previsit plan template")
    publish(db, world, published)
    draft = make_resource(db, world.user("parent", "other"), title="Secret draft")
    lead = world.user("site_lead")
    with pytest.raises(Invalid) as refused:
        pdsa.record(db, lead, world.own, fields(tools=[published.id, draft.id]), today=TODAY)
    assert refused.value.field_errors["tools"] == [f"No such tool in the library: {draft.id}."]
    assert "Secret" not in str(refused.value.field_errors)
    cycle = pdsa.record(db, lead, world.own, fields(tools=[published.slug]), today=TODAY)
    assert cycle.tool_ids == [published.id]


# ---------------------------------------------------------------------------------------------
# What the chart did next

def _step_series(db, site, measure, *, before=24, after=12, low=50, high=80):
    add_figures(db, site, measure, [(m, low if i < before else high, 100)
                                    for i, m in enumerate(months(2022, before + after))])


def test_a_shift_in_the_good_direction_is_reported_as_timing(db, world, measure):
    _step_series(db, world.own, measure)  # 2022-01 .. 2024-12, the rise begins 2024-01
    chart = outcome_reports.site_chart(db, world.user("parent"), measure, world.own)
    after = pdsa.what_next(chart, measure, date(2023, 11, 1))
    assert (after.kind, after.months_later, after.month, after.length) == ("shift", 2, "2024-01", 12)
    quiet = pdsa.what_next(chart, measure, date(2022, 6, 1))
    assert (quiet.kind, quiet.complete) == ("none", True)
    assert pdsa.what_next(chart, measure, date(2025, 3, 1)).kind == "no_data"
    late = pdsa.what_next(chart, measure, date(2024, 10, 1))  # inside a shift that was already under way
    assert (late.kind, late.already, late.complete, late.seen) == ("none", "2024-01", False, 3)


def test_a_shift_in_the_bad_direction_is_not_counted(db, world):
    lower_is_better = add_measure(db, key="admissions", better="lower")
    _step_series(db, world.own, lower_is_better)
    chart = outcome_reports.site_chart(db, world.user("parent"), lower_is_better, world.own)
    result = pdsa.what_next(chart, lower_is_better, date(2023, 11, 1))
    assert result.kind == "none"


def test_a_point_beyond_the_limit_on_the_better_side(db, world, measure):
    figures = [(m, 50, 100) for m in months(2022, 30)]
    figures[20] = (figures[20][0], 95, 100)
    add_figures(db, world.own, measure, figures)
    chart = outcome_reports.site_chart(db, world.user("parent"), measure, world.own)
    result = pdsa.what_next(chart, measure, date(2023, 7, 1))
    assert (result.kind, result.months_later, result.month) == ("outside", 2, "2023-09")


# ---------------------------------------------------------------------------------------------
# Pages

def _two_sites_with_cycles(db, world, measure):
    _step_series(db, world.own, measure)
    _step_series(db, world.other, measure, before=36, after=0)
    mine = pdsa.record(db, world.user("site_lead"), world.own,
                       fields(title="Huddle <b>", start_month="2023-11", end_month="2024-01", done="Done",
                              learned="It works", decision="adopt"))
    theirs = pdsa.record(db, world.user("clinician", "other"), world.other,
                         fields(title="Text reminders", start_month="2023-03", end_month="2023-04"))
    return mine, theirs


def test_site_chart_shows_numbered_markers_in_svg_description_and_table(db, world, measure, login_as):
    mine, _theirs = _two_sites_with_cycles(db, world, measure)
    second = pdsa.record(db, world.user("site_lead"), world.own,
                         fields(title="Huddle, every clinic", start_month="2024-02", end_month="2024-04",
                                follows=mine.id))
    client = login_as("patient", "other")
    page = client.get(f"/outcomes/sites/{world.own.slug}").get_data(as_text=True)
    assert page.count('class="cc-ann cc-ann-cycle cc-ann-numbered"') == 2
    assert 'data-cycle="1"' in page and 'data-cycle="2"' in page
    assert "Nov 2023 to Jan 2024 — Change cycle 1: Huddle &lt;b&gt;" in page
    assert "Tests of change: 1, 2023-11 to 2024-01: Huddle &lt;b&gt;; 2, 2024-02 to 2024-04: Huddle, every clinic" in page
    detail = client.get(f"/outcomes/remission/sites/{world.own.slug}").get_data(as_text=True)
    assert "<th scope=\"col\">Tests of change</th>" in detail
    assert "<td>1: Huddle &lt;b&gt;</td>" in detail and "<td>2: Huddle, every clinic</td>" in detail
    svg = client.get(f"/outcomes/remission/sites/{world.own.slug}.svg").get_data(as_text=True)
    assert svg.count("cc-ann-numbered") == 2
    theirs = client.get(f"/outcomes/remission/sites/{world.other.slug}").get_data(as_text=True)
    assert theirs.count("cc-ann-numbered") == 1 and "Huddle &lt;b&gt;" not in theirs  # only that site's own cycle
    assert second.number == 2
    # a chart without cycles draws as before: no marker, no extra column
    growth = add_measure(db, key="growth")
    add_figures(db, world.own, growth, [(m, 60, 100) for m in months(2023, 12)])
    plain = client.get(f"/outcomes/growth/sites/{world.own.slug}").get_data(as_text=True)
    assert "cc-ann-numbered" not in plain and "Tests of change</th>" not in plain


def test_numbered_cycle_marks_are_checked_like_other_annotations():
    from app.charts import control_chart_svg
    from network.spc import p_chart

    result = p_chart([5, 6, 7, 8], [10, 10, 10, 10])
    labels = ["2024-01", "2024-02", "2024-03", "2024-04"]
    svg = str(control_chart_svg(result, labels, title="t", description="d",
                                annotations=[{"index": 1, "end_index": 3, "number": 7, "label": "Huddle",
                                              "kind": "cycle"}]))
    assert "Feb 2024 to Apr 2024 — Change cycle 7: Huddle" in svg and 'class="cc-ann-span"' in svg
    assert '<text class="cc-ann-number"' in svg and ">7</text>" in svg
    for end in (0, 4, "3"):
        with pytest.raises(ValueError):
            control_chart_svg(result, labels, title="t", description="d",
                              annotations=[{"index": 1, "end_index": end, "number": 1, "kind": "cycle"}])


def test_cycle_page_and_what_sites_tried(db, world, measure, login_as):
    mine, theirs = _two_sites_with_cycles(db, world, measure)
    client = login_as("parent", "other")
    page = client.get(f"/pdsa/{mine.id}").get_data(as_text=True)
    assert "A shift began 2 months later (Jan 2024): 12 months in a row on the better side of the centre line." in page
    assert "not that the cycle caused it" in page and "Huddle &lt;b&gt;" in page
    tried = client.get("/pdsa/measures/remission").get_data(as_text=True)
    assert "Own Site Hospital" in tried and "Other Site Clinic" in tried
    assert "No signal in the 6 months after it began." in tried
    assert tried.index("Text reminders") < tried.index("Huddle &lt;b&gt;")  # oldest first
    assert not re.search(r"\bcaused\b(?! it)", tried.replace("not that the cycle caused it", ""))
    adopted = client.get("/pdsa/measures/remission?decision=adopt").get_data(as_text=True)
    assert "Huddle &lt;b&gt;" in adopted and "Text reminders" not in adopted
    listing = client.get(f"/pdsa/sites/{world.own.slug}").get_data(as_text=True)
    assert "Huddle &lt;b&gt;" in listing and "Record a test of change" not in listing
    assert "Record a test of change" in login_as("clinician").get(f"/pdsa/sites/{world.own.slug}").get_data(as_text=True)


def test_before_the_agreement_other_sites_are_codes_in_pages_links_and_api(db, world, measure, login_as):
    """A member who has not accepted the data-use agreement reads every site's cycles, other sites under
    their code: labels, links and the API's `ref`; asking for another site by short name is refused."""
    from network import agreements

    mine, theirs = _two_sites_with_cycles(db, world, measure)
    agreements.publish(db, world.user("network_leader", "network"), body="# Data use\n\nWe learn, never rank.")
    parent = login_as("parent")
    tried = parent.get("/pdsa/measures/remission").get_data(as_text=True)
    assert "Own Site Hospital" in tried and "Site 2" in tried
    assert "Other Site Clinic" not in tried and "other-site" not in tried
    assert 'href="/pdsa/sites/S2"' in tried and 'href="/pdsa/sites/own-site"' in tried
    site_page = parent.get("/pdsa/sites/S2")
    assert site_page.status_code == 200 and "Tests of change at Site 2" in site_page.get_data(as_text=True)
    assert 'href="/outcomes/sites/S2"' in site_page.get_data(as_text=True)
    cycle_page = parent.get(f"/pdsa/{theirs.id}").get_data(as_text=True)
    assert 'href="/pdsa/sites/S2"' in cycle_page and "other-site" not in cycle_page
    refused = parent.get("/pdsa/sites/other-site")
    assert refused.status_code == 403 and "accept the current data-use agreement" in refused.get_data(as_text=True)
    assert parent.get("/pdsa/sites/own-site").status_code == 200
    listed = parent.get("/api/v1/cycles?measure=remission").get_json()["cycles"]
    assert [c["site"] for c in listed] == [{"label": "Own Site Hospital", "ref": "own-site", "code": 1},
                                           {"label": "Site 2", "ref": "S2", "code": 2}]
    assert [c["id"] for c in parent.get("/api/v1/cycles?site=S2").get_json()["cycles"]] == [theirs.id]
    assert parent.get("/api/v1/cycles?site=other-site").status_code == 403
    assert parent.get(f"/api/v1/cycles/{theirs.id}").get_json()["site"] == {"label": "Site 2", "ref": "S2", "code": 2}
    # the site lead records for their own site by code too; another site's short name is refused first
    lead = login_as("site_lead")
    body = {"title": "Reminders", "aim": "Plans", "change": "Texts", "prediction": "Plans rise",
            "start_month": "2025-01", "end_month": "2025-02", "measures": ["remission"]}
    assert lead.post("/api/v1/sites/S1/cycles", json=body).status_code == 201
    assert lead.post("/api/v1/sites/other-site/cycles", json=body).status_code == 403
    assert lead.get("/pdsa/sites/S1/new").status_code == 200
    assert count(db) == 3
    # after accepting: names and short names everywhere
    agreements.accept(db, world.user("parent"), 1)
    tried = parent.get("/pdsa/measures/remission").get_data(as_text=True)
    assert "Other Site Clinic" in tried and 'href="/pdsa/sites/other-site"' in tried
    assert parent.get("/pdsa/sites/other-site").status_code == 200
    assert parent.get(f"/api/v1/cycles/{theirs.id}").get_json()["site"] == {
        "label": "Other Site Clinic", "ref": "other-site", "code": 2}
    assert mine.site_id == world.own.id


def test_spanish_sentences(db, world, measure, login_as):
    mine, _theirs = _two_sites_with_cycles(db, world, measure)
    client = login_as("parent")
    client.post("/language", data={"language": "es"})
    page = client.get(f"/pdsa/{mine.id}").get_data(as_text=True)
    assert "Un cambio sostenido comenzó 2 meses después" in page
    assert "Qué hizo el gráfico después" in page


def test_recording_a_ramp_through_the_form(db, world, measure, login_as):
    client = login_as("site_lead")
    form = {"title": "Huddle", "aim": "Plans", "change": "Huddle", "prediction": "Plans rise",
            "start_month": "2025-01", "end_month": "2025-02", "measures": ["remission"]}
    response = client.post(f"/pdsa/sites/{world.own.slug}/new", data=form)
    assert response.status_code == 302
    first = db.scalar(select(pdsa.Cycle).where(pdsa.Cycle.site_id == world.own.id))
    bad = client.post(f"/pdsa/sites/{world.own.slug}/new",
                      data={**form, "title": "Next", "start_month": "2025-03", "end_month": "2025-02",
                            "follows": str(first.id)})
    assert bad.status_code == 422 and "The end month cannot be before the start month." in bad.get_data(as_text=True)
    assert 'value="Next"' in bad.get_data(as_text=True) and count(db) == 1
    ok = client.post(f"/pdsa/sites/{world.own.slug}/new",
                     data={**form, "title": "Next", "start_month": "2025-03", "end_month": "2025-04",
                           "follows": str(first.id)})
    assert ok.status_code == 302 and count(db) == 2
    edit = client.get(f"/pdsa/{first.id}/edit").get_data(as_text=True)
    assert 'name="version" value="1"' in edit and 'value="2025-01"' in edit


# ---------------------------------------------------------------------------------------------
# JSON API

def test_api_reads_lists_and_one_cycle_with_what_next(db, world, measure, login_as):
    mine, theirs = _two_sites_with_cycles(db, world, measure)
    client = login_as("patient")
    everything = client.get("/api/v1/cycles").get_json()["cycles"]
    assert {c["id"] for c in everything} == {mine.id, theirs.id}
    only = client.get(f"/api/v1/cycles?site={world.other.slug}&measure=remission").get_json()["cycles"]
    assert [c["id"] for c in only] == [theirs.id]
    one = client.get(f"/api/v1/cycles/{mine.id}").get_json()
    assert one["what_next"][0] | {"sentence": ""} == {"measure": "remission", "kind": "shift", "months_later": 2,
                                                      "month": "2024-01", "length": 12, "window_months": 6,
                                                      "sentence": ""}
    assert one["decision"] == "adopt" and one["version"] == 1 and one["acting_role"] == "site_lead"
    missing = client.get("/api/v1/cycles/999999")
    assert missing.status_code == 404 and missing.get_json()["error"]["status"] == 404
    anonymous = login_as("anonymous").get("/api/v1/cycles")
    assert anonymous.status_code == 401 and set(anonymous.get_json()["error"]) == {"status", "title", "message",
                                                                                    "fields"}


def test_api_writes_by_the_team_session_or_the_sites_token(db, world, measure, login_as):
    body = {"title": "API cycle", "aim": "Plans", "change": "Huddle", "prediction": "Plans rise",
            "start_month": "2025-01", "end_month": "2025-02", "measures": ["remission"]}
    client = login_as("clinician")
    created = client.post(f"/api/v1/sites/{world.own.slug}/cycles", json=body)
    assert created.status_code == 201 and created.get_json()["acting_role"] == "clinician"
    cycle_id = created.get_json()["id"]
    as_form = client.post(f"/api/v1/sites/{world.own.slug}/cycles", data=body)
    assert as_form.status_code == 422 and "Content-Type: application/json" in as_form.get_json()["error"]["message"]
    bad = client.post(f"/api/v1/sites/{world.own.slug}/cycles", json={**body, "end_month": "2024-12"})
    assert bad.status_code == 422 and "end_month" in bad.get_json()["error"]["fields"]
    unknown = client.post(f"/api/v1/sites/{world.own.slug}/cycles", json={**body, "colour": "red"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"] == {"colour": ["Unknown field."]}
    assert count(db) == 1

    _token, secret = outcomes.create_token(db, world.user("site_lead"), world.own, "EHR")
    headers = {"Authorization": f"Bearer {secret}"}
    by_token = login_as("anonymous").post(f"/api/v1/sites/{world.own.slug}/cycles", json=body, headers=headers)
    assert by_token.status_code == 201 and by_token.get_json()["acting_role"] == "api_token"
    elsewhere = login_as("anonymous").post(f"/api/v1/sites/{world.other.slug}/cycles", json=body, headers=headers)
    assert elsewhere.status_code == 404 and count(db) == 2

    updated = client.put(f"/api/v1/cycles/{cycle_id}", json={**body, "version": 1, "done": "Ran it",
                                                              "learned": "Works", "decision": "adapt"})
    assert updated.status_code == 200 and updated.get_json()["version"] == 2
    stale = client.put(f"/api/v1/cycles/{cycle_id}", json={**body, "version": 1, "title": "Stale"})
    assert stale.status_code == 409 and stale.get_json()["error"]["status"] == 409
    refused = login_as("site_lead", "other").put(f"/api/v1/cycles/{cycle_id}", json={**body, "version": 2})
    assert refused.status_code == 404
    assert db.get(pdsa.Cycle, cycle_id).title == "API cycle"


def test_openapi_documents_the_cycle_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {"get"} <= set(paths["/api/v1/cycles"]) and {"get", "put"} <= set(paths["/api/v1/cycles/{cycle_id}"])
    assert "post" in paths["/api/v1/sites/{slug}/cycles"]
    for path in ("/api/v1/cycles/{cycle_id}", "/api/v1/sites/{slug}/cycles"):
        for operation in paths[path].values():
            assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
    assert "Cycle" in document["components"]["schemas"] and "CycleInput" in document["components"]["schemas"]


# ---------------------------------------------------------------------------------------------
# Demo data

def test_demo_cycles_at_several_sites_some_followed_by_improvement_some_not(db):
    from app.cli import seed_demo

    seed_demo(db)
    cycles = list(db.scalars(select(pdsa.Cycle)))
    assert len({c.site_id for c in cycles}) >= 5
    assert sum(1 for c in cycles if c.follows_id) >= 4  # ramps
    leader = db.scalar(select(User).where(User.email.like("leader@%")))
    kinds = {}
    for measure in db.scalars(select(outcomes.Measure)):
        for item in pdsa.tried_for_measure(db, leader, measure):
            kinds.setdefault(item.next.kind, set()).add(item.cycle.site_id)
    assert len(kinds.get("shift", ())) >= 2 and len(kinds.get("none", ())) >= 2, kinds
    assert {c.acting_role for c in cycles} == {"site_lead", "clinician"}
    assert any(c.status() == "running" for c in cycles)
    seed_demo(db)
    assert db.scalar(select(func.count(pdsa.Cycle.id))) == len(cycles)


def test_what_sites_tried_makes_the_same_queries_whatever_the_number_of_sites(db, world, measure, login_as,
                                                                              count_queries):
    from network.people import Membership, Site

    def add_site(code):
        site = Site(slug=f"extra-{code}", name=f"Extra {code}", code=code)
        db.add(site)
        db.flush()
        lead = User(email=f"lead{code}@example.org", full_name=f"Lead {code}")
        db.add(lead)
        db.flush()
        db.add(Membership(user_id=lead.id, site_id=site.id, role="site_lead"))
        db.commit()
        db.refresh(lead)
        _step_series(db, site, measure)
        pdsa.record(db, lead, site, fields(start_month="2023-11", end_month="2023-12"))
        pdsa.record(db, lead, site, fields(start_month="2024-01", end_month="2024-02", follows=None))

    client = login_as("parent")
    for code in (10, 11):
        add_site(code)
    client.get("/pdsa/measures/remission")
    with count_queries() as few:
        assert client.get("/pdsa/measures/remission").status_code == 200
    for code in range(12, 18):
        add_site(code)
    client.get("/pdsa/measures/remission")
    with count_queries() as many:
        page = client.get("/pdsa/measures/remission").get_data(as_text=True)
    assert page.count("A shift began") == 16 and page.count("Extra 17") == 2
    assert many.count == few.count


def test_two_cycles_numbered_at_the_same_moment_is_a_conflict_not_a_crash(db, world, measure, monkeypatch):
    lead = world.user("site_lead")
    pdsa.record(db, lead, world.own, fields(), today=TODAY)
    real_scalar = db.scalar

    def stale_max(statement, *args, **kwargs):  # as if another request had not committed its cycle yet
        value = real_scalar(statement, *args, **kwargs)
        return 0 if "max(pdsa_cycles.number)" in str(statement) else value

    monkeypatch.setattr(db, "scalar", stale_max)
    with pytest.raises(Conflict):
        pdsa.record(db, lead, world.own, fields(title="Twin"), today=TODAY)
    monkeypatch.undo()
    assert [c.title for c in db.scalars(select(pdsa.Cycle))] == ["Morning huddle"]
