"""Two real server processes (gunicorn, gevent worker) on two ports share Redis and PostgreSQL; a
python-socketio client on each shows that chat, presence, polls and agenda changes cross between them.

This is the multi-process case DESIGN.md promises: broadcasts travel through Redis
(`message_queue=REDIS_URL`), while sequence numbers, presence, votes and replay live in the database, so
a participant sees the same room whichever process holds their socket. Clients force the websocket
transport, which keeps each one on a single process without a sticky load balancer.

Needs PostgreSQL and Redis on 127.0.0.1: skipped when either is down, a failure under CI=true. It
builds its own schema (`two_proc_test_<pid>`) with the migrations and drops it afterwards; it never uses
the conftest `db`/`engine` fixtures, which rebuild tables in `public`.
"""
from __future__ import annotations

import os
import queue
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import socketio
from sqlalchemy import text

from tests import live_support
from tests.conftest import IN_CI
from tests.live_support import NAMESPACE, Person, Room, Seeded, ServerProcess

SECRET = "two-processes-test-secret"
#: a schema of this run's own: several test runs share this machine's database at once
SCHEMA = f"two_proc_test_{os.getpid()}"
WAIT = 10.0  # seconds any one expected message may take before the test says what it saw instead


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    seeded: Seeded
    database_url: str

    def room(self, n: int) -> Room:
        return self.seeded.rooms[n]


@pytest.fixture(scope="module")
def cluster():
    problem = live_support.services_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem} (CI=true: a missing service is a failure)", pytrace=False)
        pytest.skip(f"two-process live rooms need PostgreSQL and Redis: {problem}")
    schema = live_support.Schema(SCHEMA).create()
    try:
        seeded = live_support.seed(schema.url, rooms=4)
        a, b = live_support.start_servers(("A", "B"), schema.url, SECRET)
        try:
            yield Cluster(a, b, seeded, schema.url)
        finally:
            for server in (a, b):
                server.stop()
                server.remove_log()
    finally:
        schema.drop()


class Participant:
    """A person's python-socketio client on one server process. Everything the server sends lands in
    a queue per event name, and `expect` waits (at most WAIT seconds) for a matching message, so no
    assertion rests on a sleep."""

    def __init__(self, person: Person, server: ServerProcess, room: Room):
        self.person, self.server, self.room = person, server, room
        self.label = f"{person.role} on {server.name}"
        self.client = socketio.Client(reconnection=False)
        self.inbox: dict[str, queue.Queue] = {name: queue.Queue() for name in ("event", "presence")}
        for name, box in self.inbox.items():
            self.client.on(name, box.put, namespace=NAMESPACE)

    def connect(self) -> "Participant":
        self.client.connect(self.server.url, headers={"Cookie": live_support.login_cookie(SECRET, self.person.token)},
                            transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=WAIT)
        return self

    def call(self, event: str, **data) -> dict[str, Any]:
        """Send one event with the room's session id and return its acknowledgement."""
        return self.client.call(event, {"session_id": self.room.session_id, **data}, namespace=NAMESPACE,
                                timeout=WAIT)

    def act(self, event: str, **data) -> dict[str, Any]:
        """An event that must succeed: its ack is exactly {id, seq}."""
        ack = self.call(event, client_id=uuid.uuid4().hex, **data)
        assert set(ack) == {"id", "seq"}, f"{self.label}: {event} answered {ack}"
        return ack

    def join(self, **data) -> dict[str, Any]:
        ack = self.call("join", **data)
        assert "error" not in ack, f"{self.label}: join refused: {ack}"
        return ack

    def expect(self, name: str, matches: Callable[[dict], bool], what: str) -> dict:
        """The first message of this name that matches, skipping (and reporting, on failure) the others."""
        seen = []
        box = self.inbox[name]
        deadline = time.monotonic() + WAIT
        try:
            while True:
                message = box.get(timeout=max(0.0, deadline - time.monotonic()))
                if matches(message):
                    return message
                seen.append(message)
        except queue.Empty:
            raise AssertionError(f"{self.label}: no {what} within {WAIT:g} s; received instead: {seen}\n"
                                 f"server {self.server.name} log:\n{self.server.log_tail(15)}") from None

    def expect_event(self, kind: str, ack: dict | None = None, what: str = "") -> dict:
        """The next broadcast event of this kind (and, given an ack, with that id and seq)."""
        def matches(event):
            return event["kind"] == kind and (ack is None or (event["id"], event["seq"]) == (ack["id"], ack["seq"]))
        return self.expect("event", matches, what or f"{kind} event {ack or ''}")

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def participants():
    """connect(person, server, room) -> a connected client; every one is disconnected afterwards."""
    made: list[Participant] = []

    def connect(person: Person, server: ServerProcess, room: Room) -> Participant:
        made.append(Participant(person, server, room))
        return made[-1].connect()

    yield connect
    for participant in made:
        participant.close()


