"""Server-rendered SVG charts: SPC control/run charts and proportion funnel plots.

Charts are drawn on the server so that they work without JavaScript, print crisply (they are vectors)
and carry their own accessible text. The page's Content-Security-Policy forbids ``style`` attributes
and ``<style>`` elements, so every colour and line style comes from a ``cc-`` class whose rules live
in ``app/static/css/app.css`` (section ``/* charts */``); only geometry and a few presentation
attributes are written inline. Every piece of caller-supplied text (titles, labels, site names) is
escaped, and the result is returned as ``Markup`` so templates insert it without escaping it again.

Each chart is ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>`` (the description
ends with the latest value, the centre line and the plain-English signal sentences of
``network.spc.explain_signals``), and every data point carries a ``<title>`` so hovering shows the
numbers. The same numbers are available for an HTML table beside the chart via ``data_table_rows``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from babel import Locale
from babel.numbers import NumberPattern, parse_pattern
from flask import has_request_context
from flask_babel import get_locale, gettext, lazy_gettext
from markupsafe import Markup, escape

from app.web import localize
from network.funnel import FunnelResult, proportion_limit_table
from network.spc import SPCResult, explain_signals

__all__ = ["control_chart_svg", "funnel_svg", "data_table_rows"]

SVG_NS = "http://www.w3.org/2000/svg"
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Month steps tried when thinning x-axis labels; each is aligned to January so labels read naturally.
_MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)
_ANNOTATION_KINDS = {"revised": lazy_gettext("Data revised"), "adoption": lazy_gettext("Adoption"),
                     "cycle": lazy_gettext("Change cycle")}
_DIRECTIONS = {"higher": "increase", "lower": "decrease", None: "neutral"}
_LABEL_SPACING = 64.0  # user units one "Mar 2021" x label needs, so labels never overlap
_CHAR_WIDTH = 5.7  # rough advance of one 11px legend character, for laying out the legend


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """The drawing (viewBox) and, inside it, the plot area left over after the margins."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        return self.top

    @property
    def y1(self) -> float:
        return self.height - self.bottom

    @property
    def plot_w(self) -> float:
        return max(self.x1 - self.x0, 1.0)

    @property
    def plot_h(self) -> float:
        return max(self.y1 - self.y0, 1.0)


@dataclass(frozen=True)
class _Linear:
    """Maps a data interval onto a pixel interval; a zero-width data interval maps to the middle."""

    lo: float
    hi: float
    px_lo: float
    px_hi: float

    def __call__(self, v: float) -> float:
        if self.hi == self.lo:
            return (self.px_lo + self.px_hi) / 2
        return self.px_lo + (v - self.lo) / (self.hi - self.lo) * (self.px_hi - self.px_lo)


@dataclass(frozen=True)
class _Bands:
    """One equal-width band per point, so step lines can change value exactly between two points."""

    n: int
    frame: _Frame

    @property
    def width(self) -> float:
        return self.frame.plot_w / max(self.n, 1)

    def centre(self, i: int) -> float:
        return self.frame.x0 + (i + 0.5) * self.width

    def start(self, i: int) -> float:
        return self.frame.x0 + i * self.width

    def end(self, i: int) -> float:
        return self.frame.x0 + (i + 1) * self.width


# --------------------------------------------------------------------------------------------------
# Text and number formatting
# --------------------------------------------------------------------------------------------------


def _e(text: Any) -> str:
    """Escape text for an XML text node or a double-quoted attribute."""
    return str(escape(str(text)))


def _n(v: float) -> str:
    """A coordinate: two decimals at most, never "nan" (callers only pass finite numbers)."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(float(v))


def _short_month(month: int) -> str:
    """"Sep" / "sept": the locale's own abbreviation (CLDR, through Babel), as the `month` filter uses."""
    return Locale.parse(_locale()).months["format"]["abbreviated"][month]


def _locale():
    """The reader's locale inside a request; English elsewhere (scripts, tests that draw charts directly)."""
    return (get_locale() if has_request_context() else None) or "en"


def _number(v: float, pattern: str) -> str:
    """`v` in a CLDR pattern ("#,##0.0"), with the reader's decimal and grouping signs (what Babel's
    format_decimal gives, with the pattern and locale parsed once: a data table formats hundreds)."""
    return _formatted(v, pattern, str(_locale()))


@lru_cache(maxsize=65536, typed=True)
def _formatted(v: float, pattern: str, locale: str) -> str:
    """Remembered: a chart and its table repeat their counts, centre and limits on every row, and a
    chart drawn again (another language, new figures) repeats most of its numbers (~100 bytes each)."""
    return _pattern(pattern).apply(v, _babel_locale(locale))


@lru_cache(maxsize=32)
def _pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


@lru_cache(maxsize=8)
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)


def _percent(text: str) -> str:
    """A formatted number with the reader's percent sign and spacing ("72.4%", "72,4 %")."""
    pattern = Locale.parse(_locale()).percent_formats[None].pattern
    prefix, suffix = pattern.split("#", 1)[0], pattern.rsplit("0", 1)[-1]
    return f"{prefix}{text}{suffix}"


def _fmt_number(v: float) -> str:
    """Plain numbers with precision that suits their size (rates, counts, averages)."""
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return _number(v, "#,##0")
    if a >= 10:
        return _number(v, "0.0")
    return _number(v, "0.00")


def _fmt_value(v: float, percent: bool) -> str:
    """A plotted value as people read it: "72.4%" or "3.27"; empty when the value is undefined."""
    if not _finite(v):
        return ""
    return _percent(_number(float(v), "0.0")) if percent else _fmt_number(float(v))


def _fmt_count(v: float) -> str:
    """Counts with thousands separators; non-integers (rare, e.g. weighted counts) keep one decimal."""
    if abs(v - round(v)) < 1e-6:
        return _number(int(round(v)), "#,##0")
    return _number(v, "#,##0.0")


