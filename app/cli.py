"""Command-line tools: `flask db ...` (Alembic), `flask demo seed`, `flask jobs run`, `flask backup`,
`flask restore`."""
from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup, with_appcontext

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


def known_revisions() -> set[str]:
    """Every schema revision this code's migrations know (a backup from a newer version has another)."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}


@click.command("backup")
@click.argument("output", required=False, type=click.Path(path_type=Path))
@with_appcontext
def backup_command(output: Path | None):
    """Write the database and the attachments to one archive (safe while the app runs).

    OUTPUT is a file, or a directory for carecommons-<time>.tar.gz (default: BACKUP_DIR)."""
    from datetime import datetime, timezone

    from network import backup

    target = Path(output or current_app.config["BACKUP_DIR"])
    if target.is_dir() or output is None or not target.name.endswith((".tar.gz", ".tgz")):
        target = target / f"carecommons-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.tar.gz"
    try:
        manifest = backup.backup(database().engine, current_app.config["ATTACHMENTS_DIR"], target,
                                 pg_bin_dir=current_app.config["PG_BIN_DIR"])
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{target}: {manifest.backend}, schema {manifest.schema_revision}, "
               f"{sum(manifest.counts.values())} rows in {len(manifest.counts)} tables, "
               f"{manifest.attachment_count} attachment files")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(archive: Path, yes: bool):
    """Replace the database and the attachments with a backup's. Stop the app first; run
    `flask db upgrade` afterwards if the backup is from an older version."""
    from network import backup

    config = current_app.config
    try:
        manifest = backup.read_manifest(archive)
        if not yes:
            click.confirm(f"Replace the database and {config['ATTACHMENTS_DIR']} with the backup of "
                          f"{manifest.created_at} (schema {manifest.schema_revision})?", abort=True)
        manifest = backup.restore(database().engine, config["ATTACHMENTS_DIR"], archive,
                                  known_revisions=known_revisions(), pg_bin_dir=config["PG_BIN_DIR"])
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {archive} ({manifest.created_at}): schema {manifest.schema_revision}, "
               f"{sum(manifest.counts.values())} rows in {len(manifest.counts)} tables, "
               f"{manifest.attachment_count} attachment files")


def init_app(app: Flask) -> None:
    for group in (db_cli, demo_cli, jobs_cli):
        app.cli.add_command(group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
