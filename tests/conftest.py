"""Shared fixtures: a fresh app per test on a transaction that is rolled back, people in every role
at two sites, `login_as`, and `count_queries`.

`--database=postgresql` runs the database-facing tests against PostgreSQL on 127.0.0.1:5432 (database
`test`); an unreachable PostgreSQL fails those tests (never a skip; `make test` starts it first).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

import config as config_module
from network import passwords
from network.db import Base, make_engine
from network.people import CareLink, Membership, Site, User
from network.roles import Role

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
TEST_PASSWORD = "correct horse battery staple"

# Hypothesis: "default" is small and derandomized (a few seconds, the same examples every run, part of
# `make test`); "fuzz" is what `make fuzz` selects (FUZZ_EXAMPLES examples per property, default 2000).
settings.register_profile("default", max_examples=int(os.environ.get("FUZZ_SMALL_EXAMPLES", "25")),
                          derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "2000")), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("default")


def pytest_addoption(parser):
    parser.addoption("--database", default="sqlite", choices=("sqlite", "postgresql"),
                     help="database backend for the database-facing tests")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: Playwright tests against a live server (run separately)")
    config.addinivalue_line("markers", "pure: tests that touch no database (not repeated on PostgreSQL)")
    config.addinivalue_line("markers", "matrix: the access matrices, HTTP and Socket.IO (backend-independent; run on SQLite)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark browser tests by folder, and tests that never touch a database as `pure`."""
    for item in items:
        if "/tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
        elif item.fspath.basename == "test_access_matrix.py":
            item.add_marker(pytest.mark.matrix)
        elif "engine" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pure)


def _postgres_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3"):
            return None
    except psycopg.OperationalError as exc:
        try:
            with psycopg.connect("host=127.0.0.1 port=5432 dbname=test connect_timeout=3"):
                return None
        except psycopg.OperationalError:
            return str(exc).strip().splitlines()[0]


def missing_service(message: str) -> NoReturn:
    """A service a test needs does not answer: a failure, never a skip (a skip would hide what the run
    did not prove). `make test` starts PostgreSQL and Redis on loopback first (`make services`)."""
    pytest.fail(f"{message} (start it with `make services`, or see README \"What `make test` runs\")",
                pytrace=False)


