"""Backups of a whole deployment: the database and the attached files, in one archive that restores exactly.

An archive is a gzipped tar file:

    manifest.json      what it is: format, time, backend, schema revision, rows per table, sha256 of each file
    database.sqlite    SQLite: a consistent copy made with sqlite3's online backup API while the app runs, or
    database.pgdump    PostgreSQL: `pg_dump -Fc`, taken in the same snapshot as the manifest's counts
    attachments/...    the stored attachment files, as they lie under ATTACHMENTS_DIR

Restore checks everything before it changes anything: a readable archive, our manifest, the same backend,
a schema revision this code knows (a newer one is refused), every file's checksum, and a database copy
that opens (`PRAGMA integrity_check`, `pg_restore --list`). Only then is the database replaced (the
sqlite3 backup API into the live file; `pg_restore --clean --if-exists --no-owner --single-transaction`)
and the attachments directory swapped for the archive's.

No Flask here: the CLI passes the engine, the attachments directory and the revisions the code knows.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url

FORMAT = "carecommons-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
ATTACHMENTS = "attachments"


class BackupError(Exception):
    """A backup that cannot be made, or an archive that will not be restored (nothing was changed)."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    backend: str
    schema_revision: str
    counts: dict[str, int]
    files: dict[str, str]  #: archive member -> sha256

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "version": VERSION, "created_at": self.created_at,
                           "backend": self.backend, "schema_revision": self.schema_revision,
                           "counts": self.counts, "files": self.files}, indent=2, sort_keys=True).encode()

    @property
    def attachment_count(self) -> int:
        return sum(1 for name in self.files if name.startswith(ATTACHMENTS + "/"))


# --------------------------------------------------------------------------
# Backup
# --------------------------------------------------------------------------

def backup(engine: Engine, attachments_dir: Path, output: Path, *, pg_bin_dir: str | None = None) -> Manifest:
    """Write an archive of the database behind `engine` and the files under `attachments_dir` to `output`.

    The database goes first and the files after, so every attachment row in the dump has its file (a file
    uploaded meanwhile is an unused extra). `output` appears only once complete.
    """
    backend = _backend(engine)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as work:
        dump = Path(work) / DATABASE_MEMBER[backend]
        if backend == "sqlite":
            revision, counts = _dump_sqlite(engine, dump)
        else:
            revision, counts = _dump_postgresql(engine, dump, pg_bin_dir)
        if not revision:
            raise BackupError("the database has no schema revision (alembic_version): run `flask db upgrade` first")
        files = {dump.name: _sha256(dump)}
        attachments = list(_attachment_files(Path(attachments_dir)))
        for relative, path in attachments:
            files[f"{ATTACHMENTS}/{relative}"] = _sha256(path)
        manifest = Manifest(created_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), backend=backend,
                            schema_revision=revision, counts=counts, files=files)
        partial = Path(work) / "archive.partial"
        with tarfile.open(partial, "w:gz") as archive:
            _add_bytes(archive, MANIFEST, manifest.to_json())
            archive.add(dump, arcname=dump.name, recursive=False)
            for relative, path in attachments:
                archive.add(path, arcname=f"{ATTACHMENTS}/{relative}", recursive=False)
        os.chmod(partial, 0o600)  # personal and health data: readable by the service's own user only
        os.replace(partial, output)
    return manifest


def _dump_sqlite(engine: Engine, target: Path) -> tuple[str | None, dict[str, int]]:
    """sqlite3's online backup: a consistent copy even while other connections write."""
    raw = engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, readable without a -wal/-shm
        finally:
            copy.close()
    finally:
        raw.close()
    return _sqlite_facts(target)


def _sqlite_facts(path: Path) -> tuple[str | None, dict[str, int]]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        return revision, counts
    finally:
        connection.close()


def _dump_postgresql(engine: Engine, target: Path, pg_bin_dir: str | None) -> tuple[str | None, dict[str, int]]:
    """pg_dump -Fc in a snapshot exported by our own transaction, so the counts describe the dump exactly."""
    pg_dump = _pg_tool("pg_dump", pg_bin_dir, engine)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            revision, counts = _counts(connection)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                  f"--dbname={_conninfo(engine)}"], engine)
    return revision, counts


