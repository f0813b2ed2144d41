"""A working group's decision log (the Patient Advisory Council's workspace): proposals, discussion, a
decision by consensus or by vote, who took part by role, and action items with an owner and a due date.

Votes: once per person, only while the vote is open, only by the group's members. A vote's results stay
hidden until it closes. An anonymous vote keeps *who* voted (so nobody votes twice and the log can say who
took part by role) apart from *what* was chosen: the choice only increments a per-option counter, which
has no person, no time and no row of its own, so no query, join or ordering can link a choice to a voter.
A named vote also keeps each person's choice on their ballot.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network import access, audit, notifications
from network.db import Base, utcnow
from network.errors import Conflict, Invalid, NotFound
from network.i18n import N_
from network.groups import Group
from network.people import User, acting_role

METHODS = ("consensus", "vote")
DEFAULT_OPTIONS = ("for", "against", "abstain")
MAX_TITLE = 160
MAX_TEXT = 10_000


class Decision(Base):
    __tablename__ = "council_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    proposal: Mapped[str] = mapped_column(Text, default="")
    #: "consensus" or "vote"
    method: Mapped[str] = mapped_column(String(10))
    #: for a vote: the choices offered (for / against / abstain by default)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: for a vote: ballots keep who voted but never what they chose
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: "open" (discussion, and voting for a vote) or "decided"
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    #: what was decided, in words
    outcome: Mapped[str] = mapped_column(Text, default="")
    decided_on: Mapped[date | None] = mapped_column(Date)
    #: shown to the whole network (not only the group)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the proposer acted in
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[Group] = relationship(lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class DecisionComment(Base):
    __tablename__ = "council_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("council_decisions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="selectin")


class Participant(Base):
    """Who took part in a decision, in which role: voters for a vote, those present for a consensus."""

    __tablename__ = "council_participants"
    __table_args__ = (UniqueConstraint("decision_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("council_decisions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    #: a named vote's choice; always None for an anonymous vote and for a consensus
    choice: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship(lazy="selectin")


class Tally(Base):
    """How many chose an option. Only a counter: it names nobody and records no time."""

    __tablename__ = "council_tallies"
    __table_args__ = (UniqueConstraint("decision_id", "option"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("council_decisions.id", ondelete="CASCADE"), index=True)
    option: Mapped[str] = mapped_column(String(40))
    votes: Mapped[int] = mapped_column(Integer, default=0)


class ActionItem(Base):
    __tablename__ = "council_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("council_decisions.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="selectin")
    decision: Mapped[Decision] = relationship(lazy="joined")


# ---------------------------------------------------------------------------------------------
# Reading

def decisions(db: Session, actor, group: Group) -> list[Decision]:
    """The group's log for its members and network leaders; for everyone else, what was published."""
    access.require(actor, "group.view")
    query = select(Decision).where(Decision.group_id == group.id).order_by(Decision.created_at.desc(), Decision.id.desc())
    if not access.can(actor, "council.read_all", group):
        query = query.where(Decision.published.is_(True))
    return list(db.scalars(query))


def published(db: Session, actor, limit: int = 50) -> list[Decision]:
    """Decisions every group chose to show the whole network, newest first."""
    access.require(actor, "group.view")
    return list(db.scalars(select(Decision).where(Decision.published.is_(True))
                           .order_by(Decision.decided_on.desc(), Decision.id.desc()).limit(limit)))


def get(db: Session, actor, group: Group, decision_id: int) -> Decision:
    decision = db.get(Decision, decision_id)
    if decision is None or decision.group_id != group.id:
        raise NotFound(N_("No such decision."))
    access.require(actor, "council.read", decision)
    return decision


def comments(db: Session, decision: Decision) -> list[DecisionComment]:
    return list(db.scalars(select(DecisionComment).where(DecisionComment.decision_id == decision.id)
                           .order_by(DecisionComment.id)))


def participants(db: Session, decision: Decision) -> list[Participant]:
    return list(db.scalars(select(Participant).where(Participant.decision_id == decision.id).order_by(Participant.id)))


def participation_by_role(db: Session, decision: Decision) -> dict[str, int]:
    """How many took part, per role (what the log shows; names are shown to the group only)."""
    rows = db.execute(select(Participant.acting_role, func.count(Participant.id))
                      .where(Participant.decision_id == decision.id).group_by(Participant.acting_role))
    return {role: n for role, n in sorted(rows)}


def has_voted(db: Session, actor, decision: Decision) -> bool:
    return access.signed_in(actor) and db.scalar(select(Participant.id).where(
        Participant.decision_id == decision.id, Participant.user_id == actor.id)) is not None


