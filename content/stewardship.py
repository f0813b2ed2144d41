"""Library stewardship: keeping published tools current, adapted for sites and in step across languages.

* **Review-due dates.** Every published resource has a review-by date (12 months after publishing,
  unless its co-authors choose another). A co-author either confirms it is still current (recorded with
  who and in which role) or starts a new revision, which goes through the usual coproduced review;
  publishing it restarts the clock. Co-authors are reminded 30 days before; leaders list what is overdue.
* **Site adaptations.** A site's team copies a network resource into an adaptation: a `Resource` of its
  own (its own revisions and history) linked to the network version and to the network revision it was
  last merged with. When the network publishes again, the adaptation shows the changes and offers a
  three-way merge (base = that revision, mine = the site's text, theirs = the new network revision) that
  keeps the site's edits; overlaps wait for a person, and nothing is dropped unless someone chooses so.
  An adaptation is never published in the library: its site's members read it, its team edits it.
* **Glossary.** The network's plain-language alternatives ("exacerbation → flare"), per language, used
  by the readability panel (content/readability.py).
* **Translations kept in step.** A translation remembers the original's revision it was last brought up
  to date with; when the original publishes a newer one, it is "behind the original since <date>".

The library (content/library.py) does not know about any of this: a `before_flush` hook below notices
publications (library.publish or the demo seed) and new translations, so no door can forget them.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint, event, func, inspect, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from content import diff, library
from content.library import LANGUAGES, CoAuthor, Resource, Revision, StaleEdit, Status, Suggestion
from network import access, audit, notifications, outbox
from network.db import Base, utcnow
from network.errors import Conflict, Forbidden, Invalid, NotFound
from network.people import Site, User, acting_role
from network.i18n import N_, long_date

REVIEW_MONTHS = 12          # the default time between publishing and the next review
REMIND_DAYS = 30            # co-authors are reminded this long before a review falls due
MAX_REVIEW_YEARS = 5        # a review-by date further out than this is a typo, not a plan
MAX_NOTE = 2_000
MAX_TERM = 80
MAX_PLAIN = 200
MAX_TERM_NOTE = 300
OVERDUE_PAGE = 200


# ---------------------------------------------------------------------------------------------
# Models

class ReviewSchedule(Base):
    """When a published resource should next be reviewed. One row a resource."""

    __tablename__ = "review_schedules"

    #: the published resource
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    #: review by this day; 12 months after publishing unless a co-author chose another
    review_by: Mapped[date] = mapped_column(Date, index=True)
    #: when it was last published or confirmed as current ("last reviewed <month>")
    last_reviewed_at: Mapped[datetime | None] = mapped_column()
    #: the review-by date its co-authors were last reminded of: one reminder per date
    reminded_for: Mapped[date | None] = mapped_column(Date)
    #: who chose the date; None while it is the default after publishing
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    resource: Mapped[Resource] = relationship()


class Publication(Base):
    """One publication of a revision. The library keeps only the newest (Resource.published_revision_id);
    this history dates "behind the original since" exactly."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    #: the revision that became what readers see
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    resource: Mapped[Resource] = relationship()


class ReviewConfirmation(Base):
    """A co-author's word that a published revision is still current: who, in which role, when."""

    __tablename__ = "review_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    #: the published revision that was confirmed
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: the role the co-author confirmed in (patient, parent, clinician, ...)
    acting_role: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    #: the review-by date the confirmation set
    next_review_by: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    confirmed_by: Mapped[User | None] = relationship(lazy="selectin")


