"""Socket.IO handlers of the live rooms (namespace /live): authenticate, call the session services,
emit. Every event is checked by network/access.py through the services, committed before it is
broadcast, and acknowledged with {"id", "seq"}; a bad one gets {"error": {...}} and changes nothing.

Protocol (also in the README):
  join   {session_id, room?, last_seq?}      -> ack {room, seq, events: [missed events, in order], presence}
  chat   {session_id, room?, client_id, body} / ask {session_id, client_id, body, anonymous?}
  upvote {session_id, client_id, question_id} / answered {session_id, client_id, question_id}
  poll_open {session_id, client_id, question, options} / vote {…, poll_id, option} / poll_close {…, poll_id}
  hand {session_id, client_id, raised} / hand_lower {…, user_id} / agenda {…, module_id}
  pin / remove_message {…, message_id} / restrict {…, user_id, kind: muted|unmute|removed}
  breakout_open {…, name, roles} / breakout_close {…, breakout_id} / leave {session_id, room?}
  presence {session_id, room?}              -> ack {room, counts, people, total} (the whole list)
Server -> client: "event" (one room event), "presence" ({room, counts, total, joined, left}: counts and
what changed since this process's last broadcast to the room, never the whole list), "error", "removed".
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from typing import Any, Callable

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room, leave_room

from app import errors
from app.extensions import get_db, socketio
from app.security import session_is_current
from app.web import localized_fields, localized_message
from content.markdown import render_inline
from sqlalchemy import select

from network import sessions
from network.errors import DomainError, Invalid
from network.sessions import MAIN_ROOM, RateLimiter, RoomEvent, SharedRateLimiter

log = logging.getLogger("carecommons.live")
NAMESPACE = "/live"
CHAT, ACTION = "chat", "action"


def event_json(db, event: RoomEvent) -> dict[str, Any]:
    """An event as every participant receives it. Anonymous questions carry no author at all."""
    anonymous = event.kind == "question" and event.data.get("anonymous")
    author = None
    if event.author is not None and not anonymous:
        author = {"id": event.author.id, "name": event.author.shown_name, "role": event.acting_role}
    return {"id": event.id, "seq": event.seq, "room": event.room_key.split(":", 1)[1], "kind": event.kind,
            "author": author, "role": event.acting_role if not anonymous else "",
            "body": event.body, "html": str(render_inline(event.body)) if event.kind in ("chat", "question") else "",
            "data": event.data, "at": event.created_at.isoformat()}


def _error(error: DomainError) -> dict[str, Any]:
    payload = {"error": {"status": error.status, "message": localized_message(error),
                         "fields": localized_fields(error)}}
    emit("error", payload)
    return payload


class LiveNamespace(Namespace):
    def on_connect(self, auth=None):
        """Only signed-in members whose session is within its idle and absolute lifetimes may open a
        socket (the Flask-Login session cookie is shared)."""
        if not current_user.is_authenticated or not session_is_current():
            return False
        heartbeat(current_app).start(get_db())
        return True

    def on_disconnect(self, reason=None):
        db = get_db()
        where = sessions.leave(db, request.sid)
        if where is not None:
            _broadcast_presence(db, *where)

    def on_join(self, data):
        return _handle(data, _join)

    def on_leave(self, data):
        return _handle(data, _leave)

    def on_presence(self, data):
        return _handle(data, _presence_request)

    def on_chat(self, data):
        return _handle(data, _chat, limiter=CHAT)

    def on_ask(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.ask(
            db, user, s, body=d.get("body"), client_id=d.get("client_id"), anonymous=bool(d.get("anonymous")))),
            limiter=CHAT)

    def on_upvote(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.upvote(
            db, user, s, question_id=d.get("question_id"), client_id=d.get("client_id"))))

    def on_answered(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.answered(
            db, user, s, question_id=d.get("question_id"), client_id=d.get("client_id"))))

    def on_poll_open(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.open_poll(
            db, user, s, question=d.get("question"), options=d.get("options"), client_id=d.get("client_id"))))

    def on_vote(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.vote(
            db, user, s, poll_id=d.get("poll_id"), option=d.get("option"), client_id=d.get("client_id"))))

    def on_poll_close(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.close_poll(
            db, user, s, poll_id=d.get("poll_id"), client_id=d.get("client_id"))))

    def on_hand(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.hand(
            db, user, s, raised=d.get("raised", True), client_id=d.get("client_id"))))

    def on_hand_lower(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.lower_hand(
            db, user, s, user_id=d.get("user_id"), client_id=d.get("client_id"))))

    def on_agenda(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.advance_agenda(
            db, user, s, module_id=d.get("module_id"), client_id=d.get("client_id"))))

    def on_pin(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.pin(
            db, user, s, message_id=d.get("message_id"), client_id=d.get("client_id"))))

    def on_remove_message(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.remove_message(
            db, user, s, message_id=d.get("message_id"), client_id=d.get("client_id"))))

    def on_restrict(self, data):
        return _handle(data, _restrict)

    def on_breakout_open(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.open_breakout(
            db, user, s, name=d.get("name"), roles=d.get("roles", []), client_id=d.get("client_id"))))

    def on_breakout_close(self, data):
        return _handle(data, lambda db, user, s, d: _emit_event(db, *sessions.close_breakout(
            db, user, s, breakout_id=d.get("breakout_id"), client_id=d.get("client_id"))))


def _handle(data, action: Callable, limiter: str = ACTION):
    """Load -> check -> act for one socket event; domain errors become an error event and an error ack,
    and the database being unreachable or full an error ack with status 503 or 507 (nothing was stored:
    the client resends with the same client id when the service is back)."""
    try:
        return _handle_checked(data, action, limiter)
    except Exception as error:
        status = errors.database_fault(error)
        if status is None:
            raise
        log.warning("live event refused, database fault (%s): %s", status, str(error).splitlines()[0])
        try:
            get_db().rollback()
        except Exception:  # the connection is gone: closing at teardown discards it
            log.debug("rollback after a database fault failed", exc_info=True)
        return {"error": {"status": status, "message": str(errors.EXPLANATIONS[status]), "fields": {},
                          "retry_after": errors.RETRY_AFTER_SECONDS}}


def _handle_checked(data, action: Callable, limiter: str):
    # signed out, deactivated, or past the session's idle or absolute lifetime since the socket opened
    if not current_user.is_authenticated or not session_is_current():
        socketio.server.disconnect(request.sid, namespace=NAMESPACE)
        return {"error": {"status": 401, "message": _("Sign in again."), "fields": {}}}
    db = get_db()
    user = current_user._get_current_object()
    try:
        if not isinstance(data, dict):
            raise Invalid({"payload": [_("Send an object.")]})
        current_app.extensions["carecommons.live_limits"][limiter].check(user.id)
        session = sessions.get(db, user, data.get("session_id") if isinstance(data.get("session_id"), int) else -1)
        return action(db, user, session, data)
    except DomainError as error:
        db.rollback()
        return _error(error)


def _chat(db, user, session, data):
    """Send a chat message; a new one is then screened against the network's risk phrases (a match only
    adds an automatic flag to the urgent queue: the message is never blocked or changed)."""
    event, created = sessions.chat(db, user, session, body=data.get("body"), client_id=data.get("client_id"),
                                   room=data.get("room") or MAIN_ROOM)
    ack = _emit_event(db, event, created)
    if created:
        from content import safeguarding

        safeguarding.screen(db, object_type="room_message", object_id=event.id, text=event.body,
                            link=f"/sessions/{session.slug}/transcript")
    return ack


def _emit_event(db, event: RoomEvent, created: bool) -> dict[str, Any]:
    """Broadcast a committed event to its room. A retry (`created` False: the client id was seen before)
    is broadcast again, with the same seq: the first broadcast may have died with the process that
    committed it, and clients drop a seq they already hold."""
    payload = event_json(db, event)
    socketio.emit("event", payload, to=event.room_key, namespace=NAMESPACE)
    return {"id": event.id, "seq": event.seq}


def _room(data) -> str:
    room = data.get("room") or MAIN_ROOM
    if not isinstance(room, str):
        raise Invalid({"room": [_("Name the room.")]})
    return room


def _join(db, user, session, data):
    room = _room(data)
    sessions.enter(db, user, session, sid=request.sid, room=room, server_id=heartbeat(current_app).server_id)
    join_room(sessions.room_key(session.id, room))
    last_seq = data.get("last_seq") if isinstance(data.get("last_seq"), int) else 0
    missed = sessions.events_after(db, user, session, room, last_seq)
    presence = _broadcast_presence(db, session.id, room)
    current = missed[-1].seq if missed else last_seq
    return {"room": room, "seq": current, "events": [event_json(db, e) for e in missed], "presence": presence}


def _leave(db, user, session, data):
    room = _room(data)
    leave_room(sessions.room_key(session.id, room))
    sessions.leave(db, request.sid)
    _broadcast_presence(db, session.id, room)
    return {"room": room}


def _presence_request(db, user, session, data):
    """The whole list of who is in the room: broadcasts carry only counts and changes."""
    room = _room(data)
    return {"room": room, **sessions.room_presence(db, user, session, room)}


def _restrict(db, user, session, data):
    kind = data.get("kind")
    event, created = sessions.restrict(db, user, session, user_id=data.get("user_id"), kind=kind,
                                       client_id=data.get("client_id"))
    ack = _emit_event(db, event, created)
    if kind == "removed":
        disconnect_user(data.get("user_id"), reason="removed")
        _broadcast_presence(db, session.id, MAIN_ROOM)
    return ack


#: a room's presence is broadcast at most every PRESENCE_INTERVAL seconds (a setting; 0 in tests):
#: when 1,000 people join, broadcasting on every join would send a million messages
_presence_due: dict[tuple[int, str, int], float] = {}
#: per room, the people this process last told the room about: a broadcast carries only the difference
_presence_told: dict[tuple[int, str, int], dict[int, dict]] = {}
_presence_lock = threading.Lock()


def _room_presence(db, session_id: int, room: str) -> dict | None:
    session = db.get(sessions.LearningSession, session_id)
    return None if session is None else {"room": room, **sessions.presence(db, session, room)}


def presence_change(key: tuple[int, str, int], full: dict) -> dict | None:
    """The broadcast for a room whose whole presence is now `full`: counts by role, total, and who
    joined and left since this process's last broadcast to the room (None when nobody did). Each
    process diffs against what it told the room itself; clients apply joined/left as set operations, so
    diffs from several processes agree, and a client whose list disagrees with the counts asks for the
    whole list (the `presence` request)."""
    now_present = {person["id"]: {"id": person["id"], "name": person["name"], "role": role}
                   for role, people in full["people"].items() for person in people}
    with _presence_lock:
        before = _presence_told.get(key, {})
        _presence_told[key] = now_present
    joined = [person for uid, person in now_present.items() if before.get(uid) != person]
    left = [{"id": uid, "role": person["role"]} for uid, person in before.items() if uid not in now_present]
    if not joined and not left:
        return None
    return {"room": full["room"], "counts": full["counts"], "total": full["total"], "joined": joined, "left": left}


def _told_were_here(key: tuple[int, str, int], removed: list[tuple[int, str]]) -> None:
    """People whose connections a dead process held: this process never told the room about them, so
    its next diff would not say they left. Count them as told, so the next broadcast names them in
    `left` (unless they are still here through another connection)."""
    with _presence_lock:
        told = _presence_told.setdefault(key, {})
        for user_id, role in removed:
            told.setdefault(user_id, {"id": user_id, "role": role})


def _emit_presence(key: tuple[int, str, int], full: dict) -> None:
    change = presence_change(key, full)
    if change is not None:
        socketio.emit("presence", change, to=sessions.room_key(key[0], key[1]), namespace=NAMESPACE)


def _broadcast_presence(db, session_id: int, room: str) -> dict:
    """This room's whole presence now (returned for the caller's ack); its change is broadcast to the
    room at most once per PRESENCE_INTERVAL: a change inside the interval is sent by one delayed
    broadcast with the state at that moment, so the last change is never lost."""
    payload = _room_presence(db, session_id, room) or {"room": room, "counts": {}, "people": {}, "total": 0}
    interval = current_app.config["PRESENCE_INTERVAL"]
    key, now = (session_id, room, id(current_app._get_current_object())), time.monotonic()
    with _presence_lock:
        due = _presence_due.get(key)
        if due is not None and due > now:
            return payload  # a broadcast is already scheduled for this room
        if due is not None and now - due < interval:
            _presence_due[key] = due + interval
            socketio.start_background_task(_delayed_presence, current_app._get_current_object(), session_id, room,
                                           due + interval - now)
            return payload
        _presence_due[key] = now
    _emit_presence(key, payload)
    return payload


def _delayed_presence(app, session_id: int, room: str, delay: float) -> None:
    socketio.sleep(max(0.0, delay))
    with app.app_context():
        full = _room_presence(get_db(), session_id, room)
        if full is not None:
            _emit_presence((session_id, room, id(app)), full)


class Heartbeat:
    """This server process's liveness, and the removal of presence rows that crashed processes left.

    Presence rows carry the id of the process holding the socket. With Redis, every process renews a
    key `<channel>:live-server:<id>` every LIVE_HEARTBEAT_SECONDS that expires after LIVE_SERVER_TTL,
    and on each beat removes the rows of processes whose key has expired (a SIGKILL says no goodbye for
    its sockets), broadcasting the rooms' new presence. Without Redis there is one process: at its
    first connection it removes every row not its own (left by the process before it).
    Started at the first socket connection, not in create_app: CLI commands build the app too."""

    def __init__(self, app):
        self.app = app
        self._pid: int | None = None
        self._id = ""
        self._lock = threading.Lock()
        self._started = False
        self.redis = None
        #: monotonic time from which a missing heartbeat key means a dead process (None: not yet)
        self._trusted_from: float | None = None
        self._stopping = False

    @property
    def server_id(self) -> str:
        pid = os.getpid()
        if self._pid != pid:  # made in this process (a fork gets its own)
            self._pid, self._id, self._started = pid, f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}", False
        return self._id

    def _key(self, server_id: str) -> str:
        return f"{self.app.config['SOCKETIO_CHANNEL']}:live-server:{server_id}"

    def start(self, db) -> None:
        server_id = self.server_id
        with self._lock:
            if self._started:
                return
            self._started = True
        url = self.app.config.get("REDIS_URL")
        if not url:
            sessions.clear_other_servers(db, server_id)
            return
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self.beat()  # before this process stores its first presence row
        except redis.RedisError:  # Redis away at the first connection: the loop below keeps trying
            log.warning("live-room heartbeat: Redis unavailable at start; retrying every beat", exc_info=True)
        socketio.start_background_task(self._run)

    def beat(self) -> bool:
        """Renew this process's key. True when Redis still held it; False on the first beat, after a
        Redis restart that lost every key, or after this process stalled past the TTL. Until the key has
        been held for a whole TTL again, no other process is taken for dead (`trusted`): after a Redis
        restart the others' keys are missing only until their next beat."""
        previous = self.redis.set(self._key(self.server_id), "1", px=int(self.app.config["LIVE_SERVER_TTL"] * 1000),
                                  get=True)
        if previous is None:
            self._trusted_from = time.monotonic() + self.app.config["LIVE_SERVER_TTL"]
        return previous is not None

    def trusted(self) -> bool:
        """Whether a missing key now means a dead process (see `beat`)."""
        return self._trusted_from is not None and time.monotonic() >= self._trusted_from

    def stop(self) -> None:
        """End the beating loop at its next beat (tests; a server process beats until it exits)."""
        self._stopping = True

    def _run(self) -> None:
        while True:
            socketio.sleep(self.app.config["LIVE_HEARTBEAT_SECONDS"])
            if self._stopping:
                return
            try:
                self.beat()
            except Exception:  # Redis away for a moment: the next beat tries again
                self._trusted_from = None
                log.warning("live-room heartbeat: Redis unavailable", exc_info=True)
                continue
            try:
                with self.app.app_context():
                    self.sweep(get_db())
            except Exception:  # the database away for a moment: the next beat tries again
                log.exception("live-room presence sweep failed")

    def sweep(self, db) -> list[tuple[int, str]]:
        """Remove presence rows of processes whose heartbeat expired; broadcast those rooms' presence.
        Nothing is removed until this process's own key has been held for a TTL (`trusted`)."""
        if not self.trusted():
            return []
        mine = self.server_id
        dead = [s for s in sessions.presence_servers(db) if s != mine and not self.redis.exists(self._key(s))]
        rooms = sessions.clear_servers(db, dead)
        for (session_id, room), removed in rooms.items():
            _told_were_here((session_id, room, id(self.app)), removed)
            _broadcast_presence(db, session_id, room)
        if dead:
            log.info("removed presence of %d stopped server process(es) in %d room(s)", len(dead), len(rooms))
        return list(rooms)


