"""Helpers shared by the two-process test (tests/test_two_processes.py) and the live-room benchmark
(bench/live_room.py): a PostgreSQL schema of our own built by the migrations, a room seeded through the
session services, login cookies minted without the sign-in form, and real gunicorn + gevent server
processes that share Redis and PostgreSQL.

Why a schema of our own: the conftest `engine` fixture drops and creates tables in `public`, and other
test runs and benchmarks use the same database; a schema selected with `-csearch_path` isolates us
completely and is dropped at the end.

Why real processes: the point is what crosses between processes (Redis pub/sub for broadcasts, the
database for presence, sequence numbers and replay). Socket.IO's test client refuses a message queue
and patches the server in-process, so it cannot show that.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
PG_DSN = "host=127.0.0.1 port=5432 dbname=test connect_timeout=3"
PG_URL = "postgresql+psycopg://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
NAMESPACE = "/live"


# ---------------------------------------------------------------------------------------------
# Services

def services_problem() -> str | None:
    """None when PostgreSQL and Redis both answer on loopback, else a sentence naming what does not."""
    import psycopg
    import redis

    problems = []
    try:
        with psycopg.connect(PG_DSN):
            pass
    except psycopg.OperationalError as exc:
        problems.append(f"PostgreSQL ({PG_URL}) is not reachable: {str(exc).strip().splitlines()[0]}")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        problems.append(f"Redis ({REDIS_URL}) is not reachable: {exc}")
    finally:
        client.close()
    return "; ".join(problems) or None


class Schema:
    """A PostgreSQL schema of our own in database `test`, built by the project's Alembic migrations.

    The schema name goes into the URL as a libpq `options=-csearch_path=...` parameter: SQLAlchemy hands
    it to psycopg, so the servers (which only read DATABASE_URL), Alembic and our own engine all land in
    it without any code knowing about schemas.
    """

    def __init__(self, name: str):
        if not name.replace("_", "").isalnum():
            raise ValueError(f"unsafe schema name {name!r}")
        self.name = name
        self.url = f"{PG_URL}?options={quote(f'-csearch_path={name}', safe='')}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> "Schema":
        """Drop a leftover of an interrupted run, create the schema empty and migrate it to head."""
        import logging

        from alembic import command

        from app.cli import alembic_config

        self.drop()
        self._admin(f"CREATE SCHEMA {self.name}")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        command.upgrade(alembic_config(self.url), "head")
        return self

    def drop(self) -> None:
        self._admin(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")

    def scalar(self, sql: str, *params):
        """One value from a query run inside the schema (for checks on what the servers stored)."""
        import psycopg

        with psycopg.connect(PG_DSN, options=f"-csearch_path={self.name}") as conn:
            return conn.execute(sql, params).fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Seeding

@dataclass(frozen=True)
class Person:
    id: int
    #: what Flask-Login's cookie carries (`network.people.session_token`: id and session version)
    token: str
    role: str
    name: str


@dataclass
class Room:
    session_id: int
    module_ids: list[int]
    module_titles: list[str]


@dataclass
class Seeded:
    facilitator: Person
    parent: Person
    clinician: Person
    #: extra registered participants (the benchmark's crowd), alternating parent / clinician / patient
    crowd: list[Person] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)


def seed(url: str, *, crowd: int = 0, rooms: int = 1) -> Seeded:
    """Two sites, a network leader who facilitates, a parent (site A) and a clinician (site B), `crowd`
    more members, and `rooms` sessions happening now with two agenda modules each, everyone registered.

    The sessions, modules and the named people's registrations go through the session services (so
    they are what the app would make); the crowd is bulk-inserted (a thousand `register` calls with
    their audit rows would only slow the set-up down).
    """
    import random

    from sqlalchemy import insert, text

    import content.models  # noqa: F401  (complete metadata for the relationships)
    import network.models  # noqa: F401
    from network import sessions
    from network.db import make_engine, make_session_factory
    from network.people import Membership, Site, User, session_token
    from network.sessions import Registration, SessionFields

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            site_a = Site(slug="live-a", name="Live Site A", city="Aton", code=9101)
            site_b = Site(slug="live-b", name="Live Site B", city="Beeton", code=9102)
            db.add_all([site_a, site_b])
            db.flush()
            named = {}
            for role, site, name in (("network_leader", None, "Lena Leader"), ("parent", site_a, "Pat Parent"),
                                     ("clinician", site_b, "Cleo Clinician")):
                user = User(email=f"{role}@live.example.org", full_name=name, profile_roles=[role])
                db.add(user)
                db.flush()
                db.add(Membership(user_id=user.id, site_id=site.id if site else None, role=role))
                named[role] = user
            db.commit()
            # Room names are "<session id>:main"; callers should give their servers a Redis channel of
            # their own (SOCKETIO_CHANNEL), and in case one does not, start our ids somewhere another
            # concurrent run's ids are unlikely to be.
            db.execute(text(f"ALTER SEQUENCE learning_sessions_id_seq RESTART WITH {random.randint(10**6, 10**9)}"))
            db.commit()
            for user in named.values():
                db.refresh(user)

            crowd_people: list[Person] = []
            if crowd:
                roles = ("parent", "clinician", "patient")
                rows = [{"email": f"crowd{i:05d}@live.example.org", "full_name": f"Crowd Member {i:05d}",
                         "profile_roles": [roles[i % 3]]} for i in range(crowd)]
                ids = list(db.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rows))
                db.execute(insert(Membership), [{"user_id": uid, "site_id": (site_a, site_b)[i % 2].id,
                                                 "role": roles[i % 3]} for i, uid in enumerate(ids)])
                db.commit()
                crowd_people = [Person(uid, f"{uid}:1", roles[i % 3], rows[i]["full_name"])
                                for i, uid in enumerate(ids)]

            leader = named["network_leader"]
            start = (datetime.now(timezone.utc) - timedelta(minutes=5)).replace(tzinfo=None, microsecond=0)
            made: list[Room] = []
            for n in range(rooms):
                session = sessions.create_session(db, leader, SessionFields(
                    title=f"Live room {n + 1}", description="Co-taught by a parent and a clinician.",
                    starts_local=start, minutes=240, timezone="UTC"))
                modules = [sessions.add_module(db, leader, session.id, title="Welcome", minutes=10,
                                               presenters=[(named["parent"], "parent"),
                                                           (named["clinician"], "clinician")]),
                           sessions.add_module(db, leader, session.id, title="Previsit planning", minutes=30)]
                for role in ("parent", "clinician"):
                    sessions.register(db, named[role], session.id)
                if crowd_people:
                    db.execute(insert(Registration), [{"session_id": session.id, "user_id": p.id,
                                                       "acting_role": p.role, "status": "registered"}
                                                      for p in crowd_people])
                    db.commit()
                made.append(Room(session.id, [m.id for m in modules], [m.title for m in modules]))

            # every cookie names a live device record (the app refuses a session without one)
            from network.devices import DeviceSession

            everyone = [(user.id, session_token(user)) for user in named.values()] + \
                [(p.id, p.token) for p in crowd_people]
            db.execute(insert(DeviceSession), [{"user_id": uid, "key_digest": device_digest(token),
                                                 "session_version": int(token.split(":")[1])}
                                                for uid, token in everyone])
            db.commit()

            def person(role: str) -> Person:
                user = named[role]
                return Person(user.id, session_token(user), role, user.full_name)

            return Seeded(person("network_leader"), person("parent"), person("clinician"), crowd_people, made)
    finally:
        engine.dispose()


def device_key(token: str) -> str:
    """The device key a test cookie carries for this person (seed() stores its digest)."""
    return f"live-device-{token}"


def device_digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(device_key(token).encode()).hexdigest()


def login_cookie(secret_key: str, token: str, *, now: float | None = None) -> str:
    """The `Cookie` header of a fresh sign-in, signed as the servers sign it, without the login form.

    A bare Flask app with the same SECRET_KEY has the same session serializer (salt and digest are
    Flask's defaults, which the app does not change); `login_at` / `seen_at` satisfy the app's idle and
    absolute session timeouts.
    """
    from flask import Flask

    signer = Flask("carecommons-live-support")
    signer.secret_key = secret_key
    now = time.time() if now is None else now
    value = signer.session_interface.get_signing_serializer(signer).dumps(
        {"_user_id": token, "_fresh": True, "login_at": now, "seen_at": now, "device": device_key(token)})
    return f"session={value}"


# ---------------------------------------------------------------------------------------------
# Server processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (from /proc, in seconds)."""
    fields = _proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when the one that started it dies, however it dies: a test
    run or benchmark killed with SIGKILL or SIGTERM never reaches its finalizers, and a server in its own
    session would otherwise serve on, subscribed to the shared Redis channel. Servers call it before exec
    (a gunicorn worker follows its master within a second: workers exit when their parent changes);
    the benchmark's client processes call it first thing."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class ServerProcess:
    """One `gunicorn -k gevent -w 1` instance of wsgi:app on a loopback port, in its own process group.

    Its own process group means `kill9()` takes down the master and its worker at once, as a crashed
    machine would (killing only the worker lets the master start a new one at once; killing only the
    master leaves the worker serving until it notices). Output goes to a log file whose tail is shown
    when the server fails to come up.
    """

    def __init__(self, name: str, port: int, env: dict[str, str], *, worker_connections: int = 1000,
                 app_module: str = "wsgi:app"):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self._log = tempfile.NamedTemporaryFile(prefix=f"live-{name}-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)
        full_env = {k: v for k, v in os.environ.items() if k != "CARECOMMONS_ENV"}
        full_env.update(env)
        full_env["PYTHONUNBUFFERED"] = "1"
        command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "gevent", "-w", "1", "--no-control-socket",
                   "--worker-connections", str(worker_connections), "--timeout", "120",
                   "--graceful-timeout", "5", "-b", f"127.0.0.1:{port}", app_module]
        self.process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, preexec_fn=die_with_parent)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Poll /healthz until it answers 200 (the app is imported and the database answers)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"server {self.name} not healthy after {timeout:.0f} s ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    @property
    def worker_pid(self) -> int:
        """The gevent worker (the process that holds the sockets), the master's only child."""
        with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
            children = [int(p) for p in f.read().split()]
        if len(children) != 1:
            raise RuntimeError(f"server {self.name}: expected one worker, found {children}")
        return children[0]

    def kill9(self) -> None:
        """Crash the server: SIGKILL to master and worker together, no goodbye to any client."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Quick shutdown (SIGQUIT closes open websockets at once), SIGKILL if it does not go in 10 s.
        Safe to call more than once and after kill9()."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGQUIT)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                self.process.wait(timeout=10)
        # an orphaned worker (should the master have died first) is in the same process group
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if not self._log.closed:
            self._log.close()

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)


def seed_demo(database_url: str, secret_key: str) -> float:
    """`flask demo seed` into a benchmark's database, as an operator would (the 70-site demo network);
    returns the seconds it took."""
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k != "CARECOMMONS_ENV"}
    env.update(server_env(database_url, secret_key))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "demo", "seed"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"flask demo seed failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return time.monotonic() - started


def server_env(database_url: str, secret_key: str) -> dict[str, str]:
    """What a production-like server reads from the environment (never CARECOMMONS_ENV=production: its
    Secure cookies would not be sent back by plain-http clients)."""
    return {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "SECRET_KEY": secret_key,
            "SOCKETIO_ASYNC_MODE": "gevent"}


def start_servers(names: tuple[str, ...], database_url: str, secret_key: str, *, worker_connections: int = 1000,
                  app_module: str = "wsgi:app", timeout: float = 30.0,
                  extra_env: dict[str, str] | None = None) -> list[ServerProcess]:
    """Start the servers side by side and wait until every one answers /healthz; on any failure stop
    the ones that did start before raising. `extra_env`: more settings for every one of them."""
    servers: list[ServerProcess] = []
    try:
        for name in names:
            servers.append(ServerProcess(name, free_port(), {**server_env(database_url, secret_key), **(extra_env or {})},
                                         worker_connections=worker_connections, app_module=app_module))
        for server in servers:
            server.wait_healthy(timeout)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers
