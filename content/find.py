"""Search everything a person may see, in one box: resources, stories, sessions and their transcripts,
sites, and people who opted into the directory. Each kind is filtered by the same rules as its own
pages, inside its query (library search through content/search.py; stories through the one
visibility condition of content/narratives.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from content import narratives, search
from network import access
from network.people import Site, User
from network.sessions import LearningSession, RoomEvent

LIMIT = 10


@dataclass
class Results:
    query: str
    resources: list = field(default_factory=list)
    stories: list = field(default_factory=list)
    sessions: list = field(default_factory=list)
    transcripts: list = field(default_factory=list)
    sites: list = field(default_factory=list)
    people: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(getattr(self, k)) for k in ("resources", "stories", "sessions", "transcripts", "sites", "people"))


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def everything(db: Session, viewer, query: str) -> Results:
    access.require(viewer, "search.everything")
    query = (query or "").strip()[:200]
    results = Results(query)
    if len(query) < 2:
        return results
    like = _like(query)
    results.resources = search.search(db, viewer, query, limit=LIMIT)
    results.stories = list(db.scalars(narratives.readable_query(viewer).where(or_(
        func.lower(narratives.Story.title).like(like, escape="\\"),
        func.lower(narratives.Story.body).like(like, escape="\\"))).limit(LIMIT)))
    if access.can(viewer, "session.browse"):
        results.sessions = list(db.scalars(select(LearningSession).where(or_(
            func.lower(LearningSession.title).like(like, escape="\\"),
            func.lower(LearningSession.description).like(like, escape="\\"))).limit(LIMIT)))
        removed = select(RoomEvent.data).where(RoomEvent.kind == "remove")
        hits = db.execute(select(RoomEvent, LearningSession).join(LearningSession, LearningSession.id == RoomEvent.session_id)
                          .where(RoomEvent.room_key.like("%:main"), RoomEvent.kind.in_(("chat", "question")),
                                 func.lower(RoomEvent.body).like(like, escape="\\")).limit(LIMIT * 3)).all()
        removed_ids = {d.get("message_id") for d in db.scalars(removed)}
        results.transcripts = [(event, session) for event, session in hits if event.id not in removed_ids][:LIMIT]
    results.sites = list(db.scalars(select(Site).where(Site.is_active.is_(True), or_(
        func.lower(Site.name).like(like, escape="\\"), func.lower(Site.city).like(like, escape="\\"))).limit(LIMIT)))
    if access.can(viewer, "directory.view"):
        candidates = db.scalars(select(User).where(User.in_directory.is_(True), User.is_active.is_(True), or_(
            func.lower(User.full_name).like(like, escape="\\"), func.lower(User.offers).like(like, escape="\\")))
            .limit(LIMIT * 3))
        # someone shown by first name only must not be found by their surname
        needle = query.lower()
        results.people = [u for u in candidates if needle in u.shown_name.lower() or needle in u.offers.lower()][:LIMIT]
    return results


def directory(db: Session, viewer) -> list[User]:
    access.require(viewer, "directory.view")
    return list(db.scalars(select(User).where(User.in_directory.is_(True), User.is_active.is_(True))
                           .options(selectinload(User.memberships)).order_by(User.full_name)))
