"""Demo outcome data: seven years of monthly figures for every site, in which the network's remission
rate rises from about 60% to about 79% — some sites improving early, some late, a few with
special-cause dips — and the other measures of a paediatric IBD network. Idempotent."""
from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.db import utcnow
from network.outcomes import Measure, Submission

YEARS = 7

MEASURES = [
    dict(key="remission", name="Patients in remission", better="higher", goal=0.8, chart_type="p", position=1, baseline_months=12,
         definition="The share of patients seen in the month whose **physician global assessment** was "
                    "*quiescent* (inactive disease).",
         numerator_definition="Patients seen in the month with a quiescent physician global assessment.",
         denominator_definition="Patients with Crohn's disease or ulcerative colitis seen in the month."),
    dict(key="steroid-free", name="Not on prednisone", better="higher", goal=0.9, chart_type="p", position=2, baseline_months=12,
         definition="The share of patients seen who are not taking prednisone or another systemic corticosteroid.",
         numerator_definition="Patients seen who are not on systemic corticosteroids.",
         denominator_definition="Patients seen in the month."),
    dict(key="model-care", name="Visits meeting model-care criteria", better="higher", goal=0.8, chart_type="p",
         position=3, baseline_months=12, definition="Visits at which the care team recorded disease activity, growth, nutrition and "
                                "medication dosing according to the network's model-care checklist.",
         numerator_definition="Visits meeting every model-care criterion.",
         denominator_definition="Visits in the month."),
    dict(key="growth", name="Satisfactory growth", better="higher", goal=0.9, chart_type="p", position=4,
         definition="Patients whose height velocity is satisfactory for their age and sex.",
         numerator_definition="Patients with satisfactory height velocity.",
         denominator_definition="Patients under 18 with two heights at least four months apart."),
    dict(key="nutrition", name="Satisfactory nutrition", better="higher", goal=0.9, chart_type="pp", position=5,
         definition="Patients whose BMI z-score is above −1.64 (shown as a Laney p′ chart because the network "
                    "total has large denominators).",
         numerator_definition="Patients with a BMI z-score above −1.64.",
         denominator_definition="Patients seen with a recorded weight and height."),
    dict(key="previsit-plan", name="Visits with a previsit plan", better="higher", goal=0.75, chart_type="p",
         position=6, rule_set="mdc", baseline_months=12,
         definition="Visits for which the patient or parent completed a previsit plan (judged by the NHS "
                    "*Making Data Count* rules).",
         numerator_definition="Visits with a submitted previsit plan.",
         denominator_definition="Visits in the month."),
    dict(key="goals-discussed", name="Visits where families' goals were discussed", better="higher", goal=0.9,
         chart_type="p", position=8,
         definition="Derived each month from previsit plans in CareCommons: of the families who answered "
                    "*were my goals discussed?* after a visit, the share who answered 7 or more out of 10. "
                    "Months with small numbers are left out.",
         numerator_definition="Rated plans with a score of 7 or more.",
         denominator_definition="Plans the family rated after the visit."),
    dict(key="admissions", name="Hospital admissions", better="lower", goal=None, chart_type="u", multiplier=100,
         position=7, baseline_months=12, definition="IBD-related hospital admissions per 100 patients seen.",
         numerator_definition="IBD-related admissions in the month.",
         denominator_definition="Patients seen in the month."),
]


def last_complete_month(today: date) -> date:
    return date(today.year - (today.month == 1), 12 if today.month == 1 else today.month - 1, 1)


def demo_months(today: date) -> list[date]:
    end = last_complete_month(today)
    months = []
    year, month = end.year - YEARS, end.month
    for _ in range(YEARS * 12):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        months.append(date(year, month, 1))
    return months


def seed_measures(db: Session) -> dict[str, Measure]:
    existing = {m.key: m for m in db.scalars(select(Measure))}
    for spec in MEASURES:
        if spec["key"] not in existing:
            measure = Measure(**spec)
            db.add(measure)
            existing[spec["key"]] = measure
    db.flush()
    return existing


