"""The Socket.IO access matrix: every event of the live room (app/live.py `LiveNamespace`), for every role
and anonymous, at the own site and another site, in every standing the code distinguishes -> allowed, or
refused with which refusal.

One table, EVENTS (event -> who may), drives the cases and the README's socket table
(`test_readme_lists_every_socket_event`). An `on_*` handler without an entry, or an entry for a handler
that is gone, fails `test_every_socket_event_has_an_entry`.

Each case checks the real effect through a second client in the room (an observer, facilitator of every
session): an allowed event is stored and broadcast to the room; a refused one is answered with an error
ack and an "error" event, is broadcast to nobody, and leaves every table of the database as it was.

Sessions are network-wide (no site owns one): the code distinguishes the person's standing in the
session, not their site, so own and other site expect the same. The world is built once per module;
each case runs in a savepoint that is rolled back.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from network import sessions
from network.db import Base
from network.people import Membership, User
from network.sessions import Breakout, LearningSession, Poll, Presence, Registration, RoomEvent, RoomRestriction
from tests.conftest import _TestConfig, build_world, hashed_test_password, sign_in
from tests.matrix_core import ACTORS
from tests.session_fixtures import make_session

pytestmark = pytest.mark.matrix
NS = "/live"
SIGNED_IN = ACTORS[1:]
SITE_ROLES = ("patient", "parent", "clinician", "site_lead")
NO_SANCTION = ("network_leader",)  # a network leader can be neither muted nor removed (no such standing)


@dataclass(frozen=True)
class Refusal:
    status: int
    words: str = ""  # part of the English message that names this refusal

    def __str__(self):
        return f"{self.status}{' ' + self.words if self.words else ''}"


OK = "ok"
NO = Refusal(403)                       # the access rule says no
MUTED = Refusal(403, "muted you")       # check_room(write=True) on a muted participant
REMOVED = Refusal(403, "removed you")   # check_room on a removed participant
NOT_CONNECTED = "refused at connect"    # anonymous: the socket never opens

#: the person's standing in the session (a live one unless said otherwise)
STANDINGS = {
    "registered": "registered, room open",
    "waitlisted": "on the waitlist",
    "unregistered": "not registered",
    "facilitator": "a facilitator of the session (not registered)",
    "closed": "registered, the room not open yet (starts in 3 days)",
    "muted": "registered and muted by a facilitator",
    "removed": "registered and removed by a facilitator",
}


def every(outcome, **overrides) -> dict[str, Any]:
    return {**{actor: outcome for actor in SIGNED_IN}, **overrides}


def sanctioned(outcome) -> dict[str, Any]:
    """Muted or removed: a network leader can be neither (they facilitate every session), so no such case."""
    return {actor: outcome for actor in SIGNED_IN if actor not in NO_SANCTION}


@dataclass(frozen=True)
class Who:
    words: str                       # the README's words
    expect: dict[str, dict[str, Any]]  # standing -> actor -> outcome (or (own site, other site))


LEADER_ONLY = every(NO, network_leader=OK)

ROOM = Who("registered members while the room is open (muted too, to read along); facilitators and network "
           "leaders always; never someone removed", {
               "registered": every(OK), "waitlisted": LEADER_ONLY, "unregistered": LEADER_ONLY,
               "facilitator": every(OK), "closed": LEADER_ONLY,
               "muted": sanctioned(OK), "removed": sanctioned(REMOVED)})
SPEAK = Who("as `join`, and not muted", {**ROOM.expect, "muted": sanctioned(MUTED)})
FACILITATE = Who("the session's facilitators and network leaders", {
    "registered": LEADER_ONLY, "waitlisted": LEADER_ONLY, "unregistered": LEADER_ONLY,
    "facilitator": every(OK), "closed": LEADER_ONLY, "muted": sanctioned(NO), "removed": sanctioned(NO)})
OWN_CONNECTION = Who("every signed-in member (it only takes their own connection out of the room)",
                     {standing: sanctioned(OK) if standing in ("muted", "removed") else every(OK)
                      for standing in STANDINGS})
#: opening a socket does not depend on the session (one standing is enough)
CONNECT = Who("every signed-in member whose session is current; anonymous is refused", {"registered": every(OK)})


@dataclass(frozen=True)
class Event:
    who: Who
    payload: Callable[[Any], dict] | None = None  # the session's objects -> the event's data
    kind: str | None = None                       # the RoomEvent kind an allowed event stores
    state: Callable[[Any, Any, int], bool] | None = None  # (db, objects, actor id) -> the change happened


def _has(db, model, *where) -> bool:
    return db.scalar(select(model.id).where(*where)) is not None


def _msg(**data):
    return lambda o: {"client_id": "matrix-1", **{k: (v(o) if callable(v) else v) for k, v in data.items()}}


#: THE table: every `on_<event>` of LiveNamespace -> who may, what to send, and what an allowed one changes
EVENTS: dict[str, Event] = {
    "connect": Event(CONNECT),
    "disconnect": Event(OWN_CONNECTION),
    "join": Event(ROOM, lambda o: {}),
    "leave": Event(OWN_CONNECTION, lambda o: {}),
    "presence": Event(ROOM, lambda o: {}),
    "chat": Event(SPEAK, _msg(body="Matrix hello"), "chat"),
    "ask": Event(SPEAK, _msg(body="Matrix question?"), "question"),
    "upvote": Event(SPEAK, _msg(question_id=lambda o: o.question_id), "upvote",
                    lambda db, o, uid: _has(db, sessions.QuestionVote, sessions.QuestionVote.user_id == uid)),
    "vote": Event(SPEAK, _msg(poll_id=lambda o: o.poll_id, option=0), "vote",
                  lambda db, o, uid: _has(db, sessions.PollVote, sessions.PollVote.user_id == uid)),
    "hand": Event(SPEAK, _msg(raised=True), "hand"),
    "answered": Event(FACILITATE, _msg(question_id=lambda o: o.question_id), "answered"),
    "poll_open": Event(FACILITATE, _msg(question="Matrix poll?", options=["Yes", "No"]), "poll_open",
                       lambda db, o, uid: _has(db, Poll, Poll.question == "Matrix poll?", Poll.opened_by_id == uid)),
    "poll_close": Event(FACILITATE, _msg(poll_id=lambda o: o.poll_id), "poll_close",
                        lambda db, o, uid: not db.get(Poll, o.poll_id).is_open),
    "hand_lower": Event(FACILITATE, _msg(user_id=lambda o: o.target_id), "hand_lower"),
    "agenda": Event(FACILITATE, _msg(module_id=lambda o: o.module_id), "agenda",
                    lambda db, o, uid: db.get(LearningSession, o.session_id).current_module_id == o.module_id),
    "pin": Event(FACILITATE, _msg(message_id=lambda o: o.message_id), "pin"),
    "remove_message": Event(FACILITATE, _msg(message_id=lambda o: o.message_id), "remove"),
    "restrict": Event(FACILITATE, _msg(user_id=lambda o: o.target_id, kind="muted"), "mute",
                      lambda db, o, uid: _has(db, RoomRestriction, RoomRestriction.user_id == o.target_id,
                                              RoomRestriction.session_id == o.session_id)),
    "breakout_open": Event(FACILITATE, _msg(name="Matrix breakout", roles=[]), "breakout_open",
                           lambda db, o, uid: _has(db, Breakout, Breakout.name == "Matrix breakout")),
    "breakout_close": Event(FACILITATE, _msg(breakout_id=lambda o: o.breakout_id), "breakout_close",
                            lambda db, o, uid: not db.get(Breakout, o.breakout_id).is_open),
}


# --- the table is complete ------------------------------------------------------------------------------

def test_every_socket_event_has_an_entry():
    from app.live import LiveNamespace

    handlers = {name[3:] for name, _ in inspect.getmembers(LiveNamespace, inspect.isfunction)
                if name.startswith("on_")}
    assert handlers - set(EVENTS) == set(), "socket events without a socket-matrix entry"
    assert set(EVENTS) - handlers == set(), "socket-matrix entries for events that no longer exist"


def test_every_entry_decides_every_actor_and_standing():
    for name, event in EVENTS.items():
        for standing in STANDINGS if event.who is not CONNECT else ("registered",):
            decided = set(event.who.expect[standing])
            expected = set(SIGNED_IN) - (set(NO_SANCTION) if standing in ("muted", "removed") else set())
            assert expected <= decided, f"{name} / {standing}: no outcome for {expected - decided}"


def test_readme_lists_every_socket_event():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \(socket\) \| (.+?) \|$", readme, re.M))
    assert rows == {name: event.who.words for name, event in EVENTS.items()}, "README socket table and EVENTS differ"


# --- the world, once per module -------------------------------------------------------------------------

def _person(db, email, name, role, site_id):
    user = User(email=email, full_name=name, password_hash=hashed_test_password(), profile_roles=[role],
                birth_year=1980)
    db.add(user)
    db.flush()
    db.add(Membership(user_id=user.id, site_id=site_id, role=role))
    db.commit()
    return user


def _session_for(db, world, standing, creator, observer, target):
    """One session per standing, with what the events act on: a question, an open poll, a chat message,
    an open breakout (all by the observer) and a participant to restrict (the target). Another network
    leader creates it (and so facilitates it): the matrix's network leader leads, but does not facilitate."""
    leader = world.user("network_leader", "network")
    starts = timedelta(days=3) if standing == "closed" else timedelta(minutes=-5)
    creating = SimpleNamespace(user=lambda role, where="own": creator if role == "network_leader"
                               else world.user(role, where))
    session = make_session(db, creating, starts_in=starts, title=f"Matrix {standing}")
    sessions.add_facilitator(db, creator, session.id, observer)
    sessions.register(db, target, session.id)
    people = [u for (role, _where), u in world.people.items()]
    for person in people:
        if standing == "facilitator":
            sessions.add_facilitator(db, creator, session.id, person)
        elif standing != "unregistered":
            sessions.register(db, person, session.id)
    if standing == "waitlisted":
        for row in db.scalars(select(Registration).where(Registration.session_id == session.id,
                                                         Registration.user_id != target.id)):
            row.status = sessions.RegistrationStatus.WAITLISTED.value
        db.commit()
    if standing in ("muted", "removed"):
        for i, person in enumerate(people):
            if person.id != leader.id:
                sessions.restrict(db, creator, session, user_id=person.id, kind=standing, client_id=f"{standing}-{i}")
    db.refresh(session)
    question, _ = sessions.ask(db, observer, session, body="Observer's question", client_id=f"{standing}-q")
    poll, _ = sessions.open_poll(db, observer, session, question="Observer's poll", options=["A", "B"],
                                 client_id=f"{standing}-p")
    message, _ = sessions.chat(db, observer, session, body="Observer's message", client_id=f"{standing}-c")
    breakout, _ = sessions.open_breakout(db, observer, session, name="Observer's breakout", roles=[],
                                         client_id=f"{standing}-b")
    return SimpleNamespace(session_id=session.id, question_id=question.id, poll_id=poll.data["poll_id"],
                           message_id=message.id, breakout_id=breakout.data["breakout_id"],
                           module_id=session.modules[1].id, target_id=target.id)


