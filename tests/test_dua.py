"""The data-use agreement and blinding: services, rules, bad input, and every outcome path (pages, CSV,
SVG, JSON API, FHIR, bright spots, home page) seen by a member who has not accepted the agreement."""
from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from network import access, agreements, audit, bright_spots, fhir, outcomes, visibility
from network.access import ANONYMOUS
from network.agreements import AgreementAcceptance, DataUseAgreement
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.people import Membership, Site, User
from tests.outcome_fixtures import add_figures, add_measure, months

TEXT = "# Data-use agreement\n\nWe use other sites' figures **to learn**, never to rank or shame."

#: a third site whose id, name and short name cannot occur in a page by chance
ZEBRA_ID = 987_651
ZEBRA_NAME = "Zebra Crossing Hospital"
ZEBRA_SLUG = "zebra-crossing"


def leader(world):
    return world.user("network_leader", "network")


def publish(db, world, body=TEXT, **kwargs):
    return agreements.publish(db, leader(world), body=body, **kwargs)


def count(db, model) -> int:
    return db.scalar(select(func.count(model.id)))


def audit_actions(db) -> list[str]:
    return [e.action for e in audit.page(db, leader_of(db), action_prefix="agreement.")]


def leader_of(db):
    return db.scalar(select(User).join(Membership, Membership.user_id == User.id)
                     .where(Membership.role == "network_leader"))


# ---------------------------------------------------------------------------------------------
# Services and rules

def test_leaders_publish_numbered_versions_and_each_is_audited(db, world):
    first = publish(db, world)
    second = publish(db, world, body=TEXT + "\n\nNow with a section on FHIR exports.", summary="  FHIR   exports ")
    assert (first.version, second.version) == (1, 2)
    assert second.summary == "FHIR exports" and second.acting_role == "network_leader"
    assert second.published_by_id == leader(world).id and second.published_at is not None
    assert agreements.current(db).version == 2
    assert audit_actions(db) == ["agreement.publish", "agreement.publish"]


@pytest.mark.parametrize("who", ["site_lead", "clinician", "parent", "moderator"])
def test_only_leaders_publish_and_a_refusal_changes_nothing(db, world, who):
    where = "network" if who == "moderator" else "own"
    with pytest.raises(Forbidden):
        agreements.publish(db, world.user(who, where), body=TEXT)
    with pytest.raises(Exception):
        agreements.publish(db, ANONYMOUS, body=TEXT)
    assert count(db, DataUseAgreement) == 0


@pytest.mark.parametrize("body,summary,field", [("", "", "body"), ("   \n ", "", "body"), ("x" * 50_001, "", "body"),
                                                (TEXT, "y" * 201, "summary")])
def test_bad_agreement_text_is_refused_with_the_field_and_nothing_published(db, world, body, summary, field):
    with pytest.raises(Invalid) as error:
        publish(db, world, body=body, summary=summary)
    assert field in error.value.field_errors
    assert count(db, DataUseAgreement) == 0 and audit_actions(db) == []


def test_accepting_records_person_version_time_and_role_once(db, world):
    publish(db, world)
    parent = world.user("parent")
    row = agreements.accept(db, parent, 1)
    assert (row.user_id, row.agreement.version, row.acting_role) == (parent.id, 1, "parent")
    assert row.accepted_at is not None
    again = agreements.accept(db, parent, 1)
    assert again.id == row.id and count(db, AgreementAcceptance) == 1
    assert audit_actions(db) == ["agreement.accept", "agreement.publish"]


def test_a_person_with_several_roles_chooses_the_role_they_accept_in(db, world):
    publish(db, world)
    lead = world.user("site_lead")
    db.add(Membership(user_id=lead.id, site_id=world.own.id, role="clinician"))
    db.commit()
    db.refresh(lead)
    with pytest.raises(Invalid):
        agreements.accept(db, lead, 1, role="moderator")
    assert agreements.accept(db, lead, 1, role="clinician").acting_role == "clinician"


