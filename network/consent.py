"""The network's terms of use and privacy notice: versioned Markdown documents that members accept.

Network leaders publish a new version (never edit an old one). Each member accepts the current
version of each document at first sign-in and again when it changes; a parent accepts on behalf of a
linked child under 13. Accepting a version that is no longer current is a Conflict (409): the person
has read an old text. Rendering the Markdown is the web layer's job (content.markdown), since the
network package never imports content.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from network import access, audit, minors
from network.db import Base, utcnow
from network.errors import Conflict, Invalid, NotFound
from network.people import CareLink, User, acting_role

KINDS = ("terms", "privacy")


class PolicyDocument(Base):
    __tablename__ = "policy_documents"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "terms" (terms of use) or "privacy" (privacy notice)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(160))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    #: what changed, shown to members asked to accept again
    summary: Mapped[str] = mapped_column(String(500), default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_role: Mapped[str] = mapped_column(String(20), default="")
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyAcceptance(Base):
    """One acceptance: who accepted which version, when, and for whom (a parent for a young child)."""

    __tablename__ = "policy_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("policy_documents.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    #: the child a parent accepted for; None when the person accepted for themselves
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)

    document: Mapped[PolicyDocument] = relationship()


@dataclass(frozen=True)
class ChildScope:
    """Whom an acceptance on a child's behalf concerns: the child, their linked parents, their age."""

    child_id: int
    parent_ids: frozenset[int]
    under_13: bool


@dataclass(frozen=True)
class Outstanding:
    """A current document someone still has to accept: for themselves (child None) or for a child."""

    document: PolicyDocument
    child: User | None = None


def is_under_13(user, today=None) -> bool:
    """A child in network/minors.py's one definition (under 13 on the network's today)."""
    return minors.is_child(user, today)


# ---------------------------------------------------------------------------------------------
# Reading

def current_versions(db: Session) -> dict[str, int]:
    """{kind: newest version}, in one small query (the sign-in gate reads it on every request)."""
    return {kind: version for kind, version in db.execute(
        select(PolicyDocument.kind, func.max(PolicyDocument.version)).group_by(PolicyDocument.kind))}


def current(db: Session) -> dict[str, PolicyDocument]:
    newer = aliased(PolicyDocument)
    newest = select(func.max(newer.version)).where(newer.kind == PolicyDocument.kind).scalar_subquery()
    return {row.kind: row for row in db.scalars(select(PolicyDocument).where(PolicyDocument.version == newest))}


def document(db: Session, kind: str, version: int | None = None) -> PolicyDocument:
    """A published version (the current one by default); anyone may read the terms."""
    access.require(access.ANONYMOUS, "policy.read")
    stmt = select(PolicyDocument).where(PolicyDocument.kind == kind)
    stmt = stmt.where(PolicyDocument.version == version) if version else \
        stmt.order_by(PolicyDocument.version.desc()).limit(1)
    found = db.scalar(stmt) if kind in KINDS else None
    if found is None:
        raise NotFound("No such document.")
    return found


def history(db: Session, kind: str) -> list[PolicyDocument]:
    return list(db.scalars(select(PolicyDocument).where(PolicyDocument.kind == kind)
                           .order_by(PolicyDocument.version.desc())))


def young_children(db: Session, parent: User) -> list[User]:
    """Linked children under 13, for whom this parent accepts."""
    children = db.scalars(select(User).join(CareLink, CareLink.patient_id == User.id)
                          .where(CareLink.parent_id == parent.id).order_by(User.full_name))
    return [child for child in children if is_under_13(child)]


def _accepted(db: Session, subject_ids: list[int], document_ids: list[int]) -> set[tuple[int, int]]:
    """{(subject id, document id)} accepted: by the person themselves, or by someone on their behalf."""
    if not subject_ids or not document_ids:
        return set()
    rows = db.execute(select(PolicyAcceptance.user_id, PolicyAcceptance.on_behalf_of_id,
                             PolicyAcceptance.document_id)
                      .where(PolicyAcceptance.document_id.in_(document_ids),
                             (PolicyAcceptance.on_behalf_of_id.in_(subject_ids))
                             | (PolicyAcceptance.user_id.in_(subject_ids)
                                & PolicyAcceptance.on_behalf_of_id.is_(None))))
    return {(on_behalf or user_id, document_id) for user_id, on_behalf, document_id in rows}


