"""The access matrix: every route, every role (and anonymous), own site and another site -> status.

A route registered without an entry here fails `test_every_route_has_an_entry`, so no door opens
without a decision. Expectations: one status for every actor-site pair, or (own site, other site).
Network roles hold no site, so for them own and other are the same.
"""
from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.matrix_core import (ACTORS, ANON_401, EVERYONE, LEADERS_GET, MEMBERS, SUBMITTERS, TEAM_VIEW, BAD_TOKEN,
                               Route, _care_link, _invitation, _token, leaders, membership_at, submitters,
                               team_manage)
from tests.outcome_fixtures import add_figures, add_measure, months

ROUTES = [
    Route("GET", "home.index", lambda w, s: "/", EVERYONE),
    Route("GET", "home.healthz", lambda w, s: "/healthz", EVERYONE),
    Route("GET", "auth.login", lambda w, s: "/login", {"anonymous": 200, **{a: 302 for a in ACTORS[1:]}}),
    Route("POST", "auth.login", lambda w, s: "/login", {"anonymous": 422, **{a: 302 for a in ACTORS[1:]}}),
    Route("POST", "auth.logout", lambda w, s: "/logout", {a: 302 for a in ACTORS}),
    Route("GET", "auth.accept_invitation", lambda w, s: f"/invite/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("POST", "auth.accept_invitation", lambda w, s: f"/invite/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("GET", "auth.request_reset", lambda w, s: "/reset", EVERYONE),
    Route("POST", "auth.request_reset", lambda w, s: "/reset", {a: 422 for a in ACTORS}),
    Route("GET", "auth.reset", lambda w, s: f"/reset/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("POST", "auth.reset", lambda w, s: f"/reset/{BAD_TOKEN}", {a: 400 for a in ACTORS}),
    Route("GET", "auth.profile", lambda w, s: "/profile", MEMBERS),
    Route("POST", "auth.profile", lambda w, s: "/profile", {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}},
          data={"full_name": ""}),
    Route("GET", "sites.index", lambda w, s: "/sites/", MEMBERS),
    Route("GET", "sites.show", lambda w, s: f"/sites/{s.slug}", MEMBERS),
    Route("GET", "sites.team", lambda w, s: f"/sites/{s.slug}/team", TEAM_VIEW),
    Route("POST", "sites.invite", lambda w, s: f"/sites/{s.slug}/invitations", team_manage(422)),
    Route("POST", "sites.end_membership",
          lambda w, s: f"/sites/{s.slug}/team/{membership_at(w.db, s).id}/end", team_manage(302)),
    Route("POST", "sites.set_steward",
          lambda w, s: f"/sites/{s.slug}/team/{membership_at(w.db, s).id}/steward", team_manage(302),
          data={"data_steward": "y"}),
    Route("GET", "admin.index", lambda w, s: "/admin/", LEADERS_GET),
    Route("GET", "admin.sites", lambda w, s: "/admin/sites", LEADERS_GET),
    Route("POST", "admin.create_site", lambda w, s: "/admin/sites", leaders(422)),
    Route("GET", "admin.edit_site", lambda w, s: f"/admin/sites/{s.id}", LEADERS_GET),
    Route("POST", "admin.edit_site", lambda w, s: f"/admin/sites/{s.id}", leaders(422), data={"name": ""}),
    Route("GET", "admin.people_list", lambda w, s: "/admin/people", LEADERS_GET),
    Route("GET", "admin.person", lambda w, s: f"/admin/people/{w.user('parent').id}", LEADERS_GET),
    Route("POST", "admin.add_membership", lambda w, s: f"/admin/people/{w.user('parent').id}/memberships",
          leaders(422)),
    Route("POST", "admin.end_membership", lambda w, s: f"/admin/memberships/{membership_at(w.db, s).id}/end",
          leaders(302)),
    Route("POST", "admin.set_active", lambda w, s: f"/admin/people/{w.user('parent', 'other').id}/active",
          leaders(302), data={"active": "0"}),
    Route("POST", "admin.add_care_link", lambda w, s: "/admin/carelinks", leaders(422)),
    Route("POST", "admin.remove_care_link", lambda w, s: f"/admin/carelinks/{_care_link(w.db, w, s)}/delete",
          leaders(302)),
    Route("GET", "admin.invitations", lambda w, s: "/admin/invitations", LEADERS_GET),
    Route("POST", "admin.invite", lambda w, s: "/admin/invitations", leaders(422)),
    Route("POST", "admin.revoke_invitation",
          lambda w, s: f"/admin/invitations/{_invitation(w.db, w, s)}/revoke", leaders(302)),
    Route("GET", "admin.audit_log", lambda w, s: "/admin/audit", LEADERS_GET),
    # outcome sharing
    Route("GET", "outcomes.index", lambda w, s: "/outcomes/", {a: 302 for a in ACTORS}),
    Route("GET", "outcomes.overview", lambda w, s: "/outcomes/remission", MEMBERS),
    Route("GET", "outcomes.funnel", lambda w, s: "/outcomes/remission/funnel", MEMBERS),
    Route("GET", "outcomes.site", lambda w, s: f"/outcomes/sites/{s.slug}", MEMBERS),
    Route("GET", "outcomes.site_measure", lambda w, s: f"/outcomes/remission/sites/{s.slug}", MEMBERS),
    Route("GET", "outcomes.data_csv", lambda w, s: "/outcomes/remission/data.csv", MEMBERS),
    Route("GET", "outcomes.site_csv", lambda w, s: f"/outcomes/remission/sites/{s.slug}.csv", MEMBERS),
    Route("GET", "outcomes.network_svg", lambda w, s: "/outcomes/remission/network.svg", MEMBERS),
    Route("GET", "outcomes.site_svg", lambda w, s: f"/outcomes/remission/sites/{s.slug}.svg", MEMBERS),
    Route("GET", "outcomes.fhir_export", lambda w, s: "/outcomes/fhir.json", MEMBERS),
    Route("GET", "outcomes.submit", lambda w, s: "/outcomes/submit", SUBMITTERS),
    Route("POST", "outcomes.submit", lambda w, s: "/outcomes/submit", submitters(422)),
    Route("GET", "outcomes.upload", lambda w, s: "/outcomes/upload", SUBMITTERS),
    Route("POST", "outcomes.upload", lambda w, s: "/outcomes/upload", submitters(422)),
    Route("GET", "outcomes.tokens", lambda w, s: f"/outcomes/sites/{s.slug}/tokens", team_manage(200)),
    Route("POST", "outcomes.tokens", lambda w, s: f"/outcomes/sites/{s.slug}/tokens", team_manage(422)),
    Route("POST", "outcomes.revoke_token",
          lambda w, s: f"/outcomes/sites/{s.slug}/tokens/{_token(w.db, w, s)}/revoke", team_manage(302)),
    Route("GET", "outcomes.measures", lambda w, s: "/outcomes/measures/", MEMBERS),
    Route("GET", "outcomes.new_measure", lambda w, s: "/outcomes/measures/new", LEADERS_GET),
    Route("POST", "outcomes.new_measure", lambda w, s: "/outcomes/measures/new", leaders(422)),
    Route("GET", "outcomes.edit_measure", lambda w, s: "/outcomes/measures/remission/edit", LEADERS_GET),
    Route("POST", "outcomes.edit_measure", lambda w, s: "/outcomes/measures/remission/edit", leaders(422),
          data={"key": ""}),
    Route("GET", "public.index", lambda w, s: "/public/outcomes/", EVERYONE),
    Route("GET", "public.measure", lambda w, s: "/public/outcomes/remission", EVERYONE),
    Route("GET", "public.measure_csv", lambda w, s: "/public/outcomes/remission.csv", EVERYONE),
    Route("GET", "public.comparison_csv", lambda w, s: "/public/outcomes/remission/comparison.csv", EVERYONE),
    # JSON API (session or token; writes need a token)
    Route("GET", "api.openapi", lambda w, s: "/api/v1/openapi.json", EVERYONE),
    Route("GET", "api.list_measures", lambda w, s: "/api/v1/measures", EVERYONE),
    Route("GET", "api.network_series", lambda w, s: "/api/v1/measures/remission/network", EVERYONE),
    Route("GET", "api.site_series", lambda w, s: "/api/v1/measures/remission/sites", ANON_401),
    Route("POST", "api.post_submissions", lambda w, s: "/api/v1/submissions", {a: 401 for a in ACTORS}),
    Route("POST", "api.post_measure_report", lambda w, s: "/api/v1/fhir/MeasureReport", {a: 401 for a in ACTORS}),
    Route("GET", "api.get_measure_reports", lambda w, s: "/api/v1/fhir/MeasureReport", ANON_401),
]

def _library_world(db, world):
    """A published handbook co-authored by the own-site parent, with a suggestion, a comment, an
    adoption at each site and an attachment; and a draft only its author may see."""
    import io

    from PIL import Image

    from app.library.views import store
    from content import library
    from tests.library_fixtures import make_resource, publish

    parent = world.user("parent")
    world.resource = make_resource(db, parent)
    publish(db, world, world.resource, approvers=("patient", "clinician"))
    world.draft = make_resource(db, parent, title="Secret draft")
    world.suggestion = library.suggest(db, world.user("clinician", "other"), world.resource.id,
                                       base_revision_id=world.resource.current_revision_id, title="Handbook",
                                       body="Better words.", summary="Better")
    world.comment = library.add_comment(db, world.user("patient", "other"), world.resource.id, body="Thanks")
    for where in ("own", "other"):
        site = world.own if where == "own" else world.other
        library.adopt(db, world.user("site_lead", where), world.resource.id, site_id=site.id, since=date(2025, 1, 1))
    png = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(png, "PNG")
    from flask import current_app  # noqa: F401  (the store needs the app's config)
    world.attachment = None
    world.png = png.getvalue()


def _attachment_url(w, s):
    from app.library.views import store  # noqa: F401
    from content import attachments, library

    root = __import__("config").TestConfig.ATTACHMENTS_DIR
    row = library.attach(w.db, w.user("parent"), w.resource.id, w.png, label="chart.png",
                         store=attachments.FileStore(root))
    return f"/attachments/{row.stored_name}"


def _r(w, suffix=""):
    return f"/library/{w.resource.slug}{suffix}"


COAUTHOR_ONLY = {"anonymous": 302, "patient": 403, "parent": 200, "clinician": 403, "site_lead": 403,
                 "network_leader": 403, "moderator": 403}


def coauthor_only(status, others=403):
    return {**{a: others for a in ACTORS}, "anonymous": 302, "parent": status}


WORKING = {**COAUTHOR_ONLY, "network_leader": 200}
NOT_COAUTHORS = {"anonymous": 302, "patient": 200, "parent": 403, "clinician": 200, "site_lead": 200,
                 "network_leader": 200, "moderator": 200}
ADOPTERS = {"anonymous": 302, "patient": (403, 404), "parent": (403, 404), "clinician": (403, 404),
            "site_lead": (302, 404), "network_leader": 403, "moderator": 404}
MEMBERS_401 = {"anonymous": 401, **{a: 200 for a in ACTORS[1:]}}

LIBRARY_ROUTES = [
    Route("GET", "library.index", lambda w, s: "/library/", MEMBERS),
    Route("GET", "library.show", lambda w, s: _r(w), MEMBERS),
    Route("GET", "library.show", lambda w, s: f"/library/{w.draft.slug}",
          {**{a: 404 for a in ACTORS}, "anonymous": 302, "parent": 200, "network_leader": 200}),
    Route("GET", "library.print_view", lambda w, s: _r(w, "/print"), MEMBERS),
    Route("GET", "library.source", lambda w, s: _r(w, ".md"), MEMBERS),
    Route("GET", "library.new", lambda w, s: "/library/new", MEMBERS),
    Route("POST", "library.new", lambda w, s: "/library/new", {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}},
          data={"title": ""}),
    Route("GET", "library.edit", lambda w, s: _r(w, "/edit"), COAUTHOR_ONLY),
    Route("POST", "library.edit", lambda w, s: _r(w, "/edit"), coauthor_only(422), data={"title": ""}),
    Route("POST", "library.preview", lambda w, s: "/library/preview", MEMBERS, data={"body": "# Hi"}),
    Route("POST", "library.autosave", lambda w, s: _r(w, "/autosave"), COAUTHOR_ONLY,
          data=lambda w, s: {"body": "draft", "title": "t", "base_revision_id": w.resource.current_revision_id}),
    Route("POST", "library.update_meta", lambda w, s: _r(w, "/meta"), coauthor_only(422)),
    Route("POST", "library.add_coauthor", lambda w, s: _r(w, "/coauthors"), coauthor_only(422)),
    Route("POST", "library.remove_coauthor", lambda w, s: _r(w, f"/coauthors/{w.user('parent').id}/remove"),
          coauthor_only(409)),
    Route("GET", "library.history", lambda w, s: _r(w, "/history"), WORKING),
    Route("GET", "library.revision", lambda w, s: _r(w, "/revisions/1"), WORKING),
    Route("GET", "library.compare", lambda w, s: _r(w, "/compare?a=1&b=1"), WORKING),
    Route("POST", "library.restore", lambda w, s: _r(w, "/revisions/1/restore"), coauthor_only(422)),
    Route("GET", "library.suggest", lambda w, s: _r(w, "/suggest"), NOT_COAUTHORS),
    Route("POST", "library.suggest", lambda w, s: _r(w, "/suggest"),
          {a: (422 if v == 200 else v) for a, v in NOT_COAUTHORS.items()}, data={"title": ""}),
    Route("GET", "library.suggestion", lambda w, s: _r(w, f"/suggestions/{w.suggestion.id}"), COAUTHOR_ONLY),
    Route("POST", "library.suggestion", lambda w, s: _r(w, f"/suggestions/{w.suggestion.id}"), coauthor_only(302)),
    Route("POST", "library.comment", lambda w, s: _r(w, "/comments"), {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}}),
    Route("POST", "library.resolve_comment", lambda w, s: _r(w, f"/comments/{w.comment.id}/resolve"),
          coauthor_only(302)),
    Route("POST", "library.submit_review", lambda w, s: _r(w, "/submit-review"), coauthor_only(422)),
    Route("POST", "library.review", lambda w, s: _r(w, "/review"),
          {"anonymous": 302, "patient": 409, "parent": 409, "clinician": 409, "site_lead": 409,
           "network_leader": 403, "moderator": 403}),
    Route("POST", "library.publish", lambda w, s: _r(w, "/publish"), {**coauthor_only(409), "network_leader": 409}),
    Route("POST", "library.archive", lambda w, s: _r(w, "/archive"), {**coauthor_only(302), "network_leader": 302}),
    Route("POST", "library.adopt", lambda w, s: _r(w, "/adopt"), ADOPTERS,
          data=lambda w, s: {"site": s.id, "since": "2025-03"}),
    Route("POST", "library.unadopt", lambda w, s: _r(w, f"/adopt/{s.id}/remove"), ADOPTERS),
    Route("POST", "library.attach", lambda w, s: _r(w, "/attachments"), coauthor_only(422)),
    Route("GET", "files.attachment", _attachment_url, MEMBERS),
    Route("GET", "api.list_resources", lambda w, s: "/api/v1/resources", MEMBERS_401),
    Route("GET", "api.show_resource", lambda w, s: f"/api/v1/resources/{w.resource.slug}", MEMBERS_401),
]
ROUTES += LIBRARY_ROUTES


