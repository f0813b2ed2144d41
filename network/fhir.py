"""HL7 FHIR R4 ``MeasureReport`` in and out: one way for a site to submit its monthly figures.

A site may send one summary ``MeasureReport`` or a ``Bundle`` of them; ``parse`` turns either into plain
rows for the import service (``network.outcomes``), and ``export_bundle`` writes network figures back out
in the same shape. Conventions, which both directions follow:

* ``measure`` is a canonical URL whose last path segment is the measure key, e.g.
  ``https://carecommons.example/Measure/remission`` (any base; a ``|version`` suffix is ignored). A bare
  key (``remission``) is accepted too.
* The site is ``reporter.identifier`` with system ``urn:carecommons:site`` and the site's short name
  (slug) as its value. ``reporter.display`` is never read: a name is not an identifier.
* ``period`` covers exactly one calendar month: ``start`` is the first day of a month and ``end`` the last
  day of the same month, as a date (``2024-03-01``) or a dateTime (only the date as written counts). The
  month becomes ``"YYYY-MM"``.
* ``status`` is ``complete`` and ``type`` is ``summary``: drafts and patient-level reports are refused.
* ``group[0].population`` holds one population coded ``numerator`` and one coded ``denominator`` (system
  ``http://terminology.hl7.org/CodeSystem/measure-population``), each with a JSON integer ``count`` >= 0.
  Other populations (e.g. ``denominator-exclusion``), stratifiers and ``measureScore`` are ignored: the
  network computes its own scores. A report with more than one group is refused rather than half read.
* A suppressed figure (exported for a small count) has populations without ``count``; each carries the
  standard ``data-absent-reason`` extension (code ``masked``) on ``_count`` and the report's narrative says
  "suppressed: small count". Such reports are refused by ``parse``: there is nothing to import.

Validation uses the R4B models of fhir.resources (their MeasureReport is R4's; the package's default
``fhir.resources.measurereport`` is R5 and rejects R4's ``group.measureScore``). The models accept
strings and floats for integers and check no code values, so the conventions above are checked on the
JSON itself. Every problem in every entry is collected before ``Invalid`` is raised, keyed by field path:
``status`` for a single report, ``entry 3: group[0].population[1].count`` for the third entry of a
bundle, ``file`` for input that is not a JSON FHIR resource at all.

Whether the site and measure exist, and whether numerator <= denominator, is for the import service.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import Any, TypedDict

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from pydantic import ValidationError

from network.errors import Invalid
from network.i18n import N_

__all__ = [
    "ReportRow",
    "SITE_SYSTEM",
    "POPULATION_SYSTEM",
    "DATA_ABSENT_REASON",
    "parse",
    "export_bundle",
    "measure_report",
]

SITE_SYSTEM = "urn:carecommons:site"
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
BUNDLE_TYPES = ("collection", "batch", "transaction")
SUPPRESSED_NOTE = "suppressed: small count"
#: JSON nesting allowed in an upload; a Bundle of MeasureReports is about 10 deep, and the FHIR models
#: hit Python's recursion limit somewhere past 250.
MAX_DEPTH = 64

_FULL_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_FHIR_ID_RE = re.compile(r"^[A-Za-z0-9.-]{1,64}$")

Errors = dict[str, list[str]]


class ReportRow(TypedDict):
    """One figure read from a MeasureReport; ``row`` is the 1-based bundle entry (1 for a lone report)."""

    row: int
    site: str
    measure: str
    month: str
    numerator: int
    denominator: int


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def parse(data: bytes | str, *, max_bytes: int = 5_000_000, max_reports: int = 10_000) -> list[ReportRow]:
    """Read a MeasureReport, or a Bundle of them, into rows; raise ``Invalid`` listing every problem.

    Nothing is returned unless every entry is good, because an import is whole or not at all.
    """
    document = _load_json(data, max_bytes)
    resource_type = document.get("resourceType")
    if resource_type == "MeasureReport":
        row, errors = _read_report(document, row=1)
        if errors:
            raise Invalid(errors)
        return [row]
    if resource_type == "Bundle":
        return _read_bundle(document, max_reports)
    raise Invalid({"resourceType": [
        N_("Expected a MeasureReport or a Bundle of MeasureReports; found %(shown)s.", shown=_shown(resource_type))]})


def _load_json(data: bytes | str, max_bytes: int) -> dict[str, Any]:
    """Decode and size-check the input before any real work, so a huge or garbled upload fails fast."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise Invalid({"file": [N_("The file is too large (%(size)s bytes; at most %(max_bytes)s).", size=size, max_bytes=max_bytes)]})
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise Invalid({"file": [N_("The file is not UTF-8 text; FHIR JSON must be UTF-8.")]}) from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise Invalid({"file": [N_("The file is not valid JSON: %(msg)s (%(where)s).", msg=exc.msg, where=where)]}) from None
    except ValueError as exc:
        raise Invalid({"file": [N_("The file is not valid JSON: %(exc)s.", exc=exc)]}) from None
    except RecursionError:
        raise Invalid({"file": [N_("The file is not usable JSON: it is nested too deeply.")]}) from None
    if not isinstance(document, dict):
        raise Invalid({"file": [N_("Expected a JSON object: a FHIR MeasureReport or Bundle.")]})
    if _deeper_than(document, MAX_DEPTH):
        raise Invalid({"file": [N_("The JSON is nested more than %(max_depth)s levels deep; no MeasureReport needs that.", max_depth=MAX_DEPTH)]})
    return document


