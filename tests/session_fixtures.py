"""Builders for learning-session tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from network import sessions
from network.sessions import SessionFields


def make_session(db, world, *, starts_in=timedelta(minutes=-5), minutes=90, capacity=None, title="Learning session"):
    leader = world.user("network_leader", "network")
    start = (datetime.now(timezone.utc) + starts_in).replace(tzinfo=None, microsecond=0)
    session = sessions.create_session(db, leader, SessionFields(
        title=title, description="Co-taught by a parent and a clinician.", starts_local=start, minutes=minutes,
        timezone="UTC", capacity=capacity))
    sessions.add_module(db, leader, session.id, title="Welcome", minutes=10,
                        presenters=[(world.user("parent"), "parent"), (world.user("clinician"), "clinician")])
    sessions.add_module(db, leader, session.id, title="Previsit planning", minutes=30)
    return session


def register_all(db, world, session, roles=(("parent", "own"), ("clinician", "own"), ("patient", "other"))):
    for role, where in roles:
        sessions.register(db, world.user(role, where), session.id)


def live_client(app, login_as, role, where="own"):
    from app.extensions import socketio

    http = login_as(role, where)
    return socketio.test_client(app, namespace="/live", flask_test_client=http)
