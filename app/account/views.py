"""Sign-in and security: the second sign-in step, setting up two-step sign-in, signed-in devices, and
consent to the network's terms of use and privacy notice (with the leaders' page that publishes them)."""
from __future__ import annotations

import segno
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import login_required, logout_user
from markupsafe import Markup

from app import live
from app.account.forms import CodeForm, PolicyForm, SetupCodeForm
from app.auth.views import _login_limit, _safe_next
from app.extensions import get_db, limiter
from app.security import current_device_id, pending, pending_user, start_session
from app.web import actor, form_post
from content.markdown import render
from network import access, consent, devices, people, twostep
from network.errors import Conflict, Invalid

bp = Blueprint("account", __name__)


@bp.app_context_processor
def _policy_links():
    """The footer links to the terms and privacy notice only once they are published (the loader
    already read the current versions for a signed-in member; a visitor costs one small query)."""
    def published_policies() -> dict[str, int]:
        if "policy_versions" in g:
            return g.policy_versions
        try:
            return consent.current_versions(get_db())
        except Exception:  # an error page must render even when the database is the problem
            return {}
    return {"published_policies": published_policies}


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _refusal(error: twostep.CodeRefused) -> str:
    """A refused code in the reader's language; a lock says until when."""
    if error.reason == "locked":
        return _("Too many wrong codes. For your safety, two-step sign-in for this account is locked until "
                 "%(time)s. Try again then, or ask a network leader for help.",
                 time=format_datetime(error.retry_at, "short"))
    if error.reason == "reused":
        return _("That code was already used. Wait for the next code in your app (a new one comes every "
                 "30 seconds).")
    if error.reason == "recovery_used":
        return _("That recovery code was already used. Each recovery code works once; try another one.")
    if error.reason == "not_started":
        return _("Setting up was not started or is already finished. Start again from the beginning.")
    if error.tries_left is not None:
        return _("That code is not right. Check the time on your phone and the code in your app, and try "
                 "again (%(n)s tries left before a 15-minute lock).", n=error.tries_left)
    return _("That code is not right. Check your authenticator app and try again.")


def _code_error(form, error: twostep.CodeRefused) -> int:
    form.code.errors = list(form.code.errors or []) + [_refusal(error)]
    return 429 if error.reason == "locked" else 422


