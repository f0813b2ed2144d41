"""Statistical process control (SPC) engine: run charts, Shewhart charts and NHS "Making Data Count".

The numbers this module produces are meant to agree exactly (to ~1e-12) with the R packages that
quality-improvement teams already trust, so that a chart drawn by CareCommons never disagrees with the
one an analyst draws by hand:

* ``run_chart``, ``i_chart``, ``mr_chart``, ``p_chart``, ``u_chart``, ``c_chart`` follow qicharts2 0.8.1
  (Anhøj runs rules, Nelson-screened moving ranges, Laney p'/u', ``freeze`` / ``part`` / ``exclude``).
* ``mdc_chart`` follows NHSRplotthedots 0.2.2 (XmR limits of mean ± 2.66 × mean moving range and the
  Making Data Count special-cause rules, fixed baselines, rebasing, targets and assurance).
* ``p_chart_batch`` computes many p-charts at once (sites × months) with vectorised runs analysis and
  gives, row by row, exactly what ``p_chart`` gives for that site's series.

Positions (``freeze``, ``part``, ``exclude``, ``rebase``, ``fix_after``) are 0-based counts/indices
into the series; "``part=[12]``" means "a new phase starts after the first 12 points", as in qicharts2.
Pure numpy + the standard library: no database, no web framework.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from network.i18n import N_, Text

__all__ = [
    "SPCResult",
    "MDCResult",
    "PChartBatch",
    "longest_run_max",
    "crossings_min",
    "qbinom",
    "run_chart",
    "i_chart",
    "mr_chart",
    "p_chart",
    "u_chart",
    "c_chart",
    "mdc_chart",
    "p_chart_batch",
    "explain_signals",
]

# Nelson's screening constant: a moving range at or above 3.267 × the mean moving range is an outlier
# (3.267 is D4 for subgroups of two), dropped once before sigma is estimated.
MR_SCREEN_FACTOR = 3.267
# d2 for moving ranges of two points: sigma = mean moving range / 1.128.
D2 = 1.128
# Making Data Count uses 2.66 (= 3 / 1.128) times the mean moving range for its process limits.
MDC_LIMIT = 2.66
# Making Data Count groups shorter than this carry a warning (NHSRplotthedots' default threshold).
MDC_SHORT_GROUP = 13

FloatArray = np.ndarray
ArrayLike = Sequence[float] | np.ndarray


# --------------------------------------------------------------------------------------------------
# Anhøj runs-analysis thresholds
# --------------------------------------------------------------------------------------------------


def r_round(x: float) -> int:
    """Round half to even, as R's ``round`` does (IEC 60559); Python's ``round`` already does this."""
    return int(round(x))


@lru_cache(maxsize=4096)
def qbinom(p: float, size: int, prob: float = 0.5) -> int:
    """Smallest x with P(X <= x) >= p for X ~ Binomial(size, prob), computed exactly.

    Exact integer arithmetic (``math.comb`` over the binary values of ``p`` and ``prob``) avoids the
    rounding edge cases of a cumulative sum of doubles, so the crossings threshold matches R's
    ``qbinom`` for every n.
    """
    if size < 0:
        raise ValueError("size must be non-negative")
    target = Fraction(p)
    if prob == 0.5:
        return _qbinom_half(target, size)
    pr = Fraction(prob)
    a, b = pr.numerator, pr.denominator
    need_num, need_den = target.numerator * b**size, target.denominator
    cumulative = 0
    for x in range(size + 1):
        cumulative += math.comb(size, x) * a**x * (b - a) ** (size - x)
        if cumulative * need_den >= need_num:
            return x
    return size


def _qbinom_half(target: Fraction, size: int) -> int:
    """``qbinom`` for prob = 1/2 in integers: P(X <= x) = sum C(size, k) / 2**size."""
    need_num, need_den = target.numerator << size, target.denominator
    cumulative, coef = 0, 1
    for x in range(size + 1):
        cumulative += coef
        if cumulative * need_den >= need_num:
            return x
        coef = coef * (size - x) // (x + 1)
    return size


def longest_run_max(n_useful: int) -> int:
    """Anhøj/Schilling upper limit for the longest run: ``round(log2(n)) + 3``."""
    return r_round(math.log2(n_useful)) + 3


def crossings_min(n_useful: int) -> int:
    """Anhøj/Chen lower limit for the number of crossings: ``qbinom(0.05, n - 1, 0.5)``."""
    return qbinom(0.05, max(n_useful - 1, 0), 0.5)


@lru_cache(maxsize=64)
def _threshold_tables(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Both thresholds for n = 0..n_max as arrays (index 0 is NaN), for vectorised lookups."""
    lrm = np.full(n_max + 1, np.nan)
    cmin = np.full(n_max + 1, np.nan)
    for n in range(1, n_max + 1):
        lrm[n] = longest_run_max(n)
        cmin[n] = crossings_min(n)
    return lrm, cmin


# --------------------------------------------------------------------------------------------------
# Small numeric helpers (warning-free, NaN-aware)
# --------------------------------------------------------------------------------------------------


def _finite(a: np.ndarray) -> np.ndarray:
    return a[~np.isnan(a)]


def _mean(a: np.ndarray) -> float:
    """Mean ignoring NaN; NaN (not a warning) when nothing is left, like R's ``mean(x, na.rm=TRUE)``."""
    a = _finite(np.asarray(a, dtype=float))
    return float(a.mean()) if a.size else math.nan


def _median(a: np.ndarray) -> float:
    a = _finite(np.asarray(a, dtype=float))
    return float(np.median(a)) if a.size else math.nan


def _seq_sum(a: np.ndarray) -> float:
    """Left-to-right sum: order-stable, so zero-padded and compacted series sum to identical doubles."""
    a = np.asarray(a, dtype=float)
    return float(np.cumsum(a)[-1]) if a.size else 0.0


def _as_float_array(values: Iterable[float] | None, name: str) -> np.ndarray:
    if values is None:
        raise ValueError(f"{name} is required")
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    return arr


def _screened_mean_mr(mr: np.ndarray, screen: bool) -> float:
    """Mean moving range, optionally after dropping (once) those >= 3.267 × the first mean (Nelson 1982)."""
    mr = _finite(mr)
    amr = _mean(mr)
    if screen and mr.size:
        amr = _mean(mr[mr < MR_SCREEN_FACTOR * amr])
    return amr


