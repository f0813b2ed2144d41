"""Security headers (CSP with a per-request nonce, no inline script) and session lifetimes.

A ~30-line hook of our own instead of flask-talisman (no release since 2023).
"""
from __future__ import annotations

import secrets
import time

from flask import Flask, current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user


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
        if not session_is_current():
            flash(_("You were signed out after a period of inactivity. Please sign in again."), "info")
        return None


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


def start_session(user, remember: bool = False) -> None:
    """A fresh session at sign-in: nothing from before survives (no session fixation)."""
    from flask_login import login_user

    locale = session.get("locale")  # a language chosen before signing in stays chosen
    session.clear()
    login_user(user, remember=remember)
    session["login_at"] = session["seen_at"] = time.time()
    if locale:
        session["locale"] = locale