def test_accepting_a_stale_or_missing_version_is_refused_and_records_nothing(db, world):
    parent = world.user("parent")
    with pytest.raises(NotFound, match="No data-use agreement"):
        agreements.accept(db, parent, 1)
    publish(db, world)
    publish(db, world, body=TEXT + " v2")
    with pytest.raises(Conflict, match="Version 1 is not the current data-use agreement: version 2 is"):
        agreements.accept(db, parent, 1)
    with pytest.raises(Invalid):
        agreements.accept(db, parent, None)
    with pytest.raises(Conflict):
        agreements.accept(db, parent, 3)
    assert count(db, AgreementAcceptance) == 0
    assert "agreement.accept" not in audit_actions(db)


def test_anonymous_and_site_tokens_cannot_accept(db, world):
    publish(db, world)
    token_actor = outcomes.TokenActor(token_id=1, site_id=world.own.id, created_by_id=world.user("site_lead").id)
    assert access.decide(ANONYMOUS, "agreement.accept") is access.Decision.SIGN_IN
    assert access.decide(token_actor, "agreement.accept") is access.Decision.FORBIDDEN


def test_who_has_accepted_with_counts_by_role_for_leaders_only(db, world):
    publish(db, world)
    for who in ("parent", "clinician"):
        agreements.accept(db, world.user(who), 1)
    agreements.accept(db, world.user("parent", "other"), 1)
    report = agreements.acceptances(db, leader(world))
    assert report.agreement.version == 1
    assert {a.user_id for a in report.accepted} == {world.user("parent").id, world.user("clinician").id,
                                                    world.user("parent", "other").id}
    by_role = {row.role: (row.accepted, row.total) for row in report.by_role}
    assert by_role["parent"] == (2, 2) and by_role["clinician"] == (1, 2) and by_role["patient"] == (0, 2)
    assert by_role["network_leader"] == (0, 1)
    assert world.user("patient") in report.pending and world.user("parent") not in report.pending
    assert report.members == 10 and len(report.accepted_members) == 3
    with pytest.raises(Forbidden):
        agreements.acceptances(db, world.user("site_lead"))
    with pytest.raises(NotFound):
        agreements.acceptances(db, leader(world), version=7)


# ---------------------------------------------------------------------------------------------
# The lens: one implementation of blinding

def test_without_a_published_agreement_members_see_names(db, world):
    assert visibility.site_label(world.user("parent"), world.other) == "Other Site Clinic"
    assert not visibility.lens(db, world.user("parent")).blinded


def test_until_accepted_other_sites_are_codes_and_own_sites_names(db, world):
    publish(db, world)
    parent = world.user("parent")
    seen = visibility.lens(db, parent)
    assert seen.blinded and seen.standing.version == 1 and not seen.standing.accepted
    assert (seen.label(world.own), seen.label(world.other)) == ("Own Site Hospital", "Site 2")
    assert (seen.ref(world.own), seen.ref(world.other)) == ("own-site", "S2")
    assert visibility.site_label(parent, world.other) == "Site 2"
    assert visibility.site_label(ANONYMOUS, world.own) == "Site 1"
    assert visibility.site_label(leader(world), world.own) == "Site 1"  # leaders too, until they accept
    agreements.accept(db, parent, 1)
    assert visibility.site_label(parent, world.other) == "Other Site Clinic"


def test_a_new_version_asks_everyone_again(db, world):
    publish(db, world)
    parent = world.user("parent")
    agreements.accept(db, parent, 1)
    assert not visibility.lens(db, parent).blinded
    publish(db, world, body=TEXT + "\n\nA new clause.", summary="A new clause")
    seen = visibility.lens(db, parent)
    assert seen.blinded and seen.standing.version == 2
    assert seen.label(world.other) == "Site 2"
    agreements.accept(db, parent, 2)
    assert visibility.site_label(parent, world.other) == "Other Site Clinic"


def test_a_site_token_stands_where_its_creator_stands(db, world):
    publish(db, world)
    lead = world.user("site_lead")
    token, _secret = outcomes.create_token(db, lead, world.own, "EHR export")
    token_actor = outcomes.TokenActor(token_id=token.id, site_id=world.own.id, created_by_id=lead.id)
    seen = visibility.lens(db, token_actor)
    assert (seen.label(world.own), seen.label(world.other)) == ("Own Site Hospital", "Site 2")
    agreements.accept(db, lead, 1)
    assert visibility.lens(db, token_actor).label(world.other) == "Other Site Clinic"