def results(db: Session, actor, decision: Decision) -> dict[str, int]:
    """A vote's count per option, once the vote has closed. Refused while it is open."""
    access.require(actor, "council.read", decision)
    if decision.method != "vote":
        raise Conflict(N_("A decision by consensus has no vote to count."))
    if decision.is_open:
        raise Conflict(N_("The results are hidden until the vote closes."))
    counts = dict(db.execute(select(Tally.option, Tally.votes).where(Tally.decision_id == decision.id)).all())
    return {option: int(counts.get(option, 0)) for option in decision.options}


def actions(db: Session, decision: Decision) -> list[ActionItem]:
    return list(db.scalars(select(ActionItem).where(ActionItem.decision_id == decision.id)
                           .order_by(ActionItem.due_on, ActionItem.id)))


def my_open_actions(db: Session, actor) -> list[ActionItem]:
    """What "what needs me" shows: this person's action items not yet done, soonest first."""
    access.require(actor, "council.my_actions")
    return list(db.scalars(select(ActionItem).where(ActionItem.owner_id == actor.id, ActionItem.done_at.is_(None))
                           .order_by(ActionItem.due_on, ActionItem.id)))


def open_action_count(db: Session, actor) -> int:
    if not access.signed_in(actor):
        return 0
    return db.scalar(select(func.count(ActionItem.id)).where(ActionItem.owner_id == actor.id,
                                                             ActionItem.done_at.is_(None))) or 0


# ---------------------------------------------------------------------------------------------
# Acting

