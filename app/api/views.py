"""The JSON API (v1). Reads work with a signed-in session or a site token; writes need a site token
(`Authorization: Bearer cc_...`). Every error has one shape: {"error": {status, title, message, fields}}.
The OpenAPI document is served at /api/v1/openapi.json."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, g, jsonify, request

from app.extensions import csrf, get_db
from app.web import actor as session_actor
from network import access, agreements, outcome_reports, outcomes, visibility
from network.db import utcnow
from network.errors import Invalid, Unauthenticated

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

OPENAPI = Path(__file__).with_name("openapi.json")
MAX_BODY = 10 * 1024 * 1024


def api_actor():
    """The token's site actor when a bearer token is sent (a bad token is refused, never ignored);
    otherwise the signed-in person or the anonymous visitor."""
    if "api_actor" in g:
        return g.api_actor
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        token_actor = outcomes.actor_for_token(get_db(), secret.strip()) if scheme.lower() == "bearer" else None
        if token_actor is None:
            raise Unauthenticated("The API token is missing, malformed, unknown or revoked.")
        g.api_actor = token_actor
    else:
        g.api_actor = session_actor()
    return g.api_actor


def _require_token():
    who = api_actor()
    if getattr(who, "acting_role", None) != "api_token":
        raise Unauthenticated("Writing through the API needs a site token: Authorization: Bearer cc_...")
    return who


def _json_body():
    if request.content_length and request.content_length > MAX_BODY:
        raise Invalid({"body": ["The body is larger than 10 MB."]})
    data = request.get_data(cache=False)
    if len(data) > MAX_BODY:
        raise Invalid({"body": ["The body is larger than 10 MB."]})
    try:
        return json.loads(data or b"null")
    except ValueError as exc:
        raise Invalid({"body": [f"The body is not valid JSON: {exc}."]})


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(json.loads(OPENAPI.read_text()))


@bp.route("/measures")
def list_measures():
    """Every active measure and its definition (public)."""
    return jsonify(measures=[_measure_json(m) for m in outcomes.measures(get_db())])


def _measure_json(measure) -> dict:
    return {"key": measure.key, "name": measure.name, "definition": measure.definition,
            "numerator": measure.numerator_definition, "denominator": measure.denominator_definition,
            "better": measure.better, "goal": measure.goal, "chart_type": measure.chart_type,
            "rule_set": measure.rule_set, "multiplier": measure.multiplier}


def _chart_json(chart) -> dict:
    result = chart.result.to_dict()
    points = [{"month": month, "suppressed": False, "revised": i in chart.revised,
               "numerator": int(chart.numerators[i]), "denominator": int(chart.denominators[i]),
               "value": result["y"][i], "centre": result["cl"][i], "lower": result["lcl"][i],
               "upper": result["ucl"][i], "outside_limits": bool(result["sigma_signal"][i])}
              for i, month in enumerate(chart.labels)]
    points += [{"month": month, "suppressed": True} for month in chart.suppressed_months]
    return {"points": sorted(points, key=lambda p: p["month"]), "signals": chart.signals, "rule_set": chart.rule_set}


@bp.route("/measures/<key>/network")
def network_series(key: str):
    """The network total for a measure; members get every month, the public sees small totals hidden."""
    db = get_db()
    measure = outcomes.measure_by_key(db, key)
    who = api_actor()
    public = not access.can(who, "outcomes.view")
    chart = outcome_reports.network_chart(db, who, measure, public=public)
    return jsonify(measure=_measure_json(measure), public=public, **_chart_json(chart))


@bp.route("/measures/<key>/sites")
def site_series(key: str):
    """Every site's chart for a measure (members and site tokens)."""
    db = get_db()
    measure = outcomes.measure_by_key(db, key)
    who = api_actor()
    access.require(who, "outcomes.view")
    seen = visibility.lens(db, who)
    items = outcome_reports.site_charts(db, seen, measure)
    # a site whose name this caller may not see (data-use agreement not accepted) has no short name here
    return jsonify(measure=_measure_json(measure), blinded=seen.blinded,
                   sites=[{"site": item.site.slug if seen.shows_name(item.site) else None, "label": item.label,
                           **_chart_json(item.chart)} for item in items])


