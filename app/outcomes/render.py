"""How outcome charts read on a page: one place that turns a measure and a chart into SVG and table rows."""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app import charts
from network.outcomes import ChartType, Measure, RuleSet
from network.outcome_reports import Chart, Funnel

CHART_NAMES = {ChartType.P: _l("p-chart"), ChartType.P_LANEY: _l("Laney p′-chart"), ChartType.U: _l("u-chart"),
               ChartType.RUN: _l("run chart")}


def rules_note(measure: Measure) -> str:
    """Which rules decide the signals, said on every chart (the references differ)."""
    if measure.rule_set == RuleSet.MDC:
        return _("Signals follow NHS Making Data Count: a point outside the limits, 7 points rising or "
                 "falling, 2 of 3 points near a limit, or 7 points on one side of the mean.")
    return _("Signals follow the Anhøj rules (qicharts2): a point outside the 3-sigma limits, an unusually "
             "long run on one side of the centre line, or too few crossings of it.")


def _percent(measure: Measure) -> bool:
    return measure.is_proportion


def _goal(measure: Measure) -> float | None:
    if measure.goal is None:
        return None
    return measure.goal * measure.multiplier if measure.chart_type == ChartType.U else measure.goal


#: rendered markup per chart object and viewing, least recently used first, bounded by its size: a compact
#: small multiple is ~30 K characters (a title per point), a full chart with its data table ~90 K; the demo
#: network's 8 measures x 70 sites in one language (small multiples, site pages, SVG files) need ~90 M.
#: A bound by entries (1,024) was smaller than that and bench/load.py found it thrashing.
RENDERED_MAX_CHARS = 128 * 1024 * 1024
_RENDERED: OrderedDict = OrderedDict()
_RENDERED_CHARS = 0
_LOCK = threading.Lock()


def _remembered(key: tuple, chart: Chart, make) -> Markup:
    """`make()` once per key while `chart` is the chart object cached for the measure's data version
    (chart objects are replaced when the data changes, so a page of 100 small multiples is drawn once,
    not on every request). The key names everything else the markup depends on."""
    global _RENDERED_CHARS
    key = (id(chart), get_locale_name(), *key)
    with _LOCK:
        cached = _RENDERED.get(key)
        if cached is not None and cached[0] is chart:
            _RENDERED.move_to_end(key)
            return cached[1]
    markup = make()
    with _LOCK:
        replaced = _RENDERED.pop(key, None)
        _RENDERED_CHARS -= len(replaced[1]) if replaced else 0
        _RENDERED[key] = (chart, markup)
        _RENDERED_CHARS += len(markup)
        while _RENDERED_CHARS > RENDERED_MAX_CHARS and len(_RENDERED) > 1:
            _old_key, (_chart, old) = _RENDERED.popitem(last=False)
            _RENDERED_CHARS -= len(old)
    return markup


def get_locale_name() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


def _measure_key(measure: Measure) -> tuple:
    """What of a measure a chart's markup shows (a renamed measure or another goal is another chart)."""
    return (measure.id, measure.data_version, measure.name, measure.chart_type, measure.rule_set, measure.goal,
            measure.multiplier, measure.better)


def measure_chart(measure: Measure, chart: Chart, label: str, *, compact: bool = False,
                  chart_id: str = "chart", adoptions: tuple = (), cycles: tuple = ()) -> Markup:
    """The chart as SVG, rendered once per chart object and viewing."""
    return _remembered(("svg", *_measure_key(measure), label, compact, chart_id, adoptions, cycles), chart,
                       lambda: _measure_chart(measure, chart, label, compact=compact, chart_id=chart_id,
                                              adoptions=adoptions, cycles=cycles))


def chart_block(measure: Measure, chart: Chart, label: str, *, chart_id: str = "chart", adoptions: tuple = (),
                cycles: tuple = ()) -> Markup:
    """The chart with its signals and its data table (outcomes/_chart_figure.html), rendered once per
    chart object and viewing like the SVG: the table alone formats some 500 numbers in the reader's
    language (most of the outcome pages' CPU, found by bench/load.py)."""
    from flask import render_template

    from app.outcomes import render as charts  # this module, as the chart templates call it

    return _remembered(("block", *_measure_key(measure), label, chart_id, adoptions, cycles), chart,
                       lambda: Markup(render_template("outcomes/_chart_figure.html", measure=measure, chart=chart,
                                                      label=label, chart_id=chart_id, adoptions=adoptions,
                                                      cycles=cycles, charts=charts)))