def _stories_world(db, world):
    """A published network story and a pending one by the own-site parent, a teen's story waiting for
    that parent, a comment and a report."""
    from content import narratives

    parent, moderator = world.user("parent"), world.user("moderator", "network")
    base = dict(body="A story.", tags=["school"], visibility="network", byline_choice="first")
    world.story = narratives.tell(db, parent, title="Published", **base)
    narratives.moderate(db, moderator, world.story.id, decision="approve")
    world.pending_story = narratives.tell(db, parent, title="Pending", **base)
    world.teen_story = narratives.tell(db, world.user("patient"), title="Teen", **base)
    world.story_comment = narratives.comment(db, world.user("clinician"), world.story.id, body="Thanks")
    world.report = narratives.report(db, world.user("clinician"), object_type="story", object_id=world.story.id,
                                     reason="Check this")


def _s(w, suffix=""):
    return f"/stories/{w.story.id}{suffix}"


AUTHOR_ONLY = {"anonymous": 302, "patient": 403, "parent": 200, "clinician": 403, "site_lead": 403,
               "network_leader": 403, "moderator": 403}


def author_only(status):
    return {**AUTHOR_ONLY, "parent": status}


MODERATORS = {**{a: 403 for a in ACTORS}, "anonymous": 302, "moderator": 200}