def _qr(uri: str) -> Markup:
    """The setup QR code as an inline SVG data URI, made here (no outside service sees the secret)."""
    return Markup(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


# ---------------------------------------------------------------------------------------------
# The second step at sign-in (half signed in: only these pages read the pending state)

def _pending_or_login(setup: bool):
    user = pending_user()
    data = pending()
    if user is None or data is None or bool(data.get("setup")) != setup:
        flash(_("Please sign in again."), "info")
        return None, redirect(url_for("auth.login"))
    return user, None


def _finish(user, data: dict, method: str):
    start_session(user, remember=data.get("remember", False), method=method)
    return redirect(_safe_next(data.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_code():
    """The second step: a code from the authenticator app, or a recovery code."""
    user, away = _pending_or_login(setup=False)
    if away:
        return away
    data = pending()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            method = twostep.verify(get_db(), user, form.code.data, app_secret=_secret())
        except twostep.CodeRefused as error:
            get_db().rollback()
            status = _code_error(form, error)
        else:
            response = _finish(user, data, method)  # a fresh session: flash after it, not before
            if method == "recovery":
                left = twostep.recovery_codes_left(get_db(), user)
                flash(_("You signed in with a recovery code. %(n)s recovery codes are left; make new ones on "
                        "your security page if you are running low.", n=left), "info")
            return response
    elif form.is_submitted():
        status = 422
    return render_template("account/sign_in_code.html", form=form), status


@bp.route("/login/setup", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def sign_in_setup():
    """A role that requires two-step sign-in sets it up before reaching any other page."""
    user, away = _pending_or_login(setup=True)
    if away:
        return away
    data = pending()
    return _setup_page(user, required=True,
                       on_done=lambda codes: _done_after_setup(user, data, codes))


def _done_after_setup(user, data: dict, codes: list[str]):
    start_session(user, remember=data.get("remember", False), method="code")
    return render_template("account/recovery_codes.html", codes=codes, next_url=_safe_next(data.get("next")),
                           first_time=True)


def _setup_page(user, *, required: bool, on_done):
    db = get_db()
    form = SetupCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = twostep.confirm_setup(db, user, form.code.data, app_secret=_secret())
        except twostep.CodeRefused as error:
            db.rollback()
            status = _code_error(form, error)
        else:
            return on_done(codes)
    elif form.is_submitted():
        status = 422
    try:
        setup = twostep.begin_setup(db, user, app_secret=_secret())
    except Invalid:
        flash(_("Two-step sign-in is already on."), "info")
        return redirect(url_for("account.security"))
    grouped = " ".join(setup.secret[i:i + 4] for i in range(0, len(setup.secret), 4))
    return render_template("account/setup.html", form=form, qr=_qr(setup.uri), secret=grouped,
                           required=required), status


# ---------------------------------------------------------------------------------------------
# One's own security page: two-step sign-in and signed-in devices

@bp.route("/account/security")
@login_required
def security():
    """Two-step sign-in status and the list of signed-in devices."""
    db = get_db()
    user = actor()
    record = twostep.record_of(db, user)
    return render_template("account/security.html", enabled=record is not None and record.enabled_at is not None,
                           enabled_at=record.enabled_at if record else None,
                           required=twostep.required_for(user),
                           codes_left=twostep.recovery_codes_left(db, user),
                           devices=devices.signed_in_devices(db, user), this_device=current_device_id(),
                           code_form=CodeForm())


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def setup():
    """Set up two-step sign-in by choice (everyone is offered it)."""
    return _setup_page(actor(), required=False,
                       on_done=lambda codes: render_template("account/recovery_codes.html", codes=codes,
                                                             next_url=url_for("account.security"),
                                                             first_time=True))


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
@limiter.limit(_login_limit)
def new_recovery_codes():
    """Ten new recovery codes (the old ones stop working), confirmed with a current code."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = twostep.new_recovery_codes(get_db(), actor(), form.code.data, app_secret=_secret())
        except twostep.CodeRefused as error:
            get_db().rollback()
            flash(_refusal(error), "error")
            return redirect(url_for("account.security"))
        except Invalid:
            get_db().rollback()
            flash(_("Two-step sign-in is not on."), "error")
            return redirect(url_for("account.security"))
        return render_template("account/recovery_codes.html", codes=codes, next_url=url_for("account.security"),
                               first_time=False)
    flash(_("Enter the code from your authenticator app."), "error")
    return redirect(url_for("account.security"))


@bp.route("/account/two-step/off", methods=["POST"])
@login_required
@limiter.limit(_login_limit)
def disable():
    """Turn two-step sign-in off (not for roles that require it), confirmed with a current code."""
    user = actor()
    access.require(user, "twostep.disable")
    form = CodeForm()
    if not form.validate_on_submit():
        flash(_("Enter the code from your authenticator app."), "error")
        return redirect(url_for("account.security"))
    try:
        twostep.disable(get_db(), user, form.code.data, app_secret=_secret())
    except twostep.CodeRefused as error:
        get_db().rollback()
        flash(_refusal(error), "error")
        return redirect(url_for("account.security"))
    except Invalid:
        get_db().rollback()
        flash(_("Two-step sign-in is not on."), "error")
        return redirect(url_for("account.security"))
    flash(_("Two-step sign-in is off. You sign in with your password alone."), "success")
    return redirect(url_for("account.security"))


@bp.route("/admin/people/<int:user_id>/two-step/reset", methods=["POST"])
@login_required
def reset_twostep(user_id: int):
    """A network leader resets a member's two-step sign-in (they lost their phone and recovery codes)."""
    db = get_db()
    access.require(actor(), "twostep.reset")
    person = people.person(db, actor(), user_id)
    try:
        twostep.reset(db, actor(), person)
    except Invalid:
        db.rollback()
        flash(_("Two-step sign-in is not on for this person."), "info")
    else:
        flash(_("Two-step sign-in is reset. %(name)s sets it up again at their next sign-in.",
                name=person.full_name), "success")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.route("/account/devices/<int:device_id>/sign-out", methods=["POST"])
@login_required
def sign_out_device(device_id: int):
    """Sign out one device (this one too, if chosen)."""
    user = actor()
    devices.sign_out_device(get_db(), user, device_id)
    if device_id == current_device_id():
        live.disconnect_user(user.id)
        logout_user()
        session.clear()
        flash(_("You are signed out on this device."), "info")
        return redirect(url_for("auth.login"))
    flash(_("That device is signed out. It will have to sign in again."), "success")
    return redirect(url_for("account.security"))


@bp.route("/account/devices/sign-out-others", methods=["POST"])
@login_required
def sign_out_others():
    """Sign out every device but this one."""
    ended = devices.sign_out_others(get_db(), actor(), current_device_id())
    flash(_("Signed out %(n)s other devices. This one stays signed in.", n=ended), "success")
    return redirect(url_for("account.security"))


# ---------------------------------------------------------------------------------------------
# Terms of use and privacy notice

@bp.route("/policies/<kind>")
def policy(kind: str):
    """The current terms of use or privacy notice (or an earlier version), for anyone to read."""
    version = request.args.get("version", type=int)
    doc = consent.document(get_db(), kind, version)
    return render_template("account/policy.html", doc=doc, html=Markup(render(doc.body)),
                           versions=consent.history(get_db(), kind))


def _consent_page(status: int = 200, problem: str = ""):
    db = get_db()
    user = actor()
    items = consent.outstanding(db, user)
    waiting = consent.waiting_for_parent(db, user)
    if not items and not waiting and status == 200:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("account/consent.html", items=items, waiting=waiting, problem=problem,
                           rendered={item.document.id: Markup(render(item.document.body)) for item in items},
                           next_url=_safe_next(request.args.get("next"))), status


@bp.route("/consent")
@login_required
def consent_page():
    """What the member must accept before going on: the current terms and privacy notice."""
    return _consent_page()


@bp.route("/consent", methods=["POST"])
@login_required
def accept():
    """Accept one document's current version, for oneself or for a linked child under 13."""
    db = get_db()
    try:
        document_id = int(request.form.get("document_id", ""))
        version = int(request.form.get("version", ""))
        child = request.form.get("on_behalf_of") or None
        child_id = int(child) if child else None
    except ValueError:
        return _consent_page(422, _("The form was incomplete. Reload the page and try again."))
    try:
        row = consent.accept(db, actor(), document_id=document_id, version=version, on_behalf_of_id=child_id)
    except Conflict:
        db.rollback()
        return _consent_page(409, _("A newer version of this document was published while you were reading. "
                                    "Nothing was recorded. Read the current version below and accept that one."))
    if child_id:
        flash(_("Accepted %(title)s for your child.", title=row.document.title), "success")
    else:
        flash(_("Accepted %(title)s.", title=row.document.title), "success")
    return redirect(url_for("account.consent_page", next=request.args.get("next")))


@bp.route("/admin/policies", methods=["GET", "POST"])
@login_required
def policies():
    """Network leaders publish new versions of the terms of use and privacy notice."""
    db = get_db()
    user = actor()
    access.require(user, "policy.publish")
    form = PolicyForm()
    published = form_post(form, lambda: consent.publish(db, user, kind=form.kind.data, title=form.title.data,
                                                        body=form.body.data, summary=form.summary.data))
    if published.ok:
        flash(_("Published version %(n)s. Every member will be asked to accept it.", n=published.result.version),
              "success")
        return redirect(url_for("account.policies"))
    return render_template("account/policies.html", form=form,
                           history={kind: consent.history(db, kind) for kind in consent.KINDS}), published.status
