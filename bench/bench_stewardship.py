"""Library stewardship at network scale.

Prints each figure with its target:
  1. the three-way merge behind the adaptation merge page: two 100 KB revisions (the site's adaptation and
     the network's new revision, ~5% of lines edited on each side, a few edited on both) against their
     base: content.diff.three_way, resolve, and everything the merge page computes (the merge and the
     network's changes as an inline diff); best / median of 10                       [target <= 200 ms]
     and the bad case of bench_diff (10,000 short repeated lines, each side editing every 4th line)
  2. the overdue list and the "adapted by" counts with 1,000 and then 10,000 published resources (30%
     overdue; 3,000 adapted by 1-3 of 70 sites, each adaptation a resource of its own): SQL statements
     and time of content.stewardship.overdue (first page of 200 with the total; and every overdue tool
     at once), adaptation_counts for every resource, and the /library/overdue page through the Flask test
     client (server time, p50 / p95 of 20 after one warm-up)    [statements: the same at 1,000 and 10,000]

SQLite (a file) and, when it answers, PostgreSQL on 127.0.0.1:5432/test in a schema of its own
(`bench_stewardship`, chosen with -csearch_path and dropped at the end). Rows are inserted with
SQLAlchemy Core executemany; the build time is printed but is not a target.

    .venv/bin/python bench/bench_stewardship.py [--database sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import config  # noqa: E402
from app import create_app  # noqa: E402
from content import diff, stewardship  # noqa: E402
from content import models as content_models  # noqa: E402,F401
from content.library import Resource, Revision  # noqa: E402
from content.stewardship import Adaptation, ReviewSchedule  # noqa: E402
from network import models as network_models  # noqa: E402,F401
from network.db import Base, make_engine, make_session_factory  # noqa: E402
from network.people import Membership, Site, User, session_token  # noqa: E402

logging.getLogger("alembic").setLevel(logging.WARNING)

PG_URL = "postgresql+psycopg://127.0.0.1:5432/test"
PG_SCHEMA = "bench_stewardship"
SEED = 20261126
MERGE_TARGET_MS = 200.0
RUNS = 10
SITES = 70
OVERDUE_SHARE, ADAPTED_SHARE = 0.30, 0.30
SIZES = (1_000, 10_000)
PAGE_RUNS = 20
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
TODAY = NOW.date()

WORDS = ("flare rest fluids plan teacher nurse school call clinic medicine dose infusion injection side "
         "effects diary routine travel exam friend team parent question blood test scan remission steroid "
         "the a and to of with for in at your when before after can should may will is are on or").split()


# ---------------------------------------------------------------------------------------------
# 1. Merges

def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    return " ".join(words).capitalize() + "."


def document(rng: random.Random, size: int) -> list[str]:
    """Markdown of about `size` characters: headings, paragraphs, list items, one line each."""
    lines: list[str] = []
    total = 0
    while total < size:
        roll = rng.random()
        if roll < 0.08:
            line = f"## {_sentence(rng)[:-1]}\n"
        elif roll < 0.35:
            line = f"- {_sentence(rng)}\n"
        else:
            line = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3))) + "\n"
        lines += [line, "\n"]
        total += len(line) + 1
    return lines


def edited(rng: random.Random, lines: list[str], share: float, tag: str, skip: set[int]) -> list[str]:
    """Edit, insert or delete about `share` of the lines (not those in `skip`)."""
    out = []
    for number, line in enumerate(lines):
        if number in skip or line == "\n" or rng.random() > share:
            out.append(line)
            continue
        roll = rng.random()
        if roll < 0.6:
            out.append(f"{line[:-1]} ({tag} edit)\n")
        elif roll < 0.85:
            out += [line, f"{tag}: {_sentence(rng)}\n", "\n"]
    return out


def merge_case() -> tuple[str, str, str]:
    rng = random.Random(SEED)
    base = document(rng, 100_000)
    both = {i for i in range(0, len(base), 97) if base[i] != "\n"}     # a few lines both sides edit
    mine = edited(rng, base, 0.05, "site", set())
    theirs = edited(rng, base, 0.05, "network", set())
    for number in both:  # the same lines, edited differently on each side
        mine = [f"{line[:-1]} (site rewrote)\n" if line == base[number] else line for line in mine]
        theirs = [f"{line[:-1]} (network rewrote)\n" if line == base[number] else line for line in theirs]
    return "".join(base), "".join(mine), "".join(theirs)


def bad_case() -> tuple[str, str, str]:
    base = [f"item {i % 7}\n" for i in range(10_000)]
    mine = [f"{line[:-1]} mine\n" if i % 4 == 1 else line for i, line in enumerate(base)]
    theirs = [f"{line[:-1]} theirs\n" if i % 4 == 3 else line for i, line in enumerate(base)]
    return "".join(base), "".join(mine), "".join(theirs)


def timed(fn, runs: int = RUNS) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def check_nothing_lost(base: str, mine: str, theirs: str, merged: str) -> None:
    """Every line either side introduced is in the merge settled with "both"."""
    base_lines = set(base.splitlines())
    for line in set(mine.splitlines()) | set(theirs.splitlines()):
        if line not in base_lines:
            assert line in merged, line


def merge_figures() -> list[str]:
    lines = []
    for label, (base, mine, theirs) in (("two 100 KB revisions", merge_case()), ("bad case, 10,000 short lines",
                                                                                 bad_case())):
        result = diff.three_way(base, mine, theirs)
        settled = diff.resolve(result, {c.index: "both" for c in result.conflicts})
        check_nothing_lost(base, mine, theirs, settled)
        best, median = timed(lambda: diff.three_way(base, mine, theirs))
        page_best, page_median = timed(lambda: (diff.three_way(base, mine, theirs), diff.inline_html(base, theirs)))
        resolve_best, _ = timed(lambda: diff.resolve(result, {c.index: "both" for c in result.conflicts}))
        sizes = f"{len(base) // 1000}/{len(mine) // 1000}/{len(theirs) // 1000} KB, {len(result.conflicts)} conflicts"
        verdict = "ok" if median <= MERGE_TARGET_MS else "MISSED"
        lines.append(f"three-way merge, {label} ({sizes}): {best:.0f} / {median:.0f} ms "
                     f"[target <= {MERGE_TARGET_MS:.0f} ms] {verdict}; resolve {resolve_best:.1f} ms; "
                     f"the merge page's work (merge + network diff) {page_best:.0f} / {page_median:.0f} ms")
    return lines


# ---------------------------------------------------------------------------------------------
# 2. The overdue list and "adapted by" counts

def engine_for(url: str):
    if not url.startswith("postgresql"):
        return make_engine(url)
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    return make_engine(url, connect_args={"options": f"-csearch_path={PG_SCHEMA}"})


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def people(conn) -> int:
    """Sites and a network leader; returns the leader's id."""
    conn.execute(Site.__table__.insert(), [dict(id=i, slug=f"site-{i}", name=f"Site {i}", code=i, city="",
                                                is_active=True, created_at=NOW) for i in range(1, SITES + 1)])
    conn.execute(User.__table__.insert(), [dict(id=1, email="leader@bench.test", full_name="Leader",
                                                password_hash=None, profile_roles=["network_leader"],
                                                name_display="full", pronouns="", bio="", is_active=True,
                                                session_version=1, created_at=NOW)])
    conn.execute(Membership.__table__.insert(), [dict(user_id=1, site_id=None, role="network_leader",
                                                      data_steward=False, created_at=NOW)])
    return 1


