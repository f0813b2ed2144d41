"""How a test of change and what followed it read, in the viewer's language.

"What the chart did next" is timing, never cause: every sentence says when a signal began relative to the
cycle ("a shift began 2 months later"), and pages say once that other things change too."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.presenters import month_label
from content.pdsa import Next

DECISIONS = {"adopt": _l("Adopt"), "adapt": _l("Adapt"), "abandon": _l("Abandon"), "": _l("Not decided yet")}
STATUSES = {"planned": _l("Planned"), "running": _l("Running"), "ended": _l("Ended, no decision yet"),
            "decided": _l("Decided")}


def decision_label(decision: str) -> str:
    return str(DECISIONS.get(decision or "", decision))


def status_label(status: str) -> str:
    return str(STATUSES.get(status, status))


def _when(n: int) -> str:
    if n == 0:
        return _("in the month the cycle began")
    return ngettext("%(num)s month later", "%(num)s months later", n)


def next_sentence(next_: Next) -> str:
    """One sentence, e.g. "A shift began 2 months later (Mar 2025): 9 months in a row on the better side of the
    centre line." """
    if next_.kind == "no_data":
        return _("No figures yet from the month the cycle began.")
    month = month_label(next_.month) if next_.month else ""
    if next_.kind == "shift":
        text = _("A shift began %(when)s (%(month)s): %(length)s months in a row on the better side of the centre "
                 "line.", when=_when(next_.months_later), month=month, length=next_.length)
    elif next_.kind == "trend":
        text = _("A trend began %(when)s (%(month)s): %(length)s months in a row, each better than the last.",
                 when=_when(next_.months_later), month=month, length=next_.length)
    elif next_.kind == "outside":
        text = _("A month beyond the control limit, on the better side, came %(when)s (%(month)s).",
                 when=_when(next_.months_later), month=month)
    elif next_.complete:
        text = ngettext("No signal in the %(num)s month after it began.", "No signal in the %(num)s months after it "
                        "began.", next_.window)
    else:
        text = ngettext("No signal yet: %(num)s month of figures since it began.",
                        "No signal yet: %(num)s months of figures since it began.", next_.seen)
    if next_.already and next_.kind in ("none", "trend", "outside"):
        text += " " + _("A shift on the better side was already under way when it began (since %(month)s).",
                        month=month_label(next_.already))
    return text


def not_cause_note(window: int) -> str:
    return _("This says what the chart did after the cycle began, not that the cycle caused it: other things "
             "change too. Signals are the SPC engine's, in the measure's better direction, within %(n)s months.",
             n=window)