@bp.route("/submissions", methods=["POST"])
def post_submissions():
    """Submit figures for the token's site: {"submissions": [{site, measure, month, numerator, denominator}]}.
    All rows are checked before any is written; one bad row rejects the whole request (422)."""
    db = get_db()
    who = _require_token()
    result = outcomes.submit(db, who, outcomes.rows_from_json(_json_body()), source="api")
    return jsonify(created=result.created, corrected=result.corrected, unchanged=result.unchanged,
                   months=sorted(result.months)), 201


@bp.route("/fhir/MeasureReport", methods=["POST"])
def post_measure_report():
    """Submit a FHIR R4 MeasureReport (summary) or a Bundle of them for the token's site."""
    db = get_db()
    who = _require_token()
    data = request.get_data(cache=False)
    if len(data) > MAX_BODY:
        raise Invalid({"body": ["The body is larger than 10 MB."]})
    result = outcomes.submit(db, who, outcomes.rows_from_fhir(data), source="fhir")
    return jsonify(created=result.created, corrected=result.corrected, unchanged=result.unchanged,
                   months=sorted(result.months)), 201


@bp.route("/fhir/MeasureReport", methods=["GET"])
def get_measure_reports():
    """The network's current figures as a FHIR Bundle (members and site tokens; ?measure=key)."""
    from network import fhir

    db = get_db()
    who = api_actor()
    access.require(who, "outcomes.view")
    chosen = request.args.get("measure")
    selected = [outcomes.measure_by_key(db, chosen)] if chosen else outcomes.measures(db)
    bundle = fhir.export_bundle(outcome_reports.fhir_rows(db, who, selected),
                                base_url=request.host_url.rstrip("/"), generated_at=utcnow())
    return jsonify(bundle)


@bp.route("/agreement")
def agreement_status():
    """The current data-use agreement and where the caller stands: until they accept it, outcome answers
    name other sites by code. (Accepting is done on the agreement page, as a signed-in person.)"""
    db = get_db()
    who = api_actor()
    access.require(who, "agreement.read")
    current = agreements.current(db)
    seen = visibility.lens(db, who)
    body = {"version": None, "accepted": False, "blinded": seen.blinded, "published_at": None, "summary": None,
            "markdown": None}
    if current is not None:
        body.update(version=current.version, accepted=seen.standing.accepted, summary=current.summary,
                    published_at=current.published_at.isoformat(), markdown=current.body)
    return jsonify(body)


# ---------------------------------------------------------------------------------------------
# The library, read-only

def _resource_json(db, resource, *, full: bool = False) -> dict:
    from content import library
    from content.markdown import render

    published = db.get(library.Revision, resource.published_revision_id)
    data = {"slug": resource.slug, "title": published.title, "type": resource.type, "audience": resource.audience,
            "language": resource.language, "tags": resource.tags, "revision": published.number,
            "published_at": resource.published_at.isoformat() if resource.published_at else None,
            "translation_of": resource.translation_of.slug if resource.translation_of else None}
    if full:
        data.update(markdown=published.body, html=render(published.body, toc=True),
                    coproduction=library.coproduction(db, resource),
                    adopted_by=[a.site.name for a in library.adoptions_of(db, resource)])
    return data


MAX_OFFSET = 1_000_000


def _whole_arg(name: str, default: int, *, low: int, top: int) -> int:
    """A whole-number query parameter within [low, top]; anything else is a 422 naming the parameter
    (never silently clamped or replaced by the default)."""
    from network.i18n import N_

    raw = request.args.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= top:
        raise Invalid({f"query: {name}": [N_("Give a whole number from %(low)s to %(top)s.", low=low, top=top)]})
    return int(text)


@bp.route("/resources")
def list_resources():
    """Published library resources, newest first (?type=, ?language=, ?limit= 1 to 100, ?offset= 0 to 1,000,000)."""
    from content import library

    db = get_db()
    who = api_actor()
    limit = _whole_arg("limit", 50, low=1, top=100)
    offset = _whole_arg("offset", 0, low=0, top=MAX_OFFSET)
    rows = library.readable(db, who, limit=limit, offset=offset, type_=request.args.get("type") or None,
                            language=request.args.get("language") or None)
    return jsonify(resources=[_resource_json(db, r) for r in rows], limit=limit, offset=offset)


