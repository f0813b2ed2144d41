"""The demo network: realistic sites and people in every role. Idempotent: run it again, nothing doubles.

Later features add their own demo data through `seed` hooks in their modules.
"""
from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import passwords
from network.people import CareLink, Membership, Site, User, get_network
from network.roles import Role

DEMO_PASSWORD = "carecommons-demo"
DEMO_DOMAIN = "demo.carecommons.test"

NETWORK_NAME = "CareCommons Paediatric IBD Network"
NETWORK_AIM = ("Raise the share of our patients with Crohn's disease and ulcerative colitis in remission "
               "from 60% to 80%, by improving care together: patients, parents and clinicians as equal partners.")

# (slug, name, city, relative size)
SITES = [
    ("riverside-childrens", "Riverside Children's Hospital", "Riverside", 3.0),
    ("northgate-ibd", "Northgate Paediatric IBD Centre", "Northgate", 2.4),
    ("lakeshore-clinic", "Lakeshore Children's Clinic", "Lakeshore", 1.0),
    ("st-brigids", "St Brigid's University Hospital", "Eastbury", 2.0),
    ("harbour-view", "Harbour View Medical Centre", "Port Alden", 0.8),
    ("valley-health", "Valley Health Children's Service", "Millbrook", 0.6),
    ("summit-gi", "Summit Paediatric Gastroenterology", "Highfield", 1.4),
    ("prairie-childrens", "Prairie Children's Hospital", "Westmoor", 1.8),
    ("coastal-kids", "Coastal Kids Digestive Clinic", "Seabrook", 0.5),
    ("university-west", "University Hospital West", "Kingsbridge", 2.6),
    ("pinecrest", "Pinecrest Community Hospital", "Pinecrest", 0.4),
    ("meadowlands", "Meadowlands Children's Centre", "Fairmeadow", 1.2),
]

# More sites, so the demo network has the size of a real one (70 sites).
_TOWNS = ["Ashford", "Bramley", "Carlow", "Dunmore", "Elmstead", "Fernhill", "Glenarm", "Holloway", "Ivybridge",
          "Jarrow", "Kelso", "Linwood", "Marlow", "Newbury", "Oakham", "Penrith", "Queensbury", "Redhill",
          "Stanford", "Thornbury", "Upton", "Wexford", "Yarmouth", "Alston", "Bexley", "Cromer", "Deal",
          "Epsom", "Frome", "Garston", "Hexham", "Ilkley", "Keswick", "Ludlow", "Malton", "Nairn", "Otley",
          "Padstow", "Ripon", "Selby", "Tenby", "Ulverston", "Ventnor", "Whitby", "Ayr", "Buxton", "Clitheroe",
          "Dorking", "Ely", "Falmouth", "Goole", "Hythe", "Irvine", "Kendal", "Lewes", "Morpeth", "Newark", "Olney"]
_KINDS = ["Children's Hospital", "Paediatric IBD Clinic", "University Children's Centre", "Community Hospital",
          "Children's Digestive Health Service"]


def _extra_sites() -> list[tuple[str, str, str, float]]:
    sites = []
    for i, town in enumerate(_TOWNS):
        kind = _KINDS[i % len(_KINDS)]
        first_word = kind.split()[0].lower().replace("'s", "")
        sites.append((f"{town.lower()}-{first_word}", f"{town} {kind}", town, round(0.3 + (i * 37 % 23) / 10, 1)))
    return sites


EXTRA_SITES = _extra_sites()

FIRST = ["Amara", "Ben", "Chloe", "Dev", "Elena", "Farah", "Gus", "Hana", "Isaac", "Jade", "Kofi", "Lina",
         "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Victor", "Wren", "Yusuf", "Zoe"]
LAST = ["Okafor", "Nguyen", "Fischer", "Rossi", "Haddad", "Kowalski", "Silva", "Murphy", "Tanaka", "Mensah",
        "Larsen", "Duarte", "Ahmed", "Byrne", "Moreau", "Novak", "Park", "Quinn", "Reyes", "Sato"]


