"""Properties of the SPC engine (network/spc.py, network/funnel.py) on random series: limits contain the
centre line wherever both are defined, and results do not depend on the order in which sites are given.
(That the month order of submitted rows does not matter is checked through the database in
tests/test_fuzz_imports.py.)"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from network import spc
from network.funnel import proportion_funnel

pytestmark = pytest.mark.fuzz

TOL = 1e-9


@st.composite
def proportions(draw, min_size=1, max_size=40):
    """(numerators, denominators): whole counts, 0 <= numerator <= denominator, denominator >= 1."""
    size = draw(st.integers(min_size, max_size))
    dens = draw(st.lists(st.integers(1, 100_000), min_size=size, max_size=size))
    nums = [draw(st.integers(0, d)) for d in dens]
    return np.array(nums, float), np.array(dens, float)


@st.composite
def options(draw, size):
    """freeze / part / exclude as a measure or a reference file might set them."""
    chosen = {}
    if size >= 4 and draw(st.booleans()):
        chosen["freeze"] = draw(st.integers(2, size))
    if size >= 6 and draw(st.booleans()):
        chosen["part"] = sorted(draw(st.sets(st.integers(2, size - 2), min_size=1, max_size=2)))
    if size >= 5 and draw(st.booleans()):
        chosen["exclude"] = sorted(draw(st.sets(st.integers(0, size - 1), max_size=size // 4)))
    return chosen


def assert_ordered(*columns):
    """Each column <= the next, element-wise, wherever both are finite (NaN = undefined)."""
    for low, high in zip(columns, columns[1:]):
        low, high = np.asarray(low, float), np.asarray(high, float)
        both = np.isfinite(low) & np.isfinite(high)
        scale = np.maximum(1.0, np.abs(high[both]))
        assert np.all(low[both] <= high[both] + TOL * scale), (low, high)


def assert_limits_contain_centre(result):
    assert_ordered(result.lcl, result.lcl_95, result.cl, result.ucl_95, result.ucl)


@given(st.data(), proportions(), st.sampled_from(["p", "pp", "u", "up"]))
def test_rate_chart_limits_contain_the_centre(data, series, kind):
    nums, dens = series
    chosen = data.draw(options(len(nums)))
    chart = spc.p_chart if kind.startswith("p") else spc.u_chart
    result = chart(nums, dens, laney=kind.endswith("p") and len(kind) == 2, **chosen)
    assert_limits_contain_centre(result)
    if kind.startswith("p"):
        assert_ordered(np.zeros(len(nums)), result.lcl, result.ucl, np.ones(len(nums)))


values = st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=40)
counts = st.lists(st.integers(0, 10_000), min_size=1, max_size=40)


@given(st.data(), values, st.sampled_from(["i", "mr", "run"]))
def test_individuals_limits_contain_the_centre(data, ys, kind):
    chosen = data.draw(options(len(ys)))
    result = {"i": spc.i_chart, "mr": spc.mr_chart, "run": spc.run_chart}[kind](np.array(ys), **chosen)
    assert_limits_contain_centre(result)


@given(st.data(), counts)
def test_count_chart_limits_contain_the_centre(data, ys):
    result = spc.c_chart(np.array(ys, float), **data.draw(options(len(ys))))
    assert_limits_contain_centre(result)
    assert_ordered(np.zeros(len(ys)), result.lcl)


@given(values, st.sampled_from(["increase", "decrease", "neutral"]), st.data())
def test_making_data_count_limits_contain_the_mean(ys, improvement, data):
    fix_after = data.draw(st.none() | st.integers(2, max(2, len(ys))))
    result = spc.mdc_chart(np.array(ys), improvement=improvement, fix_after=fix_after)
    assert_ordered(result.lpl, result.nlpl, result.mean, result.nupl, result.upl)


@st.composite
def site_grids(draw):
    """sites × months arrays with gaps (NaN), as the outcome matrix holds them."""
    sites, months = draw(st.integers(1, 6)), draw(st.integers(1, 24))
    nums = np.full((sites, months), np.nan)
    dens = np.full((sites, months), np.nan)
    for i in range(sites):
        for j in range(months):
            if draw(st.integers(0, 4)):  # about one month in five missing
                dens[i, j] = draw(st.integers(1, 5000))
                nums[i, j] = draw(st.integers(0, int(dens[i, j])))
    return nums, dens


@given(site_grids(), st.randoms(use_true_random=False))
def test_batch_charts_follow_their_sites_whatever_their_order(grid, random):
    nums, dens = grid
    order = list(range(nums.shape[0]))
    random.shuffle(order)
    batch = spc.p_chart_batch(nums, dens)
    shuffled = spc.p_chart_batch(nums[order], dens[order])
    for new, old in enumerate(order):
        a, b = batch.result(old).to_dict(), shuffled.result(new).to_dict()
        assert a == b
        # and each row is exactly the stand-alone chart over the months present for it
        present = ~np.isnan(dens[old])
        if present.any():
            assert spc.p_chart(nums[old, present], dens[old, present]).to_dict() == a
        assert_limits_contain_centre(batch.result(old))


@given(site_grids(), st.randoms(use_true_random=False))
def test_network_totals_do_not_depend_on_site_order(grid, random):
    nums, dens = grid
    order = list(range(nums.shape[0]))
    random.shuffle(order)
    total = np.nansum(nums, axis=0), np.nansum(dens, axis=0)
    shuffled = np.nansum(nums[order], axis=0), np.nansum(dens[order], axis=0)
    assert np.array_equal(total[0], shuffled[0]) and np.array_equal(total[1], shuffled[1])


@given(proportions(min_size=3, max_size=30), st.randoms(use_true_random=False), st.sampled_from([95, 99]))
def test_funnel_is_the_same_whatever_the_order_of_sites(series, random, limit):
    nums, dens = series
    assume(nums.sum() > 0 and nums.sum() < dens.sum())  # a target strictly between 0 and 1
    order = list(range(len(nums)))
    random.shuffle(order)
    a = proportion_funnel(nums, dens, limit=limit)
    b = proportion_funnel(nums[order], dens[order], limit=limit)
    assert a.target == pytest.approx(b.target, rel=1e-12)
    assert a.phi == pytest.approx(b.phi, rel=1e-9, abs=1e-12)
    assert a.tau2 == pytest.approx(b.tau2, rel=1e-9, abs=1e-12)
    for name in ("lcl95", "ucl95", "lcl99", "ucl99", "od95_lcl", "od95_ucl", "od99_lcl", "od99_ucl"):
        assert np.allclose(getattr(a, name)[order], getattr(b, name), rtol=1e-9, atol=1e-12, equal_nan=True), name
    assert list(a.outlier[order]) == list(b.outlier)
    target = np.full(len(nums), a.target)
    assert_ordered(a.lcl99, a.lcl95, target, a.ucl95, a.ucl99)
    assert_ordered(a.od99_lcl, a.od95_lcl, target, a.od95_ucl, a.od99_ucl)
