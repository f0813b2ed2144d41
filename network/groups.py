"""Working groups (a Patient Advisory Council, a transition working group...): members from any role,
with their own page, members list, linked resources and sessions. Network leaders create them."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from network import access, audit
from network.db import Base, utcnow
from network.errors import Invalid, NotFound
from network.people import User, user_by_email
from network.i18n import N_


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list["GroupMember"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def member_ids(self) -> set[int]:
        return {m.user_id for m in self.members}


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: e.g. "chair", "member"
    title: Mapped[str] = mapped_column(String(40), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="selectin")


class GroupLink(Base):
    """A library resource or a learning session the group works on."""

    __tablename__ = "group_links"
    __table_args__ = (UniqueConstraint("group_id", "kind", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    #: "resource" or "session"
    kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(Integer)


def all_groups(db: Session, actor) -> list[Group]:
    access.require(actor, "group.view")
    return list(db.scalars(select(Group).order_by(Group.name)))


def by_slug(db: Session, actor, slug: str) -> Group:
    access.require(actor, "group.view")
    group = db.scalar(select(Group).where(Group.slug == slug).options(  # the page shows each member's roles
        selectinload(Group.members).selectinload(GroupMember.user).selectinload(User.memberships)))
    if group is None:
        raise NotFound(N_("No such group."))
    return group


def create(db: Session, actor, *, name: str, purpose: str = "") -> Group:
    access.require(actor, "group.manage")
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid({"name": [N_("Name the group (at most 120 characters).")]})
    if len(purpose or "") > 10_000:
        raise Invalid({"purpose": [N_("Use at most 10,000 characters.")]})
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "group"
    slug, n = base, 1
    while db.scalar(select(Group.id).where(Group.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    group = Group(slug=slug, name=name, purpose=purpose or "", created_by_id=actor.id)
    db.add(group)
    db.flush()
    audit.record(db, actor, "group.create", group, name=name)
    db.commit()
    return group


def add_member(db: Session, actor, group: Group, email: str, title: str = "member") -> GroupMember:
    access.require(actor, "group.manage")
    user = user_by_email(db, email or "")
    if user is None or not user.is_active:
        raise Invalid({"email": [N_("No active member has that e-mail address.")]})
    if user.id in group.member_ids:
        raise Invalid({"email": [N_("Already in the group.")]})
    title = (title or "member").strip()[:40] or "member"
    member = GroupMember(group_id=group.id, user_id=user.id, title=title)
    db.add(member)
    audit.record(db, actor, "group.member_add", group, user_id=user.id)
    db.commit()
    db.expire(group, ["members"])
    return member


def link(db: Session, actor, group: Group, kind: str, target_id: int) -> GroupLink:
    access.require(actor, "group.manage")
    if kind not in ("resource", "session"):
        raise Invalid({"kind": [N_("Link a resource or a session.")]})
    row = GroupLink(group_id=group.id, kind=kind, target_id=target_id)
    db.add(row)
    db.commit()
    return row


def links(db: Session, group: Group, kind: str) -> list[int]:
    return list(db.scalars(select(GroupLink.target_id).where(GroupLink.group_id == group.id, GroupLink.kind == kind)))


def groups_of(db: Session, user_id: int) -> list[Group]:
    return list(db.scalars(select(Group).join(GroupMember).where(GroupMember.user_id == user_id).order_by(Group.name)))