class Adaptation(Base):
    """A site's own copy of a network resource, linked to the network version."""

    __tablename__ = "adaptations"
    __table_args__ = (UniqueConstraint("network_resource_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the site's copy: a Resource with its own revisions (never published in the library)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), unique=True)
    #: the network version it adapts
    network_resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    #: the network revision the adaptation was made from or last merged with: the merge's base
    based_on_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acting_role: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the network's changes were last merged in
    merged_at: Mapped[datetime | None] = mapped_column()

    resource: Mapped[Resource] = relationship(foreign_keys=[resource_id])
    network_resource: Mapped[Resource] = relationship(foreign_keys=[network_resource_id])
    site: Mapped[Site] = relationship(lazy="selectin")


class GlossaryTerm(Base):
    """A word the network prefers to say plainly: "exacerbation" → "flare"."""

    __tablename__ = "glossary_terms"
    __table_args__ = (UniqueConstraint("language", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the word or phrase as written ("exacerbation")
    term: Mapped[str] = mapped_column(String(MAX_TERM))
    #: the term folded to lower case with single spaces, so "Flare-up" and "flare-up" are one entry
    key: Mapped[str] = mapped_column(String(MAX_TERM))
    #: the plain alternative ("flare")
    plain: Mapped[str] = mapped_column(String(MAX_PLAIN))
    language: Mapped[str] = mapped_column(String(5), default="en")
    #: why, or when the term is still right ("fine in clinician-only tools")
    note: Mapped[str] = mapped_column(String(MAX_TERM_NOTE), default="")
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranslationSync(Base):
    """Which revision of the original a translation was last brought up to date with."""

    __tablename__ = "translation_syncs"

    translation_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    #: the original's revision the translation matches
    original_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    translation: Mapped[Resource] = relationship()


# ---------------------------------------------------------------------------------------------
# Keeping in step with the library, whoever publishes

@event.listens_for(Session, "before_flush")
def _follow_the_library(session: Session, _ctx, _instances) -> None:
    """A publication is logged and restarts the review clock; a new translation starts in step with the
    original. Done here so library.publish, the demo seed and any later door all count."""
    with session.no_autoflush:
        for obj in [*session.new, *session.dirty]:
            if not isinstance(obj, Resource):
                continue
            revision_id = _newly_published(obj)
            if revision_id is not None:
                _record_publication(session, obj, revision_id)
            if obj in session.new and obj.translation_of_id is not None:
                _start_in_step(session, obj)


def _newly_published(resource: Resource) -> int | None:
    """The revision this flush makes what readers see, if any (each publication is seen once: a flush
    resets the attribute's history)."""
    history = inspect(resource).attrs.published_revision_id.history
    added = [value for value in history.added or () if value is not None]
    return added[0] if added and added[0] not in (history.deleted or ()) else None


def _record_publication(session: Session, resource: Resource, revision_id: int) -> None:
    when = resource.published_at or utcnow()
    session.add(Publication(resource=resource, revision_id=revision_id, published_at=when))
    schedule = session.get(ReviewSchedule, resource.id) if resource.id is not None else None
    if schedule is None:
        schedule = ReviewSchedule(resource=resource)
        session.add(schedule)
    schedule.review_by = add_months(when.date(), REVIEW_MONTHS)
    schedule.last_reviewed_at = when
    schedule.set_by_id = None
    schedule.updated_at = utcnow()


def _start_in_step(session: Session, translation: Resource) -> None:
    original = session.get(Resource, translation.translation_of_id)
    revision_id = original and (original.published_revision_id or original.current_revision_id)
    if revision_id:
        session.add(TranslationSync(translation=translation, original_revision_id=revision_id,
                                    synced_by_id=translation.created_by_id))


# ---------------------------------------------------------------------------------------------
# Small helpers

def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter: 31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def today() -> date:
    return utcnow().date()


def parse_day(value) -> date | None:
    """A date from a date or a YYYY-MM-DD string; None when it is neither."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise Invalid(errors)


def _resource(db: Session, resource_id) -> Resource:
    resource = db.get(Resource, resource_id) if isinstance(resource_id, int) else None
    if resource is None:
        raise NotFound(N_("No such resource."))
    return resource


def _check_review_day(value, errors: dict[str, list[str]], field: str, *, on: date) -> date | None:
    """A review-by date from today on, within five years."""
    day = parse_day(value)
    if day is None:
        errors[field] = [N_("Give the date as YYYY-MM-DD, for example 2027-03-31.")]
    elif day < on:
        errors[field] = [N_("The review date cannot be in the past. Choose today or a later date.")]
    elif day > add_months(on, 12 * MAX_REVIEW_YEARS):
        errors[field] = [N_("Choose a date within %(max_review_years)s years.", max_review_years=MAX_REVIEW_YEARS)]
    return day


# ---------------------------------------------------------------------------------------------
# Review-due dates

@dataclass(frozen=True)
class ReviewState:
    review_by: date
    last_reviewed_at: datetime | None
    #: days until the review falls due; negative once it is overdue
    days_left: int
    latest: ReviewConfirmation | None

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    @property
    def due_soon(self) -> bool:
        return 0 <= self.days_left <= REMIND_DAYS


def _default_schedule(resource: Resource) -> ReviewSchedule:
    """What a published resource's schedule is before anyone saved one (published before this module)."""
    when = resource.published_at or utcnow()
    return ReviewSchedule(resource_id=resource.id, review_by=add_months(when.date(), REVIEW_MONTHS),
                          last_reviewed_at=when)


def _schedule(db: Session, resource: Resource) -> ReviewSchedule:
    schedule = db.get(ReviewSchedule, resource.id)
    if schedule is None:
        schedule = _default_schedule(resource)
        db.add(schedule)
    return schedule


def review_state(db: Session, resource: Resource, *, on: date | None = None) -> ReviewState | None:
    """The review state of a published resource; None for drafts, archived tools and adaptations."""
    if not resource.is_readable:
        return None
    schedule = db.get(ReviewSchedule, resource.id) or _default_schedule(resource)
    latest = db.scalar(select(ReviewConfirmation).where(ReviewConfirmation.resource_id == resource.id)
                       .order_by(ReviewConfirmation.id.desc()).limit(1))
    return ReviewState(review_by=schedule.review_by, last_reviewed_at=schedule.last_reviewed_at,
                       days_left=(schedule.review_by - (on or today())).days, latest=latest)


def set_review_by(db: Session, actor, resource_id: int, review_by, *, on: date | None = None) -> ReviewSchedule:
    """Co-authors choose when their published resource should next be reviewed (not in the past)."""
    resource = _resource(db, resource_id)
    access.require(actor, "library.set_review_date", resource)
    errors: dict[str, list[str]] = {}
    day = _check_review_day(review_by, errors, "review_by", on=on or today())
    if not resource.is_readable:
        errors["resource"] = [N_("Only a published resource has a review date.")]
    _raise(errors)
    schedule = _schedule(db, resource)
    schedule.review_by, schedule.set_by_id, schedule.updated_at = day, actor.id, utcnow()
    audit.record(db, actor, "resource.review_date", resource, review_by=day.isoformat())
    db.commit()
    return schedule


def confirm_current(db: Session, actor, resource_id: int, *, role: str | None = None, note: str = "",
                    next_review_by=None, on: date | None = None) -> ReviewConfirmation:
    """A co-author confirms the published revision is still current; the clock restarts (12 months, or
    the date they choose)."""
    resource = _resource(db, resource_id)
    access.require(actor, "library.confirm_review", resource)
    on = on or today()
    errors: dict[str, list[str]] = {}
    if not resource.is_readable:
        errors["resource"] = [N_("Only a published resource can be confirmed as current.")]
    next_day = add_months(on, REVIEW_MONTHS)
    if next_review_by not in (None, ""):
        next_day = _check_review_day(next_review_by, errors, "next_review_by", on=on)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = [N_("Keep the note under %(max_note)s characters.", max_note=MAX_NOTE)]
    _raise(errors)
    role = acting_role(actor, role)
    confirmation = ReviewConfirmation(resource_id=resource.id, revision_id=resource.published_revision_id,
                                      confirmed_by_id=actor.id, acting_role=role, note=note, next_review_by=next_day)
    db.add(confirmation)
    schedule = _schedule(db, resource)
    schedule.review_by, schedule.last_reviewed_at = next_day, utcnow()
    schedule.set_by_id, schedule.updated_at = actor.id, utcnow()
    db.flush()
    audit.record(db, actor, "resource.confirm_current", resource, role=role, review_by=next_day.isoformat())
    db.commit()
    return confirmation


@dataclass(frozen=True)
class OverdueTool:
    id: int
    slug: str
    title: str
    type: str
    review_by: date
    last_reviewed_at: datetime | None
    adapted_by: int


def overdue(db: Session, actor, *, on: date | None = None, limit: int | None = OVERDUE_PAGE,
            offset: int = 0) -> tuple[list[OverdueTool], int]:
    """Published tools whose review date has passed, most overdue first, with how many sites adapted
    each. Two queries however many tools there are."""
    access.require(actor, "library.overdue")
    on = on or today()
    counts = (select(Adaptation.network_resource_id.label("resource_id"), func.count(Adaptation.id).label("n"))
              .group_by(Adaptation.network_resource_id).subquery())
    condition = (Resource.published_revision_id.is_not(None), Resource.status != Status.ARCHIVED.value,
                 ReviewSchedule.review_by < on)
    total = db.scalar(select(func.count(ReviewSchedule.resource_id))
                      .join(Resource, Resource.id == ReviewSchedule.resource_id).where(*condition)) or 0
    query = (select(Resource.id, Resource.slug, Revision.title, Resource.type, ReviewSchedule.review_by,
                    ReviewSchedule.last_reviewed_at, func.coalesce(counts.c.n, 0))
             .join(ReviewSchedule, ReviewSchedule.resource_id == Resource.id)
             .join(Revision, Revision.id == Resource.published_revision_id)
             .outerjoin(counts, counts.c.resource_id == Resource.id)
             .where(*condition).order_by(ReviewSchedule.review_by, Resource.id).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    return [OverdueTool(*row) for row in db.execute(query)], total


def ensure_schedules(db: Session) -> int:
    """Give every published resource without a schedule its default one (resources published before
    this module, or by code that bypassed the session hook). Idempotent; one query when none is missing."""
    missing = list(db.scalars(select(Resource)
                              .outerjoin(ReviewSchedule, ReviewSchedule.resource_id == Resource.id)
                              .where(Resource.published_revision_id.is_not(None),
                                     ReviewSchedule.resource_id.is_(None))))
    for resource in missing:
        db.add(_default_schedule(resource))
    if missing:
        db.commit()
    return len(missing)


def send_review_reminders(db: Session, *, now: datetime | None = None, within_days: int = REMIND_DAYS,
                          link_for=lambda slug: "") -> int:
    """Remind co-authors of published tools whose review falls due within `within_days` (or is overdue):
    one message a person listing all their tools (a digest), once per review-by date. Idempotent: run it
    as often as you like. Returns the number of messages queued."""
    now = now or utcnow()
    ensure_schedules(db)
    not_yet_reminded = or_(ReviewSchedule.reminded_for.is_(None),
                           ReviewSchedule.reminded_for != ReviewSchedule.review_by)
    due = db.execute(select(ReviewSchedule, Resource.slug, Revision.title)
                     .join(Resource, Resource.id == ReviewSchedule.resource_id)
                     .join(Revision, Revision.id == Resource.published_revision_id)
                     .where(Resource.status != Status.ARCHIVED.value, not_yet_reminded,
                            ReviewSchedule.review_by <= now.date() + timedelta(days=within_days))
                     .order_by(ReviewSchedule.review_by)).all()
    if not due:
        return 0
    titles = {schedule.resource_id: (slug, title, schedule.review_by) for schedule, slug, title in due}
    authors = db.execute(select(CoAuthor.resource_id, User).join(User, User.id == CoAuthor.user_id)
                         .where(CoAuthor.resource_id.in_(titles), User.is_active.is_(True), User.email.is_not(None))
                         .order_by(User.id, CoAuthor.resource_id)).all()
    per_person: dict[User, list[int]] = defaultdict(list)
    for resource_id, user in authors:
        per_person[user].append(resource_id)
    for user, resource_ids in per_person.items():
        outbox.queue(db, to=user.email, locale=user.locale, subject=N_("Tools you co-author are due for review"),
                     body=_reminder_text(user, [titles[r] for r in resource_ids], now.date(), link_for))
        for resource_id in resource_ids:  # in the app too; the e-mail above is this kind's digest
            slug, title, review_by = titles[resource_id]
            notifications.notify(db, [user.id], "review_due", N_("“%(title)s” is due for review by %(review_by)s.", title=title, review_by=review_by),
                                 f"/library/{slug}", already_mailed=True)
    for schedule, _slug, _title in due:
        schedule.reminded_for = schedule.review_by
    db.commit()
    return len(per_person)


def _reminder_text(user: User, tools: list[tuple[str, str, date]], on: date, link_for) -> list:
    """The review reminder's lines (outbox.queue joins them; sentences go out in the recipient's language)."""
    lines: list = [N_("Hello %(name)s,", name=user.shown_name), "",
                   N_("These tools you co-author are due for review:"), ""]
    for slug, title, review_by in tools:
        when = (N_("overdue since %(date)s", date=long_date(review_by)) if review_by < on
                else N_("review by %(date)s", date=long_date(review_by)))
        link = link_for(slug)
        lines.append([f"- {title} (", when, f"){' ' + link if link else ''}"])
    lines += ["", N_("A review either confirms that a tool is still current (one click on its page) or starts a new"),
              N_("revision, which goes through the usual review by a patient or parent and a clinician."), ""]
    return lines


# ---------------------------------------------------------------------------------------------
# Site adaptations

def adaptation_of(db: Session, resource: Resource) -> Adaptation | None:
    """The link row when this resource is a site's adaptation."""
    return db.scalar(select(Adaptation).where(Adaptation.resource_id == resource.id))


def adaptations_of(db: Session, resource: Resource) -> list[Adaptation]:
    """The sites that adapted a network resource (the "adapted by" list), by site name."""
    return list(db.scalars(select(Adaptation).join(Site, Site.id == Adaptation.site_id)
                           .where(Adaptation.network_resource_id == resource.id).order_by(Site.name)))


def adaptation_counts(db: Session, resource_ids=None) -> dict[int, int]:
    """How many sites adapted each resource, in one query (all resources when no ids are given)."""
    query = select(Adaptation.network_resource_id, func.count(Adaptation.id)).group_by(Adaptation.network_resource_id)
    if resource_ids is not None:
        query = query.where(Adaptation.network_resource_id.in_(list(resource_ids)))
    return dict(db.execute(query).all())


def _adaptation(db: Session, adaptation_id) -> Adaptation:
    found = db.get(Adaptation, adaptation_id) if isinstance(adaptation_id, int) else None
    if found is None:
        raise NotFound(N_("No such adaptation."))
    return found


def get_adaptation(db: Session, actor, adaptation_id: int) -> Adaptation:
    adaptation = _adaptation(db, adaptation_id)
    access.require(actor, "library.view_adaptation", adaptation)
    return adaptation


def _slug(db: Session, base: str) -> str:
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:100] or "adaptation"
    slug, n = base, 1
    while db.scalar(select(Resource.id).where(Resource.slug == slug)):
        n += 1
        slug = f"{base}-{n}"
    return slug


def adapt(db: Session, actor, resource_id: int, *, site_id, role: str | None = None) -> tuple[Adaptation, bool]:
    """A site's team copies a published network resource for its site; returns (adaptation, created).
    A site has one adaptation of a resource: asking again returns it."""
    network = _resource(db, resource_id)
    access.require(actor, "library.view", network)
    site = db.get(Site, site_id) if isinstance(site_id, int) else None
    if site is None:
        raise NotFound(N_("No such site."))
    access.require(actor, "library.adapt", site)
    if adaptation_of(db, network) is not None:
        raise Invalid({"resource": [N_("This is already a site's adaptation; adapt the network version instead.")]})
    if not network.is_readable:
        raise Invalid({"resource": [N_("Only a published resource can be adapted.")]})
    existing = db.scalar(select(Adaptation).where(Adaptation.network_resource_id == network.id,
                                                  Adaptation.site_id == site.id))
    if existing is not None:
        return existing, False
    role = acting_role(actor, role)
    published = db.get(Revision, network.published_revision_id)
    copy = Resource(slug=_slug(db, f"{network.slug} {site.slug}"), title=published.title, type=network.type,
                    audience=list(network.audience or []), language=network.language, tags=list(network.tags or []),
                    created_by_id=actor.id)
    db.add(copy)
    db.flush()
    first = Revision(resource_id=copy.id, number=1, title=published.title, body=published.body,
                     summary=f"Adapted for {site.name} from network revision {published.number}",
                     author_id=actor.id, acting_role=role, kind="adapt")
    db.add(first)
    db.flush()
    copy.current_revision_id = first.id
    adaptation = Adaptation(resource_id=copy.id, network_resource_id=network.id, site_id=site.id,
                            based_on_revision_id=published.id, created_by_id=actor.id, acting_role=role)
    db.add(adaptation)
    db.flush()
    audit.record(db, actor, "resource.adapt", adaptation, site_id=site.id, resource_id=network.id)
    db.commit()
    return adaptation, True


def current_text(db: Session, adaptation: Adaptation) -> Revision:
    return db.get(Revision, adaptation.resource.current_revision_id)


def history(db: Session, actor, adaptation_id: int) -> list[Revision]:
    """The adaptation's own revisions, newest first."""
    adaptation = get_adaptation(db, actor, adaptation_id)
    return list(db.scalars(select(Revision).where(Revision.resource_id == adaptation.resource_id)
                           .options(selectinload(Revision.author)).order_by(Revision.number.desc())))


def adaptation_revision(db: Session, actor, adaptation_id: int, number: int) -> tuple[Revision, Revision | None]:
    """One revision of an adaptation and the one before it (None for the first)."""
    adaptation = get_adaptation(db, actor, adaptation_id)
    rows = list(db.scalars(select(Revision).where(Revision.resource_id == adaptation.resource_id,
                                                  Revision.number.in_((number - 1, number)))
                           .order_by(Revision.number)))
    if not rows or rows[-1].number != number:
        raise NotFound(N_("No such revision."))
    return rows[-1], rows[0] if len(rows) == 2 else None


def save_adaptation(db: Session, actor, adaptation_id: int, *, base_revision_id, title: str, body: str,
                    summary: str = "", role: str | None = None) -> Revision:
    """The site's team edits its adaptation. A save on top of a newer one is a StaleEdit, never an overwrite."""
    adaptation = _adaptation(db, adaptation_id)
    access.require(actor, "library.edit_adaptation", adaptation)
    errors: dict[str, list[str]] = {}
    title, body, summary = library._check_text(title, body, summary, errors)
    _raise(errors)
    current = current_text(db, adaptation)
    if base_revision_id != current.id:
        base = db.get(Revision, base_revision_id) if isinstance(base_revision_id, int) else None
        if base is None or base.resource_id != adaptation.resource_id:
            raise Invalid({"base_revision_id": [N_("The edit does not start from a revision of this adaptation.")]})
        raise StaleEdit(base, current, title, body, summary)
    if title == current.title and body == current.body:
        raise Invalid({"body": [N_("Nothing has changed since the last revision.")]})
    return library._add_revision(db, actor, adaptation.resource, title=title, body=body, summary=summary,
                                 role=acting_role(actor, role), kind="edit", parent=current)


@dataclass
class NetworkChanges:
    """What the network published since the adaptation was made or last merged, and the merge."""

    adaptation: Adaptation
    #: the site's text now
    mine: Revision
    #: the network revision the site's text was made from or last merged with
    base: Revision
    #: the network's newest published revision; None while the network version is not readable
    theirs: Revision | None
    merge: diff.MergeResult | None

    @property
    def changed(self) -> bool:
        return self.theirs is not None and self.theirs.id != self.base.id

    def merged_title(self) -> str:
        """The site's title, unless only the network changed it."""
        if self.theirs is None or self.mine.title != self.base.title:
            return self.mine.title
        return self.theirs.title


def _network_changes(db: Session, adaptation: Adaptation) -> NetworkChanges:
    network = adaptation.network_resource
    mine = current_text(db, adaptation)
    base = db.get(Revision, adaptation.based_on_revision_id)
    theirs = db.get(Revision, network.published_revision_id) if network.is_readable else None
    merge = diff.three_way(base.body, mine.body, theirs.body) if theirs is not None and theirs.id != base.id else None
    return NetworkChanges(adaptation, mine, base, theirs, merge)


def network_changes(db: Session, actor, adaptation_id: int) -> NetworkChanges:
    return _network_changes(db, get_adaptation(db, actor, adaptation_id))


def network_changed(db: Session, adaptation: Adaptation) -> bool:
    """The cheap question for notices: has the network published past the adaptation's base?"""
    network = adaptation.network_resource
    return network.is_readable and network.published_revision_id != adaptation.based_on_revision_id


CHOICES = ("mine", "theirs", "both", "custom")


def _checked_choices(merge: diff.MergeResult, choices: dict) -> dict[int, diff.Choice]:
    """Every conflict needs a choice a person made; a written text must not be empty."""
    errors: dict[str, list[str]] = {}
    clean: dict[int, diff.Choice] = {}
    for conflict in merge.conflicts:
        choice = choices.get(conflict.index)
        kind = choice[0] if isinstance(choice, tuple) else choice
        field = f"conflict-{conflict.index}"
        if not kind:
            errors[field] = [N_("Choose what to keep here: your site's text, the network's, or both.")]
        elif kind not in CHOICES:
            errors[field] = [N_("Choose one of the listed options.")]
        elif kind == "custom" and not (isinstance(choice, tuple) and str(choice[1]).strip()):
            errors[field] = [N_("Write the text to keep here, or choose one of the versions.")]
        else:
            clean[conflict.index] = choice
    _raise(errors)
    return clean


def merge_network_changes(db: Session, actor, adaptation_id: int, *, network_revision_id,
                          adaptation_revision_id, choices: dict | None = None, role: str | None = None,
                          summary: str = "") -> Revision | None:
    """Merge the network's new revision into the adaptation, keeping the site's edits. The caller names
    the two revisions it showed the person, so a change made meanwhile is a Conflict, not a surprise.
    Returns the new revision (None when the site's text already said everything)."""
    adaptation = _adaptation(db, adaptation_id)
    access.require(actor, "library.edit_adaptation", adaptation)
    changes = _network_changes(db, adaptation)
    if not changes.changed:
        raise Conflict(N_("Your adaptation is already up to date with the network version."))
    if network_revision_id != changes.theirs.id or adaptation_revision_id != changes.mine.id:
        raise Conflict(N_("Something changed while you were merging: the network version or your site's text has a "
                       "newer revision. Nothing was saved; look at the changes again."))
    body = diff.resolve(changes.merge, _checked_choices(changes.merge, choices or {}))
    errors: dict[str, list[str]] = {}
    title, body, summary = library._check_text(changes.merged_title(), body, summary, errors)
    _raise(errors)
    role = acting_role(actor, role)
    adaptation.based_on_revision_id, adaptation.merged_at = changes.theirs.id, utcnow()
    audit.record(db, actor, "adaptation.merge", adaptation, site_id=adaptation.site_id,
                 network_revision=changes.theirs.number)
    if title == changes.mine.title and body == changes.mine.body:
        db.commit()
        return None
    # _add_revision commits, with the link's new base above: one unit of work
    return library._add_revision(db, actor, adaptation.resource, title=title, body=body,
                                 summary=summary or f"Merged network revision {changes.theirs.number}",
                                 role=role, kind="merge", parent=changes.mine)


def offer_back(db: Session, actor, adaptation_id: int, *, title: str, body: str, summary: str = "",
               role: str | None = None) -> Suggestion:
    """Offer a change from the adaptation to the network version, as the library's suggest-a-change
    (based on the network revision the adaptation is based on, so accepting it merges with anything
    the network saved since)."""
    adaptation = _adaptation(db, adaptation_id)
    access.require(actor, "library.edit_adaptation", adaptation)
    network = adaptation.network_resource
    if access.coauthors(actor, network):
        raise Forbidden(N_("You co-author the network version: edit it there directly."))
    suggestion = library.suggest(db, actor, network.id, base_revision_id=adaptation.based_on_revision_id,
                                 title=title, body=body,
                                 summary=summary or f"Offered back from {adaptation.site.name}", role=role)
    audit.record(db, actor, "adaptation.offer_back", adaptation, site_id=adaptation.site_id,
                 suggestion_id=suggestion.id)
    db.commit()
    return suggestion


# ---------------------------------------------------------------------------------------------
# The glossary

def term_key(term: str) -> str:
    """The term folded for comparison: "Flare-up" and " flare-up" are one glossary entry."""
    return " ".join(unicodedata.normalize("NFKC", term).lower().split())


def glossary(db: Session, actor, *, language: str | None = None) -> list[GlossaryTerm]:
    access.require(actor, "glossary.view")
    return glossary_for(db, language)


def glossary_for(db: Session, language: str | None) -> list[GlossaryTerm]:
    """Terms of one language (all when None), alphabetically; the readability panel flags these."""
    query = select(GlossaryTerm).order_by(GlossaryTerm.language, GlossaryTerm.key)
    if language:
        query = query.where(GlossaryTerm.language == language)
    return list(db.scalars(query))


def get_term(db: Session, actor, term_id: int) -> GlossaryTerm:
    access.require(actor, "glossary.view")
    term = db.get(GlossaryTerm, term_id) if isinstance(term_id, int) else None
    if term is None:
        raise NotFound(N_("No such glossary term."))
    return term


def save_term(db: Session, actor, *, term_id: int | None = None, term: str, plain: str, language: str,
              note: str = "") -> GlossaryTerm:
    """Add a term, or change one (term_id). One entry per word and language."""
    access.require(actor, "glossary.edit")
    row = get_term(db, actor, term_id) if term_id is not None else None
    term, plain, note = " ".join((term or "").split()), " ".join((plain or "").split()), (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not term:
        errors["term"] = [N_("Write the word or phrase to avoid.")]
    elif len(term) > MAX_TERM:
        errors["term"] = [N_("Use at most %(max_term)s characters.", max_term=MAX_TERM)]
    if not plain:
        errors["plain"] = [N_("Write the plain alternative.")]
    elif len(plain) > MAX_PLAIN:
        errors["plain"] = [N_("Use at most %(max_plain)s characters.", max_plain=MAX_PLAIN)]
    if language not in LANGUAGES:
        errors["language"] = [N_("Choose one of the listed languages.")]
    if len(note) > MAX_TERM_NOTE:
        errors["note"] = [N_("Keep the note under %(max_term_note)s characters.", max_term_note=MAX_TERM_NOTE)]
    if "term" not in errors and "language" not in errors:
        clash = db.scalar(select(GlossaryTerm).where(GlossaryTerm.language == language,
                                                     GlossaryTerm.key == term_key(term)))
        if clash is not None and clash is not row:
            errors["term"] = [N_("“%(term)s” is already in the glossary.", term=clash.term)]
    _raise(errors)
    if row is None:
        row = GlossaryTerm(term=term, key=term_key(term), plain=plain, language=language, note=note,
                           edited_by_id=actor.id)
        db.add(row)
    else:
        row.term, row.key, row.plain, row.language, row.note = term, term_key(term), plain, language, note
        row.edited_by_id, row.updated_at = actor.id, utcnow()
    db.flush()
    audit.record(db, actor, "glossary.save", row, term=term, language=language)
    db.commit()
    return row


def delete_term(db: Session, actor, term_id: int) -> None:
    access.require(actor, "glossary.edit")
    row = get_term(db, actor, term_id)
    audit.record(db, actor, "glossary.delete", row, term=row.term, language=row.language)
    db.delete(row)
    db.commit()


# ---------------------------------------------------------------------------------------------
# Translations kept in step

@dataclass(frozen=True)
class TranslationState:
    translation: Resource
    original: Resource
    #: the original's revision the translation was last brought up to date with (None: not known)
    synced: Revision | None
    #: what readers of the original see now (None while it is not published)
    current: Revision | None
    #: when the original first published a revision newer than `synced`
    behind_since: datetime | None

    @property
    def behind(self) -> bool:
        return self.current is not None and (self.synced is None or self.current.id > self.synced.id)


def translation_state(db: Session, translation: Resource) -> TranslationState | None:
    """Whether a translation is behind its original, and since when; None when it is no translation."""
    if translation.translation_of_id is None:
        return None
    original = db.get(Resource, translation.translation_of_id)
    current = db.get(Revision, original.published_revision_id) if original.published_revision_id else None
    synced = _synced_revision(db, translation, original)
    since = None
    if current is not None and (synced is None or current.id > synced.id):
        since = db.scalar(select(func.min(Publication.published_at)).where(
            Publication.resource_id == original.id, Publication.revision_id > (synced.id if synced else 0)))
        since = since or original.published_at
    return TranslationState(translation, original, synced, current, since)


def _synced_revision(db: Session, translation: Resource, original: Resource) -> Revision | None:
    """The sync row's revision; for translations made before this module, the original's newest
    revision when the translation was started."""
    sync = db.get(TranslationSync, translation.id)
    if sync is not None:
        return db.get(Revision, sync.original_revision_id)
    return db.scalar(select(Revision).where(Revision.resource_id == original.id,
                                            Revision.created_at <= translation.created_at)
                     .order_by(Revision.number.desc()).limit(1))


def translation_changes(db: Session, actor, translation_id: int) -> TranslationState:
    """The state and both revisions, for the page showing what changed in the original."""
    translation = library.get(db, actor, translation_id)
    state = translation_state(db, translation)
    if state is None:
        raise NotFound(N_("This resource is not a translation."))
    access.require(actor, "library.view", state.original)
    return state


def mark_translation_up_to_date(db: Session, actor, translation_id: int, *, original_revision_id) -> TranslationSync:
    """The translation's co-authors say it now matches the original's published revision. The caller
    names the revision it showed them: if the original published again meanwhile, nothing changes."""
    translation = _resource(db, translation_id)
    access.require(actor, "library.sync_translation", translation)
    state = translation_state(db, translation)
    if state is None:
        raise NotFound(N_("This resource is not a translation."))
    if state.current is None:
        raise Invalid({"original_revision_id": [N_("The original has no published revision to keep up with.")]})
    if original_revision_id != state.current.id:
        raise Conflict(N_("The original has published again since you looked. Nothing was changed; look at its "
                       "newest changes first."))
    sync = db.get(TranslationSync, translation.id)
    if sync is None:
        sync = TranslationSync(translation_id=translation.id, original_revision_id=state.current.id)
        db.add(sync)
    sync.original_revision_id, sync.synced_at, sync.synced_by_id = state.current.id, utcnow(), actor.id
    audit.record(db, actor, "translation.up_to_date", translation, original_revision=state.current.number)
    db.commit()
    return sync
