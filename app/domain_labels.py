"""Domain texts that templates translate when they render them (`{{ _(text) }}`).

`network/` and `content/` never import Flask, so their labels cannot be marked for translation where they
are written. They are marked here instead, only so that `pybabel extract` puts them in the catalog; nothing
imports this module. tests/test_i18n.py checks that these lists still match the domain's.
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
    _l("A member asks to connect with you, or answered your request"),
)

#: content.home.needs (the home page's "What needs you"; each follows a count)
HOME_NEEDS = (
    _l("unread notifications"),
    _l("resources waiting for a review"),
    _l("previsit plans to read before upcoming visits"),
    _l("stories by your teen waiting for your agreement"),
    _l("items in the moderation queue"),
)
