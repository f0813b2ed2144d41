"""Personal narratives: stories members choose to share, with consent, moderation and privacy first.

A story goes to moderators before anyone reads it, and so does every edit of a published story (the
published text stays what readers see until the edit is approved). The author chooses how they appear
(full name, first name, or anonymous) and who may read (the public web, network members, or their own
site); narrowing takes effect at once. An anonymous story never reveals its author: every byline
comes from `byline()`, and only moderators see the author, each look written to the audit log.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from network import access, audit, minors, notifications
from network.db import Base, utcnow
from network.errors import Conflict, Gone, Invalid, NotFound
from network.people import CareLink, Site, User, acting_role
from network.i18n import N_

#: stored as these English words; pages show them translated (`_(tag)`)
TAGS = (N_("newly diagnosed"), N_("school"), N_("transition"), N_("surgery"), N_("mental health"), N_("siblings"),
        N_("sport"), N_("medicines"), N_("diet"), N_("friends"), N_("travel"), N_("work"), N_("hospital"),
        N_("remission"), N_("flares"))
MAX_TITLE = 160
MAX_BODY = 30_000
MAX_COMMENT = 4_000
MAX_REASON = 1_000


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    NETWORK = "network"
    SITE = "site"


#: narrowing order: a story may move right along this list at once, left only through moderation
VISIBILITY_ORDER = (Visibility.PUBLIC, Visibility.NETWORK, Visibility.SITE)


class Byline(enum.StrEnum):
    FULL = "full"
    FIRST = "first"
    ANONYMOUS = "anonymous"


class StoryStatus(enum.StrEnum):
    AWAITING_PARENT = "awaiting_parent"   # a teen's story waits for a linked parent's agreement
    PENDING = "pending"                   # waits for a moderator
    CHANGES_REQUESTED = "changes_requested"
    PUBLISHED = "published"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the role the author tells the story as ("a parent at a network site")
    acting_role: Mapped[str] = mapped_column(String(20))
    #: the site that "members of my site" means, and that an anonymous byline never names
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ids of library resources that helped
    resource_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    byline: Mapped[str] = mapped_column(String(10), default=Byline.FIRST.value)
    visibility: Mapped[str] = mapped_column(String(10), default=Visibility.NETWORK.value, index=True)
    status: Mapped[str] = mapped_column(String(20), default=StoryStatus.PENDING.value, index=True)
    #: an edit of a published story waiting for moderation (readers keep the published text)
    pending_title: Mapped[str | None] = mapped_column(String(MAX_TITLE))
    pending_body: Mapped[str | None] = mapped_column(Text)
    #: what the moderator told the author (changes requested) or why it was declined
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    needs_parent_agreement: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_agreed_at: Mapped[datetime | None] = mapped_column()
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column()

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="selectin")
    site: Mapped[Site | None] = relationship(lazy="selectin")

    @property
    def is_readable(self) -> bool:
        return self.status == StoryStatus.PUBLISHED


class StoryReaction(Base):
    """'This helped me' — once per person per story."""

    __tablename__ = "story_reactions"
    __table_args__ = (UniqueConstraint("story_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoryComment(Base):
    __tablename__ = "story_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    body: Mapped[str] = mapped_column(Text)
    #: "published", or "pending" on public stories until a moderator approves, or "declined"
    status: Mapped[str] = mapped_column(String(10), default="published")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship(lazy="selectin")


class Report(Base):
    """A member's report of a story or a comment, for the moderators' queue."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "story" or "story_comment"
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(200), default="")


# ---------------------------------------------------------------------------------------------
# Who the story is by, as this viewer may see it: the one place bylines are made

ROLE_WORDS = {"patient": "a patient", "parent": "a parent", "clinician": "a clinician",
              "site_lead": "a clinician", "network_leader": "a member of the network's leadership",
              "moderator": "a member"}
