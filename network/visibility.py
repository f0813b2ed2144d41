"""What depends on the viewer, computed in one place: how a site is named, and which counts are hidden.

Pages, CSV, the JSON API and FHIR exports all call these, so no path can forget.

Suppression follows the CMS cell-size policy: no count from 1 to 10 is shown (0 may be), and no hidden
value may be derived from what is shown — so a proportion also hides when its complement
(denominator − numerator) is small, and when a group total is shown and only one cell of the group is
hidden, the smallest other cell is hidden too (complementary suppression). Public comparisons use fixed
calendar-year periods so that two overlapping periods cannot be subtracted to reveal one month.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from network import access

DEFAULT_THRESHOLD = 11


def site_label(viewer, site) -> str:
    """Site names for members of the network; the stable code ("Site 17") for everyone else."""
    if access.can(viewer, "outcomes.view"):
        return site.name
    return f"Site {site.code}"


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