def _deeper_than(document: Any, limit: int) -> bool:
    """Checked without recursion: the models recurse per level and would overflow on hostile nesting."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _reject_constant(name: str) -> Any:
    """Python's json accepts NaN and Infinity; JSON (and FHIR) does not."""
    raise ValueError(f"{name} is not a JSON number")


def _read_bundle(bundle: dict[str, Any], max_reports: int) -> list[ReportRow]:
    """Check the Bundle itself, then each entry's MeasureReport, gathering errors from all of them."""
    entries = bundle.get("entry")
    if isinstance(entries, list) and len(entries) > max_reports:
        raise Invalid({"entry": [
            N_("At most %(max_reports)s MeasureReports in one bundle; this one has %(entries_count)s entries.", max_reports=max_reports, entries_count=len(entries))]})
    errors = _bundle_shell_errors(bundle)
    if bundle.get("type") not in BUNDLE_TYPES and "type" not in errors:
        _add(errors, "type", N_("Use a bundle of type “collection”, “batch” or “transaction”; found %(shown)s.", shown=_shown(bundle.get('type'))))
    if not isinstance(entries, list):
        if "entry" not in errors:
            _add(errors, "entry", N_("The bundle has no entries; include at least one MeasureReport."))
        raise Invalid(errors)
    if not entries:
        raise Invalid({**errors, "entry": [N_("The bundle has no entries; include at least one MeasureReport.")]})
    rows: list[ReportRow] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            continue  # reported by the shell check
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            _add(errors, f"entry {number}: resource", N_("Each entry must hold one MeasureReport resource."))
            continue
        row, entry_errors = _read_report(resource, row=number)
        for path, messages in entry_errors.items():
            errors.setdefault(f"entry {number}: {path}", []).extend(messages)
        if row is not None:
            rows.append(row)
    if errors:
        raise Invalid(errors)
    return rows


def _bundle_shell_errors(bundle: dict[str, Any]) -> Errors:
    """Validate the Bundle without its resources, which ``_read_report`` checks one by one.

    Validating entries separately keeps each entry's error paths relative to its MeasureReport and
    lets a non-MeasureReport resource be reported plainly instead of being parsed as whatever it is.
    """
    shell = {key: value for key, value in bundle.items() if key != "entry"}
    entries = bundle.get("entry")
    if isinstance(entries, list):
        shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                          for e in entries]
    elif entries is not None:
        shell["entry"] = entries
    try:
        Bundle.model_validate(shell)
    except ValidationError as exc:
        return _pydantic_errors(exc, bundle=True)
    return {}


def _read_report(report: dict[str, Any], *, row: int) -> tuple[ReportRow | None, Errors]:
    """Validate one MeasureReport against the R4B model and our conventions; the row only if both pass."""
    if report.get("resourceType") != "MeasureReport":
        return None, {"resourceType": [N_("Expected a MeasureReport; found %(shown)s.", shown=_shown(report.get("resourceType")))]}
    model_errors: Errors = {}
    try:
        MeasureReport.model_validate(report)
    except ValidationError as exc:
        model_errors = _pydantic_errors(exc)
    ours: Errors = {}
    _check_code(report, "status", "complete", N_("only final figures can be imported"), ours)
    _check_code(report, "type", "summary", N_("a count per month, not patient-level data"), ours)
    measure = _measure_key(report, ours)
    site = _site_slug(report, ours)
    month = _month(report, ours)
    counts = _counts(report, ours)
    errors = _merge(model_errors, ours)
    if errors or measure is None or site is None or month is None or counts is None:
        return None, errors
    return ReportRow(row=row, site=site, measure=measure, month=month,
                     numerator=counts[0], denominator=counts[1]), {}


