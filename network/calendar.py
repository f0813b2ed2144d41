"""Calendar files (.ics) for learning sessions, and the signed address of a person's calendar feed."""
from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event
from itsdangerous import BadSignature, URLSafeSerializer

from network.sessions import LearningSession, zone


def sessions_ics(sessions: list[LearningSession], *, link_for, name: str = "CareCommons learning sessions") -> bytes:
    """An iCalendar document; times carry the session's own time zone (with its VTIMEZONE)."""
    calendar = Calendar()
    calendar.add("prodid", "-//CareCommons//learning sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for session in sessions:
        tz = zone(session.timezone)
        event = Event()
        event.add("uid", f"session-{session.id}@carecommons")
        event.add("summary", session.title)
        event.add("dtstart", session.starts_at.astimezone(tz))
        event.add("dtend", session.ends_at.astimezone(tz))
        event.add("dtstamp", session.created_at)
        event.add("description", (session.description or "")[:2000])
        event.add("url", link_for(session))
        calendar.add_component(event)
    if sessions:
        calendar.add_missing_timezones(first_date=min(s.starts_at for s in sessions).date(),
                                       last_date=max(s.ends_at for s in sessions).date())
    return calendar.to_ical()


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="carecommons.calendar")


def feed_token(secret: str, user) -> str:
    """A capability for one person's feed; it stops working when they sign out everywhere."""
    return _serializer(secret).dumps({"u": user.id, "v": user.session_version})


def user_for_feed(db, secret: str, token: str):
    from network.people import User

    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        return None
    user = db.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or not user.is_active or user.session_version != data.get("v"):
        return None
    return user


def local_time(moment: datetime, tz_name: str) -> datetime:
    return moment.astimezone(zone(tz_name))
