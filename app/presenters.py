"""How domain values read on a page: role names, dates, the navigation for a viewer."""
from __future__ import annotations

from datetime import date, datetime

from flask import url_for
from flask_babel import format_date, format_datetime, format_time
from flask_babel import lazy_gettext as _l

from app.forms import choices
from app.web import actor
from network import access
from network.roles import ROLE_PRIORITY, Role

ROLE_LABELS = {
    Role.PATIENT: _l("Patient"),
    Role.PARENT: _l("Parent or carer"),
    Role.CLINICIAN: _l("Clinician"),
    Role.SITE_LEAD: _l("Site lead"),
    Role.NETWORK_LEADER: _l("Network leader"),
    Role.MODERATOR: _l("Moderator"),
}


def role_label(role) -> str:
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return str(role)


def acting_role_choices():
    """The roles the viewer holds, in priority order, as the choices of an "acting as" field (the acting role
    stored on a revision, story, comment or registration)."""
    viewer = actor()
    return choices((role.value, role_label(role)) for role in ROLE_PRIORITY if role in viewer.roles)


def month_label(value) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value + "-01") if len(value) == 7 else date.fromisoformat(value)
    return format_date(value, "MMM yyyy")


def when(value: datetime | None) -> str:
    return format_datetime(value, "medium") if value else ""


def nav_items() -> list[tuple[str, str, str]]:
    """(endpoint, url, label) for the main navigation, by what the viewer may do."""
    viewer = actor()
    items = [("home.index", url_for("home.index"), str(_l("Home")))]
    if access.can(viewer, "outcomes.view"):
        items.append(("outcomes.index", url_for("outcomes.index"), str(_l("Outcomes"))))
    else:
        items.append(("public.index", url_for("public.index"), str(_l("Outcomes"))))
    if access.can(viewer, "library.browse"):
        items.append(("library.index", url_for("library.index"), str(_l("Library"))))
    items.append(("stories.index", url_for("stories.index"), str(_l("Stories"))))
    if access.can(viewer, "network.view"):
        items.append(("visits.index", url_for("visits.index"), str(_l("My care"))))
    if access.can(viewer, "session.browse"):
        items.append(("sessions.index", url_for("sessions.index"), str(_l("Sessions"))))
    if access.can(viewer, "network.view"):
        items.append(("sites.index", url_for("sites.index"), str(_l("Sites"))))
    if access.can(viewer, "health.view"):
        items.append(("health.dashboard", url_for("health.dashboard"), str(_l("Network health"))))
    if access.can(viewer, "story.moderate"):
        items.append(("moderation.queue", url_for("moderation.queue"), str(_l("Moderation"))))
    if access.can(viewer, "safety.handle"):
        items.append(("safety.queue", url_for("safety.queue"), str(_l("Urgent queue"))))
    if access.can(viewer, "people.manage"):
        items.append(("admin.index", url_for("admin.index"), str(_l("Admin"))))
    return items


def unread_notifications() -> int:
    from app.extensions import get_db
    from network import notifications

    return notifications.unread_count(get_db(), actor())


def shown_byline(story) -> str:
    """A story's byline in the reader's language."""
    from app.web import localize
    from content import narratives

    return localize(narratives.byline(story))


def day(value) -> str:
    """A calendar day in the reader's language ("26 Nov 2026" / "26 nov 2026")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "medium")


def day_time(value: datetime | None) -> str:
    """A moment as a day and an hour:minute, in the reader's language and the app's time zone."""
    if value is None:
        return ""
    return f"{format_date(value, 'medium')}, {format_time(value, 'short')}"


def local_when(value: datetime | None, pattern: str = "EEE d MMM y, HH:mm") -> str:
    """A zone-aware datetime (already in the session's zone) in the reader's language, keeping its zone."""
    if value is None:
        return ""
    from babel.dates import format_datetime as babel_datetime
    from flask_babel import get_locale

    return babel_datetime(value, pattern, tzinfo=value.tzinfo, locale=get_locale() or "en")