#: the anonymous byline, per role word
ANONYMOUS_BYLINES = {
    "a patient": N_("A patient at a network site"),
    "a parent": N_("A parent at a network site"),
    "a clinician": N_("A clinician at a network site"),
    "a member of the network's leadership": N_("A member of the network's leadership at a network site"),
    "a member": N_("A member at a network site"),
}
#: the role after a name ("Sam, parent at Riverside")
NAMED_ROLES = {
    "a patient": N_("patient"), "a parent": N_("parent"), "a clinician": N_("clinician"),
    "a member of the network's leadership": N_("member of the network's leadership"), "a member": N_("member"),
}


def byline(story: Story) -> str:
    """The author as readers see them. Anonymous: the role and 'a network site', nothing more."""
    role_words = ROLE_WORDS.get(story.acting_role, "a member")
    if story.byline == Byline.ANONYMOUS:
        return ANONYMOUS_BYLINES[role_words]
    name = story.author.full_name if story.byline == Byline.FULL else story.author.full_name.split()[0]
    if story.site:
        return N_("%(name)s, %(role)s at %(site)s", name=name, role=NAMED_ROLES[role_words], site=story.site.name)
    return N_("%(name)s, %(role)s", name=name, role=NAMED_ROLES[role_words])


def author_visible_to(viewer, story: Story) -> bool:
    """May this viewer know who wrote the story? The author, and anyone when it is not anonymous."""
    return story.byline != Byline.ANONYMOUS or getattr(viewer, "id", None) == story.author_id


# ---------------------------------------------------------------------------------------------
# Reading

def _load(db: Session, story_id: int) -> Story:
    story = db.get(Story, story_id)
    if story is None:
        raise NotFound(N_("No such story."))
    return story


def get(db: Session, viewer, story_id: int) -> Story:
    story = _load(db, story_id)
    if story.status == StoryStatus.WITHDRAWN and getattr(viewer, "id", None) != story.author_id:
        raise Gone(N_("The author has withdrawn this story."))
    access.require(viewer, "story.read", story)
    return story


def readable_query(viewer):
    """Published stories this viewer may read, as one SQL condition (lists, feed, search use it)."""
    query = select(Story).where(Story.status == StoryStatus.PUBLISHED.value)
    if not access.signed_in(viewer):
        return query.where(Story.visibility == Visibility.PUBLIC.value)
    if access.is_moderator(viewer) or access.is_leader(viewer):
        return query
    my_sites = sorted(viewer.site_ids())
    return query.where((Story.visibility != Visibility.SITE.value) | Story.site_id.in_(my_sites or [-1]))


def browse(db: Session, viewer, *, tag: str | None = None, role: str | None = None, limit: int = 50) -> list[Story]:
    query = readable_query(viewer).order_by(Story.published_at.desc(), Story.id.desc()).limit(limit)
    if role:
        roles = ("clinician", "site_lead") if role == "clinician" else (role,)
        query = query.where(Story.acting_role.in_(roles))
    stories = list(db.scalars(query))
    if tag:
        stories = [s for s in stories if tag in (s.tags or [])]
    return stories


def featured(db: Session, viewer, limit: int = 3) -> list[Story]:
    return list(db.scalars(readable_query(viewer).where(Story.featured.is_(True))
                           .order_by(Story.published_at.desc()).limit(limit)))


def public_feed(db: Session, limit: int = 50) -> list[Story]:
    return list(db.scalars(select(Story).where(Story.status == StoryStatus.PUBLISHED.value,
                                               Story.visibility == Visibility.PUBLIC.value)
                           .order_by(Story.published_at.desc()).limit(limit)))


def mine(db: Session, viewer) -> list[Story]:
    access.require(viewer, "story.tell")
    return list(db.scalars(select(Story).where(Story.author_id == viewer.id).order_by(Story.created_at.desc())))


def helped_counts(db: Session, story_ids: list[int]) -> dict[int, int]:
    if not story_ids:
        return {}
    rows = db.execute(select(StoryReaction.story_id, func.count(StoryReaction.id))
                      .where(StoryReaction.story_id.in_(story_ids)).group_by(StoryReaction.story_id))
    return dict(rows.all())


