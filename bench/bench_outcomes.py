"""Outcome sharing at network scale: 100 sites x 120 months x 6 measures (72,000 monthly rows).

Prints, for SQLite and (when it answers) PostgreSQL on 127.0.0.1:5432/test:
  - importing all 72,000 rows as one CSV upload through the import service (time, peak memory)
  - computing every chart of the network (all sites and the network total, 6 measures), cold
  - the overview page and a site page: server time over 20 requests (first = cold cache), p50 / p95
  - SQL queries per page with 10 and with 100 sites (must not grow with the number of sites)

    .venv/bin/python bench/bench_outcomes.py [--database sqlite|postgresql|both]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import config  # noqa: E402
from app import create_app  # noqa: E402
from network import models  # noqa: E402,F401
from network import outcome_reports, outcomes, passwords  # noqa: E402
from network.db import Base, make_engine  # noqa: E402
from network.people import Membership, Site, User, session_token  # noqa: E402

SITES, MONTHS, MEASURES = 100, 120, 6
PG_URL = "postgresql+psycopg://127.0.0.1:5432/test"


def build(url: str, sites: int):
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench_outcomes CASCADE"))
            conn.execute(text("CREATE SCHEMA bench_outcomes"))
        engine.dispose()
        engine = make_engine(url, connect_args={"options": "-csearch_path=bench_outcomes"})
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        pw = passwords.hash_password("bench-password-123")
        conn.execute(User.__table__.insert(), [{"email": "lead@bench.test", "full_name": "Bench Lead",
                                                 "password_hash": pw, "name_display": "full", "pronouns": "",
                                                 "bio": "", "profile_roles": [], "is_active": True,
                                                 "session_version": 1, "created_at": outcomes.utcnow()}])
        conn.execute(Site.__table__.insert(), [{"slug": f"site-{i:03d}", "name": f"Site Hospital {i:03d}", "city": "",
                                                 "code": i + 1, "is_active": True, "created_at": outcomes.utcnow()}
                                                for i in range(sites)])
        conn.execute(Membership.__table__.insert(), [{"user_id": 1, "site_id": i + 1, "role": "site_lead",
                                                       "data_steward": False, "created_at": outcomes.utcnow()}
                                                      for i in range(sites)])
        for k in range(MEASURES):
            conn.execute(outcomes.Measure.__table__.insert(), [{
                "key": f"measure-{k}", "name": f"Measure {k}", "definition": "", "numerator_definition": "",
                "denominator_definition": "", "better": "higher", "goal": 0.8, "chart_type": "p",
                "rule_set": "anhoej", "multiplier": 1, "position": k, "is_active": True, "data_version": 0,
                "created_at": outcomes.utcnow(), "baseline_months": None}])
    return engine


def csv_file(sites: int) -> bytes:
    rng = np.random.default_rng(7)
    lines = ["site,measure,month,numerator,denominator"]
    for i in range(sites):
        size = int(rng.integers(20, 400))
        for k in range(MEASURES):
            for m in range(MONTHS):
                year, month = 2016 + m // 12, m % 12 + 1
                den = int(rng.poisson(size))
                num = int(rng.binomial(den, 0.6 + 0.2 * m / MONTHS))
                lines.append(f"site-{i:03d},measure-{k},{year}-{month:02d},{num},{den}")
    return ("\n".join(lines) + "\n").encode()


def app_for(engine):
    class BenchConfig(config.TestConfig):
        DATABASE_URL = "sqlite://"

    app = create_app(BenchConfig)
    db_ext = app.extensions["carecommons.db"]
    db_ext.engine = engine
    from network.db import make_session_factory

    db_ext.session_factory = make_session_factory(engine)
    return app


def signed_in_client(app, engine):
    from network.people import User as U

    client = app.test_client()
    with app.extensions["carecommons.db"].session_factory() as db:
        user = db.get(U, 1)
        with client.session_transaction() as session:
            session["_user_id"] = session_token(user)
            session["login_at"] = session["seen_at"] = time.time()
    return client


def timed_requests(client, path: str, n: int = 20) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def queries(engine, client, path: str) -> int:
    count = [0]

    def on(*_args):
        count[0] += 1

    outcome_reports.clear_cache()
    event.listen(engine, "before_cursor_execute", on)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on)
    return count[0]


def run(label: str, url: str) -> None:
    print(f"\n== {label}: {SITES} sites x {MONTHS} months x {MEASURES} measures")
    engine = build(url, SITES)
    data = csv_file(SITES)
    lines = data.count(b"\n") - 1
    print(f"CSV file: {len(data) / 1e6:.1f} MB, {lines:,} rows")
    app = app_for(engine)
    with app.app_context():
        session = app.extensions["carecommons.db"].session_factory()
        lead = session.get(User, 1)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        start = time.perf_counter()
        rows = outcomes.read_csv(io.BytesIO(data), max_bytes=50 * 1024 * 1024)
        result = outcomes.submit(session, lead, rows, source="csv")
        elapsed = time.perf_counter() - start
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"import 72,000-row CSV: {elapsed:.2f} s, {result.created:,} rows created; "
              f"peak Python allocations {peak / 1e6:.0f} MB, process peak RSS {rss_after / 1024:.0f} MB "
              f"(+{(rss_after - rss_before) / 1024:.0f} MB)  [target <= 15 s, <= 300 MB]")
        del rows
        session.close()

        session = app.extensions["carecommons.db"].session_factory()
        viewer = session.get(User, 1)
        measures = outcomes.measures(session)
        best = []
        for _ in range(5):
            outcome_reports.clear_cache()
            start = time.perf_counter()
            for measure in measures:
                outcome_reports.site_charts(session, viewer, measure)
                outcome_reports.network_chart(session, viewer, measure)
            best.append((time.perf_counter() - start) * 1000)
        print(f"every chart of the network (600 site charts + 6 network charts, from the database, cold): "
              f"best {min(best):.0f} ms, median {statistics.median(best):.0f} ms  [target <= 150 ms]")
        session.close()

    client = signed_in_client(app, engine)
    for name, path, target in (("overview page", "/outcomes/measure-0", 300),
                               ("site page", "/outcomes/sites/site-042", 100)):
        outcome_reports.clear_cache()
        times = timed_requests(client, path)
        warm = times[1:]
        print(f"{name} {path}: cold {times[0]:.0f} ms; warm p50 {statistics.median(warm):.0f} ms, "
              f"p95 {np.percentile(warm, 95):.0f} ms over {len(warm)} requests  [target <= {target} ms]")
    many = {p: queries(engine, client, p) for p in ("/outcomes/measure-0", "/outcomes/sites/site-042")}
    engine.dispose()

    small = build(url, 10)
    app_small = app_for(small)
    with app_small.app_context():
        session = app_small.extensions["carecommons.db"].session_factory()
        rows = outcomes.read_csv(io.BytesIO(csv_file(10)), max_bytes=50 * 1024 * 1024)
        outcomes.submit(session, session.get(User, 1), rows, source="csv")
        session.close()
    client_small = signed_in_client(app_small, small)
    few = {p.replace("site-042", "site-004"): queries(small, client_small, p.replace("site-042", "site-004"))
           for p in many}
    for (path, n_many), (_p, n_few) in zip(many.items(), few.items()):
        print(f"SQL queries {path}: {n_few} at 10 sites, {n_many} at 100 sites")
    small.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", f"sqlite:///{os.path.join(tmp, 'bench.db')}")
    if args.database in ("postgresql", "both"):
        try:
            import psycopg

            psycopg.connect("host=127.0.0.1 port=5432 dbname=test connect_timeout=3").close()
        except Exception as exc:  # report and carry on: the SQLite figures stand on their own
            print(f"\n== PostgreSQL not reachable ({type(exc).__name__}); skipped")
            return
        run("PostgreSQL", PG_URL)


if __name__ == "__main__":
    main()