@pytest.fixture(scope="module")
def matrix(engine):
    from app import create_app

    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    db = factory()
    world = build_world(db)
    creator = _person(db, "creator@example.org", "Cora Creator", "network_leader", None)
    observer = _person(db, "observer@example.org", "Olive Observer", "clinician", world.own.id)
    target = _person(db, "target@example.org", "Tara Target", "parent", world.other.id)
    objects = {standing: _session_for(db, world, standing, creator, observer, target) for standing in STANDINGS}
    db.close()
    app = create_app(_TestConfig)
    database = app.extensions["carecommons.db"]
    database.engine.dispose()
    database.session_factory = factory
    yield SimpleNamespace(app=app, world=world, creator=creator, observer=observer, objects=objects, connection=connection,
                          factory=factory)
    outer.rollback()
    connection.close()


@pytest.fixture
def live(matrix):
    """Per case: a savepoint rolled back afterwards, fresh rate limits and presence memory, and sockets
    that are all closed before the rollback."""
    from app import live as live_module
    from app.extensions import socketio

    savepoint = matrix.connection.begin_nested()
    for limiter in matrix.app.extensions["carecommons.live_limits"].values():
        limiter._hits.clear()
    live_module._presence_told.clear()
    live_module._presence_due.clear()
    db = matrix.factory()
    clients = []

    def connect(user=None):
        http = matrix.app.test_client()
        if user is not None:
            sign_in(http, user)
        client = socketio.test_client(matrix.app, namespace=NS, flask_test_client=http)
        clients.append(client)
        return client

    yield SimpleNamespace(db=db, connect=connect, **vars(matrix))
    for client in clients:
        if client.is_connected(NS):
            client.disconnect(NS)
    db.close()
    savepoint.rollback()


