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
    seed_stories(db)
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
    from content import visits_demo

    visits_demo.seed(db)
    from content import stewardship_demo

    stewardship_demo.seed(db)
    from content import demo_pdsa

    demo_pdsa.seed(db)
    from content import demo_health

    demo_health.seed(db)
    from content import demo_safety

    demo_safety.seed(db)
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


# ---------------------------------------------------------------------------------------------
# Stories: a dozen, in every state

STORIES = [
    dict(key="parent.riverside-childrens", role="parent", status="published", visibility="public", byline="first",
         featured=True, tags=["newly diagnosed"], title="The week everything changed",
         body="When our son was diagnosed we were handed a stack of leaflets and a new vocabulary. What helped most "
              "was a parent from the clinic who phoned us on day three and said: *write your questions down, all of "
              "them, even the silly ones*. We did. At the next visit we went through the list together with the "
              "nurse, and for the first time I felt we were part of the team rather than visitors to it.\n\n"
              "If you are in that first week now: it gets easier. Not all at once, but it does."),
    dict(key="patient.northgate-ibd", role="patient", status="published", visibility="network", byline="anonymous",
         tags=["school", "friends"], title="Telling my friends",
         body="I waited almost a year before I told anyone at school. I was scared they would think it was gross. "
              "In the end I told two friends at lunch, quickly, like ripping off a plaster. One of them said her "
              "uncle has Crohn's. The other just asked if I was okay. That was it.\n\n"
              "I still do not tell everyone. But having two people who know makes the bad days lighter."),
    dict(key="clinician.riverside-childrens", role="clinician", status="published", visibility="network",
         byline="full", tags=["remission"], title="What a previsit plan changed in my clinic",
         body="I used to start visits by asking how things were. Now families arrive having already written what "
              "matters most to them. Last month a mother's first line was *he has stopped going to football*. We "
              "spent the visit on that instead of on the lab results I had planned to discuss, and we changed the "
              "plan because of it. Our remission numbers have moved, but the bigger change is whose agenda the "
              "visit follows."),
    dict(key="parent.northgate-ibd", role="parent", status="published", visibility="site", byline="first",
         tags=["siblings"], title="Our other child",
         body="Nobody warned us how much our daughter would worry about her brother. She started hiding snacks "
              "she thought might make him ill. We now give her a small job at each hospital visit and she comes "
              "with us once a term. She asks the doctor one question of her own every time."),
    dict(key="patient.riverside-childrens", role="patient", status="awaiting_parent", visibility="public",
         byline="first", tags=["sport"], title="Back on the pitch",
         body="Six months after my surgery I played a full match again. I was slower than before and I had to know "
              "where the toilets were, but I scored. My coach let me sit out whenever I needed without making a "
              "thing of it."),
    dict(key="parent.riverside-childrens", role="parent", status="pending", visibility="network", byline="anonymous",
         tags=["mental health"], title="The nights nobody sees",
         body="The hardest part for me has not been the hospital. It is the nights at home when she cannot sleep "
              "for pain and I cannot fix it. I found a parents' group online through the clinic and it helped to "
              "hear I am not the only one sitting on the bathroom floor at 3 a.m."),
    dict(key="clinician.northgate-ibd", role="clinician", status="changes_requested", visibility="public",
         byline="full", tags=["transition"], title="Getting ready for adult care",
         body="We start talking about transition at twelve. It sounds early, but the skills take years: booking "
              "your own appointment, knowing your medicines, speaking first in the room. I ask every teenager to "
              "run one part of the visit.",
         note="Lovely. Could you add one concrete example of a teen running part of a visit? Names changed, please."),
    dict(key="patient.northgate-ibd", role="patient", status="declined", visibility="public", byline="full",
         tags=["medicines"], title="Stop taking your medicine",
         body="I stopped my medicine for a month and felt fine, so I think everyone should try.",
         note="Thank you for writing. We cannot share advice to stop medicines without your care team; please "
              "talk to them, and tell us how it went."),
    dict(key="parent.riverside-childrens", role="parent", status="withdrawn", visibility="network", byline="first",
         tags=["hospital"], title="Ten days on the ward",
         body="A long stay, told day by day. The author later chose to withdraw it."),
    dict(key="patient.riverside-childrens", role="patient", status="published", visibility="network",
         byline="first", tags=["school", "travel"], title="The school trip",
         body="I almost did not go on the residential trip. The nurse helped me plan: a letter for the teachers, "
              "spare clothes, a card that says I need the toilet urgently. Nobody saw the card except one teacher. "
              "I went, and it was the best week of the year.",
         pending="I almost did not go on the residential trip. The nurse helped me plan: a letter for the teachers, "
                 "spare clothes, a card that says I need the toilet urgently. I went, and it was the best week of "
                 "the year. Next year I will help a younger kid plan theirs."),
    dict(key="lead.riverside-childrens", role="site_lead", status="published", visibility="public", byline="full",
         tags=["remission"], title="Why we share our data with other clinics",
         body="Every month our numbers go on a chart that every other site in the network can see. At first that "
              "felt exposing. Now it is the most useful hour of my month: I can see which clinic improved and "
              "phone them to ask what they changed. They always tell me."),
    dict(key="parent.northgate-ibd", role="parent", status="published", visibility="public", byline="anonymous",
         tags=["diet"], title="Food without fear",
         body="We spent months cutting foods out, one after another, convinced each was the culprit. A dietitian "
              "helped us stop guessing and keep a simple diary instead. Meals became meals again."),
]


def seed_stories(db: Session) -> int:
    from content.narratives import Story, StoryReaction

    if db.scalar(select(Story.id).limit(1)) is not None:
        return 0
    users = {u.email.split("@")[0]: u for u in db.scalars(select(User).where(User.email.is_not(None)))}
    now = utcnow()
    added = 0
    for number, spec in enumerate(STORIES):
        author = users.get(spec["key"])
        if author is None:
            continue
        site_id = min(author.site_ids()) if author.site_ids() else None
        published = spec["status"] in ("published", "withdrawn")
        story = Story(author_id=author.id, acting_role=spec["role"], site_id=site_id, title=spec["title"],
                      body=spec["body"], tags=spec["tags"], byline=spec["byline"], visibility=spec["visibility"],
                      status=spec["status"], featured=spec.get("featured", False),
                      moderation_note=spec.get("note", ""), needs_parent_agreement=spec["status"] == "awaiting_parent",
                      created_at=now - timedelta(days=90 - 6 * number),
                      published_at=now - timedelta(days=80 - 6 * number) if published else None,
                      withdrawn_at=now - timedelta(days=5) if spec["status"] == "withdrawn" else None,
                      pending_title=spec["title"] if spec.get("pending") else None, pending_body=spec.get("pending"))
        db.add(story)
        db.flush()
        added += 1
        if spec["status"] == "published":
            for reader in list(users.values())[number:number + 3 + number % 4]:
                if reader.id != author.id:
                    db.add(StoryReaction(story_id=story.id, user_id=reader.id, acting_role=""))
    db.commit()
    return added
