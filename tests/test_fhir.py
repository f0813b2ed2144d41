"""Tests of network.fhir: reading FHIR R4 MeasureReports (single or bundled) and exporting them.

Example files live in tests/data/fhir: ``valid_*.json`` must parse, each ``bad_*.json`` (and
``not_json.json``) must raise Invalid under exactly the field path that the table below names. Exports
are checked against the R4B models of fhir.resources (R4's MeasureReport) and by parsing them back.
No database is used.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport

from network import fhir
from network.errors import Invalid

DATA = Path(__file__).parent / "data" / "fhir"
BASE_URL = "https://carecommons.example"
GENERATED_AT = datetime(2024, 4, 2, 9, 30, tzinfo=timezone.utc)


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def errors_of(data: bytes | str | dict, **kwargs: Any) -> dict[str, list[str]]:
    """The field errors of a parse that must fail."""
    if isinstance(data, dict):
        data = json.dumps(data)
    with pytest.raises(Invalid) as caught:
        fhir.parse(data, **kwargs)
    return caught.value.field_errors


def report(**overrides: Any) -> dict[str, Any]:
    """A valid report built by the module's own helper, with chosen arguments changed."""
    arguments = dict(site="riverside", measure="remission", month="2024-03", numerator=143, denominator=210,
                     base_url=BASE_URL)
    return fhir.measure_report(**{**arguments, **overrides})


def bundle_of(*reports: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in reports]}


def count_of(population: dict[str, Any]) -> Any:
    return population.get("count")


# --------------------------------------------------------------------------------------------------
# Example files
# --------------------------------------------------------------------------------------------------


def test_valid_single_report_file():
    assert fhir.parse((DATA / "valid_report.json").read_bytes()) == [
        {"row": 1, "site": "riverside", "measure": "remission", "month": "2024-03", "numerator": 143,
         "denominator": 210},
    ]


def test_valid_bundle_file_gives_one_row_per_entry_numbered_from_one():
    rows = fhir.parse((DATA / "valid_bundle.json").read_text(encoding="utf-8"))
    assert rows == [
        {"row": 1, "site": "riverside", "measure": "remission", "month": "2024-01", "numerator": 120,
         "denominator": 200},
        {"row": 2, "site": "riverside", "measure": "remission", "month": "2024-02", "numerator": 131,
         "denominator": 204},
        {"row": 3, "site": "northgate", "measure": "steroid-free", "month": "2024-02", "numerator": 0,
         "denominator": 0},
    ]


def test_example_files_are_valid_r4_apart_from_our_conventions():
    """The valid files are real FHIR; a bad file's fault is one of our conventions or a type the model knows."""
    MeasureReport.model_validate(load("valid_report.json"))
    Bundle.model_validate(load("valid_bundle.json"))
    for name in ("bad_status.json", "bad_type.json", "bad_period_two_months.json", "bad_negative_count.json",
                 "bad_missing_numerator.json"):
        MeasureReport.model_validate(load(name))


def test_r4_group_measure_score_is_accepted_and_ignored():
    """R4 puts measureScore on the group (the package's default R5 model rejects it there)."""
    data = load("valid_report.json")
    assert data["group"][0]["measureScore"] == {"value": 0.681}
    data["group"][0]["measureScore"] = {"value": 0.99}
    assert fhir.parse(json.dumps(data))[0]["numerator"] == 143


BAD_FILES = [
    ("bad_status.json", "status", "Must be “complete”"),
    ("bad_type.json", "type", "Must be “summary”"),
    ("bad_period_two_months.json", "period.end", "Must be 2024-03-31"),
    ("bad_period_not_month_aligned.json", "period.start", "first day of a month"),
    ("bad_negative_count.json", "group[0].population[2].count", "Must be 0 or more; found -3."),
    ("bad_fractional_count.json", "group[0].population[1].count", "valid integer"),
    ("bad_string_count.json", "group[0].population[2].count", "JSON integer"),
    ("bad_missing_numerator.json", "group[0].population", "No population coded “numerator”"),
    ("not_json.json", "file", "not valid JSON"),
    ("bad_resource_type.json", "resourceType", "found “Observation”"),
    ("bad_bundle_one_bad_entry.json", "entry 2: period.end", "Must be 2024-02-29"),
]


