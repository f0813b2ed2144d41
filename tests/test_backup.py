"""`flask backup` / `flask restore`: an archive of the database and the attachment files that restores
exactly, and refusals (not an archive, damaged, from a newer version, another backend) that change nothing.

Runs on a SQLite file always, and on a PostgreSQL database of its own in the PostgreSQL run
(`--database=postgresql`); the data is committed for real, since pg_dump and pg_restore are other processes.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from PIL import Image
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

import config as config_module
from app.cli import alembic_config
from content import attachments
from network.db import make_engine
from network.people import Site, User


@pytest.fixture(scope="session")
def migrated(engine, database_url, tmp_path_factory):
    """A database migrated to head once per run, copied for each test: a SQLite file, or a PostgreSQL
    template database (dropped at the end)."""
    if database_url.startswith("sqlite"):
        path = tmp_path_factory.mktemp("migrated") / "template.db"
        command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
        yield path
        return
    name = f"deploy_backup_template_{os.getpid()}"
    _admin(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    command.upgrade(alembic_config(make_url(database_url).set(database=name).render_as_string(False)), "head")
    yield name
    _admin(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _admin(database_url: str, *statements: str) -> None:
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


@pytest.fixture
def deployment(migrated, database_url, tmp_path):
    """An app on a migrated database of its own (a SQLite file, or a PostgreSQL database) with its own
    attachments directory; the PostgreSQL database is dropped afterwards."""
    if database_url.startswith("sqlite"):
        shutil.copyfile(migrated, tmp_path / "carecommons.db")
        url = f"sqlite:///{tmp_path / 'carecommons.db'}"
    else:
        name = f"deploy_backup_{os.getpid()}"
        _admin(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
               f"CREATE DATABASE {name} TEMPLATE {migrated}")
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)

    class DeploymentConfig(config_module.TestConfig):
        DATABASE_URL = url
        ATTACHMENTS_DIR = tmp_path / "attachments"
        BACKUP_DIR = tmp_path / "backups"

    from app import create_app

    app = create_app(DeploymentConfig)
    yield app
    app.extensions["carecommons.db"].engine.dispose()
    if not database_url.startswith("sqlite"):
        _admin(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _png(colour: tuple[int, int, int]) -> attachments.CheckedFile:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(out, "PNG")
    return attachments.check(out.getvalue(), "picture.png")


def _session(app):
    return app.extensions["carecommons.db"].session_factory()


def _seed(app) -> None:
    with _session(app) as db:
        db.add_all([Site(slug=f"site-{n}", name=f"Site {n} Hospital", city="Town", code=100 + n) for n in range(3)])
        db.add_all([User(email=f"person{n}@example.org", full_name=f"Person {n}", password_hash="x",
                         profile_roles=["parent"]) for n in range(2)])
        db.commit()
    store = attachments.FileStore(app.config["ATTACHMENTS_DIR"])
    store.save(_png((200, 10, 10)))
    store.save(_png((10, 200, 10)))


def _state(app) -> dict:
    """What the test compares: row counts, a sample of rows, the schema revision and every stored file."""
    with _session(app) as db:
        root = Path(app.config["ATTACHMENTS_DIR"])
        return {
            "sites": db.scalar(select(func.count(Site.id))),
            "users": db.scalar(select(func.count(User.id))),
            "site rows": db.execute(select(Site.id, Site.slug, Site.name, Site.code).order_by(Site.id)).all(),
            "user rows": db.execute(select(User.id, User.email, User.full_name).order_by(User.id)).all(),
            "revision": db.scalar(text("SELECT version_num FROM alembic_version")),
            "files": {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()},
        }


def _change(app) -> None:
    """Everything a restore must undo: a row added, one changed, one deleted, a file gone, a file new."""
    with _session(app) as db:
        db.add(Site(slug="site-new", name="Added Later", city="Town", code=999))
        db.scalar(select(Site).where(Site.slug == "site-0")).name = "Renamed Hospital"
        db.delete(db.scalar(select(User).where(User.email == "person1@example.org")))
        db.commit()
    root = Path(app.config["ATTACHMENTS_DIR"])
    next(p for p in root.rglob("*.png")).unlink()
    attachments.FileStore(root).save(_png((10, 10, 200)))


def _backup(app, path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds personal and health data


def test_backup_change_restore_gives_the_data_back_exactly(deployment, tmp_path):
    _seed(deployment)
    archive = tmp_path / "backups" / "before.tar.gz"
    _backup(deployment, archive)
    before = _state(deployment)
    assert before["sites"] == 3 and before["users"] == 2 and len(before["files"]) == 2

    _change(deployment)
    changed = _state(deployment)
    assert changed["sites"] == 4 and changed["users"] == 1 and changed["files"] != before["files"]
    engine = deployment.extensions["carecommons.db"].engine
    with engine.begin() as connection:  # as a newer version's migration would have made it
        connection.exec_driver_sql("CREATE TABLE from_a_newer_version (id INTEGER PRIMARY KEY)")

    result = deployment.test_cli_runner().invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 attachment files" in result.output
    assert _state(deployment) == before
    with engine.connect() as connection:  # the schema is exactly the archive's again
        assert "from_a_newer_version" not in inspect(connection).get_table_names()

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = set(tar.getnames())
    assert manifest["schema_revision"] == before["revision"]
    assert manifest["counts"]["sites"] == 3 and manifest["counts"]["users"] == 2
    assert names == {"manifest.json", *manifest["files"]}
    assert len([n for n in names if n.startswith("attachments/")]) == 2


def test_backup_into_a_directory_names_the_file_by_time(deployment, tmp_path):
    _seed(deployment)
    result = deployment.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    made = list((tmp_path / "backups").glob("carecommons-*.tar.gz"))
    assert len(made) == 1 and str(made[0]) in result.output
    assert not [p for p in (tmp_path / "backups").iterdir() if p.name.startswith(".")]  # no work files left
    if not deployment.config["DATABASE_URL"].startswith("sqlite"):
        deployment.config["PG_BIN_DIR"] = str(tmp_path / "no-tools-here")
        result = deployment.test_cli_runner().invoke(args=["backup"])
        assert result.exit_code != 0 and "pg_dump not found in" in result.output and "PG_BIN_DIR" in result.output


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy an archive member by member, letting `change(name, data)` return new bytes (or None to drop)."""
    with tarfile.open(source) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members.items():
            data = change(name, data)
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def _manifest_edit(**fields):
    def change(name, data):
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), **fields}).encode()
    return change


