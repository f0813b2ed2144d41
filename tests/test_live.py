"""The live room over Socket.IO (test client): every event and its refusals; persistence before
broadcast; retries are not duplicates; reconnecting clients get what they missed, in order."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from network import sessions
from network.sessions import RoomEvent
from tests.session_fixtures import live_client, make_session, register_all

NS = "/live"


@pytest.fixture
def room(db, world):
    session = make_session(db, world)
    register_all(db, world, session)
    return session


def events(client, kind=None):
    received = [r["args"][0] for r in client.get_received(NS) if r["name"] == "event"]
    return [e for e in received if kind is None or e["kind"] == kind]


def join(client, session, **extra):
    return client.emit("join", {"session_id": session.id, **extra}, namespace=NS, callback=True)


def test_anonymous_sockets_are_refused(app):
    from app.extensions import socketio

    client = socketio.test_client(app, namespace=NS, flask_test_client=app.test_client())
    assert not client.is_connected(NS)


def test_join_chat_ack_and_broadcast(app, db, world, login_as, room):
    parent, clinician = live_client(app, login_as, "parent"), live_client(app, login_as, "clinician")
    joined = join(parent, room)
    assert joined["room"] == "main" and joined["presence"]["counts"]["parent"] == 1
    join(clinician, room)
    parent.get_received(NS)
    ack = parent.emit("chat", {"session_id": room.id, "client_id": "c-1", "body": "Hello **all**"},
                      namespace=NS, callback=True)
    assert set(ack) == {"id", "seq"}
    stored = db.get(RoomEvent, ack["id"])
    assert stored.body == "Hello **all**" and stored.acting_role == "parent"
    [seen] = events(clinician, "chat")
    assert seen["seq"] == ack["seq"] and seen["author"]["role"] == "parent" and "<strong>all</strong>" in seen["html"]


def test_a_retry_is_not_a_duplicate(app, db, world, login_as, room):
    parent = live_client(app, login_as, "parent")
    join(parent, room)
    first = parent.emit("chat", {"session_id": room.id, "client_id": "same", "body": "once"}, namespace=NS, callback=True)
    again = parent.emit("chat", {"session_id": room.id, "client_id": "same", "body": "once"}, namespace=NS, callback=True)
    assert first == again
    assert db.scalar(select(func.count(RoomEvent.id)).where(RoomEvent.kind == "chat")) == 1


def test_reconnect_replays_what_was_missed_in_order(app, db, world, login_as, room):
    parent, clinician = live_client(app, login_as, "parent"), live_client(app, login_as, "clinician")
    join(parent, room)
    last = join(clinician, room)["seq"]
    clinician.disconnect(NS)
    for i in range(5):
        parent.emit("chat", {"session_id": room.id, "client_id": f"m{i}", "body": f"message {i}"}, namespace=NS,
                    callback=True)
    back = live_client(app, login_as, "clinician")
    replay = join(back, room, last_seq=last)
    assert [e["body"] for e in replay["events"] if e["kind"] == "chat"] == [f"message {i}" for i in range(5)]
    seqs = [e["seq"] for e in replay["events"]]
    assert seqs == sorted(seqs) and seqs[0] == last + 1


def test_joining_sends_the_rooms_lines_without_rendering_them_again(app, db, world, login_as, room, monkeypatch):
    """Found by the load test: each join rendered up to 500 chat lines again (half of its CPU, while the
    process served no one else). A line is rendered once, when it is first sent."""
    from content import markdown

    markdown._render_line.cache_clear()
    parent = live_client(app, login_as, "parent")
    join(parent, room)
    for i in range(3):
        parent.emit("chat", {"session_id": room.id, "client_id": f"r{i}", "body": f"line **{i}**"}, namespace=NS,
                    callback=True)
    converted = []
    real = markdown._convert
    monkeypatch.setattr(markdown, "_convert", lambda md, text, prefix: converted.append(text) or real(md, text, prefix))
    first = join(live_client(app, login_as, "clinician"), room)
    again = join(live_client(app, login_as, "patient", "other"), room)
    lines = [e["html"] for e in first["events"] if e["kind"] == "chat"]
    assert lines == [f"line <strong>{i}</strong>" for i in range(3)]
    assert [e["html"] for e in again["events"] if e["kind"] == "chat"] == lines
    assert converted == []


def test_questions_anonymous_upvotes_and_answers(app, db, world, login_as, room):
    parent, clinician, leader = (live_client(app, login_as, r) for r in ("parent", "clinician", "network_leader"))
    for client in (parent, clinician, leader):
        join(client, room)
    asked = parent.emit("ask", {"session_id": room.id, "client_id": "q1", "body": "Can we share plans?",
                                "anonymous": True}, namespace=NS, callback=True)
    [question] = events(clinician, "question")
    assert question["author"] is None and question["role"] == ""
    clinician.emit("upvote", {"session_id": room.id, "client_id": "u1", "question_id": asked["id"]}, namespace=NS,
                   callback=True)
    twice = clinician.emit("upvote", {"session_id": room.id, "client_id": "u2", "question_id": asked["id"]},
                           namespace=NS, callback=True)
    assert twice["error"]["status"] == 409
    refused = parent.emit("answered", {"session_id": room.id, "client_id": "a0", "question_id": asked["id"]},
                          namespace=NS, callback=True)
    assert refused["error"]["status"] == 403
    assert "seq" in leader.emit("answered", {"session_id": room.id, "client_id": "a1", "question_id": asked["id"]},
                                namespace=NS, callback=True)


def test_polls_one_vote_per_person_live_results(app, db, world, login_as, room):
    leader, parent, clinician = (live_client(app, login_as, r) for r in ("network_leader", "parent", "clinician"))
    for client in (leader, parent, clinician):
        join(client, room)
    assert parent.emit("poll_open", {"session_id": room.id, "client_id": "p0", "question": "?", "options": ["a", "b"]},
                       namespace=NS, callback=True)["error"]["status"] == 403
    opened = leader.emit("poll_open", {"session_id": room.id, "client_id": "p1", "question": "Useful?",
                                       "options": ["Yes", "No"]}, namespace=NS, callback=True)
    poll_id = db.get(RoomEvent, opened["id"]).data["poll_id"]
    parent.emit("vote", {"session_id": room.id, "client_id": "v1", "poll_id": poll_id, "option": 0}, namespace=NS,
                callback=True)
    second = parent.emit("vote", {"session_id": room.id, "client_id": "v2", "poll_id": poll_id, "option": 1},
                         namespace=NS, callback=True)
    assert second["error"]["status"] == 409
    bad = clinician.emit("vote", {"session_id": room.id, "client_id": "v3", "poll_id": poll_id, "option": 7},
                         namespace=NS, callback=True)
    assert "option" in bad["error"]["fields"]
    clinician.emit("vote", {"session_id": room.id, "client_id": "v4", "poll_id": poll_id, "option": 1}, namespace=NS,
                   callback=True)
    assert events(leader, "vote")[-1]["data"]["counts"] == [1, 1]
    leader.emit("poll_close", {"session_id": room.id, "client_id": "pc", "poll_id": poll_id}, namespace=NS,
                callback=True)
    late = clinician.emit("vote", {"session_id": room.id, "client_id": "v5", "poll_id": poll_id, "option": 0},
                          namespace=NS, callback=True)
    assert late["error"]["status"] == 409


def test_agenda_hands_pin_and_remove(app, db, world, login_as, room):
    leader, parent = live_client(app, login_as, "network_leader"), live_client(app, login_as, "parent")
    join(leader, room)
    join(parent, room)
    module = room.modules[1]
    assert parent.emit("agenda", {"session_id": room.id, "client_id": "g0", "module_id": module.id},
                       namespace=NS, callback=True)["error"]["status"] == 403
    leader.emit("agenda", {"session_id": room.id, "client_id": "g1", "module_id": module.id}, namespace=NS, callback=True)
    assert events(parent, "agenda")[-1]["data"]["module_id"] == module.id
    db.refresh(room)
    assert room.current_module_id == module.id
    parent.emit("hand", {"session_id": room.id, "client_id": "h1", "raised": True}, namespace=NS, callback=True)
    assert sessions.hands_up(db, room) == [world.user("parent").id]
    message = parent.emit("chat", {"session_id": room.id, "client_id": "c1", "body": "off-topic"}, namespace=NS,
                          callback=True)
    leader.emit("pin", {"session_id": room.id, "client_id": "pin1", "message_id": message["id"]}, namespace=NS,
                callback=True)
    leader.emit("remove_message", {"session_id": room.id, "client_id": "rm1", "message_id": message["id"]},
                namespace=NS, callback=True)
    transcript = sessions.transcript(db, world.user("parent"), room)
    assert all(e.id != message["id"] for e in transcript.chat)


def test_mute_and_remove_cut_a_participant_off(app, db, world, login_as, room):
    leader, clinician = live_client(app, login_as, "network_leader"), live_client(app, login_as, "clinician")
    join(leader, room)
    join(clinician, room)
    clinician_id = world.user("clinician").id
    leader.emit("restrict", {"session_id": room.id, "client_id": "m1", "user_id": clinician_id, "kind": "muted"},
                namespace=NS, callback=True)
    muted = clinician.emit("chat", {"session_id": room.id, "client_id": "x", "body": "hi"}, namespace=NS, callback=True)
    assert muted["error"]["status"] == 403 and "muted" in muted["error"]["message"]
    leader.emit("restrict", {"session_id": room.id, "client_id": "m2", "user_id": clinician_id, "kind": "removed"},
                namespace=NS, callback=True)
    assert not clinician.is_connected(NS)
    again = live_client(app, login_as, "clinician")
    refused = join(again, room)
    assert refused["error"]["status"] == 403


def test_role_breakouts_refuse_others_even_when_crafted(app, db, world, login_as, room):
    leader, parent, clinician = (live_client(app, login_as, r) for r in ("network_leader", "parent", "clinician"))
    for client in (leader, parent, clinician):
        join(client, room)
    opened = leader.emit("breakout_open", {"session_id": room.id, "client_id": "b1", "name": "Families",
                                           "roles": ["patient", "parent"]}, namespace=NS, callback=True)
    breakout_room = db.get(RoomEvent, opened["id"]).data["room"]
    assert join(parent, room, room=breakout_room)["room"] == breakout_room
    crafted = join(clinician, room, room=breakout_room)
    assert crafted["error"]["status"] == 403
    sneaky = clinician.emit("chat", {"session_id": room.id, "room": breakout_room, "client_id": "s",
                                     "body": "let me in"}, namespace=NS, callback=True)
    assert sneaky["error"]["status"] == 403
    parent.emit("chat", {"session_id": room.id, "room": breakout_room, "client_id": "f1", "body": "just us"},
                namespace=NS, callback=True)
    assert all(e["body"] != "just us" for e in events(clinician))


def test_not_registered_or_closed_room_is_refused(app, db, world, login_as):
    later = make_session(db, world, starts_in=timedelta(days=3), title="Later")
    sessions.register(db, world.user("parent"), later.id)
    parent = live_client(app, login_as, "parent")
    assert join(parent, later)["error"]["status"] == 403  # the room is not open yet
    now = make_session(db, world, title="Now")
    stranger = live_client(app, login_as, "site_lead")
    assert join(stranger, now)["error"]["status"] == 403  # not registered


@pytest.mark.parametrize("payload,field", [
    ({"client_id": "ok", "body": ""}, "body"), ({"client_id": "ok", "body": "x" * 2001}, "body"),
    ({"client_id": "", "body": "hi"}, "client_id"), ({"client_id": "bad id!", "body": "hi"}, "client_id"),
    ({"client_id": "ok", "body": 42}, "body"),
])
def test_bad_events_get_an_error_and_change_nothing(app, db, world, login_as, room, payload, field):
    parent = live_client(app, login_as, "parent")
    join(parent, room)
    before = db.scalar(select(func.count(RoomEvent.id)))
    answer = parent.emit("chat", {"session_id": room.id, **payload}, namespace=NS, callback=True)
    assert field in answer["error"]["fields"]
    assert any(r["name"] == "error" for r in parent.get_received(NS))
    assert db.scalar(select(func.count(RoomEvent.id))) == before


def test_rate_limit_per_person(app, db, world, login_as, room):
    parent = live_client(app, login_as, "parent")
    join(parent, room)
    answers = [parent.emit("chat", {"session_id": room.id, "client_id": f"r{i}", "body": "spam"}, namespace=NS,
                           callback=True) for i in range(12)]
    assert any("rate" in a.get("error", {}).get("fields", {}) for a in answers)


def test_logout_closes_the_socket(app, db, world, login_as, room):
    from app.extensions import socketio

    http = login_as("parent")
    client = socketio.test_client(app, namespace=NS, flask_test_client=http)
    join(client, room)
    http.post("/logout")
    assert not client.is_connected(NS)


def test_presence_is_coalesced_but_the_last_change_arrives(app, db, world, login_as, room):
    """Joins inside PRESENCE_INTERVAL are not each broadcast to the room; one trailing broadcast
    carries the state after the last of them."""
    import time

    app.config["PRESENCE_INTERVAL"] = 2.0
    parent = live_client(app, login_as, "parent")
    others = [live_client(app, login_as, role, where) for role, where in (("clinician", "own"), ("patient", "other"))]
    join(parent, room)
    parent.get_received(NS)
    for other in others:
        assert join(other, room)["room"] == "main"

    def presences():
        return [r["args"][0] for r in parent.get_received(NS) if r["name"] == "presence"]

    assert presences() == []  # the two joins came inside the interval: nothing yet
    time.sleep(2.5)
    [latest] = presences()
    assert latest["counts"].get("clinician") == 1 and latest["counts"].get("patient") == 1
    assert latest["total"] == 3


# --- review fixes: Origin, session lifetimes, retries, presence protocol, stale presence -------------

def test_a_foreign_origin_is_refused_at_the_handshake(app):
    """engine.io checks the Origin of the handshake (python-engineio skips the check when given [])."""
    http = app.test_client()
    evil = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://evil.example"})
    assert evil.status_code == 400 and b"Not an accepted origin" in evil.data
    same = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://localhost"})
    assert same.status_code == 200 and same.data.startswith(b"0{")


@pytest.mark.parametrize("setting,allowed,refused", [
    ("https://care.example, https://room.example/", "https://room.example", "http://localhost"),
    ("", "http://localhost", "https://care.example"),
])
def test_allowed_origins_are_a_setting(setting, allowed, refused):
    import config
    from app import create_app

    assert config._origins(setting) in (None, ["https://care.example", "https://room.example"])

    class OriginConfig(config.TestConfig):
        SOCKETIO_ALLOWED_ORIGINS = config._origins(setting)

    http = create_app(OriginConfig).test_client()
    assert http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": allowed}).status_code == 200
    assert http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": refused}).status_code == 400


@pytest.mark.parametrize("key,age", [("login_at", 13 * 3600), ("seen_at", 61 * 60)])
def test_an_expired_session_cannot_open_a_socket(app, login_as, key, age):
    import time

    from app.extensions import socketio

    http = login_as("parent")
    with http.session_transaction() as cookie:
        cookie[key] = time.time() - age
    client = socketio.test_client(app, namespace=NS, flask_test_client=http)
    assert not client.is_connected(NS)


def test_a_socket_is_cut_off_at_its_first_event_after_the_session_expires(app, db, login_as, room):
    parent = live_client(app, login_as, "parent")
    assert "error" not in join(parent, room)
    app.config["SESSION_ABSOLUTE_HOURS"] = 0  # the session's absolute lifetime has now passed
    before = db.scalar(select(func.count(RoomEvent.id)))
    answer = parent.emit("chat", {"session_id": room.id, "client_id": "late", "body": "still here?"}, namespace=NS,
                         callback=True)
    assert not parent.is_connected(NS)
    assert answer is None or answer["error"]["status"] == 401
    assert db.scalar(select(func.count(RoomEvent.id))) == before


def test_a_retry_is_broadcast_again_with_the_same_seq(app, db, world, login_as, room):
    """The first broadcast may have died with the process that committed the event: a retry sends the
    stored event again (clients drop a seq they hold)."""
    parent, clinician = live_client(app, login_as, "parent"), live_client(app, login_as, "clinician")
    join(parent, room)
    join(clinician, room)
    clinician.get_received(NS)
    first = parent.emit("chat", {"session_id": room.id, "client_id": "again", "body": "once"}, namespace=NS,
                        callback=True)
    retry = parent.emit("chat", {"session_id": room.id, "client_id": "again", "body": "once"}, namespace=NS,
                        callback=True)
    assert retry == first
    assert [(e["id"], e["seq"]) for e in events(clinician, "chat")] == [(first["id"], first["seq"])] * 2
    assert db.scalar(select(func.count(RoomEvent.id)).where(RoomEvent.kind == "chat")) == 1


def presences(client):
    return [r["args"][0] for r in client.get_received(NS) if r["name"] == "presence"]


def test_presence_broadcasts_counts_and_changes_the_list_comes_on_request(app, db, world, login_as, room):
    parent, clinician = live_client(app, login_as, "parent"), live_client(app, login_as, "clinician")
    joined = join(parent, room)
    assert [p["id"] for p in joined["presence"]["people"]["parent"]] == [world.user("parent").id]
    parent.get_received(NS)
    join(clinician, room)
    [change] = presences(parent)
    clinician_id = world.user("clinician").id
    assert "people" not in change
    assert change["counts"] == {"parent": 1, "clinician": 1} and change["total"] == 2
    assert [(p["id"], p["role"]) for p in change["joined"]] == [(clinician_id, "clinician")] and change["left"] == []

    clinician.disconnect(NS)
    [gone] = presences(parent)
    assert gone["left"] == [{"id": clinician_id, "role": "clinician"}] and gone["joined"] == []
    assert gone["counts"] == {"parent": 1} and gone["total"] == 1

    whole = parent.emit("presence", {"session_id": room.id}, namespace=NS, callback=True)
    assert whole["room"] == "main" and whole["total"] == 1
    assert [p["id"] for p in whole["people"]["parent"]] == [world.user("parent").id]


def test_the_presence_list_is_refused_to_people_outside_the_room(app, db, world, login_as, room):
    leader, clinician = live_client(app, login_as, "network_leader"), live_client(app, login_as, "clinician")
    join(leader, room)
    stranger = live_client(app, login_as, "site_lead")  # not registered
    assert stranger.emit("presence", {"session_id": room.id}, namespace=NS, callback=True)["error"]["status"] == 403
    opened = leader.emit("breakout_open", {"session_id": room.id, "client_id": "b1", "name": "Families",
                                           "roles": ["patient", "parent"]}, namespace=NS, callback=True)
    breakout_room = db.get(RoomEvent, opened["id"]).data["room"]
    crafted = clinician.emit("presence", {"session_id": room.id, "room": breakout_room}, namespace=NS, callback=True)
    assert crafted["error"]["status"] == 403


def test_without_redis_the_first_connection_clears_rows_other_processes_left(app, db, world, login_as, room):
    """One process without Redis is the only server: presence rows of any other server id were left by
    a process that stopped without saying goodbye for its sockets."""
    from network.sessions import Presence

    db.add(Presence(sid="ghost", session_id=room.id, room_key=sessions.room_key(room.id), acting_role="clinician",
                    user_id=world.user("clinician").id, server_id="crashed-host:4242:deadbeef"))
    db.commit()
    parent = live_client(app, login_as, "parent")
    joined = join(parent, room)
    assert joined["presence"]["total"] == 1 and "clinician" not in joined["presence"]["counts"]
    [row] = db.scalars(select(Presence)).all()
    assert row.user_id == world.user("parent").id and row.server_id and row.server_id != "crashed-host:4242:deadbeef"


def test_a_sweep_says_who_left_even_when_this_process_never_announced_them():
    """The people a dead process held were announced by that process only; the sweeping process still
    names them in `left` (unless they are here through another connection)."""
    from app import live

    key = (987654, "main", 1)
    live._presence_told.pop(key, None)
    live._told_were_here(key, [(5, "parent"), (6, "clinician")])
    full = {"room": "main", "counts": {"clinician": 1}, "total": 1,
            "people": {"clinician": [{"id": 6, "name": "Cleo Clinician"}]}}
    change = live.presence_change(key, full)
    assert change["left"] == [{"id": 5, "role": "parent"}]
    assert [p["id"] for p in change["joined"]] == [6]
    assert live.presence_change(key, full) is None  # told now: nothing new to say
    live._presence_told.pop(key, None)