def test_each_standing_is_what_it_says(live):
    """The cases mean something only if each session puts every actor in its standing."""
    db = live.db
    for standing, objects in live.objects.items():
        session = db.get(LearningSession, objects.session_id)
        assert session.room_is_open() == (standing != "closed")
        assert live.creator.id in session.facilitator_ids and live.observer.id in session.facilitator_ids
        for (_role, _where), person in live.world.people.items():
            row = db.scalar(select(Registration.status).where(Registration.session_id == session.id,
                                                              Registration.user_id == person.id))
            registered = standing in ("registered", "closed", "muted", "removed")
            assert row == ("registered" if registered else "waitlisted" if standing == "waitlisted" else None)
            assert (person.id in session.facilitator_ids) == (standing == "facilitator")
            leader = person.id == live.world.user("network_leader", "network").id
            expected = standing if standing in ("muted", "removed") and not leader else None
            assert sessions.restriction(db, session.id, person.id) == expected


# --- the cases ------------------------------------------------------------------------------------------

def _cases():
    for name, event in EVENTS.items():
        yield pytest.param(name, "anonymous", "-", "-", NOT_CONNECTED, id=f"{name} anonymous")
        for actor in SIGNED_IN:
            for where in (("own", "other") if actor in SITE_ROLES else ("network",)):
                for standing, table in event.who.expect.items():
                    if actor not in table:
                        continue
                    outcome = table[actor]
                    if isinstance(outcome, tuple):
                        outcome = outcome[0 if where == "own" else 1]
                    yield pytest.param(name, actor, where, standing, outcome,
                                       id=f"{name} {actor} {where} {standing}")


