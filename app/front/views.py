"""The network's front door: search everything, the people directory, working groups, notifications,
bright spots and the choice of language."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.extensions import get_db
from app.forms import ActionForm
from app.presenters import shown_byline
from app.web import actor
from content import find, library
from network import access, bright_spots, groups, notifications, people, visibility
from network import sessions as learning
from network.errors import Invalid

bp = Blueprint("front", __name__)
LANGUAGES = {"en": "English", "es": "Español"}


@bp.route("/search")
def search():
    """One box for everything this person may see, results grouped by kind."""
    results = find.everything(get_db(), actor(), request.args.get("q", ""))
    from content import narratives

    return render_template("front/search.html", results=results, byline=shown_byline)


@bp.route("/people/")
def directory():
    """Members who chose to be listed, with their role, site and what they offer."""
    return render_template("front/directory.html", people=find.directory(get_db(), actor()))


@bp.route("/groups/")
def group_list():
    """The network's working groups."""
    return render_template("front/groups.html", groups=groups.all_groups(get_db(), actor()),
                           may_manage=access.can(actor(), "group.manage"), action_form=ActionForm())


@bp.route("/groups/", methods=["POST"])
def create_group():
    """Network leaders create a working group."""
    group = groups.create(get_db(), actor(), name=request.form.get("name", ""), purpose=request.form.get("purpose", ""))
    flash(_("Group created."), "success")
    return redirect(url_for("front.group", slug=group.slug))


@bp.route("/groups/<slug>")
def group(slug: str):
    """A group's page: purpose, members with their roles, linked resources and sessions."""
    db = get_db()
    item = groups.by_slug(db, actor(), slug)
    linked = (db.get(library.Resource, rid) for rid in groups.links(db, item, "resource"))
    resources = [r for r in linked if r is not None and access.can(actor(), "library.view", r)]
    session_rows = [db.get(learning.LearningSession, sid) for sid in groups.links(db, item, "session")]
    return render_template("front/group.html", item=item, resources=resources,
                           sessions=[s for s in session_rows if s is not None],
                           may_manage=access.can(actor(), "group.manage"))


@bp.route("/groups/<slug>/members", methods=["POST"])
def add_group_member(slug: str):
    """Add a member (any role) to the group."""
    db = get_db()
    item = groups.by_slug(db, actor(), slug)
    groups.add_member(db, actor(), item, request.form.get("email", ""), request.form.get("title", "member"))
    flash(_("Member added."), "success")
    return redirect(url_for("front.group", slug=slug))


@bp.route("/groups/<slug>/links", methods=["POST"])
def link_group(slug: str):
    """Link a library resource (by its short name) or a session (by its short name) to the group."""
    db = get_db()
    item = groups.by_slug(db, actor(), slug)
    access.require(actor(), "group.manage")
    kind, name = request.form.get("kind", ""), request.form.get("slug", "").strip()
    if kind == "resource":
        target = library.by_slug(db, actor(), name)
    elif kind == "session":
        target = learning.by_slug(db, actor(), name)
    else:
        raise Invalid({"kind": [_("Link a resource or a session.")]})
    groups.link(db, actor(), item, kind, target.id)
    return redirect(url_for("front.group", slug=slug))


@bp.route("/notifications")
def notification_list():
    """What is new for me."""
    db = get_db()
    return render_template("front/notifications.html", rows=notifications.recent(db, actor()),
                           kinds=notifications.KINDS, action_form=ActionForm())


@bp.route("/notifications/read", methods=["POST"])
def read_notifications():
    """Mark one (or all) as read."""
    notifications.mark_read(get_db(), actor(), request.form.get("id", type=int))
    return redirect(url_for("front.notification_list"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
def notification_settings():
    """Switch each kind on or off, in the app and in the e-mail digest."""
    db = get_db()
    if request.method == "POST":
        choices = {kind: (request.form.get(f"{kind}-app") == "1", request.form.get(f"{kind}-email") == "1")
                   for kind in notifications.KINDS}
        notifications.set_preferences(db, actor(), choices)
        flash(_("Saved."), "success")
        return redirect(url_for("front.notification_settings"))
    return render_template("front/notification_settings.html", prefs=notifications.preferences(db, actor()),
                           kinds=notifications.KINDS)


@bp.route("/bright-spots")
def bright_spot_list():
    """Sites whose charts show a sustained improvement lately."""
    db = get_db()
    return render_template("front/bright_spots.html", spots=bright_spots.find(db, actor()),
                           may_feature=access.can(actor(), "bright_spot.feature"), action_form=ActionForm(),
                           lens=visibility.lens(db, actor()))


@bp.route("/bright-spots/feature", methods=["POST"])
def feature_bright_spot():
    """Leaders feature a bright spot on the home page (or stop)."""
    db = get_db()
    access.require(actor(), "bright_spot.feature")
    # the form names the site as the leader's lens does (short name, or "S17" when blinded)
    site = visibility.site_for(db, actor(), request.form.get("site", ""))
    bright_spots.feature(db, actor(), site_id=site.id,
                         measure_id=request.form.get("measure", type=int) or 0,
                         featured=request.form.get("featured") == "1")
    return redirect(url_for("front.bright_spot_list"))


@bp.route("/language", methods=["POST"])
def language():
    """Choose the interface language (remembered on the account, and for visitors in their session)."""
    choice = request.form.get("language")
    if choice not in LANGUAGES:
        raise Invalid({"language": [_("Choose English or Español.")]})
    session["locale"] = choice
    viewer = actor()
    if access.signed_in(viewer):
        people.set_locale(get_db(), viewer, choice)
    target = request.form.get("next", "/")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
