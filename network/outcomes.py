"""Outcome sharing: measures, monthly submissions (versioned), API tokens, and the import services.

Every path in — the form, a CSV file, the JSON API, a FHIR MeasureReport — ends in `submit`, which
validates every row before it writes any: an import is whole or not at all. A correction of an
earlier month adds a new version; the old one is kept and the chart marks the point as revised.
"""
from __future__ import annotations

import codecs
import csv
import enum
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Iterable

from sqlalchemy import (Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func,
                        select, text, update)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network import access, audit, tokens
from network.db import Base, utcnow
from network.errors import Invalid, NotFound
from network.people import Site, User
from network.i18n import N_


class ChartType(enum.StrEnum):
    P = "p"          # proportion: numerator of denominator (most measures)
    P_LANEY = "pp"   # Laney p' for large denominators with over-dispersion
    U = "u"          # rate per unit (e.g. admissions per 100 patients)
    RUN = "run"      # run chart of the proportion, median centre line


class RuleSet(enum.StrEnum):
    ANHOEJ = "anhoej"  # qicharts2: Anhøj runs rules + 3-sigma limits (the default)
    MDC = "mdc"        # NHS Making Data Count: outside limits, 7-point trend, 2 of 3, 7-point shift


class Measure(Base):
    __tablename__ = "measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable key used in URLs, CSV files and FHIR canonical URLs (e.g. "remission")
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: operational definition, Markdown
    definition: Mapped[str] = mapped_column(Text, default="")
    numerator_definition: Mapped[str] = mapped_column(Text, default="")
    denominator_definition: Mapped[str] = mapped_column(Text, default="")
    #: "higher" or "lower": which direction is improvement
    better: Mapped[str] = mapped_column(String(8), default="higher")
    #: goal as a proportion (0.8 = 80%) or, for u-charts, a rate; None for no goal line
    goal: Mapped[float | None] = mapped_column(Float)
    chart_type: Mapped[str] = mapped_column(String(8), default=ChartType.P.value)
    rule_set: Mapped[str] = mapped_column(String(8), default=RuleSet.ANHOEJ.value)
    #: centre line and limits from the first N months (qicharts2's freeze), so a later shift shows
    #: against the baseline; None uses every month
    baseline_months: Mapped[int | None] = mapped_column(Integer)
    #: u-charts: rates are shown per this many units of the denominator
    multiplier: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: bumped by every import that touches this measure: chart caches key on it
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_proportion(self) -> bool:
        return self.chart_type in (ChartType.P, ChartType.P_LANEY, ChartType.RUN)


class Submission(Base):
    """One version of one site's monthly figure for one measure. Rows are never changed but for
    `is_current`, which moves to the newest version when a month is corrected."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("site_id", "measure_id", "month", "version"),
        # at most one current version of a figure; also the index every chart query reads
        Index("uq_submissions_current", "measure_id", "site_id", "month", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    #: the first day of the month the figure is for
    month: Mapped[date] = mapped_column(Date)
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    #: "form", "csv", "api", "fhir", "demo" or "derived"
    source: Mapped[str] = mapped_column(String(8))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the person acted in (or "api_token")
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()
    measure: Mapped[Measure] = relationship()


class ApiToken(Base):
    """A per-site credential for the JSON and FHIR APIs; stored as a hash, shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    #: sha256 of the secret part; the secret itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters, so people can tell their tokens apart
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    site: Mapped[Site] = relationship()
    created_by: Mapped[User | None] = relationship()


# ---------------------------------------------------------------------------------------------
# Actors that are not people: a site's API token

@dataclass(frozen=True)
class TokenActor:
    """What the API acts as when a request carries a site token: the site's submitter, nothing more."""

    token_id: int
    site_id: int
    created_by_id: int | None
    is_authenticated: bool = True
    is_anonymous: bool = False
    acting_role: str = "api_token"

    @property
    def id(self) -> int | None:
        return self.created_by_id

    def has_role(self, role, site_id=None) -> bool:
        return False

    def site_ids(self, *roles) -> set[int]:
        return set()

    @property
    def memberships(self) -> tuple:
        return ()


TOKEN_PREFIX = "cc_"