@pytest.mark.parametrize(("name", "path", "message"), BAD_FILES, ids=[row[0] for row in BAD_FILES])
def test_bad_file_raises_invalid_under_its_path(name: str, path: str, message: str):
    errors = errors_of((DATA / name).read_bytes())
    assert list(errors) == [path], errors
    assert any(message in text for text in errors[path]), errors[path]


def test_every_bad_file_is_covered():
    on_disk = {p.name for p in DATA.glob("*.json") if not p.name.startswith("valid_")}
    assert on_disk == {row[0] for row in BAD_FILES}


# --------------------------------------------------------------------------------------------------
# Reading: more cases
# --------------------------------------------------------------------------------------------------


def test_all_problems_in_all_entries_are_reported_together():
    good = report()
    bad_counts = report(month="2024-04")
    bad_counts["group"][0]["population"][0]["count"] = -1
    bad_counts["group"][0]["population"][1]["count"] = 2.5
    bad_meta = report(month="2024-05")
    bad_meta.update(status="draft", type="individual")
    bad_meta["reporter"] = {"display": "Riverside"}
    errors = errors_of(bundle_of(good, bad_counts, report(month="2024-06"), bad_meta))
    assert set(errors) == {
        "entry 2: group[0].population[0].count",
        "entry 2: group[0].population[1].count",
        "entry 4: status",
        "entry 4: type",
        "entry 4: reporter.identifier",
    }


def test_single_report_with_several_problems_lists_each():
    data = report()
    data.update(status="cancelled", period={"start": "2024-03-01", "end": "2024-04-30"})
    del data["group"][0]["population"][1]
    assert set(errors_of(data)) == {"status", "period.end", "group[0].population"}


@pytest.mark.parametrize("kind", ["collection", "batch", "transaction"])
def test_bundle_types_accepted(kind: str):
    data = bundle_of(report(), report(site="northgate"), kind=kind)
    if kind != "collection":
        for entry in data["entry"]:
            entry["request"] = {"method": "POST", "url": "MeasureReport"}
    assert [r["site"] for r in fhir.parse(json.dumps(data))] == ["riverside", "northgate"]


def test_other_bundle_types_refused():
    errors = errors_of(bundle_of(report(), kind="searchset"))
    assert list(errors) == ["type"]


def test_bundle_entry_that_is_not_a_measure_report():
    data = bundle_of(report(), {"resourceType": "Patient", "id": "p1"})
    data["entry"].append({"fullUrl": "urn:uuid:5d9b2c1e-0000-4000-8000-000000000003"})
    errors = errors_of(data)
    assert errors == {"entry 2: resourceType": ["Expected a MeasureReport; found “Patient”."],
                      "entry 3: resource": ["Each entry must hold one MeasureReport resource."]}


def test_bundle_structure_errors_are_named_by_entry():
    data = bundle_of(report())
    data["entry"].append(7)
    data["entry"].append({"resource": report(month="2024-04"), "request": {"method": "POST"}})
    errors = errors_of(data)
    assert set(errors) == {"entry 2", "entry 3: request.url"}


@pytest.mark.parametrize("entries", [[], None])
def test_empty_bundle_refused(entries: list | None):
    data: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries is not None:
        data["entry"] = entries
    assert "no entries" in errors_of(data)["entry"][0]


@pytest.mark.parametrize("count", [True, "12", 12.0, None, {"value": 12}])
def test_count_must_be_a_json_integer(count: Any):
    data = report()
    data["group"][0]["population"][0]["count"] = count
    if count is None:
        del data["group"][0]["population"][0]["count"]
    assert list(errors_of(data)) == ["group[0].population[0].count"]


def test_zero_counts_are_fine_and_numerator_above_denominator_is_left_to_the_import_service():
    assert fhir.parse(json.dumps(report(numerator=0, denominator=0)))[0]["denominator"] == 0
    assert fhir.parse(json.dumps(report(numerator=9, denominator=3)))[0]["numerator"] == 9


def test_populations_must_use_the_hl7_code_system_and_appear_once():
    data = report()
    data["group"][0]["population"][0]["code"]["coding"][0]["system"] = "http://example.org/codes"
    assert "No population coded “numerator”" in errors_of(data)["group[0].population"][0]
    data = report()
    data["group"][0]["population"].append(copy.deepcopy(data["group"][0]["population"][1]))
    assert "More than one population coded “denominator”" in errors_of(data)["group[0].population"][0]


def test_more_than_one_group_is_refused_rather_than_half_read():
    data = report()
    data["group"].append(copy.deepcopy(data["group"][0]))
    assert list(errors_of(data)) == ["group"]


@pytest.mark.parametrize(("canonical", "key"), [
    ("https://carecommons.example/Measure/remission", "remission"),
    ("https://registry.example/fhir/Measure/remission|3.0.1", "remission"),
    ("https://registry.example/fhir/Measure/remission/", "remission"),
    ("Measure/remission", "remission"),
    ("remission", "remission"),
])
def test_measure_key_is_the_last_segment_of_any_canonical(canonical: str, key: str):
    data = report()
    data["measure"] = canonical
    assert fhir.parse(json.dumps(data))[0]["measure"] == key


def test_measure_required():
    data = report()
    del data["measure"]
    assert list(errors_of(data)) == ["measure"]


def test_site_only_from_the_carecommons_identifier():
    data = report()
    data["reporter"] = {"display": "Riverside Children's"}
    assert list(errors_of(data)) == ["reporter.identifier"]
    data["reporter"] = {"identifier": {"system": "urn:oid:1.2.3", "value": "riverside"}}
    assert list(errors_of(data)) == ["reporter.identifier.system"]
    data["reporter"] = {"identifier": {"system": fhir.SITE_SYSTEM}}
    assert list(errors_of(data)) == ["reporter.identifier.value"]


@pytest.mark.parametrize(("start", "end"), [
    ("2024-02-01", "2024-02-29"),
    ("2024-02-01T00:00:00Z", "2024-02-29T23:59:59Z"),
    ("2024-02-01T00:00:00+01:00", "2024-02-29T23:59:59.999+01:00"),
])
def test_period_as_date_or_datetime(start: str, end: str):
    data = report()
    data["period"] = {"start": start, "end": end}
    assert fhir.parse(json.dumps(data))[0]["month"] == "2024-02"


@pytest.mark.parametrize(("period", "path"), [
    ({"start": "2023-02-01", "end": "2023-02-29"}, "period.end"),      # not a real date
    ({"start": "2024-02-01", "end": "2024-02-28"}, "period.end"),      # leap year: the 29th
    ({"start": "2024-02-01", "end": "2024-03-01T00:00:00Z"}, "period.end"),  # exclusive end
    ({"start": "2024-02", "end": "2024-02"}, "period.start"),          # partial dates
    ({"start": "2024-02-02", "end": "2024-02-29"}, "period.start"),
    ({"start": "yesterday", "end": "2024-02-29"}, "period.start"),
    ({"start": "2024-02-01"}, "period.end"),
])
def test_period_must_be_one_calendar_month(period: dict[str, str], path: str):
    data = report()
    data["period"] = period
    assert path in errors_of(data)


def test_unknown_elements_are_refused_with_their_path():
    data = report()
    data["group"][0]["population"][0]["score"] = 1
    assert errors_of(data) == {"group[0].population[0].score": ["Not an element of this FHIR R4 resource."]}


@pytest.mark.parametrize(("data", "fragment"), [
    (b"\xff\xfe{}", "not UTF-8"),
    ("", "not valid JSON"),
    ('{"resourceType": "MeasureReport", "status": NaN}', "NaN"),
    ("[1, 2]", "Expected a JSON object"),
    ("[" * 50_000 + "]" * 50_000, "nested"),
    ('{"resourceType": "MeasureReport", "extension": ' + "[" * 70 + "]" * 70 + "}", "nested"),
])
def test_input_that_is_not_a_json_resource(data: bytes | str, fragment: str):
    errors = errors_of(data)
    assert list(errors) == ["file"]
    assert fragment in errors["file"][0]


