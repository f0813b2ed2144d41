"""Outcome sharing pages: the network and every site on SPC charts, comparisons, submissions, downloads."""
from __future__ import annotations

import csv
import io
from datetime import date

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from app.outcomes import render as charts
from app.extensions import get_db
from app.outcomes.forms import MeasureForm, TokenForm, UploadForm
from app.web import actor, form_post, localized_fields
from content.markdown import render as render_markdown
from content import library, pdsa
from network import access, fhir, outcome_reports, outcomes, people
from network.db import utcnow
from network.errors import Invalid
from network.outcomes import MeasureFields
from network.visibility import lens as viewer_lens
from network.visibility import site_for

bp = Blueprint("outcomes", __name__, url_prefix="/outcomes")

MAX_UPLOAD = 10 * 1024 * 1024


def _measure(key: str):
    access.require(actor(), "outcomes.view")
    return outcomes.measure_by_key(get_db(), key)


@bp.route("/")
def index():
    """The first measure's overview (remission, in the demo network)."""
    access.require(actor(), "outcomes.view")
    first = outcomes.measures(get_db())
    if not first:
        return render_template("outcomes/empty.html")
    return redirect(url_for("outcomes.overview", key=first[0].key))


@bp.route("/<key>")
def overview(key: str):
    """The network total as a chart and every site as a small multiple, sorted and filtered."""
    db = get_db()
    measure = _measure(key)
    viewer = actor()
    sort = request.args.get("sort", "name")
    sort = sort if sort in outcome_reports.SORTS else "name"
    query = request.args.get("q", "").strip()[:80]
    signals_only = request.args.get("signals") == "1"
    seen = viewer_lens(db, viewer)
    items = outcome_reports.site_charts(db, seen, measure)
    if query:
        items = [item for item in items if query.lower() in item.label.lower()]
    if signals_only:
        items = [item for item in items if item.chart.has_signal]
    items = outcome_reports.sort_site_charts(items, sort, measure.better)
    return render_template("outcomes/overview.html", measure=measure, measures=outcomes.measures(db),
                           network=outcome_reports.network_chart(db, seen, measure), items=items, sort=sort,
                           query=query, signals_only=signals_only, charts=charts, lens=seen)


def site_adoptions(db, site) -> tuple:
    """The library tools this site adopted, as chart annotations: (("YYYY-MM", title), ...)."""
    return tuple(sorted((outcomes.month_key(a.since), a.resource.title) for a in library.adoptions_at(db, [site.id])))


def _period(months: list[date]) -> tuple[date, date]:
    """The period asked for (?start=YYYY-MM&end=YYYY-MM), by default the last 12 months with data."""
    if not months:
        today = date.today()
        return today, today
    default_end = months[-1]
    default_start = months[max(0, len(months) - 12)]
    start = outcomes.parse_month(request.args.get("start")) or default_start
    end = outcomes.parse_month(request.args.get("end")) or default_end
    if start > end:
        raise Invalid({"start": [_("The period must start before it ends.")]})
    return start, end


@bp.route("/<key>/funnel")
def funnel(key: str):
    """All sites compared over one period on a funnel plot."""
    db = get_db()
    measure = _measure(key)
    start, end = _period(outcome_reports.available_months(db, measure))
    seen = viewer_lens(db, actor())
    result = outcome_reports.funnel(db, seen, measure, start, end)
    return render_template("outcomes/funnel.html", measure=measure, measures=outcomes.measures(db), funnel=result,
                           months=[outcomes.month_key(m) for m in outcome_reports.available_months(db, measure)],
                           charts=charts, lens=seen)


def _site(db, ref: str):
    """The site a URL names, through the viewer's lens (a blinded viewer names other sites by code)."""
    seen = viewer_lens(db, actor())
    access.require(seen.actor, "outcomes.view")
    return seen, site_for(db, seen, ref)


def _adoptions_shown(db, seen, site_row) -> tuple:
    """Adopted tools tie a chart to a site (the library names adopting sites), so a blinded viewer sees
    them on their own site's charts only."""
    return site_adoptions(db, site_row) if seen.shows_name(site_row) else ()