def heartbeat(app) -> Heartbeat:
    return app.extensions["carecommons.live_heartbeat"]


def disconnect_user(user_id, *, reason: str = "signed out") -> None:
    """Close every socket of a person on every server process (logout, removal, deactivation)."""
    db = get_db()
    sids = list(db.scalars(select(sessions.Presence.sid).where(sessions.Presence.user_id == user_id)))
    for sid in sids:
        socketio.emit("removed", {"reason": reason}, to=sid, namespace=NAMESPACE)
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    if sids:
        sessions.clear_presence(db, sids)


def rate_limits(app) -> dict[str, RateLimiter]:
    """Per person (socket events are not covered by Flask-Limiter): counted in Redis across every
    server process when REDIS_URL is set, in this process otherwise."""
    limits = {CHAT: (10, 10), ACTION: (30, 10)}
    url = app.config.get("REDIS_URL")
    if not url:
        return {name: RateLimiter(count=count, seconds=seconds) for name, (count, seconds) in limits.items()}
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    prefix = f"{app.config['SOCKETIO_CHANNEL']}:rate"
    return {name: SharedRateLimiter(client, f"{prefix}:{name}", count=count, seconds=seconds)
            for name, (count, seconds) in limits.items()}


def init_app(app) -> None:
    app.extensions["carecommons.live_limits"] = rate_limits(app)
    app.extensions["carecommons.live_heartbeat"] = Heartbeat(app)
    socketio.on_namespace(LiveNamespace(NAMESPACE))