def _merge(model_errors: Errors, ours: Errors) -> Errors:
    """Combine both sets, dropping our message where the model already explained that field (or inside it)."""
    merged = {path: list(messages) for path, messages in model_errors.items()}
    for path, messages in ours.items():
        if any(p == path or p.startswith((path + ".", path + "[")) for p in model_errors):
            continue
        merged.setdefault(path, []).extend(messages)
    return merged


def _check_code(report: dict[str, Any], name: str, expected: str, why: str, errors: Errors) -> None:
    """The models accept any code; we accept exactly one value for status and type."""
    value = report.get(name)
    if value is None:
        _add(errors, name, N_("Required: use “%(expected)s” (%(why)s).", expected=expected, why=why))
    elif value != expected:
        _add(errors, name, N_("Must be “%(expected)s” (%(why)s); found %(shown)s.", expected=expected, why=why, shown=_shown(value)))


def _measure_key(report: dict[str, Any], errors: Errors) -> str | None:
    """The key is the canonical URL's last path segment, so any server's Measure URL works."""
    canonical = report.get("measure")
    if canonical is None:
        _add(errors, "measure", N_("Required: the measure's canonical URL, "
                                "e.g. https://carecommons.example/Measure/remission."))
        return None
    if not isinstance(canonical, str):
        return None  # the model reports the type
    key = canonical.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1].strip()
    if not key:
        _add(errors, "measure", N_("No measure key at the end of %(shown)s; use e.g. https://carecommons.example/Measure/remission.", shown=_shown(canonical)))
        return None
    return key


def _site_slug(report: dict[str, Any], errors: Errors) -> str | None:
    """The site comes only from an identifier in our system: display names are ambiguous and editable."""
    identifier = _dig(report, "reporter", "identifier")
    if not isinstance(identifier, dict):
        _add(errors, "reporter.identifier", N_("Required: identify the site with system “%(site_system)s” and the site's short name as the value.", site_system=SITE_SYSTEM))
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if system != SITE_SYSTEM:
        _add(errors, "reporter.identifier.system", N_("Must be “%(site_system)s”; found %(shown)s.", site_system=SITE_SYSTEM, shown=_shown(system)))
    if not isinstance(value, str) or not value.strip():
        _add(errors, "reporter.identifier.value", N_("Required: the site's short name, e.g. riverside-childrens."))
        return None
    return value.strip() if system == SITE_SYSTEM else None


def _month(report: dict[str, Any], errors: Errors) -> str | None:
    """The period must be one whole calendar month, so a figure can never straddle two chart points."""
    period = report.get("period")
    if not isinstance(period, dict):
        return None  # the model reports a missing or malformed period
    start = _full_date(period.get("start"), "period.start", N_("the first day of the month (e.g. 2024-03-01)"), errors)
    end = _full_date(period.get("end"), "period.end", N_("the last day of the same month (e.g. 2024-03-31)"), errors)
    if start is not None and start.day != 1:
        _add(errors, "period.start", N_("Must be the first day of a month (e.g. %(start)s-01); found %(found)s: a report covers exactly one calendar month.", start=format(start, '%Y-%m'), found=start.isoformat()))
        return None
    if start is None or end is None:
        return None
    last = _last_day(start.year, start.month)
    if end != last:
        _add(errors, "period.end", N_("Must be %(last)s, the last day of the month that period.start begins; found %(end)s: a report covers exactly one calendar month.", last=last.isoformat(), end=end.isoformat()))
        return None
    return f"{start:%Y-%m}"


def _full_date(value: Any, path: str, meaning: str, errors: Errors) -> date | None:
    """Take the date as written (ignoring any time and offset); partial dates like 2024-03 are refused."""
    if value is None:
        _add(errors, path, N_("Required: %(meaning)s.", meaning=meaning))
        return None
    match = _FULL_DATE_RE.match(value) if isinstance(value, str) else None
    if match is None:
        _add(errors, path, N_("Use a full date, %(meaning)s; found %(shown)s.", meaning=meaning, shown=_shown(value)))
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        _add(errors, path, N_("%(shown)s is not a real date.", shown=_shown(value)))
        return None