def _counts(connection) -> tuple[str | None, dict[str, int]]:
    quote = connection.dialect.identifier_preparer.quote
    tables = sorted(inspect(connection).get_table_names())
    counts = {name: connection.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar() for name in tables}
    revision = None
    if "alembic_version" in tables:
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return revision, counts


def _attachment_files(root: Path):
    """(relative posix path, path) of every stored file; half-written uploads (dot files) are left out."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not any(part.startswith(".") for part in relative.parts):
            yield relative.as_posix(), path


# --------------------------------------------------------------------------
# Restore
# --------------------------------------------------------------------------

def read_manifest(archive_path: Path) -> Manifest:
    """The manifest of an archive, or BackupError saying why this is not one of our backups."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            return _manifest(archive)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{archive_path} is not a readable backup archive ({_reason(exc)})") from None


def restore(engine: Engine, attachments_dir: Path, archive_path: Path, *, known_revisions: set[str],
            pg_bin_dir: str | None = None) -> Manifest:
    """Replace the database and the attachments with the archive's, after checking all of it first.

    `known_revisions` are the schema revisions this code's migrations know; an archive from a newer
    version is refused. Returns the manifest; afterwards the database's row counts equal its counts.
    """
    backend = _backend(engine)
    attachments_dir = Path(attachments_dir)
    attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=attachments_dir.parent) as work:
        manifest = _unpack(Path(archive_path), Path(work), backend, known_revisions)
        dump = Path(work) / DATABASE_MEMBER[backend]
        files = Path(work) / ATTACHMENTS
        files.mkdir(exist_ok=True)
        if backend == "sqlite":
            _check_sqlite_copy(dump, manifest)
            _restore_sqlite(engine, dump)
        else:
            pg_restore = _pg_tool("pg_restore", pg_bin_dir, engine)
            _run([pg_restore, "--list", str(dump)], engine, what="the database dump in the archive is unreadable")
            _restore_postgresql(engine, dump, pg_restore, manifest)
        _swap_directory(files, attachments_dir)
    with engine.connect() as connection:
        revision, counts = _counts(connection)
    if counts != manifest.counts or revision != manifest.schema_revision:
        raise BackupError("the restored database does not match the archive's manifest: "
                          + ", ".join(f"{name} {counts.get(name)} != {manifest.counts.get(name)}"
                                      for name in sorted(set(counts) | set(manifest.counts))
                                      if counts.get(name) != manifest.counts.get(name)))
    return manifest


def _unpack(archive_path: Path, work: Path, backend: str, known_revisions: set[str]) -> Manifest:
    """Check the archive and extract its members into `work`; BackupError on anything unexpected."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            manifest = _manifest(archive)
            if manifest.backend != backend:
                raise BackupError(f"this backup is of a {manifest.backend} database; the configured database is "
                                  f"{backend}")
            if manifest.schema_revision not in known_revisions:
                raise BackupError(f"this backup has schema revision {manifest.schema_revision}, which this version "
                                  "of CareCommons does not know (it is newer): restore it with the version that "
                                  "made it")
            expected = dict(manifest.files)
            if DATABASE_MEMBER[backend] not in expected:
                raise BackupError("the archive's manifest lists no database dump")
            for member in archive:
                if member.name == MANIFEST:
                    continue
                target = _member_path(work, member)
                if member.name not in expected or not member.isfile():
                    raise BackupError(f"the archive holds {member.name!r}, which its manifest does not list")
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with archive.extractfile(member) as source, open(target, "wb") as out:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                if digest.hexdigest() != expected.pop(member.name):
                    raise BackupError(f"{member.name} in the archive is damaged (its checksum differs)")
            if expected:
                raise BackupError(f"the archive is incomplete: {', '.join(sorted(expected))} missing")
            return manifest
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{archive_path} is not a readable backup archive ({_reason(exc)})") from None


def _manifest(archive: tarfile.TarFile) -> Manifest:
    try:
        member = archive.getmember(MANIFEST)
        data = json.loads(archive.extractfile(member).read())
        if data.get("format") != FORMAT:
            raise ValueError("not a CareCommons backup")
        if data.get("version") != VERSION:
            raise ValueError(f"archive format version {data.get('version')} (this code reads {VERSION})")
        manifest = Manifest(created_at=str(data["created_at"]), backend=str(data["backend"]),
                            schema_revision=str(data["schema_revision"]),
                            counts={str(k): int(v) for k, v in data["counts"].items()},
                            files={str(k): str(v) for k, v in data["files"].items()})
    except KeyError:
        raise BackupError("the archive has no CareCommons manifest (manifest.json)") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise BackupError(f"the archive's manifest is not usable: {exc}") from None
    if manifest.backend not in DATABASE_MEMBER:
        raise BackupError(f"the archive's manifest names an unknown database kind {manifest.backend!r}")
    return manifest


def _member_path(work: Path, member: tarfile.TarInfo) -> Path:
    """Where an archive member goes; names that could leave `work` are refused."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or not re.fullmatch(r"[A-Za-z0-9._/-]+", member.name):
        raise BackupError(f"the archive holds an unsafe name {member.name!r}")
    return work.joinpath(*name.parts)


