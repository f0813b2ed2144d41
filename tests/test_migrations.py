"""Migrations build exactly the models' schema, and step back down cleanly."""
from __future__ import annotations

import os

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.cli import alembic_config
from network.db import Base, make_engine



SCHEMA = f"migration_check_{os.getpid()}"


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name and (name.startswith("search_") or name == "alembic_version"))


def test_migrations_match_models(engine, database_url, tmp_path):
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
        migrated = make_engine(url)
    else:
        with engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
            conn.commit()
        url = database_url
        migrated = make_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
    config = alembic_config(url)
    try:
        with migrated.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with migrated.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection, opts={
                "include_object": _include, "compare_type": True}), Base.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
        with migrated.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        with migrated.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    finally:
        migrated.dispose()
        if not database_url.startswith("sqlite"):
            with engine.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                conn.commit()