def create_token(db: Session, actor, site: Site, name: str) -> tuple[ApiToken, str]:
    """A new token for the site; the returned secret is shown once and never again."""
    access.require(actor, "outcomes.manage_tokens", site)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise Invalid({"name": [N_("Name the token (1–80 characters), e.g. “EHR nightly export”.")]})
    secret = TOKEN_PREFIX + tokens.random_token(30)
    token = ApiToken(site_id=site.id, name=name, token_hash=_hash_token(secret), prefix=secret[:10],
                     created_by_id=actor.id)
    db.add(token)
    db.flush()
    audit.record(db, actor, "api_token.create", token, site_id=site.id, name=name)
    db.commit()
    return token, secret


def revoke_token(db: Session, actor, site: Site, token_id: int) -> ApiToken:
    access.require(actor, "outcomes.manage_tokens", site)
    token = db.get(ApiToken, token_id)
    if token is None or token.site_id != site.id:
        raise NotFound(N_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(db, actor, "api_token.revoke", token, site_id=site.id)
    db.commit()
    return token


def site_tokens(db: Session, actor, site: Site) -> list[ApiToken]:
    access.require(actor, "outcomes.manage_tokens", site)
    return list(db.scalars(select(ApiToken).where(ApiToken.site_id == site.id).order_by(ApiToken.id.desc())))


def actor_for_token(db: Session, secret: str) -> TokenActor | None:
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    site = db.get(Site, token.site_id)
    if site is None or not site.is_active:
        return None
    token.last_used_at = utcnow()
    db.commit()
    return TokenActor(token_id=token.id, site_id=token.site_id, created_by_id=token.created_by_id)


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Measures

MEASURE_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def measures(db: Session, *, active_only: bool = True) -> list[Measure]:
    stmt = select(Measure).order_by(Measure.position, Measure.name)
    if active_only:
        stmt = stmt.where(Measure.is_active.is_(True))
    return list(db.scalars(stmt))


def measure_by_key(db: Session, key: str) -> Measure:
    measure = db.scalar(select(Measure).where(Measure.key == key))
    if measure is None:
        raise NotFound(N_("No such measure."))
    return measure


@dataclass
class MeasureFields:
    key: str
    name: str
    definition: str = ""
    numerator_definition: str = ""
    denominator_definition: str = ""
    better: str = "higher"
    goal: float | None = None
    chart_type: str = "p"
    rule_set: str = "anhoej"
    multiplier: int = 1
    baseline_months: int | None = None
    position: int = 0
    is_active: bool = True


def _check_measure(db: Session, fields: MeasureFields, existing: Measure | None) -> None:
    errors: dict[str, list[str]] = {}
    if not MEASURE_KEY_RE.match(fields.key or ""):
        errors["key"] = [N_("Use 1–40 lower-case letters, digits, hyphens or underscores, starting with a letter.")]
    elif db.scalar(select(Measure.id).where(Measure.key == fields.key,
                                            Measure.id != (existing.id if existing else -1))):
        errors["key"] = [N_("Another measure already uses this key.")]
    if not (fields.name or "").strip() or len(fields.name) > 120:
        errors["name"] = [N_("Give the measure a name (at most 120 characters).")]
    for name in ("definition", "numerator_definition", "denominator_definition"):
        if len(getattr(fields, name) or "") > 20_000:
            errors[name] = [N_("Use at most 20,000 characters.")]
    if fields.better not in ("higher", "lower"):
        errors["better"] = [N_("Choose whether higher or lower is better.")]
    if fields.chart_type not in {c.value for c in ChartType}:
        errors["chart_type"] = [N_("Choose one of the listed chart types.")]
    if fields.rule_set not in {r.value for r in RuleSet}:
        errors["rule_set"] = [N_("Choose one of the listed rule sets.")]
    if fields.goal is not None and fields.chart_type != ChartType.U and not 0 <= fields.goal <= 1:
        errors["goal"] = [N_("For a proportion, give the goal between 0 and 100%.")]
    if fields.goal is not None and fields.goal < 0:
        errors["goal"] = [N_("The goal cannot be negative.")]
    if fields.baseline_months is not None and not 2 <= fields.baseline_months <= 240:
        errors["baseline_months"] = [N_("Use a baseline of 2 to 240 months, or none.")]
    if not 1 <= (fields.multiplier or 0) <= 100_000:
        errors["multiplier"] = [N_("Use a multiplier between 1 and 100,000.")]
    if errors:
        raise Invalid(errors)


def define_measure(db: Session, actor, fields: MeasureFields) -> Measure:
    access.require(actor, "measure.manage")
    fields.key = (fields.key or "").strip().lower()
    _check_measure(db, fields, None)
    measure = Measure(**{k: v for k, v in fields.__dict__.items()})
    measure.name = measure.name.strip()
    db.add(measure)
    db.flush()
    audit.record(db, actor, "measure.create", measure, key=measure.key)
    db.commit()
    return measure


def update_measure(db: Session, actor, measure_id: int, fields: MeasureFields) -> Measure:
    access.require(actor, "measure.manage")
    measure = db.get(Measure, measure_id)
    if measure is None:
        raise NotFound(N_("No such measure."))
    fields.key = (fields.key or "").strip().lower()
    _check_measure(db, fields, measure)
    changed = sorted(k for k, v in fields.__dict__.items() if getattr(measure, k) != v)
    for k, v in fields.__dict__.items():
        setattr(measure, k, v)
    measure.data_version += 1  # goal, chart type or rules change what charts show
    audit.record(db, actor, "measure.update", measure, fields=changed)
    db.commit()
    return measure


# ---------------------------------------------------------------------------------------------
# Submissions: one validated path for every source

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MAX_ROWS = 200_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CSV_COLUMNS = ("site", "measure", "month", "numerator", "denominator")


@dataclass(slots=True)
class RowInput:
    """One figure as it arrived, before validation (values may be strings)."""

    row: int
    site: object
    measure: object
    month: object
    numerator: object
    denominator: object


@dataclass
class ImportResult:
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    months: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.created + self.corrected + self.unchanged


def parse_month(value: object) -> date | None:
    match = MONTH_RE.match(str(value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 9999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def previous_month(today: date | None = None) -> date:
    """The month a site usually reports: the last complete one."""
    today = today or utcnow().date()
    return date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)


def month_key(value: date) -> str:
    return value.strftime("%Y-%m")


#: the largest count a figure may have: nine digits, which every database's INTEGER column holds
MAX_COUNT = 999_999_999


def _parse_count(value: object) -> int | None:
    """A count as a whole number 0..MAX_COUNT, else None. ASCII digits only: str.isdigit() also accepts
    "²", which int() refuses."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    return int(text)


def _too_large(value: object) -> bool:
    """Whether a refused count was refused for its size (the message then says the range)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > MAX_COUNT
    text = str(value if value is not None else "").strip()
    return text.isascii() and text.isdigit() and len(text.lstrip("0")) > 9


def submit(db: Session, actor, rows: Iterable[RowInput], *, source: str, today: date | None = None) -> ImportResult:
    """Validate every row, then write them all in one transaction — or raise Invalid and write none."""
    rows = list(rows)
    if not rows:
        raise Invalid({"file": [N_("There are no rows to import.")]})
    if len(rows) > MAX_ROWS:
        raise Invalid({"file": [N_("At most %(max_rows)s rows in one import.", max_rows=MAX_ROWS)]})
    today = today or utcnow().date()
    this_month = date(today.year, today.month, 1)
    sites = {s.slug: s for s in db.scalars(select(Site))}
    known_measures = {m.key: m for m in db.scalars(select(Measure))}
    errors: dict[str, list[str]] = {}
    clean: dict[tuple[int, int, date], tuple[int, int, int]] = {}
    allowed_sites: dict[int, bool] = {}

    def problem(row: int, column: str, message: str) -> None:
        errors.setdefault(f"row {row}: {column}", []).append(message)

    for item in rows:
        site = sites.get(str(item.site or "").strip())
        if site is None or not site.is_active:
            problem(item.row, "site", N_("Unknown site “%(site)s”; use the site's short name.", site=str(item.site)[:40]))
        elif site.id not in allowed_sites:
            allowed_sites[site.id] = access.can(actor, "outcomes.submit", site)
        if site is not None and site.is_active and not allowed_sites[site.id]:
            problem(item.row, "site", N_("You may not submit figures for %(name)s.", name=site.name))
        measure = known_measures.get(str(item.measure or "").strip())
        if measure is None or not measure.is_active:
            problem(item.row, "measure", N_("Unknown measure “%(measure)s”.", measure=str(item.measure)[:40]))
        month = parse_month(item.month)
        if month is None:
            problem(item.row, "month", N_("Give the month as YYYY-MM, e.g. 2024-03."))
        elif month > this_month:
            problem(item.row, "month", N_("This month is in the future."))
        numerator, denominator = _parse_count(item.numerator), _parse_count(item.denominator)
        for column, raw, parsed in (("numerator", item.numerator, numerator), ("denominator", item.denominator, denominator)):
            if parsed is None:
                problem(item.row, column, N_("Give a whole number from 0 to %(top)s.", top=MAX_COUNT)
                        if _too_large(raw) else N_("Use a whole number, 0 or more."))
        if numerator is not None and denominator is not None and numerator > denominator:
            problem(item.row, "numerator", N_("The numerator (%(numerator)s) is larger than the denominator (%(denominator)s).", numerator=numerator, denominator=denominator))
        if site is None or measure is None or month is None:
            continue
        key = (site.id, measure.id, month)
        if key in clean:
            problem(item.row, "row", N_("Duplicate of row %(row)s (same site, measure and month).", row=clean[key][2]))
        elif numerator is not None and denominator is not None:
            clean[key] = (numerator, denominator, item.row)
    if errors:
        raise Invalid(errors, message=N_("Nothing was imported: %(errors_count)s problem(s) in %(rows_count)s row(s).", errors_count=len(errors), rows_count=len(rows)))
    return _write(db, actor, clean, source=source)


def _write(db: Session, actor, clean: dict, *, source: str) -> ImportResult:
    result = ImportResult()
    existing = _current_versions(db, clean.keys())
    acting_role = _acting_role(actor, {site_id for site_id, _m, _mo in clean})
    new_rows = []
    superseded = []
    for (site_id, measure_id, month), (numerator, denominator, _row) in clean.items():
        result.months.add(month_key(month))
        current = existing.get((site_id, measure_id, month))
        if current is not None and (current[1], current[2]) == (numerator, denominator):
            result.unchanged += 1
            continue
        version = 1
        if current is not None:
            superseded.append(current[0])
            version = current[3] + 1
            result.corrected += 1
        else:
            result.created += 1
        new_rows.append(dict(site_id=site_id, measure_id=measure_id, month=month, numerator=numerator,
                             denominator=denominator, version=version, is_current=True, source=source,
                             submitted_by_id=actor.id, acting_role=acting_role, created_at=utcnow()))
    for chunk in _chunks(superseded, 500):
        db.execute(update(Submission).where(Submission.id.in_(chunk)).values(is_current=False))
    if new_rows:
        db.execute(Submission.__table__.insert(), new_rows)
        touched = {row["measure_id"] for row in new_rows}
        db.execute(update(Measure).where(Measure.id.in_(touched)).values(data_version=Measure.data_version + 1))
    for site_id in sorted({row["site_id"] for row in new_rows}):
        audit.record(db, actor, "outcomes.submit", None, site_id=site_id, source=source,
                     rows=sum(1 for row in new_rows if row["site_id"] == site_id))
    db.commit()
    return result


def _current_versions(db: Session, keys) -> dict[tuple[int, int, date], tuple[int, int, int, int]]:
    """(site, measure, month) -> (id, numerator, denominator, version) of the current rows, in few queries."""
    keys = list(keys)
    if not keys:
        return {}
    site_ids = {k[0] for k in keys}
    measure_ids = {k[1] for k in keys}
    first, last = min(k[2] for k in keys), max(k[2] for k in keys)
    rows = db.execute(select(Submission.id, Submission.site_id, Submission.measure_id, Submission.month,
                             Submission.numerator, Submission.denominator, Submission.version)
                      .where(Submission.is_current.is_(True), Submission.site_id.in_(site_ids),
                             Submission.measure_id.in_(measure_ids), Submission.month.between(first, last)))
    return {(r.site_id, r.measure_id, r.month): (r.id, r.numerator, r.denominator, r.version) for r in rows}


def _acting_role(actor, site_ids: set[int]) -> str:
    if isinstance(actor, TokenActor):
        return actor.acting_role
    for role in ("site_lead", "clinician", "network_leader"):
        if any(actor.has_role(role, s) for s in site_ids) or (role == "network_leader" and actor.has_role(role)):
            return role
    return ""


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------------------------
# CSV: streamed, size-capped, every row checked

def read_csv(stream: IO[bytes], *, max_bytes: int) -> list[RowInput]:
    """Rows of a CSV upload with columns site,measure,month,numerator,denominator (any order, header
    required). Reads the byte stream incrementally and stops at `max_bytes`."""
    limited = _LimitedReader(stream, max_bytes)
    text = codecs.getreader("utf-8-sig")(limited, errors="strict")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            raise Invalid({"file": [N_("The file is empty.")]})
        columns = [h.strip().lower() for h in header]
        missing = [c for c in CSV_COLUMNS if c not in columns]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        if missing or unknown:
            message = []
            if missing:
                message.append(N_("missing column(s): %(missing)s", missing=', '.join(missing)))
            if unknown:
                message.append(N_("unknown column(s): %(unknown)s", unknown=', '.join(unknown)))
            raise Invalid({"row 1: header": [N_("The header must be %(csv_columns)s (%(problems)s).", csv_columns=','.join(CSV_COLUMNS), problems='; '.join(message))]})
        index = {name: columns.index(name) for name in CSV_COLUMNS}
        rows: list[RowInput] = []
        errors: dict[str, list[str]] = {}
        for line_number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                errors[f"row {line_number}: row"] = [N_("Expected %(columns_count)s values, found %(values_count)s.", columns_count=len(columns), values_count=len(values))]
                continue
            rows.append(RowInput(line_number, *(values[index[name]] for name in CSV_COLUMNS)))
            if len(rows) > MAX_ROWS:
                raise Invalid({"file": [N_("At most %(max_rows)s rows in one import.", max_rows=MAX_ROWS)]})
        if errors:
            raise Invalid(errors)
        return rows
    except UnicodeDecodeError:
        raise Invalid({"file": [N_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")]})
    except csv.Error as exc:
        raise Invalid({"file": [N_("The file is not valid CSV: %(exc)s.", exc=exc)]})


class _LimitedReader(io.RawIOBase):
    def __init__(self, stream: IO[bytes], max_bytes: int):
        self.stream, self.remaining, self.max_bytes = stream, max_bytes, max_bytes

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size is None or size < 0 else size
        chunk = self.stream.read(min(size, self.remaining + 1))
        self.remaining -= len(chunk)
        if self.remaining < 0:
            raise Invalid({"file": [N_("The file is larger than %(max_bytes)s MB.", max_bytes=self.max_bytes // (1024 * 1024))]})
        return chunk

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def rows_from_json(payload: object) -> list[RowInput]:
    """Rows of the JSON API: {"submissions": [{"site", "measure", "month", "numerator", "denominator"}, ...]}."""
    if not isinstance(payload, dict) or not isinstance(payload.get("submissions"), list):
        raise Invalid({"body": [N_('Send {"submissions": [{"site": ..., "measure": ..., "month": "YYYY-MM", '
                                '"numerator": ..., "denominator": ...}]}.')]})
    rows = []
    errors: dict[str, list[str]] = {}
    for number, item in enumerate(payload["submissions"], start=1):
        if not isinstance(item, dict):
            errors[f"row {number}: row"] = [N_("Each submission is an object.")]
            continue
        extra = set(item) - set(CSV_COLUMNS)
        if extra:
            errors[f"row {number}: row"] = [N_("Unknown field(s): %(extra)s.", extra=', '.join(sorted(extra)))]
        rows.append(RowInput(number, *(item.get(name) for name in CSV_COLUMNS)))
    if errors:
        raise Invalid(errors)
    return rows


def rows_from_fhir(data: bytes | str) -> list[RowInput]:
    """Rows of a FHIR R4 MeasureReport or Bundle (the conventions are in network/fhir.py)."""
    from network import fhir

    return [RowInput(r["row"], r["site"], r["measure"], r["month"], r["numerator"], r["denominator"])
            for r in fhir.parse(data, max_bytes=MAX_UPLOAD_BYTES)]


def rows_for_site(db: Session, actor, site: Site, month: object, figures: dict[str, tuple[object, object]]) -> list[RowInput]:
    """Rows of the monthly form: one month, one site, a (numerator, denominator) per measure key.
    Measures left blank on both fields are skipped."""
    rows = []
    for number, (key, (numerator, denominator)) in enumerate(figures.items(), start=1):
        if str(numerator or "").strip() == "" and str(denominator or "").strip() == "":
            continue
        rows.append(RowInput(number, site.slug, key, month, numerator, denominator))
    return rows


def history(db: Session, actor, site: Site, measure: Measure, month: date) -> list[Submission]:
    """Every version of one figure, newest first (the 'revised' story behind a point)."""
    access.require(actor, "outcomes.view")
    return list(db.scalars(select(Submission).where(Submission.site_id == site.id, Submission.measure_id == measure.id,
                                                    Submission.month == month).order_by(Submission.version.desc())))
