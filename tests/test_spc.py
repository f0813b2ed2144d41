"""Tests of network.spc against the reference vectors in tests/data/spc (qicharts2, NHSRplotthedots).

Every expected_*.csv is discovered by glob, so a new vector file is tested automatically: chart type and
options (freezeK, partK, excludeA_B, multiplyK, perK, unscreened, fixK, rebaseYYYY-MM-DD, targetV,
increase/decrease/neutral) are parsed from the file name. Numbers must agree to 1e-6 (relative, NA <->
NaN) and every signal flag exactly.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from network import spc

DATA = Path(__file__).parent / "data" / "spc"
QIC = DATA / "qicharts2"
NHSR = DATA / "NHSRplotthedots"
RTOL, ATOL = 1e-6, 1e-12


# --------------------------------------------------------------------------------------------------
# CSV helpers
# --------------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def num_col(rows: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([math.nan if r[key] in ("NA", "") else float(r[key]) for r in rows])


def bool_col(rows: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([r[key] == "TRUE" for r in rows])


def assert_numeric(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    got = np.asarray(got, dtype=float)
    assert got.shape == expected.shape, f"{what}: length {got.shape} != {expected.shape}"
    assert np.array_equal(np.isnan(got), np.isnan(expected)), f"{what}: NA positions differ"
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=RTOL, atol=ATOL, err_msg=what)


def assert_flags(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    got = np.asarray(got, dtype=bool)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, f"{what}: differs at 0-based positions {bad.tolist()}"


# --------------------------------------------------------------------------------------------------
# qicharts2: inputs and option parsing
# --------------------------------------------------------------------------------------------------


@dataclass
class Series:
    """Chart input: ``values`` (run/i/mr/c) or ``num``/``den`` (p/u), optionally several facets."""

    values: np.ndarray | None = None
    num: np.ndarray | None = None
    den: np.ndarray | None = None
    categorical: bool = False


def _qic_input(name: str) -> list[dict[str, str]]:
    return read_csv(QIC / f"input_{name}.csv")


def _hospital_infections() -> list[dict[str, str]]:
    return _qic_input("hospital_infections")


def _sum_by(rows: list[dict[str, str]], key: Callable[[dict[str, str]], str]) -> tuple[dict, dict]:
    num: dict[str, float] = defaultdict(float)
    den: dict[str, float] = defaultdict(float)
    for r in rows:
        num[key(r)] += float(r["n"])
        den[key(r)] += float(r["days"])
    return num, den


def _monthly(rows: list[dict[str, str]]) -> Series:
    num, den = _sum_by(rows, lambda r: r["month"])
    months = sorted(num)
    return Series(num=np.array([num[m] for m in months]), den=np.array([den[m] for m in months]))


def _funnel_by_hospital(rows: list[dict[str, str]]) -> Series:
    """qicharts2 vignette funnel: hospitals (x, categorical) ordered by mean monthly bed days."""
    num, den = _sum_by(rows, lambda r: r["hospital"])
    days: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        days[r["hospital"]].append(float(r["days"]))
    order = sorted(days, key=lambda h: float(np.mean(days[h])))
    return Series(num=np.array([num[h] for h in order]), den=np.array([den[h] for h in order]),
                  categorical=True)


def _last_six_months() -> list[dict[str, str]]:
    return [r for r in _hospital_infections() if r["month"] >= "2016-07-01"]


def _facets(rows: list[dict[str, str]], key: str, build: Callable[[list[dict[str, str]]], Series]) -> dict[str, Series]:
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[r[key]].append(r)
    return {k: build(v) for k, v in groups.items()}


def _values(table: str, column: str) -> Callable[[], Series]:
    return lambda: Series(values=num_col(_qic_input(table), column))


def _rates(table: str, num: str, den: str) -> Callable[[], Series]:
    return lambda: Series(num=num_col(_qic_input(table), num), den=num_col(_qic_input(table), den))


def _cdi_rate() -> Series:
    t = _qic_input("cdi")
    return Series(values=num_col(t, "n") / num_col(t, "days"))


# Data name in an expected_<chart>_<data>_<options>.csv file -> the input it was computed from.
# A facetted dataset maps to {facet1 value: Series}.
QIC_DATA: dict[str, Callable[[], Series | dict[str, Series]]] = {
    "tbl_06.07": _values("montgomery_tbl_06.07", "cost"),
    "tbl_07.03": _rates("montgomery_tbl_07.03", "count", "size"),
    "tbl_07.04": _rates("montgomery_tbl_07.04", "count", "size"),
    "tbl_07.08": _values("montgomery_tbl_07.08", "count"),
    "tbl_07.10": _rates("montgomery_tbl_07.10", "count", "size"),
    "tbl_07.11": _rates("montgomery_tbl_07.11", "count", "meters"),
    "nhs_accidents": _rates("nhs_accidents", "r", "n"),
    "outlier18": _values("i_outlier18", "y"),
    "cdi_n": _values("cdi", "n"),
    "cdi_rate": _cdi_rate,
    "cdi": _rates("cdi", "n", "days"),
    "complaints": _rates("complaints", "complaints", "sales"),
    "synthetic_median_ties": _values("run_synthetic_median_ties", "y"),
    "synthetic_trend24": _values("run_synthetic_trend24", "y"),
    "hospital_infections_monthly_total": lambda: _monthly(_hospital_infections()),
    "funnel_hai_4_by_hospital": lambda: _facets(_last_six_months(), "infection", _funnel_by_hospital),
}

OPTION_PATTERNS = {
    "freeze": r"_freeze(\d+)",
    "part": r"_part(\d+(?:_\d+)*)",
    "exclude": r"_exclude(\d+(?:_\d+)*)",
    "multiply": r"_(?:multiply|per)(\d+)",
}
FLAG_WORDS = ("unscreened", "screened", "nofreeze")


def parse_qic_name(path: Path) -> tuple[str, str, dict]:
    """expected_<chart>_<data>[_options].csv -> (chart, data name, chart keyword arguments)."""
    stem = path.stem[len("expected_"):]
    chart, rest = stem.split("_", 1)
    rest = "_" + rest
    opts: dict = {}
    for key, pattern in OPTION_PATTERNS.items():
        m = re.search(pattern, rest)
        if m:
            numbers = [int(v) for v in m.group(1).split("_")]
            if key == "exclude":
                opts[key] = [v - 1 for v in numbers]  # R's 1-based positions -> 0-based
            elif key == "part":
                opts[key] = numbers
            else:
                opts[key] = numbers[0]
            rest = rest[: m.start()] + rest[m.end():]
    for word in FLAG_WORDS:
        if re.search(rf"_{word}(?=_|$)", rest):
            if word == "unscreened":
                opts["screen"] = False
            rest = re.sub(rf"_{word}(?=_|$)", "", rest)
    return chart, rest.strip("_"), opts


def _input_from_expected(chart: str, rows: list[dict[str, str]], multiply: float) -> Series:
    """For a vector file with no registered input: rebuild the input from its own y (and n) columns."""
    y = num_col(rows, "y") / multiply
    if chart in ("p", "pp", "u", "up"):
        n = num_col(rows, "n")
        return Series(num=y * n, den=n)
    if chart == "mr":
        pytest.fail("an MR-chart vector needs its raw input registered in QIC_DATA")
    return Series(values=y)


def run_qic(chart: str, series: Series, opts: dict) -> spc.SPCResult:
    """Call the engine function for a qicharts2 chart code (pp/up = Laney p'/u')."""
    kw = dict(opts)
    screen = kw.pop("screen", True)
    if chart in ("p", "pp", "u", "up"):
        func = spc.p_chart if chart in ("p", "pp") else spc.u_chart
        return func(series.num, series.den, laney=chart in ("pp", "up"), screen=screen,
                    categorical=series.categorical, **kw)
    if chart == "i":
        return spc.i_chart(series.values, screen=screen, **kw)
    funcs = {"run": spc.run_chart, "mr": spc.mr_chart, "c": spc.c_chart}
    if chart not in funcs:
        pytest.fail(f"unknown qicharts2 chart code {chart!r}")
    return funcs[chart](series.values, **kw)


QIC_NUMERIC = {
    "y": "y", "cl": "cl", "ucl": "ucl", "lcl": "lcl", "ucl.95": "ucl_95", "lcl.95": "lcl_95",
    "n.obs": "n_obs", "n.useful": "n_useful", "longest.run": "longest_run",
    "longest.run.max": "longest_run_max", "n.crossings": "n_crossings", "n.crossings.min": "n_crossings_min",
    "part": "part",
}
QIC_FLAGS = {"runs.signal": "runs_signal", "sigma.signal": "sigma_signal", "baseline": "baseline",
             "include": "include"}


def compare_qic(result: spc.SPCResult, rows: list[dict[str, str]], chart: str, label: str) -> None:
    for col, attr in QIC_NUMERIC.items():
        if col in rows[0]:
            assert_numeric(getattr(result, attr), num_col(rows, col), f"{label}: {col}")
    if "n" in rows[0] and chart in ("p", "pp", "u", "up"):
        assert_numeric(result.n, num_col(rows, "n"), f"{label}: n")
    for col, attr in QIC_FLAGS.items():
        if col in rows[0]:
            assert_flags(getattr(result, attr), bool_col(rows, col), f"{label}: {col}")


QIC_CHART_FILES = sorted(p for p in QIC.glob("expected_*.csv") if not p.name.startswith("expected_summary_"))


@pytest.mark.parametrize("path", QIC_CHART_FILES, ids=lambda p: p.name)
def test_qicharts2_vector(path: Path) -> None:
    chart, data, opts = parse_qic_name(path)
    rows = read_csv(path)
    built = QIC_DATA[data]() if data in QIC_DATA else _input_from_expected(chart, rows, opts.get("multiply", 1))
    if isinstance(built, dict):
        assert "facet1" in rows[0], "a facetted input needs a facet1 column in the expected file"
        facets = list(dict.fromkeys(r["facet1"] for r in rows))
        assert sorted(facets) == sorted(built), "facets differ from the input's"
        for facet in facets:
            sub = [r for r in rows if r["facet1"] == facet]
            compare_qic(run_qic(chart, built[facet], opts), sub, chart, f"{path.name}[{facet}]")
    else:
        compare_qic(run_qic(chart, built, opts), rows, chart, path.name)


# --------------------------------------------------------------------------------------------------
# qicharts2 summaries
# --------------------------------------------------------------------------------------------------


def _u_by(rows: list[dict[str, str]], keys: tuple[str, ...]) -> list[tuple[tuple[str, ...], spc.SPCResult]]:
    groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in keys)].append(r)
    out = []
    for key in sorted(groups):
        s = _monthly(groups[key])
        out.append((key, spc.u_chart(s.num, s.den)))
    return out


def _summary_funnel() -> list[tuple[tuple[str, ...], spc.SPCResult]]:
    facets = _facets(_last_six_months(), "infection", _funnel_by_hospital)
    return [((k,), spc.u_chart(s.num, s.den, multiply=10000, categorical=True)) for k, s in sorted(facets.items())]


QIC_SUMMARIES: dict[str, Callable[[], list[tuple[tuple[str, ...], spc.SPCResult]]]] = {
    "hai_1_u_monthly": lambda: _u_by(_hospital_infections(), ()),
    "hai_2_u_by_infection": lambda: _u_by(_hospital_infections(), ("infection",)),
    "hai_3_u_by_hospital_infection": lambda: _u_by(_hospital_infections(), ("hospital", "infection")),
    "hai_4_u_funnel_by_hospital_per10000": _summary_funnel,
}
SUMMARY_COLUMNS = {
    "part": "part", "n.obs": "n_obs", "n.useful": "n_useful", "longest.run": "longest_run",
    "longest.run.max": "longest_run_max", "n.crossings": "n_crossings", "n.crossings.min": "n_crossings_min",
    "runs.signal": "runs_signal", "aLCL": "avg_lcl", "aLCL.95": "avg_lcl_95", "CL": "cl",
    "aUCL.95": "avg_ucl_95", "aUCL": "avg_ucl", "sigma.signal": "sigma_signal",
}


@pytest.mark.parametrize("path", sorted(QIC.glob("expected_summary_*.csv")), ids=lambda p: p.name)
def test_qicharts2_summary(path: Path) -> None:
    name = path.stem[len("expected_summary_"):]
    assert name in QIC_SUMMARIES, f"register the inputs of {path.name} in QIC_SUMMARIES"
    charts = QIC_SUMMARIES[name]()
    rows = read_csv(path)
    got_rows = [row for _, res in charts for row in res.summary()]
    assert len(got_rows) == len(rows)
    for (key, _), exp in zip(charts, rows):
        facets = [exp["facet1"], exp["facet2"]]
        assert [f for f in facets if f != "1"] == list(key)
    for col, attr in SUMMARY_COLUMNS.items():
        got = np.array([math.nan if r[attr] is None else float(r[attr]) for r in got_rows])
        assert_numeric(got, num_col(rows, col), f"{path.name}: {col}")


# --------------------------------------------------------------------------------------------------
# Anhøj thresholds
# --------------------------------------------------------------------------------------------------


def test_anhoej_thresholds_match_r() -> None:
    rows = read_csv(QIC / "anhoej_thresholds_n1_100.csv")
    for r in rows:
        n = int(r["n.useful"])
        assert spc.longest_run_max(n) == int(r["longest.run.max"]), n
        assert spc.crossings_min(n) == int(r["n.crossings.min"]), n


def _qbinom_by_definition(p: float, size: int, prob: float) -> int:
    pr = Fraction(prob)
    cdf = Fraction(0)
    for x in range(size + 1):
        cdf += math.comb(size, x) * pr**x * (1 - pr) ** (size - x)
        if cdf >= Fraction(p):
            return x
    return size


@pytest.mark.parametrize("prob", [0.5, 0.3])
def test_qbinom_is_exact_against_cumulative_definition(prob: float) -> None:
    for size in (0, 1, 7, 59, 150, 299) + ((1000,) if prob == 0.5 else ()):
        assert spc.qbinom(0.05, size, prob) == _qbinom_by_definition(0.05, size, prob), size
    assert spc.crossings_min(1) == 0 and spc.longest_run_max(1) == 3


# --------------------------------------------------------------------------------------------------
# NHSRplotthedots
# --------------------------------------------------------------------------------------------------


def parse_nhsr_name(stem: str, x: list[str]) -> dict:
    """Options from an NHSRplotthedots vector name; ``rebase`` dates become 0-based positions in ``x``."""
    opts: dict = {"improvement": "increase", "screen": "unscreened" not in stem.split("_")}
    for word in ("increase", "decrease", "neutral"):
        if word in stem.split("_"):
            opts["improvement"] = word
    if m := re.search(r"_fix(\d+)", stem):
        opts["fix_after"] = int(m.group(1))
    if m := re.search(r"_target(\d+(?:\.\d+)?)", stem):
        opts["target"] = float(m.group(1))
    dates = re.findall(r"_rebase((?:\d{4}-\d{2}-\d{2}_?)+)", stem)
    if dates:
        opts["rebase"] = [x.index(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", dates[0])]
    return opts


NHSR_NUMERIC = {"y": "y", "rebase_group": "rebase_group", "fix_y": "fix_y", "mean_col": "mean", "lpl": "lpl",
                "upl": "upl", "nlpl": "nlpl", "nupl": "nupl", "relative_to_mean": "relative_to_mean"}
NHSR_FLAGS = {"outside_limits": "outside_limits", "close_to_limits": "close_to_limits",
              "special_cause_flag": "special_cause_flag", "short_group_warning": "short_group_warning"}


def nhsr_facet_results(path: Path) -> dict[str, tuple[list[dict[str, str]], spc.MDCResult]]:
    """Run mdc_chart per facet of a ptd_spc() output, whose x/y/f columns echo the inputs."""
    rows = read_csv(path)
    out = {}
    for facet in dict.fromkeys(r["f"] for r in rows):
        sub = [r for r in rows if r["f"] == facet]
        opts = parse_nhsr_name(path.stem, [r["x"] for r in sub])
        out[facet] = (sub, spc.mdc_chart(num_col(sub, "y"), **opts))
    return out


NHSR_FILES = sorted(p for p in NHSR.glob("expected_*.csv") if not p.stem.endswith("_assurance"))


@pytest.mark.parametrize("path", NHSR_FILES, ids=lambda p: p.name)
def test_nhsrplotthedots_vector(path: Path) -> None:
    for facet, (rows, res) in nhsr_facet_results(path).items():
        label = f"{path.name}[{facet}]"
        for col, attr in NHSR_NUMERIC.items():
            assert_numeric(getattr(res, attr), num_col(rows, col), f"{label}: {col}")
        for col, attr in NHSR_FLAGS.items():
            assert_flags(getattr(res, attr), bool_col(rows, col), f"{label}: {col}")
        assert res.special_cause_type == [r["special_cause_type"] for r in rows], label
        assert res.point_type == [r["point_type"] for r in rows], label
        target = num_col(rows, "target")
        assert_numeric(np.full(len(rows), np.nan if res.target is None else res.target), target, f"{label}: target")


@pytest.mark.parametrize("path", sorted(NHSR.glob("expected_*_assurance.csv")), ids=lambda p: p.name)
def test_nhsrplotthedots_assurance(path: Path) -> None:
    chart_file = path.with_name(path.name.replace("_assurance.csv", ".csv"))
    results = nhsr_facet_results(chart_file)
    for r in read_csv(path):
        expected = None if r["assurance_type"] == "NA" else r["assurance_type"]
        assert results[r["f"]][1].assurance_type == expected


def test_nhsr_inputs_are_the_series_in_the_expected_files() -> None:
    """The NHSR tests read x/y from ptd_spc() output; check those really are the stored inputs."""
    outputs = [num_col(read_csv(p), "y") for p in NHSR.glob("expected_*.csv") if not p.stem.endswith("_assurance")]
    for path in NHSR.glob("input_*.csv"):
        rows = read_csv(path)
        y = num_col(rows, "y" if "y" in rows[0] else "data")
        assert any(o.shape == y.shape and np.array_equal(o, y) for o in outputs), path.name


# --------------------------------------------------------------------------------------------------
# Edge cases and semantics
# --------------------------------------------------------------------------------------------------


def test_all_points_on_centre_line_give_no_useful_points() -> None:
    res = spc.run_chart([5.0] * 10)
    assert np.all(res.n_useful == 0) and np.all(res.n_obs == 10)
    for attr in ("longest_run", "longest_run_max", "n_crossings", "n_crossings_min"):
        assert np.all(np.isnan(getattr(res, attr))), attr
    assert not res.runs_signal.any()
    # qicharts2 screens moving ranges with "mr < 3.267 * mean(mr)": all-zero ranges leave none, so the
    # limits are NA (not a zero-width band that every later point would breach).
    i = spc.i_chart([3.0] * 8)
    assert not i.runs_signal.any() and not i.sigma_signal.any()
    assert np.isnan(i.ucl).all() and np.isnan(i.lcl).all() and np.all(i.cl == 3.0)
    unscreened = spc.i_chart([3.0] * 8, screen=False)
    np.testing.assert_array_equal(unscreened.ucl, unscreened.cl)


def test_point_at_one_on_clipped_p_limit_is_not_a_signal() -> None:
    num = np.array([9, 10, 9, 10, 9, 10, 10, 9, 10, 9], dtype=float)
    res = spc.p_chart(num, np.full(10, 10.0))
    at_one = res.y == 1.0
    assert at_one.any()
    np.testing.assert_array_equal(res.ucl[at_one], 1.0)
    assert not res.sigma_signal[at_one].any()
    assert np.all(res.lcl >= 0) and np.all(res.ucl <= 1)


def test_excluded_point_still_signals_but_does_not_move_the_centre() -> None:
    counts = [20, 21, 19, 20, 80, 20, 21, 19, 20, 21]
    res = spc.c_chart(counts, exclude=[4])
    base = [c for i, c in enumerate(counts) if i != 4]
    assert res.cl[0] == pytest.approx(np.mean(base))
    assert res.sigma_signal[4] and not res.include[4]
    assert res.n_obs[0] == 9


def test_freeze_is_ignored_when_part_is_given() -> None:
    values = np.arange(30, dtype=float) % 7
    with_both = spc.i_chart(values, freeze=5, part=[15])
    part_only = spc.i_chart(values, part=[15])
    np.testing.assert_array_equal(with_both.cl, part_only.cl)
    assert with_both.baseline.all()


def test_freeze_uses_baseline_for_limits_but_all_points_for_runs() -> None:
    values = [1, 2, 1, 2, 1, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    res = spc.run_chart(values, freeze=6)
    assert res.cl[0] == 1.5
    assert res.n_useful[0] == 16 and res.runs_signal.all()


def test_mr_chart_never_has_a_runs_signal() -> None:
    res = spc.mr_chart(np.r_[np.zeros(10), np.arange(20.0) * 3])
    assert np.isnan(res.y[0]) and not res.runs_signal.any()


def test_laney_categorical_uses_sd_of_z_scores() -> None:
    num = np.array([30.0, 55, 41, 70, 52])
    den = np.array([100.0, 150, 120, 160, 140])
    res = spc.p_chart(num, den, laney=True, categorical=True)
    cl = num.sum() / den.sum()
    sd = np.sqrt(cl * (1 - cl) / den)
    sigma_z = np.std((num / den - cl) / sd, ddof=1)
    np.testing.assert_allclose(res.ucl, np.minimum(cl + 3 * sd * sigma_z, 1), rtol=1e-12)
    assert not res.runs_signal.any()


def test_missing_rate_points_stay_in_place_without_limits() -> None:
    res = spc.p_chart([5, np.nan, 6, 7], [10, 10, 0, 12])
    assert np.isnan(res.y[1]) and np.isnan(res.y[2]) and np.isnan(res.ucl[1])
    assert res.n_obs[0] == 4 and res.n_useful[0] <= 2


def test_to_dict_is_json_safe() -> None:
    res = spc.run_chart([5.0] * 6)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["ucl"][0] is None and d["longest_run"][0] is None
    assert set(d) >= {"y", "cl", "lcl", "ucl", "lcl_95", "ucl_95", "sigma_signal", "runs_signal", "n_obs", "n_useful"}
    m = spc.mdc_chart([1.0, 2, 3, 2, 1, 2, 3, 2], target=2.5)
    json.dumps(m.to_dict(), allow_nan=False)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        spc.run_chart([1.0, 2.0], exclude=[2])
    with pytest.raises(ValueError):
        spc.p_chart([1, 2], [3])
    with pytest.raises(ValueError):
        spc.mdc_chart([1.0, np.nan, 2.0])
    with pytest.raises(ValueError):
        spc.mdc_chart([1.0, 2.0], improvement="up")


# --------------------------------------------------------------------------------------------------
# Vectorised batch == per-row p_chart
# --------------------------------------------------------------------------------------------------

BATCH_FIELDS = ("y", "n", "cl", "lcl", "ucl", "lcl_95", "ucl_95", "sigma_signal", "runs_signal", "longest_run",
                "longest_run_max", "n_crossings", "n_crossings_min", "n_obs", "n_useful", "part", "baseline",
                "include")


def _random_panel(seed: int, rows: int, months: int, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    den = rng.integers(1, 60, size=(rows, months)).astype(float)
    if not integer:
        den = den + rng.random((rows, months))
    p = rng.uniform(0, 1, size=(rows, 1)) * rng.choice([1.0, 0.0, 0.999], size=(rows, 1), p=[0.8, 0.1, 0.1])
    num = np.minimum(np.floor(den * np.clip(p + rng.normal(0, 0.1, size=den.shape), 0, 1)), den)
    missing = rng.random((rows, months)) < 0.15
    num[missing & (rng.random((rows, months)) < 0.5)] = np.nan
    den[missing] = np.where(rng.random(missing.sum()) < 0.5, np.nan, 0.0)
    num[rng.random((rows, months)) < 0.03] = np.nan
    num[5, :] = np.nan  # a site with no data at all
    return num, den


@pytest.mark.parametrize("integer", [True, False], ids=["integer-counts", "fractional-denominators"])
def test_batch_equals_per_row_p_chart(integer: bool) -> None:
    num, den = _random_panel(7 if integer else 11, rows=60, months=48, integer=integer)
    batch = spc.p_chart_batch(num, den)
    assert len(batch) == 60
    for i in range(num.shape[0]):
        keep = ~np.isnan(num[i]) & ~np.isnan(den[i]) & (den[i] > 0)
        single = spc.p_chart(num[i, keep], den[i, keep])
        row = batch.result(i)
        for name in BATCH_FIELDS:
            assert np.array_equal(getattr(row, name), getattr(single, name), equal_nan=True), (i, name)


def test_batch_missing_row_has_no_runs_signal() -> None:
    num = np.array([[1.0, 2.0, 3.0], [np.nan, np.nan, np.nan]])
    den = np.array([[5.0, 5.0, 5.0], [5.0, 5.0, 5.0]])
    batch = spc.p_chart_batch(num, den)
    assert batch.n_obs[1] == 0 and batch.n_useful[1] == 0 and not batch.runs_signal[1]
    assert len(batch.result(1)) == 0 and np.isnan(batch.longest_run[1])


# --------------------------------------------------------------------------------------------------
# Plain-English explanations
# --------------------------------------------------------------------------------------------------


def test_explain_shift_crossings_and_outlier() -> None:
    values = [5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 40]
    res = spc.run_chart(values)
    assert res.runs_signal.all()
    text = spc.explain_signals(res, "increase")
    assert any("months in a row above the centre line — a shift" in s for s in text)
    assert any("(an improvement)" in s for s in text)
    crossings = spc.run_chart([1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9])
    assert any(s.startswith("fewer crossings of the centre line than expected")
               and s.endswith("a sign of a shift or trend") for s in spc.explain_signals(crossings))
    outlier = spc.i_chart([10, 11, 10, 12, 11, 10, 11, 30, 10, 11, 12, 10])
    labels = [f"M{i}" for i in range(12)]
    text = spc.explain_signals(outlier, "decrease", labels=labels)
    assert "M7 outside the control limits (above the upper limit) (a concern)" in text


def test_explain_names_months_by_position_and_is_empty_without_signals() -> None:
    outlier = spc.i_chart([10, 11, 10, 12, 11, 10, 11, 30, 10, 11, 12, 10])
    assert "month 8 outside the control limits (above the upper limit)" in spc.explain_signals(outlier)
    assert spc.explain_signals(spc.run_chart([1, 2, 1, 2, 1, 2, 1, 2])) == []
    with pytest.raises(ValueError):
        spc.explain_signals(outlier, labels=["a"])


def test_explain_mdc_chart() -> None:
    path = NHSR / "expected_synthetic32_increase_target65.csv"
    (_, res), = nhsr_facet_results(path).values()
    text = spc.explain_signals(res, "increase")
    assert any("a trend (an improvement)" in s for s in text)
    assert any("below the mean — a shift (a concern)" in s for s in text)
    assert text[-1] == "the target will be met only some of the time"


def test_long_signals_read_as_spans():
    """Many points outside the limits are summarised as spans of months, not one sentence each."""
    values = [50] * 12 + [90] * 20
    result = spc.p_chart(values, [100] * 32, freeze=12)
    labels = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)] + \
        [f"2026-{m:02d}" for m in range(1, 9)]
    sentences = spc.explain_signals(result, "increase", labels=labels)
    outside = [s for s in sentences if "outside the control limits" in s]
    assert outside == ["20 months (2025-01 to 2026-08) outside the control limits (above the upper limit) "
                       "(an improvement)"]
