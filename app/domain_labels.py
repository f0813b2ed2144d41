"""Domain texts that templates translate when they render them (`{{ _(text) }}`), and the labels of the
domain's status codes (`{{ status_label("invitation", inv.status) }}`).

`network/` and `content/` never import Flask, so their labels cannot be marked for translation where they
are written. NOTIFICATION_KINDS and HOME_NEEDS are marked here only so that `pybabel extract` puts them in
the catalog; tests/test_i18n.py checks that these lists still match the domain's. (Sentences the domain
writes itself are marked in place with network.i18n.N_.)
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: network.notifications.KINDS (notification settings page)
NOTIFICATION_KINDS = (
    _l("A resource waits for review"),
    _l("A tool you co-author is due for review"),
    _l("A comment on a resource you co-author"),
    _l("A suggested change to a resource you co-author"),
    _l("The moderators decided on your story"),
    _l("A learning session you registered for is coming up"),
    _l("Your site's monthly figures are due"),
    _l("Another site adopted a tool you co-author"),
    _l("Your site is a bright spot"),
    _l("An action item is yours"),
    _l("You or your child turn 18 within a month"),
    _l("You or your child turned 18: access to plans and tracking changed"),
    _l("An adult patient renewed or ended your access to their plans"),
    _l("A member asks to connect with you, or answered your request"),
)

#: content.home.needs (the home page's "What needs you"; each follows a count)
HOME_NEEDS = (
    _l("unread notifications"),
    _l("resources waiting for a review"),
    _l("previsit plans to read before upcoming visits"),
    _l("stories by your teen waiting for your agreement"),
    _l("items in the moderation queue"),
    _l("open action items"),
)

#: content.mydata.close_account's refusals (the my-data page shows them with `_(text)`)
CLOSE_ACCOUNT_ERRORS = (
    _l("Choose whether to delete what you wrote or keep it without your name."),
    _l("That is not your password; nothing was changed."),
)


#: the status codes pages show, by kind of thing; tests/test_i18n.py checks they cover the domain's values
STATUS_LABELS = {
    "invitation": {"pending": _l("pending"), "accepted": _l("accepted"), "revoked": _l("withdrawn"),
                   "expired": _l("expired")},
    "registration": {"registered": _l("registered"), "waitlisted": _l("on the waitlist"),
                     "cancelled": _l("cancelled")},
    "suggestion": {"open": _l("waiting for a decision"), "accepted": _l("accepted"), "declined": _l("declined")},
    "visibility": {"public": _l("anyone on the web"), "network": _l("members of the network"),
                   "site": _l("members of the site")},
    "report_object": {"story": _l("story"), "story_comment": _l("comment")},
    # a group member's title is free text; the two the app writes itself are translated
    "group_title": {"member": _l("member"), "chair": _l("chair")},
}


def status_label(kind: str, value) -> str:
    """The reader's word for a status code; an unknown code is shown as it is."""
    label = STATUS_LABELS.get(kind, {}).get(str(value))
    return str(label) if label is not None else str(value)
