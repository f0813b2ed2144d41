"""Safeguarding: a member flags a story, comment, chat message, plan note or private message as a
safety concern; new stories, chat and private messages are screened against the network's risk phrases.

A flag goes to the urgent queue, ahead of ordinary reports, and the network's safeguarding contacts are
told at once (in the app and by e-mail, whatever their notification switches say: a safety concern is
never held for a digest). The flagger then sees the network's crisis guidance. Screening never blocks or
changes a message; it only adds an automatic flag. A flag on something the flagger cannot see is a 404
that changes nothing. Every step is written to the audit log; the queue shows how long each flag waited.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network import access, audit, outbox
from network.db import Base, utcnow
from network.errors import Conflict, DomainError, Invalid, NotFound
from network.i18n import N_
from network.notifications import Notification
from network.people import Membership, User, acting_role, user_by_email

MAX_DETAILS = 2_000
MAX_GUIDANCE = 10_000
MAX_PHRASE = 80
MAX_PHRASES = 300
MAX_ACTIONS = 4_000
EXCERPT = 600

DEFAULT_GUIDANCE = N_(
    "**If someone is in immediate danger, call your local emergency number now.**\n\n"
    "Thank you for telling us. The network's safeguarding contacts have been told and will look at this "
    "as soon as they can. This page is not medical advice.")


class Concern(enum.StrEnum):
    SELF_HARM = "self_harm"
    ABUSE = "abuse"
    MEDICAL_EMERGENCY = "medical_emergency"
    OTHER = "other"


#: a concern as the contacts' notification names it
_CONCERN_WORDS = {"self_harm": N_("self harm"), "abuse": N_("abuse"), "medical_emergency": N_("medical emergency"),
                  "other": N_("other")}

#: what can be flagged, and how the queue names it
OBJECT_TYPES = ("story", "story_comment", "room_message", "plan_note", "contact_message")


class SafetySettings(Base):
    """The network's crisis guidance and risk phrases, set by network leaders (one row)."""

    __tablename__ = "safety_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Markdown shown to a member who has just flagged a concern (not medical advice)
    crisis_guidance: Mapped[str] = mapped_column(Text, default="")
    #: lower-cased phrases; a whole-phrase match in a new story or message adds an automatic flag
    risk_phrases: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SafetyFlag(Base):
    """One safety concern in the urgent queue: raised by a member or by screening."""

    __tablename__ = "safety_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: one of OBJECT_TYPES
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    #: None for an automatic flag from screening
    flagger_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    flagger_role: Mapped[str] = mapped_column(String(20), default="")
    #: "member" or "screening"
    source: Mapped[str] = mapped_column(String(10), default="member")
    concern: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="")
    #: the risk phrase that matched (screening only)
    matched_phrase: Mapped[str] = mapped_column(String(MAX_PHRASE), default="")
    #: what the flagged text said when it was flagged (so handlers see it even if it is later removed)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    #: a path in the app to the flagged thing, for handlers
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_role: Mapped[str] = mapped_column(String(20), default="")
    #: what the handlers did (each step also in the audit log)
    actions: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_role: Mapped[str] = mapped_column(String(20), default="")

    flagger: Mapped[User | None] = relationship(foreign_keys=[flagger_id], lazy="selectin")
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id], lazy="selectin")
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id], lazy="selectin")

    @property
    def status(self) -> str:
        if self.resolved_at:
            return "resolved"
        return "acknowledged" if self.acknowledged_at else "new"

    def waited(self, now: datetime | None = None) -> timedelta:
        """How long it has waited for a handler (until acknowledged; still counting while new)."""
        end = self.acknowledged_at or now or utcnow()
        return max(end - self.created_at, timedelta(0))


# ---------------------------------------------------------------------------------------------
# Settings (network leaders)

def settings(db: Session, *, for_update: bool = False) -> SafetySettings:
    """The one settings row; before leaders first save, the defaults (added to the session only to update)."""
    row = db.scalar(select(SafetySettings).order_by(SafetySettings.id).limit(1))
    if row is None:
        row = SafetySettings(crisis_guidance=DEFAULT_GUIDANCE, risk_phrases=[])
        if for_update:
            db.add(row)
            db.flush()
    return row


def crisis_guidance(db: Session, actor) -> str:
    access.require(actor, "safety.guidance")
    stored = settings(db).crisis_guidance
    # the default, as long as leaders have not rewritten it, is read in each reader's language
    return DEFAULT_GUIDANCE if not stored or stored == DEFAULT_GUIDANCE else stored


