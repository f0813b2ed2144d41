"""Properties of the outcome imports (network/outcomes.py, network/fhir.py) through the database: for any
input — random bytes, CSV files of good rows with mutated cells, FHIR Bundles and MeasureReports with
mutated elements — the import is either whole (every row is then the current figure) or an `Invalid`
naming where each problem is, and after an error the database is exactly as before (submissions,
measures' data versions, audit events). And a chart does not depend on the order in which a site's
months arrived.

These use the database fixtures, so `make test-postgres` runs them on PostgreSQL too."""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from network import fhir, outcome_reports, outcomes
from network.audit import AuditEvent
from network.errors import Invalid
from network.outcomes import Measure, RowInput, Submission
from tests.outcome_fixtures import add_measure, months

pytestmark = pytest.mark.fuzz

with_db = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.data_too_large, HealthCheck.filter_too_much])

SITES = ["own-site", "other-site", "nowhere", "", " own-site ", "OWN-SITE"]
MEASURES = ["remission", "visits", "retired", "", "Remission"]
MONTHS = months(2024, 24)
ODD_CELLS = ["-1", "1e3", "²", "١٢", " 7 ", "0x10", "9" * 12, "NaN", "", "2030-01", "2024-13", "24-01",
             "2024-1", "1899-12", "07", "1,000", "3.0", "\x00", "🙂", "=cmd|' /C calc'!A0"]


@pytest.fixture
def lead(db, world):
    add_measure(db, "remission")
    add_measure(db, "visits", chart_type="u")
    add_measure(db, "retired", is_active=False)
    return world.user("site_lead")


def snapshot(db) -> str:
    """A digest of everything an import may write."""
    db.expire_all()
    rows = db.execute(select(Submission.id, Submission.site_id, Submission.measure_id, Submission.month,
                             Submission.numerator, Submission.denominator, Submission.version,
                             Submission.is_current, Submission.source).order_by(Submission.id)).all()
    versions = db.execute(select(Measure.id, Measure.data_version).order_by(Measure.id)).all()
    audit = db.scalar(select(func.count()).select_from(AuditEvent))
    return hashlib.sha256(repr((rows, versions, audit)).encode()).hexdigest()


def assert_located(error: Invalid, where: re.Pattern) -> None:
    """A clear error: at least one field, each named as the importer names places, each with a sentence."""
    assert error.field_errors
    for field, messages in error.field_errors.items():
        assert where.match(field), field
        assert messages and all(str(m).strip() for m in messages), field


def assert_current(db, rows) -> None:
    """After a whole import, each row's figure is the current one for its site, measure and month."""
    for row in rows:
        current = db.execute(select(Submission.numerator, Submission.denominator)
                             .join(Measure, Measure.id == Submission.measure_id)
                             .where(Measure.key == str(row.measure).strip(), Submission.is_current.is_(True),
                                    Submission.month == outcomes.parse_month(row.month))).all()
        assert (int(row.numerator), int(row.denominator)) in [tuple(c) for c in current]


# ---------------------------------------------------------------------------------------------
# CSV

def cell(good, clean):
    """The good value; in a mutated file, sometimes a mutant: an odd value, arbitrary text, another one."""
    if clean:
        return good
    return st.one_of(good, good, good, good, st.sampled_from(ODD_CELLS), st.text(max_size=12))


@st.composite
def csv_rows(draw, key, clean):
    measure, month = key
    denominator = draw(st.integers(0, 500))
    return {"site": draw(cell(st.sampled_from(["own-site", " own-site "]), clean) if clean
                         else cell(st.sampled_from(SITES[:1] * 5 + SITES), clean)),
            "measure": draw(cell(st.just(measure), clean) if clean
                            else cell(st.sampled_from(MEASURES[:2] * 3 + MEASURES), clean)),
            "month": draw(cell(st.just(month), clean)),
            "numerator": draw(cell(st.integers(0, denominator).map(str), clean)),
            "denominator": draw(cell(st.just(str(denominator)), clean))}