def has_helped(db: Session, viewer, story: Story) -> bool:
    if not access.signed_in(viewer):
        return False
    return db.scalar(select(StoryReaction.id).where(StoryReaction.story_id == story.id,
                                                    StoryReaction.user_id == viewer.id)) is not None


def comments(db: Session, viewer, story: Story) -> list[StoryComment]:
    query = select(StoryComment).where(StoryComment.story_id == story.id).order_by(StoryComment.id)
    rows = list(db.scalars(query))
    if access.is_moderator(viewer):
        return [c for c in rows if c.status != "declined"]
    return [c for c in rows if c.status == "published" or (c.status == "pending" and c.author_id == getattr(viewer, "id", None))]


# ---------------------------------------------------------------------------------------------
# Telling

def is_teen(user: User, today: date | None = None) -> bool:
    """13–17 (network/minors.py holds the one definition of age)."""
    return minors.is_teen(user, today)


def linked_parents(db: Session, patient: User) -> list[User]:
    return list(db.scalars(select(User).join(CareLink, CareLink.parent_id == User.id)
                           .where(CareLink.patient_id == patient.id)))


def _check(title: str, body: str, tags, visibility: str, byline_choice: str, errors: dict) -> tuple[str, str, list[str]]:
    title = (title or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    if not title:
        errors["title"] = [N_("Give your story a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [N_("Use at most %(max_title)s characters.", max_title=MAX_TITLE)]
    if not body:
        errors["body"] = [N_("Tell your story first.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [N_("Your story is %(body_count)s characters; at most %(max_body)s fit. Split it in parts.", body_count=len(body), max_body=MAX_BODY)]
    tags = sorted({t.strip().lower() for t in (tags or []) if t and t.strip()})
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        errors["tags"] = [N_("Unknown tag(s): %(unknown)s. Choose from the list.", unknown=', '.join(unknown))]
    if visibility not in {v.value for v in Visibility}:
        errors["visibility"] = [N_("Choose who may read it.")]
    if byline_choice not in {b.value for b in Byline}:
        errors["byline"] = [N_("Choose how you appear.")]
    return title, body, tags


def tell(db: Session, actor, *, title: str, body: str, tags: list[str], visibility: str, byline_choice: str,
         role: str | None = None, site_id: int | None = None, resource_ids: list[int] | None = None,
         today: date | None = None) -> Story:
    """A new story goes to the moderators (a teen's first to a linked parent)."""
    access.require(actor, "story.tell")
    errors: dict[str, list[str]] = {}
    title, body, tags = _check(title, body, tags, visibility, byline_choice, errors)
    role = acting_role(actor, role) if "acting_role" not in errors else ""
    sites = sorted(actor.site_ids())
    if site_id is None and sites:
        site_id = sites[0]
    if site_id is not None and site_id not in sites:
        errors["site"] = [N_("Choose one of your sites.")]
    if visibility == Visibility.SITE and site_id is None:
        errors["visibility"] = [N_("You belong to no site; choose network members or the public.")]
    if errors:
        raise Invalid(errors)
    teen = is_teen(actor, today)
    parents = linked_parents(db, actor) if teen else []
    story = Story(author_id=actor.id, acting_role=role, site_id=site_id, title=title, body=body, tags=tags,
                  resource_ids=_clean_resources(db, actor, resource_ids), visibility=visibility, byline=byline_choice,
                  needs_parent_agreement=bool(parents),
                  status=(StoryStatus.AWAITING_PARENT if parents else StoryStatus.PENDING).value)
    db.add(story)
    db.flush()
    audit.record(db, actor, "story.create", story, visibility=visibility, byline=byline_choice)
    db.commit()
    from content import safeguarding  # screening never blocks the story; a match goes to the urgent queue

    safeguarding.screen(db, object_type="story", object_id=story.id, text=f"{title}\n{body}", link=f"/stories/{story.id}")
    return story


def _clean_resources(db: Session, actor, resource_ids) -> list[int]:
    from content.library import Resource

    ids = sorted({int(i) for i in (resource_ids or [])})[:10]
    if not ids:
        return []
    readable = {r.id for r in db.scalars(select(Resource).where(Resource.id.in_(ids))) if r.is_readable}
    return [i for i in ids if i in readable]


def parent_agree(db: Session, actor, story_id: int) -> Story:
    access.require(actor, "story.tell")
    story = _load(db, story_id)
    if story.status != StoryStatus.AWAITING_PARENT:
        raise Conflict(N_("This story is not waiting for a parent's agreement."))
    if actor.id not in {p.id for p in linked_parents(db, story.author)}:
        raise NotFound(N_("No such story."))
    story.parent_agreed_by_id, story.parent_agreed_at = actor.id, utcnow()
    story.status = StoryStatus.PENDING.value
    audit.record(db, actor, "story.parent_agree", story)
    db.commit()
    return story


def awaiting_my_agreement(db: Session, actor) -> list[Story]:
    if not access.signed_in(actor):
        return []
    return list(db.scalars(select(Story).where(*_awaiting_agreement_of(actor))))


def awaiting_my_agreement_count(db: Session, actor) -> int:
    """How many stories awaiting_my_agreement lists, in one query (the home page shows only the number)."""
    if not access.signed_in(actor):
        return 0
    return db.scalar(select(func.count(Story.id)).where(*_awaiting_agreement_of(actor))) or 0


def _awaiting_agreement_of(actor) -> tuple:
    """Stories by the parent's own children that wait for the parent's agreement."""
    children = select(CareLink.patient_id).where(CareLink.parent_id == actor.id)
    return Story.status == StoryStatus.AWAITING_PARENT.value, Story.author_id.in_(children)


def edit(db: Session, actor, story_id: int, *, title: str, body: str, tags: list[str]) -> Story:
    """The author edits; a published story keeps its text for readers until moderators approve the edit."""
    story = _load(db, story_id)
    access.require(actor, "story.edit", story)
    if story.status in (StoryStatus.WITHDRAWN, StoryStatus.DECLINED):
        raise Conflict(N_("A withdrawn or declined story cannot be edited; tell a new one."))
    errors: dict[str, list[str]] = {}
    title, body, tags = _check(title, body, tags, story.visibility, story.byline, errors)
    if errors:
        raise Invalid(errors)
    story.tags = tags
    if story.status == StoryStatus.PUBLISHED:
        story.pending_title, story.pending_body = title, body
    else:
        story.title, story.body = title, body
        if story.status == StoryStatus.CHANGES_REQUESTED:
            story.status = StoryStatus.PENDING.value
    audit.record(db, actor, "story.edit", story)
    db.commit()
    return story


def narrow(db: Session, actor, story_id: int, *, visibility: str | None = None, byline_choice: str | None = None) -> Story:
    """Make the story more private at once: fewer readers, or a less identifying byline."""
    story = _load(db, story_id)
    access.require(actor, "story.edit", story)
    errors: dict[str, list[str]] = {}
    if visibility is not None:
        if visibility not in {v.value for v in Visibility}:
            errors["visibility"] = [N_("Choose who may read it.")]
        elif VISIBILITY_ORDER.index(Visibility(visibility)) < VISIBILITY_ORDER.index(Visibility(story.visibility)):
            errors["visibility"] = [N_("Reaching more readers needs the moderators: edit the story to ask.")]
        elif visibility == Visibility.SITE and story.site_id is None:
            errors["visibility"] = [N_("You belong to no site.")]
    bylines = (Byline.FULL, Byline.FIRST, Byline.ANONYMOUS)
    if byline_choice is not None:
        if byline_choice not in {b.value for b in Byline}:
            errors["byline"] = [N_("Choose how you appear.")]
        elif bylines.index(Byline(byline_choice)) < bylines.index(Byline(story.byline)):
            errors["byline"] = [N_("Showing more of your name needs the moderators: edit the story to ask.")]
    if errors:
        raise Invalid(errors)
    story.visibility = visibility or story.visibility
    story.byline = byline_choice or story.byline
    audit.record(db, actor, "story.narrow", story, visibility=story.visibility, byline=story.byline)
    db.commit()
    return story


def withdraw(db: Session, actor, story_id: int) -> Story:
    story = _load(db, story_id)
    access.require(actor, "story.edit", story)
    story.status = StoryStatus.WITHDRAWN.value
    story.withdrawn_at = utcnow()
    story.featured = False
    audit.record(db, actor, "story.withdraw", story)
    db.commit()
    return story


def delete_permanently(db: Session, actor, story_id: int) -> None:
    """Remove the story, its comments and reactions; the audit log keeps only that it happened."""
    story = _load(db, story_id)
    access.require(actor, "story.edit", story)
    db.execute(Report.__table__.delete().where(Report.object_type == "story", Report.object_id == story.id))
    comment_ids = list(db.scalars(select(StoryComment.id).where(StoryComment.story_id == story.id)))
    if comment_ids:
        db.execute(Report.__table__.delete().where(Report.object_type == "story_comment",
                                                   Report.object_id.in_(comment_ids)))
    audit.record(db, actor, "story.delete", None, story_id=story.id)
    db.delete(story)
    db.commit()


# ---------------------------------------------------------------------------------------------
# Moderation

def queue(db: Session, actor) -> dict[str, list]:
    access.require(actor, "story.moderate")
    stories = list(db.scalars(select(Story).where(
        (Story.status == StoryStatus.PENDING.value) | Story.pending_body.is_not(None)).order_by(Story.created_at)))
    pending_comments = list(db.scalars(select(StoryComment).where(StoryComment.status == "pending")
                                       .order_by(StoryComment.created_at)))
    reports = list(db.scalars(select(Report).where(Report.closed_at.is_(None)).order_by(Report.created_at)))
    return {"stories": stories, "comments": pending_comments, "reports": reports}


def for_moderation(db: Session, actor, story_id: int) -> Story:
    """A moderator's view of a story, author included; looking at an anonymous author is audited."""
    access.require(actor, "story.moderate")
    story = _load(db, story_id)
    if story.byline == Byline.ANONYMOUS:
        audit.record(db, actor, "story.author_viewed", story)
        db.commit()
    return story


def moderate(db: Session, actor, story_id: int, *, decision: str, note: str = "") -> Story:
    access.require(actor, "story.moderate")
    story = _load(db, story_id)
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if decision not in ("approve", "request_changes", "decline"):
        errors["decision"] = [N_("Choose approve, request changes or decline.")]
    if decision in ("request_changes", "decline") and not note:
        errors["note"] = [N_("Tell the author what to change, or why it is declined.")]
    if len(note) > MAX_REASON:
        errors["note"] = [N_("Keep the note under %(max_reason)s characters.", max_reason=MAX_REASON)]
    if errors:
        raise Invalid(errors)
    editing_published = story.status == StoryStatus.PUBLISHED and story.pending_body is not None
    if not editing_published and story.status != StoryStatus.PENDING:
        raise Conflict(N_("This story is not waiting for moderation."))
    if editing_published:
        if decision == "approve":
            story.title, story.body = story.pending_title, story.pending_body
        story.pending_title = story.pending_body = None
        story.moderation_note = note
    elif decision == "approve":
        story.status, story.published_at, story.moderation_note = StoryStatus.PUBLISHED.value, utcnow(), note
    else:
        story.status = (StoryStatus.CHANGES_REQUESTED if decision == "request_changes" else StoryStatus.DECLINED).value
        story.moderation_note = note
    audit.record(db, actor, f"story.{decision}", story)
    words = {"approve": N_("is published"), "request_changes": N_("needs a change"),
             "decline": N_("was declined")}[decision]
    notifications.notify(db, [story.author_id], "story_moderated", N_("Your story “%(title)s” %(words)s.", title=story.title, words=words),
                         "/stories/mine")
    db.commit()
    return story


def moderate_comment(db: Session, actor, comment_id: int, *, approve: bool) -> StoryComment:
    access.require(actor, "story.moderate")
    comment = db.get(StoryComment, comment_id)
    if comment is None:
        raise NotFound(N_("No such comment."))
    comment.status = "published" if approve else "declined"
    audit.record(db, actor, "story_comment.approve" if approve else "story_comment.decline", comment)
    db.commit()
    return comment


def close_report(db: Session, actor, report_id: int, *, outcome: str) -> Report:
    access.require(actor, "story.moderate")
    report = db.get(Report, report_id)
    if report is None:
        raise NotFound(N_("No such report."))
    outcome = (outcome or "").strip()[:200]
    if not outcome:
        raise Invalid({"outcome": [N_("Say what was done.")]})
    report.closed_at, report.closed_by_id, report.outcome = utcnow(), actor.id, outcome
    audit.record(db, actor, "report.close", report, outcome=outcome)
    db.commit()
    return report


def feature(db: Session, actor, story_id: int, featured_flag: bool) -> Story:
    access.require(actor, "story.feature")
    story = _load(db, story_id)
    if featured_flag and not story.is_readable:
        raise Invalid({"story": [N_("Only a published story can be featured.")]})
    story.featured = featured_flag
    audit.record(db, actor, "story.feature" if featured_flag else "story.unfeature", story)
    db.commit()
    return story


# ---------------------------------------------------------------------------------------------
# Readers

def helped(db: Session, actor, story_id: int, *, role: str | None = None) -> int:
    story = get(db, actor, story_id)
    access.require(actor, "story.respond", story)
    if has_helped(db, actor, story):
        raise Conflict(N_("You have already said this story helped you."))
    db.add(StoryReaction(story_id=story.id, user_id=actor.id, acting_role=acting_role(actor, role)))
    db.commit()
    return helped_counts(db, [story.id]).get(story.id, 0)


def comment(db: Session, actor, story_id: int, *, body: str, role: str | None = None) -> StoryComment:
    story = get(db, actor, story_id)
    access.require(actor, "story.respond", story)
    body = (body or "").strip()
    if not body:
        raise Invalid({"body": [N_("Write a comment first.")]})
    if len(body) > MAX_COMMENT:
        raise Invalid({"body": [N_("Keep the comment under %(max_comment)s characters.", max_comment=MAX_COMMENT)]})
    row = StoryComment(story_id=story.id, author_id=actor.id, acting_role=acting_role(actor, role), body=body,
                       status="pending" if story.visibility == Visibility.PUBLIC else "published")
    db.add(row)
    db.flush()
    audit.record(db, actor, "story_comment.create", row, story_id=story.id)
    db.commit()
    return row


def report(db: Session, actor, *, object_type: str, object_id: int, reason: str) -> Report:
    """Report a story or a comment one can see; it goes to the moderators' queue."""
    access.require(actor, "story.tell")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": [N_("Say what is wrong, so the moderators can act.")]})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": [N_("Keep it under %(max_reason)s characters.", max_reason=MAX_REASON)]})
    if object_type == "story":
        get(db, actor, object_id)
    elif object_type == "story_comment":
        row = db.get(StoryComment, object_id)
        if row is None or row.status != "published":
            raise NotFound(N_("No such comment."))
        get(db, actor, row.story_id)
    else:
        raise Invalid({"object_type": [N_("Report a story or a comment.")]})
    row = Report(object_type=object_type, object_id=object_id, reporter_id=actor.id, reason=reason)
    db.add(row)
    db.flush()
    audit.record(db, actor, "report.create", row, object_type=object_type, object_id=object_id)
    db.commit()
    return row

