"""The data-use agreement: leaders publish it (Markdown, versioned); members accept the current version
before outcome data names other sites.

Until a member has accepted the current version, every outcome view, CSV, API answer and FHIR export
they get is blinded (other sites as "Site 17", their own by name) — `network/visibility.py` reads the
member's standing from here, once per request. While no agreement has been published, the network
works as it did before there was one. A new version asks everyone again: an acceptance belongs to one
version. Publishing and accepting are audited, and the acting role is stored on both rows.

The text is Markdown; it becomes HTML in the web layer through content/markdown.py, the one renderer
(network never imports content).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from network import access, audit
from network.db import Base, utcnow
from network.errors import Conflict, Invalid, NotFound
from network.i18n import N_
from network.people import Membership, User, acting_role
from network.roles import ROLE_PRIORITY

MAX_BODY = 50_000
MAX_SUMMARY = 200


class DataUseAgreement(Base):
    """One published version of the agreement. Versions are immutable rows; the highest is current."""

    __tablename__ = "data_use_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, 3 ... — the number members accept
    version: Mapped[int] = mapped_column(Integer, unique=True)
    #: the agreement's text, Markdown
    body: Mapped[str] = mapped_column(Text)
    #: what changed since the previous version, in a line (shown when members are asked again)
    summary: Mapped[str] = mapped_column(String(MAX_SUMMARY), default="")
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the publisher acted in (network_leader)
    acting_role: Mapped[str] = mapped_column(String(20), default="")

    published_by: Mapped[User | None] = relationship(lazy="joined")


class AgreementAcceptance(Base):
    """A person accepted one version: who, which version, when, in which role."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (UniqueConstraint("agreement_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("data_use_agreements.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the role the person accepted in (a person with several roles chooses one)
    acting_role: Mapped[str] = mapped_column(String(20), default="")

    agreement: Mapped[DataUseAgreement] = relationship()
    user: Mapped[User] = relationship()


# ---------------------------------------------------------------------------------------------
# A viewer's standing, worked out once per unit of work (session)

@dataclass(frozen=True)
class Standing:
    """Where one viewer stands with the agreement: the current version (None while none is published)
    and whether they accepted it."""

    version: int | None
    accepted: bool

    @property
    def required(self) -> bool:
        return self.version is not None

    @property
    def satisfied(self) -> bool:
        return not self.required or self.accepted


_CACHE_KEY = "carecommons.agreement_standing"


def _actor_key(actor) -> tuple:
    return (type(actor).__name__, getattr(actor, "id", None), getattr(actor, "token_id", None))


def standing(db: Session, actor) -> Standing:
    """One query per session and viewer (pages call this for every chart and site; it must not grow).
    A site token stands where the person who created it stands."""
    cache = db.info.setdefault(_CACHE_KEY, {})
    key = _actor_key(actor)
    if key in cache:
        return cache[key]
    user_id = getattr(actor, "id", None) if access.signed_in(actor) else None
    accepted = select(AgreementAcceptance.id).where(AgreementAcceptance.agreement_id == DataUseAgreement.id,
                                                    AgreementAcceptance.user_id == (user_id or -1)).exists()
    row = db.execute(select(DataUseAgreement.version, accepted).order_by(DataUseAgreement.version.desc())
                     .limit(1)).first()
    result = Standing(None, False) if row is None else Standing(row[0], bool(row[1]) and user_id is not None)
    cache[key] = result
    return result


def _forget_standings(db: Session) -> None:
    db.info.pop(_CACHE_KEY, None)


# ---------------------------------------------------------------------------------------------
# Reading

def current(db: Session) -> DataUseAgreement | None:
    return db.scalar(select(DataUseAgreement).order_by(DataUseAgreement.version.desc()).limit(1))


def read_current(db: Session, actor) -> DataUseAgreement | None:
    access.require(actor, "agreement.read")
    return current(db)


def by_version(db: Session, actor, version: int) -> DataUseAgreement:
    access.require(actor, "agreement.read")
    row = db.scalar(select(DataUseAgreement).where(DataUseAgreement.version == version))
    if row is None:
        raise NotFound(N_("No such version of the data-use agreement."))
    return row


def versions(db: Session, actor) -> list[DataUseAgreement]:
    """Every published version, newest first."""
    access.require(actor, "agreement.read")
    return list(db.scalars(select(DataUseAgreement).order_by(DataUseAgreement.version.desc())))


def my_acceptance(db: Session, actor) -> AgreementAcceptance | None:
    """The viewer's acceptance of the current version, if any."""
    access.require(actor, "agreement.read")
    agreement = current(db)
    if agreement is None:
        return None
    return db.scalar(select(AgreementAcceptance).where(AgreementAcceptance.agreement_id == agreement.id,
                                                       AgreementAcceptance.user_id == actor.id))


# ---------------------------------------------------------------------------------------------
# Changing

def publish(db: Session, actor, *, body: str, summary: str = "") -> DataUseAgreement:
    """A new version becomes current at once; everyone (the publisher too) is asked to accept it."""
    access.require(actor, "agreement.publish")
    body, summary = (body or "").strip(), " ".join((summary or "").split())
    errors: dict[str, list[str]] = {}
    if not body:
        errors["body"] = [N_("Write the agreement's text.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [N_("Keep the agreement under %(maximum)s characters.", maximum=MAX_BODY)]
    if len(summary) > MAX_SUMMARY:
        errors["summary"] = [N_("Say what changed in at most %(maximum)s characters.", maximum=MAX_SUMMARY)]
    if errors:
        raise Invalid(errors)
    latest = db.scalar(select(func.max(DataUseAgreement.version))) or 0
    agreement = DataUseAgreement(version=latest + 1, body=body, summary=summary, published_by_id=actor.id,
                                 acting_role=acting_role(actor), published_at=utcnow())
    db.add(agreement)
    db.flush()
    audit.record(db, actor, "agreement.publish", agreement, version=agreement.version)
    db.commit()
    _forget_standings(db)
    return agreement


def accept(db: Session, actor, version: int | None, *, role: str | None = None) -> AgreementAcceptance:
    """Accept the current version. The version read is sent back: accepting a version that is no longer
    current is refused (409), so nobody accepts text they have not seen. Accepting twice changes nothing."""
    access.require(actor, "agreement.accept")
    agreement = current(db)
    if agreement is None:
        raise NotFound(N_("No data-use agreement has been published yet."))
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid({"version": [N_("Say which version of the agreement you read.")]})
    if version != agreement.version:
        raise Conflict(N_("Version %(version)s is not the current data-use agreement: version %(current)s "
                          "is. Read the current version and accept it; nothing was recorded.",
                          version=version, current=agreement.version))
    existing = db.scalar(select(AgreementAcceptance).where(AgreementAcceptance.agreement_id == agreement.id,
                                                           AgreementAcceptance.user_id == actor.id))
    if existing is not None:
        return existing
    row = AgreementAcceptance(agreement_id=agreement.id, user_id=actor.id, acting_role=acting_role(actor, role),
                              accepted_at=utcnow())
    db.add(row)
    db.flush()
    audit.record(db, actor, "agreement.accept", row, version=agreement.version, acting_role=row.acting_role)
    db.commit()
    _forget_standings(db)
    return row


# ---------------------------------------------------------------------------------------------
# Who has accepted (leaders)

@dataclass
class RoleCount:
    role: str
    accepted: int
    total: int


@dataclass
class AcceptanceReport:
    agreement: DataUseAgreement | None
    accepted: list[AgreementAcceptance] = field(default_factory=list)
    pending: list[User] = field(default_factory=list)     # active members who have not accepted it
    by_role: list[RoleCount] = field(default_factory=list)

    @property
    def members(self) -> int:
        return len(self.accepted_members) + len(self.pending)

    @property
    def accepted_members(self) -> list[AgreementAcceptance]:
        """Acceptances by people who are members now (someone who left still shows in `accepted`)."""
        return [a for a in self.accepted if a.user.memberships]


def acceptances(db: Session, actor, version: int | None = None) -> AcceptanceReport:
    """Who accepted a version (the current one by default) and who has not, with counts by role: every
    person holding a role counts once in each role they hold. Three queries, whatever the network's size."""
    access.require(actor, "agreement.acceptances")
    agreement = current(db) if version is None else db.scalar(
        select(DataUseAgreement).where(DataUseAgreement.version == version))
    if agreement is None:
        if version is not None:
            raise NotFound(N_("No such version of the data-use agreement."))
        return AcceptanceReport(None)
    accepted = list(db.scalars(select(AgreementAcceptance).where(AgreementAcceptance.agreement_id == agreement.id)
                               .options(selectinload(AgreementAcceptance.user).selectinload(User.memberships))
                               .order_by(AgreementAcceptance.accepted_at.desc(), AgreementAcceptance.id.desc())))
    accepted_ids = {a.user_id for a in accepted}
    members = list(db.scalars(select(User).where(User.is_active.is_(True), User.email.is_not(None),
                                                 User.id.in_(select(Membership.user_id)
                                                             .where(Membership.ended_at.is_(None))))
                              .options(selectinload(User.memberships)).order_by(User.full_name)))
    pending = [u for u in members if u.id not in accepted_ids]
    totals: Counter = Counter()
    done: Counter = Counter()
    for user in members:
        for role in user.roles:
            totals[role.value] += 1
            if user.id in accepted_ids:
                done[role.value] += 1
    by_role = [RoleCount(role.value, done[role.value], totals[role.value]) for role in ROLE_PRIORITY
               if totals[role.value]]
    return AcceptanceReport(agreement, accepted, pending, by_role)
