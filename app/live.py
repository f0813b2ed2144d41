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
Server -> client: "event" (one room event), "presence" ({room, counts, people, total}), "error", "removed".
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room, leave_room

from app.extensions import get_db, socketio
from app.web import localized_fields, localized_message
from content.markdown import render_inline
from sqlalchemy import select

from network import sessions
from network.errors import DomainError, Invalid
from network.sessions import MAIN_ROOM, RateLimiter, RoomEvent

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
        """Only signed-in members may open a socket (the Flask-Login session cookie is shared)."""
        if not current_user.is_authenticated:
            return False
        return True

    def on_disconnect(self, reason=None):
        db = get_db()
        session_id = sessions.leave(db, request.sid)
        if session_id is not None:
            _broadcast_presence(db, session_id, MAIN_ROOM)

    def on_join(self, data):
        return _handle(data, _join)

    def on_leave(self, data):
        return _handle(data, _leave)

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
    """Load -> check -> act for one socket event; domain errors become an error event and an error ack."""
    if not current_user.is_authenticated:  # signed out (or deactivated) since the socket opened
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
    """Broadcast a newly committed event to its room (a retried one was broadcast already)."""
    payload = event_json(db, event)
    if created:
        socketio.emit("event", payload, to=event.room_key, namespace=NAMESPACE)
    return {"id": event.id, "seq": event.seq}


def _join(db, user, session, data):
    room = data.get("room") or MAIN_ROOM
    if not isinstance(room, str):
        raise Invalid({"room": [_("Name the room.")]})
    sessions.enter(db, user, session, sid=request.sid, room=room)
    join_room(sessions.room_key(session.id, room))
    last_seq = data.get("last_seq") if isinstance(data.get("last_seq"), int) else 0
    missed = sessions.events_after(db, user, session, room, last_seq)
    presence = _broadcast_presence(db, session.id, room)
    current = missed[-1].seq if missed else last_seq
    return {"room": room, "seq": current, "events": [event_json(db, e) for e in missed], "presence": presence}


def _leave(db, user, session, data):
    room = data.get("room") or MAIN_ROOM
    leave_room(sessions.room_key(session.id, room))
    sessions.leave(db, request.sid)
    _broadcast_presence(db, session.id, room)
    return {"room": room}


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
#: when 1,000 people join, broadcasting the whole list on every join would send a million messages
_presence_due: dict[tuple[int, str, int], float] = {}
_presence_lock = threading.Lock()


def _broadcast_presence(db, session_id: int, room: str) -> dict:
    """This room's presence now (returned for the caller's ack), broadcast to the room at most once per
    PRESENCE_INTERVAL: a change inside the interval is sent by one delayed broadcast with the state
    at that moment, so the last change is never lost."""
    session = db.get(sessions.LearningSession, session_id)
    payload = {"room": room, **sessions.presence(db, session, room)}
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
    socketio.emit("presence", payload, to=sessions.room_key(session_id, room), namespace=NAMESPACE)
    return payload


def _delayed_presence(app, session_id: int, room: str, delay: float) -> None:
    socketio.sleep(max(0.0, delay))
    with app.app_context():
        db = get_db()
        session = db.get(sessions.LearningSession, session_id)
        if session is not None:
            payload = {"room": room, **sessions.presence(db, session, room)}
            socketio.emit("presence", payload, to=sessions.room_key(session_id, room), namespace=NAMESPACE)


def disconnect_user(user_id, *, reason: str = "signed out") -> None:
    """Close every socket of a person on every server process (logout, removal, deactivation)."""
    db = get_db()
    sids = list(db.scalars(select(sessions.Presence.sid).where(sessions.Presence.user_id == user_id)))
    for sid in sids:
        socketio.emit("removed", {"reason": reason}, to=sid, namespace=NAMESPACE)
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    if sids:
        sessions.clear_presence(db, sids)


def init_app(app) -> None:
    #: per person, per process: socket events are not covered by Flask-Limiter
    app.extensions["carecommons.live_limits"] = {CHAT: RateLimiter(count=10, seconds=10),
                                                 ACTION: RateLimiter(count=30, seconds=10)}
    socketio.on_namespace(LiveNamespace(NAMESPACE))
