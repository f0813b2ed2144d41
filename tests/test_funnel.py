"""Tests of network.funnel against FunnelPlotR and PHEindicatormethods vectors in tests/data/spc.

Every FunnelPlotR expected_*.csv is discovered by glob; data type, method, limit, trim and adjustment
come from the file name (expected_PR_<data>_limitNN[_unadjusted]_..., expected_SR_<SHMI|CQC>_<data>
[_trimNNN]_limitNN_...). Numbers must agree to 1e-6 (relative), flags exactly.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from network import funnel

DATA = Path(__file__).parent / "data" / "spc"
FPR = DATA / "FunnelPlotR"
PHE = DATA / "PHEindicatormethods"
RTOL, ATOL = 1e-6, 1e-12


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def num_col(rows: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([math.nan if r[key] in ("NA", "") else float(r[key]) for r in rows])


def assert_numeric(got: np.ndarray, expected: np.ndarray, what: str, atol: float = ATOL) -> None:
    got = np.broadcast_to(np.asarray(got, dtype=float), expected.shape)
    assert np.array_equal(np.isnan(got), np.isnan(expected)), f"{what}: NA positions differ"
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=RTOL, atol=atol, err_msg=what)


# --------------------------------------------------------------------------------------------------
# FunnelPlotR
# --------------------------------------------------------------------------------------------------

NAME = re.compile(
    r"expected_(?P<type>PR|SR)_(?:(?P<method>SHMI|CQC)_)?(?P<data>.+?)(?:_trim(?P<trim>\d+))?"
    r"_limit(?P<limit>\d+)(?P<unadjusted>_unadjusted)?_(?P<part>aggregated|phi_tau2)$"
)


def _trim(digits: str | None) -> float:
    """'005' -> 0.05, '01' -> 0.1 (the digits after an implied leading '0.')."""
    return 0.1 if digits is None else int(digits) / 10 ** (len(digits) - 1)


def run_funnel(path: Path) -> tuple[funnel.FunnelResult, dict[str, str]]:
    """Run the funnel described by an expected_*_{aggregated,phi_tau2}.csv name on its input file."""
    m = NAME.match(path.stem)
    assert m, f"cannot parse {path.name}"
    inputs = list(FPR.glob(f"input_*{m['data']}.csv"))
    assert len(inputs) == 1, f"no unique input file for {m['data']}"
    rows = read_csv(inputs[0])
    stem = path.stem.rsplit("_aggregated", 1)[0].rsplit("_phi_tau2", 1)[0]
    dispersion = read_csv(FPR / f"{stem}_phi_tau2.csv")[0]
    unadjusted = m["unadjusted"] is not None
    # FunnelPlotR echoes the call's draw_unadjusted whenever it draws adjusted limits.
    draw_unadjusted = unadjusted or (dispersion["draw_adjusted"] == "TRUE" and dispersion["draw_unadjusted"] == "TRUE")
    kwargs = dict(limit=int(m["limit"]), overdispersion=not unadjusted, draw_unadjusted=draw_unadjusted,
                  trim_by=_trim(m["trim"]), labels=[r["group"] for r in rows])
    num, den = num_col(rows, "num"), num_col(rows, "denom")
    if m["type"] == "PR":
        return funnel.proportion_funnel(num, den, **kwargs), dispersion
    return funnel.ratio_funnel(num, den, method=m["method"], **kwargs), dispersion


AGGREGATED = {
    "denominator": "denominator", "numerator": "numerator", "rr": "rr", "target_transformed": "target_transformed",
    "Y": "y_transformed", "Uzscore": "uzscore", "winsorised": "winsorised", "Wuzscore": "wuzscore", "s": "s",
    "rk": "rank", "sp": "sp", "truncated": "truncated", "OD95LCL": "od95_lcl", "OD95UCL": "od95_ucl",
    "OD99LCL": "od99_lcl", "OD99UCL": "od99_ucl", "LCL95": "lcl95", "UCL95": "ucl95", "LCL99": "lcl99",
    "UCL99": "ucl99", "outlier": "outlier",
}


def check_aggregated(path: Path) -> None:
    res, _ = run_funnel(path)
    rows = read_csv(path)
    assert res.labels == [r["group"] for r in rows]
    for col in rows[0]:
        if col in ("group", "highlight"):
            continue
        assert col in AGGREGATED, f"{path.name}: unknown column {col}"
        assert_numeric(getattr(res, AGGREGATED[col]), num_col(rows, col), f"{path.name}: {col}")


def check_phi_tau2(path: Path) -> None:
    res, _ = run_funnel(path)
    (row,) = read_csv(path)
    assert res.phi == pytest.approx(float(row["phi"]), rel=RTOL, abs=ATOL)
    assert res.tau2 == pytest.approx(float(row["tau2"]), rel=RTOL, abs=ATOL)
    assert res.draw_adjusted == (row["draw_adjusted"] == "TRUE")
    assert res.draw_unadjusted == (row["draw_unadjusted"] == "TRUE")


def check_proportion_limit_table(path: Path) -> None:
    """expected_PR_limits_target<p>_tau2_<a>_and_<b>: unadjusted (tau2=a) and od* (tau2=b) columns."""
    m = re.search(r"target([\d.]+)_tau2_([\d.]+)_and_([\d.]+)$", path.stem)
    assert m, path.name
    target, tau_plain, tau_od = (float(v) for v in m.groups())
    rows = read_csv(path)
    seq = num_col(rows, "number_seq")
    plain = funnel.proportion_limit_table(seq, target, tau_plain)
    od = funnel.proportion_limit_table(seq, target, tau_od)
    for col in rows[0]:
        if col == "number_seq":
            continue
        got = od[col[2:]] if col.startswith("od") else plain[col]
        assert_numeric(got, num_col(rows, col), f"{path.name}: {col}")


def check_poisson_limits(path: Path) -> None:
    rows = read_csv(path)
    lim = funnel.poisson_ratio_limits(num_col(rows, "number_seq"))
    for col in ("ll95", "ul95", "ll998", "ul998"):
        assert_numeric(lim[col], num_col(rows, col), f"{path.name}: {col}")


def dispatch(path: Path) -> None:
    if path.stem.endswith("_aggregated"):
        check_aggregated(path)
    elif path.stem.endswith("_phi_tau2"):
        check_phi_tau2(path)
    elif path.stem.startswith("expected_PR_limits_"):
        check_proportion_limit_table(path)
    elif path.stem.startswith("expected_SR_poisson_limits"):
        check_poisson_limits(path)
    else:
        pytest.fail(f"no checker for {path.name}")


@pytest.mark.parametrize("path", sorted(FPR.glob("expected_*.csv")), ids=lambda p: p.name)
def test_funnelplotr_vector(path: Path) -> None:
    dispatch(path)


# --------------------------------------------------------------------------------------------------
# PHEindicatormethods (Wilson-score proportion funnels)
# --------------------------------------------------------------------------------------------------

PHE_COLUMNS = {"Population": "population", "Lower2s0025limit": "lower_2s", "Upper2s0025limit": "upper_2s",
               "Lower3s0001limit": "lower_3s", "Upper3s0001limit": "upper_3s", "Baseline": "baseline"}


def _decimals(path: Path) -> int:
    """Decimal places the reference table was written with (its values are rounded to them)."""
    text = path.read_text(encoding="utf-8-sig")
    return max(len(tok.split(".")[1]) for tok in re.findall(r"\d+\.\d+", text))


@pytest.mark.parametrize("path", sorted(PHE.glob("testdata_funnel_prop_outputs*.csv")), ids=lambda p: p.name)
def test_phe_wilson_funnel_limits(path: Path) -> None:
    inputs = read_csv(PHE / "testdata_funnel_prop_inputs.csv")
    num, den = num_col(inputs, "numerator"), num_col(inputs, "denominator")
    if "axis_variation" in path.stem:  # the package's test filters to denominators below 31000
        keep = den < 31000
        num, den = num[keep], den[keep]
    res = funnel.wilson_funnel(num, den)
    rows = read_csv(path)
    half_unit = 0.5 * 10 ** -_decimals(path) + 1e-12
    for col, attr in PHE_COLUMNS.items():
        got = getattr(res, attr)
        np.testing.assert_allclose(got, num_col(rows, col), rtol=0, atol=half_unit, err_msg=col)
    np.testing.assert_array_equal(res.population, num_col(rows, "Population"))


def test_phe_wilson_significance() -> None:
    rows = read_csv(PHE / "testdata_funnel_prop_inputs.csv")
    res = funnel.wilson_funnel(num_col(rows, "numerator"), num_col(rows, "denominator"))
    assert res.significance == [r["significance"] for r in rows]


# --------------------------------------------------------------------------------------------------
# Distribution functions and edge cases
# --------------------------------------------------------------------------------------------------


def test_normal_quantiles_match_r() -> None:
    assert funnel.norm_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-15)
    assert funnel.norm_ppf(0.999) == pytest.approx(3.090232306167813, abs=1e-15)
    assert funnel.norm_ppf(0.5) == 0.0
    assert funnel.norm_ppf(1e-10) == pytest.approx(-6.361340902404056, rel=1e-14)


def test_gamma_quantile_round_trips() -> None:
    for shape in (0.3, 1.0, 7.5, 108.0, 2500.0):
        for p in (0.001, 0.025, 0.5, 0.975, 0.999):
            x = funnel.gamma_ppf(p, shape)
            lower, upper = funnel._gamma_pq(shape, x)
            # P itself carries ~1e-12 relative rounding error for shapes in the thousands
            assert (lower if p <= 0.5 else 1 - upper) == pytest.approx(p, rel=1e-10)
    assert funnel.gamma_ppf(0.5, 1.0) == pytest.approx(math.log(2), rel=1e-14)


def test_small_denominator_arcsine_limits_are_truncated_not_wrapped() -> None:
    """Where asin √p0 − z·s < 0 the sin² would rise again; FunnelPlotR truncates such limits to 0."""
    seq = np.array([1.0, 2, 3, 4, 6, 10, 50])
    lim = funnel.proportion_limit_table(seq, 0.05, 0.0)
    assert lim["ll998"][0] == 0.0
    assert np.all(np.diff(lim["ll998"][:-1]) >= 0)
    hi = funnel.proportion_limit_table(seq, 0.97, 0.0)
    assert hi["ul998"][0] == 1.0


def test_no_overdispersion_falls_back_to_unadjusted_limits() -> None:
    den = np.array([100.0, 200, 300, 400])
    res = funnel.proportion_funnel(den * 0.3, den, limit=95)
    assert res.phi == pytest.approx(0.0, abs=1e-20) and res.tau2 == 0.0
    assert not res.draw_adjusted and res.draw_unadjusted
    assert not res.outlier.any()


def test_tau2_is_reported_when_phi_is_just_below_one() -> None:
    """(n-1)/n <= phi <= 1: tau² > 0 is computed and reported, but the unadjusted limits are drawn."""
    den = np.array([200.0, 250, 300, 350, 400, 450, 500, 550, 600, 650])
    num = np.array([77.0, 91, 134, 136, 163, 177, 216, 234, 247, 234])
    res = funnel.proportion_funnel(num, den, limit=95)
    n = den.size
    assert (n - 1) / n <= res.phi <= 1
    w = 4 * den
    assert res.tau2 == pytest.approx((n * res.phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()), rel=1e-12)
    assert res.tau2 > 0 and not res.draw_adjusted and res.draw_unadjusted
    assert np.all(res.od95_ucl > res.ucl95)
    inside = (res.rr >= res.lcl95) & (res.rr <= res.ucl95)
    np.testing.assert_array_equal(res.outlier, (~inside).astype(int))


def test_funnel_to_dict_is_json_safe_and_inputs_validated() -> None:
    res = funnel.ratio_funnel([10, 12, 30, 8], [11.0, 10.5, 20.2, 9.9], method="CQC")
    json.dumps(res.to_dict(), allow_nan=False)
    json.dumps(funnel.wilson_funnel([5, 9, 12], [50, 60, 70]).to_dict(), allow_nan=False)
    with pytest.raises(ValueError):
        funnel.proportion_funnel([5, 11], [10, 10])
    with pytest.raises(ValueError):
        funnel.proportion_funnel([5, 1], [10, 0])
    with pytest.raises(ValueError):
        funnel.ratio_funnel([5, 1], [10, 2], method="XYZ")
    with pytest.raises(ValueError):
        funnel.proportion_funnel([5, 1], [10, 2], limit=90)
