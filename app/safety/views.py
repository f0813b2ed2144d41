"""Safeguarding: flag a concern, the crisis guidance, the urgent queue, and the leaders' settings."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _

from app.extensions import get_db
from app.forms import ActionForm
from app.safety.forms import (CONCERN_LABELS, OBJECT_LABELS, STATUS_LABELS, ActionRecordForm, ContactForm, FlagForm,
                              SettingsForm)
from app.web import actor, form_post, localize
from content import safeguarding
from content.markdown import render
from network import access
from network.db import utcnow
from network.errors import Invalid

bp = Blueprint("safety", __name__, url_prefix="/safety")


def _labels() -> dict:
    now = utcnow()
    return dict(object_labels=OBJECT_LABELS, concern_labels=CONCERN_LABELS, status_labels=STATUS_LABELS,
                waited=lambda flag: format_timedelta(flag.waited(now), threshold=1.1))


@bp.route("/help")
def guidance():
    """The network's crisis guidance (shown to a member right after they flag a concern)."""
    db = get_db()
    text = safeguarding.crisis_guidance(db, actor())
    return render_template("safety/guidance.html", html=render(localize(text)),
                           flags=safeguarding.my_flags(db, actor()),
                           **_labels())


@bp.route("/flag/<object_type>/<int:object_id>", methods=["GET", "POST"])
def flag(object_type: str, object_id: int):
    """Flag a story, comment, chat message, plan note or private message as a safety concern."""
    db = get_db()
    access.require(actor(), "safety.flag")
    flagged = safeguarding.find_flaggable(db, actor(), object_type, object_id)
    form = FlagForm()
    sent = form_post(form, lambda: safeguarding.flag(db, actor(), object_type=object_type, object_id=object_id,
                                                     concern=form.concern.data, details=form.details.data or ""))
    if sent.ok:
        flash(_("Thank you. The network's safeguarding contacts have been told now."), "success")
        return redirect(url_for("safety.guidance"))
    return render_template("safety/flag.html", form=form, flagged=flagged,
                           what=OBJECT_LABELS[object_type]), sent.status


@bp.route("/queue")
def queue():
    """The urgent queue: open safety concerns, longest wait first, and the latest handled ones."""
    return render_template("safety/queue.html", queue=safeguarding.queue(get_db(), actor()), **_labels())


@bp.route("/flags/<int:flag_id>")
def show_flag(flag_id: int):
    """One flag: what was flagged, by whom, how long it waited, and what was done."""
    db = get_db()
    row = safeguarding.view_flag(db, actor(), flag_id)
    return render_template("safety/flag_detail.html", flag=row, form=ActionRecordForm(), action_form=ActionForm(),
                           **_labels())


@bp.route("/flags/<int:flag_id>/acknowledge", methods=["POST"])
def acknowledge(flag_id: int):
    """Say that someone is on it (stops the waiting clock)."""
    safeguarding.acknowledge(get_db(), actor(), flag_id)
    flash(_("Acknowledged. The waiting time stops now."), "success")
    return redirect(url_for("safety.show_flag", flag_id=flag_id))


@bp.route("/flags/<int:flag_id>/actions", methods=["POST"])
def record_action(flag_id: int):
    """Record an action taken, or resolve the flag with the final one."""
    db = get_db()
    text = request.form.get("action", "")
    if request.form.get("resolve") == "1":
        safeguarding.resolve(db, actor(), flag_id, action=text)
        flash(_("Resolved. The record stays in the queue's history and the audit log."), "success")
        return redirect(url_for("safety.queue"))
    safeguarding.record_action(db, actor(), flag_id, action=text)
    flash(_("Action recorded."), "success")
    return redirect(url_for("safety.show_flag", flag_id=flag_id))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Network leaders: the crisis guidance, the risk phrases and the safeguarding contacts."""
    db = get_db()
    access.require(actor(), "safety.settings")
    row = safeguarding.settings(db)
    form = SettingsForm(data={"crisis_guidance": row.crisis_guidance, "risk_phrases": "\n".join(row.risk_phrases or [])}
                        if request.method == "GET" else None)
    saved = form_post(form, lambda: safeguarding.update_settings(
        db, actor(), crisis_guidance=form.crisis_guidance.data or "", risk_phrases=form.risk_phrases.data or ""))
    if saved.ok:
        flash(_("Saved."), "success")
        return redirect(url_for("safety.settings"))
    return render_template("safety/settings.html", form=form, contact_form=ContactForm(formdata=None),
                           contacts=safeguarding.safeguarding_contacts(db), action_form=ActionForm()), saved.status


@bp.route("/contacts", methods=["POST"])
def add_contact():
    """Network leaders designate a safeguarding contact (told at once of every concern)."""
    db = get_db()
    access.require(actor(), "safety.settings")
    form = ContactForm()
    if not form.validate_on_submit():
        raise Invalid({"email": [_("Enter an e-mail address.")]})
    user = safeguarding.set_contact(db, actor(), email=form.email.data, designated=True)
    flash(_("%(name)s is now a safeguarding contact.", name=user.shown_name), "success")
    return redirect(url_for("safety.settings"))


@bp.route("/contacts/<int:user_id>/remove", methods=["POST"])
def remove_contact(user_id: int):
    """Network leaders stop designating someone as a safeguarding contact."""
    safeguarding.set_contact(get_db(), actor(), user_id=user_id, designated=False)
    flash(_("Removed from the safeguarding contacts."), "success")
    return redirect(url_for("safety.settings"))
