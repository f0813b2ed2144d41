"""Demo data for the data-use agreement: version 1, published by the network leader and accepted by most
members. A few have not accepted — among the printed demo logins, the Northgate parent
(parent.northgate-ibd@...) — so the demo shows blinding: they see Northgate by name and every other
site as its code until they accept."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from network import audit
from network.agreements import AgreementAcceptance, DataUseAgreement
from network.db import utcnow
from network.people import Membership, User, acting_role

AGREEMENT_V1 = """\
# CareCommons data-use agreement

Every site in the network shares its monthly figures so that we can all learn faster. Seeing another
site's results by name is a privilege we give each other, on these terms.

## What I agree to

1. **Learn, never shame.** I use other sites' figures to find out what works and to ask how they did
   it — never to rank, blame or advertise.
2. **Keep it inside the network.** I do not publish, present or pass on another site's named results
   without that site's written permission. The public view of the network stays aggregate.
3. **Ask before I quote.** Before I quote another site's figures in a talk, a paper or a grant, I ask
   its site lead.
4. **No re-identification.** I never try to work out who a patient is from the figures.
5. **Report mistakes.** If I see figures that look wrong, or see them shared where they should not be,
   I tell the site lead or a network leader.

## What the network does

- Small counts (1–10) are never shown outside the network.
- Until you accept this agreement, other sites appear to you as codes (“Site 17”); your own site always
  appears by name.
- When the agreement changes, we publish a new version and ask everyone to accept it again.
"""

#: demo logins that have not accepted (the printed Northgate parent, and a few others)
NOT_ACCEPTED = {"parent.northgate-ibd", "patient.northgate-ibd", "doctor.lakeshore-clinic", "parent.summit-gi"}


def seed(db: Session, leader: User) -> None:
    if db.scalar(select(DataUseAgreement.id)) is not None:
        return
    from network.demo import SITES

    main_sites = {slug for slug, *_rest in SITES}
    published = utcnow() - timedelta(days=60)
    agreement = DataUseAgreement(version=1, body=AGREEMENT_V1, summary="First version", published_at=published,
                                 published_by_id=leader.id, acting_role="network_leader")
    db.add(agreement)
    db.flush()
    audit.record(db, leader, "agreement.publish", agreement, version=1)
    members = db.scalars(select(User).where(User.email.is_not(None), User.is_active.is_(True),
                                            User.id.in_(select(Membership.user_id)
                                                        .where(Membership.ended_at.is_(None))))
                         .order_by(User.id))
    for index, user in enumerate(members):
        local = user.email.split("@")[0]
        # a few leads of the smaller sites (not the printed demo logins) have not got round to it either
        if local in NOT_ACCEPTED or (local.startswith("lead.") and local[5:] not in main_sites and index % 7 == 3):
            continue
        row = AgreementAcceptance(agreement_id=agreement.id, user_id=user.id, acting_role=acting_role(user),
                                  accepted_at=published + timedelta(hours=2 + index * 5))
        db.add(row)
        db.flush()
        audit.record(db, user, "agreement.accept", row, version=1, acting_role=row.acting_role)
    db.flush()