def _snapshot(db) -> dict[str, list]:
    """Every row of every table (the device table's last-seen moment moves with every socket event)."""
    db.expire_all()
    state = {}
    for table in Base.metadata.sorted_tables:
        rows = db.execute(table.select()).all()
        if table.name == "device_sessions":
            rows = [tuple(v for k, v in row._mapping.items() if k != "last_seen_at") for row in rows]
        state[table.name] = sorted(map(repr, rows))
    return state


def _received(client, *names):
    return [r["args"][0] for r in client.get_received(NS) if r["name"] in names]


def _ack(client, name, data):
    return client.emit(name, data, namespace=NS, callback=True)


@pytest.mark.parametrize("name,actor,where,standing,outcome", list(_cases()))
def test_socket_event(live, name, actor, where, standing, outcome):
    event = EVENTS[name]
    db = live.db
    if actor == "anonymous":
        objects = live.objects["registered"]
        watcher = live.connect(live.observer)
        assert "error" not in _ack(watcher, "join", {"session_id": objects.session_id})
        watcher.get_received(NS)
        before = _snapshot(db)
        anonymous = live.connect()
        assert not anonymous.is_connected(NS)
        if event.payload is not None:
            with pytest.raises(RuntimeError, match="not connected"):
                anonymous.emit(name, {"session_id": objects.session_id, **event.payload(objects)}, namespace=NS)
        assert _received(watcher, "event", "presence") == [] and _snapshot(db) == before
        return

    objects = live.objects[standing]
    person = live.world.user(actor, where)
    watcher = live.connect(live.observer)
    assert "error" not in _ack(watcher, "join", {"session_id": objects.session_id})
    client = live.connect(person)
    assert client.is_connected(NS), f"{actor} could not connect"  # every signed-in member may connect
    if name == "connect":
        assert outcome == OK
        return
    joined = False
    if name != "join":
        joined = "error" not in _ack(client, "join", {"session_id": objects.session_id})
    watcher.get_received(NS)
    client.get_received(NS)
    before = _snapshot(db)
    here = select(Presence.sid).where(Presence.user_id == person.id, Presence.session_id == objects.session_id)

    if name == "disconnect":
        client.disconnect(NS)
        assert db.scalar(here) is None
        left = [p for p in _received(watcher, "presence") for gone in p["left"] if gone["id"] == person.id]
        assert bool(left) == joined
        return
    data = {"session_id": objects.session_id, **event.payload(objects)}
    answer = _ack(client, name, data)

    if isinstance(outcome, Refusal):
        assert "error" in answer, f"{name} allowed to {actor} ({standing}): {answer}"
        assert answer["error"]["status"] == outcome.status, answer
        assert outcome.words in answer["error"]["message"], answer
        assert [e["error"] for e in _received(client, "error")] == [answer["error"]]
        assert _received(watcher, "event", "presence") == [], "a refused event reached the room"
        assert _snapshot(db) == before, "a refused event changed the database"
        return

    assert outcome == OK and "error" not in answer, f"{name} refused to {actor} ({standing}): {answer}"
    db.expire_all()
    if name == "join":
        assert db.scalar(here) is not None
        assert any(p["id"] == person.id for c in _received(watcher, "presence") for p in c["joined"])
    elif name == "leave":
        assert db.scalar(here) is None
        left = [p for c in _received(watcher, "presence") for p in c["left"] if p["id"] == person.id]
        assert bool(left) == joined
        if not joined:
            assert _snapshot(db) == before
    elif name == "presence":
        assert answer["room"] == "main" and person.id in {p["id"] for people in answer["people"].values()
                                                          for p in people}
        assert _snapshot(db) == before  # a read
    else:
        stored = db.get(RoomEvent, answer["id"])
        assert stored.kind == event.kind and stored.author_id == person.id and stored.session_id == objects.session_id
        seen = [e for e in _received(watcher, "event") if e["id"] == answer["id"]]
        assert [(e["kind"], e["seq"]) for e in seen] == [(event.kind, answer["seq"])]
        if event.state is not None:
            assert event.state(db, objects, person.id)


