"""Outcome pages, uploads, downloads and the JSON/FHIR API through HTTP."""
from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from network import fhir, outcomes
from network.outcomes import Submission
from tests.outcome_fixtures import add_figures, add_measure, months

LAST_MONTH = outcomes.month_key(outcomes.previous_month())


@pytest.fixture
def data(db, world):
    measure = add_measure(db)
    add_figures(db, world.own, measure, [(m, 60 + i // 3, 100) for i, m in enumerate(months(2024, 24))])
    add_figures(db, world.other, measure, [(m, 70, 100) for m in months(2024, 24)])
    return measure


def submissions(db) -> int:
    return db.scalar(select(func.count(Submission.id)))


def test_overview_funnel_and_site_pages(login_as, data):
    parent = login_as("parent")
    page = parent.get("/outcomes/remission").get_data(as_text=True)
    assert "The whole network" in page and "Own Site Hospital" in page and "Other Site Clinic" in page
    assert page.count('role="img"') >= 3  # network chart + two small multiples
    filtered = parent.get("/outcomes/remission?q=other").get_data(as_text=True)
    assert "Other Site Clinic" in filtered and ">Own Site Hospital<" not in filtered
    assert "funnel" in parent.get("/outcomes/remission/funnel?start=2025-01&end=2025-12").get_data(as_text=True).lower()
    site = parent.get("/outcomes/sites/own-site").get_data(as_text=True)
    assert "Outcomes at Own Site Hospital" in site
    assert parent.get("/outcomes/remission/sites/other-site").status_code == 200


def test_bad_period_is_a_clear_422(login_as, data):
    response = login_as("parent").get("/outcomes/remission/funnel?start=2025-12&end=2025-01")
    assert response.status_code == 422 and "start before it ends" in response.get_data(as_text=True)


def test_downloads(login_as, data):
    parent = login_as("parent")
    csv_text = parent.get("/outcomes/remission/data.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "site,month,numerator,denominator,value,centre,lower_limit,upper_limit,note"
    assert "Own Site Hospital,2024-01,60,100" in csv_text
    svg = parent.get("/outcomes/remission/sites/own-site.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data and b"attachment" in svg.headers[
        "Content-Disposition"].encode()
    bundle = parent.get("/outcomes/fhir.json?measure=remission").json
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 48
    assert len(fhir.parse(json.dumps(bundle))) == 48


def test_monthly_form_saves_and_reports_errors_per_field(db, world, login_as, data):
    lead = login_as("site_lead")
    bad = lead.post("/outcomes/submit", data={"site": str(world.own.id), "month": LAST_MONTH, "num-remission": "300",
                                              "den-remission": "200"})
    assert bad.status_code == 422
    assert 'id="num-remission-error"' in bad.get_data(as_text=True)
    before = submissions(db)
    ok = lead.post("/outcomes/submit", data={"site": str(world.own.id), "month": LAST_MONTH,
                                             "num-remission": "150", "den-remission": "200"})
    assert ok.status_code == 302
    assert submissions(db) == before + 1


def test_monthly_form_refuses_another_site(db, world, login_as, data):
    lead = login_as("site_lead")
    response = lead.post("/outcomes/submit", data={"site": str(world.other.id), "month": LAST_MONTH,
                                                   "num-remission": "1", "den-remission": "2"})
    assert response.status_code == 422 and "Choose one of your sites" in response.get_data(as_text=True)


def upload(client, text: bytes, name="figures.csv"):
    return client.post("/outcomes/upload", data={"file": (io.BytesIO(text), name)},
                       content_type="multipart/form-data")


def test_csv_upload_all_or_nothing(db, login_as, data):
    lead = login_as("site_lead")
    before = submissions(db)
    bad = upload(lead, b"site,measure,month,numerator,denominator\n"
                       b"own-site,remission,2026-01,50,100\nown-site,remission,2026-02,500,100\n")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Nothing was imported" in text and "row 3: numerator" in text
    assert submissions(db) == before
    good = upload(lead, b"site,measure,month,numerator,denominator\n"
                        b"own-site,remission,2026-01,50,100\nown-site,remission,2026-02,55,100\n")
    assert good.status_code == 302
    assert submissions(db) == before + 2


def test_fhir_file_upload_is_recognised_by_content(db, login_as, data):
    report = fhir.measure_report(site="own-site", measure="remission", month="2026-01", numerator=40,
                                 denominator=90, base_url="http://127.0.0.1")
    response = upload(login_as("site_lead"), json.dumps(report).encode(), name="report.csv")
    assert response.status_code == 302
    assert db.scalar(select(Submission.source).where(Submission.month == date(2026, 1, 1))) == "fhir"


def token_for(db, world):
    _token, secret = outcomes.create_token(db, world.user("site_lead"), world.own, "EHR")
    return {"Authorization": f"Bearer {secret}"}


def test_api_submissions_with_a_site_token(client, db, world, data):
    headers = token_for(db, world)
    body = {"submissions": [{"site": "own-site", "measure": "remission", "month": "2026-01", "numerator": 5,
                             "denominator": 50}]}
    response = client.post("/api/v1/submissions", json=body, headers=headers)
    assert response.status_code == 201 and response.json["created"] == 1
    again = client.post("/api/v1/submissions", json=body, headers=headers)
    assert again.json["unchanged"] == 1


def test_api_errors_have_one_shape_and_change_nothing(client, db, world, data):
    headers = token_for(db, world)
    before = submissions(db)
    bad = client.post("/api/v1/submissions", headers=headers, json={"submissions": [
        {"site": "other-site", "measure": "remission", "month": "2026-01", "numerator": 5, "denominator": 50},
        {"site": "own-site", "measure": "remission", "month": "2030-01", "numerator": 5, "denominator": 50}]})
    assert bad.status_code == 422
    fields = bad.json["error"]["fields"]
    assert "row 1: site" in fields and "row 2: month" in fields
    not_json = client.post("/api/v1/submissions", headers=headers, data="{not json",
                           content_type="application/json")
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json["error"]["fields"]["body"][0]
    assert submissions(db) == before


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cc_wrong"}, {"Authorization": "Basic abc"}])
def test_api_writes_need_a_valid_token(client, db, data, headers):
    response = client.post("/api/v1/submissions", headers=headers, json={"submissions": []})
    assert response.status_code == 401 and response.json["error"]["status"] == 401


def test_a_session_cannot_write_through_the_api(login_as, data):
    response = login_as("site_lead").post("/api/v1/submissions", json={"submissions": []})
    assert response.status_code == 401


def test_fhir_api_round_trip(client, db, world, data):
    headers = token_for(db, world)
    bundle = fhir.export_bundle([{"site": "own-site", "site_label": "Own", "measure": "remission", "month": "2026-02",
                                  "numerator": 44, "denominator": 88, "suppressed": False}],
                                base_url="http://127.0.0.1", generated_at=outcomes.utcnow())
    response = client.post("/api/v1/fhir/MeasureReport", json=bundle, headers=headers)
    assert response.status_code == 201 and response.json["created"] == 1
    broken = dict(bundle, entry=[{"resource": {"resourceType": "MeasureReport", "status": "pending"}}])
    refused = client.post("/api/v1/fhir/MeasureReport", json=broken, headers=headers)
    assert refused.status_code == 422 and any(k.startswith("entry 1") for k in refused.json["error"]["fields"])
    exported = client.get("/api/v1/fhir/MeasureReport?measure=remission", headers=headers).json
    assert exported["resourceType"] == "Bundle"


def test_api_reads(client, login_as, data):
    listed = client.get("/api/v1/measures").json["measures"]
    assert [m["key"] for m in listed] == ["remission"]
    public = client.get("/api/v1/measures/remission/network").json
    assert public["public"] is True and len(public["points"]) == 24
    assert client.get("/api/v1/measures/remission/sites").status_code == 401
    sites = login_as("parent").get("/api/v1/measures/remission/sites").json["sites"]
    assert {s["label"] for s in sites} == {"Own Site Hospital", "Other Site Clinic"}
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1") and "/api/v1/submissions" in spec["paths"]


def test_anonymous_never_sees_a_small_cell_or_a_site_name(client, db, world):
    measure = add_measure(db)
    add_figures(db, world.own, measure, [("2025-01", 3, 7), ("2025-02", 2, 6)])
    add_figures(db, world.other, measure, [("2025-01", 300, 400), ("2025-02", 310, 400)])
    bodies = [client.get(path).get_data(as_text=True) for path in (
        "/public/outcomes/remission", "/public/outcomes/remission.csv", "/public/outcomes/remission/comparison.csv",
        "/api/v1/measures/remission/network")]
    for body in bodies:
        assert "Own Site" not in body and "Other Site" not in body and "own-site" not in body
        for small in re.findall(r"\b(\d+) of (\d+)\b", body):
            n, d = int(small[0]), int(small[1])
            assert not (1 <= n < 11 or 1 <= d < 11 or 1 <= d - n < 11)
    comparison = bodies[2]
    assert comparison.count("suppressed") == 2 and ",3," not in comparison and ",7," not in comparison
    public_page = bodies[0]
    assert "Site 1" in public_page and "suppressed" in public_page
    assert client.get("/outcomes/remission").status_code == 302


def test_measure_pages_for_leaders(db, login_as, data):
    leader = login_as("network_leader")
    created = leader.post("/outcomes/measures/new", data={
        "key": "transition", "name": "Transition readiness", "better": "higher", "goal": "70", "chart_type": "p",
        "rule_set": "anhoej", "multiplier": "1", "position": "8", "is_active": "y"})
    assert created.status_code == 302
    assert outcomes.measure_by_key(db, "transition").goal == pytest.approx(0.7)
    bad = leader.post("/outcomes/measures/new", data={"key": "Bad key", "name": "", "better": "higher",
                                                      "chart_type": "p", "rule_set": "anhoej", "multiplier": "1"})
    assert bad.status_code == 422
    assert login_as("site_lead").get("/outcomes/measures/new").status_code == 403


def test_overview_queries_do_not_grow_with_sites(db, world, login_as, count_queries):
    from network.people import Site

    measure = add_measure(db)

    def page_queries() -> int:
        from network import outcome_reports

        outcome_reports.clear_cache()
        client = login_as("parent")
        with count_queries() as counter:
            assert client.get("/outcomes/remission").status_code == 200
        return counter.count

    add_figures(db, world.own, measure, [(m, 50, 100) for m in months(2024, 12)])
    few = page_queries()
    for i in range(10):
        site = Site(slug=f"extra-{i}", name=f"Extra {i}", code=100 + i)
        db.add(site)
        db.commit()
        add_figures(db, site, measure, [(m, 50, 100) for m in months(2024, 12)])
    many = page_queries()
    assert many == few, f"{few} queries with 2 sites, {many} with 12"


def test_a_chart_and_its_data_table_are_drawn_once_per_data_version_and_language(db, world, login_as, data,
                                                                                 monkeypatch):
    """Found by the load test (bench/load.py): every outcome page formatted its data table again (some 500
    numbers in the reader's language), though the charts themselves were cached."""
    from app import charts

    tables = []
    real = charts.data_table_rows
    monkeypatch.setattr(charts, "data_table_rows", lambda *a, **k: tables.append(1) or real(*a, **k))
    parent, clinician = login_as("parent"), login_as("clinician", "other")
    first = parent.get("/outcomes/remission").get_data(as_text=True)
    assert len(tables) == 1 and "Data table" in first
    assert clinician.get("/outcomes/remission").get_data(as_text=True).count("<tbody>") == first.count("<tbody>")
    assert len(tables) == 1  # the same network table, whoever reads it
    parent.post("/language", data={"language": "es"})
    spanish = parent.get("/outcomes/remission").get_data(as_text=True)
    assert len(tables) == 2 and "Tabla de datos" in spanish  # another language is another table
    add_figures(db, world.own, data, [("2026-03", 99, 100)])
    table = clinician.get("/outcomes/remission").get_data(as_text=True)
    assert len(tables) == 3 and "Mar 2026" in table  # new figures: drawn again
    data.name = "Remission (PCDAI)"
    db.commit()
    renamed = clinician.get("/outcomes/remission").get_data(as_text=True)
    assert "<caption>Remission (PCDAI) — Network total</caption>" in renamed


def test_rendered_charts_are_kept_up_to_a_size_not_a_count(login_as, data, monkeypatch):
    """Found by the load test: 1,024 entries were fewer than the demo network's charts, so readers moving
    between measures and sites had every chart drawn again; the bound is now the characters kept."""
    from app.outcomes import render

    monkeypatch.setattr(render, "_RENDERED", type(render._RENDERED)())
    monkeypatch.setattr(render, "_RENDERED_CHARS", 0)
    parent = login_as("parent")
    assert parent.get("/outcomes/remission").status_code == 200
    everything = render._RENDERED_CHARS
    assert everything == sum(len(markup) for _chart, markup in render._RENDERED.values()) > 0
    monkeypatch.setattr(render, "RENDERED_MAX_CHARS", everything // 2)
    assert parent.get("/outcomes/sites/own-site").status_code == 200
    assert 0 < render._RENDERED_CHARS <= everything // 2
    assert render._RENDERED_CHARS == sum(len(markup) for _chart, markup in render._RENDERED.values())


def test_a_warmed_process_draws_no_chart_for_the_overview(app, db, world, login_as, data, monkeypatch):
    """Found by the load test: a new server process's first readers waited while each overview's 70 small
    multiples were drawn. Warming draws exactly what the overview shows (same cache keys)."""
    from app import charts
    from app.outcomes import warm

    paused = []
    assert warm.warm(app, pause=lambda: paused.append(1)) == 3  # the network chart and two sites
    assert len(paused) == 3
    drawn = []
    real = charts.control_chart_svg
    monkeypatch.setattr(charts, "control_chart_svg", lambda *a, **k: drawn.append(1) or real(*a, **k))
    page = login_as("parent").get("/outcomes/remission").get_data(as_text=True)
    assert "Own Site Hospital" in page and page.count('role="img"') >= 3
    assert drawn == []
    login_as("parent").get("/outcomes/sites/own-site")
    assert drawn  # what warming does not draw is drawn when asked for


def test_a_warmed_process_compiles_no_template_for_a_page(app, db, world, login_as, data, monkeypatch):
    """Found by the load test: each new process compiled each template on its first use, in its first
    readers' time. Warming compiles them all, pausing between them."""
    from app.outcomes import warm

    paused = []
    assert warm.compile_templates(app, pause=lambda: paused.append(1)) == len(paused) > 100
    compiled = []
    real = app.jinja_env.compile
    monkeypatch.setattr(app.jinja_env, "compile", lambda *a, **k: compiled.append(a) or real(*a, **k))
    parent = login_as("parent")
    for path in ("/", "/outcomes/remission", "/library/", "/stories/", "/outcomes/sites/own-site"):
        assert parent.get(path).status_code == 200, path
    assert compiled == []


def test_warming_starts_once_in_the_background_on_the_first_request(session_factory, app_config, data, monkeypatch):
    """On in production (WARM_CHARTS); CLI commands never warm, as they make no request. After warming,
    the process settles its heap, warmed charts included (app/heap.py)."""
    from app import create_app, heap
    from app.outcomes import render

    class Warming(app_config):
        WARM_CHARTS = True

    app = create_app(Warming)
    app.extensions["carecommons.db"].session_factory = session_factory  # the test's database
    assert "carecommons.warm" not in app.extensions
    client = app.test_client()
    monkeypatch.setattr(render, "_RENDERED", type(render._RENDERED)())
    monkeypatch.setattr(render, "_RENDERED_CHARS", 0)
    frozen = []
    monkeypatch.setattr(heap, "settle", lambda: frozen.append(len(render._RENDERED)) or 0)
    client.get("/healthz")
    thread = app.extensions["carecommons.warm"]
    thread.join(30)
    assert not thread.is_alive()
    assert frozen and frozen[0] > 0  # once, after the charts were drawn
    client.get("/healthz")
    assert app.extensions["carecommons.warm"] is thread  # not started again
    assert any(key[2] == "block" for key in render._RENDERED)