def moderators(status):
    return {**MODERATORS, "moderator": status}


MEMBERS_422 = {"anonymous": 302, **{a: 422 for a in ACTORS[1:]}}

STORY_ROUTES = [
    Route("GET", "stories.index", lambda w, s: "/stories/", EVERYONE),
    Route("GET", "stories.show", lambda w, s: _s(w), MEMBERS),
    Route("GET", "stories.show", lambda w, s: f"/stories/{w.pending_story.id}",
          {**{a: 404 for a in ACTORS}, "anonymous": 302, "parent": 200, "moderator": 200}),
    Route("GET", "stories.new", lambda w, s: "/stories/new", MEMBERS),
    Route("POST", "stories.new", lambda w, s: "/stories/new", MEMBERS_422, data={"title": ""}),
    Route("GET", "stories.mine", lambda w, s: "/stories/mine", MEMBERS),
    Route("GET", "stories.edit", lambda w, s: _s(w, "/edit"), AUTHOR_ONLY),
    Route("POST", "stories.edit", lambda w, s: _s(w, "/edit"), author_only(422), data={"title": ""}),
    Route("POST", "stories.narrow", lambda w, s: _s(w, "/narrow"), author_only(302)),
    Route("POST", "stories.withdraw", lambda w, s: _s(w, "/withdraw"), author_only(302)),
    Route("POST", "stories.delete", lambda w, s: _s(w, "/delete"), author_only(302)),
    Route("POST", "stories.agree", lambda w, s: f"/stories/{w.teen_story.id}/agree",
          {**{a: 404 for a in ACTORS}, "anonymous": 302, "parent": 302}),
    Route("POST", "stories.helped", lambda w, s: _s(w, "/helped"), {a: 302 for a in ACTORS}),
    Route("POST", "stories.comment", lambda w, s: _s(w, "/comments"), MEMBERS_422),
    Route("POST", "stories.report", lambda w, s: _s(w, "/report"), MEMBERS_422),
    Route("POST", "stories.report_comment", lambda w, s: f"/stories/comments/{w.story_comment.id}/report",
          MEMBERS_422),
    Route("POST", "stories.feature", lambda w, s: _s(w, "/feature"), {**leaders(302), "anonymous": 302}),
    Route("GET", "stories.feed", lambda w, s: "/stories/feed.atom", EVERYONE),
    Route("GET", "moderation.queue", lambda w, s: "/moderation/", MODERATORS),
    Route("GET", "moderation.review_story", lambda w, s: f"/moderation/stories/{w.pending_story.id}", MODERATORS),
    Route("POST", "moderation.review_story", lambda w, s: f"/moderation/stories/{w.pending_story.id}",
          moderators(422)),
    Route("POST", "moderation.review_comment", lambda w, s: f"/moderation/comments/{w.story_comment.id}",
          moderators(302)),
    Route("POST", "moderation.close_report", lambda w, s: f"/moderation/reports/{w.report.id}/close",
          moderators(422)),
    Route("GET", "api.list_stories", lambda w, s: "/api/v1/stories", EVERYONE),
    Route("GET", "api.show_story", lambda w, s: f"/api/v1/stories/{w.story.id}", {**MEMBERS, "anonymous": 401}),
]
ROUTES += STORY_ROUTES