# --- defects found by the matrix ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["muted", "removed"])
def test_a_facilitator_cannot_mute_or_remove_a_network_leader(live, kind):
    """Network leaders facilitate every session, and facilitators cannot be muted or removed: a session's
    facilitator once could cut a network leader off the room for good ("unmute" lifts only a mute)."""
    objects = live.objects["registered"]
    leader = live.world.user("network_leader", "network")
    facilitator = live.connect(live.observer)
    assert "error" not in _ack(facilitator, "join", {"session_id": objects.session_id})
    before = _snapshot(live.db)
    answer = _ack(facilitator, "restrict", {"session_id": objects.session_id, "client_id": "cut", "user_id": leader.id,
                                            "kind": kind})
    assert answer["error"]["status"] == 422 and "user_id" in answer["error"]["fields"]
    assert _snapshot(live.db) == before
    assert "error" not in _ack(live.connect(leader), "join", {"session_id": objects.session_id})


@pytest.mark.parametrize("user_id", [None, "someone", [1]])
def test_lowering_a_hand_of_nobody_is_a_bad_event_not_a_crash(live, user_id):
    objects = live.objects["registered"]
    facilitator = live.connect(live.observer)
    assert "error" not in _ack(facilitator, "join", {"session_id": objects.session_id})
    before = _snapshot(live.db)
    answer = _ack(facilitator, "hand_lower", {"session_id": objects.session_id, "client_id": "low", "user_id": user_id})
    assert answer["error"]["status"] == 422 and "user_id" in answer["error"]["fields"]
    assert _snapshot(live.db) == before
