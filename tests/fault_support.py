"""Private services to break on purpose, shared by tests/test_faults.py and bench/faults.py: a PostgreSQL
cluster of our own (initdb + pg_ctl on a port of our own, data in a temporary folder), a redis-server of
our own (no persistence, so a restart loses every key as a crashed Redis does), and a small tmpfs that can
be filled up or remounted read-only.

Never the shared services: PostgreSQL on 5432 and Redis on 6379 serve other test runs on this machine,
and restarting them would break those runs. Each helper says what is missing (`problem()`); the tests
fail with that message (a fault that cannot be broken for real is not proved), the bench script stops.
"""
from __future__ import annotations

import errno
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def port_for(base: int) -> int:
    """`base` plus this xdist worker's number (gw0 -> base, gw1 -> base + 1), or a free port when that one
    is taken (another run on the machine): two workers never share a private service."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    port = base + (int(worker[2:]) if worker[2:].isdigit() else 0)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def _wait_port(port: int, *, up: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            answered = s.connect_ex(("127.0.0.1", port)) == 0
        if answered == up:
            return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} still {'closed' if up else 'open'} after {timeout:.0f} s")


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own on `port`, data in a temporary folder; `restart()` is a real
    shutdown (`pg_ctl stop -m fast`: every connection is terminated) and start."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        self.dsn = f"host=127.0.0.1 port={port} dbname=postgres user=postgres connect_timeout=3"
        self.folder: Path | None = None

    @staticmethod
    def problem() -> str | None:
        if _pg_bin() is None:
            return "PostgreSQL's server programs (initdb, pg_ctl under /usr/lib/postgresql) are not installed"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "runuser is missing (initdb refuses to run as root)"
        return None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(_pg_bin() / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse root: run them as the postgres user
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> "PrivatePostgres":
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="cc-faults-pg-"))
            if os.geteuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            self._run("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync",
                      "-E", "UTF8", "--locale", "C")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-o", options, "-w",
                  "-t", "60", "start")
        return self

    def stop(self) -> None:
        if self.folder is not None:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "-t", "60", "stop", check=False)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def remove(self) -> None:
        self.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


# ---------------------------------------------------------------------------------------------
# Redis


class PrivateRedis:
    """A redis-server of our own on `port`, without persistence: a restart loses every key and every
    pub/sub subscription, as a crashed Redis does."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def problem() -> str | None:
        return None if shutil.which("redis-server") else "redis-server is not installed"

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        _wait_port(self.port, up=True)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # a crash, not a polite shutdown
            self.process.wait(timeout=10)
        _wait_port(self.port, up=False)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


# ---------------------------------------------------------------------------------------------
# A small disk


class SmallDisk:
    """A tmpfs of `megabytes` mounted at `path` (needs root, as the tests and CI run here): `fill()`
    takes every free byte with a filler file, `read_only()` remounts it read-only; `restore()` undoes
    both. A real full or read-only file system: SQLite and the attachment store meet ENOSPC / EROFS
    from the kernel, not from a patched function."""

    def __init__(self, path: Path, megabytes: int = 8):
        self.path, self.megabytes = Path(path), megabytes
        self.mounted = False

    @staticmethod
    def problem(probe_dir: Path) -> str | None:
        probe = Path(probe_dir) / "mount-probe"
        probe.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            return f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root"
        subprocess.run(["umount", str(probe)], check=True)
        probe.rmdir()
        return None

    def mount(self) -> "SmallDisk":
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.megabytes}m,mode=0755", "tmpfs", str(self.path)],
                       check=True, capture_output=True)
        self.mounted = True
        return self

    def fill(self) -> None:
        """Write a filler file until the kernel says ENOSPC."""
        chunk = b"\0" * 65536
        with open(self.path / ".filler", "ab", buffering=0) as filler:
            while True:
                try:
                    filler.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        return
                    chunk = chunk[: len(chunk) // 2]

    def read_only(self) -> None:
        """Remount read-only. The kernel refuses while a file on it is open for writing: close the
        database connections first (`engine.dispose()`), as a restart onto read-only media would."""
        done = subprocess.run(["mount", "-o", "remount,ro", str(self.path)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"remount read-only failed: {done.stderr.strip()}")

    def restore(self) -> None:
        """Writable again, and the filler gone."""
        subprocess.run(["mount", "-o", "remount,rw", str(self.path)], check=True, capture_output=True)
        (self.path / ".filler").unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)
            self.mounted = False


# ---------------------------------------------------------------------------------------------
# An app's own database, built and seeded


def build(app) -> None:
    """Tables as the conftest builds them, in the app's own database."""
    import content.models  # noqa: F401
    import network.models  # noqa: F401
    from content import search
    from network.db import Base

    engine = app.extensions["carecommons.db"].engine
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        search.create_schema(connection)


def seed(app) -> dict:
    """A site with a site lead and a parent, the remission measure, and a draft resource by the parent."""
    from network.people import Membership, Site, User
    from tests.conftest import hashed_test_password
    from tests.library_fixtures import make_resource
    from tests.outcome_fixtures import add_measure

    with app.extensions["carecommons.db"].session_factory() as db:
        site = Site(slug="own-site", name="Own Site Hospital", city="Ownton", code=1)
        db.add(site)
        db.flush()
        people = {}
        for role in ("site_lead", "parent"):
            user = User(email=f"{role}@example.org", full_name=role.title(), password_hash=hashed_test_password(),
                        profile_roles=[role], birth_year=1980)
            db.add(user)
            db.flush()
            db.add(Membership(user_id=user.id, site_id=site.id, role=role))
            people[role] = user
        db.commit()
        add_measure(db)
        resource = make_resource(db, people["parent"])
        return {"people": people, "resource_slug": resource.slug, "resource_title": resource.title}


def files_under(folder: Path) -> list[str]:
    """Every file below `folder` (hidden ones too: a left-over `.upload-*.tmp` counts)."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