def test_missing_resource_type():
    assert errors_of({"status": "complete"}) == {
        "resourceType": ["Expected a MeasureReport or a Bundle of MeasureReports; found none."]}


def test_utf8_byte_order_mark_is_tolerated():
    assert fhir.parse(b"\xef\xbb\xbf" + json.dumps(report()).encode())[0]["site"] == "riverside"


def test_size_and_report_limits():
    data = json.dumps(bundle_of(report(), report(month="2024-04"), report(month="2024-05")))
    assert "too large" in errors_of(data, max_bytes=len(data) - 1)["file"][0]
    assert len(fhir.parse(data, max_bytes=len(data))) == 3
    assert "At most 2 MeasureReports" in errors_of(data, max_reports=2)["entry"][0]
    assert len(fhir.parse(data, max_reports=3)) == 3


def test_a_thousand_reports_in_one_bundle():
    """25 sites x 40 months (January 2000 to April 2003), written by export and read back."""
    rows = [dict(site=f"site-{i % 25}", site_label=f"Site {i % 25}", measure="remission",
                 month=f"{2000 + i // 25 // 12:04d}-{i // 25 % 12 + 1:02d}", numerator=i % 50, denominator=50,
                 suppressed=False) for i in range(1000)]
    data = json.dumps(fhir.export_bundle(rows, base_url=BASE_URL, generated_at=GENERATED_AT)).encode()
    parsed = fhir.parse(data)
    assert len(parsed) == 1000
    assert [p["row"] for p in parsed] == list(range(1, 1001))
    assert parsed[-1] == {"row": 1000, "site": "site-24", "measure": "remission", "month": "2003-04",
                          "numerator": 49, "denominator": 50}


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


EXPORT_ROWS = [
    {"site": "riverside", "site_label": "Riverside Children's", "measure": "remission", "month": "2024-01",
     "numerator": 143, "denominator": 210, "suppressed": False},
    {"site": "riverside", "site_label": "Riverside Children's", "measure": "remission", "month": "2024-02",
     "numerator": 0, "denominator": 0, "suppressed": False},
    {"site": "northgate", "site_label": "Northgate", "measure": "steroid_free", "month": "2024-02",
     "numerator": 17, "denominator": 20, "suppressed": False},
]


def test_round_trip_export_then_parse_gives_the_same_rows():
    bundle = fhir.export_bundle(EXPORT_ROWS, base_url=BASE_URL, generated_at=GENERATED_AT)
    parsed = fhir.parse(json.dumps(bundle))
    assert [{k: v for k, v in p.items() if k != "row"} for p in parsed] == [
        {k: row[k] for k in ("site", "measure", "month", "numerator", "denominator")} for row in EXPORT_ROWS]
    assert [p["row"] for p in parsed] == [1, 2, 3]


def test_export_is_valid_r4_and_deterministic():
    rows = EXPORT_ROWS + [
        {"site": "northgate", "site_label": "Northgate", "measure": "remission", "month": "2024-03",
         "numerator": 2, "denominator": 9, "suppressed": True},
        {"site": None, "site_label": "Site C", "measure": "remission", "month": "2024-03",
         "numerator": 50, "denominator": 80, "suppressed": False},
    ]
    bundle = fhir.export_bundle(rows, base_url=BASE_URL + "/", generated_at=GENERATED_AT)
    model = Bundle.model_validate(bundle)
    assert [type(e.resource) for e in model.entry] == [MeasureReport] * 5
    assert bundle == fhir.export_bundle(rows, base_url=BASE_URL, generated_at=GENERATED_AT)
    assert bundle["type"] == "collection" and bundle["timestamp"] == "2024-04-02T09:30:00Z"
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids[0] == "riverside-remission-2024-01"
    assert len(set(ids)) == 5
    assert [e["fullUrl"] for e in bundle["entry"]][0] == f"{BASE_URL}/MeasureReport/riverside-remission-2024-01"
    first = bundle["entry"][0]["resource"]
    assert first["measure"] == f"{BASE_URL}/Measure/remission"
    assert first["reporter"]["identifier"] == {"system": fhir.SITE_SYSTEM, "value": "riverside"}
    assert first["period"] == {"start": "2024-01-01", "end": "2024-01-31"}
    assert first["group"][0]["measureScore"] == {"value": 0.680952}
    assert "measureScore" not in bundle["entry"][1]["resource"]["group"][0]  # 0 of 0 has no score


