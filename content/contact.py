"""Contact between members: from the people directory, a member asks to connect with someone who offers
help; the other accepts or declines; an accepted pair gets a private thread. Blocking ends contact at once.

Rules, each refused with a clear message and nothing changed: only people listed in the directory take
requests; not when either has blocked the other; one open request per pair. A request from an adult
(18+, or no birth year given) outside a teen's own site waits for a linked parent's approval before the
teen sees it. Thread messages go through the one Markdown renderer, are rate limited, and can be
reported to the moderators or flagged as a safety concern.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network import access, audit, clock, minors, notifications
from network.db import Base, utcnow
from network.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from network.i18n import N_
from network.people import CareLink, User, acting_role
from network.roles import Role

MAX_NOTE = 500
MAX_MESSAGE = 4_000
#: private messages per person per minute
RATE_COUNT = 10
RATE_SECONDS = 60


class TooMany(DomainError):
    """Too many messages in a short time (answered 429)."""

    status = 429


class Connection(Base):
    """A request to connect, and — once accepted — the private thread between the two."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the role the requester asks in ("a parent at Riverside")
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: awaiting_parent, pending, accepted, declined, refused_by_parent, ended
    status: Mapped[str] = mapped_column(String(20), index=True)
    needs_parent: Mapped[bool] = mapped_column(default=False)
    parent_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="selectin")
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="selectin")

    def other(self, user_id: int) -> User:
        return self.recipient if user_id == self.requester_id else self.requester


class ContactMessage(Base):
    __tablename__ = "contact_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    author: Mapped[User | None] = relationship(lazy="selectin")


class Block(Base):
    """The blocker hears nothing more from the blocked member: no requests, no thread."""

    __tablename__ = "member_blocks"
    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    blocked: Mapped[User] = relationship(foreign_keys=[blocked_id], lazy="selectin")


OPEN = ("awaiting_parent", "pending", "accepted")


@dataclass(frozen=True)
class RequestTarget:
    """The facts the contact.request rule decides on."""

    recipient_id: int
    opted_in: bool
    blocked: bool


@dataclass(frozen=True)
class Approval:
    """The target of contact.approve: the linked parents who may decide for the teen."""

    approver_ids: frozenset[int]


# ---------------------------------------------------------------------------------------------
# Facts

def is_teen(user: User, today: date | None = None) -> bool:
    """13 to 17, in network/minors.py's one definition of ages."""
    return minors.is_teen(user, today)


def is_adult(user: User, today: date | None = None) -> bool:
    """18 or more; someone who gave no birth year is treated as an adult (the careful choice)."""
    return minors.age(user, today) is None or minors.is_adult(user, today)


def parent_ids(db: Session, patient: User) -> set[int]:
    return set(db.scalars(select(CareLink.parent_id).where(CareLink.patient_id == patient.id)))


def blocked_between(db: Session, a: int, b: int) -> tuple[bool, bool]:
    """(a blocked b, b blocked a)."""
    rows = set(db.execute(select(Block.blocker_id, Block.blocked_id).where(
        or_((Block.blocker_id == a) & (Block.blocked_id == b), (Block.blocker_id == b) & (Block.blocked_id == a)))).all())
    return (a, b) in rows, (b, a) in rows


def _open_between(db: Session, a: int, b: int) -> Connection | None:
    return db.scalar(select(Connection).where(Connection.status.in_(OPEN), or_(
        (Connection.requester_id == a) & (Connection.recipient_id == b),
        (Connection.requester_id == b) & (Connection.recipient_id == a))).limit(1))


# ---------------------------------------------------------------------------------------------
# Asking

def recipient_for_request(db: Session, actor, recipient_id: int) -> User:
    """The person to ask, if this member may ask them; a clear refusal otherwise (nothing changes)."""
    access.require(actor, "contact.use")
    recipient = db.get(User, recipient_id)
    if recipient is None or not recipient.is_active:
        raise NotFound(N_("No such member."))
    i_blocked, they_blocked = blocked_between(db, actor.id, recipient.id)
    target = RequestTarget(recipient.id, bool(recipient.in_directory), i_blocked or they_blocked)
    if not access.can(actor, "contact.request", target):
        if recipient.id == actor.id:
            raise Forbidden(N_("You cannot ask yourself to connect."))
        if i_blocked:
            raise Forbidden(N_("You blocked this member. Unblock them first if you want to connect."))
        if not recipient.in_directory or they_blocked:
            # the same words whether they never opted in or blocked you: a block is never revealed
            raise Forbidden(N_("This member is not taking contact requests."))
        access.require(actor, "contact.request", target)
    return recipient


