"""The network's sites and their teams (site leads manage their own team here)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.auth.views import invitation_link
from app.extensions import get_db
from app.forms import ActionForm
from app.sites.forms import InviteForm, StewardForm
from app.web import actor, form_post
from network import access, people, visibility
from network.errors import NotFound

bp = Blueprint("sites", __name__, url_prefix="/sites")


@bp.route("/")
def index():
    """Every active site of the network, with the size of its team."""
    access.require(actor(), "network.view")
    db = get_db()
    return render_template("sites/index.html", sites=people.active_sites(db), counts=people.member_counts(db))


@bp.route("/<slug>")
def show(slug: str):
    """One site's page."""
    db = get_db()
    site = people.site_by_slug(db, actor(), slug)
    return render_template("sites/show.html", site=site, counts=people.member_counts(db).get(site.id, {}),
                           can_see_team=access.can(actor(), "site.view_team", site),
                           outcomes_named=visibility.lens(db, actor()).shows_name(site))


def _team_page(site, form, status=200):
    db = get_db()
    viewer = actor()
    return render_template("sites/team.html", site=site, team=people.site_team(db, viewer, site),
                           form=form, action_form=ActionForm(),
                           can_manage=access.can(viewer, "membership.manage", site),
                           invitations=people.invitations(db, viewer, site=site)
                           if access.can(viewer, "membership.manage", site) else []), status


@bp.route("/<slug>/team")
def team(slug: str):
    """Who is in the site's team; the site lead invites and manages members here."""
    site = people.site_by_slug(get_db(), actor(), slug)
    return _team_page(site, InviteForm().offer([site], network_roles=False))


@bp.route("/<slug>/invitations", methods=["POST"])
def invite(slug: str):
    """Invite a person to this site with a role."""
    db = get_db()
    site = people.site_by_slug(db, actor(), slug)
    access.require(actor(), "membership.manage", site)
    form = InviteForm().offer([site], network_roles=False)
    sent = form_post(form, lambda: people.invite(
        db, actor(), email=form.email.data, full_name=form.full_name.data, role=form.role.data, site_id=site.id,
        secret=current_app.config["SECRET_KEY"], link_for=invitation_link))
    if sent.ok:
        flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
        return redirect(url_for("sites.team", slug=site.slug))
    return _team_page(site, form, 422)


@bp.route("/<slug>/team/<int:membership_id>/end", methods=["POST"])
def end_membership(slug: str, membership_id: int):
    """End a membership; the person loses that role's access at once."""
    db = get_db()
    site = people.site_by_slug(db, actor(), slug)
    membership = _membership_at(db, site, membership_id)
    people.end_membership(db, actor(), membership.id)
    flash(_("Membership ended."), "success")
    return redirect(url_for("sites.team", slug=site.slug))


@bp.route("/<slug>/team/<int:membership_id>/steward", methods=["POST"])
def set_steward(slug: str, membership_id: int):
    """Give or take a clinician's data-steward right."""
    db = get_db()
    site = people.site_by_slug(db, actor(), slug)
    membership = _membership_at(db, site, membership_id)
    form = StewardForm()
    people.set_data_steward(db, actor(), membership.id, bool(form.data_steward.data))
    flash(_("Data-steward right updated."), "success")
    return redirect(url_for("sites.team", slug=site.slug))


def _membership_at(db, site, membership_id):
    membership = db.get(people.Membership, membership_id)
    access.require(actor(), "membership.manage", site)
    if membership is None or membership.site_id != site.id:
        raise NotFound(_("No such membership at this site."))
    return membership
