"""Notifications: in the app (a bell with an unread count) and an e-mail digest through the outbox.
Each kind can be switched on or off per person, for the app and for the digest separately."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from network import access, outbox
from network.db import Base, utcnow
from network.errors import Invalid
from network.i18n import N_, Text

KINDS = {
    "review_requested": "A resource waits for review",
    "review_due": "A tool you co-author is due for review",
    "resource_comment": "A comment on a resource you co-author",
    "suggestion_received": "A suggested change to a resource you co-author",
    "story_moderated": "The moderators decided on your story",
    "session_reminder": "A learning session you registered for is coming up",
    "data_due": "Your site's monthly figures are due",
    "tool_adopted": "Another site adopted a tool you co-author",
    "bright_spot": "Your site is a bright spot",
    "action_item": "An action item is yours",
    "turning_18": "You or your child turn 18 within a month",
    "turned_18": "You or your child turned 18: access to plans and tracking changed",
    "adult_access": "An adult patient renewed or ended your access to their plans",
    "contact_request": "A member asks to connect with you, or answered your request",
}


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    #: the English sentence (e-mail digests, rows written before translations were stored)
    text: Mapped[str] = mapped_column(String(300))
    #: the sentence's template and params (network.i18n.Text.to_json), so each reader sees it in their language
    message: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    #: a path in the app ("/library/slug"), never an outside address
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
    #: when it went out in an e-mail digest (None: not yet, or the person does not want it by e-mail)
    mailed_at: Mapped[datetime | None] = mapped_column()

    @property
    def sentence(self) -> str:
        """What to show: the stored Text (translatable at display time), or the English text of older rows."""
        return Text.from_json(self.message) if self.message else self.text


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    by_email: Mapped[bool] = mapped_column(Boolean, default=True)


def _preferences(db: Session, user_ids: set[int], kind: str) -> dict[int, NotificationPreference]:
    if not user_ids:
        return {}
    return {p.user_id: p for p in db.scalars(select(NotificationPreference).where(
        NotificationPreference.user_id.in_(user_ids), NotificationPreference.kind == kind))}


def notify(db: Session, user_ids, kind: str, text: str, link: str = "", *, exclude: int | None = None,
           already_mailed: bool = False) -> int:
    """Add notifications to the caller's unit of work, for everyone who has not switched this kind off."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    targets = {int(u) for u in user_ids if u is not None and u != exclude}
    preferences = _preferences(db, targets, kind)
    count = 0
    for user_id in sorted(targets):
        preference = preferences.get(user_id)
        if preference is not None and not preference.in_app and not preference.by_email:
            continue
        db.add(Notification(user_id=user_id, kind=kind, text=text[:300],
                            message=text.to_json() if isinstance(text, Text) else None, link=link[:300] if link.startswith("/") else "",
                            read_at=utcnow() if preference is not None and not preference.in_app else None,
                            mailed_at=utcnow() if already_mailed else None))
        count += 1
    return count


def unread_count(db: Session, actor) -> int:
    if not access.signed_in(actor):
        return 0
    return db.scalar(select(func.count(Notification.id)).where(Notification.user_id == actor.id,
                                                               Notification.read_at.is_(None))) or 0


def recent(db: Session, actor, limit: int = 50) -> list[Notification]:
    access.require(actor, "notifications.own")
    return list(db.scalars(select(Notification).where(Notification.user_id == actor.id)
                           .order_by(Notification.id.desc()).limit(limit)))


def mark_read(db: Session, actor, notification_id: int | None = None) -> None:
    access.require(actor, "notifications.own")
    query = update(Notification).where(Notification.user_id == actor.id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    db.execute(query.values(read_at=utcnow()))
    db.commit()


def preferences(db: Session, actor) -> dict[str, tuple[bool, bool]]:
    access.require(actor, "notifications.own")
    stored = {p.kind: p for p in db.scalars(select(NotificationPreference).where(NotificationPreference.user_id == actor.id))}
    return {kind: ((stored[kind].in_app, stored[kind].by_email) if kind in stored else (True, True)) for kind in KINDS}


def set_preferences(db: Session, actor, choices: dict[str, tuple[bool, bool]]) -> None:
    access.require(actor, "notifications.own")
    unknown = set(choices) - set(KINDS)
    if unknown:
        raise Invalid({"kind": [N_("Unknown kind(s): %(unknown)s.", unknown=', '.join(sorted(unknown)))]})
    for kind, (in_app, by_email) in choices.items():
        row = db.scalar(select(NotificationPreference).where(NotificationPreference.user_id == actor.id,
                                                             NotificationPreference.kind == kind))
        if row is None:
            row = NotificationPreference(user_id=actor.id, kind=kind)
            db.add(row)
        row.in_app, row.by_email = bool(in_app), bool(by_email)
    db.commit()


def send_digests(db: Session, *, base_url: str) -> int:
    """One e-mail per person with what they have not been mailed yet (kinds they get by e-mail).
    Idempotent: each notification is mailed at most once."""
    from network.people import User

    pending = list(db.scalars(select(Notification).where(Notification.mailed_at.is_(None))
                              .order_by(Notification.user_id, Notification.id)))
    by_user: dict[int, list[Notification]] = {}
    for row in pending:
        by_user.setdefault(row.user_id, []).append(row)
    sent = 0
    now = utcnow()
    for user_id, rows in by_user.items():
        kinds = {r.kind for r in rows}
        prefs = {k: _preferences(db, {user_id}, k).get(user_id) for k in kinds}
        wanted = [r for r in rows if prefs[r.kind] is None or prefs[r.kind].by_email]
        user = db.get(User, user_id)
        if wanted and user is not None and user.email and user.is_active:
            lines: list = [N_("Hello %(name)s,", name=user.shown_name), ""]
            for r in wanted:  # each notification's stored sentence, so it is translated as in the app
                lines.append(["- ", r.sentence])
                if r.link:
                    lines.append(f"  {base_url}{r.link}")
            lines += ["", [N_("Change what you receive at"), f" {base_url}/notifications/settings"], ""]
            outbox.queue(db, to=user.email, locale=user.locale,
                         subject=N_("CareCommons: %(count)s new for you", count=len(wanted)), body=lines)
            sent += 1
        for row in rows:
            row.mailed_at = now
    db.commit()
    return sent


def data_due(db: Session, *, today=None) -> int:
    """Remind each site's data stewards and leads that last month's figures are due (once a month)."""
    from network.outcomes import Measure, Submission, month_key, previous_month
    from network.people import Membership, Site

    month = previous_month(today)
    measures = db.scalar(select(func.count(Measure.id)).where(Measure.is_active.is_(True))) or 0
    count = 0
    for site in db.scalars(select(Site).where(Site.is_active.is_(True))):
        sent = db.scalar(select(func.count(Submission.id)).where(Submission.site_id == site.id,
                                                                 Submission.month == month,
                                                                 Submission.is_current.is_(True))) or 0
        if sent >= measures:
            continue
        people_ids = set(db.scalars(select(Membership.user_id).where(
            Membership.site_id == site.id, Membership.ended_at.is_(None),
            (Membership.role == "site_lead") | (Membership.data_steward.is_(True)))))
        already = set(db.scalars(select(Notification.user_id).where(
            Notification.kind == "data_due", Notification.text.contains(month_key(month)),
            Notification.user_id.in_(people_ids or {-1}))))
        count += notify(db, people_ids - already, "data_due",
                        N_("%(name)s: figures for %(month_key)s are due (%(sent)s of %(measures)s sent).", name=site.name, month_key=month_key(month), sent=sent, measures=measures), "/outcomes/submit")
    db.commit()
    return count