def _damage_database(name, data):
    if name.startswith("database."):
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
    return data


BAD_ARCHIVES = {
    "not an archive": (lambda good, bad: bad.write_bytes(b"this is not a backup\n" * 50), "not a readable backup"),
    "truncated": (lambda good, bad: bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2]),
                  "not a readable backup"),
    "damaged database": (lambda good, bad: _rewrite(good, bad, _damage_database), "damaged"),
    "newer schema": (lambda good, bad: _rewrite(good, bad, _manifest_edit(schema_revision="0099_future")),
                     "0099_future"),
    "missing file": (lambda good, bad: _rewrite(good, bad, lambda n, d: None if n.startswith("attachments/") else d),
                     "incomplete"),
    "not ours": (lambda good, bad: _rewrite(good, bad, _manifest_edit(format="something-else")),
                 "not a CareCommons backup"),
}


def test_restore_refuses_a_bad_archive_and_changes_nothing(deployment, tmp_path):
    """One deployment for every kind of bad archive (a PostgreSQL database per test is slow to make)."""
    _seed(deployment)
    good = tmp_path / "good.tar.gz"
    _backup(deployment, good)
    _change(deployment)
    changed = _state(deployment)
    other = "postgresql" if deployment.config["DATABASE_URL"].startswith("sqlite") else "sqlite"
    kinds = {**BAD_ARCHIVES, "another backend": (
        lambda good, bad: _rewrite(good, bad, _manifest_edit(backend=other)), f"backup is of a {other} database")}
    for kind, (make_bad, message) in kinds.items():
        bad = tmp_path / f"{kind.replace(' ', '-')}.tar.gz"
        make_bad(good, bad)
        result = deployment.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
        assert result.exit_code != 0, kind
        assert message in result.output, (kind, result.output)
        assert "Traceback" not in result.output, kind
        assert _state(deployment) == changed, kind
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], kind  # no work files left


def test_restore_asks_before_replacing(deployment, tmp_path):
    _seed(deployment)
    good = tmp_path / "good.tar.gz"
    _backup(deployment, good)
    _change(deployment)
    changed = _state(deployment)
    result = deployment.test_cli_runner().invoke(args=["restore", str(good)], input="n\n")
    assert result.exit_code != 0 and "Replace the database" in result.output
    assert _state(deployment) == changed


def test_backup_is_consistent_while_the_app_writes(deployment, tmp_path):
    """A transaction still open during the backup is neither waited for nor half-included."""
    _seed(deployment)
    engine = deployment.extensions["carecommons.db"].engine
    with engine.connect() as writer:
        writer.begin()
        writer.execute(Site.__table__.insert().values(slug="in-flight", name="Not Yet Committed", city="",
                                                      code=555, is_active=True,
                                                      created_at=datetime.now(timezone.utc)))
        _backup(deployment, tmp_path / "during.tar.gz")
        writer.commit()
    with tarfile.open(tmp_path / "during.tar.gz") as tar:
        assert json.loads(tar.extractfile("manifest.json").read())["counts"]["sites"] == 3
    assert _state(deployment)["sites"] == 4