def test_the_standing_is_asked_once_per_unit_of_work(db, world, count_queries):
    publish(db, world)
    parent = world.user("parent")
    visibility.lens(db, parent)
    with count_queries() as counter:
        for _ in range(50):
            visibility.site_label(parent, world.other)
            visibility.lens(db, parent)
    assert counter.count == 0


def test_a_blinded_member_may_not_name_another_site_in_a_url(db, world):
    publish(db, world)
    parent = world.user("parent")
    with pytest.raises(Forbidden, match="accept the current data-use agreement"):
        visibility.site_for(db, parent, "other-site")
    assert visibility.site_for(db, parent, "S2").id == world.other.id
    assert visibility.site_for(db, parent, "own-site").id == world.own.id
    with pytest.raises(NotFound):
        visibility.site_for(db, parent, "S404")


def test_bright_spots_are_blinded_too(db, world):
    measure = add_measure(db)
    add_figures(db, world.other, measure, [(m, 50 if i < 20 else 80, 100) for i, m in enumerate(months(2023, 30))])
    publish(db, world)
    spots = bright_spots.find(db, world.user("parent"))
    assert [(s.label, s.ref) for s in spots] == [("Site 2", "S2")] and "Other Site" not in spots[0].sentence
    # the invitation goes to the site's own lead, who sees their own site by name
    assert bright_spots.invite(db, leader(world)) == 1
    from network import notifications

    assert "Other Site Clinic" in notifications.recent(db, world.user("site_lead", "other"))[0].text


# ---------------------------------------------------------------------------------------------
# Every path, through HTTP

@pytest.fixture
def network(db, world):
    """Two measures, three sites (the third with an id, name and short name that cannot occur by
    chance), a bright spot at the other site, and version 1 of the agreement nobody has accepted."""
    zebra = Site(id=ZEBRA_ID, slug=ZEBRA_SLUG, name=ZEBRA_NAME, city="Stripeton", code=3)
    db.add(zebra)
    db.commit()
    world.zebra = zebra
    for key in ("remission", "steroid-free"):
        measure = add_measure(db, key=key)
        add_figures(db, world.own, measure, [(m, 60 + i % 4, 100) for i, m in enumerate(months(2023, 30))])
        add_figures(db, world.other, measure,
                    [(m, 50 if i < 20 else 80, 100) for i, m in enumerate(months(2023, 30))])
        add_figures(db, zebra, measure, [(m, 70 + i % 3, 120) for i, m in enumerate(months(2023, 30))])
    # a test of change at each site, linked to both measures (written as the site teams would)
    from content import pdsa
    world.cycle_ids = {}
    for site in (world.own, world.other, zebra):
        cycle = pdsa.Cycle(site_id=site.id, number=1, title="Morning huddle", aim="More plans", change="A huddle",
                           prediction="We predict more plans", start_month=date(2024, 1, 1),
                           end_month=date(2024, 2, 1), acting_role="site_lead", measure_links=[
                               pdsa.CycleMeasure(measure_id=outcomes.measure_by_key(db, key).id)
                               for key in ("remission", "steroid-free")])
        db.add(cycle)
        db.flush()
        world.cycle_ids[site.slug] = cycle.id
    publish(db, world)
    return world


FORBIDDEN_OTHER = ("Other Site Clinic", "other-site", ZEBRA_NAME, ZEBRA_SLUG, str(ZEBRA_ID), "Stripeton")


def _outcome_urls(app, world, refs=("own-site", "S2", "S3")) -> list[str]:
    """Every GET route that serves outcome data (pages, downloads, API, FHIR, bright spots, the home
    page), with each site parameter filled in as a blinded page would link it."""
    wanted_prefixes = ("outcomes.", "api.", "public.", "pdsa.", "health.")
    extra = {"front.bright_spot_list", "home.index"}
    skip = {"outcomes.index", "api.openapi", "api.list_resources", "api.show_resource", "api.list_stories",
            "api.show_story", "outcomes.tokens"}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in skip:
            continue
        if not (rule.endpoint.startswith(wanted_prefixes) or rule.endpoint in extra):
            continue
        path = rule.rule.replace("<key>", "remission").replace("<int:version>", "1")
        if "<slug>" in path:
            urls += [path.replace("<slug>", ref) for ref in refs]
        elif "<int:cycle_id>" in path:
            urls += [path.replace("<int:cycle_id>", str(cid)) for cid in world.cycle_ids.values()]
        else:
            urls.append(path)
    urls += [f"/api/v1/cycles?site={ref}" for ref in refs]
    urls += ["/pdsa/measures/remission?decision=adopt", "/api/v1/cycles?measure=remission"]
    urls += ["/outcomes/steroid-free", "/outcomes/remission?sort=latest", "/outcomes/remission?signals=1",
             "/outcomes/remission/funnel?start=2023-01&end=2025-06", "/outcomes/fhir.json?measure=remission",
             "/api/v1/fhir/MeasureReport?measure=steroid-free", "/outcomes/remission?q=other",
             "/outcomes/remission?q=zebra"]
    assert len(urls) >= 25
    return urls