def clean_phrases(text: str) -> list[str]:
    """One phrase a line; blank lines and repeats dropped, case folded."""
    seen: dict[str, None] = {}
    for line in (text or "").splitlines():
        phrase = " ".join(line.split()).lower()
        if phrase:
            seen.setdefault(phrase, None)
    return list(seen)


def update_settings(db: Session, actor, *, crisis_guidance: str, risk_phrases: str) -> SafetySettings:
    access.require(actor, "safety.settings")
    guidance = (crisis_guidance or "").replace("\r\n", "\n").strip()
    phrases = clean_phrases(risk_phrases)
    errors: dict[str, list[str]] = {}
    if not guidance:
        errors["crisis_guidance"] = [N_("Write the guidance a member sees after flagging a concern.")]
    elif len(guidance) > MAX_GUIDANCE:
        errors["crisis_guidance"] = [N_("Keep the guidance under %(maximum)s characters.", maximum=MAX_GUIDANCE)]
    too_long = [p for p in phrases if len(p) > MAX_PHRASE]
    if too_long:
        errors["risk_phrases"] = [N_("Keep each phrase under %(maximum)s characters: %(phrase)s…", maximum=MAX_PHRASE,
                                         phrase=too_long[0][:40])]
    elif len(phrases) > MAX_PHRASES:
        errors["risk_phrases"] = [N_("At most %(maximum)s phrases.", maximum=MAX_PHRASES)]
    if errors:
        raise Invalid(errors)
    row = settings(db, for_update=True)
    added = sorted(set(phrases) - set(row.risk_phrases or []))
    removed = sorted(set(row.risk_phrases or []) - set(phrases))
    guidance_changed = guidance != row.crisis_guidance
    row.crisis_guidance, row.risk_phrases = guidance, phrases
    row.updated_by_id, row.updated_at = actor.id, utcnow()
    audit.record(db, actor, "safety.settings", row, guidance_changed=guidance_changed,
                 phrases_added=len(added), phrases_removed=len(removed))
    db.commit()
    return row


def safeguarding_contacts(db: Session) -> list[User]:
    designated = select(Membership.user_id).where(Membership.safeguarding_contact.is_(True),
                                                  Membership.ended_at.is_(None))
    return list(db.scalars(select(User).where(User.id.in_(designated), User.is_active.is_(True))
                           .order_by(User.full_name)))


def set_contact(db: Session, actor, *, email: str | None = None, user_id: int | None = None,
                designated: bool) -> User:
    """Leaders designate (or stop designating) a member as a safeguarding contact."""
    access.require(actor, "safety.settings")
    user = user_by_email(db, email) if email is not None else db.get(User, user_id or 0)
    if user is None or not user.memberships:
        if email is not None:
            raise Invalid({"email": [N_("No member has this address. Check it, or invite them first.")]})
        raise NotFound(N_("No such person."))
    db.execute(update(Membership).where(Membership.user_id == user.id, Membership.ended_at.is_(None))
               .values(safeguarding_contact=designated))
    db.expire(user, ["memberships"])
    audit.record(db, actor, "safety.contact_add" if designated else "safety.contact_remove", user)
    db.commit()
    return user


# ---------------------------------------------------------------------------------------------
# What is flagged, and whether the flagger can see it

@dataclass(frozen=True)
class Flagged:
    object_type: str
    object_id: int
    text: str
    link: str


def find_flaggable(db: Session, actor, object_type: str, object_id: int) -> Flagged:
    """The thing, if this person can see it; otherwise NotFound (nothing is changed)."""
    from content import contact, narratives, visits
    from network import sessions

    if object_type == "story":
        story = narratives.get(db, actor, object_id)
        return Flagged(object_type, story.id, f"{story.title}\n\n{story.body}", f"/stories/{story.id}")
    if object_type == "story_comment":
        row = db.get(narratives.StoryComment, object_id)
        if row is None or row.status == "declined":
            raise NotFound(N_("No such comment."))
        if row.status == "pending" and row.author_id != actor.id and not access.is_moderator(actor):
            raise NotFound(N_("No such comment."))
        narratives.get(db, actor, row.story_id)
        return Flagged(object_type, row.id, row.body, f"/stories/{row.story_id}#comments")
    if object_type == "room_message":
        event = db.get(sessions.RoomEvent, object_id)
        if event is None or event.kind not in ("chat", "question"):
            raise NotFound(N_("No such message."))
        session = db.get(sessions.LearningSession, event.session_id)
        room = event.room_key.split(":", 1)[1]
        if room == sessions.MAIN_ROOM:
            access.require(actor, "session.view", session)
        else:
            try:
                sessions.check_room(db, actor, session, room)
            except DomainError as error:  # any refusal: the flagger does not see this breakout
                raise NotFound(N_("No such message.")) from error
        return Flagged(object_type, event.id, event.body, f"/sessions/{session.slug}/transcript")
    if object_type == "plan_note":
        note = db.get(visits.PlanNote, object_id)
        if note is None:
            raise NotFound(N_("No such note."))
        plan = db.get(visits.VisitPlan, note.plan_id)
        patient = db.get(User, plan.visit.patient_id)
        data_scope = visits.scope(db, patient)
        team = visits.PatientScope(data_scope.patient_id, frozenset({plan.visit.site_id}), data_scope.parent_ids)
        access.require(actor, "patient_data.view", team)
        if not visits.is_family(actor, data_scope) and plan.status != "submitted":
            raise NotFound(N_("No such note."))
        return Flagged(object_type, note.id, note.body, f"/visits/plans/{plan.id}#notes")
    if object_type == "contact_message":
        message = db.get(contact.ContactMessage, object_id)
        if message is None:
            raise NotFound(N_("No such message."))
        access.require(actor, "contact.thread", db.get(contact.Connection, message.connection_id))
        return Flagged(object_type, message.id, message.body, f"/connections/{message.connection_id}")
    raise NotFound(N_("Nothing to flag here."))


