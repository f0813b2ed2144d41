"""Faults of the services under the app (README "Faults"): each one broken for real, then mended, with
the same app object serving throughout.

- PostgreSQL restarted (a private cluster, tests/fault_support.py): requests during the outage get a
  503 with Retry-After (a page, or JSON under /api/), none a 500, and the app answers 200 again once
  PostgreSQL is back, without a restart and with no connection left checked out.
- A full or read-only disk under a file-based SQLite database and the attachment store (a small tmpfs):
  uploads get a 507 (full) or 503 (read-only) in plain words, and nothing is half-written: no rows, no
  file without its row, no row without its file. Uploads work again once the disk is mended.
- Redis restarted (a private redis-server): the live-room heartbeat does not take the other server
  processes for dead because their keys vanished with the restart, the shared chat limit counts in the
  process meanwhile and in Redis again afterwards, and sign-in keeps working (Flask-Limiter falls back
  to memory instead of answering 500).

Private services only, never the shared PostgreSQL (5432) or Redis (6379); ports per xdist worker.
A missing program (initdb, redis-server) or missing mount rights fail the test, saying which (never a skip).
"""
from __future__ import annotations

import io
import threading
import time

import pytest
from sqlalchemy import func, select

import config as config_module
from tests.conftest import sign_in
from tests.fault_support import PrivatePostgres, PrivateRedis, SmallDisk, build, files_under, port_for, seed

CSV = ("site,measure,month,numerator,denominator\n"
       + "".join(f"own-site,remission,2025-{m:02d},{50 + m},100\n" for m in range(1, 13))).encode()


def _need(problem: str | None) -> None:
    """These faults are broken for real or not at all: a missing program or mount right fails the test
    with what is missing (a skip would hide that the fault went unproved)."""
    if problem:
        pytest.fail(f"{problem} (the fault tests need it)", pytrace=False)


def _config(**values):
    return type("FaultConfig", (config_module.TestConfig,), {"LOGIN_RATE_LIMIT": "1000 per minute", **values})


def _count(app, model) -> int:
    with app.extensions["carecommons.db"].session_factory() as db:
        return db.scalar(select(func.count(model.id)))


def _upload_csv(client):
    return client.post("/outcomes/upload", data={"file": (io.BytesIO(CSV), "figures.csv")},
                       content_type="multipart/form-data")


def _attach(client, slug: str):
    from tests.test_library_web import png_bytes

    return client.post(f"/library/{slug}/attachments", data={"file": (io.BytesIO(png_bytes()), "chart.png"),
                                                             "label": "Chart"}, content_type="multipart/form-data")