def _sessions_world(db, world):
    from tests.session_fixtures import make_session, register_all

    world.session = make_session(db, world)
    register_all(db, world, world.session, roles=(("parent", "own"), ("clinician", "own")))


def _ls(w, suffix=""):
    return f"/sessions/{w.session.slug}{suffix}"


REGISTERED = {**{a: 403 for a in ACTORS}, "anonymous": 302, "parent": 200, "clinician": 200, "network_leader": 200}

SESSION_ROUTES = [
    Route("GET", "sessions.index", lambda w, s: "/sessions/", MEMBERS),
    Route("GET", "sessions.new", lambda w, s: "/sessions/new", LEADERS_GET),
    Route("POST", "sessions.new", lambda w, s: "/sessions/new", leaders(422)),
    Route("GET", "sessions.show", lambda w, s: _ls(w), MEMBERS),
    Route("GET", "sessions.manage", lambda w, s: _ls(w, "/manage"), LEADERS_GET),
    Route("POST", "sessions.manage", lambda w, s: _ls(w, "/manage"), leaders(422), data={"title": ""}),
    Route("POST", "sessions.add_module", lambda w, s: _ls(w, "/modules"), leaders(422)),
    Route("POST", "sessions.add_facilitator", lambda w, s: _ls(w, "/facilitators"), leaders(422)),
    Route("POST", "sessions.register", lambda w, s: _ls(w, "/register"),
          {**{a: 302 for a in ACTORS}, "parent": 409, "clinician": 409}),
    Route("POST", "sessions.cancel", lambda w, s: _ls(w, "/cancel"),
          {**{a: 404 for a in ACTORS}, "anonymous": 302, "parent": 302, "clinician": 302}),
    Route("GET", "sessions.ics", lambda w, s: _ls(w, ".ics"), MEMBERS),
    Route("GET", "sessions.calendar_page", lambda w, s: "/sessions/calendar", MEMBERS),
    Route("GET", "sessions.feed", lambda w, s: "/sessions/calendar/not-a-token.ics", {a: 404 for a in ACTORS}),
    Route("GET", "sessions.room", lambda w, s: _ls(w, "/room"), REGISTERED),
    Route("GET", "sessions.transcript", lambda w, s: _ls(w, "/transcript"), MEMBERS),
    Route("GET", "sessions.transcript_md", lambda w, s: _ls(w, "/transcript.md"), MEMBERS),
    Route("GET", "sessions.transcript_csv", lambda w, s: _ls(w, "/transcript.csv"), MEMBERS),
    Route("POST", "sessions.to_library", lambda w, s: _ls(w, "/notes"), {**leaders(302), "anonymous": 302}),
]
ROUTES += SESSION_ROUTES