@pytest.fixture(scope="session")
def database_url(request) -> str:
    if request.config.getoption("--database") == "sqlite":
        return "sqlite://"
    problem = _postgres_reachable()
    if problem:
        missing_service(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {problem}")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def engine(database_url):
    import content.models  # noqa: F401
    import network.models  # noqa: F401

    from content import search

    schema = None
    if database_url.startswith("postgresql"):
        # a schema of this run's own, so two runs (or a developer's and CI's) never share tables
        schema = f"cc_test_{os.getpid()}"
        _admin(database_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE", f"CREATE SCHEMA {schema}")
        engine = make_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    else:
        engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        search.create_schema(connection)
    yield engine
    engine.dispose()
    if schema is not None:
        _admin(database_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _admin(database_url: str, *statements: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_chart_cache():
    """Chart caches key on (measure id, data version); rolled-back tests reuse both, so start empty."""
    from network import outcome_reports

    outcome_reports.clear_cache()


@pytest.fixture
def connection(engine):
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(connection):
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db(session_factory):
    """A domain session for service tests; commits inside it are savepoints of the test's transaction."""
    session = session_factory()
    yield session
    session.close()


class _TestConfig(config_module.TestConfig):
    LOGIN_RATE_LIMIT = "1000 per minute"


@pytest.fixture
def app_config():
    return _TestConfig


@pytest.fixture
def app(session_factory, app_config):
    from app import create_app

    application = create_app(app_config)
    database = application.extensions["carecommons.db"]
    database.engine.dispose()
    database.session_factory = session_factory
    return application


@pytest.fixture
def client(app):
    return app.test_client()


_HASH: dict[str, str] = {}


def hashed_test_password() -> str:
    """Hash the test password once per run (argon2 is slow on purpose)."""
    if "h" not in _HASH:
        _HASH["h"] = passwords.hash_password(TEST_PASSWORD)
    return _HASH["h"]


@dataclass
class World:
    """Two sites (own and other) with a person in every role, and a network leader and moderator."""

    own: Site
    other: Site
    people: dict[tuple[str, str], User] = field(default_factory=dict)

    def user(self, role: str, where: str = "own") -> User:
        return self.people[(role, where)]


@pytest.fixture
def world(db) -> World:
    return build_world(db)


def build_world(db) -> World:
    """The two sites and their people (the `world` fixture; module-scoped fixtures call it directly)."""
    own = Site(slug="own-site", name="Own Site Hospital", city="Ownton", code=1)
    other = Site(slug="other-site", name="Other Site Clinic", city="Elsewhere", code=2)
    db.add_all([own, other])
    db.flush()
    result = World(own, other)
    for where, site in (("own", own), ("other", other)):
        for role in (Role.PATIENT, Role.PARENT, Role.CLINICIAN, Role.SITE_LEAD):
            user = User(email=f"{role.value}.{where}@example.org", full_name=f"{role.value.title()} {where.title()}",
                        password_hash=hashed_test_password(), profile_roles=[role.value], birth_year=2011)
            db.add(user)
            db.flush()
            db.add(Membership(user_id=user.id, site_id=site.id, role=role.value))
            result.people[(role.value, where)] = user
        db.flush()
        db.add(CareLink(parent_id=result.people[("parent", where)].id,
                        patient_id=result.people[("patient", where)].id))
    for role in (Role.NETWORK_LEADER, Role.MODERATOR):
        user = User(email=f"{role.value}@example.org", full_name=role.value.replace("_", " ").title(),
                    password_hash=hashed_test_password(), profile_roles=[role.value])
        db.add(user)
        db.flush()
        db.add(Membership(user_id=user.id, site_id=None, role=role.value))
        result.people[(role.value, "network")] = user
    db.commit()
    for user in result.people.values():
        db.refresh(user)
    return result


def sign_in(client, user: User) -> None:
    """Put a signed-in session in the client's cookie, as the sign-in page would after every step
    (password, and two-step sign-in where the person has it): a live device record, and the cookie."""
    from network import devices
    from network.people import session_token

    with client.application.extensions["carecommons.db"].session_factory() as db:
        key = devices.start(db, user, user_agent="pytest test client", address="127.0.0.1")
    with client.session_transaction() as session:
        session["_user_id"] = session_token(user)
        session["device"] = key
        session["_fresh"] = True
        session["login_at"] = session["seen_at"] = time.time()


@pytest.fixture
def login_as(app, world):
    """login_as(role, where="own") -> a test client signed in as that person ("anonymous" for none)."""

    def make(role: str, where: str = "own"):
        client = app.test_client()
        if role != "anonymous":
            if role in ("network_leader", "moderator"):
                where = "network"
            sign_in(client, world.user(role, where))
        return client

    return make


@pytest.fixture
def count_queries(connection):
    """with count_queries() as counter: ...; counter.count is the number of SQL statements run."""

    class Counter:
        def __init__(self):
            self.count = 0
            self.statements: list[str] = []

        def __enter__(self):
            event.listen(connection, "before_cursor_execute", self._on)
            return self

        def __exit__(self, *exc):
            event.remove(connection, "before_cursor_execute", self._on)

        def _on(self, _conn, _cursor, statement, *_args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                self.count += 1
                self.statements.append(statement)

    return Counter


@pytest.fixture
def redis_client():
    """A client of the shared Redis (tests.live_support.REDIS_URL); a failure when it does not answer
    (as for PostgreSQL)."""
    import redis

    from tests.live_support import REDIS_URL

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing_service(f"Redis at {REDIS_URL} is not reachable: {exc}")
    yield client
    client.close()