def test_chat_crosses_with_one_sequence_and_the_ack(cluster, participants):
    room, people = cluster.room(0), cluster.seeded
    parent = participants(people.parent, cluster.a, room)
    clinician = participants(people.clinician, cluster.b, room)
    parent.join()
    clinician.join()

    hello = parent.act("chat", body="Hello from process **A**")
    seen_on_b = clinician.expect_event("chat", hello)
    assert seen_on_b["body"] == "Hello from process **A**" and seen_on_b["author"]["role"] == "parent"
    assert "<strong>A</strong>" in seen_on_b["html"]
    parent.expect_event("chat", hello, "own message back through Redis")

    reply = clinician.act("chat", body="And hello from B")
    assert reply["seq"] == hello["seq"] + 1, "one rising sequence per room, whichever process commits"
    for person in (parent, clinician):
        person.expect_event("chat", reply)

    # The parent reconnects through the other process: it gets what followed its last seq, in order,
    # and resending an acknowledged client id there returns the stored event instead of a duplicate.
    again = participants(people.parent, cluster.b, room)
    rejoined = again.join(last_seq=hello["seq"] - 1)
    replayed = [(e["id"], e["seq"]) for e in rejoined["events"]]
    assert replayed == [(hello["id"], hello["seq"]), (reply["id"], reply["seq"])]
    first = parent.call("chat", client_id="retry-me", body="Said once")
    retried = again.call("chat", client_id="retry-me", body="Said once")
    assert retried == first and set(first) == {"id", "seq"}
    after = clinician.act("chat", body="after the retry")
    nexts = [clinician.expect_event("chat", what="the next chat message")["seq"] for _ in range(2)]
    assert nexts == [first["seq"], after["seq"]], "the retry was broadcast a second time"


def test_presence_on_one_process_counts_people_on_the_other(cluster, participants):
    room, people = cluster.room(1), cluster.seeded
    parent = participants(people.parent, cluster.a, room)
    clinician = participants(people.clinician, cluster.b, room)
    parent.join()
    joined = clinician.join()
    assert joined["presence"]["counts"] == {"parent": 1, "clinician": 1} and joined["presence"]["total"] == 2

    both = parent.expect("presence", lambda p: p["total"] == 2, "presence of 2 after the clinician joined on B")
    assert {person["id"] for group in both["people"].values() for person in group} == {people.parent.id,
                                                                                     people.clinician.id}

    parent.close()  # the disconnect on A is broadcast to the room on B through Redis
    alone = clinician.expect("presence", lambda p: p["total"] == 1, "presence of 1 after the parent left A")
    assert alone["counts"] == {"clinician": 1}


def test_polls_open_on_one_process_and_count_votes_from_both(cluster, participants):
    room, people = cluster.room(2), cluster.seeded
    facilitator = participants(people.facilitator, cluster.b, room)
    parent = participants(people.parent, cluster.a, room)
    clinician = participants(people.clinician, cluster.b, room)
    for person in (facilitator, parent, clinician):
        person.join()

    opened = facilitator.act("poll_open", question="Which visit plan format helps most?",
                             options=["One page", "Checklist"])
    poll = parent.expect_event("poll_open", opened)["data"]
    assert poll["options"] == ["One page", "Checklist"] and poll["counts"] == [0, 0]
    poll_id = poll["poll_id"]

    from_a = parent.act("vote", poll_id=poll_id, option=0)
    for person in (parent, clinician, facilitator):
        assert person.expect_event("vote", from_a)["data"]["counts"] == [1, 0], person.label
    from_b = clinician.act("vote", poll_id=poll_id, option=1)
    for person in (parent, clinician, facilitator):
        assert person.expect_event("vote", from_b)["data"]["counts"] == [1, 1], person.label

    twice = parent.call("vote", client_id="second-vote", poll_id=poll_id, option=1)
    assert twice["error"]["status"] == 409

    closed = facilitator.act("poll_close", poll_id=poll_id)
    for person in (parent, clinician):
        assert person.expect_event("poll_close", closed)["data"]["counts"] == [1, 1], person.label


def test_agenda_change_crosses_and_is_stored(cluster, participants):
    room, people = cluster.room(3), cluster.seeded
    facilitator = participants(people.facilitator, cluster.a, room)
    clinician = participants(people.clinician, cluster.b, room)
    parent = participants(people.parent, cluster.a, room)
    for person in (facilitator, clinician, parent):
        person.join()

    moved = facilitator.act("agenda", module_id=room.module_ids[1])
    for person in (clinician, parent):
        event = person.expect_event("agenda", moved)
        assert event["data"]["module_id"] == room.module_ids[1] and event["body"] == room.module_titles[1]

    from network.db import make_engine

    engine = make_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT current_module_id FROM learning_sessions WHERE id = :id"),
                                   {"id": room.session_id}).scalar_one()
    finally:
        engine.dispose()
    assert current == room.module_ids[1]