def _slug_email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def seed(db: Session, app_secret: str | None = None) -> list[tuple[str, str, str]]:
    """Create or complete the demo network; returns (role, e-mail, where) for the printed logins.
    `app_secret` (the app's SECRET_KEY) lets the demo turn two-step sign-in on for a few accounts."""
    network = get_network(db)
    network.name, network.aim = NETWORK_NAME, NETWORK_AIM
    sites = _seed_sites(db)
    password_hash = passwords.hash_password(DEMO_PASSWORD)  # once, not per person
    rng = random.Random(2026)
    logins: list[tuple[str, str, str]] = []

    def person(local: str, name: str, *, birth_year: int | None = None, login: bool = True) -> User:
        email = _slug_email(local) if login else None
        user = db.scalar(select(User).where(User.email == email)) if login else \
            db.scalar(select(User).where(User.email.is_(None), User.full_name == name))
        if user is None:
            user = User(email=email, full_name=name, password_hash=password_hash if login else None,
                        birth_year=birth_year)
            db.add(user)
            db.flush()
        return user

    def member(user: User, role: Role, site: Site | None, **flags) -> None:
        site_id = site.id if site else None
        existing = db.scalar(select(Membership).where(
            Membership.user_id == user.id, Membership.role == role.value,
            Membership.site_id.is_(None) if site_id is None else Membership.site_id == site_id))
        if existing is None:
            db.add(Membership(user_id=user.id, site_id=site_id, role=role.value, **flags))
        if role.value not in (user.profile_roles or []):
            user.profile_roles = sorted(set(user.profile_roles or []) | {role.value})

    def link(parent: User, patient: User) -> None:
        if not db.scalar(select(CareLink.id).where(CareLink.parent_id == parent.id,
                                                   CareLink.patient_id == patient.id)):
            db.add(CareLink(parent_id=parent.id, patient_id=patient.id))

    leader = person("leader", "Dr Helen Marsh")
    member(leader, Role.NETWORK_LEADER, None)
    logins.append(("network leader", leader.email, "the network"))
    qi_lead = person("qi.lead", "Marcus Bell")
    member(qi_lead, Role.NETWORK_LEADER, None)
    moderator = person("moderator", "Grace Liu")
    member(moderator, Role.MODERATOR, None)
    member(moderator, Role.PARENT, sites[2])
    logins.append(("moderator", moderator.email, "the network (also a parent)"))

    for index, site in enumerate(sites):
        slug = site.slug
        lead = person(f"lead.{slug}", f"Dr {rng.choice(FIRST)} {rng.choice(LAST)}")
        member(lead, Role.SITE_LEAD, site)
        clinician = person(f"clinician.{slug}", f"{rng.choice(FIRST)} {rng.choice(LAST)}, RN")
        member(clinician, Role.CLINICIAN, site, data_steward=index % 2 == 0)
        doctor = person(f"doctor.{slug}", f"Dr {rng.choice(FIRST)} {rng.choice(LAST)}")
        member(doctor, Role.CLINICIAN, site)
        family = rng.choice(LAST)
        parent = person(f"parent.{slug}", f"{rng.choice(FIRST)} {family}")
        member(parent, Role.PARENT, site)
        parent_first = parent.full_name.split()[0]
        teen_first = rng.choice([name for name in FIRST if name != parent_first])
        teen = person(f"patient.{slug}", f"{teen_first} {family}", birth_year=2026 - rng.randint(13, 17))
        member(teen, Role.PATIENT, site)
        link(parent, teen)
        if index < 4:  # some families have a young child with no sign-in of their own
            child = person(f"child.{slug}", f"{rng.choice(FIRST)} {family}", birth_year=2026 - rng.randint(6, 11),
                           login=False)
            member(child, Role.PATIENT, site)
            link(parent, child)
        if index == 0:
            logins += [("site lead", lead.email, site.name), ("clinician", clinician.email, site.name + " (data steward)"),
                       ("parent", parent.email, site.name), ("patient (teen)", teen.email, site.name)]
        if index == 1:
            logins += [("clinician", clinician.email, site.name), ("parent", parent.email, site.name)]
    for site in sites[len(SITES):]:
        member(person(f"lead.{site.slug}", f"Dr {rng.choice(FIRST)} {rng.choice(LAST)}"), Role.SITE_LEAD, site)
    db.flush()
    from network import demo_outcomes, demo_sessions

    demo_outcomes.seed(db, sites, [size for *_rest, size in SITES + EXTRA_SITES], submitted_by=leader)
    demo_sessions.seed(db, leader)
    from network import demo_front

    demo_front.seed(db, leader)
    from network import demo_minors

    logins += demo_minors.seed(db, sites[0], password_hash)
    from network import demo_dua

    demo_dua.seed(db, leader)
    from network import demo_twostep

    logins += demo_twostep.seed(db, leader, DEMO_DOMAIN, app_secret)
    db.commit()
    return logins


def _seed_sites(db: Session) -> list[Site]:
    existing = {site.slug: site for site in db.scalars(select(Site))}
    code = max((site.code for site in existing.values()), default=0)
    sites = []
    for slug, name, city, _size in SITES + EXTRA_SITES:
        site = existing.get(slug)
        if site is None:
            code += 1
            site = Site(slug=slug, name=name, city=city, code=code)
            db.add(site)
        sites.append(site)
    db.flush()
    return sites