def ask(db: Session, actor, recipient_id: int, *, note: str = "", role: str | None = None,
        today: date | None = None) -> Connection:
    recipient = recipient_for_request(db, actor, recipient_id)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid({"note": [N_("Keep the message under %(maximum)s characters.", maximum=MAX_NOTE)]})
    existing = _open_between(db, actor.id, recipient.id)
    if existing is not None:
        raise Conflict(N_("You are already connected with this member.") if existing.status == "accepted"
                       else N_("There is already an open request between you; wait for the answer."))
    today = today or clock.today()
    shares_site = bool(actor.site_ids() & recipient.site_ids())
    needs_parent = is_teen(recipient, today) and is_adult(actor, today) and not shares_site
    parents = parent_ids(db, recipient) if needs_parent else set()
    if needs_parent and not parents:
        raise Forbidden(N_("This member is not taking contact requests from outside their site."))
    row = Connection(requester_id=actor.id, recipient_id=recipient.id, acting_role=acting_role(actor, role),
                     note=note, needs_parent=needs_parent, status="awaiting_parent" if needs_parent else "pending")
    db.add(row)
    db.flush()
    audit.record(db, actor, "contact.request", row, recipient_id=recipient.id, needs_parent=needs_parent)
    if needs_parent:
        notifications.notify(db, parents, "contact_request",
                             N_("%(name)s asks to connect with %(child)s: your approval is needed.",
                                name=actor.shown_name, child=recipient.shown_name),
                             "/connections/")
    else:
        notifications.notify(db, [recipient.id], "contact_request",
                             N_("%(name)s asks to connect with you.", name=actor.shown_name), "/connections/")
    db.commit()
    return row


def _connection(db: Session, connection_id: int) -> Connection:
    row = db.get(Connection, connection_id)
    if row is None:
        raise NotFound(N_("No such request."))
    return row


def approve(db: Session, actor, connection_id: int, *, approved: bool) -> Connection:
    """A linked parent lets an adult's request reach their teen, or refuses it (the teen never sees it)."""
    row = _connection(db, connection_id)
    access.require(actor, "contact.approve", Approval(frozenset(parent_ids(db, row.recipient))
                                                      if row.status == "awaiting_parent" else frozenset()))
    row.parent_decided_by_id, row.parent_decided_at = actor.id, utcnow()
    row.status = "pending" if approved else "refused_by_parent"
    audit.record(db, actor, "contact.parent_approve" if approved else "contact.parent_refuse", row)
    if approved:
        notifications.notify(db, [row.recipient_id], "contact_request",
                             N_("%(name)s asks to connect with you.", name=row.requester.shown_name), "/connections/")
    db.commit()
    return row


def answer(db: Session, actor, connection_id: int, *, accept: bool) -> Connection:
    row = _connection(db, connection_id)
    access.require(actor, "contact.answer", row)
    if row.status != "pending":
        raise Conflict(N_("This request has already been answered."))
    if accept and any(blocked_between(db, row.requester_id, row.recipient_id)):
        raise Forbidden(N_("This member is not taking contact requests."))
    row.status, row.answered_at = ("accepted" if accept else "declined"), utcnow()
    audit.record(db, actor, "contact.accept" if accept else "contact.decline", row)
    if accept:
        notifications.notify(db, [row.requester_id], "contact_request",
                             N_("%(name)s accepted your request to connect.", name=actor.shown_name),
                             f"/connections/{row.id}")
    db.commit()
    return row


# ---------------------------------------------------------------------------------------------
# The private thread

def thread(db: Session, actor, connection_id: int) -> tuple[Connection, list[ContactMessage]]:
    row = _connection(db, connection_id)
    access.require(actor, "contact.thread", row)
    messages = list(db.scalars(select(ContactMessage).where(ContactMessage.connection_id == row.id)
                               .order_by(ContactMessage.id)))
    return row, messages


def send(db: Session, actor, connection_id: int, *, body: str, now: datetime | None = None) -> ContactMessage:
    row = _connection(db, connection_id)
    access.require(actor, "contact.thread", row)
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid({"body": [N_("Write a message first.")]})
    if len(body) > MAX_MESSAGE:
        raise Invalid({"body": [N_("Keep the message under 4,000 characters.")]})  # MAX_MESSAGE, written as before
    now = now or utcnow()
    recent = db.scalar(select(func.count(ContactMessage.id)).where(
        ContactMessage.author_id == actor.id, ContactMessage.created_at > now - timedelta(seconds=RATE_SECONDS))) or 0
    if recent >= RATE_COUNT:
        raise TooMany(N_("Slow down: at most %(count)s messages a minute. Wait a moment and send again.",
                         count=RATE_COUNT))
    message = ContactMessage(connection_id=row.id, author_id=actor.id, acting_role=acting_role(actor), body=body,
                             created_at=now)
    db.add(message)
    db.flush()
    audit.record(db, actor, "contact.message", message, connection_id=row.id)
    db.commit()
    from content import safeguarding

    safeguarding.screen(db, object_type="contact_message", object_id=message.id, text=body,
                        link=f"/connections/{row.id}")
    return message