# ---------------------------------------------------------------------------------------------
# Raising a flag

def _excerpt(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _alert_contacts(db: Session, flag: SafetyFlag) -> int:
    """Tell every safeguarding contact now: in the app and by e-mail, whatever their switches say.
    Moderators see the queue too; contacts are the ones who must never miss a flag."""
    contacts = safeguarding_contacts(db)
    now = utcnow()
    concern = _CONCERN_WORDS.get(flag.concern) or flag.concern.replace("_", " ")
    if flag.source == "screening":
        text = N_("Automatic flag (risk phrase): %(concern)s — urgent queue #%(id)s.", concern=concern,
                  id=str(flag.id))
    else:
        text = N_("A member flagged a safety concern: %(concern)s — urgent queue #%(id)s.", concern=concern,
                  id=str(flag.id))
    for user in contacts:
        db.add(Notification(user_id=user.id, kind="safeguarding", text=text[:300], message=text.to_json(),
                            link=f"/safety/flags/{flag.id}", mailed_at=now))
        if user.email:
            outbox.queue(db, to=user.email, locale=user.locale,
                         subject=N_("CareCommons: a safety concern needs you now"),
                         body=[N_("Hello %(name)s,", name=user.shown_name), "", text, "",
                               [N_("Open the urgent queue:"), f" /safety/flags/{flag.id}"], "",
                               N_("This message is sent to every safeguarding contact at once and cannot be "
                                  "switched off."), ""])
    return len(contacts)


def flag(db: Session, actor, *, object_type: str, object_id: int, concern: str, details: str = "") -> SafetyFlag:
    """A member flags something they can see. Bad input or an unseen object: nothing changes."""
    access.require(actor, "safety.flag")
    if object_type not in OBJECT_TYPES:
        raise NotFound(N_("Nothing to flag here."))
    flagged = find_flaggable(db, actor, object_type, object_id)
    details = (details or "").strip()
    errors: dict[str, list[str]] = {}
    if concern not in {c.value for c in Concern}:
        errors["concern"] = [N_("Choose what worries you.")]
    if len(details) > MAX_DETAILS:
        errors["details"] = [N_("Keep it under 2,000 characters.")]  # MAX_DETAILS, written as before
    if errors:
        raise Invalid(errors)
    row = SafetyFlag(object_type=object_type, object_id=flagged.object_id, flagger_id=actor.id,
                     flagger_role=acting_role(actor), source="member", concern=concern, details=details,
                     excerpt=_excerpt(flagged.text), link=flagged.link)
    db.add(row)
    db.flush()
    told = _alert_contacts(db, row)
    audit.record(db, actor, "safety.flag", row, object_type=object_type, object_id=flagged.object_id,
                 concern=concern, contacts_told=told)
    db.commit()
    return row


def matching_phrase(phrases: list[str], text: str) -> str | None:
    """The first risk phrase found in the text as a whole phrase, ignoring case and spacing."""
    folded = " ".join((text or "").split()).lower()
    for phrase in phrases:
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in phrase.split()) + r"(?!\w)"
        if re.search(pattern, folded):
            return phrase
    return None