def _tick_decimals(ticks: Sequence[float]) -> int:
    """Fewest decimals that print every tick exactly (2.5 needs one, 20 needs none)."""
    for d in range(5):
        if all(abs(round(t, d) - t) < 1e-9 for t in ticks):
            return d
    return 5


def _fmt_tick(t: float, decimals: int, percent: bool, thousands: bool = False) -> str:
    pattern = ("#,##0" if thousands else "0") + ("." + "0" * decimals if decimals else "")
    text = _number(t, pattern)
    return _percent(text) if percent else text


def _parse_month(label: str) -> tuple[int, int] | None:
    """(year, month) of a "YYYY-MM" label, None for anything else (shown as given)."""
    m = _MONTH_RE.match(str(label))
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    return (year, month) if 1 <= month <= 12 else None


def _month_label(label: str) -> str:
    """ "2021-03" -> "Mar 2021"; other labels are kept as they are."""
    ym = _parse_month(label)
    return f"{_short_month(ym[1])} {ym[0]}" if ym else str(label)


def _capitalise(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _check_id(chart_id: str) -> None:
    """Ids end up in ``id``/``aria-labelledby``/``url(#…)``; only a plain XML name is safe in all three."""
    if not _ID_RE.match(chart_id):
        raise ValueError("chart_id must start with a letter and contain only letters, digits, '-' and '_'")


# --------------------------------------------------------------------------------------------------
# Scales and ticks
# --------------------------------------------------------------------------------------------------


def _nice_ticks(lo: float, hi: float) -> list[float]:
    """4 to 6 round tick values (steps of 1, 2, 2.5 or 5 × 10^k) whose ends enclose [lo, hi].

    The tightest enclosing set wins, so the data fill the plot; the ends become the axis range.
    """
    if not hi > lo:
        hi = lo + 1.0
    base = 10.0 ** math.floor(math.log10((hi - lo) / 5))
    best: tuple[tuple[float, ...], float, float, int] | None = None
    for mult in (1, 2, 2.5, 5, 10, 20, 25, 50):
        step = mult * base
        first = math.floor(lo / step + 1e-9) * step
        last = math.ceil(hi / step - 1e-9) * step
        count = int(round((last - first) / step)) + 1
        extent = last - first
        key = (0.0, extent, abs(count - 5)) if 4 <= count <= 6 else (1.0, abs(count - 5), extent)
        if best is None or key < best[0]:
            best = (key, first, step, count)
    assert best is not None
    _, first, step, count = best
    return [round(first + k * step, 10) for k in range(count)]


def _value_range(values: Iterable[float], percent: bool) -> tuple[float, float]:
    """Data range padded by 8% (or a fixed amount when all values are equal), clipped for percents.

    Percentages stay within [0, 100] and non-negative data never get a negative axis.
    """
    finite = [float(v) for v in values if _finite(v)]
    if not finite:
        return (0.0, 100.0) if percent else (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    span = hi - lo
    pad = span * 0.08 if span > 0 else (abs(hi) * 0.1 or 1.0)
    lo_p, hi_p = lo - pad, hi + pad
    if lo >= 0:
        lo_p = max(lo_p, 0.0)
    if percent:
        lo_p, hi_p = max(lo_p, 0.0), min(hi_p, 100.0)
    if not hi_p > lo_p:
        hi_p = lo_p + 1.0
    return lo_p, hi_p


# --------------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------------


def _circle(x: float, y: float, r: float, cls: str) -> str:
    return f'<circle class="{cls}" cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}"/>'


def _diamond(x: float, y: float, r: float, cls: str) -> str:
    d = f"M{_n(x)},{_n(y - r)} L{_n(x + r)},{_n(y)} L{_n(x)},{_n(y + r)} L{_n(x - r)},{_n(y)} Z"
    return f'<path class="{cls}" d="{d}"/>'


def _square(x: float, y: float, r: float, cls: str) -> str:
    return f'<rect class="{cls}" x="{_n(x - r)}" y="{_n(y - r)}" width="{_n(2 * r)}" height="{_n(2 * r)}"/>'


def _triangle(x: float, y: float, r: float, cls: str) -> str:
    d = f"M{_n(x)},{_n(y - r)} L{_n(x + r)},{_n(y + r * 0.8)} L{_n(x - r)},{_n(y + r * 0.8)} Z"
    return f'<path class="{cls}" d="{d}"/>'


def _hline(x0: float, x1: float, y: float, cls: str) -> str:
    return f'<line class="{cls}" x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}"/>'


def _vline(x: float, y0: float, y1: float, cls: str) -> str:
    return f'<line class="{cls}" x1="{_n(x)}" y1="{_n(y0)}" x2="{_n(x)}" y2="{_n(y1)}"/>'


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{_e(text)}</text>'


def _path_d(segments: Sequence[Sequence[tuple[float, float]]]) -> str:
    """SVG path data with one ``M … L …`` subpath per unbroken segment (gaps stay gaps)."""
    parts = []
    for seg in segments:
        if seg:
            head, *rest = seg
            parts.append(f"M{_n(head[0])},{_n(head[1])}" + "".join(f" L{_n(x)},{_n(y)}" for x, y in rest))
    return " ".join(parts)


def _path(d: str, cls: str, clip: str | None = None) -> str:
    if not d:
        return ""
    clip_attr = f' clip-path="url(#{clip})"' if clip else ""
    return f'<path class="{cls}" d="{d}" fill="none"{clip_attr}/>'


# --------------------------------------------------------------------------------------------------
# Control chart pieces
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MarkerSizes:
    point: float
    signal: float
    run: float
    ann: float


_FULL_SIZES = _MarkerSizes(point=3.5, signal=6.0, run=4.5, ann=4.5)
_COMPACT_SIZES = _MarkerSizes(point=2.2, signal=4.0, run=3.0, ann=2.5)


@dataclass(frozen=True)
class _Plot:
    """One control chart being drawn: the result, how its values are shown, and where things go.

    Every layer function takes this one object, so each stays small and none recomputes scales.
    """

    result: SPCResult
    months: list[str]
    factor: float
    percent: bool
    frame: _Frame
    bands: _Bands
    ys: _Linear
    sizes: _MarkerSizes
    compact: bool
    clip: str

    def shown(self, raw: float) -> float:
        """A value of ``result`` in display units (percent or as is)."""
        return float(raw) * self.factor

    def fmt(self, raw: float) -> str:
        return _fmt_value(self.shown(raw), self.percent) if _finite(raw) else ""

    def y_px(self, raw: float) -> float:
        return self.ys(self.shown(raw))


def _display_factor(result: SPCResult, percent: bool) -> float:
    """Factor from ``result.y`` to what is drawn: proportions become percentages (unless the chart was
    already multiplied by 100)."""
    multiply = float(result.multiply) or 1.0
    return 100.0 / multiply if percent else 1.0


_Segments = list[list[tuple[float, float]]]


def _step_segments(plot: _Plot, values: np.ndarray) -> _Segments:
    """A centre line or limit as steps: flat across each point's band, vertical between bands.

    Undefined values break the line, and so does a new phase, so a step never joins two phases.
    """
    bands, parts = plot.bands, np.asarray(plot.result.part)
    segments: _Segments = []
    current: list[tuple[float, float]] = []
    prev: float | None = None
    for i, v in enumerate(values.tolist()):
        if not _finite(v) or (i > 0 and parts[i] != parts[i - 1]):
            if current:
                segments.append(current)
            current, prev = [], None
            if not _finite(v):
                continue
        y = plot.y_px(v)
        if prev is None:
            current = [(bands.start(i), y), (bands.end(i), y)]
        elif v == prev:
            current[-1] = (bands.end(i), y)
        else:
            current += [(bands.start(i), y), (bands.end(i), y)]
        prev = v
    if current:
        segments.append(current)
    return segments


def _data_segments(plot: _Plot) -> _Segments:
    """The data line through point centres; a missing point leaves a gap rather than a false join."""
    segments: _Segments = []
    current: list[tuple[float, float]] = []
    for i, v in enumerate(plot.result.y.tolist()):
        if _finite(v):
            current.append((plot.bands.centre(i), plot.y_px(v)))
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return segments


def _signal_runs(result: SPCResult) -> list[list[int]]:
    """Point indices of the runs behind a runs signal, one list per run.

    Runs are counted as the Anhøj analysis counts them: per phase, over included points, skipping points
    on the centre line. When the longest run is too long, every run over the limit is returned; when the
    signal comes from too few crossings, the longest run(s) are shown as the visible sign of the shift.
    """
    runs: list[list[int]] = []
    for p in np.unique(result.part):
        in_phase = np.flatnonzero(result.part == p)
        if not bool(np.asarray(result.runs_signal)[in_phase].any()):
            continue
        idx = in_phase[np.asarray(result.include, bool)[in_phase]]
        with np.errstate(invalid="ignore"):
            side = np.sign(result.y[idx] - result.cl[idx])
        keep = (side != 0) & ~np.isnan(side)
        pos, side = idx[keep], side[keep]
        if pos.size == 0:
            continue
        starts = np.concatenate(([0], np.flatnonzero(side[1:] != side[:-1]) + 1))
        ends = np.concatenate((starts[1:], [pos.size]))
        lengths = ends - starts
        limit = float(result.longest_run_max[in_phase[0]])
        chosen = lengths > limit if _finite(limit) and lengths.max() > limit else lengths == lengths.max()
        runs += [pos[a:b].tolist() for a, b, c in zip(starts, ends, chosen) if c]
    return runs


def _phase_starts(parts: np.ndarray) -> list[int]:
    """Positions where a new phase begins (a boundary is drawn just before each)."""
    if parts.size < 2:
        return []
    return [int(i) + 1 for i in np.flatnonzero(parts[1:] != parts[:-1])]


def _numerator(result: SPCResult, i: int) -> float | None:
    """The count behind a rate: y / multiply × n (None for charts without a denominator)."""
    y, n = result.y[i], result.n[i]
    if not (_finite(y) and _finite(n)):
        return None
    return float(y) / (float(result.multiply) or 1.0) * float(n)


def _signal_word(sigma: bool, in_run: bool) -> str:
    if sigma:
        return gettext("outside limits")
    return gettext("part of a run") if in_run else ""


def _point_title(plot: _Plot, i: int, in_run: bool) -> str:
    """ "Mar 2021: 72.4% (143 of 198)", then why the point is marked, if it is."""
    result = plot.result
    if not _finite(result.y[i]):
        return gettext("%(month)s: no data", month=plot.months[i])
    text = f"{plot.months[i]}: {plot.fmt(result.y[i])}"
    num = _numerator(result, i)
    if num is not None:
        text += " " + gettext("(%(count)s of %(total)s)", count=_fmt_count(num), total=_fmt_count(float(result.n[i])))
    if not bool(result.include[i]):
        text += " — " + gettext("excluded from the calculations")
    word = _signal_word(bool(result.sigma_signal[i]), in_run)
    return f"{text} — {word}" if word else text


def _point_classes(result: SPCResult, i: int, in_run: bool) -> str:
    classes = ["cc-point"]
    if bool(result.sigma_signal[i]):
        classes.append("cc-sigma")
    if in_run:
        classes.append("cc-run")
    if not bool(result.include[i]):
        classes.append("cc-excluded")
    if not _finite(result.y[i]):
        classes.append("cc-missing")
    return " ".join(classes)


def _point_mark(plot: _Plot, i: int, in_run: bool) -> str:
    """Shape, not only colour, tells point kinds apart: diamond = outside the limits, square = part of
    a run, circle = ordinary (CSS makes excluded points hollow)."""
    y = plot.result.y[i]
    if not _finite(y):
        return ""
    cx, cy = plot.bands.centre(i), plot.y_px(y)
    if bool(plot.result.sigma_signal[i]):
        return _diamond(cx, cy, plot.sizes.signal, "cc-mark")
    if in_run:
        return _square(cx, cy, plot.sizes.run, "cc-mark")
    return _circle(cx, cy, plot.sizes.point, "cc-mark")


def _point_groups(plot: _Plot, run_members: set[int]) -> list[str]:
    """One ``<g>`` per point (missing ones too): its ``<title>``, a transparent full-height column so
    hovering anywhere above the month shows the numbers, and the marker."""
    frame, bands = plot.frame, plot.bands
    out = []
    for i in range(len(plot.result)):
        in_run = i in run_members
        hit = (f'<rect class="cc-hit" x="{_n(bands.start(i))}" y="{_n(frame.y0)}" '
               f'width="{_n(bands.width)}" height="{_n(frame.plot_h)}"/>')
        title = _e(_point_title(plot, i, in_run))
        out.append(f'<g class="{_point_classes(plot.result, i, in_run)}"><title>{title}</title>'
                   f'{hit}{_point_mark(plot, i, in_run)}</g>')
    return out


def _validated_annotations(annotations: Sequence[Mapping[str, Any]] | None,
                           n: int) -> list[dict[str, Any]]:
    """Annotations are written by code, not users: a wrong index or kind is a bug, so fail loudly."""
    checked = []
    for a in annotations or ():
        index, kind = a.get("index"), a.get("kind")
        if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < n:
            raise ValueError(f"annotation index must be a position in the series (0..{n - 1})")
        if kind not in _ANNOTATION_KINDS:
            raise ValueError(f"annotation kind must be one of {', '.join(sorted(_ANNOTATION_KINDS))}")
        note = {"index": int(index), "kind": str(kind), "label": str(a.get("label", ""))}
        if kind == "cycle" and a.get("number") is not None:
            end = a.get("end_index", index)
            if not isinstance(end, (int, np.integer)) or not int(index) <= int(end) < n:
                raise ValueError("a cycle's end_index must be a position at or after its index")
            note.update(number=str(a["number"]), end_index=int(end))
        checked.append(note)
    return checked


def _annotation_marks(plot: _Plot, annotations: list[dict[str, Any]]) -> list[str]:
    """Revised points get a ring round the point; adoptions (triangle) and change cycles (circle) get a
    small marker along the bottom of the plot, stacked when several fall on one month."""
    out = []
    stacked: dict[int, int] = {}
    sizes, frame = plot.sizes, plot.frame
    for a in annotations:
        i, kind = a["index"], a["kind"]
        if "number" in a:
            out.append(_numbered_cycle(plot, a, stacked))
            continue
        title = f"{plot.months[i]} — {_ANNOTATION_KINDS[kind]}" + (f": {a['label']}" if a["label"] else "")
        x = plot.bands.centre(i)
        if kind == "revised":
            y = plot.result.y[i]
            cy = plot.y_px(y) if _finite(y) else frame.y1 - sizes.ann * 2
            shape = _circle(x, cy, sizes.signal + 2.5, "cc-ann-ring")
        else:
            level = stacked.get(i, 0)
            stacked[i] = level + 1
            cy = frame.y1 - sizes.ann - 2 - level * (2 * sizes.ann + 2)
            shape = (_triangle if kind == "adoption" else _circle)(x, cy, sizes.ann, "cc-ann-mark")
        out.append(f'<g class="cc-ann cc-ann-{kind}"><title>{_e(title)}</title>{shape}</g>')
    return out


def _numbered_cycle(plot: _Plot, a: dict[str, Any], stacked: dict[int, int]) -> str:
    """A test of change: a bar along the bottom over the months it ran, with its number in a circle at the
    first month; the group's title names the months, the number and the cycle."""
    i, end, sizes, frame = a["index"], a["end_index"], plot.sizes, plot.frame
    level = max(stacked.get(k, 0) for k in range(i, end + 1))
    for k in range(i, end + 1):
        stacked[k] = level + 1
    r = sizes.ann + 2.5
    cy = frame.y1 - r - 2 - level * (2 * r + 3)
    x0, x1 = plot.bands.centre(i), plot.bands.centre(end)
    span = plot.months[i] if end == i else gettext("%(start)s to %(end)s", start=plot.months[i], end=plot.months[end])
    title = f"{span} — {_ANNOTATION_KINDS['cycle']} {a['number']}" + (f": {a['label']}" if a["label"] else "")
    bar = (f'<line class="cc-ann-span" x1="{_n(x0)}" y1="{_n(cy)}" x2="{_n(x1)}" y2="{_n(cy)}"/>'
           if end > i else "")
    return (f'<g class="cc-ann cc-ann-cycle cc-ann-numbered" data-cycle="{_e(a["number"])}"><title>{_e(title)}</title>'
            f'{bar}{_circle(x0, cy, r, "cc-ann-mark")}'
            f'<text class="cc-ann-number" x="{_n(x0)}" y="{_n(cy)}" text-anchor="middle" dominant-baseline="central"'
            f' aria-hidden="true">{_e(a["number"])}</text></g>')


def _run_bands(plot: _Plot, runs: list[list[int]]) -> list[str]:
    """A pale band behind each signalling run, so the run reads as one event, not scattered squares."""
    out = []
    for run in runs:
        x0, x1 = plot.bands.start(min(run)), plot.bands.end(max(run))
        out.append(f'<rect class="cc-run-band" x="{_n(x0)}" y="{_n(plot.frame.y0)}" width="{_n(x1 - x0)}" '
                   f'height="{_n(plot.frame.plot_h)}"/>')
    return out


def _limit_lines(plot: _Plot) -> list[str]:
    """2-sigma lines first (lightest, underneath), then control limits, then the centre line on top."""
    layers = (("lcl_95", "cc-limit-2s cc-lcl-2s"), ("ucl_95", "cc-limit-2s cc-ucl-2s"),
              ("lcl", "cc-limit cc-lcl"), ("ucl", "cc-limit cc-ucl"), ("cl", "cc-cl"))
    return [_path(_path_d(_step_segments(plot, np.asarray(getattr(plot.result, key), float))), cls, plot.clip)
            for key, cls in layers]


def _goal_line(plot: _Plot, goal: float | None) -> list[str]:
    if goal is None:
        return []
    frame, gy = plot.frame, plot.y_px(goal)
    goal_title = gettext("Goal: %(value)s", value=plot.fmt(goal))
    out = [f'<g class="cc-goal-group"><title>{_e(goal_title)}</title>'
           f'{_hline(frame.x0, frame.x1, gy, "cc-goal")}</g>']
    if not plot.compact:
        out.append(_text(frame.x1 + 4, gy + 3.5, gettext("Goal"), "cc-goal-label", "start"))
    return out


def _phase_lines(plot: _Plot) -> list[str]:
    frame = plot.frame
    return [_vline(plot.bands.start(i), frame.y0, frame.y1, "cc-phase")
            for i in _phase_starts(np.asarray(plot.result.part))]


def _x_label_indices(labels: Sequence[str], max_labels: int) -> list[int]:
    """Which points get an x label: every k-th month aligned to January (k = 1, 2, 3, 6, 12, …) with k
    as small as fits, so labels read "Jan 2020, Jul 2020, …"; labels that are not months are thinned
    by position instead."""
    n = len(labels)
    max_labels = max(max_labels, 1)
    parsed = [_parse_month(lab) for lab in labels]
    if all(parsed):
        for step in _MONTH_STEPS:
            chosen = [i for i, ym in enumerate(parsed) if ym and (ym[0] * 12 + ym[1] - 1) % step == 0]
            if chosen and len(chosen) <= max_labels:
                return chosen
        return [0]
    step = max(1, math.ceil(n / max_labels))
    return list(range(0, n, step))


def _x_axis(plot: _Plot, labels: Sequence[str]) -> list[str]:
    """Baseline plus thinned month labels; compact charts label only the first and last month."""
    frame, months = plot.frame, plot.months
    out = [_hline(frame.x0, frame.x1, frame.y1, "cc-axis")]
    if not labels:
        return out
    if plot.compact:
        out.append(_text(frame.x0, frame.y1 + 11, months[0], "cc-tick-label", "start"))
        if len(labels) > 1:
            out.append(_text(frame.x1, frame.y1 + 11, months[-1], "cc-tick-label", "end"))
        return out
    for i in _x_label_indices(labels, int(frame.plot_w // _LABEL_SPACING)):
        x = plot.bands.centre(i)
        out.append(_vline(x, frame.y1, frame.y1 + 4, "cc-axis"))
        out.append(_text(x, frame.y1 + 17, months[i], "cc-tick-label"))
    return out


def _y_axis(ticks: Sequence[float], ys: _Linear, frame: _Frame, percent: bool, compact: bool) -> list[str]:
    """Light gridlines at every tick; labels at every tick (compact: only the lowest and highest)."""
    decimals = _tick_decimals(ticks)
    out = []
    for k, t in enumerate(ticks):
        y = ys(t)
        out.append(_hline(frame.x0, frame.x1, y, "cc-grid"))
        if compact and 0 < k < len(ticks) - 1:
            continue
        out.append(_text(frame.x0 - 4, y + 3.5, _fmt_tick(t, decimals, percent), "cc-tick-label", "end"))
    return out


# --------------------------------------------------------------------------------------------------
# Legend
# --------------------------------------------------------------------------------------------------

_Swatch = Callable[[], str]


def _swatch_line(cls: str) -> _Swatch:
    return lambda: _hline(0, 18, 0, cls)


def _swatch_marker(shape: Callable[[float, float, float, str], str], group_cls: str, r: float,
                   mark_cls: str = "cc-mark") -> _Swatch:
    return lambda: f'<g class="{group_cls}">{shape(9, 0, r, mark_cls)}</g>'


def _swatch_data() -> str:
    return _hline(0, 18, 0, "cc-data") + f'<g class="cc-point">{_circle(9, 0, 3.5, "cc-mark")}</g>'


def _swatch_phase() -> str:
    return _vline(9, -6, 6, "cc-phase")


def _legend(entries: Sequence[tuple[str, _Swatch]], x0: float, x1: float,
            y0: float) -> tuple[list[str], int]:
    """Lay the legend out in rows that fit the width; returns the markup and the number of rows."""
    out, x, y, rows = [], x0, y0, 1
    for label, swatch in entries:
        w = 24 + len(label) * _CHAR_WIDTH + 14
        if x + w > x1 and x > x0:
            x, y, rows = x0, y + 16, rows + 1
        out.append(f'<g class="cc-legend-item" transform="translate({_n(x)},{_n(y)})">{swatch()}'
                   f'{_text(24, 4, label, "cc-legend-label", "start")}</g>')
        x += w
    return out, rows


def _legend_group(items: list[str]) -> list[str]:
    """The legend in one ``cc-legend`` group, so its swatches (which reuse the plot's classes to look
    the same) can be told apart from plotted marks."""
    return [f'<g class="cc-legend">{"".join(items)}</g>'] if items else []


def _control_legend(result: SPCResult, goal: float | None, has_runs: bool,
                    annotations: list[dict[str, Any]]) -> list[tuple[str, _Swatch]]:
    """Legend entries for what this chart actually shows, nothing more."""
    entries: list[tuple[str, _Swatch]] = [
        (gettext("Data"), _swatch_data),
        (gettext("Median") if result.chart == "run" else gettext("Centre line"), _swatch_line("cc-cl")),
    ]
    if np.isfinite(result.ucl).any() or np.isfinite(result.lcl).any():
        entries.append((gettext("Control limits"), _swatch_line("cc-limit")))
    if np.isfinite(result.ucl_95).any() or np.isfinite(result.lcl_95).any():
        entries.append((gettext("2-sigma limits"), _swatch_line("cc-limit-2s")))
    if goal is not None:
        entries.append((gettext("Goal"), _swatch_line("cc-goal")))
    if np.asarray(result.sigma_signal, bool).any():
        entries.append((gettext("Outside limits"), _swatch_marker(_diamond, "cc-point cc-sigma", 5.5)))
    if has_runs:
        entries.append((gettext("Part of a run"), _swatch_marker(_square, "cc-point cc-run", 4)))
    if not np.asarray(result.include, bool).all():
        entries.append((gettext("Excluded"), _swatch_marker(_circle, "cc-point cc-excluded", 3.5)))
    if np.unique(result.part).size > 1:
        entries.append((gettext("New phase"), _swatch_phase))
    kinds = {a["kind"] for a in annotations}
    for kind, shape in (("adoption", _triangle), ("cycle", _circle)):
        if kind in kinds:
            swatch = _swatch_marker(shape, f"cc-ann cc-ann-{kind}", 4.5, "cc-ann-mark")
            entries.append((_ANNOTATION_KINDS[kind], swatch))
    if "revised" in kinds:
        entries.append((_ANNOTATION_KINDS["revised"],
                        lambda: f'<g class="cc-ann cc-ann-revised">{_circle(9, 0, 6, "cc-ann-ring")}</g>'))
    return entries


# --------------------------------------------------------------------------------------------------
# Descriptions
# --------------------------------------------------------------------------------------------------


def _control_description(result: SPCResult, months: Sequence[str], description: str, direction: str,
                         goal: float | None, factor: float, percent: bool) -> str:
    """The caller's description, then the latest value, centre line, limits, goal and every signal in
    words, so a screen-reader user learns what a sighted reader sees."""
    parts = [description.strip()] if description.strip() else []
    present = np.flatnonzero(np.isfinite(result.y))
    if present.size == 0:
        parts.append(gettext("No data yet."))
    else:
        last = int(present[-1])
        parts.append(gettext("Latest value (%(month)s): %(value)s.", month=months[last],
                             value=_fmt_value(result.y[last] * factor, percent)))
        centre = gettext("Median") if result.chart == "run" else gettext("Centre line")
        if _finite(result.cl[last]):
            parts.append(f"{centre}: {_fmt_value(result.cl[last] * factor, percent)}.")
        lcl, ucl = result.lcl[last], result.ucl[last]
        if _finite(lcl) and _finite(ucl):
            parts.append(gettext("Control limits: %(low)s to %(high)s.", low=_fmt_value(lcl * factor, percent),
                                 high=_fmt_value(ucl * factor, percent)))
    if goal is not None:
        parts.append(gettext("Goal: %(value)s.", value=_fmt_value(goal * factor, percent)))
    sentences = explain_signals(result, direction, labels=list(months)) if len(result) else []
    if sentences:
        parts.append(gettext("Signals: %(signals)s.", signals="; ".join(_capitalise(localize(s)) for s in sentences)))
    elif present.size:
        parts.append(gettext("No signals: the variation is what this process usually produces."))
    return " ".join(parts)


def _svg_open(chart_id: str, width: float, height: float, kind: str, compact: bool, title: str,
              desc: str) -> str:
    classes = f"cc-chart cc-{kind}" + (" cc-compact" if compact else "")
    return (
        f'<svg xmlns="{SVG_NS}" id="{chart_id}" class="{classes}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{_e(title)}</title><desc id="{chart_id}-desc">{_e(desc)}</desc>'
    )


def _clip_def(chart_id: str, frame: _Frame) -> str:
    """Lines are clipped to the plot area so a limit beyond the axis range never spills into margins."""
    return (f'<defs><clipPath id="{chart_id}-clip"><rect x="{_n(frame.x0)}" y="{_n(frame.y0)}" '
            f'width="{_n(frame.plot_w)}" height="{_n(frame.plot_h)}"/></clipPath></defs>')


# --------------------------------------------------------------------------------------------------
# Public: control chart
# --------------------------------------------------------------------------------------------------


def control_chart_svg(
    result: SPCResult,
    labels: Sequence[str],
    *,
    title: str,
    description: str,
    better: str | None = "higher",
    goal: float | None = None,
    percent: bool = True,
    annotations: Sequence[Mapping[str, Any]] | None = None,
    width: int | None = None,
    height: int | None = None,
    compact: bool = False,
    chart_id: str = "chart",
) -> Markup:
    """An SPC chart (run, p, u, i, …) as accessible, stylesheet-driven SVG.

    ``labels`` are "YYYY-MM" months, one per point. ``better`` ("higher", "lower" or None) decides
    whether a signal is called an improvement or a concern. ``goal`` is in the units of ``result.y``
    (a proportion 0–1 for an ordinary p-chart). ``percent`` shows proportions as percentages.
    ``annotations``: ``{"index", "label", "kind"}`` with kind "revised", "adoption" or "cycle".
    ``width``/``height`` only set the viewBox (default 720×300, or 240×110 when ``compact``); the
    element itself scales to its container. ``chart_id`` must be unique on the page.
    """
    _check_id(chart_id)
    _check_control_args(result, labels, better, goal)
    notes = _validated_annotations(annotations, len(result))
    months = [_month_label(lab) for lab in labels]
    factor = _display_factor(result, percent)
    runs = _signal_runs(result)
    w = float(width or (240 if compact else 720))
    h = float(height or (110 if compact else 300))
    if compact:
        legend: list[str] = []
        frame, sizes = _Frame(w, h, 32, 8, 6, 16), _COMPACT_SIZES
    else:
        legend, rows = _legend(_control_legend(result, goal, bool(runs), notes), 52, w - 44, 14)
        frame, sizes = _Frame(w, h, 52, 44, 14 + rows * 16 + 6, 28), _FULL_SIZES
    ticks = _control_ticks(result, goal, factor, percent)
    ys = _Linear(ticks[0], ticks[-1], frame.y1, frame.y0)
    plot = _Plot(result, months, factor, percent, frame, _Bands(len(result), frame), ys, sizes, compact,
                 f"{chart_id}-clip")

    body = [
        _clip_def(chart_id, frame),
        *_run_bands(plot, runs),
        *_y_axis(ticks, ys, frame, percent, compact),
        *_limit_lines(plot),
        *_goal_line(plot, goal),
        *_phase_lines(plot),
        _path(_path_d(_data_segments(plot)), "cc-data", plot.clip),
        *_point_groups(plot, {i for run in runs for i in run}),
        *_annotation_marks(plot, notes),
        *_x_axis(plot, labels),
        *([] if len(result) else [_text((frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2, gettext("No data yet"),
                                        "cc-empty")]),
        *_legend_group(legend),
    ]
    desc = _control_description(result, months, description, _DIRECTIONS[better], goal, factor, percent)
    return Markup(_svg_open(chart_id, w, h, "control", compact, title, desc) + "".join(body) + "</svg>")


def _check_control_args(result: SPCResult, labels: Sequence[str], better: str | None,
                        goal: float | None) -> None:
    """Reject arguments that would silently draw a wrong chart."""
    if better not in _DIRECTIONS:
        raise ValueError("better must be 'higher', 'lower' or None")
    if len(labels) != len(result):
        raise ValueError("labels must have one entry per point")
    if goal is not None and not _finite(goal):
        raise ValueError("goal must be a finite number")


def _control_ticks(result: SPCResult, goal: float | None, factor: float, percent: bool) -> list[float]:
    """Y ticks covering the data, centre line, control limits and goal (2-sigma lines lie inside)."""
    values = [v * factor for key in ("y", "cl", "lcl", "ucl")
              for v in np.asarray(getattr(result, key), float).tolist()]
    if goal is not None:
        values.append(goal * factor)
    return _nice_ticks(*_value_range(values, percent))


# --------------------------------------------------------------------------------------------------
# Public: table rows
# --------------------------------------------------------------------------------------------------


def data_table_rows(
    result: SPCResult, labels: Sequence[str], *, percent: bool | None = None
) -> list[dict[str, Any]]:
    """The chart's numbers, one dict per point, formatted exactly as on the chart, for an HTML table.

    Keys: ``month`` ("Mar 2021"), ``period`` (the label as given), ``numerator`` and ``denominator``
    (formatted counts, "" for charts without a denominator), ``value``, ``cl``, ``lcl``, ``ucl``
    ("" where undefined), ``signal`` ("outside limits", "part of a run" or "") and ``excluded``.
    ``percent`` defaults to True for p-charts only.
    """
    if len(labels) != len(result):
        raise ValueError("labels must have one entry per point")
    pct = result.chart == "p" if percent is None else percent
    factor = _display_factor(result, pct)
    run_members = {i for run in _signal_runs(result) for i in run}
    rows = []
    for i, label in enumerate(labels):
        num = _numerator(result, i)
        den = result.n[i]
        rows.append({
            "month": _month_label(label),
            "period": str(label),
            "numerator": _fmt_count(num) if num is not None else "",
            "denominator": _fmt_count(float(den)) if _finite(den) else "",
            "value": _fmt_value(result.y[i] * factor, pct),
            "cl": _fmt_value(result.cl[i] * factor, pct),
            "lcl": _fmt_value(result.lcl[i] * factor, pct),
            "ucl": _fmt_value(result.ucl[i] * factor, pct),
            "signal": _signal_word(bool(result.sigma_signal[i]), i in run_members),
            "excluded": not bool(result.include[i]),
        })
    return rows


# --------------------------------------------------------------------------------------------------
# Public: funnel plot
# --------------------------------------------------------------------------------------------------


def _funnel_grid(den: np.ndarray) -> np.ndarray:
    """Denominators to sample the limit curves at: geometric spacing puts most samples at small n,
    where the funnel bends. Equal denominators get a short stretch either side so the limits show."""
    lo, hi = float(den.min()), float(den.max())
    if hi <= lo:
        lo, hi = lo * 0.5, lo * 1.5
    return np.unique(np.concatenate((np.geomspace(lo, hi, 240), [lo, hi])))


def _funnel_limits(result: FunnelResult, grid: np.ndarray) -> dict[str, np.ndarray]:
    """The drawn limit set (over-dispersion adjusted only when the funnel itself judged on it)."""
    tau2 = result.tau2 if result.draw_adjusted else 0.0
    return proportion_limit_table(grid, result.target, tau2, 1.0)


def _funnel_description(result: FunnelResult, labels: Sequence[str], description: str,
                        percent: bool) -> str:
    """Count, target and each outlier by name and direction, for screen-reader users."""
    factor = 100.0 if percent else 1.0
    limit = "95%" if result.limit == 95 else "99.8%"
    parts = [description.strip()] if description.strip() else []
    parts.append(gettext("%(n)s units. Target (overall): %(value)s.", n=len(result),
                         value=_fmt_value(result.target * factor, percent)))
    if result.draw_adjusted:
        parts.append(gettext("Limits are widened for over-dispersion between units."))
    outliers = [
        f"{labels[i]} ({gettext('above') if result.rr[i] > result.target else gettext('below')})"
        for i in np.flatnonzero(np.asarray(result.outlier) == 1)
    ]
    if outliers:
        parts.append(gettext("%(n)s outside the %(limit)s limits: %(units)s.", n=len(outliers), limit=limit,
                             units=", ".join(outliers)))
    else:
        parts.append(gettext("No unit is outside the %(limit)s limits.", limit=limit))
    return " ".join(parts)


def _funnel_points(result: FunnelResult, labels: Sequence[str], xs: _Linear, ys: _Linear, factor: float,
                   percent: bool) -> list[str]:
    """Units as circles, outliers as larger diamonds drawn last (on top), each with a ``<title>``."""
    limit = "95%" if result.limit == 95 else "99.8%"
    ordinary, flagged = [], []
    for i in range(len(result)):
        value = float(result.rr[i]) * factor
        title = gettext("%(unit)s: %(value)s of %(total)s", unit=labels[i], value=_fmt_value(value, percent),
                        total=_fmt_count(float(result.denominator[i])))
        x, y = xs(float(result.denominator[i])), ys(value)
        if int(result.outlier[i]) == 1:
            side = gettext("above") if result.rr[i] > result.target else gettext("below")
            title += " — " + gettext("outside the %(limit)s limits (%(side)s)", limit=limit, side=side)
            flagged.append(f'<g class="cc-unit cc-outlier"><title>{_e(title)}</title>'
                           f'{_diamond(x, y, 6, "cc-mark")}</g>')
        else:
            ordinary.append(f'<g class="cc-unit"><title>{_e(title)}</title>'
                            f'{_circle(x, y, 3.5, "cc-mark")}</g>')
    return ordinary + flagged


def _funnel_legend(limit: int) -> list[tuple[str, _Swatch]]:
    return [
        (gettext("Unit"), _swatch_marker(_circle, "cc-unit", 3.5)),
        (gettext("Outside %(limit)s limits", limit="95%" if limit == 95 else "99.8%"),
         _swatch_marker(_diamond, "cc-unit cc-outlier", 5.5)),
        (gettext("Target"), _swatch_line("cc-target")),
        (gettext("%(limit)s limits", limit="95%"), _swatch_line("cc-funnel-95")),
        (gettext("%(limit)s limits", limit="99.8%"), _swatch_line("cc-funnel-998")),
    ]


def _funnel_x_axis(ticks: Sequence[float], xs: _Linear, frame: _Frame, x_label: str) -> list[str]:
    decimals = _tick_decimals(ticks)
    out = [_hline(frame.x0, frame.x1, frame.y1, "cc-axis")]
    for t in ticks:
        out.append(_vline(xs(t), frame.y1, frame.y1 + 4, "cc-axis"))
        label = _fmt_tick(t, decimals, False, thousands=True)
        out.append(_text(xs(t), frame.y1 + 17, label, "cc-tick-label"))
    out.append(_text((frame.x0 + frame.x1) / 2, frame.y1 + 36, x_label, "cc-axis-label"))
    return out


def _funnel_curves(grid: np.ndarray, limits: dict[str, np.ndarray], xs: _Linear, ys: _Linear,
                   clip: str) -> list[str]:
    """The four limit curves as polylines through the sampled denominators (clipped to the plot)."""
    gx = [xs(float(v)) for v in grid]
    out = []
    for key, cls in (("ll95", "cc-funnel-95"), ("ul95", "cc-funnel-95"), ("ll998", "cc-funnel-998"),
                     ("ul998", "cc-funnel-998")):
        segment = [(x, ys(float(v))) for x, v in zip(gx, limits[key].tolist()) if _finite(v)]
        out.append(_path(_path_d([segment]), f"{cls} cc-funnel-{key}", clip))
    return out


def funnel_svg(
    funnel_result: FunnelResult,
    labels: Sequence[str],
    *,
    title: str,
    description: str,
    percent: bool = True,
    width: int = 720,
    height: int = 360,
    chart_id: str = "funnel",
    x_label: str = "Denominator",
) -> Markup:
    """A proportion funnel plot (``network.funnel.proportion_funnel``) as accessible SVG.

    x = each unit's denominator, y = its proportion; the target line and the 95% and 99.8% limits are
    sampled along the denominators with the funnel module's own ``proportion_limit_table`` (so the curves
    are the ones the outliers were judged against). ``labels`` name the units (site names or codes).
    """
    _check_id(chart_id)
    if funnel_result.data_type != "PR":
        raise ValueError("funnel_svg draws proportion funnels (data_type 'PR') only")
    n = len(funnel_result)
    if len(labels) != n:
        raise ValueError("labels must have one entry per unit")
    factor = 100.0 if percent else 1.0
    w, h = float(width), float(height)
    legend, rows = _legend(_funnel_legend(funnel_result.limit), 52, w - 16, 14)
    frame = _Frame(w, h, 52, 16, 14 + rows * 16 + 6, 44)
    grid = _funnel_grid(np.asarray(funnel_result.denominator, float))
    limits = {k: v * factor for k, v in _funnel_limits(funnel_result, grid).items() if k != "s"}
    target = funnel_result.target * factor
    # The y range follows the units, the target and the narrow end of the 99.8% funnel; the wide end
    # near small denominators is clipped rather than allowed to squash the points.
    shown = [*(np.asarray(funnel_result.rr, float) * factor).tolist(), target,
             float(limits["ll998"][-1]), float(limits["ul998"][-1])]
    y_ticks = _nice_ticks(*_value_range(shown, percent))
    x_ticks = _nice_ticks(0.0, float(grid.max()) * 1.02)
    xs = _Linear(x_ticks[0], x_ticks[-1], frame.x0, frame.x1)
    ys = _Linear(y_ticks[0], y_ticks[-1], frame.y1, frame.y0)

    target_title = gettext("Target: %(value)s", value=_fmt_value(target, percent))
    body = [
        _clip_def(chart_id, frame),
        *_y_axis(y_ticks, ys, frame, percent, compact=False),
        *_funnel_x_axis(x_ticks, xs, frame, x_label),
        *_funnel_curves(grid, limits, xs, ys, f"{chart_id}-clip"),
        f'<g class="cc-target-group"><title>{_e(target_title)}</title>'
        f'{_hline(frame.x0, frame.x1, ys(target), "cc-target")}</g>',
        *_funnel_points(funnel_result, labels, xs, ys, factor, percent),
        *_legend_group(legend),
    ]
    desc = _funnel_description(funnel_result, labels, description, percent)
    return Markup(_svg_open(chart_id, w, h, "funnel", False, title, desc) + "".join(body) + "</svg>")
