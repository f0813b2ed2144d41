"""The co-authored tool library: resources, immutable revisions, co-authors, suggestions, comments,
coproduced review, adoption by sites, attachments and translations.

Nothing is lost: a revision is never changed; an edit names the revision it started from, and if
someone saved in between the save is refused with a `StaleEdit` that carries both texts for a merge.
Readers see the published revision while a newer one is in review.
"""
from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, cast, event, func, or_,
                        select)
from sqlalchemy.orm import Mapped, Session, joinedload, lazyload, mapped_column, relationship, selectinload

from network import access, audit, notifications, usage
from network.db import Base, utcnow
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.people import Site, User, acting_role, user_by_email
from network.roles import Role
from network.i18n import N_


class ResourceType(enum.StrEnum):
    HANDBOOK = "handbook"
    PREVISIT_TEMPLATE = "previsit_template"
    DECISION_AID = "decision_aid"
    BINDER_SECTION = "binder_section"
    TRANSITION = "transition"
    NEWLY_DIAGNOSED = "newly_diagnosed"
    POPULATION_ALGORITHM = "population_algorithm"
    OTHER = "other"


AUDIENCES = ("patients", "parents", "teens", "clinicians")
LANGUAGES = {"en": "English", "es": "Español"}


class Status(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


MAX_TITLE = 200
MAX_BODY = 200_000          # characters; a long handbook is ~60,000
MAX_SUMMARY = 200
MAX_COMMENT = 10_000
MAX_TAGS = 12
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 -]{0,39}$")
FAMILY_ROLES = (Role.PATIENT, Role.PARENT)
CLINICAL_ROLES = (Role.CLINICIAN, Role.SITE_LEAD)
REVIEW_ROLES = FAMILY_ROLES + CLINICAL_ROLES


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    #: the current working title (the published title is on the published revision)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    type: Mapped[str] = mapped_column(String(24))
    audience: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(5), default="en")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default=Status.DRAFT.value, index=True)
    #: the newest revision: what co-authors edit
    current_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id", use_alter=True))
    #: what readers see; None until first published
    published_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id", use_alter=True))
    #: the revision under review, while status is in_review
    review_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id", use_alter=True))
    #: for a translation: the resource it translates
    translation_of_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column()

    coauthors: Mapped[list["CoAuthor"]] = relationship(lazy="selectin", back_populates="resource",
                                                       cascade="all, delete-orphan")
    current_revision: Mapped["Revision | None"] = relationship(foreign_keys=[current_revision_id], post_update=True)
    published_revision: Mapped["Revision | None"] = relationship(foreign_keys=[published_revision_id],
                                                                 post_update=True)
    translation_of: Mapped["Resource | None"] = relationship(remote_side=[id])

    @property
    def coauthor_ids(self) -> set[int]:
        return {c.user_id for c in self.coauthors}

    @property
    def is_readable(self) -> bool:
        """Visible to every member: it has a published revision and is not archived."""
        return self.published_revision_id is not None and self.status != Status.ARCHIVED


