"""Contact between members: connection requests from the people directory, a linked parent's approval
for a teen, private threads, reports and blocks."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.forms import ActionForm
from app.web import actor, form_post
from content import contact
from content.markdown import render

bp = Blueprint("contact", __name__, url_prefix="/connections")


@bp.route("/")
def overview():
    """My connections, requests to answer, requests I sent, approvals a parent gives, and whom I blocked."""
    return render_template("contact/index.html", view=contact.overview(get_db(), actor()), me=actor(),
                           action_form=ActionForm())


@bp.route("/ask/<int:user_id>", methods=["GET", "POST"])
def ask(user_id: int):
    """Ask someone in the directory to connect, with an optional note."""
    db = get_db()
    recipient = contact.recipient_for_request(db, actor(), user_id)
    asked = form_post(None, lambda: contact.ask(db, actor(), recipient.id, note=request.form.get("note", "")))
    if asked.ok:
        flash(_("Sent. A linked parent will be asked first, then %(name)s.", name=recipient.shown_name)
              if asked.result.status == "awaiting_parent" else _("Sent. %(name)s will see your request.",
                                                                 name=recipient.shown_name), "success")
        return redirect(url_for("contact.overview"))
    return render_template("contact/ask.html", recipient=recipient, errors=asked.errors,
                           note=request.form.get("note", "")), asked.status


@bp.route("/requests/<int:connection_id>/answer", methods=["POST"])
def answer(connection_id: int):
    """Accept or decline a request to connect."""
    accept = request.form.get("accept") == "1"
    row = contact.answer(get_db(), actor(), connection_id, accept=accept)
    flash(_("Connected: you can now write to each other.") if accept else _("Declined. They are not told why."), "success")
    return redirect(url_for("contact.thread", connection_id=row.id) if accept else url_for("contact.overview"))


@bp.route("/requests/<int:connection_id>/approve", methods=["POST"])
def approve(connection_id: int):
    """A linked parent lets an adult's request reach their teen, or refuses it."""
    approved = request.form.get("approve") == "1"
    contact.approve(get_db(), actor(), connection_id, approved=approved)
    flash(_("Approved: your teen can now see the request and decide.") if approved
          else _("Refused: your teen will not see this request."), "success")
    return redirect(url_for("contact.overview"))


@bp.route("/<int:connection_id>")
def thread(connection_id: int):
    """The private thread of two connected members."""
    db = get_db()
    row, messages = contact.thread(db, actor(), connection_id)
    return render_template("contact/thread.html", connection=row, messages=messages, other=row.other(actor().id),
                           render=render, action_form=ActionForm(), max_message=contact.MAX_MESSAGE)


@bp.route("/<int:connection_id>/messages", methods=["POST"])
def send(connection_id: int):
    """Write in the thread (Markdown, rate limited)."""
    contact.send(get_db(), actor(), connection_id, body=request.form.get("body", ""))
    return redirect(url_for("contact.thread", connection_id=connection_id) + "#latest")


@bp.route("/messages/<int:message_id>/report", methods=["POST"])
def report(message_id: int):
    """Report a private message to the moderators (for a safety concern, flag it instead)."""
    db = get_db()
    contact.report(db, actor(), message_id, reason=request.form.get("reason", ""))
    connection_id = db.get(contact.ContactMessage, message_id).connection_id
    flash(_("Thank you. The moderators will look at it."), "success")
    return redirect(url_for("contact.thread", connection_id=connection_id))


@bp.route("/block/<int:user_id>", methods=["POST"])
def block(user_id: int):
    """Block a member: contact ends at once and they cannot ask again."""
    contact.block(get_db(), actor(), user_id)
    flash(_("Blocked. Contact has ended and they cannot ask to connect again."), "success")
    return redirect(url_for("contact.overview"))


@bp.route("/unblock/<int:user_id>", methods=["POST"])
def unblock(user_id: int):
    """Lift a block (nothing is restored; either of you may ask to connect again)."""
    contact.unblock(get_db(), actor(), user_id)
    flash(_("Unblocked."), "success")
    return redirect(url_for("contact.overview"))