def add_resources(conn, rng: random.Random, first: int, count: int, next_copy: list[int]) -> None:
    """`count` published resources from id `first` with one revision and a schedule each; 30% overdue,
    30% adapted by 1-3 sites (each adaptation a resource with its own revision). Copies take ids from
    next_copy (above every network resource)."""
    ids = range(first, first + count)
    resources, revisions, schedules, links = [], [], [], []
    for i in ids:
        resources.append(dict(id=i, slug=f"tool-{i}", title=f"Tool {i}", type="handbook", audience=["parents"],
                              language="en", tags=[], status="published", created_at=NOW, updated_at=NOW,
                              published_at=NOW - timedelta(days=rng.randint(30, 900))))
        revisions.append(dict(id=i, resource_id=i, number=1, title=f"Tool {i}", body=f"Body of tool {i}.",
                              summary="", acting_role="parent", kind="import", created_at=NOW))
        overdue = rng.random() < OVERDUE_SHARE
        due = TODAY - timedelta(days=rng.randint(1, 400)) if overdue else TODAY + timedelta(days=rng.randint(1, 365))
        schedules.append(dict(resource_id=i, review_by=due, last_reviewed_at=NOW - timedelta(days=400),
                              updated_at=NOW))
        if rng.random() < ADAPTED_SHARE:
            for site in rng.sample(range(1, SITES + 1), rng.randint(1, 3)):
                copy = next_copy[0]
                next_copy[0] += 1
                resources.append(dict(id=copy, slug=f"tool-{i}-site-{site}", title=f"Tool {i}", type="handbook",
                                      audience=["parents"], language="en", tags=[], status="draft", created_at=NOW,
                                      updated_at=NOW, published_at=None))
                revisions.append(dict(id=copy, resource_id=copy, number=1, title=f"Tool {i}",
                                      body=f"Body of tool {i}, site {site}.", summary="", acting_role="site_lead",
                                      kind="adapt", created_at=NOW))
                links.append(dict(resource_id=copy, network_resource_id=i, site_id=site, based_on_revision_id=i,
                                  acting_role="site_lead", created_at=NOW))
    conn.execute(Resource.__table__.insert(), resources)
    conn.execute(Revision.__table__.insert(), revisions)
    conn.execute(update(Resource.__table__).where(Resource.__table__.c.id >= first).values(
        current_revision_id=Resource.__table__.c.id))
    conn.execute(update(Resource.__table__).where(Resource.__table__.c.id >= first,
                                                  Resource.__table__.c.status == "published").values(
        published_revision_id=Resource.__table__.c.id))
    conn.execute(ReviewSchedule.__table__.insert(), schedules)
    if links:
        conn.execute(Adaptation.__table__.insert(), links)


