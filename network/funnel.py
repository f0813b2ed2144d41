"""Funnel plots for comparing units (sites, trusts) on one measure, as the trusted R packages draw them.

* ``proportion_funnel``: proportions as FunnelPlotR 0.6.0 computes them (Spiegelhalter 2005): arcsine
  transform, z-scores winsorised at the 10%/90% quantiles, dispersion ratio phi, additive between-unit
  variance tau² (DerSimonian & Laird) and limits sin²(asin √p0 ± z √(1/(4n) + tau²)).
* ``ratio_funnel``: standardised ratios (observed / expected), FunnelPlotR's "SHMI" method (log scale,
  10% truncation) or "CQC" method (square-root scale, winsorising), with exact Poisson limits from the
  chi-square distribution.
* ``wilson_funnel``: PHEindicatormethods' proportion funnel with Wilson-score control limits
  (the Fingertips method) and its significance bands.

Reproducing those packages exactly matters more than elegance here: an outlier flagged by CareCommons
must be the outlier an analyst finds with FunnelPlotR on the same data. Pure numpy + the standard
library (the normal and gamma quantiles are computed here, to full double precision).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "FunnelResult",
    "WilsonFunnel",
    "Z95",
    "Z998",
    "proportion_funnel",
    "ratio_funnel",
    "proportion_limit_table",
    "poisson_ratio_limits",
    "wilson_funnel",
    "wilson_limit",
    "norm_ppf",
    "gamma_ppf",
]

# FunnelPlotR's hard-coded two-sided z values: 95% and 99.8% (its "99" limit is really 99.8%).
Z95 = 1.959964
Z998 = 3.090232
_Z_FOR_LIMIT = {95: Z95, 99: Z998}


# --------------------------------------------------------------------------------------------------
# Distribution functions (no scipy): normal and gamma quantiles to full double precision
# --------------------------------------------------------------------------------------------------


def _norm_upper(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """Standard normal quantile, by safeguarded Newton steps on ``erfc`` (accurate to ~1 ulp)."""
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -math.inf
        if p == 1.0:
            return math.inf
        raise ValueError("p must be in [0, 1]")
    if p > 0.5:
        return _norm_ppf_upper(1.0 - p)
    return -_norm_ppf_upper(p)


def _norm_ppf_upper(q: float) -> float:
    """x with P(Z > x) = q for q <= 0.5, solved on the upper tail so small q keeps its precision."""
    lo, hi = 0.0, 40.0
    x = math.sqrt(-2.0 * math.log(q)) if q < 0.5 else 0.0
    for _ in range(200):
        f = _norm_upper(x) - q
        if f > 0:
            lo = x
        else:
            hi = x
        dens = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        step = f / dens if dens > 0 else math.inf
        nxt = x + step
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) <= 1e-16 * max(1.0, abs(x)):
            return nxt
        x = nxt
    return x


def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """Regularised incomplete gamma (P, Q) by series (x < a + 1) or Lentz's continued fraction."""
    if x <= 0:
        return 0.0, 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    eps, tiny = 2.5e-16, 1e-300  # ~1 ulp around 1: the continued fraction has converged
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(100000):
            k += 1
            term *= x / k
            total += term
            if abs(term) < abs(total) * eps:
                break
        p = total * math.exp(log_front)
        return p, 1.0 - p
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < eps:
            break
    q = math.exp(log_front) * h
    return 1.0 - q, q