@bp.route("/sites/<slug>")
def site(slug: str):
    """One site's charts for every measure (addressed by short name, or by code as "S17")."""
    db = get_db()
    seen, site_row = _site(db, slug)
    return render_template("outcomes/site.html", site=site_row, adoptions=_adoptions_shown(db, seen, site_row),
                           cycles=pdsa.chart_marks(db, site_row),
                           overview=outcome_reports.site_overview(db, seen, site_row), charts=charts,
                           label=seen.label(site_row), ref=seen.ref(site_row), lens=seen,
                           may_submit=access.can(actor(), "outcomes.submit", site_row),
                           # the tokens page is addressed by short name: only where the name shows
                           may_manage_tokens=seen.shows_name(site_row)
                           and access.can(actor(), "outcomes.manage_tokens", site_row))


@bp.route("/<key>/sites/<slug>")
def site_measure(key: str, slug: str):
    """One site, one measure: the chart, its data table and revisions."""
    db = get_db()
    measure = _measure(key)
    seen, site_row = _site(db, slug)
    chart = outcome_reports.site_chart(db, seen, measure, site_row)
    return render_template("outcomes/site_measure.html", measure=measure, site=site_row, chart=chart, charts=charts,
                           adoptions=_adoptions_shown(db, seen, site_row), lens=seen,
                           cycles=pdsa.chart_marks(db, site_row, measure).get(measure.id, ()),
                           label=seen.label(site_row), ref=seen.ref(site_row))


# ---------------------------------------------------------------------------------------------
# Downloads

def _csv_response(filename: str, header: list[str], rows) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _chart_rows(chart):
    result = chart.result
    for i, month in enumerate(chart.labels):
        yield [month, int(chart.numerators[i]), int(chart.denominators[i]), _num(result.y[i]), _num(result.cl[i]),
               _num(result.lcl[i]), _num(result.ucl[i]),
               "revised" if i in chart.revised else ("outside limits" if result.sigma_signal[i] else "")]
    for month in chart.suppressed_months:
        yield [month, "", "", "", "", "", "", "suppressed"]


def _num(value) -> str:
    return "" if value != value else f"{float(value):.6f}"


CHART_HEADER = ["month", "numerator", "denominator", "value", "centre", "lower_limit", "upper_limit", "note"]


@bp.route("/<key>/data.csv")
def data_csv(key: str):
    """Every site's current figures for one measure, with the chart values."""
    db = get_db()
    measure = _measure(key)
    rows = []
    for item in outcome_reports.site_charts(db, viewer_lens(db, actor()), measure):
        rows += [[item.label] + row for row in _chart_rows(item.chart)]
    network = outcome_reports.network_chart(db, actor(), measure)
    rows += [[_("Network total")] + row for row in _chart_rows(network)]
    return _csv_response(f"{measure.key}.csv", ["site"] + CHART_HEADER, rows)


@bp.route("/<key>/sites/<slug>.csv")
def site_csv(key: str, slug: str):
    """One site's chart data as CSV."""
    db = get_db()
    measure = _measure(key)
    seen, site_row = _site(db, slug)
    chart = outcome_reports.site_chart(db, seen, measure, site_row)
    return _csv_response(f"{measure.key}-{seen.ref(site_row)}.csv", CHART_HEADER,
                         _chart_rows(chart) if chart else [])


@bp.route("/<key>/network.svg")
def network_svg(key: str):
    """The network chart as an SVG file."""
    db = get_db()
    measure = _measure(key)
    chart = outcome_reports.network_chart(db, actor(), measure)
    return _svg(charts.measure_chart(measure, chart, _("Network total")), f"{measure.key}-network.svg")


@bp.route("/<key>/sites/<slug>.svg")
def site_svg(key: str, slug: str):
    """One site's chart as an SVG file."""
    db = get_db()
    measure = _measure(key)
    seen, site_row = _site(db, slug)
    chart = outcome_reports.site_chart(db, seen, measure, site_row)
    if chart is None:
        abort(404)
    return _svg(charts.measure_chart(measure, chart, seen.label(site_row),
                                     cycles=pdsa.chart_marks(db, site_row, measure).get(measure.id, ())),
                f"{measure.key}-{seen.ref(site_row)}.svg")


