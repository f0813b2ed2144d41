"""What production relies on: `/healthz` for the proxy (database and Redis), one log line per request
with a request id and no personal data, and X-Forwarded-* honoured only behind PROXY_FIX_HOPS proxies."""
from __future__ import annotations

import json
import logging
import socket

import pytest
from flask import request
from sqlalchemy.orm import sessionmaker

import config as config_module
from app import request_log
from network.db import make_engine
from tests.live_support import REDIS_URL


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(redis_client):
    """The shared Redis's URL, once it answers (tests/conftest.py `redis_client`)."""
    return REDIS_URL


def test_healthz_ok_with_database_and_redis(app, client, redis_url):
    app.config["REDIS_URL"] = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_redis_when_it_is_down(app, client, caplog):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "ok", "redis": "unavailable"}
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("Redis does not answer" in r.getMessage() for r in caplog.records)


def test_healthz_names_the_database_when_it_is_down(app, client, tmp_path, caplog):
    broken = make_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'carecommons.db'}")
    app.extensions["carecommons.db"].session_factory = sessionmaker(bind=broken)
    response = client.get("/healthz")
    broken.dispose()
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable"}
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("database does not answer" in r.getMessage() for r in caplog.records)


def test_healthz_without_redis_configured_checks_the_database_only(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def _request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "carecommons.request"]


def test_one_log_line_per_request_with_id_and_no_personal_data(world, login_as, caplog):
    caplog.set_level(logging.INFO, logger="carecommons.request")
    parent = login_as("parent")
    person = world.user("parent")
    response = parent.get("/profile?name=Parent+Own", headers={"X-Request-ID": "proxy-id-123"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "proxy-id-123"
    [line] = _request_lines(caplog)
    assert (line.method, line.path, line.status, line.request_id, line.user_id) == (
        "GET", "/profile", 200, "proxy-id-123", person.id)
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    for text in (line.getMessage(), request_log.JsonFormatter().format(line)):
        assert "GET /profile 200" in text and "proxy-id-123" in text and f"user={person.id}" in text
        for personal in (person.email, person.full_name, "Parent", "name="):
            assert personal not in text


def test_request_id_is_made_when_missing_or_malformed(client, caplog):
    caplog.set_level(logging.INFO, logger="carecommons.request")
    plain = client.get("/healthz")
    forged = client.get("/healthz", headers={"X-Request-ID": "two words; and \"quotes\" " + "x" * 200})
    made = [plain.headers["X-Request-ID"], forged.headers["X-Request-ID"]]
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in made) and made[0] != made[1]
    assert [r.request_id for r in _request_lines(caplog)] == made
    assert [r.user_id for r in _request_lines(caplog)] == [None, None]


def test_secret_tokens_in_paths_are_not_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="carecommons.request")
    client.get("/reset/SECRET-TOKEN-VALUE")
    [line] = _request_lines(caplog)
    assert line.path == "/reset/<token>" and "SECRET-TOKEN-VALUE" not in line.getMessage()


def test_json_log_format_is_one_object_per_line(client, caplog):
    caplog.set_level(logging.INFO, logger="carecommons.request")
    client.get("/healthz", headers={"X-Request-ID": "abc"})
    [line] = _request_lines(caplog)
    text = request_log.formatter("json").format(line)
    assert "\n" not in text
    entry = json.loads(text)
    assert {k: entry[k] for k in ("level", "logger", "method", "path", "status", "request_id", "user_id")} == {
        "level": "INFO", "logger": "carecommons.request", "method": "GET", "path": "/healthz", "status": 200,
        "request_id": "abc", "user_id": None}
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        request_log.formatter("xml")


