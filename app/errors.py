"""One place that turns errors into answers: plain-words pages for people, one JSON shape for the API.

JSON error shape (also in the OpenAPI document):
    {"error": {"status": 422, "title": "...", "message": "...", "fields": {"row 3: month": ["..."]}}}

Faults (README "Faults"): the database unreachable, restarting, read-only or locked is a 503 with
Retry-After, and a full disk (the database's or the attachment store's) a 507; both after rolling the
request's session back, so nothing is half-saved and the pool hands out only live connections next.
"""
from __future__ import annotations

import errno
import logging

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from app.web import localize, localized_fields, localized_message, wants_json
from network.errors import DomainError, Unauthenticated

log = logging.getLogger("carecommons.errors")

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please sign in"),
    403: _l("Your role does not allow this"),
    404: _l("We could not find that page"),
    405: _l("That action is not available here"),
    409: _l("This clashes with a change made meanwhile"),
    410: _l("This is no longer available"),
    413: _l("That upload is too large"),
    422: _l("Some of what you entered needs correcting"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The service is briefly unavailable"),
    507: _l("There is no room to store this right now"),
}

EXPLANATIONS = {
    400: _l("Something in the request was missing or malformed. Go back, reload the page and try again."),
    401: _l("You need to sign in to see this."),
    403: _l("You are signed in, but your role in the network does not include this. "
            "If you think it should, ask your site lead or a network leader."),
    404: _l("The address may be mistyped, or the page may have moved or never existed."),
    405: _l("The page exists, but not for this kind of request."),
    409: _l("Someone else changed this while you were working. Nothing of yours was lost; reload to compare."),
    410: _l("The author or a moderator took this down."),
    413: _l("Choose a smaller file and try again."),
    422: _l("Nothing was saved. Correct what is marked and try again."),
    429: _l("For everyone's safety we limit how often this can be tried. Wait a minute and try again."),
    500: _l("The problem has been logged. Nothing you sent was half-saved; please try again in a moment."),
    503: _l("Please try again in a moment."),
    507: _l("The server's storage is full. Nothing you sent was saved; please try again later, "
            "and tell the network's staff if this goes on."),
}

#: seconds a client is told to wait before retrying a 503 (the Retry-After header)
RETRY_AFTER_SECONDS = 5
#: PostgreSQL SQLSTATEs that mean "unavailable for now", whatever DBAPI class psycopg gives them:
#: read-only transaction (a hot standby, or default_transaction_read_only), admin/crash shutdown,
#: cannot connect now (starting up), and the whole class 08 (connection exceptions)
_PG_UNAVAILABLE = ("25006", "57P01", "57P02", "57P03")
#: storage full: SQLite's SQLITE_FULL text, PostgreSQL's disk_full / out of memory classes
_FULL_TEXT = "database or disk is full"
#: SQLite's words for a database it cannot write or open now
_SQLITE_UNAVAILABLE = ("readonly database", "database is locked", "disk I/O error", "unable to open database file",
                       "database table is locked")
_PG_FULL = ("53100", "53200")


def database_fault(error: BaseException) -> int | None:
    """503 when `error` says the database is unreachable, restarting, read-only or busy; 507 when its
    storage is full; None for anything else (a constraint violation or a bug is not a fault of the
    service, and stays a 500)."""
    if isinstance(error, sa_exc.DisconnectionError):
        return 503
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    if _FULL_TEXT in str(error.orig) or sqlstate in _PG_FULL:
        return 507
    if error.connection_invalidated:
        return 503
    if type(error.orig).__module__ == "sqlite3":
        # SQLite's OperationalError also means "no such table" or a syntax error: bugs, not faults
        return 503 if any(text in str(error.orig) for text in _SQLITE_UNAVAILABLE) else None
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return 503
    if sqlstate in _PG_UNAVAILABLE or sqlstate.startswith("08"):
        return 503
    return None


def storage_fault(error: BaseException) -> int | None:
    """507 for a full disk or quota when writing a file, 503 for a file system mounted read-only."""
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return 507
        if error.errno == errno.EROFS:
            return 503
    return None


def fault_response(status: int, error: BaseException):
    """The answer to a fault of the service: roll the request's session back (nothing half-saved; a
    broken connection is invalidated by SQLAlchemy and the pool replaces it), show the page as to a
    signed-out visitor (the person's record cannot be read now), and say when to retry."""
    log.warning("service fault on %s %s (%s): %s", request.method, request.path, status,
                str(error).splitlines()[0] if str(error) else type(error).__name__)
    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except Exception:  # the connection is gone: closing at teardown discards it
            log.debug("rollback after a database fault failed", exc_info=True)
    from app.extensions import login_manager

    g._login_user = login_manager.anonymous_user()
    body, status = error_response(status, str(EXPLANATIONS[status]) if wants_json() else "")
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def error_response(status: int, message: str = "", fields: dict | None = None):
    title = str(TITLES.get(status, TITLES[500]))
    if wants_json():
        body = {"error": {"status": status, "title": title, "message": message or title,
                          "fields": fields or {}}}
        return jsonify(body), status
    return render_template("errors/error.html", status=status, title=title, message=message,
                           explanation=EXPLANATIONS.get(status, ""), fields=fields or {}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(Unauthenticated)
    def _sign_in(error):
        if wants_json():
            return error_response(401, localize(error.message))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return error_response(error.status, localized_message(error), localized_fields(error))

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        return error_response(400, str(_l("The form had expired or was not sent from this site. "
                                           "Reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 429:
            body, status = error_response(429, str(EXPLANATIONS[429]))
        else:
            body, status = error_response(error.code or 500, error.description if error.code not in (404, 405) else "")
        # keep the headers the error carries (Allow on a 405, Retry-After, WWW-Authenticate), not its type
        return body, status, [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        status = database_fault(error) or storage_fault(error)
        if status is not None:
            return fault_response(status, error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if "db_session" in g:  # a failed flush leaves the session unusable; the error page reads with it
            g.db_session.rollback()
        return error_response(500)