def _links(body: str) -> set[str]:
    return {h for h in re.findall(r'href="([^"]+)"', body) if h.startswith(("/outcomes/", "/api/", "/pdsa/"))}


#: pages for some roles only (figures entry, measure definitions): refused to others, checked where allowed
MANAGEMENT = ("/outcomes/submit", "/outcomes/upload", "/outcomes/measures/new", "/outcomes/measures/remission/edit")
#: the network's health (network leaders and site leads): aggregate figures by role, naming no site —
#: crawled (and searched for other sites) as those who may see it, refused to the others
LEADERS_ONLY = ("/api/v1/health", "/health/")
#: a site team's forms (record or edit a test of change): the own site's site lead only
TEAM_FORM = re.compile(r"^/pdsa/(sites/[^/?]+/new|[0-9]+/edit)")


def _expected(url: str, role: str, world) -> tuple:
    """The statuses this member may get (refused: 403, or 404 where another site's team form is hidden)."""
    path = urlsplit(url).path
    if path in LEADERS_ONLY:
        return (200,) if role in ("network_leader", "site_lead") else (403,)
    if TEAM_FORM.match(path):
        own = path.startswith("/pdsa/sites/own-site/") or path == f"/pdsa/{world.cycle_ids['own-site']}/edit"
        return (200,) if role == "site_lead" and own else (403, 404)
    return (200,)


@pytest.mark.parametrize("role", ["parent", "site_lead", "network_leader"])
def test_a_member_who_has_not_accepted_finds_no_other_site_in_any_outcome_answer(app, login_as, network, role):
    """Every outcome page, CSV, SVG, API answer and FHIR export — and every outcome page they link to —
    as a member before accepting: no other site's name, short name or id anywhere, headers (file names)
    included; their own site by name."""
    member = login_as(role)
    refs = ("S1", "S2", "S3") if role == "network_leader" else ("own-site", "S2", "S3")
    seen, queue = set(), _outcome_urls(app, network, refs)
    checked = 0
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = member.get(url, follow_redirects=True)
        expected = (403,) if url in MANAGEMENT and response.status_code == 403 else _expected(url, role, network)
        assert response.status_code in expected, f"{url}: {response.status_code}"
        body = response.get_data(as_text=True)
        headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
        for secret in FORBIDDEN_OTHER:
            assert secret not in body, f"{secret!r} leaks in {url}"
            assert secret not in headers, f"{secret!r} leaks in the headers of {url}"
        if response.mimetype == "text/html":
            queue += [link.replace("&amp;", "&") for link in _links(body)
                      if urlsplit(link).path not in {urlsplit(u).path for u in seen}]
        checked += 1
    assert checked >= 40
    # the tests of change are crawled too: every site's page, cycle and API answer, by code
    assert {"/pdsa/measures/remission", "/pdsa/sites/S2", "/pdsa/sites/S3", "/api/v1/cycles?site=S3",
            *(f"/pdsa/{cid}" for cid in network.cycle_ids.values()),
            *(f"/api/v1/cycles/{cid}" for cid in network.cycle_ids.values())} <= seen
    if role == "network_leader":  # no site of their own: every site is a code
        leader_view = member.get("/outcomes/remission").get_data(as_text=True)
        assert "Own Site Hospital" not in leader_view and "Site 1" in leader_view
        assert member.get("/outcomes/measures/remission/edit").status_code == 200
        return
    parent = member
    overview = parent.get("/outcomes/remission").get_data(as_text=True)
    assert "Own Site Hospital" in overview and "Site 2" in overview and "Site 3" in overview
    assert "data-use agreement" in overview  # the prompt to read and accept it
    sites = parent.get("/api/v1/measures/remission/sites").json
    assert sites["blinded"] is True
    assert {(s["site"], s["label"]) for s in sites["sites"]} == {("own-site", "Own Site Hospital"), (None, "Site 2"),
                                                                 (None, "Site 3")}
    bundle = parent.get("/outcomes/fhir.json").json
    reporters = {json.dumps(e["resource"]["reporter"], sort_keys=True) for e in bundle["entry"]}
    assert reporters == {json.dumps(r, sort_keys=True) for r in (
        {"identifier": {"system": fhir.SITE_SYSTEM, "value": "own-site"}, "display": "Own Site Hospital"},
        {"display": "Site 2"}, {"display": "Site 3"})}
    assert len(bundle["entry"]) == 2 * 3 * 30 and len({e["resource"]["id"] for e in bundle["entry"]}) == 180
    home = parent.get("/").get_data(as_text=True)
    assert "Site 2: remission has been better" in home


