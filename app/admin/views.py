"""Network leaders' pages: sites, people, memberships, invitations, care links and the audit log."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.admin.forms import CareLinkForm, MembershipForm, SiteEditForm, SiteForm
from app import live
from app.auth.views import invitation_link
from app.extensions import get_db
from app.forms import ActionForm, choices
from app.sites.forms import InviteForm
from app.web import actor, form_post
from network import access, audit, people
from network.errors import Invalid

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _leaders_only():
    access.require(actor(), "people.manage")


@bp.route("/")
def index():
    """The leader's overview."""
    db = get_db()
    return render_template("admin/index.html", sites=people.all_sites(db, actor()),
                           recent=audit.page(db, actor(), limit=10))


def _sites_page(form, status=200):
    db = get_db()
    return render_template("admin/sites.html", sites=people.all_sites(db, actor()), form=form,
                           counts=people.member_counts(db)), status


@bp.route("/sites")
def sites():
    """All sites, active or not, and the form to add one."""
    return _sites_page(SiteForm())


@bp.route("/sites", methods=["POST"])
def create_site():
    """Add a site to the network."""
    db = get_db()
    form = SiteForm()
    created = form_post(form, lambda: people.create_site(db, actor(), name=form.name.data, slug=form.slug.data,
                                                         city=form.city.data))
    if created.ok:
        flash(_("Site %(name)s added.", name=created.result.name), "success")
        return redirect(url_for("admin.sites"))
    return _sites_page(form, 422)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
def edit_site(site_id: int):
    """Rename or deactivate a site."""
    db = get_db()
    site = people.site_for_manage(db, actor(), site_id)
    form = SiteEditForm(obj=site)
    saved = form_post(form, lambda: people.update_site(db, actor(), site.id, name=form.name.data,
                                                      city=form.city.data, is_active=form.is_active.data))
    if saved.ok:
        flash(_("Site saved."), "success")
        return redirect(url_for("admin.sites"))
    return render_template("admin/site_edit.html", site=site, form=form), saved.status


@bp.route("/people")
def people_list():
    """Everyone in the network, searchable by name or address."""
    query = request.args.get("q", "").strip()[:100]
    return render_template("admin/people.html", people=people.people(get_db(), actor(), query=query), query=query)


def _site_choices(db):
    return choices([("", _l("No site (network role)"))] + [(s.id, s.name) for s in people.active_sites(db)])


def _person_page(user_id: int, membership_form=None, link_form=None, status=200):
    db = get_db()
    user = people.person(db, actor(), user_id)
    membership_form = membership_form or MembershipForm()
    membership_form.site.choices = _site_choices(db)
    return render_template("admin/person.html", user=user, memberships=people.all_memberships(db, user),
                           links=people.care_links_of(db, user), membership_form=membership_form,
                           link_form=link_form or CareLinkForm(), action_form=ActionForm()), status


@bp.route("/people/<int:user_id>")
def person(user_id: int):
    """One person: memberships, care links, activation."""
    return _person_page(user_id)


@bp.route("/people/<int:user_id>/memberships", methods=["POST"])
def add_membership(user_id: int):
    """Give an existing person another role."""
    db = get_db()
    form = MembershipForm()
    form.site.choices = _site_choices(db)
    added = form_post(form, lambda: people.add_membership(db, actor(), user_id=user_id, role=form.role.data,
                                                          site_id=form.site.data))
    if added.ok:
        flash(_("Role added."), "success")
        return redirect(url_for("admin.person", user_id=user_id))
    return _person_page(user_id, membership_form=form, status=422)


@bp.route("/memberships/<int:membership_id>/end", methods=["POST"])
def end_membership(membership_id: int):
    """End any membership, network roles included."""
    membership = people.end_membership(get_db(), actor(), membership_id)
    flash(_("Membership ended."), "success")
    return redirect(url_for("admin.person", user_id=membership.user_id))


@bp.route("/people/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int):
    """Deactivate (signs the person out everywhere) or reactivate an account."""
    active = request.form.get("active") == "1"
    people.set_user_active(get_db(), actor(), user_id, active)
    if not active:
        live.disconnect_user(user_id, reason="deactivated")
    flash(_("Account reactivated.") if active else _("Account deactivated; the person is signed out."), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.route("/carelinks", methods=["POST"])
def add_care_link():
    """Link a parent to a patient they care for."""
    db = get_db()
    form = CareLinkForm()
    back = request.form.get("back_to", type=int)
    linked = form_post(form, lambda: people.link_parent(db, actor(), parent_id=form.parent_id.data,
                                                        patient_id=form.patient_id.data))
    if linked.ok:
        flash(_("Parent and patient linked."), "success")
        return redirect(url_for("admin.person", user_id=back or form.parent_id.data))
    if not (back or form.parent_id.data):
        raise Invalid({name: [str(m) for m in messages] for name, messages in form.errors.items()})
    return _person_page(back or form.parent_id.data, link_form=form, status=422)


@bp.route("/carelinks/<int:link_id>/delete", methods=["POST"])
def remove_care_link(link_id: int):
    """Remove a parent–patient link."""
    back = request.form.get("back_to", type=int)
    people.unlink_parent(get_db(), actor(), link_id)
    flash(_("Link removed."), "success")
    return redirect(url_for("admin.person", user_id=back) if back else url_for("admin.people_list"))


def _invitations_page(form, status=200):
    db = get_db()
    return render_template("admin/invitations.html", invitations=people.invitations(db, actor()), form=form,
                           action_form=ActionForm()), status


@bp.route("/invitations")
def invitations():
    """Every invitation and its state; invite to any site or to a network role."""
    return _invitations_page(InviteForm().offer(people.active_sites(get_db()), network_roles=True))


@bp.route("/invitations", methods=["POST"])
def invite():
    """Send an invitation."""
    db = get_db()
    form = InviteForm().offer(people.active_sites(db), network_roles=True)
    sent = form_post(form, lambda: people.invite(
        db, actor(), email=form.email.data, full_name=form.full_name.data, role=form.role.data,
        site_id=form.site.data, secret=current_app.config["SECRET_KEY"], link_for=invitation_link))
    if sent.ok:
        flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
        return redirect(url_for("admin.invitations"))
    return _invitations_page(form, 422)


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
def revoke_invitation(invitation_id: int):
    """Withdraw a pending invitation; its link stops working."""
    people.revoke_invitation(get_db(), actor(), invitation_id)
    flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("admin.invitations"))


@bp.route("/audit")
def audit_log():
    """The audit log, newest first."""
    before = request.args.get("before", type=int)
    prefix = request.args.get("action", "").strip()[:64] or None
    events = audit.page(get_db(), actor(), action_prefix=prefix, before_id=before)
    return render_template("admin/audit.html", events=events, prefix=prefix or "")