def outstanding(db: Session, user: User) -> list[Outstanding]:
    """What this person must accept before going on: for themselves (13 and over), and for young children."""
    docs = current(db)
    if not docs:
        return []
    children = young_children(db, user)
    subjects = ([] if is_under_13(user) else [user.id]) + [child.id for child in children]
    done = _accepted(db, subjects, [d.id for d in docs.values()])
    result = []
    for kind in KINDS:
        doc = docs.get(kind)
        if doc is None:
            continue
        if not is_under_13(user) and (user.id, doc.id) not in done:
            result.append(Outstanding(doc))
        result.extend(Outstanding(doc, child) for child in children if (child.id, doc.id) not in done)
    return result


def waiting_for_parent(db: Session, user: User) -> list[PolicyDocument]:
    """For a child under 13 with a sign-in: the current documents no parent has accepted for them yet."""
    if not is_under_13(user):
        return []
    docs = current(db)
    done = _accepted(db, [user.id], [d.id for d in docs.values()])
    return [docs[k] for k in KINDS if k in docs and (user.id, docs[k].id) not in done]


def acceptances(db: Session, actor, user_id: int) -> list[PolicyAcceptance]:
    """The record for one person: what they accepted and what was accepted for them."""
    if actor.id != user_id:
        access.require(actor, "policy.publish")
    return list(db.scalars(select(PolicyAcceptance).where(
        (PolicyAcceptance.user_id == user_id) | (PolicyAcceptance.on_behalf_of_id == user_id))
        .order_by(PolicyAcceptance.accepted_at.desc())))


# ---------------------------------------------------------------------------------------------
# Changing

def publish(db: Session, actor, *, kind: str, title: str, body: str, summary: str = "") -> PolicyDocument:
    """A new version of the terms or privacy notice; every member accepts it at their next request."""
    access.require(actor, "policy.publish")
    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors.setdefault("kind", []).append("Choose the terms of use or the privacy notice.")
    title, body, summary = (title or "").strip(), (body or "").strip(), (summary or "").strip()
    if not title or len(title) > 160:
        errors.setdefault("title", []).append("Enter a title of at most 160 characters.")
    if not body:
        errors.setdefault("body", []).append("Write the text of the document.")
    if len(summary) > 500:
        errors.setdefault("summary", []).append("Use at most 500 characters.")
    if errors:
        raise Invalid(errors)
    version = (current_versions(db).get(kind) or 0) + 1
    doc = PolicyDocument(kind=kind, version=version, title=title, body=body, summary=summary,
                         published_by_id=actor.id, published_role=acting_role(actor, "network_leader"))
    db.add(doc)
    db.flush()
    audit.record(db, actor, "policy.publish", doc, kind=kind, version=version)
    db.commit()
    return doc


def child_scope(db: Session, child_id: int) -> ChildScope:
    child = db.get(User, child_id)
    if child is None:
        raise NotFound("No such person.")
    parents = frozenset(db.scalars(select(CareLink.parent_id).where(CareLink.patient_id == child_id)))
    return ChildScope(child.id, parents, is_under_13(child))


def accept(db: Session, actor, *, document_id: int, version: int,
           on_behalf_of_id: int | None = None, commit: bool = True) -> PolicyAcceptance:
    """Accept the current version of a document, for oneself or (a parent) for a linked child under 13.

    A version that is no longer current raises Conflict and records nothing; accepting twice is harmless.
    """
    doc = db.get(PolicyDocument, document_id)
    if doc is None:
        raise NotFound("No such document.")
    if on_behalf_of_id is not None:
        access.require(actor, "policy.accept_for_child", child_scope(db, on_behalf_of_id))
    else:
        access.require(actor, "policy.accept", actor)
    newest = current_versions(db).get(doc.kind)
    if doc.version != version or newest != version:
        raise Conflict(f"A newer version of this document (version {newest}) was published. "
                       "Read it and accept that one.")
    subject = on_behalf_of_id or actor.id
    if (subject, doc.id) in _accepted(db, [subject], [doc.id]):
        return db.scalar(select(PolicyAcceptance).where(
            PolicyAcceptance.document_id == doc.id,
            (PolicyAcceptance.on_behalf_of_id == subject)
            | ((PolicyAcceptance.user_id == subject) & PolicyAcceptance.on_behalf_of_id.is_(None))))
    row = PolicyAcceptance(user_id=actor.id, document_id=doc.id, version=doc.version,
                           on_behalf_of_id=on_behalf_of_id, acting_role=acting_role(actor))
    db.add(row)
    db.flush()
    audit.record(db, actor, "policy.accept", row, kind=doc.kind, version=doc.version,
                 on_behalf_of=on_behalf_of_id)
    if commit:  # the demo seed records hundreds in one transaction
        db.commit()
    return row