def screen(db: Session, *, object_type: str, object_id: int, text: str, link: str) -> SafetyFlag | None:
    """Screen new text against the risk phrases; a match adds an automatic flag (never blocks anything)."""
    phrases = settings(db).risk_phrases or []
    phrase = matching_phrase(phrases, text) if phrases else None
    if phrase is None:
        return None
    row = SafetyFlag(object_type=object_type, object_id=object_id, flagger_id=None, source="screening",
                     concern=Concern.OTHER.value, matched_phrase=phrase, excerpt=_excerpt(text), link=link)
    db.add(row)
    db.flush()
    told = _alert_contacts(db, row)
    audit.record(db, access.ANONYMOUS, "safety.screen_match", row, object_type=object_type, object_id=object_id,
                 phrase=phrase, contacts_told=told)
    db.commit()
    return row


# ---------------------------------------------------------------------------------------------
# The urgent queue (moderators and safeguarding contacts)

def queue(db: Session, actor, *, resolved_limit: int = 20) -> dict[str, list[SafetyFlag]]:
    """Open flags, oldest first (the longest wait on top), and the latest handled ones."""
    access.require(actor, "safety.handle")
    open_flags = list(db.scalars(select(SafetyFlag).where(SafetyFlag.resolved_at.is_(None))
                                 .order_by(SafetyFlag.created_at, SafetyFlag.id)))
    handled = list(db.scalars(select(SafetyFlag).where(SafetyFlag.resolved_at.is_not(None))
                              .order_by(SafetyFlag.resolved_at.desc()).limit(resolved_limit)))
    return {"open": open_flags, "handled": handled}


def get_flag(db: Session, actor, flag_id: int) -> SafetyFlag:
    access.require(actor, "safety.handle")
    row = db.get(SafetyFlag, flag_id)
    if row is None:
        raise NotFound(N_("No such flag."))
    return row


PRIVATE_KINDS = ("plan_note", "contact_message")


def view_flag(db: Session, actor, flag_id: int) -> SafetyFlag:
    """A handler opens a flag. Its snapshot of a plan note or a private message is text the handler could
    not otherwise read, so each such look is written to the audit log."""
    row = get_flag(db, actor, flag_id)
    if row.object_type in PRIVATE_KINDS:
        audit.record(db, actor, "safety.view_private", row, object_type=row.object_type)
        db.commit()
    return row


def _handler_role(actor) -> str:
    if access.is_moderator(actor):
        return "moderator"
    return acting_role(actor)


def acknowledge(db: Session, actor, flag_id: int) -> SafetyFlag:
    row = get_flag(db, actor, flag_id)
    if row.acknowledged_at is not None:
        raise Conflict(N_("Someone has already acknowledged this flag."))
    row.acknowledged_at, row.acknowledged_by_id, row.acknowledged_role = utcnow(), actor.id, _handler_role(actor)
    audit.record(db, actor, "safety.acknowledge", row, waited_seconds=int(row.waited().total_seconds()))
    db.commit()
    return row


def record_action(db: Session, actor, flag_id: int, *, action: str) -> SafetyFlag:
    row = get_flag(db, actor, flag_id)
    action = (action or "").strip()
    if row.resolved_at is not None:
        raise Conflict(N_("This flag is resolved."))
    if not action:
        raise Invalid({"action": [N_("Say what was done.")]})
    if len(row.actions) + len(action) > MAX_ACTIONS:
        raise Invalid({"action": [N_("The record of actions is limited to 4,000 characters.")]})
    if row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by_id, row.acknowledged_role = utcnow(), actor.id, _handler_role(actor)
    stamp = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    row.actions = (row.actions + "\n" if row.actions else "") + f"{stamp} · {actor.shown_name}: {action}"
    audit.record(db, actor, "safety.action", row)
    db.commit()
    return row


def resolve(db: Session, actor, flag_id: int, *, action: str) -> SafetyFlag:
    """Close the flag, saying what was done (acknowledging it first if nobody had)."""
    row = get_flag(db, actor, flag_id)
    if row.resolved_at is not None:
        raise Conflict(N_("This flag is already resolved."))
    if not (action or "").strip():
        raise Invalid({"action": [N_("Say what was done before resolving.")]})
    record_action(db, actor, flag_id, action=action)
    row.resolved_at, row.resolved_by_id, row.resolved_role = utcnow(), actor.id, _handler_role(actor)
    audit.record(db, actor, "safety.resolve", row)
    db.commit()
    return row


def my_flags(db: Session, actor) -> list[SafetyFlag]:
    """What this member flagged, with where each stands (not who handled it)."""
    access.require(actor, "safety.flag")
    return list(db.scalars(select(SafetyFlag).where(SafetyFlag.flagger_id == actor.id)
                           .order_by(SafetyFlag.created_at.desc()).limit(50)))