def propose(db: Session, actor, group: Group, *, title: str, proposal: str = "", method: str = "consensus",
            anonymous: bool = False, options: list[str] | None = None, role: str | None = None) -> Decision:
    access.require(actor, "council.take_part", group)
    title = (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not title or len(title) > MAX_TITLE:
        errors["title"] = [N_("Name the proposal (at most %(maximum)s characters).", maximum=MAX_TITLE)]
    if len(proposal or "") > MAX_TEXT:
        errors["proposal"] = [N_("Use at most 10,000 characters.")]
    if method not in METHODS:
        errors["method"] = [N_("Decide by consensus or by vote.")]
    chosen = [o.strip()[:40] for o in (options or []) if o and o.strip()] or list(DEFAULT_OPTIONS)
    if method == "vote" and (len(chosen) < 2 or len(set(chosen)) != len(chosen)):
        errors["options"] = [N_("A vote needs at least two different options.")]
    if errors:
        raise Invalid(errors)
    decision = Decision(group_id=group.id, title=title, proposal=proposal or "", method=method,
                        options=chosen if method == "vote" else [], anonymous=bool(anonymous) and method == "vote",
                        proposed_by_id=actor.id, acting_role=acting_role(actor, role))
    db.add(decision)
    db.flush()
    if method == "vote":
        db.add_all(Tally(decision_id=decision.id, option=option, votes=0) for option in chosen)
    audit.record(db, actor, "council.propose", decision, group_id=group.id, method=method)
    db.commit()
    return decision


def comment(db: Session, actor, decision: Decision, body: str, *, role: str | None = None) -> DecisionComment:
    access.require(actor, "council.take_part", decision.group)
    if not decision.is_open:
        raise Conflict(N_("The discussion has closed: this decision has been made."))
    body = (body or "").strip()
    if not body or len(body) > MAX_TEXT:
        raise Invalid({"body": [N_("Write a comment (at most 10,000 characters).")]})
    row = DecisionComment(decision_id=decision.id, author_id=actor.id, acting_role=acting_role(actor, role), body=body)
    db.add(row)
    db.commit()
    return row


def vote(db: Session, actor, decision: Decision, choice: str, *, role: str | None = None) -> None:
    """One vote per member while the vote is open. The refusals change nothing."""
    access.require(actor, "council.vote", decision.group)
    if decision.method != "vote":
        raise Conflict(N_("This decision is made by consensus, not by a vote."))
    if not decision.is_open:
        raise Conflict(N_("The vote has closed."))
    if choice not in decision.options:
        raise Invalid({"choice": [N_("Choose one of: %(options)s.", options=', '.join(decision.options))]})
    role_used = acting_role(actor, role)
    if has_voted(db, actor, decision):
        raise Conflict(N_("You have already voted on this."))
    try:
        with db.begin_nested():
            db.add(Participant(decision_id=decision.id, user_id=actor.id, acting_role=role_used,
                               choice=None if decision.anonymous else choice))
            db.flush()
    except IntegrityError:
        raise Conflict(N_("You have already voted on this."))
    db.execute(update(Tally).where(Tally.decision_id == decision.id, Tally.option == choice)
               .values(votes=Tally.votes + 1))
    audit.record(db, actor, "council.vote", decision)  # never the choice
    db.commit()


def close_vote(db: Session, actor, decision: Decision, *, outcome: str = "", decided_on: date | None = None) -> Decision:
    access.require(actor, "council.manage", decision.group)
    if decision.method != "vote":
        raise Conflict(N_("Only a vote can be closed; record a consensus instead."))
    if not decision.is_open:
        raise Conflict(N_("The vote has already closed."))
    if len(outcome or "") > MAX_TEXT:
        raise Invalid({"outcome": [N_("Use at most 10,000 characters.")]})
    decision.status = "decided"
    decision.decided_on = decided_on or utcnow().date()
    counts = dict(db.execute(select(Tally.option, Tally.votes).where(Tally.decision_id == decision.id)).all())
    summary = ", ".join(f"{option}: {counts.get(option, 0)}" for option in decision.options)
    decision.outcome = (outcome or "").strip() or summary
    audit.record(db, actor, "council.close_vote", decision)
    db.commit()
    return decision


def record_consensus(db: Session, actor, decision: Decision, *, outcome: str, participant_ids: list[int],
                     decided_on: date | None = None) -> Decision:
    """Write down what the group agreed, when, and which of its members took part."""
    access.require(actor, "council.manage", decision.group)
    if decision.method != "consensus":
        raise Conflict(N_("A vote is decided by closing it."))
    if not decision.is_open:
        raise Conflict(N_("This decision has already been recorded."))
    errors: dict[str, list[str]] = {}
    outcome = (outcome or "").strip()
    if not outcome or len(outcome) > MAX_TEXT:
        errors["outcome"] = [N_("Say what was decided (at most 10,000 characters).")]
    members = {m.user_id: m for m in decision.group.members}
    chosen = {int(i) for i in participant_ids or []}
    if not chosen:
        errors["participants"] = [N_("Tick the members who took part.")]
    elif chosen - set(members):
        errors["participants"] = [N_("Only the group's members can take part.")]
    if decided_on is not None and decided_on > utcnow().date():
        errors["decided_on"] = [N_("The date of a decision cannot be in the future.")]
    if errors:
        raise Invalid(errors)
    for user_id in sorted(chosen):
        db.add(Participant(decision_id=decision.id, user_id=user_id, acting_role=acting_role(members[user_id].user)))
    decision.status = "decided"
    decision.outcome = outcome
    decision.decided_on = decided_on or utcnow().date()
    audit.record(db, actor, "council.record_consensus", decision)
    db.commit()
    return decision


def set_published(db: Session, actor, decision: Decision, published_: bool) -> Decision:
    access.require(actor, "council.manage", decision.group)
    if published_ and decision.is_open:
        raise Conflict(N_("Only a decision that has been made can be shown to the network."))
    decision.published = bool(published_)
    audit.record(db, actor, "council.publish" if published_ else "council.unpublish", decision)
    db.commit()
    return decision


def add_action(db: Session, actor, decision: Decision, *, description: str, owner_id: int | None,
               due_on: date | None) -> ActionItem:
    access.require(actor, "council.manage", decision.group)
    errors: dict[str, list[str]] = {}
    description = (description or "").strip()
    if not description or len(description) > 300:
        errors["description"] = [N_("Say what is to be done (at most 300 characters).")]
    if owner_id not in decision.group.member_ids:
        errors["owner"] = [N_("Choose an owner from the group's members.")]
    if due_on is None:
        errors["due_on"] = [N_("Give a due date (YYYY-MM-DD).")]
    if errors:
        raise Invalid(errors)
    item = ActionItem(decision_id=decision.id, description=description, owner_id=owner_id, due_on=due_on,
                      created_by_id=actor.id)
    db.add(item)
    db.flush()
    notifications.notify(db, [owner_id], "action_item",
                         N_("%(group)s: %(description)s (due %(due)s)", group=decision.group.name,
                            description=description, due=due_on.isoformat()),
                         "/actions/", exclude=actor.id)
    audit.record(db, actor, "council.action_add", item, owner_id=owner_id)
    db.commit()
    return item


def complete_action(db: Session, actor, item_id: int) -> ActionItem:
    item = db.get(ActionItem, item_id)
    if item is None:
        raise NotFound(N_("No such action item."))
    access.require(actor, "council.complete_action", item)
    if item.done_at is not None:
        raise Conflict(N_("This action item is already done."))
    item.done_at = utcnow()
    audit.record(db, actor, "council.action_done", item)
    db.commit()
    return item