def _check_sqlite_copy(path: Path, manifest: Manifest) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            connection.close()
        revision, _counts = _sqlite_facts(path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"the database copy in the archive does not open: {exc}") from None
    if result != "ok":
        raise BackupError(f"the database copy in the archive fails SQLite's integrity check: {result}")
    if revision != manifest.schema_revision:
        raise BackupError("the database copy's schema revision differs from the manifest's")


def _restore_sqlite(engine: Engine, source_path: Path) -> None:
    """Copy the archive's database into the live one, page by page, with the same online backup API."""
    engine.dispose()
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    raw = engine.raw_connection()
    try:
        source.backup(raw.driver_connection)
    finally:
        raw.close()
        source.close()
    engine.dispose()


def _restore_postgresql(engine: Engine, dump: Path, pg_restore: str, manifest: Manifest) -> None:
    """pg_restore in one transaction (all or nothing); then drop tables the archive did not have (a newer
    version's, when going back to a backup made before an upgrade), so the schema is exactly the archive's."""
    engine.dispose()
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
          f"--dbname={_conninfo(engine)}", str(dump)], engine, what="pg_restore failed; the database is unchanged")
    with engine.begin() as connection:
        quote = connection.dialect.identifier_preparer.quote
        for name in set(inspect(connection).get_table_names()) - set(manifest.counts):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")


def _swap_directory(new: Path, current: Path) -> None:
    """Put `new` in the place of `current` by renames (same file system), then remove the old files."""
    old = current.with_name(f".{current.name}.replaced-{os.getpid()}")
    if current.exists():
        os.replace(current, old)
    os.replace(new, current)
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------
# Plumbing
# --------------------------------------------------------------------------

def _backend(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in DATABASE_MEMBER:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    if name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return name


def _conninfo(engine: Engine) -> str:
    """A libpq URI without the password (that goes in PGPASSWORD, not on a command line others can see)."""
    url = make_url(str(engine.url.render_as_string(hide_password=False)))
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_env(engine: Engine) -> dict[str, str]:
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    return env


def _run(command: list[str], engine: Engine, *, what: str = "") -> None:
    result = subprocess.run(command, env=_pg_env(engine), capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{what or Path(command[0]).name + ' failed'}: {detail[-1] if detail else result.returncode}")


def _pg_tool(name: str, pg_bin_dir: str | None, engine: Engine) -> str:
    """The client tool, refused when older than the server (it could not read or write its dumps)."""
    path = str(Path(pg_bin_dir) / name) if pg_bin_dir else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        raise BackupError(f"{name} not found" + (f" in {pg_bin_dir}" if pg_bin_dir else " on PATH")
                          + ": install the PostgreSQL client tools or set PG_BIN_DIR")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", version)
    with engine.connect() as connection:
        server = int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000
    if not match or int(match.group(1)) < server:
        raise BackupError(f"{path} is version {version.strip() or '?'}, older than the server (PostgreSQL {server}): "
                          "set PG_BIN_DIR to that version's tools (e.g. /usr/lib/postgresql/<version>/bin)")
    return path


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(timezone.utc).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
