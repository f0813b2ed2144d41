"""Signing in and out, invitations, password resets and one's own profile."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from app.auth.forms import LoginForm, ProfileForm, ResetRequestForm, SetPasswordForm
from app import live
from app.extensions import get_db, limiter
from app.forms import ActionForm
from app.security import begin_pending, start_session
from app.web import actor, form_post, localized_fields
from network import devices, people, twostep
from network.errors import Invalid

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot send someone elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = people.authenticate(get_db(), form.email.data, form.password.data)
        if user is not None:
            return after_password(user, remember=form.remember.data, next_url=_safe_next(request.args.get("next")))
        form.form_errors.append(_("That e-mail address and password do not match an active account."))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


def after_password(user, *, remember: bool = False, next_url: str | None = None):
    """The password step is done: a second step, setting one up (roles that require it), or signed in."""
    db = get_db()
    next_url = next_url or url_for("home.index")
    if twostep.is_enabled(db, user):
        begin_pending(user, remember=remember, next_url=next_url, setup=False)
        return redirect(url_for("account.sign_in_code"))
    if twostep.must_set_up(db, user):
        begin_pending(user, remember=remember, next_url=next_url, setup=True)
        return redirect(url_for("account.sign_in_setup"))
    start_session(user, remember=remember)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out on this device (and end every other session of this account)."""
    user = current_user._get_current_object()
    devices.end_all(get_db(), user)
    people.logout_everywhere(get_db(), user)
    live.disconnect_user(user.id)  # an open Socket.IO connection outlives the cookie otherwise
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("home.index"))


def _password_link_page(template: str, token: str, form, *, load, save, done: str):
    """A single-use link that ends in choosing a password (an invitation, a reset): a dead link shows why; a
    good one shows the password form; a password accepted signs in."""
    db = get_db()
    secret = current_app.config["SECRET_KEY"]
    try:
        subject = load(db, secret, token)
    except Invalid as error:
        return render_template("auth/link_problem.html", messages=localized_fields(error).get("link", [])), 400
    sent = form_post(form, lambda: save(db, secret, token, password=form.password.data,
                                        password_again=form.password_again.data))
    if sent.ok:
        flash(done, "success")
        return after_password(sent.result)  # a link proves the mailbox, not the second step
    if sent.error is not None and "link" in sent.error.field_errors:
        return render_template("auth/link_problem.html", messages=sent.errors["link"]), 400
    return render_template(template, form=form, subject=subject), sent.status


def invitation_link(token: str) -> str:
    """The address an invitation e-mail carries (to the page below)."""
    return url_for("auth.accept_invitation", token=token, _external=True)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An invited person sets a password (or confirms theirs) and joins."""
    return _password_link_page("auth/invitation.html", token, SetPasswordForm(), load=people.invitation_for_token,
                               save=people.accept_invitation, done=_("Welcome to the network."))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def request_reset():
    """Ask for a password-reset link by e-mail."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        people.request_password_reset(
            get_db(), form.email.data, secret=current_app.config["SECRET_KEY"],
            link_for=lambda token: url_for("auth.reset", token=token, _external=True))
        flash(_("If that address belongs to an account, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password from a reset link."""
    return _password_link_page("auth/reset.html", token, SetPasswordForm(), load=people.reset_for_token,
                               save=people.reset_password,
                               done=_("Your password is changed. Other devices were signed out."))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Edit one's own profile and how one's name appears."""
    user = current_user._get_current_object()
    db = get_db()
    form = ProfileForm(obj=user)
    saved = form_post(form, lambda: people.update_profile(
        db, actor(), user.id, full_name=form.full_name.data, name_display=form.name_display.data,
        pronouns=form.pronouns.data, bio=form.bio.data, profile_roles=form.profile_roles.data or [],
        in_directory=form.in_directory.data, offers=form.offers.data or ""))
    if saved.ok:
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, user=user,
                           memberships=people.all_memberships(db, user),
                           links=people.care_links_of(db, user)), saved.status
