"""Command-line tools: `flask db ...` (Alembic), `flask demo seed`, `flask jobs run`."""
from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup

from app.extensions import database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str):
    """Bring the database schema up to REVISION (default: the newest)."""
    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str):
    """Step the schema back to REVISION (default: one step)."""
    command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def db_revision(message: str, autogenerate: bool):
    """Write a new migration, by default compared against the models."""
    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message,
                     autogenerate=autogenerate)


demo_cli = AppGroup("demo", help="The demo network.")


def seed_demo(db) -> list[tuple[str, str, str]]:
    """Every part of the demo network, people and outcomes first, then what members wrote."""
    from content import demo as content_demo
    from network import demo

    logins = demo.seed(db, app_secret=current_app.config["SECRET_KEY"] if has_app_context() else None)
    content_demo.seed(db)
    return logins


@demo_cli.command("seed")
def demo_seed():
    """Load the demo network (idempotent) and print the demo logins."""
    from network import demo

    with database().session_factory() as db:
        logins = seed_demo(db)
    click.echo("\nDemo network ready. Sign in at http://127.0.0.1:5000 with any of these")
    click.echo(f"(password for all: {demo.DEMO_PASSWORD}):\n")
    for role, email, where in logins:
        click.echo(f"  {role:<16} {email:<40} {where}")
    click.echo("")


jobs_cli = AppGroup("jobs", help="Idempotent background jobs (cron or a systemd timer runs them).")


@jobs_cli.command("run")
def jobs_run():
    """Reminders, derived figures, notices and digests, then deliver queued mail. Safe to run again."""
    from app.web import translate_mail
    from content import jobs
    from network import outbox

    config = current_app.config
    with database().session_factory() as db:
        for name, count in jobs.run_all(db, base_url=config["BASE_URL"]).items():
            click.echo(f"{name}: {count}")
    if config.get("MAIL_SERVER"):
        transport = outbox.SmtpTransport(config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_SENDER"],
                                         config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    else:
        transport = outbox.LogTransport()
    with database().session_factory() as db:
        sent, failed = outbox.deliver_pending(db, transport, translate=translate_mail)
    click.echo(f"mail: {sent} sent, {failed} failed")


def init_app(app: Flask) -> None:
    for group in (db_cli, demo_cli, jobs_cli):
        app.cli.add_command(group)
