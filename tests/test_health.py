"""Network health: figures by role month by month, small cells suppressed (with complementary cells),
co-produced share, sites on time, the public summary by role group, the JSON API and a bounded number
of queries."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from content import health, library, narratives
from network.errors import Forbidden, Unauthenticated
from network.access import ANONYMOUS
from network.outcomes import Submission
from network.people import Membership, Site, User
from network.usage import UsageEvent
from tests.outcome_fixtures import add_measure

MARCH = date(2025, 3, 1)
APRIL = date(2025, 4, 1)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def _people(db, role: str, count: int, site: Site) -> list[User]:
    made = []
    for i in range(count):
        user = User(email=f"{role}{i}.{site.slug}@example.org", full_name=f"{role} {i}")
        db.add(user)
        db.flush()
        db.add(Membership(user_id=user.id, site_id=site.id, role=role))
        made.append(user)
    db.flush()
    return made


def _views(db, users, role, month, kind="view", object_type="resource", object_id=1):
    for user in users:
        db.add(UsageEvent(at=_at(month), month=month, kind=kind, object_type=object_type, object_id=object_id,
                          actor_id=user.id, actor_role=role))
    db.commit()


def _series(figure, key):
    return next(s for s in figure.series if s.key == key)


def test_small_cells_are_suppressed_with_a_complementary_cell(db, world):
    patients = _people(db, "patient", 14, world.own)
    parents = _people(db, "parent", 3, world.own)
    clinicians = _people(db, "clinician", 12, world.own)
    _views(db, patients, "patient", MARCH)
    _views(db, parents, "parent", MARCH)
    _views(db, clinicians, "clinician", MARCH)
    leader = world.user("network_leader", "network")
    figure = health.active_members(db, leader, months=[MARCH])
    assert _series(figure, "total").values == [29.0]
    assert _series(figure, "parent").values == [None]            # 3: primary suppression
    # one hidden cell would be total minus the rest: the smallest other non-zero cell hides too
    assert _series(figure, "clinician").values == [None]
    assert _series(figure, "patient").values == [14.0]
    assert _series(figure, "site_lead").values == [0.0]          # 0 may show

    public = health.active_members(db, ANONYMOUS, public=True, months=[MARCH])
    assert [s.key for s in public.series] == ["total", "family", "professional", "network"]
    assert _series(public, "family").values == [17.0] and _series(public, "professional").values == [12.0]
    assert not any(s.key in health.ROLES for s in public.series)   # the public never sees single roles


def test_a_small_total_hides_every_cell(db, world):
    _views(db, _people(db, "patient", 4, world.own), "patient", MARCH)
    figure = health.resources_used(db, world.user("network_leader", "network"), months=[MARCH])
    assert all(s.values == [None] for s in figure.series if s.key in ("total", "patient"))


def test_resources_used_counts_views_downloads_and_adoptions_by_reader_role(db, world):
    readers = _people(db, "parent", 6, world.own)
    _views(db, readers, "parent", APRIL)
    _views(db, readers, "parent", APRIL, kind="download")
    _views(db, readers, "parent", APRIL, kind="attendance", object_type="session")  # not a use of a resource
    figure = health.resources_used(db, world.user("network_leader", "network"), months=[MARCH, APRIL])
    assert _series(figure, "parent").values == [0.0, 12.0]


def test_attendance_counts_a_person_once_per_session(db, world):
    people = _people(db, "clinician", 11, world.own)
    _views(db, people, "clinician", APRIL, kind="attendance", object_type="session", object_id=7)
    _views(db, people, "clinician", APRIL, kind="attendance", object_type="session", object_id=7)  # rejoined
    figure = health.attendance(db, world.user("network_leader", "network"), months=[APRIL])
    assert _series(figure, "clinician").values == [11.0]


def test_members_creating_reads_every_creation_source(db, world, monkeypatch):
    parents = _people(db, "parent", 11, world.own)
    for user in parents:
        db.add(narratives.Story(author_id=user.id, acting_role="parent", title="T", body="B", created_at=_at(MARCH)))
    db.commit()
    leader = world.user("network_leader", "network")
    assert _series(health.members_creating(db, leader, months=[MARCH]), "parent").values == [11.0]
    # a new kind of created thing is one entry in CREATING (PDSA cycles go there)
    clinicians = _people(db, "clinician", 11, world.own)
    story = db.scalars(select(narratives.Story)).first()
    for user in clinicians:
        db.add(narratives.StoryComment(story_id=story.id, author_id=user.id, acting_role="clinician", body="x",
                                       created_at=_at(MARCH)))
    db.commit()
    assert _series(health.members_creating(db, leader, months=[MARCH]), "clinician").values == [0.0]
    monkeypatch.setattr(health, "CREATING", [*health.CREATING, health.CreationSource("comments", narratives.StoryComment)])
    figure = health.members_creating(db, leader, months=[MARCH])
    assert _series(figure, "clinician").values == [11.0] and "comments" in figure.notes


def _resource(db, slug, revisions, approvals, *, published_number=1, archived=False, when=MARCH):
    """revisions: acting roles of revisions 1..n; approvals: roles approving the published revision."""
    resource = library.Resource(slug=slug, title=slug, type="guide", status="archived" if archived else "published",
                                published_at=_at(when))
    db.add(resource)
    db.flush()
    rows = []
    for number, role in enumerate(revisions, start=1):
        row = library.Revision(resource_id=resource.id, number=number, title=slug, body="b", acting_role=role)
        db.add(row)
        db.flush()
        rows.append(row)
    published = rows[published_number - 1]
    resource.published_revision_id = resource.current_revision_id = published.id
    for role in approvals:
        db.add(library.ReviewDecision(resource_id=resource.id, revision_id=published.id, acting_role=role,
                                      decision="approve"))
    db.flush()
    return resource


def test_coproduced_share_follows_the_coproduction_rule(db, world):
    for i in range(6):   # a parent wrote it, a clinician approved it
        _resource(db, f"a{i}", ["parent"], ["clinician"])
    for i in range(6):   # clinician and patient co-wrote it
        _resource(db, f"b{i}", ["clinician", "patient"], [], published_number=2)
    for i in range(6):   # only clinicians
        _resource(db, f"c{i}", ["clinician"], ["site_lead"])
    for i in range(5):   # a patient's later draft is not part of what was published
        _resource(db, f"d{i}", ["clinician", "patient"], [], published_number=1)
    for i in range(3):   # archived: not counted
        _resource(db, f"e{i}", ["parent"], ["clinician"], archived=True)
    for i in range(4):   # published in April: not yet in March's stock
        _resource(db, f"f{i}", ["parent"], ["clinician"], when=APRIL)
    db.commit()
    figure = health.coproduced_share(db, world.user("network_leader", "network"), months=[MARCH, APRIL])
    series = figure.series[0]
    assert series.numerators == [12, 16] and series.denominators == [23, 27]
    assert series.values[0] == pytest.approx(12 / 23)
    # the same answer as the library's own per-resource rule
    for slug, expected in (("a0", True), ("b0", True), ("c0", False), ("d0", False)):
        resource = db.scalars(select(library.Resource).where(library.Resource.slug == slug)).one()
        assert library.coproduction(db, resource)["coproduced"] is expected


def test_coproduced_share_is_suppressed_when_small(db, world):
    for i in range(12):
        _resource(db, f"a{i}", ["parent"], ["clinician"])
    _resource(db, "solo", ["clinician"], [])
    db.commit()
    series = health.coproduced_share(db, world.user("network_leader", "network"), months=[MARCH]).series[0]
    # 12 of 13: the complement (1) would identify the one resource that is not co-produced
    assert series.values == [None] and series.numerators == [None]


def _submit(db, site, measure, month, created: date) -> Submission:
    row = Submission(site_id=site.id, measure_id=measure.id, month=month, numerator=5, denominator=10,
                     source="form", created_at=_at(created))
    db.add(row)
    return row


def test_sites_on_time_uses_the_data_due_rule(db, world):
    first, second = add_measure(db), add_measure(db, key="visits")
    add_measure(db, key="retired", is_active=False)
    late_site = Site(slug="late", name="Late", code=3)
    partial = Site(slug="partial", name="Partial", code=4)
    db.add_all([late_site, partial])
    db.flush()
    for measure in (first, second):
        _submit(db, world.own, measure, MARCH, date(2025, 4, 30))   # last day of the following month
        _submit(db, late_site, measure, MARCH, date(2025, 5, 1))    # once the next reminder month began
    _submit(db, world.other, first, MARCH, date(2025, 4, 2)).is_current = False
    _submit(db, world.other, second, MARCH, date(2025, 4, 3))
    db.add(Submission(site_id=world.other.id, measure_id=first.id, month=MARCH, numerator=6, denominator=10,
                      version=2, source="form", created_at=_at(date(2025, 6, 1))))  # a later correction is fine
    _submit(db, partial, first, MARCH, date(2025, 4, 2))                # one measure it reports is missing
    _submit(db, partial, second, date(2025, 2, 1), date(2025, 3, 2))
    db.add(Submission(site_id=partial.id, measure_id=add_measure(db, key="derived").id, month=MARCH, numerator=1,
                      denominator=2, source="derived", created_at=_at(date(2025, 9, 1))))  # never late
    db.commit()
    assert health.due_by(MARCH) == date(2025, 5, 1)
    figure = health.on_time(db, world.user("network_leader", "network"), months=[MARCH], today=date(2026, 1, 1))
    series = figure.series[0]
    assert (series.numerators, series.denominators) == ([2], [4]) and series.values == [0.5]
    _submit(db, partial, second, MARCH, date(2025, 4, 20))
    db.commit()
    series = health.on_time(db, world.user("network_leader", "network"), months=[MARCH], today=date(2026, 1, 1)).series[0]
    assert series.numerators == [3]
    public = health.on_time(db, ANONYMOUS, public=True, months=[MARCH], today=date(2026, 1, 1))
    assert public.series[0].values == [None]  # 2 of 4 sites: small counts are hidden from the public
    # a month still inside its due window is left out
    assert health.on_time(db, world.user("network_leader", "network"), months=[MARCH, APRIL],
                          today=date(2025, 5, 15)).months == ["2025-03"]


def test_only_leaders_see_the_dashboard_and_everyone_the_summary(db, world):
    for role in ("patient", "parent", "clinician", "moderator"):
        where = "network" if role == "moderator" else "own"
        with pytest.raises(Forbidden):
            health.dashboard(db, world.user(role, where))
    with pytest.raises(Unauthenticated):
        health.dashboard(db, ANONYMOUS)
    assert len(health.dashboard(db, world.user("site_lead"))) == len(health.FIGURES)
    assert len(health.dashboard(db, ANONYMOUS, public=True)) == len(health.FIGURES)


def _busy_network(db, world, scale: int):
    for s in range(scale):
        site = Site(slug=f"s{scale}-{s}", name=f"Site {s}", code=100 * scale + s)
        db.add(site)
        db.flush()
        for role in ("patient", "parent", "clinician"):
            people = _people(db, role, 4, site)
            for month in health.window():
                _views(db, people, role, month)
                _views(db, people, role, month, kind="attendance", object_type="session", object_id=s)
        _resource(db, f"r{scale}-{s}", ["parent"], ["clinician"], when=health.window()[3])
    db.commit()


def test_the_dashboard_makes_a_bounded_number_of_queries(db, world, count_queries, login_as):
    add_measure(db)
    leader = world.user("network_leader", "network")
    assert leader.roles  # in a request, the sign-in check loads the viewer's roles (network/devices.py)
    _busy_network(db, world, 2)
    with count_queries() as small:
        health.dashboard(db, leader)
    _busy_network(db, world, 8)
    with count_queries() as large:
        figures = health.dashboard(db, leader)
    # constant in the network's size: two figures read every creation source once (one query each)
    assert large.count == small.count <= 10 + 2 * len(health.CREATING)
    assert _series(figures[0], "parent").values[-1] == 40.0   # 10 sites × 4 parents, every month
    client = login_as("network_leader")
    with count_queries() as page:
        assert client.get("/health/").status_code == 200
    assert page.count <= small.count + 12


def test_pages_and_api_show_the_same_suppressed_figures(db, world, login_as):
    _views(db, _people(db, "patient", 15, world.own), "patient", health.window()[-1])
    _views(db, _people(db, "parent", 2, world.own), "parent", health.window()[-1])
    page = login_as("network_leader").get("/health/").get_data(as_text=True)
    assert "Active members" in page and "suppressed" in page and "<svg" in page
    data = login_as("site_lead").get("/api/v1/health").json
    active = next(f for f in data["figures"] if f["key"] == "active_members")
    last = {s["key"]: s["points"][-1] for s in active["series"]}
    assert last["parent"]["suppressed"] and last["parent"]["value"] is None
    assert last["patient"]["suppressed"]                      # complementary
    assert last["total"]["value"] == 17
    public = login_as("anonymous").get("/api/v1/health/public").json
    active = next(f for f in public["figures"] if f["key"] == "active_members")
    assert {s["key"] for s in active["series"]} == {"total", "family", "professional", "network"}
    assert login_as("anonymous").get("/public/health").status_code == 200
    refused = login_as("parent").get("/api/v1/health")
    assert refused.status_code == 403 and set(refused.json["error"]) >= {"status", "title", "message", "fields"}
    spec = login_as("anonymous").get("/api/v1/openapi.json").json
    assert "/api/v1/health" in spec["paths"] and "/api/v1/health/public" in spec["paths"]


def test_members_creating_counts_tests_of_change_by_the_role_they_were_recorded_in(db, world):
    """A PDSA cycle counts as created by its recorder in the team role they acted in, once per person (and
    makes them active); a cycle sent with a site token has no person's role and is left out."""
    from content import pdsa
    from network import outcomes
    from network.db import utcnow

    measure = add_measure(db, key="remission")
    now = utcnow()
    this_month = date(now.year, now.month, 1)

    def cycle(actor, **extra):
        return pdsa.record(db, actor, world.own, pdsa.CycleFields(
            title="Huddle", aim="More plans", change="A huddle", prediction="We predict more plans",
            start_month=this_month.strftime("%Y-%m"), end_month=this_month.strftime("%Y-%m"),
            measures=[measure.key], **extra))

    leader = world.user("network_leader", "network")
    before = health.members_creating(db, leader, months=[this_month])
    assert _series(before, "clinician").values == [0.0] and "pdsa_cycles" in before.notes
    clinicians = _people(db, "clinician", 11, world.own)
    for user in clinicians:
        cycle(user)
    cycle(clinicians[0])                                  # a second cycle: still one person
    _token, secret = outcomes.create_token(db, world.user("site_lead"), world.own, "EHR feed")
    cycle(outcomes.actor_for_token(db, secret))           # a token's cycle: no person's role
    assert db.scalar(select(func.count()).select_from(pdsa.Cycle)) == 13
    figure = health.members_creating(db, leader, months=[this_month])
    assert _series(figure, "clinician").values == [11.0]
    assert _series(figure, "site_lead").values == [0.0]
    assert _series(figure, "total").values == [11.0]
    active = health.active_members(db, leader, months=[this_month])
    assert _series(active, "clinician").values == [11.0]
