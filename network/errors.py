"""Domain errors. Services raise these; the web layer maps them to HTTP statuses in one place."""
from __future__ import annotations


class DomainError(Exception):
    """`message` (and Invalid's field messages) are English sentences, usually `network.i18n.N_(...)` Texts
    that carry their template and params: the web layer translates them for the reader (app/web.py)."""

    status = 400

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it exists (another site's)."""

    status = 404


class Forbidden(DomainError):
    """The actor is known and may see the object, but their role may not do this."""

    status = 403


class Unauthenticated(DomainError):
    """Signing in would be needed."""

    status = 401


class Invalid(DomainError):
    """Bad input. `field_errors` maps a field (or `row N: field`) to a list of messages."""

    status = 422

    def __init__(self, field_errors: dict[str, list[str]] | str, message: str = ""):
        if isinstance(field_errors, str):
            field_errors = {"_": [field_errors]}
        self.field_errors = field_errors
        #: the caller's own summary ("" when the summary is just the field messages joined)
        self.summary_message = message
        super().__init__(message or "; ".join(f"{k}: {' '.join(v)}" if k != "_" else " ".join(v)
                                              for k, v in field_errors.items()))


class Conflict(DomainError):
    """The action collides with the current state (a stale edit, a duplicate)."""

    status = 409


class Gone(DomainError):
    status = 410
