"""Tests of app.charts: the SVG must parse as XML, be accessible, escape text, obey the CSP (no inline
styles) and draw what the SPC / funnel engines computed (signals, runs, steps, outliers)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from markupsafe import Markup

from app.charts import control_chart_svg, data_table_rows, funnel_svg
from network.funnel import proportion_funnel
from network.spc import i_chart, p_chart, run_chart

NS = "{http://www.w3.org/2000/svg}"
XSS = "<script>alert(1)</script>"


# --------------------------------------------------------------------------------------------------
# Helpers and data
# --------------------------------------------------------------------------------------------------


def months(n: int, year: int = 2021) -> list[str]:
    return [f"{year + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    """Plotted elements with a class; the legend's swatches reuse the plot's classes, so skip them."""
    legend = {id(el) for group in root.iter() if "cc-legend" in classes(group) for el in group.iter()}
    return [el for el in root.iter() if cls in classes(el) and id(el) not in legend]


def title_of(el: ET.Element) -> str:
    t = el.find(f"{NS}title")
    assert t is not None, "element has no <title>"
    return t.text or ""


def points_of(root: ET.Element, cls: str = "cc-point") -> list[ET.Element]:
    """Data markers only: the legend reuses the same classes for its swatches, but has no <title>s."""
    return [el for el in root.iter(f"{NS}g") if cls in classes(el) and el.find(f"{NS}title") is not None]


def path_of(root: ET.Element, cls: str) -> list[ET.Element]:
    """Plotted paths with a class (the legend draws its line swatches as <line>s)."""
    return [el for el in root.iter(f"{NS}path") if cls in classes(el)]


def vertices(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]


def view_box(root: ET.Element) -> tuple[float, float]:
    _, _, w, h = (float(v) for v in root.get("viewBox", "").split())
    return w, h


# 12 months alternating around p ≈ 0.53 with n = 100 (no runs), and one wild month (95 of 100) outside
# the limits.
SIGMA_NUM = [45, 60, 47, 62, 44, 58, 46, 61, 45, 95, 47, 60]
SIGMA_DEN = [100] * 12
# 10 low then 10 high values on a run chart: two runs of 10 (> the limit of 7) and no control limits.
RUN_VALUES = [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9]
# Varying denominators: the p-chart limits change at every point.
VARY_NUM = [40, 70, 55, 120, 30, 90, 61, 140]
VARY_DEN = [80, 130, 100, 230, 50, 170, 120, 260]


@pytest.fixture()
def sigma_chart() -> tuple:
    result = p_chart(SIGMA_NUM, SIGMA_DEN)
    labels = months(12)
    svg = control_chart_svg(result, labels, title="Skin-to-skin within an hour",
                            description="Share of babies with skin-to-skin contact.", better="higher",
                            goal=0.6, chart_id="s2s")
    return result, labels, svg


# --------------------------------------------------------------------------------------------------
# Control chart: structure and accessibility
# --------------------------------------------------------------------------------------------------


def test_root_is_an_accessible_image_labelled_by_its_title_and_desc(sigma_chart):
    result, _, svg = sigma_chart
    assert isinstance(svg, Markup)
    root = parse(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "s2s-title s2s-desc"
    assert root.get("preserveAspectRatio") and root.get("viewBox") == "0 0 720 300"
    assert root.get("width") is None and root.get("height") is None
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title.get("id") == "s2s-title" and title.text == "Skin-to-skin within an hour"
    assert desc.get("id") == "s2s-desc"
    assert desc.text.startswith("Share of babies with skin-to-skin contact.")
    assert "Latest value (Dec 2021): 60.0%." in desc.text
    assert f"Centre line: {100 * result.cl[-1]:.1f}%." in desc.text
    assert "Goal: 60.0%." in desc.text
    assert "Oct 2021 outside the control limits (above the upper limit) (an improvement)" in desc.text


def test_every_point_has_a_title_with_month_value_and_counts():
    num, den = [60, 70, 143, 75], [100, 100, 198, 100]
    result = p_chart(num, den)
    root = parse(control_chart_svg(result, months(4), title="t", description="d"))
    points = points_of(root)
    assert len(points) == 4
    assert title_of(points[2]) == "Mar 2021: 72.2% (143 of 198)"
    assert title_of(points[0]) == "Jan 2021: 60.0% (60 of 100)"


def test_points_outside_limits_get_the_signal_class_and_a_diamond(sigma_chart):
    result, _, svg = sigma_chart
    root = parse(svg)
    points = points_of(root)
    flagged = [i for i, p in enumerate(points) if "cc-sigma" in classes(p)]
    assert flagged == np.flatnonzero(result.sigma_signal).tolist() == [9]
    assert points[9].find(f"{NS}path") is not None, "signal marker should be a diamond path, not a circle"
    assert points[0].find(f"{NS}circle") is not None
    assert title_of(points[9]) == "Oct 2021: 95.0% (95 of 100) — outside limits"


def test_points_in_a_signalling_run_get_the_run_class_and_a_band():
    result = run_chart(RUN_VALUES)
    assert result.runs_signal.all()
    root = parse(control_chart_svg(result, months(20), title="t", description="d", percent=False))
    points = points_of(root)
    assert [i for i, p in enumerate(points) if "cc-run" in classes(p)] == list(range(20))
    assert len(by_class(root, "cc-run-band")) == 2
    assert not points_of(root, "cc-sigma")


def test_only_the_runs_over_the_limit_are_marked():
    # Median 5 from the alternating baseline; the last baseline point (6) starts a run of 11 above it.
    values = [4, 6] * 6 + [9, 9.5, 9.2, 9.1, 9.4, 9.3, 9.6, 9.2, 9.8, 9.1]
    result = run_chart(values, freeze=12)
    assert result.runs_signal.all() and result.longest_run[0] == 11 > result.longest_run_max[0]
    rows = data_table_rows(result, months(len(values)), percent=False)
    assert [i for i, r in enumerate(rows) if r["signal"] == "part of a run"] == list(range(11, 22))
    root = parse(control_chart_svg(result, months(len(values)), title="t", description="d", percent=False))
    assert [i for i, p in enumerate(points_of(root)) if "cc-run" in classes(p)] == list(range(11, 22))
    assert len(by_class(root, "cc-run-band")) == 1


def test_excluded_points_are_drawn_hollow_and_say_so():
    result = p_chart(SIGMA_NUM, SIGMA_DEN, exclude=[9])
    root = parse(control_chart_svg(result, months(12), title="t", description="d"))
    excluded = points_of(root, "cc-excluded")
    assert len(excluded) == 1
    assert "excluded from the calculations" in title_of(excluded[0])


def test_compact_mode_is_smaller_and_keeps_title_desc_and_signals(sigma_chart):
    result, labels, full_svg = sigma_chart
    compact = parse(control_chart_svg(result, labels, title="Site A", description="d", compact=True,
                                      chart_id="site-a"))
    full = parse(full_svg)
    assert view_box(compact) < view_box(full)
    assert "cc-compact" in classes(compact)
    assert len(list(compact.iter(f"{NS}text"))) < len(list(full.iter(f"{NS}text")))
    assert not by_class(compact, "cc-legend-item")
    tick_texts = [t.text for t in compact.iter(f"{NS}text")]
    assert "Jan 2021" in tick_texts and "Dec 2021" in tick_texts and len(tick_texts) == 4
    assert compact.find(f"{NS}title").text == "Site A"
    assert compact.find(f"{NS}desc").get("id") == "site-a-desc"
    assert len(points_of(compact, "cc-sigma")) == 1


def test_x_labels_are_thinned_to_readable_months():
    n = 60
    result = p_chart([50] * n, [100] * n)
    root = parse(control_chart_svg(result, months(n, 2019), title="t", description="d"))
    labels = [t.text for t in root.iter(f"{NS}text") if re.fullmatch(r"[A-Z][a-z]{2} \d{4}", t.text or "")]
    assert 3 <= len(labels) <= 10
    assert labels[0] == "Jan 2019"
    assert all(label.split()[0] in ("Jan", "Jul") for label in labels)


def test_y_axis_has_four_to_six_percent_ticks_within_0_and_100(sigma_chart):
    _, _, svg = sigma_chart
    root = parse(svg)
    ticks = [t.text for t in root.iter(f"{NS}text") if (t.text or "").endswith("%")]
    assert 4 <= len(ticks) <= 6
    values = [float(t.rstrip("%")) for t in ticks]
    assert all(0 <= v <= 100 for v in values)
    assert values == sorted(values)


def test_goal_line_is_drawn_and_labelled(sigma_chart):
    root = parse(sigma_chart[2])
    (goal,) = points_of(root, "cc-goal-group")
    assert title_of(goal) == "Goal: 60.0%" and by_class(goal, "cc-goal")
    assert any(t.text == "Goal" for t in root.iter(f"{NS}text"))


# --------------------------------------------------------------------------------------------------
# Steps, phases and awkward data
# --------------------------------------------------------------------------------------------------


def test_limits_are_steps_when_the_denominator_varies():
    result = p_chart(VARY_NUM, VARY_DEN)
    root = parse(control_chart_svg(result, months(8), title="t", description="d"))
    (ucl,) = path_of(root, "cc-ucl")
    pts = vertices(ucl.get("d"))
    assert len(pts) > 2
    assert len({y for _, y in pts}) == len(set(result.ucl.tolist()))
    # Steps: every change of level is a vertical segment.
    assert all(a[0] == b[0] or a[1] == b[1] for a, b in zip(pts, pts[1:]))


def test_constant_limits_are_one_straight_segment():
    result = p_chart([50] * 6, [100] * 6)
    root = parse(control_chart_svg(result, months(6), title="t", description="d"))
    (ucl,) = path_of(root, "cc-ucl")
    assert len(vertices(ucl.get("d"))) == 2


def test_phases_break_the_limits_and_draw_a_boundary():
    result = p_chart(SIGMA_NUM, SIGMA_DEN, part=[6])
    root = parse(control_chart_svg(result, months(12), title="t", description="d"))
    (cl,) = path_of(root, "cc-cl")
    assert cl.get("d").count("M") == 2
    assert len(by_class(root, "cc-phase")) == 1


def test_nan_limits_and_missing_points_never_print_nan():
    num = [50, np.nan, 48, 51, 49]
    result = p_chart(num, [100] * 5)
    for res, pct in ((result, True), (run_chart(RUN_VALUES), False), (i_chart([5.0]), False)):
        out = str(control_chart_svg(res, months(len(res)), title="t", description="d", percent=pct))
        parse(Markup(out))
        assert not re.search(r"\b(nan|inf)\b", out, re.IGNORECASE)
        compact = str(control_chart_svg(res, months(len(res)), title="t", description="d", percent=pct,
                                        compact=True))
        assert not re.search(r"\b(nan|inf)\b", compact, re.IGNORECASE)
    root = parse(control_chart_svg(result, months(5), title="t", description="d"))
    points = points_of(root)
    assert len(points) == 5
    assert "cc-missing" in classes(points[1]) and title_of(points[1]) == "Feb 2021: no data"
    assert path_of(root, "cc-data")[0].get("d").count("M") == 2, "the data line should break at the gap"


def test_single_point_and_all_equal_values_render():
    one = parse(control_chart_svg(p_chart([3], [10]), ["2022-05"], title="t", description="d"))
    assert len(points_of(one)) == 1
    flat = parse(control_chart_svg(i_chart([5, 5, 5, 5]), months(4), title="t", description="d",
                                   percent=False))
    ticks = [t.text for t in flat.iter(f"{NS}text") if re.fullmatch(r"[\d.]+", t.text or "")]
    assert len(set(ticks)) == len(ticks) >= 4
    empty = parse(control_chart_svg(p_chart([], []), [], title="t", description="d"))
    assert empty.get("role") == "img"


def test_annotations_have_titles_and_revised_points_a_ring():
    notes = [{"index": 2, "label": "Upload corrected", "kind": "revised"},
             {"index": 4, "label": "New bundle", "kind": "adoption"},
             {"index": 4, "label": XSS, "kind": "cycle"}]
    root = parse(control_chart_svg(p_chart(SIGMA_NUM, SIGMA_DEN), months(12), title="t", description="d",
                                   annotations=notes))
    anns = by_class(root, "cc-ann")
    anns = [a for a in anns if a.find(f"{NS}title") is not None]
    assert [title_of(a) for a in anns] == [
        "Mar 2021 — Data revised: Upload corrected",
        "May 2021 — Adoption: New bundle",
        f"May 2021 — Change cycle: {XSS}",
    ]
    assert by_class(anns[0], "cc-ann-ring")
    assert not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
    with pytest.raises(ValueError):
        control_chart_svg(p_chart([1], [2]), ["2021-01"], title="t", description="d",
                          annotations=[{"index": 0, "label": "x", "kind": "party"}])
    with pytest.raises(ValueError):
        control_chart_svg(p_chart([1], [2]), ["2021-01"], title="t", description="d",
                          annotations=[{"index": 5, "label": "x", "kind": "cycle"}])


# --------------------------------------------------------------------------------------------------
# Security: escaping and CSP
# --------------------------------------------------------------------------------------------------


def assert_no_inline_style(root: ET.Element) -> None:
    assert not [el for el in root.iter() if el.tag in (f"{NS}style", "style")]
    assert not [el for el in root.iter() if "style" in el.attrib]


def test_text_is_escaped_not_injected():
    result = p_chart(SIGMA_NUM[:3], SIGMA_DEN[:3])
    labels = ["2021-01", XSS, "2021-03"]
    out = control_chart_svg(result, labels, title=XSS, description=f"about {XSS}", chart_id="x")
    root = parse(out)
    assert not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
    assert root.find(f"{NS}title").text == XSS
    assert XSS in root.find(f"{NS}desc").text
    points = points_of(root)
    assert title_of(points[1]).startswith(f"{XSS}: ")
    assert "<script>" not in str(out)


def test_chart_id_must_be_a_plain_name():
    with pytest.raises(ValueError):
        control_chart_svg(p_chart([1], [2]), ["2021-01"], title="t", description="d", chart_id='x" onload="y')


def test_no_style_attribute_or_element_anywhere(sigma_chart):
    charts = [
        sigma_chart[2],
        control_chart_svg(run_chart(RUN_VALUES), months(20), title="t", description="d", percent=False,
                          compact=True),
        control_chart_svg(p_chart(SIGMA_NUM, SIGMA_DEN, part=[6], exclude=[2]), months(12), title="t",
                          description="d", annotations=[{"index": 1, "label": "x", "kind": "revised"}]),
        funnel_svg(proportion_funnel([30, 60, 90], [100, 120, 150]), ["a", "b", "c"], title="t",
                   description="d"),
    ]
    for chart in charts:
        assert_no_inline_style(parse(chart))


# --------------------------------------------------------------------------------------------------
# Table rows
# --------------------------------------------------------------------------------------------------


def test_data_table_rows_match_the_chart():
    result = p_chart(SIGMA_NUM, SIGMA_DEN)
    rows = data_table_rows(result, months(12))
    assert len(rows) == 12
    assert rows[9] == {
        "month": "Oct 2021", "period": "2021-10", "numerator": "95", "denominator": "100", "value": "95.0%",
        "cl": f"{100 * result.cl[9]:.1f}%", "lcl": f"{100 * result.lcl[9]:.1f}%",
        "ucl": f"{100 * result.ucl[9]:.1f}%", "signal": "outside limits", "excluded": False,
    }
    assert rows[0]["signal"] == ""
    run_rows = data_table_rows(run_chart(RUN_VALUES), months(20))
    assert run_rows[0]["numerator"] == "" and run_rows[0]["lcl"] == "" and run_rows[0]["value"] == "1.00"
    assert {r["signal"] for r in run_rows} == {"part of a run"}


# --------------------------------------------------------------------------------------------------
# Funnel plot
# --------------------------------------------------------------------------------------------------


@pytest.fixture()
def funnel_data() -> tuple:
    rng = np.random.default_rng(11)
    den = rng.integers(60, 600, 20)
    num = rng.binomial(den, 0.7)
    den[16], num[16] = 310, 230
    den[3], num[3] = 400, 160  # far below: an outlier on any limits
    labels = [f"Site {i + 1}" for i in range(20)]
    return proportion_funnel(num, den), labels


def test_funnel_has_one_titled_point_per_unit_and_marks_outliers(funnel_data):
    result, labels = funnel_data
    root = parse(funnel_svg(result, labels, title="Funnel", description="Sites.", chart_id="f1"))
    assert root.get("aria-labelledby") == "f1-title f1-desc"
    units = points_of(root, "cc-unit")
    assert len(units) == 20
    by_label = {title_of(u).split(":")[0]: u for u in units}
    assert set(by_label) == set(labels)
    outliers = {labels[i] for i in np.flatnonzero(result.outlier == 1)}
    assert "Site 4" in outliers
    assert {k for k, u in by_label.items() if "cc-outlier" in classes(u)} == outliers
    assert title_of(by_label["Site 4"]).startswith("Site 4: 40.0% of 400 — outside the 95% limits (below)")
    assert "Site 4 (below)" in root.find(f"{NS}desc").text


def test_funnel_point_title_format():
    result = proportion_funnel([230, 150, 160], [310, 200, 220])
    root = parse(funnel_svg(result, ["Site 17", "Site 2", "Site 3"], title="t", description="d"))
    titles = [title_of(u) for u in points_of(root, "cc-unit")]
    assert "Site 17: 74.2% of 310" in titles


def test_funnel_limits_are_sampled_curves_nested_around_the_target(funnel_data):
    result, labels = funnel_data
    root = parse(funnel_svg(result, labels, title="t", description="d"))
    curves = {k: vertices(path_of(root, f"cc-funnel-{k}")[0].get("d"))
              for k in ("ll95", "ul95", "ll998", "ul998")}
    assert all(len(pts) > 50 for pts in curves.values())
    (group,) = points_of(root, "cc-target-group")
    (target,) = by_class(group, "cc-target")
    ty = float(target.get("y1"))
    # SVG y grows downwards: upper limits are above (smaller y) the target, 99.8% outside 95%.
    for u998, u95, l95, l998 in zip(*(curves[k] for k in ("ul998", "ul95", "ll95", "ll998"))):
        assert u998[0] == u95[0] == l95[0] == l998[0]
        assert u998[1] <= u95[1] <= ty <= l95[1] <= l998[1]
    assert_no_inline_style(root)


def test_funnel_escapes_unit_labels():
    result = proportion_funnel([30, 60], [100, 120])
    root = parse(funnel_svg(result, [XSS, "b"], title="t", description="d"))
    assert not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
    with pytest.raises(ValueError):
        funnel_svg(result, ["only one"], title="t", description="d")


@pytest.mark.parametrize("locale, expected", [("en", ["1,234.5", "0.07", "72.4%", "1,200"]),
                                              ("es", ["1.234,5", "0,07", "72,4\u00a0%", "1.200"])])
def test_chart_numbers_use_the_readers_signs(locale, expected):
    """Numbers on charts and in their data tables: the reader's decimal and grouping signs (CLDR, as
    Babel's format_decimal gives them), with each pattern and locale parsed once."""
    from flask import Flask
    from flask_babel import Babel

    from app import charts

    flask_app = Flask(__name__)
    Babel(flask_app, locale_selector=lambda: locale)
    with flask_app.test_request_context("/"):
        assert [charts._number(1234.5, "#,##0.0"), charts._fmt_number(0.0734), charts._fmt_value(72.44, True),
                charts._fmt_count(1200)] == expected
