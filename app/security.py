"""Security headers (CSP with a per-request nonce, no inline script), session lifetimes, and the
gates every request passes: a signed-in device that is still live, and the current terms accepted.

A ~30-line hook of our own instead of flask-talisman (no release since 2023).

Sign-in has up to two steps. After the password, a person with two-step sign-in (or a role that
requires it, not yet set up) is *half signed in*: the session holds only `pending_sign_in` (whose
account, when, where to go next), Flask-Login knows nobody, so every member page treats the visitor
as anonymous; only the code and setup pages read the pending state. The full session starts after
the second step, with a server-side device record whose key the cookie carries.
"""
from __future__ import annotations

import secrets
import time

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.exceptions import NotFound

from network.errors import Invalid
from network.i18n import N_

#: a password step not followed by the second step within this long must be done again
PENDING_MINUTES = 10
#: pages a member may reach before accepting the current terms of use and privacy notice
CONSENT_EXEMPT = {"static", "account.consent_page", "account.accept", "account.policy", "auth.logout",
                  "front.language", "home.healthz"}


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _content_security_policy() -> str:
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.before_request(refuse_nul_characters)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", _content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("HSTS"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if current_user.is_authenticated and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"  # pages for members may carry health data
        return response

    @app.before_request
    def _session_lifetime():
        if request.endpoint == "static":
            return None
        if not current_user.is_authenticated:
            if "_user_id" in session:  # the cookie names a session the server no longer honours
                session.clear()
                flash(_("You were signed out on this device. Please sign in again."), "info")
            return None
        if not session_is_current():
            flash(_("You were signed out after a period of inactivity. Please sign in again."), "info")
            return None
        return _consent_gate()


def refuse_nul_characters() -> None:
    """No text a request sends may hold a NUL character: PostgreSQL cannot store or compare one (a query
    with it fails: found by the API fuzzing), and no person types one. In the address: no such page (404);
    in a query parameter, a form field or a JSON body: 422 naming the place, before anything is read or
    changed. Uploaded files are not text and are not looked at."""
    if "\x00" in request.path:
        raise NotFound()
    places = [f"query: {name}" for name, value in request.args.items(multi=True) if "\x00" in name + value]
    places += [name for name, value in request.form.items(multi=True) if "\x00" in name + value]
    if request.is_json and _holds_nul(request.get_json(silent=True)):
        places.append("body")
    if places:
        raise Invalid({place: [N_("This contains a NUL character, which text cannot hold.")] for place in places})


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def session_is_current() -> bool:
    """The one check of the session lifetimes (ASVS 5.0 V7), for page requests and socket events alike:
    a signed-in session past its idle or absolute lifetime is ended here and False returned; a live one
    records this moment as its last activity. True when nobody is signed in (nothing to end).

    Socket.IO events see the session of the handshake (Flask-SocketIO keeps a copy per connection), so a
    socket's activity keeps that socket's copy alive, never the cookie of the pages."""
    if not current_user.is_authenticated:
        return True
    config = current_app.config
    now = time.time()
    started, seen = session.get("login_at", 0), session.get("seen_at", 0)
    if now - seen > config["SESSION_IDLE_MINUTES"] * 60 or now - started > config["SESSION_ABSOLUTE_HOURS"] * 3600:
        logout_user()
        session.clear()
        return False
    session["seen_at"] = now
    return True


def _fresh_session() -> None:
    """Nothing from before survives a step of signing in (no session fixation), except the language."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def start_session(user, remember: bool = False, method: str = "password") -> None:
    """A fresh, fully signed-in session with its own device record."""
    from flask_login import login_user

    from app.extensions import get_db
    from network import devices

    _fresh_session()
    session["device"] = devices.start(get_db(), user, user_agent=request.headers.get("User-Agent", ""),
                                      address=request.remote_addr, method=method)
    login_user(user, remember=remember)
    session["login_at"] = session["seen_at"] = time.time()


def load_signed_in(token: str):
    """Flask-Login's user loader: the account, only while this cookie's device record is live (asked on
    every request and socket event, so a device signed out from elsewhere is refused at once)."""
    from app.extensions import get_db
    from network import devices

    user, record, versions = devices.load_signed_in(get_db(), token, session.get("device"))
    g.device_id = record.id if record is not None else None
    g.policy_versions = versions
    return user


def current_device_id() -> int | None:
    return g.get("device_id")


def begin_pending(user, *, remember: bool, next_url: str, setup: bool) -> None:
    """Half signed in: the password was right; the second step (or setting it up) comes next."""
    from network.people import session_token

    _fresh_session()
    session["pending_sign_in"] = {"token": session_token(user), "at": time.time(), "remember": bool(remember),
                                  "next": next_url, "setup": setup}


def pending() -> dict | None:
    data = session.get("pending_sign_in")
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > PENDING_MINUTES * 60:
        return None
    return data


def pending_user():
    """The half-signed-in person, or None (no pending step, too old, or the account changed since)."""
    from app.extensions import get_db
    from network import people

    data = pending()
    return people.user_for_session(get_db(), data["token"]) if data else None


def _consent_gate():
    """Until the current terms and privacy notice are accepted (for oneself and young children), every
    page but the consent pages redirects there. The answer is kept in the session per set of versions."""
    from app.extensions import get_db
    from app.web import wants_json
    from network import consent

    if request.endpoint in CONSENT_EXEMPT:
        return None
    db = get_db()
    versions = g.policy_versions if "policy_versions" in g else consent.current_versions(db)
    if not versions:
        return None
    key = sorted(versions.items())
    if session.get("consent_ok") == [list(pair) for pair in key]:
        return None
    user = current_user._get_current_object()
    if consent.outstanding(db, user) or consent.waiting_for_parent(db, user):
        if wants_json():
            from app.errors import error_response

            return error_response(403, _("Accept the current terms of use and privacy notice first."))
        return redirect(url_for("account.consent_page", next=request.full_path.rstrip("?")))
    session["consent_ok"] = [list(pair) for pair in key]
    return None
