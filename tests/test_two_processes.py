"""Two real server processes (gunicorn, gevent worker) on two ports share Redis and PostgreSQL; a
python-socketio client on each shows that chat, presence, polls and agenda changes cross between them.

This is the multi-process case DESIGN.md promises: broadcasts travel through Redis
(`message_queue=REDIS_URL`), while sequence numbers, presence, votes and replay live in the database, so
a participant sees the same room whichever process holds their socket. Clients force the websocket
transport, which keeps each one on a single process without a sticky load balancer.

Needs PostgreSQL and Redis on 127.0.0.1: a failure when either is down (`make test` starts them). It
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
from tests.conftest import missing_service
from tests.live_support import NAMESPACE, Person, Room, Seeded, ServerProcess

SECRET = "two-processes-test-secret"
#: a schema of this run's own: several test runs share this machine's database at once
SCHEMA = f"two_proc_test_{os.getpid()}"
WAIT = 10.0  # seconds any one expected message may take before the test says what it saw instead
#: this run's own Redis channel (several test runs and benchmarks share this machine's Redis), and a
#: quick heartbeat so that a killed process's presence goes within seconds
#: (TTL a few beats long: a server starved of CPU on this shared machine must not look dead)
SERVER_ENV = {"SOCKETIO_CHANNEL": SCHEMA, "LIVE_HEARTBEAT_SECONDS": "0.5", "LIVE_SERVER_TTL": "3"}


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
        missing_service(f"two-process live rooms need PostgreSQL and Redis: {problem}")
    schema = live_support.Schema(SCHEMA).create()
    try:
        seeded = live_support.seed(schema.url, rooms=6)
        a, b = live_support.start_servers(("A", "B"), schema.url, SECRET, extra_env=SERVER_ENV)
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
    # the retry is broadcast again, with the stored seq (its first broadcast may have died with its
    # process); it made no second event, so the next new message has the next seq
    nexts = [clinician.expect_event("chat", what="the next chat message")["seq"] for _ in range(3)]
    assert nexts == [first["seq"], first["seq"], after["seq"]] and after["seq"] == first["seq"] + 1


def test_presence_on_one_process_counts_people_on_the_other(cluster, participants):
    room, people = cluster.room(1), cluster.seeded
    parent = participants(people.parent, cluster.a, room)
    clinician = participants(people.clinician, cluster.b, room)
    parent.join()
    joined = clinician.join()
    assert joined["presence"]["counts"] == {"parent": 1, "clinician": 1} and joined["presence"]["total"] == 2

    both = parent.expect("presence", lambda p: p["total"] == 2, "presence of 2 after the clinician joined on B")
    # B's first broadcast to the room lists both as joined (each process diffs against what it sent)
    assert "people" not in both and people.clinician.id in [person["id"] for person in both["joined"]]
    assert both["counts"] == {"parent": 1, "clinician": 1}

    parent.close()  # the disconnect on A is broadcast to the room on B through Redis
    alone = clinician.expect("presence", lambda p: p["total"] == 1, "presence of 1 after the parent left A")
    assert alone["counts"] == {"clinician": 1} and alone["left"] == [{"id": people.parent.id, "role": "parent"}]
    whole = clinician.call("presence")
    assert [p["id"] for p in whole["people"]["clinician"]] == [people.clinician.id] and whole["total"] == 1


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


def _handshake(server: ServerProcess, origin: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_foreign_origin_cannot_open_a_socket(cluster):
    server, people = cluster.a, cluster.seeded
    assert _handshake(cluster.a, "http://evil.example") == 400
    assert _handshake(cluster.a, server.url) == 200  # the page's own origin
    cookie = {"Cookie": live_support.login_cookie(SECRET, people.parent.token)}
    # websocket-client sends one Origin header, its own (http://host:port) unless told another
    evil = socketio.Client(reconnection=False, websocket_extra_options={"origin": "http://evil.example"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        evil.connect(server.url, headers=cookie, transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=WAIT)
    same = socketio.Client(reconnection=False, websocket_extra_options={"origin": server.url})
    same.connect(server.url, headers=cookie, transports=["websocket"], namespaces=[NAMESPACE], wait_timeout=WAIT)
    try:
        assert same.connected
    finally:
        same.disconnect()


def test_an_expired_session_cannot_open_a_socket_on_a_real_server(cluster):
    stale = live_support.login_cookie(SECRET, cluster.seeded.parent.token, now=time.time() - 13 * 3600)
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(cluster.a.url, headers={"Cookie": stale}, transports=["websocket"], namespaces=[NAMESPACE],
                       wait_timeout=WAIT)


def test_the_servers_listen_on_the_configured_channel(cluster, participants):
    import redis

    participants(cluster.seeded.parent, cluster.a, cluster.room(5)).join()
    participants(cluster.seeded.clinician, cluster.b, cluster.room(5)).join()
    client = redis.Redis.from_url(live_support.REDIS_URL)
    try:
        [(channel, listeners)] = client.pubsub_numsub(SCHEMA)
    finally:
        client.close()
    assert channel.decode() == SCHEMA and listeners == 2


def test_a_killed_process_leaves_no_presence_behind(cluster, participants):
    """Process C is killed with SIGKILL (no goodbye for its sockets): when its heartbeat key expires, B
    removes C's presence rows and broadcasts that its people left."""
    room, people = cluster.room(4), cluster.seeded
    [c] = live_support.start_servers(("C",), cluster.database_url, SECRET, extra_env=SERVER_ENV)
    try:
        parent = participants(people.parent, c, room)
        clinician = participants(people.clinician, cluster.b, room)
        parent.join()
        assert clinician.join()["presence"]["total"] == 2
        c.kill9()
        killed = time.monotonic()
        gone = clinician.expect("presence", lambda p: any(x["id"] == people.parent.id for x in p["left"]),
                                "the parent on the killed process C leaving")
        took = time.monotonic() - killed
        assert gone["total"] == 1 and gone["counts"] == {"clinician": 1}
        ttl, beat = float(SERVER_ENV["LIVE_SERVER_TTL"]), float(SERVER_ENV["LIVE_HEARTBEAT_SECONDS"])
        assert took < ttl + 2 * beat + 3, f"presence of the killed process went only after {took:.1f} s"
        schema = live_support.Schema(SCHEMA)
        assert schema.scalar("SELECT count(*) FROM room_presence WHERE session_id = %s", room.session_id) == 1
    finally:
        c.stop()
        c.remove_log()
