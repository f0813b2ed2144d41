"""Demo data for library stewardship: a plain-language glossary, tools overdue for review, adaptations
at several sites whose network version has changed since, and a Spanish translation that is behind.

Made through the same services members use (adapt, edit, review, publish), so the demo shows exactly
what the pages do. Idempotent: a second run finds everything in place and changes nothing.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from content import library, stewardship
from content.library import Resource, Revision
from content.stewardship import GlossaryTerm, ReviewConfirmation, ReviewSchedule
from network.people import Membership, Site, User

# (term, plain alternative, note)
GLOSSARY_EN = [
    ("exacerbation", "flare", ""),
    ("remission", "a time when symptoms are quiet", "Keep it when you explain the word itself."),
    ("relapse", "when symptoms come back", ""),
    ("inflammation", "swelling and soreness inside the body", ""),
    ("gastroenterologist", "gut doctor", ""),
    ("immunosuppressant", "medicine that calms the immune system", ""),
    ("biologic", "medicine made from living cells", ""),
    ("infusion", "medicine given slowly through a drip", ""),
    ("intravenous", "into a vein", ""),
    ("subcutaneous", "under the skin", ""),
    ("adverse effect", "side effect", ""),
    ("contraindicated", "not safe to use", ""),
    ("adherence", "taking medicine as planned", ""),
    ("prognosis", "what is likely to happen", ""),
    ("chronic", "long-lasting", ""),
    ("acute", "sudden", ""),
    ("asymptomatic", "without symptoms", ""),
    ("endoscopy", "a test with a small camera to look inside the gut", ""),
    ("colonoscopy", "a test with a small camera to look inside the large bowel", ""),
    ("biopsy", "a tiny sample of tissue", ""),
    ("faecal calprotectin", "a poo test that shows gut inflammation", ""),
    ("stool sample", "poo sample", ""),
    ("abdominal", "tummy", "Fine in tools for clinicians."),
    ("exclusive enteral nutrition", "a liquid diet used instead of food, as a treatment", ""),
    ("corticosteroid", "steroid medicine", ""),
    ("tapering", "slowly lowering the dose", ""),
    ("administer", "give", ""),
    ("commence", "start", ""),
    ("discontinue", "stop", ""),
    ("dosage", "how much medicine", ""),
    ("perianal", "around the bottom", ""),
    ("stricture", "a narrow part of the bowel", ""),
    ("fistula", "a small tunnel from the gut to somewhere else", ""),
    ("anaemia", "not enough red blood cells", ""),
    ("multidisciplinary team", "care team", ""),
    ("prior to", "before", ""),
    ("in the event of", "if", ""),
    ("utilise", "use", ""),
]
GLOSSARY_ES = [
    ("exacerbación", "brote", ""),
    ("remisión", "tiempo sin síntomas", ""),
    ("inflamación", "hinchazón y dolor por dentro", ""),
    ("gastroenterólogo", "médico del intestino", ""),
    ("inmunosupresor", "medicina que calma las defensas", ""),
    ("administrar", "dar", ""),
    ("intravenoso", "por la vena", ""),
    ("efecto adverso", "efecto secundario", ""),
    ("abdominal", "de la barriga", ""),
]

HANDBOOK, GUIDE = "self-management-handbook-medicines", "newly-diagnosed-guide"

# where each tool is adapted, and the local line each site adds to one paragraph (the network changes the
# same paragraph later, so each adaptation has a place to settle, and a change that merges cleanly)
ADAPTATIONS = {
    HANDBOOK: {
        "anchor": "Bring it up with your team.",
        "sites": {"northgate-ibd": "Bring it up with your team: the Northgate IBD nurses answer on 0161 555 0142, "
                                   "weekdays 9 to 5.",
                  "lakeshore-clinic": "Bring it up with your team. At Lakeshore, message us through the patient "
                                      "portal or ask at the front desk.",
                  "st-brigids": "Bring it up with your team. St Brigid's runs a medicines clinic every Tuesday "
                                "morning: no appointment needed."},
        "network_anchor": "Bring it up with your team at your next visit, or phone them before then.",
        "network_section": "\n## Medicines and exams\n\nExams can upset routines. Put your medicine times in "
                           "your revision timetable, and tell the exams office if you may need a toilet break.\n",
        "summary": "Clearer advice on raising medicine worries; a section on exams",
    },
    GUIDE: {
        "anchor": "You do not need to learn everything this week.",
        "sites": {"riverside-childrens": "You do not need to learn everything this week. Riverside's IBD nurse "
                                         "phones every new family on day three: 0113 555 0199.",
                  "harbour-view": "You do not need to learn everything this week. At Harbour View, a parent "
                                  "volunteer can meet you after your first clinic."},
        "network_anchor": "You do not need to learn everything this week, or even this month.",
        "network_section": "\n## Looking after yourself too\n\nParents often put their own needs last. Sleep, "
                           "food and a friend to talk to are part of your child's care plan too.\n",
        "summary": "Reassurance for parents; a section on looking after yourself",
    },
}

# adapted as they are, no local edits yet: the overdue list shows how many sites adapted a tool
ADAPTED_AS_IS = {"transition-readiness-checklist": ("summit-gi", "university-west")}

# published tools made overdue for the demo's overdue list: days past their review date
OVERDUE = {"transition-readiness-checklist": 45, "school-accommodations-guide": 12, "previsit-planning-template": 120}


def seed(db: Session) -> None:
    """Everything the stewardship pages show in the demo network, added once."""
    leader = db.scalar(select(User).join(Membership, Membership.user_id == User.id)
                       .where(Membership.role == "network_leader", Membership.ended_at.is_(None)).order_by(User.id))
    if leader is None:
        return
    _glossary(db, leader)
    wanted = [*ADAPTATIONS, *ADAPTED_AS_IS, *OVERDUE]
    resources = {r.slug: r for r in db.scalars(select(Resource).where(Resource.slug.in_(wanted)))}
    for slug, plan in ADAPTATIONS.items():
        if slug in resources and resources[slug].is_readable:
            _adapt_then_change(db, resources[slug], plan)
    for slug, site_slugs in ADAPTED_AS_IS.items():
        if slug in resources and resources[slug].is_readable:
            for site_slug in site_slugs:
                _adapt(db, resources[slug], site_slug)
    _overdue(db, resources)


def _glossary(db: Session, leader: User) -> None:
    have = {(t.language, t.key) for t in db.scalars(select(GlossaryTerm))}
    for language, terms in (("en", GLOSSARY_EN), ("es", GLOSSARY_ES)):
        for term, plain, note in terms:
            if (language, stewardship.term_key(term)) not in have:
                db.add(GlossaryTerm(term=term, key=stewardship.term_key(term), plain=plain, language=language,
                                    note=note, edited_by_id=leader.id))
    db.commit()


def _person(db: Session, site_slug: str, role: str) -> User | None:
    return db.scalar(select(User).join(Membership, Membership.user_id == User.id)
                     .join(Site, Site.id == Membership.site_id)
                     .where(Site.slug == site_slug, Membership.role == role, Membership.ended_at.is_(None),
                            User.email.is_not(None)).order_by(User.id))


def _adapt_then_change(db: Session, resource: Resource, plan: dict) -> None:
    """Sites adapt the tool and add their local line; then the network publishes a new revision."""
    if db.scalar(select(Revision.id).where(Revision.resource_id == resource.id, Revision.summary == plan["summary"])):
        return
    for site_slug, local in plan["sites"].items():
        adaptation, created, lead = _adapt(db, resource, site_slug)
        if adaptation is None:
            continue
        current = stewardship.current_text(db, adaptation)
        if created and plan["anchor"] in current.body:
            stewardship.save_adaptation(db, lead, adaptation.id, base_revision_id=current.id, title=current.title,
                                        body=current.body.replace(plan["anchor"], local, 1),
                                        summary="Our phone numbers and how to reach us")
    _publish_network_change(db, resource, plan)


def _adapt(db: Session, resource: Resource, site_slug: str):
    """(adaptation, created, the site lead who made it); (None, False, None) for a site the demo lacks."""
    lead = _person(db, site_slug, "site_lead")
    site = db.scalar(select(Site).where(Site.slug == site_slug))
    if lead is None or site is None:
        return None, False, None
    adaptation, created = stewardship.adapt(db, lead, resource.id, site_id=site.id)
    return adaptation, created, lead


def _publish_network_change(db: Session, resource: Resource, plan: dict) -> None:
    """A co-author revises the network version; a parent and a clinician at another site approve it."""
    author = db.get(User, sorted(resource.coauthor_ids)[0])
    reviewers = [_person(db, "northgate-ibd", role) for role in ("parent", "clinician")]
    if any(r is None or r.id in resource.coauthor_ids for r in reviewers):
        return
    current = db.get(Revision, resource.current_revision_id)
    body = current.body.replace(plan["anchor"], plan["network_anchor"], 1).rstrip("\n") + "\n" + plan["network_section"]
    library.save(db, author, resource.id, base_revision_id=current.id, title=current.title, body=body,
                 summary=plan["summary"])
    library.submit_for_review(db, author, resource.id)
    for reviewer, role in zip(reviewers, ("parent", "clinician")):
        library.review(db, reviewer, resource.id, decision="approve", role=role)
    library.publish(db, author, resource.id)


def _overdue(db: Session, resources: dict[str, Resource]) -> None:
    """Review dates in the past, unless someone has since confirmed or re-dated the tool by hand."""
    today = stewardship.today()
    for slug, days in OVERDUE.items():
        resource = resources.get(slug)
        if resource is None or not resource.is_readable:
            continue
        confirmed = db.scalar(select(ReviewConfirmation.id).where(ReviewConfirmation.resource_id == resource.id))
        schedule = db.get(ReviewSchedule, resource.id)
        if confirmed is not None or (schedule is not None and schedule.set_by_id is not None):
            continue
        if schedule is None:
            schedule = ReviewSchedule(resource_id=resource.id, last_reviewed_at=resource.published_at)
            db.add(schedule)
        schedule.review_by = today - timedelta(days=days)
    db.commit()