class Revision(Base):
    """One saved state of a resource. Immutable (an ORM guard refuses updates)."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("resource_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    #: 1, 2, 3... within the resource
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(MAX_SUMMARY), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the author wrote in (patient, parent, clinician, ...)
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    #: "edit", "restore", "suggestion", "merge", "import"
    kind: Mapped[str] = mapped_column(String(12), default="edit")
    #: the revision the author started from
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    #: loaded when asked for: most revisions read (the one shown, a translation's original) show no author;
    #: the lists that do (history) load their authors in one query
    author: Mapped[User | None] = relationship()


class CoAuthor(Base):
    __tablename__ = "coauthors"
    __table_args__ = (UniqueConstraint("resource_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    resource: Mapped[Resource] = relationship(back_populates="coauthors")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="selectin")


class ReviewDecision(Base):
    """A reviewer's approval of, or request for changes to, one revision."""

    __tablename__ = "review_decisions"
    __table_args__ = (UniqueConstraint("revision_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20))
    #: "approve" or "request_changes"
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User | None] = relationship(lazy="selectin")


#: how a suggestion's status reads inside a sentence
SUGGESTION_STATUS_WORDS = {"accepted": N_("accepted"), "declined": N_("declined")}


class Suggestion(Base):
    """An edit proposed by a member who is not a co-author; co-authors accept or decline it."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    base_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(MAX_SUMMARY), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    #: "open", "accepted", "declined"
    status: Mapped[str] = mapped_column(String(10), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    resulting_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="selectin")
    base_revision: Mapped[Revision] = relationship(foreign_keys=[base_revision_id])


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    #: the id of the heading it is about ("h-caring-at-home"), or None for the whole resource
    anchor: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="selectin")


class Adoption(Base):
    """'Our site uses this tool since <month>' — shown on the resource and on the site's charts."""

    __tablename__ = "adoptions"
    __table_args__ = (UniqueConstraint("resource_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    since: Mapped[date] = mapped_column(Date)
    adopted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(lazy="selectin")
    resource: Mapped[Resource] = relationship()


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    #: server-made name in the attachment store; never the uploaded name
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(40))
    #: what the uploader called it, for display only
    label: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(Base):
    """Autosaved work in progress of one person on one resource (not a revision until saved)."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("resource_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    base_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Session, "before_flush")
def _revisions_are_immutable(session: Session, _ctx, _instances) -> None:
    for obj in session.dirty:
        if isinstance(obj, Revision) and session.is_modified(obj, include_collections=False):
            raise PermissionError("revisions are immutable; save a new one")


# ---------------------------------------------------------------------------------------------
# Errors with content

class StaleEdit(Conflict):
    """Someone saved after the editor started: nothing is written; both texts go back for a merge."""

    def __init__(self, base: Revision, theirs: Revision, mine_title: str, mine_body: str, summary: str):
        super().__init__(N_("Someone else saved a newer version while you were editing. Nothing of yours was lost."))
        self.base, self.theirs = base, theirs
        self.mine_title, self.mine_body, self.summary = mine_title, mine_body, summary


# ---------------------------------------------------------------------------------------------
# Loading with access

def _load(db: Session, resource_id: int) -> Resource:
    resource = db.get(Resource, resource_id)
    if resource is None:
        raise NotFound(N_("No such resource."))
    return resource


def get(db: Session, actor, resource_id: int) -> Resource:
    resource = _load(db, resource_id)
    access.require(actor, "library.view", resource)
    return resource


def by_slug(db: Session, actor, slug: str) -> Resource:
    # the page shows co-authors' roles: resource, co-authors, their accounts and roles in one joined query
    resource = db.scalars(select(Resource).where(Resource.slug == slug).options(
        joinedload(Resource.coauthors).joinedload(CoAuthor.user).joinedload(User.memberships))).unique().one_or_none()
    if resource is None:
        raise NotFound(N_("No such resource."))
    access.require(actor, "library.view", resource)
    return resource


def revision(db: Session, actor, resource: Resource, number: int) -> Revision:
    access.require(actor, "library.view_history", resource)
    found = db.scalar(select(Revision).where(Revision.resource_id == resource.id, Revision.number == number))
    if found is None:
        raise NotFound(N_("No such revision."))
    return found


def reader_revision(db: Session, actor, resource: Resource, *, working: bool = False) -> Revision:
    """What this viewer reads: readers the published revision; co-authors and leaders the newest one;
    anyone who may see it (reviewers, while it is in review) the newest one when they ask for it."""
    if resource.published_revision_id is None:
        return db.get(Revision, resource.current_revision_id)
    own = access.coauthors(actor, resource) or access.is_leader(actor)
    if own or (working and access.can(actor, "library.view_working", resource)):
        return db.get(Revision, resource.current_revision_id)
    return db.get(Revision, resource.published_revision_id)


def history(db: Session, actor, resource: Resource, *, page: int = 1, per_page: int = 50) -> tuple[list[Revision], int]:
    """Newest first, one page at a time (a resource may have hundreds of revisions)."""
    access.require(actor, "library.view_history", resource)
    total = db.scalar(select(func.count(Revision.id)).where(Revision.resource_id == resource.id)) or 0
    page = max(1, page)
    rows = db.scalars(select(Revision).where(Revision.resource_id == resource.id).order_by(Revision.number.desc())
                      .options(selectinload(Revision.author)).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


# ---------------------------------------------------------------------------------------------
# Validation

@dataclass
class Meta:
    type: str
    audience: list[str]
    language: str
    tags: list[str]


def _clean_tags(raw) -> list[str]:
    if isinstance(raw, str):
        raw = raw.split(",")
    return sorted({unicodedata.normalize("NFKC", t).strip().lower() for t in raw if t and t.strip()})


def _check_meta(meta: Meta, errors: dict[str, list[str]]) -> Meta:
    if meta.type not in {t.value for t in ResourceType}:
        errors["type"] = [N_("Choose one of the listed types.")]
    audience = sorted(set(meta.audience or []))
    if not audience or any(a not in AUDIENCES for a in audience):
        errors["audience"] = [N_("Choose who it is for: patients, parents, teens or clinicians.")]
    if meta.language not in LANGUAGES:
        errors["language"] = [N_("Choose one of the listed languages.")]
    tags = _clean_tags(meta.tags)
    if len(tags) > MAX_TAGS:
        errors["tags"] = [N_("Use at most %(max_tags)s tags.", max_tags=MAX_TAGS)]
    elif any(not TAG_RE.match(t) for t in tags):
        errors["tags"] = [N_("Tags use letters, digits, spaces and hyphens, at most 40 characters each.")]
    return Meta(meta.type, audience, meta.language, tags)


def _check_text(title: str, body: str, summary: str, errors: dict[str, list[str]]) -> tuple[str, str, str]:
    title = (title or "").strip()
    body = (body or "").replace("\r\n", "\n")
    summary = (summary or "").strip()
    if not title:
        errors["title"] = [N_("Give the resource a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [N_("Use at most %(max_title)s characters.", max_title=MAX_TITLE)]
    if not body.strip():
        errors["body"] = [N_("Write something first.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [N_("The text is %(body_count)s characters; at most %(max_body)s fit in one resource. Split it into parts.", body_count=len(body), max_body=MAX_BODY)]
    if len(summary) > MAX_SUMMARY:
        errors["summary"] = [N_("Keep the summary to one line (%(max_summary)s characters).", max_summary=MAX_SUMMARY)]
    return title, body, summary


def _slug_for(db: Session, title: str) -> str:
    base = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:80] or "resource"
    slug, n = base, 1
    while db.scalar(select(Resource.id).where(Resource.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise Invalid(errors)


# ---------------------------------------------------------------------------------------------
# Writing

def create(db: Session, actor, *, title: str, body: str, meta: Meta, summary: str = "",
           role: str | None = None, translation_of_id: int | None = None) -> Resource:
    """Start a resource as a draft; its author is its first co-author."""
    access.require(actor, "library.create")
    errors: dict[str, list[str]] = {}
    title, body, summary = _check_text(title, body, summary, errors)
    meta = _check_meta(meta, errors)
    original = None
    if translation_of_id is not None:
        original = db.get(Resource, translation_of_id)
        if original is None or not access.can(actor, "library.view", original):
            errors["translation_of"] = [N_("Choose a resource you can see.")]
        elif original.language == meta.language:
            errors["language"] = [N_("A translation is in another language than the original.")]
    _raise(errors)
    role = acting_role(actor, role)
    resource = Resource(slug=_slug_for(db, title), title=title, type=meta.type, audience=meta.audience,
                        language=meta.language, tags=meta.tags, created_by_id=actor.id,
                        translation_of_id=original.id if original else None)
    db.add(resource)
    db.flush()
    db.add(CoAuthor(resource_id=resource.id, user_id=actor.id, added_by_id=actor.id))
    first = Revision(resource_id=resource.id, number=1, title=title, body=body, summary=summary or "First draft",
                     author_id=actor.id, acting_role=role)
    db.add(first)
    db.flush()
    resource.current_revision_id = first.id
    audit.record(db, actor, "resource.create", resource, title=title)
    db.commit()
    return resource


def save(db: Session, actor, resource_id: int, *, base_revision_id: int, title: str, body: str, summary: str,
         role: str | None = None, kind: str = "edit") -> Revision:
    """Save a new revision started from `base_revision_id`; a stale base raises StaleEdit."""
    resource = _load(db, resource_id)
    access.require(actor, "library.edit", resource)
    errors: dict[str, list[str]] = {}
    title, body, summary = _check_text(title, body, summary, errors)
    _raise(errors)
    current = db.get(Revision, resource.current_revision_id)
    if base_revision_id != current.id:
        base = db.get(Revision, base_revision_id)
        if base is None or base.resource_id != resource.id:
            raise Invalid({"base_revision_id": [N_("The edit does not start from a revision of this resource.")]})
        raise StaleEdit(base, current, title, body, summary)
    if title == current.title and body == current.body:
        raise Invalid({"body": [N_("Nothing has changed since the last revision.")]})
    return _add_revision(db, actor, resource, title=title, body=body, summary=summary,
                         role=acting_role(actor, role), kind=kind, parent=current)


def _add_revision(db: Session, actor, resource: Resource, *, title: str, body: str, summary: str, role: str,
                  kind: str, parent: Revision) -> Revision:
    number = (db.scalar(select(func.max(Revision.number)).where(Revision.resource_id == resource.id)) or 0) + 1
    revision_row = Revision(resource_id=resource.id, number=number, title=title, body=body,
                            summary=summary or {"restore": "Restored an earlier revision",
                                                "merge": "Merged changes"}.get(kind, "Edited"),
                            author_id=getattr(actor, "id", None), acting_role=role, kind=kind, parent_id=parent.id)
    db.add(revision_row)
    db.flush()
    resource.current_revision_id = revision_row.id
    resource.title = title
    resource.updated_at = utcnow()
    if resource.status == Status.IN_REVIEW:
        resource.review_revision_id = revision_row.id  # approvals are for a revision: reviewers look again
    db.execute(Draft.__table__.delete().where(Draft.resource_id == resource.id, Draft.user_id == actor.id))
    audit.record(db, actor, "resource.revise", resource, revision=number, kind=kind)
    db.commit()
    return revision_row


def restore(db: Session, actor, resource_id: int, number: int, *, role: str | None = None) -> Revision:
    """An old revision's text becomes the newest revision (history is never rewritten)."""
    resource = _load(db, resource_id)
    access.require(actor, "library.edit", resource)
    old = db.scalar(select(Revision).where(Revision.resource_id == resource.id, Revision.number == number))
    if old is None:
        raise NotFound(N_("No such revision."))
    current = db.get(Revision, resource.current_revision_id)
    if old.id == current.id:
        raise Invalid({"revision": [N_("This is already the newest revision.")]})
    return _add_revision(db, actor, resource, title=old.title, body=old.body,
                         summary=f"Restored revision {old.number}", role=acting_role(actor, role), kind="restore",
                         parent=current)


def autosave(db: Session, actor, resource_id: int, *, base_revision_id: int, title: str, body: str) -> Draft:
    resource = _load(db, resource_id)
    access.require(actor, "library.edit", resource)
    if len(body or "") > MAX_BODY or len(title or "") > MAX_TITLE:
        raise Invalid({"body": [N_("Too long to save.")]})
    base = db.get(Revision, base_revision_id) if base_revision_id else None
    if base is None or base.resource_id != resource.id:
        raise Invalid({"base_revision_id": [N_("The draft does not start from a revision of this resource.")]})
    draft = db.scalar(select(Draft).where(Draft.resource_id == resource.id, Draft.user_id == actor.id))
    if draft is None:
        draft = Draft(resource_id=resource.id, user_id=actor.id, base_revision_id=base_revision_id, title=title or "",
                      body=body or "")
        db.add(draft)
    draft.base_revision_id, draft.title, draft.body, draft.saved_at = base_revision_id, title or "", body or "", utcnow()
    db.commit()
    return draft


def my_draft(db: Session, actor, resource: Resource) -> Draft | None:
    if not getattr(actor, "is_authenticated", False):
        return None
    return db.scalar(select(Draft).where(Draft.resource_id == resource.id, Draft.user_id == actor.id))


def discard_draft(db: Session, actor, resource_id: int) -> None:
    db.execute(Draft.__table__.delete().where(Draft.resource_id == resource_id, Draft.user_id == actor.id))
    db.commit()


def update_meta(db: Session, actor, resource_id: int, meta: Meta) -> Resource:
    resource = _load(db, resource_id)
    access.require(actor, "library.edit", resource)
    errors: dict[str, list[str]] = {}
    meta = _check_meta(meta, errors)
    _raise(errors)
    resource.type, resource.audience, resource.language, resource.tags = meta.type, meta.audience, meta.language, meta.tags
    audit.record(db, actor, "resource.meta", resource)
    db.commit()
    _reindex(db, resource)
    return resource


def add_coauthor(db: Session, actor, resource_id: int, email: str) -> CoAuthor:
    resource = _load(db, resource_id)
    access.require(actor, "library.manage_coauthors", resource)
    person = user_by_email(db, email or "")
    if person is None or not person.is_active or not person.memberships:
        raise Invalid({"email": [N_("No active member has that e-mail address.")]})
    if person.id in resource.coauthor_ids:
        raise Invalid({"email": [N_("Already a co-author.")]})
    link = CoAuthor(resource_id=resource.id, user_id=person.id, added_by_id=actor.id)
    db.add(link)
    audit.record(db, actor, "resource.coauthor_add", resource, user_id=person.id)
    db.commit()
    db.refresh(resource)
    return link


def remove_coauthor(db: Session, actor, resource_id: int, user_id: int) -> None:
    resource = _load(db, resource_id)
    access.require(actor, "library.manage_coauthors", resource)
    if user_id not in resource.coauthor_ids:
        raise NotFound(N_("Not a co-author."))
    if len(resource.coauthor_ids) == 1:
        raise Conflict(N_("A resource keeps at least one co-author."))
    db.execute(CoAuthor.__table__.delete().where(CoAuthor.resource_id == resource.id, CoAuthor.user_id == user_id))
    audit.record(db, actor, "resource.coauthor_remove", resource, user_id=user_id)
    db.commit()
    db.expire(resource, ["coauthors"])


# ---------------------------------------------------------------------------------------------
# Suggestions

def suggest(db: Session, actor, resource_id: int, *, base_revision_id: int, title: str, body: str,
            summary: str, role: str | None = None) -> Suggestion:
    resource = _load(db, resource_id)
    access.require(actor, "library.suggest", resource)
    errors: dict[str, list[str]] = {}
    title, body, summary = _check_text(title, body, summary, errors)
    base = db.get(Revision, base_revision_id)
    if base is None or base.resource_id != resource.id:
        errors["base_revision_id"] = [N_("The suggestion does not start from a revision of this resource.")]
    elif base.title == title and base.body == body:
        errors["body"] = [N_("The suggestion changes nothing.")]
    _raise(errors)
    suggestion = Suggestion(resource_id=resource.id, base_revision_id=base.id, title=title, body=body,
                            summary=summary or "Suggested change", author_id=actor.id,
                            acting_role=acting_role(actor, role))
    db.add(suggestion)
    db.flush()
    audit.record(db, actor, "suggestion.create", suggestion, resource_id=resource.id)
    notifications.notify(db, resource.coauthor_ids, "suggestion_received",
                         N_("A suggested change to “%(title)s”: %(summary)s", title=resource.title, summary=suggestion.summary),
                         f"/library/{resource.slug}/suggestions/{suggestion.id}")
    db.commit()
    return suggestion


def open_suggestions(db: Session, actor, resource: Resource) -> list[Suggestion]:
    access.require(actor, "library.view", resource)
    query = select(Suggestion).where(Suggestion.resource_id == resource.id).order_by(Suggestion.id.desc())
    if not access.can(actor, "library.decide_suggestion", resource):
        query = query.where(Suggestion.author_id == actor.id)
    return list(db.scalars(query))


def get_suggestion(db: Session, actor, suggestion_id: int) -> Suggestion:
    suggestion = db.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(N_("No such suggestion."))
    resource = _load(db, suggestion.resource_id)
    if not (access.can(actor, "library.decide_suggestion", resource) or suggestion.author_id == getattr(actor, "id", None)):
        access.require(actor, "library.decide_suggestion", resource)
    return suggestion


def decide_suggestion(db: Session, actor, suggestion_id: int, *, accept: bool, comment: str = "",
                      merged_body: str | None = None) -> Suggestion:
    """Accept (the change becomes a revision, merged with what was saved since) or decline, with a comment.
    If the suggestion and newer saves collide, the co-author settles the merge and sends `merged_body`."""
    from content import diff

    suggestion = db.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(N_("No such suggestion."))
    resource = _load(db, suggestion.resource_id)
    access.require(actor, "library.decide_suggestion", resource)
    if suggestion.status != "open":
        raise Conflict(N_("This suggestion was already %(status)s.", status=SUGGESTION_STATUS_WORDS.get(suggestion.status, suggestion.status)))
    if len(comment or "") > MAX_COMMENT:
        raise Invalid({"comment": [N_("Keep the comment under %(max_comment)s characters.", max_comment=MAX_COMMENT)]})
    if accept:
        current = db.get(Revision, resource.current_revision_id)
        base = db.get(Revision, suggestion.base_revision_id)
        if merged_body is not None:
            body = merged_body.replace("\r\n", "\n")
        elif current.id == base.id:
            body = suggestion.body
        else:
            merge = diff.three_way(base.body, suggestion.body, current.body)
            if merge.has_conflicts:
                raise SuggestionConflict(suggestion, merge)
            body = merge.merged_text
        errors: dict[str, list[str]] = {}
        _title, body, _summary = _check_text(suggestion.title, body, "", errors)
        _raise(errors)
        author = db.get(User, suggestion.author_id) if suggestion.author_id else None
        revision_row = _add_revision(db, author or actor, resource, title=suggestion.title, body=body,
                                     summary=f"{suggestion.summary} (suggested)", role=suggestion.acting_role,
                                     kind="suggestion", parent=current)
        suggestion.resulting_revision_id = revision_row.id
    suggestion.status = "accepted" if accept else "declined"
    suggestion.decided_by_id = actor.id
    suggestion.decision_comment = (comment or "").strip()
    suggestion.decided_at = utcnow()
    audit.record(db, actor, "suggestion.accept" if accept else "suggestion.decline", suggestion,
                 resource_id=resource.id)
    db.commit()
    return suggestion


class SuggestionConflict(Conflict):
    def __init__(self, suggestion: Suggestion, merge):
        super().__init__(N_("The suggestion and changes saved since it was made overlap; settle them to accept it."))
        self.suggestion, self.merge = suggestion, merge


# ---------------------------------------------------------------------------------------------
# Comments

def comments(db: Session, actor, resource: Resource) -> list[Comment]:
    access.require(actor, "library.view", resource)
    return list(db.scalars(select(Comment).where(Comment.resource_id == resource.id).order_by(Comment.id)))


def add_comment(db: Session, actor, resource_id: int, *, body: str, anchor: str | None = None,
                role: str | None = None, anchors: set[str] | None = None) -> Comment:
    resource = _load(db, resource_id)
    access.require(actor, "library.comment", resource)
    body = (body or "").strip()
    errors: dict[str, list[str]] = {}
    if not body:
        errors["body"] = [N_("Write a comment first.")]
    elif len(body) > MAX_COMMENT:
        errors["body"] = [N_("Keep the comment under %(max_comment)s characters.", max_comment=MAX_COMMENT)]
    anchor = (anchor or "").strip() or None
    if anchor is not None and anchors is not None and anchor not in anchors:
        errors["anchor"] = [N_("Choose one of the resource's headings.")]
    _raise(errors)
    comment = Comment(resource_id=resource.id, author_id=actor.id, acting_role=acting_role(actor, role), body=body,
                      anchor=anchor)
    db.add(comment)
    notifications.notify(db, resource.coauthor_ids, "resource_comment", N_("A new comment on “%(title)s”.", title=resource.title),
                         f"/library/{resource.slug}#comments", exclude=actor.id)
    db.commit()
    return comment


def resolve_comment(db: Session, actor, comment_id: int) -> Comment:
    comment = db.get(Comment, comment_id)
    if comment is None:
        raise NotFound(N_("No such comment."))
    resource = _load(db, comment.resource_id)
    if comment.author_id != getattr(actor, "id", None):
        access.require(actor, "library.edit", resource)
    else:
        access.require(actor, "library.comment", resource)
    if comment.resolved_at is None:
        comment.resolved_at = utcnow()
        comment.resolved_by_id = actor.id
    db.commit()
    return comment


# ---------------------------------------------------------------------------------------------
# Review and publication, coproduced

def submit_for_review(db: Session, actor, resource_id: int) -> Resource:
    resource = _load(db, resource_id)
    access.require(actor, "library.edit", resource)
    if resource.status == Status.IN_REVIEW:
        raise Conflict(N_("Already in review."))
    if resource.status == Status.ARCHIVED:
        raise Conflict(N_("An archived resource cannot go to review."))
    if resource.published_revision_id == resource.current_revision_id:
        raise Invalid({"status": [N_("The newest revision is already published; edit it first.")]})
    resource.status = Status.IN_REVIEW.value
    resource.review_revision_id = resource.current_revision_id
    audit.record(db, actor, "resource.submit_review", resource)
    notifications.notify(db, _reviewers_near(db, resource), "review_requested",
                         N_("“%(title)s” waits for a review.", title=resource.title), f"/library/{resource.slug}")
    db.commit()
    return resource


def _reviewers_near(db: Session, resource: Resource) -> set[int]:
    """People who may review it at the co-authors' sites (patients, parents, clinicians, site leads)."""
    from network.people import Membership

    sites = set(db.scalars(select(Membership.site_id).where(Membership.user_id.in_(resource.coauthor_ids),
                                                             Membership.site_id.is_not(None))))
    people = set(db.scalars(select(Membership.user_id).where(
        Membership.site_id.in_(sites or {-1}), Membership.ended_at.is_(None),
        Membership.role.in_([r.value for r in REVIEW_ROLES]))))
    return people - resource.coauthor_ids


def review_decisions(db: Session, resource: Resource) -> list[ReviewDecision]:
    if resource.review_revision_id is None:
        return []
    return list(db.scalars(select(ReviewDecision).where(ReviewDecision.revision_id == resource.review_revision_id)
                           .order_by(ReviewDecision.id)))


def authors_of(db: Session, resource: Resource, up_to_revision_id: int | None = None) -> set[int]:
    query = select(Revision.author_id).where(Revision.resource_id == resource.id, Revision.author_id.is_not(None))
    if up_to_revision_id:
        query = query.where(Revision.id <= up_to_revision_id)
    return set(db.scalars(query.distinct())) | resource.coauthor_ids


def review(db: Session, actor, resource_id: int, *, decision: str, comment: str = "",
           role: str | None = None) -> ReviewDecision:
    """Approve the revision under review, or ask for changes (with a comment the authors see)."""
    resource = _load(db, resource_id)
    access.require(actor, "library.review", resource)
    if resource.status != Status.IN_REVIEW or resource.review_revision_id is None:
        raise Conflict(N_("This resource is not in review."))
    errors: dict[str, list[str]] = {}
    if decision not in ("approve", "request_changes"):
        errors["decision"] = [N_("Choose approve or request changes.")]
    comment = (comment or "").strip()
    if decision == "request_changes" and not comment:
        errors["comment"] = [N_("Say what should change.")]
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [N_("Keep the comment under %(max_comment)s characters.", max_comment=MAX_COMMENT)]
    role = acting_role(actor, role, allowed=REVIEW_ROLES) if not errors else ""
    if not errors and not role:
        errors["acting_role"] = [N_("Reviewing needs a patient, parent or clinician role.")]
    _raise(errors)
    if decision == "approve" and authors_of(db, resource) == {actor.id}:
        raise Forbidden(N_("The only author of a resource cannot approve it; ask another member to review."))
    already = db.scalar(select(ReviewDecision).where(ReviewDecision.revision_id == resource.review_revision_id,
                                                     ReviewDecision.reviewer_id == actor.id))
    if already is not None:
        raise Conflict(N_("You have already reviewed this revision."))
    row = ReviewDecision(resource_id=resource.id, revision_id=resource.review_revision_id, reviewer_id=actor.id,
                         acting_role=role, decision=decision, comment=comment)
    db.add(row)
    if decision == "request_changes":
        resource.status = Status.PUBLISHED.value if resource.published_revision_id else Status.DRAFT.value
        resource.review_revision_id = None
    audit.record(db, actor, f"resource.review_{decision}", resource, role=role)
    db.commit()
    return row


def changes_asked(db: Session, resource: Resource) -> ReviewDecision | None:
    """The request for changes that sent the resource back from review, for its authors to read: the
    resource's last review decision, while it is out of review and that revision is not published."""
    if resource.status == Status.IN_REVIEW:
        return None
    last = db.scalar(select(ReviewDecision).where(ReviewDecision.resource_id == resource.id)
                     .order_by(ReviewDecision.id.desc()).limit(1))
    if last is None or last.decision != "request_changes" or last.revision_id == resource.published_revision_id:
        return None
    return last


def approval_state(db: Session, resource: Resource) -> dict[str, bool]:
    """Whether the revision under review has the coproduced approvals publication needs."""
    roles = {d.acting_role for d in review_decisions(db, resource) if d.decision == "approve"}
    family = any(r in roles for r in FAMILY_ROLES)
    clinical = any(r in roles for r in CLINICAL_ROLES)
    return {"family": family, "clinical": clinical, "ready": family and clinical}


def publish(db: Session, actor, resource_id: int) -> Resource:
    resource = _load(db, resource_id)
    access.require(actor, "library.publish", resource)
    if resource.status != Status.IN_REVIEW:
        raise Conflict(N_("Only a resource in review can be published."))
    if not approval_state(db, resource)["ready"]:
        raise Conflict(N_("Publishing needs approval from a patient or parent AND from a clinician."))
    resource.published_revision_id = resource.review_revision_id
    resource.review_revision_id = None
    resource.status = Status.PUBLISHED.value
    resource.published_at = utcnow()
    audit.record(db, actor, "resource.publish", resource)
    db.commit()
    _reindex(db, resource)
    return resource


def archive(db: Session, actor, resource_id: int) -> Resource:
    resource = _load(db, resource_id)
    access.require(actor, "library.archive", resource)
    resource.status = Status.ARCHIVED.value
    resource.review_revision_id = None
    audit.record(db, actor, "resource.archive", resource)
    db.commit()
    _reindex(db, resource)
    return resource


def coproduction(db: Session, resource: Resource) -> dict[str, list[str]]:
    """Roles of the published revision's authors and reviewers: the 'co-produced' badge."""
    if resource.published_revision_id is None:
        return {"authors": [], "reviewers": [], "coproduced": False}
    author_roles = sorted(set(db.scalars(select(Revision.acting_role).where(
        Revision.resource_id == resource.id, Revision.id <= resource.published_revision_id,
        Revision.acting_role != ""))))
    reviewer_roles = sorted(set(db.scalars(select(ReviewDecision.acting_role).where(
        ReviewDecision.revision_id == resource.published_revision_id, ReviewDecision.decision == "approve"))))
    everyone = set(author_roles) | set(reviewer_roles)
    coproduced = any(r in everyone for r in FAMILY_ROLES) and any(r in everyone for r in CLINICAL_ROLES)
    return {"authors": author_roles, "reviewers": reviewer_roles, "coproduced": coproduced}


# ---------------------------------------------------------------------------------------------
# Adoption and translations

def adopt(db: Session, actor, resource_id: int, *, site_id: int, since: date) -> Adoption:
    resource = _load(db, resource_id)
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound(N_("No such site."))
    access.require(actor, "library.adopt", site)
    if not resource.is_readable:
        raise Invalid({"resource": [N_("Only a published resource can be adopted.")]})
    today = utcnow().date()
    if since > date(today.year, today.month, 1):
        raise Invalid({"since": [N_("The month cannot be in the future.")]})
    adoption = db.scalar(select(Adoption).where(Adoption.resource_id == resource.id, Adoption.site_id == site.id))
    if adoption is None:
        adoption = Adoption(resource_id=resource.id, site_id=site.id, since=since, adopted_by_id=actor.id)
        db.add(adoption)
        usage.record(db, actor, "adoption", "resource", resource.id)
        notifications.notify(db, resource.coauthor_ids, "tool_adopted", N_("%(name)s now uses “%(title)s”.", name=site.name, title=resource.title),
                             f"/library/{resource.slug}", exclude=actor.id)
    adoption.since = since
    db.flush()
    audit.record(db, actor, "resource.adopt", adoption, site_id=site.id, resource_id=resource.id)
    db.commit()
    return adoption


def unadopt(db: Session, actor, resource_id: int, site_id: int) -> None:
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound(N_("No such site."))
    access.require(actor, "library.adopt", site)
    adoption = db.scalar(select(Adoption).where(Adoption.resource_id == resource_id, Adoption.site_id == site_id))
    if adoption is None:
        raise NotFound(N_("Not adopted."))
    audit.record(db, actor, "resource.unadopt", adoption, site_id=site_id, resource_id=resource_id)
    db.delete(adoption)
    db.commit()


def adoptions_of(db: Session, resource: Resource) -> list[Adoption]:
    return list(db.scalars(select(Adoption).where(Adoption.resource_id == resource.id).order_by(Adoption.since)))


def adoptions_at(db: Session, site_ids: list[int]) -> list[Adoption]:
    """Every adoption at these sites, with its resource (for chart annotations), in one query."""
    return list(db.scalars(select(Adoption).where(Adoption.site_id.in_(site_ids))
                           .options(selectinload(Adoption.resource))))


def translations_of(db: Session, actor, resource: Resource) -> list[Resource]:
    original_id = resource.translation_of_id or resource.id
    rows = db.scalars(select(Resource).where(or_(Resource.translation_of_id == original_id, Resource.id == original_id),
                                             Resource.id != resource.id)
                      .options(lazyload("*")))  # co-authors are asked for only for a draft (who may view it)
    return [r for r in rows if access.can(actor, "library.view", r)]


# ---------------------------------------------------------------------------------------------
# Attachments

def attach(db: Session, actor, resource_id: int, data: bytes, *, label: str, store) -> Attachment:
    from content import attachments

    resource = _load(db, resource_id)
    access.require(actor, "library.edit", resource)
    checked = attachments.check(data, label)
    label = (label or "attachment").strip()[:200]
    stored = store.save(checked)
    try:
        row = Attachment(resource_id=resource.id, stored_name=stored, media_type=checked.media_type, label=label,
                         size=len(checked.content), sha256=checked.sha256, uploaded_by_id=actor.id)
        db.add(row)
        db.flush()
        audit.record(db, actor, "attachment.add", row, resource_id=resource.id, media_type=checked.media_type)
        db.commit()
    except BaseException:
        # the row could not be stored (database read-only, full or gone): no file without its row (the
        # caller rolls the session back; the web layer's fault handler does)
        store.delete(stored)
        raise
    return row


def attachments_of(db: Session, resource: Resource) -> list[Attachment]:
    return list(db.scalars(select(Attachment).where(Attachment.resource_id == resource.id).order_by(Attachment.id)))


def attachment_for(db: Session, actor, stored_name: str) -> tuple[Attachment, Resource]:
    row = db.scalar(select(Attachment).where(Attachment.stored_name == stored_name))
    if row is None:
        raise NotFound(N_("No such file."))
    resource = get(db, actor, row.resource_id)
    return row, resource


# ---------------------------------------------------------------------------------------------
# Reading lists

def _published():
    """What every member may read: published and not archived (library.view allows it to all)."""
    return Resource.published_revision_id.is_not(None), Resource.status != Status.ARCHIVED


def readable(db: Session, actor, *, limit: int = 50, offset: int = 0, type_: str | None = None,
             audience: str | None = None, language: str | None = None) -> list[Resource]:
    """Published resources, newest first (the library's front page and the JSON API)."""
    access.require(actor, "library.browse")
    # lists show the published title, type, audience and language: co-authors and authors load only if asked
    query = (select(Resource).where(*_published())
             .options(lazyload("*"), selectinload(Resource.published_revision).lazyload("*"))
             .order_by(Resource.published_at.desc(), Resource.id.desc()).limit(limit).offset(offset))
    if type_:
        query = query.where(Resource.type == type_)
    if language:
        query = query.where(Resource.language == language)
    rows = list(db.scalars(query))
    if audience:
        rows = [r for r in rows if audience in (r.audience or [])]
    return rows


def transition_tools(db: Session, actor, *, limit: int = 20) -> list[Resource]:
    """The published tools for the move to adult care: type "transition" or tagged "transition"."""
    access.require(actor, "library.browse")
    is_transition = or_(Resource.type == "transition", cast(Resource.tags, String).like('%"transition"%'))
    return list(db.scalars(select(Resource).where(*_published(), is_transition).order_by(Resource.title).limit(limit)))


def mine(db: Session, actor) -> list[Resource]:
    """What the person co-authors, whatever its state."""
    access.require(actor, "library.create")
    return list(db.scalars(select(Resource).join(CoAuthor).where(CoAuthor.user_id == actor.id)
                           .options(lazyload("*")).order_by(Resource.updated_at.desc()).limit(100)))


def awaiting_review(db: Session, actor) -> list[Resource]:
    access.require(actor, "library.browse")
    return list(db.scalars(select(Resource).where(Resource.status == Status.IN_REVIEW)
                           .options(lazyload("*"), selectinload(Resource.coauthors).lazyload("*"))  # ids, not people
                           .order_by(Resource.updated_at.desc()).limit(100)))


def awaiting_review_by_others_count(db: Session, actor) -> int:
    """How many resources in review the actor is not a co-author of, in one query (the home page's count)."""
    access.require(actor, "library.browse")
    own = select(CoAuthor.id).where(CoAuthor.resource_id == Resource.id, CoAuthor.user_id == actor.id).exists()
    return db.scalar(select(func.count(Resource.id)).where(Resource.status == Status.IN_REVIEW, ~own)) or 0


def record_view(db: Session, actor, resource: Resource, kind: str = "view") -> None:
    usage.record(db, actor, kind, "resource", resource.id)
    db.commit()


def _reindex(db: Session, resource: Resource) -> None:
    from content import search

    search.index_resource(db, resource)