def _curve(t: np.ndarray, start: float, end: float, midpoint: float, steepness: float) -> np.ndarray:
    return start + (end - start) / (1 + np.exp(-steepness * (t - midpoint)))


def seed(db: Session, sites, sizes: list[float], *, submitted_by, today: date | None = None) -> int:
    """Add the demo figures if the measures have none yet; returns the number of rows written."""
    measures = seed_measures(db)
    if db.scalar(select(func.count(Submission.id))):
        return 0
    months = demo_months(today or utcnow().date())
    t = np.linspace(0, 1, len(months))
    rng = np.random.default_rng(20261126)
    rows = []
    now = utcnow()
    for site, size in zip(sites, sizes):
        patients = np.maximum(8, rng.poisson(max(12, 60 * size) * _curve(t, 0.8, 1.2, 0.5, 4)))
        midpoint = rng.uniform(0.2, 0.8)          # when this site's improvement happens
        start = rng.normal(0.60, 0.05)
        end = rng.normal(0.80, 0.04)
        remission = np.clip(_curve(t, start, end, midpoint, rng.uniform(6, 14)), 0.2, 0.97)
        if rng.random() < 0.12:                   # a special-cause dip: e.g. a drug shortage, a staffing gap
            dip = rng.integers(12, len(months) - 6)
            remission[dip:dip + 4] -= rng.uniform(0.12, 0.2)
        probabilities = {
            "remission": remission,
            "steroid-free": np.clip(remission + 0.12 + rng.normal(0, 0.01), 0, 0.99),
            "model-care": np.clip(_curve(t, rng.normal(0.45, 0.08), rng.normal(0.82, 0.05), midpoint - 0.1, 9), 0, 0.99),
            "growth": np.clip(np.full(len(months), rng.normal(0.86, 0.03)) + 0.04 * t, 0, 0.99),
            "nutrition": np.clip(np.full(len(months), rng.normal(0.88, 0.03)) + 0.03 * t, 0, 0.99),
            "previsit-plan": np.clip(_curve(t, 0.1, rng.normal(0.7, 0.08), rng.uniform(0.4, 0.8), 10), 0, 0.99),
        }
        for key, p in probabilities.items():
            numerators = rng.binomial(patients, np.clip(p, 0, 1))
            rows += [_row(site.id, measures[key].id, month, int(n), int(d), submitted_by, now)
                     for month, n, d in zip(months, numerators, patients)]
        admissions = rng.poisson(patients * _curve(t, 0.06, 0.035, midpoint, 8))
        rows += [_row(site.id, measures["admissions"].id, month, int(n), int(d), submitted_by, now)
                 for month, n, d in zip(months, admissions, patients)]
    db.execute(Submission.__table__.insert(), rows)
    _seed_corrections(db, sites[:3], measures["remission"], months[-6], submitted_by)
    for measure in measures.values():
        measure.data_version += 1
    db.flush()
    return len(rows)


def _seed_corrections(db: Session, sites, measure: Measure, month: date, submitted_by) -> None:
    """A few sites corrected a month after first sending it: the charts mark those points as revised."""
    for site in sites:
        first = db.scalar(select(Submission).where(Submission.site_id == site.id, Submission.measure_id == measure.id,
                                                   Submission.month == month, Submission.is_current.is_(True)))
        first.is_current = False
        db.flush()
        db.add(Submission(site_id=site.id, measure_id=measure.id, month=month, numerator=min(first.denominator,
                          first.numerator + 3), denominator=first.denominator, version=2, is_current=True,
                          source="form", submitted_by_id=submitted_by.id, acting_role="network_leader"))
    db.flush()


def _row(site_id, measure_id, month, numerator, denominator, submitted_by, now) -> dict:
    return dict(site_id=site_id, measure_id=measure_id, month=month, numerator=numerator, denominator=denominator,
                version=1, is_current=True, source="demo", submitted_by_id=submitted_by.id,
                acting_role="network_leader", created_at=now)