def counted(engine, fn):
    """(result, SQL statements, milliseconds) of fn()."""
    count = [0]

    def on(*_args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", on)
    try:
        start = time.perf_counter()
        result = fn()
        elapsed = (time.perf_counter() - start) * 1000
    finally:
        event.remove(engine, "before_cursor_execute", on)
    return result, count[0], elapsed


def app_for(engine):
    class BenchConfig(config.TestConfig):
        DATABASE_URL = "sqlite://"

    app = create_app(BenchConfig)
    database = app.extensions["carecommons.db"]
    database.engine.dispose()
    database.engine, database.session_factory = engine, make_session_factory(engine)
    return app


def signed_in_client(app, user_id: int):
    client = app.test_client()
    with app.extensions["carecommons.db"].session_factory() as db:
        user = db.get(User, user_id)
        with client.session_transaction() as session:
            session["_user_id"] = session_token(user)
            session["login_at"] = session["seen_at"] = time.time()
    return client


def measure(engine, app, leader_id: int, size: int) -> list[str]:
    factory = make_session_factory(engine)
    lines = []
    with factory() as db:
        leader = db.get(User, leader_id)
        leader.memberships  # noqa: B018  (loaded once, as the request's user would be)
        (rows, total), statements, ms = counted(engine, lambda: stewardship.overdue(db, leader, on=TODAY))
        lines.append(f"{size:>6,} resources: overdue list, first page ({len(rows)} of {total:,} overdue): "
                     f"{statements} statements, {ms:.1f} ms")
        (rows, total), statements, ms = counted(engine, lambda: stewardship.overdue(db, leader, on=TODAY, limit=None))
        lines.append(f"{size:>6,} resources: overdue list, all {len(rows):,} at once: {statements} statements, "
                     f"{ms:.1f} ms")
        counts, statements, ms = counted(engine, lambda: stewardship.adaptation_counts(db))
        lines.append(f"{size:>6,} resources: \"adapted by\" counts of every resource ({len(counts):,} adapted, "
                     f"{sum(counts.values()):,} adaptations): {statements} statement(s), {ms:.1f} ms")
    client = signed_in_client(app, leader_id)
    assert client.get("/library/overdue").status_code == 200
    times = []
    for _ in range(PAGE_RUNS):
        start = time.perf_counter()
        assert client.get("/library/overdue").status_code == 200
        times.append((time.perf_counter() - start) * 1000)
    _response, statements, _ms = counted(engine, lambda: client.get("/library/overdue"))
    times.sort()
    lines.append(f"{size:>6,} resources: /library/overdue page: {statements} statements, "
                 f"p50 {statistics.median(times):.0f} ms / p95 {times[int(0.95 * (len(times) - 1))]:.0f} ms")
    return lines


def database_figures(label: str, url: str) -> list[str]:
    engine = engine_for(url)
    try:
        Base.metadata.create_all(engine)
        rng = random.Random(SEED)
        next_copy = [1_000_000]
        started = time.perf_counter()
        with engine.begin() as conn:
            leader_id = people(conn)
        app = app_for(engine)
        lines, first = [], 1
        for size in SIZES:
            build_started = time.perf_counter()
            with engine.begin() as conn:
                add_resources(conn, rng, first, size - first + 1, next_copy)
            lines.append(f"{size:>6,} resources: built in {time.perf_counter() - build_started:.1f} s")
            first = size + 1
            lines += measure(engine, app, leader_id, size)
        lines.append(f"(whole {label} part: {time.perf_counter() - started:.0f} s)")
        return lines
    finally:
        engine.dispose()
        drop(url)


def postgres_problem() -> str | None:
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 dbname=test connect_timeout=3").close()
    except Exception as exc:  # report and carry on: the SQLite figures stand on their own
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    print("== Merges (CPU only)")
    for line in merge_figures():
        print("  " + line)
    if args.database in ("sqlite", "both"):
        print("== SQLite (file)")
        with tempfile.TemporaryDirectory() as tmp:
            for line in database_figures("SQLite", f"sqlite:///{os.path.join(tmp, 'bench.db')}"):
                print("  " + line)
    if args.database in ("postgresql", "both"):
        problem = postgres_problem()
        if problem:
            print(f"== PostgreSQL not reachable at 127.0.0.1:5432 ({problem}); skipped")
        else:
            print("== PostgreSQL")
            for line in database_figures("PostgreSQL", PG_URL):
                print("  " + line)


if __name__ == "__main__":
    main()
