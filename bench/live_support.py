"""A diagnostic server entry point for `bench/live_room.py --presence light`: the real app with one
change, so the benchmark can separate the cost of chat fan-out from the cost of presence broadcasts.

The app broadcasts a room's presence (app/live.py `_broadcast_presence`) at most once per
PRESENCE_INTERVAL per room and process, but every broadcast carries the whole list of people (id and
name, ~35 bytes each): with 1,000 people in the room, each one is ~35 KB to each of 1,000 sockets, from
each of the two processes, every interval while people come and go - about 2 GB of JSON while a
thousand people join, on top of chat.

Here each process still broadcasts a room's presence at most once per COALESCE_SECONDS, computed fresh
from the database when it goes out, but the broadcast carries the counts and total only; the join
acknowledgement still carries the full presence at that moment. This is a candidate change to
`_broadcast_presence` (with the room page asking for the list when it wants it, or the broadcast
carrying only who joined and left), measured here; it is not the app as shipped, which the default
benchmark run serves (`wsgi:app`) untouched.

    gunicorn -k gevent -w 1 --no-control-socket -b 127.0.0.1:PORT bench.live_support:app
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import current_app  # noqa: E402

from app import create_app, live  # noqa: E402
from app.extensions import get_db, socketio  # noqa: E402
from network import sessions  # noqa: E402

COALESCE_SECONDS = 1.0

#: (session id, room) whose broadcast is already scheduled in this process
_due: set[tuple[int, str]] = set()


def _presence(db, session_id: int, room: str) -> dict:
    session = db.get(sessions.LearningSession, session_id)
    return {"room": room, **sessions.presence(db, session, room)}


def light_broadcast_presence(db, session_id: int, room: str) -> dict:
    """Returns what app.live._broadcast_presence returns (the join ack's full presence); the broadcast
    waits, so every change within the window goes out as one small message of counts."""
    key = (session_id, room)
    if key not in _due:
        _due.add(key)
        socketio.start_background_task(_broadcast_later, current_app._get_current_object(), key)
    return _presence(db, session_id, room)


def _broadcast_later(flask_app, key: tuple[int, str]) -> None:
    socketio.sleep(COALESCE_SECONDS)
    _due.discard(key)
    with flask_app.app_context():
        payload = _presence(get_db(), *key)
        payload.pop("people", None)
        socketio.emit("presence", payload, to=sessions.room_key(*key), namespace=live.NAMESPACE)


live._broadcast_presence = light_broadcast_presence
app = create_app()
