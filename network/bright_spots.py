"""Bright spots: sites whose charts show a sustained improvement in the last months, found by the SPC
engine's runs analysis in each measure's good direction. Their site lead is invited (once) to share
what they changed; leaders can feature them on the home page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Boolean, ForeignKey, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from network import access, audit, notifications, outcome_reports, outcomes, visibility
from network.db import Base, utcnow
from network.errors import NotFound
from network.people import Membership, Site
from network.i18n import N_

#: the last this many months must all be on the better side of the centre line
RECENT_MONTHS = 6


class BrightSpot(Base):
    __tablename__ = "bright_spots"
    __table_args__ = (UniqueConstraint("site_id", "measure_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column()
    featured: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass
class Spot:
    site: object
    measure: object
    label: str          # through the viewer's lens: a blinded member reads "Site 17"
    sentence: str
    featured: bool
    ref: str = ""       # the viewer's URL name for the site (short name, or "S17" when blinded)


def _sentence(label: str, measure) -> str:
    return N_("%(label)s: %(name)s has been better than its usual level for the last %(recent_months)s months",
              label=label, name=measure.name.lower(), recent_months=RECENT_MONTHS)


def _sustained(chart, better: str) -> bool:
    """A runs signal on the chart, and every one of the last months on the better side of the centre."""
    result = chart.result
    if len(result) < RECENT_MONTHS + 2 or not result.runs_signal.any():
        return False
    recent_y, recent_cl = result.y[-RECENT_MONTHS:], result.cl[-RECENT_MONTHS:]
    if np.isnan(recent_cl).any():
        return False
    side = np.sign(recent_y - recent_cl) * (1 if better == "higher" else -1)
    return bool((side > 0).all())


def _bright_site_ids(db: Session, measure) -> frozenset[int]:
    """The sites whose chart of this measure shows a sustained improvement: worked out once per data
    version of the measure, like the charts, not on every home page (found by bench/load.py)."""
    return outcome_reports.from_site_charts(db, measure, "bright_spots", lambda charts: frozenset(
        site_id for site_id, chart in charts.items() if _sustained(chart, measure.better)))


def find(db: Session, viewer, *, limit: int | None = None) -> list[Spot]:
    """Every current bright spot, featured ones first. A bright spot names a site, so it is labelled
    through the viewer's lens like every outcome view (network/visibility.py). Only the bright sites
    are read (the home page asks on every visit: not every site's chart of every measure)."""
    seen = visibility.lens(db, viewer)
    access.require(seen.actor, "outcomes.view")
    bright = [(measure, _bright_site_ids(db, measure)) for measure in outcomes.measures(db)]
    wanted = set().union(*(ids for _measure, ids in bright))
    if not wanted:
        return []
    sites = {s.id: s for s in db.scalars(select(Site).where(Site.id.in_(wanted), Site.is_active.is_(True)))}
    # only the featured pairs, as numbers: the home page loaded every stored bright spot (~300) to sort by them
    featured = {(site_id, measure_id) for site_id, measure_id in db.execute(
        select(BrightSpot.site_id, BrightSpot.measure_id).where(BrightSpot.site_id.in_(wanted),
                                                                BrightSpot.featured.is_(True)))}
    place = {i: seen.order(site) if seen.blinded else seen.label(site) for i, site in sites.items()}  # once a site
    found = [(measure, sites[i]) for measure, ids in bright for i in sorted(ids) if i in sites]
    found.sort(key=lambda pair: ((pair[1].id, pair[0].id) not in featured, place[pair[1].id], pair[0].position))
    spots = []
    for measure, site in found[:limit] if limit else found:  # worded only if shown: the home page shows 4 of ~300
        label = seen.label(site)
        spots.append(Spot(site, measure, label, _sentence(label, measure), (site.id, measure.id) in featured,
                          seen.ref(site)))
    return spots


def invite(db: Session, viewer) -> int:
    """Record new bright spots and invite each one's site lead, once, to share what they changed."""
    count = 0
    for spot in find(db, viewer):
        row = db.scalar(select(BrightSpot).where(BrightSpot.site_id == spot.site.id,
                                                 BrightSpot.measure_id == spot.measure.id))
        if row is None:
            row = BrightSpot(site_id=spot.site.id, measure_id=spot.measure.id)
            db.add(row)
        if row.invited_at is None:
            leads = db.scalars(select(Membership.user_id).where(Membership.site_id == spot.site.id,
                                                                Membership.role == "site_lead",
                                                                Membership.ended_at.is_(None)))
            # addressed to the site's own lead, who always sees their own site by name
            count += notifications.notify(db, set(leads), "bright_spot",
                                          N_("%(sentence)s. Would you share what you changed? Tell it as a story, "
                                             "or link the tools you adopted.",
                                             sentence=_sentence(spot.site.name, spot.measure)), "/stories/new")
            row.invited_at = utcnow()
    db.commit()
    return count


def feature(db: Session, actor, *, site_id: int, measure_id: int, featured: bool) -> BrightSpot:
    access.require(actor, "bright_spot.feature")
    from network.people import Site

    if db.get(Site, site_id) is None or db.get(outcomes.Measure, measure_id) is None:
        raise NotFound(N_("No such site or measure."))
    row = db.scalar(select(BrightSpot).where(BrightSpot.site_id == site_id, BrightSpot.measure_id == measure_id))
    if row is None:
        row = BrightSpot(site_id=site_id, measure_id=measure_id)
        db.add(row)
    row.featured = featured
    db.flush()
    audit.record(db, actor, "bright_spot.feature" if featured else "bright_spot.unfeature", row, site_id=site_id)
    db.commit()
    return row