@st.composite
def csv_files(draw):
    """Half the files are clean (every row good, as a site would send them), half have mutated cells,
    lines or bytes."""
    clean = draw(st.booleans())
    header = list(outcomes.CSV_COLUMNS)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    if not clean and draw(st.integers(0, 9)) == 0:  # a broken header now and then
        header = draw(st.lists(st.sampled_from([*outcomes.CSV_COLUMNS, "site ", "Month", "extra", ""]),
                               max_size=7))
    keys = draw(st.lists(st.tuples(st.sampled_from(MEASURES[:2]), st.sampled_from(MONTHS)), unique=True,
                         min_size=1 if clean else 0, max_size=8))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for key in keys:
        row = draw(csv_rows(key, clean))
        values = [row.get(name, "x") for name in header]
        if not clean and draw(st.integers(0, 14)) == 0:  # a short or long line
            values = values[:draw(st.integers(0, len(values)))] + draw(st.lists(st.text(max_size=3), max_size=2))
        writer.writerow(values)
    data = out.getvalue().encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data  # Excel's BOM
    if not clean and draw(st.integers(0, 9)) == 0:  # bytes spliced in anywhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return data


CSV_PLACE = re.compile(r"^(row \d+: (site|measure|month|numerator|denominator|row|header)|file)$")


@with_db
@given(st.one_of(csv_files(), st.binary(max_size=200)))
def test_a_csv_import_is_whole_or_a_located_error_that_changes_nothing(db, lead, data):
    before = snapshot(db)
    try:
        rows = outcomes.read_csv(io.BytesIO(data), max_bytes=outcomes.MAX_UPLOAD_BYTES)
        result = outcomes.submit(db, lead, rows, source="csv")
    except Invalid as error:
        event("refused")
        assert_located(error, CSV_PLACE)
        assert snapshot(db) == before
        return
    event("imported whole")
    assert result.total == len(rows) > 0
    assert_current(db, rows)


def test_the_csv_property_sees_both_outcomes(db, lead):
    """Guard against a generator that only ever produces errors: a plain good file imports."""
    good = b"site,measure,month,numerator,denominator\nown-site,remission,2024-05,3,9\n"
    result = outcomes.submit(db, lead, outcomes.read_csv(io.BytesIO(good), max_bytes=1000), source="csv")
    assert result.created == 1


# ---------------------------------------------------------------------------------------------
# FHIR

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=15) | st.sampled_from(["complete", "summary", "2024-03-01", "2024-03-31", "numerator",
                                              fhir.POPULATION_SYSTEM, fhir.SITE_SYSTEM, "MeasureReport"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def _places(value, path=()):
    """Every (container, key) inside a JSON document, in a stable order."""
    if isinstance(value, dict):
        for key in value:
            yield value, key
            yield from _places(value[key], (*path, key))
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value, index
            yield from _places(value[index], (*path, index))


@st.composite
def fhir_documents(draw):
    """Half clean (good reports for the token's own site), half with mutated sites, measures or elements."""
    clean = draw(st.booleans())
    keys = draw(st.lists(st.tuples(st.sampled_from(["remission", "visits"]), st.sampled_from(MONTHS)),
                         unique=True, min_size=1, max_size=4))
    reports = []
    for measure, month in keys:
        denominator = draw(st.integers(0, 400))
        reports.append(fhir.measure_report(
            site="own-site" if clean else draw(st.sampled_from(["own-site"] * 4 + ["other-site", "nowhere"])),
            measure=measure if clean else draw(st.sampled_from([measure] * 4 + ["retired", "unknown"])),
            month=month, numerator=draw(st.integers(0, denominator)),
            denominator=denominator, base_url="https://carecommons.example"))
    document = reports[0] if len(reports) == 1 and draw(st.booleans()) else {
        "resourceType": "Bundle", "type": draw(st.sampled_from(["collection", "batch", "transaction"])),
        "entry": [{"resource": r} for r in reports]}
    for _ in range(0 if clean else draw(st.integers(1, 3))):  # mutate a few elements anywhere
        places = list(_places(document))
        container, key = places[draw(st.integers(0, len(places) - 1))]
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values)
    text = json.dumps(document)
    if not clean and draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=4)) + text[at:]
    return text.encode("utf-8")


