"""Usage events: views, downloads, adoptions and attendance, by the actor's role and month.

Recorded from the library on, so the network-health figures have a history. An event names the
acting role, never more about the person than their id (kept so unique readers can be counted);
the figures built on it are aggregates with small cells suppressed.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from network.db import Base, utcnow
from network.roles import ROLE_PRIORITY

KINDS = ("view", "download", "adoption", "attendance")


class UsageEvent(Base):
    __tablename__ = "usage_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the first day of the month, for monthly figures without date arithmetic in SQL
    month: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(12))
    object_type: Mapped[str] = mapped_column(String(24))
    object_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the person acted in ("" for an anonymous visitor)
    actor_role: Mapped[str] = mapped_column(String(20), default="")


def primary_role(actor) -> str:
    """The role an event is counted under when the person did not choose one."""
    if not getattr(actor, "is_authenticated", False):
        return ""
    held = actor.roles
    return next((role.value for role in ROLE_PRIORITY if role in held), "")


def record(db: Session, actor, kind: str, object_type: str, object_id: int, *, role: str | None = None) -> None:
    """Add an event to the caller's unit of work."""
    now = utcnow()
    db.add(UsageEvent(at=now, month=date(now.year, now.month, 1), kind=kind, object_type=object_type,
                      object_id=object_id, actor_id=getattr(actor, "id", None) if getattr(
                          actor, "is_authenticated", False) else None,
                      actor_role=role if role is not None else primary_role(actor)))