def test_after_accepting_the_same_member_sees_names_everywhere(app, db, login_as, network):
    parent = login_as("parent")
    page = parent.get("/agreement/?next=/outcomes/remission").get_data(as_text=True)
    assert "We use other sites" in page and "<strong>to learn</strong>" in page and 'value="1"' in page
    accepted = parent.post("/agreement/accept", data={"version": "1", "next": "/outcomes/remission"})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/outcomes/remission"
    overview = parent.get("/outcomes/remission").get_data(as_text=True)
    assert "Other Site Clinic" in overview and ZEBRA_NAME in overview and "/outcomes/remission/sites/other-site" in overview
    assert "Read and accept the agreement" not in overview
    assert "Other Site Clinic,2023-01" in parent.get("/outcomes/remission/data.csv").get_data(as_text=True)
    assert {s["site"] for s in parent.get("/api/v1/measures/remission/sites").json["sites"]} == {
        "own-site", "other-site", ZEBRA_SLUG}
    fhir_text = parent.get("/api/v1/fhir/MeasureReport").get_data(as_text=True)
    assert ZEBRA_SLUG in fhir_text and "Other Site Clinic" in fhir_text
    assert parent.get("/outcomes/remission/sites/other-site").status_code == 200
    assert "Other Site Clinic" in parent.get("/bright-spots").get_data(as_text=True)
    status = parent.get("/api/v1/agreement").json
    assert (status["version"], status["accepted"], status["blinded"]) == (1, True, False)
    # a new version asks again, on every path
    publish(db, network, body=TEXT + "\n\nVersion 2.")
    assert "Other Site Clinic" not in parent.get("/outcomes/remission").get_data(as_text=True)
    assert parent.get("/api/v1/agreement").json["blinded"] is True
    assert parent.get("/outcomes/remission/sites/other-site").status_code == 403


def test_a_blinded_member_asking_for_another_site_by_name_gets_a_clear_refusal(login_as, network):
    parent = login_as("parent")
    for url in ("/outcomes/sites/other-site", "/outcomes/remission/sites/other-site",
                "/outcomes/remission/sites/zebra-crossing.csv", "/outcomes/remission/sites/other-site.svg"):
        response = parent.get(url)
        assert response.status_code == 403, url
        body = response.get_data(as_text=True)
        assert "until you accept the current data-use agreement" in body
        assert "Site 2" not in body and "Site 3" not in body  # the name is not tied to a code
    assert parent.get("/outcomes/sites/own-site").status_code == 200


def test_accepting_a_stale_version_through_the_page_is_a_clear_409(db, login_as, network):
    publish(db, network, body=TEXT + "\n\nVersion 2.")
    parent = login_as("parent")
    response = parent.post("/agreement/accept", data={"version": "1"})
    assert response.status_code == 409
    assert "version 2 is" in response.get_data(as_text=True)
    assert count(db, AgreementAcceptance) == 0
    assert parent.post("/agreement/accept", data={}).status_code == 422
    assert count(db, AgreementAcceptance) == 0


