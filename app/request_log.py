"""One log line per request, and the log format of the whole process.

Each line carries method, path, status, duration, a request id (the proxy's X-Request-ID, or one made
here, returned in the response's X-Request-ID header) and the signed-in person's numeric id — never a
name, an e-mail address, a query string or health data. Paths whose rule carries a secret (invitation
and reset tokens) are logged as their rule (`/reset/<token>`). `LOG_FORMAT=json` writes every log
record as one JSON object per line; `text` (the default) as plain words.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, request

log = logging.getLogger("carecommons.request")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: an incoming X-Request-ID is kept only if it looks like one (no spaces, no line breaks, not too long)
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: URL rule arguments whose values are secrets and never reach the log
SECRET_ARGUMENTS = frozenset({"token"})
#: fields a request line carries besides its message (JSON output writes them as keys)
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "request_id", "user_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request fields, any exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    if kind not in ("json", "text"):
        raise RuntimeError(f"LOG_FORMAT must be json or text, not {kind!r}")
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(kind: str) -> None:
    """Give the root logger our handler in the chosen format; leave a host's own handlers (pytest's) alone."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "carecommons", False)]
    if not ours and not root.handlers:
        handler = logging.StreamHandler()
        handler.carecommons = True
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        ours = [handler]
    for handler in ours:
        handler.setFormatter(formatter(kind))


def init_app(app: Flask) -> None:
    configure_logging(app.config["LOG_FORMAT"])

    @app.before_request
    def _start():
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        fields = {"method": request.method, "path": logged_path(), "status": response.status_code,
                  "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
                  "request_id": request_id, "user_id": _user_id()}
        log.info("%(method)s %(path)s %(status)s %(duration_ms)sms request_id=%(request_id)s user=%(user_id)s",
                 fields, extra=fields)
        return response


def logged_path() -> str:
    """The path without its query string; a rule with a secret argument is logged as the rule."""
    rule = request.url_rule
    if rule is not None and SECRET_ARGUMENTS & set(rule.arguments):
        return rule.rule
    return request.path


def _user_id() -> int | None:
    """The signed-in person's id if this request loaded them (no extra query for requests that did not)."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "id", None)