def _clean(v: Any) -> Any:
    """Convert a numpy scalar to a JSON-safe Python value (NaN -> None)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    return v


def _json_list(a: Any) -> list[Any]:
    return [_clean(v) for v in np.asarray(a).tolist()] if isinstance(a, np.ndarray) else list(a)


def _count_list(a: np.ndarray) -> list[int | None]:
    """Counts stored as float (NaN = not available) rendered as ints for JSON."""
    return [None if math.isnan(v) else int(v) for v in np.asarray(a, dtype=float).tolist()]


# --------------------------------------------------------------------------------------------------
# Runs analysis
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsStats:
    """Anhøj runs analysis of one phase: counts are NaN when no point is off the centre line."""

    n_obs: int
    n_useful: int
    longest_run: float
    longest_run_max: float
    n_crossings: float
    n_crossings_min: float
    signal: bool


def runs_analysis(y: np.ndarray, cl: np.ndarray | float, include: np.ndarray | None = None) -> RunsStats:
    """Longest run and crossings of the centre line, as qicharts2's ``runs.analysis``.

    Excluded points are left out entirely; points exactly on the centre line (and missing points) are
    dropped before runs are counted, which is why ``n_useful`` can be below ``n_obs``.
    """
    y = np.asarray(y, dtype=float)
    cl_arr = np.broadcast_to(np.asarray(cl, dtype=float), y.shape)
    mask = np.ones(y.shape, bool) if include is None else np.asarray(include, bool)
    side = np.sign(y[mask] - cl_arr[mask])
    n_obs = int(mask.sum())
    side = side[(side != 0) & ~np.isnan(side)]
    n_useful = int(side.size)
    if n_useful == 0:
        return RunsStats(n_obs, 0, math.nan, math.nan, math.nan, math.nan, False)
    change = np.flatnonzero(side[1:] != side[:-1])
    bounds = np.concatenate(([0], change + 1, [n_useful]))
    longest = int(np.diff(bounds).max())
    crossings = int(change.size)
    lmax, cmin = longest_run_max(n_useful), crossings_min(n_useful)
    return RunsStats(n_obs, n_useful, longest, lmax, crossings, cmin, longest > lmax or crossings < cmin)


# --------------------------------------------------------------------------------------------------
# Result object
# --------------------------------------------------------------------------------------------------

_ARRAY_FIELDS = (
    "y", "n", "cl", "lcl", "ucl", "lcl_95", "ucl_95", "sigma_signal", "runs_signal", "longest_run",
    "longest_run_max", "n_crossings", "n_crossings_min", "n_obs", "n_useful", "part", "baseline", "include",
)
_COUNT_FIELDS = ("longest_run", "longest_run_max", "n_crossings", "n_crossings_min")


@dataclass
class SPCResult:
    """One chart, one row per point, phase-level values repeated per point (qicharts2's ``$data``).

    ``n`` is the denominator (NaN for charts without one); ``part`` is the 1-based phase number;
    ``baseline`` marks points used for the centre line and limits (``freeze``); ``include`` is False for
    excluded points. NaN stands where qicharts2 gives NA.
    """

    chart: str
    y: FloatArray
    n: FloatArray
    cl: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    lcl_95: FloatArray
    ucl_95: FloatArray
    sigma_signal: np.ndarray
    runs_signal: np.ndarray
    longest_run: FloatArray
    longest_run_max: FloatArray
    n_crossings: FloatArray
    n_crossings_min: FloatArray
    n_obs: np.ndarray
    n_useful: np.ndarray
    part: np.ndarray
    baseline: np.ndarray
    include: np.ndarray
    multiply: float = 1.0

    def __len__(self) -> int:
        return int(self.y.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation: lists of plain Python values, NaN -> None."""
        out: dict[str, Any] = {"chart": self.chart, "multiply": _clean(self.multiply)}
        for name in _ARRAY_FIELDS:
            arr = getattr(self, name)
            out[name] = _count_list(arr) if name in _COUNT_FIELDS else _json_list(arr)
        return out

    def summary(self) -> list[dict[str, Any]]:
        """One row per phase, like qicharts2's ``summary(qic)``: averaged limits and signal counts."""
        rows = []
        for p in np.unique(self.part):
            m = self.part == p
            first = int(np.flatnonzero(m)[0])
            rows.append(
                {
                    "part": int(p),
                    "n_obs": int(self.n_obs[first]),
                    "n_useful": int(self.n_useful[first]),
                    "longest_run": _clean(self.longest_run[first]),
                    "longest_run_max": _clean(self.longest_run_max[first]),
                    "n_crossings": _clean(self.n_crossings[first]),
                    "n_crossings_min": _clean(self.n_crossings_min[first]),
                    "runs_signal": int(self.runs_signal[m].any()),
                    "avg_lcl": _clean(_mean(self.lcl[m])),
                    "avg_lcl_95": _clean(_mean(self.lcl_95[m])),
                    "cl": _clean(_mean(self.cl[m])),
                    "avg_ucl_95": _clean(_mean(self.ucl_95[m])),
                    "avg_ucl": _clean(_mean(self.ucl[m])),
                    "sigma_signal": int(self.sigma_signal[m].sum()),
                }
            )
        return rows


# --------------------------------------------------------------------------------------------------
# Per-phase centre lines and limits (one function per chart type, on one phase's points)
# --------------------------------------------------------------------------------------------------


@dataclass
class _Phase:
    """The points of one phase handed to a limits function; ``base`` = baseline & included."""

    y: np.ndarray
    num: np.ndarray
    den: np.ndarray
    base: np.ndarray
    screen: bool
    laney: bool
    categorical: bool


_Limits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _sym_limits(cl: float | np.ndarray, sd: np.ndarray | float, size: int) -> _Limits:
    cl_arr = np.broadcast_to(np.asarray(cl, float), (size,)).copy()
    sd_arr = np.broadcast_to(np.asarray(sd, float), (size,))
    return cl_arr, cl_arr - 3 * sd_arr, cl_arr + 3 * sd_arr, cl_arr - 2 * sd_arr, cl_arr + 2 * sd_arr


def _limits_run(ph: _Phase) -> _Limits:
    """Run chart: median of the baseline, no control limits."""
    size = ph.y.size
    nan = np.full(size, np.nan)
    return np.full(size, _median(ph.y[ph.base])), nan, nan.copy(), nan.copy(), nan.copy()


def _limits_i(ph: _Phase) -> _Limits:
    """I chart: mean ± 3 × (mean moving range / 1.128), moving ranges of baseline points only."""
    yb = ph.y[ph.base]
    cl = _mean(yb)
    amr = _screened_mean_mr(np.abs(np.diff(yb - cl)), ph.screen)
    return _sym_limits(cl, amr / D2, ph.y.size)


def _limits_mr(ph: _Phase) -> _Limits:
    """MR chart (``y`` already holds the moving ranges): centre = mean MR, UCL = 3.267 × mean MR."""
    size = ph.y.size
    cl = _mean(ph.y[ph.base])
    zero = np.zeros(size)
    return (np.full(size, cl), zero, np.full(size, MR_SCREEN_FACTOR * cl), zero.copy(),
            np.full(size, MR_SCREEN_FACTOR / 3 * 2 * cl))


def _laney_sigma_z(ph: _Phase, cl: float, sd: np.ndarray) -> float:
    """Laney's between-subgroup factor: spread of the baseline z-scores.

    Moving ranges of the z-scores (screened like the I chart's) for a time series; their SD when the
    subgroups are categorical, where consecutive order means nothing.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # a centre of 0 (or 1 for p'): sd 0, z NaN
        z = (ph.y[ph.base] - cl) / sd[ph.base]
    if ph.categorical:
        return float(np.std(z, ddof=1)) if z.size > 1 else math.nan
    return _screened_mean_mr(np.abs(np.diff(z)), ph.screen) / D2


def _weighted_cl(ph: _Phase) -> float:
    """Pooled rate sum(numerators) / sum(denominators) over baseline points with both present."""
    ok = ph.base & ~np.isnan(ph.num) & ~np.isnan(ph.den)
    return _seq_sum(ph.num[ok]) / _seq_sum(ph.den[ok]) if ok.any() else math.nan


def _limits_p(ph: _Phase) -> _Limits:
    """p (or Laney p') chart: binomial sigma around the pooled proportion, limits clipped to [0, 1]."""
    cl = _weighted_cl(ph)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(cl * (1 - cl) / ph.den)
    if ph.laney:
        sd = sd * _laney_sigma_z(ph, cl, sd)
    cl_a, lcl, ucl, lcl95, ucl95 = _sym_limits(cl, sd, ph.y.size)
    return cl_a, _clip_low(lcl), _clip_high(ucl), _clip_low(lcl95), _clip_high(ucl95)


def _limits_u(ph: _Phase) -> _Limits:
    """u (or Laney u') chart: Poisson sigma around the pooled rate, lower limits clipped at 0."""
    cl = _weighted_cl(ph)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(cl / ph.den)
    if ph.laney:
        sd = sd * _laney_sigma_z(ph, cl, sd)
    cl_a, lcl, ucl, lcl95, ucl95 = _sym_limits(cl, sd, ph.y.size)
    return cl_a, _clip_low(lcl), ucl, _clip_low(lcl95), ucl95


def _limits_c(ph: _Phase) -> _Limits:
    """c chart: mean count ± 3 √mean, lower limits clipped at 0."""
    cl = _mean(ph.y[ph.base])
    cl_a, lcl, ucl, lcl95, ucl95 = _sym_limits(cl, math.sqrt(cl) if cl >= 0 else math.nan, ph.y.size)
    return cl_a, _clip_low(lcl), ucl, _clip_low(lcl95), ucl95


def _clip_low(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a[np.isfinite(a) & (a < 0)] = 0.0
    return a


def _clip_high(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a[np.isfinite(a) & (a > 1)] = 1.0
    return a


_LIMIT_FUNCS = {"run": _limits_run, "i": _limits_i, "mr": _limits_mr, "p": _limits_p, "u": _limits_u,
                "c": _limits_c}


# --------------------------------------------------------------------------------------------------
# Phases, baseline, exclusions
# --------------------------------------------------------------------------------------------------


def _phase_numbers(part: Sequence[int] | int | None, n: int) -> np.ndarray:
    """1-based phase number per point; ``part=[K]`` starts phase 2 after the first K points."""
    if part is None:
        return np.ones(n, dtype=int)
    cuts = [part] if isinstance(part, (int, np.integer)) else list(part)
    starts = sorted({0, *(int(c) for c in cuts if 0 <= int(c) < n)})
    phases = np.empty(n, dtype=int)
    for k, (a, b) in enumerate(zip(starts, starts[1:] + [n]), start=1):
        phases[a:b] = k
    return phases


def _masks(
    n: int, freeze: int | None, part: Any, exclude: Iterable[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Baseline and include masks; ``freeze`` is ignored when ``part`` is given (as qicharts2 does)."""
    idx = np.arange(n)
    baseline = np.ones(n, bool) if freeze is None or part is not None else idx < int(freeze)
    include = np.ones(n, bool)
    if exclude is not None:
        ex = [int(i) for i in exclude]
        if any(i < 0 or i >= n for i in ex):
            raise ValueError("exclude positions must be 0-based indices into the series")
        include[ex] = False
    return baseline, include


# --------------------------------------------------------------------------------------------------
# The shared chart pipeline
# --------------------------------------------------------------------------------------------------


def _build_chart(
    kind: str,
    y: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    *,
    freeze: int | None,
    part: Any,
    exclude: Iterable[int] | None,
    multiply: float,
    screen: bool = True,
    laney: bool = False,
    categorical: bool = False,
) -> SPCResult:
    """qicharts2's pipeline: per phase limits + runs analysis, then multiply, then sigma signals."""
    n = y.size
    phases = _phase_numbers(part, n)
    baseline, include = _masks(n, freeze, part, exclude)
    out = {k: np.full(n, np.nan) for k in ("y", "cl", "lcl", "ucl", "lcl_95", "ucl_95", *_COUNT_FIELDS)}
    n_obs = np.zeros(n, dtype=int)
    n_useful = np.zeros(n, dtype=int)
    runs_sig = np.zeros(n, dtype=bool)
    limits_func = _LIMIT_FUNCS[kind]
    for p in np.unique(phases):
        sl = np.flatnonzero(phases == p)
        y_ph = y[sl]
        if kind == "mr":
            y_ph = np.concatenate(([np.nan], np.abs(np.diff(y_ph))))
        ph = _Phase(y_ph, num[sl], den[sl], baseline[sl] & include[sl], screen, laney, categorical)
        cl, lcl, ucl, lcl95, ucl95 = limits_func(ph)
        runs = runs_analysis(y_ph, cl, include[sl])
        out["y"][sl], out["cl"][sl], out["lcl"][sl], out["ucl"][sl] = y_ph, cl, lcl, ucl
        out["lcl_95"][sl], out["ucl_95"][sl] = lcl95, ucl95
        out["longest_run"][sl], out["longest_run_max"][sl] = runs.longest_run, runs.longest_run_max
        out["n_crossings"][sl], out["n_crossings_min"][sl] = runs.n_crossings, runs.n_crossings_min
        n_obs[sl], n_useful[sl], runs_sig[sl] = runs.n_obs, runs.n_useful, runs.signal
    _rescale(out, multiply)
    with np.errstate(invalid="ignore"):
        sigma = (out["y"] > out["ucl"]) | (out["y"] < out["lcl"])
    if kind == "mr" or categorical:
        runs_sig[:] = False
    return SPCResult(
        chart=kind, y=out["y"], n=den.copy(), cl=out["cl"], lcl=out["lcl"], ucl=out["ucl"],
        lcl_95=out["lcl_95"], ucl_95=out["ucl_95"], sigma_signal=sigma, runs_signal=runs_sig,
        longest_run=out["longest_run"], longest_run_max=out["longest_run_max"],
        n_crossings=out["n_crossings"], n_crossings_min=out["n_crossings_min"], n_obs=n_obs,
        n_useful=n_useful, part=phases, baseline=baseline, include=include, multiply=float(multiply),
    )


def _rescale(out: dict[str, np.ndarray], multiply: float) -> None:
    """Apply ``multiply`` after the limits are computed (as qicharts2 does) and blank infinite limits."""
    for k in ("y", "cl", "lcl", "ucl", "lcl_95", "ucl_95"):
        out[k] = out[k] * multiply
        if k not in ("y", "cl"):
            out[k][~np.isfinite(out[k])] = np.nan


def _rates(numerators: ArrayLike, denominators: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-point rate num/den; a point missing either part (or with den <= 0) is NaN in all three."""
    num = _as_float_array(numerators, "numerators")
    den = _as_float_array(denominators, "denominators")
    if num.shape != den.shape:
        raise ValueError("numerators and denominators must have the same length")
    missing = np.isnan(num) | np.isnan(den) | (den <= 0)
    num = np.where(missing, np.nan, num)
    den = np.where(missing, np.nan, den)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = num / den
    return y, num, den


def _no_denominator(values: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = _as_float_array(values, "values")
    nan = np.full(y.size, np.nan)
    return y, nan, nan.copy()


# --------------------------------------------------------------------------------------------------
# Public chart functions (Anhøj rules, qicharts2 semantics)
# --------------------------------------------------------------------------------------------------


def run_chart(
    values: ArrayLike,
    *,
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Iterable[int] | None = None,
    multiply: float = 1,
) -> SPCResult:
    """Run chart: median centre line and Anhøj runs rules (longest run, number of crossings).

    ``freeze=K``: centre line from the first K points, runs analysis over all points.
    ``part=[K, ...]``: a new phase after the first K points, each with its own median and runs analysis.
    ``exclude=[i, ...]``: 0-based points left out of the median and runs analysis but still plotted.
    """
    y, num, den = _no_denominator(values)
    return _build_chart("run", y, num, den, freeze=freeze, part=part, exclude=exclude, multiply=multiply)


def i_chart(
    values: ArrayLike,
    *,
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Iterable[int] | None = None,
    multiply: float = 1,
    screen: bool = True,
) -> SPCResult:
    """Individuals (XmR) chart: mean ± 3 sigma, sigma = mean moving range / 1.128.

    With ``screen`` (qicharts2's default once loaded) moving ranges >= 3.267 × their mean are dropped once
    before sigma is estimated, so one wild point does not inflate the limits. Limits are not clipped.
    """
    y, num, den = _no_denominator(values)
    return _build_chart("i", y, num, den, freeze=freeze, part=part, exclude=exclude, multiply=multiply,
                        screen=screen)


def mr_chart(
    values: ArrayLike,
    *,
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Iterable[int] | None = None,
    multiply: float = 1,
) -> SPCResult:
    """Moving-range chart of the raw values: centre = mean MR, UCL = 3.267 × mean MR, LCL = 0.

    The first point of each phase has no moving range (NaN). Runs statistics are reported but, as in
    qicharts2, never signal on an MR chart (consecutive moving ranges are not independent).
    """
    y, num, den = _no_denominator(values)
    return _build_chart("mr", y, num, den, freeze=freeze, part=part, exclude=exclude, multiply=multiply)


def p_chart(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Iterable[int] | None = None,
    laney: bool = False,
    multiply: float = 1,
    screen: bool = True,
    categorical: bool = False,
) -> SPCResult:
    """Proportion chart (``laney=True``: Laney's p' chart for very large denominators).

    Limits are clipped to [0, 1] before ``multiply``; a point signals only when strictly outside a limit,
    so a proportion of 1.0 on a clipped upper limit of 1.0 is not a signal. ``categorical=True`` is for
    units that are not a time series (funnel-style): no runs signal, and Laney's factor uses the SD of
    the z-scores instead of their moving ranges.
    """
    y, num, den = _rates(numerators, denominators)
    return _build_chart("p", y, num, den, freeze=freeze, part=part, exclude=exclude, multiply=multiply,
                        screen=screen, laney=laney, categorical=categorical)


def u_chart(
    numerators: ArrayLike,
    denominators: ArrayLike,
    *,
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Iterable[int] | None = None,
    laney: bool = False,
    multiply: float = 1,
    screen: bool = True,
    categorical: bool = False,
) -> SPCResult:
    """Rate chart (``laney=True``: Laney's u' chart). Lower limits are clipped at 0.

    ``multiply`` rescales the plotted rate (e.g. 10000 for "per 10,000 bed days") after the limits are
    computed on the raw rate. See ``p_chart`` for ``categorical``.
    """
    y, num, den = _rates(numerators, denominators)
    return _build_chart("u", y, num, den, freeze=freeze, part=part, exclude=exclude, multiply=multiply,
                        screen=screen, laney=laney, categorical=categorical)


def c_chart(
    counts: ArrayLike,
    *,
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Iterable[int] | None = None,
    multiply: float = 1,
) -> SPCResult:
    """Count chart: mean count ± 3 √mean (Poisson), lower limits clipped at 0."""
    y, num, den = _no_denominator(counts)
    return _build_chart("c", y, num, den, freeze=freeze, part=part, exclude=exclude, multiply=multiply)


# --------------------------------------------------------------------------------------------------
# Vectorised p-charts for many sites at once
# --------------------------------------------------------------------------------------------------


@dataclass
class PChartBatch:
    """Many p-charts on a shared month grid (rows = series, columns = months).

    2-D arrays hold NaN where a month is missing for that row; per-row values (centre line, runs
    statistics) are 1-D. ``result(i)`` returns row i as an ``SPCResult`` over its present months only,
    equal to ``p_chart`` on that compacted series.
    """

    present: np.ndarray
    y: FloatArray
    n: FloatArray
    cl: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    lcl_95: FloatArray
    ucl_95: FloatArray
    sigma_signal: np.ndarray
    n_obs: np.ndarray
    n_useful: np.ndarray
    longest_run: FloatArray
    longest_run_max: FloatArray
    n_crossings: FloatArray
    n_crossings_min: FloatArray
    runs_signal: np.ndarray

    def __len__(self) -> int:
        return int(self.present.shape[0])

    def result(self, i: int) -> SPCResult:
        """Row ``i`` as a stand-alone chart over the months present for it."""
        m = self.present[i]
        size = int(m.sum())

        def rep(v: Any) -> np.ndarray:
            return np.full(size, v)

        return SPCResult(
            chart="p", y=self.y[i, m].copy(), n=self.n[i, m].copy(), cl=rep(self.cl[i]),
            lcl=self.lcl[i, m].copy(), ucl=self.ucl[i, m].copy(), lcl_95=self.lcl_95[i, m].copy(),
            ucl_95=self.ucl_95[i, m].copy(), sigma_signal=self.sigma_signal[i, m].copy(),
            runs_signal=np.full(size, bool(self.runs_signal[i])), longest_run=rep(self.longest_run[i]),
            longest_run_max=rep(self.longest_run_max[i]), n_crossings=rep(self.n_crossings[i]),
            n_crossings_min=rep(self.n_crossings_min[i]), n_obs=np.full(size, int(self.n_obs[i])),
            n_useful=np.full(size, int(self.n_useful[i])), part=np.ones(size, dtype=int),
            baseline=np.ones(size, bool), include=np.ones(size, bool),
        )

    def results(self) -> list[SPCResult]:
        return [self.result(i) for i in range(len(self))]


def _batch_runs(side: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised runs analysis of a (rows × T) array of signs (0 = not useful).

    Returns per-row n_useful, longest run and crossings. Non-useful points are skipped by carrying the
    previous useful sign forward, so this equals dropping them as ``runs_analysis`` does.
    """
    rows, t = side.shape
    useful = side != 0
    n_useful = useful.sum(axis=1)
    pos = np.where(useful, np.arange(t), -1)
    last = np.maximum.accumulate(pos, axis=1)
    prev = np.empty_like(last)
    prev[:, 0] = -1
    prev[:, 1:] = last[:, :-1]
    prev_side = np.take_along_axis(side, np.maximum(prev, 0), axis=1)
    new_run = useful & ((prev < 0) | (side != prev_side))
    crossings = (useful & (prev >= 0) & (side != prev_side)).sum(axis=1)
    run_id = np.cumsum(new_run, axis=1) + (np.arange(rows) * (t + 1))[:, None]
    lengths = np.bincount(run_id[useful], minlength=rows * (t + 1)).reshape(rows, t + 1)
    return n_useful, lengths.max(axis=1), crossings


def p_chart_batch(numerators_2d: np.ndarray, denominators_2d: np.ndarray) -> PChartBatch:
    """p-charts for every row of (series × months) arrays in one vectorised pass.

    A month whose numerator or denominator is NaN, or whose denominator is <= 0, is absent from that
    row's series (it neither counts in the centre line nor in the runs analysis), so row ``i`` equals
    ``p_chart(num[i][present], den[i][present])`` exactly. Sums are taken left to right so that padding
    with zeros gives bit-identical totals.
    """
    num = np.asarray(numerators_2d, dtype=float)
    den = np.asarray(denominators_2d, dtype=float)
    if num.shape != den.shape or num.ndim != 2:
        raise ValueError("numerators_2d and denominators_2d must be 2-D arrays of the same shape")
    with np.errstate(invalid="ignore", divide="ignore"):
        present = ~np.isnan(num) & ~np.isnan(den) & (den > 0)
        num0 = np.where(present, num, 0.0)
        den0 = np.where(present, den, 0.0)
        cl = np.cumsum(num0, axis=1)[:, -1] / np.cumsum(den0, axis=1)[:, -1]
        den_p = np.where(present, den, np.nan)
        y = num0 / den_p
        sd = np.sqrt((cl * (1 - cl))[:, None] / den_p)
        c = cl[:, None]
        lcl, ucl = np.maximum(c - 3 * sd, 0.0), np.minimum(c + 3 * sd, 1.0)
        lcl95, ucl95 = np.maximum(c - 2 * sd, 0.0), np.minimum(c + 2 * sd, 1.0)
        sigma = (y > ucl) | (y < lcl)
        side = np.nan_to_num(np.sign(y - c), nan=0.0).astype(np.int8)
    n_useful, longest, crossings = _batch_runs(side)
    lrm_tab, cmin_tab = _threshold_tables(max(int(side.shape[1]), 1))
    has = n_useful > 0
    lrm, cmin = lrm_tab[n_useful], cmin_tab[n_useful]
    longest_f = np.where(has, longest, np.nan)
    crossings_f = np.where(has, crossings, np.nan)
    runs_signal = has & ((longest > lrm) | (crossings < cmin))
    return PChartBatch(
        present=present, y=y, n=den_p, cl=cl, lcl=lcl, ucl=ucl, lcl_95=lcl95, ucl_95=ucl95,
        sigma_signal=sigma, n_obs=present.sum(axis=1), n_useful=n_useful, longest_run=longest_f,
        longest_run_max=lrm, n_crossings=crossings_f, n_crossings_min=cmin, runs_signal=runs_signal,
    )


# --------------------------------------------------------------------------------------------------
# NHS Making Data Count (NHSRplotthedots)
# --------------------------------------------------------------------------------------------------

_IMPROVEMENT = {"increase": 1, "neutral": 0, "decrease": -1}


@dataclass
class MDCResult:
    """An XmR chart judged by the Making Data Count rules, one row per point (``ptd_spc()`` output).

    ``mean``/``lpl``/``upl`` are the centre and process limits, ``nlpl``/``nupl`` the 2-sigma lines;
    ``fix_y`` is the value where it counted towards the limits (NaN after ``fix_after``);
    ``special_cause_type`` names the rule that fired ("Above UCL", "7 Point Trend (Increasing)",
    "2 in 3 Above CL", "7 Points Below CL", "Common Cause"), ``point_type`` reads it against the
    improvement direction. ``assurance_type`` compares the target with the latest limits.
    """

    improvement: str
    y: FloatArray
    rebase_group: np.ndarray
    fix_y: FloatArray
    mean: FloatArray
    lpl: FloatArray
    upl: FloatArray
    nlpl: FloatArray
    nupl: FloatArray
    outside_limits: np.ndarray
    relative_to_mean: np.ndarray
    close_to_limits: np.ndarray
    special_cause_type: list[str]
    special_cause_flag: np.ndarray
    point_type: list[str]
    short_group_warning: np.ndarray
    target: float | None = None
    assurance_type: str | None = None

    def __len__(self) -> int:
        return int(self.y.size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (NaN -> None)."""
        out: dict[str, Any] = {"improvement": self.improvement, "target": _clean(self.target),
                               "assurance_type": self.assurance_type}
        for name in ("y", "rebase_group", "fix_y", "mean", "lpl", "upl", "nlpl", "nupl", "outside_limits",
                     "relative_to_mean", "close_to_limits", "special_cause_flag", "short_group_warning"):
            out[name] = _json_list(getattr(self, name))
        out["special_cause_type"] = list(self.special_cause_type)
        out["point_type"] = list(self.point_type)
        return out


def _mdc_limits(y: np.ndarray, fix_after: int | None, screen: bool) -> dict[str, np.ndarray]:
    """Limits of one rebase group: only the first ``fix_after`` points feed the mean and moving ranges."""
    size = y.size
    fix_y = y.copy()
    if fix_after is not None:
        fix_y[int(fix_after):] = np.nan
    mean = _mean(fix_y)
    amr = _screened_mean_mr(np.abs(np.diff(fix_y)), screen)
    close = 2 * (MDC_LIMIT / 3)
    lines = {"mean": mean, "lpl": mean - MDC_LIMIT * amr, "upl": mean + MDC_LIMIT * amr,
             "nlpl": mean - close * amr, "nupl": mean + close * amr}
    return {"fix_y": fix_y, **{k: np.full(size, v) for k, v in lines.items()}}


def _seven_point_trend(y: np.ndarray) -> np.ndarray:
    """+1/-1 at the 7th point of 7 strictly increasing/decreasing points (6 same-sign steps), else 0."""
    out = np.zeros(y.size, dtype=int)
    if y.size < 7:
        return out
    step = np.sign(np.diff(y))
    for i in range(6, y.size):
        window = step[i - 6:i]
        if np.all(window == 1):
            out[i] = 1
        elif np.all(window == -1):
            out[i] = -1
    return out


def _seven_one_side(rtm: np.ndarray) -> np.ndarray:
    """1 at the 7th of 7 consecutive points on the same (non-zero) side of the mean."""
    out = np.zeros(rtm.size, dtype=int)
    for i in range(6, rtm.size):
        if rtm[i] != 0 and np.all(rtm[i - 6:i] == rtm[i]):
            out[i] = 1
    return out


def _part_of_seven(flags: np.ndarray) -> np.ndarray:
    """A point belongs to a 7-point pattern if the pattern's end lies at it or within the next 6 points."""
    hit = np.abs(flags) == 1
    return np.array([hit[i:i + 7].any() for i in range(flags.size)], dtype=bool)


def _two_in_three(close: np.ndarray, rtm: np.ndarray) -> np.ndarray:
    """Points near a limit that are 2 of 3 consecutive near-limit points all on one side of the mean."""
    size = close.size
    cp = np.concatenate(([0, 0], close.astype(int), [0, 0]))
    rp = np.concatenate(([0, 0], rtm, [0, 0]))
    out = np.zeros(size, dtype=bool)
    for i in range(size):
        for start in (i, i + 1, i + 2):
            if cp[start:start + 3].sum() >= 2 and abs(rp[start:start + 3].sum()) == 3:
                out[i] = True
                break
    return out & close


def _trend_labels(y: np.ndarray, in_trend: np.ndarray) -> list[str]:
    """Direction of the trend a point belongs to: its next step if the next point shares the trend."""
    step = np.sign(np.diff(y))
    labels = []
    for i in range(y.size):
        if in_trend[i] and i + 1 < y.size and in_trend[i + 1]:
            s = step[i]
        else:
            s = step[i - 1] if i > 0 else 0
        labels.append("Increasing" if s == 1 else "Decreasing")
    return labels


def _special_cause_types(y: np.ndarray, rtm: np.ndarray, close: np.ndarray, outside: np.ndarray) -> list[str]:
    """Name the rule each point breaks, in priority order: limits, trend, 2 of 3, shift."""
    trend = _part_of_seven(_seven_point_trend(y))
    two3 = _two_in_three(close, rtm)
    shift = _part_of_seven(_seven_one_side(rtm))
    trend_dir = _trend_labels(y, trend)
    types = []
    for i in range(y.size):
        side = "Above" if rtm[i] > 0 else "Below"
        if outside[i]:
            types.append("Above UCL" if rtm[i] == 1 else "Below LCL")
        elif trend[i]:
            types.append(f"7 Point Trend ({trend_dir[i]})")
        elif two3[i]:
            types.append(f"2 in 3 {side} CL")
        elif shift[i]:
            types.append(f"7 Points {side} CL")
        else:
            types.append("Common Cause")
    return types


def _point_type(special: str, improvement: int) -> str:
    """Read a special cause against the improvement direction (high/low when neutral)."""
    v = 1 if ("Above" in special or "Increasing" in special) else (
        -1 if ("Below" in special or "Decreasing" in special) else 0)
    if improvement == 0:
        return {1: "special_cause_neutral_high", -1: "special_cause_neutral_low"}.get(v, "common_cause")
    v *= improvement
    return {1: "special_cause_improvement", -1: "special_cause_concern"}.get(v, "common_cause")


def _assurance(improvement: int, target: float | None, lpl: float, upl: float) -> str | None:
    """Whether the latest limits say the target will always, never or only sometimes be met."""
    if target is None or improvement == 0:
        return None
    if target > upl:
        return "consistent_fail" if improvement == 1 else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if improvement == 1 else "consistent_fail"
    return "inconsistent"


def mdc_chart(
    values: ArrayLike,
    *,
    improvement: str = "increase",
    fix_after: int | None = None,
    rebase: Sequence[int] | int | None = None,
    target: float | None = None,
    screen: bool = True,
) -> MDCResult:
    """NHS Making Data Count XmR chart, exactly as NHSRplotthedots' ``ptd_spc()`` computes it.

    Limits are mean ± 2.66 × mean moving range (moving ranges screened at 3.267 × their mean unless
    ``screen=False``); the 2-sigma lines are mean ± (2/3)·2.66 × mean MR. Special-cause rules, in
    priority order: a point outside the limits; 7 points strictly rising or falling; 2 of 3 consecutive
    points beyond a 2-sigma line on the same side; 7 points on one side of the mean.

    ``improvement``: "increase", "decrease" or "neutral" (which way is better).
    ``fix_after=K``: limits from the first K points of each rebase group only (a fixed baseline).
    ``rebase=[K, ...]``: a new group starts at 0-based position K (after the first K points), with its
    own mean, limits and rules. ``target`` feeds the assurance verdict (needs a non-neutral direction).
    A series must have no missing values (the rules assume an unbroken sequence).
    """
    y = _as_float_array(values, "values")
    if np.isnan(y).any():
        raise ValueError("mdc_chart needs a complete series (no missing values)")
    if improvement not in _IMPROVEMENT:
        raise ValueError("improvement must be 'increase', 'decrease' or 'neutral'")
    direction = _IMPROVEMENT[improvement]
    groups = _phase_numbers(rebase, y.size) - 1
    cols = _empty_mdc_columns(y.size)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        for k, v in _mdc_group(y[idx], fix_after, screen).items():
            cols[k][idx] = v
    types = [str(t) for t in cols["special_cause_type"]]
    return MDCResult(
        improvement=improvement, y=y, rebase_group=groups, fix_y=cols["fix_y"], mean=cols["mean"],
        lpl=cols["lpl"], upl=cols["upl"], nlpl=cols["nlpl"], nupl=cols["nupl"],
        outside_limits=cols["outside_limits"], relative_to_mean=cols["relative_to_mean"],
        close_to_limits=cols["close_to_limits"], special_cause_type=types,
        special_cause_flag=np.array([t != "Common Cause" for t in types], dtype=bool),
        point_type=[_point_type(t, direction) for t in types], short_group_warning=cols["short_group_warning"],
        target=None if target is None else float(target),
        assurance_type=_assurance(direction, target, float(cols["lpl"][-1]), float(cols["upl"][-1]))
        if y.size else None,
    )


def _empty_mdc_columns(size: int) -> dict[str, np.ndarray]:
    """Per-point output columns of ``mdc_chart``, filled group by group."""
    cols: dict[str, np.ndarray] = {k: np.full(size, np.nan) for k in ("fix_y", "mean", "lpl", "upl", "nlpl",
                                                                      "nupl")}
    cols.update(outside_limits=np.zeros(size, bool), close_to_limits=np.zeros(size, bool),
                relative_to_mean=np.zeros(size, dtype=int), short_group_warning=np.zeros(size, bool),
                special_cause_type=np.full(size, "", dtype=object))
    return cols


def _mdc_group(y: np.ndarray, fix_after: int | None, screen: bool) -> dict[str, np.ndarray]:
    """Limits, point classifications and rule outcomes for one rebase group."""
    lim = _mdc_limits(y, fix_after, screen)
    outside = (y > lim["upl"]) | (y < lim["lpl"])
    rtm = np.sign(y - lim["mean"]).astype(int)
    close = ~outside & ((y < lim["nlpl"]) | (y > lim["nupl"]))
    types = np.array(_special_cause_types(y, rtm, close, outside), dtype=object)
    return {**lim, "outside_limits": outside, "relative_to_mean": rtm, "close_to_limits": close,
            "special_cause_type": types, "short_group_warning": np.full(y.size, y.size < MDC_SHORT_GROUP)}


# --------------------------------------------------------------------------------------------------
# Plain-English explanations
# --------------------------------------------------------------------------------------------------


def _unit(unit: str) -> Text:
    return N_("month") if unit == "month" else Text(unit)


def _units(unit: str) -> Text:
    return N_("months") if unit == "month" else Text(f"{unit}s")


def _label(i: int, labels: Sequence[str] | None, unit: str) -> str:
    return str(labels[i]) if labels is not None else N_("%(unit)s %(number)s", unit=_unit(unit), number=i + 1)


def _span(a: int, b: int, labels: Sequence[str] | None, unit: str) -> str:
    if a == b:
        return _label(a, labels, unit)
    if labels is not None:
        return N_("%(first)s to %(last)s", first=str(labels[a]), last=str(labels[b]))
    return N_("%(units)s %(first)s to %(last)s", units=_units(unit), first=a + 1, last=b + 1)


def _verdict(sign: int, direction: str) -> str:
    """'an improvement' / 'a concern' for a movement up (+1) or down (-1), nothing if neutral."""
    better = _IMPROVEMENT.get(direction, 0)
    if better == 0 or sign == 0:
        return ""
    return N_(" (an improvement)") if sign == better else N_(" (a concern)")


def _longest_run_span(y: np.ndarray, cl: np.ndarray, idx: np.ndarray) -> tuple[int, int, int, int]:
    """Start, end (positions into the chart), length and side of the first longest run in ``idx``."""
    side = np.sign(y[idx] - cl[idx])
    keep = (side != 0) & ~np.isnan(side)
    pos, side = idx[keep], side[keep]
    best = (int(pos[0]), int(pos[0]), 1, int(side[0]))
    start = 0
    for k in range(1, side.size + 1):
        if k == side.size or side[k] != side[start]:
            length = k - start
            if length > best[2]:
                best = (int(pos[start]), int(pos[k - 1]), length, int(side[start]))
            start = k
    return best


def _explain_anhoej(result: SPCResult, direction: str, labels: Sequence[str] | None, unit: str) -> list[str]:
    sentences: list[str] = []
    for p in np.unique(result.part):
        idx = np.flatnonzero((result.part == p) & result.include)
        first = int(np.flatnonzero(result.part == p)[0])
        if result.n_useful[first] == 0 or not result.runs_signal[first]:
            continue
        if result.longest_run[first] > result.longest_run_max[first]:
            a, b, length, sign = _longest_run_span(result.y, result.cl, idx)
            template = (N_("%(length)s %(units)s in a row above the centre line — a shift (%(span)s)%(verdict)s")
                        if sign > 0 else
                        N_("%(length)s %(units)s in a row below the centre line — a shift (%(span)s)%(verdict)s"))
            sentences.append(Text(template.template, length=length, units=_units(unit),
                                  span=_span(a, b, labels, unit), verdict=_verdict(sign, direction)))
        if result.n_crossings[first] < result.n_crossings_min[first]:
            sentences.append(N_("fewer crossings of the centre line than expected (%(crossings)s, expected at least "
                                "%(minimum)s) — a sign of a shift or trend", crossings=int(result.n_crossings[first]),
                                minimum=int(result.n_crossings_min[first])))
    outside = np.flatnonzero(result.sigma_signal)
    for sign in (1, -1):
        points = [int(i) for i in outside if (result.y[i] > result.ucl[i]) == (sign > 0)]
        if not points:
            continue
        spans = _spans(points, labels, unit)
        if len(points) == 1:
            subject = spans[0]
        else:
            listed = {f"span{k}": span for k, span in enumerate(spans[:_MAX_SPANS])}
            shown = Text(", ".join(f"%({k})s" for k in listed), **listed)
            if len(spans) > _MAX_SPANS:
                shown = N_("%(spans)s and %(more)s more", spans=shown, more=len(spans) - _MAX_SPANS)
            subject = N_("%(count)s %(units)s (%(spans)s)", count=len(points), units=_units(unit), spans=shown)
        template = (N_("%(subject)s outside the control limits (above the upper limit)%(verdict)s") if sign > 0 else
                    N_("%(subject)s outside the control limits (below the lower limit)%(verdict)s"))
        sentences.append(Text(template.template, subject=subject, verdict=_verdict(sign, direction)))
    return sentences


_MAX_SPANS = 4


def _spans(points: list[int], labels: Sequence[str] | None, unit: str) -> list[str]:
    """Consecutive positions written as one span ("2024-01 to 2024-06"), so a long signal reads as one."""
    spans, start = [], points[0]
    for previous, current in zip(points, points[1:] + [None]):
        if current is None or current != previous + 1:
            spans.append(_span(start, previous, labels, unit))
            start = current
    return spans


_MDC_PHRASES = {
    "Above UCL": N_("above the upper process limit"),
    "Below LCL": N_("below the lower process limit"),
    "7 Point Trend (Increasing)": N_("part of a run of 7 or more points each higher than the last — a trend"),
    "7 Point Trend (Decreasing)": N_("part of a run of 7 or more points each lower than the last — a trend"),
    "2 in 3 Above CL": N_("2 of 3 points close to the upper process limit"),
    "2 in 3 Below CL": N_("2 of 3 points close to the lower process limit"),
    "7 Points Above CL": N_("part of a run of 7 or more points above the mean — a shift"),
    "7 Points Below CL": N_("part of a run of 7 or more points below the mean — a shift"),
}
_ASSURANCE_PHRASES = {
    "consistent_pass": N_("the target will be met consistently"),
    "consistent_fail": N_("the target will not be met without a change to the process"),
    "inconsistent": N_("the target will be met only some of the time"),
}


def _explain_mdc(result: MDCResult, direction: str, labels: Sequence[str] | None, unit: str) -> list[str]:
    sentences: list[str] = []
    types = result.special_cause_type
    i = 0
    while i < len(types):
        j = i
        same_group = result.rebase_group == result.rebase_group[i]
        while j + 1 < len(types) and types[j + 1] == types[i] and same_group[j + 1]:
            j += 1
        t = types[i]
        if t != "Common Cause":
            sign = 1 if ("Above" in t or "Increasing" in t) else -1
            what = _MDC_PHRASES[t]
            sentences.append(N_("%(span)s: %(what)s%(verdict)s", span=_span(i, j, labels, unit), what=what,
                                verdict=_verdict(sign, direction)))
        i = j + 1
    if result.assurance_type is not None:
        sentences.append(_ASSURANCE_PHRASES[result.assurance_type])
    return sentences


def explain_signals(
    result: SPCResult | MDCResult,
    direction: str = "neutral",
    *,
    labels: Sequence[str] | None = None,
    unit: str = "month",
) -> list[str]:
    """Plain-English sentences describing every signal on a chart, for people who do not read SPC.

    ``direction`` ("increase", "decrease" or "neutral") says which way is better, so a signal can be
    called an improvement or a concern. Points are named "month 7" (1-based) unless ``labels`` gives a
    label per point (e.g. "Mar 2024"); ``unit`` changes the word "month". No signal -> empty list.
    """
    if direction not in _IMPROVEMENT:
        raise ValueError("direction must be 'increase', 'decrease' or 'neutral'")
    if labels is not None and len(labels) != len(result):
        raise ValueError("labels must have one entry per point")
    if isinstance(result, MDCResult):
        return _explain_mdc(result, direction, labels, unit)
    return _explain_anhoej(result, direction, labels, unit)