def report(db: Session, actor, message_id: int, *, reason: str):
    """An ordinary report of a private message, to the moderators' queue (safety concerns: flag instead)."""
    from content.narratives import MAX_REASON, Report

    message = db.get(ContactMessage, message_id)
    if message is None:
        raise NotFound(N_("No such message."))
    access.require(actor, "contact.thread", db.get(Connection, message.connection_id))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": [N_("Say what is wrong, so the moderators can act.")]})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": [N_("Keep it under %(maximum)s characters.", maximum=MAX_REASON)]})
    row = Report(object_type="contact_message", object_id=message.id, reporter_id=actor.id,
                 reason=f"{reason}\n\n> {message.body[:500]}")
    db.add(row)
    db.flush()
    audit.record(db, actor, "report.create", row, object_type="contact_message", object_id=message.id)
    db.commit()
    return row


# ---------------------------------------------------------------------------------------------
# Blocking

def block(db: Session, actor, user_id: int) -> Block:
    """End contact at once: open requests and threads between the two close, new requests are refused."""
    access.require(actor, "contact.use")
    other = db.get(User, user_id)
    if other is None or other.id == actor.id:
        raise NotFound(N_("No such member."))
    existing = db.scalar(select(Block).where(Block.blocker_id == actor.id, Block.blocked_id == other.id))
    if existing is not None:
        raise Conflict(N_("You have already blocked this member."))
    row = Block(blocker_id=actor.id, blocked_id=other.id)
    db.add(row)
    now = utcnow()
    ended = 0
    for connection in db.scalars(select(Connection).where(Connection.status.in_(OPEN), or_(
            (Connection.requester_id == actor.id) & (Connection.recipient_id == other.id),
            (Connection.requester_id == other.id) & (Connection.recipient_id == actor.id)))):
        connection.status, connection.ended_at = "ended", now
        ended += 1
    db.flush()
    audit.record(db, actor, "contact.block", row, blocked_id=other.id, connections_ended=ended)
    db.commit()
    return row


def unblock(db: Session, actor, user_id: int) -> None:
    access.require(actor, "contact.use")
    row = db.scalar(select(Block).where(Block.blocker_id == actor.id, Block.blocked_id == user_id))
    if row is None:
        raise NotFound(N_("You have not blocked this member."))
    audit.record(db, actor, "contact.unblock", row, blocked_id=user_id)
    db.delete(row)
    db.commit()


# ---------------------------------------------------------------------------------------------
# One member's overview

@dataclass
class Overview:
    connections: list[Connection]
    incoming: list[Connection]
    outgoing: list[Connection]
    to_approve: list[Connection]
    blocks: list[Block]


def overview(db: Session, actor) -> Overview:
    access.require(actor, "contact.use")
    mine = list(db.scalars(select(Connection).where(
        or_(Connection.requester_id == actor.id, Connection.recipient_id == actor.id),
        Connection.status.in_(("pending", "accepted", "awaiting_parent"))).order_by(Connection.created_at.desc())))
    children = select(CareLink.patient_id).where(CareLink.parent_id == actor.id)
    to_approve = list(db.scalars(select(Connection).where(Connection.status == "awaiting_parent",
                                                          Connection.recipient_id.in_(children))
                                 .order_by(Connection.created_at)))
    blocks = list(db.scalars(select(Block).where(Block.blocker_id == actor.id).order_by(Block.created_at)))
    return Overview(
        connections=[c for c in mine if c.status == "accepted"],
        incoming=[c for c in mine if c.status == "pending" and c.recipient_id == actor.id],
        outgoing=[c for c in mine if c.status in ("pending", "awaiting_parent") and c.requester_id == actor.id],
        to_approve=to_approve, blocks=blocks)


def is_blocked_by_me(db: Session, actor, user_ids: list[int]) -> set[int]:
    if not access.signed_in(actor) or not user_ids:
        return set()
    return set(db.scalars(select(Block.blocked_id).where(Block.blocker_id == actor.id, Block.blocked_id.in_(user_ids))))
