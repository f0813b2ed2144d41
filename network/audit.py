"""The append-only audit log: who changed what, when. Written by services, read by leaders.

Rows are never updated or deleted (an ORM guard refuses it); details hold ids and field names,
never secrets or the content of deleted things.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network.db import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: when it happened (UTC)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: who did it; None for the system or an anonymous visitor
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: dotted verb, e.g. "site.create", "membership.end", "auth.login_failed"
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    #: the site the change concerns, so a site's history can be read on its own
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped["User | None"] = relationship("User", lazy="selectin")  # noqa: F821


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _ctx, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise PermissionError("the audit log is append-only")


def record(db: Session, actor, action: str, obj=None, *, site_id: int | None = None, **details) -> AuditEvent:
    """Add one audit row to the caller's unit of work (it commits with the change it describes)."""
    actor_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    event_row = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        site_id=site_id,
        details=details,
    )
    db.add(event_row)
    return event_row


def page(db: Session, actor, *, action_prefix: str | None = None, before_id: int | None = None,
         limit: int = 50) -> list[AuditEvent]:
    """Newest first, keyset-paginated."""
    from network import access

    access.require(actor, "audit.read")
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix))
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(db.scalars(query))


def count(db: Session) -> int:
    return db.scalar(select(func.count(AuditEvent.id))) or 0