def test_leaders_publish_and_see_who_accepted_through_the_pages(db, world, login_as):
    chief = login_as("network_leader")
    empty = chief.get("/agreement/manage").get_data(as_text=True)
    assert "No agreement has been published yet" in empty
    bad = chief.post("/agreement/manage", data={"body": "   ", "summary": "x"})
    assert bad.status_code == 422 and "Write the agreement" in bad.get_data(as_text=True)
    assert count(db, DataUseAgreement) == 0
    assert chief.post("/agreement/manage", data={"body": TEXT, "summary": "First"}).status_code == 302
    login_as("parent").post("/agreement/accept", data={"version": "1"})
    page = chief.get("/agreement/manage").get_data(as_text=True)
    assert "1 of 10 members have accepted it" in page and "Parent Own" in page and "Patient Own" in page
    assert login_as("site_lead").post("/agreement/manage", data={"body": TEXT}).status_code == 403
    assert login_as("site_lead").get("/agreement/manage").status_code == 403
    assert count(db, DataUseAgreement) == 1
    second = chief.post("/agreement/manage", data={"body": TEXT + " v2", "summary": "Second"})
    assert second.status_code == 302 and agreements.current(db).version == 2
    assert "0 of 10 members" in chief.get("/agreement/manage").get_data(as_text=True)
    assert "no longer current" in login_as("parent").get("/agreement/versions/1").get_data(as_text=True)


def test_the_site_page_does_not_link_a_blinded_member_to_another_sites_outcomes(login_as, network):
    parent = login_as("parent")
    other = parent.get("/sites/other-site").get_data(as_text=True)
    assert "/outcomes/sites/other-site" not in other and "accept the data-use agreement" in other
    own = parent.get("/sites/own-site").get_data(as_text=True)
    assert "/outcomes/sites/own-site" in own


def test_the_public_view_stays_aggregate_and_coded(client, network):
    page = client.get("/public/outcomes/remission").get_data(as_text=True)
    for secret in FORBIDDEN_OTHER + ("Own Site Hospital", "own-site"):
        assert secret not in page


def test_blinded_pages_do_not_grow_queries_with_sites(db, world, login_as, count_queries):
    """The agreement standing is one query per request, whatever the number of sites or charts."""
    from network import outcome_reports

    measure = add_measure(db)
    add_figures(db, world.own, measure, [(m, 50, 100) for m in months(2024, 12)])
    publish(db, world)

    def page_queries(url) -> int:
        outcome_reports.clear_cache()
        client = login_as("parent")
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    urls = ("/outcomes/remission", "/outcomes/remission/funnel", "/outcomes/fhir.json", "/api/v1/measures/remission/sites")
    few = [page_queries(url) for url in urls]
    for i in range(10):
        site = Site(slug=f"extra-{i}", name=f"Extra {i}", code=100 + i)
        db.add(site)
        db.commit()
        add_figures(db, site, measure, [(m, 50, 100) for m in months(2024, 12)])
    many = [page_queries(url) for url in urls]
    assert many == few, f"{few} queries with 2 sites, {many} with 12"


def test_demo_agreement_is_accepted_by_most_but_not_the_northgate_parent(db):
    from app.cli import seed_demo

    seed_demo(db)
    agreement = agreements.current(db)
    assert agreement is not None and agreement.version == 1 and "Learn, never shame" in agreement.body
    accepted = count(db, AgreementAcceptance)
    members = db.scalar(select(func.count(func.distinct(Membership.user_id))).join(User, User.id == Membership.user_id)
                        .where(User.email.is_not(None)))
    assert members * 0.9 < accepted < members
    by_email = {u.email.split("@")[0]: u for u in db.scalars(select(User).where(User.email.is_not(None)))}
    northgate = visibility.lens(db, by_email["parent.northgate-ibd"])
    riverside = db.scalar(select(Site).where(Site.slug == "riverside-childrens"))
    own = db.scalar(select(Site).where(Site.slug == "northgate-ibd"))
    assert northgate.blinded and northgate.label(own) == own.name and northgate.label(riverside) == f"Site {riverside.code}"
    for login in ("leader", "moderator", "lead.riverside-childrens", "parent.riverside-childrens",
                  "clinician.northgate-ibd"):
        assert not visibility.lens(db, by_email[login]).blinded, login
    seed_demo(db)
    assert count(db, AgreementAcceptance) == accepted and count(db, DataUseAgreement) == 1
