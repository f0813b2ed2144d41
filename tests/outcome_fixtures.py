"""Builders for outcome tests: measures and figures written straight to the database."""
from __future__ import annotations

from datetime import date

from network.outcomes import Measure, Submission


def add_measure(db, key="remission", **overrides) -> Measure:
    fields = dict(key=key, name=key.replace("-", " ").title(), better="higher", goal=0.8, chart_type="p",
                  numerator_definition="In remission", denominator_definition="Seen")
    fields.update(overrides)
    measure = Measure(**fields)
    db.add(measure)
    db.commit()
    return measure


def add_figures(db, site, measure, figures: list[tuple[str, int, int]]) -> None:
    """figures: (YYYY-MM, numerator, denominator) written as current version 1 rows."""
    for month, numerator, denominator in figures:
        year, mon = (int(part) for part in month.split("-"))
        db.add(Submission(site_id=site.id, measure_id=measure.id, month=date(year, mon, 1), numerator=numerator,
                          denominator=denominator, source="demo"))
    measure.data_version += 1
    db.commit()


def months(start_year: int, count: int) -> list[str]:
    out, year, month = [], start_year, 1
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
