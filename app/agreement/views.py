"""The data-use agreement: members read and accept the current version; leaders publish a new version
and see who has accepted. Until a member accepts, outcome data shows other sites by code."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.web import actor, form_post
from content.markdown import render as render_markdown
from network import access, agreements, visibility

bp = Blueprint("agreement", __name__, url_prefix="/agreement")


def _next_url() -> str | None:
    target = request.values.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else None


@bp.route("/")
def show():
    """The current agreement, where I stand, and the button to accept it."""
    db = get_db()
    viewer = actor()
    current = agreements.read_current(db, viewer)
    mine = agreements.my_acceptance(db, viewer)
    roles = sorted(viewer.roles, key=lambda r: agreements.ROLE_PRIORITY.index(r)) if current else []
    return render_template("agreement/show.html", agreement=current, mine=mine, roles=roles, next=_next_url(),
                           render_markdown=render_markdown, lens=visibility.lens(db, viewer),
                           may_publish=access.can(viewer, "agreement.publish"))


@bp.route("/accept", methods=["POST"])
def accept():
    """Accept the version read (sent back with the form: a version no longer current is refused)."""
    db = get_db()
    raw = request.form.get("version", "")
    version = int(raw) if raw.isdigit() else None
    row = agreements.accept(db, actor(), version, role=request.form.get("role") or None)
    flash(_("You accepted version %(v)s of the data-use agreement. Outcome data now names every site.",
            v=row.agreement.version), "success")
    return redirect(_next_url() or url_for("agreement.show"))


@bp.route("/versions/<int:version>")
def version(version: int):
    """One published version, as it was worded."""
    db = get_db()
    row = agreements.by_version(db, actor(), version)
    return render_template("agreement/version.html", agreement=row, render_markdown=render_markdown,
                           current=agreements.current(db))


def _manage_page(db, *, errors=None, body="", summary="", status=200):
    viewer = actor()
    report = agreements.acceptances(db, viewer)
    return render_template("agreement/manage.html", report=report, versions=agreements.versions(db, viewer),
                           errors=errors or {}, body=body or (report.agreement.body if report.agreement else ""),
                           summary=summary), status


@bp.route("/manage")
def manage():
    """Leaders: who has accepted the current version (counts by role), and publishing a new version."""
    return _manage_page(get_db())


@bp.route("/manage", methods=["POST"])
def publish():
    """Publish a new version: it is current at once and every member is asked to accept it again."""
    db = get_db()
    access.require(actor(), "agreement.publish")
    body, summary = request.form.get("body", ""), request.form.get("summary", "")
    published = form_post(None, lambda: agreements.publish(db, actor(), body=body, summary=summary))
    if not published.ok:
        return _manage_page(db, errors=published.errors, body=body, summary=summary, status=422)
    flash(_("Version %(v)s published. Every member is asked to accept it; until they do, other sites are "
            "shown to them by code.", v=published.result.version), "success")
    return redirect(url_for("agreement.manage"))