def gamma_ppf(p: float, shape: float) -> float:
    """Quantile of Gamma(shape, 1): x with P(shape, x) = p.

    Solved on whichever tail is smaller, so upper quantiles such as 0.999 keep full precision.
    Poisson limits for a ratio with expected count E use chi²(2E)/2 = Gamma(E, 1).
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if shape <= 0:
        raise ValueError("shape must be positive")
    upper = p > 0.5
    target = 1.0 - p if upper else p

    def f(x: float) -> float:
        pp, qq = _gamma_pq(shape, x)
        return (target - qq) if upper else (pp - target)

    lo, hi = 0.0, max(1.0, shape)
    while f(hi) < 0:
        lo, hi = hi, hi * 2
    z = norm_ppf(p)
    guess = shape * (1 - 1 / (9 * shape) + z * math.sqrt(1 / (9 * shape))) ** 3
    x = guess if lo < guess < hi else 0.5 * (lo + hi)
    for _ in range(100):
        fx = f(x)
        if fx == 0:
            return x
        if fx < 0:
            lo = x
        else:
            hi = x
        dens = math.exp((shape - 1) * math.log(x) - x - math.lgamma(shape)) if x > 0 else 0.0
        nxt = x - fx / dens if dens > 0 else 0.5 * (lo + hi)
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        # Stop once steps are at the noise level of P itself (~1e-14 relative for large shapes).
        if abs(nxt - x) <= 1e-14 * abs(x) or hi - lo <= 1e-15 * abs(x):
            return nxt
        x = nxt
    return x


# --------------------------------------------------------------------------------------------------
# Helpers mirroring R behaviour that changes results
# --------------------------------------------------------------------------------------------------


def _r_seq_length_out(start: float, stop: float, length: int) -> np.ndarray:
    """R's ``seq(from, to, length.out=n)``: from + k·by for the inner points and ``to`` exactly."""
    if length < 3:
        return np.array([start, stop][:length], dtype=float)
    by = (stop - start) / (length - 1)
    inner = start + np.arange(1, length - 1) * by
    return np.concatenate(([start], inner, [stop]))


def _r_quantile7(x: np.ndarray, prob: float) -> float:
    """R's default (type 7) quantile, with R's own interpolation arithmetic."""
    x = np.sort(x[~np.isnan(x)])
    n = x.size
    index = 1 + max(n - 1, 0) * prob
    lo, hi = math.floor(index), math.ceil(index)
    qs = float(x[lo - 1])
    if index > lo and x[hi - 1] != qs:
        h = index - lo
        qs = (1 - h) * qs + h * float(x[hi - 1])
    return qs


