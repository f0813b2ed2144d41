"""Alembic environment: the models' metadata is the target; SQLite gets batch mode."""
from __future__ import annotations

import sys
from pathlib import Path

from alembic import context

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import content.models  # noqa: E402,F401  (registers the content tables)
import network.models  # noqa: E402,F401  (registers the network tables)
from network.db import Base, make_engine  # noqa: E402

config = context.config
target_metadata = Base.metadata

SEARCH_TABLE_PREFIXES = ("search_",)


def include_object(obj, name, type_, reflected, compare_to):
    """Full-text search tables (FTS5, tsvector) are made by hand in migrations, not from models."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIXES):
        return False
    return True


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", include_object=include_object,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
