"""Demo data for two-step sign-in and consent: terms of use and privacy notice (version 1) accepted by
every demo member (parents for their young children), and two-step sign-in on a few accounts.

So that `make run`'s printed logins still sign in with the password alone, the demo's leaders,
moderator, site leads and clinicians have their set-up deferred for a year, except:

- the doctors at Northgate and Lakeshore have two-step sign-in on, with the published demo key below
  (get the current code with `.venv/bin/python -c "import pyotp; print(pyotp.TOTP('<key>').now())"`);
- the doctor at St Brigid's has no deferral: their first sign-in asks them to set it up.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import consent, twostep
from network.db import utcnow
from network.people import User

#: the demo's published two-step key (never use a published key for a real account)
DEMO_TOTP_SECRET = "CARECOMMONSDEMOTWOSTEPKEY234567A"
#: recovery codes of the demo accounts with two-step sign-in (each works once per fresh demo database)
DEMO_RECOVERY_CODES = [f"DEMO-CODE-{n:04d}" for n in range(1, 11)]

TERMS = """## Taking part in the network

CareCommons is a learning network of patients, families, clinicians and care teams working together to
improve care for children and young people with inflammatory bowel disease.

By taking part you agree to:

- **Be kind and respectful.** Share experience, not blame. Disagree with ideas, not with people.
- **Protect each other's privacy.** Do not share what another member tells you outside the network
  without their permission. Never post another person's health details.
- **Remember this is not medical advice.** Tools and stories here support conversations with your care
  team; they never replace them. In an emergency, call your local emergency number.
- **Keep your account to yourself.** Do not share your password or your two-step sign-in codes.

Moderators may hide posts that break these terms. Questions? Ask your site lead or a network leader.
"""

PRIVACY = """## What we keep and why

- **Your account:** your name, e-mail address, roles and the sites you belong to, so you can sign in
  and others can see who they are working with.
- **What you write:** tools, comments, stories and messages, shown as you choose when you post them.
- **Your care plans and tracking:** seen only by you, your linked parents or carers (until you turn 18,
  unless you renew their access) and your own site's care team.
- **Outcome figures:** counted per site, with small numbers hidden wherever they could identify someone.
- **Sign-in records:** which devices are signed in and when, so you can sign them out; and an audit log
  of changes, kept for the network's safety.

We never sell your information or use it for advertising. You can ask your site lead for a copy of what
the network holds about you.

### Children under 13

A parent or carer linked to a child under 13 accepts these terms and this notice on the child's behalf.
"""


def seed(db: Session, leader: User, domain: str, app_secret: str | None) -> list[tuple[str, str, str]]:
    """Publish the documents and record acceptances (idempotent); returns extra printed logins.

    `app_secret` is the app's SECRET_KEY, which encrypts the two-step keys; without it (a bare seed
    outside the app) the demo doctors' set-up is deferred like everyone else's."""
    current = consent.current(db)
    if "terms" not in current:
        consent.publish(db, leader, kind="terms", title="Terms of use", body=TERMS)
    if "privacy" not in current:
        consent.publish(db, leader, kind="privacy", title="Privacy notice", body=PRIVACY)
    members = list(db.scalars(select(User).where(User.email.is_not(None)).order_by(User.id)))
    for member in members:
        for item in consent.outstanding(db, member):
            consent.accept(db, member, document_id=item.document.id, version=item.document.version,
                           on_behalf_of_id=item.child.id if item.child else None, commit=False)
    enrolled = [f"doctor.northgate-ibd@{domain}", f"doctor.lakeshore-clinic@{domain}"]
    must_set_up = f"doctor.st-brigids@{domain}"
    for member in members:
        if member.email in enrolled and app_secret:
            if not twostep.is_enabled(db, member):
                twostep.enrol_with_secret(db, member, DEMO_TOTP_SECRET, app_secret=app_secret,
                                          recovery=DEMO_RECOVERY_CODES)
        elif member.email != must_set_up and twostep.required_for(member) and twostep.record_of(db, member) is None:
            twostep.defer_setup(db, member, utcnow() + timedelta(days=365))
    db.commit()
    logins = [("clinician", must_set_up, "St Brigid's: asked to set up two-step sign-in")]
    if app_secret:
        logins.insert(0, ("clinician", enrolled[0], f"Northgate: two-step sign-in, key {DEMO_TOTP_SECRET}"))
    return logins