def overview_network(measure: Measure, chart: Chart) -> Markup:
    """The outcome overview's network chart with its table (what app/outcomes/warm.py draws ahead)."""
    return chart_block(measure, chart, _("Network total"), chart_id="network-chart")


def small_multiple(measure: Measure, chart: Chart, label: str, site) -> Markup:
    """One site's small multiple on the outcome overview (what app/outcomes/warm.py draws ahead)."""
    return measure_chart(measure, chart, label, compact=True, chart_id=f"m-{site.code}")


def _measure_chart(measure: Measure, chart: Chart, label: str, *, compact: bool, chart_id: str,
                   adoptions: tuple, cycles: tuple = ()) -> Markup:
    if not chart.labels:
        return Markup("")
    kind = CHART_NAMES.get(ChartType(measure.chart_type), measure.chart_type)
    unit = _(" per %(n)s", n=measure.multiplier) if measure.chart_type == ChartType.U and measure.multiplier > 1 else ""
    description = _("%(measure)s%(unit)s at %(label)s, month by month from %(first)s to %(last)s, as a %(kind)s.",
                    measure=measure.name, unit=unit, label=label, first=chart.labels[0], last=chart.labels[-1],
                    kind=kind)
    annotations = [{"index": i, "label": _("Figures revised"), "kind": "revised"} for i in sorted(chart.revised)]
    annotations += adoption_marks(chart, adoptions)
    marks = cycle_marks(chart, cycles)
    annotations += marks
    if marks:
        description += " " + _("Tests of change: %(cycles)s.", cycles="; ".join(
            _("%(number)s, %(start)s to %(end)s: %(title)s", number=m["number"], start=m["start"], end=m["end"],
              title=m["label"]) for m in marks))
    return charts.control_chart_svg(chart.result, chart.labels, title=f"{measure.name} — {label}",
                                    description=description, better=measure.better, goal=_goal(measure),
                                    percent=_percent(measure), annotations=annotations, compact=compact,
                                    chart_id=chart_id)


def table_rows(measure: Measure, chart: Chart, cycles: tuple = ()) -> list[dict]:
    """The data table; with `cycles`, each row also lists the tests of change running that month."""
    rows = charts.data_table_rows(chart.result, chart.labels, percent=_percent(measure))
    running: dict[int, list[str]] = {}
    for mark in cycle_marks(chart, cycles):
        for i in range(mark["index"], mark["end_index"] + 1):
            running.setdefault(i, []).append(f"{mark['number']}: {mark['label']}")
    for i, row in enumerate(rows):
        row["revised"] = i in chart.revised
        row["cycles"] = running.get(i, [])
    return rows


def cycle_marks(chart: Chart, cycles: tuple) -> list[dict]:
    """Tests of change as numbered chart marks over the months they ran that have figures:
    cycles are ((number, "YYYY-MM" start, "YYYY-MM" end, title), ...)."""
    marks = []
    for number, start, end, title in cycles:
        inside = [i for i, month in enumerate(chart.labels) if start <= month <= end]
        if inside:
            marks.append({"index": inside[0], "end_index": inside[-1], "number": number, "label": title,
                          "kind": "cycle", "start": chart.labels[inside[0]], "end": chart.labels[inside[-1]]})
    return marks


def funnel_chart(measure: Measure, funnel: Funnel, *, chart_id: str = "funnel") -> Markup:
    if funnel.result is None:
        return Markup("")
    shown = [row.label for row in funnel.rows if not row.suppressed]
    ordered = _labels_in_result_order(funnel)
    description = _("Each site's %(measure)s from %(start)s to %(end)s against its number of patients; the "
                    "funnel shows how far chance alone would spread sites of that size.",
                    measure=measure.name.lower(), start=funnel.start, end=funnel.end)
    return charts.funnel_svg(funnel.result, ordered or shown, title=_("%(measure)s: sites compared",
                                                                       measure=measure.name),
                             description=description, percent=_percent(measure), chart_id=chart_id,
                             x_label=_("Patients in the period"))


def _labels_in_result_order(funnel: Funnel) -> list[str]:
    return list(funnel.result.labels or []) if funnel.result is not None and funnel.result.labels else []


def adoption_marks(chart: Chart, adoptions: tuple) -> list[dict]:
    """Library tools the site adopted, on the month they came into use: (("YYYY-MM", title), ...)."""
    index = {month: i for i, month in enumerate(chart.labels)}
    return [{"index": index[month], "label": _("Adopted: %(title)s", title=title), "kind": "adoption"}
            for month, title in adoptions if month in index]
