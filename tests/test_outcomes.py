"""Outcome services: every submission path validates everything before writing anything."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from network import outcome_reports, outcomes
from network.errors import Forbidden, Invalid, NotFound
from network.outcomes import ApiToken, RowInput, Submission
from network.visibility import Cell, hides, site_label, suppress_group
from tests.outcome_fixtures import add_figures, add_measure, months

TODAY = date(2026, 11, 26)


@pytest.fixture
def measure(db):
    return add_measure(db)


def row(n=1, site="own-site", measure="remission", month="2026-03", numerator=143, denominator=210):
    return RowInput(n, site, measure, month, numerator, denominator)


def count(db):
    return db.scalar(select(func.count(Submission.id)))


def test_site_lead_submits_and_corrects_keeping_the_old_version(db, world, measure):
    lead = world.user("site_lead")
    result = outcomes.submit(db, lead, [row()], source="form", today=TODAY)
    assert (result.created, result.corrected) == (1, 0)
    again = outcomes.submit(db, lead, [row()], source="form", today=TODAY)
    assert again.unchanged == 1 and count(db) == 1
    corrected = outcomes.submit(db, lead, [row(numerator=150)], source="csv", today=TODAY)
    assert corrected.corrected == 1
    versions = outcomes.history(db, lead, world.own, measure, date(2026, 3, 1))
    assert [(v.version, v.numerator, v.is_current) for v in versions] == [(2, 150, True), (1, 143, False)]
    assert versions[0].acting_role == "site_lead"
    db.refresh(measure)
    chart = outcome_reports.site_chart(db, lead, measure, world.own)
    assert chart.revised == {0} and int(chart.numerators[0]) == 150


def test_data_steward_may_submit_but_a_plain_clinician_may_not(db, world, measure):
    from network.people import Membership

    clinician = world.user("clinician")
    with pytest.raises(Invalid) as refused:
        outcomes.submit(db, clinician, [row()], source="form", today=TODAY)
    assert "may not submit" in refused.value.field_errors["row 1: site"][0]
    db.rollback()
    membership = db.scalars(select(Membership).where(Membership.user_id == clinician.id)).one()
    membership.data_steward = True
    db.commit()
    db.expire(clinician, ["memberships"])
    assert outcomes.submit(db, clinician, [row()], source="form", today=TODAY).created == 1


@pytest.mark.parametrize("actor_role,where", [("patient", "own"), ("parent", "own"), ("site_lead", "other"),
                                              ("network_leader", "network"), ("moderator", "network")])
def test_who_may_not_submit_for_own_site(db, world, measure, actor_role, where):
    with pytest.raises(Invalid) as refused:
        outcomes.submit(db, world.user(actor_role, where), [row()], source="form", today=TODAY)
    assert "row 1: site" in refused.value.field_errors
    db.rollback()
    assert count(db) == 0


@pytest.mark.parametrize("bad,field,message", [
    (dict(numerator=-1), "numerator", "whole number"),
    (dict(numerator="12.5"), "numerator", "whole number"),
    (dict(denominator="lots"), "denominator", "whole number"),
    (dict(numerator=True), "numerator", "whole number"),
    (dict(numerator=300, denominator=210), "numerator", "larger than the denominator"),
    (dict(site="nowhere"), "site", "Unknown site"),
    (dict(measure="happiness"), "measure", "Unknown measure"),
    (dict(month="2026-13"), "month", "YYYY-MM"),
    (dict(month="March 2026"), "month", "YYYY-MM"),
    (dict(month="2026-12"), "month", "future"),
])
def test_bad_row_rejects_the_whole_import(db, world, measure, bad, field, message):
    rows = [row(1, month="2026-01"), row(2, **{"month": "2026-02", **bad})]
    with pytest.raises(Invalid) as refused:
        outcomes.submit(db, world.user("site_lead"), rows, source="csv", today=TODAY)
    assert message in " ".join(refused.value.field_errors[f"row 2: {field}"])
    assert not any(key.startswith("row 1") for key in refused.value.field_errors)
    db.rollback()
    assert count(db) == 0


def test_duplicate_rows_within_one_file(db, world, measure):
    with pytest.raises(Invalid) as refused:
        outcomes.submit(db, world.user("site_lead"), [row(2), row(3, numerator=1)], source="csv", today=TODAY)
    assert "Duplicate of row 2" in refused.value.field_errors["row 3: row"][0]


def test_every_error_is_reported_at_once(db, world, measure):
    rows = [row(2, numerator=-5), row(3, site="nowhere"), row(4, month="x")]
    with pytest.raises(Invalid) as refused:
        outcomes.submit(db, world.user("site_lead"), rows, source="csv", today=TODAY)
    assert set(refused.value.field_errors) == {"row 2: numerator", "row 3: site", "row 4: month"}


def test_empty_import_is_refused(db, world, measure):
    with pytest.raises(Invalid):
        outcomes.submit(db, world.user("site_lead"), [], source="csv", today=TODAY)


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def test_csv_reader_streams_rows_with_line_numbers():
    rows = outcomes.read_csv(csv_bytes("measure,site,month,numerator,denominator\n"
                                       "remission,own-site,2026-01,1,2\n\nremission,own-site,2026-02,3,4\n"),
                             max_bytes=1000)
    assert [(r.row, r.site, r.month, r.numerator) for r in rows] == [(2, "own-site", "2026-01", "1"),
                                                                      (4, "own-site", "2026-02", "3")]


@pytest.mark.parametrize("text,where,message", [
    ("", "file", "empty"),
    ("site,measure,month,numerator\n", "row 1: header", "missing column(s): denominator"),
    ("site,measure,month,numerator,denominator,colour\n", "row 1: header", "unknown column(s): colour"),
    ("site,measure,month,numerator,denominator\na,b,c\n", "row 2: row", "Expected 5 values"),
])
def test_csv_reader_refuses_bad_files(text, where, message):
    with pytest.raises(Invalid) as refused:
        outcomes.read_csv(csv_bytes(text), max_bytes=1000)
    assert message in " ".join(refused.value.field_errors[where])


def test_csv_reader_refuses_non_utf8_and_oversize():
    with pytest.raises(Invalid) as not_utf8:
        outcomes.read_csv(io.BytesIO("site,measure,month,numerator,denominator\nCafé,a,b,1,2\n".encode("latin-1")),
                          max_bytes=1000)
    assert "UTF-8" in not_utf8.value.field_errors["file"][0]
    big = "site,measure,month,numerator,denominator\n" + "own-site,remission,2026-01,1,2\n" * 100
    with pytest.raises(Invalid) as too_big:
        outcomes.read_csv(csv_bytes(big), max_bytes=500)
    assert "larger than" in too_big.value.field_errors["file"][0]


def test_json_rows_shape():
    with pytest.raises(Invalid):
        outcomes.rows_from_json([1, 2])
    with pytest.raises(Invalid) as extra:
        outcomes.rows_from_json({"submissions": [{"site": "a", "colour": "red"}]})
    assert "colour" in extra.value.field_errors["row 1: row"][0]


def test_tokens_are_hashed_scoped_and_revocable(db, world, measure):
    lead = world.user("site_lead")
    token, secret = outcomes.create_token(db, lead, world.own, "EHR export")
    assert secret.startswith("cc_") and secret not in (token.token_hash, token.prefix)
    assert db.scalar(select(ApiToken.token_hash)) != secret
    token_actor = outcomes.actor_for_token(db, secret)
    assert outcomes.submit(db, token_actor, [row()], source="api", today=TODAY).created == 1
    with pytest.raises(Invalid) as other_site:
        outcomes.submit(db, token_actor, [row(site="other-site")], source="api", today=TODAY)
    assert "may not submit" in other_site.value.field_errors["row 1: site"][0]
    db.rollback()
    outcomes.revoke_token(db, lead, world.own, token.id)
    assert outcomes.actor_for_token(db, secret) is None
    assert outcomes.actor_for_token(db, "cc_not-a-token") is None
    with pytest.raises(NotFound):
        outcomes.create_token(db, world.user("site_lead", "other"), world.own, "mine")
    with pytest.raises(Forbidden):
        outcomes.create_token(db, world.user("clinician"), world.own, "mine")


def test_measures_are_defined_by_leaders_with_validation(db, world):
    leader = world.user("network_leader", "network")
    fields = outcomes.MeasureFields(key="transition", name="Transition readiness", goal=0.7)
    measure = outcomes.define_measure(db, leader, fields)
    assert measure.key == "transition"
    with pytest.raises(Forbidden):
        outcomes.define_measure(db, world.user("site_lead"), outcomes.MeasureFields(key="x", name="X"))
    bad = outcomes.MeasureFields(key="Bad Key", name="", better="sideways", goal=1.5, chart_type="pie",
                                 rule_set="magic", multiplier=0, baseline_months=1)
    with pytest.raises(Invalid) as refused:
        outcomes.define_measure(db, leader, bad)
    assert set(refused.value.field_errors) == {"key", "name", "better", "goal", "chart_type", "rule_set",
                                               "multiplier", "baseline_months"}


# --- suppression and labels: one implementation --------------------------------------------

def test_primary_suppression_rules():
    assert hides(5, 200) and hides(150, 5) and hides(195, 200)  # small numerator, denominator, complement
    assert not hides(0, 200) and not hides(100, 200) and not hides(0, 0)
    assert hides(5, 200, complement=False)


def test_complementary_suppression_hides_a_second_cell():
    cells = [Cell(5, 40), Cell(100, 200), Cell(30, 50), Cell(300, 400)]
    assert suppress_group(cells) == [True, False, True, False]
    assert suppress_group([Cell(5, 40), Cell(3, 30), Cell(100, 200)]) == [True, True, False]
    assert suppress_group([Cell(100, 200), Cell(300, 400)]) == [False, False]


def test_site_label_names_for_members_codes_for_the_public(world):
    from network.access import ANONYMOUS

    assert site_label(world.user("parent"), world.other) == "Other Site Clinic"
    assert site_label(ANONYMOUS, world.other) == "Site 2"


# --- read models -------------------------------------------------------------------------

def test_network_and_site_charts(db, world, measure):
    add_figures(db, world.own, measure, [(m, 60 + i, 100) for i, m in enumerate(months(2024, 24))])
    add_figures(db, world.other, measure, [(m, 70, 100) for m in months(2024, 24)])
    chart = outcome_reports.network_chart(db, world.user("parent"), measure)
    assert len(chart.labels) == 24 and int(chart.denominators[0]) == 200 and int(chart.numerators[0]) == 130
    sites = outcome_reports.site_charts(db, world.user("parent"), measure)
    assert {s.label for s in sites} == {"Own Site Hospital", "Other Site Clinic"}
    rising = next(s for s in sites if s.site.id == world.own.id).chart
    assert rising.has_signal and any("a shift" in s or "trend" in s or "limits" in s for s in rising.signals)


def test_batch_and_single_charts_agree(db, world, measure):
    add_figures(db, world.own, measure, [(m, 40 + (i * 7) % 23, 80) for i, m in enumerate(months(2023, 30))])
    batch_chart = outcome_reports.site_chart(db, world.user("parent"), measure, world.own)
    single = outcome_reports.chart_for(measure, batch_chart.labels, batch_chart.numerators, batch_chart.denominators)
    assert batch_chart.result.to_dict() == single.result.to_dict()


def test_public_views_never_show_a_small_cell(db, world, measure):
    from network.access import ANONYMOUS

    add_figures(db, world.own, measure, [("2025-01", 2, 4), ("2025-02", 3, 5)])     # a small site: 5 of 9
    add_figures(db, world.other, measure, [(m, 300, 420) for m in months(2025, 12)])
    comparison = outcome_reports.funnel(db, ANONYMOUS, measure, date(2025, 1, 1), date(2025, 12, 1), public=True)
    shown = [(r.label, r.numerator, r.denominator) for r in comparison.rows if not r.suppressed]
    assert all(not (1 <= n < 11 or 1 <= d < 11 or 1 <= d - n < 11) for _l, n, d in shown)
    assert all(r.suppressed for r in comparison.rows)  # the small one, and its complement
    assert {r.label for r in comparison.rows} == {"Site 1", "Site 2"} and all(r.site is None for r in comparison.rows)
    with pytest.raises(Exception):
        outcome_reports.site_charts(db, ANONYMOUS, measure)


def test_public_network_chart_drops_small_months(db, world, measure):
    from network.access import ANONYMOUS

    add_figures(db, world.own, measure, [("2025-01", 3, 8), ("2025-02", 150, 200), ("2025-03", 160, 200)])
    public = outcome_reports.network_chart(db, ANONYMOUS, measure, public=True)
    assert public.labels == ["2025-02", "2025-03"] and public.suppressed_months == ["2025-01"]
    members = outcome_reports.network_chart(db, world.user("parent"), measure)
    assert members.labels == ["2025-01", "2025-02", "2025-03"]


def test_cache_follows_the_data_version(db, world, measure):
    add_figures(db, world.own, measure, [("2025-01", 50, 100)])
    first = outcome_reports.network_chart(db, world.user("parent"), measure)
    outcomes.submit(db, world.user("site_lead"), [row(month="2025-02", numerator=60, denominator=100)],
                    source="form", today=TODAY)
    db.refresh(measure)
    second = outcome_reports.network_chart(db, world.user("parent"), measure)
    assert len(first.labels) == 1 and len(second.labels) == 2


def test_a_chart_being_computed_is_waited_for_not_computed_again():
    """Found by the load test (bench/load.py): pages arriving together after a restart or new figures
    each computed the same charts side by side. Whoever asks while one computes gets that result."""
    import threading
    import time

    outcome_reports.clear_cache()
    started, release = threading.Event(), threading.Event()
    calls, results = [], []

    def compute():
        calls.append(1)
        started.set()
        release.wait(10)
        return object()

    def ask():
        results.append(outcome_reports._cached(("test-single-flight", 1), compute))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    threads[0].start()
    assert started.wait(10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)  # the others ask while the first computes
    release.set()
    for thread in threads:
        thread.join(10)
    outcome_reports.clear_cache()
    assert len(results) == 3 and len({id(r) for r in results}) == 1
    assert len(calls) == 1