def _rank_average(x: np.ndarray) -> np.ndarray:
    """R's ``rank(x, ties.method = "average")``."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size)
    sx = x[order]
    i = 0
    while i < x.size:
        j = i
        while j + 1 < x.size and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _clean(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(v) else float(v)
    return v


def _json(a: Any) -> Any:
    if a is None:
        return None
    if isinstance(a, np.ndarray):
        return [_clean(v) for v in a.tolist()]
    if isinstance(a, list):
        return [_clean(v) for v in a]
    return _clean(a)


def _pair(numerators: Sequence[float] | np.ndarray, denominators: Sequence[float] | np.ndarray,
          names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if num.shape != den.shape or num.ndim != 1 or num.size == 0:
        raise ValueError(f"{names[0]} and {names[1]} must be non-empty 1-D sequences of equal length")
    if np.isnan(num).any() or np.isnan(den).any():
        raise ValueError("missing values are not allowed in a funnel plot")
    if (den <= 0).any():
        raise ValueError(f"{names[1]} must be greater than zero")
    if (num < 0).any():
        raise ValueError(f"{names[0]} must be greater than or equal to zero")
    return num, den


# --------------------------------------------------------------------------------------------------
# Result object
# --------------------------------------------------------------------------------------------------


@dataclass
class FunnelResult:
    """Per-unit funnel output (FunnelPlotR's ``aggregated_data``) plus the dispersion estimates.

    Limits are at each unit's own denominator: ``lcl95``/``ucl95``/``lcl99``/``ucl99`` unadjusted,
    ``od95_lcl``… over-dispersion adjusted ("99" means 99.8%). ``outlier`` is judged against the limit
    set that is drawn (adjusted when ``draw_adjusted``) at the requested ``limit``. ``winsorised`` is
    set for winsorising methods, ``rank``/``sp``/``truncated`` for the SHMI truncation method.
    """

    data_type: str
    method: str
    limit: int
    labels: list[str] | None
    numerator: np.ndarray
    denominator: np.ndarray
    rr: np.ndarray
    target: float
    target_transformed: float
    y_transformed: np.ndarray
    s: np.ndarray
    uzscore: np.ndarray
    wuzscore: np.ndarray
    lcl95: np.ndarray
    ucl95: np.ndarray
    lcl99: np.ndarray
    ucl99: np.ndarray
    od95_lcl: np.ndarray
    od95_ucl: np.ndarray
    od99_lcl: np.ndarray
    od99_ucl: np.ndarray
    outlier: np.ndarray
    phi: float
    tau2: float
    draw_adjusted: bool
    draw_unadjusted: bool
    winsorised: np.ndarray | None = None
    rank: np.ndarray | None = None
    sp: np.ndarray | None = None
    truncated: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.rr.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (NaN/inf -> None)."""
        return {k: _json(getattr(self, k)) for k in self.__dataclass_fields__}


# --------------------------------------------------------------------------------------------------
# Over-dispersion: winsorising / truncation, phi and tau²
# --------------------------------------------------------------------------------------------------


def _winsorise(z: np.ndarray, trim_by: float) -> tuple[np.ndarray, np.ndarray]:
    """Clamp z-scores to their type-7 ``trim_by`` and ``1 - trim_by`` quantiles (Spiegelhalter)."""
    lz, uz = _r_quantile7(z, trim_by), _r_quantile7(z, 1 - trim_by)
    flagged = ~((z > lz) & (z < uz))
    return flagged.astype(int), np.clip(z, lz, uz)


def _truncate(z: np.ndarray, trim_by: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SHMI method: drop (NaN) the z-scores in the outer ``trim_by`` bands of the ranking."""
    k = 1 / trim_by
    rank = _rank_average(z)
    sp = np.floor(rank * k / (z.size + 1))
    truncated = ~((sp > 0) & (sp < k - 1))
    return rank, sp, truncated.astype(int), np.where(truncated, np.nan, z)


def _phi_tau2(wz: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Dispersion ratio phi = mean(z²) over kept units, and DerSimonian-Laird tau² (0 if n·phi < n-1)."""
    keep = ~np.isnan(wz)
    n = int(keep.sum())
    if n == 0:
        return math.nan, 0.0
    phi = float(np.sum(wz[keep] ** 2)) / n
    if n * phi < n - 1:
        return phi, 0.0
    w = 1 / s[keep] ** 2
    return phi, max(0.0, (n * phi - (n - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w)))


def _resolve_drawing(overdispersion: bool, draw_unadjusted: bool, phi: float) -> tuple[bool, bool]:
    """FunnelPlotR's choice of drawn limits: without over-dispersion (phi <= 1) it falls back to the
    unadjusted limits unless those were requested explicitly as well."""
    draw_adjusted = overdispersion
    if draw_adjusted and not draw_unadjusted and phi <= 1:
        return False, True
    return draw_adjusted, draw_unadjusted


def _outliers(rr: np.ndarray, lim: dict[str, np.ndarray], limit: int, draw_adjusted: bool,
              draw_unadjusted: bool, multiplier: float) -> np.ndarray:
    """1 where the unit's ratio lies strictly outside the drawn limits at ``limit`` (inclusive bounds)."""
    if not draw_adjusted and not draw_unadjusted:
        return np.zeros(rr.size, dtype=int)
    suffix = "95" if limit == 95 else "99"
    lo = lim[f"od{suffix}_lcl"] if draw_adjusted else lim[f"lcl{suffix}"]
    hi = lim[f"od{suffix}_ucl"] if draw_adjusted else lim[f"ucl{suffix}"]
    value = rr * multiplier
    return (~((value <= hi) & (value >= lo))).astype(int)


def _check_limit(limit: int) -> float:
    if limit not in _Z_FOR_LIMIT:
        raise ValueError("limit must be 95 or 99 (99.8%)")
    return _Z_FOR_LIMIT[limit]


# --------------------------------------------------------------------------------------------------
# Proportions (FunnelPlotR data_type = "PR")
# --------------------------------------------------------------------------------------------------


def proportion_limit_table(number_seq: Sequence[float] | np.ndarray, target: float, tau2: float = 0.0,
                           multiplier: float = 1.0) -> dict[str, np.ndarray]:
    """Arcsine-scale proportion limits along an increasing sequence of denominators.

    Returns ``s``, ``ll95``, ``ul95``, ``ll998``, ``ul998``. As in FunnelPlotR, limits are truncated to
    [0, multiplier] (here on the angle, before sin², so a limit whose angle passes 0 or π/2 cannot fold
    back inside the range), and because the arcsine limits stop being monotonic at small denominators (the
    angle passes 0 or π/2), a lower limit above the next one in the sequence becomes 0 and an upper limit
    below the next one becomes ``multiplier``; so the result depends on the sequence it is computed on.
    """
    n = np.asarray(number_seq, dtype=float)
    s = 1 / (2 * np.sqrt(n))
    centre = math.asin(math.sqrt(target))
    spread = np.sqrt(s ** 2 + tau2)
    out: dict[str, np.ndarray] = {"s": s}
    for name, z in (("95", Z95), ("998", Z998)):
        low_angle, high_angle = centre - z * spread, centre + z * spread
        # past 0 or π/2 the angle has left the proportion scale and sin² folds back (with a large tau²,
        # e.g. 0.97 as the lower limit of a target of 0.33): such a limit is the bound itself
        low = np.where(low_angle <= 0, 0.0, multiplier * np.sin(low_angle) ** 2)
        high = np.where(high_angle >= math.pi / 2, multiplier, multiplier * np.sin(high_angle) ** 2)
        low = np.where(low < 0, 0.0, low)
        high = np.where(high > multiplier, multiplier, high)
        low_fixed, high_fixed = low.copy(), high.copy()
        low_fixed[:-1] = np.where(low[:-1] > low[1:], 0.0, low[:-1])
        high_fixed[:-1] = np.where(high[:-1] < high[1:], multiplier, high[:-1])
        out[f"ll{name}"], out[f"ul{name}"] = low_fixed, high_fixed
    return out


def _funnel_grid(denominators: np.ndarray, start: float) -> np.ndarray:
    """FunnelPlotR's plotting grid (1000 points up to ceil(max n)) merged with the units' denominators."""
    max_x = float(math.ceil(denominators.max()))
    return np.unique(np.concatenate((_r_seq_length_out(start, max_x, 1000), denominators)))


def _limits_at(table: dict[str, np.ndarray], grid: np.ndarray, den: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    pos = np.searchsorted(grid, den)
    return {f"{prefix}{k}": table[k][pos] for k in ("ll95", "ul95", "ll998", "ul998")}


def _rename(lim: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = {"ll95": "lcl95", "ul95": "ucl95", "ll998": "lcl99", "ul998": "ucl99",
             "odll95": "od95_lcl", "odul95": "od95_ucl", "odll998": "od99_lcl", "odul998": "od99_ucl"}
    return {names[k]: v for k, v in lim.items()}


def proportion_funnel(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    *,
    limit: int = 95,
    overdispersion: bool = True,
    draw_unadjusted: bool = False,
    trim_by: float = 0.1,
    multiplier: float = 1.0,
    labels: Sequence[str] | None = None,
) -> FunnelResult:
    """Funnel plot of proportions, as FunnelPlotR 0.6.0 (``data_type = "PR"``) computes it.

    One entry per unit (aggregate records per unit first). ``limit`` 95 or 99 (99.8%) selects the limits
    that decide ``outlier``. ``overdispersion=False`` (FunnelPlotR's ``draw_adjusted = FALSE``) reports
    phi = tau² = 0 and judges units on the unadjusted limits. With over-dispersion on but phi <= 1 the
    unadjusted limits are drawn instead, while the computed tau² is still reported.
    """
    num, den = _pair(numerators, denominators, ("numerators", "denominators"))
    if (num > den).any():
        raise ValueError("numerators must not exceed denominators for a proportion")
    _check_limit(limit)
    rr = num / den
    target = float(num.sum() / den.sum())
    centre = math.asin(math.sqrt(target))
    y_t = np.arcsin(np.sqrt(rr))
    s = 1 / (2 * np.sqrt(den))
    uz = (y_t - centre) / s
    winsorised, wz = _winsorise(uz, trim_by)
    phi, tau2 = _phi_tau2(wz, s)
    if not overdispersion:
        phi, tau2 = 0.0, 0.0
    draw_adj, draw_unadj = _resolve_drawing(overdispersion, draw_unadjusted, phi)
    grid = _funnel_grid(den, 3.0)
    lim = {**_limits_at(proportion_limit_table(grid, target, tau2, multiplier), grid, den, "od"),
           **_limits_at(proportion_limit_table(grid, target, 0.0, multiplier), grid, den, "")}
    lim = _rename(lim)
    return FunnelResult(
        data_type="PR", method="arcsine", limit=limit, labels=None if labels is None else list(labels),
        numerator=num, denominator=den, rr=rr, target=target, target_transformed=centre,
        y_transformed=y_t, s=s, uzscore=uz, wuzscore=wz, outlier=_outliers(rr, lim, limit, draw_adj,
                                                                            draw_unadj, multiplier),
        phi=phi, tau2=tau2, draw_adjusted=draw_adj, draw_unadjusted=draw_unadj, winsorised=winsorised, **lim,
    )


# --------------------------------------------------------------------------------------------------
# Standardised ratios (FunnelPlotR data_type = "SR")
# --------------------------------------------------------------------------------------------------


def poisson_ratio_limits(number_seq: Sequence[float] | np.ndarray, target: float = 1.0,
                         multiplier: float = 1.0) -> dict[str, np.ndarray]:
    """Exact Poisson limits for an observed/expected ratio at expected counts ``number_seq``.

    Lower 95% = qchisq(0.025, 2E)/2/E, upper = qchisq(0.975, 2(E+1))/2/E; 99.8% uses 0.001/0.999.
    """
    e = np.asarray(number_seq, dtype=float)
    out = {}
    for name, lower_p, upper_p in (("95", 0.025, 0.975), ("998", 0.001, 0.999)):
        out[f"ll{name}"] = np.array([multiplier * target * gamma_ppf(lower_p, v) / v for v in e])
        out[f"ul{name}"] = np.array([multiplier * target * gamma_ppf(upper_p, v + 1) / v for v in e])
    return out


def _ratio_od_limits(den: np.ndarray, method: str, tau2: float, multiplier: float) -> dict[str, np.ndarray]:
    """Over-dispersed ratio limits: exp(±z·√(1/E + tau²)) for SHMI, 1 ± z·√(1/(4E) + tau²) for CQC.

    The CQC limits are left on the square-root scale, exactly as FunnelPlotR 0.6.0 returns them.
    """
    out = {}
    for name, z in (("95", Z95), ("998", Z998)):
        if method == "SHMI":
            spread = np.sqrt(1 / den + tau2)
            out[f"odll{name}"] = multiplier * np.exp(-z * spread)
            out[f"odul{name}"] = multiplier * np.exp(z * spread)
        else:
            spread = np.sqrt((1 / (2 * np.sqrt(den))) ** 2 + tau2)
            out[f"odll{name}"] = multiplier * (1 - z * spread)
            out[f"odul{name}"] = multiplier * (1 + z * spread)
    return out


def ratio_funnel(
    observed: Sequence[float] | np.ndarray,
    expected: Sequence[float] | np.ndarray,
    *,
    method: str = "SHMI",
    limit: int = 95,
    overdispersion: bool = True,
    draw_unadjusted: bool = False,
    trim_by: float = 0.1,
    multiplier: float = 1.0,
    shmi_rounding: bool = True,
    labels: Sequence[str] | None = None,
) -> FunnelResult:
    """Funnel plot of standardised ratios (observed / expected), FunnelPlotR 0.6.0 ``data_type = "SR"``.

    ``method="SHMI"``: log scale, z = √E·log(O/E), the outer ``trim_by`` of ranked z-scores truncated
    before phi, expected counts rounded to 2 d.p. first (``shmi_rounding``). ``method="CQC"``: square-root
    scale, z = 2√E(√(O/E) − 1), winsorised at ``trim_by``. Unadjusted limits are exact Poisson limits.
    """
    if method not in ("SHMI", "CQC"):
        raise ValueError("method must be 'SHMI' or 'CQC'")
    _check_limit(limit)
    num, den = _pair(observed, expected, ("observed", "expected"))
    if method == "SHMI" and shmi_rounding:
        den = np.array([round(v, 2) for v in den.tolist()])
    rr = num / den
    rank = sp = truncated = winsorised = None
    if method == "SHMI":
        centre, y_t, s = 0.0, np.log(rr), 1 / np.sqrt(den)
        uz = np.sqrt(den) * np.log(rr)
        rank, sp, truncated, wz = _truncate(uz, trim_by)
    else:
        centre, y_t, s = 1.0, np.sqrt(rr), 1 / (2 * np.sqrt(den))
        uz = (y_t - centre) / s
        winsorised, wz = _winsorise(uz, trim_by)
    phi, tau2 = _phi_tau2(wz, s)
    if not overdispersion:
        phi, tau2 = 0.0, 0.0
    draw_adj, draw_unadj = _resolve_drawing(overdispersion, draw_unadjusted, phi)
    lim = _rename({**poisson_ratio_limits(den, 1.0, multiplier), **_ratio_od_limits(den, method, tau2, multiplier)})
    return FunnelResult(
        data_type="SR", method=method, limit=limit, labels=None if labels is None else list(labels),
        numerator=num, denominator=den, rr=rr, target=1.0, target_transformed=centre, y_transformed=y_t,
        s=s, uzscore=uz, wuzscore=wz, outlier=_outliers(rr, lim, limit, draw_adj, draw_unadj, multiplier),
        phi=phi, tau2=tau2, draw_adjusted=draw_adj, draw_unadjusted=draw_unadj, winsorised=winsorised,
        rank=rank, sp=sp, truncated=truncated, **lim,
    )


# --------------------------------------------------------------------------------------------------
# Wilson-score proportion funnels (PHEindicatormethods / Fingertips)
# --------------------------------------------------------------------------------------------------


def wilson_limit(p: float, population: float | np.ndarray, average: float, side: str,
                 multiplier: float = 100.0) -> float | np.ndarray:
    """Wilson-score control limit at ``population`` around the average proportion.

    ``p`` is the one-sided probability (0.975 for the 2-sigma-like 95% limits, 0.999 for 99.8%); the
    limit is the root of the Wilson quadratic, scaled by ``multiplier`` (100 = percentage).
    """
    if side not in ("low", "high"):
        raise ValueError("side must be 'low' or 'high'")
    z2 = norm_ppf(p) ** 2
    n = np.asarray(population, dtype=float)
    centre = average * (n / z2 + 1)
    disc = (-8 * centre) ** 2 - 64 * (1 / z2 + 1 / n) * average * (
        n * (average * (n / z2 + 2) - 1) + z2 * (average - 1))
    half_width = np.sqrt(disc) / 8
    count = (centre - half_width if side == "low" else centre + half_width) / (1 / z2 + 1 / n)
    out = count / n * multiplier
    return float(out) if np.ndim(out) == 0 else out


def _r_nchar_integer(x: float) -> int:
    """``nchar()`` of an integer-valued double as R prints it: fixed notation unless scientific is
    shorter (``nchar(1e5)`` is 5, from "1e+05"), which changes the axis rounding below."""
    digits = str(int(x))
    fixed = len(digits)
    significant = digits.rstrip("0") or "0"
    exponent = len(digits) - 1
    sci = len(significant) + (1 if len(significant) > 1 else 0) + (4 if exponent < 100 else 5)
    return fixed if fixed <= sci else sci


def _signif_floor(x: float, fraction: float = 0.95) -> float:
    if x == 0:
        return 0.0
    n = _r_nchar_integer(math.floor(x * fraction)) - 1
    return math.floor(x * fraction / 10 ** n) * 10 ** n


def _signif_ceiling(x: float, fraction: float = 1.05) -> float:
    if x == 0:
        return 0.0
    n = _r_nchar_integer(math.ceil(x * fraction)) - 2
    return math.ceil(x * fraction / 10 ** n) * 10 ** n


@dataclass
class WilsonFunnel:
    """A 100-row table of Wilson-score funnel limits for plotting, and each unit's significance band.

    Columns follow PHEindicatormethods' ``phe_funnels``: ``population``, ``lower_2s`` / ``upper_2s``
    (0.025 each side, "95%"), ``lower_3s`` / ``upper_3s`` (0.001, "99.8%") and ``baseline`` (the average,
    scaled by ``multiplier``). ``significance`` holds "Low (0.001)", "Low (0.025)", "High (0.001)",
    "High (0.025)" or "Not significant" per unit, as ``phe_funnel_significance``.
    """

    population: np.ndarray
    lower_2s: np.ndarray
    upper_2s: np.ndarray
    lower_3s: np.ndarray
    upper_3s: np.ndarray
    baseline: np.ndarray
    average: float
    multiplier: float
    significance: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {k: _json(getattr(self, k)) for k in self.__dataclass_fields__}


def _wilson_axis(min_den: float, max_den: float) -> np.ndarray:
    """The 100 geometrically spaced integer populations PHEindicatormethods plots its limits at."""
    axis_min = 0.0 if max_den > 2 * min_den else _signif_floor(min_den)
    axis_max = _signif_ceiling(max_den)
    pop = np.empty(100)
    pop[0] = max(1.0, axis_min)
    for j in range(2, 101):
        prev = pop[j - 2]
        pop[j - 1] = max(float(round((axis_max / prev) ** (1 / (101 - j)) * prev)), prev + 1)
    return pop


def _significance(rate: float, low3: float, low2: float, high3: float, high2: float) -> str:
    if rate < low3:
        return "Low (0.001)"
    if rate < low2:
        return "Low (0.025)"
    if rate > high3:
        return "High (0.001)"
    if rate > high2:
        return "High (0.025)"
    return "Not significant"


def wilson_funnel(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    *,
    multiplier: float = 100.0,
) -> WilsonFunnel:
    """Proportion funnel with Wilson-score limits (PHEindicatormethods ``phe_funnels`` and
    ``phe_funnel_significance``): plotting table plus a significance band per unit."""
    num, den = _pair(numerators, denominators, ("numerators", "denominators"))
    if (num > den).any():
        raise ValueError("numerators must be less than or equal to denominator for a proportion statistic")
    average = float(num.sum() / den.sum())
    pop = _wilson_axis(float(den.min()), float(den.max()))
    table = {
        "lower_2s": np.maximum(0.0, wilson_limit(0.975, pop, average, "low", multiplier)),
        "upper_2s": np.minimum(multiplier, wilson_limit(0.975, pop, average, "high", multiplier)),
        "lower_3s": np.maximum(0.0, wilson_limit(0.999, pop, average, "low", multiplier)),
        "upper_3s": np.minimum(multiplier, wilson_limit(0.999, pop, average, "high", multiplier)),
    }
    rate = multiplier * num / den
    bands = [wilson_limit(p, den, average, side, multiplier)
             for p, side in ((0.999, "low"), (0.975, "low"), (0.999, "high"), (0.975, "high"))]
    significance = [_significance(float(r), *(float(b[i]) for b in bands)) for i, r in enumerate(rate)]
    return WilsonFunnel(population=pop, baseline=np.full(100, average * multiplier), average=average,
                        multiplier=float(multiplier), significance=significance, **table)