def _plain_fault(response, status: int, words: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.headers["Retry-After"].isdigit()
    page = response.get_data(as_text=True)
    assert words in page and "Traceback" not in page


# ---------------------------------------------------------------------------------------------
# A small disk: full, then read-only, under SQLite and the attachment store


@pytest.fixture
def disk(tmp_path):
    _need(SmallDisk.problem(tmp_path))
    small = SmallDisk(tmp_path / "disk", megabytes=8).mount()
    yield small
    small.unmount()


@pytest.fixture
def disk_app(disk, tmp_path):
    """An app whose SQLite database lives on the small disk; attachments on the disk too, or (for the
    read-only case) on the ordinary disk, so the file is written and the row is what fails."""
    from app import create_app

    def make(attachments_on_disk: bool):
        attachments = (disk.path if attachments_on_disk else tmp_path) / "attachments"
        app = create_app(_config(DATABASE_URL=f"sqlite:///{disk.path / 'carecommons.db'}",
                                 ATTACHMENTS_DIR=attachments))
        build(app)
        seeded = seed(app)
        engine = app.extensions["carecommons.db"].engine
        with engine.connect() as connection:  # every later write must grow the files on the disk
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        app.seeded = seeded
        made.append(app)
        return app

    made = []
    yield make
    for app in made:
        app.extensions["carecommons.db"].engine.dispose()


def test_csv_upload_on_a_full_disk_is_507_and_imports_nothing(disk, disk_app):
    from network.outcomes import Submission

    app = disk_app(attachments_on_disk=True)
    lead = app.test_client()
    sign_in(lead, app.seeded["people"]["site_lead"])
    disk.fill()
    _plain_fault(_upload_csv(lead), 507, "storage is full")
    assert _count(app, Submission) == 0
    assert lead.get("/api/v1/measures").status_code == 200  # reading goes on while the disk is full
    disk.restore()
    assert _upload_csv(lead).status_code == 302  # the same app, once there is room again
    assert _count(app, Submission) == 12


def test_attachment_on_a_full_disk_is_507_and_leaves_no_file_or_row(disk, disk_app):
    from content.library import Attachment

    app = disk_app(attachments_on_disk=True)
    parent = app.test_client()
    sign_in(parent, app.seeded["people"]["parent"])
    disk.fill()
    _plain_fault(_attach(parent, app.seeded["resource_slug"]), 507, "storage is full")
    json_answer = parent.post(f"/library/{app.seeded['resource_slug']}/attachments",
                              data={"file": (io.BytesIO(b"%PDF-1.4\n" + b"x" * 200_000), "a.pdf")},
                              content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert json_answer.status_code in (507, 422)  # refused by content or by the full disk; never 500
    assert _count(app, Attachment) == 0
    assert files_under(app.config["ATTACHMENTS_DIR"]) == []
    disk.restore()
    assert _attach(parent, app.seeded["resource_slug"]).status_code == 302
    assert _count(app, Attachment) == 1 and len(files_under(app.config["ATTACHMENTS_DIR"])) == 1


def test_a_read_only_database_is_503_and_leaves_no_orphaned_file(disk, disk_app):
    """The database opens read-only (as when its file or folder lost write permission): pages read, but
    writing fails. The attachment file is written first (to another disk) and removed again when its row
    cannot be stored; before the fix it stayed on disk with no row pointing at it."""
    from content.library import Attachment
    from network.db import make_engine, make_session_factory
    from network.outcomes import Submission
    from network.usage import UsageEvent

    app = disk_app(attachments_on_disk=False)
    parent, lead = app.test_client(), app.test_client()
    sign_in(parent, app.seeded["people"]["parent"])
    sign_in(lead, app.seeded["people"]["site_lead"])
    database = app.extensions["carecommons.db"]
    writable = database.engine
    writable.dispose()
    read_only = make_engine(f"sqlite:///file:{disk.path / 'carecommons.db'}?mode=ro&uri=true")
    database.engine, database.session_factory = read_only, make_session_factory(read_only)
    # reading a tool counts the view, which cannot be stored now: the tool is shown all the same
    # (it was a 503), the view is not counted
    views = _count(app, UsageEvent)
    for path in ("", "/print", ".md"):
        read = parent.get(f"/library/{app.seeded['resource_slug']}{path}")
        assert read.status_code == 200 and app.seeded["resource_title"] in read.get_data(as_text=True), path
    _plain_fault(_attach(parent, app.seeded["resource_slug"]), 503, "try again in a moment")
    assert files_under(app.config["ATTACHMENTS_DIR"]) == []
    _plain_fault(_upload_csv(lead), 503, "try again in a moment")
    read_only.dispose()
    database.engine, database.session_factory = writable, make_session_factory(writable)
    assert _count(app, Attachment) == 0 and _count(app, Submission) == 0 and _count(app, UsageEvent) == views
    assert _upload_csv(lead).status_code == 302 and _attach(parent, app.seeded["resource_slug"]).status_code == 302
    assert _count(app, Submission) == 12 and len(files_under(app.config["ATTACHMENTS_DIR"])) == 1


def test_a_read_only_disk_is_503_and_uploads_work_once_it_is_writable(disk, disk_app):
    """The whole disk under the database remounted read-only: every request that needs the database is
    a 503 (SQLite cannot even open its WAL index), none a 500; the same app serves once it is writable."""
    from network.outcomes import Submission

    app = disk_app(attachments_on_disk=True)
    lead = app.test_client()
    sign_in(lead, app.seeded["people"]["site_lead"])
    app.extensions["carecommons.db"].engine.dispose()  # no file open for writing: the kernel would refuse
    disk.read_only()
    _plain_fault(_upload_csv(lead), 503, "try again in a moment")
    disk.restore()
    assert _count(app, Submission) == 0
    assert _upload_csv(lead).status_code == 302 and _count(app, Submission) == 12


# ---------------------------------------------------------------------------------------------
# PostgreSQL restarted under load


@pytest.fixture(scope="module")
def postgres():
    _need(PrivatePostgres.problem())
    cluster = PrivatePostgres(port_for(5441))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_postgres_restart_is_503_meanwhile_and_200_after_with_the_same_app(postgres):
    from app import create_app

    app = create_app(_config(DATABASE_URL=postgres.url, DATABASE_POOL_SIZE=4, DATABASE_MAX_OVERFLOW=4))
    build(app)
    seeded = seed(app)
    lead = app.test_client()
    sign_in(lead, seeded["people"]["site_lead"])
    assert lead.get("/api/v1/resources").status_code == 200 and lead.get("/outcomes/upload").status_code == 200

    # requests keep coming from two threads while PostgreSQL goes down and comes back
    statuses: list[int] = []
    escaped: list[str] = []  # an exception no handler answered (the test client raises it)
    stop = threading.Event()

    def load():
        import traceback

        client = app.test_client()
        client.set_cookie("session", lead.get_cookie("session").value)
        while not stop.is_set():
            try:
                statuses.append(client.get("/api/v1/resources").status_code)
            except Exception:
                escaped.append(traceback.format_exc())
            time.sleep(0.02)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        postgres.stop()
        api = lead.get("/api/v1/resources")
        assert api.status_code == 503 and api.headers["Retry-After"].isdigit()
        assert api.json["error"]["status"] == 503 and "try again" in api.json["error"]["message"]
        page = lead.get("/outcomes/upload")
        assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
        assert "briefly unavailable" in page.get_data(as_text=True)
        assert lead.get("/healthz").status_code == 503
        postgres.start()
        deadline = time.monotonic() + 30
        while lead.get("/api/v1/resources").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lead.get("/api/v1/resources").status_code == 200
        assert lead.get("/outcomes/upload").status_code == 200
        # still signed in: the outage did not end the session
        assert lead.get("/outcomes/upload").status_code == 200
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not escaped, escaped[0]
    assert statuses and set(statuses) <= {200, 503}, sorted(set(statuses))
    assert 503 in statuses and statuses[-1] == 200
    engine = app.extensions["carecommons.db"].engine
    assert engine.pool.checkedout() == 0  # no connection stuck after the restart
    engine.dispose()


def test_a_connection_killed_under_a_finished_request_is_discarded_not_a_500(postgres):
    """The request has its answer when PostgreSQL drops its connection (a restart in between): closing
    the session at teardown rolls back on the dead connection. Before the fix that error escaped the
    teardown and gunicorn answered 500 for a page that had been made; now the connection is discarded."""
    import psycopg
    from sqlalchemy import text as sql

    from app import create_app
    from app.extensions import get_db

    app = create_app(_config(DATABASE_URL=postgres.url))

    @app.route("/fault-probe")
    def probe():
        db = get_db()
        pid = db.execute(sql("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(postgres.dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return "made"

    client = app.test_client()
    answer = client.get("/fault-probe")
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "made"
    engine = app.extensions["carecommons.db"].engine
    assert engine.pool.checkedout() == 0
    with engine.connect() as connection:  # the pool hands out a live connection next
        assert connection.execute(sql("SELECT 1")).scalar_one() == 1
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# Redis restarted


@pytest.fixture
def private_redis():
    _need(PrivateRedis.problem())
    server = PrivateRedis(port_for(6391)).start()
    yield server
    server.stop()


def test_a_redis_restart_does_not_make_live_processes_look_dead(private_redis, app, db, world):
    """Presence rows of another live process B survive a Redis restart (its key is gone until its next
    beat); those of a dead process C go once this process has held its own key for a TTL. Before the fix
    the first sweep after the restart removed B's people from every room."""
    import redis

    from app import live
    from network import sessions
    from network.sessions import Presence
    from tests.session_fixtures import make_session, register_all

    app.config.update(LIVE_SERVER_TTL=0.6, SOCKETIO_CHANNEL=f"faults-{id(app)}")
    session = make_session(db, world)
    register_all(db, world, session)
    heartbeat = live.Heartbeat(app)
    heartbeat.redis = redis.Redis.from_url(private_redis.url)
    other = redis.Redis.from_url(private_redis.url)
    b_key = f"{app.config['SOCKETIO_CHANNEL']}:live-server:process-b"
    for (role, where), server_id in ((("parent", "own"), heartbeat.server_id), (("clinician", "own"), "process-b"),
                                     (("patient", "other"), "process-c")):
        sessions.enter(db, world.user(role, where), session, sid=f"sid-{server_id}", server_id=server_id)

    def servers() -> set[str]:
        return set(db.scalars(select(Presence.server_id)))

    def beat_for(seconds: float) -> bool:
        """Beat every 0.2 s (the TTL is 0.6 s) for `seconds`; whether the last beat found the key held."""
        until = time.monotonic() + seconds
        held = heartbeat.beat()
        while time.monotonic() < until:
            time.sleep(0.2)
            held = heartbeat.beat()
        return held

    with app.app_context():
        other.set(b_key, "1", px=5000)
        assert heartbeat.beat() is False and heartbeat.sweep(db) == []  # its own key was new: wait a TTL
        assert beat_for(0.7) is True
        heartbeat.sweep(db)
        assert servers() == {heartbeat.server_id, "process-b"}  # C had no key: gone

        private_redis.restart()  # every key lost, B's included
        assert heartbeat.beat() is False
        assert heartbeat.sweep(db) == [] and servers() == {heartbeat.server_id, "process-b"}
        other.set(b_key, "1", px=5000)  # B's next beat
        assert beat_for(0.7) is True
        heartbeat.sweep(db)
        assert servers() == {heartbeat.server_id, "process-b"}
    other.close()
    heartbeat.redis.close()


def test_the_heartbeat_starts_while_redis_is_down_and_beats_once_it_is_back(private_redis, app, db):
    """Before the fix a process whose first socket arrived while Redis was down raised in start() and
    never beat at all, so the other processes removed its people from every room for good."""
    import redis

    from app import live

    app.config.update(REDIS_URL=private_redis.url, LIVE_HEARTBEAT_SECONDS=0.1, LIVE_SERVER_TTL=2.0,
                      SOCKETIO_CHANNEL=f"faults-start-{id(app)}")
    heartbeat = live.Heartbeat(app)
    private_redis.stop()
    try:
        heartbeat.start(db)  # no exception: the loop keeps trying
        private_redis.start()
        client = redis.Redis.from_url(private_redis.url)
        key = f"{app.config['SOCKETIO_CHANNEL']}:live-server:{heartbeat.server_id}"
        deadline = time.monotonic() + 10
        while not client.exists(key) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.exists(key)
        client.close()
    finally:
        heartbeat.stop()


def test_the_shared_chat_limit_counts_alone_while_redis_is_down(private_redis):
    import redis

    from network.errors import Invalid
    from network.sessions import SharedRateLimiter

    client = redis.Redis.from_url(private_redis.url, socket_timeout=2, socket_connect_timeout=2)
    limit = SharedRateLimiter(client, "faults:rate", count=3, seconds=30)
    for _ in range(3):
        limit.check(7)
    with pytest.raises(Invalid):
        limit.check(7)
    private_redis.stop()
    for _ in range(3):  # Redis away: this process counts alone, still at most `count`
        limit.check(8)
    with pytest.raises(Invalid):
        limit.check(8)
    private_redis.start()
    limit.check(7)  # the restart lost the counters: a fresh window in Redis
    assert int(client.get(next(iter(client.scan_iter("faults:rate:7:*"))))) == 1
    client.close()


def test_sign_in_keeps_working_while_redis_is_down(private_redis, session_factory):
    """Flask-Limiter counts sign-in attempts in Redis; with Redis down it answered 500 to every sign-in
    before RATELIMIT_IN_MEMORY_FALLBACK_ENABLED."""
    from app import create_app

    application = create_app(_config(RATELIMIT_STORAGE_URI=private_redis.url, LOGIN_RATE_LIMIT="3 per minute"))
    application.extensions["carecommons.db"].engine.dispose()
    application.extensions["carecommons.db"].session_factory = session_factory
    client = application.test_client()
    form = {"email": "nobody@example.org", "password": "wrong password"}
    assert client.post("/login", data=form).status_code in (200, 422)
    private_redis.stop()
    answers = [client.post("/login", data=form).status_code for _ in range(5)]
    assert 500 not in answers and answers[-1] == 429  # counted in memory meanwhile: still limited
    private_redis.start()
    assert client.post("/login", data=form).status_code != 500


# ---------------------------------------------------------------------------------------------
# What counts as a fault of the service (no service needed)


@pytest.mark.parametrize("make, status", [
    (lambda: _sqlite_error("attempt to write a readonly database"), 503),
    (lambda: _sqlite_error("database is locked"), 503),
    (lambda: _sqlite_error("database or disk is full"), 507),
    (lambda: _sqlite_error("no such table: sites"), None),  # a missing migration is a bug, not a fault
    (lambda: OSError(28, "No space left on device"), 507),
    (lambda: OSError(30, "Read-only file system"), 503),
    (lambda: OSError(2, "No such file or directory"), None),
    (lambda: ValueError("a bug"), None),
    (lambda: _integrity_error(), None),  # a constraint violation is a bug: logged and answered 500
])
def test_which_errors_are_faults_of_the_service(make, status):
    from app import errors

    error = make()
    assert (errors.database_fault(error) or errors.storage_fault(error)) == status


def _integrity_error():
    from sqlalchemy.exc import IntegrityError

    return IntegrityError("INSERT INTO x VALUES (1)", {}, Exception("UNIQUE constraint failed"))


def _sqlite_error(message: str):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    return OperationalError("INSERT INTO x VALUES (1)", {}, sqlite3.OperationalError(message))


# ---------------------------------------------------------------------------------------------
# A socket event while the database refuses writes


def _refuse_writes(connection, on: bool) -> None:
    """The test's own connection refuses writes (SQLite's query_only; PostgreSQL's read-only transaction,
    which may be switched on mid-transaction but not off: the test's rollback ends it)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
    elif on:
        connection.exec_driver_sql("SET transaction_read_only = on")


def test_a_chat_message_while_the_database_refuses_writes_gets_a_503_ack_and_no_broadcast(app, db, world, login_as,
                                                                                         connection):
    """Before, the socket handler raised and the sender never got an ack (its call timed out); now it is
    told 503 with nothing stored, and the same client id goes through once the database is back."""
    from network import sessions
    from network.sessions import RoomEvent
    from tests.session_fixtures import live_client, make_session, register_all

    room = make_session(db, world)
    register_all(db, world, room)
    parent, clinician = live_client(app, login_as, "parent"), live_client(app, login_as, "clinician")
    for client in (parent, clinician):
        client.emit("join", {"session_id": room.id}, namespace="/live", callback=True)
    clinician.get_received("/live")
    message = {"session_id": room.id, "client_id": "during-the-fault", "body": "Is anyone there?"}
    _refuse_writes(connection, True)
    refused = parent.emit("chat", message, namespace="/live", callback=True)
    assert refused["error"]["status"] == 503 and "try again" in refused["error"]["message"]
    assert not [r for r in clinician.get_received("/live") if r["name"] == "event"]
    if connection.dialect.name != "sqlite":
        return  # PostgreSQL's read-only transaction lasts until the test's rollback
    _refuse_writes(connection, False)
    assert db.scalar(select(func.count(RoomEvent.id)).where(RoomEvent.session_id == room.id,
                                                             RoomEvent.kind == "chat")) == 0
    ack = parent.emit("chat", message, namespace="/live", callback=True)
    assert set(ack) == {"id", "seq"}
    assert [r["args"][0]["seq"] for r in clinician.get_received("/live") if r["name"] == "event"] == [ack["seq"]]
    assert sessions.events_after(db, world.user("clinician"), room, "main", 0)[-1].id == ack["id"]
