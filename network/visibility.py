"""What depends on the viewer, computed in one place: how a site is named, and which counts are hidden.

Pages, CSV, the JSON API and FHIR exports all call these, so no path can forget.

Suppression follows the CMS cell-size policy: no count from 1 to 10 is shown (0 may be), and no hidden
value may be derived from what is shown — so a proportion also hides when its complement
(denominator − numerator) is small, and when a group total is shown and only one cell of the group is
hidden, the smallest other cell is hidden too (complementary suppression). Public comparisons use fixed
calendar-year periods so that two overlapping periods cannot be subtracted to reveal one month.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import UnmappedInstanceError

from network import access, agreements
from network.agreements import Standing
from network.errors import Forbidden, NotFound
from network.people import Site

DEFAULT_THRESHOLD = 11

#: how a blinded page addresses a site in its URLs: "S17" (upper case, so never a site's short name)
CODE_REF = re.compile(r"^S([0-9]{1,9})$")


@dataclass(frozen=True)
class Lens:
    """How one viewer sees sites in outcome data, worked out once per request and handed to every
    renderer: pages, CSV, API and FHIR all ask it, so no path can forget.

    - the public: every site as its code ("Site 17");
    - a member who accepted the current data-use agreement (or while none is published): names;
    - any other member (or site token): their own site(s) by name, every other site as its code —
      in labels, URLs (`ref`), file names and element ids alike.
    """

    actor: Any
    member: bool                     # may see site-level outcome data at all (outcomes.view)
    names: bool                      # sees every site by name
    own_site_ids: frozenset
    standing: Standing

    @property
    def blinded(self) -> bool:
        """A member who sees other sites as codes until they accept the agreement."""
        return self.member and not self.names

    def shows_name(self, site) -> bool:
        return self.names or (self.member and site.id in self.own_site_ids)

    def label(self, site) -> str:
        return site.name if self.shows_name(site) else f"Site {site.code}"

    def ref(self, site) -> str:
        """What URLs and file names carry: the short name where the name shows, else "S<code>"."""
        return site.slug if self.shows_name(site) else f"S{site.code}"

    def order(self, site) -> tuple:
        """A sort key that says nothing the labels do not (blinded lists go by code, not by id)."""
        return (0, site.name.lower()) if self.shows_name(site) else (1, site.code)


def _own_site_ids(actor) -> frozenset:
    if getattr(actor, "acting_role", None) == "api_token":
        return frozenset({actor.site_id})
    return frozenset(actor.site_ids()) if access.signed_in(actor) else frozenset()


def lens(db: Session | None, viewer) -> Lens:
    """The viewer's lens (a Lens passes through). The agreement standing costs one query per request."""
    if isinstance(viewer, Lens):
        return viewer
    member = access.can(viewer, "outcomes.view")
    if not member:
        return Lens(viewer, False, False, frozenset(), Standing(None, False))
    if db is None:
        try:
            db = object_session(viewer)
        except UnmappedInstanceError:  # e.g. a site token's actor: not a row, so no session to ask
            db = None
    if db is None:  # no way to ask: fail closed
        return Lens(viewer, True, False, _own_site_ids(viewer), Standing(None, False))
    standing = agreements.standing(db, viewer)
    names = access.can(viewer, "outcomes.site_names", standing)
    return Lens(viewer, True, names, _own_site_ids(viewer), standing)


def site_label(viewer, site) -> str:
    """Names for members who accepted the data-use agreement (or while none is published); their own
    site by name and other sites as codes for members who have not; codes ("Site 17") for everyone else."""
    return lens(None, viewer).label(site)


def site_for(db: Session, viewer, ref: str, *, action: str = "site.view") -> Site:
    """The site a URL names: by short name where this viewer sees its name, by code ("S17") always.
    A blinded member who asks for another site by its short name is refused (403) with a clear
    message — answering would tie the name to the code shown on the charts. `action` is what the
    viewer must be allowed first (e.g. "pdsa.view", which site tokens hold)."""
    seen = lens(db, viewer)
    access.require(seen.actor, action)
    match = CODE_REF.match(ref or "")
    if match:
        site = db.scalar(select(Site).where(Site.code == int(match.group(1))))
    else:
        site = db.scalar(select(Site).where(Site.slug == ref))
    if site is None or (not site.is_active and not access.can(seen.actor, "site.manage")):
        raise NotFound("No such site.")
    if not match and not seen.shows_name(site):
        raise Forbidden("Other sites are shown by code until you accept the current data-use agreement. "
                        "Read and accept it to open sites by name.")
    return site


def is_small(count: int | None, threshold: int = DEFAULT_THRESHOLD) -> bool:
    return count is not None and 1 <= count < threshold


def hides(numerator: int, denominator: int, *, threshold: int = DEFAULT_THRESHOLD, complement: bool = True) -> bool:
    """Primary suppression of one cell."""
    return (is_small(numerator, threshold) or is_small(denominator, threshold)
            or (complement and is_small(denominator - numerator, threshold)))


@dataclass
class Cell:
    numerator: int
    denominator: int


def suppress_group(cells: Sequence[Cell], *, threshold: int = DEFAULT_THRESHOLD, complement: bool = True,
                   total_shown: bool = True) -> list[bool]:
    """Which cells of one group (e.g. every site in one period) to hide, primary and complementary."""
    hidden = [hides(c.numerator, c.denominator, threshold=threshold, complement=complement) for c in cells]
    if total_shown and sum(hidden) == 1:
        candidates = [i for i, c in enumerate(cells) if not hidden[i] and c.denominator > 0]
        if candidates:
            hidden[min(candidates, key=lambda i: (cells[i].denominator, i))] = True
    return hidden