def test_suppressed_row_has_no_counts_and_says_why():
    """Counts passed for a suppressed row are dropped: a forgotten blanking must not leak them."""
    row = {"site": "northgate", "site_label": "Northgate", "measure": "remission", "month": "2024-03",
           "numerator": 2, "denominator": 9, "suppressed": True}
    bundle = fhir.export_bundle([row], base_url=BASE_URL, generated_at=GENERATED_AT)
    resource = bundle["entry"][0]["resource"]
    group = resource["group"][0]
    assert "measureScore" not in group
    assert [count_of(p) for p in group["population"]] == [None, None]
    for population in group["population"]:
        assert population["_count"] == {"extension": [{"url": fhir.DATA_ABSENT_REASON, "valueCode": "masked"}]}
    assert "suppressed: small count" in resource["text"]["div"]
    text = json.dumps(bundle)
    assert '"count"' not in text and "0.22" not in text
    model = MeasureReport.model_validate(resource)
    assert model.group[0].population[0].count is None
    assert model.group[0].population[0].count__ext.extension[0].valueCode == "masked"
    assert errors_of(bundle) == {
        "entry 1: group[0].population[0].count":
            ["The numerator count is absent (masked); there is no figure to import."],
        "entry 1: group[0].population[1].count":
            ["The denominator count is absent (masked); there is no figure to import."],
    }


def test_blinded_row_names_only_the_label():
    row = {"site": None, "site_label": "Site C", "measure": "remission", "month": "2024-03",
           "numerator": 50, "denominator": 80, "suppressed": False}
    bundle = fhir.export_bundle([row], base_url=BASE_URL, generated_at=GENERATED_AT)
    resource = bundle["entry"][0]["resource"]
    assert resource["reporter"] == {"display": "Site C"}
    assert MeasureReport.model_validate(resource).id == resource["id"]
    assert resource["id"].startswith("Site-C-remission-2024-03-")
    assert list(errors_of(bundle)) == ["entry 1: reporter.identifier"]


def test_ids_are_valid_fhir_ids_whatever_the_keys():
    resource = report(measure="steroid_free_" + "x" * 60)
    assert len(resource["id"]) <= 64
    MeasureReport.model_validate(resource)
    assert report(measure="a_b")["id"] != report(measure="a-b")["id"]


def test_measure_report_helper_refuses_programming_errors():
    with pytest.raises(ValueError):
        report(month="2024-13")
    with pytest.raises(ValueError):
        report(site=None)
    with pytest.raises(ValueError):
        fhir.export_bundle(EXPORT_ROWS[:1], base_url=BASE_URL, generated_at=datetime(2024, 4, 2))
    with pytest.raises(ValueError):
        fhir.export_bundle(EXPORT_ROWS[:1] * 2, base_url=BASE_URL, generated_at=GENERATED_AT)


def test_generated_at_is_written_in_utc():
    local = GENERATED_AT.astimezone(timezone(timedelta(hours=-5)))
    bundle = fhir.export_bundle(EXPORT_ROWS[:1], base_url=BASE_URL, generated_at=local)
    assert bundle["timestamp"] == bundle["entry"][0]["resource"]["date"] == "2024-04-02T09:30:00Z"


def test_module_never_imports_flask():
    code = "import sys, network.fhir; sys.exit('flask' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0
