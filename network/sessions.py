"""Learning sessions: planning (agenda, co-presenters, registration with capacity and waitlist) and the
live room (chat, Q&A, polls, hands, facilitation, breakouts).

Everything that happens in a room is a `RoomEvent` committed to the database *before* it is broadcast,
numbered by one rising sequence per room. A client event carries a client id, so a retry returns the
stored event instead of making a second one; a reconnecting client asks for everything after the last
sequence number it saw. Nothing acknowledged is lost, whichever server process the client talks to.
"""
from __future__ import annotations

import enum
import logging
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, lazyload, mapped_column, relationship, selectinload

from network import access, audit, notifications, outbox, usage
from network.db import Base, utcnow
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.people import User, acting_role
from network.i18n import N_, day_and_time

log = logging.getLogger("carecommons.sessions")
MAX_TITLE = 160
MAX_DESCRIPTION = 20_000
MAX_MESSAGE = 2_000
MAX_POLL_OPTIONS = 8
MAIN_ROOM = "main"
#: the room opens this long before the start and stays open this long after the end
ROOM_MARGIN = timedelta(minutes=30)


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class LearningSession(Base):
    __tablename__ = "learning_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column()
    #: the organisers' time zone (IANA), the default for showing times; each viewer may choose theirs
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: None for no limit; past it, registrations go to the waitlist
    capacity: Mapped[int | None] = mapped_column(Integer)
    video_url: Mapped[str] = mapped_column(String(500), default="")
    #: the agenda module everyone's view follows
    current_module_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_modules.id", use_alter=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    modules: Mapped[list["AgendaModule"]] = relationship(
        back_populates="session", order_by="AgendaModule.position", foreign_keys="AgendaModule.session_id",
        cascade="all, delete-orphan", lazy="selectin")
    facilitators: Mapped[list["SessionFacilitator"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def facilitator_ids(self) -> set[int]:
        return {f.user_id for f in self.facilitators}

    def room_is_open(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.starts_at - ROOM_MARGIN <= now <= self.ends_at + ROOM_MARGIN

    def is_past(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) > self.ends_at + ROOM_MARGIN


class AgendaModule(Base):
    __tablename__ = "agenda_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    description: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int] = mapped_column(Integer, default=15)
    #: library resources used in the module (ids; the web layer links them)
    resource_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    session: Mapped[LearningSession] = relationship(back_populates="modules", foreign_keys=[session_id])
    presenters: Mapped[list["ModulePresenter"]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class ModulePresenter(Base):
    """A co-presenter of a module, with the role they present in (a parent and a clinician co-teaching)."""

    __tablename__ = "module_presenters"
    __table_args__ = (UniqueConstraint("module_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("agenda_modules.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    acting_role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(lazy="selectin")


class SessionFacilitator(Base):
    __tablename__ = "session_facilitators"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    #: loaded when asked (the manage page names the few facilitators): every room event reads the
    #: session and its facilitators' ids, never their accounts
    user: Mapped[User] = relationship()


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    acting_role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=RegistrationStatus.REGISTERED.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: first time they joined the live room (attendance)
    attended_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()

    #: loaded when asked, or with the lists that show it: every room event reads its sender's
    #: registration (twice for a chat line), and the sender's account is already loaded
    user: Mapped[User] = relationship()


class Breakout(Base):
    """A side room. `roles` limits who may enter and read it (e.g. patients and parents only)."""

    __tablename__ = "breakouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    #: roles that may enter; empty means every participant
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def room(self) -> str:
        return f"breakout-{self.id}"


class RoomCounter(Base):
    """The last sequence number given out in one room (the per-room rising sequence)."""

    __tablename__ = "room_counters"

    room_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class RoomEvent(Base):
    """One thing that happened in a room: a chat message, a question, a vote, an agenda change..."""

    __tablename__ = "room_events"
    __table_args__ = (UniqueConstraint("room_key", "seq"), UniqueConstraint("author_id", "client_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    #: "<session id>:main" or "<session id>:breakout-<id>"
    room_key: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    #: chat, question, answered, upvote, poll_open, poll_close, vote, hand, hand_lower, agenda, pin,
    #: remove, mute, unmute, remove_participant, breakout_open, breakout_close
    kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the client's id for the event, so a retry returns this row instead of making another
    client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="selectin")


class Poll(Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollVote(Base):
    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    option: Mapped[int] = mapped_column(Integer)
    acting_role: Mapped[str] = mapped_column(String(20), default="")


class QuestionVote(Base):
    __tablename__ = "question_votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("room_events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class RoomRestriction(Base):
    """A participant muted (may read, not write) or removed (cut off) by a facilitator."""

    __tablename__ = "room_restrictions"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: "muted" or "removed"
    kind: Mapped[str] = mapped_column(String(10))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Presence(Base):
    """Who is in a room now, one row per socket connection (shared by every server process)."""

    __tablename__ = "room_presence"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("learning_sessions.id", ondelete="CASCADE"), index=True)
    room_key: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    acting_role: Mapped[str] = mapped_column(String(20))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the server process holding the socket: when it dies, the others remove its rows (app/live.py)
    server_id: Mapped[str] = mapped_column(String(100), default="", index=True)


# ---------------------------------------------------------------------------------------------
# Planning

def _slug(db: Session, title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80] or "session"
    slug, n = base, 1
    while db.scalar(select(LearningSession.id).where(LearningSession.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid({"timezone": [N_("Choose a time zone from the list, e.g. Europe/London.")]})


@dataclass
class SessionFields:
    title: str
    description: str
    starts_local: datetime      # naive, in `timezone`
    minutes: int
    timezone: str
    capacity: int | None = None
    video_url: str = ""


def _check_session(fields: SessionFields) -> tuple[datetime, datetime]:
    errors: dict[str, list[str]] = {}
    if not (fields.title or "").strip() or len(fields.title) > MAX_TITLE:
        errors["title"] = [N_("Give the session a title (at most %(max_title)s characters).", max_title=MAX_TITLE)]
    if len(fields.description or "") > MAX_DESCRIPTION:
        errors["description"] = [N_("Use at most %(max_description)s characters.", max_description=MAX_DESCRIPTION)]
    if not 10 <= (fields.minutes or 0) <= 12 * 60:
        errors["minutes"] = [N_("A session lasts between 10 minutes and 12 hours.")]
    if fields.capacity is not None and not 1 <= fields.capacity <= 100_000:
        errors["capacity"] = [N_("Give a capacity of at least 1, or leave it empty for no limit.")]
    if fields.video_url and not re.match(r"^https://[^\s<>\"']+$", fields.video_url):
        errors["video_url"] = [N_("Give an https:// link, or leave it empty.")]
    try:
        tz = zone(fields.timezone)
    except Invalid as error:
        errors.update(error.field_errors)
        tz = timezone.utc
    if fields.starts_local is None:
        errors["starts_local"] = [N_("Give the start date and time.")]
    if errors:
        raise Invalid(errors)
    starts = fields.starts_local.replace(tzinfo=tz).astimezone(timezone.utc)
    return starts, starts + timedelta(minutes=fields.minutes)


def create_session(db: Session, actor, fields: SessionFields) -> LearningSession:
    access.require(actor, "session.create")
    starts, ends = _check_session(fields)
    session = LearningSession(slug=_slug(db, fields.title), title=fields.title.strip(), description=fields.description or "",
                              starts_at=starts, ends_at=ends, timezone=fields.timezone, capacity=fields.capacity,
                              video_url=fields.video_url or "", created_by_id=actor.id)
    db.add(session)
    db.flush()
    db.add(SessionFacilitator(session_id=session.id, user_id=actor.id))
    audit.record(db, actor, "session.create", session, title=session.title)
    db.commit()
    db.refresh(session)
    return session


def update_session(db: Session, actor, session_id: int, fields: SessionFields) -> LearningSession:
    session = get(db, actor, session_id)
    access.require(actor, "session.manage", session)
    starts, ends = _check_session(fields)
    session.title, session.description = fields.title.strip(), fields.description or ""
    session.starts_at, session.ends_at, session.timezone = starts, ends, fields.timezone
    session.capacity, session.video_url = fields.capacity, fields.video_url or ""
    audit.record(db, actor, "session.update", session)
    db.commit()
    _promote_waitlist(db, session)
    return session


def add_facilitator(db: Session, actor, session_id: int, user: User) -> None:
    session = get(db, actor, session_id)
    access.require(actor, "session.manage", session)
    if user.id in session.facilitator_ids:
        raise Invalid({"email": [N_("Already a facilitator.")]})
    db.add(SessionFacilitator(session_id=session.id, user_id=user.id))
    audit.record(db, actor, "session.facilitator_add", session, user_id=user.id)
    db.commit()
    db.expire(session, ["facilitators"])


def add_module(db: Session, actor, session_id: int, *, title: str, description: str = "", minutes: int = 15,
               resource_ids: list[int] | None = None, presenters: list[tuple[User, str | None]] = ()) -> AgendaModule:
    session = get(db, actor, session_id)
    access.require(actor, "session.manage", session)
    errors: dict[str, list[str]] = {}
    if not (title or "").strip() or len(title) > MAX_TITLE:
        errors["title"] = [N_("Give the module a title.")]
    if not 1 <= (minutes or 0) <= 600:
        errors["minutes"] = [N_("Give the module between 1 and 600 minutes.")]
    for user, role in presenters:
        try:
            acting_role(user, role)
        except Invalid:
            errors["presenters"] = [N_("%(shown_name)s does not hold the role %(role)s.", shown_name=user.shown_name, role=role)]
    if errors:
        raise Invalid(errors)
    position = (db.scalar(select(func.max(AgendaModule.position)).where(AgendaModule.session_id == session.id)) or 0) + 1
    module = AgendaModule(session_id=session.id, position=position, title=title.strip(), description=description or "",
                          minutes=minutes, resource_ids=sorted({int(i) for i in (resource_ids or [])}))
    db.add(module)
    db.flush()
    for user, role in presenters:
        db.add(ModulePresenter(module_id=module.id, user_id=user.id, acting_role=acting_role(user, role)))
    audit.record(db, actor, "session.module_add", session, module_id=module.id)
    db.commit()
    db.expire(session, ["modules"])
    return module


def get(db: Session, actor, session_id: int) -> LearningSession:
    # the agenda loads when a page asks for it: every live-room event (chat, questions, polls) gets the
    # session, and loading the agenda with its presenters was most of a chat message's queries (bench/load.py)
    session = db.get(LearningSession, session_id, options=[lazyload(LearningSession.modules)])
    if session is None:
        raise NotFound(N_("No such session."))
    access.require(actor, "session.view", session)
    return session


def by_slug(db: Session, actor, slug: str) -> LearningSession:
    session = db.scalar(select(LearningSession).where(LearningSession.slug == slug))
    if session is None:
        raise NotFound(N_("No such session."))
    access.require(actor, "session.view", session)
    return session


def upcoming(db: Session, actor, *, limit: int | None = None) -> list[LearningSession]:
    """Sessions not yet over (or whose room is still open), soonest first."""
    access.require(actor, "session.browse")
    query = select(LearningSession).where(LearningSession.ends_at >= utcnow() - ROOM_MARGIN).order_by(
        LearningSession.starts_at).options(lazyload("*"))  # lists show title and time, not agenda or people
    return list(db.scalars(query.limit(limit) if limit else query))


def upcoming_and_past(db: Session, actor) -> tuple[list[LearningSession], list[LearningSession]]:
    soon = upcoming(db, actor)  # asks whether the actor may browse sessions
    past = list(db.scalars(select(LearningSession).where(LearningSession.ends_at < utcnow() - ROOM_MARGIN)
                           .order_by(LearningSession.starts_at.desc()).limit(50).options(lazyload("*"))))
    return soon, past


# ---------------------------------------------------------------------------------------------
# Registration

def registration_of(db: Session, actor, session: LearningSession) -> Registration | None:
    if not access.signed_in(actor):
        return None
    return db.scalar(select(Registration).where(Registration.session_id == session.id,
                                                Registration.user_id == actor.id))


def registered_count(db: Session, session: LearningSession) -> int:
    return db.scalar(select(func.count(Registration.id)).where(
        Registration.session_id == session.id, Registration.status == RegistrationStatus.REGISTERED.value)) or 0


def register(db: Session, actor, session_id: int, *, role: str | None = None) -> Registration:
    """Register with one's role; past capacity, join the waitlist."""
    session = get(db, actor, session_id)
    access.require(actor, "session.register", session)
    if session.is_past():
        raise Conflict(N_("This session is over."))
    role = acting_role(actor, role)
    row = registration_of(db, actor, session)
    if row is not None and row.status != RegistrationStatus.CANCELLED:
        raise Conflict(N_("You are already registered.") if row.status == RegistrationStatus.REGISTERED
                       else N_("You are already on the waitlist."))
    full = session.capacity is not None and registered_count(db, session) >= session.capacity
    status = (RegistrationStatus.WAITLISTED if full else RegistrationStatus.REGISTERED).value
    if row is None:
        row = Registration(session_id=session.id, user_id=actor.id, acting_role=role, status=status)
        db.add(row)
    else:
        row.acting_role, row.status, row.created_at = role, status, utcnow()
    db.flush()
    audit.record(db, actor, "session.register", session, status=status)
    db.commit()
    return row


def cancel(db: Session, actor, session_id: int) -> None:
    session = get(db, actor, session_id)
    row = registration_of(db, actor, session)
    if row is None or row.status == RegistrationStatus.CANCELLED:
        raise NotFound(N_("You are not registered."))
    row.status = RegistrationStatus.CANCELLED.value
    audit.record(db, actor, "session.cancel", session)
    db.commit()
    _promote_waitlist(db, session)


def _promote_waitlist(db: Session, session: LearningSession) -> None:
    """Free places go to the waitlist in order of registration; each person promoted is told."""
    while session.capacity is None or registered_count(db, session) < session.capacity:
        waiting = db.scalar(select(Registration).where(Registration.session_id == session.id,
                                                       Registration.status == RegistrationStatus.WAITLISTED.value)
                            .order_by(Registration.created_at, Registration.id).limit(1))
        if waiting is None:
            break
        waiting.status = RegistrationStatus.REGISTERED.value
        if waiting.user.email:
            outbox.queue(db, to=waiting.user.email, locale=waiting.user.locale,
                         subject=N_("A place opened up: %(title)s", title=session.title),
                         body=[N_("Hello %(name)s,", name=waiting.user.shown_name), "",
                               N_("You are now registered for “%(title)s”.", title=session.title), ""])
        db.commit()


def registrations(db: Session, actor, session: LearningSession) -> list[Registration]:
    access.require(actor, "session.manage", session)
    return list(db.scalars(select(Registration).where(Registration.session_id == session.id)
                           .order_by(Registration.status, Registration.created_at)
                           .options(selectinload(Registration.user))))


def my_sessions(db: Session, actor) -> list[LearningSession]:
    return list(db.scalars(select(LearningSession).join(Registration).where(
        Registration.user_id == actor.id, Registration.status == RegistrationStatus.REGISTERED.value)
        .order_by(LearningSession.starts_at)))


def send_reminders(db: Session, *, now: datetime | None = None, within: timedelta = timedelta(hours=24),
                   link_for=lambda session: "") -> int:
    """Remind registered people of sessions starting within a day; idempotent (each reminded once)."""
    now = now or utcnow()
    due = db.scalars(select(Registration).join(LearningSession).where(
        Registration.status == RegistrationStatus.REGISTERED.value, Registration.reminded_at.is_(None),
        LearningSession.starts_at > now, LearningSession.starts_at <= now + within)
        .options(selectinload(Registration.user)))
    sent = 0
    for row in list(due):
        session = db.get(LearningSession, row.session_id)
        if row.user.email:
            local = session.starts_at.astimezone(zone(session.timezone))
            outbox.queue(db, to=row.user.email, locale=row.user.locale,
                         subject=N_("Reminder: %(title)s", title=session.title),
                         body=[N_("Hello %(name)s,", name=row.user.shown_name), "",
                               N_("“%(title)s” starts %(when)s (%(timezone)s).", title=session.title,
                                  when=day_and_time(local), timezone=session.timezone),
                               link_for(session), ""])
            sent += 1
        notifications.notify(db, [row.user_id], "session_reminder", N_("“%(title)s” starts soon.", title=session.title),
                             f"/sessions/{session.slug}", already_mailed=True)  # the reminder e-mail went already
        row.reminded_at = now
    db.commit()
    return sent


# ---------------------------------------------------------------------------------------------
# The live room

def room_key(session_id: int, room: str = MAIN_ROOM) -> str:
    return f"{session_id}:{room}"


def participant_role(db: Session, actor, session: LearningSession) -> str:
    """The role someone takes part in: facilitator, or the role they registered with."""
    if actor.id in session.facilitator_ids:
        return "facilitator"
    row = registration_of(db, actor, session)
    return row.acting_role if row is not None else acting_role(actor)


def restriction(db: Session, session_id: int, user_id: int) -> str | None:
    return db.scalar(select(RoomRestriction.kind).where(RoomRestriction.session_id == session_id,
                                                        RoomRestriction.user_id == user_id))


@dataclass(frozen=True)
class RoomEntry:
    """The target of the "session.join" rule: a session, and whether this person registered for it."""

    session: LearningSession
    registered: bool

    @property
    def facilitator_ids(self) -> set[int]:
        return self.session.facilitator_ids


def check_room(db: Session, actor, session: LearningSession, room: str = MAIN_ROOM, *, write: bool = False) -> Breakout | None:
    """May this person be in (and, with write, speak in) this room right now? Raises if not."""
    registration = registration_of(db, actor, session)
    access.require(actor, "session.join", RoomEntry(
        session, registration is not None and registration.status == RegistrationStatus.REGISTERED))
    restricted = restriction(db, session.id, actor.id)
    if restricted == "removed":
        raise Forbidden(N_("A facilitator removed you from this session."))
    if write and restricted == "muted":
        raise Forbidden(N_("A facilitator muted you; you can still read along."))
    if room == MAIN_ROOM:
        return None
    match = re.fullmatch(r"breakout-(\d+)", room or "")
    breakout = db.get(Breakout, int(match.group(1))) if match else None
    if breakout is None or breakout.session_id != session.id:
        raise NotFound(N_("No such room."))
    if not breakout.is_open and actor.id not in session.facilitator_ids:
        raise Forbidden(N_("This breakout is closed."))
    if breakout.roles and actor.id not in session.facilitator_ids and participant_role(db, actor, session) not in breakout.roles:
        raise Forbidden(N_("This breakout is for other roles."))
    return breakout


def _next_seq(db: Session, key: str) -> int:
    """Take the next number of the room's sequence, atomically on both SQLite and PostgreSQL."""
    updated = db.execute(update(RoomCounter).where(RoomCounter.room_key == key)
                         .values(last_seq=RoomCounter.last_seq + 1).returning(RoomCounter.last_seq)).scalar()
    if updated is not None:
        return updated
    try:
        with db.begin_nested():
            db.add(RoomCounter(room_key=key, last_seq=1))
        return 1
    except IntegrityError:
        return _next_seq(db, key)


def record(db: Session, actor, session: LearningSession, kind: str, *, room: str = MAIN_ROOM, body: str = "",
           data: dict | None = None, client_id: str | None = None, role: str | None = None) -> tuple[RoomEvent, bool]:
    """Commit one event with the room's next sequence number. Returns (event, created): a repeated
    client id returns the stored event and created=False, so a retry is never a duplicate."""
    if client_id is not None:
        existing = db.scalar(select(RoomEvent).where(RoomEvent.author_id == actor.id, RoomEvent.client_id == client_id))
        if existing is not None:
            return existing, False
    key = room_key(session.id, room)
    event = RoomEvent(session_id=session.id, room_key=key, seq=_next_seq(db, key), kind=kind,
                      author_id=getattr(actor, "id", None),
                      acting_role=role if role is not None else participant_role(db, actor, session),
                      body=body, data=data or {}, client_id=client_id)
    db.add(event)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        if client_id is not None:  # the same client id raced in on another process
            existing = db.scalar(select(RoomEvent).where(RoomEvent.author_id == actor.id, RoomEvent.client_id == client_id))
            if existing is not None:
                return existing, False
        raise
    return event, True


def events_after(db: Session, actor, session: LearningSession, room: str, after_seq: int, limit: int = 500) -> list[RoomEvent]:
    """What a (re)connecting client missed, in order."""
    check_room(db, actor, session, room)
    return list(db.scalars(select(RoomEvent).where(RoomEvent.room_key == room_key(session.id, room),
                                                   RoomEvent.seq > max(0, after_seq))
                           .order_by(RoomEvent.seq).limit(limit)))


def _text(value, field: str, maximum: int = MAX_MESSAGE) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid({field: [N_("Write something first.")]})
    value = value.strip()
    if len(value) > maximum:
        raise Invalid({field: [N_("Keep it under %(maximum)s characters.", maximum=maximum)]})
    return value


def _client_id(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise Invalid({"client_id": [N_("Each event needs a client id (1–64 letters, digits, . _ : -).")]})
    return value


class RateLimiter:
    """At most `count` events per `seconds` per person (socket events are not covered by Flask-Limiter),
    counted in this process: the limiter without Redis."""

    def __init__(self, count: int, seconds: float):
        self.count, self.seconds = count, seconds
        self._hits: dict[int, deque] = defaultdict(deque)

    def check(self, user_id: int) -> None:
        now = time.monotonic()
        hits = self._hits[user_id]
        while hits and now - hits[0] > self.seconds:
            hits.popleft()
        if len(hits) >= self.count:
            raise self.refusal()
        hits.append(now)

    def refusal(self) -> Invalid:
        return Invalid({"rate": [N_("Slow down: at most %(count)s messages in %(seconds)s seconds.",
                                    count=self.count, seconds=self.seconds)]})


class SharedRateLimiter(RateLimiter):
    """The same limit counted in Redis, so that it holds across server processes: a fixed window of
    `seconds` per person (INCR, and EXPIRE so the counter goes away). `client` is a redis-py client;
    if Redis fails, this process counts alone rather than refusing everybody."""

    def __init__(self, client, prefix: str, count: int, seconds: float):
        super().__init__(count, seconds)
        self.client, self.prefix = client, prefix

    def check(self, user_id: int) -> None:
        window = int(time.time() // self.seconds)
        key = f"{self.prefix}:{user_id}:{window}"
        try:
            pipe = self.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, int(self.seconds) + 1)
            hits = pipe.execute()[0]
        except Exception:  # redis.RedisError; network/ stays free of the redis import
            log.warning("shared rate limit unavailable; counting in this process", exc_info=True)
            return super().check(user_id)
        if hits > self.count:
            raise self.refusal()


def chat(db: Session, actor, session: LearningSession, *, body, client_id, room: str = MAIN_ROOM):
    check_room(db, actor, session, room, write=True)
    return record(db, actor, session, "chat", room=room, body=_text(body, "body"), client_id=_client_id(client_id))


def ask(db: Session, actor, session: LearningSession, *, body, client_id, anonymous: bool = False):
    check_room(db, actor, session, write=True)
    return record(db, actor, session, "question", body=_text(body, "body", 500),
                  data={"anonymous": bool(anonymous), "votes": 0, "answered": False}, client_id=_client_id(client_id))


def _question(db: Session, session: LearningSession, question_id) -> RoomEvent:
    question = db.get(RoomEvent, question_id) if isinstance(question_id, int) else None
    if question is None or question.session_id != session.id or question.kind != "question":
        raise NotFound(N_("No such question."))
    return question


def upvote(db: Session, actor, session: LearningSession, *, question_id, client_id):
    check_room(db, actor, session, write=True)
    question = _question(db, session, question_id)
    client_id = _client_id(client_id)
    existing = db.scalar(select(RoomEvent).where(RoomEvent.author_id == actor.id, RoomEvent.client_id == client_id))
    if existing is not None:
        return existing, False
    try:
        with db.begin_nested():
            db.add(QuestionVote(question_id=question.id, user_id=actor.id))
    except IntegrityError:
        raise Conflict(N_("You already upvoted this question."))
    votes = db.scalar(select(func.count(QuestionVote.id)).where(QuestionVote.question_id == question.id))
    return record(db, actor, session, "upvote", data={"question_id": question.id, "votes": votes}, client_id=client_id)


def answered(db: Session, actor, session: LearningSession, *, question_id, client_id):
    access.require(actor, "session.facilitate", session)
    question = _question(db, session, question_id)
    return record(db, actor, session, "answered", data={"question_id": question.id}, client_id=_client_id(client_id))


def open_poll(db: Session, actor, session: LearningSession, *, question, options, client_id):
    access.require(actor, "session.facilitate", session)
    question = _text(question, "question", 300)
    if not isinstance(options, list) or not 2 <= len(options) <= MAX_POLL_OPTIONS:
        raise Invalid({"options": [N_("Give 2 to %(max_poll_options)s options.", max_poll_options=MAX_POLL_OPTIONS)]})
    options = [_text(o, "options", 120) for o in options]
    client_id = _client_id(client_id)
    existing = db.scalar(select(RoomEvent).where(RoomEvent.author_id == actor.id, RoomEvent.client_id == client_id))
    if existing is not None:
        return existing, False
    poll = Poll(session_id=session.id, question=question, options=options, opened_by_id=actor.id)
    db.add(poll)
    db.flush()
    return record(db, actor, session, "poll_open", body=question,
                  data={"poll_id": poll.id, "options": options, "counts": [0] * len(options)}, client_id=client_id)


def poll_counts(db: Session, poll: Poll) -> list[int]:
    counts = [0] * len(poll.options)
    for option, n in db.execute(select(PollVote.option, func.count(PollVote.id)).where(PollVote.poll_id == poll.id)
                                .group_by(PollVote.option)):
        counts[option] = n
    return counts


def _poll(db: Session, session: LearningSession, poll_id) -> Poll:
    poll = db.get(Poll, poll_id) if isinstance(poll_id, int) else None
    if poll is None or poll.session_id != session.id:
        raise NotFound(N_("No such poll."))
    return poll


def vote(db: Session, actor, session: LearningSession, *, poll_id, option, client_id):
    check_room(db, actor, session, write=True)
    poll = _poll(db, session, poll_id)
    client_id = _client_id(client_id)
    existing = db.scalar(select(RoomEvent).where(RoomEvent.author_id == actor.id, RoomEvent.client_id == client_id))
    if existing is not None:
        return existing, False
    if not poll.is_open:
        raise Conflict(N_("This poll is closed."))
    if not isinstance(option, int) or not 0 <= option < len(poll.options):
        raise Invalid({"option": [N_("Choose one of the poll's options.")]})
    try:
        with db.begin_nested():
            db.add(PollVote(poll_id=poll.id, user_id=actor.id, option=option,
                            acting_role=participant_role(db, actor, session)))
    except IntegrityError:
        raise Conflict(N_("You have already voted in this poll."))
    return record(db, actor, session, "vote", data={"poll_id": poll.id, "counts": poll_counts(db, poll)},
                  client_id=client_id)


def close_poll(db: Session, actor, session: LearningSession, *, poll_id, client_id):
    access.require(actor, "session.facilitate", session)
    poll = _poll(db, session, poll_id)
    if not poll.is_open:
        raise Conflict(N_("This poll is already closed."))
    poll.is_open = False
    return record(db, actor, session, "poll_close", data={"poll_id": poll.id, "counts": poll_counts(db, poll)},
                  client_id=_client_id(client_id))


def hand(db: Session, actor, session: LearningSession, *, raised, client_id):
    check_room(db, actor, session, write=True)
    return record(db, actor, session, "hand", data={"raised": bool(raised), "user_id": actor.id},
                  client_id=_client_id(client_id))


def lower_hand(db: Session, actor, session: LearningSession, *, user_id, client_id):
    access.require(actor, "session.facilitate", session)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise Invalid({"user_id": [N_("No such participant.")]})
    return record(db, actor, session, "hand_lower", data={"user_id": user_id}, client_id=_client_id(client_id))


def hands_up(db: Session, session: LearningSession) -> list[int]:
    """The raise-hand queue, in the order hands went up."""
    state: dict[int, int] = {}
    for kind, data, seq in db.execute(select(RoomEvent.kind, RoomEvent.data, RoomEvent.seq).where(
            RoomEvent.room_key == room_key(session.id), RoomEvent.kind.in_(("hand", "hand_lower")))
            .order_by(RoomEvent.seq)):
        user = data.get("user_id")
        if kind == "hand" and data.get("raised"):
            state.setdefault(user, seq)
        else:
            state.pop(user, None)
    return [user for user, _seq in sorted(state.items(), key=lambda item: item[1])]


def advance_agenda(db: Session, actor, session: LearningSession, *, module_id, client_id):
    access.require(actor, "session.facilitate", session)
    module = db.get(AgendaModule, module_id) if isinstance(module_id, int) else None
    if module is None or module.session_id != session.id:
        raise NotFound(N_("No such module."))
    session.current_module_id = module.id
    return record(db, actor, session, "agenda", body=module.title, data={"module_id": module.id},
                  client_id=_client_id(client_id))


def _event_in_session(db: Session, session: LearningSession, event_id) -> RoomEvent:
    event = db.get(RoomEvent, event_id) if isinstance(event_id, int) else None
    if event is None or event.session_id != session.id:
        raise NotFound(N_("No such message."))
    return event


def pin(db: Session, actor, session: LearningSession, *, message_id, client_id):
    access.require(actor, "session.facilitate", session)
    message = _event_in_session(db, session, message_id)
    return record(db, actor, session, "pin", room=message.room_key.split(":", 1)[1], data={"message_id": message.id},
                  client_id=_client_id(client_id))


def remove_message(db: Session, actor, session: LearningSession, *, message_id, client_id):
    access.require(actor, "session.facilitate", session)
    message = _event_in_session(db, session, message_id)
    audit.record(db, actor, "room.remove_message", message, session_id=session.id)
    return record(db, actor, session, "remove", room=message.room_key.split(":", 1)[1],
                  data={"message_id": message.id}, client_id=_client_id(client_id))


def restrict(db: Session, actor, session: LearningSession, *, user_id, kind: str, client_id):
    """Mute (read only) or remove (cut off at once) a participant; "unmute" lifts a mute."""
    access.require(actor, "session.facilitate", session)
    target = db.get(User, user_id) if isinstance(user_id, int) else None
    if target is None:
        raise NotFound(N_("No such participant."))
    if access.facilitates(target, session):  # the session's facilitators, and network leaders (they facilitate all)
        raise Invalid({"user_id": [N_("Facilitators cannot be muted or removed.")]})
    row = db.scalar(select(RoomRestriction).where(RoomRestriction.session_id == session.id,
                                                  RoomRestriction.user_id == user_id))
    if kind == "unmute":
        if row is not None and row.kind == "muted":
            db.delete(row)
    elif kind in ("muted", "removed"):
        if row is None:
            row = RoomRestriction(session_id=session.id, user_id=user_id, kind=kind, by_id=actor.id)
            db.add(row)
        row.kind = kind
    else:
        raise Invalid({"kind": [N_("Choose mute, unmute or remove.")]})
    audit.record(db, actor, f"room.{kind}", None, session_id=session.id, user_id=user_id)
    return record(db, actor, session, {"muted": "mute", "removed": "remove_participant"}.get(kind, kind),
                  data={"user_id": user_id}, client_id=_client_id(client_id))


def open_breakout(db: Session, actor, session: LearningSession, *, name, roles, client_id):
    access.require(actor, "session.facilitate", session)
    name = _text(name, "name", 80)
    allowed = {"patient", "parent", "clinician", "site_lead", "network_leader", "moderator"}
    if not isinstance(roles, list) or any(r not in allowed for r in roles):
        raise Invalid({"roles": [N_("Choose roles from the list (or none, for everyone).")]})
    client_id = _client_id(client_id)
    existing = db.scalar(select(RoomEvent).where(RoomEvent.author_id == actor.id, RoomEvent.client_id == client_id))
    if existing is not None:
        return existing, False
    breakout = Breakout(session_id=session.id, name=name, roles=sorted(set(roles)))
    db.add(breakout)
    db.flush()
    return record(db, actor, session, "breakout_open", body=name,
                  data={"breakout_id": breakout.id, "room": breakout.room, "roles": breakout.roles},
                  client_id=client_id)


def close_breakout(db: Session, actor, session: LearningSession, *, breakout_id, client_id):
    access.require(actor, "session.facilitate", session)
    breakout = db.get(Breakout, breakout_id) if isinstance(breakout_id, int) else None
    if breakout is None or breakout.session_id != session.id:
        raise NotFound(N_("No such breakout."))
    breakout.is_open = False
    return record(db, actor, session, "breakout_close", data={"breakout_id": breakout.id, "room": breakout.room},
                  client_id=_client_id(client_id))


def breakouts(db: Session, actor, session: LearningSession) -> list[Breakout]:
    """Open breakouts this person may enter."""
    rows = list(db.scalars(select(Breakout).where(Breakout.session_id == session.id, Breakout.is_open.is_(True))))
    role = participant_role(db, actor, session)
    return [b for b in rows if not b.roles or role == "facilitator" or role in b.roles]


# ---------------------------------------------------------------------------------------------
# Presence and attendance

def enter(db: Session, actor, session: LearningSession, *, sid: str, room: str = MAIN_ROOM,
          server_id: str = "") -> None:
    check_room(db, actor, session, room)
    role = participant_role(db, actor, session)
    db.merge(Presence(sid=sid, session_id=session.id, room_key=room_key(session.id, room), user_id=actor.id,
                      acting_role=role, server_id=server_id))
    row = registration_of(db, actor, session)
    if row is not None and row.attended_at is None:
        row.attended_at = utcnow()
    usage.record(db, actor, "attendance", "session", session.id, role=role if role != "facilitator" else None)
    db.commit()


def leave(db: Session, sid: str) -> tuple[int, str] | None:
    """Forget one connection; returns the (session id, room name) it was in."""
    row = db.get(Presence, sid)
    if row is None:
        return None
    where = (row.session_id, row.room_key.split(":", 1)[1])
    db.delete(row)
    db.commit()
    return where


def presence(db: Session, session: LearningSession, room: str = MAIN_ROOM) -> dict:
    """Who is present, grouped by role, with counts (people, not connections)."""
    rows = db.execute(select(Presence.user_id, Presence.acting_role, User.full_name, User.name_display)
                      .join(User, User.id == Presence.user_id)
                      .where(Presence.room_key == room_key(session.id, room)).distinct()).all()
    groups: dict[str, list[dict]] = defaultdict(list)
    seen: set[int] = set()
    for user_id, role, full_name, display in rows:
        if user_id in seen:
            continue
        seen.add(user_id)
        name = full_name.split()[0] if display == "first" else full_name
        groups[role].append({"id": user_id, "name": name})
    return {"counts": {role: len(people) for role, people in groups.items()}, "people": dict(groups),
            "total": len(seen)}


def room_presence(db: Session, actor, session: LearningSession, room: str = MAIN_ROOM) -> dict:
    """The whole list of who is in a room, for someone who may be in it (the `presence` request)."""
    check_room(db, actor, session, room)
    return presence(db, session, room)


def clear_presence(db: Session, sids: list[str] | None = None) -> None:
    """Forget these connections (a person signed out or was removed), or every connection."""
    query = Presence.__table__.delete()
    if sids is not None:
        query = query.where(Presence.sid.in_(sids))
    db.execute(query)
    db.commit()


def presence_servers(db: Session) -> list[str]:
    """The server processes that hold a connection in some room, by their ids."""
    return list(db.scalars(select(Presence.server_id).distinct()))


def clear_servers(db: Session, server_ids: list[str]) -> dict[tuple[int, str], list[tuple[int, str]]]:
    """Forget every connection of these server processes (they died: nobody said goodbye for their
    sockets). Returns the rooms that changed, (session id, room name) -> the (user id, acting role) of
    each connection removed there."""
    if not server_ids:
        return {}
    rows = db.execute(select(Presence.session_id, Presence.room_key, Presence.user_id, Presence.acting_role)
                      .where(Presence.server_id.in_(server_ids))).all()
    db.execute(Presence.__table__.delete().where(Presence.server_id.in_(server_ids)))
    db.commit()
    rooms: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for session_id, key, user_id, role in rows:
        rooms.setdefault((session_id, key.split(":", 1)[1]), []).append((user_id, role))
    return dict(sorted(rooms.items()))


def clear_other_servers(db: Session, server_id: str) -> dict[tuple[int, str], list[tuple[int, str]]]:
    """One process without Redis is the only server: every row that is not its own is left over from
    before it started."""
    return clear_servers(db, [s for s in presence_servers(db) if s != server_id])


# ---------------------------------------------------------------------------------------------
# After the session

@dataclass
class Transcript:
    session: LearningSession
    chat: list[RoomEvent]
    questions: list[dict]
    polls: list[dict]
    attendance: dict[str, int]


def transcript(db: Session, actor, session: LearningSession) -> Transcript:
    """The main room's chat, questions with their answers, poll results and attendance by role.
    Breakout rooms are not in it (role spaces stay private)."""
    access.require(actor, "session.view", session)
    events = list(db.scalars(select(RoomEvent).where(RoomEvent.room_key == room_key(session.id))
                             .order_by(RoomEvent.seq)))
    removed = {e.data.get("message_id") for e in events if e.kind == "remove"}
    answered_ids = {e.data.get("question_id") for e in events if e.kind == "answered"}
    votes = dict(db.execute(select(QuestionVote.question_id, func.count(QuestionVote.id))
                            .join(RoomEvent, RoomEvent.id == QuestionVote.question_id)
                            .where(RoomEvent.session_id == session.id).group_by(QuestionVote.question_id)).all())
    chat_rows = [e for e in events if e.kind == "chat" and e.id not in removed]
    questions = [{"event": e, "answered": e.id in answered_ids, "votes": votes.get(e.id, 0),
                  "anonymous": bool(e.data.get("anonymous"))} for e in events if e.kind == "question" and e.id not in removed]
    polls = [{"poll": p, "counts": poll_counts(db, p)} for p in
             db.scalars(select(Poll).where(Poll.session_id == session.id).order_by(Poll.id))]
    attendance = dict(db.execute(select(Registration.acting_role, func.count(Registration.id))
                                 .where(Registration.session_id == session.id, Registration.attended_at.is_not(None))
                                 .group_by(Registration.acting_role)).all())
    return Transcript(session, chat_rows, questions, polls, attendance)


def transcript_markdown(t: Transcript, author_name) -> str:
    """The transcript as Markdown (also the body of a 'session notes' library draft)."""
    lines = [f"# Session notes: {t.session.title}", "",
             f"{t.session.starts_at:%Y-%m-%d %H:%M} UTC · attended by "
             + (", ".join(f"{n} {role}" for role, n in sorted(t.attendance.items())) or "nobody yet"), ""]
    if t.questions:
        lines += ["## Questions", ""]
        for q in t.questions:
            who = "anonymous" if q["anonymous"] else author_name(q["event"])
            lines.append(f"- {q['event'].body} — *{who}*, {q['votes']} upvotes"
                         f"{N_(' (answered)') if q['answered'] else ''}")
        lines.append("")
    if t.polls:
        lines += ["## Polls", ""]
        for p in t.polls:
            lines.append(f"**{p['poll'].question}**")
            lines += [f"- {option}: {count}" for option, count in zip(p["poll"].options, p["counts"])]
            lines.append("")
    if t.chat:
        lines += ["## Chat", ""]
        lines += [f"- **{author_name(e)}** ({e.acting_role}): {e.body}" for e in t.chat]
    return "\n".join(lines) + "\n"
