"""A diagnostic server entry point for `bench/live_room.py --presence light`: the real app with one
change, so the benchmark can separate the cost of chat fan-out from the cost of presence broadcasts.

The app broadcasts a room's presence (app/live.py `_broadcast_presence`) at most once per
PRESENCE_INTERVAL per room and process, carrying counts and who joined or left since that process's
last broadcast (the whole list only in the join acknowledgement and on request). Here each process
broadcasts counts and total only, not even the joined/left names, to show what presence costs at all
next to chat fan-out. It is not the app as shipped, which the default benchmark run serves (`wsgi:app`).

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