@bp.route("/resources/<slug>")
def show_resource(slug: str):
    """One published resource: its Markdown, its rendered HTML and who co-produced it."""
    from content import library
    from network.errors import NotFound

    db = get_db()
    resource = library.by_slug(db, api_actor(), slug)
    if not resource.is_readable:
        raise NotFound("No such published resource.")
    return jsonify(_resource_json(db, resource, full=True))


# ---------------------------------------------------------------------------------------------
# Stories, read-only: the same visibility and bylines as the pages

def _story_json(db, story, *, full: bool = False) -> dict:
    from content import narratives
    from content.markdown import render

    data = {"id": story.id, "title": story.title, "byline": narratives.byline(story), "tags": story.tags,
            "visibility": story.visibility, "published_at": story.published_at.isoformat() if story.published_at else None}
    if full:
        data.update(html=render(story.body), helped=narratives.helped_counts(db, [story.id]).get(story.id, 0))
    return data


@bp.route("/stories")
def list_stories():
    """Published stories this caller may read (public ones for everyone)."""
    from content import narratives

    db = get_db()
    return jsonify(stories=[_story_json(db, s) for s in narratives.browse(db, api_actor())])


@bp.route("/stories/<int:story_id>")
def show_story(story_id: int):
    """One story, if this caller may read it (410 once withdrawn)."""
    from content import narratives
    from network.errors import NotFound

    db = get_db()
    story = narratives.get(db, api_actor(), story_id)
    if not story.is_readable:
        raise NotFound("No such published story.")
    return jsonify(_story_json(db, story, full=True))


# ---------------------------------------------------------------------------------------------
# Tests of change (PDSA cycles). Reads: members and site tokens. Writes: the site's team (a signed-in
# session, JSON only, so a cross-site form cannot post) or the site's API token.

def _cycle_summary(seen, cycle, measures: dict) -> dict:
    """The site as the caller's lens allows: its name and short name (as `ref`) where the name shows,
    else "Site 17" and "S17"; the code (shown to everyone) either way."""
    return {"id": cycle.id, "number": cycle.number,
            "site": {"label": seen.label(cycle.site), "ref": seen.ref(cycle.site), "code": cycle.site.code},
            "title": cycle.title, "decision": cycle.decision or None, "status": cycle.status(),
            "start_month": outcomes.month_key(cycle.start_month), "end_month": outcomes.month_key(cycle.end_month),
            "follows": cycle.follows_id, "measures": [measures[m].key for m in cycle.measure_ids if m in measures]}


def _cycle_json(db, seen, cycle, measures: dict, tools: dict) -> dict:
    from app.pdsa import wording
    from content import pdsa

    data = _cycle_summary(seen, cycle, measures)
    data.update({"aim": cycle.aim, "change": cycle.change, "prediction": cycle.prediction,
            "plan": cycle.plan, "done": cycle.done, "learned": cycle.learned,
            "tools": [{"id": tools[t].id, "slug": tools[t].slug, "title": tools[t].title}
                      for t in cycle.tool_ids if t in tools],
            "acting_role": cycle.acting_role, "version": cycle.version,
            "created_at": cycle.created_at.isoformat(), "updated_at": cycle.updated_at.isoformat()})
    data["what_next"] = [{"measure": measure.key, "kind": nxt.kind, "months_later": nxt.months_later,
                          "month": nxt.month, "length": nxt.length, "window_months": nxt.window,
                          "sentence": wording.next_sentence(nxt)}
                         for measure, nxt in pdsa.outcomes_of(db, seen, cycle, measures)]
    return data


def _cycles_json(db, who, cycles: list, *, full: bool) -> list[dict]:
    from content import pdsa

    seen = visibility.lens(db, who)
    measures = pdsa.measures_of(db, cycles)
    if not full:
        return [_cycle_summary(seen, cycle, measures)
                for cycle in sorted(cycles, key=lambda c: (seen.order(c.site), c.number))]
    tools = pdsa.tools_of(db, who, cycles)
    return [_cycle_json(db, seen, cycle, measures, tools) for cycle in cycles]