def _counts(report: dict[str, Any], errors: Errors) -> tuple[int, int] | None:
    """Find the numerator and denominator populations of the only group and read their counts."""
    groups = report.get("group")
    if not isinstance(groups, list) or not groups:
        _add(errors, "group", N_("Required: one group with a numerator and a denominator population."))
        return None
    if len(groups) > 1:
        _add(errors, "group", N_("Expected one group, found %(groups_count)s; send one report per measure.", groups_count=len(groups)))
    populations = groups[0].get("population") if isinstance(groups[0], dict) else None
    if not isinstance(populations, list):
        _add(errors, "group[0].population", N_("Required: a numerator and a denominator population."))
        return None
    numerator = _population_count(populations, "numerator", errors)
    denominator = _population_count(populations, "denominator", errors)
    if numerator is None or denominator is None:
        return None
    return numerator, denominator


def _population_count(populations: list[Any], code: str, errors: Errors) -> int | None:
    """Exactly one population must carry the code; its count must be a JSON integer >= 0."""
    found = [i for i, p in enumerate(populations) if code in _population_codes(p)]
    if not found:
        _add(errors, "group[0].population", N_("No population coded “%(code)s” (system %(population_system)s).", code=code, population_system=POPULATION_SYSTEM))
        return None
    if len(found) > 1:
        _add(errors, "group[0].population", N_("More than one population coded “%(code)s” (populations %(populations)s).", code=code, populations=', '.join(str(i) for i in found)))
        return None
    index = found[0]
    population = populations[index]
    path = f"group[0].population[{index}].count"
    count = population.get("count")
    if count is None:
        reason = _absent_reason(population)
        _add(errors, path, N_("The %(code)s count is absent (%(reason)s); there is no figure to import.", code=code, reason=reason)
             if reason else N_("Required: the %(code)s count, a whole number 0 or more.", code=code))
        return None
    if isinstance(count, bool) or not isinstance(count, int):
        _add(errors, path, N_("Must be a whole number (a JSON integer such as 143); found %(shown)s.", shown=_shown(count)))
        return None
    if count < 0:
        _add(errors, path, N_("Must be 0 or more; found %(count)s.", count=count))
        return None
    return count


def _population_codes(population: Any) -> set[str]:
    """Codes of a population in the HL7 measure-population system; other systems don't count."""
    codings = _dig(population, "code", "coding")
    if not isinstance(codings, list):
        return set()
    return {c.get("code") for c in codings
            if isinstance(c, dict) and c.get("system") == POPULATION_SYSTEM and isinstance(c.get("code"), str)}


def _absent_reason(population: dict[str, Any]) -> str | None:
    """The data-absent-reason code on ``_count``, if the sender said why the count is missing."""
    extensions = _dig(population, "_count", "extension")
    for extension in extensions if isinstance(extensions, list) else ():
        if isinstance(extension, dict) and extension.get("url") == DATA_ABSENT_REASON:
            return str(extension.get("valueCode") or "no reason given")
    return None


def _pydantic_errors(exc: ValidationError, *, bundle: bool = False) -> Errors:
    """Turn pydantic's locations into our paths: ``group[0].population[1].count``, ``entry 3: request.url``."""
    errors: Errors = {}
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if part != "root"]
        if bundle and len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
            entry, inner = f"entry {loc[1] + 1}", _path(loc[2:])
            path = f"{entry}: {inner}" if inner else entry
        else:
            path = _path(loc) or "resource"
        _add(errors, path, _message(error))
    return errors


def _path(loc: list[int | str]) -> str:
    """JSON-style path; fhir.resources' ``count__ext`` is FHIR's ``_count``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = "resourceType" if part == "resource_type" else part
            if name.endswith("__ext"):
                name = "_" + name[:-len("__ext")]
            path += ("." if path else "") + name
    return path


def _message(error: Mapping[str, Any]) -> str:
    """Pydantic's message, reworded where it would puzzle a FHIR user."""
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return N_("Not an element of this FHIR R4 resource.")
    if kind == "missing" or kind.endswith(".missing"):
        return N_("Required.")
    if kind == "model_validation_format":
        return N_("Must be a JSON object.")
    message = " ".join(str(error.get("msg", "Invalid value.")).split())
    message = message.removeprefix("Value error, ")
    return message if message.endswith(".") else message + "."