#: the reader names FHIR paths ("entry 2: group[0].population[1].count", "status", "file"; an element the
#: sender made up is named as sent, e.g. "period.:"); the import service then names the entry's figure as
#: a row ("row 2: site")
FHIR_PLACE = re.compile(r"^(entry \d+(: [A-Za-z_].*)?|[A-Za-z_].*|row \d+: (site|measure|month|numerator|denominator|row))$",
                        re.S)


@pytest.fixture
def site_token(db, lead, world):
    _token, secret = outcomes.create_token(db, lead, world.own, "fuzz")
    return outcomes.actor_for_token(db, secret)


@with_db
@given(st.one_of(fhir_documents(), st.binary(max_size=200)))
def test_a_fhir_import_is_whole_or_a_located_error_that_changes_nothing(db, site_token, data):
    before = snapshot(db)
    try:
        rows = outcomes.rows_from_fhir(data)
        result = outcomes.submit(db, site_token, rows, source="fhir")
    except Invalid as error:
        event("refused")
        assert_located(error, FHIR_PLACE)
        assert snapshot(db) == before
        return
    event("imported whole")
    assert result.total == len(rows) > 0
    assert_current(db, rows)


def test_the_fhir_property_sees_both_outcomes(db, site_token):
    report = fhir.measure_report(site="own-site", measure="remission", month="2024-05", numerator=3,
                                 denominator=9, base_url="https://carecommons.example")
    result = outcomes.submit(db, site_token, outcomes.rows_from_fhir(json.dumps(report)), source="fhir")
    assert result.created == 1


# ---------------------------------------------------------------------------------------------
# Charts do not depend on the order the months arrived in

_KEYS = itertools.count()


@st.composite
def series(draw):
    chosen = sorted(draw(st.sets(st.sampled_from(MONTHS), min_size=1, max_size=len(MONTHS))))
    figures = []
    for month in chosen:
        denominator = draw(st.integers(1, 300))
        figures.append((month, draw(st.integers(0, denominator)), denominator))
    return figures


@with_db
@given(st.sampled_from(["p", "p_laney", "u", "run"]), series(), series(), st.randoms(use_true_random=False))
def test_a_chart_is_the_same_whatever_order_its_months_arrived_in(db, world, kind, own, other, random):
    measure = add_measure(db, f"order-{next(_KEYS)}", chart_type=kind)
    for site, figures in ((world.own, own), (world.other, other)):
        lead = world.user("site_lead", "own" if site is world.own else "other")
        shuffled = figures[:]
        random.shuffle(shuffled)
        while shuffled:  # several imports of random size, in random order
            size = random.randint(1, len(shuffled))
            batch, shuffled = shuffled[:size], shuffled[size:]
            outcomes.submit(db, lead, [RowInput(i + 1, site.slug, measure.key, m, n, d)
                                       for i, (m, n, d) in enumerate(batch)], source="csv")
    db.refresh(measure)
    leader = world.user("network_leader", "network")
    chart = outcome_reports.site_chart(db, leader, measure, world.own)
    expected = outcome_reports.chart_for(measure, [m for m, _n, _d in own], [n for _m, n, _d in own],
                                         [d for _m, _n, d in own])
    assert chart.labels == expected.labels
    assert chart.result.to_dict() == expected.result.to_dict()
    totals: dict[str, list[int]] = {}
    for month, n, d in own + other:
        totals.setdefault(month, [0, 0])
        totals[month][0] += n
        totals[month][1] += d
    network = outcome_reports.network_chart(db, leader, measure)
    labels = sorted(totals)
    expected_network = outcome_reports.chart_for(measure, labels, [totals[m][0] for m in labels],
                                                 [totals[m][1] for m in labels])
    assert network.labels == labels
    assert network.result.to_dict() == expected_network.result.to_dict()
