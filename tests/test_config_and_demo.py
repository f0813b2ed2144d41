"""Configuration rules, the demo network and the README's promises."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

import config as config_module
from network import access
from network.people import CareLink, Membership, Site, User
from network.roles import Role

ROOT = Path(__file__).resolve().parent.parent


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1/test")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config_module.ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    production = config_module.ProductionConfig()
    assert production.DATABASE_URL == "postgresql+psycopg://127.0.0.1/test"
    assert production.SESSION_COOKIE_SECURE and production.HSTS


def test_embedded_default_needs_no_setting(monkeypatch):
    monkeypatch.delenv("CARECOMMONS_ENV", raising=False)
    assert config_module.from_environment() is config_module.Config
    assert config_module.Config.DATABASE_URL.startswith("sqlite:///")


def test_demo_network_is_complete_and_idempotent(db):
    from app.cli import seed_demo
    from content.library import Resource

    logins = seed_demo(db)
    resources = db.scalar(select(func.count(Resource.id)))
    assert resources >= 8
    counts = (db.scalar(select(func.count(User.id))), db.scalar(select(func.count(Membership.id))),
              db.scalar(select(func.count(CareLink.id))))
    seed_demo(db)
    assert db.scalar(select(func.count(Resource.id))) == resources
    assert (db.scalar(select(func.count(User.id))), db.scalar(select(func.count(Membership.id))),
            db.scalar(select(func.count(CareLink.id)))) == counts
    assert db.scalar(select(func.count(Site.id))) >= 12
    roles = set(db.scalars(select(Membership.role)))
    assert roles == {role.value for role in Role}
    assert counts[2] >= 12
    sites_with_parents = db.scalar(select(func.count(func.distinct(Membership.site_id)))
                                   .where(Membership.role == "parent"))
    assert sites_with_parents >= 3
    assert {role for role, _email, _where in logins} >= {"network leader", "moderator", "site lead", "clinician",
                                                           "parent", "patient (teen)"}
    from content.contact import Connection, ContactMessage
    from content.safeguarding import SafetyFlag, safeguarding_contacts

    connected = db.scalars(select(Connection).where(Connection.status == "accepted")).all()
    assert connected and db.scalar(select(func.count(ContactMessage.id))
                                   .where(ContactMessage.connection_id == connected[0].id)) >= 2
    assert db.scalar(select(func.count(SafetyFlag.id)).where(SafetyFlag.resolved_at.is_not(None))) >= 1
    assert safeguarding_contacts(db)


def test_readme_lists_every_access_rule():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_.]+)` \|", table, flags=re.MULTILINE))
    assert listed == set(access.RULES), f"README table and network/access.py differ: {listed ^ set(access.RULES)}"


def test_a_missing_service_fails_the_test_that_needs_it_never_skips_it():
    from tests.conftest import missing_service

    with pytest.raises(pytest.fail.Exception, match="Redis at x is not reachable.*make services"):
        missing_service("Redis at x is not reachable")