#: endpoint prefixes -> what their routes need in the database
WORLDS = {
    ("library.", "files.", "api.list_resources", "api.show_resource"): _library_world,
    ("stories.", "moderation.", "api.list_stories", "api.show_story"): _stories_world,
    ("sessions.",): _sessions_world,
}

for _module_path in sorted(Path(__file__).parent.glob("matrix_*.py")):
    if _module_path.stem == "matrix_core":
        continue
    _module = importlib.import_module(f"tests.{_module_path.stem}")
    ROUTES += _module.ROUTES
    WORLDS.update(getattr(_module, "WORLDS", {}))

#: endpoints that need no entry: files anyone may fetch
EXEMPT = {"static"}


def test_every_route_has_an_entry(app):
    covered = {(r.method, r.endpoint) for r in ROUTES}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, rule.endpoint) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes without an access-matrix entry:\n" + "\n".join(sorted(missing))


def test_openapi_documents_every_api_route_and_only_those(app):
    """Every operation of app/api/openapi.json is a route, and every /api/v1 route (each method) is an
    operation of the document (the matrix above covers the routes, so it covers the document too)."""
    import json
    import re

    document = json.loads((Path(app.root_path) / "api" / "openapi.json").read_text())
    documented = {(method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations if method in ("get", "post", "put", "patch", "delete")}
    routed = {(method, re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule))
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed - documented == set(), "API routes missing from openapi.json"
    assert documented - routed == set(), "openapi.json operations without a route"


def _cases():
    for route in ROUTES:
        for actor in ACTORS:
            for where in ("own", "other"):
                expected = route.expect[actor]
                status = expected[0 if where == "own" else 1] if isinstance(expected, tuple) else expected
                yield pytest.param(route, actor, where, status,
                                   id=f"{route.method} {route.endpoint} {actor} {where}")


@pytest.mark.parametrize("route,actor,where,status", list(_cases()))
def test_access(app, db, world, login_as, route, actor, where, status):
    world.db = db
    measure = add_measure(db)
    for site in (world.own, world.other):
        add_figures(db, site, measure, [(m, 60, 100) for m in months(2025, 6)])
    for prefixes, build in WORLDS.items():
        if route.endpoint.startswith(prefixes):
            build(db, world)
    site = world.own if where == "own" else world.other
    url = route.url(world, site)
    routed, _args = app.url_map.bind("localhost").match(urlsplit(url).path, method=route.method)
    assert routed == route.endpoint, f"the entry for {route.endpoint} requests {url}, which is {routed}"
    client = login_as(actor)
    data = route.data(world, site) if callable(route.data) else route.data
    response = client.open(url, method=route.method, data=data or {})
    assert response.status_code == status, f"{route.method} {url} as {actor} ({where} site)"
    if status == 302 and actor == "anonymous" and route.endpoint not in ("auth.logout", "outcomes.index",
                                                                         "front.language"):
        assert "/login" in response.headers["Location"]