def _app_behind(hops: int, session_factory):
    from app import create_app

    class BehindProxy(config_module.TestConfig):
        PROXY_FIX_HOPS = hops

    application = create_app(BehindProxy)
    application.extensions["carecommons.db"].engine.dispose()
    application.extensions["carecommons.db"].session_factory = session_factory

    @application.route("/_seen-as")
    def seen_as():
        return {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return application


@pytest.mark.parametrize("hops, expected", [
    (0, {"remote_addr": "127.0.0.1", "scheme": "http", "host": "localhost"}),
    (1, {"remote_addr": "203.0.113.7", "scheme": "https", "host": "care.example.org"}),
])
def test_forwarded_headers_are_trusted_only_behind_the_configured_proxies(session_factory, hops, expected):
    client = _app_behind(hops, session_factory).test_client()
    seen = client.get("/_seen-as", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7",
                                            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "care.example.org"})
    assert seen.json == expected


def test_the_served_process_freezes_what_building_the_app_made(tmp_path):
    """wsgi.py (what gunicorn imports) settles the heap after building the app (app/heap.py): the
    collector's full passes then walk what requests make, not the ~200,000 objects of the modules, nor
    the ~265,000 of the pronouncing dictionary the first English readability panel used to load."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app import heap

    code = ("import gc, wsgi; from content import readability; "
            "readability.analyse('We read it twice. Then we talked about it.', language='en'); gc.collect(); "
            "print(gc.get_threshold()[0], gc.get_freeze_count(), len(gc.get_objects()))")
    env = {**{k: v for k, v in os.environ.items() if k != "CARECOMMONS_ENV"},
           "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"}
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    young, frozen, walked = (int(n) for n in done.stdout.split()[-3:])
    assert young == heap.YOUNG > 700  # Python's default young threshold: raised
    assert frozen > 100_000
    assert walked < frozen / 10


def test_settling_keeps_objects_alive_and_out_of_the_collectors_walks():
    import gc

    from app import heap

    kept = {"a": [1, 2]}
    threshold = gc.get_threshold()
    try:
        frozen = heap.settle()
        assert frozen == gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG, *threshold[1:])
        assert not any(o is kept for o in gc.get_objects())  # frozen: not walked by a collection
        gc.collect()
        assert kept == {"a": [1, 2]}
        made_after = {"b": []}
        assert any(o is made_after for o in gc.get_objects())  # what comes later is collected as before
    finally:
        gc.unfreeze()  # the test process goes on as before
        gc.set_threshold(*threshold)


@pytest.fixture(scope="module")
def postgres_schema():
    """A migrated schema of this run's own in 127.0.0.1:5432/test; a failure when PostgreSQL is down."""
    import os

    from tests import live_support
    from tests.conftest import _postgres_reachable, missing_service

    problem = _postgres_reachable()
    if problem:
        missing_service(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {problem}")
    schema = live_support.Schema(f"deploy_test_{os.getpid()}").create()
    try:
        yield schema
    finally:
        schema.drop()


def test_on_postgresql_reading_requests_run_without_a_transaction_and_writing_ones_in_one(postgres_schema):
    """A page that only reads sends its queries alone: no BEGIN and ROLLBACK around them (two round trips
    of ~10 a page, found by the load test). A form post still runs in one transaction."""
    from sqlalchemy import text

    from app import create_app
    from app.extensions import get_db

    class OnPostgres(config_module.TestConfig):
        DATABASE_URL = postgres_schema.url

    app = create_app(OnPostgres)
    seen = {}

    @app.route("/probe", methods=["GET", "POST"])
    def probe():
        db = get_db()
        db.execute(text("SELECT 1"))
        seen[request.method] = db.connection().connection.driver_connection.info.transaction_status.name
        return "ok"

    client = app.test_client()
    assert client.get("/probe").status_code == 200 and client.post("/probe").status_code == 200
    assert seen == {"GET": "IDLE", "POST": "INTRANS"}
    assert client.get("/probe").status_code == 200 and seen["GET"] == "IDLE"  # the pooled connection, reset
    app.extensions["carecommons.db"].engine.dispose()