def _svg(markup, filename: str) -> Response:
    document = '<?xml version="1.0" encoding="UTF-8"?>\n' + str(markup).replace(
        "<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1) if 'xmlns=' not in str(markup) else str(markup)
    return Response(document, mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/fhir.json")
def fhir_export():
    """The network's current figures as a FHIR R4 Bundle of MeasureReports (?measure=key for one)."""
    db = get_db()
    access.require(actor(), "outcomes.view")
    chosen = request.args.get("measure")
    selected = [outcomes.measure_by_key(db, chosen)] if chosen else outcomes.measures(db)
    bundle = fhir.export_bundle(outcome_reports.fhir_rows(db, actor(), selected), base_url=request.host_url.rstrip("/"),
                                generated_at=utcnow())
    return current_app.json.response(bundle)


# ---------------------------------------------------------------------------------------------
# Submitting figures

def _submit_sites():
    viewer = actor()
    access.require(viewer, "outcomes.submit")
    return [s for s in people.active_sites(get_db()) if access.can(viewer, "outcomes.submit", s)]


@bp.route("/submit", methods=["GET", "POST"])
def submit():
    """A site team enters one month's figures for every measure."""
    db = get_db()
    sites = _submit_sites()
    measures = outcomes.measures(db)
    errors: dict[str, list[str]] = {}
    values = request.form if request.method == "POST" else {}
    status = 200
    if request.method == "POST":
        site_row = next((s for s in sites if str(s.id) == request.form.get("site")), None)
        if site_row is None:
            errors["site"] = [_("Choose one of your sites.")]
            status = 422
        else:
            figures = {m.key: (request.form.get(f"num-{m.key}"), request.form.get(f"den-{m.key}")) for m in measures}
            rows = outcomes.rows_for_site(db, actor(), site_row, request.form.get("month"), figures)
            saved = form_post(None, lambda: outcomes.submit(db, actor(), rows, source="form"))
            if saved.ok:
                flash(_("Saved %(n)s figures (%(c)s corrections).", n=saved.result.created + saved.result.corrected,
                        c=saved.result.corrected), "success")
                return redirect(url_for("outcomes.site", slug=site_row.slug))
            errors, status = _form_errors(saved.error, rows), saved.status
    return render_template("outcomes/submit.html", sites=sites, measures=measures, errors=errors, values=values,
                           default_month=outcomes.month_key(outcomes.previous_month())), status


def _form_errors(error: Invalid, rows) -> dict[str, list[str]]:
    """Row-level errors of the monthly form, keyed by the input they belong to."""
    by_row = {row.row: row.measure for row in rows}
    errors: dict[str, list[str]] = {}
    for where, messages in localized_fields(error).items():
        if where.startswith("row ") and ": " in where:
            number, column = where[4:].split(": ", 1)
            key = by_row.get(int(number)) if number.isdigit() else None
            target = {"numerator": f"num-{key}", "denominator": f"den-{key}"}.get(column, column if column in
                                                                                 ("month", "site") else f"num-{key}")
            errors.setdefault(target, []).extend(messages)
        else:
            errors.setdefault(where, []).extend(messages)
    return errors


@bp.route("/upload", methods=["GET", "POST"])
def upload():
    """Many months and measures in one CSV file, or a FHIR MeasureReport bundle; all or nothing."""
    db = get_db()
    sites = _submit_sites()
    form = UploadForm()
    problems: dict[str, list[str]] = {}
    status = 200
    if form.validate_on_submit():
        try:
            rows, source = read_upload(form.file.data)
            result = outcomes.submit(db, actor(), rows, source=source)
        except Invalid as error:
            db.rollback()
            problems = localized_fields(error)
            status = 422
        else:
            flash(_("Imported %(n)s rows: %(a)s new, %(c)s corrected, %(u)s unchanged.", n=result.total,
                    a=result.created, c=result.corrected, u=result.unchanged), "success")
            return redirect(url_for("outcomes.upload"))
    elif form.is_submitted():
        status = 422
    return render_template("outcomes/upload.html", form=form, problems=problems, sites=sites,
                           measures=outcomes.measures(db)), status


def read_upload(storage) -> tuple[list, str]:
    """(rows, source) of an uploaded CSV or FHIR JSON file — told apart by content, not by file name."""
    stream = storage.stream
    head = stream.read(64)
    stream.seek(0)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        data = stream.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise Invalid({"file": [_("The file is larger than 10 MB.")]})
        return outcomes.rows_from_fhir(data), "fhir"
    return outcomes.read_csv(stream, max_bytes=MAX_UPLOAD), "csv"


@bp.route("/sites/<slug>/tokens", methods=["GET", "POST"])
def tokens(slug: str):
    """A site lead creates and revokes the site's API tokens."""
    db = get_db()
    site_row = people.site_by_slug(db, actor(), slug)
    form = TokenForm()
    created = form_post(form, lambda: outcomes.create_token(db, actor(), site_row, form.name.data))
    new_secret = created.result[1] if created.ok else None
    return render_template("outcomes/tokens.html", site=site_row, form=form, new_secret=new_secret,
                           tokens=outcomes.site_tokens(db, actor(), site_row)), created.status


@bp.route("/sites/<slug>/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(slug: str, token_id: int):
    """Revoke a token: the next API call with it is refused."""
    db = get_db()
    site_row = people.site_by_slug(db, actor(), slug)
    outcomes.revoke_token(db, actor(), site_row, token_id)
    flash(_("Token revoked."), "success")
    return redirect(url_for("outcomes.tokens", slug=site_row.slug))


# ---------------------------------------------------------------------------------------------
# Measures

@bp.route("/measures/")
def measures():
    """Every measure and its definition."""
    access.require(actor(), "outcomes.view")
    return render_template("outcomes/measures.html", measures=outcomes.measures(get_db(), active_only=False),
                           render_markdown=render_markdown, may_manage=access.can(actor(), "measure.manage"))


def _fields(form: MeasureForm) -> MeasureFields:
    goal = form.goal.data
    if goal is not None and form.chart_type.data != "u":
        goal = goal / 100  # entered as a percentage
    return MeasureFields(key=form.key.data, name=form.name.data, definition=form.definition.data or "",
                         numerator_definition=form.numerator_definition.data or "",
                         denominator_definition=form.denominator_definition.data or "",
                         better=form.better.data, goal=goal, chart_type=form.chart_type.data,
                         rule_set=form.rule_set.data, multiplier=form.multiplier.data or 1,
                         baseline_months=form.baseline_months.data, position=form.position.data or 0,
                         is_active=form.is_active.data)


@bp.route("/measures/new", methods=["GET", "POST"])
def new_measure():
    """Network leaders define a measure."""
    access.require(actor(), "measure.manage")
    form = MeasureForm()
    defined = form_post(form, lambda: outcomes.define_measure(get_db(), actor(), _fields(form)))
    if defined.ok:
        flash(_("Measure %(name)s defined.", name=defined.result.name), "success")
        return redirect(url_for("outcomes.measures"))
    return render_template("outcomes/measure_form.html", form=form, measure=None), defined.status


@bp.route("/measures/<key>/edit", methods=["GET", "POST"])
def edit_measure(key: str):
    """Network leaders edit a measure's definition, goal, chart and rules."""
    access.require(actor(), "measure.manage")
    db = get_db()
    measure = outcomes.measure_by_key(db, key)
    form = MeasureForm(obj=measure)
    if request.method == "GET" and measure.goal is not None and measure.chart_type != "u":
        form.goal.data = round(measure.goal * 100, 4)
    saved = form_post(form, lambda: outcomes.update_measure(db, actor(), measure.id, _fields(form)))
    if saved.ok:
        flash(_("Measure saved."), "success")
        return redirect(url_for("outcomes.measures"))
    return render_template("outcomes/measure_form.html", form=form, measure=measure), saved.status
