"""One place that turns errors into answers: plain-words pages for people, one JSON shape for the API.

JSON error shape (also in the OpenAPI document):
    {"error": {"status": 422, "title": "...", "message": "...", "fields": {"row 3: month": ["..."]}}}
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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
}


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
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