def _cycle_fields(body):
    from content import pdsa

    if not isinstance(body, dict):
        raise Invalid({"body": ["Send a JSON object with the cycle's fields."]})
    known = {"title", "aim", "change", "prediction", "plan", "done", "learned", "decision", "start_month",
             "end_month", "follows", "measures", "tools", "acting_role", "version"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise Invalid({name: ["Unknown field."] for name in unknown})
    for name in ("measures", "tools"):
        if name in body and not isinstance(body[name], list):
            raise Invalid({name: ["Give a list."]})
    fields = {k: v for k, v in body.items() if k not in ("version",)}
    for name in ("title", "aim", "change", "prediction", "plan", "done", "learned", "decision", "acting_role"):
        if name in fields and fields[name] is not None and not isinstance(fields[name], str):
            raise Invalid({name: ["Give text."]})
    fields["decision"] = fields.get("decision") or ""
    return pdsa.CycleFields(**fields)


def _cycle_writer():
    """A site token, or a signed-in person sending JSON (a plain form post cannot forge this)."""
    who = api_actor()
    if not getattr(who, "is_authenticated", False):
        raise Unauthenticated("Sign in, or send a site token: Authorization: Bearer cc_...")
    return who


def _require_json():
    if getattr(api_actor(), "acting_role", None) != "api_token" and not request.is_json:
        raise Invalid({"body": ["Send the cycle as JSON (Content-Type: application/json)."]})
    return _json_body()


def _active_site(db, who, ref: str):
    """The site a URL or ?site= names, through the caller's lens: its short name where the name shows,
    its code ("S17") always; another site's short name from a blinded caller is refused (403)."""
    from network.errors import NotFound

    site = visibility.site_for(db, visibility.lens(db, who), ref, action="pdsa.view")
    if not site.is_active:
        raise NotFound("No such site.")
    return site


@bp.route("/cycles")
def list_cycles():
    """Tests of change, filtered by ?site=<short name, or code as S17> and/or ?measure=<key> (members and site
    tokens); sites named as the caller's lens allows."""
    from content import pdsa

    db = get_db()
    who = api_actor()
    access.require(who, "pdsa.view")
    site = _active_site(db, who, request.args["site"]) if request.args.get("site") else None
    measure = outcomes.measure_by_key(db, request.args["measure"]) if request.args.get("measure") else None
    cycles = pdsa.listing(db, who, site=site, measure=measure)
    return jsonify(cycles=_cycles_json(db, who, cycles, full=False))


@bp.route("/cycles/<int:cycle_id>")
def show_cycle(cycle_id: int):
    """One cycle, with what each linked measure's chart did next (timing from the SPC engine, not cause)."""
    from content import pdsa

    db = get_db()
    who = api_actor()
    cycle = pdsa.get(db, who, cycle_id)
    return jsonify(_cycles_json(db, who, [cycle], full=True)[0])


@bp.route("/sites/<slug>/cycles", methods=["POST"])
def create_cycle(slug: str):
    """Record a cycle for the site, named by short name or code (its clinicians and site lead, or its API
    token)."""
    from content import pdsa

    db = get_db()
    who = _cycle_writer()
    site = _active_site(db, who, slug)
    access.require(who, "pdsa.record", site)
    cycle = pdsa.record(db, who, site, _cycle_fields(_require_json()))
    return jsonify(_cycles_json(db, who, [cycle], full=True)[0]), 201


@bp.route("/cycles/<int:cycle_id>", methods=["PUT"])
def update_cycle(cycle_id: int):
    """Replace a cycle's fields; send the `version` you read (a stale one answers 409, nothing changed)."""
    from content import pdsa

    db = get_db()
    who = _cycle_writer()
    cycle = pdsa.get(db, who, cycle_id)
    access.require(who, "pdsa.edit", cycle)
    body = _require_json()
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid({"version": ["Send the version you read (a whole number)."]})
    cycle = pdsa.update(db, who, cycle.id, _cycle_fields(body), version=version)
    return jsonify(_cycles_json(db, who, [cycle], full=True)[0])


# ---------------------------------------------------------------------------------------------
# The network's health: the dashboard's figures (leaders) and the aggregate public summary

@bp.route("/health")
def health_figures():
    """Every network-health figure by role, month by month, small cells suppressed (leaders)."""
    from content import health

    return jsonify(figures=[f.to_dict() for f in health.dashboard(get_db(), api_actor())])


@bp.route("/health/public")
def health_public():
    """The aggregate public summary: role groups only, small cells suppressed (everyone)."""
    from content import health

    return jsonify(figures=[f.to_dict() for f in health.dashboard(get_db(), api_actor(), public=True)])
