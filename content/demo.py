"""The demo library: the resources in content/seed/ with their revision histories by co-authors in
different roles, reviews, adoptions by sites, comments and a suggestion. Idempotent."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import search
from content.library import (Adoption, CoAuthor, Comment, Resource, ReviewDecision, Revision, Status, Suggestion)
from content.seed.check_manifest import reconstruct
from network.db import utcnow
from network.people import Membership, Site, User

SEED = Path(__file__).resolve().parent / "seed"

# who writes in each role: demo people at Riverside (authors) and Northgate (reviewers)
AUTHOR_SITE, REVIEWER_SITE = "riverside-childrens", "northgate-ibd"


def _people_by_role(db: Session, slug: str) -> dict[str, User]:
    site = db.scalar(select(Site).where(Site.slug == slug))
    found: dict[str, User] = {}
    if site is None:
        return found
    for membership in db.scalars(select(Membership).where(Membership.site_id == site.id,
                                                          Membership.ended_at.is_(None))):
        user = db.get(User, membership.user_id)
        if user.email and membership.role not in found:
            found[membership.role] = user
    return found


def seed(db: Session) -> int:
    """Add the seed resources that are not there yet; returns how many were added."""
    manifest = json.loads((SEED / "manifest.json").read_text())
    authors = _people_by_role(db, AUTHOR_SITE)
    reviewers = _people_by_role(db, REVIEWER_SITE)
    leader = db.scalar(select(User).join(Membership, Membership.user_id == User.id)
                       .where(Membership.role == "network_leader").order_by(User.id))
    authors.setdefault("network_leader", leader)
    if not authors or not reviewers:
        return 0
    by_slug: dict[str, Resource] = {r.slug: r for r in db.scalars(select(Resource))}
    added = 0
    start = utcnow() - timedelta(days=400)
    for index, spec in enumerate(manifest["resources"]):
        if spec["slug"] in by_slug:
            continue
        final = (SEED / f"{spec['slug']}.md").read_text()
        texts = reconstruct(final, spec["revisions"])
        when = start + timedelta(days=30 * index)
        resource = _resource(db, spec, texts, authors, reviewers, by_slug, when)
        by_slug[resource.slug] = resource
        added += 1
    db.commit()
    if added:
        _adoptions_and_conversation(db, by_slug, authors, reviewers)
        for resource in by_slug.values():
            search.index_resource(db, resource)
    return added


def _resource(db, spec, texts, authors, reviewers, by_slug, when) -> Resource:
    first_author = authors.get(spec["revisions"][0]["author"]) or authors["network_leader"]
    original = by_slug.get(spec["translation_of"]) if spec.get("translation_of") else None
    resource = Resource(slug=spec["slug"], title=spec["title"], type=spec["type"], audience=spec["audience"],
                        language=spec["language"], tags=spec["tags"], status=Status.DRAFT.value,
                        created_by_id=first_author.id, created_at=when, updated_at=when,
                        translation_of_id=original.id if original else None)
    db.add(resource)
    db.flush()
    previous = None
    coauthor_ids: list[int] = []
    for number, (revision_spec, text) in enumerate(zip(spec["revisions"], texts), start=1):
        author = authors.get(revision_spec["author"]) or authors["network_leader"]
        when = when + timedelta(days=6)
        row = Revision(resource_id=resource.id, number=number, title=spec["title"], body=text,
                       summary=revision_spec["summary"], author_id=author.id, acting_role=revision_spec["author"],
                       kind="import" if number == 1 else "edit", parent_id=previous.id if previous else None,
                       created_at=when)
        db.add(row)
        db.flush()
        previous = row
        if author.id not in coauthor_ids:
            coauthor_ids.append(author.id)
            db.add(CoAuthor(resource_id=resource.id, user_id=author.id, added_by_id=first_author.id))
    resource.current_revision_id = previous.id
    resource.updated_at = when
    if spec["status"] in ("published", "in_review"):
        for role in spec.get("reviewers", []):
            reviewer = reviewers.get(role)
            if reviewer is not None:
                db.add(ReviewDecision(resource_id=resource.id, revision_id=previous.id, reviewer_id=reviewer.id,
                                      acting_role=role, decision="approve", comment="Reads well.",
                                      created_at=when + timedelta(days=2)))
    if spec["status"] == "published":
        resource.status = Status.PUBLISHED.value
        resource.published_revision_id = previous.id
        resource.published_at = when + timedelta(days=3)
    elif spec["status"] == "in_review":
        resource.status = Status.IN_REVIEW.value
        resource.review_revision_id = previous.id
    db.flush()
    return resource


def _adoptions_and_conversation(db: Session, by_slug, authors, reviewers) -> None:
    published = [r for r in by_slug.values() if r.status == Status.PUBLISHED]
    sites = list(db.scalars(select(Site).order_by(Site.id).limit(18)))
    today = utcnow().date()
    for i, resource in enumerate(published):
        for j, site in enumerate(sites[i::3][:5]):
            months_ago = 6 + 7 * j + i
            year, month = today.year, today.month - months_ago
            while month <= 0:
                year, month = year - 1, month + 12
            if db.scalar(select(Adoption.id).where(Adoption.resource_id == resource.id, Adoption.site_id == site.id)):
                continue
            lead = db.scalar(select(User).join(Membership, Membership.user_id == User.id).where(
                Membership.site_id == site.id, Membership.role == "site_lead"))
            db.add(Adoption(resource_id=resource.id, site_id=site.id, since=date(year, month, 1),
                            adopted_by_id=lead.id if lead else None))
    guide = by_slug.get("newly-diagnosed-guide")
    if guide is not None:
        db.add(Comment(resource_id=guide.id, author_id=reviewers["patient"].id, acting_role="patient",
                       body="The checklist helped us a lot in the first week. Could we add a line about school?",
                       anchor=None))
        db.add(Comment(resource_id=guide.id, author_id=reviewers["clinician"].id, acting_role="clinician",
                       body="We now give this to every family at diagnosis.", anchor=None,
                       resolved_at=utcnow(), resolved_by_id=authors["parent"].id))
        current = db.get(Revision, guide.current_revision_id)
        db.add(Suggestion(resource_id=guide.id, base_revision_id=current.id, title=current.title,
                          body=current.body.rstrip() + "\n\n## A note for brothers and sisters\n\nSiblings have "
                          "feelings about this too. Give them a simple explanation and a job to help with.\n",
                          summary="Add a short note for siblings", author_id=reviewers["parent"].id,
                          acting_role="parent"))
    db.commit()
