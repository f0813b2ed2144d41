"""The person's own account: growing up (the move to adult care, and each parent's access after 18)
and my data (download everything, close the account)."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, logout_user

from app.extensions import get_db
from app.web import actor, form_post
from content import library, mydata
from network import access, minors
from network.errors import NotFound
from network.people import User

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.route("/adult-care")
@login_required
def adult_care():
    """What changes at 18; for an adult patient, each linked parent's access with renew and end buttons."""
    db = get_db()
    status = minors.adult_care(db, actor())
    resources = library.transition_tools(db, actor()) if status.soon or status.adult or status.children else []
    return render_template("me/adult_care.html", status=status, resources=resources)


@bp.route("/adult-care/<int:link_id>/renew", methods=["POST"])
@login_required
def renew_access(link_id: int):
    """An adult patient lets a parent keep seeing their plans and tracking."""
    link = minors.renew_parent_access(get_db(), actor(), link_id)
    flash(_("%(name)s can see your plans and tracking again.", name=link.parent.shown_name), "success")
    return redirect(url_for("me.adult_care"))


@bp.route("/adult-care/<int:link_id>/end", methods=["POST"])
@login_required
def end_access(link_id: int):
    """An adult patient ends a parent's renewed access."""
    link = minors.end_parent_access(get_db(), actor(), link_id)
    flash(_("%(name)s no longer sees your plans and tracking.", name=link.parent.shown_name), "success")
    return redirect(url_for("me.adult_care"))


def _my_data_page(errors=None, status=200):
    db = get_db()
    access.require(actor(), "account.close", actor())
    return render_template("me/my_data.html", children=mydata.children_for_export(db, actor()),
                           errors=errors or {}, choice=request.form.get("choice", "")), status


@bp.route("/data")
@login_required
def my_data():
    """Download everything; close the account (and what the network keeps, explained)."""
    return _my_data_page()


def _zip_response(payload: bytes, name: str) -> Response:
    return Response(payload, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/data/export.zip")
@login_required
def export_zip():
    """Everything I wrote and everything about me: data.json and Markdown files, in one zip."""
    user = actor()
    return _zip_response(mydata.export_zip(get_db(), user, user), "carecommons-my-data.zip")


@bp.route("/data/children/<int:patient_id>/export.zip")
@login_required
def export_child_zip(patient_id: int):
    """A linked parent downloads their under-13 child's data."""
    db = get_db()
    child = db.get(User, patient_id)
    if child is None:
        raise NotFound(_("No such person."))
    return _zip_response(mydata.export_zip(db, actor(), child), f"carecommons-data-{child.id}.zip")


@bp.route("/data/close", methods=["POST"])
@login_required
def close_account():
    """Close my account, after my password; delete what I wrote or keep it without my name."""
    db = get_db()
    closed = form_post(None, lambda: mydata.close_account(db, actor(), password=request.form.get("password", ""),
                                                          choice=request.form.get("choice", "")))
    if not closed.ok:
        return _my_data_page(closed.errors, 422)
    logout_user()
    flash(_("Your account is closed. Thank you for taking part."), "success")
    return redirect(url_for("home.index"))