def _dig(value: Any, *keys: str) -> Any:
    """Follow object keys through JSON of unknown shape, giving None where the shape is wrong."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _add(errors: Errors, path: str, message: str) -> None:
    errors.setdefault(path, []).append(message)


def _shown(value: Any) -> str:
    """A value quoted for a message, cut short so a hostile input cannot flood the error list."""
    if value is None:
        return "none"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 60 else text[:57] + "…"


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def export_bundle(rows: Iterable[Mapping[str, Any]], *, base_url: str, generated_at: datetime) -> dict[str, Any]:
    """A ``collection`` Bundle of summary MeasureReports, one per row, in the order given.

    Each row is ``{"site", "site_label", "measure", "month", "numerator", "denominator", "suppressed"}``;
    ``site=None`` blinds the row (reporter shows only ``site_label``, and no id or URL holds the slug).
    Duplicate rows are a caller bug (two resources would share an id) and raise ``ValueError``.
    """
    base = base_url.rstrip("/")
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        report = measure_report(site=row["site"], site_label=row.get("site_label"), measure=row["measure"],
                                month=row["month"], numerator=row.get("numerator"),
                                denominator=row.get("denominator"), suppressed=bool(row.get("suppressed")),
                                base_url=base, generated_at=generated_at)
        if report["id"] in seen:
            raise ValueError(f"two rows for {report['id']}: each site, measure and month may appear once")
        seen.add(report["id"])
        entries.append({"fullUrl": f"{base}/MeasureReport/{report['id']}", "resource": report})
    return {"resourceType": "Bundle", "type": "collection", "timestamp": _instant(generated_at),
            "entry": entries}


def measure_report(*, site: str | None, measure: str, month: str, numerator: int | None,
                   denominator: int | None, base_url: str, site_label: str | None = None,
                   suppressed: bool = False, generated_at: datetime | None = None) -> dict[str, Any]:
    """One summary MeasureReport (FHIR JSON as a dict) following this module's conventions.

    A suppressed report never carries counts or a score, whatever was passed, so a caller cannot leak
    a small count by forgetting to blank it. A missing count that is not suppressed is marked
    ``unknown`` rather than ``masked``.
    """
    if site is None and not site_label:
        raise ValueError("a blinded report (site=None) needs a site_label")
    first = _month_start(month)
    if suppressed:
        numerator = denominator = None
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": _resource_id(site if site is not None else str(site_label), measure, month),
    }
    if suppressed:
        report["text"] = {"status": "generated",
                          "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{SUPPRESSED_NOTE}</div>'}
    report.update({
        "status": "complete",
        "type": "summary",
        "measure": f"{base_url.rstrip('/')}/Measure/{measure}",
        "reporter": _reporter(site, site_label),
        "period": {"start": first.isoformat(), "end": _last_day(first.year, first.month).isoformat()},
        "group": [_group(numerator, denominator, "masked" if suppressed else "unknown")],
    })
    if generated_at is not None:
        report["date"] = _instant(generated_at)
    return report


def _reporter(site: str | None, site_label: str | None) -> dict[str, Any]:
    """Identifier for named output; for blinded output only the label, so the slug never leaves."""
    if site is None:
        return {"display": site_label}
    reporter: dict[str, Any] = {"identifier": {"system": SITE_SYSTEM, "value": site}}
    if site_label:
        reporter["display"] = site_label
    return reporter


def _group(numerator: int | None, denominator: int | None, absent_reason: str) -> dict[str, Any]:
    """Numerator and denominator populations, and the proportion when both counts are known."""
    group: dict[str, Any] = {"population": [_population("numerator", numerator, absent_reason),
                                            _population("denominator", denominator, absent_reason)]}
    if numerator is not None and denominator:
        group["measureScore"] = {"value": round(numerator / denominator, 6)}
    return group


def _population(code: str, count: int | None, absent_reason: str) -> dict[str, Any]:
    """A population with its count, or with FHIR's data-absent-reason on ``_count`` when there is none."""
    population: dict[str, Any] = {"code": {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}}
    if count is None:
        population["_count"] = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": absent_reason}]}
    else:
        population["count"] = count
    return population


def _resource_id(*parts: str) -> str:
    """Deterministic FHIR id; if the parts need cleaning or shortening, a hash keeps distinct ones distinct."""
    joined = "-".join(parts)
    if _FHIR_ID_RE.match(joined):
        return joined
    digest = hashlib.sha256(joined.encode()).hexdigest()[:12]
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", joined).strip("-")[:51]
    return f"{cleaned}-{digest}" if cleaned else digest


def _month_start(month: str) -> date:
    match = _MONTH_RE.match(month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _instant(moment: datetime) -> str:
    """FHIR instants need an offset; a naive datetime would be ambiguous, so it is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("generated_at must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
