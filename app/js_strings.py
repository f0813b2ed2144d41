"""The words the page scripts (app/static/js/room.js, editor.js) show, translated for the reader.

Pages that load a script write them into a hidden `<div id="ui-strings" data-strings="{JSON}">` (no inline
script at all, so the CSP stays strict). A script asks for `t("key", "English")`: the reader's text if the block has it,
else the English it passed. `%(name)s` placeholders are filled in by the script.
"""
from __future__ import annotations

import json

from flask_babel import gettext
from markupsafe import Markup

from app.presenters import ROLE_LABELS


def ui_strings() -> dict[str, str]:
    strings = {
        # room.js
        "not_sent": gettext("Not sent: the connection is down. Try again."),
        "refused": gettext("Refused."),
        "pin": gettext("Pin"),
        "remove": gettext("Remove"),
        "upvote": gettext("Upvote"),
        "mark_answered": gettext("Mark answered"),
        "answered": gettext("answered"),
        "close_poll": gettext("Close poll"),
        "new_question": gettext("New question: %(text)s", text="%(text)s"),
        "poll_opened": gettext("A poll opened: %(text)s", text="%(text)s"),
        "poll_closed": gettext("The poll closed."),
        "now": gettext("Now: %(text)s", text="%(text)s"),
        "pinned": gettext("Pinned:"),
        "breakout_opened": gettext("A breakout opened: %(text)s", text="%(text)s"),
        "lower": gettext("Lower hand"),
        "here": gettext("%(n)s here", n="%(n)s"),
        "could_not_join": gettext("Could not join."),
        "connected": gettext("Connected."),
        "reconnecting": gettext("Reconnecting…"),
        "removed": gettext("You have been removed from this session."),
        "lower_hand": gettext("Lower my hand"),
        "raise_hand": gettext("Raise my hand"),
        "flag": gettext("Flag a safety concern"),
        # editor.js
        "preview_unavailable": gettext("The preview is not available right now."),
        "autosaved": gettext("Draft autosaved."),
        "autosave_failed": gettext("Autosave failed; your text is still here."),
    }
    strings.update({f"role:{role.value}": str(label) for role, label in ROLE_LABELS.items()})
    return strings


def ui_strings_block() -> Markup:
    """The element the scripts read: the strings as JSON in an attribute (Markup escapes it for HTML)."""
    return Markup('<div id="ui-strings" hidden data-strings="%s"></div>') % json.dumps(ui_strings(), ensure_ascii=False)
