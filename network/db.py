"""Database plumbing shared by every domain module: the declarative base, engines and sessions.

Constraint names follow one convention so that Alembic migrations are identical on SQLite and
PostgreSQL and can be dropped by name.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use network.db.utcnow()")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_engine(url: str, *, writes: Callable[[], bool] = lambda: False, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and real SAVEPOINT support.

    `writes()` says, when a SQLite transaction begins, whether the work it belongs to will write: such a
    transaction takes the write lock at once (BEGIN IMMEDIATE) and so waits its turn (busy_timeout) behind
    another writer. Begun as a reader, it would fail with "database is locked" the moment it first wrote
    after another connection had committed since its first read: SQLite cannot upgrade a stale snapshot,
    and busy_timeout does not help there. PostgreSQL needs none of this.
    """
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _tune_sqlite(engine, memory=url in ("sqlite://", "sqlite:///:memory:"), writes=writes)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _tune_sqlite(engine: Engine, memory: bool, writes: Callable[[], bool]) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT (used by nested units of work and
    # by the test suite); take over BEGIN ourselves, as the SQLAlchemy docs recommend.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes() else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_sqlite(db: Session) -> bool:
    return db.get_bind().dialect.name == "sqlite"
